//! The chat's vocabulary: `Command`s clients send, `Event`s the server sends, and their error codes.
//!
//! These types are the structured wire format too (serde, tagged by `"type"`); docs/protocol.md is
//! their normative description. The plain-text transport maps its lines onto the same types.

use serde::{Deserialize, Serialize};

use crate::names::{ConnId, Nick, RoomName};

/// The structured protocol's version, sent in `hello` and `welcome`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Milliseconds since the Unix epoch, as stamped by the server.
pub type Millis = u64;

/// A message's server-assigned number: unique and increasing for the life of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub u64);

/// A client-chosen request id, echoed in the `ack` or `error` that answers the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    Number(u64),
    Text(String),
}

/// One request from a client: a command and, optionally, an id to answer it by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RequestId>,
    #[serde(flatten)]
    pub command: Command,
}

impl Request {
    pub fn new(command: Command) -> Request {
        Request { id: None, command }
    }
}

/// A password as it crosses the wire: never shown by `Debug`, so no log line can carry it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Password(pub String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// Whom a direct message is for: a nick, or (for the operator) a connection number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Recipient {
    Nick(Nick),
    Conn(ConnId),
}

/// What a client asks of the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// The structured handshake; only valid as the first frame.
    Hello {
        version: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        nick: Option<Nick>,
        /// The room to land in instead of `lobby`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
        /// Log in to the account named `nick`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<Password>,
        /// The server's password (`--server-password`), where it has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pass: Option<Password>,
    },
    /// A message to a room; without `room`, to the sender's current room.
    Say {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
        text: String,
        /// An action (`/me waves`) rather than speech.
        #[serde(default, skip_serializing_if = "is_false")]
        action: bool,
    },
    /// A direct message.
    Msg {
        to: Recipient,
        text: String,
    },
    Nick {
        nick: Nick,
    },
    Join {
        room: RoomName,
    },
    /// Leave a room; without `room`, the current one.
    Part {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
    },
    /// Set a room's topic, or with no `topic` ask for it.
    Topic {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
    },
    /// A room's members, a page at a time: those after `after`, in order of their nicks.
    Who {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<Nick>,
    },
    /// Which of these nicks are connected, with their rooms and accounts (at most
    /// `MAX_USERS_ASKED`).
    Users {
        nicks: Vec<Nick>,
    },
    /// How many are connected, and how many rooms there are.
    #[serde(deserialize_with = "no_fields")]
    Counts,
    /// Say one is away, and why (at most `MAX_REASON_BYTES`); without `text`, that one is back.
    Away {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// The rooms, a page at a time: those after `after`, in order of their names.
    Rooms {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<RoomName>,
    },
    /// A page of a room's messages (or, with `with`, of one's direct messages with a nick), oldest
    /// first: those after `after`, or before `before`, or stamped after `after_time` or before
    /// `before_time`, or else the latest.
    History {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        with: Option<Nick>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<MessageId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<MessageId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after_time: Option<Millis>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before_time: Option<Millis>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
    },
    /// Messages holding every word of `query`, newest first, in one room or in all one can read.
    Search {
        query: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
    },
    /// Register the nick one holds as an account with this password.
    Register {
        password: Password,
    },
    /// Log in to an account, taking its nick.
    Login {
        nick: Nick,
        password: Password,
    },
    /// Change the password of the account one is logged in to.
    Passwd {
        password: Password,
    },
    /// Delete the account one is logged in to; its password again, to be sure.
    Unregister {
        password: Password,
    },
    /// Keep a nick or an address out (operators only), for `duration` seconds or for good.
    Ban {
        target: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Lift a ban (operators only).
    Unban {
        target: String,
    },
    /// The bans in force (operators only).
    #[serde(deserialize_with = "no_fields")]
    Bans,
    #[serde(deserialize_with = "no_fields")]
    Help,
    #[serde(deserialize_with = "no_fields")]
    Ping,
    /// The answer to the server's `ping` event; nothing answers it.
    #[serde(deserialize_with = "no_fields")]
    Pong,
    /// Tell `nick` that the client, a member of `room`, invites it there (rooms are open to all:
    /// an invitation is only a word that one is welcome).
    Invite {
        nick: Nick,
        room: RoomName,
    },
    /// Disconnect someone (operator only); with `room`, only take them out of that room.
    Kick {
        target: Recipient,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Quit {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A command without fields still refuses unknown ones: serde's `deny_unknown_fields` covers only
/// the variants that have fields.
fn no_fields<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NoFields {}
    NoFields::deserialize(deserializer).map(|NoFields {}| ())
}

/// A chat message as delivered: to a room or, with `to`, directly to one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub ts: Millis,
    pub from: Nick,
    /// The account `from` is logged in to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Nick>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<RoomName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Nick>,
    pub text: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub action: bool,
}

/// A room as listed by `rooms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomSummary {
    pub room: RoomName,
    pub members: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

/// The most nicks one `users` request may ask about.
pub const MAX_USERS_ASKED: usize = 16;

/// A connected user as `users` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSummary {
    pub nick: Nick,
    /// The rooms it is in, in the order it joined them.
    pub rooms: Vec<RoomName>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<Nick>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub operator: bool,
    /// Why it is away, if it said it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away: Option<String>,
}

/// A ban as listed by `bans`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BanSummary {
    /// A nick or an address.
    pub target: String,
    pub by: Nick,
    pub ts: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the server tells a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Welcome {
        version: u32,
        server: String,
        nick: Nick,
        conn: ConnId,
        room: Option<RoomName>,
        max_message: usize,
    },
    Message(Message),
    /// A copy of a direct message the client sent, for clients that asked for one (plain text).
    Echo(Message),
    /// The request `id` was carried out; for a message, `message` is the id it was given.
    Ack {
        id: RequestId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<MessageId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ts: Option<Millis>,
    },
    Error {
        #[serde(default)]
        id: Option<RequestId>,
        code: ErrorCode,
        message: String,
    },
    Joined {
        room: RoomName,
        nick: Nick,
        /// The account `nick` is logged in to, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<Nick>,
    },
    Parted {
        room: RoomName,
        nick: Nick,
    },
    /// `by`, a member of `room`, invites the client there.
    Invited {
        room: RoomName,
        by: Nick,
    },
    /// An operator took `nick` out of `room` (a `kick` with a room); told to the room, `nick` too.
    Kicked {
        room: RoomName,
        nick: Nick,
        by: Nick,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    Renamed {
        from: Nick,
        to: Nick,
    },
    Quit {
        nick: Nick,
        reason: String,
    },
    Topic {
        room: RoomName,
        topic: Option<String>,
        by: Option<Nick>,
    },
    /// A page of a room's members; `more` when others follow the last one. `id` is the id of the
    /// `who` it answers, when it had one.
    Members {
        room: RoomName,
        nicks: Vec<Nick>,
        #[serde(default, skip_serializing_if = "is_false")]
        more: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<RequestId>,
    },
    /// The users a `users` asked about who are connected, in the order asked; `id` is the
    /// request's, when it had one.
    Users {
        users: Vec<UserSummary>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<RequestId>,
    },
    /// The answer to `counts`.
    Counts {
        users: usize,
        rooms: usize,
    },
    /// Someone who shares a room with the client is away (with why) or back (without `text`).
    Away {
        nick: Nick,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    /// A page of the rooms; `more` when others follow the last one.
    Rooms {
        rooms: Vec<RoomSummary>,
        #[serde(default, skip_serializing_if = "is_false")]
        more: bool,
    },
    /// A page of history, oldest first; `more` when the conversation goes on beyond it in the
    /// direction asked. Each message is shaped like a `message` event's.
    History {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        room: Option<RoomName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        with: Option<Nick>,
        messages: Vec<Message>,
        more: bool,
        /// The id of the `history` it answers, when it had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<RequestId>,
    },
    /// The matches of a search, newest first.
    Search {
        query: String,
        messages: Vec<Message>,
    },
    /// The account this connection is logged in to now (none after `unregister`).
    Account {
        account: Option<Nick>,
        #[serde(default, skip_serializing_if = "is_false")]
        operator: bool,
    },
    /// The bans in force.
    Bans {
        bans: Vec<BanSummary>,
    },
    /// Something the server wants the client's user to know.
    Notice {
        text: String,
    },
    Help,
    Pong,
    /// The server has not heard from this client for a while: answer with a `pong` request.
    Ping,
    /// A client connected (told to the operator only).
    Connected {
        conn: ConnId,
        nick: Nick,
        peer: String,
    },
    /// A client went away (told to the operator only).
    Disconnected {
        conn: ConnId,
        nick: Nick,
        reason: String,
    },
    /// The server is closing this connection.
    Bye {
        reason: String,
    },
}

/// Why a request failed; stable strings on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not a request this server understands.
    BadRequest,
    /// The frame was longer than the server's cap.
    TooLarge,
    UnsupportedVersion,
    NickTaken,
    NoSuchNick,
    NoSuchRoom,
    NotInRoom,
    /// The user named is in that room already.
    AlreadyInRoom,
    NoRoom,
    EmptyMessage,
    NotPermitted,
    /// Joining would put the client in more rooms than a member may be in.
    TooManyRooms,
    /// The server has as many rooms as it keeps (`--max-rooms`); no new one can be made.
    RoomsFull,
    /// The store could not do it (the disk is full or failing, or the store is busy); nothing was kept.
    Unavailable,
    /// The account name or password was wrong.
    WrongPassword,
    /// Too many failed logins: wait before trying again.
    Throttled,
    /// Only accounts may do this: `register` first.
    NotLoggedIn,
    /// The connection or nick is banned.
    Banned,
}
