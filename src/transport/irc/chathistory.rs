//! IRCv3 draft/chathistory: CHATHISTORY LATEST, BEFORE, AFTER, AROUND and BETWEEN by message id, as
//! the hub's `history` pages (AROUND as two, the messages before and after, in one batch).

use super::message::Message;
use crate::names::{Nick, RoomName};
use crate::protocol::{Command, Message as ChatMessage, MessageId, Millis};
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

/// A place in a conversation, as a CHATHISTORY reference names it: a message's id, or a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd)]
pub enum Reference {
    Id(MessageId),
    Time(Millis),
}

impl Reference {
    /// Whether `message` comes after this place.
    fn is_before(self, message: &ChatMessage) -> bool {
        match self {
            Reference::Id(id) => message.id > id,
            Reference::Time(ts) => message.ts > ts,
        }
    }

    /// Whether `message` comes before this place.
    fn is_after(self, message: &ChatMessage) -> bool {
        match self {
            Reference::Id(id) => message.id < id,
            Reference::Time(ts) => message.ts < ts,
        }
    }
}

/// Where a page starts: `(after, before, after_time, before_time)` of a `history`.
type Start = (Option<MessageId>, Option<MessageId>, Option<Millis>, Option<Millis>);

fn after(reference: Reference) -> Start {
    match reference {
        Reference::Id(id) => (Some(id), None, None, None),
        Reference::Time(ts) => (None, None, Some(ts), None),
    }
}

fn before(reference: Reference) -> Start {
    match reference {
        Reference::Id(id) => (None, Some(id), None, None),
        Reference::Time(ts) => (None, None, None, Some(ts)),
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
    let page = |(after, before, after_time, before_time): Start, limit| Command::History {
        room: room.clone(),
        with: with.clone(),
        after,
        before,
        after_time,
        before_time,
        limit: Some(limit),
    };
    let latest = (None, None, None, None);
    Ok(match sub.as_str() {
        // The latest page; with a reference, the renderer keeps only what follows it.
        "LATEST" if params[2] == "*" => vec![(page(latest, limit), Part::Whole)],
        "LATEST" => {
            reference(&params[2])?;
            vec![(page(latest, limit), Part::Whole)]
        }
        "AFTER" => vec![(page(after(reference(&params[2])?), limit), Part::Whole)],
        "BEFORE" => vec![(page(before(reference(&params[2])?), limit), Part::Whole)],
        "AROUND" => {
            let at = reference(&params[2])?;
            // The reference itself and the older half before it, then the newer half.
            let through = match at {
                Reference::Id(MessageId(id)) => Reference::Id(MessageId(id.saturating_add(1))),
                Reference::Time(ts) => Reference::Time(ts.saturating_add(1)),
            };
            let older = limit.div_ceil(2);
            let mut pages = vec![(page(before(through), older), Part::Opens)];
            if limit > older {
                pages.push((page(after(at), limit - older), Part::Closes));
            }
            pages
        }
        _ => {
            let (a, b) = (
                reference(&params[2])?,
                reference(params.get(3).ok_or("NEED_MORE_PARAMS")?)?,
            );
            if std::mem::discriminant(&a) != std::mem::discriminant(&b) {
                return Err("INVALID_PARAMS");
            }
            // The page runs from the first bound towards the second; the renderer stops at it.
            let start = if a < b { after(a) } else { before(a) };
            vec![(page(start, limit), Part::Whole)]
        }
    })
}

/// The places a page's messages must lie strictly between, where the page may run past what was
/// asked: BETWEEN's second bound, and LATEST's reference.
pub fn bounds(line: &Message) -> Option<(Reference, Option<Reference>)> {
    let sub = line.params.first()?;
    let first = reference(line.params.get(2)?).ok()?;
    if sub.eq_ignore_ascii_case("LATEST") {
        return Some((first, None));
    }
    if !sub.eq_ignore_ascii_case("BETWEEN") {
        return None;
    }
    let second = reference(line.params.get(3)?).ok()?;
    Some(if first < second {
        (first, Some(second))
    } else {
        (second, Some(first))
    })
}

/// Whether a page's message lies within bounds (exclusive).
pub fn within(message: &ChatMessage, (low, high): (Reference, Option<Reference>)) -> bool {
    low.is_before(message) && high.is_none_or(|high| high.is_after(message))
}

/// A name for a reference that a batch's reference may hold (letters and digits).
pub fn reference_name(text: &str) -> String {
    match reference(text) {
        Ok(Reference::Id(MessageId(id))) => id.to_string(),
        Ok(Reference::Time(ts)) => format!("t{ts}"),
        Err(_) => String::new(),
    }
}

fn target(text: &str) -> Option<(Option<RoomName>, Option<Nick>)> {
    match text.strip_prefix('#') {
        Some(room) => Some((Some(RoomName::parse(room).ok()?), None)),
        None => Some((None, Some(Nick::parse(text).ok()?))),
    }
}

/// `msgid=N`, or `timestamp=YYYY-MM-DDThh:mm:ss.sssZ` (server-time's form, UTC).
fn reference(text: &str) -> Result<Reference, Failure> {
    if let Some(id) = text.strip_prefix("msgid=") {
        return id
            .parse()
            .map(|id| Reference::Id(MessageId(id)))
            .map_err(|_| "INVALID_PARAMS");
    }
    let time = text.strip_prefix("timestamp=").ok_or("INVALID_PARAMS")?;
    chrono::DateTime::parse_from_rfc3339(time)
        .ok()
        .and_then(|at| Millis::try_from(at.timestamp_millis()).ok())
        .map(Reference::Time)
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
            after_time: None,
            before_time: None,
            limit: Some(limit),
        };
        let by_time = |after_time: Option<u64>, before_time: Option<u64>, limit| Command::History {
            room: Some(RoomName::parse("rust").unwrap()),
            with: None,
            after: None,
            before: None,
            after_time,
            before_time,
            limit: Some(limit),
        };
        let with_bob = Command::History {
            room: None,
            with: Some(Nick::parse("bob").unwrap()),
            after: None,
            before: None,
            after_time: None,
            before_time: None,
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
                Ok(vec![(by_time(None, Some(1_767_225_600_000), 10), Part::Whole)]),
            ),
            (
                "CHATHISTORY AFTER #rust timestamp=2026-01-01T00:00:00.250Z 10",
                Ok(vec![(by_time(Some(1_767_225_600_250), None, 10), Part::Whole)]),
            ),
            (
                "CHATHISTORY AROUND #rust timestamp=2026-01-01T00:00:00.000Z 4",
                Ok(vec![
                    (by_time(None, Some(1_767_225_600_001), 2), Part::Opens),
                    (by_time(Some(1_767_225_600_000), None, 2), Part::Closes),
                ]),
            ),
            (
                "CHATHISTORY BETWEEN #rust timestamp=2026-01-01T00:00:00.000Z msgid=3 10",
                Err("INVALID_PARAMS"),
            ),
            ("CHATHISTORY BEFORE #rust timestamp=yesterday 10", Err("INVALID_PARAMS")),
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
        let id = |n| Reference::Id(MessageId(n));
        assert_eq!(bounds_of("CHATHISTORY LATEST #r msgid=4 5"), Some((id(4), None)));
        assert_eq!(
            bounds_of("CHATHISTORY BETWEEN #r msgid=9 msgid=3 5"),
            Some((id(3), Some(id(9))))
        );
        assert_eq!(
            bounds_of("CHATHISTORY LATEST #r timestamp=1970-01-01T00:00:01.000Z 5"),
            Some((Reference::Time(1000), None))
        );
        assert_eq!(bounds_of("CHATHISTORY LATEST #r * 5"), None);
        assert_eq!(bounds_of("CHATHISTORY AFTER #r msgid=4 5"), None);
    }
}
