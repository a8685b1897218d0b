//! Filling windows from the server's stored history: the latest page when a window opens, the page
//! before the oldest line when the reader scrolls above it, and after a reconnect what followed the
//! newest line; and the answers to those requests.

use super::{App, LinkState, message_entries};
use crate::client::tui::paging::{Direction, PAGE_MESSAGES};
use crate::client::tui::window::Kind;
use crate::names::{Nick, RoomName};
use crate::protocol::{Command, ErrorCode, Message, MessageId};

use super::Action;

impl App {
    /// What the window's history is asked for by: its room, or the direct messages with a nick, which
    /// the server keeps for accounts only.
    fn conversation(&self, index: usize) -> Option<(Option<RoomName>, Option<Nick>)> {
        match &self.windows[index].kind {
            Kind::Room(room) => Some((Some(room.clone()), None)),
            Kind::Direct(nick) if self.account.is_some() => Some((None, Some(nick.clone()))),
            Kind::Direct(_) | Kind::Mentions | Kind::Search(_) => None,
        }
    }

    /// Asks for what the window lacks at its newest end: the latest page the first time, and after
    /// that (a reconnect) the messages after the newest one shown.
    pub(super) fn catch_up(&mut self, index: usize, out: &mut Vec<Action>) {
        self.windows[index].paging.asked_this_link = true;
        let window = &self.windows[index];
        match window.newest_id().filter(|_| window.paging.filled) {
            Some(newest) => self.ask_page(index, Direction::Newer, (Some(newest), None), PAGE_MESSAGES, out),
            None => self.ask_page(index, Direction::Latest, (None, None), PAGE_MESSAGES, out),
        };
    }

    /// Asks for the `limit` messages before the oldest line, unless none are stored or a page is asked
    /// already. Returns whether it asked.
    pub(super) fn older_page(&mut self, index: usize, limit: usize, out: &mut Vec<Action>) -> bool {
        let window = &self.windows[index];
        if !window.paging.older {
            return false;
        }
        match window.oldest_id() {
            Some(oldest) => self.ask_page(index, Direction::Older, (None, Some(oldest)), limit, out),
            None if !window.paging.filled => self.ask_page(index, Direction::Latest, (None, None), limit, out),
            None => false,
        }
    }

    fn ask_page(
        &mut self,
        index: usize,
        direction: Direction,
        (after, before): (Option<MessageId>, Option<MessageId>),
        limit: usize,
        out: &mut Vec<Action>,
    ) -> bool {
        let connected = matches!(self.link, LinkState::Connected { .. });
        let Some((room, with)) = self.conversation(index).filter(|_| connected) else {
            return false;
        };
        if self.windows[index].paging.asked.is_some() {
            return false;
        }
        let command = Command::History {
            room,
            with,
            after,
            before,
            after_time: None,
            before_time: None,
            limit: Some(limit),
        };
        let id = self.send(command, out);
        self.windows[index].paging.asked = Some((id, direction));
        true
    }

    /// A page of history: merged into the window it was asked for, and while a catch-up has more to
    /// come, the next page is asked for.
    pub(super) fn history_page(
        &mut self,
        (room, with): (Option<RoomName>, Option<Nick>),
        messages: Vec<Message>,
        more: bool,
        out: &mut Vec<Action>,
    ) {
        let kind = match (room, with) {
            (Some(room), _) => Kind::Room(room),
            (None, Some(nick)) => Kind::Direct(nick),
            (None, None) => return,
        };
        // A window closed meanwhile stays closed.
        let Some(index) = self.find(&kind) else { return };
        let shown = index == self.active;
        let window = &mut self.windows[index];
        let direction = window.paging.asked.take().map_or(Direction::Latest, |(_, d)| d);
        let page = messages.iter().map(|m| (m.id, message_entries(m, false))).collect();
        let added = window.merge(page, direction, shown);
        match direction {
            Direction::Latest => {
                window.paging.filled = true;
                window.paging.older = more;
            }
            Direction::Older => window.paging.older = more,
            Direction::Newer if more && added > 0 => self.catch_up(index, out),
            Direction::Newer => {}
        }
    }

    /// An error answering request `id`: if it was a window's page request, the window may ask again
    /// and the error is said there quietly, or not at all for a guest's direct messages. Returns
    /// whether it was one.
    pub(super) fn page_refused(&mut self, id: u64, code: ErrorCode, message: &str) -> bool {
        let Some(index) = self
            .windows
            .iter()
            .position(|w| w.paging.asked.is_some_and(|(asked, _)| asked == id))
        else {
            return false;
        };
        self.windows[index].paging.asked = None;
        self.pending.retain(|(pending, _)| *pending != id);
        if code != ErrorCode::NotLoggedIn {
            self.notice(index, &format!("no history here: {message}"), false);
        }
        true
    }

    /// A new connection: pages asked on the old one are not asked again as they were, since each
    /// window asks afresh for what it lacks once it is back in its conversation.
    pub(super) fn forget_pages(&mut self) {
        let mut forgotten = Vec::new();
        for window in &mut self.windows {
            forgotten.extend(window.paging.asked.take().map(|(id, _)| id));
            window.paging.asked_this_link = false;
        }
        self.pending.retain(|(id, _)| !forgotten.contains(id));
    }

    /// Direct windows with no history asked on this connection ask, once logged in: rooms ask when
    /// the server says one is in them.
    pub(super) fn fill_direct_windows(&mut self, out: &mut Vec<Action>) {
        if self.account.is_none() || !matches!(self.link, LinkState::Connected { .. }) {
            return;
        }
        for index in 0..self.windows.len() {
            let window = &self.windows[index];
            if matches!(window.kind, Kind::Direct(_)) && !window.paging.asked_this_link {
                self.catch_up(index, out);
            }
        }
    }
}
