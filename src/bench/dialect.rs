//! How the bench speaks to each kind of server: sockchat's structured mode, plain lines (sockchat's
//! plain mode, `ncat --chat`, tokio's chat example) and IRC.

use super::websocket;
use crate::protocol::{Command, PROTOCOL_VERSION, Request};
use crate::transport::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// sockchat's JSON lines.
    Structured,
    /// One line per message, no rooms.
    Plain,
    /// NICK/USER/JOIN/PRIVMSG, answering PING.
    Irc,
    /// sockchat's JSON over a WebSocket (an `http://` listener's `/ws`), one object per frame.
    Ws,
}

#[derive(Debug, Clone)]
pub struct Dialect {
    pub proto: Proto,
    pub room: String,
    /// Plain: a line to send first (`{i}` is the client's number), e.g. a username.
    pub plain_hello: Option<String>,
    /// Plain: a client counts as joined once a line containing this arrives.
    pub plain_ready: Option<String>,
}

/// What a line means for a client still joining.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Keep waiting.
    Wait,
    /// Send this, then keep waiting.
    Send(Vec<u8>),
    Ready,
}

impl Dialect {
    pub fn nick(i: usize) -> String {
        format!("b{i}")
    }

    /// What to send on connecting, and whether the client is ready at once.
    pub fn greeting(&self, i: usize, member: bool) -> (Vec<u8>, bool) {
        match self.proto {
            Proto::Ws => {
                let (hello, ready) = Dialect {
                    proto: Proto::Structured,
                    ..self.clone()
                }
                .greeting(i, member);
                let mut greeting = websocket::upgrade_request();
                greeting.extend(websocket::text_frame(hello.strip_suffix(b"\n").unwrap_or(&hello)));
                (greeting, ready)
            }
            Proto::Structured => {
                let nick = crate::names::Nick::parse(&Dialect::nick(i)).ok();
                let room = member.then(|| crate::names::RoomName::parse(&self.room).ok()).flatten();
                let hello = Command::Hello {
                    version: PROTOCOL_VERSION,
                    nick,
                    room,
                    password: None,
                    pass: None,
                };
                (json::render_request(&Request::new(hello)).to_vec(), false)
            }
            Proto::Plain => {
                let hello = self
                    .plain_hello
                    .as_ref()
                    .map(|h| format!("{}\n", h.replace("{i}", &i.to_string())));
                (hello.unwrap_or_default().into_bytes(), self.plain_ready.is_none())
            }
            Proto::Irc => {
                let nick = Dialect::nick(i);
                (format!("NICK {nick}\r\nUSER {nick} 0 * :bench\r\n").into_bytes(), false)
            }
        }
    }

    /// What a line received while joining means.
    pub fn joining(&self, line: &[u8], member: bool) -> Step {
        let has = |needle: &str| line.windows(needle.len()).any(|w| w == needle.as_bytes());
        match self.proto {
            Proto::Structured | Proto::Ws if member && has("\"type\":\"joined\"") => Step::Ready,
            Proto::Structured | Proto::Ws if !member && has("\"type\":\"welcome\"") => Step::Ready,
            Proto::Structured | Proto::Ws if has("\"type\":\"error\"") && has("unsupported") => Step::Ready,
            Proto::Structured | Proto::Ws => Step::Wait,
            Proto::Plain => match &self.plain_ready {
                Some(ready) if has(ready) => Step::Ready,
                _ => Step::Wait,
            },
            Proto::Irc => {
                if let Some(pong) = self.pong(line) {
                    return Step::Send(pong);
                }
                let numeric = line.split(|&b| b == b' ').nth(1).unwrap_or(b"");
                match numeric {
                    b"001" if member => Step::Send(format!("JOIN #{}\r\n", self.room).into_bytes()),
                    b"001" => Step::Ready,
                    b"366" if member => Step::Ready,
                    _ => Step::Wait,
                }
            }
        }
    }

    /// One message line carrying `text`.
    pub fn message(&self, text: &str) -> Vec<u8> {
        match self.proto {
            Proto::Ws => {
                let line = Dialect {
                    proto: Proto::Structured,
                    ..self.clone()
                }
                .message(text);
                websocket::text_frame(line.strip_suffix(b"\n").unwrap_or(&line))
            }
            Proto::Structured => {
                let room = crate::names::RoomName::parse(&self.room).ok();
                let say = Command::Say {
                    room,
                    text: text.to_owned(),
                    action: false,
                };
                json::render_request(&Request::new(say)).to_vec()
            }
            Proto::Plain => format!("{text}\n").into_bytes(),
            Proto::Irc => format!("PRIVMSG #{} :{text}\r\n", self.room).into_bytes(),
        }
    }

    /// The answer to a server's PING, if the line is one.
    pub fn pong(&self, line: &[u8]) -> Option<Vec<u8>> {
        if self.proto == Proto::Ws {
            let ping = websocket::PING_LINE.strip_suffix(b"\n")?;
            return (line == ping).then(|| websocket::text_frame(br#"{"type":"pong"}"#));
        }
        let rest = line.strip_prefix(b"PING")?;
        (self.proto == Proto::Irc).then(|| [b"PONG".as_slice(), rest, b"\r\n"].concat())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dialect(proto: Proto) -> Dialect {
        Dialect {
            proto,
            room: "bench".into(),
            plain_hello: Some("user{i}".into()),
            plain_ready: Some("Welcome".into()),
        }
    }

    #[test]
    fn greetings_and_joining() {
        let s = dialect(Proto::Structured);
        assert_eq!(
            s.greeting(3, true).0,
            b"{\"type\":\"hello\",\"version\":1,\"nick\":\"b3\",\"room\":\"bench\"}\n"
        );
        assert_eq!(s.joining(br#"{"type":"welcome","version":1}"#, true), Step::Wait);
        assert_eq!(
            s.joining(br#"{"type":"joined","room":"bench","nick":"b3"}"#, true),
            Step::Ready
        );
        assert_eq!(s.joining(br#"{"type":"welcome","version":1}"#, false), Step::Ready);

        let p = dialect(Proto::Plain);
        assert_eq!(p.greeting(7, true), (b"user7\n".to_vec(), false));
        assert_eq!(p.joining(b"Welcome, user7", true), Step::Ready);

        let i = dialect(Proto::Irc);
        assert_eq!(i.greeting(1, true).0, b"NICK b1\r\nUSER b1 0 * :bench\r\n");
        assert_eq!(
            i.joining(b"PING :irc.local", true),
            Step::Send(b"PONG :irc.local\r\n".to_vec())
        );
        assert_eq!(
            i.joining(b":irc.local 001 b1 :Welcome", true),
            Step::Send(b"JOIN #bench\r\n".to_vec())
        );
        assert_eq!(i.joining(b":irc.local 001 b1 :Welcome", false), Step::Ready);
        assert_eq!(
            i.joining(b":irc.local 366 b1 #bench :End of /NAMES list.", true),
            Step::Ready
        );
        assert_eq!(i.message("hi"), b"PRIVMSG #bench :hi\r\n");
    }
}
