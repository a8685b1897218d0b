//! `/search WORDS`: a window of its own for the words, listing the matches newest first, each with the
//! room or conversation it was said in.

use super::{Action, App, message_entries};
use crate::client::tui::window::{Entry, Kind};
use crate::names::RoomName;
use crate::protocol::{Command, Message};

impl App {
    /// Opens the window for `query` (or empties the one open) and asks the server.
    pub(super) fn search(
        &mut self,
        query: String,
        room: Option<RoomName>,
        limit: Option<usize>,
        out: &mut Vec<Action>,
    ) {
        let index = self.window_for(Kind::Search(query.clone()));
        self.windows[index].entries.clear();
        self.windows[index].scroll = 0;
        self.switch(index);
        self.notice(index, "searching…", false);
        self.post(Command::Search { query, room, limit }, out);
    }

    /// The matches of a search, newest first as the server sends them.
    pub(super) fn search_answered(&mut self, query: String, messages: Vec<Message>) {
        let index = self.window_for(Kind::Search(query.clone()));
        let shown = index == self.active;
        let window = &mut self.windows[index];
        window.entries.clear();
        window.scroll = 0;
        let summary = match messages.len() {
            0 => format!("no message holds all of: {query}"),
            1 => format!("1 message holds all of: {query}"),
            n => format!("{n} messages hold all of: {query}, newest first"),
        };
        self.notice(index, &summary, false);
        for message in &messages {
            let place = self.place(message);
            for mut entry in message_entries(message, false) {
                if let Entry::Message { text, .. } = &mut entry {
                    *text = format!("[{place}] {text}");
                }
                self.windows[index].push(entry, shown);
            }
        }
    }

    /// Where a message was said: its room, or the other end of a direct conversation.
    fn place(&self, message: &Message) -> String {
        match (&message.room, &message.to) {
            (Some(room), _) => room.to_string(),
            (None, Some(to)) if message.from == self.me => format!("@{to}"),
            (None, _) => format!("@{}", message.from),
        }
    }
}
