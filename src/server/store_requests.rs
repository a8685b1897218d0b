//! Carrying out the hub's asks of the store, many sessions' at once but each session's in turn, and
//! handing their answers back as hub inputs. A session's reader waits until the asks its requests made are answered, as it waits for
//! the hub, so no client can keep more than one batch of requests at the store.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use super::logins::Logins;
use super::outbox::Outbox;
use crate::hub::{Answer, Ask, Input, refusal_of};
use crate::names::{ConnId, ConnMap};
use crate::protocol::RequestId;

/// An ask on its way: its answer, for whom, and whether its session waits for it to read on.
type Answering = Pin<Box<dyn Future<Output = (ConnId, Option<RequestId>, Answer, bool)> + Send>>;

pub struct StoreRequests {
    logins: Logins,
    running: FuturesUnordered<Answering>,
    /// Each session's asks after the one running, so its answers come in the order it asked.
    queued: ConnMap<VecDeque<Answering>>,
    /// Sessions that may read on once this many of their asks are answered.
    held: ConnMap<(Arc<Outbox>, usize)>,
}

impl StoreRequests {
    pub fn new(logins: Logins) -> StoreRequests {
        StoreRequests {
            logins,
            running: FuturesUnordered::new(),
            queued: ConnMap::default(),
            held: ConnMap::default(),
        }
    }

    /// Starts the asks a batch made; the requester reads on once those that are its own are answered.
    pub fn start(&mut self, asks: Vec<(ConnId, Option<RequestId>, Ask)>, release: Option<(ConnId, Arc<Outbox>)>) {
        let mut own = 0;
        for (conn, id, ask) in asks {
            // Every ask a session's requests made holds it until answered, so what waits here for
            // one session is at most one batch's worth.
            let holds = release.as_ref().is_some_and(|(requester, _)| *requester == conn);
            own += usize::from(holds);
            let logins = self.logins.clone();
            // Nothing is asked of the store until the future is first polled.
            let answering: Answering = Box::pin(async move { (conn, id, carry_out(&logins, ask).await, holds) });
            match self.queued.get_mut(&conn) {
                Some(queue) => queue.push_back(answering),
                None => {
                    self.queued.insert(conn, VecDeque::new());
                    self.running.push(answering);
                }
            }
        }
        match release {
            Some((conn, outbox)) if own > 0 => {
                self.held.insert(conn, (outbox, own));
            }
            Some((_, outbox)) => outbox.input_taken(),
            None => {}
        }
    }

    /// The next answer, as the hub's input (forever pending while none is running). Cancel-safe.
    pub async fn next(&mut self) -> Input {
        let Some((conn, id, answer, held)) = self.running.next().await else {
            return std::future::pending().await;
        };
        match self.queued.get_mut(&conn).and_then(VecDeque::pop_front) {
            Some(next) => self.running.push(next),
            None => {
                self.queued.remove(&conn);
            }
        }
        if held && let Some((_, left)) = self.held.get_mut(&conn) {
            *left -= 1;
            if *left == 0
                && let Some((outbox, _)) = self.held.remove(&conn)
            {
                outbox.input_taken();
            }
        }
        Input::Answer { conn, id, answer }
    }
}

async fn carry_out(logins: &Logins, ask: Ask) -> Answer {
    let store = logins.store();
    let refused = |e: crate::store::StoreError| refusal_of(&e);
    match ask {
        Ask::Page(request) => Answer::Page {
            conversation: request.conversation.clone(),
            result: store.page(request).await.map_err(refused),
        },
        Ask::Search(request) => Answer::Search {
            query: request.query.clone(),
            result: store.search(request).await.map_err(refused),
        },
        Ask::Register { nick, password, now } => {
            Answer::Registered(store.create_account(nick, password.0, now).await.map_err(refused))
        }
        Ask::Login { nick, password, ip } => Answer::LoggedIn(logins.verify(nick, password, ip).await),
        Ask::Passwd { account, password } => {
            Answer::PasswordChanged(store.set_password(account, password.0).await.map_err(refused))
        }
        Ask::Unregister { account, password, ip } => {
            let result = match logins.verify(account.clone(), password, ip).await {
                Ok(_) => store.delete_account(account).await.map_err(refused),
                Err(refusal) => Err(refusal),
            };
            Answer::Unregistered(result)
        }
        Ask::SaveRoom(room) => Answer::RoomSaved(store.save_room(room).await.map_err(refused)),
        Ask::Ban(ban) => Answer::Banned(store.ban(ban).await.map_err(refused)),
        Ask::Unban(target) => Answer::Unbanned(store.unban(target).await.map_err(refused)),
    }
}
