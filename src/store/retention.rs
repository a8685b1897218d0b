//! Retention: how old and how many messages are kept, and pruning the rest a small batch at a time,
//! so that the writer, which runs each batch between two group commits, is never held up for long.

use std::time::Duration;

use rusqlite::{Connection, params};

use crate::protocol::Millis;

use super::StoreError;

/// The most messages one pruning step deletes.
pub const PRUNE_BATCH_ROWS: usize = 1000;
/// How often pruning looks for work once it has found none.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// Messages older than this are pruned by default (a year).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// Messages kept per room by default, the newest.
pub const DEFAULT_MAX_PER_ROOM: u64 = 1_000_000;

/// What is kept; `None` keeps everything in that respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Messages (room and direct) older than this are pruned.
    pub max_age: Option<Duration>,
    /// Each room keeps at most this many of its newest messages.
    pub max_per_room: Option<u64>,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            max_age: Some(DEFAULT_MAX_AGE),
            max_per_room: Some(DEFAULT_MAX_PER_ROOM),
        }
    }
}

impl Retention {
    /// Keep everything.
    pub const FOREVER: Retention = Retention {
        max_age: None,
        max_per_room: None,
    };

    /// Delete at most [`PRUNE_BATCH_ROWS`] messages that the policy no longer keeps, in one
    /// transaction; how many were deleted (a full batch means there may be more).
    pub fn prune_step(&self, connection: &mut Connection, now: Millis) -> Result<usize, StoreError> {
        let transaction = connection.transaction()?;
        let mut deleted = 0;
        if let Some(max_age) = self.max_age {
            let cutoff = now.saturating_sub(u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX));
            deleted += prune_older(&transaction, cutoff, PRUNE_BATCH_ROWS)?;
        }
        if let Some(keep) = self.max_per_room {
            let keep = i64::try_from(keep).unwrap_or(i64::MAX);
            let over: Vec<(i64, i64)> = transaction
                .prepare_cached("SELECT id, messages - ?1 FROM rooms WHERE messages > ?1 ORDER BY id")?
                .query_map([keep], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?;
            for (room_id, excess) in over {
                if deleted >= PRUNE_BATCH_ROWS {
                    break;
                }
                let room_limit = usize::try_from(excess).unwrap_or(0).min(PRUNE_BATCH_ROWS - deleted);
                deleted += prune_room(&transaction, room_id, room_limit)?;
            }
        }
        transaction.commit()?;
        Ok(deleted)
    }
}

/// Delete the oldest messages (by id) stamped before `cutoff`, stopping at the first one that is not.
/// Ids follow time, so this never scans past the old ones.
fn prune_older(connection: &Connection, cutoff: Millis, limit: usize) -> Result<usize, StoreError> {
    let mut oldest = connection.prepare_cached("SELECT id, ts FROM messages ORDER BY id LIMIT ?1")?;
    let mut last_old = None;
    let mut rows = oldest.query([limit as i64])?;
    while let Some(row) = rows.next()? {
        let (id, ts): (i64, i64) = (row.get(0)?, row.get(1)?);
        if ts >= i64::try_from(cutoff).unwrap_or(i64::MAX) {
            break;
        }
        last_old = Some(id);
    }
    match last_old {
        Some(last) => Ok(connection.execute("DELETE FROM messages WHERE id <= ?1", [last])?),
        None => Ok(0),
    }
}

/// Delete a room's `limit` oldest messages. Only those are walked: the room's count says how many
/// are too many.
fn prune_room(connection: &Connection, room_id: i64, limit: usize) -> Result<usize, StoreError> {
    Ok(connection.execute(
        "DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE room_id = ?1 ORDER BY id LIMIT ?2)",
        params![room_id, limit as i64],
    )?)
}
