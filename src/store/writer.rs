//! The one writer: a thread owning the only writing connection. It takes everything queued, applies
//! it in one transaction (group commit), commits once, and only then answers each caller, so nothing
//! is reported stored that is not. Between groups it prunes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, LazyLock};
use std::time::Instant;

use rusqlite::{Connection, OptionalExtension, params};

use crate::names::{Nick, RoomName};
use crate::protocol::{MessageId, Millis};

use super::retention::{PRUNE_BATCH_ROWS, PRUNE_INTERVAL};
use super::text_index::{INDEX_BATCH_ROWS, index_step};
use super::{
    Account, AccountId, Answer, Author, Ban, BanTarget, Destination, NewMessage, Retention, RoomRecord, StoreError,
};

/// The most requests waiting for the writer.
pub const WRITE_QUEUE_REQUESTS: usize = 8192;
/// The most bytes of message text waiting for the writer (64 MiB).
pub const WRITE_QUEUE_BYTES: usize = 64 * 1024 * 1024;
/// How long the writer waits for more messages before indexing fewer than a batch of them.
pub const INDEX_WHEN_IDLE_FOR: std::time::Duration = std::time::Duration::from_millis(5);
/// The most requests committed in one transaction; the rest wait for the next one.
pub const GROUP_COMMIT_MAX_REQUESTS: usize = 4096;

/// A change for the writer to make, and whom to tell once it is committed.
pub enum Write {
    Append(Vec<NewMessage>, Answer<Vec<MessageId>>),
    SaveRoom(RoomRecord, Answer<()>),
    CreateAccount {
        name: Nick,
        hash: String,
        now: Millis,
        answer: Answer<Account>,
    },
    SetPassword {
        name: Nick,
        hash: String,
        answer: Answer<()>,
    },
    DeleteAccount(Nick, Answer<()>),
    SetOperator(Nick, bool, Answer<()>),
    Ban(Ban, Answer<()>),
    Unban(BanTarget, Answer<bool>),
}

impl Write {
    fn queued_bytes(&self) -> usize {
        match self {
            Write::Append(messages, _) => messages.iter().map(|m| m.text.len()).sum(),
            _ => 0,
        }
    }
}

/// The way to the writer thread; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    queue: SyncSender<Write>,
    queued_bytes: Arc<AtomicUsize>,
}

impl Writer {
    /// Start the writer thread on its connection.
    pub fn start(
        connection: Connection,
        retention: Retention,
    ) -> std::io::Result<(Writer, std::thread::JoinHandle<()>)> {
        let (queue, waiting) = std::sync::mpsc::sync_channel(WRITE_QUEUE_REQUESTS);
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let thread = WriterThread {
            connection,
            retention,
            rooms: HashMap::new(),
            queued_bytes: Arc::clone(&queued_bytes),
        };
        let handle = std::thread::Builder::new()
            .name("store-writer".to_owned())
            .spawn(move || thread.run(&waiting))?;
        Ok((Writer { queue, queued_bytes }, handle))
    }

    /// Queue a change, or answer it at once with the refusal when the queue is full.
    pub fn submit(&self, write: Write) {
        let bytes = write.queued_bytes();
        let before = self.queued_bytes.fetch_add(bytes, Ordering::Relaxed);
        if before > 0 && before + bytes > WRITE_QUEUE_BYTES {
            self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
            return refuse(write, &StoreError::Overloaded);
        }
        if let Err(e) = self.queue.try_send(write) {
            self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
            match e {
                TrySendError::Full(write) => refuse(write, &StoreError::Overloaded),
                TrySendError::Disconnected(write) => refuse(write, &StoreError::Closed),
            }
        }
    }
}

/// An answer held back until the transaction it belongs to is committed or rolled back.
type Settle = Box<dyn FnOnce(Result<(), &StoreError>) + Send>;

/// What applying a request did, and how to answer it once the transaction's fate is known.
fn applied<T: Send + 'static>(answer: Answer<T>, result: Result<T, StoreError>) -> (Result<(), StoreError>, Settle) {
    match result {
        Ok(value) => (
            Ok(()),
            Box::new(move |outcome| {
                let _ = answer.send(outcome.map(|()| value).map_err(Clone::clone));
            }),
        ),
        Err(error) => {
            let refusal = error.clone();
            (
                Err(error),
                Box::new(move |_| {
                    let _ = answer.send(Err(refusal));
                }),
            )
        }
    }
}

struct WriterThread {
    connection: Connection,
    retention: Retention,
    /// Room ids by name, as committed; forgotten on any rollback.
    rooms: HashMap<RoomName, i64>,
    queued_bytes: Arc<AtomicUsize>,
}

impl WriterThread {
    fn run(mut self, waiting: &Receiver<Write>) {
        let mut next_prune = Instant::now();
        // Unknown at start (a crash may have left messages unindexed): look.
        let mut unindexed = INDEX_BATCH_ROWS;
        loop {
            let wait = match unindexed {
                0 => next_prune.saturating_duration_since(Instant::now()),
                _ => INDEX_WHEN_IDLE_FOR,
            };
            let idle = match waiting.recv_timeout(wait) {
                Ok(first) => {
                    let mut group = vec![first];
                    group.extend(waiting.try_iter().take(GROUP_COMMIT_MAX_REQUESTS - 1));
                    let bytes: usize = group.iter().map(Write::queued_bytes).sum();
                    self.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
                    unindexed += self.commit_group(group);
                    false
                }
                Err(RecvTimeoutError::Timeout) => true,
                Err(RecvTimeoutError::Disconnected) => {
                    self.index_all();
                    return;
                }
            };
            if unindexed >= INDEX_BATCH_ROWS || (idle && unindexed > 0) {
                unindexed = self.index(unindexed);
            }
            if Instant::now() >= next_prune {
                next_prune = Instant::now() + self.prune();
            }
        }
    }

    /// One indexing step; how many messages may still be unindexed.
    fn index(&mut self, unindexed: usize) -> usize {
        match index_step(&mut self.connection, INDEX_BATCH_ROWS) {
            Ok(INDEX_BATCH_ROWS..) => unindexed.saturating_sub(INDEX_BATCH_ROWS).max(1),
            Ok(_) => 0,
            Err(e) => {
                tracing::warn!("indexing messages for search failed: {e}");
                0
            }
        }
    }

    /// Index everything before stopping, so that a clean shutdown leaves no work for the next start.
    fn index_all(&mut self) {
        while let Ok(INDEX_BATCH_ROWS..) = index_step(&mut self.connection, INDEX_BATCH_ROWS) {}
    }

    /// One pruning step; how long until the next.
    fn prune(&mut self) -> std::time::Duration {
        match self.retention.prune_step(&mut self.connection, crate::clock::now()) {
            Ok(PRUNE_BATCH_ROWS..) => std::time::Duration::ZERO,
            Ok(_) => PRUNE_INTERVAL,
            Err(e) => {
                tracing::warn!("pruning old messages failed: {e}");
                PRUNE_INTERVAL
            }
        }
    }

    /// Apply and commit a group; how many messages it committed.
    fn commit_group(&mut self, group: Vec<Write>) -> usize {
        let appended: usize = group
            .iter()
            .map(|write| match write {
                Write::Append(messages, _) => messages.len(),
                _ => 0,
            })
            .sum();
        if let Err(e) = self.connection.execute_batch("BEGIN IMMEDIATE") {
            let error = StoreError::from(e);
            for write in group {
                refuse(write, &error);
            }
            return 0;
        }
        let mut settled: Vec<Settle> = Vec::with_capacity(group.len());
        let mut group = group.into_iter();
        while let Some(write) = group.next() {
            if let Err(error) = self.apply_alone(write, &mut settled) {
                // Nothing in the transaction stands, not even what went before the failure.
                let _ = self.connection.execute_batch("ROLLBACK");
                self.rooms.clear();
                for settle in settled {
                    settle(Err(&error));
                }
                for write in group {
                    refuse(write, &error);
                }
                return 0;
            }
        }
        let outcome = self.connection.execute_batch("COMMIT").map_err(StoreError::from);
        if outcome.is_err() {
            let _ = self.connection.execute_batch("ROLLBACK");
            self.rooms.clear();
        }
        for settle in settled {
            settle(outcome.as_ref().map(|_| ()));
        }
        if outcome.is_ok() { appended } else { 0 }
    }

    /// Apply one request. A refusal (an account that exists, say) changes nothing and is answered at
    /// once; an error comes back when the request failed part way, since then the transaction as a
    /// whole must go. Only the disk fails an append part way (full, read-only, I/O), and then the
    /// rest of the group would fail as well, so a savepoint per request would buy nothing.
    fn apply_alone(&mut self, write: Write, settled: &mut Vec<Settle>) -> Result<(), StoreError> {
        let (applied, settle) = self.apply(write);
        match applied {
            Ok(()) => {
                settled.push(settle);
                Ok(())
            }
            Err(error) if is_refusal(&error) => {
                settle(Err(&error));
                Ok(())
            }
            Err(error) => {
                settle(Err(&error));
                Err(error)
            }
        }
    }

    fn apply(&mut self, write: Write) -> (Result<(), StoreError>, Settle) {
        match write {
            Write::Append(messages, answer) => applied(answer, self.append(&messages)),
            Write::SaveRoom(room, answer) => applied(answer, self.save_room(&room)),
            Write::CreateAccount {
                name,
                hash,
                now,
                answer,
            } => applied(answer, self.create_account(&name, &hash, now)),
            Write::SetPassword { name, hash, answer } => {
                let changed = self.connection.execute(
                    "UPDATE accounts SET hash = ?1 WHERE name = ?2",
                    params![hash, name.as_str()],
                );
                applied(answer, must_touch(changed, &name))
            }
            Write::DeleteAccount(name, answer) => {
                let deleted = self
                    .connection
                    .execute("DELETE FROM accounts WHERE name = ?1", [name.as_str()]);
                applied(answer, must_touch(deleted, &name))
            }
            Write::SetOperator(name, operator, answer) => {
                let changed = self.connection.execute(
                    "UPDATE accounts SET operator = ?1 WHERE name = ?2",
                    params![operator, name.as_str()],
                );
                applied(answer, must_touch(changed, &name))
            }
            Write::Ban(ban, answer) => applied(answer, self.ban(&ban)),
            Write::Unban(target, answer) => {
                let lifted = self
                    .connection
                    .execute("DELETE FROM bans WHERE target = ?1", [target.key()]);
                applied(answer, lifted.map(|n| n > 0).map_err(StoreError::from))
            }
        }
    }

    fn append(&mut self, messages: &[NewMessage]) -> Result<Vec<MessageId>, StoreError> {
        let mut rows = Vec::with_capacity(messages.len());
        // Each room's count goes up once per request, not once per message.
        let mut per_room: Vec<(i64, i64)> = Vec::new();
        for message in messages {
            let row = match &message.to {
                Destination::Room(room) => {
                    let room_id = self.room_id(room)?;
                    match per_room.iter_mut().find(|(id, _)| *id == room_id) {
                        Some((_, added)) => *added += 1,
                        None => per_room.push((room_id, 1)),
                    }
                    Row::new(message, Some(room_id), None)
                }
                Destination::Direct(to) => Row::new(message, None, Some(to)),
            };
            rows.push(row);
        }
        let mut ids = Vec::with_capacity(messages.len());
        let mut many = rows.chunks_exact(INSERT_ROWS);
        for chunk in &mut many {
            ids.extend(self.insert(&INSERT_MANY, chunk)?);
        }
        for row in many.remainder() {
            ids.extend(self.insert(&INSERT_ONE, std::slice::from_ref(row))?);
        }
        let mut count = self
            .connection
            .prepare_cached("UPDATE rooms SET messages = messages + ?2 WHERE id = ?1")?;
        for (room_id, added) in per_room {
            count.execute([room_id, added])?;
        }
        Ok(ids)
    }

    /// Inserts `rows` with one statement (`sql` holds a row of parameters per row); their ids.
    /// The one writer with AUTOINCREMENT gives each new row one more than the largest id ever used, so
    /// one statement's rows get consecutive ids, in the order of its VALUES, ending at the last.
    fn insert(&mut self, sql: &str, rows: &[Row<'_>]) -> Result<impl Iterator<Item = MessageId>, StoreError> {
        let mut insert = self.connection.prepare_cached(sql)?;
        for (n, row) in rows.iter().enumerate() {
            row.bind(&mut insert, n * Row::COLUMNS + 1)?;
        }
        let inserted = insert.raw_execute()?;
        let last = self.connection.last_insert_rowid();
        if inserted != rows.len() {
            return Err(StoreError::Disk(format!(
                "{inserted} of {} messages inserted",
                rows.len()
            )));
        }
        let first = last - rows.len() as i64 + 1;
        Ok((first..=last).map(|id| MessageId(u64::try_from(id).unwrap_or_default())))
    }

    fn room_id(&mut self, room: &RoomName) -> Result<i64, StoreError> {
        if let Some(&id) = self.rooms.get(room) {
            return Ok(id);
        }
        self.connection
            .prepare_cached("INSERT INTO rooms (name) VALUES (?1) ON CONFLICT (name) DO NOTHING")?
            .execute([room.as_str()])?;
        let id = self
            .connection
            .prepare_cached("SELECT id FROM rooms WHERE name = ?1")?
            .query_row([room.as_str()], |row| row.get(0))?;
        self.rooms.insert(room.clone(), id);
        Ok(id)
    }

    fn save_room(&mut self, room: &RoomRecord) -> Result<(), StoreError> {
        self.connection.execute(
            "INSERT INTO rooms (name, topic) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET topic = excluded.topic",
            params![room.name.as_str(), room.topic],
        )?;
        Ok(())
    }

    fn create_account(&mut self, name: &Nick, hash: &str, now: Millis) -> Result<Account, StoreError> {
        let exists: Option<i64> = self
            .connection
            .query_row("SELECT id FROM accounts WHERE name = ?1", [name.as_str()], |row| {
                row.get(0)
            })
            .optional()?;
        if exists.is_some() {
            return Err(StoreError::AccountExists(name.to_string()));
        }
        self.connection.execute(
            "INSERT INTO accounts (name, hash, created) VALUES (?1, ?2, ?3)",
            params![name.as_str(), hash, now as i64],
        )?;
        Ok(Account {
            id: AccountId(self.connection.last_insert_rowid()),
            name: name.clone(),
            operator: false,
            created: now,
        })
    }

    fn ban(&mut self, ban: &Ban) -> Result<(), StoreError> {
        self.connection.execute(
            "INSERT INTO bans (target, reason, set_by, set_at, expires) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (target) DO UPDATE SET reason = excluded.reason, set_by = excluded.set_by,
                 set_at = excluded.set_at, expires = excluded.expires",
            params![
                ban.target.key(),
                ban.reason,
                ban.set_by.as_str(),
                ban.set_at as i64,
                ban.expires.map(|t| t as i64),
            ],
        )?;
        Ok(())
    }
}

/// Messages inserted by one statement: one statement per message cost more than the insert itself.
const INSERT_ROWS: usize = 32;

/// The insert of one message.
static INSERT_ONE: LazyLock<String> = LazyLock::new(|| insert_sql(1));
/// The insert of `INSERT_ROWS` messages.
static INSERT_MANY: LazyLock<String> = LazyLock::new(|| insert_sql(INSERT_ROWS));

fn insert_sql(rows: usize) -> String {
    let row = format!("({})", ["?"; Row::COLUMNS].join(", "));
    format!(
        "INSERT INTO messages (ts, room_id, from_nick, from_account, to_nick, to_account, action, text) VALUES {}",
        vec![row; rows].join(", ")
    )
}

/// One message's columns, as inserted.
struct Row<'a> {
    message: &'a NewMessage,
    room_id: Option<i64>,
    to: Option<&'a Author>,
}

impl<'a> Row<'a> {
    const COLUMNS: usize = 8;

    fn new(message: &'a NewMessage, room_id: Option<i64>, to: Option<&'a Author>) -> Row<'a> {
        Row { message, room_id, to }
    }

    /// Binds the columns to the parameters from `first` on.
    fn bind(&self, statement: &mut rusqlite::CachedStatement<'_>, first: usize) -> rusqlite::Result<()> {
        let message = self.message;
        statement.raw_bind_parameter(first, message.ts as i64)?;
        statement.raw_bind_parameter(first + 1, self.room_id)?;
        statement.raw_bind_parameter(first + 2, message.from.nick.as_str())?;
        statement.raw_bind_parameter(first + 3, message.from.account.map(|a| a.0))?;
        statement.raw_bind_parameter(first + 4, self.to.map(|to| to.nick.as_str()))?;
        statement.raw_bind_parameter(first + 5, self.to.and_then(|to| to.account.map(|a| a.0)))?;
        statement.raw_bind_parameter(first + 6, message.action)?;
        statement.raw_bind_parameter(first + 7, message.text.as_str())
    }
}

/// Whether an error is a request refused before it changed anything.
fn is_refusal(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::AccountExists(_) | StoreError::NoSuchAccount(_) | StoreError::Invalid(_)
    )
}

/// An update of one account by name: that no row changed means there is no such account.
fn must_touch(changed: rusqlite::Result<usize>, name: &Nick) -> Result<(), StoreError> {
    match changed? {
        0 => Err(StoreError::NoSuchAccount(name.to_string())),
        _ => Ok(()),
    }
}

/// Answer a request that never reached a transaction.
fn refuse(write: Write, error: &StoreError) {
    let error = error.clone();
    match write {
        Write::Append(_, answer) => drop(answer.send(Err(error))),
        Write::CreateAccount { answer, .. } => drop(answer.send(Err(error))),
        Write::Unban(_, answer) => drop(answer.send(Err(error))),
        Write::SaveRoom(_, answer)
        | Write::SetPassword { answer, .. }
        | Write::DeleteAccount(_, answer)
        | Write::SetOperator(_, _, answer)
        | Write::Ban(_, answer) => drop(answer.send(Err(error))),
    }
}

impl BanTarget {
    /// How the ban is keyed in the database: `nick:` and the folded nick, or `ip:` and the address.
    pub(crate) fn key(&self) -> String {
        match self {
            BanTarget::Nick(nick) => format!("nick:{}", nick.as_str().to_ascii_lowercase()),
            BanTarget::Ip(ip) => format!("ip:{ip}"),
        }
    }
}
