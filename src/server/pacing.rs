//! How fast a session reads: when it may read again (the hub has its last requests handled, their
//! answers are mostly written, its flood budget allows), and how many requests it hands the hub at once.

use std::future::{Future, poll_fn};
use std::io;
use std::task::Poll;

use tokio::time::Instant;
use tracing::debug;

use super::flood::FloodGate;
use super::metrics::METRICS;
use super::outbox::Outbox;
use super::reader::{FrameReader, Source};
use crate::hub::{Input, TEXT_EXPANSION};
use crate::protocol::Command;
use crate::store::{ANSWER_TEXT_MAX_BYTES, HISTORY_PAGE_MAX};
use crate::transport::line::Frame;

/// The most requests a session hands the hub in one message.
pub const INPUT_BATCH: usize = 256;
/// The most bytes of answers one request may cause to its sender, as encoded: an ack or an error (its
/// message cut to `MAX_REASON_BYTES`), a join's notices and topic, a rename, a pong; and beside a
/// direct message, the copy a plain sender is shown.
pub const SMALL_ANSWER_BYTES: usize = 8 * 1024;
/// The most bytes of answers a listing may cause (`who`, `rooms`, `bans`): the hub pages them.
pub const LIST_ANSWER_BYTES: usize = 128 * 1024;
/// The most bytes of answers a history page or a search may cause: its texts (at most
/// `ANSWER_TEXT_MAX_BYTES`, unless one message is longer) at their most expanded, and each
/// message's fields (id, time, nicks, room) at 160 bytes.
pub const HISTORY_ANSWER_BYTES: usize = ANSWER_TEXT_MAX_BYTES * TEXT_EXPANSION + HISTORY_PAGE_MAX * 160;

/// Waits until the session may read again: the hub has handled its last requests, their answers are
/// mostly written, and the flood budget lets the next one in (a boxed timer, only when needed).
/// Meanwhile a reader that holds part of the server's frame budget may not keep it past its deadline.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn keeps its arguments twice in its future, which every idle session waits in"
)]
pub fn paced<'a, 'g: 'a, S: Source>(
    outbox: &'a Outbox,
    frames: &'a mut FrameReader<S>,
    gate: Option<&'a mut FloodGate<'g>>,
) -> impl Future<Output = io::Result<()>> + 'a {
    async move {
        poll_fn(|cx| match frames.poll_held_too_long(cx) {
            Poll::Ready(e) => Poll::Ready(Err(e)),
            Poll::Pending => outbox.poll_accepting_input(cx).map(Ok),
        })
        .await?;
        let Some(gate) = gate else {
            return Ok(());
        };
        let wait = gate.wait(Instant::now().into_std());
        if wait.is_zero() {
            return Ok(());
        }
        debug!(?wait, "flood control");
        METRICS.flood_delayed(wait);
        let mut sleep = Box::pin(tokio::time::sleep(wait));
        poll_fn(|cx| match frames.poll_held_too_long(cx) {
            Poll::Ready(e) => Poll::Ready(Err(e)),
            Poll::Pending => sleep.as_mut().poll(cx).map(Ok),
        })
        .await
    }
}

/// The requests to hand the hub at once, from `first` and the frames already read behind it: at most
/// `INPUT_BATCH`, no more than the flood budget allows, and no more than their answers fit in the
/// outbox's `answer_room`. The rest stays in the reader's buffer for the next batch. Every frame is
/// charged to the flood budget, blank and over-long ones too (they cost reading all the same).
pub fn gather<S: Source>(
    first: Frame,
    frames: &mut FrameReader<S>,
    answer_room: usize,
    mut gate: Option<&mut FloodGate<'_>>,
    mut decode: impl FnMut(Frame, &mut Vec<Input>),
) -> Vec<Input> {
    let now = Instant::now().into_std();
    let allowed = gate.as_mut().map_or(INPUT_BATCH, |g| g.allowance(now).min(INPUT_BATCH));
    let mut batch = Vec::new();
    let mut taken = 0;
    let mut answers = 0;
    let mut next = Some(first);
    while let Some(frame) = next.take() {
        let bytes = match &frame {
            Frame::TooLong => frames.max_frame_bytes(),
            Frame::Line(line) => line.len(),
        };
        if let Some(gate) = gate.as_mut() {
            gate.charge(bytes);
        }
        taken += 1;
        let before = batch.len();
        decode(frame, &mut batch);
        let decoded = &batch[before..];
        answers += decoded.iter().map(answer_bytes).sum::<usize>();
        let barrier = decoded
            .iter()
            .any(|input| changes_who_asks(input) || answered_by_the_store(input));
        let spent = gate.as_ref().is_some_and(|g| g.bytes_spent());
        if barrier || taken >= allowed || spent || answers + HISTORY_ANSWER_BYTES > answer_room {
            break;
        }
        next = frames.next_buffered();
    }
    batch
}

/// Whether the request may change who the session is (its account, nick, powers) once the store
/// answers: the requests behind it wait for that answer, so they are handled as the new identity.
fn changes_who_asks(input: &Input) -> bool {
    matches!(
        input,
        Input::Request { request, .. }
            if matches!(request.command, Command::Login { .. } | Command::Register { .. } | Command::Unregister { .. })
    )
}

/// Whether the request is answered by the store: the requests behind it wait for that answer, so
/// answers come in the order asked (an IRC client's labeled answers one after another).
fn answered_by_the_store(input: &Input) -> bool {
    matches!(
        input,
        Input::Request { request, .. } if matches!(request.command, Command::History { .. } | Command::Search { .. })
    )
}

fn answer_bytes(input: &Input) -> usize {
    let Input::Request { request, .. } = input else {
        return SMALL_ANSWER_BYTES;
    };
    match &request.command {
        Command::Who { .. } | Command::Rooms { .. } | Command::Bans | Command::Users { .. } => LIST_ANSWER_BYTES,
        Command::History { .. } | Command::Search { .. } => HISTORY_ANSWER_BYTES,
        // A plain sender is shown what it sent.
        Command::Msg { text, .. } => SMALL_ANSWER_BYTES + text.len() * TEXT_EXPANSION,
        _ => SMALL_ANSWER_BYTES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::{Arrival, Effect, Focus, Hub, HubConfig, MAX_TOPIC_BYTES};
    use crate::names::ConnId;
    use crate::names::{MAX_NICK_CHARS, MAX_ROOM_CHARS, Nick, RoomName};
    use crate::protocol::{Event, Request};
    use crate::transport::Encoded;
    use crate::transport::WireMode;

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
                ip: None,
                secure: false,
                login: crate::hub::Login::None,
                replay: 0,
                lands: true,
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
