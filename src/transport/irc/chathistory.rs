//! IRCv3 draft/chathistory: CHATHISTORY LATEST, BEFORE, AFTER, AROUND and BETWEEN by message id, as
//! the hub's `history` pages (AROUND as two, the messages before and after, in one batch).

use super::message::Message;
use crate::names::{Nick, RoomName};
use crate::protocol::{Command, Message as ChatMessage, MessageId};
use crate::store::HISTORY_PAGE_MAX;

/// The most messages one CHATHISTORY returns (ISUPPORT's `CHATHISTORY`).
pub const MAX_MESSAGES: usize = 100;
const _: () = assert!(MAX_MESSAGES <= HISTORY_PAGE_MAX);

/// Why a CHATHISTORY was refused: FAIL CHATHISTORY's code.
pub type Failure = &'static str;

/// Which part of a CHATHISTORY's answer a page is: the whole of it, or, for AROUND, the part before
/// the reference (which opens the batch) and the part after it (which closes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Whole,
    Opens,
    Closes,
}

impl Part {
    /// The name an id carries for it (`asked::reply_id`); a whole page carries none.
    pub fn name(self) -> Option<&'static str> {
        match self {
            Part::Whole => None,
            Part::Opens => Some("HISTORY-OPENS"),
            Part::Closes => Some("HISTORY-CLOSES"),
        }
    }

    pub fn named(name: Option<&str>) -> Part {
        match name {
            Some("HISTORY-OPENS") => Part::Opens,
            Some("HISTORY-CLOSES") => Part::Closes,
            _ => Part::Whole,
        }
    }
}

/// The `history` pages a CHATHISTORY line asks for, or why they cannot be asked.
pub fn command(line: &Message) -> Result<Vec<(Command, Part)>, Failure> {
    let params = &line.params;
    if params.len() < 3 {
        return Err("NEED_MORE_PARAMS");
    }
    let sub = params[0].to_ascii_uppercase();
    if !matches!(sub.as_str(), "LATEST" | "BEFORE" | "AFTER" | "AROUND" | "BETWEEN") {
        // TARGETS would list conversations by their latest activity, which the store does not index.
        return Err("UNKNOWN_COMMAND");
    }
    let (room, with) = target(&params[1]).ok_or("INVALID_TARGET")?;
    let limit_at = if sub == "BETWEEN" { 4 } else { 3 };
    let limit = params
        .get(limit_at)
        .and_then(|l| l.parse::<usize>().ok())
        .ok_or("INVALID_PARAMS")?
        .clamp(1, MAX_MESSAGES);
    let page = |after, before, limit| Command::History {
        room: room.clone(),
        with: with.clone(),
        after,
        before,
        limit: Some(limit),
    };
    Ok(match sub.as_str() {
        // The latest page; with a reference, the renderer keeps only what follows it.
        "LATEST" if params[2] == "*" => vec![(page(None, None, limit), Part::Whole)],
        "LATEST" => {
            reference(&params[2])?;
            vec![(page(None, None, limit), Part::Whole)]
        }
        "AFTER" => vec![(page(Some(reference(&params[2])?), None, limit), Part::Whole)],
        "BEFORE" => vec![(page(None, Some(reference(&params[2])?), limit), Part::Whole)],
        "AROUND" => {
            let MessageId(at) = reference(&params[2])?;
            // The reference itself and the older half before it, then the newer half.
            let older = limit.div_ceil(2);
            let mut pages = vec![(page(None, Some(MessageId(at.saturating_add(1))), older), Part::Opens)];
            if limit > older {
                pages.push((page(Some(MessageId(at)), None, limit - older), Part::Closes));
            }
            pages
        }
        _ => {
            let (a, b) = (
                reference(&params[2])?,
                reference(params.get(3).ok_or("NEED_MORE_PARAMS")?)?,
            );
            // The page runs from the first bound towards the second; the renderer stops at it.
            let (after, before) = if a < b { (Some(a), None) } else { (None, Some(a)) };
            vec![(page(after, before, limit), Part::Whole)]
        }
    })
}

/// The ids a page's messages must lie strictly between, where the page may run past what was asked:
/// BETWEEN's second bound, and LATEST's reference.
pub fn bounds(line: &Message) -> Option<(MessageId, MessageId)> {
    let sub = line.params.first()?;
    let first = reference(line.params.get(2)?).ok()?;
    if sub.eq_ignore_ascii_case("LATEST") {
        return Some((first, MessageId(u64::MAX)));
    }
    if !sub.eq_ignore_ascii_case("BETWEEN") {
        return None;
    }
    let second = reference(line.params.get(3)?).ok()?;
    Some((first.min(second), first.max(second)))
}

/// Whether a page's message lies within bounds (exclusive).
pub fn within(message: &ChatMessage, (low, high): (MessageId, MessageId)) -> bool {
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
        let history = |after: Option<u64>, before: Option<u64>, limit| Command::History {
            room: Some(RoomName::parse("rust").unwrap()),
            with: None,
            after: after.map(MessageId),
            before: before.map(MessageId),
            limit: Some(limit),
        };
        let with_bob = Command::History {
            room: None,
            with: Some(Nick::parse("bob").unwrap()),
            after: None,
            before: None,
            limit: Some(100),
        };
        let cases = [
            (
                "CHATHISTORY LATEST #rust * 50",
                Ok(vec![(history(None, None, 50), Part::Whole)]),
            ),
            ("CHATHISTORY LATEST bob * 500", Ok(vec![(with_bob, Part::Whole)])),
            (
                "CHATHISTORY LATEST #rust msgid=4 5",
                Ok(vec![(history(None, None, 5), Part::Whole)]),
            ),
            (
                "CHATHISTORY BEFORE #rust msgid=9 10",
                Ok(vec![(history(None, Some(9), 10), Part::Whole)]),
            ),
            (
                "CHATHISTORY AFTER #rust msgid=9 10",
                Ok(vec![(history(Some(9), None, 10), Part::Whole)]),
            ),
            (
                "CHATHISTORY BETWEEN #rust msgid=9 msgid=3 10",
                Ok(vec![(history(None, Some(9), 10), Part::Whole)]),
            ),
            (
                "CHATHISTORY AROUND #rust msgid=9 5",
                Ok(vec![
                    (history(None, Some(10), 3), Part::Opens),
                    (history(Some(9), None, 2), Part::Closes),
                ]),
            ),
            (
                "CHATHISTORY AROUND #rust msgid=9 1",
                Ok(vec![(history(None, Some(10), 1), Part::Opens)]),
            ),
            (
                "CHATHISTORY BEFORE #rust timestamp=2026-01-01T00:00:00.000Z 10",
                Err("INVALID_PARAMS"),
            ),
            ("CHATHISTORY TARGETS * * 10", Err("UNKNOWN_COMMAND")),
            ("CHATHISTORY LATEST #rust", Err("NEED_MORE_PARAMS")),
            ("CHATHISTORY LATEST 9x * 5", Err("INVALID_TARGET")),
        ];
        for (line, want) in cases {
            assert_eq!(command(&Message::parse(line.as_bytes()).unwrap()), want, "{line}");
        }
    }

    #[test]
    fn latest_after_a_reference_and_between_keep_within_their_bounds() {
        let bounds_of = |line: &str| bounds(&Message::parse(line.as_bytes()).unwrap());
        assert_eq!(
            bounds_of("CHATHISTORY LATEST #r msgid=4 5"),
            Some((MessageId(4), MessageId(u64::MAX)))
        );
        assert_eq!(
            bounds_of("CHATHISTORY BETWEEN #r msgid=9 msgid=3 5"),
            Some((MessageId(3), MessageId(9)))
        );
        assert_eq!(bounds_of("CHATHISTORY LATEST #r * 5"), None);
        assert_eq!(bounds_of("CHATHISTORY AFTER #r msgid=4 5"), None);
    }
}
