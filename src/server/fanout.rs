//! Carrying out the hub's effects without ever waiting: frames queued to sessions, broadcasts appended
//! to room feeds, who follows which feed, and who is dropped for falling behind. What one message to
//! the hub task brought is then published together, and whoever waits for it is woken.

use std::collections::HashMap;
use std::sync::Arc;
use std::task::Waker;

use bytes::{Bytes, BytesMut};

use tokio::time::Instant;
use tracing::warn;

use super::Limits;
use super::feed::Feed;
use super::followers::Followers;
use super::liveness::{Liveness, Sweep};
use super::metrics::{DropReason, METRICS};
use super::outbox::{Follow, Item, Outbox, Pushed};
use super::sequence::{Published, Seq};
use crate::hub::{Addressee, Ask, Effect, Focus, Input};
use crate::names::{ConnId, ConnMap, Nick, RoomName};
use crate::protocol::{Event, MessageId, RequestId};
use crate::transport::irc::caps::Cap;
use crate::transport::irc::labeled::{self, Answer};
use crate::transport::{Encoded, Variant, WireMode};

/// Follows the session's own nick and account in what it is told.
fn keep_identity(link: &mut Link, event: &Event) {
    match event {
        Event::Account { account, .. } => link.account = account.clone().map(Box::new),
        Event::Welcome { nick, .. } => link.nick = Some(nick.clone()),
        Event::Renamed { from, to } if link.nick.as_ref() == Some(from) => link.nick = Some(to.clone()),
        _ => {}
    }
}

/// The hub task's end of one session.
pub struct Link {
    /// Items waiting to be written; bounded, so a client that does not read fills it.
    pub outbox: Arc<Outbox>,
    pub mode: WireMode,
    /// The nick the session's replies are addressed to (IRC's numerics): kept here from its welcome
    /// and its renames, since the replies are rendered here.
    pub nick: Option<Nick>,
    /// The account the session is logged in to, kept likewise: its echoes carry it (account-tag).
    /// Boxed, as every session has a link and most have no account.
    pub account: Option<Box<Nick>>,
    /// The labeled answer being told (IRC's labeled-response), from the ack that opens it to the one
    /// that closes it; boxed, as few sessions ever have one.
    pub answer: Option<Box<Answer>>,
}

/// `bytes`, an answer to `link`'s session, as its labeled answer makes it (held back, tagged, or
/// ended): `event` may open or close one. What others said (a message to oneself among it) is no
/// part of the answer and goes as it is.
fn labeled(link: &mut Link, event: &Event, bytes: Bytes, batches: &mut u64) -> Bytes {
    let WireMode::Irc(caps, _) = link.mode else {
        return bytes;
    };
    if link.answer.is_none() && !caps.has(Cap::LabeledResponse) {
        return bytes;
    }
    let mark = labeled::mark(event);
    let mut out = Vec::new();
    if let Some(label) = mark.opens.filter(|_| caps.has(Cap::LabeledResponse)) {
        // Never two at once (a session's lines wait for its asks), but one left open ends here.
        out.extend(link.answer.take().map(|answer| answer.finish()));
        *batches += 1;
        let batch = caps.has(Cap::Batch).then(|| format!("lr{batches}"));
        link.answer = Some(Box::new(Answer::new(&label, batch)));
    }
    let Some(answer) = link.answer.as_mut() else {
        return bytes;
    };
    out.push(if matches!(event, Event::Message(_)) {
        bytes
    } else {
        answer.take(bytes)
    });
    if mark.closes {
        out.extend(link.answer.take().map(|answer| answer.finish()));
    }
    out.retain(|part| !part.is_empty());
    if out.len() <= 1 {
        return out.pop().unwrap_or_default();
    }
    let mut all = BytesMut::with_capacity(out.iter().map(Bytes::len).sum());
    out.iter().for_each(|part| all.extend_from_slice(part));
    all.freeze()
}

pub struct Fanout {
    sessions: ConnMap<Link>,
    /// Structured sessions only: plain ones cannot answer a ping (TCP keepalive finds their peers).
    liveness: Liveness,
    rooms: HashMap<RoomName, Followers>,
    published: Arc<Published>,
    last: Seq,
    limits: Limits,
    /// The session whose requests the effects being applied answer.
    requester: Option<ConnId>,
    /// Labeled answers opened so far: each names its batch.
    labeled_answers: u64,
    /// The newest message id delivered so far: a history page asked for now stops there, since what
    /// comes after is delivered live.
    delivered_through: Option<MessageId>,
    /// The store requests met while applying, in order, for the hub task to carry out.
    asks: Vec<(ConnId, Option<RequestId>, Ask)>,
    /// What to wake once the current input's effects are published.
    outboxes_to_wake: Vec<Arc<Outbox>>,
    feeds_to_wake: Vec<Arc<Feed>>,
    wakers: Vec<Waker>,
}

impl Fanout {
    pub fn new(published: Arc<Published>, limits: Limits, delivered_through: Option<MessageId>) -> Fanout {
        Fanout {
            delivered_through,
            asks: Vec::new(),
            sessions: ConnMap::default(),
            liveness: Liveness::new(limits.ping_after, limits.ping_timeout, Instant::now()),
            requester: None,
            labeled_answers: 0,
            rooms: HashMap::new(),
            published,
            last: Seq::default(),
            limits,
            outboxes_to_wake: Vec::new(),
            feeds_to_wake: Vec::new(),
            wakers: Vec::new(),
        }
    }

    pub fn connect(&mut self, conn: ConnId, link: Link, now: Instant) {
        if link.mode.answers_pings() {
            self.liveness.heard(conn, now);
        }
        self.sessions.insert(conn, link);
    }

    /// The session sent something: it is alive.
    pub fn heard(&mut self, conn: ConnId, now: Instant) {
        self.liveness.heard_again(conn, now);
    }

    /// Pings the structured sessions silent for `ping_after`, and drops those that have not answered a
    /// ping within `ping_timeout`; returns their disconnections for the hub.
    pub fn sweep(&mut self, now: Instant) -> Vec<Input> {
        self.requester = None;
        let Sweep { ping: to_ping, dead } = self.liveness.sweep(now);
        let ping_timeout = self.liveness.ping_timeout();
        let mut dropped = Vec::new();
        let mut ping = Encoded::new(&Event::Ping);
        for conn in to_ping {
            self.last = self.last.next();
            let Some(link) = self.sessions.get(&conn) else {
                continue;
            };
            let bytes = ping.bytes(link.mode, Focus::Elsewhere);
            self.push(conn, Item::Frame(bytes), &mut dropped);
        }
        for conn in dead {
            let reason = format!("no answer to a ping within {} s", ping_timeout.as_secs_f64());
            METRICS.dropped(DropReason::PingTimeout);
            dropped.extend(self.drop_slow(conn, reason));
        }
        dropped
    }

    /// Carries out one input's effects; returns the disconnections of sessions that could not keep up.
    /// Nobody sees them until they are published.
    ///
    /// What goes to `requester`, whose requests these effects answer, is never refused for its size:
    /// the session's reader paces itself so that its answers are bounded.
    pub fn apply(&mut self, effects: Vec<Effect>, requester: Option<ConnId>) -> Vec<Input> {
        self.requester = requester;
        let mut dropped = Vec::new();
        for effect in effects {
            self.last = self.last.next();
            match effect {
                Effect::Deliver { event, to } => self.deliver(&event, &to, &mut dropped),
                Effect::Broadcast { room, event, except } => self.broadcast(&room, &event, except, &mut dropped),
                Effect::Follow { conn, room, focus } => self.follow(conn, room, focus, &mut dropped),
                Effect::Unfollow { conn, room } => self.unfollow(conn, &room, &mut dropped),
                Effect::Close { conn } => self.close(conn),
                Effect::Ask { conn, id, ask } => self.ask(conn, id, ask),
                Effect::Persist { .. } => unreachable!("the commit pipeline takes Persist effects out"),
            }
        }
        dropped
    }

    /// The store requests met since the last call, in order.
    pub fn take_asks(&mut self) -> Vec<(ConnId, Option<RequestId>, Ask)> {
        std::mem::take(&mut self.asks)
    }

    fn ask(&mut self, conn: ConnId, id: Option<RequestId>, mut ask: Ask) {
        if let Ask::Page(page) = &mut ask {
            page.until = self.delivered_through;
        }
        self.asks.push((conn, id, ask));
    }

    fn delivered(&mut self, event: &Event) {
        if let Event::Message(message) = event {
            self.delivered_through = self.delivered_through.max(Some(message.id));
        }
    }

    /// Makes everything applied so far visible to the writers, and wakes those waiting for it.
    pub fn publish(&mut self) {
        self.published.set(self.last);
        for outbox in self.outboxes_to_wake.drain(..) {
            outbox.wake();
        }
        for feed in self.feeds_to_wake.drain(..) {
            feed.wake_waiting(&mut self.wakers);
        }
        self.wakers.drain(..).for_each(Waker::wake);
    }

    fn deliver(&mut self, event: &Event, to: &[Addressee], dropped: &mut Vec<Input>) {
        self.delivered(event);
        let mut encoded = Encoded::new(event);
        for addressee in to {
            let answering = self.requester == Some(addressee.conn);
            let Some(link) = self.sessions.get_mut(&addressee.conn) else {
                continue;
            };
            keep_identity(link, event);
            let mut bytes = encoded.delivered(
                link.mode,
                addressee.focus,
                (link.nick.as_ref(), link.account.as_deref()),
            );
            if answering {
                bytes = labeled(link, event, bytes, &mut self.labeled_answers);
            }
            let was = link.mode;
            link.mode = was.after(event, link.nick.as_ref());
            let rendering_changed = Variant::of(was, addressee.focus) != Variant::of(link.mode, addressee.focus);
            if !bytes.is_empty() {
                self.push(addressee.conn, Item::Frame(bytes), dropped);
            }
            if rendering_changed {
                self.refollow(addressee.conn, addressee.focus, dropped);
            }
        }
    }

    /// `conn`'s rendering changed (an IRC client's capabilities): it reads its rooms' feeds in the
    /// new one from here on. Rare, so the rooms are looked through rather than kept per session.
    fn refollow(&mut self, conn: ConnId, focus: Focus, dropped: &mut Vec<Input>) {
        let Some(link) = self.sessions.get(&conn) else {
            return;
        };
        let variant = Variant::of(link.mode, focus);
        let follows: Vec<Follow> = self
            .rooms
            .values_mut()
            .filter(|followers| followers.follows(conn))
            .map(|followers| followers.follow(conn, variant))
            .collect();
        for follow in follows {
            self.push(conn, Item::Follow(follow), dropped);
        }
    }

    fn broadcast(&mut self, room: &RoomName, event: &Event, except: Option<ConnId>, dropped: &mut Vec<Input>) {
        self.delivered(event);
        let Some(followers) = self.rooms.get_mut(room) else {
            return;
        };
        // A requester telling a labeled answer reads its own part of what its request made the room
        // see (its JOIN, PART, NICK) as part of that answer, from its outbox at the same place.
        let answering = self.requester.filter(|&conn| {
            except.is_none()
                && !matches!(event, Event::Message(_))
                && self.sessions.get(&conn).is_some_and(|link| link.answer.is_some())
                && followers.follows(conn)
        });
        let mut encoded = Encoded::new(event);
        let laggards = followers.append(self.last, &mut encoded, except.or(answering));
        let feed = followers.feed();
        if !self.feeds_to_wake.last().is_some_and(|last| Arc::ptr_eq(last, feed)) {
            self.feeds_to_wake.push(feed.clone());
        }
        for conn in laggards {
            METRICS.dropped(DropReason::SlowFeed);
            let reason = format!(
                "too slow: more than {} bytes of {room} were waiting unread",
                self.limits.max_backlog
            );
            dropped.extend(self.drop_slow(conn, reason));
        }
        if let Some(conn) = answering
            && let Some(link) = self.sessions.get_mut(&conn)
        {
            let bytes = encoded.bytes(link.mode, Focus::Current);
            let bytes = labeled(link, event, bytes, &mut self.labeled_answers);
            if !bytes.is_empty() {
                self.push(conn, Item::Frame(bytes), dropped);
            }
        }
    }

    fn follow(&mut self, conn: ConnId, room: RoomName, focus: Focus, dropped: &mut Vec<Input>) {
        let Some(link) = self.sessions.get(&conn) else {
            return;
        };
        let max_backlog = self.limits.max_backlog;
        let followers = self.rooms.entry(room).or_insert_with(|| Followers::new(max_backlog));
        let follow = followers.follow(conn, Variant::of(link.mode, focus));
        self.push(conn, Item::Follow(follow), dropped);
    }

    /// The hub says so before it closes a session (but at shutdown), so a session dropped for being
    /// slow is forgotten by its rooms here too.
    fn unfollow(&mut self, conn: ConnId, room: &RoomName, dropped: &mut Vec<Input>) {
        let Some(followers) = self.rooms.get_mut(room) else {
            return;
        };
        let feed = if self.sessions.contains_key(&conn) {
            followers.unfollow(conn).then(|| followers.feed().clone())
        } else {
            followers.forget(conn);
            None
        };
        if followers.is_empty() {
            self.rooms.remove(room);
        }
        if let Some(feed) = feed {
            self.push(conn, Item::Unfollow(feed), dropped);
        }
    }

    /// Nothing more goes to `conn`: what is queued for it, and what its rooms said before now, is
    /// still written.
    fn close(&mut self, conn: ConnId) {
        self.liveness.forget(conn);
        if let Some(mut link) = self.sessions.remove(&conn) {
            // A labeled answer cut short by the end (QUIT) is told as far as it got.
            if let Some(answer) = link.answer.take() {
                let _ = link.outbox.push_answer(self.last, Item::Frame(answer.finish()));
            }
            link.outbox.close(self.last);
            self.outboxes_to_wake.push(link.outbox);
        }
    }

    fn push(&mut self, conn: ConnId, item: Item, dropped: &mut Vec<Input>) {
        let Some(link) = self.sessions.get(&conn) else {
            return;
        };
        let pushed = if self.requester == Some(conn) {
            link.outbox.push_answer(self.last, item)
        } else {
            link.outbox.push(self.last, item)
        };
        match pushed {
            Pushed::First => self.outboxes_to_wake.push(link.outbox.clone()),
            Pushed::Queued | Pushed::Closed => {}
            Pushed::Full => {
                METRICS.dropped(DropReason::SlowQueue);
                let reason = format!(
                    "too slow: more than {} bytes were waiting unread",
                    self.limits.max_queued
                );
                dropped.extend(self.drop_slow(conn, reason));
            }
        }
    }

    /// Cuts off a session that fell too far behind; returns its disconnection for the hub, which
    /// takes it out of its rooms.
    fn drop_slow(&mut self, conn: ConnId, reason: String) -> Option<Input> {
        self.liveness.forget(conn);
        let link = self.sessions.remove(&conn)?;
        link.outbox.kill();
        warn!(%conn, "{reason}; disconnecting");
        Some(Input::Disconnect { conn, reason })
    }
}
