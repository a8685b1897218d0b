//! One window of the full-screen client: a room, a direct conversation, or the mentions view, with its
//! bounded scrollback.

use std::collections::VecDeque;

use super::paging::Paging;
use crate::names::{Nick, RoomName};
use crate::protocol::{MessageId, Millis};

/// The most entries a window keeps; older ones are dropped.
pub const MAX_SCROLLBACK: usize = 5000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Mentions,
    Room(RoomName),
    Direct(Nick),
    /// The matches of a search for these words.
    Search(String),
}

/// How far one's own message has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Written while disconnected; it goes out on reconnect.
    Queued,
    Sent,
    Delivered,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Message {
        /// The server's id for the message: known for what the server sent, and for one's own once
        /// acknowledged.
        id: Option<MessageId>,
        ts: Millis,
        from: String,
        /// Sanitised; one entry per line of the message.
        text: String,
        action: bool,
        mention: bool,
        /// For one's own messages: the request id and how far it got.
        mine: Option<(u64, Delivery)>,
    },
    Notice {
        ts: Millis,
        text: String,
        error: bool,
    },
    /// Joins and leaves in a row, folded into one line.
    Presence {
        ts: Millis,
        joined: Vec<String>,
        left: Vec<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Window {
    pub kind: Kind,
    pub entries: VecDeque<Entry>,
    /// Entries that arrived while the window was not shown.
    pub unread: usize,
    pub mentioned: bool,
    /// Rows scrolled up from the bottom; 0 follows new messages.
    pub scroll: usize,
    /// Entries that arrived below while scrolled up.
    pub unseen_below: usize,
    pub members: Vec<Nick>,
    /// The ids of the `who` requests this client sent itself for the next page of `members`, not yet
    /// answered. A page that answers none of them starts the list afresh.
    pub pages_asked: Vec<u64>,
    /// Which of `pages_asked` continues the list shown now; the others belong to a listing that a
    /// fresh `who` overtook, and their pages are dropped.
    pub page_continuing: Option<u64>,
    pub topic: Option<String>,
    /// Where the window is in its conversation's history.
    pub paging: Paging,
}

impl Window {
    pub fn new(kind: Kind) -> Window {
        Window {
            kind,
            entries: VecDeque::new(),
            unread: 0,
            mentioned: false,
            scroll: 0,
            unseen_below: 0,
            members: Vec::new(),
            pages_asked: Vec::new(),
            page_continuing: None,
            topic: None,
            paging: Paging::default(),
        }
    }

    pub fn name(&self) -> String {
        match &self.kind {
            Kind::Mentions => "mentions".to_owned(),
            Kind::Room(room) => room.to_string(),
            Kind::Direct(nick) => format!("@{nick}"),
            Kind::Search(words) => format!("search: {words}"),
        }
    }

    pub fn room(&self) -> Option<&RoomName> {
        match &self.kind {
            Kind::Room(room) => Some(room),
            _ => None,
        }
    }

    /// Adds an entry; `shown` says whether the window is on screen. Only messages count as unread.
    pub fn push(&mut self, entry: Entry, shown: bool) {
        if self.scroll > 0 {
            // Keep the reader's place: what they were reading stays where it was.
            self.scroll += 1;
            self.unseen_below += 1;
        }
        if !shown && matches!(entry, Entry::Message { .. }) {
            self.unread += 1;
        }
        self.entries.push_back(entry);
        self.trim();
    }

    /// Drops the oldest entries beyond `MAX_SCROLLBACK`; the server has them still.
    pub fn trim(&mut self) {
        while self.entries.len() > MAX_SCROLLBACK {
            self.entries.pop_front();
            self.paging.older = true;
        }
    }

    /// Folds a join or leave into the presence line at the bottom, or starts one.
    pub fn presence(&mut self, ts: Millis, nick: &str, joined: bool) {
        if let Some(Entry::Presence { joined: j, left: l, .. }) = self.entries.back_mut() {
            let list = if joined { j } else { l };
            if !list.iter().any(|n| n == nick) {
                list.push(nick.to_owned());
            }
            return;
        }
        let (joined, left) = if joined {
            (vec![nick.to_owned()], vec![])
        } else {
            (vec![], vec![nick.to_owned()])
        };
        self.entries.push_back(Entry::Presence { ts, joined, left });
    }

    /// Marks one's own message `id` as `delivery`.
    pub fn mark(&mut self, id: u64, delivery: Delivery) -> bool {
        let mut found = false;
        for entry in self.entries.iter_mut().rev() {
            if let Entry::Message {
                mine: Some((mine, state)),
                ..
            } = entry
                && *mine == id
            {
                *state = delivery;
                found = true;
            }
        }
        found
    }

    pub fn add_member(&mut self, nick: &Nick) {
        if !self.members.contains(nick) {
            self.members.push(nick.clone());
        }
    }

    pub fn remove_member(&mut self, nick: &Nick) -> bool {
        let before = self.members.len();
        self.members.retain(|m| m != nick);
        self.members.len() != before
    }

    pub fn shown(&mut self) {
        self.unread = 0;
        self.mentioned = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_folds_and_scrollback_is_bounded() {
        let mut window = Window::new(Kind::Mentions);
        window.presence(0, "ann", true);
        window.presence(0, "bob", true);
        window.presence(0, "ann", false);
        assert_eq!(window.entries.len(), 1);
        assert_eq!(
            window.entries[0],
            Entry::Presence {
                ts: 0,
                joined: vec!["ann".into(), "bob".into()],
                left: vec!["ann".into()]
            }
        );
        for i in 0..MAX_SCROLLBACK + 10 {
            window.push(
                Entry::Notice {
                    ts: 0,
                    text: i.to_string(),
                    error: false,
                },
                false,
            );
        }
        assert_eq!(window.entries.len(), MAX_SCROLLBACK);
        assert_eq!(window.unread, 0, "notices are not unread messages");
    }
}
