//! What a session has yet to write: its own queue and the feeds of the rooms it follows, merged into
//! the order the hub task decided them in.

use std::mem;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::feed::{Cursor, Feed, Read, Reader};
use super::outbox::{Follow, Item, Outbox};
use super::sequence::Seq;
use super::stage::Stage;
use crate::names::ConnId;
use crate::transport::Variant;

pub struct Backlog<'a> {
    conn: ConnId,
    outbox: &'a Outbox,
    follows: Vec<Following>,
}

/// A feed this session reads.
struct Following {
    feed: Arc<Feed>,
    cursor: Arc<Cursor>,
    variant: Variant,
    /// The feed's head when this session last asked to be woken by it.
    waiting_at: Option<u64>,
}

/// Why staging stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filled {
    /// The stage is full: write it, then fill again.
    Full,
    /// Everything published so far is staged.
    Drained,
    /// The session is closed: write the stage, and that is the end.
    Ended,
}

impl<'a> Backlog<'a> {
    pub fn new(conn: ConnId, outbox: &'a Outbox) -> Backlog<'a> {
        Backlog {
            conn,
            outbox,
            follows: Vec::new(),
        }
    }

    /// Stages what the hub task has published, in its order, until the stage is full.
    pub fn fill(&mut self, stage: &mut Stage) -> Filled {
        let upto = self.outbox.published().get();
        loop {
            let next = self.outbox.pop_until(upto);
            // Room broadcasts that came before the session's next item of its own go first.
            let before = next.as_ref().map_or(upto.next(), |(seq, _)| *seq);
            if self.read_feeds(before, stage) == Read::Full {
                if let Some((seq, item)) = next {
                    self.outbox.put_back(seq, item);
                }
                return Filled::Full;
            }
            let Some((seq, item)) = next else {
                return Filled::Drained;
            };
            match item {
                Item::Frame(frame) => {
                    if !stage.add(&frame) {
                        self.outbox.put_back(seq, Item::Frame(frame));
                        return Filled::Full;
                    }
                }
                Item::Follow(follow) => self.follow(follow),
                Item::Unfollow(feed) => self.unfollow(&feed),
                Item::End => return Filled::Ended,
            }
        }
    }

    /// Stages the feeds' entries before `before`, merged across feeds by their place in the order.
    fn read_feeds(&mut self, before: Seq, stage: &mut Stage) -> Read {
        loop {
            // The feed whose next entry comes first is read until another feed's next entry is due.
            let mut heads = self.follows.iter().enumerate().filter_map(|(i, following)| {
                let seq = following.feed.peek(&following.cursor).filter(|seq| *seq < before)?;
                Some((seq, i))
            });
            let Some(mut first) = heads.next() else {
                return Read::Caught;
            };
            let mut until = before;
            for head in heads {
                let later = if head < first {
                    mem::replace(&mut first, head)
                } else {
                    head
                };
                until = until.min(later.0);
            }
            let following = &self.follows[first.1];
            let reader = Reader {
                conn: self.conn,
                variant: following.variant,
            };
            if following.feed.read(&following.cursor, until, reader, stage) == Read::Full {
                return Read::Full;
            }
        }
    }

    fn follow(&mut self, follow: Follow) {
        let variant = follow.variant;
        match self.follows.iter_mut().find(|f| Arc::ptr_eq(&f.feed, &follow.feed)) {
            Some(following) => following.variant = variant,
            None => {
                // Most sessions follow one room or two, for days: no spare room in the list.
                self.follows.reserve_exact(1);
                self.follows.push(Following {
                    feed: follow.feed,
                    cursor: follow.cursor,
                    variant,
                    waiting_at: None,
                });
            }
        }
    }

    fn unfollow(&mut self, feed: &Arc<Feed>) {
        if let Some(i) = self.follows.iter().position(|f| Arc::ptr_eq(&f.feed, feed)) {
            self.follows.swap_remove(i).cursor.finish();
        }
    }

    /// Ready once something published waits to be staged. Otherwise asks the outbox and every feed to
    /// wake this task, then looks once more: what was published meanwhile would wake nobody.
    pub fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.has_published() {
            return Poll::Ready(());
        }
        self.outbox.wait(cx.waker());
        for following in &mut self.follows {
            following
                .feed
                .wait(&following.cursor, cx.waker(), &mut following.waiting_at);
        }
        if self.has_published() {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    fn has_published(&self) -> bool {
        let upto = self.outbox.published().get();
        let published = |seq: Option<Seq>| seq.is_some_and(|seq| seq <= upto);
        published(self.outbox.first()) || self.follows.iter().any(|f| published(f.feed.peek(&f.cursor)))
    }
}

impl Drop for Backlog<'_> {
    fn drop(&mut self) {
        for following in &self.follows {
            following.cursor.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::server::sequence::Published;

    const ME: ConnId = ConnId(7);

    /// A hub task's worth of state: one outbox and some feeds, filled by hand.
    struct Setup {
        outbox: Outbox,
        published: Arc<Published>,
        feeds: Vec<Arc<Feed>>,
    }

    impl Setup {
        fn new(feeds: usize) -> Setup {
            let published = Arc::new(Published::default());
            Setup {
                outbox: Outbox::new(64 * 1024, published.clone()),
                published,
                feeds: (0..feeds).map(|_| Arc::default()).collect(),
            }
        }

        fn own(&self, seq: u64, text: &str) {
            self.outbox
                .push(Seq(seq), Item::Frame(Bytes::from(format!("{text}\n"))));
        }

        fn follow(&self, seq: u64, feed: usize, variant: Variant) {
            let feed = self.feeds[feed].clone();
            let cursor = Arc::new(Cursor::new(feed.head()));
            self.outbox
                .push(Seq(seq), Item::Follow(Follow { feed, cursor, variant }));
        }

        fn unfollow(&self, seq: u64, feed: usize) {
            self.outbox.push(Seq(seq), Item::Unfollow(self.feeds[feed].clone()));
        }

        fn broadcast(&self, seq: u64, feed: usize, text: &str, except: Option<ConnId>) {
            let frame = |prefix: &str| Some(Bytes::from(format!("{prefix}{text}\n")));
            let mut frames: [Option<Bytes>; Variant::COUNT] = std::array::from_fn(|_| None);
            frames[..3].clone_from_slice(&[frame(""), frame("here "), frame("away ")]);
            self.feeds[feed].append(Seq(seq), except, frames);
        }
    }

    async fn drain(backlog: &mut Backlog<'_>) -> (String, Filled) {
        let mut stage = Stage::default();
        let mut out = Vec::new();
        loop {
            let filled = backlog.fill(&mut stage);
            std::future::poll_fn(|cx| stage.poll_write(cx, &mut out)).await.unwrap();
            if filled != Filled::Full {
                return (String::from_utf8(out).unwrap(), filled);
            }
        }
    }

    #[tokio::test]
    async fn own_items_and_feeds_merge_in_the_hub_tasks_order() {
        let s = Setup::new(2);
        s.own(1, "welcome");
        s.follow(2, 0, Variant::Json);
        s.broadcast(3, 0, "lobby 1", None);
        s.follow(4, 1, Variant::TextHere);
        s.follow(5, 0, Variant::TextAway);
        s.broadcast(6, 1, "rust 1", None);
        s.broadcast(7, 0, "lobby 2", None);
        s.own(8, "dm");
        s.broadcast(9, 0, "mine", Some(ME));
        s.broadcast(10, 1, "rust 2", None);
        s.broadcast(11, 0, "lobby 3", None);
        s.unfollow(12, 1);
        s.broadcast(13, 1, "rust, gone", None);
        s.broadcast(14, 0, "lobby 4", None);
        let mut backlog = Backlog::new(ME, &s.outbox);

        s.published.set(Seq(10));
        let (got, filled) = drain(&mut backlog).await;
        assert_eq!(
            got, "welcome\nlobby 1\nhere rust 1\naway lobby 2\ndm\nhere rust 2\n",
            "up to 10 only"
        );
        assert_eq!(filled, Filled::Drained);

        s.published.set(Seq(14));
        let (got, _) = drain(&mut backlog).await;
        assert_eq!(got, "away lobby 3\naway lobby 4\n");
    }

    /// xorshift64: enough to make up schedules, the same on every run.
    fn random(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Made-up schedules of a session's own events, room broadcasts (some its own, some too big to
    /// copy), follows, refocusing and unfollows, published a few at a time: what comes out is what a
    /// session following along in the hub task's order would see.
    #[tokio::test]
    async fn random_schedules_come_out_in_the_hub_tasks_order() {
        let variants = [Variant::Json, Variant::TextHere, Variant::TextAway];
        let prefix = |variant: Variant| match variant {
            Variant::Json => "",
            Variant::TextHere => "here ",
            Variant::TextAway => "away ",
            Variant::Irc(_) => unreachable!("no IRC follower here"),
        };
        let mut state = 0x9E37_79B9_7F4A_7C15;
        for _schedule in 0..300 {
            let s = Setup::new(3);
            let mut backlog = Backlog::new(ME, &s.outbox);
            let mut following: [Option<Variant>; 3] = [None; 3];
            let (mut expected, mut got) = (String::new(), String::new());
            for seq in 1..=50 {
                let feed = (random(&mut state) % 3) as usize;
                match random(&mut state) % 6 {
                    0 => {
                        s.own(seq, &format!("own {seq}"));
                        expected.push_str(&format!("own {seq}\n"));
                    }
                    1 => {
                        let variant = variants[(random(&mut state) % 3) as usize];
                        s.follow(seq, feed, variant);
                        following[feed] = Some(variant);
                    }
                    2 if following[feed].is_some() => {
                        s.unfollow(seq, feed);
                        following[feed] = None;
                    }
                    _ => {
                        let mine = random(&mut state) % 5 == 0;
                        let size = if random(&mut state) % 10 == 0 { 40_000 } else { 8 };
                        let text = format!("{feed}:{seq}:{}", "x".repeat(size));
                        s.broadcast(seq, feed, &text, mine.then_some(ME));
                        if let (Some(variant), false) = (following[feed], mine) {
                            expected.push_str(&format!("{}{text}\n", prefix(variant)));
                        }
                    }
                }
                if random(&mut state) % 4 == 0 {
                    s.published.set(Seq(seq));
                    got.push_str(&drain(&mut backlog).await.0);
                }
            }
            s.published.set(Seq(50));
            got.push_str(&drain(&mut backlog).await.0);
            assert_eq!(got, expected);
        }
    }

    #[tokio::test]
    async fn the_end_comes_after_everything_before_it() {
        let s = Setup::new(1);
        s.follow(1, 0, Variant::Json);
        s.broadcast(2, 0, "m1", None);
        s.own(3, "bye");
        s.outbox.close(Seq(4));
        s.broadcast(5, 0, "after the end", None);
        s.published.set(Seq(5));
        let mut backlog = Backlog::new(ME, &s.outbox);
        assert_eq!(drain(&mut backlog).await, ("m1\nbye\n".to_owned(), Filled::Ended));
    }

    #[tokio::test]
    async fn a_waiting_session_is_woken_by_what_is_published_later() {
        let s = Setup::new(1);
        s.follow(1, 0, Variant::Json);
        s.published.set(Seq(1));
        let mut backlog = Backlog::new(ME, &s.outbox);
        assert_eq!(drain(&mut backlog).await.0, "");
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(backlog.poll_ready(&mut cx).is_pending());
        s.broadcast(2, 0, "later", None);
        assert!(backlog.poll_ready(&mut cx).is_pending(), "appended, not yet published");
        s.published.set(Seq(2));
        let mut woken = Vec::new();
        s.feeds[0].wake_waiting(&mut woken);
        assert!(!woken.is_empty(), "the feed lists the waiting session");
        assert!(backlog.poll_ready(&mut cx).is_ready());
        assert_eq!(drain(&mut backlog).await.0, "later\n");
    }

    #[test]
    fn dropping_the_backlog_releases_its_cursors() {
        let s = Setup::new(1);
        s.follow(1, 0, Variant::Json);
        s.published.set(Seq(1));
        let mut backlog = Backlog::new(ME, &s.outbox);
        let mut stage = Stage::default();
        backlog.fill(&mut stage);
        let cursor = backlog.follows[0].cursor.clone();
        assert!(!cursor.is_finished());
        drop(backlog);
        assert!(cursor.is_finished());
    }
}
