//! The hub: who is connected, under which nick, in which rooms, and who gets what. Pure: it does no
//! I/O and reads no clock; it turns one `Input` into the `Effect`s the server must carry out.

mod accounts;
mod asks;
mod bans;
mod history;
mod listing;
mod room;

use core::net::IpAddr;
use std::collections::{BTreeSet, HashMap};

pub use asks::{Answer, Ask, Restored, refusal_of};
pub use bans::{BanList, parse_ban_target};
pub use history::{JOIN_HISTORY_PLAIN, message_of};
pub use listing::{LIST_PAGE_BYTES, NICK_ENTRY_OVERHEAD_BYTES, ROOM_ENTRY_OVERHEAD_BYTES, TEXT_EXPANSION};
pub use room::{MAX_TOPIC_BYTES, Room, Topic};

use crate::names::{ConnId, ConnMap, Nick, NickKey, RoomName};
use crate::protocol::{
    Command, ErrorCode, Event, MAX_USERS_ASKED, Message, MessageId, Millis, PROTOCOL_VERSION, Recipient, Request,
    RequestId, RoomSummary, UserSummary,
};
use crate::store::{Account, AccountId, Author, Destination, NewMessage, RoomRecord};

/// The most rooms one member may be in at once: each costs the server memory, and a writer reads every
/// room it is in.
pub const MAX_ROOMS_PER_MEMBER: usize = 64;
/// The longest quit or kick reason, in bytes; longer ones are cut (at a character's edge).
pub const MAX_REASON_BYTES: usize = MAX_TOPIC_BYTES;

/// What the hub is told.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A connection finished its handshake (plain connections have none).
    Connect(Arrival),
    Request {
        conn: ConnId,
        request: Request,
    },
    /// A frame the transport could not turn into a request.
    Reject {
        conn: ConnId,
        id: Option<RequestId>,
        code: ErrorCode,
        message: String,
    },
    /// What the store answered to an `Ask` made for `conn`'s request `id`.
    Answer {
        conn: ConnId,
        id: Option<RequestId>,
        answer: Answer,
    },
    /// The connection is gone (EOF, reset, or too slow to keep up).
    Disconnect {
        conn: ConnId,
        reason: String,
    },
    Shutdown,
}

/// A new connection as the hub first hears of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrival {
    pub conn: ConnId,
    /// The nick asked for; one is made up when it is missing or taken.
    pub nick: Option<Nick>,
    /// The room to land in; `lobby` when missing.
    pub room: Option<RoomName>,
    /// Where it came from, for the operator's eyes only.
    pub peer: String,
    /// The operator console: may kick and address connections by number.
    pub operator: bool,
    /// Wants a copy of each direct message it sends (`echo`): plain text and the console keep no
    /// record of what they sent.
    pub echo: bool,
    /// The address it came from; the console has none.
    pub ip: Option<IpAddr>,
    /// Whether a password sent on it is safe from the network: TLS, loopback, or the console.
    pub secure: bool,
    /// The account its hello logged in to, or why that failed.
    pub login: Login,
    /// How many of a room's latest messages it is shown when it joins (plain text; structured
    /// clients ask with `history`).
    pub replay: usize,
    /// Whether it lands in a room at once (`room`, or the lobby); an IRC client joins its own.
    pub lands: bool,
}

/// What became of a hello's password, checked before the hub hears of the connection.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Login {
    #[default]
    None,
    Verified(Account),
    Failed(ErrorCode, String),
}

/// What the server must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Queue `event` to each addressee.
    Deliver { event: Event, to: Vec<Addressee> },
    /// Queue `event` to everyone who follows `room`, but `except`. A room's traffic is said once,
    /// however many members it has: who follows it is told by `Follow` and `Unfollow`.
    Broadcast {
        room: RoomName,
        event: Event,
        except: Option<ConnId>,
    },
    /// From now on `conn` gets `room`'s broadcasts, rendered for `focus`; said again when the focus
    /// changes.
    Follow { conn: ConnId, room: RoomName, focus: Focus },
    /// `conn` gets no more of `room`'s broadcasts.
    Unfollow { conn: ConnId, room: RoomName },
    /// Forget the connection: nothing more will be queued to it, so its output can be flushed and closed.
    Close { conn: ConnId },
    /// Store this message; the effects that mention `provisional` (its delivery and the ack) wait
    /// for the commit, which gives its real id, and are dropped or turned into an error if it fails.
    Persist {
        provisional: MessageId,
        sender: ConnId,
        message: NewMessage,
    },
    /// Ask the store, once everything before this effect is delivered; the answer comes back as
    /// `Input::Answer`.
    Ask {
        conn: ConnId,
        id: Option<RequestId>,
        ask: Ask,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addressee {
    pub conn: ConnId,
    pub focus: Focus,
}

/// Whether an event concerns the addressee's current room; plain text names the room only when not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Focus {
    Current,
    Elsewhere,
}

/// Settings the hub needs; they never change while it runs.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// The server's name and version, told in the welcome.
    pub server: String,
    /// The largest message text, in bytes.
    pub max_message: usize,
    /// Rooms with more members than this do not tell everyone of each join, part, quit and rename
    /// (the storm of notices is quadratic); members ask with `who` instead.
    pub presence_limit: usize,
    /// The most rooms there may be at once; `lobby` is always there.
    pub max_rooms: usize,
    /// The operator's nick: nobody else may hold it, whether or not the operator is here.
    pub operator_nick: Nick,
}

#[derive(Debug)]
struct Member {
    nick: Nick,
    /// Joined rooms in join order; the last is the current room.
    rooms: Vec<RoomName>,
    /// The account it is logged in to; boxed, since every member is kept and most have none.
    account: Option<Box<AccountRef>>,
    /// The operator console.
    console: bool,
    ip: Option<IpAddr>,
    secure: bool,
    replay: usize,
    /// Why it is away, while it says it is (at most `MAX_REASON_BYTES`).
    away: Option<Box<str>>,
}

/// An account as a member holds it.
#[derive(Debug, Clone, PartialEq)]
struct AccountRef {
    id: AccountId,
    name: Nick,
    operator: bool,
}

impl From<Account> for AccountRef {
    fn from(account: Account) -> AccountRef {
        AccountRef {
            id: account.id,
            name: account.name,
            operator: account.operator,
        }
    }
}

impl Member {
    fn current(&self) -> Option<&RoomName> {
        self.rooms.last()
    }
}

/// A failed request: the code and a sentence for a person.
pub type Refusal = (ErrorCode, String);

pub struct Hub {
    config: HubConfig,
    members: ConnMap<Member>,
    nicks: HashMap<NickKey, ConnId>,
    rooms: HashMap<RoomName, Room>,
    operators: BTreeSet<ConnId>,
    /// Connections that get an `echo` of their direct messages.
    echoed: BTreeSet<ConnId>,
    /// The account owning each registered nick.
    registered: HashMap<NickKey, AccountId>,
    /// Each registered account's name, for the messages of history pages (the store keeps ids).
    account_names: HashMap<AccountId, Nick>,
    bans: BanList,
    /// The last provisional message id: the store gives the real ones when it commits.
    last_message: u64,
    /// The time of the input being handled.
    now: Millis,
    /// The id of the request being handled, for the asks it makes.
    request_id: Option<RequestId>,
}

impl Hub {
    pub fn new(config: HubConfig) -> Hub {
        Hub {
            config,
            members: ConnMap::default(),
            nicks: HashMap::new(),
            rooms: HashMap::new(),
            operators: BTreeSet::new(),
            echoed: BTreeSet::new(),
            registered: HashMap::new(),
            account_names: HashMap::new(),
            bans: BanList::default(),
            last_message: 0,
            now: 0,
            request_id: None,
        }
    }

    /// Takes back what the store kept: rooms and their topics, who owns which nick, and the bans.
    pub fn restore(&mut self, restored: Restored) {
        for RoomRecord { name, topic } in restored.rooms {
            let room = self.rooms.entry(name).or_default();
            room.kept = true;
            room.topic = topic.map(|text| Topic { text, by: None });
        }
        for account in restored.accounts {
            self.registered.insert(account.name.key(), account.id);
            self.account_names.insert(account.id, account.name);
        }
        for ban in restored.bans {
            self.bans.insert(ban);
        }
    }

    pub fn connections(&self) -> usize {
        self.members.len()
    }

    pub fn handle(&mut self, input: Input, now: Millis) -> Vec<Effect> {
        self.now = now;
        let mut out = Effects::default();
        match input {
            Input::Connect(arrival) => self.connect(arrival, now, &mut out),
            Input::Request { conn, request } => self.request(conn, request, now, &mut out),
            Input::Reject {
                conn,
                id,
                code,
                message,
            } => {
                // The message may quote the frame (an unknown command, say): as long as the frame.
                let message = capped(message);
                out.tell(conn, Event::Error { id, code, message })
            }
            Input::Answer { conn, id, answer } => self.answered(conn, id, answer, &mut out),
            Input::Disconnect { conn, reason } => self.remove(conn, reason, &mut out),
            Input::Shutdown => self.shutdown(&mut out),
        }
        out.0
    }

    fn connect(&mut self, arrival: Arrival, now: Millis, out: &mut Effects) {
        let conn = arrival.conn;
        if self.members.contains_key(&conn) {
            return;
        }
        let (account, login_refusal) = match arrival.login {
            Login::None => (None, None),
            Login::Verified(account) => {
                self.account_names.insert(account.id, account.name.clone());
                (Some(AccountRef::from(account)), None)
            }
            Login::Failed(code, why) => (None, Some((code, why))),
        };
        if let Some(ban) = self.bans.find(arrival.nick.as_ref(), arrival.ip, now) {
            out.tell(conn, Event::Bye { reason: ban.describe() });
            out.0.push(Effect::Close { conn });
            return;
        }
        if let Some(account) = &account {
            self.reclaim(conn, &account.name, out);
        }
        let refusal = match &account {
            Some(_) => None,
            None => login_refusal.or_else(|| {
                let nick = arrival.nick.as_ref()?;
                self.nick_refusal(conn, nick, arrival.operator)
            }),
        };
        let wanted = match &account {
            Some(account) => Some(account.name.clone()),
            None => arrival.nick.clone().filter(|_| refusal.is_none()),
        };
        let nick = wanted.clone().unwrap_or_else(|| self.spare_nick(conn));
        let mut room = arrival.room.unwrap_or_else(RoomName::lobby);
        let room_refusal = self.check_room_creation(&room).err().filter(|_| arrival.lands);
        if room_refusal.is_some() {
            room = RoomName::lobby();
        }
        self.nicks.insert(nick.key(), conn);
        let operator = arrival.operator || account.as_ref().is_some_and(|a| a.operator);
        let member = Member {
            nick: nick.clone(),
            rooms: Vec::new(),
            account: account.clone().map(Box::new),
            console: arrival.operator,
            ip: arrival.ip,
            secure: arrival.secure,
            replay: arrival.replay,
            away: None,
        };
        self.members.insert(conn, member);
        out.tell(conn, self.welcome(conn, &nick, arrival.lands.then_some(&room)));
        if let Some((code, why)) = refusal {
            let message = format!("{why}; you are {nick}");
            out.tell(
                conn,
                Event::Error {
                    id: None,
                    code,
                    message,
                },
            );
        }
        if let Some((code, why)) = room_refusal {
            let message = format!("{why}; you are in {room}");
            out.tell(
                conn,
                Event::Error {
                    id: None,
                    code,
                    message,
                },
            );
        }
        let connected = Event::Connected {
            conn,
            nick: nick.clone(),
            peer: arrival.peer,
        };
        out.deliver(connected, self.operators.iter().map(|&c| elsewhere(c)).collect());
        if let Some(account) = &account {
            out.tell(conn, account.event());
        }
        if operator {
            self.operators.insert(conn);
        }
        if arrival.echo {
            self.echoed.insert(conn);
        }
        if arrival.lands {
            self.enter(conn, room, out);
        }
    }

    /// Why an arrival may not have the nick it asks for, if it may not: what `connect` would answer
    /// by giving it another, for clients that would rather choose again (IRC). A verified login
    /// takes its account's nick back whoever holds it.
    pub fn arrival_refusal(&self, arrival: &Arrival) -> Option<Refusal> {
        if matches!(arrival.login, Login::Verified(_)) {
            return None;
        }
        let nick = arrival.nick.as_ref()?;
        self.nick_refusal(arrival.conn, nick, arrival.operator)
    }

    fn welcome(&self, conn: ConnId, nick: &Nick, room: Option<&RoomName>) -> Event {
        Event::Welcome {
            version: PROTOCOL_VERSION,
            server: self.config.server.clone(),
            nick: nick.clone(),
            conn,
            room: room.cloned(),
            max_message: self.config.max_message,
        }
    }

    /// Why `conn` may not have `nick`, if it may not: someone has it, it is the operator's, or it is
    /// of the shape the server gives guests (so nobody can make the next arrival's nick taken).
    fn nick_refusal(&self, conn: ConnId, nick: &Nick, operator: bool) -> Option<Refusal> {
        if self.nicks.get(&nick.key()).is_some_and(|&owner| owner != conn) {
            return Some((ErrorCode::NickTaken, format!("the nick {nick} is taken")));
        }
        if nick.key() == self.config.operator_nick.key() && !operator {
            return Some((ErrorCode::NickTaken, format!("the nick {nick} is the operator's")));
        }
        if nick.is_guest_shaped() && self.members.get(&conn).is_none_or(|m| m.nick.key() != nick.key()) {
            let why = format!("nicks like {nick} are given by the server to those who ask for none");
            return Some((ErrorCode::NickTaken, why));
        }
        let own_account = self.members.get(&conn).and_then(|m| m.account.as_ref()).map(|a| a.id);
        if let Some(&owner) = self.registered.get(&nick.key())
            && Some(owner) != own_account
        {
            let why = format!("the nick {nick} is registered; /login {nick} PASSWORD to use it");
            return Some((ErrorCode::NickTaken, why));
        }
        if let Some(ban) = self.bans.find(Some(nick), None, self.now) {
            return Some((
                ErrorCode::Banned,
                format!("the nick {nick} is banned ({})", ban.describe()),
            ));
        }
        None
    }

    /// `user<N>` after the connection number, or the first free `guest<K>` if someone took that.
    fn spare_nick(&self, conn: ConnId) -> Nick {
        let candidates = std::iter::once(format!("user{}", conn.0)).chain((1..).map(|k: u64| format!("guest{k}")));
        candidates
            .filter_map(|text| Nick::parse(&text).ok())
            .find(|nick| !self.nicks.contains_key(&nick.key()))
            .expect("an unbounded list of nicks has a free one")
    }

    fn request(&mut self, conn: ConnId, request: Request, now: Millis, out: &mut Effects) {
        if !self.members.contains_key(&conn) {
            return;
        }
        let Request { id, command } = request;
        self.request_id.clone_from(&id);
        match self.command(conn, command, now, out) {
            Ok(Done::Answered(message)) => {
                if let Some(id) = id {
                    let ts = message.map(|_| now);
                    out.tell(conn, Event::Ack { id, message, ts });
                }
            }
            Ok(Done::Gone | Done::Asked) => {}
            Err((code, message)) => out.tell(conn, Event::Error { id, code, message }),
        }
    }

    fn command(&mut self, conn: ConnId, command: Command, now: Millis, out: &mut Effects) -> Result<Done, Refusal> {
        match command {
            Command::Say { room, text, action } => self.say(conn, room, text, action, now, out),
            Command::Msg { to, text } => self.direct(conn, to, text, now, out),
            Command::Nick { nick } => self.rename(conn, nick, out).map(|()| Done::Answered(None)),
            Command::Join { room } => {
                self.check_room_count(conn, &room)?;
                self.check_room_creation(&room)?;
                self.enter(conn, room, out);
                Ok(Done::Answered(None))
            }
            Command::Part { room } => self.part(conn, room, out).map(|()| Done::Answered(None)),
            Command::Topic { room, topic } => self.topic(conn, room, topic, out),
            Command::Who { room, after } => self.who(conn, room, after, out).map(|()| Done::Answered(None)),
            Command::Users { nicks } => self.users(conn, nicks, out).map(|()| Done::Answered(None)),
            Command::Away { text } => {
                self.set_away(conn, text, out);
                Ok(Done::Answered(None))
            }
            Command::Counts => {
                let (users, rooms) = (self.members.len(), self.rooms.len());
                out.tell(conn, Event::Counts { users, rooms });
                Ok(Done::Answered(None))
            }
            Command::Rooms { after } => {
                out.tell(conn, self.room_list(after.as_ref()));
                Ok(Done::Answered(None))
            }
            Command::Help => {
                out.tell(conn, Event::Help);
                Ok(Done::Answered(None))
            }
            Command::Pong => Ok(Done::Answered(None)),
            Command::Ping => {
                out.tell(conn, Event::Pong);
                Ok(Done::Answered(None))
            }
            Command::Invite { nick, room } => self.invite(conn, nick, room, out).map(|()| Done::Answered(None)),
            Command::Kick {
                target,
                room: Some(room),
                reason,
            } => self
                .kick_from_room(conn, (target, room), reason, out)
                .map(|()| Done::Answered(None)),
            Command::Kick {
                target,
                room: None,
                reason,
            } => self.kick(conn, target, reason, out).map(|()| Done::Answered(None)),
            Command::Quit { .. } if self.operators.contains(&conn) => Err((
                ErrorCode::NotPermitted,
                "the console stays as long as the server runs; Ctrl-C stops the server".to_owned(),
            )),
            Command::Quit { reason } => {
                let bye = reason.clone().unwrap_or_else(|| "goodbye".to_owned());
                out.tell(conn, Event::Bye { reason: capped(bye) });
                let reason = reason.map_or_else(|| "quit".to_owned(), capped);
                self.remove(conn, reason, out);
                Ok(Done::Gone)
            }
            Command::History {
                room,
                with,
                after,
                before,
                after_time,
                before_time,
                limit,
            } => self.history(conn, room, with, (after, before, after_time, before_time), limit, out),
            Command::Search { query, room, limit } => self.search(conn, query, room, limit, out),
            Command::Register { password } => self.register(conn, password, out),
            Command::Login { nick, password } => self.login(conn, nick, password, out),
            Command::Passwd { password } => self.change_password(conn, password, out),
            Command::Unregister { password } => self.unregister(conn, password, out),
            Command::Ban {
                target,
                duration,
                reason,
            } => self.ban(conn, &target, duration, reason, now, out),
            Command::Unban { target } => self.unban(conn, &target, out),
            Command::Bans => self.list_bans(conn, now, out).map(|()| Done::Answered(None)),
            Command::Hello { .. } => Err((ErrorCode::BadRequest, "already said hello".to_owned())),
        }
    }

    fn say(
        &mut self,
        conn: ConnId,
        room: Option<RoomName>,
        text: String,
        action: bool,
        now: Millis,
        out: &mut Effects,
    ) -> Result<Done, Refusal> {
        self.check_text(&text)?;
        let room = self.room_of(conn, room)?;
        if !self.rooms.get(&room).is_some_and(|r| r.contains(conn)) {
            return Err((
                ErrorCode::NotInRoom,
                format!("you are not in {room}; /join {room} first"),
            ));
        }
        let id = self.next_message_id();
        let from = self.nick(conn);
        let message = Message {
            id,
            ts: now,
            from,
            account: self.account_name(conn),
            room: Some(room.clone()),
            to: None,
            text,
            action,
        };
        if let Some(entry) = self.rooms.get_mut(&room) {
            entry.kept = true;
        }
        out.persist(conn, self.record(conn, &message, None));
        out.broadcast(room, Event::Message(message), Some(conn));
        Ok(Done::Answered(Some(id)))
    }

    fn direct(
        &mut self,
        conn: ConnId,
        to: Recipient,
        text: String,
        now: Millis,
        out: &mut Effects,
    ) -> Result<Done, Refusal> {
        self.check_text(&text)?;
        let target = self.resolve(conn, &to)?;
        let id = self.next_message_id();
        let message = Message {
            id,
            ts: now,
            from: self.nick(conn),
            account: self.account_name(conn),
            room: None,
            to: Some(self.nick(target)),
            text,
            action: false,
        };
        out.persist(conn, self.record(conn, &message, Some(target)));
        if self.echoed.contains(&conn) {
            out.tell(conn, Event::Echo(message.clone()));
        }
        out.tell(target, Event::Message(message));
        Ok(Done::Answered(Some(id)))
    }

    fn rename(&mut self, conn: ConnId, nick: Nick, out: &mut Effects) -> Result<(), Refusal> {
        if let Some(refusal) = self.nick_refusal(conn, &nick, self.members[&conn].console) {
            return Err(refusal);
        }
        self.set_nick(conn, nick, out);
        Ok(())
    }

    /// Join `room` (creating it), or make it current if already joined.
    fn enter(&mut self, conn: ConnId, room: RoomName, out: &mut Effects) {
        let Some(member) = self.members.get_mut(&conn) else {
            return;
        };
        let nick = member.nick.clone();
        let account = member.account.as_ref().map(|a| a.name.clone());
        let already = member.rooms.contains(&room);
        let previous = member.current().cloned();
        member.rooms.retain(|r| r != &room);
        member.rooms.push(room.clone());
        if previous.as_ref() != Some(&room) {
            if let Some(previous) = previous {
                out.follow(conn, previous, Focus::Elsewhere);
            }
            out.follow(conn, room.clone(), Focus::Current);
        }
        let joined = Event::Joined {
            room: room.clone(),
            nick,
            account,
        };
        if already {
            out.tell(conn, joined);
            return;
        }
        let replay = member.replay;
        let entry = self.rooms.entry(room.clone()).or_default();
        entry.add(conn);
        let (topic, kept) = (entry.topic.clone(), entry.kept);
        self.announce(&room, conn, joined, out);
        if let Some(Topic { text, by }) = topic {
            out.tell(
                conn,
                Event::Topic {
                    room: room.clone(),
                    topic: Some(text),
                    by,
                },
            );
        }
        if replay > 0 && kept {
            out.ask(conn, None, history::latest(room, replay));
        }
    }

    fn part(&mut self, conn: ConnId, room: Option<RoomName>, out: &mut Effects) -> Result<(), Refusal> {
        let room = self.room_of(conn, room)?;
        if !self.rooms.get(&room).is_some_and(|r| r.contains(conn)) {
            return Err((ErrorCode::NotInRoom, format!("you are not in {room}")));
        }
        let parted = Event::Parted {
            room: room.clone(),
            nick: self.nick(conn),
        };
        self.announce(&room, conn, parted, out);
        self.leave_room(conn, &room, out);
        Ok(())
    }

    fn topic(
        &mut self,
        conn: ConnId,
        room: Option<RoomName>,
        topic: Option<String>,
        out: &mut Effects,
    ) -> Result<Done, Refusal> {
        let room = self.room_of(conn, room)?;
        let Some(entry) = self.rooms.get(&room) else {
            return Err((ErrorCode::NoSuchRoom, format!("there is no room {room}")));
        };
        let Some(text) = topic else {
            let (topic, by) = entry.topic.clone().map(|t| (t.text, t.by)).unzip();
            out.tell(
                conn,
                Event::Topic {
                    room,
                    topic,
                    by: by.flatten(),
                },
            );
            return Ok(Done::Answered(None));
        };
        if !entry.contains(conn) {
            return Err((ErrorCode::NotInRoom, format!("you are not in {room}")));
        }
        if text.len() > MAX_TOPIC_BYTES {
            return Err((
                ErrorCode::TooLarge,
                format!("a topic may be at most {MAX_TOPIC_BYTES} bytes"),
            ));
        }
        let by = self.nick(conn);
        let event = Event::Topic {
            room: room.clone(),
            topic: Some(text.clone()),
            by: Some(by.clone()),
        };
        out.broadcast(room.clone(), event, None);
        // Acknowledged once stored, like a message: a full disk refuses it rather than losing it later.
        out.ask(
            conn,
            self.request_id.clone(),
            Ask::SaveRoom(RoomRecord {
                name: room.clone(),
                topic: Some(text.clone()),
            }),
        );
        if let Some(entry) = self.rooms.get_mut(&room) {
            entry.topic = Some(Topic { text, by: Some(by) });
            entry.kept = true;
        }
        Ok(Done::Asked)
    }

    fn who(&self, conn: ConnId, room: Option<RoomName>, after: Option<Nick>, out: &mut Effects) -> Result<(), Refusal> {
        let room = self.room_of(conn, room)?;
        let Some(entry) = self.rooms.get(&room) else {
            return Err((ErrorCode::NoSuchRoom, format!("there is no room {room}")));
        };
        let members = entry.members().map(|c| self.nick(c)).map(|n| (n.key(), n)).collect();
        let after = after.map(|n| n.key());
        let (nicks, more) = listing::page(members, after.as_ref(), |n| {
            n.as_str().len() + NICK_ENTRY_OVERHEAD_BYTES
        });
        let id = self.request_id.clone();
        out.tell(conn, Event::Members { room, nicks, more, id });
        Ok(())
    }

    fn users(&self, conn: ConnId, nicks: Vec<Nick>, out: &mut Effects) -> Result<(), Refusal> {
        if nicks.len() > MAX_USERS_ASKED {
            return Err((
                ErrorCode::BadRequest,
                format!("ask about at most {MAX_USERS_ASKED} nicks at once"),
            ));
        }
        let users = nicks
            .iter()
            .filter_map(|nick| self.nicks.get(&nick.key()))
            .filter_map(|c| Some((*c, self.members.get(c)?)))
            .map(|(c, member)| UserSummary {
                nick: member.nick.clone(),
                rooms: member.rooms.clone(),
                account: member.account.as_ref().map(|a| a.name.clone()),
                operator: self.operators.contains(&c),
                away: member.away.as_deref().map(str::to_owned),
            })
            .collect();
        let id = self.request_id.clone();
        out.tell(conn, Event::Users { users, id });
        Ok(())
    }

    /// Marks `conn` away (with a reason) or back (without), and tells those who share a room with it.
    fn set_away(&mut self, conn: ConnId, text: Option<String>, out: &mut Effects) {
        let text = text.filter(|t| !t.is_empty()).map(capped);
        let Some(member) = self.members.get_mut(&conn) else {
            return;
        };
        if member.away.as_deref() == text.as_deref() {
            return;
        }
        member.away = text.as_deref().map(Box::from);
        let nick = member.nick.clone();
        out.deliver(Event::Away { nick, text }, self.neighbours(conn));
    }

    fn room_list(&self, after: Option<&RoomName>) -> Event {
        // Only the page's rooms are copied.
        let rooms = self.rooms.iter().map(|(name, room)| (name, (name, room))).collect();
        let (page, more) = listing::page(rooms, after.as_ref(), |(name, room)| {
            let topic = room.topic.as_ref().map_or(0, |t| t.text.len());
            name.as_str().len() + topic * TEXT_EXPANSION + ROOM_ENTRY_OVERHEAD_BYTES
        });
        let rooms = page
            .into_iter()
            .map(|(name, room)| RoomSummary {
                room: name.clone(),
                members: room.len(),
                topic: room.topic.as_ref().map(|t| t.text.clone()),
            })
            .collect();
        Event::Rooms { rooms, more }
    }

    fn kick(
        &mut self,
        conn: ConnId,
        target: Recipient,
        reason: Option<String>,
        out: &mut Effects,
    ) -> Result<(), Refusal> {
        if !self.operators.contains(&conn) {
            return Err((ErrorCode::NotPermitted, "only the operator may kick".to_owned()));
        }
        let target = self.resolve(conn, &target)?;
        let reason = match reason.map(capped) {
            Some(reason) => format!("kicked by {}: {reason}", self.nick(conn)),
            None => format!("kicked by {}", self.nick(conn)),
        };
        out.tell(target, Event::Bye { reason: reason.clone() });
        self.remove(target, reason, out);
        Ok(())
    }

    /// Tells `nick` that `conn`, a member of `room`, invites it there.
    fn invite(&mut self, conn: ConnId, nick: Nick, room: RoomName, out: &mut Effects) -> Result<(), Refusal> {
        let Some(entry) = self.rooms.get(&room) else {
            return Err((ErrorCode::NoSuchRoom, format!("there is no room {room}")));
        };
        if !entry.contains(conn) {
            return Err((ErrorCode::NotInRoom, format!("you are not in {room}")));
        }
        let target = self.resolve(conn, &Recipient::Nick(nick))?;
        if entry.contains(target) {
            let nick = self.nick(target);
            return Err((ErrorCode::AlreadyInRoom, format!("{nick} is in {room} already")));
        }
        let by = self.nick(conn);
        out.tell(target, Event::Invited { room, by });
        Ok(())
    }

    /// Takes `target` out of `room` (operators only): the room is told, `target` with it, even over
    /// the presence limit (a kick is rare, and its members should see why one left), and `target`
    /// stays connected.
    fn kick_from_room(
        &mut self,
        conn: ConnId,
        (target, room): (Recipient, RoomName),
        reason: Option<String>,
        out: &mut Effects,
    ) -> Result<(), Refusal> {
        // A room that does not exist is told before the lack of rights, as IRC's KICK orders its
        // numerics (RFC 2812 3.2.8: 403 before 482).
        if !self.rooms.contains_key(&room) {
            return Err((ErrorCode::NoSuchRoom, format!("there is no room {room}")));
        }
        if !self.operators.contains(&conn) {
            return Err((ErrorCode::NotPermitted, "only the operator may kick".to_owned()));
        }
        let target = self.resolve(conn, &target)?;
        let Some(entry) = self.rooms.get(&room) else {
            return Err((ErrorCode::NoSuchRoom, format!("there is no room {room}")));
        };
        let nick = self.nick(target);
        if !entry.contains(target) {
            return Err((ErrorCode::NotInRoom, format!("{nick} is not in {room}")));
        }
        let kicked = Event::Kicked {
            room: room.clone(),
            nick,
            by: self.nick(conn),
            reason: reason.map(capped),
        };
        out.broadcast(room.clone(), kicked, None);
        self.leave_room(target, &room, out);
        Ok(())
    }

    /// Tell everyone concerned that `conn` is gone, then forget it.
    fn remove(&mut self, conn: ConnId, reason: String, out: &mut Effects) {
        let Some(member) = self.members.get(&conn) else {
            return;
        };
        let (nick, rooms) = (member.nick.clone(), member.rooms.clone());
        out.deliver(
            Event::Quit {
                nick: nick.clone(),
                reason: reason.clone(),
            },
            self.neighbours(conn),
        );
        self.operators.remove(&conn);
        self.echoed.remove(&conn);
        let operators = self.operators.iter().map(|&c| elsewhere(c)).collect();
        out.deliver(
            Event::Disconnected {
                conn,
                nick: nick.clone(),
                reason,
            },
            operators,
        );
        for room in &rooms {
            self.leave_room(conn, room, out);
        }
        self.members.remove(&conn);
        self.nicks.remove(&nick.key());
        out.0.push(Effect::Close { conn });
    }

    fn shutdown(&mut self, out: &mut Effects) {
        let mut conns: Vec<ConnId> = self.members.keys().copied().collect();
        conns.sort();
        for conn in conns {
            out.tell(
                conn,
                Event::Bye {
                    reason: "the server is shutting down".to_owned(),
                },
            );
            out.0.push(Effect::Close { conn });
        }
        self.members.clear();
        self.nicks.clear();
        self.rooms.clear();
        self.operators.clear();
        self.echoed.clear();
    }

    /// Takes `conn` out of `room`; the room it joined before becomes current if this one was.
    fn leave_room(&mut self, conn: ConnId, room: &RoomName, out: &mut Effects) {
        if let Some(member) = self.members.get_mut(&conn) {
            let was_current = member.current() == Some(room);
            member.rooms.retain(|r| r != room);
            out.0.push(Effect::Unfollow {
                conn,
                room: room.clone(),
            });
            if let (true, Some(current)) = (was_current, member.current()) {
                out.follow(conn, current.clone(), Focus::Current);
            }
        }
        if let Some(entry) = self.rooms.get_mut(room) {
            entry.remove(conn);
            if entry.is_empty() && !entry.kept {
                self.rooms.remove(room);
            }
        }
    }

    /// Tells `room` that `conn` joined or left it: everyone in it, or in a room over the presence
    /// limit, `conn` alone.
    fn announce(&self, room: &RoomName, conn: ConnId, event: Event, out: &mut Effects) {
        match self.rooms.get(room) {
            Some(entry) if entry.len() <= self.config.presence_limit => out.broadcast(room.clone(), event, None),
            _ => out.deliver(event, vec![self.addressee(conn, room)]),
        }
    }

    /// Everyone who shares a room with `conn` (a room within the presence limit), each once, not
    /// `conn` itself.
    fn neighbours(&self, conn: ConnId) -> Vec<Addressee> {
        let Some(member) = self.members.get(&conn) else {
            return Vec::new();
        };
        let mut seen = BTreeSet::new();
        for room in &member.rooms {
            if let Some(entry) = self.rooms.get(room).filter(|r| r.len() <= self.config.presence_limit) {
                seen.extend(entry.members().filter(|&c| c != conn));
            }
        }
        seen.into_iter().map(elsewhere).collect()
    }

    fn addressee(&self, conn: ConnId, room: &RoomName) -> Addressee {
        let current = self.members.get(&conn).and_then(Member::current) == Some(room);
        let focus = if current { Focus::Current } else { Focus::Elsewhere };
        Addressee { conn, focus }
    }

    /// The room a request names, or the requester's current room.
    fn room_of(&self, conn: ConnId, room: Option<RoomName>) -> Result<RoomName, Refusal> {
        let current = || self.members.get(&conn).and_then(Member::current).cloned();
        room.or_else(current)
            .ok_or((ErrorCode::NoRoom, "you are in no room; /join one first".to_owned()))
    }

    fn resolve(&self, conn: ConnId, to: &Recipient) -> Result<ConnId, Refusal> {
        match to {
            Recipient::Nick(nick) => self
                .nicks
                .get(&nick.key())
                .copied()
                .ok_or((ErrorCode::NoSuchNick, format!("nobody is called {nick}"))),
            Recipient::Conn(target) if self.operators.contains(&conn) => self
                .members
                .contains_key(target)
                .then_some(*target)
                .ok_or((ErrorCode::NoSuchNick, format!("there is no connection {target}"))),
            Recipient::Conn(_) => Err((
                ErrorCode::NotPermitted,
                "only the operator may address a connection by number".to_owned(),
            )),
        }
    }

    fn check_room_count(&self, conn: ConnId, joining: &RoomName) -> Result<(), Refusal> {
        let rooms = self.members.get(&conn).map_or(&[][..], |m| &m.rooms);
        if rooms.len() >= MAX_ROOMS_PER_MEMBER && !rooms.contains(joining) {
            return Err((
                ErrorCode::TooManyRooms,
                format!("you are in {MAX_ROOMS_PER_MEMBER} rooms already; /part one first"),
            ));
        }
        Ok(())
    }

    /// A room may be made only while there are fewer than `max_rooms`; `lobby` always exists.
    fn check_room_creation(&self, room: &RoomName) -> Result<(), Refusal> {
        if self.rooms.contains_key(room) || *room == RoomName::lobby() || self.rooms.len() < self.config.max_rooms {
            return Ok(());
        }
        let max = self.config.max_rooms;
        Err((
            ErrorCode::RoomsFull,
            format!("the server keeps at most {max} rooms; join one of them"),
        ))
    }

    fn check_text(&self, text: &str) -> Result<(), Refusal> {
        if text.is_empty() {
            return Err((ErrorCode::EmptyMessage, "a message must not be empty".to_owned()));
        }
        if text.len() > self.config.max_message {
            let max = self.config.max_message;
            return Err((ErrorCode::TooLarge, format!("a message may be at most {max} bytes")));
        }
        Ok(())
    }

    /// What the store keeps of a message `conn` sent (to `target`, for a direct one).
    fn record(&self, conn: ConnId, message: &Message, target: Option<ConnId>) -> (MessageId, NewMessage) {
        let author = |conn: ConnId| Author {
            nick: self.nick(conn),
            account: self.members[&conn].account.as_ref().map(|a| a.id),
        };
        let to = match (target, &message.room) {
            (Some(target), _) => Destination::Direct(author(target)),
            (None, Some(room)) => Destination::Room(room.clone()),
            (None, None) => unreachable!("a message goes to a room or to someone"),
        };
        let stored = NewMessage {
            ts: message.ts,
            from: author(conn),
            to,
            text: message.text.clone(),
            action: message.action,
        };
        (message.id, stored)
    }

    /// The name of the account `conn` is logged in to, if any.
    fn account_name(&self, conn: ConnId) -> Option<Nick> {
        Some(self.members.get(&conn)?.account.as_ref()?.name.clone())
    }

    fn nick(&self, conn: ConnId) -> Nick {
        self.members[&conn].nick.clone()
    }

    fn next_message_id(&mut self) -> MessageId {
        self.last_message += 1;
        MessageId(self.last_message)
    }
}

/// How a request ended when it did not fail.
enum Done {
    /// Answer it with an ack, carrying the message id if one was made.
    Answered(Option<MessageId>),
    /// The requester is gone; nothing more is said to it.
    Gone,
    /// The store was asked; its answer brings the ack.
    Asked,
}

/// A reason (or a refusal's message) cut to `MAX_REASON_BYTES`, at a character's edge.
fn capped(mut reason: String) -> String {
    if reason.len() > MAX_REASON_BYTES {
        let mut end = MAX_REASON_BYTES;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    reason
}

fn elsewhere(conn: ConnId) -> Addressee {
    Addressee {
        conn,
        focus: Focus::Elsewhere,
    }
}

/// The effects of one input, in order.
#[derive(Default)]
struct Effects(Vec<Effect>);

impl Effects {
    fn tell(&mut self, conn: ConnId, event: Event) {
        self.0.push(Effect::Deliver {
            event,
            to: vec![elsewhere(conn)],
        });
    }

    fn deliver(&mut self, event: Event, to: Vec<Addressee>) {
        if !to.is_empty() {
            self.0.push(Effect::Deliver { event, to });
        }
    }

    fn broadcast(&mut self, room: RoomName, event: Event, except: Option<ConnId>) {
        self.0.push(Effect::Broadcast { room, event, except });
    }

    fn follow(&mut self, conn: ConnId, room: RoomName, focus: Focus) {
        self.0.push(Effect::Follow { conn, room, focus });
    }

    fn persist(&mut self, sender: ConnId, (provisional, message): (MessageId, NewMessage)) {
        self.0.push(Effect::Persist {
            provisional,
            sender,
            message,
        });
    }

    fn ask(&mut self, conn: ConnId, id: Option<RequestId>, ask: Ask) {
        self.0.push(Effect::Ask { conn, id, ask });
    }
}

#[cfg(test)]
mod tests;
