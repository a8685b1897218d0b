//! A registered client's IRC lines as the hub's requests: each request carries the line that asked
//! it (`asked`), so its ack or error comes back as the numerics IRC expects. What the hub has no
//! command for is answered by the renderer, in order with everything else, through a `ping`.

use super::asked;
use super::chathistory::{self, Part};
use super::labeled;
use super::message::Message;
use super::multiline::{self, Taken};
use super::render::unwrap_action;
use crate::hub::MAX_ROOMS_PER_MEMBER;
use crate::names::{Nick, RoomName};
use crate::protocol::{Command, MAX_USERS_ASKED, Password, Recipient, Request};

/// The most targets one PRIVMSG, JOIN, PART or NAMES may name (ISUPPORT's TARGMAX is not sent: this
/// is what the server takes, the rest are dropped).
pub const MAX_TARGETS: usize = 8;

/// The most nicks USERHOST takes (RFC 2812 4.8).
pub const MAX_USERHOST_NICKS: usize = 5;

/// The rooms a client asked to join and has not parted, as far as its own lines tell: what `JOIN 0`
/// leaves. Bounded by what one member may be in.
#[derive(Debug, Default)]
pub struct Joined(Vec<RoomName>);

impl Joined {
    fn add(&mut self, room: &RoomName) {
        if !self.0.contains(room) && self.0.len() < MAX_ROOMS_PER_MEMBER {
            self.0.push(room.clone());
        }
    }

    fn remove(&mut self, room: &RoomName) {
        self.0.retain(|r| r != room);
    }
}

/// What a session's lines leave for the lines after them.
#[derive(Debug, Default)]
pub struct State {
    joined: Joined,
    /// A draft/multiline batch being read (boxed: most sessions never open one, and every session
    /// keeps this state while it is idle).
    batch: Option<Box<Reading>>,
}

/// A multiline batch being read.
#[derive(Debug)]
struct Reading {
    batch: multiline::Batch,
    /// The label of the line that opened it: its answer is the whole batch's.
    label: Option<String>,
}

/// The requests one line makes, appended to `out`. A labeled line's (labeled-response) go between a
/// `ping` whose ack opens its answer and a last request marked as closing it.
pub fn requests(line: &Message, state: &mut State, out: &mut Vec<Request>) {
    let was_reading = state.batch.is_some();
    let mut label = labeled::label_of(line).map(str::to_owned);
    let ends_batch = was_reading && line.command == "BATCH" && line.params.first().is_some_and(|p| p.starts_with('-'));
    if ends_batch {
        label = label.or(state.batch.as_mut().and_then(|reading| reading.label.take()));
    }
    let opening = out.len();
    if let Some(label) = &label {
        out.push(Request {
            id: Some(asked::label_opening(line, label)),
            command: Command::Ping,
        });
    }
    unlabeled(line, state, out);
    if let Some(reading) = state.batch.as_mut().filter(|_| !was_reading) {
        // A multiline batch is answered when it ends, as one message.
        reading.label = label;
        out.truncate(opening);
        return;
    }
    let (Some(_), Some(last)) = (&label, out.last_mut()) else {
        return;
    };
    let id = match &last.id {
        Some(id) => asked::ending_label(id),
        None => asked::ending_label(&asked::id(line)),
    };
    last.id = Some(id);
}

fn unlabeled(line: &Message, state: &mut State, out: &mut Vec<Request>) {
    let local = |line: &Message, reply: &str| Request {
        id: Some(asked::reply_id(line, reply)),
        command: Command::Ping,
    };
    if let Some(reading) = &mut state.batch {
        match reading.batch.take(line) {
            Taken::Free => {}
            Taken::Held => return,
            Taken::Ended(message) => {
                state.batch = None;
                return self::message(&message, out);
            }
            Taken::Refused(failure) => {
                state.batch = None;
                return out.push(local(line, &format!("FAIL-{}", failure.code())));
            }
        }
    } else if line.command == "BATCH" {
        match multiline::opened(line) {
            Some(batch) => state.batch = Some(Box::new(Reading { batch, label: None })),
            None => out.push(local(line, "FAIL-MULTILINE_INVALID")),
        }
        return;
    }
    one_line(line, &mut state.joined, out);
}

/// A line outside any batch.
fn one_line(line: &Message, joined: &mut Joined, out: &mut Vec<Request>) {
    let params = &line.params;
    let needs = |n: usize| params.len() >= n;
    let command = line.command.as_str();
    let request = |command: Command| Request {
        id: Some(asked::id(line)),
        command,
    };
    let local = |reply: &str| Request {
        id: Some(asked::reply_id(line, reply)),
        command: Command::Ping,
    };
    match command {
        "PING" if needs(1) => out.push(local("PONG")),
        "PONG" => out.push(Request::new(Command::Pong)),
        "PRIVMSG" | "NOTICE" if params.is_empty() => out.push(local("411")),
        "PRIVMSG" | "NOTICE" if params.len() < 2 || params[1].is_empty() => {
            if command == "PRIVMSG" {
                out.push(local("412"));
            }
        }
        "PRIVMSG" | "NOTICE" => message(line, out),
        "JOIN" if needs(1) && params[0] == "0" => {
            for room in std::mem::take(&mut joined.0) {
                let part = Message::new("PART", &[&super::channel(&room)]);
                out.push(Request {
                    id: Some(asked::quiet_id(&part)),
                    command: Command::Part { room: Some(room) },
                });
            }
        }
        "JOIN" if needs(1) => each_channel(line, &params[0], out, |room, out| {
            joined.add(&room);
            let names = Message::new("NAMES", &[&super::channel(&room)]);
            out.push(request(Command::Join { room: room.clone() }));
            out.push(Request {
                id: Some(asked::id(&names)),
                command: Command::Who {
                    room: Some(room),
                    after: None,
                },
            });
        }),
        "PART" if needs(1) => each_channel(line, &params[0], out, |room, out| {
            joined.remove(&room);
            let part = Message::new("PART", &[&super::channel(&room)]);
            out.push(Request {
                id: Some(asked::id(&part)),
                command: Command::Part { room: Some(room) },
            });
        }),
        "NICK" if needs(1) => match Nick::parse(&params[0]) {
            Ok(nick) => out.push(request(Command::Nick { nick })),
            Err(_) => out.push(local("432")),
        },
        "TOPIC" if needs(1) => match channel_name(&params[0]) {
            Some(room) => out.push(request(Command::Topic {
                room: Some(room),
                topic: params.get(1).cloned(),
            })),
            None => out.push(local("403")),
        },
        "NAMES" if params.is_empty() => out.push(local("NAMES-END")),
        "NAMES" => each_channel(line, &params[0], out, |room, out| {
            let names = Message::new("NAMES", &[&super::channel(&room)]);
            out.push(Request {
                id: Some(asked::id(&names)),
                command: Command::Who {
                    room: Some(room),
                    after: None,
                },
            });
        }),
        "WHO" if needs(1) => match channel_name(&params[0]) {
            Some(room) => out.push(request(Command::Who {
                room: Some(room),
                after: None,
            })),
            None => out.push(local("WHO-END")),
        },
        "LIST" => out.push(Request {
            id: Some(asked::id(&Message::new("LIST", &[]))),
            command: Command::Rooms { after: None },
        }),
        "QUIT" => out.push(request(Command::Quit {
            reason: params.first().cloned().filter(|r| !r.is_empty()),
        })),
        "KICK" if needs(2) => kick(line, out),
        // Nobody is kept out of a room, so nobody holds an invitation to list.
        "INVITE" if params.is_empty() => out.push(local("INVITE-LIST-END")),
        "INVITE" if needs(2) => match (Nick::parse(&params[0]), channel_name(&params[1])) {
            (Ok(nick), Some(room)) => out.push(request(Command::Invite { nick, room })),
            (Err(_), _) => out.push(local("401")),
            (_, None) => out.push(Request {
                id: Some(asked::reply_id(&Message::new("INVITE", &[&params[1]]), "403")),
                command: Command::Ping,
            }),
        },
        "OPER" if needs(2) => match Nick::parse(&params[0]) {
            Ok(nick) => out.push(request(Command::Login {
                nick,
                password: Password(params[1].clone()),
            })),
            Err(_) => out.push(local("464")),
        },
        "MODE" if needs(1) => mode(line, out),
        "WHOIS" if needs(1) => {
            let nicks = params.last().map_or("", String::as_str);
            for nick in nicks.split(',').filter(|n| !n.is_empty()).take(MAX_TARGETS) {
                let one = Message::new("WHOIS", &[nick]);
                out.push(match Nick::parse(nick) {
                    Ok(nick) => Request {
                        id: Some(asked::id(&one)),
                        command: Command::Users { nicks: vec![nick] },
                    },
                    Err(_) => Request {
                        id: Some(asked::reply_id(&one, "WHOIS-NONE")),
                        command: Command::Ping,
                    },
                });
            }
        }
        "ISON" | "USERHOST" if needs(1) => {
            let most = if command == "ISON" {
                MAX_USERS_ASKED
            } else {
                MAX_USERHOST_NICKS
            };
            let nicks = params
                .iter()
                .flat_map(|p| p.split(' '))
                .filter_map(|n| Nick::parse(n).ok())
                .take(most)
                .collect();
            out.push(request(Command::Users { nicks }));
        }
        "LUSERS" => out.push(request(Command::Counts)),
        "CHATHISTORY" => match chathistory::command(line) {
            Ok(pages) => {
                for (command, part) in pages {
                    let id = match (part, part.name()) {
                        (Part::Closes, Some(name)) => asked::quiet_reply_id(line, name),
                        (_, Some(name)) => asked::reply_id(line, name),
                        (_, None) => asked::id(line),
                    };
                    out.push(Request { id: Some(id), command });
                }
            }
            Err(failure) => out.push(local(&format!("FAILHISTORY-{failure}"))),
        },
        "AWAY" => out.push(request(Command::Away {
            text: params.first().filter(|a| !a.is_empty()).cloned(),
        })),
        "WHOWAS" if needs(1) => out.push(local("WHOWAS")),
        "CAP" if needs(1) => out.push(local("CAP")),
        "VERSION" | "TIME" | "MOTD" => out.push(local(command)),
        "HELP" => out.push(request(Command::Help)),
        "PASS" | "USER" => out.push(local("462")),
        "AUTHENTICATE" => out.push(local("907")),
        "PING" | "JOIN" | "PART" | "NICK" | "TOPIC" | "WHO" | "KICK" | "INVITE" | "OPER" | "MODE" | "WHOWAS"
        | "CAP" | "WHOIS" | "ISON" | "USERHOST" => {
            out.push(local("461"));
        }
        _ => out.push(local("421")),
    }
}

/// PRIVMSG or NOTICE to each target: a channel is a room's message, a nick a direct one. A CTCP
/// ACTION is an action (`/me`) in a room; to a nick it goes as the text it is.
fn message(line: &Message, out: &mut Vec<Request>) {
    let text = &line.params[1];
    for target in line.params[0].split(',').filter(|t| !t.is_empty()).take(MAX_TARGETS) {
        let one = Message::new(&line.command, &[target, text]);
        let id = Some(asked::id(&one));
        let command = if let Some(name) = target.strip_prefix('#') {
            let Ok(room) = RoomName::parse(name) else {
                out.push(Request {
                    id: Some(asked::reply_id(&one, "403")),
                    command: Command::Ping,
                });
                continue;
            };
            let (action, text) = unwrap_action(text);
            Command::Say {
                room: Some(room),
                text: text.to_owned(),
                action,
            }
        } else {
            let Ok(nick) = Nick::parse(target) else {
                out.push(Request {
                    id: Some(asked::reply_id(&one, "401")),
                    command: Command::Ping,
                });
                continue;
            };
            Command::Msg {
                to: Recipient::Nick(nick),
                text: text.clone(),
            }
        };
        out.push(Request { id, command });
    }
}

/// KICK #room nick[,nick...] [:reason]: each nick taken out of the room (operators only); they stay
/// connected, as IRC's KICK does.
fn kick(line: &Message, out: &mut Vec<Request>) {
    let channel = &line.params[0];
    let reason = line.params.get(2).filter(|r| !r.is_empty());
    for target in line.params[1].split(',').filter(|t| !t.is_empty()).take(MAX_TARGETS) {
        let mut params = vec![channel.as_str(), target];
        params.extend(reason.map(String::as_str));
        let one = Message::new("KICK", &params);
        let (reply, command) = match (channel_name(channel), Nick::parse(target)) {
            (None, _) => (Some("403"), Command::Ping),
            (Some(_), Err(_)) => (Some("401"), Command::Ping),
            (Some(room), Ok(nick)) => (
                None,
                Command::Kick {
                    target: Recipient::Nick(nick),
                    room: Some(room),
                    reason: reason.cloned(),
                },
            ),
        };
        let id = match reply {
            Some(reply) => asked::reply_id(&one, reply),
            None => asked::id(&one),
        };
        out.push(Request { id: Some(id), command });
    }
}

/// `#name` as a room, if it is one.
fn channel_name(target: &str) -> Option<RoomName> {
    RoomName::parse(target.strip_prefix('#')?).ok()
}

/// Calls `each` for every channel of a comma list; a name that is no channel gets 403.
fn each_channel(line: &Message, list: &str, out: &mut Vec<Request>, mut each: impl FnMut(RoomName, &mut Vec<Request>)) {
    for target in list.split(',').filter(|t| !t.is_empty()).take(MAX_TARGETS) {
        match channel_name(target) {
            Some(room) => each(room, out),
            None => out.push(Request {
                id: Some(asked::reply_id(&Message::new(&line.command, &[target]), "403")),
                command: Command::Ping,
            }),
        }
    }
}

/// MODE: queries of a channel's or one's own modes, a channel's ban list as sockchat's bans (`+b`
/// with no mask), and `+b`/`-b` of a nick as sockchat's ban and unban; every other change is refused.
fn mode(line: &Message, out: &mut Vec<Request>) {
    let target = &line.params[0];
    let local = |reply: &str, line: &Message| Request {
        id: Some(asked::reply_id(line, reply)),
        command: Command::Ping,
    };
    // A nick's modes: the renderer answers, and the fan-out keeps what changed (`own_changes`).
    if !target.starts_with('#') {
        return out.push(local("USER-MODE", line));
    }
    if channel_name(target).is_none() {
        return out.push(local("403", line));
    }
    let change = line.params.get(1).map(String::as_str);
    let mask = line.params.get(2).map(|m| m.split('!').next().unwrap_or(m).to_owned());
    match (change, mask) {
        (None, _) => out.push(local("CHANNEL-MODE", line)),
        (Some("b" | "+b"), None) => out.push(local("BANLIST-END", line)),
        (Some("+b"), Some(mask)) => out.push(Request {
            id: Some(asked::id(line)),
            command: Command::Ban {
                target: mask,
                duration: None,
                reason: None,
            },
        }),
        (Some("-b"), Some(mask)) => out.push(Request {
            id: Some(asked::id(line)),
            command: Command::Unban { target: mask },
        }),
        // Rooms have no operators of their own: sockchat's operators are the server's.
        (Some("+o" | "-o"), _) => out.push(local("482", line)),
        (Some(change), _) => {
            let letter = change.trim_start_matches(['+', '-']).chars().next().unwrap_or('?');
            let unknown = Message::new("MODE", &[target, &letter.to_string()]);
            out.push(local("472", &unknown));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::RequestId;

    /// A command, and for a line answered without the hub, the reply owed.
    type Made = (Command, Option<String>);

    /// What a line makes.
    fn decode(line: &str, state: &mut State) -> Vec<Made> {
        let mut out = Vec::new();
        requests(&Message::parse(line.as_bytes()).unwrap(), state, &mut out);
        out.into_iter()
            .map(|r| {
                let reply = r.id.as_ref().and_then(asked::read).and_then(|a| a.reply);
                (r.command, reply)
            })
            .collect()
    }

    fn room(name: &str) -> RoomName {
        RoomName::parse(name).unwrap()
    }

    #[test]
    fn lines_become_the_hubs_commands() {
        let nick = |n: &str| Nick::parse(n).unwrap();
        let who = |r: &str| Command::Who {
            room: Some(room(r)),
            after: None,
        };
        let say = |r: &str, text: &str, action| Command::Say {
            room: Some(room(r)),
            text: text.to_owned(),
            action,
        };
        let local = |reply: &str| (Command::Ping, Some(reply.to_owned()));
        let cases: Vec<(&str, Vec<Made>)> = vec![
            (
                "JOIN #rust,#go",
                vec![
                    (Command::Join { room: room("rust") }, None),
                    (who("rust"), None),
                    (Command::Join { room: room("go") }, None),
                    (who("go"), None),
                ],
            ),
            ("JOIN rust", vec![local("403")]),
            ("JOIN", vec![local("461")]),
            ("PRIVMSG #rust :hi there", vec![(say("rust", "hi there", false), None)]),
            (
                "PRIVMSG #rust :\u{1}ACTION waves\u{1}",
                vec![(say("rust", "waves", true), None)],
            ),
            (
                "PRIVMSG bob :psst",
                vec![(
                    Command::Msg {
                        to: Recipient::Nick(nick("bob")),
                        text: "psst".to_owned(),
                    },
                    None,
                )],
            ),
            ("PRIVMSG #rust", vec![local("412")]),
            ("NOTICE #rust", vec![]),
            ("PRIVMSG", vec![local("411")]),
            ("NICK 9lives", vec![local("432")]),
            ("NICK [ann]", vec![(Command::Nick { nick: nick("[ann]") }, None)]),
            (
                "TOPIC #rust :new",
                vec![(
                    Command::Topic {
                        room: Some(room("rust")),
                        topic: Some("new".to_owned()),
                    },
                    None,
                )],
            ),
            ("NAMES #rust", vec![(who("rust"), None)]),
            ("LIST", vec![(Command::Rooms { after: None }, None)]),
            (
                "QUIT :bye now",
                vec![(
                    Command::Quit {
                        reason: Some("bye now".to_owned()),
                    },
                    None,
                )],
            ),
            ("PING abc", vec![local("PONG")]),
            ("PONG abc", vec![(Command::Pong, None)]),
            ("MODE #rust", vec![local("CHANNEL-MODE")]),
            ("MODE #rust +k key", vec![local("472")]),
            ("MODE ann", vec![local("USER-MODE")]),
            ("MODE ann +i", vec![local("USER-MODE")]),
            ("USER a 0 * :b", vec![local("462")]),
            ("FROB x", vec![local("421")]),
            (
                "AWAY :lunch",
                vec![(
                    Command::Away {
                        text: Some("lunch".to_owned()),
                    },
                    None,
                )],
            ),
            ("AWAY", vec![(Command::Away { text: None }, None)]),
            ("CAP LS 302", vec![local("CAP")]),
        ];
        for (line, want) in cases {
            assert_eq!(decode(line, &mut State::default()), want, "{line:?}");
        }
    }

    #[test]
    fn a_multiline_batch_is_one_message() {
        let mut state = State::default();
        let lines = [
            "BATCH +x draft/multiline #rust",
            "@batch=x PRIVMSG #rust :one",
            "PING between",
            "@batch=x PRIVMSG #rust :two",
        ];
        let made: Vec<Made> = lines.iter().flat_map(|l| decode(l, &mut state)).collect();
        assert_eq!(made, [(Command::Ping, Some("PONG".to_owned()))]);
        let say = Command::Say {
            room: Some(room("rust")),
            text: "one\ntwo".to_owned(),
            action: false,
        };
        assert_eq!(decode("BATCH -x", &mut state), [(say, None)]);
        assert_eq!(
            decode("BATCH +y chathistory #rust", &mut state),
            [(Command::Ping, Some("FAIL-MULTILINE_INVALID".to_owned()))]
        );
    }

    #[test]
    fn join_0_parts_what_was_joined_quietly() {
        let mut state = State::default();
        decode("JOIN #a,#b", &mut state);
        decode("PART #a", &mut state);
        let mut out = Vec::new();
        requests(&Message::new("JOIN", &["0"]), &mut state, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].command, Command::Part { room: Some(room("b")) });
        assert!(out[0].id.as_ref().and_then(asked::read).unwrap().quiet);
        assert!(matches!(out[0].id, Some(RequestId::Text(_))));
    }
}
