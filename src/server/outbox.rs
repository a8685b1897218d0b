//! A session's own queue: events for it alone, and word of which room feeds to follow, each in its
//! place in the hub task's order. Bounded, filled by the hub task without ever waiting, drained by the
//! session's writer. It holds no memory while the session is idle.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

use super::feed::{Cursor, Feed};
use super::sequence::{Published, Seq};
use crate::transport::Variant;

#[derive(Debug)]
pub enum Item {
    Frame(Bytes),
    Follow(Follow),
    Unfollow(Arc<Feed>),
    /// Nothing comes after this: the session is closed.
    End,
}

/// Read a room's feed from the cursor on, rendered as `variant`; for a feed already followed, render
/// it as `variant` from here on.
#[derive(Debug)]
pub struct Follow {
    pub feed: Arc<Feed>,
    pub cursor: Arc<Cursor>,
    pub variant: Variant,
}

#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
    capacity: usize,
    published: Arc<Published>,
}

/// One writer drains an outbox, so one waker slot per thing it waits for is enough.
#[derive(Debug, Default)]
struct State {
    items: VecDeque<(Seq, Item)>,
    closed: bool,
    killed: bool,
    /// Wakes the writer: items arrived.
    ready: Option<Waker>,
    /// Wakes the writer to give up at once.
    kill: Option<Waker>,
}

/// What became of a pushed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// The queue was empty: its writer may be waiting, to be woken once the item is published.
    First,
    Queued,
    /// The queue holds `capacity` items already: the reader is too slow.
    Full,
    Closed,
}

impl Outbox {
    pub fn new(capacity: usize, published: Arc<Published>) -> Outbox {
        Outbox {
            state: Mutex::default(),
            capacity: capacity.max(1),
            published,
        }
    }

    /// How far the hub task's order may be read.
    pub fn published(&self) -> &Published {
        &self.published
    }

    pub fn push(&self, seq: Seq, item: Item) -> Pushed {
        let mut state = self.lock();
        if state.closed {
            return Pushed::Closed;
        }
        if state.items.len() >= self.capacity {
            return Pushed::Full;
        }
        state.items.push_back((seq, item));
        if state.items.len() == 1 {
            Pushed::First
        } else {
            Pushed::Queued
        }
    }

    /// Nothing more will be queued; what is queued is still written. Wake the writer once `seq` is
    /// published.
    pub fn close(&self, seq: Seq) {
        let mut state = self.lock();
        if !state.closed {
            state.closed = true;
            state.items.push_back((seq, Item::End));
        }
    }

    /// Drop everything: the writer stops at once.
    pub fn kill(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.killed = true;
        state.items = VecDeque::new();
        let wakers = [state.ready.take(), state.kill.take()];
        drop(state);
        wakers.into_iter().flatten().for_each(Waker::wake);
    }

    /// Wakes the writer if it waits for items: called once what was pushed is published.
    pub fn wake(&self) {
        let waker = self.lock().ready.take();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Takes the first item, if it is published (`upto` or before).
    pub fn pop_until(&self, upto: Seq) -> Option<(Seq, Item)> {
        let mut state = self.lock();
        let (seq, _) = state.items.front()?;
        if *seq > upto {
            return None;
        }
        state.items.pop_front()
    }

    /// Puts back an item just taken, which the writer had no room for yet.
    pub fn put_back(&self, seq: Seq, item: Item) {
        self.lock().items.push_front((seq, item));
    }

    /// The place of the first item queued, if any.
    pub fn first(&self) -> Option<Seq> {
        self.lock().items.front().map(|(seq, _)| *seq)
    }

    /// Asks to be woken when items arrive. Only an idle writer asks, so an empty queue's buffer goes.
    pub fn wait(&self, waker: &Waker) {
        let mut state = self.lock();
        if state.items.is_empty() && state.items.capacity() > 0 {
            state.items = VecDeque::new();
        }
        remember(&mut state.ready, waker);
    }

    /// Ready once the outbox is killed; until then the task is woken when it is.
    pub fn poll_killed(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.killed {
            return Poll::Ready(());
        }
        remember(&mut state.kill, cx.waker());
        Poll::Pending
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("not poisoned")
    }
}

fn remember(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(old) if old.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(text: &'static str) -> Item {
        Item::Frame(Bytes::from(text))
    }

    fn take_until(outbox: &Outbox, upto: u64) -> Vec<u64> {
        std::iter::from_fn(|| outbox.pop_until(Seq(upto)))
            .map(|(seq, _)| seq.0)
            .collect()
    }

    #[tokio::test]
    async fn bounded_taken_in_order_up_to_what_is_published_and_closable() {
        let outbox = Outbox::new(3, Arc::default());
        assert_eq!(outbox.push(Seq(1), frame("a")), Pushed::First);
        assert_eq!(outbox.push(Seq(4), frame("b")), Pushed::Queued);
        assert_eq!(outbox.push(Seq(6), frame("c")), Pushed::Queued);
        assert_eq!(outbox.push(Seq(7), frame("d")), Pushed::Full);
        assert_eq!(take_until(&outbox, 5), [1, 4]);
        assert_eq!(outbox.first(), Some(Seq(6)));
        outbox.close(Seq(8));
        assert_eq!(outbox.push(Seq(9), frame("e")), Pushed::Closed);
        let (seq, item) = outbox.pop_until(Seq(9)).unwrap();
        outbox.put_back(seq, item);
        assert_eq!(take_until(&outbox, 7), [6]);
        assert!(matches!(outbox.pop_until(Seq(9)), Some((Seq(8), Item::End))));
        outbox.kill();
        std::future::poll_fn(|cx| outbox.poll_killed(cx)).await;
        assert_eq!(outbox.first(), None);
    }
}
