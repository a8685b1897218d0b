//! The plain-text wire mode for nc and telnet: typed lines in, readable lines out.

use std::fmt::Write as _;

use bytes::Bytes;

use crate::hub::{Focus, TEXT_EXPANSION};
use crate::names::{ConnId, Nick, RoomName};
use crate::protocol::{Command, Event, Message, Password, Recipient, Request, RoomSummary};
use crate::terminal_text::push_line;

/// What one typed line amounts to.
#[derive(Debug, PartialEq)]
pub enum Typed {
    Request(Request),
    /// An empty line, or nothing but telnet negotiation.
    Nothing,
    /// A command that could not be understood, and why.
    Invalid(String),
}

/// What a message's plain rendering may take beyond `TEXT_EXPANSION` bytes per byte of its text: room
/// for the prefix of a few lines. Past the bound the rest of the message is not shown, so that a text of
/// newlines, each given the `[room] <nick> ` prefix, cannot grow a plain reader's backlog many times
/// over the message's size.
pub const PLAIN_MESSAGE_SLACK_BYTES: usize = 4096;

/// Room kept within the bound for the notice that says how many lines are not shown.
const CUT_NOTICE_BYTES: usize = 96;

/// The commands, as `/help` lists them.
pub const HELP: &str = "\
commands:
  TEXT                  say TEXT in your current room (// to start it with /)
  /me ACTION            act in your current room
  /msg NICK TEXT        send TEXT to NICK alone
  /nick NAME            change your nick
  /join ROOM            join ROOM (creating it) and make it your current room
  /part [ROOM]          leave ROOM, or your current room
  /topic [TEXT]         show or set the topic of your current room
  /who [ROOM [AFTER]]   list who is in ROOM, or in your current room (/names)
                        AFTER: only those after that nick (the next page)
  /rooms [AFTER]        list the rooms (or /list), or those after AFTER
  /history [N]          show your room's last N messages (20 if not told)
  /search WORDS         find messages with all the words (your rooms, DMs)
  /register PASSWORD    make your nick an account that only you may use
  /login NICK PASSWORD  log in to your account (take its nick)
  /passwd NEW           change your account's password
  /unregister PASSWORD  delete your account
  /ping                 ask the server for a pong
  /help                 this list
  /quit [REASON]        leave (typing exit alone does too)
operator only:
  /msg #N TEXT          send TEXT to connection number N
  /kick NICK|#N [WHY]   disconnect someone
  /ban NICK|IP [T] [WHY] keep out, for T (30m, 12h, 7d) or for good
  /unban NICK|IP        lift a ban
  /bans                 list the bans";

/// Turns one line (without its line ending) into a request.
pub fn parse(line: &[u8]) -> Typed {
    let bytes = strip_telnet(line);
    let text = String::from_utf8_lossy(&bytes);
    let text = after_terminal_keys(text.trim_end_matches(['\r', '\0']));
    if text.trim().is_empty() {
        return Typed::Nothing;
    }
    if text.trim() == "exit" {
        return typed(Command::Quit { reason: None });
    }
    match text.strip_prefix('/') {
        Some(rest) if rest.starts_with('/') => say(rest.to_owned(), false),
        Some(rest) => slash_command(rest),
        None => say(text.to_owned(), false),
    }
}

fn typed(command: Command) -> Typed {
    Typed::Request(Request::new(command))
}

fn say(text: String, action: bool) -> Typed {
    typed(Command::Say {
        room: None,
        text,
        action,
    })
}

fn slash_command(line: &str) -> Typed {
    let (name, rest) = line.split_once(' ').unwrap_or((line, ""));
    let rest = rest.trim();
    let words: Vec<&str> = rest.split_whitespace().collect();
    let result = match name.to_ascii_lowercase().as_str() {
        "me" if !rest.is_empty() => Ok(say(rest.to_owned(), true)),
        "msg" | "m" => direct(rest),
        "query" if words.len() < 2 => Err(QUERY_HERE.to_owned()),
        "query" => direct(rest),
        "nick" => one(&words, "/nick NAME")
            .and_then(|a| Nick::parse(a).map_err(|e| e.to_string()))
            .map(|nick| typed(Command::Nick { nick })),
        "join" | "j" => one(&words, "/join ROOM")
            .and_then(room)
            .map(|room| typed(Command::Join { room })),
        "part" | "leave" => at_most_one(&words, "/part [ROOM]")
            .and_then(|arg| arg.map(room).transpose())
            .map(|room| typed(Command::Part { room })),
        "topic" => Ok(typed(Command::Topic {
            room: None,
            topic: (!rest.is_empty()).then(|| rest.to_owned()),
        })),
        "who" | "names" => who(&words),
        "rooms" | "list" => at_most_one(&words, "/rooms [AFTER]")
            .and_then(|arg| arg.map(room).transpose())
            .map(|after| typed(Command::Rooms { after })),
        "help" => none(&words, "/help").map(|()| typed(Command::Help)),
        "ping" => none(&words, "/ping").map(|()| typed(Command::Ping)),
        "quit" | "exit" => Ok(typed(Command::Quit {
            reason: (!rest.is_empty()).then(|| rest.to_owned()),
        })),
        "kick" => kick(rest),
        "history" => history(&words),
        "search" if !rest.is_empty() => Ok(typed(Command::Search {
            query: rest.to_owned(),
            room: None,
            limit: None,
        })),
        "search" => Err("usage: /search WORDS".to_owned()),
        "register" => password(rest, "/register PASSWORD").map(|password| typed(Command::Register { password })),
        "login" | "identify" => login(rest),
        "passwd" => password(rest, "/passwd NEW").map(|password| typed(Command::Passwd { password })),
        "unregister" => password(rest, "/unregister PASSWORD").map(|password| typed(Command::Unregister { password })),
        "ban" => ban(rest),
        "unban" => one(&words, "/unban NICK|IP").map(|t| typed(Command::Unban { target: t.to_owned() })),
        "bans" => none(&words, "/bans").map(|()| typed(Command::Bans)),
        "me" => Err("usage: /me ACTION".to_owned()),
        _ => Err(format!("unknown command /{name}; /help lists the commands")),
    };
    result.unwrap_or_else(Typed::Invalid)
}

/// `/who [ROOM [AFTER]]`: a page of members, those after the nick AFTER.
fn who(words: &[&str]) -> Result<Typed, String> {
    let usage = || "usage: /who [ROOM [AFTER]]".to_owned();
    let (room_word, after_word) = match words {
        [] => (None, None),
        [room] => (Some(*room), None),
        [room, after] => (Some(*room), Some(*after)),
        _ => return Err(usage()),
    };
    let room = room_word.map(room).transpose()?;
    let after = after_word
        .map(|a| Nick::parse(a).map_err(|e| e.to_string()))
        .transpose()?;
    Ok(typed(Command::Who { room, after }))
}

/// How many messages `/history` shows when not told.
const HISTORY_SHOWN: usize = 20;

/// `/history [N]`: the last N messages of the current room.
fn history(words: &[&str]) -> Result<Typed, String> {
    let limit = match words {
        [] => HISTORY_SHOWN,
        [n] => n.parse().map_err(|_| "usage: /history [N]".to_owned())?,
        _ => return Err("usage: /history [N]".to_owned()),
    };
    Ok(typed(Command::History {
        room: None,
        with: None,
        after: None,
        before: None,
        after_time: None,
        before_time: None,
        limit: Some(limit),
    }))
}

/// The rest of the line is the password, spaces and all.
fn password(rest: &str, usage: &str) -> Result<Password, String> {
    match rest {
        "" => Err(format!("usage: {usage}")),
        rest => Ok(Password(rest.to_owned())),
    }
}

/// `/login NICK PASSWORD`.
fn login(rest: &str) -> Result<Typed, String> {
    let usage = "/login NICK PASSWORD";
    let (nick, rest) = rest.split_once(' ').ok_or(format!("usage: {usage}"))?;
    let nick = Nick::parse(nick).map_err(|e| e.to_string())?;
    let password = password(rest.trim_start(), usage)?;
    Ok(typed(Command::Login { nick, password }))
}

/// `/ban NICK|IP [DURATION] [REASON]`: DURATION is a number and s, m, h or d.
fn ban(rest: &str) -> Result<Typed, String> {
    let mut words = rest.splitn(3, ' ');
    let target = words.next().filter(|t| !t.is_empty());
    let Some(target) = target else {
        return Err("usage: /ban NICK|IP [DURATION] [REASON]".to_owned());
    };
    let second = words.next().unwrap_or("");
    let (duration, reason) = match seconds_of(second) {
        Some(seconds) => (Some(seconds), words.next().unwrap_or("")),
        None => (None, rest[target.len()..].trim()),
    };
    let reason = reason.trim();
    Ok(typed(Command::Ban {
        target: target.to_owned(),
        duration,
        reason: (!reason.is_empty()).then(|| reason.to_owned()),
    }))
}

/// `30s`, `15m`, `12h`, `7d` in seconds.
fn seconds_of(word: &str) -> Option<u64> {
    let unit = match word.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 60 * 60,
        'd' => 24 * 60 * 60,
        _ => return None,
    };
    let number: u64 = word[..word.len() - 1].parse().ok()?;
    number.checked_mul(unit)
}

/// What `/query NICK` gets here: windows belong to the full-screen client.
const QUERY_HERE: &str =
    "usage: /msg NICK TEXT (/query NICK opens a window in the full-screen client; here every line is sent on its own)";

fn one<'a>(words: &[&'a str], usage: &str) -> Result<&'a str, String> {
    match words {
        [word] => Ok(word),
        _ => Err(format!("usage: {usage}")),
    }
}

fn at_most_one<'a>(words: &[&'a str], usage: &str) -> Result<Option<&'a str>, String> {
    match words {
        [] => Ok(None),
        [word] => Ok(Some(word)),
        _ => Err(format!("usage: {usage}")),
    }
}

fn none(words: &[&str], usage: &str) -> Result<(), String> {
    match words {
        [] => Ok(()),
        _ => Err(format!("usage: {usage} (it takes no words after it)")),
    }
}

/// A typed line without the terminal keys pressed before it: Ctrl-L's form feed, an arrow's escape
/// sequence, a stray NUL. A command typed after them must still be a command; keys pressed later stay
/// in the text, and readers are shown them defused.
fn after_terminal_keys(text: &str) -> &str {
    let mut rest = text;
    loop {
        let mut chars = rest.chars();
        match chars.next() {
            Some('\x1b') => {
                skip_escape(&mut chars);
                rest = chars.as_str();
            }
            Some(c) if c.is_ascii_control() && c != '\t' => rest = chars.as_str(),
            _ => return rest,
        }
    }
}

/// Skips the rest of an escape sequence: CSI (`ESC [ params final`), SS3 (`ESC O x`) or `ESC x`.
fn skip_escape(chars: &mut std::str::Chars<'_>) {
    match chars.next() {
        Some('[') => {
            for c in chars.by_ref() {
                if ('\x40'..='\x7e').contains(&c) {
                    break;
                }
            }
        }
        Some('O') => {
            chars.next();
        }
        _ => {}
    }
}

fn room(text: &str) -> Result<RoomName, String> {
    RoomName::parse(text).map_err(|e| e.to_string())
}

/// A nick, or `#N` for a connection number.
fn recipient(text: &str) -> Result<Recipient, String> {
    match text.strip_prefix('#') {
        Some(number) => number
            .parse()
            .map(|n| Recipient::Conn(ConnId(n)))
            .map_err(|_| format!("{text} is not a connection number")),
        None => Nick::parse(text).map(Recipient::Nick).map_err(|e| e.to_string()),
    }
}

fn direct(rest: &str) -> Result<Typed, String> {
    let (to, text) = rest.split_once(' ').ok_or("usage: /msg NICK TEXT")?;
    let text = text.trim_start();
    if text.is_empty() {
        return Err("usage: /msg NICK TEXT".to_owned());
    }
    Ok(typed(Command::Msg {
        to: recipient(to)?,
        text: text.to_owned(),
    }))
}

fn kick(rest: &str) -> Result<Typed, String> {
    let (target, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    if target.is_empty() {
        return Err("usage: /kick NICK|#N [REASON]".to_owned());
    }
    let reason = reason.trim();
    let reason = (!reason.is_empty()).then(|| reason.to_owned());
    Ok(typed(Command::Kick {
        room: None,
        target: recipient(target)?,
        reason,
    }))
}

/// Telnet's IAC sequences: option negotiation (IAC WILL/WONT/DO/DONT opt), subnegotiation
/// (IAC SB ... IAC SE) and two-byte commands. An escaped IAC IAC stands for a 0xFF byte.
fn strip_telnet(line: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    const IAC: u8 = 255;
    const SB: u8 = 250;
    const SE: u8 = 240;
    if !line.contains(&IAC) {
        return line.into();
    }
    let mut out = Vec::with_capacity(line.len());
    let mut i = 0;
    while i < line.len() {
        match (line[i], line.get(i + 1).copied()) {
            (IAC, Some(IAC)) => {
                out.push(IAC);
                i += 2;
            }
            (IAC, Some(251..=254)) => i += 3,
            (IAC, Some(SB)) => {
                let end = line[i..].windows(2).position(|w| w == [IAC, SE]);
                i = end.map_or(line.len(), |e| i + e + 2);
            }
            (IAC, _) => i += 2,
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out.into()
}

/// Renders an event as the lines a person reads; empty for events plain clients are not shown.
pub fn render(event: &Event, focus: Focus) -> Bytes {
    let mut out = String::new();
    write_event(&mut out, event, focus);
    Bytes::from(out)
}

fn write_event(out: &mut String, event: &Event, focus: Focus) {
    match event {
        Event::Welcome {
            server,
            nick,
            conn,
            room,
            ..
        } => {
            let place = room.as_ref().map(|r| format!(", in {r}")).unwrap_or_default();
            notice(
                out,
                &format!("welcome to {server}! you are {nick} (connection {conn}){place}"),
            );
            notice(out, "type to talk; /help lists the commands; /quit leaves");
        }
        Event::Message(message) => write_message(out, message, focus),
        Event::Echo(message) => write_echo(out, message),
        Event::Ack { .. } => {}
        Event::Pong => notice(out, "pong"),
        // Only structured clients are pinged.
        Event::Ping => {}
        Event::Error { message, .. } => push_line(out, "!! ", message),
        Event::Joined { room, nick, .. } => notice(out, &format!("{nick} joined {room}")),
        Event::Parted { room, nick } => notice(out, &format!("{nick} left {room}")),
        Event::Invited { room, by } => notice(out, &format!("{by} invites you to {room}: /join {room}")),
        Event::Kicked { room, nick, by, reason } => {
            let why = reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default();
            notice(out, &format!("{nick} was kicked out of {room} by {by}{why}"));
        }
        Event::Renamed { from, to } => notice(out, &format!("{from} is now known as {to}")),
        Event::Quit { nick, reason } => notice(out, &format!("{nick} quit ({reason})")),
        Event::Topic {
            room,
            topic: Some(topic),
            by,
        } => {
            let by = by.as_ref().map(|b| format!(" (set by {b})")).unwrap_or_default();
            notice(out, &format!("topic of {room}: {topic}{by}"));
        }
        Event::Topic { room, topic: None, .. } => notice(out, &format!("{room} has no topic")),
        Event::Members { room, nicks, more, .. } => {
            let names: Vec<&str> = nicks.iter().map(Nick::as_str).collect();
            let count = counted(nicks.len(), "member", "members");
            match (more, nicks.last()) {
                (true, Some(last)) => notice(
                    out,
                    &format!(
                        "{room} has more than {count}: {} (more: /who {room} {last})",
                        names.join(" ")
                    ),
                ),
                _ => notice(out, &format!("{room} has {count}: {}", names.join(" "))),
            }
        }
        Event::Rooms { rooms, more } => write_rooms(out, rooms, *more),
        // The server's own text, aligned with runs of spaces that others' text may not have.
        Event::Help => HELP.lines().for_each(|l| {
            out.push_str("-- ");
            out.push_str(l);
            out.push('\n');
        }),
        Event::History {
            room,
            with,
            messages,
            more,
            ..
        } => write_history(out, room.as_ref(), with.as_ref(), messages, *more),
        Event::Search { query, messages } => {
            let count = counted(messages.len(), "match", "matches");
            notice(out, &format!("{count} for \"{query}\", newest first:"));
            for message in messages {
                write_earlier(out, message, true);
            }
        }
        Event::Account {
            account: Some(account),
            operator,
        } => {
            let powers = if *operator { ", with the operator's powers" } else { "" };
            notice(out, &format!("you are logged in to the account {account}{powers}"));
        }
        Event::Account { account: None, .. } => notice(out, "you are logged in to no account now"),
        Event::Bans { bans } => {
            notice(out, &format!("{}:", counted(bans.len(), "ban", "bans")));
            for ban in bans {
                let until = ban
                    .expires
                    .map_or_else(|| "for good".to_owned(), |t| format!("until {}", when(t)));
                let reason = ban.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default();
                notice(out, &format!("  {} by {}, {until}{reason}", ban.target, ban.by));
            }
        }
        Event::Users { users, .. } => {
            notice(out, &format!("{} here:", counted(users.len(), "user", "users")));
            for user in users {
                let rooms: Vec<&str> = user.rooms.iter().map(RoomName::as_str).collect();
                let account = user
                    .account
                    .as_ref()
                    .map(|a| format!(", account {a}"))
                    .unwrap_or_default();
                notice(out, &format!("  {} in {}{account}", user.nick, rooms.join(" ")));
            }
        }
        Event::Away { nick, text: Some(text) } => notice(out, &format!("{nick} is away: {text}")),
        Event::Away { nick, text: None } => notice(out, &format!("{nick} is back")),
        Event::Counts { users, rooms } => notice(
            out,
            &format!(
                "{} connected, {}",
                counted(*users, "user", "users"),
                counted(*rooms, "room", "rooms")
            ),
        ),
        Event::Notice { text } => notice(out, text),
        Event::Connected { conn, nick, peer } => notice(out, &format!("{conn} {nick} connected from {peer}")),
        Event::Disconnected { conn, nick, reason } => notice(out, &format!("{conn} {nick} disconnected ({reason})")),
        Event::Bye { reason } => notice(out, &format!("bye: {reason}")),
    }
}

fn write_message(out: &mut String, message: &Message, focus: Focus) {
    let Message {
        from,
        room,
        to,
        text,
        action,
        ..
    } = message;
    let mut prefix = String::new();
    if let (Some(room), Focus::Elsewhere) = (room, focus) {
        let _ = write!(prefix, "[{room}] ");
    }
    match (to, action) {
        (Some(_), _) => {
            let _ = write!(prefix, "*{from}* ");
        }
        (None, true) => {
            let _ = write!(prefix, "* {from} ");
        }
        (None, false) => {
            let _ = write!(prefix, "<{from}> ");
        }
    }
    write_lines(out, &prefix, text);
}

/// One's own direct message, as irssi shows it: `-> *bob* text`.
fn write_echo(out: &mut String, message: &Message) {
    let to = message.to.as_ref().map_or("?", Nick::as_str);
    write_lines(out, &format!("-> *{to}* "), &message.text);
}

/// Each line of someone's `text` after `prefix`, up to `text.len() * TEXT_EXPANSION +
/// PLAIN_MESSAGE_SLACK_BYTES` bytes in all; past that, one notice of how many lines are not shown.
fn write_lines(out: &mut String, prefix: &str, text: &str) {
    let start = out.len();
    let bound = text.len() * TEXT_EXPANSION + PLAIN_MESSAGE_SLACK_BYTES - CUT_NOTICE_BYTES;
    let mut lines = text.split('\n');
    while let Some(text_line) = lines.next() {
        let before = out.len();
        push_line(out, prefix, text_line.strip_suffix('\r').unwrap_or(text_line));
        if out.len() - start > bound {
            out.truncate(before);
            let left = 1 + lines.count();
            let lines = if left == 1 {
                "line of this message is"
            } else {
                "lines of this message are"
            };
            notice(out, &format!("({left} more {lines} not shown here)"));
            return;
        }
    }
}

/// Messages from before, each marked with its time, so they do not read as said now.
fn write_history(out: &mut String, room: Option<&RoomName>, with: Option<&Nick>, messages: &[Message], more: bool) {
    let place = match (room, with) {
        (Some(room), _) => format!("in {room}"),
        (None, Some(with)) => format!("with {with}"),
        (None, None) => String::new(),
    };
    if messages.is_empty() {
        notice(out, &format!("nothing was said {place} before"));
        return;
    }
    let more = if more { "; /history 100 shows more" } else { "" };
    notice(out, &format!("earlier {place} (times in UTC){more}:"));
    for message in messages {
        write_earlier(out, message, false);
    }
    notice(out, "(end of earlier messages)");
}

/// One message from before: `[12-02 14:05] <ann> text`, with its room when `with_room`.
fn write_earlier(out: &mut String, message: &Message, with_room: bool) {
    let room = match (&message.room, with_room) {
        (Some(room), true) => format!("{room} "),
        _ => String::new(),
    };
    let who = match (&message.to, message.action) {
        (Some(to), _) => format!("*{}* -> {to}", message.from),
        (None, true) => format!("* {}", message.from),
        (None, false) => format!("<{}>", message.from),
    };
    write_lines(out, &format!("[{room}{}] {who} ", when(message.ts)), &message.text);
}

/// A server time as `MM-DD HH:MM`, in UTC.
fn when(ts: crate::protocol::Millis) -> String {
    let at = chrono::DateTime::from_timestamp_millis(i64::try_from(ts).unwrap_or(i64::MAX));
    at.map_or_else(|| "?".to_owned(), |at| at.format("%m-%d %H:%M").to_string())
}

/// A page of rooms; where more follow, how to ask for them.
fn write_rooms(out: &mut String, rooms: &[RoomSummary], more: bool) {
    let count = counted(rooms.len(), "room", "rooms");
    match (more, rooms.last()) {
        (true, Some(last)) => notice(out, &format!("{count} (more follow: /rooms {}):", last.room)),
        _ => notice(out, &format!("{count}:")),
    }
    for RoomSummary { room, members, topic } in rooms {
        let topic = topic.as_ref().map(|t| format!(": {t}")).unwrap_or_default();
        notice(out, &format!("  {room} ({members}){topic}"));
    }
}

fn notice(out: &mut String, text: &str) {
    push_line(out, "-- ", text);
}

/// `1 room`, `2 rooms`.
fn counted(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::MessageId;

    fn parsed(line: &[u8]) -> String {
        match parse(line) {
            Typed::Request(request) => serde_json::to_string(&request).unwrap(),
            Typed::Nothing => "nothing".to_owned(),
            Typed::Invalid(why) => format!("invalid: {why}"),
        }
    }

    #[test]
    fn typed_lines() {
        let cases: &[(&[u8], &str)] = &[
            (b"hello there", r#"{"type":"say","text":"hello there"}"#),
            (b"hello\r", r#"{"type":"say","text":"hello"}"#),
            (b"", "nothing"),
            (b"   ", "nothing"),
            (b"\xff\xfb\x01\xff\xfd\x03", "nothing"),
            (b"\xff\xfa\x18\x00xterm\xff\xf0hi", r#"{"type":"say","text":"hi"}"#),
            (b"caf\xe9", "{\"type\":\"say\",\"text\":\"caf\u{fffd}\"}"),
            (b"exit", r#"{"type":"quit"}"#),
            (b"//slash", r#"{"type":"say","text":"/slash"}"#),
            (b"/me waves", r#"{"type":"say","text":"waves","action":true}"#),
            (b"/me", "invalid: usage: /me ACTION"),
            (b"/msg bob hi  there", r#"{"type":"msg","to":"bob","text":"hi  there"}"#),
            (b"/msg #3 hi", r#"{"type":"msg","to":3,"text":"hi"}"#),
            (b"/msg #x hi", "invalid: #x is not a connection number"),
            (b"/msg bob", "invalid: usage: /msg NICK TEXT"),
            (b"/nick Alice", r#"{"type":"nick","nick":"Alice"}"#),
            (b"/nick", "invalid: usage: /nick NAME"),
            (
                b"/nick 9x",
                "invalid: a nick must start with a letter or one of _[]\\`^{|}",
            ),
            (b"/join #Rust", r#"{"type":"join","room":"rust"}"#),
            (b"/part", r#"{"type":"part"}"#),
            (b"/part rust", r#"{"type":"part","room":"rust"}"#),
            (b"/topic", r#"{"type":"topic"}"#),
            (
                b"/topic all about crabs",
                r#"{"type":"topic","topic":"all about crabs"}"#,
            ),
            (b"/who", r#"{"type":"who"}"#),
            (b"/rooms", r#"{"type":"rooms"}"#),
            (b"/quit off to bed", r#"{"type":"quit","reason":"off to bed"}"#),
            (b"/kick #2 spam", r#"{"type":"kick","target":2,"reason":"spam"}"#),
            (b"/kick bob", r#"{"type":"kick","target":"bob"}"#),
            (b"/frob", "invalid: unknown command /frob; /help lists the commands"),
            (b"/nick a b", "invalid: usage: /nick NAME"),
            (b"/join #bad room!", "invalid: usage: /join ROOM"),
            (b"/part a b", "invalid: usage: /part [ROOM]"),
            (b"/who a b", r#"{"type":"who","room":"a","after":"b"}"#),
            (b"/who a b c", "invalid: usage: /who [ROOM [AFTER]]"),
            (b"/names", r#"{"type":"who"}"#),
            (b"/list", r#"{"type":"rooms"}"#),
            (b"/rooms now", r#"{"type":"rooms","after":"now"}"#),
            (b"/rooms a b", "invalid: usage: /rooms [AFTER]"),
            (b"/ping", r#"{"type":"ping"}"#),
            (b"/query bob", &format!("invalid: {QUERY_HERE}")),
            (b"/query bob hi", r#"{"type":"msg","to":"bob","text":"hi"}"#),
            (b"\x0c/topic crabs", r#"{"type":"topic","topic":"crabs"}"#),
            (b"\x1b[A\x1b[D\x1bOPhi\x07", r#"{"type":"say","text":"hi\u0007"}"#),
            (b"\x00\x0c", "nothing"),
            (b"a\tb\r", r#"{"type":"say","text":"a\tb"}"#),
            (b"/history", r#"{"type":"history","limit":20}"#),
            (b"/history 5", r#"{"type":"history","limit":5}"#),
            (b"/history x", "invalid: usage: /history [N]"),
            (b"/search crab  cakes", r#"{"type":"search","query":"crab  cakes"}"#),
            (b"/search", "invalid: usage: /search WORDS"),
            (b"/register hunter22", r#"{"type":"register","password":"hunter22"}"#),
            (
                b"/register correct horse",
                r#"{"type":"register","password":"correct horse"}"#,
            ),
            (b"/register", "invalid: usage: /register PASSWORD"),
            (
                b"/login ann hunter22",
                r#"{"type":"login","nick":"ann","password":"hunter22"}"#,
            ),
            (b"/login hunter22", "invalid: usage: /login NICK PASSWORD"),
            (
                b"/login ann correct horse",
                r#"{"type":"login","nick":"ann","password":"correct horse"}"#,
            ),
            (b"/passwd n3w-secret", r#"{"type":"passwd","password":"n3w-secret"}"#),
            (
                b"/unregister hunter22",
                r#"{"type":"unregister","password":"hunter22"}"#,
            ),
            (b"/ban bob", r#"{"type":"ban","target":"bob"}"#),
            (
                b"/ban bob 2h spam",
                r#"{"type":"ban","target":"bob","duration":7200,"reason":"spam"}"#,
            ),
            (
                b"/ban 10.0.0.7 spam and more",
                r#"{"type":"ban","target":"10.0.0.7","reason":"spam and more"}"#,
            ),
            (b"/ban", "invalid: usage: /ban NICK|IP [DURATION] [REASON]"),
            (b"/unban bob", r#"{"type":"unban","target":"bob"}"#),
            (b"/bans", r#"{"type":"bans"}"#),
        ];
        for (input, want) in cases {
            assert_eq!(parsed(input), *want, "input {:?}", String::from_utf8_lossy(input));
        }
    }

    fn message(room: Option<&str>, to: Option<&str>, text: &str, action: bool) -> Event {
        Event::Message(Message {
            id: MessageId(1),
            ts: 0,
            from: Nick::parse("ann").unwrap(),
            account: None,
            room: room.map(|r| RoomName::parse(r).unwrap()),
            to: to.map(|n| Nick::parse(n).unwrap()),
            text: text.to_owned(),
            action,
        })
    }

    #[test]
    fn rendered_messages() {
        let cases = [
            (message(Some("lobby"), None, "hi", false), Focus::Current, "<ann> hi\n"),
            (
                message(Some("rust"), None, "hi", false),
                Focus::Elsewhere,
                "[rust] <ann> hi\n",
            ),
            (
                message(Some("lobby"), None, "a\nb\r\nc", false),
                Focus::Current,
                "<ann> a\n<ann> b\n<ann> c\n",
            ),
            (
                message(Some("lobby"), None, "waves", true),
                Focus::Current,
                "* ann waves\n",
            ),
            (
                message(None, Some("bob"), "psst", false),
                Focus::Elsewhere,
                "*ann* psst\n",
            ),
            (
                message(Some("lobby"), None, "\x1b[2Jgone\x07", false),
                Focus::Current,
                "<ann> ␛[2Jgone␇\n",
            ),
            (
                message(Some("lobby"), None, "a\u{202e}b\u{9b}c", false),
                Focus::Current,
                "<ann> a\u{fffd}b\u{fffd}c\n",
            ),
        ];
        for (event, focus, want) in cases {
            assert_eq!(render(&event, focus), want.as_bytes(), "{event:?}");
        }
    }

    #[test]
    fn rendered_notices() {
        let ann = Nick::parse("ann").unwrap();
        let lobby = RoomName::lobby();
        let cases = [
            (
                Event::Joined {
                    room: lobby.clone(),
                    nick: ann.clone(),
                    account: None,
                },
                "-- ann joined lobby\n",
            ),
            (
                Event::Renamed {
                    from: ann.clone(),
                    to: Nick::parse("bo").unwrap(),
                },
                "-- ann is now known as bo\n",
            ),
            (
                Event::Quit {
                    nick: ann.clone(),
                    reason: "bed".into(),
                },
                "-- ann quit (bed)\n",
            ),
            (
                Event::Members {
                    room: lobby.clone(),
                    nicks: vec![ann.clone()],
                    more: false,
                    id: None,
                },
                "-- lobby has 1 member: ann\n",
            ),
            (
                Event::Members {
                    room: lobby.clone(),
                    nicks: vec![ann.clone(), Nick::parse("bo").unwrap()],
                    more: false,
                    id: None,
                },
                "-- lobby has 2 members: ann bo\n",
            ),
            (
                Event::Members {
                    room: lobby.clone(),
                    nicks: vec![ann.clone(), Nick::parse("bo").unwrap()],
                    more: true,
                    id: None,
                },
                "-- lobby has more than 2 members: ann bo (more: /who lobby bo)\n",
            ),
            (
                Event::Rooms {
                    rooms: vec![RoomSummary {
                        room: lobby.clone(),
                        members: 1,
                        topic: None,
                    }],
                    more: false,
                },
                "-- 1 room:\n--   lobby (1)\n",
            ),
            (
                Event::Rooms {
                    rooms: vec![
                        RoomSummary {
                            room: lobby.clone(),
                            members: 3,
                            topic: None,
                        },
                        RoomSummary {
                            room: RoomName::parse("rust").unwrap(),
                            members: 1,
                            topic: Some("crabs".into()),
                        },
                    ],
                    more: true,
                },
                "-- 2 rooms (more follow: /rooms rust):\n--   lobby (3)\n--   rust (1): crabs\n",
            ),
            (
                Event::Quit {
                    nick: ann.clone(),
                    reason: format!("{}-- server: the server is shutting down\u{200f}", " ".repeat(150)),
                },
                "-- ann quit (        -- server: the server is shutting down\u{fffd})\n",
            ),
            (
                Event::Topic {
                    room: lobby.clone(),
                    topic: None,
                    by: None,
                },
                "-- lobby has no topic\n",
            ),
            (Event::Bye { reason: "x".into() }, "-- bye: x\n"),
            (Event::Help, "-- commands:\n--   TEXT                  say TEXT"),
            (
                Event::Echo(Message {
                    id: MessageId(1),
                    ts: 0,
                    from: ann.clone(),
                    account: None,
                    room: None,
                    to: Some(Nick::parse("bob").unwrap()),
                    text: "psst\nthere".to_owned(),
                    action: false,
                }),
                "-> *bob* psst\n-> *bob* there\n",
            ),
            (Event::Pong, "-- pong\n"),
            (
                Event::Ack {
                    id: crate::protocol::RequestId::Number(1),
                    message: None,
                    ts: None,
                },
                "",
            ),
        ];
        for (event, want) in cases {
            let got = render(&event, Focus::Current);
            match event {
                Event::Help => assert!(got.starts_with(want.as_bytes()), "{got:?}"),
                _ => assert_eq!(got, want.as_bytes(), "{event:?}"),
            }
        }
    }

    #[test]
    fn a_message_renders_within_its_bound() {
        let lines_not_shown = |got: &str| {
            got.lines()
                .last()
                .and_then(|l| l.strip_prefix("-- ("))
                .and_then(|l| l.split(' ').next())
                .and_then(|n| n.parse::<usize>().ok())
        };
        let million_newlines = "\n".repeat(1 << 20);
        let cases: [(&str, Focus, Option<&str>); 4] = [
            (
                "one\ntwo\r\nthree",
                Focus::Elsewhere,
                Some("[rust] <ann> one\n[rust] <ann> two\n[rust] <ann> three\n"),
            ),
            (&million_newlines, Focus::Elsewhere, None),
            (&million_newlines, Focus::Current, None),
            ("\n", Focus::Elsewhere, Some("[rust] <ann> \n[rust] <ann> \n")),
        ];
        for (text, focus, want) in cases {
            let got = render(&message(Some("rust"), None, text, false), focus);
            let got = std::str::from_utf8(&got).unwrap();
            let bound = text.len() * TEXT_EXPANSION + PLAIN_MESSAGE_SLACK_BYTES;
            assert!(
                got.len() <= bound,
                "{} bytes rendered for {} of text",
                got.len(),
                text.len()
            );
            match want {
                Some(want) => assert_eq!(got, want),
                None => {
                    let shown = got.lines().filter(|l| l.ends_with("<ann> ")).count();
                    let not_shown = lines_not_shown(got).expect("a notice of the lines not shown");
                    assert_eq!(
                        shown + not_shown,
                        text.split('\n').count(),
                        "{}",
                        got.lines().last().unwrap()
                    );
                }
            }
        }
        let echo = Event::Echo(Message {
            id: MessageId(1),
            ts: 0,
            from: Nick::parse("ann").unwrap(),
            account: None,
            room: None,
            to: Some(Nick::parse("bob").unwrap()),
            text: million_newlines.clone(),
            action: false,
        });
        let got = render(&echo, Focus::Current);
        assert!(got.len() <= million_newlines.len() * TEXT_EXPANSION + PLAIN_MESSAGE_SLACK_BYTES);
        assert!(got.ends_with(b" more lines of this message are not shown here)\n"));
    }

    #[test]
    fn help_shows_the_pages_of_who_and_rooms_aligned_within_80_columns() {
        let shown = String::from_utf8(render(&Event::Help, Focus::Current).to_vec()).unwrap();
        for wanted in [
            "--   /who [ROOM [AFTER]]   list who is in ROOM",
            "--                         AFTER: only those after that nick (the next page)",
            "--   /rooms [AFTER]        list the rooms",
        ] {
            assert!(shown.contains(wanted), "{wanted:?} missing from {shown}");
        }
        for line in shown.lines() {
            assert!(line.chars().count() <= 80, "{line:?}");
        }
    }
}
