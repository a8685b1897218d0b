//! The input line: text with a cursor, the usual editing keys, history, and completion.

/// The most lines kept in input history.
pub const MAX_HISTORY: usize = 500;

/// An edit the keyboard asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Insert(char),
    Backspace,
    Delete,
    Left,
    Right,
    Home,
    End,
    /// Ctrl-W: the word before the cursor.
    KillWord,
    /// Ctrl-U: everything before the cursor.
    KillToStart,
    /// Ctrl-K: everything after the cursor.
    KillToEnd,
    HistoryUp,
    HistoryDown,
}

#[derive(Debug, Default, Clone)]
pub struct Editor {
    /// The text, as chars so the cursor can count in them.
    text: Vec<char>,
    cursor: usize,
    history: Vec<String>,
    /// Where Up/Down has got to in history, and the unsent line it left.
    browsing: Option<(usize, String)>,
    /// The completion in progress: the word's start, what was typed, and the candidate last offered.
    completing: Option<(usize, String, usize)>,
}

impl Editor {
    pub fn text(&self) -> String {
        self.text.iter().collect()
    }

    /// The cursor, in chars from the start.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn insert_str(&mut self, text: &str) {
        for c in text.chars() {
            self.apply(Edit::Insert(c));
        }
    }

    pub fn apply(&mut self, edit: Edit) {
        self.completing = None;
        let len = self.text.len();
        match edit {
            Edit::Insert(c) => {
                self.text.insert(self.cursor, c);
                self.cursor += 1;
            }
            Edit::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.text.remove(self.cursor);
            }
            Edit::Delete if self.cursor < len => {
                self.text.remove(self.cursor);
            }
            Edit::Left => self.cursor = self.cursor.saturating_sub(1),
            Edit::Right => self.cursor = (self.cursor + 1).min(len),
            Edit::Home => self.cursor = 0,
            Edit::End => self.cursor = len,
            Edit::KillWord => {
                let mut start = self.cursor;
                while start > 0 && self.text[start - 1].is_whitespace() {
                    start -= 1;
                }
                while start > 0 && !self.text[start - 1].is_whitespace() {
                    start -= 1;
                }
                self.text.drain(start..self.cursor);
                self.cursor = start;
            }
            Edit::KillToStart => {
                self.text.drain(..self.cursor);
                self.cursor = 0;
            }
            Edit::KillToEnd => self.text.truncate(self.cursor),
            Edit::HistoryUp => self.browse(true),
            Edit::HistoryDown => self.browse(false),
            Edit::Backspace | Edit::Delete => {}
        }
    }

    fn browse(&mut self, older: bool) {
        let current = self.text();
        let position = match (&self.browsing, older) {
            (None, true) if !self.history.is_empty() => Some(self.history.len() - 1),
            (None, _) => return,
            (Some((at, _)), true) => Some(at.saturating_sub(1)),
            (Some((at, _)), false) => (at + 1 < self.history.len()).then_some(at + 1),
        };
        let draft = self.browsing.take().map(|(_, draft)| draft).unwrap_or(current);
        let text = match position {
            Some(at) => {
                self.browsing = Some((at, draft));
                self.history[at].clone()
            }
            None => draft,
        };
        self.set(&text);
    }

    fn set(&mut self, text: &str) {
        self.text = text.chars().collect();
        self.cursor = self.text.len();
    }

    /// Takes the text to send, remembering it in history, and clears the line.
    pub fn take(&mut self) -> String {
        let text = self.text();
        if !text.trim().is_empty() && self.history.last() != Some(&text) {
            self.history.push(text.clone());
            if self.history.len() > MAX_HISTORY {
                self.history.remove(0);
            }
        }
        self.browsing = None;
        self.completing = None;
        self.set("");
        text
    }

    /// Takes the text to send without remembering it: it holds a password.
    pub fn take_unremembered(&mut self) -> String {
        let text = self.text();
        self.browsing = None;
        self.completing = None;
        self.set("");
        text
    }

    /// The word as typed before Tab was pressed, while Tab cycles through its completions.
    pub fn completing(&self) -> Option<&str> {
        self.completing.as_ref().map(|(_, typed, _)| typed.as_str())
    }

    /// Tab: completes the word before the cursor from `candidates`; pressed again, offers the next.
    pub fn complete(&mut self, candidates: &[String]) {
        let (start, typed, next) = match self.completing.take() {
            Some((start, typed, last)) => (start, typed, last + 1),
            None => {
                let mut start = self.cursor;
                while start > 0 && !self.text[start - 1].is_whitespace() {
                    start -= 1;
                }
                (start, self.text[start..self.cursor].iter().collect::<String>(), 0)
            }
        };
        let lower = typed.to_lowercase();
        let matches: Vec<&String> = candidates
            .iter()
            .filter(|c| c.to_lowercase().starts_with(&lower))
            .collect();
        if matches.is_empty() {
            return;
        }
        let index = next % matches.len();
        let mut word = matches[index].clone();
        if start == 0 && !word.starts_with('/') {
            word.push(':');
        }
        word.push(' ');
        self.text.splice(start..self.cursor, word.chars());
        self.cursor = start + word.chars().count();
        self.completing = Some((start, typed, index));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(text: &str) -> Editor {
        let mut editor = Editor::default();
        editor.insert_str(text);
        editor
    }

    #[test]
    fn edits() {
        use Edit::*;
        let cases: &[(&str, &[Edit], &str, usize)] = &[
            ("hello", &[Left, Left, Insert('X')], "helXlo", 4),
            ("hello", &[Home, Delete], "ello", 0),
            ("hello", &[Backspace, Backspace], "hel", 3),
            ("hello", &[Home, Backspace, End, Right], "hello", 5),
            ("one two  three", &[KillWord], "one two  ", 9),
            ("one two  ", &[KillWord], "one ", 4),
            ("one two", &[Left, Left, Left, KillToStart], "two", 0),
            ("one two", &[Home, Right, KillToEnd], "o", 1),
            ("日本語", &[Left, Backspace], "日語", 1),
        ];
        for (start, edits, want, cursor) in cases {
            let mut editor = typed(start);
            for edit in *edits {
                editor.apply(*edit);
            }
            assert_eq!(
                (editor.text().as_str(), editor.cursor()),
                (*want, *cursor),
                "{start:?} {edits:?}"
            );
        }
    }

    #[test]
    fn history_walks_back_and_returns_the_draft() {
        let mut editor = Editor::default();
        for line in ["first", "second"] {
            editor.insert_str(line);
            editor.take();
        }
        editor.insert_str("draft");
        editor.apply(Edit::HistoryUp);
        assert_eq!(editor.text(), "second");
        editor.apply(Edit::HistoryUp);
        editor.apply(Edit::HistoryUp);
        assert_eq!(editor.text(), "first");
        editor.apply(Edit::HistoryDown);
        assert_eq!(editor.text(), "second");
        editor.apply(Edit::HistoryDown);
        assert_eq!(editor.text(), "draft");
    }

    #[test]
    fn tab_completes_and_cycles() {
        let nicks = vec!["alice".to_owned(), "albert".to_owned(), "bob".to_owned()];
        let mut editor = typed("al");
        editor.complete(&nicks);
        assert_eq!(editor.text(), "alice: ");
        editor.complete(&nicks);
        assert_eq!(editor.text(), "albert: ");
        editor.complete(&nicks);
        assert_eq!(editor.text(), "alice: ");
        let mut editor = typed("hi B");
        editor.complete(&nicks);
        assert_eq!(editor.text(), "hi bob ");
        let commands = vec!["/join".to_owned(), "/jump".to_owned()];
        let mut editor = typed("/jo");
        editor.complete(&commands);
        assert_eq!(editor.text(), "/join ");
        let mut editor = typed("zz");
        editor.complete(&nicks);
        assert_eq!(editor.text(), "zz");
    }
}
