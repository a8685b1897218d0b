//! A session's own queue: events for it alone, and word of which room feeds to follow, each in its
//! place in the hub task's order. Bounded in the bytes it holds, filled by the hub task without ever
//! waiting, drained by the session's writer. It also paces the session's reader: no new requests are
//! read while the previous ones wait for the hub or their answers wait to be written. It holds no
//! memory while the session is idle.

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

/// What an item other than a frame is counted as: it holds a few pointers.
pub const ITEM_OVERHEAD_BYTES: usize = 64;

#[derive(Debug)]
pub struct Outbox {
    state: Mutex<State>,
    /// The most bytes of others' events queued: one more item is still taken while less waits, so a
    /// reader that keeps up is never dropped for one large frame.
    capacity: usize,
    published: Arc<Published>,
}

/// One writer drains an outbox, so one waker slot per thing it waits for is enough.
#[derive(Debug, Default)]
struct State {
    items: VecDeque<(Seq, Item)>,
    /// What `items` hold, counted as encoded.
    bytes: usize,
    /// The session's last requests are with the hub and not yet handled.
    input_in_flight: bool,
    closed: bool,
    killed: bool,
    /// Wakes the session: items arrived for its writer, or its reader may read requests again. The
    /// reader and the writer run in the session's one task, so one slot serves both.
    ready: Option<Waker>,
    /// Wakes the writer to give up at once.
    kill: Option<Waker>,
}

impl State {
    fn accepts_input(&self, resume_below: usize) -> bool {
        self.killed || (!self.input_in_flight && self.bytes <= resume_below)
    }
}

impl Item {
    /// What the item costs while it waits.
    fn bytes(&self) -> usize {
        match self {
            Item::Frame(frame) => frame.len(),
            _ => ITEM_OVERHEAD_BYTES,
        }
    }
}

/// What became of a pushed item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// The queue was empty: its writer may be waiting, to be woken once the item is published.
    First,
    Queued,
    /// The queue holds too many bytes to take this item: the reader is too slow.
    Full,
    Closed,
}

impl Outbox {
    /// An outbox of at most about `capacity` bytes (see `push` and `push_answer`).
    pub fn new(capacity: usize, published: Arc<Published>) -> Outbox {
        let capacity = capacity.max(1);
        Outbox {
            state: Mutex::default(),
            capacity,
            published,
        }
    }

    /// How many bytes of answers the requests read at once may cause, so that the outbox never fills
    /// with a reader's own answers: it reads only while at most half full.
    pub fn answer_room(&self) -> usize {
        self.capacity - self.resume_below()
    }

    /// The reader reads new requests only while no more than this is queued.
    fn resume_below(&self) -> usize {
        self.capacity / 2
    }

    /// How far the hub task's order may be read.
    pub fn published(&self) -> &Published {
        &self.published
    }

    /// Queues an event from someone else (a direct message, a notice): refused once `capacity` bytes
    /// wait, since only a client that does not read can let that happen.
    pub fn push(&self, seq: Seq, item: Item) -> Pushed {
        self.queue(seq, item, true)
    }

    /// Queues an answer to the session's own requests. Never refused: the reader's pacing bounds
    /// these (it reads while at most half the capacity waits, and no more requests than their answers
    /// fit in the other half), and a client must not be dropped for asking.
    pub fn push_answer(&self, seq: Seq, item: Item) -> Pushed {
        self.queue(seq, item, false)
    }

    fn queue(&self, seq: Seq, item: Item, bounded: bool) -> Pushed {
        let mut state = self.lock();
        if state.closed {
            return Pushed::Closed;
        }
        if bounded && state.bytes >= self.capacity {
            return Pushed::Full;
        }
        state.bytes += item.bytes();
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
            state.bytes += Item::End.bytes();
            state.items.push_back((seq, Item::End));
        }
    }

    /// Drop everything: the writer stops at once.
    pub fn kill(&self) {
        let mut state = self.lock();
        state.closed = true;
        state.killed = true;
        state.items = VecDeque::new();
        state.bytes = 0;
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
        let popped = state.items.pop_front()?;
        state.bytes -= popped.1.bytes();
        self.wake_reader(state);
        Some(popped)
    }

    /// Puts back an item just taken, which the writer had no room for yet.
    pub fn put_back(&self, seq: Seq, item: Item) {
        let mut state = self.lock();
        state.bytes += item.bytes();
        state.items.push_front((seq, item));
    }

    /// The bytes queued.
    #[cfg(test)]
    pub fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Ready once the session may read more requests: the hub handled its last ones and their answers
    /// have mostly been written (or the session is killed); until then the task is woken when it may.
    pub fn poll_accepting_input(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.accepts_input(self.resume_below()) {
            return Poll::Ready(());
        }
        remember(&mut state.ready, cx.waker());
        Poll::Pending
    }

    /// The session handed requests to the hub: it reads no more until the hub has handled them.
    pub fn input_sent(&self) {
        self.lock().input_in_flight = true;
    }

    /// The hub task handled the session's requests.
    pub fn input_taken(&self) {
        let mut state = self.lock();
        state.input_in_flight = false;
        self.wake_reader(state);
    }

    /// Wakes the session if its reader may now read (and waits for that).
    fn wake_reader(&self, mut state: MutexGuard<'_, State>) {
        let waker = state
            .accepts_input(self.resume_below())
            .then(|| state.ready.take())
            .flatten();
        drop(state);
        if let Some(waker) = waker {
            waker.wake();
        }
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

    #[test]
    fn bounded_in_bytes_but_a_large_frame_fits_an_emptier_queue() {
        let outbox = Outbox::new(10, Arc::default());
        assert_eq!(outbox.push(Seq(1), frame("a frame of 20 bytes!")), Pushed::First);
        assert_eq!(outbox.push(Seq(2), frame("x")), Pushed::Full);
        assert_eq!(take_until(&outbox, 2), [1]);
        assert_eq!(outbox.push(Seq(3), frame("123456")), Pushed::First);
        assert_eq!(outbox.push(Seq(4), frame("1234")), Pushed::Queued);
        assert_eq!(outbox.push(Seq(5), frame("1")), Pushed::Full);
        assert_eq!(outbox.queued_bytes(), 10);
        assert_eq!(
            outbox.push_answer(Seq(6), frame("an answer")),
            Pushed::Queued,
            "answers are never refused"
        );
    }

    #[test]
    fn the_reader_waits_for_the_hub_and_for_its_answers_to_drain() {
        let outbox = Outbox::new(8, Arc::default());
        let cx = &mut Context::from_waker(Waker::noop());
        assert!(outbox.poll_accepting_input(cx).is_ready());
        outbox.input_sent();
        assert!(
            outbox.poll_accepting_input(cx).is_pending(),
            "the hub has not handled the requests"
        );
        outbox.push(Seq(1), frame("123456"));
        outbox.input_taken();
        assert!(
            outbox.poll_accepting_input(cx).is_pending(),
            "6 of 8 bytes of answers wait"
        );
        assert_eq!(outbox.answer_room(), 4);
        take_until(&outbox, 1);
        assert!(outbox.poll_accepting_input(cx).is_ready());
        outbox.input_sent();
        outbox.kill();
        assert!(
            outbox.poll_accepting_input(cx).is_ready(),
            "a killed session reads on to its end"
        );
    }
}
