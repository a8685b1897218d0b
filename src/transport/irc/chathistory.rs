//! IRCv3 draft/chathistory: CHATHISTORY LATEST, BEFORE, AFTER and BETWEEN by message id, as the
//! hub's `history` pages, and a page as a `chathistory` batch.

use super::message::Message;
use crate::names::{Nick, RoomName};
use crate::protocol::{Command, Message as ChatMessage, MessageId};
use crate::store::HISTORY_PAGE_MAX;

/// The most messages one CHATHISTORY returns (ISUPPORT's `CHATHISTORY`).
pub const MAX_MESSAGES: usize = 100;
const _: () = assert!(MAX_MESSAGES <= HISTORY_PAGE_MAX);

/// Why a CHATHISTORY was refused: FAIL CHATHISTORY's code.
pub type Failure = &'static str;

/// The `history` a CHATHISTORY line asks for, or why it cannot be asked.
pub fn command(line: &Message) -> Result<Command, Failure> {
    let params = &line.params;
    if params.len() < 3 {
        return Err("NEED_MORE_PARAMS");
    }
    let sub = params[0].to_ascii_uppercase();
    let (room, with) = target(&params[1]).ok_or("INVALID_TARGET")?;
    let limit_at = if sub == "BETWEEN" { 4 } else { 3 };
    let limit = params
        .get(limit_at)
        .and_then(|l| l.parse::<usize>().ok())
        .ok_or("INVALID_PARAMS")?
        .clamp(1, MAX_MESSAGES);
    let (after, before) = match sub.as_str() {
        "LATEST" if params[2] == "*" => (None, None),
        "LATEST" | "AFTER" => (Some(reference(&params[2])?), None),
        "BEFORE" => (None, Some(reference(&params[2])?)),
        "BETWEEN" => {
            let (a, b) = (
                reference(&params[2])?,
                reference(params.get(3).ok_or("NEED_MORE_PARAMS")?)?,
            );
            // The page runs from the first bound towards the second; the renderer stops at it.
            if a < b { (Some(a), None) } else { (None, Some(a)) }
        }
        // AROUND and TARGETS are not offered.
        _ => return Err("UNKNOWN_COMMAND"),
    };
    Ok(Command::History {
        room,
        with,
        after,
        before,
        limit: Some(limit),
    })
}

/// The second bound of a BETWEEN, which the page must not pass.
pub fn between_bound(line: &Message) -> Option<(MessageId, MessageId)> {
    if !line.params.first()?.eq_ignore_ascii_case("BETWEEN") {
        return None;
    }
    Some((
        reference(line.params.get(2)?).ok()?,
        reference(line.params.get(3)?).ok()?,
    ))
}

/// Whether a page's message lies within a BETWEEN's bounds (exclusive).
pub fn within(message: &ChatMessage, (a, b): (MessageId, MessageId)) -> bool {
    let (low, high) = if a < b { (a, b) } else { (b, a) };
    message.id > low && message.id < high
}

fn target(text: &str) -> Option<(Option<RoomName>, Option<Nick>)> {
    match text.strip_prefix('#') {
        Some(room) => Some((Some(RoomName::parse(room).ok()?), None)),
        None => Some((None, Some(Nick::parse(text).ok()?))),
    }
}

/// `msgid=N`; timestamps are not taken (sockchat pages by message id).
fn reference(text: &str) -> Result<MessageId, Failure> {
    text.strip_prefix("msgid=")
        .and_then(|id| id.parse().ok())
        .map(MessageId)
        .ok_or("INVALID_PARAMS")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_as_history_requests() {
        let history = |room: Option<&str>, with: Option<&str>, after: Option<u64>, before: Option<u64>, limit| {
            Ok(Command::History {
                room: room.map(|r| RoomName::parse(r).unwrap()),
                with: with.map(|n| Nick::parse(n).unwrap()),
                after: after.map(MessageId),
                before: before.map(MessageId),
                limit: Some(limit),
            })
        };
        let cases = [
            (
                "CHATHISTORY LATEST #rust * 50",
                history(Some("rust"), None, None, None, 50),
            ),
            (
                "CHATHISTORY LATEST bob * 500",
                history(None, Some("bob"), None, None, 100),
            ),
            (
                "CHATHISTORY BEFORE #rust msgid=9 10",
                history(Some("rust"), None, None, Some(9), 10),
            ),
            (
                "CHATHISTORY AFTER #rust msgid=9 10",
                history(Some("rust"), None, Some(9), None, 10),
            ),
            (
                "CHATHISTORY BETWEEN #rust msgid=9 msgid=3 10",
                history(Some("rust"), None, None, Some(9), 10),
            ),
            (
                "CHATHISTORY BEFORE #rust timestamp=2026-01-01T00:00:00.000Z 10",
                Err("INVALID_PARAMS"),
            ),
            ("CHATHISTORY AROUND #rust msgid=9 10", Err("UNKNOWN_COMMAND")),
            ("CHATHISTORY LATEST #rust", Err("NEED_MORE_PARAMS")),
            ("CHATHISTORY LATEST 9x * 5", Err("INVALID_TARGET")),
        ];
        for (line, want) in cases {
            assert_eq!(command(&Message::parse(line.as_bytes()).unwrap()), want, "{line}");
        }
    }
}
