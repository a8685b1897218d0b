//! Reading: history pages, searches, rooms, accounts and bans, each a query on a read connection of its
//! own, so reads go on while the writer commits (WAL) and even when writing has failed.

use std::net::IpAddr;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::names::{Nick, RoomName};
use crate::protocol::{MessageId, Millis};

use super::search::fts_query;
use super::text_index::{account_token, room_token};
use super::{
    ANSWER_TEXT_MAX_BYTES, Account, AccountId, Author, Ban, BanTarget, Conversation, Destination, HISTORY_PAGE_MAX,
    HistoryPage, LISTING_MAX_ROWS, NewMessage, PageAt, PageRequest, RoomRecord, SEARCH_RESULTS_MAX, SEARCH_ROOMS_MAX,
    SearchRequest, StoreError, StoredMessage,
};

/// The columns every message query selects, in the order [`message_from_row`] reads them.
const MESSAGE_COLUMNS: &str =
    "m.id, m.ts, r.name, m.from_nick, m.from_account, m.to_nick, m.to_account, m.action, m.text";

pub fn page(connection: &Connection, request: &PageRequest) -> Result<HistoryPage, StoreError> {
    if request.limit == 0 || request.limit > HISTORY_PAGE_MAX {
        return Err(StoreError::Invalid(format!(
            "a history page holds 1 to {HISTORY_PAGE_MAX} messages"
        )));
    }
    let at = by_id(connection, request.at)?;
    // Latest and Before walk back from the end, After walks forward; `?3` is the id to start from.
    let (order, bound) = match at {
        PageAt::Latest => ("DESC", "?3 IS NOT NULL"),
        PageAt::After(_) => ("ASC", "id > ?3"),
        PageAt::Before(_) => ("DESC", "id < ?3"),
        PageAt::AfterTime(_) | PageAt::BeforeTime(_) => unreachable!("`by_id` turned times into ids"),
    };
    let at = match at {
        PageAt::After(id) | PageAt::Before(id) => i64::try_from(id.0).unwrap_or(i64::MAX),
        _ => 0,
    };
    let until = request
        .until
        .map_or(i64::MAX, |id| i64::try_from(id.0).unwrap_or(i64::MAX));
    let bound = format!("{bound} AND id <= ?5");
    // Each way a message can belong to the conversation is its own index walk, stopping at the limit.
    let (ids, key, with): (String, rusqlite::types::Value, Option<&str>) = match &request.conversation {
        Conversation::Room(room) => (
            format!(
                "SELECT id FROM messages WHERE room_id = (SELECT id FROM rooms WHERE name = ?1) AND ?2 IS NULL
                 AND {bound} ORDER BY id {order} LIMIT ?4"
            ),
            room.as_str().to_owned().into(),
            None,
        ),
        Conversation::Direct { account, with } => (
            format!(
                "SELECT id FROM (SELECT id FROM messages WHERE to_nick IS NOT NULL AND from_account = ?1
                     AND to_nick = ?2 AND {bound} ORDER BY id {order} LIMIT ?4)
                 UNION
                 SELECT id FROM (SELECT id FROM messages WHERE to_nick IS NOT NULL AND to_account = ?1
                     AND from_nick = ?2 AND {bound} ORDER BY id {order} LIMIT ?4)"
            ),
            account.0.into(),
            Some(with.as_str()),
        ),
    };
    let sql = format!(
        "WITH page(id) AS ({ids})
         SELECT {MESSAGE_COLUMNS} FROM page CROSS JOIN messages m ON m.id = page.id
         LEFT JOIN rooms r ON r.id = m.room_id ORDER BY m.id {order} LIMIT ?4"
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(
        params![key, with, at, (request.limit + 1) as i64, until],
        message_from_row,
    )?;
    let mut messages = rows
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let mut more = messages.len() > request.limit;
    messages.truncate(request.limit);
    more |= cut_to_answer_bytes(&mut messages);
    if order == "DESC" {
        messages.reverse();
    }
    Ok(HistoryPage { messages, more })
}

/// A place given by a time as the place in the order of ids where that time falls: before the first
/// message stamped later (`AfterTime`) or not earlier (`BeforeTime`) than it, found through the
/// index of stamps.
fn by_id(connection: &Connection, at: PageAt) -> Result<PageAt, StoreError> {
    let first_from = |sql: &str, ts: Millis| -> Result<MessageId, StoreError> {
        let ts = i64::try_from(ts).unwrap_or(i64::MAX);
        let id: Option<i64> = connection
            .prepare_cached(sql)?
            .query_row(params![ts], |row| row.get(0))
            .optional()?;
        Ok(MessageId(id.map_or(u64::MAX, |id| u64::try_from(id).unwrap_or(0))))
    };
    Ok(match at {
        PageAt::AfterTime(ts) => {
            let first = first_from("SELECT id FROM messages WHERE ts > ?1 ORDER BY ts, id LIMIT 1", ts)?;
            PageAt::After(MessageId(first.0.saturating_sub(1)))
        }
        PageAt::BeforeTime(ts) => PageAt::Before(first_from(
            "SELECT id FROM messages WHERE ts >= ?1 ORDER BY ts, id LIMIT 1",
            ts,
        )?),
        at => at,
    })
}

pub fn search(connection: &Connection, request: &SearchRequest) -> Result<Vec<StoredMessage>, StoreError> {
    if request.limit == 0 || request.limit > SEARCH_RESULTS_MAX {
        return Err(StoreError::Invalid(format!(
            "a search returns 1 to {SEARCH_RESULTS_MAX} messages"
        )));
    }
    if request.rooms.len() > SEARCH_ROOMS_MAX {
        return Err(StoreError::Invalid(format!(
            "a search looks in at most {SEARCH_ROOMS_MAX} rooms"
        )));
    }
    let rooms: Vec<&str> = request.rooms.iter().map(RoomName::as_str).collect();
    let rooms = serde_json::to_string(&rooms).map_err(|e| StoreError::Invalid(e.to_string()))?;
    let room_ids: Vec<i64> = connection
        .prepare_cached("SELECT id FROM rooms WHERE name IN (SELECT value FROM json_each(?1))")?
        .query_map([&rooms], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut scope: Vec<String> = room_ids.into_iter().map(room_token).collect();
    scope.extend(request.account.map(|account| account_token(account.0)));
    let words = fts_query(&request.query, None)?;
    if scope.is_empty() {
        return Ok(Vec::new());
    }
    let account = request.account.map(|a| a.0);
    // Asking the index for the scope's tokens too is fast when the scope is a small part of the
    // matches and slow when it is most of them (the index then intersects with a huge list). So first
    // look at the newest matches of the words alone; only when too few of those are in scope does
    // the index narrow the search to the scope.
    let mut found = match newest_in_scope(connection, &words, request)? {
        Some(found) => found,
        None => {
            let narrowed = fts_query(&request.query, Some(&scope))?;
            scoped_matches(connection, &narrowed, &rooms, account, request.limit)?
        }
    };
    cut_to_answer_bytes(&mut found);
    Ok(found)
}

/// Keeps the messages (nearest the page's start first) whose texts fit in `ANSWER_TEXT_MAX_BYTES`,
/// at least one; whether any were cut.
fn cut_to_answer_bytes(messages: &mut Vec<StoredMessage>) -> bool {
    let mut total = 0;
    let fit = messages
        .iter()
        .position(|m| {
            total += m.message.text.len();
            total > ANSWER_TEXT_MAX_BYTES
        })
        .map_or(messages.len(), |over| over.max(1));
    let cut = fit < messages.len();
    messages.truncate(fit);
    cut
}

/// How many of the newest matches of a search's words alone are looked at before the search asks
/// the index for its scope as well.
const UNSCOPED_MATCHES_SEEN: usize = 500;

/// Whether a message is in a search's scope, in SQL: `?2` a JSON array of room names, `?3` an account.
const IN_SCOPE: &str = "(m.room_id IN (SELECT id FROM rooms WHERE name IN (SELECT value FROM json_each(?2)))
     OR (?3 IS NOT NULL AND m.to_nick IS NOT NULL AND (m.from_account = ?3 OR m.to_account = ?3)))";

/// The page from the newest [`UNSCOPED_MATCHES_SEEN`] matches of the words alone, taken newest
/// first until the page is full; `None` when those were too few in scope and there are more.
fn newest_in_scope(
    connection: &Connection,
    words: &str,
    request: &SearchRequest,
) -> Result<Option<Vec<StoredMessage>>, StoreError> {
    let mut matches = connection
        .prepare_cached("SELECT rowid FROM messages_text WHERE messages_text MATCH ?1 ORDER BY rowid DESC LIMIT ?2")?;
    let mut message = connection.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m LEFT JOIN rooms r ON r.id = m.room_id WHERE m.id = ?1"
    ))?;
    let mut rows = matches.query(params![words, UNSCOPED_MATCHES_SEEN as i64])?;
    let mut found = Vec::new();
    let mut seen = 0;
    while let Some(row) = rows.next()? {
        seen += 1;
        let id: i64 = row.get(0)?;
        let Some(hit) = message.query_row([id], message_from_row).optional()? else {
            continue;
        };
        let hit = hit?;
        if in_scope(&hit.message, request) {
            found.push(hit);
            if found.len() == request.limit {
                return Ok(Some(found));
            }
        }
    }
    Ok((seen < UNSCOPED_MATCHES_SEEN).then_some(found))
}

/// Whether a search may find this message: in one of its rooms, or a direct message to or from its account.
fn in_scope(message: &NewMessage, request: &SearchRequest) -> bool {
    match &message.to {
        Destination::Room(room) => request.rooms.contains(room),
        Destination::Direct(to) => {
            request.account.is_some() && (message.from.account == request.account || to.account == request.account)
        }
    }
}

/// The newest messages matching `query`, which names the scope's tokens, that are in the scope.
fn scoped_matches(
    connection: &Connection,
    query: &str,
    rooms: &str,
    account: Option<i64>,
    limit: usize,
) -> Result<Vec<StoredMessage>, StoreError> {
    // The index walked newest first, each match checked against the scope, stopping at the page's
    // end: no sort, however many matches there are.
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages_text CROSS JOIN messages m ON m.id = messages_text.rowid
         LEFT JOIN rooms r ON r.id = m.room_id
         WHERE messages_text MATCH ?1 AND {IN_SCOPE}
         ORDER BY messages_text.rowid DESC LIMIT ?4"
    );
    let mut statement = connection.prepare_cached(&sql)?;
    let rows = statement.query_map(params![query, rooms, account, limit as i64], message_from_row)?;
    rows.collect::<Result<Vec<_>, _>>()?.into_iter().collect()
}

/// A message row read back; a row that no longer makes a valid message is reported, not trusted.
fn message_from_row(row: &Row<'_>) -> rusqlite::Result<Result<StoredMessage, StoreError>> {
    let id: i64 = row.get(0)?;
    let ts: i64 = row.get(1)?;
    let room: Option<String> = row.get(2)?;
    let from_nick: String = row.get(3)?;
    let from_account: Option<i64> = row.get(4)?;
    let to_nick: Option<String> = row.get(5)?;
    let to_account: Option<i64> = row.get(6)?;
    let action: bool = row.get(7)?;
    let text: String = row.get(8)?;
    Ok((|| {
        let to = match (room, to_nick) {
            (_, Some(nick)) => Destination::Direct(Author {
                nick: stored_nick(&nick)?,
                account: to_account.map(AccountId),
            }),
            (Some(room), None) => Destination::Room(RoomName::parse(&room).map_err(|e| corrupt(id, &e.to_string()))?),
            (None, None) => return Err(corrupt(id, "neither a room nor a recipient")),
        };
        Ok(StoredMessage {
            id: MessageId(u64::try_from(id).map_err(|_| corrupt(id, "a negative id"))?),
            message: NewMessage {
                ts: u64::try_from(ts).unwrap_or_default(),
                from: Author {
                    nick: stored_nick(&from_nick)?,
                    account: from_account.map(AccountId),
                },
                to,
                text,
                action,
            },
        })
    })())
}

fn corrupt(id: i64, what: &str) -> StoreError {
    StoreError::Disk(format!("message {id} in the database is damaged: {what}"))
}

fn stored_nick(text: &str) -> Result<Nick, StoreError> {
    Nick::parse(text).map_err(|e| StoreError::Disk(format!("a nick in the database is damaged: {e}")))
}

/// The greatest id ever given to a message, pruned or not.
pub fn last_message_id(connection: &Connection) -> Result<Option<MessageId>, StoreError> {
    let last: Option<i64> = connection
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'messages'")?
        .query_row([], |row| row.get(0))
        .optional()?;
    Ok(last.and_then(|id| u64::try_from(id).ok()).map(MessageId))
}

pub fn rooms(connection: &Connection) -> Result<Vec<RoomRecord>, StoreError> {
    let mut statement = connection.prepare_cached("SELECT name, topic FROM rooms ORDER BY name LIMIT ?1")?;
    let rows = statement.query_map([LISTING_MAX_ROWS as i64], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?))
    })?;
    let mut rooms = Vec::new();
    for row in rows {
        let (name, topic) = row?;
        let name = RoomName::parse(&name)
            .map_err(|e| StoreError::Disk(format!("a room name in the database is damaged: {e}")))?;
        rooms.push(RoomRecord { name, topic });
    }
    Ok(rooms)
}

/// An account and its password hash.
pub fn account_with_hash(connection: &Connection, name: &Nick) -> Result<Option<(Account, String)>, StoreError> {
    let row = connection
        .prepare_cached("SELECT id, name, operator, created, hash FROM accounts WHERE name = ?1")?
        .query_row([name.as_str()], |row| {
            Ok((account_from_row(row)?, row.get::<_, String>(4)?))
        })
        .optional()?;
    row.map(|(account, hash)| Ok((account?, hash))).transpose()
}

pub fn accounts(connection: &Connection) -> Result<Vec<Account>, StoreError> {
    let mut statement =
        connection.prepare_cached("SELECT id, name, operator, created FROM accounts ORDER BY name LIMIT ?1")?;
    let rows = statement.query_map([LISTING_MAX_ROWS as i64], account_from_row)?;
    rows.collect::<Result<Vec<_>, _>>()?.into_iter().collect()
}

fn account_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Account, StoreError>> {
    let id: i64 = row.get(0)?;
    let name: String = row.get(1)?;
    let operator: bool = row.get(2)?;
    let created: i64 = row.get(3)?;
    Ok(stored_nick(&name).map(|name| Account {
        id: AccountId(id),
        name,
        operator,
        created: u64::try_from(created).unwrap_or_default(),
    }))
}

pub fn bans(connection: &Connection, now: Millis) -> Result<Vec<Ban>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT target, reason, set_by, set_at, expires FROM bans
         WHERE expires IS NULL OR expires > ?1 ORDER BY set_at LIMIT ?2",
    )?;
    let rows = statement.query_map(params![now as i64, LISTING_MAX_ROWS as i64], ban_from_row)?;
    rows.collect::<Result<Vec<_>, _>>()?.into_iter().collect()
}

pub fn ban_for(connection: &Connection, nick: &Nick, ip: IpAddr, now: Millis) -> Result<Option<Ban>, StoreError> {
    let mut statement = connection.prepare_cached(
        "SELECT target, reason, set_by, set_at, expires FROM bans
         WHERE target IN (?1, ?2) AND (expires IS NULL OR expires > ?3) LIMIT 1",
    )?;
    let nick_key = BanTarget::Nick(nick.clone()).key();
    let ip_key = BanTarget::Ip(ip).key();
    statement
        .query_row(params![nick_key, ip_key, now as i64], ban_from_row)
        .optional()?
        .transpose()
}

fn ban_from_row(row: &Row<'_>) -> rusqlite::Result<Result<Ban, StoreError>> {
    let target: String = row.get(0)?;
    let reason: Option<String> = row.get(1)?;
    let set_by: String = row.get(2)?;
    let set_at: i64 = row.get(3)?;
    let expires: Option<i64> = row.get(4)?;
    Ok((|| {
        let target = BanTarget::from_key(&target)
            .ok_or_else(|| StoreError::Disk(format!("a ban in the database is damaged: {target:?}")))?;
        Ok(Ban {
            target,
            reason,
            set_by: stored_nick(&set_by)?,
            set_at: u64::try_from(set_at).unwrap_or_default(),
            expires: expires.map(|t| u64::try_from(t).unwrap_or_default()),
        })
    })())
}

impl BanTarget {
    fn from_key(key: &str) -> Option<BanTarget> {
        if let Some(nick) = key.strip_prefix("nick:") {
            return Nick::parse(nick).ok().map(BanTarget::Nick);
        }
        key.strip_prefix("ip:")?.parse().ok().map(BanTarget::Ip)
    }
}
