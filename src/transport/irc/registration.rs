//! Registration, as modern.ircdocs.horse describes it: CAP negotiation (registration waits while it
//! is open), PASS, NICK, USER and SASL PLAIN, before the hub hears of the client. Pure: the server's
//! side (`server/irc.rs`) reads the lines, checks passwords and asks the hub for the nick.

use base64::Engine as _;

use super::SERVER_NAME;
use super::caps::{self, Cap, Caps};
use super::message::Message;
use crate::names::Nick;
use crate::protocol::Password;

/// The most bytes of a SASL answer, its chunks put together (a PLAIN answer holds two names and a
/// password).
pub const MAX_SASL_BYTES: usize = 1200;
/// An AUTHENTICATE chunk is this long when more follow (IRCv3 SASL 3.2).
const SASL_CHUNK_BYTES: usize = 400;

/// Whether `first_bytes` (what a client sent first) start like an IRC client's registration: a
/// chat port tells such clients where IRC is rather than showing their lines to a room.
pub fn opens_registration(first_bytes: &[u8]) -> bool {
    ["CAP ", "NICK ", "USER ", "PASS "]
        .iter()
        .any(|word| first_bytes.len() >= word.len() && first_bytes[..word.len()].eq_ignore_ascii_case(word.as_bytes()))
}

/// Where a client is in its registration.
#[derive(Debug, Default)]
pub struct Registration {
    /// CAP LS or REQ was sent and CAP END not yet: registration waits.
    negotiating: bool,
    pub caps: Caps,
    pub pass: Option<String>,
    pub nick: Option<Nick>,
    user: bool,
    sasl: Sasl,
    /// The account SASL logged in to, once the server checked it.
    pub account: Option<Nick>,
}

#[derive(Debug, Default)]
enum Sasl {
    #[default]
    Idle,
    /// AUTHENTICATE PLAIN was answered with `+`; the answer's chunks so far.
    Reading(String),
}

/// What the server must do after a line.
#[derive(Debug, PartialEq)]
pub enum Step {
    Continue,
    /// Check this account's password (SASL PLAIN), then call `logged_in` or `login_failed`.
    Verify {
        account: Nick,
        password: Password,
    },
    /// The client quit before registering.
    Quit,
    /// NICK and USER are in and negotiation is closed: ask the hub for the nick.
    Ready,
}

impl Registration {
    /// The client's name in replies: its nick, or `*` while it has none.
    fn me(&self) -> String {
        self.nick
            .as_ref()
            .map_or_else(|| "*".to_owned(), |n| n.as_str().to_owned())
    }

    fn numeric(&self, number: &str, params: &[&str]) -> Message {
        let me = self.me();
        let mut all = vec![me.as_str()];
        all.extend_from_slice(params);
        from_server(number, &all)
    }

    /// Takes one line; the replies go to `out`.
    pub fn feed(&mut self, line: &Message, out: &mut Vec<Message>) -> Step {
        let params = &line.params;
        let missing = |out: &mut Vec<Message>, this: &Registration| {
            out.push(this.numeric("461", &[&line.command, "Not enough parameters"]));
        };
        match line.command.as_str() {
            "CAP" if !params.is_empty() => self.cap(line, out),
            "PASS" if !params.is_empty() => self.pass = Some(params[0].clone()),
            "NICK" if params.is_empty() || params[0].is_empty() => {
                out.push(self.numeric("431", &["No nickname given"]));
            }
            "NICK" => match Nick::parse(&params[0]) {
                Ok(nick) => self.nick = Some(nick),
                Err(_) => out.push(self.numeric("432", &[&params[0], "Erroneous nickname"])),
            },
            // modern.ircdocs: an empty username or realname is rejected like a missing one.
            "USER" if params.len() >= 4 && !params[0].is_empty() && !params[3].is_empty() => self.user = true,
            "AUTHENTICATE" if !params.is_empty() => return self.authenticate(&params[0], out),
            "PING" if !params.is_empty() => out.push(from_server("PONG", &[SERVER_NAME, &params[0]])),
            "PONG" => {}
            "QUIT" => return Step::Quit,
            "CAP" | "PASS" | "USER" | "AUTHENTICATE" | "PING" => missing(out, self),
            _ => out.push(self.numeric("451", &["You have not registered"])),
        }
        self.step()
    }

    fn step(&self) -> Step {
        let sasl_open = matches!(self.sasl, Sasl::Reading(_));
        if self.nick.is_some() && self.user && !self.negotiating && !sasl_open {
            Step::Ready
        } else {
            Step::Continue
        }
    }

    fn cap(&mut self, line: &Message, out: &mut Vec<Message>) {
        let me = self.me();
        let sub = line.params[0].to_ascii_uppercase();
        let arg = line.params.get(1).map_or("", String::as_str);
        match sub.as_str() {
            "LS" => {
                self.negotiating = true;
                // CAP LS 302 also means cap-notify (IRCv3 capability negotiation).
                if arg >= "302" && arg.bytes().all(|b| b.is_ascii_digit()) {
                    self.caps = self.caps.with(Cap::CapNotify);
                }
                out.push(from_server("CAP", &[&me, "LS", &caps::offered(arg >= "302")]));
            }
            "LIST" => out.push(from_server("CAP", &[&me, "LIST", &self.caps.to_string()])),
            "REQ" => {
                self.negotiating = true;
                match caps::requested(self.caps, arg) {
                    Some(caps) => {
                        self.caps = caps;
                        out.push(from_server("CAP", &[&me, "ACK", arg]));
                    }
                    None => out.push(from_server("CAP", &[&me, "NAK", arg])),
                }
            }
            "END" => self.negotiating = false,
            _ => out.push(self.numeric("410", &[&line.params[0], "Invalid CAP command"])),
        }
    }

    fn authenticate(&mut self, arg: &str, out: &mut Vec<Message>) -> Step {
        if !self.caps.has(Cap::Sasl) {
            out.push(self.numeric("421", &["AUTHENTICATE", "Unknown command"]));
            return self.step();
        }
        if self.account.is_some() {
            out.push(self.numeric("907", &["You have already authenticated using SASL"]));
            return self.step();
        }
        if arg == "*" {
            self.sasl = Sasl::Idle;
            out.push(self.numeric("906", &["SASL authentication aborted"]));
            return self.step();
        }
        let Sasl::Reading(answer) = &mut self.sasl else {
            if arg.eq_ignore_ascii_case("PLAIN") {
                self.sasl = Sasl::Reading(String::new());
                out.push(Message::new("AUTHENTICATE", &["+"]));
            } else {
                out.push(self.numeric("908", &["PLAIN", "are available SASL mechanisms"]));
                out.push(self.numeric("904", &["SASL authentication failed"]));
            }
            return self.step();
        };
        if arg != "+" {
            answer.push_str(arg);
        }
        if answer.len() > MAX_SASL_BYTES {
            self.sasl = Sasl::Idle;
            out.push(self.numeric("905", &["SASL message too long"]));
            return self.step();
        }
        if arg.len() == SASL_CHUNK_BYTES {
            return Step::Continue;
        }
        let answer = std::mem::take(answer);
        self.sasl = Sasl::Idle;
        match plain(&answer) {
            Some((account, password)) => Step::Verify { account, password },
            None => {
                out.push(self.numeric("904", &["SASL authentication failed"]));
                self.step()
            }
        }
    }

    /// The server checked the password: `account` is logged in.
    pub fn logged_in(&mut self, account: Nick, out: &mut Vec<Message>) -> Step {
        let mask = format!("{0}!{0}@{SERVER_NAME}", account.as_str());
        let words = format!("You are now logged in as {account}");
        out.push(self.numeric("900", &[&mask, account.as_str(), &words]));
        out.push(self.numeric("903", &["SASL authentication successful"]));
        self.account = Some(account);
        self.step()
    }

    /// The password was wrong, or logins are throttled.
    pub fn login_failed(&mut self, out: &mut Vec<Message>) -> Step {
        out.push(self.numeric("904", &["SASL authentication failed"]));
        self.step()
    }

    /// The hub refused the nick (`taken`: someone has it; otherwise it is banned or reserved):
    /// the client may send another.
    pub fn nick_refused(&mut self, taken: bool, out: &mut Vec<Message>) {
        let Some(nick) = self.nick.take() else {
            return;
        };
        let reply = if taken {
            self.numeric("433", &[nick.as_str(), "Nickname is already in use"])
        } else {
            self.numeric("432", &[nick.as_str(), "Erroneous nickname"])
        };
        out.push(reply);
    }
}

/// A SASL PLAIN answer (base64 of `authzid NUL authcid NUL password`): the account and password.
/// An authorization identity other than the account itself is not supported.
fn plain(answer: &str) -> Option<(Nick, Password)> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(answer).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.splitn(3, '\0');
    let (authzid, authcid, password) = (parts.next()?, parts.next()?, parts.next()?);
    let account = Nick::parse(authcid).ok()?;
    if !authzid.is_empty() && Nick::parse(authzid).ok()? != account {
        return None;
    }
    Some((account, Password(password.to_owned())))
}

pub fn from_server(command: &str, params: &[&str]) -> Message {
    Message {
        source: Some(SERVER_NAME.to_owned()),
        ..Message::new(command, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::irc::render::written;

    /// Feeds lines; returns the last step and every reply, as lines.
    fn run(lines: &[&str]) -> (Step, Vec<String>, Registration) {
        let mut registration = Registration::default();
        let mut out = Vec::new();
        let mut step = Step::Continue;
        for line in lines {
            step = registration.feed(&Message::parse(line.as_bytes()).unwrap(), &mut out);
        }
        let replies = out.iter().map(|m| written(m).trim_end().to_owned()).collect();
        (step, replies, registration)
    }

    #[test]
    fn registration_waits_for_nick_user_and_the_end_of_negotiation() {
        type Case = (&'static [&'static str], Step, &'static [&'static str]);
        let cases: &[Case] = &[
            (&["NICK ann", "USER ann 0 * :Ann"], Step::Ready, &[]),
            (&["USER ann 0 * :Ann", "NICK ann"], Step::Ready, &[]),
            (
                &["CAP LS 302", "NICK ann", "USER ann 0 * :Ann"],
                Step::Continue,
                &[
                    ":sockchat CAP * LS :cap-notify server-time message-tags echo-message multi-prefix sasl=PLAIN batch draft/multiline=max-bytes=4096,max-lines=64 draft/chathistory away-notify extended-join account-tag labeled-response",
                ],
            ),
            (
                &[
                    "CAP LS",
                    "NICK ann",
                    "USER ann 0 * :Ann",
                    "CAP REQ :server-time bogus",
                    "CAP END",
                ],
                Step::Ready,
                &[
                    ":sockchat CAP * LS :cap-notify server-time message-tags echo-message multi-prefix sasl batch draft/multiline draft/chathistory away-notify extended-join account-tag labeled-response",
                    ":sockchat CAP ann NAK :server-time bogus",
                ],
            ),
            (
                &[
                    "CAP REQ :server-time",
                    "NICK ann",
                    "USER ann 0 * :Ann",
                    "CAP LIST",
                    "CAP END",
                ],
                Step::Ready,
                &[":sockchat CAP * ACK server-time", ":sockchat CAP ann LIST server-time"],
            ),
            (
                &["NICK ann", "USER ann 0 * :"],
                Step::Continue,
                &[":sockchat 461 ann USER :Not enough parameters"],
            ),
            (
                &["NICK 1abc"],
                Step::Continue,
                &[":sockchat 432 * 1abc :Erroneous nickname"],
            ),
            (&["NICK"], Step::Continue, &[":sockchat 431 * :No nickname given"]),
            (
                &["USER ann"],
                Step::Continue,
                &[":sockchat 461 * USER :Not enough parameters"],
            ),
            (
                &["JOIN #rust"],
                Step::Continue,
                &[":sockchat 451 * :You have not registered"],
            ),
            (&["PING x"], Step::Continue, &[":sockchat PONG sockchat x"]),
            (&["NICK ann", "QUIT :bye"], Step::Quit, &[]),
            (
                &["CAP REQ sasl", "AUTHENTICATE SCRAM"],
                Step::Continue,
                &[
                    ":sockchat CAP * ACK sasl",
                    ":sockchat 908 * PLAIN :are available SASL mechanisms",
                    ":sockchat 904 * :SASL authentication failed",
                ],
            ),
            (
                &["AUTHENTICATE PLAIN"],
                Step::Continue,
                &[":sockchat 421 * AUTHENTICATE :Unknown command"],
            ),
        ];
        for (lines, step, replies) in cases {
            let (got, got_replies, _) = run(lines);
            assert_eq!(&got, step, "{lines:?}");
            assert_eq!(got_replies, *replies, "{lines:?}");
        }
    }

    #[test]
    fn sasl_plain_asks_for_the_password_to_be_checked() {
        // base64("\0ann\0secret pw")
        let answer = base64::engine::general_purpose::STANDARD.encode("\0ann\0secret pw");
        let (step, replies, mut registration) = run(&[
            "CAP LS 302",
            "CAP REQ sasl",
            "AUTHENTICATE PLAIN",
            &format!("AUTHENTICATE {answer}"),
        ]);
        assert_eq!(
            step,
            Step::Verify {
                account: Nick::parse("ann").unwrap(),
                password: Password("secret pw".to_owned())
            }
        );
        assert_eq!(replies.last().map(String::as_str), Some("AUTHENTICATE +"));
        let mut out = Vec::new();
        registration.logged_in(Nick::parse("ann").unwrap(), &mut out);
        let lines: Vec<String> = out.iter().map(written).collect();
        assert_eq!(
            lines,
            [
                ":sockchat 900 * ann!ann@sockchat ann :You are now logged in as ann\r\n",
                ":sockchat 903 * :SASL authentication successful\r\n"
            ]
        );
    }

    #[test]
    fn plain_answers_that_are_refused() {
        let encode = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
        for answer in [
            "not base64!".to_owned(),
            encode("ann\0secret"),
            encode("bob\0ann\0secret"),
            encode("\09x\0secret"),
        ] {
            assert_eq!(plain(&answer), None, "{answer}");
        }
    }

    #[test]
    fn registration_openings_are_told_from_chat() {
        for (bytes, irc) in [
            (&b"CAP LS 302\r\n"[..], true),
            (b"nick ann\r\n", true),
            (b"USER a 0 * :b", true),
            (b"PASS x", true),
            (b"hello all", false),
            (b"CAPITAL", false),
            (b"{\"type\"", false),
            (b"NIC", false),
        ] {
            assert_eq!(opens_registration(bytes), irc, "{bytes:?}");
        }
    }
}
