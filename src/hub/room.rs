//! One room: its members, in the order they joined, and its topic.

use std::collections::BTreeSet;

use crate::names::{ConnId, Nick};

/// The longest topic, in bytes.
pub const MAX_TOPIC_BYTES: usize = 512;

/// A topic and who set it (unknown for a topic kept from before a restart).
#[derive(Debug, Clone, PartialEq)]
pub struct Topic {
    pub text: String,
    pub by: Option<Nick>,
}

#[derive(Debug, Default)]
pub struct Room {
    /// Ordered by connection number, so listings are stable.
    members: BTreeSet<ConnId>,
    pub topic: Option<Topic>,
    /// Remembered by the store (it has a topic or messages), so it stays when its last member leaves.
    pub kept: bool,
}

impl Room {
    pub fn add(&mut self, conn: ConnId) {
        self.members.insert(conn);
    }

    pub fn remove(&mut self, conn: ConnId) {
        self.members.remove(&conn);
    }

    pub fn contains(&self, conn: ConnId) -> bool {
        self.members.contains(&conn)
    }

    pub fn members(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.members.iter().copied()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}
