//! A room's broadcasts: appended once by the hub task, read by every follower's writer from where it
//! is. A message to a room of N costs the hub one append, not N queue pushes, and the followers copy it
//! out side by side without counting anything per delivery.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;

use bytes::Bytes;

use super::sequence::Seq;
use super::stage::Stage;
use crate::names::ConnId;
use crate::transport::Variant;

/// Waiting writers kept before the finished ones are swept out (more are swept as the list grows).
const WAITING_SWEEP_MIN: usize = 64;

const _: () = assert!(Variant::COUNT <= u8::MAX as usize, "a rendering's index fits a byte");

/// One broadcast, in every rendering the room's followers needed when it was appended.
#[derive(Debug)]
struct Entry {
    seq: Seq,
    /// Who is not sent it: the sender of a message.
    except: Option<ConnId>,
    /// The renderings made, by `Variant::index`: only those someone followed with, so an entry stays
    /// small however many renderings there may be.
    frames: Box<[(u8, Bytes)]>,
    /// The bytes appended before it: how far into the feed it lies.
    offset: u64,
}

#[derive(Debug, Default)]
pub struct Feed {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: VecDeque<Entry>,
    /// The position of `entries[0]`. Positions count every entry ever appended.
    base: u64,
    /// The bytes of every entry ever appended (its longest rendering).
    appended: u64,
    /// Writers that found nothing to read, to wake once more is published.
    waiting: Vec<(Arc<Cursor>, Waker)>,
    sweep_at: usize,
}

/// A follower's place in a feed: the position of the next entry it reads. Its writer moves it; the hub
/// task reads it to know which entries everyone has read and who lags behind.
#[derive(Debug)]
pub struct Cursor(AtomicU64);

impl Cursor {
    const FINISHED: u64 = u64::MAX;

    pub fn new(at: u64) -> Cursor {
        Cursor(AtomicU64::new(at))
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    fn set(&self, at: u64) {
        self.0.store(at, Ordering::Release);
    }

    /// The follower reads no more: nothing needs keeping for it.
    pub fn finish(&self) {
        self.set(Cursor::FINISHED);
    }

    pub fn is_finished(&self) -> bool {
        self.get() == Cursor::FINISHED
    }
}

/// Why a read stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Nothing more before the bound.
    Caught,
    /// The stage is full: write it, then read on.
    Full,
}

/// One follower's view: what it reads and how it is rendered for it.
#[derive(Debug, Clone, Copy)]
pub struct Reader {
    pub conn: ConnId,
    pub variant: Variant,
}

impl Feed {
    /// Adds a broadcast in the renderings given; `except` is not sent it. Writers waiting for it are
    /// woken by `wake_waiting` once it is published.
    pub fn append(&self, seq: Seq, except: Option<ConnId>, frames: [Option<Bytes>; Variant::COUNT]) {
        let bytes = frames.iter().flatten().map(Bytes::len).max().unwrap_or(0) as u64;
        let frames = frames
            .into_iter()
            .enumerate()
            .filter_map(|(i, frame)| Some((u8::try_from(i).ok()?, frame?)))
            .collect();
        let mut state = self.lock();
        let offset = state.appended;
        state.entries.push_back(Entry {
            seq,
            except,
            frames,
            offset,
        });
        state.appended += bytes;
    }

    /// How much is unread from any position on, for as long as the view is held.
    pub fn unread(&self) -> Unread<'_> {
        Unread { state: self.lock() }
    }

    /// The position the next entry will take.
    pub fn head(&self) -> u64 {
        self.lock().head()
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Drops the entries before position `below`: every follower has read them.
    pub fn trim(&self, below: u64) {
        let mut state = self.lock();
        let n = below.saturating_sub(state.base).min(state.entries.len() as u64);
        state.entries.drain(..n as usize);
        state.base += n;
        if state.entries.is_empty() && state.entries.capacity() > 0 {
            state.entries = VecDeque::new();
        }
    }

    /// Moves the writers waiting for entries into `wake`.
    pub fn wake_waiting(&self, wake: &mut Vec<Waker>) {
        wake.extend(self.lock().waiting.drain(..).map(|(_, waker)| waker));
    }

    /// The sequence number of the entry at the cursor, if there is one.
    pub fn peek(&self, cursor: &Cursor) -> Option<Seq> {
        self.lock().entry(cursor.get()).map(|entry| entry.seq)
    }

    /// Stages the entries from the cursor on that come before `until`, and moves the cursor past them.
    pub fn read(&self, cursor: &Cursor, until: Seq, reader: Reader, stage: &mut Stage) -> Read {
        let state = self.lock();
        let mut at = cursor.get();
        let read = loop {
            // A cursor below the base belongs to a follower dropped for lagging: it reads nothing more.
            let Some(entry) = state.entry(at).filter(|entry| entry.seq < until) else {
                break Read::Caught;
            };
            let index = reader.variant.index();
            let frame = entry
                .frames
                .iter()
                .find(|(i, _)| usize::from(*i) == index)
                .map(|(_, f)| f);
            if let Some(frame) = frame.filter(|_| entry.except != Some(reader.conn)) {
                if !stage.add(frame) {
                    break Read::Full;
                }
            }
            at += 1;
        };
        cursor.set(at);
        read
    }

    /// Asks to be woken by the next published entry. `registered` is the head when this follower last
    /// asked: until an append moves the head (and wakes the list), asking again adds nothing.
    pub fn wait(&self, cursor: &Arc<Cursor>, waker: &Waker, registered: &mut Option<u64>) {
        let mut state = self.lock();
        let head = state.head();
        if *registered == Some(head) {
            return;
        }
        *registered = Some(head);
        if state.waiting.len() >= state.sweep_at {
            state.waiting.retain(|(cursor, _)| !cursor.is_finished());
            state.sweep_at = WAITING_SWEEP_MIN.max(2 * state.waiting.len());
        }
        state.waiting.push((cursor.clone(), waker.clone()));
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("not poisoned")
    }
}

/// A view of a feed for measuring how far behind its followers are.
pub struct Unread<'a> {
    state: MutexGuard<'a, State>,
}

impl Unread<'_> {
    /// The bytes from position `at` to the head.
    pub fn from(&self, at: u64) -> u64 {
        self.state
            .entry(at)
            .map_or(0, |entry| self.state.appended - entry.offset)
    }
}

impl State {
    fn head(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    fn entry(&self, at: u64) -> Option<&Entry> {
        let index = at.checked_sub(self.base)?;
        self.entries.get(usize::try_from(index).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use std::task::Wake;

    use super::*;

    /// Appends a broadcast rendered as `j:TEXT`, `here:TEXT` and `away:TEXT`.
    fn append(feed: &Feed, seq: u64, except: Option<u64>, text: &str) {
        let frame = |prefix: &str| Some(Bytes::from(format!("{prefix}{text}\n")));
        let mut frames: [Option<Bytes>; Variant::COUNT] = std::array::from_fn(|_| None);
        frames[..3].clone_from_slice(&[frame("j:"), frame("here:"), frame("away:")]);
        feed.append(Seq(seq), except.map(ConnId), frames);
    }

    fn reader(conn: u64, variant: Variant) -> Reader {
        Reader {
            conn: ConnId(conn),
            variant,
        }
    }

    async fn staged(stage: &mut Stage) -> String {
        let mut out = Vec::new();
        std::future::poll_fn(|cx| stage.poll_write(cx, &mut out)).await.unwrap();
        String::from_utf8(out).unwrap()
    }

    #[tokio::test]
    async fn each_follower_reads_its_rendering_up_to_the_bound_and_not_its_own() {
        let feed = Feed::default();
        for (seq, except, text) in [(3, Some(1), "a"), (5, None, "b"), (9, Some(2), "c")] {
            append(&feed, seq, except, text);
        }
        let cases = [
            (reader(1, Variant::Json), Seq(9), "j:b\n", Some(Seq(9))),
            (reader(2, Variant::TextHere), Seq(100), "here:a\nhere:b\n", None),
            (reader(3, Variant::TextAway), Seq(4), "away:a\n", Some(Seq(5))),
        ];
        for (reader, until, want, next) in cases {
            let cursor = Cursor::new(0);
            let mut stage = Stage::default();
            assert_eq!(feed.read(&cursor, until, reader, &mut stage), Read::Caught);
            assert_eq!(staged(&mut stage).await, want, "{reader:?}");
            assert_eq!(feed.peek(&cursor), next, "{reader:?}");
        }
    }

    #[tokio::test]
    async fn a_full_stage_stops_the_read_where_it_is() {
        let feed = Feed::default();
        let big = "x".repeat(super::super::stage::STAGE_BYTES / 2);
        for seq in 1..=3 {
            append(&feed, seq, None, &big);
        }
        let cursor = Cursor::new(0);
        let mut stage = Stage::default();
        let me = reader(1, Variant::Json);
        assert_eq!(feed.read(&cursor, Seq(10), me, &mut stage), Read::Full);
        assert_eq!(cursor.get(), 1);
        std::future::poll_fn(|cx| stage.poll_write(cx, &mut Vec::<u8>::new()))
            .await
            .unwrap();
        assert_eq!(feed.read(&cursor, Seq(10), me, &mut stage), Read::Full);
        std::future::poll_fn(|cx| stage.poll_write(cx, &mut Vec::<u8>::new()))
            .await
            .unwrap();
        assert_eq!(feed.read(&cursor, Seq(10), me, &mut stage), Read::Caught);
        assert_eq!(cursor.get(), 3);
    }

    #[test]
    fn trimming_keeps_positions() {
        let feed = Feed::default();
        for seq in 1..=5 {
            append(&feed, seq, None, "m");
        }
        feed.trim(3);
        assert_eq!((feed.len(), feed.head()), (2, 5));
        assert_eq!(feed.peek(&Cursor::new(3)), Some(Seq(4)));
        assert_eq!(feed.peek(&Cursor::new(2)), None, "trimmed");
        feed.trim(99);
        assert_eq!((feed.len(), feed.head()), (0, 5));
    }

    struct Count(AtomicU64);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[test]
    fn waiting_writers_are_listed_once_per_head_and_finished_ones_swept() {
        let feed = Feed::default();
        let count = Arc::new(Count(AtomicU64::new(0)));
        let waker = Waker::from(count.clone());
        let cursor = Arc::new(Cursor::new(0));
        let mut registered = None;
        feed.wait(&cursor, &waker, &mut registered);
        feed.wait(&cursor, &waker, &mut registered);
        let mut wake = Vec::new();
        feed.wake_waiting(&mut wake);
        assert_eq!(wake.len(), 1, "asked twice at one head, listed once");
        append(&feed, 1, None, "m");
        feed.wait(&cursor, &waker, &mut registered);
        wake.clear();
        feed.wake_waiting(&mut wake);
        assert_eq!(wake.len(), 1, "a new head lists it again");

        for _ in 0..1000 {
            let gone = Arc::new(Cursor::new(1));
            feed.wait(&gone, &waker, &mut None);
            gone.finish();
        }
        assert!(
            feed.lock().waiting.len() <= 2 * WAITING_SWEEP_MIN,
            "finished followers are swept"
        );
    }
}
