//! The full-text index, brought up to date by the writer in batches after messages are committed:
//! indexing each small group commit on its own would write a tiny index segment per commit and spend
//! most of the writer's time merging them. `text_indexed.upto` is the last message id indexed.
//!
//! Besides its words, each message is indexed with tokens for who may find it: its room's, or for a
//! direct message both accounts'. A search asks for its words AND one of its scope's tokens, so the
//! index itself skips the matches elsewhere: a word common in a big room costs nothing to a search
//! in a small one. The tokens only narrow the search; the query checks the scope again, so a user
//! who types a token's text in a message reveals nothing.

use rusqlite::{Connection, OptionalExtension};

use super::StoreError;

/// The most messages indexed in one step: large enough for few, large index segments, small enough
/// that appends waiting behind a step wait only milliseconds.
pub const INDEX_BATCH_ROWS: usize = 20_000;
/// The most bytes of terms the index holds in memory before writing them out as a segment (FTS5's
/// `hashsize`, set by `schema::migrate`): more than one step's, so a step is written once, as one segment.
pub const PENDING_TERMS_BYTES: usize = 8 * 1024 * 1024;

/// The token that marks a room's messages in the index.
pub fn room_token(room_id: i64) -> String {
    format!("{ROOM_TOKEN}{room_id}")
}

/// The token that marks an account's direct messages, sent or received, in the index.
pub fn account_token(account_id: i64) -> String {
    format!("{ACCOUNT_TOKEN}{account_id}")
}

const ROOM_TOKEN: &str = "zzroom";
const ACCOUNT_TOKEN: &str = "zzaccount";

/// Index up to `limit` of the messages not yet indexed, oldest first, in one transaction; how many.
pub fn index_step(connection: &mut Connection, limit: usize) -> Result<usize, StoreError> {
    let transaction = connection.transaction()?;
    let upto: i64 = transaction.query_row("SELECT upto FROM text_indexed", [], |row| row.get(0))?;
    let last: Option<i64> = transaction
        .query_row(
            "SELECT max(id) FROM (SELECT id FROM messages WHERE id > ?1 ORDER BY id LIMIT ?2)",
            rusqlite::params![upto, limit as i64],
            |row| row.get(0),
        )
        .optional()?
        .flatten();
    let Some(last) = last else {
        return Ok(0);
    };
    // The trigger that takes a deleted message out (schema step 4) gives the index this same text.
    let indexed = transaction.execute(
        &format!(
            "INSERT INTO messages_text (rowid, text)
             SELECT id, text || ' ' || CASE WHEN room_id IS NOT NULL THEN '{ROOM_TOKEN}' || room_id
                 ELSE coalesce('{ACCOUNT_TOKEN}' || from_account, '') || ' ' || coalesce('{ACCOUNT_TOKEN}' || to_account, '')
             END
             FROM messages WHERE id > ?1 AND id <= ?2"
        ),
        [upto, last],
    )?;
    transaction.execute("UPDATE text_indexed SET upto = ?1", [last])?;
    transaction.commit()?;
    Ok(indexed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_index_what_is_new_in_batches_and_pruning_keeps_the_index_whole() {
        let mut connection = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut connection).unwrap();
        connection
            .execute("INSERT INTO rooms (name) VALUES ('lobby')", [])
            .unwrap();
        let add = |c: &Connection, text: &str| {
            c.execute(
                "INSERT INTO messages (ts, room_id, from_nick, text) VALUES (0, 1, 'a', ?1)",
                [text],
            )
            .unwrap();
        };
        for n in 0..25 {
            add(&connection, &format!("word{n} common"));
        }
        let steps: Vec<usize> = (0..4).map(|_| index_step(&mut connection, 10).unwrap()).collect();
        assert_eq!(steps, vec![10, 10, 5, 0]);
        add(&connection, "late common");
        // Deleting indexed and unindexed messages alike leaves an index that passes its own check.
        connection
            .execute("DELETE FROM messages WHERE id IN (1, 26)", [])
            .unwrap();
        connection
            .execute(
                "INSERT INTO messages_text (messages_text) VALUES ('integrity-check')",
                [],
            )
            .unwrap();
        let matches = |c: &Connection, word: &str| -> i64 {
            c.query_row(
                "SELECT count(*) FROM messages_text WHERE messages_text MATCH ?1",
                [word],
                |row| row.get(0),
            )
            .unwrap()
        };
        assert_eq!(matches(&connection, "common"), 24);
        assert_eq!(matches(&connection, "word0"), 0);
        assert_eq!(matches(&connection, &room_token(1)), 24);
        assert_eq!(index_step(&mut connection, 10).unwrap(), 0);
    }

    #[test]
    fn the_index_holds_a_steps_terms_in_memory() {
        let mut connection = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut connection).unwrap();
        let hashsize: i64 = connection
            .query_row("SELECT v FROM messages_text_config WHERE k = 'hashsize'", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(hashsize, PENDING_TERMS_BYTES as i64);
    }
}
