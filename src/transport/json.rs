//! The structured wire mode: one JSON object per line, both ways (docs/protocol.md).

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::protocol::{Event, Request, RequestId};

/// A frame that is not a valid request: the id, if one could be read, and what is wrong.
#[derive(Debug, PartialEq)]
pub struct Malformed {
    pub id: Option<RequestId>,
    pub reason: String,
}

pub fn parse_request(frame: &[u8]) -> Result<Request, Malformed> {
    parse(frame).map_err(|reason| Malformed {
        id: salvage_id(frame),
        reason,
    })
}

pub fn parse_event(frame: &[u8]) -> Result<Event, String> {
    parse(frame)
}

pub fn render_event(event: &Event) -> Bytes {
    render(event)
}

pub fn render_request(request: &Request) -> Bytes {
    render(request)
}

fn parse<T: DeserializeOwned>(frame: &[u8]) -> Result<T, String> {
    serde_json::from_slice(frame).map_err(|e| format!("not a valid frame: {e}"))
}

fn render<T: Serialize>(value: &T) -> Bytes {
    let mut out = serde_json::to_vec(value).expect("protocol types always serialize");
    out.push(b'\n');
    Bytes::from(out)
}

/// The request's id, so that the error about an otherwise unreadable request can still name it.
fn salvage_id(frame: &[u8]) -> Option<RequestId> {
    #[derive(serde::Deserialize)]
    struct JustId {
        id: RequestId,
    }
    serde_json::from_slice::<JustId>(frame).ok().map(|j| j.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An input frame, and the request it reads as (as JSON) or the id and reason of its error.
    type Case<'a> = (&'a str, Result<&'a str, (Option<u64>, &'a str)>);

    #[test]
    fn requests() {
        let cases: &[Case] = &[
            (
                r#"{"type":"say","text":"hi","id":4}"#,
                Ok(r#"{"id":4,"type":"say","text":"hi"}"#),
            ),
            (
                r#"{"type":"say","room":"Rust","text":"a\nb"}"#,
                Ok(r#"{"type":"say","room":"rust","text":"a\nb"}"#),
            ),
            (r#"{"id":"x1","type":"rooms"}"#, Ok(r#"{"id":"x1","type":"rooms"}"#)),
            (
                r#"{"type":"hello","version":1,"nick":"ann"}"#,
                Ok(r#"{"type":"hello","version":1,"nick":"ann"}"#),
            ),
            (r#"{"type":"frob","id":5}"#, Err((Some(5), "unknown variant `frob`"))),
            (
                r#"{"type":"nick","nick":"9x","id":6}"#,
                Err((Some(6), "a nick must start with a letter")),
            ),
            (r#"{"type":"say"}"#, Err((None, "missing field `text`"))),
            (r#"{"type":"say","text":"x""#, Err((None, "EOF while parsing"))),
            ("[1,2]", Err((None, "not a valid frame"))),
            (r#"{"type":"ping","id":7}"#, Ok(r#"{"id":7,"type":"ping"}"#)),
            (
                r#"{"type":"ping","id":7,"extra":1}"#,
                Err((Some(7), "unknown field `extra`")),
            ),
            (r#"{"type":"rooms","page":2}"#, Err((None, "unknown field `page`"))),
            (r#"{"type":"help","x":null}"#, Err((None, "unknown field `x`"))),
            (
                r#"{"type":"say","text":"hi","to":"bob"}"#,
                Err((None, "unknown field `to`")),
            ),
            (
                r#"{"type":"hello","version":1,"nick":"ann","passwd":"x"}"#,
                Err((None, "unknown field `passwd`")),
            ),
            (
                r#"{"type":"quit","reason":"bye","when":0}"#,
                Err((None, "unknown field `when`")),
            ),
            (
                "{\"type\":\"say\",\"text\":\"\u{fffd}\"}",
                Ok("{\"type\":\"say\",\"text\":\"\u{fffd}\"}"),
            ),
        ];
        for (input, want) in cases {
            let got = parse_request(input.as_bytes());
            match (got, want) {
                (Ok(request), Ok(json)) => {
                    assert_eq!(serde_json::to_string(&request).unwrap(), *json)
                }
                (Err(m), Err((id, reason))) => {
                    assert_eq!(m.id, id.map(RequestId::Number), "{input}");
                    assert!(m.reason.contains(reason), "{input}: {}", m.reason);
                }
                (got, _) => panic!("{input}: got {got:?}"),
            }
        }
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let got = parse_request(b"{\"type\":\"say\",\"text\":\"\xff\"}");
        assert!(got.unwrap_err().reason.contains("invalid unicode"));
    }

    #[test]
    fn events_round_trip() {
        let line = r#"{"type":"message","id":3,"ts":5,"from":"ann","room":"lobby","text":"hi"}"#;
        let event = parse_event(line.as_bytes()).unwrap();
        assert_eq!(render_event(&event), format!("{line}\n").as_bytes());
    }
}

/// Every request and event survives rendering and parsing unchanged.
#[cfg(test)]
mod round_trips {
    use proptest::collection::vec;
    use proptest::option::of;
    use proptest::prelude::*;

    use super::*;
    use crate::names::{ConnId, Nick, RoomName};
    use crate::protocol::Password;
    use crate::protocol::{Command, ErrorCode, Message, MessageId, Recipient, RoomSummary};

    /// Any text, control characters and newlines included (`any::<String>()` leaves those out).
    fn text() -> impl Strategy<Value = String> {
        vec(any::<char>(), 0..48).prop_map(String::from_iter)
    }

    fn nick() -> impl Strategy<Value = Nick> {
        "[A-Za-z][A-Za-z0-9_-]{0,23}".prop_map(|n| Nick::parse(&n).unwrap())
    }

    fn room() -> impl Strategy<Value = RoomName> {
        "#?[A-Za-z][A-Za-z0-9_.-]{0,31}".prop_map(|r| RoomName::parse(&r).unwrap())
    }

    fn request_id() -> impl Strategy<Value = RequestId> {
        prop_oneof![
            any::<u64>().prop_map(RequestId::Number),
            text().prop_map(RequestId::Text)
        ]
    }

    fn recipient() -> impl Strategy<Value = Recipient> {
        prop_oneof![
            nick().prop_map(Recipient::Nick),
            any::<u64>().prop_map(|n| Recipient::Conn(ConnId(n)))
        ]
    }

    fn command() -> impl Strategy<Value = Command> {
        prop_oneof![
            (any::<u32>(), of(nick()), of(room()), of(text())).prop_map(|(version, nick, room, password)| {
                Command::Hello {
                    version,
                    nick,
                    room,
                    password: password.map(Password),
                    pass: None,
                }
            }),
            (of(room()), text(), any::<bool>()).prop_map(|(room, text, action)| Command::Say { room, text, action }),
            (recipient(), text()).prop_map(|(to, text)| Command::Msg { to, text }),
            nick().prop_map(|nick| Command::Nick { nick }),
            room().prop_map(|room| Command::Join { room }),
            (nick(), room()).prop_map(|(nick, room)| Command::Invite { nick, room }),
            of(room()).prop_map(|room| Command::Part { room }),
            (of(room()), of(text())).prop_map(|(room, topic)| Command::Topic { room, topic }),
            (of(room()), of(nick())).prop_map(|(room, after)| Command::Who { room, after }),
            of(room()).prop_map(|after| Command::Rooms { after }),
            Just(Command::Help),
            Just(Command::Ping),
            Just(Command::Pong),
            (recipient(), of(room()), of(text())).prop_map(|(target, room, reason)| Command::Kick {
                target,
                room,
                reason
            }),
            of(text()).prop_map(|reason| Command::Quit { reason }),
            (
                of(room()),
                of(nick()),
                of(any::<u64>()),
                of(any::<u64>()),
                of(any::<usize>())
            )
                .prop_map(|(room, with, after, before, limit)| Command::History {
                    room,
                    with,
                    after: after.map(MessageId),
                    before: before.map(MessageId),
                    after_time: None,
                    before_time: None,
                    limit,
                }),
            (text(), of(room()), of(any::<usize>())).prop_map(|(query, room, limit)| Command::Search {
                query,
                room,
                limit
            }),
            text().prop_map(|p| Command::Register { password: Password(p) }),
            (nick(), text()).prop_map(|(nick, p)| Command::Login {
                nick,
                password: Password(p)
            }),
            text().prop_map(|p| Command::Passwd { password: Password(p) }),
            text().prop_map(|p| Command::Unregister { password: Password(p) }),
            (text(), of(any::<u64>()), of(text())).prop_map(|(target, duration, reason)| Command::Ban {
                target,
                duration,
                reason
            }),
            text().prop_map(|target| Command::Unban { target }),
            Just(Command::Bans),
        ]
    }

    fn error_code() -> impl Strategy<Value = ErrorCode> {
        use ErrorCode::*;
        proptest::sample::select(vec![
            BadRequest,
            TooLarge,
            UnsupportedVersion,
            NickTaken,
            NoSuchNick,
            NoSuchRoom,
            NotInRoom,
            NoRoom,
            EmptyMessage,
            NotPermitted,
            TooManyRooms,
            Unavailable,
            WrongPassword,
            Throttled,
            NotLoggedIn,
            Banned,
            RoomsFull,
        ])
    }

    fn message() -> impl Strategy<Value = Message> {
        (
            any::<u64>(),
            any::<u64>(),
            nick(),
            of(room()),
            of(nick()),
            text(),
            any::<bool>(),
            of(nick()),
        )
            .prop_map(|(id, ts, from, room, to, text, action, account)| Message {
                id: MessageId(id),
                ts,
                from,
                account,
                room,
                to,
                text,
                action,
            })
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            (any::<u32>(), text(), nick(), any::<u64>(), of(room()), any::<usize>()).prop_map(
                |(version, server, nick, conn, room, max_message)| Event::Welcome {
                    version,
                    server,
                    nick,
                    conn: ConnId(conn),
                    room,
                    max_message
                }
            ),
            message().prop_map(Event::Message),
            (request_id(), of(any::<u64>()), of(any::<u64>())).prop_map(|(id, message, ts)| Event::Ack {
                id,
                message: message.map(MessageId),
                ts
            }),
            (of(request_id()), error_code(), text()).prop_map(|(id, code, message)| Event::Error { id, code, message }),
            (room(), nick(), of(nick())).prop_map(|(room, nick, account)| Event::Joined { room, nick, account }),
            (room(), nick()).prop_map(|(room, nick)| Event::Parted { room, nick }),
            (room(), nick()).prop_map(|(room, by)| Event::Invited { room, by }),
            (room(), nick(), nick(), of(text())).prop_map(|(room, nick, by, reason)| Event::Kicked {
                room,
                nick,
                by,
                reason
            }),
            (nick(), nick()).prop_map(|(from, to)| Event::Renamed { from, to }),
            (nick(), text()).prop_map(|(nick, reason)| Event::Quit { nick, reason }),
            (room(), of(text()), of(nick())).prop_map(|(room, topic, by)| Event::Topic { room, topic, by }),
            (room(), vec(nick(), 0..5), any::<bool>()).prop_map(|(room, nicks, more)| Event::Members {
                room,
                nicks,
                more,
                id: None,
            }),
            (vec((room(), any::<usize>(), of(text())), 0..5), any::<bool>()).prop_map(|(rooms, more)| Event::Rooms {
                rooms: rooms
                    .into_iter()
                    .map(|(room, members, topic)| RoomSummary { room, members, topic })
                    .collect(),
                more
            }),
            Just(Event::Help),
            Just(Event::Pong),
            Just(Event::Ping),
            (any::<u64>(), nick(), text()).prop_map(|(conn, nick, peer)| Event::Connected {
                conn: ConnId(conn),
                nick,
                peer
            }),
            (any::<u64>(), nick(), text()).prop_map(|(conn, nick, reason)| Event::Disconnected {
                conn: ConnId(conn),
                nick,
                reason
            }),
            text().prop_map(|reason| Event::Bye { reason }),
        ]
    }

    /// A rendered frame without its newline, as the framing hands it over.
    fn frame(rendered: &Bytes) -> &[u8] {
        rendered.strip_suffix(b"\n").expect("a rendering ends its line")
    }

    proptest! {
        #[test]
        fn requests_read_back_as_rendered(id in of(request_id()), command in command()) {
            let request = Request { id, command };
            let rendered = render_request(&request);
            prop_assert!(!frame(&rendered).contains(&b'\n'), "one line: {rendered:?}");
            prop_assert_eq!(parse_request(frame(&rendered)), Ok(request));
        }

        #[test]
        fn events_read_back_as_rendered(event in event()) {
            let rendered = render_event(&event);
            prop_assert!(!frame(&rendered).contains(&b'\n'), "one line: {rendered:?}");
            prop_assert_eq!(parse_event(frame(&rendered)), Ok(event));
        }

        #[test]
        fn any_frame_is_a_request_or_an_error(frame in vec(any::<u8>(), 0..256)) {
            let _ = parse_request(&frame);
        }
    }
}
