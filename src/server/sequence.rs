//! The order in which the hub task decides effects, and how much of it a session may act on yet.

use std::sync::atomic::{AtomicU64, Ordering};

/// An effect's place in the hub task's order: increasing for the life of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Seq(pub u64);

impl Seq {
    pub fn next(self) -> Seq {
        Seq(self.0 + 1)
    }
}

/// The last `Seq` whose effects are all in place. A session's events come from its own queue and from
/// the feeds of its rooms; reading each only up to this point is what makes them merge in the order
/// the hub decided, whatever the hub task is in the middle of.
#[derive(Debug, Default)]
pub struct Published(AtomicU64);

impl Published {
    pub fn get(&self) -> Seq {
        Seq(self.0.load(Ordering::Acquire))
    }

    pub fn set(&self, seq: Seq) {
        self.0.store(seq.0, Ordering::Release);
    }
}
