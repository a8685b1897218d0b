//! The durable store's interface: what the server asks of whatever keeps messages, rooms, accounts and
//! bans (SQLite here; a cluster store later), and the types those requests carry.
//!
//! Every request returns a [`Ticket`] at once and is carried out off the caller's thread, so the hub
//! task never waits on a disk: it awaits the ticket (or polls it among others) and publishes a message
//! only once its ticket says it is committed.

pub mod admin;
mod password;
mod pool;
mod reader;
mod retention;
mod schema;
mod search;
mod sqlite;
mod text_index;
mod writer;

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::oneshot;

use crate::names::{Nick, RoomName};
use crate::protocol::{MessageId, Millis};

pub use retention::Retention;
pub use sqlite::{SqliteStore, StoreOptions, SyncMode};

/// The most messages one history page holds.
pub const HISTORY_PAGE_MAX: usize = 1000;
/// The most bytes of message text one history page or search answer holds: fewer messages come,
/// with `more`, when they are long (at least one always comes).
pub const ANSWER_TEXT_MAX_BYTES: usize = 256 * 1024;
/// The most matches one search returns.
pub const SEARCH_RESULTS_MAX: usize = 100;
/// The longest search query, in bytes.
pub const SEARCH_QUERY_MAX_BYTES: usize = 256;
/// The most words a search query may hold.
pub const SEARCH_TERMS_MAX: usize = 16;
/// The most rooms one search may look in (a member's rooms, at most `hub::MAX_ROOMS_PER_MEMBER`).
pub const SEARCH_ROOMS_MAX: usize = 256;
/// The shortest password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 8;
/// The longest password, in bytes.
pub const PASSWORD_MAX_BYTES: usize = 1024;
/// The longest ban reason, in bytes.
pub const BAN_REASON_MAX_BYTES: usize = 256;
/// The most rows a listing (rooms, accounts, bans) returns.
pub const LISTING_MAX_ROWS: usize = 100_000;

/// An account's number. Numbers are never reused, so a nick registered again after its account was
/// deleted does not inherit the old account's direct messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub i64);

/// A message to be stored: the server stamps the time; the store gives the id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    pub ts: Millis,
    pub from: Author,
    pub to: Destination,
    pub text: String,
    pub action: bool,
}

/// Who wrote a message: the nick shown, and the account, if the writer was logged in.
#[derive(Debug, Clone, PartialEq)]
pub struct Author {
    pub nick: Nick,
    pub account: Option<AccountId>,
}

/// Where a message went.
#[derive(Debug, Clone, PartialEq)]
pub enum Destination {
    Room(RoomName),
    /// A direct message: the recipient's nick, and account if logged in.
    Direct(Author),
}

/// A message as stored, with its id.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    pub id: MessageId,
    pub message: NewMessage,
}

/// Whose messages a page is of.
#[derive(Debug, Clone, PartialEq)]
pub enum Conversation {
    Room(RoomName),
    /// The direct messages between an account and a nick, seen by that account. Guests have none.
    Direct {
        account: AccountId,
        with: Nick,
    },
}

/// Where in a conversation a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAt {
    Latest,
    /// The oldest messages after this id.
    After(MessageId),
    /// The newest messages before this id.
    Before(MessageId),
    /// The oldest messages stamped after this time: from the first message, in the order of ids,
    /// stamped later than it (ids and stamps both follow the order the messages were said in).
    AfterTime(Millis),
    /// The newest messages before the first one stamped at or after this time.
    BeforeTime(Millis),
}

/// A request for a page of a conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub conversation: Conversation,
    pub at: PageAt,
    /// At most [`HISTORY_PAGE_MAX`]; more is refused.
    pub limit: usize,
    /// No message after this one: what a client has been sent live stays out of its history page.
    pub until: Option<MessageId>,
}

/// A page: messages oldest first, and whether the conversation goes on beyond it in the direction asked.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    pub messages: Vec<StoredMessage>,
    pub more: bool,
}

/// A search: words that must all occur, looked for in the given rooms and in the account's own direct
/// messages (a guest has none).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    pub query: String,
    pub rooms: Vec<RoomName>,
    pub account: Option<AccountId>,
    /// At most [`SEARCH_RESULTS_MAX`]; more is refused.
    pub limit: usize,
}

/// A room as it survives a restart.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomRecord {
    pub name: RoomName,
    pub topic: Option<String>,
}

/// An account as listed: never its password hash.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub name: Nick,
    pub operator: bool,
    pub created: Millis,
}

/// What a ban keeps out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BanTarget {
    Nick(Nick),
    Ip(IpAddr),
}

/// A ban: who set it, why, and until when (forever without `expires`).
#[derive(Debug, Clone, PartialEq)]
pub struct Ban {
    pub target: BanTarget,
    pub reason: Option<String>,
    pub set_by: Nick,
    pub set_at: Millis,
    pub expires: Option<Millis>,
}

/// Why a request to the store failed. The texts are meant for the user who asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the database is full, so nothing new can be stored")]
    Full,
    #[error("the database is read-only, so nothing new can be stored")]
    ReadOnly,
    #[error("the database is locked by another program")]
    Locked,
    #[error("the database failed: {0}")]
    Disk(String),
    #[error("the store is busy; try again shortly")]
    Overloaded,
    #[error("the store has shut down")]
    Closed,
    #[error(
        "the database has schema version {found}, newer than the {known} this sockchat knows; use a newer sockchat"
    )]
    TooNew { found: u32, known: u32 },
    #[error("no account is named {0}")]
    NoSuchAccount(String),
    #[error("an account named {0} already exists")]
    AccountExists(String),
    #[error("wrong account name or password")]
    WrongPassword,
    #[error("{0}")]
    Invalid(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> StoreError {
        use rusqlite::ErrorCode;
        match error.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::Full,
            Some(ErrorCode::ReadOnly) => StoreError::ReadOnly,
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Locked,
            _ => StoreError::Disk(error.to_string()),
        }
    }
}

/// The answer to one request, once the store has it: await it, or `wait` for it off the async runtime.
#[derive(Debug)]
pub struct Ticket<T> {
    answer: oneshot::Receiver<Result<T, StoreError>>,
}

/// The store's end of a [`Ticket`].
pub(crate) type Answer<T> = oneshot::Sender<Result<T, StoreError>>;

impl<T> Ticket<T> {
    pub(crate) fn new() -> (Answer<T>, Ticket<T>) {
        let (sender, answer) = oneshot::channel();
        (sender, Ticket { answer })
    }

    /// A ticket already answered (a request refused before it was queued).
    pub(crate) fn ready(result: Result<T, StoreError>) -> Ticket<T> {
        let (sender, ticket) = Ticket::new();
        let _ = sender.send(result);
        ticket
    }

    /// Block this thread until the answer comes. Not for async tasks: await the ticket there.
    pub fn wait(self) -> Result<T, StoreError> {
        self.answer.blocking_recv().unwrap_or(Err(StoreError::Closed))
    }
}

impl<T> Future for Ticket<T> {
    type Output = Result<T, StoreError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.answer)
            .poll(cx)
            .map(|answer| answer.unwrap_or(Err(StoreError::Closed)))
    }
}

/// What the server asks of a store. Every method returns at once; the work happens elsewhere.
pub trait Store: Send + Sync {
    /// Store messages in one go; the ids come once they are committed, in the order given, and each
    /// is greater than every id before it. On an error none of them is stored.
    fn append(&self, messages: Vec<NewMessage>) -> Ticket<Vec<MessageId>>;
    /// A page of a conversation, oldest first.
    fn page(&self, request: PageRequest) -> Ticket<HistoryPage>;
    /// Messages matching every word of the query, newest first.
    fn search(&self, request: SearchRequest) -> Ticket<Vec<StoredMessage>>;
    /// The greatest id any message was ever given (none before the first).
    fn last_message_id(&self) -> Ticket<Option<MessageId>>;

    /// Remember a room and its topic (`None` clears it).
    fn save_room(&self, room: RoomRecord) -> Ticket<()>;
    /// Every remembered room, by name.
    fn rooms(&self) -> Ticket<Vec<RoomRecord>>;

    fn create_account(&self, name: Nick, password: String, now: Millis) -> Ticket<Account>;
    /// The account, if the password is its own; `WrongPassword` otherwise, also for a name with no account.
    fn verify_password(&self, name: Nick, password: String) -> Ticket<Account>;
    fn set_password(&self, name: Nick, password: String) -> Ticket<()>;
    fn delete_account(&self, name: Nick) -> Ticket<()>;
    fn set_operator(&self, name: Nick, operator: bool) -> Ticket<()>;
    /// The account owning a nick, if any.
    fn account(&self, name: Nick) -> Ticket<Option<Account>>;
    fn accounts(&self) -> Ticket<Vec<Account>>;

    /// Add a ban, or replace the one on the same target.
    fn ban(&self, ban: Ban) -> Ticket<()>;
    /// Lift a ban; whether there was one.
    fn unban(&self, target: BanTarget) -> Ticket<bool>;
    /// The bans in force at `now`.
    fn bans(&self, now: Millis) -> Ticket<Vec<Ban>>;
    /// The ban in force at `now` on this nick or this address, if any.
    fn ban_for(&self, nick: Nick, ip: IpAddr, now: Millis) -> Ticket<Option<Ban>>;
}

#[cfg(test)]
mod tests;
