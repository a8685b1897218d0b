//! Events as IRC lines: what a room shares, rendered once per `Rendering` (`shared`), and the
//! replies to one client, numerics addressed to its nick (`reply`).

use bytes::Bytes;

use super::asked::{self, Asked};
use super::caps::{self, Cap, Caps, Rendering};
use super::chathistory::{self, Part};
use super::message::{MAX_BODY_BYTES, Message};
use super::multiline;
use super::own_changes;
use super::split;
use super::user_modes::{self, UserModes};
use super::welcome;
use super::{SERVER_NAME, channel, source_of};
use crate::names::Nick;
use crate::protocol::{ErrorCode, Event, Message as ChatMessage, MessageId, Millis, RequestId, UserSummary};

/// The CTCP framing of an action (`/me`): `\x01ACTION text\x01`.
const ACTION_OPEN: &str = "\u{1}ACTION ";
const ACTION_CLOSE: &str = "\u{1}";

/// An event as a room's members see it, the same for all of them; empty for what IRC does not show.
pub fn shared(event: &Event, rendering: Rendering) -> Bytes {
    let mut out = Lines::default();
    match event {
        Event::Message(message) => chat_message(message, rendering, None, &mut out),
        Event::Joined { room, nick, account } if rendering.extended_join => {
            // The real name is the nick: sockchat keeps no other (WHOIS says the same).
            let account = account.as_ref().map_or("*", Nick::as_str);
            out.user_line(nick, "JOIN", &[&channel(room), account, nick.as_str()]);
        }
        Event::Joined { room, nick, .. } => out.user_line(nick, "JOIN", &[&channel(room)]),
        Event::Parted { room, nick } => out.user_line(nick, "PART", &[&channel(room)]),
        Event::Kicked { room, nick, by, reason } => {
            let reason = reason.as_deref().unwrap_or(nick.as_str());
            out.user_line(by, "KICK", &[&channel(room), nick.as_str(), reason]);
        }
        Event::Renamed { from, to } => out.user_line(from, "NICK", &[to.as_str()]),
        Event::Quit { nick, reason } => out.user_line(nick, "QUIT", &[reason]),
        Event::Topic { room, topic, by } => {
            let text = topic.as_deref().unwrap_or("");
            match by {
                Some(by) => out.user_line(by, "TOPIC", &[&channel(room), text]),
                None => out.server_line("TOPIC", &[&channel(room), text]),
            }
        }
        Event::Ping => out.push(Message::new("PING", &[SERVER_NAME])),
        Event::Bye { reason } => out.push(Message::new("ERROR", &[&format!("Closing link: {reason}")])),
        Event::Notice { text } => out.notice("*", text),
        _ => {}
    }
    out.into_bytes()
}

/// An event for one client as a reply to it, addressed to `me` (logged in to `account`); `None`
/// when it is rendered as everyone sees it (`shared`).
pub fn reply(event: &Event, (caps, modes): (Caps, UserModes), me: &Nick, account: Option<&Nick>) -> Option<Bytes> {
    let me_str = me.as_str();
    let mut out = Lines::default();
    match event {
        Event::Welcome { server, nick, .. } => welcome::lines(nick, server, &mut out.0),
        Event::Ack { id, message, ts } => ack(id, (caps, modes), (me, account), (*message, *ts), &mut out),
        Event::Error { id, code, message } => error(id.as_ref(), *code, message, me_str, &mut out),
        Event::Topic { room, topic, .. } => match topic {
            Some(text) => out.numeric("332", me_str, &[&channel(room), text]),
            None => out.numeric("331", me_str, &[&channel(room), "No topic is set"]),
        },
        Event::Members { room, nicks, id, .. } => members(room, nicks, id.as_ref(), me_str, &mut out),
        Event::Rooms { rooms, .. } => {
            out.numeric("321", me_str, &["Channel", "Users  Name"]);
            for room in rooms {
                let members = room.members.to_string();
                let topic = room.topic.as_deref().unwrap_or("");
                out.numeric("322", me_str, &[&channel(&room.room), &members, topic]);
            }
        }
        Event::Users { users, id } => users_reply(users, id.as_ref(), me_str, &mut out),
        Event::Away { nick, text } if caps.has(Cap::AwayNotify) => match text {
            Some(text) => out.user_line(nick, "AWAY", &[text]),
            None => out.user_line(nick, "AWAY", &[]),
        },
        Event::Away { .. } => {}
        Event::Counts { users, rooms } => {
            let users_words = format!("There are {users} users and 0 invisible on 1 servers");
            out.numeric("251", me_str, &[&users_words]);
            out.numeric("254", me_str, &[&rooms.to_string(), "channels formed"]);
            out.numeric("255", me_str, &[&format!("I have {users} clients and 0 servers")]);
        }
        Event::Invited { room, by } => out.user_line(by, "INVITE", &[me_str, &channel(room)]),
        Event::Account { operator: true, .. } => out.numeric("381", me_str, &["You are now an IRC operator"]),
        Event::Notice { text } => out.notice(me_str, text),
        Event::Help => out.notice(me_str, "IRC commands and how they map to the chat: docs/irc.md"),
        Event::Connected { conn, nick, peer } => out.notice(me_str, &format!("{nick} connected as {conn} from {peer}")),
        Event::Disconnected { conn, nick, reason } => {
            out.notice(me_str, &format!("{nick} ({conn}) disconnected: {reason}"));
        }
        Event::Bans { bans } => {
            for ban in bans {
                out.notice(me_str, &format!("banned: {} by {}", ban.target, ban.by));
            }
        }
        Event::History { messages, id, .. } => history(messages, id.as_ref(), caps, &mut out),
        Event::Pong | Event::Echo(_) | Event::Search { .. } | Event::Account { .. } => {}
        _ => return None,
    }
    Some(out.into_bytes())
}

/// A message as PRIVMSG lines, as many as its text needs; `as_source` renders it as sent by that
/// nick (an echo) rather than by its author.
fn chat_message(message: &ChatMessage, rendering: Rendering, as_source: Option<&Nick>, out: &mut Lines) {
    let target = match (&message.room, &message.to) {
        (Some(room), _) => channel(room),
        (None, Some(to)) => to.as_str().to_owned(),
        (None, None) => return,
    };
    let from = as_source.unwrap_or(&message.from);
    let mut tags = tags_of(rendering, message.ts, message.id);
    if let Some(account) = message.account.as_ref().filter(|_| rendering.account) {
        tags.push(("account".to_owned(), Some(account.as_str().to_owned())));
    }
    let batch = rendering.multiline.then(|| format!("ml{}", message.id.0));
    privmsg_lines(from, &target, (&message.text, message.action), tags, batch, out);
}

/// A message's text as PRIVMSG lines: one for each of its lines, long lines cut; with `batch` (an
/// id for it), a text of several lines goes as one draft/multiline batch.
fn privmsg_lines(
    from: &Nick,
    target: &str,
    (text, action): (&str, bool),
    tags: Vec<(String, Option<String>)>,
    batch: Option<String>,
    out: &mut Lines,
) {
    let source = source_of(from);
    // ":SOURCE PRIVMSG TARGET :" and, for an action, the CTCP framing.
    let overhead = 1 + source.len() + " PRIVMSG ".len() + target.len() + " :".len();
    let framing = if action {
        ACTION_OPEN.len() + ACTION_CLOSE.len()
    } else {
        0
    };
    let room = MAX_BODY_BYTES.saturating_sub(overhead + framing).max(1);
    if let Some(batch) = batch.filter(|_| !action) {
        let pieces = split::batch_pieces(text, room);
        if pieces.len() > 1 {
            return multiline_batch(&source, target, &pieces, tags, &batch, out);
        }
    }
    for (i, piece) in split::pieces(text, room).into_iter().enumerate() {
        let body = if action {
            format!("{ACTION_OPEN}{piece}{ACTION_CLOSE}")
        } else {
            piece.to_owned()
        };
        // The message's id is on its first line only: ids are unique.
        let tags = if i == 0 {
            tags.clone()
        } else {
            tags.iter().filter(|(k, _)| k != "msgid").cloned().collect()
        };
        out.push(Message {
            tags,
            source: Some(source.clone()),
            ..Message::new("PRIVMSG", &[target, &body])
        });
    }
}

/// A text of several lines as one draft/multiline batch: the message's tags on its opening.
fn multiline_batch(
    source: &str,
    target: &str,
    pieces: &[(&str, bool)],
    tags: Vec<(String, Option<String>)>,
    batch: &str,
    out: &mut Lines,
) {
    let line = |tags, command: &str, params: &[&str]| Message {
        tags,
        source: Some(source.to_owned()),
        ..Message::new(command, params)
    };
    out.push(line(
        tags,
        "BATCH",
        &[&format!("+{batch}"), multiline::BATCH_TYPE, target],
    ));
    for (piece, continues) in pieces {
        let mut tags = vec![("batch".to_owned(), Some(batch.to_owned()))];
        if *continues {
            tags.push((multiline::CONCAT_TAG.to_owned(), None));
        }
        out.push(line(tags, "PRIVMSG", &[target, piece]));
    }
    out.push(line(Vec::new(), "BATCH", &[&format!("-{batch}")]));
}

fn tags_of(rendering: Rendering, ts: Millis, id: MessageId) -> Vec<(String, Option<String>)> {
    let mut tags = Vec::new();
    if rendering.time {
        tags.push(("time".to_owned(), Some(server_time(ts))));
    }
    if rendering.msgid {
        tags.push(("msgid".to_owned(), Some(id.0.to_string())));
    }
    tags
}

/// IRCv3 server-time: `YYYY-MM-DDThh:mm:ss.sssZ`, UTC.
pub fn server_time(ts: Millis) -> String {
    let at = chrono::DateTime::from_timestamp_millis(i64::try_from(ts).unwrap_or(i64::MAX)).unwrap_or_default();
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn ack(
    id: &RequestId,
    (caps, modes): (Caps, UserModes),
    (me, account): (&Nick, Option<&Nick>),
    (message, ts): (Option<MessageId>, Option<Millis>),
    out: &mut Lines,
) {
    let Some(asked) = asked::read(id) else {
        return;
    };
    let me_str = me.as_str();
    if let Some(reply) = &asked.reply {
        if reply == "USER-MODE" {
            return user_mode(&asked, modes, me, out);
        }
        return local_reply(&asked, reply, caps, me_str, out);
    }
    match asked.command() {
        "PRIVMSG" | "NOTICE" if caps.has(Cap::EchoMessage) => {
            let (target, text) = (asked.param(0), asked.param(1));
            let (action, text) = unwrap_action(text);
            let mut tags = match (message, ts) {
                (Some(id), Some(ts)) => tags_of(caps.rendering(), ts, id),
                _ => Vec::new(),
            };
            if let Some(account) = account.filter(|_| caps.rendering().account) {
                tags.push(("account".to_owned(), Some(account.as_str().to_owned())));
            }
            if asked.command() == "NOTICE" && !text.contains('\n') {
                out.push(Message {
                    tags,
                    source: Some(source_of(me)),
                    ..Message::new("NOTICE", &[target, asked.param(1)])
                });
            } else {
                let batch = message
                    .filter(|_| caps.rendering().multiline)
                    .map(|id| format!("ml{}", id.0));
                privmsg_lines(me, target, (text, action), tags, batch, out);
            }
        }
        "INVITE" => out.numeric("341", me_str, &[asked.param(0), asked.param(1)]),
        "AWAY" if asked.param(0).is_empty() => out.numeric("305", me_str, &["You are no longer marked as being away"]),
        "AWAY" => out.numeric("306", me_str, &["You have been marked as being away"]),
        "NAMES" => out.numeric("366", me_str, &[asked.param(0), "End of /NAMES list"]),
        "WHO" => out.numeric("315", me_str, &[asked.param(0), "End of /WHO list"]),
        "LIST" => out.numeric("323", me_str, &["End of /LIST"]),
        _ => {}
    }
}

/// The text of a CTCP ACTION, and whether it was one.
pub fn unwrap_action(text: &str) -> (bool, &str) {
    match text.strip_prefix(ACTION_OPEN) {
        Some(rest) => (true, rest.strip_suffix(ACTION_CLOSE).unwrap_or(rest)),
        None => (false, text),
    }
}

/// The replies the server owes a line without the hub's help.
fn local_reply(asked: &Asked, reply: &str, caps: Caps, me: &str, out: &mut Lines) {
    let command = asked.command();
    match reply {
        "PONG" => out.server_line("PONG", &[SERVER_NAME, asked.param(0)]),
        "CAP" => cap_reply(asked, caps, me, out),
        "VERSION" => out.numeric(
            "351",
            me,
            &[
                concat!("sockchat-", env!("CARGO_PKG_VERSION")),
                SERVER_NAME,
                "IRC for sockchat",
            ],
        ),
        "TIME" => out.numeric("391", me, &[SERVER_NAME, &server_time(crate::clock::now())]),
        "MOTD" => out.numeric("422", me, &["MOTD File is missing"]),
        "WHOIS-NONE" => {
            out.numeric("401", me, &[asked.param(0), "No such nick/channel"]);
            out.numeric("318", me, &[asked.param(0), "End of /WHOIS list"]);
        }
        "WHOWAS" => {
            out.numeric("406", me, &[asked.param(0), "There was no such nickname"]);
            out.numeric("369", me, &[asked.param(0), "End of WHOWAS"]);
        }
        "CHANNEL-MODE" => out.numeric("324", me, &[asked.param(0), "+n"]),
        "BANLIST-END" => out.numeric("368", me, &[asked.param(0), "End of channel ban list"]),
        "INVITE-LIST-END" => out.numeric("337", me, &["End of /INVITE list"]),
        "NAMES-END" => out.numeric("366", me, &[asked.param(0), "End of /NAMES list"]),
        "WHO-END" => out.numeric("315", me, &[asked.param(0), "End of /WHO list"]),
        "421" => out.numeric("421", me, &[command, "Unknown command"]),
        "461" => out.numeric("461", me, &[command, "Not enough parameters"]),
        "462" => out.numeric("462", me, &["You may not reregister"]),
        "432" => out.numeric("432", me, &[asked.param(0), "Erroneous nickname"]),
        "403" => out.numeric("403", me, &[asked.param(0), "No such channel"]),
        "401" if command == "KICK" => out.numeric("401", me, &[asked.param(1), "No such nick/channel"]),
        "401" => out.numeric("401", me, &[asked.param(0), "No such nick/channel"]),
        "411" => out.numeric("411", me, &[&format!("No recipient given ({command})")]),
        "412" => out.numeric("412", me, &["No text to send"]),
        "472" => out.numeric("472", me, &[asked.param(1), "is unknown mode char to me"]),
        "501" => out.numeric("501", me, &["Unknown MODE flag"]),
        "502" => out.numeric("502", me, &["Can't change mode for other users"]),
        "481" => out.numeric("481", me, &["Permission Denied- You're not an IRC operator"]),
        "482" => out.numeric("482", me, &[asked.param(0), "You're not channel operator"]),
        "464" => out.numeric("464", me, &["Password incorrect"]),
        "907" => out.numeric("907", me, &["You have already authenticated using SASL"]),
        failed if failed.starts_with("FAILHISTORY-") => {
            let code = &failed["FAILHISTORY-".len()..];
            let sub = asked.param(0).to_ascii_uppercase();
            out.server_line("FAIL", &["CHATHISTORY", code, &sub, "History cannot be had so"]);
        }
        failed if failed.starts_with("FAIL-") => {
            if let Some(failure) = multiline::Failure::named(&failed["FAIL-".len()..]) {
                let words = failure.words();
                let mut params = vec!["BATCH", failure.code()];
                params.extend(words.iter().map(String::as_str));
                out.server_line("FAIL", &params);
            }
        }
        _ => {}
    }
}

/// MODE of a nick: `502` for another's, `221` to a query of one's own, and a change as the MODE
/// line of what it changed (nothing if nothing did), `501` if it named a mode not known.
fn user_mode(asked: &Asked, modes: UserModes, me: &Nick, out: &mut Lines) {
    let me_str = me.as_str();
    if !own_changes::is_me(asked.param(0), me) {
        return out.numeric("502", me_str, &["Can't change mode for other users"]);
    }
    let change = asked.param(1);
    if change.is_empty() {
        return out.numeric("221", me_str, &[&modes.to_string()]);
    }
    let applied = user_modes::apply(modes, change);
    if !applied.changed.is_empty() {
        out.user_line(me, "MODE", &[me_str, &applied.changed]);
    }
    if applied.unknown {
        out.numeric("501", me_str, &["Unknown MODE flag"]);
    }
}

fn cap_reply(asked: &Asked, caps: Caps, me: &str, out: &mut Lines) {
    let sub = asked.param(0).to_ascii_uppercase();
    match sub.as_str() {
        "LS" => out.server_line("CAP", &[me, "LS", &caps::offered(asked.param(1) >= "302")]),
        "LIST" => out.server_line("CAP", &[me, "LIST", &caps.to_string()]),
        // The fan-out applies an acknowledged request as it delivers this answer (`own_changes`).
        "REQ" => match caps::requested(caps, asked.param(1)) {
            Some(_) => out.server_line("CAP", &[me, "ACK", asked.param(1)]),
            None => out.server_line("CAP", &[me, "NAK", asked.param(1)]),
        },
        "END" => {}
        _ => out.numeric("410", me, &[asked.param(0), "Invalid CAP command"]),
    }
}

fn error(id: Option<&RequestId>, code: ErrorCode, text: &str, me: &str, out: &mut Lines) {
    let Some(asked) = id.and_then(asked::read) else {
        return match code {
            ErrorCode::TooLarge => out.numeric("417", me, &["Input line was too long"]),
            _ => out.notice(me, text),
        };
    };
    // NOTICE is never answered with an error (RFC 2812 3.3.2).
    if asked.quiet || asked.command() == "NOTICE" {
        return;
    }
    if asked.command() == "CHATHISTORY" {
        let sub = asked.param(0).to_ascii_uppercase();
        let code = match code {
            ErrorCode::NotInRoom | ErrorCode::NoSuchRoom | ErrorCode::NotLoggedIn | ErrorCode::NoSuchNick => {
                "INVALID_TARGET"
            }
            _ => "MESSAGE_ERROR",
        };
        return out.server_line("FAIL", &["CHATHISTORY", code, &sub, asked.param(1), text]);
    }
    match asked.command() {
        "KICK" => return kick_error(&asked, code, me, out),
        "INVITE" => return invite_error(&asked, code, me, out),
        _ => {}
    }
    let target = asked.param(0);
    let numeric = match (asked.command(), code) {
        ("NICK", ErrorCode::NickTaken) => Some(("433", "Nickname is already in use")),
        ("NICK", ErrorCode::Banned) => Some(("432", "Erroneous nickname")),
        ("NICK", ErrorCode::BadRequest) => Some(("432", "Erroneous nickname")),
        ("JOIN", ErrorCode::TooManyRooms) => Some(("405", "You have joined too many channels")),
        ("JOIN", ErrorCode::RoomsFull) => Some(("403", "No such channel")),
        ("PRIVMSG", ErrorCode::NotInRoom) => Some(("404", "Cannot send to channel")),
        ("PRIVMSG", ErrorCode::NoSuchNick) => Some(("401", "No such nick/channel")),
        ("PRIVMSG", ErrorCode::NoSuchRoom) => Some(("403", "No such channel")),
        ("PRIVMSG", ErrorCode::EmptyMessage) => Some(("412", "No text to send")),
        (_, ErrorCode::NoSuchRoom) => Some(("403", "No such channel")),
        (_, ErrorCode::NotInRoom) => Some(("442", "You're not on that channel")),
        ("KICK", ErrorCode::NotPermitted) => Some(("482", "You're not channel operator")),
        ("OPER", _) => Some(("464", "Password incorrect")),
        _ => None,
    };
    match numeric {
        Some(("433" | "432", words)) => out.numeric(numeric.map_or("", |n| n.0), me, &[target, words]),
        Some(("464", words)) => out.numeric("464", me, &[words]),
        Some((number, words)) => out.numeric(number, me, &[target, words]),
        None if code == ErrorCode::TooLarge => out.numeric("417", me, &["Input line was too long"]),
        None => out.notice(me, &format!("{} {target}: {text}", asked.command())),
    }
}

/// Why a KICK was refused, as RFC 2812 3.2.8 numbers it.
fn kick_error(asked: &Asked, code: ErrorCode, me: &str, out: &mut Lines) {
    let (channel, nick) = (asked.param(0), asked.param(1));
    match code {
        ErrorCode::NoSuchNick => out.numeric("401", me, &[nick, "No such nick/channel"]),
        ErrorCode::NoSuchRoom => out.numeric("403", me, &[channel, "No such channel"]),
        ErrorCode::NotInRoom => out.numeric("441", me, &[nick, channel, "They aren't on that channel"]),
        _ => out.numeric("482", me, &[channel, "You're not channel operator"]),
    }
}

/// Why an INVITE was refused (modern.ircdocs.horse, *INVITE*).
fn invite_error(asked: &Asked, code: ErrorCode, me: &str, out: &mut Lines) {
    let (nick, channel) = (asked.param(0), asked.param(1));
    match code {
        ErrorCode::NoSuchNick => out.numeric("401", me, &[nick, "No such nick/channel"]),
        ErrorCode::NoSuchRoom => out.numeric("403", me, &[channel, "No such channel"]),
        ErrorCode::AlreadyInRoom => out.numeric("443", me, &[nick, channel, "is already on channel"]),
        _ => out.numeric("442", me, &[channel, "You're not on that channel"]),
    }
}

/// A CHATHISTORY's page, as a `chathistory` batch where the client has `batch`.
fn history(messages: &[ChatMessage], id: Option<&RequestId>, caps: Caps, out: &mut Lines) {
    let Some(asked) = id.and_then(asked::read).filter(|a| a.command() == "CHATHISTORY") else {
        return;
    };
    let bound = chathistory::bounds(&asked.line);
    let target = asked.param(1);
    let part = Part::named(asked.reply.as_deref());
    // The two pages of an AROUND are one batch, named by its reference.
    let batch = caps.has(Cap::Batch).then(|| match part {
        Part::Whole => format!("h{}", messages.first().map_or(0, |m| m.id.0)),
        Part::Opens | Part::Closes => format!("ha{}", chathistory::reference_name(asked.param(2))),
    });
    if let Some(batch) = batch.as_ref().filter(|_| part != Part::Closes) {
        out.server_line("BATCH", &[&format!("+{batch}"), "chathistory", target]);
    }
    let rendering = Rendering {
        multiline: false,
        ..caps.rendering()
    };
    for message in messages
        .iter()
        .filter(|m| bound.is_none_or(|b| chathistory::within(m, b)))
    {
        let mut lines = Lines::default();
        chat_message(message, rendering, None, &mut lines);
        for mut line in lines.0 {
            if let Some(batch) = &batch {
                line.tags.insert(0, ("batch".to_owned(), Some(batch.clone())));
            }
            out.push(line);
        }
    }
    let closes = part == Part::Closes || !around_goes_on(&asked);
    if let Some(batch) = batch.as_ref().filter(|_| closes) {
        out.server_line("BATCH", &[&format!("-{batch}")]);
    }
}

/// Whether a page that opens an AROUND's batch has a second page to close it (a limit of one asks
/// for the first page only).
fn around_goes_on(asked: &Asked) -> bool {
    Part::named(asked.reply.as_deref()) == Part::Opens && asked.param(3).parse::<usize>().is_ok_and(|limit| limit > 1)
}

/// WHOIS, ISON and USERHOST, answered from the users found.
fn users_reply(users: &[UserSummary], id: Option<&RequestId>, me: &str, out: &mut Lines) {
    let Some(asked) = id.and_then(asked::read) else {
        return;
    };
    match asked.command() {
        "WHOIS" => {
            let asked_for = asked.param(0);
            let Some(user) = users.first() else {
                out.numeric("401", me, &[asked_for, "No such nick/channel"]);
                out.numeric("318", me, &[asked_for, "End of /WHOIS list"]);
                return;
            };
            let nick = user.nick.as_str();
            out.numeric("311", me, &[nick, nick, SERVER_NAME, "*", nick]);
            if !user.rooms.is_empty() {
                let channels: Vec<String> = user.rooms.iter().map(channel).collect();
                out.numeric("319", me, &[nick, &channels.join(" ")]);
            }
            out.numeric("312", me, &[nick, SERVER_NAME, "sockchat"]);
            if user.operator {
                out.numeric("313", me, &[nick, "is an IRC operator"]);
            }
            if let Some(away) = &user.away {
                out.numeric("301", me, &[nick, away]);
            }
            if let Some(account) = &user.account {
                out.numeric("330", me, &[nick, account.as_str(), "is logged in as"]);
            }
            out.numeric("318", me, &[nick, "End of /WHOIS list"]);
        }
        "ISON" => {
            let nicks: Vec<&str> = users.iter().map(|u| u.nick.as_str()).collect();
            out.numeric("303", me, &[&nicks.join(" ")]);
        }
        "USERHOST" => {
            let replies: Vec<String> = users
                .iter()
                .map(|u| {
                    let star = if u.operator { "*" } else { "" };
                    let here = if u.away.is_some() { '-' } else { '+' };
                    format!("{0}{star}={here}{0}@{SERVER_NAME}", u.nick.as_str())
                })
                .collect();
            out.numeric("302", me, &[&replies.join(" ")]);
        }
        _ => {}
    }
}

fn members(room: &crate::names::RoomName, nicks: &[Nick], id: Option<&RequestId>, me: &str, out: &mut Lines) {
    let chan = channel(room);
    let who = id.and_then(asked::read).is_some_and(|asked| asked.command() == "WHO");
    if who {
        for nick in nicks {
            let nick = nick.as_str();
            let real = format!("0 {nick}");
            out.numeric("352", me, &[&chan, nick, SERVER_NAME, SERVER_NAME, nick, "H", &real]);
        }
        return;
    }
    // ":sockchat 353 ME = #ROOM :" and as many nicks as fit.
    let overhead = 1 + SERVER_NAME.len() + " 353 ".len() + me.len() + " = ".len() + chan.len() + " :".len();
    let room_left = MAX_BODY_BYTES.saturating_sub(overhead);
    let mut line = String::new();
    for nick in nicks {
        if !line.is_empty() && line.len() + 1 + nick.as_str().len() > room_left {
            out.numeric("353", me, &["=", &chan, &line]);
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(nick.as_str());
    }
    if !line.is_empty() {
        out.numeric("353", me, &["=", &chan, &line]);
    }
}

/// A line as written: text (a message's, a numeric's words) always as a trailing parameter.
pub fn written(message: &Message) -> String {
    let command = message.command.as_str();
    let numeric = command.len() == 3 && command.bytes().all(|b| b.is_ascii_digit());
    let text = matches!(
        command,
        "PRIVMSG" | "NOTICE" | "TOPIC" | "QUIT" | "ERROR" | "AWAY" | "FAIL" | "KICK"
    ) || (numeric && !matches!(command, "004" | "221" | "324" | "341"));
    if text {
        message.to_line_with_trailing()
    } else {
        message.to_line()
    }
}

/// The lines of one rendering, gathered and written as bytes at the end.
#[derive(Default)]
pub struct Lines(pub Vec<Message>);

impl Lines {
    fn push(&mut self, message: Message) {
        self.0.push(message);
    }

    fn user_line(&mut self, nick: &Nick, command: &str, params: &[&str]) {
        self.push(Message {
            source: Some(source_of(nick)),
            ..Message::new(command, params)
        });
    }

    fn server_line(&mut self, command: &str, params: &[&str]) {
        self.push(Message {
            source: Some(SERVER_NAME.to_owned()),
            ..Message::new(command, params)
        });
    }

    fn numeric(&mut self, number: &str, me: &str, params: &[&str]) {
        let mut all = vec![me];
        all.extend_from_slice(params);
        self.server_line(number, &all);
    }

    /// A server notice, a line of `text` at a time.
    fn notice(&mut self, to: &str, text: &str) {
        let overhead = 1 + SERVER_NAME.len() + " NOTICE ".len() + to.len() + " :".len();
        for piece in split::pieces(text, MAX_BODY_BYTES - overhead) {
            self.server_line("NOTICE", &[to, piece]);
        }
    }

    fn into_bytes(self) -> Bytes {
        let mut text = String::new();
        for message in self.0 {
            text.push_str(&written(&message));
        }
        Bytes::from(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::RoomName;
    use crate::protocol::RoomSummary;

    fn nick(text: &str) -> Nick {
        Nick::parse(text).unwrap()
    }

    fn room(text: &str) -> RoomName {
        RoomName::parse(text).unwrap()
    }

    fn said(text: &str, action: bool) -> Event {
        Event::Message(ChatMessage {
            id: MessageId(7),
            ts: 1_764_000_000_123,
            from: nick("bob"),
            account: None,
            room: Some(room("rust")),
            to: None,
            text: text.to_owned(),
            action,
        })
    }

    fn text(bytes: Bytes) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn shared_events_as_lines() {
        let plain = Rendering::default();
        let tagged = Rendering {
            time: true,
            msgid: true,
            ..Rendering::default()
        };
        let extended = Rendering {
            extended_join: true,
            ..Rendering::default()
        };
        let batched = Rendering {
            multiline: true,
            ..Rendering::default()
        };
        let cases: Vec<(Event, Rendering, &str)> = vec![
            (said("hi", false), plain, ":bob!bob@sockchat PRIVMSG #rust :hi\r\n"),
            (
                said("hi", false),
                tagged,
                "@time=2025-11-24T16:00:00.123Z;msgid=7 :bob!bob@sockchat PRIVMSG #rust :hi\r\n",
            ),
            (
                said("waves", true),
                plain,
                ":bob!bob@sockchat PRIVMSG #rust :\u{1}ACTION waves\u{1}\r\n",
            ),
            (
                said("a\nb", false),
                plain,
                ":bob!bob@sockchat PRIVMSG #rust :a\r\n:bob!bob@sockchat PRIVMSG #rust :b\r\n",
            ),
            (
                Event::Joined {
                    room: room("rust"),
                    nick: nick("ann"),
                    account: None,
                },
                plain,
                ":ann!ann@sockchat JOIN #rust\r\n",
            ),
            (
                Event::Joined {
                    room: room("rust"),
                    nick: nick("ann"),
                    account: None,
                },
                extended,
                ":ann!ann@sockchat JOIN #rust * ann\r\n",
            ),
            (
                Event::Joined {
                    room: room("rust"),
                    nick: nick("ann"),
                    account: Some(nick("ann")),
                },
                extended,
                ":ann!ann@sockchat JOIN #rust ann ann\r\n",
            ),
            (
                Event::Renamed {
                    from: nick("ann"),
                    to: nick("[ann]"),
                },
                plain,
                ":ann!ann@sockchat NICK [ann]\r\n",
            ),
            (
                Event::Quit {
                    nick: nick("ann"),
                    reason: "bye".to_owned(),
                },
                plain,
                ":ann!ann@sockchat QUIT :bye\r\n",
            ),
            (
                Event::Topic {
                    room: room("rust"),
                    topic: Some("new".to_owned()),
                    by: Some(nick("ann")),
                },
                plain,
                ":ann!ann@sockchat TOPIC #rust :new\r\n",
            ),
            (
                said("a\n\nb", false),
                batched,
                ":bob!bob@sockchat BATCH +ml7 draft/multiline #rust\r\n\
                 @batch=ml7 :bob!bob@sockchat PRIVMSG #rust :a\r\n\
                 @batch=ml7 :bob!bob@sockchat PRIVMSG #rust :\r\n\
                 @batch=ml7 :bob!bob@sockchat PRIVMSG #rust :b\r\n\
                 :bob!bob@sockchat BATCH -ml7\r\n",
            ),
            (
                said("one line", false),
                batched,
                ":bob!bob@sockchat PRIVMSG #rust :one line\r\n",
            ),
            (Event::Ping, plain, "PING sockchat\r\n"),
            (
                Event::Bye {
                    reason: "kicked".to_owned(),
                },
                plain,
                "ERROR :Closing link: kicked\r\n",
            ),
            (Event::Pong, plain, ""),
        ];
        for (event, rendering, want) in cases {
            assert_eq!(text(shared(&event, rendering)), want, "{event:?}");
        }
    }

    #[test]
    fn replies_as_numerics_to_their_nick() {
        let ann = nick("ann");
        let id = |line: &str| asked::id(&Message::parse(line.as_bytes()).unwrap());
        let error = |line: &str, code| Event::Error {
            id: Some(id(line)),
            code,
            message: "no".to_owned(),
        };
        let echo = Caps::default().with(Cap::EchoMessage).with(Cap::MessageTags);
        let cases: Vec<(Event, Caps, &str)> = vec![
            (
                error("NICK bob", ErrorCode::NickTaken),
                Caps::default(),
                ":sockchat 433 ann bob :Nickname is already in use\r\n",
            ),
            (
                error("PRIVMSG #go :hi", ErrorCode::NotInRoom),
                Caps::default(),
                ":sockchat 404 ann #go :Cannot send to channel\r\n",
            ),
            (error("NOTICE #go :hi", ErrorCode::NotInRoom), Caps::default(), ""),
            (
                error("PART #go", ErrorCode::NotInRoom),
                Caps::default(),
                ":sockchat 442 ann #go :You're not on that channel\r\n",
            ),
            (
                error("JOIN #x", ErrorCode::TooManyRooms),
                Caps::default(),
                ":sockchat 405 ann #x :You have joined too many channels\r\n",
            ),
            (
                Event::Ack {
                    id: id("PRIVMSG #rust :hi"),
                    message: Some(MessageId(3)),
                    ts: Some(0),
                },
                echo,
                "@msgid=3 :ann!ann@sockchat PRIVMSG #rust :hi\r\n",
            ),
            (
                Event::Ack {
                    id: id("PRIVMSG #rust :hi"),
                    message: Some(MessageId(3)),
                    ts: Some(0),
                },
                Caps::default(),
                "",
            ),
            (
                Event::Ack {
                    id: asked::reply_id(&Message::new("PING", &["x"]), "PONG"),
                    message: None,
                    ts: None,
                },
                Caps::default(),
                ":sockchat PONG sockchat x\r\n",
            ),
            (
                Event::Topic {
                    room: room("rust"),
                    topic: None,
                    by: None,
                },
                Caps::default(),
                ":sockchat 331 ann #rust :No topic is set\r\n",
            ),
            (
                Event::Members {
                    room: room("rust"),
                    nicks: vec![nick("ann"), nick("bob")],
                    more: false,
                    id: Some(id("NAMES #rust")),
                },
                Caps::default(),
                ":sockchat 353 ann = #rust :ann bob\r\n",
            ),
            (
                Event::Rooms {
                    rooms: vec![RoomSummary {
                        room: room("rust"),
                        members: 2,
                        topic: None,
                    }],
                    more: false,
                },
                Caps::default(),
                ":sockchat 321 ann Channel :Users  Name\r\n:sockchat 322 ann #rust 2 :\r\n",
            ),
            (
                Event::Error {
                    id: None,
                    code: ErrorCode::TooLarge,
                    message: "long".to_owned(),
                },
                Caps::default(),
                ":sockchat 417 ann :Input line was too long\r\n",
            ),
        ];
        let signed = Event::Ack {
            id: id("PRIVMSG #rust :hi"),
            message: Some(MessageId(3)),
            ts: Some(0),
        };
        for (caps, want) in [
            (echo, "@msgid=3 :ann!ann@sockchat PRIVMSG #rust :hi\r\n"),
            (
                echo.with(Cap::AccountTag),
                "@msgid=3;account=ann :ann!ann@sockchat PRIVMSG #rust :hi\r\n",
            ),
        ] {
            let got = reply(&signed, (caps, UserModes::default()), &ann, Some(&ann)).map(text);
            assert_eq!(got.as_deref(), Some(want));
        }
        for (event, caps, want) in cases {
            let got = reply(&event, (caps, UserModes::default()), &ann, None).map(text);
            assert_eq!(got.as_deref(), Some(want), "{event:?}");
        }
        assert_eq!(
            reply(&said("hi", false), (Caps::default(), UserModes::default()), &ann, None),
            None
        );
    }

    proptest::proptest! {
        #[test]
        fn every_line_of_a_message_fits_and_together_they_hold_its_text(text in "\\PC{1,2000}") {
            let rendered = String::from_utf8(shared(&said(&text, false), Rendering::default()).to_vec()).unwrap();
            let mut rebuilt = Vec::new();
            for line in rendered.split_terminator("\r\n") {
                proptest::prop_assert!(line.len() + 2 <= 512, "{} bytes", line.len() + 2);
                let message = Message::parse(line.as_bytes()).unwrap();
                rebuilt.push(message.params[1].clone());
            }
            let want: Vec<String> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).map(|l| if l.is_empty() { " " } else { l }).map(str::to_owned).collect();
            proptest::prop_assert_eq!(rebuilt.concat(), want.concat());
        }
    }
}
