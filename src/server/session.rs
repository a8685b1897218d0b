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
use tokio::time::Instant;
use tracing::{debug, info};

use super::fanout::Link;
use super::flood::{FloodGate, FloodPolicy};
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
        let reason = tokio::select! {
            reason = reading => {
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
        loop {
            std::future::poll_fn(|cx| outbox.poll_accepting_input(cx)).await;
            if let Some(gate) = &mut gate {
                hold_back(gate).await;
            }
            let first = match frames.next().await {
                None => return "connection closed by the client".to_owned(),
                Some(Err(e)) => return lost(conn, &e),
                Some(Ok(frame)) => frame,
            };
            let batch = gather(conn, mode, first, frames, outbox.answer_room(), gate.as_mut());
            // Only the boxed send lives across its await: every idle session waits in this loop,
            // and the batch kept in the future's state would make all of them bigger.
            if !batch.is_empty() {
                outbox.input_sent();
                if send(hub, conn, outbox, batch).await.is_err() {
                    return "the server is shutting down".to_owned();
                }
            }
        }
    }
}

/// Waits until the flood budget lets the next request be read; a boxed timer, and only when needed.
async fn hold_back(gate: &mut FloodGate<'_>) {
    let wait = gate.wait(Instant::now().into_std());
    if !wait.is_zero() {
        debug!(?wait, "flood control");
        Box::pin(tokio::time::sleep(wait)).await;
    }
}

/// The requests to hand the hub at once, from `first` and what is already read behind it: at most
/// `INPUT_BATCH`, no more than the flood budget allows, and no more than their answers fit in the
/// outbox's `answer_room`. The rest stays in the reader's buffer for the next batch.
fn gather<S: Source>(
    conn: ConnId,
    mode: WireMode,
    first: Frame,
    frames: &mut FrameReader<S>,
    answer_room: usize,
    mut gate: Option<&mut FloodGate<'_>>,
) -> Vec<Input> {
    let now = Instant::now().into_std();
    let allowed = gate.as_mut().map_or(INPUT_BATCH, |g| g.allowance(now).min(INPUT_BATCH));
    let mut batch = Vec::new();
    let mut answers = 0;
    let mut next = Some(first);
    while let Some(frame) = next.take() {
        let bytes = frame.wire_bytes();
        if let Some(input) = input(conn, mode, frame, frames.max_frame_bytes()) {
            answers += answer_bytes(&input);
            batch.push(input);
            if let Some(gate) = gate.as_mut() {
                gate.charge(bytes);
            }
        }
        let spent = gate.as_ref().is_some_and(|g| g.bytes_spent());
        if batch.len() >= allowed || spent || answers + LIST_ANSWER_BYTES > answer_room {
            break;
        }
        next = frames.next_buffered();
    }
    batch
}

/// The most bytes of answers one request may cause to its sender, as encoded: an ack or an error, a
/// join's notices and topic, a rename, a pong.
pub const SMALL_ANSWER_BYTES: usize = 8 * 1024;
/// The most bytes of answers a listing may cause (`who`, `rooms`): the hub pages them.
pub const LIST_ANSWER_BYTES: usize = 128 * 1024;

fn answer_bytes(input: &Input) -> usize {
    match input {
        Input::Request { request, .. } if matches!(request.command, Command::Who { .. } | Command::Rooms { .. }) => {
            LIST_ANSWER_BYTES
        }
        _ => SMALL_ANSWER_BYTES,
    }
}

type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), SendError<HubMessage>>> + Send + 'a>>;

fn send<'a>(hub: &'a mpsc::Sender<HubMessage>, conn: ConnId, outbox: &Arc<Outbox>, inputs: Vec<Input>) -> Sending<'a> {
    let outbox = outbox.clone();
    Box::pin(hub.send(HubMessage::Requests { conn, outbox, inputs }))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::{Arrival, Effect, Focus, Hub, HubConfig, MAX_TOPIC_BYTES};
    use crate::names::{MAX_NICK_CHARS, MAX_ROOM_CHARS, Nick, RoomName};
    use crate::protocol::{Event, Request};
    use crate::transport::Encoded;

    fn ask(hub: &mut Hub, conn: u64, command: Command) -> Vec<Effect> {
        let request = Request::new(command);
        hub.handle(
            Input::Request {
                conn: ConnId(conn),
                request,
            },
            0,
        )
    }

    /// The largest encoding of the first event the hub answers `command` with.
    fn largest_answer(hub: &mut Hub, command: Command) -> usize {
        let effects = ask(hub, 1, command);
        let Some(Effect::Deliver { event, .. }) = effects.first() else {
            panic!("no answer: {effects:?}");
        };
        assert!(matches!(
            event,
            Event::Rooms { more: true, .. } | Event::Members { more: true, .. }
        ));
        let mut encoded = Encoded::new(event);
        [WireMode::Json, WireMode::Text]
            .into_iter()
            .map(|mode| encoded.bytes(mode, Focus::Elsewhere).len())
            .max()
            .unwrap()
    }

    #[test]
    fn a_listing_at_its_worst_fits_what_a_listing_is_counted_at() {
        let mut hub = Hub::new(HubConfig {
            server: "test".to_owned(),
            max_message: 1024,
            presence_limit: 10,
            max_rooms: 100_000,
            operator_nick: Nick::parse("server").unwrap(),
        });
        let topic = "\u{1}".repeat(MAX_TOPIC_BYTES);
        for conn in 1..=4000u64 {
            let name = format!("n{conn:0width$}", width = MAX_NICK_CHARS - 1);
            let arrival = Arrival {
                conn: ConnId(conn),
                nick: Some(Nick::parse(&name).unwrap()),
                room: None,
                peer: String::new(),
                operator: false,
                echo: false,
            };
            hub.handle(Input::Connect(arrival), 0);
            if conn <= 200 {
                let room = RoomName::parse(&format!("r{conn:0width$}", width = MAX_ROOM_CHARS - 1)).unwrap();
                ask(&mut hub, conn, Command::Join { room: room.clone() });
                let topic = Some(topic.clone());
                ask(
                    &mut hub,
                    conn,
                    Command::Topic {
                        room: Some(room),
                        topic,
                    },
                );
            }
        }
        let rooms = largest_answer(&mut hub, Command::Rooms { after: None });
        let lobby = Some(RoomName::lobby());
        let who = largest_answer(
            &mut hub,
            Command::Who {
                room: lobby,
                after: None,
            },
        );
        for (what, bytes) in [("rooms", rooms), ("who", who)] {
            assert!(bytes <= LIST_ANSWER_BYTES, "a page of {what} took {bytes} bytes");
            assert!(
                bytes > LIST_ANSWER_BYTES / 4,
                "a page of {what} is far smaller than counted: {bytes}"
            );
        }
    }
}
