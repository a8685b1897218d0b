//! A window's place in its conversation's stored history: the page asked for, whether older messages
//! remain, and merging a page into the scrollback by message id, so that no message shows twice.

use super::window::{Entry, Window};
use crate::protocol::MessageId;

/// How many messages a page the client asks for holds.
pub const PAGE_MESSAGES: usize = 100;

/// Which part of the conversation a page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The newest messages: what a window shows when it opens.
    Latest,
    /// The messages before the oldest one shown: scrolling back.
    Older,
    /// The messages after the newest one shown: catching up after a reconnect.
    Newer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    /// The page request in flight, by request id; at most one per window.
    pub asked: Option<(u64, Direction)>,
    /// Messages older than the oldest shown may be stored: true until a page says there are none.
    pub older: bool,
    /// The latest page has come once: since then the window asks only for what follows what it shows.
    pub filled: bool,
    /// This connection has asked for the window's newest messages already.
    pub asked_this_link: bool,
}

impl Default for Paging {
    fn default() -> Paging {
        Paging {
            asked: None,
            older: true,
            filled: false,
            asked_this_link: false,
        }
    }
}

impl Window {
    /// The smallest message id shown.
    pub fn oldest_id(&self) -> Option<MessageId> {
        self.entries.iter().filter_map(entry_id).min()
    }

    /// The largest message id shown.
    pub fn newest_id(&self) -> Option<MessageId> {
        self.entries.iter().filter_map(entry_id).max()
    }

    fn holds(&self, id: MessageId) -> bool {
        self.entries.iter().any(|e| entry_id(e) == Some(id))
    }

    /// Merges a page: each message (as its lines' entries) not shown yet goes in id order. Among the
    /// notices between two messages, a page of newer messages goes after them (what was missed while
    /// away follows "reconnected"); any other page goes before them (history before "you are in").
    /// Returns how many messages were new.
    pub fn merge(&mut self, page: Vec<(MessageId, Vec<Entry>)>, direction: Direction, shown: bool) -> usize {
        let mut added = 0;
        for (id, lines) in page {
            if self.holds(id) {
                continue;
            }
            let at = self.place_for(id, direction == Direction::Newer);
            let at_end = at == self.entries.len();
            for (offset, entry) in lines.into_iter().enumerate() {
                if at_end && self.scroll > 0 {
                    // As for a live message: what the reader was reading stays where it was.
                    self.scroll += 1;
                    self.unseen_below += 1;
                }
                if !shown && direction == Direction::Newer {
                    self.unread += 1;
                }
                self.entries.insert(at + offset, entry);
            }
            added += 1;
        }
        self.trim();
        added
    }

    /// Where message `id` goes: after the last entry with a smaller id and, when `late`, after the
    /// entries without an id that follow it too.
    fn place_for(&self, id: MessageId, late: bool) -> usize {
        let after_smaller = self
            .entries
            .iter()
            .rposition(|e| entry_id(e).is_some_and(|other| other < id))
            .map_or(0, |at| at + 1);
        if !late {
            return after_smaller;
        }
        self.entries
            .iter()
            .skip(after_smaller)
            .position(|e| entry_id(e).is_some())
            .map_or(self.entries.len(), |at| after_smaller + at)
    }

    /// One's own message sent as `request` was stored as `id`. If a page brought it already, the copy
    /// placed by id stays and the one shown while sending goes.
    pub fn identify(&mut self, request: u64, id: MessageId) {
        let own = |e: &Entry| matches!(e, Entry::Message { mine: Some((r, _)), .. } if *r == request);
        if self.entries.iter().any(|e| !own(e) && entry_id(e) == Some(id)) {
            self.entries.retain(|e| !own(e));
            return;
        }
        for entry in self.entries.iter_mut().filter(|e| own(e)) {
            if let Entry::Message { id: known, .. } = entry {
                *known = Some(id);
            }
        }
    }
}

fn entry_id(entry: &Entry) -> Option<MessageId> {
    match entry {
        Entry::Message { id, .. } => *id,
        _ => None,
    }
}
