//! History and search: who may read which conversation, the store requests that fetch it, and the
//! events that carry the answer.

use super::{Ask, Done, Effects, Hub, Refusal};
use crate::names::{ConnId, Nick, RoomName};
use crate::protocol::{ErrorCode, Event, Message, MessageId, Millis, RequestId};
use crate::store::{
    Conversation, Destination, HISTORY_PAGE_MAX, HistoryPage, PageAt, PageRequest, SEARCH_RESULTS_MAX, SearchRequest,
    StoredMessage,
};

/// How many of a room's latest messages a plain-text client is shown when it joins.
pub const JOIN_HISTORY_PLAIN: usize = 10;
/// A history page's size when the request names none.
const DEFAULT_PAGE: usize = 100;
/// A search's size when the request names none.
const DEFAULT_MATCHES: usize = 20;

/// The request for a room's latest `limit` messages.
pub(super) fn latest(room: RoomName, limit: usize) -> Ask {
    Ask::Page(PageRequest {
        conversation: Conversation::Room(room),
        at: PageAt::Latest,
        limit,
        until: None,
    })
}

/// A stored message as a `message` event shows it.
pub fn message_of(stored: StoredMessage) -> Message {
    let StoredMessage { id, message } = stored;
    let (room, to) = match message.to {
        Destination::Room(room) => (Some(room), None),
        Destination::Direct(to) => (None, Some(to.nick)),
    };
    Message {
        id,
        ts: message.ts,
        from: message.from.nick,
        account: None,
        room,
        to,
        text: message.text,
        action: message.action,
    }
}

fn bounded(limit: Option<usize>, default: usize, max: usize, what: &str) -> Result<usize, Refusal> {
    match limit.unwrap_or(default) {
        n @ 1.. if n <= max => Ok(n),
        _ => Err((ErrorCode::BadRequest, format!("{what} holds 1 to {max} messages"))),
    }
}

impl Hub {
    pub(super) fn history(
        &mut self,
        conn: ConnId,
        room: Option<RoomName>,
        with: Option<Nick>,
        (after, before, after_time, before_time): (
            Option<MessageId>,
            Option<MessageId>,
            Option<Millis>,
            Option<Millis>,
        ),
        limit: Option<usize>,
        out: &mut Effects,
    ) -> Result<Done, Refusal> {
        let limit = bounded(limit, DEFAULT_PAGE, HISTORY_PAGE_MAX, "a history page")?;
        let at = match (after, before, after_time, before_time) {
            (None, None, None, None) => PageAt::Latest,
            (Some(after), None, None, None) => PageAt::After(after),
            (None, Some(before), None, None) => PageAt::Before(before),
            (None, None, Some(after), None) => PageAt::AfterTime(after),
            (None, None, None, Some(before)) => PageAt::BeforeTime(before),
            _ => {
                return Err((
                    ErrorCode::BadRequest,
                    "ask for one of after, before, after_time and before_time".to_owned(),
                ));
            }
        };
        let conversation = match (room, with) {
            (Some(_), Some(_)) => {
                return Err((
                    ErrorCode::BadRequest,
                    "ask for a room or with a nick, not both".to_owned(),
                ));
            }
            (room, None) => Conversation::Room(self.readable_room(conn, room)?),
            (None, Some(with)) => {
                let Some(account) = self.members[&conn].account.as_ref() else {
                    return Err((
                        ErrorCode::NotLoggedIn,
                        "direct messages are kept for accounts only: /register to keep yours".to_owned(),
                    ));
                };
                Conversation::Direct {
                    account: account.id,
                    with,
                }
            }
        };
        let ask = Ask::Page(PageRequest {
            conversation,
            at,
            limit,
            until: None,
        });
        out.ask(conn, self.request_id.clone(), ask);
        Ok(Done::Asked)
    }

    pub(super) fn search(
        &mut self,
        conn: ConnId,
        query: String,
        room: Option<RoomName>,
        limit: Option<usize>,
        out: &mut Effects,
    ) -> Result<Done, Refusal> {
        let limit = bounded(limit, DEFAULT_MATCHES, SEARCH_RESULTS_MAX, "a search")?;
        let member = &self.members[&conn];
        // Naming a room searches that room alone; otherwise every room one is in and one's direct messages.
        let (rooms, account) = match room {
            Some(room) => (vec![self.readable_room(conn, Some(room))?], None),
            None => (member.rooms.clone(), member.account.as_ref().map(|a| a.id)),
        };
        let ask = Ask::Search(SearchRequest {
            query,
            rooms,
            account,
            limit,
        });
        out.ask(conn, self.request_id.clone(), ask);
        Ok(Done::Asked)
    }

    /// The room named (or the current one), if `conn` is in it: only members read a room's history.
    fn readable_room(&self, conn: ConnId, room: Option<RoomName>) -> Result<RoomName, Refusal> {
        let room = self.room_of(conn, room)?;
        if !self.rooms.get(&room).is_some_and(|r| r.contains(conn)) {
            return Err((
                ErrorCode::NotInRoom,
                format!("you are not in {room}; /join {room} first"),
            ));
        }
        Ok(room)
    }

    pub(super) fn page_answered(
        &mut self,
        conn: ConnId,
        (conversation, id): (Conversation, Option<RequestId>),
        page: HistoryPage,
        out: &mut Effects,
    ) -> Done {
        let (room, with) = match conversation {
            Conversation::Room(room) => (Some(room), None),
            Conversation::Direct { with, .. } => (None, Some(with)),
        };
        let messages = page.messages.into_iter().map(|m| self.with_account(m)).collect();
        out.tell(
            conn,
            Event::History {
                room,
                with,
                messages,
                more: page.more,
                id,
            },
        );
        Done::Answered(None)
    }

    /// A stored message as a `message` event shows it, with its author's account by name.
    fn with_account(&self, stored: StoredMessage) -> Message {
        let account = stored
            .message
            .from
            .account
            .and_then(|id| self.account_names.get(&id).cloned());
        Message {
            account,
            ..message_of(stored)
        }
    }

    pub(super) fn search_answered(
        &mut self,
        conn: ConnId,
        query: String,
        found: Vec<StoredMessage>,
        out: &mut Effects,
    ) -> Done {
        let messages = found.into_iter().map(|m| self.with_account(m)).collect();
        out.tell(conn, Event::Search { query, messages });
        Done::Answered(None)
    }
}
