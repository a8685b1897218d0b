//! What the hub asks of the store (`Effect::Ask`), what comes back (`Input::Answer`), and what the
//! store gives the hub when the server starts.

use core::net::IpAddr;

use super::{Done, Effects, Hub, Refusal};
use crate::names::{ConnId, Nick};
use crate::protocol::{ErrorCode, Event, Millis, Password, RequestId};
use crate::store::{
    Account, Ban, BanTarget, Conversation, HistoryPage, PageRequest, RoomRecord, SearchRequest, StoreError,
    StoredMessage,
};

/// A request for the store, carried out by the server once everything decided before it is delivered.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    /// A page of history: no message is in it that the asker is sent live after it.
    Page(PageRequest),
    Search(SearchRequest),
    Register {
        nick: Nick,
        password: Password,
        now: Millis,
    },
    /// Check a password, within the limits on failed logins per address and per account.
    Login {
        nick: Nick,
        password: Password,
        ip: Option<IpAddr>,
    },
    Passwd {
        account: Nick,
        password: Password,
    },
    /// Delete the account if the password is its own.
    Unregister {
        account: Nick,
        password: Password,
        ip: Option<IpAddr>,
    },
    SaveRoom(RoomRecord),
    Ban(Ban),
    Unban(BanTarget),
}

/// The store's answer to an `Ask`, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Page {
        conversation: Conversation,
        result: Result<HistoryPage, Refusal>,
    },
    Search {
        query: String,
        result: Result<Vec<StoredMessage>, Refusal>,
    },
    Registered(Result<Account, Refusal>),
    LoggedIn(Result<Account, Refusal>),
    PasswordChanged(Result<(), Refusal>),
    Unregistered(Result<(), Refusal>),
    RoomSaved(Result<(), Refusal>),
    Banned(Result<(), Refusal>),
    Unbanned(Result<bool, Refusal>),
}

/// What the store kept from before: the hub starts from it.
#[derive(Debug, Clone, Default)]
pub struct Restored {
    pub rooms: Vec<RoomRecord>,
    pub accounts: Vec<Account>,
    pub bans: Vec<Ban>,
}

/// How a store's error is told to the user who asked.
pub fn refusal_of(error: &StoreError) -> Refusal {
    let code = match error {
        StoreError::WrongPassword | StoreError::NoSuchAccount(_) => ErrorCode::WrongPassword,
        StoreError::AccountExists(_) => ErrorCode::NickTaken,
        StoreError::Invalid(_) => ErrorCode::BadRequest,
        StoreError::Full
        | StoreError::ReadOnly
        | StoreError::Locked
        | StoreError::Disk(_)
        | StoreError::Overloaded
        | StoreError::Closed
        | StoreError::TooNew { .. } => ErrorCode::Unavailable,
    };
    (code, error.to_string())
}

impl Hub {
    pub(super) fn answered(&mut self, conn: ConnId, id: Option<RequestId>, answer: Answer, out: &mut Effects) {
        if !self.members.contains_key(&conn) {
            return;
        }
        let done = match answer {
            Answer::Page { conversation, result } => {
                result.map(|page| self.page_answered(conn, (conversation, id.clone()), page, out))
            }
            Answer::Search { query, result } => result.map(|found| self.search_answered(conn, query, found, out)),
            Answer::Registered(result) => result.map(|account| self.registered(conn, account, out)),
            Answer::LoggedIn(result) => result.and_then(|account| self.logged_in(conn, account, out)),
            Answer::Unregistered(result) => result.map(|()| self.unregistered(conn, out)),
            Answer::PasswordChanged(result) | Answer::RoomSaved(result) | Answer::Banned(result) => {
                result.map(|()| Done::Answered(None))
            }
            Answer::Unbanned(result) => result.map(|_| Done::Answered(None)),
        };
        match done {
            Ok(Done::Answered(_)) => {
                if let Some(id) = id {
                    out.tell(
                        conn,
                        Event::Ack {
                            id,
                            message: None,
                            ts: None,
                        },
                    );
                }
            }
            Ok(Done::Gone | Done::Asked) => {}
            Err((code, message)) => out.tell(conn, Event::Error { id, code, message }),
        }
    }
}
