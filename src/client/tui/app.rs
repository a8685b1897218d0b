//! The full-screen client's state and its one entry point, `App::update(Msg) -> Vec<Action>`: keys,
//! pastes, server events and connection changes in; requests to send out. No I/O.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEvent, MouseEventKind};

use super::editor::{Edit, Editor};
use super::help::{HELP, START_HINT};
use super::paging::PAGE_MESSAGES;
use super::window::{Delivery, Entry, Kind, Window};
use crate::client::Welcome;
use crate::names::{Nick, RoomName};
use crate::protocol::{Command, ErrorCode, Event, Message, Millis, Password, Recipient, Request, RequestId};
use crate::terminal_text::sanitize;
use crate::transport::text;

mod history;
mod search;

/// A pasted or typed message longer than this many lines asks for confirmation before it is sent.
pub const CONFIRM_LINES: usize = 5;
/// The most requests kept for resending after a reconnect.
pub const MAX_PENDING: usize = 1000;
/// Rows the mouse wheel scrolls.
pub const WHEEL_ROWS: usize = 3;

/// Everything that can happen to the client: one closed set.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Key(KeyEvent),
    Paste(String),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Server(Event),
    Connected(Welcome),
    Disconnected {
        reason: String,
        retry_in: Duration,
    },
    /// SIGTERM, or the terminal went away.
    Terminate,
}

/// What the client must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Send(Request),
    Quit,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LinkState {
    Connecting,
    Connected { server: String },
    Disconnected { reason: String, retry_in: Duration },
}

pub struct App {
    pub me: Nick,
    pub windows: Vec<Window>,
    pub active: usize,
    pub editor: Editor,
    pub link: LinkState,
    /// A long message waiting for y/n.
    pub confirm: Option<String>,
    /// Terminal size, for paging.
    pub size: (u16, u16),
    /// Requests not yet answered, in order, to resend after a reconnect.
    pending: Vec<(u64, Command)>,
    last_id: u64,
    /// The room the user asked to join, to focus when the server confirms.
    focus_on_join: Option<RoomName>,
    /// The time of the message being handled, for stamping notices and one's own messages.
    now: Millis,
    max_message: usize,
    /// The nick every connection's hello asks for: the one the client was started with.
    hello_nick: Nick,
    /// The account this connection is logged in to, which direct messages' history needs.
    account: Option<Nick>,
    /// The account and password of the last `/login` or `/register` that succeeded: every new
    /// connection logs in with them again, or a reconnect would come back as a guest.
    credentials: Option<(Nick, Password)>,
    /// `me` is a nick the server gave (`user<N>`, `guest<N>`) in place of the one asked for, not one
    /// the user chose: a reconnect does not ask for it back, since the server gives such nicks only.
    nick_given: bool,
}

/// Commands the client handles itself or completes, for Tab.
const COMMANDS: [&str; 22] = [
    "/me",
    "/msg",
    "/query",
    "/nick",
    "/join",
    "/part",
    "/close",
    "/topic",
    "/who",
    "/rooms",
    "/help",
    "/quit",
    "/ping",
    "/clear",
    "/kick",
    "/names",
    "/search",
    "/history",
    "/register",
    "/login",
    "/passwd",
    "/unregister",
];

/// Commands that carry a password: kept out of the input history that Up recalls.
const SECRET_COMMANDS: [&str; 5] = ["/register", "/login", "/identify", "/passwd", "/unregister"];

impl App {
    pub fn new(nick: Nick) -> App {
        App {
            hello_nick: nick.clone(),
            me: nick,
            windows: vec![Window::new(Kind::Mentions)],
            active: 0,
            editor: Editor::default(),
            link: LinkState::Connecting,
            confirm: None,
            size: (80, 24),
            pending: Vec::new(),
            last_id: 0,
            focus_on_join: None,
            now: 0,
            max_message: usize::MAX,
            account: None,
            credentials: None,
            nick_given: false,
        }
    }

    pub fn active(&self) -> &Window {
        &self.windows[self.active]
    }

    /// Handles one message at time `now` (milliseconds since the epoch, for stamping notices).
    pub fn update(&mut self, msg: Msg, now: Millis) -> Vec<Action> {
        self.now = now;
        let mut out = Vec::new();
        match msg {
            Msg::Key(key) if key.kind != KeyEventKind::Release => self.key(key, &mut out),
            Msg::Key(_) => {}
            Msg::Paste(text) => self.editor.insert_str(&text.replace("\r\n", "\n").replace('\r', "\n")),
            Msg::Mouse(mouse) => self.mouse(mouse, &mut out),
            Msg::Resize(width, height) => self.size = (width, height),
            Msg::Server(event) => self.event(event, &mut out),
            Msg::Connected(welcome) => self.connected(welcome, &mut out),
            Msg::Disconnected { reason, retry_in } => {
                let text = format!("disconnected: {reason}; reconnecting in {}s", retry_in.as_secs());
                if self.link != LinkState::Connecting || self.windows.len() > 1 {
                    self.notice_active(&text, true);
                }
                self.link = LinkState::Disconnected { reason, retry_in };
            }
            Msg::Terminate => out.push(Action::Quit),
        }
        self.fill_direct_windows(&mut out);
        out
    }

    fn key(&mut self, key: KeyEvent, out: &mut Vec<Action>) {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        if let Some(text) = self.confirm.take() {
            match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => self.send_text(text, out),
                _ => self.editor.insert_str(&text),
            }
            return;
        }
        match key.code {
            KeyCode::Char('c') | KeyCode::Char('d') if ctrl => {
                self.post(Command::Quit { reason: None }, out);
                out.push(Action::Quit);
            }
            KeyCode::Char(digit @ '0'..='9') if alt => self.switch(digit as usize - '0' as usize),
            KeyCode::Char('n') if ctrl => self.switch((self.active + 1) % self.windows.len()),
            KeyCode::Char('p') if ctrl => self.switch((self.active + self.windows.len() - 1) % self.windows.len()),
            KeyCode::Char('a') if ctrl => self.editor.apply(Edit::Home),
            KeyCode::Char('e') if ctrl => self.editor.apply(Edit::End),
            KeyCode::Char('w') if ctrl => self.editor.apply(Edit::KillWord),
            KeyCode::Char('u') if ctrl => self.editor.apply(Edit::KillToStart),
            KeyCode::Char('k') if ctrl => self.editor.apply(Edit::KillToEnd),
            KeyCode::Char('l') if ctrl => {}
            KeyCode::Char(c) if !ctrl => self.editor.apply(Edit::Insert(c)),
            KeyCode::Enter if alt || key.modifiers.contains(KeyModifiers::SHIFT) => {
                self.editor.apply(Edit::Insert('\n'))
            }
            KeyCode::Enter => self.submit(out),
            KeyCode::Backspace => self.editor.apply(Edit::Backspace),
            KeyCode::Delete => self.editor.apply(Edit::Delete),
            KeyCode::Left => self.editor.apply(Edit::Left),
            KeyCode::Right => self.editor.apply(Edit::Right),
            KeyCode::Home => self.editor.apply(Edit::Home),
            KeyCode::End => self.editor.apply(Edit::End),
            KeyCode::Up => self.editor.apply(Edit::HistoryUp),
            KeyCode::Down => self.editor.apply(Edit::HistoryDown),
            KeyCode::PageUp => self.scroll_up(self.page(), out),
            KeyCode::PageDown => self.scroll_down(self.page()),
            KeyCode::Tab => self.complete(),
            _ => {}
        }
    }

    fn mouse(&mut self, mouse: MouseEvent, out: &mut Vec<Action>) {
        match mouse.kind {
            MouseEventKind::ScrollUp => self.scroll_up(WHEEL_ROWS, out),
            MouseEventKind::ScrollDown => self.scroll_down(WHEEL_ROWS),
            _ => {}
        }
    }

    /// The rows the message area has: the terminal less the bar, status and input lines.
    pub fn page(&self) -> usize {
        usize::from(self.size.1.saturating_sub(3)).max(1)
    }

    /// Scrolls up; at the top, the page before the oldest line is asked for. It goes in above what is
    /// shown, so the view stays where it is.
    fn scroll_up(&mut self, rows: usize, out: &mut Vec<Action>) {
        let width = super::view::message_width(self);
        let total = super::view::total_rows(self.active(), width);
        let top = total.saturating_sub(self.page());
        let window = &mut self.windows[self.active];
        window.scroll = (window.scroll + rows).min(top);
        if window.scroll == top {
            self.older_page(self.active, PAGE_MESSAGES, out);
        }
    }

    fn scroll_down(&mut self, rows: usize) {
        let window = &mut self.windows[self.active];
        window.scroll = window.scroll.saturating_sub(rows);
        if window.scroll == 0 {
            window.unseen_below = 0;
        }
    }

    fn switch(&mut self, index: usize) {
        if index < self.windows.len() {
            self.active = index;
            self.windows[index].shown();
        }
    }

    fn complete(&mut self) {
        let text = self.editor.text();
        let before_cursor = text[..self.byte_cursor(&text)].rsplit(' ').next().unwrap_or("");
        // While Tab cycles, the word being completed is the one typed, not the last completion.
        let word_start = self.editor.completing().unwrap_or(before_cursor);
        let candidates: Vec<String> = if word_start.starts_with('/') {
            COMMANDS.iter().map(|c| c.to_string()).collect()
        } else {
            let mut nicks: Vec<String> = self.active().members.iter().map(Nick::to_string).collect();
            nicks.extend(self.windows.iter().filter_map(|w| match &w.kind {
                Kind::Direct(nick) => Some(nick.to_string()),
                _ => None,
            }));
            nicks.retain(|n| *n != self.me.as_str());
            nicks
        };
        self.editor.complete(&candidates);
    }

    fn byte_cursor(&self, text: &str) -> usize {
        text.char_indices()
            .nth(self.editor.cursor())
            .map_or(text.len(), |(i, _)| i)
    }

    fn submit(&mut self, out: &mut Vec<Action>) {
        let typed = self.editor.text();
        let secret = SECRET_COMMANDS.contains(&typed.split(' ').next().unwrap_or(""));
        let text = if secret {
            self.editor.take_unremembered()
        } else {
            self.editor.take()
        };
        if text.trim().is_empty() {
            return;
        }
        if text.lines().count() > CONFIRM_LINES {
            self.confirm = Some(text);
            return;
        }
        self.send_text(text, out);
    }

    /// A line the user entered: a command, or a message to the active window.
    fn send_text(&mut self, text: String, out: &mut Vec<Action>) {
        if text.len() > self.max_message {
            let max = self.max_message;
            self.notice_active(
                &format!("not sent: the server takes messages of at most {max} bytes"),
                true,
            );
            return;
        }
        if text.starts_with('/') && !text.starts_with("//") {
            return self.command(&text, out);
        }
        let text = text.strip_prefix('/').map(str::to_owned).unwrap_or(text);
        match self.active().kind.clone() {
            Kind::Room(room) => self.say(
                Command::Say {
                    room: Some(room),
                    text,
                    action: false,
                },
                out,
            ),
            Kind::Direct(nick) => self.say(
                Command::Msg {
                    to: Recipient::Nick(nick),
                    text,
                },
                out,
            ),
            Kind::Mentions => {
                self.notice_active("this window collects mentions; switch to a room to talk (Ctrl-N)", true)
            }
            Kind::Search(_) => self.notice_active(
                "this window lists search results; switch to a room to talk (Ctrl-N)",
                true,
            ),
        }
    }

    fn command(&mut self, line: &str, out: &mut Vec<Action>) {
        let (name, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        match name {
            "/help" => self.help(),
            "/clear" => self.windows[self.active].entries.clear(),
            "/query" => match Nick::parse(rest) {
                Ok(nick) => self.active = self.window_for(Kind::Direct(nick)),
                Err(e) => self.notice_active(&e.to_string(), true),
            },
            "/close" => match self.active().kind.clone() {
                Kind::Room(room) => self.post(Command::Part { room: Some(room) }, out),
                Kind::Direct(_) | Kind::Search(_) => self.close(self.active),
                Kind::Mentions => {}
            },
            _ => match text::parse(line.as_bytes()) {
                text::Typed::Request(request) => self.request(request.command, out),
                text::Typed::Nothing => {}
                text::Typed::Invalid(why) => self.notice_active(&why, true),
            },
        }
    }

    /// A parsed command, completed with the active window where it names no room.
    fn request(&mut self, command: Command, out: &mut Vec<Action>) {
        let here = self.active().room().cloned();
        match command {
            Command::Say {
                room: None,
                text,
                action,
            } => match self.active().kind.clone() {
                Kind::Direct(nick) if !action => self.say(
                    Command::Msg {
                        to: Recipient::Nick(nick),
                        text,
                    },
                    out,
                ),
                _ => self.say(
                    Command::Say {
                        room: here,
                        text,
                        action,
                    },
                    out,
                ),
            },
            Command::Msg {
                to: Recipient::Nick(nick),
                text,
            } => {
                self.active = self.window_for(Kind::Direct(nick.clone()));
                self.say(
                    Command::Msg {
                        to: Recipient::Nick(nick),
                        text,
                    },
                    out,
                );
            }
            Command::Join { room } => {
                self.focus_on_join = Some(room.clone());
                self.post(Command::Join { room }, out);
            }
            Command::Part { room } => self.post(Command::Part { room: room.or(here) }, out),
            Command::Topic { room, topic } => self.post(
                Command::Topic {
                    room: room.or(here),
                    topic,
                },
                out,
            ),
            Command::Who { room, after } => self.post(
                Command::Who {
                    room: room.or(here),
                    after,
                },
                out,
            ),
            Command::Quit { reason } => {
                self.post(Command::Quit { reason }, out);
                out.push(Action::Quit);
            }
            Command::Search { query, room, limit } => self.search(query, room, limit, out),
            // A page on its way already is what was asked for.
            Command::History { .. } if self.active().paging.asked.is_some() => {}
            Command::History { limit, .. } => {
                if !self.older_page(self.active, limit.unwrap_or(PAGE_MESSAGES), out) {
                    self.notice_active("no older messages to fetch here", false);
                }
            }
            other => self.post(other, out),
        }
    }

    /// Sends a message and shows it at once, marked until the server acknowledges it.
    fn say(&mut self, command: Command, out: &mut Vec<Action>) {
        let (window, text, action) = match &command {
            Command::Say {
                room: Some(room),
                text,
                action,
            } => (Kind::Room(room.clone()), text.clone(), *action),
            Command::Say { room: None, .. } => {
                return self.notice_active("you are in no room here; /join one first", true);
            }
            Command::Msg {
                to: Recipient::Nick(nick),
                text,
            } => (Kind::Direct(nick.clone()), text.clone(), false),
            _ => return self.post(command, out),
        };
        let id = self.send(command, out);
        let delivery = if matches!(self.link, LinkState::Connected { .. }) {
            Delivery::Sent
        } else {
            Delivery::Queued
        };
        let index = self.window_for(window);
        let from = self.me.to_string();
        for line in text.split('\n') {
            let entry = Entry::Message {
                id: None,
                ts: self.now,
                from: from.clone(),
                text: sanitize(line),
                action,
                mention: false,
                mine: Some((id, delivery)),
            };
            self.windows[index].push(entry, true);
        }
    }

    /// Sends `command` and forgets the id: its answer is shown as it comes.
    fn post(&mut self, command: Command, out: &mut Vec<Action>) {
        self.send(command, out);
    }

    /// Sends `command` with a fresh id if connected; keeps it for resending until answered.
    fn send(&mut self, command: Command, out: &mut Vec<Action>) -> u64 {
        self.last_id += 1;
        let id = self.last_id;
        if !matches!(command, Command::Quit { .. }) {
            if self.pending.len() >= MAX_PENDING {
                self.notice_active(
                    "too many requests are waiting for the server; the oldest was dropped",
                    true,
                );
                self.pending.remove(0);
            }
            self.pending.push((id, command.clone()));
        }
        if matches!(self.link, LinkState::Connected { .. }) {
            out.push(Action::Send(Request {
                id: Some(RequestId::Number(id)),
                command,
            }));
        }
        id
    }

    fn connected(&mut self, welcome: Welcome, out: &mut Vec<Action>) {
        let first = self.link == LinkState::Connecting;
        self.link = LinkState::Connected {
            server: welcome.server.clone(),
        };
        self.max_message = welcome.max_message;
        let wanted = self.me.clone();
        self.me = welcome.nick.clone();
        let ask_back = !self.nick_given && welcome.nick != wanted;
        self.nick_given = welcome.nick != self.hello_nick;
        self.account = None;
        self.forget_pages();
        let unanswered = self.pending.clone();
        if first {
            self.landed(&welcome, &wanted);
        } else {
            // The server may have restarted: what it said of the rooms before is told again on rejoining.
            self.windows.iter_mut().for_each(|w| w.topic = None);
            let logging_in_as = self.log_in_again(out);
            let ask_back = ask_back && logging_in_as.as_ref() != Some(&wanted);
            self.rejoin(&welcome, ask_back.then_some(wanted), out);
        }
        for (id, command) in unanswered {
            self.windows.iter_mut().for_each(|w| {
                w.mark(id, Delivery::Sent);
            });
            out.push(Action::Send(Request {
                id: Some(RequestId::Number(id)),
                command,
            }));
        }
    }

    /// The first welcome: open the landing room's window with the start hint, and say so there if the
    /// nick asked for was taken.
    fn landed(&mut self, welcome: &Welcome, wanted: &Nick) {
        let Some(room) = welcome.room.clone() else {
            return self.notice_active(START_HINT, false);
        };
        let index = self.window_for(Kind::Room(room));
        self.switch(index);
        self.notice(index, START_HINT, false);
        if welcome.nick != *wanted {
            let text = format!(
                "the nick {wanted} is taken: you are {}; /nick NAME picks another",
                welcome.nick
            );
            self.notice(index, &text, true);
        }
    }

    /// Keeps what an account command that just succeeded leaves one logged in with.
    fn remember_credentials(&mut self, id: u64) {
        let Some((_, command)) = self.pending.iter().find(|(pending, _)| *pending == id) else {
            return;
        };
        match command {
            Command::Login { nick, password } => self.credentials = Some((nick.clone(), password.clone())),
            Command::Register { password } => self.credentials = Some((self.me.clone(), password.clone())),
            Command::Passwd { password } => {
                if let Some((_, kept)) = &mut self.credentials {
                    *kept = password.clone();
                }
            }
            Command::Unregister { .. } => self.credentials = None,
            _ => {}
        }
    }

    /// A new connection is a guest until it logs in: log in first, so the nick asked for and the
    /// direct conversations' history are the account's again.
    /// Returns the nick that logging in takes back.
    fn log_in_again(&mut self, out: &mut Vec<Action>) -> Option<Nick> {
        let (nick, password) = self.credentials.clone()?;
        self.post(
            Command::Login {
                nick: nick.clone(),
                password,
            },
            out,
        );
        Some(nick)
    }

    /// After a reconnect: the nick to ask back, the rooms that were open, and not the landing room if
    /// it was not.
    fn rejoin(&mut self, welcome: &Welcome, ask_back: Option<Nick>, out: &mut Vec<Action>) {
        self.notice_active("reconnected", false);
        if let Some(nick) = ask_back {
            self.post(Command::Nick { nick }, out);
        }
        let rooms: Vec<RoomName> = self.windows.iter().filter_map(|w| w.room().cloned()).collect();
        for room in &rooms {
            if Some(room) != welcome.room.as_ref() {
                self.post(Command::Join { room: room.clone() }, out);
            }
        }
        if let Some(landing) = welcome.room.clone().filter(|r| !rooms.contains(r)) {
            self.post(Command::Part { room: Some(landing) }, out);
        }
    }

    fn event(&mut self, event: Event, out: &mut Vec<Action>) {
        match event {
            Event::Message(message) => self.message(message),
            Event::Ack { id, message, .. } => {
                if let (RequestId::Number(request), Some(stored)) = (&id, message) {
                    self.windows.iter_mut().for_each(|w| w.identify(*request, stored));
                }
                self.answered(&id, Delivery::Delivered, None);
            }
            Event::Error {
                id: Some(RequestId::Number(id)),
                code,
                message,
            } if self.page_refused(id, code, &message) => {}
            Event::Error {
                id: Some(id), message, ..
            } => self.answered(&id, Delivery::Failed, Some(message)),
            // Said already where the user looks, on landing.
            Event::Error {
                id: None,
                code: ErrorCode::NickTaken,
                ..
            } => {}
            Event::Error { id: None, message, .. } => self.notice_active(&message, true),
            Event::Joined { room, nick, .. } => self.joined(room, nick, out),
            Event::Parted { room, nick } => self.parted(room, nick),
            Event::Invited { room, by } => {
                self.notice_active(&format!("{by} invites you to {room}: /join {room}"), true)
            }
            Event::Kicked { room, nick, by, reason } => {
                if let Some(index) = self.find(&Kind::Room(room.clone())) {
                    let why = reason.map(|r| format!(": {}", sanitize(&r))).unwrap_or_default();
                    self.notice(index, &format!("{nick} was kicked out of {room} by {by}{why}"), false);
                }
                self.parted(room, nick);
            }
            Event::Renamed { from, to } => self.renamed(from, to),
            Event::Quit { nick, .. } => {
                for window in &mut self.windows {
                    if window.remove_member(&nick) {
                        window.presence(self.now, nick.as_str(), false);
                    }
                }
            }
            Event::Topic { room, topic, by } => {
                let index = self.window_for(Kind::Room(room.clone()));
                let text = match (&topic, by) {
                    (Some(topic), Some(by)) => format!("topic of {room}: {} (set by {by})", sanitize(topic)),
                    (Some(topic), None) => format!("topic of {room}: {}", sanitize(topic)),
                    (None, _) => format!("{room} has no topic"),
                };
                self.windows[index].topic = topic.map(|t| sanitize(&t));
                self.notice(index, &text, false);
            }
            Event::Members { room, nicks, more, .. } => self.members_page(room, nicks, more, out),
            Event::Rooms { rooms, more } => {
                let listed: Vec<String> = rooms.iter().map(|r| format!("{} ({})", r.room, r.members)).collect();
                let follow = match (more, rooms.last()) {
                    (true, Some(last)) => format!("; more follow: /rooms {}", last.room),
                    _ => String::new(),
                };
                self.notice_active(&format!("rooms: {}{follow}", listed.join(", ")), false);
            }
            Event::History {
                room,
                with,
                messages,
                more,
                ..
            } => self.history_page((room, with), messages, more, out),
            Event::Search { query, messages } => self.search_answered(query, messages),
            Event::Account { account, operator } => {
                self.account = account.clone();
                let text = match (account, operator) {
                    (Some(account), true) => format!("logged in to {account} (operator)"),
                    (Some(account), false) => format!("logged in to {account}"),
                    (None, _) => "logged out: the account is gone".to_owned(),
                };
                self.notice_active(&text, false);
            }
            Event::Bans { bans } => {
                let listed: Vec<String> = bans.iter().map(|b| b.target.clone()).collect();
                self.notice_active(&format!("bans: {}", listed.join(", ")), false);
            }
            Event::Notice { text } => self.notice_active(&sanitize(&text), true),
            Event::Help => self.help(),
            Event::Bye { reason } => self.notice_active(&format!("the server closed the connection: {reason}"), true),
            Event::Welcome { .. }
            | Event::Users { .. }
            | Event::Away { .. }
            | Event::Counts { .. }
            | Event::Echo(_)
            | Event::Pong
            | Event::Ping
            | Event::Connected { .. }
            | Event::Disconnected { .. } => {}
        }
    }

    /// A message as it is said: shown at the bottom of its window, never merged by id, since a
    /// restarted server without a store numbers its messages afresh.
    fn message(&mut self, message: Message) {
        let kind = match &message.room {
            Some(room) => Kind::Room(room.clone()),
            None => Kind::Direct(message.from.clone()),
        };
        let index = self.window_for(kind);
        let mention = mentions(&message.text, &self.me);
        let shown = index == self.active;
        for entry in message_entries(&message, mention) {
            if mention {
                let mut copy = entry.clone();
                if let Entry::Message { text, id, .. } = &mut copy {
                    *text = format!("[{}] {text}", self.windows[index].name());
                    *id = None;
                }
                self.windows[0].push(copy, self.active == 0);
            }
            self.windows[index].push(entry, shown);
        }
        if mention && !shown {
            self.windows[index].mentioned = true;
        }
    }

    fn answered(&mut self, id: &RequestId, delivery: Delivery, error: Option<String>) {
        let RequestId::Number(id) = *id else { return };
        if error.is_none() {
            self.remember_credentials(id);
        }
        self.pending.retain(|(pending, _)| *pending != id);
        self.windows
            .iter_mut()
            .for_each(|w| w.pages_asked.retain(|asked| *asked != id));
        let marked = self.windows.iter_mut().any(|w| w.mark(id, delivery));
        if let Some(error) = error {
            let text = if marked {
                format!("not delivered: {error}")
            } else {
                error
            };
            self.notice_active(&text, true);
        }
    }

    /// A page of a room's members: a page this client asked for as the next one adds to the list,
    /// any other replaces it; while more follow the next page is asked for.
    fn members_page(&mut self, room: RoomName, nicks: Vec<Nick>, more: bool, out: &mut Vec<Action>) {
        let answering = self.who_answered(&room);
        let index = self.window_for(Kind::Room(room.clone()));
        let window = &mut self.windows[index];
        let asked_by_app = answering.is_some_and(|id| window.pages_asked.contains(&id));
        if asked_by_app {
            window.pages_asked.retain(|id| Some(*id) != answering);
            if window.page_continuing != answering {
                return;
            }
        } else {
            window.members.clear();
        }
        window.page_continuing = None;
        let last = nicks.last().cloned();
        window.members.extend(nicks);
        if let (true, Some(after)) = (more, last) {
            let room = Some(room);
            let after = Some(after);
            let id = self.send(Command::Who { room, after }, out);
            let window = &mut self.windows[index];
            window.pages_asked.push(id);
            window.page_continuing = Some(id);
        }
    }

    /// The id of the `who` request a page of `room`'s members answers: the oldest unanswered one for
    /// that room, since the server answers a connection's requests in order.
    fn who_answered(&self, room: &RoomName) -> Option<u64> {
        self.pending.iter().find_map(|(id, command)| match command {
            Command::Who { room: asked, .. } if asked.as_ref().is_none_or(|r| r == room) => Some(*id),
            _ => None,
        })
    }

    fn joined(&mut self, room: RoomName, nick: Nick, out: &mut Vec<Action>) {
        let index = self.window_for(Kind::Room(room.clone()));
        if nick == self.me {
            self.post(
                Command::Who {
                    room: Some(room.clone()),
                    after: None,
                },
                out,
            );
            if self.focus_on_join.as_ref() == Some(&room) || self.active == 0 {
                self.focus_on_join = None;
                self.switch(index);
            }
            self.notice(index, &format!("you are in {room}"), false);
            self.catch_up(index, out);
            return;
        }
        self.windows[index].add_member(&nick);
        self.windows[index].presence(self.now, nick.as_str(), true);
    }

    fn parted(&mut self, room: RoomName, nick: Nick) {
        let Some(index) = self.find(&Kind::Room(room)) else {
            return;
        };
        if nick == self.me {
            return self.close(index);
        }
        self.windows[index].remove_member(&nick);
        self.windows[index].presence(self.now, nick.as_str(), false);
    }

    fn renamed(&mut self, from: Nick, to: Nick) {
        if from == self.me {
            self.me = to.clone();
            // The server renames only on request: this nick was chosen.
            self.nick_given = false;
        }
        let text = format!("{from} is now known as {to}");
        for index in 0..self.windows.len() {
            let window = &mut self.windows[index];
            let here = window.remove_member(&from) || window.kind == Kind::Direct(from.clone());
            if here {
                window.add_member(&to);
                if window.kind == Kind::Direct(from.clone()) {
                    window.kind = Kind::Direct(to.clone());
                }
                self.notice(index, &text, false);
            }
        }
    }

    fn close(&mut self, index: usize) {
        if index == 0 {
            return;
        }
        self.windows.remove(index);
        if self.active >= index {
            self.active -= 1;
        }
        self.windows[self.active].shown();
    }

    fn find(&self, kind: &Kind) -> Option<usize> {
        self.windows.iter().position(|w| w.kind == *kind)
    }

    /// The window of `kind`, opened if need be.
    fn window_for(&mut self, kind: Kind) -> usize {
        if let Some(index) = self.find(&kind) {
            return index;
        }
        self.windows.push(Window::new(kind));
        self.windows.len() - 1
    }

    /// The client's own help, aligned with runs of spaces the sanitizer would cut from others' text.
    fn help(&mut self) {
        for line in HELP.lines() {
            let entry = Entry::Notice {
                ts: self.now,
                text: line.to_owned(),
                error: false,
            };
            self.windows[self.active].push(entry, true);
        }
    }

    fn notice_active(&mut self, text: &str, error: bool) {
        self.notice(self.active, text, error);
    }

    fn notice(&mut self, index: usize, text: &str, error: bool) {
        let shown = index == self.active;
        self.windows[index].push(
            Entry::Notice {
                ts: self.now,
                text: sanitize(text),
                error,
            },
            shown,
        );
    }
}

/// A message as its window shows it: an entry for each of its lines.
fn message_entries(message: &Message, mention: bool) -> Vec<Entry> {
    message
        .text
        .split('\n')
        .map(|line| Entry::Message {
            id: Some(message.id),
            ts: message.ts,
            from: message.from.to_string(),
            text: sanitize(line),
            action: message.action,
            mention,
            mine: None,
        })
        .collect()
}

/// Whether `text` names `nick` as a word, in any case.
fn mentions(text: &str, nick: &Nick) -> bool {
    let nick = nick.as_str().to_lowercase();
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
        .any(|word| word == nick)
}

#[cfg(test)]
pub(crate) mod tests;
