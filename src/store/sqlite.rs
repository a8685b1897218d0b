//! `SqliteStore`: the store in one SQLite file (WAL), with its threads: the one writer, a few readers,
//! and a few password hashers, each with a connection of its own.

use std::net::IpAddr;
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::names::Nick;
use crate::protocol::{MessageId, Millis};

use super::pool::Pool;
use super::writer::{Write, Writer};
use super::{
    Account, Answer, Ban, BanTarget, HistoryPage, NewMessage, PageRequest, Retention, RoomRecord, SearchRequest, Store,
    StoreError, StoredMessage, Ticket, password, reader, schema,
};

/// Threads answering reads, each with its own connection.
pub const READER_THREADS: usize = 2;
/// The most reads waiting for a reader.
pub const READ_QUEUE_REQUESTS: usize = 1024;
/// Threads hashing and verifying passwords: this many logins are checked at once, whatever the flood.
pub const HASHER_THREADS: usize = 2;
/// The most password checks waiting for a hasher; more are refused as busy.
pub const HASH_QUEUE_REQUESTS: usize = 64;
/// How long a connection waits for another program's lock on the file before reporting it locked.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(2);
/// The writer's page cache, in KiB.
const WRITER_CACHE_KIB: i64 = 64 * 1024;
/// Each reader's page cache, in KiB.
const READER_CACHE_KIB: i64 = 32 * 1024;

/// How hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SyncMode {
    /// A commit survives the process being killed (the OS has it); the last commits may be lost if
    /// the machine loses power. The default: it is what kill -9 needs, at no fsync per commit.
    #[default]
    Normal,
    /// A commit is on the disk before it is acknowledged: survives power loss, costs an fsync each.
    Full,
}

/// Where and how the store keeps its file.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreOptions {
    /// The database file; `None` keeps everything in memory, gone when the store is dropped.
    pub path: Option<PathBuf>,
    pub sync: SyncMode,
    pub retention: Retention,
    /// The largest the file may grow, in bytes; past it new messages are refused as "full".
    pub max_bytes: Option<u64>,
}

impl StoreOptions {
    pub fn file(path: impl Into<PathBuf>) -> StoreOptions {
        StoreOptions {
            path: Some(path.into()),
            sync: SyncMode::default(),
            retention: Retention::default(),
            max_bytes: None,
        }
    }

    pub fn in_memory() -> StoreOptions {
        StoreOptions {
            path: None,
            ..StoreOptions::file("")
        }
    }
}

/// The SQLite store. Dropping it finishes what is queued and stops its threads.
pub struct SqliteStore {
    threads: Option<Threads>,
}

struct Threads {
    writer: Writer,
    readers: Pool<Connection>,
    hashers: Pool<Connection>,
    writer_thread: JoinHandle<()>,
}

impl SqliteStore {
    /// Open (creating if need be) and migrate the database, and start the store's threads.
    pub fn open(options: &StoreOptions) -> Result<SqliteStore, StoreError> {
        let name = match &options.path {
            Some(path) => path.to_string_lossy().into_owned(),
            // An in-memory file private to this store that all its connections share, with the usual
            // locking between them (shared-cache mode would fail reads during a write instead).
            None => format!("file:/sockchat-{}?vfs=memdb", memory_name()),
        };
        let mut writer = open_connection(&name, WRITER_CACHE_KIB)?;
        configure_writer(&writer, options)?;
        schema::migrate(&mut writer)?;
        let connections =
            |n: usize| -> Result<Vec<Connection>, StoreError> { (0..n).map(|_| open_reader(&name)).collect() };
        let readers = connections(READER_THREADS)?;
        let hashers = connections(HASHER_THREADS)?;
        let spawn_failed = |e: std::io::Error| StoreError::Disk(format!("cannot start a store thread: {e}"));
        let (writer, writer_thread) = Writer::start(writer, options.retention).map_err(spawn_failed)?;
        Ok(SqliteStore {
            threads: Some(Threads {
                writer,
                readers: Pool::start("store-reader", readers, READ_QUEUE_REQUESTS).map_err(spawn_failed)?,
                hashers: Pool::start("store-hasher", hashers, HASH_QUEUE_REQUESTS).map_err(spawn_failed)?,
                writer_thread,
            }),
        })
    }

    fn threads(&self) -> &Threads {
        self.threads.as_ref().expect("the threads live until drop")
    }

    fn write<T>(&self, make: impl FnOnce(Answer<T>) -> Write) -> Ticket<T> {
        let (answer, ticket) = Ticket::new();
        self.threads().writer.submit(make(answer));
        ticket
    }

    fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Ticket<T> {
        let (answer, ticket) = Ticket::new();
        let job = Box::new(move |connection: &mut Connection| {
            let _ = answer.send(query(connection));
        });
        match self.threads().readers.submit(job) {
            Ok(()) => ticket,
            Err(e) => Ticket::ready(Err(e)),
        }
    }

    /// Hash a new password on a hasher thread, then hand the hash to the writer.
    fn with_new_hash<T: Send + 'static>(
        &self,
        password: String,
        make: impl FnOnce(String, Answer<T>) -> Write + Send + 'static,
    ) -> Ticket<T> {
        let (answer, ticket) = Ticket::new();
        let writer = self.threads().writer.clone();
        let job = Box::new(move |_: &mut Connection| match password::hash(&password) {
            Ok(hash) => writer.submit(make(hash, answer)),
            Err(e) => drop(answer.send(Err(e))),
        });
        match self.threads().hashers.submit(job) {
            Ok(()) => ticket,
            Err(e) => Ticket::ready(Err(e)),
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if let Some(threads) = self.threads.take() {
            // The pools go first: their queued jobs may hold a way to the writer.
            drop(threads.readers);
            drop(threads.hashers);
            drop(threads.writer);
            let _ = threads.writer_thread.join();
        }
    }
}

fn memory_name() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    u64::from(std::process::id()) << 32 | NEXT.fetch_add(1, Ordering::Relaxed)
}

fn open_connection(name: &str, cache_kib: i64) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(name, flags)?;
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.pragma_update(None, "cache_size", -cache_kib)?;
    Ok(connection)
}

fn open_reader(name: &str) -> Result<Connection, StoreError> {
    let connection = open_connection(name, READER_CACHE_KIB)?;
    connection.pragma_update(None, "query_only", true)?;
    Ok(connection)
}

fn configure_writer(connection: &Connection, options: &StoreOptions) -> Result<(), StoreError> {
    if options.path.is_some() {
        let mode: String = connection.pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Disk(format!(
                "the database would not switch to WAL (it is in {mode} mode)"
            )));
        }
    }
    let sync = match options.sync {
        SyncMode::Normal => "normal",
        SyncMode::Full => "full",
    };
    connection.pragma_update(None, "synchronous", sync)?;
    // The one foreign key is a message's room, whose id the writer itself took from `rooms`, and rooms
    // are never deleted: checking it would cost a lookup per message inserted.
    connection.pragma_update(None, "foreign_keys", false)?;
    if let Some(max_bytes) = options.max_bytes {
        let page_size: i64 = connection.pragma_query_value(None, "page_size", |row| row.get(0))?;
        let pages = (max_bytes / page_size.max(1) as u64).max(1);
        let pages = i64::try_from(pages).unwrap_or(i64::MAX);
        connection.pragma_update(None, "max_page_count", pages)?;
    }
    Ok(())
}

impl Store for SqliteStore {
    fn append(&self, messages: Vec<NewMessage>) -> Ticket<Vec<MessageId>> {
        self.write(|answer| Write::Append(messages, answer))
    }

    fn page(&self, request: PageRequest) -> Ticket<HistoryPage> {
        self.read(move |connection| reader::page(connection, &request))
    }

    fn search(&self, request: SearchRequest) -> Ticket<Vec<StoredMessage>> {
        self.read(move |connection| reader::search(connection, &request))
    }

    fn last_message_id(&self) -> Ticket<Option<MessageId>> {
        self.read(reader::last_message_id)
    }

    fn save_room(&self, room: RoomRecord) -> Ticket<()> {
        self.write(|answer| Write::SaveRoom(room, answer))
    }

    fn rooms(&self) -> Ticket<Vec<RoomRecord>> {
        self.read(reader::rooms)
    }

    fn create_account(&self, name: Nick, password: String, now: Millis) -> Ticket<Account> {
        self.with_new_hash(password, move |hash, answer| Write::CreateAccount {
            name,
            hash,
            now,
            answer,
        })
    }

    fn verify_password(&self, name: Nick, password: String) -> Ticket<Account> {
        let (answer, ticket) = Ticket::new();
        let job = Box::new(move |connection: &mut Connection| {
            let verdict = reader::account_with_hash(connection, &name).map(|found| match found {
                Some((account, hash)) if password::verify(&password, Some(&hash)) => Ok(account),
                Some(_) => Err(StoreError::WrongPassword),
                None => {
                    password::verify(&password, None);
                    Err(StoreError::WrongPassword)
                }
            });
            let _ = answer.send(verdict.and_then(|v| v));
        });
        match self.threads().hashers.submit(job) {
            Ok(()) => ticket,
            Err(e) => Ticket::ready(Err(e)),
        }
    }

    fn set_password(&self, name: Nick, password: String) -> Ticket<()> {
        self.with_new_hash(password, move |hash, answer| Write::SetPassword { name, hash, answer })
    }

    fn delete_account(&self, name: Nick) -> Ticket<()> {
        self.write(|answer| Write::DeleteAccount(name, answer))
    }

    fn set_operator(&self, name: Nick, operator: bool) -> Ticket<()> {
        self.write(|answer| Write::SetOperator(name, operator, answer))
    }

    fn account(&self, name: Nick) -> Ticket<Option<Account>> {
        self.read(move |connection| Ok(reader::account_with_hash(connection, &name)?.map(|(account, _)| account)))
    }

    fn accounts(&self) -> Ticket<Vec<Account>> {
        self.read(reader::accounts)
    }

    fn ban(&self, ban: Ban) -> Ticket<()> {
        if let Err(e) = check_ban(&ban) {
            return Ticket::ready(Err(e));
        }
        self.write(|answer| Write::Ban(ban, answer))
    }

    fn unban(&self, target: BanTarget) -> Ticket<bool> {
        self.write(|answer| Write::Unban(target, answer))
    }

    fn bans(&self, now: Millis) -> Ticket<Vec<Ban>> {
        self.read(move |connection| reader::bans(connection, now))
    }

    fn ban_for(&self, nick: Nick, ip: IpAddr, now: Millis) -> Ticket<Option<Ban>> {
        self.read(move |connection| reader::ban_for(connection, &nick, ip, now))
    }
}

fn check_ban(ban: &Ban) -> Result<(), StoreError> {
    match &ban.reason {
        Some(reason) if reason.len() > super::BAN_REASON_MAX_BYTES => Err(StoreError::Invalid(format!(
            "a ban's reason may have at most {} bytes",
            super::BAN_REASON_MAX_BYTES
        ))),
        _ => Ok(()),
    }
}
