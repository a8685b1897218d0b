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
                r#"{"type":"hello","version":1,"nick":"ann","pass":"x"}"#,
                Err((None, "unknown field `pass`")),
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
