//! One connection's life once its wire mode is known: register with the hub, then read requests and
//! write events at the same time until either side ends.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWrite;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::SendError;
use tracing::{debug, info};

use super::fanout::Link;
use super::hub_task::HubMessage;
use super::outbox::Outbox;
use super::reader::{FrameReader, Source};
use super::sequence::Published;
use super::writer::write_queued;
use crate::hub::{Arrival, Input};
use crate::names::ConnId;
use crate::protocol::{Command, ErrorCode};
use crate::transport::line::Frame;
use crate::transport::{WireMode, json, text};

/// How long queued output may take to drain after the client stopped sending.
pub const FLUSH_GRACE: Duration = Duration::from_secs(5);
/// The most requests a session hands the hub in one message.
pub const INPUT_BATCH: usize = 256;

/// A session the hub knows about: its number, its wire mode, and the queue the hub fills for it.
pub struct Registered {
    pub conn: ConnId,
    pub mode: WireMode,
    pub outbox: Arc<Outbox>,
}

/// Introduces a new session to the hub; `None` if the server is shutting down.
pub async fn register(
    arrival: Arrival,
    mode: WireMode,
    hub: &mpsc::Sender<HubMessage>,
    max_queued: usize,
    published: &Arc<Published>,
) -> Option<Registered> {
    let conn = arrival.conn;
    let outbox = Arc::new(Outbox::new(max_queued, published.clone()));
    let link = Link {
        outbox: outbox.clone(),
        mode,
    };
    hub.send(HubMessage::Connect { arrival, link }).await.ok()?;
    Some(Registered { conn, mode, outbox })
}

/// Serves one registered session. Resolves when both directions are finished.
///
/// This future is what every connected client costs while it is idle, so the reader and writer
/// borrow what they work on rather than own copies of it, and it is not an `async fn`: an async
/// function's arguments are kept twice in its future, once as arguments and once as locals.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn keeps its arguments twice in its future"
)]
pub fn serve<S, W>(
    session: Registered,
    mut frames: FrameReader<S>,
    mut writer: W,
    hub: mpsc::Sender<HubMessage>,
    write_interval: Duration,
) -> impl Future<Output = ()>
where
    S: Source,
    W: AsyncWrite + Unpin,
{
    async move {
        let conn = session.conn;
        let writing = write_queued(conn, &session.outbox, &mut writer, write_interval);
        tokio::pin!(writing);
        let reason = tokio::select! {
            reason = read_requests(conn, session.mode, &mut frames, &hub) => {
                disconnect(&hub, conn, reason.clone()).await;
                let _ = Box::pin(tokio::time::timeout(FLUSH_GRACE, &mut writing)).await;
                reason
            }
            written = &mut writing => {
                let reason = match written {
                    Ok(()) => "closed by the server".to_owned(),
                    Err(e) => lost(conn, &e),
                };
                disconnect(&hub, conn, reason.clone()).await;
                reason
            }
        };
        info!(%conn, reason, "session ended");
    }
}

/// Why a connection failed, in words for the people who share its rooms; the details go to the log.
fn lost(conn: ConnId, error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    info!(%conn, %error, "connection failed");
    let words = match error.kind() {
        ErrorKind::ConnectionReset => "connection reset",
        ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof => "connection lost",
        ErrorKind::TimedOut => "connection timed out",
        ErrorKind::NetworkDown | ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable => "network unreachable",
        _ => "connection error",
    };
    words.to_owned()
}

async fn disconnect(hub: &mpsc::Sender<HubMessage>, conn: ConnId, reason: String) {
    let _ = Box::pin(hub.send(HubMessage::Inputs(vec![Input::Disconnect { conn, reason }]))).await;
}

/// Passes the frames to the hub, what was read together in one message; returns why reading ended.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn keeps its arguments twice in its future"
)]
fn read_requests<'a, S: Source>(
    conn: ConnId,
    mode: WireMode,
    frames: &'a mut FrameReader<S>,
    hub: &'a mpsc::Sender<HubMessage>,
) -> impl Future<Output = String> + 'a {
    async move {
        loop {
            let first = match frames.next().await {
                None => return "connection closed by the client".to_owned(),
                Some(Err(e)) => return lost(conn, &e),
                Some(Ok(frame)) => frame,
            };
            let max_frame = frames.max_frame_bytes();
            let more = std::iter::from_fn(|| frames.next_buffered());
            let batch: Vec<Input> = std::iter::once(first)
                .chain(more)
                .take(INPUT_BATCH)
                .filter_map(|frame| input(conn, mode, frame, max_frame))
                .collect();
            // Only the boxed send lives across its await: every idle session waits in this loop,
            // and the batch kept in the future's state would make all of them bigger.
            if !batch.is_empty() && send(hub, batch).await.is_err() {
                return "the server is shutting down".to_owned();
            }
        }
    }
}

type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), SendError<HubMessage>>> + Send + 'a>>;

fn send(hub: &mpsc::Sender<HubMessage>, batch: Vec<Input>) -> Sending<'_> {
    Box::pin(hub.send(HubMessage::Inputs(batch)))
}

/// One frame as hub input; `None` for a frame that asks nothing (an empty line).
fn input(conn: ConnId, mode: WireMode, frame: Frame, max_frame: usize) -> Option<Input> {
    let input = match frame {
        Frame::TooLong => too_long(conn, max_frame),
        Frame::Line(line) => decode(conn, mode, line)?,
    };
    if let Input::Reject { conn, message, .. } = &input {
        debug!(%conn, message, "bad request");
    }
    Some(input)
}

fn too_long(conn: ConnId, max_frame: usize) -> Input {
    let message = format!("that line was longer than the {max_frame} bytes the server accepts and was dropped");
    Input::Reject {
        conn,
        id: None,
        code: ErrorCode::TooLarge,
        message,
    }
}

/// One frame as hub input; `None` for a frame that asks nothing (an empty line).
fn decode(conn: ConnId, mode: WireMode, line: BytesMut) -> Option<Input> {
    let reject = |id, message| Input::Reject {
        conn,
        id,
        code: ErrorCode::BadRequest,
        message,
    };
    match mode {
        WireMode::Text => match text::parse(&line) {
            text::Typed::Request(request) => Some(Input::Request { conn, request }),
            text::Typed::Nothing => None,
            text::Typed::Invalid(why) => Some(reject(None, why)),
        },
        WireMode::Json if line.iter().all(u8::is_ascii_whitespace) => None,
        WireMode::Json => match json::parse_request(&line) {
            Ok(request) if matches!(request.command, Command::Hello { .. }) => {
                Some(reject(request.id, "already said hello".to_owned()))
            }
            Ok(request) => Some(Input::Request { conn, request }),
            Err(malformed) => Some(reject(malformed.id, malformed.reason)),
        },
    }
}
