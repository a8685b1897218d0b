//! The hub task's side of one room's feed: who follows it and from where, which renderings they need,
//! and when entries may go (everyone has read them) or a follower must (it has too much unread).

use std::collections::hash_map;
use std::sync::Arc;

use super::feed::{Cursor, Feed};
use super::outbox::Follow;
use super::sequence::Seq;
use crate::names::{ConnId, ConnMap};
use crate::transport::{Encoded, Variant};

/// Entries a feed holds before it is first trimmed; after a trim, it may grow to twice what was left.
pub const TRIM_MIN_ENTRIES: usize = 64;

pub struct Followers {
    feed: Arc<Feed>,
    live: ConnMap<Follower>,
    /// Followers who left, still reading up to the position where they left.
    leaving: Vec<Leaving>,
    /// When `leaving` is next swept of those done reading: a room nobody speaks in is never trimmed.
    sweep_leaving_at: usize,
    /// Live followers per rendering: an entry is encoded only in the renderings someone needs.
    variants: [usize; Variant::COUNT],
    trim_at: usize,
    /// How many bytes a follower may have unread before it is dropped as too slow.
    max_backlog: u64,
}

struct Follower {
    cursor: Arc<Cursor>,
    variant: Variant,
}

struct Leaving {
    conn: ConnId,
    cursor: Arc<Cursor>,
    end: u64,
}

impl Followers {
    pub fn new(max_backlog: usize) -> Followers {
        Followers {
            feed: Arc::default(),
            live: ConnMap::default(),
            leaving: Vec::new(),
            sweep_leaving_at: TRIM_MIN_ENTRIES,
            variants: [0; Variant::COUNT],
            trim_at: TRIM_MIN_ENTRIES,
            max_backlog: max_backlog as u64,
        }
    }

    pub fn feed(&self) -> &Arc<Feed> {
        &self.feed
    }

    /// Nobody follows any more (some may still be reading what came before they left).
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// `conn` follows from the next entry on, or, following already, switches to `variant`. Returns
    /// what its session must be told.
    pub fn follow(&mut self, conn: ConnId, variant: Variant) -> Follow {
        let head = self.feed.head();
        let follower = match self.live.entry(conn) {
            hash_map::Entry::Occupied(following) => {
                let follower = following.into_mut();
                self.variants[follower.variant.index()] -= 1;
                follower.variant = variant;
                follower
            }
            hash_map::Entry::Vacant(new) => new.insert(Follower {
                cursor: Arc::new(Cursor::new(head)),
                variant,
            }),
        };
        self.variants[variant.index()] += 1;
        Follow {
            feed: self.feed.clone(),
            cursor: follower.cursor.clone(),
            variant,
        }
    }

    /// Whether `conn` follows the room now.
    pub fn follows(&self, conn: ConnId) -> bool {
        self.live.contains_key(&conn)
    }

    /// `conn` stops following; it still reads what came before. `false` if it did not follow.
    pub fn unfollow(&mut self, conn: ConnId) -> bool {
        let Some(follower) = self.live.remove(&conn) else {
            return false;
        };
        self.variants[follower.variant.index()] -= 1;
        let end = self.feed.head();
        if self.leaving.len() >= self.sweep_leaving_at {
            self.leaving.retain(|leaving| leaving.cursor.get() < leaving.end);
            self.sweep_leaving_at = TRIM_MIN_ENTRIES.max(2 * self.leaving.len());
        }
        self.leaving.push(Leaving {
            conn,
            cursor: follower.cursor,
            end,
        });
        true
    }

    /// Forgets `conn` at once: its session is gone.
    pub fn forget(&mut self, conn: ConnId) {
        if let Some(follower) = self.live.remove(&conn) {
            self.variants[follower.variant.index()] -= 1;
        }
        self.leaving.retain(|leaving| leaving.conn != conn);
    }

    /// Appends the renderings of `event` its followers need; returns those who lag too far behind and
    /// must be dropped.
    pub fn append(&mut self, seq: Seq, event: &mut Encoded, except: Option<ConnId>) -> Vec<ConnId> {
        let frames = Variant::ALL.map(|variant| (self.variants[variant.index()] > 0).then(|| event.variant(variant)));
        self.feed.append(seq, except, frames);
        if self.feed.len() < self.trim_at {
            return Vec::new();
        }
        self.trim()
    }

    /// Drops what everyone has read, and the followers with more than `max_backlog` bytes unread.
    fn trim(&mut self) -> Vec<ConnId> {
        let head = self.feed.head();
        let mut low = head;
        let mut laggards = Vec::new();
        let max_backlog = self.max_backlog;
        let variants = &mut self.variants;
        let unread = self.feed.unread();
        self.live.retain(|&conn, follower| {
            let at = follower.cursor.get().min(head);
            if unread.from(at) > max_backlog {
                variants[follower.variant.index()] -= 1;
                laggards.push(conn);
                return false;
            }
            low = low.min(at);
            true
        });
        self.leaving.retain(|leaving| {
            let at = leaving.cursor.get();
            if at >= leaving.end {
                return false;
            }
            if unread.from(at) - unread.from(leaving.end) > max_backlog {
                laggards.push(leaving.conn);
                return false;
            }
            low = low.min(at);
            true
        });
        drop(unread);
        self.feed.trim(low);
        self.trim_at = TRIM_MIN_ENTRIES.max(2 * self.feed.len());
        laggards
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{Nick, RoomName};
    use crate::protocol::{Event, Message, MessageId};
    use crate::server::feed::{Read, Reader};
    use crate::server::stage::Stage;

    fn message(n: u64) -> Event {
        Event::Message(Message {
            id: MessageId(n),
            ts: 0,
            from: Nick::parse("ann").unwrap(),
            account: None,
            room: Some(RoomName::lobby()),
            to: None,
            text: format!("m{n}"),
            action: false,
        })
    }

    /// A backlog bound no test here comes near.
    const ROOMY: usize = 1 << 30;

    /// The bytes of one test message's structured rendering.
    fn frame_bytes() -> usize {
        Encoded::new(&message(0)).variant(Variant::Json).len()
    }

    fn append(followers: &mut Followers, n: u64) -> Vec<ConnId> {
        followers.append(Seq(n), &mut Encoded::new(&message(n)), None)
    }

    /// Reads everything up to the head for a follower, as its writer would.
    fn read_all(followers: &Followers, follow: &Follow, conn: u64) {
        let reader = Reader {
            conn: ConnId(conn),
            variant: follow.variant,
        };
        let mut stage = Stage::default();
        while followers.feed.read(&follow.cursor, Seq(u64::MAX), reader, &mut stage) == Read::Full {
            stage = Stage::default();
        }
    }

    /// Which renderings the entry at `at` carries.
    fn renderings(followers: &Followers, at: u64) -> [bool; Variant::COUNT] {
        Variant::ALL.map(|variant| {
            let mut stage = Stage::default();
            let reader = Reader {
                conn: ConnId(99),
                variant,
            };
            followers.feed.read(&Cursor::new(at), Seq(at + 2), reader, &mut stage);
            !stage.is_empty()
        })
    }

    #[test]
    fn only_the_renderings_someone_needs_are_made() {
        let mut followers = Followers::new(ROOMY);
        followers.follow(ConnId(1), Variant::Json);
        followers.follow(ConnId(2), Variant::TextHere);
        append(&mut followers, 1);
        followers.follow(ConnId(2), Variant::TextAway);
        append(&mut followers, 2);
        followers.unfollow(ConnId(1));
        append(&mut followers, 3);
        let made: Vec<_> = (0..3).map(|at| renderings(&followers, at)[..3].to_vec()).collect();
        assert_eq!(made, [[true, true, false], [true, false, true], [false, false, true]]);
    }

    #[test]
    fn entries_go_once_read_and_laggards_are_named() {
        let mut followers = Followers::new(50 * frame_bytes());
        let quick = followers.follow(ConnId(1), Variant::Json);
        let _slow = followers.follow(ConnId(2), Variant::Json);
        let mut dropped = Vec::new();
        let mut dropped_at = None;
        for n in 0..200 {
            let laggards = append(&mut followers, n);
            if !laggards.is_empty() {
                dropped_at.get_or_insert(followers.feed.head());
            }
            dropped.extend(laggards);
            read_all(&followers, &quick, 1);
        }
        assert_eq!(dropped, [ConnId(2)], "the one that read nothing");
        assert!(dropped_at > Some(50), "but not before it was 50 behind: {dropped_at:?}");
        assert!(
            followers.feed.len() < TRIM_MIN_ENTRIES,
            "what the quick one read is gone"
        );
        assert!(!followers.is_empty());
    }

    #[test]
    fn leavers_done_reading_are_swept_even_where_nobody_speaks() {
        let mut followers = Followers::new(ROOMY);
        followers.follow(ConnId(1), Variant::Json);
        for _ in 0..10_000 {
            let follow = followers.follow(ConnId(2), Variant::Json);
            followers.unfollow(ConnId(2));
            follow.cursor.finish();
        }
        assert!(
            followers.leaving.len() <= TRIM_MIN_ENTRIES,
            "{}",
            followers.leaving.len()
        );
    }

    #[test]
    fn a_leaver_keeps_what_came_before_it_left() {
        let mut followers = Followers::new(ROOMY);
        let leaver = followers.follow(ConnId(1), Variant::Json);
        let stayer = followers.follow(ConnId(2), Variant::Json);
        for n in 0..10 {
            append(&mut followers, n);
        }
        followers.unfollow(ConnId(1));
        for n in 10..200 {
            assert!(append(&mut followers, n).is_empty());
            read_all(&followers, &stayer, 2);
        }
        assert!(followers.feed.len() >= 10, "the leaver's ten are kept");
        read_all(&followers, &leaver, 1);
        append(&mut followers, 200);
        for n in 201..300 {
            append(&mut followers, n);
            read_all(&followers, &stayer, 2);
        }
        assert!(followers.feed.len() < TRIM_MIN_ENTRIES, "once read, they go");
        followers.unfollow(ConnId(2));
        assert!(followers.is_empty());
    }
}
