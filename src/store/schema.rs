//! The database's schema as a list of migration steps, and bringing a file up to date with them.
//!
//! `PRAGMA user_version` holds how many steps a file has had. Steps are only ever appended: a file
//! from an older sockchat gets the steps it lacks, one transaction each; a file from a newer one is
//! refused, since this binary cannot know what the extra steps changed.

use rusqlite::{Connection, OptionalExtension};

use super::text_index::PENDING_TERMS_BYTES;

use super::StoreError;

/// Each step, in order; step N brings a file from version N to version N+1.
const MIGRATIONS: &[&str] = &[
    // 1: rooms, accounts, messages, bans.
    "CREATE TABLE rooms (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         name TEXT NOT NULL UNIQUE,
         topic TEXT
     );
     CREATE TABLE accounts (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         name TEXT NOT NULL UNIQUE COLLATE NOCASE,
         hash TEXT NOT NULL,
         operator INTEGER NOT NULL DEFAULT 0,
         created INTEGER NOT NULL
     );
     CREATE TABLE messages (
         id INTEGER PRIMARY KEY AUTOINCREMENT,
         ts INTEGER NOT NULL,
         room_id INTEGER REFERENCES rooms(id),
         from_nick TEXT NOT NULL COLLATE NOCASE,
         from_account INTEGER,
         to_nick TEXT COLLATE NOCASE,
         to_account INTEGER,
         action INTEGER NOT NULL DEFAULT 0,
         text TEXT NOT NULL
     );
     CREATE INDEX messages_by_room ON messages(room_id, id) WHERE room_id IS NOT NULL;
     CREATE INDEX messages_sent_directly ON messages(from_account, to_nick, id) WHERE to_nick IS NOT NULL;
     CREATE INDEX messages_received_directly ON messages(to_account, from_nick, id) WHERE to_nick IS NOT NULL;
     CREATE TABLE bans (
         target TEXT PRIMARY KEY,
         reason TEXT,
         set_by TEXT NOT NULL,
         set_at INTEGER NOT NULL,
         expires INTEGER
     );",
    // 2: full-text search. The index holds no text of its own (contentless, no positions): the writer
    // indexes each message's words and its scope's tokens in batches after the commit (`text_index.rs`),
    // up to `text_indexed.upto`; older messages get indexed the same way.
    "CREATE VIRTUAL TABLE messages_text USING fts5(text, content='', contentless_delete=1, detail='none');
     CREATE TABLE text_indexed (upto INTEGER NOT NULL);
     INSERT INTO text_indexed (upto) VALUES (0);
     CREATE TRIGGER messages_text_delete AFTER DELETE ON messages
     WHEN old.id <= (SELECT upto FROM text_indexed) BEGIN
         DELETE FROM messages_text WHERE rowid = old.id;
     END;",
    // 3: each room's number of messages, so that pruning by count never walks a room's messages.
    // The writer adds its appends once per group; deleting a message takes it off here.
    "ALTER TABLE rooms ADD COLUMN messages INTEGER NOT NULL DEFAULT 0;
     UPDATE rooms SET messages = (SELECT count(*) FROM messages WHERE messages.room_id = rooms.id);
     CREATE TRIGGER room_messages_delete AFTER DELETE ON messages WHEN old.room_id IS NOT NULL BEGIN
         UPDATE rooms SET messages = messages - 1 WHERE id = old.room_id;
     END;",
    // 4: the search index without its table of document sizes, which only ranking needs (searches
    // here go newest first) and which cost the writer a row per message. Without it the index cannot
    // delete by rowid alone, so a deleted message is taken out by giving the index its indexed text
    // again (the same expression as `text_index::index_step`'s). The in-memory index of pending
    // terms may grow to `PENDING_TERMS_BYTES` before it is written out (set by `configure_text_index`).
    // The index is rebuilt from the start: the writer
    // indexes the older messages in batches, as it does new ones.
    "DROP TRIGGER messages_text_delete;
     DROP TABLE messages_text;
     CREATE VIRTUAL TABLE messages_text USING fts5(text, content='', columnsize=0, detail='none');
     UPDATE text_indexed SET upto = 0;
     CREATE TRIGGER messages_text_delete AFTER DELETE ON messages
     WHEN old.id <= (SELECT upto FROM text_indexed) BEGIN
         INSERT INTO messages_text (messages_text, rowid, text) VALUES ('delete', old.id,
             old.text || ' ' || CASE WHEN old.room_id IS NOT NULL THEN 'zzroom' || old.room_id
                 ELSE coalesce('zzaccount' || old.from_account, '') || ' ' || coalesce('zzaccount' || old.to_account, '')
             END);
     END;",
    // 5: messages by time, so that a history page can start at a time (IRC's CHATHISTORY timestamps).
    "CREATE INDEX messages_by_time ON messages(ts);",
];

/// The schema version this binary writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Bring the file up to [`SCHEMA_VERSION`], or refuse one that is newer.
pub fn migrate(connection: &mut Connection) -> Result<(), StoreError> {
    let found = version(connection)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    for (step, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(sql)?;
        transaction.pragma_update(None, "user_version", step as u32 + 1)?;
        transaction.commit()?;
    }
    configure_text_index(connection)?;
    // An operator upgrading sockchat should see that the file changed (an older one cannot open it now).
    if found > 0 && found < SCHEMA_VERSION {
        tracing::info!(
            from = found,
            to = SCHEMA_VERSION,
            "brought the database's schema up to date"
        );
    }
    Ok(())
}

/// Sets the search index's settings that the file keeps, where they differ from ours (a file at the
/// current version and settings is left untouched, so a read-only one still opens).
fn configure_text_index(connection: &Connection) -> Result<(), StoreError> {
    let hashsize: Option<i64> = connection
        .query_row("SELECT v FROM messages_text_config WHERE k = 'hashsize'", [], |row| {
            row.get(0)
        })
        .optional()?;
    let wanted = PENDING_TERMS_BYTES as i64;
    if hashsize != Some(wanted) {
        connection.execute(
            "INSERT INTO messages_text (messages_text, rank) VALUES ('hashsize', ?1)",
            [wanted],
        )?;
    }
    Ok(())
}

/// The number of migration steps the file has had.
pub fn version(connection: &Connection) -> Result<u32, StoreError> {
    Ok(connection.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file as the first schema left it, with a message and an account in it.
    const V1_FIXTURE: &str = include_str!("fixtures/v1.sql");

    #[test]
    fn a_first_schema_file_is_brought_up_to_date_and_its_messages_become_searchable() {
        let mut connection = Connection::open_in_memory().unwrap();
        connection.execute_batch(V1_FIXTURE).unwrap();
        assert_eq!(version(&connection).unwrap(), 1);
        migrate(&mut connection).unwrap();
        assert_eq!(version(&connection).unwrap(), SCHEMA_VERSION);
        assert_eq!(super::super::text_index::index_step(&mut connection, 10).unwrap(), 1);
        let counted: i64 = connection
            .query_row("SELECT messages FROM rooms WHERE name = 'lobby'", [], |row| row.get(0))
            .unwrap();
        assert_eq!(counted, 1);
        let found: i64 = connection
            .query_row(
                "SELECT rowid FROM messages_text WHERE messages_text MATCH 'hello'",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(found, 7);
    }

    #[test]
    fn every_version_reaches_the_last_and_a_newer_file_is_refused() {
        for start in 0..=SCHEMA_VERSION {
            let mut connection = Connection::open_in_memory().unwrap();
            for (step, sql) in MIGRATIONS.iter().enumerate().take(start as usize) {
                connection.execute_batch(sql).unwrap();
                connection.pragma_update(None, "user_version", step as u32 + 1).unwrap();
            }
            migrate(&mut connection).unwrap();
            assert_eq!(version(&connection).unwrap(), SCHEMA_VERSION, "from version {start}");
        }
        let mut connection = Connection::open_in_memory().unwrap();
        connection
            .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        let refused = migrate(&mut connection).unwrap_err();
        assert_eq!(
            refused.to_string(),
            format!(
                "the database has schema version {}, newer than the {SCHEMA_VERSION} this sockchat knows; use a newer sockchat",
                SCHEMA_VERSION + 1
            )
        );
    }
}
