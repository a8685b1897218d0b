//! One connection's life once its wire mode is known: register with the hub, then read requests and
//! write events at the same time until either side ends.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWrite;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::SendError;
use tokio::time::Instant;
use tracing::{debug, info};

use super::fanout::Link;
use super::flood::{FloodGate, FloodPolicy};
use super::hub_task::HubMessage;
use super::metrics::METRICS;
use super::outbox::Outbox;
use super::pacing::{gather, paced};
use super::reader::{FrameReader, Source};
use super::sequence::Published;
use super::writer::write_queued;
use crate::hub::{Arrival, Input, Refusal};
use crate::names::ConnId;
use crate::protocol::{Command, ErrorCode};
use crate::transport::irc::commands::{self, State as IrcState};
use crate::transport::irc::message::{Message, ParseError};
use crate::transport::line::Frame;
use crate::transport::{WireMode, json, text};

/// How long queued output may take to drain after the client stopped sending.
pub const FLUSH_GRACE: Duration = Duration::from_secs(5);

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
    let (outbox, link) = new_link(mode, max_queued, published);
    hub.send(HubMessage::Connect { arrival, link }).await.ok()?;
    Some(Registered { conn, mode, outbox })
}

/// A new session's outbox, and the hub task's end of it.
fn new_link(mode: WireMode, max_queued: usize, published: &Arc<Published>) -> (Arc<Outbox>, Link) {
    let outbox = Arc::new(Outbox::new(max_queued, published.clone()));
    let link = Link {
        outbox: outbox.clone(),
        mode,
        nick: None,
        account: None,
        answer: None,
    };
    (outbox, link)
}

/// What became of an arrival that chooses its own nick again if it is refused.
pub enum Chosen {
    In(Registered),
    Refused(Refusal),
}

/// Introduces a new session to the hub, unless its nick is refused (then the hub does not hear of
/// it); `None` if the server is shutting down.
pub async fn register_choosing(
    arrival: Arrival,
    mode: WireMode,
    hub: &mpsc::Sender<HubMessage>,
    max_queued: usize,
    published: &Arc<Published>,
) -> Option<Chosen> {
    let conn = arrival.conn;
    let (outbox, link) = new_link(mode, max_queued, published);
    let (answer, answered) = tokio::sync::oneshot::channel();
    hub.send(HubMessage::Choosing { arrival, link, answer }).await.ok()?;
    match answered.await.ok()? {
        Ok(()) => Some(Chosen::In(Registered { conn, mode, outbox })),
        Err(refusal) => Some(Chosen::Refused(refusal)),
    }
}

/// How a session's writes and reads are paced.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// The shortest time between two writes to the client.
    pub write_interval: Duration,
    /// The client's flood budget; `None` for the operator, or with flood control off.
    pub flood: Option<FloodPolicy>,
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
    pace: Arc<Pace>,
) -> impl Future<Output = ()>
where
    S: Source,
    W: AsyncWrite + Unpin,
{
    async move {
        let conn = session.conn;
        let writing = write_queued(conn, &session.outbox, &mut writer, pace.write_interval);
        tokio::pin!(writing);
        let reading = read_requests(
            conn,
            session.mode,
            &mut frames,
            &session.outbox,
            &hub,
            pace.flood.as_ref(),
        );
        let ended = tokio::select! {
            reason = reading => Ended::Read(reason),
            written = &mut writing => Ended::Written(written),
        };
        // Boxed: what the ending keeps would otherwise be room in every idle session's future.
        Box::pin(end(conn, ended, &hub, writing)).await;
    }
}

/// How a session's two directions ended first.
enum Ended {
    /// Reading, and why.
    Read(String),
    /// Writing: the server closed it, or the socket failed.
    Written(io::Result<()>),
}

/// Tells the hub the session is gone; after the reader ended, what was queued gets a grace to be written.
async fn end(
    conn: ConnId,
    ended: Ended,
    hub: &mpsc::Sender<HubMessage>,
    writing: Pin<&mut impl Future<Output = io::Result<()>>>,
) {
    let reason = match ended {
        Ended::Read(reason) => {
            disconnect(hub, conn, reason.clone()).await;
            let _ = tokio::time::timeout(FLUSH_GRACE, writing).await;
            reason
        }
        Ended::Written(Ok(())) => "closed by the server".to_owned(),
        Ended::Written(Err(e)) => lost(conn, &e),
    };
    info!(%conn, reason, "session ended");
}

/// Why a connection failed, in words for the people who share its rooms; the details go to the log.
fn lost(conn: ConnId, error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    info!(%conn, %error, "connection failed");
    // The server's own errors (a deadline, say) are already words for people.
    if error.raw_os_error().is_none()
        && let Some(ours) = error.get_ref()
    {
        return ours.to_string();
    }
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
///
/// A session has one message at a time with the hub, and reads no further while the answers to its
/// requests wait to be written: a client that sends faster than it reads, or faster than its flood
/// budget, is slowed (its requests wait in its socket), and the hub's inbox is shared fairly.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn keeps its arguments twice in its future"
)]
fn read_requests<'a, S: Source>(
    conn: ConnId,
    mode: WireMode,
    frames: &'a mut FrameReader<S>,
    outbox: &'a Arc<Outbox>,
    hub: &'a mpsc::Sender<HubMessage>,
    flood: Option<&'a FloodPolicy>,
) -> impl Future<Output = String> + 'a {
    async move {
        let mut gate = flood.map(|policy| FloodGate::new(policy, Instant::now().into_std()));
        let mut irc = IrcState::default();
        loop {
            if let Err(e) = paced(outbox, frames, gate.as_mut()).await {
                return lost(conn, &e);
            }
            let first = match frames.next().await {
                None => return "connection closed by the client".to_owned(),
                Some(Err(e)) => return lost(conn, &e),
                Some(Ok(frame)) => frame,
            };
            let max_frame = frames.max_frame_bytes();
            let decode = |frame, batch: &mut Vec<Input>| input(conn, mode, frame, max_frame, &mut irc, batch);
            let batch = gather(first, frames, outbox.answer_room(), gate.as_mut(), decode);
            // Only the boxed send lives across its await: every idle session waits in this loop,
            // and the batch kept in the future's state would make all of them bigger.
            if !batch.is_empty() {
                METRICS.requests(batch.len());
                outbox.input_sent();
                if send(hub, conn, outbox, batch).await.is_err() {
                    return "the server is shutting down".to_owned();
                }
            }
        }
    }
}

type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), SendError<HubMessage>>> + Send + 'a>>;

fn send<'a>(hub: &'a mpsc::Sender<HubMessage>, conn: ConnId, outbox: &Arc<Outbox>, inputs: Vec<Input>) -> Sending<'a> {
    let outbox = outbox.clone();
    Box::pin(hub.send(HubMessage::Requests { conn, outbox, inputs }))
}

/// One frame as hub inputs, added to `batch`: none for a frame that asks nothing (an empty line),
/// several for an IRC line that names several targets.
fn input(conn: ConnId, mode: WireMode, frame: Frame, max_frame: usize, irc: &mut IrcState, batch: &mut Vec<Input>) {
    let input = match (frame, mode) {
        (Frame::TooLong, _) => too_long(conn, max_frame),
        (Frame::Line(line), WireMode::Irc(..)) => return irc_line(conn, &line, irc, batch),
        (Frame::Line(line), _) => match decode(conn, mode, line) {
            Some(input) => input,
            None => return,
        },
    };
    if let Input::Reject { conn, message, .. } = &input {
        debug!(%conn, message, "bad request");
    }
    batch.push(input);
}

/// An IRC line as the requests it makes; a line that cannot be read is told as such.
fn irc_line(conn: ConnId, line: &[u8], irc: &mut IrcState, batch: &mut Vec<Input>) {
    let message = match Message::parse(line) {
        Ok(message) => message,
        Err(ParseError::Empty) => return,
        Err(e) => {
            let code = match e {
                ParseError::TooLong | ParseError::TagsTooLong => ErrorCode::TooLarge,
                _ => ErrorCode::BadRequest,
            };
            let message = format!("that line could not be read: {e}");
            return batch.push(Input::Reject {
                conn,
                id: None,
                code,
                message,
            });
        }
    };
    let mut requests = Vec::new();
    commands::requests(&message, irc, &mut requests);
    batch.extend(requests.into_iter().map(|request| Input::Request { conn, request }));
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

/// A whole line, in the session's wire mode, as hub input; `None` for a blank one.
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
        WireMode::Irc(..) => None,
        WireMode::Json => match json::parse_request(&line) {
            Ok(request) if matches!(request.command, Command::Hello { .. }) => {
                Some(reject(request.id, "already said hello".to_owned()))
            }
            Ok(request) => Some(Input::Request { conn, request }),
            Err(malformed) => Some(reject(malformed.id, malformed.reason)),
        },
    }
}
