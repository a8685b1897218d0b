//! Validated identities: `Nick` and `RoomName`, and `ConnId`, the connection number.

use std::collections::HashMap;
use std::fmt;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// The longest nick, in characters (all ASCII, so also bytes). At most 24, so that a nick is held
/// inline (`CompactString`) and the copies the hub and every session keep cost no allocation.
pub const MAX_NICK_CHARS: usize = 24;
/// What a nick may hold besides ASCII letters and digits: IRC's nick punctuation (RFC 2812 2.3.1).
pub const NICK_PUNCTUATION: &str = "-_[]\\`^{|}";
/// The longest room name, in characters (all ASCII, so also bytes).
pub const MAX_ROOM_CHARS: usize = 32;

/// A connection's number, assigned in connection order; the operator console is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConnId(pub u64);

/// A map keyed by connection number. The server hands the numbers out itself, so no client can choose
/// keys that collide, and the fast hash (consulted once per recipient of every message) is safe.
pub type ConnMap<V> = HashMap<ConnId, V, rustc_hash::FxBuildHasher>;

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Why a nick or room name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{kind} must not be empty")]
    Empty { kind: &'static str },
    #[error("{kind} is longer than {max} characters")]
    TooLong { kind: &'static str, max: usize },
    #[error("{kind} must start with a {starts}")]
    BadStart { kind: &'static str, starts: &'static str },
    #[error("{kind} may hold only {allowed}")]
    BadChar { kind: &'static str, allowed: &'static str },
}

/// A user's nick: 1 to 24 ASCII letters, digits and IRC's punctuation (`-_[]\\`^{|}`), starting with a
/// letter or that punctuation but `-` (as IRC allows). Compared case-insensitively in ASCII (IRC's
/// `CASEMAPPING=ascii`: `[` and `{` are different nicks), shown as the user typed it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Nick(CompactString);

impl Nick {
    pub fn parse(text: &str) -> Result<Nick, NameError> {
        let rule = NameRule {
            kind: "a nick",
            max_chars: MAX_NICK_CHARS,
            allowed: "letters, digits and -_[]\\`^{|}",
            punctuation: NICK_PUNCTUATION,
            starts: "letter or one of _[]\\`^{|}",
            punctuation_first: true,
        };
        rule.check(text)?;
        Ok(Nick(CompactString::new(text)))
    }

    /// Whether it has the shape of the nicks the server gives those who ask for none: `user` or
    /// `guest` and a number.
    pub fn is_guest_shaped(&self) -> bool {
        let text = self.0.to_ascii_lowercase();
        ["user", "guest"].iter().any(|prefix| {
            text.strip_prefix(prefix)
                .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form two nicks are compared by.
    pub fn key(&self) -> NickKey {
        NickKey(lowercase(&self.0))
    }
}

impl PartialEq for Nick {
    fn eq(&self, other: &Nick) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for Nick {}

impl fmt::Display for Nick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Nick {
    type Error = NameError;
    fn try_from(text: String) -> Result<Nick, NameError> {
        Nick::parse(&text)
    }
}

impl From<Nick> for String {
    fn from(nick: Nick) -> String {
        nick.0.into_string()
    }
}

/// A nick folded to lower case: the key under which nicks are unique.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NickKey(CompactString);

/// A room's name: 1 to 32 ASCII letters, digits, `-`, `_` or `.`, starting with a letter,
/// stored in lower case so that `Rust` and `rust` are one room. A leading `#` is dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoomName(CompactString);

impl RoomName {
    pub fn parse(text: &str) -> Result<RoomName, NameError> {
        let text = text.strip_prefix('#').unwrap_or(text);
        let rule = NameRule {
            kind: "a room name",
            max_chars: MAX_ROOM_CHARS,
            allowed: "letters, digits, '-', '_' and '.'",
            punctuation: "-_.",
            starts: "letter",
            punctuation_first: false,
        };
        rule.check(text)?;
        Ok(RoomName(lowercase(text)))
    }

    /// The room every client lands in.
    pub fn lobby() -> RoomName {
        RoomName(CompactString::const_new("lobby"))
    }

    /// Whether it has the shape of the nicks the server gives those who ask for none: `user` or
    /// `guest` and a number.
    pub fn is_guest_shaped(&self) -> bool {
        let text = self.0.to_ascii_lowercase();
        ["user", "guest"].iter().any(|prefix| {
            text.strip_prefix(prefix)
                .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RoomName {
    type Error = NameError;
    fn try_from(text: String) -> Result<RoomName, NameError> {
        RoomName::parse(&text)
    }
}

impl From<RoomName> for String {
    fn from(room: RoomName) -> String {
        room.0.into_string()
    }
}

/// `text` in ASCII lower case, made in place.
fn lowercase(text: &str) -> CompactString {
    let mut folded = CompactString::new(text);
    folded.make_ascii_lowercase();
    folded
}

/// What a name may be made of: ASCII letters and digits plus some punctuation, starting with a letter
/// (or, where `starts` names some, with punctuation other than `-`).
struct NameRule {
    kind: &'static str,
    max_chars: usize,
    allowed: &'static str,
    punctuation: &'static str,
    /// What the first character may be, in words.
    starts: &'static str,
    /// Whether the first character may be punctuation (but `-`).
    punctuation_first: bool,
}

impl NameRule {
    fn check(&self, text: &str) -> Result<(), NameError> {
        let kind = self.kind;
        let first = text.chars().next().ok_or(NameError::Empty { kind })?;
        if text.chars().count() > self.max_chars {
            return Err(NameError::TooLong {
                kind,
                max: self.max_chars,
            });
        }
        let fits = |c: char| c.is_ascii_alphanumeric() || self.punctuation.contains(c);
        if !text.chars().all(fits) {
            return Err(NameError::BadChar {
                kind,
                allowed: self.allowed,
            });
        }
        let punctuation_starts = self.punctuation_first && first != '-' && self.punctuation.contains(first);
        if !first.is_ascii_alphabetic() && !punctuation_starts {
            return Err(NameError::BadStart {
                kind,
                starts: self.starts,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicks() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("alice", Ok("alice")),
            ("Bob_2", Ok("Bob_2")),
            ("a-b", Ok("a-b")),
            ("", Err("a nick must not be empty")),
            ("2pac", Err("a nick must start with a letter or one of _[]\\`^{|}")),
            ("-x", Err("a nick must start with a letter or one of _[]\\`^{|}")),
            ("_x", Ok("_x")),
            ("[away]|x^`{}\\", Ok("[away]|x^`{}\\")),
            ("al ice", Err("a nick may hold only letters, digits and -_[]\\`^{|}")),
            ("a!b", Err("a nick may hold only letters, digits and -_[]\\`^{|}")),
            ("ünï", Err("a nick may hold only letters, digits and -_[]\\`^{|}")),
            ("abcdefghijklmnopqrstuvwx", Ok("abcdefghijklmnopqrstuvwx")),
            ("abcdefghijklmnopqrstuvwxy", Err("a nick is longer than 24 characters")),
        ];
        for (input, want) in cases {
            let got = Nick::parse(input).map(|n| n.to_string()).map_err(|e| e.to_string());
            assert_eq!(got, want.map(str::to_owned).map_err(str::to_owned), "input {input:?}");
        }
    }

    /// The hub, the fan-out and every event keep copies of nicks: the longest one costs no allocation.
    #[test]
    fn the_longest_nick_and_its_key_are_held_inline() {
        let nick = Nick::parse(&"N".repeat(MAX_NICK_CHARS)).unwrap();
        assert!(!nick.0.is_heap_allocated());
        assert!(!nick.key().0.is_heap_allocated());
        assert!(!nick.clone().0.is_heap_allocated());
        assert!(!RoomName::lobby().0.is_heap_allocated());
    }

    #[test]
    fn nicks_compare_without_case() {
        let a = Nick::parse("Alice").unwrap();
        let b = Nick::parse("aLICE").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.key(), b.key());
        assert_eq!(a.as_str(), "Alice");
    }

    #[test]
    fn rooms() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("lobby", Ok("lobby")),
            ("#Rust", Ok("rust")),
            ("v1.2-beta_x", Ok("v1.2-beta_x")),
            ("#", Err("a room name must not be empty")),
            ("1abc", Err("a room name must start with a letter")),
            (
                "a/b",
                Err("a room name may hold only letters, digits, '-', '_' and '.'"),
            ),
            (&"r".repeat(33), Err("a room name is longer than 32 characters")),
        ];
        for (input, want) in cases {
            let got = RoomName::parse(input).map(|n| n.to_string()).map_err(|e| e.to_string());
            assert_eq!(got, want.map(str::to_owned).map_err(str::to_owned), "input {input:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_a_nick_that_renders_as_typed_or_an_error(text in "\\PC{0,30}|[A-Za-z_\\[\\]|^`{}\\\\][A-Za-z0-9_\\[\\]|^`{}\\\\-]{0,25}") {
            if let Ok(nick) = Nick::parse(&text) {
                proptest::prop_assert_eq!(nick.to_string(), text.clone());
                proptest::prop_assert_eq!(Nick::parse(nick.as_str()).map(|n| n.to_string()), Ok(text));
            }
        }

        #[test]
        fn any_text_is_a_room_that_renders_folded_or_an_error(text in "\\PC{0,36}|#?[A-Za-z][A-Za-z0-9_.-]{0,33}") {
            if let Ok(room) = RoomName::parse(&text) {
                let typed = text.strip_prefix('#').unwrap_or(&text);
                proptest::prop_assert_eq!(room.to_string(), typed.to_ascii_lowercase());
                proptest::prop_assert_eq!(RoomName::parse(room.as_str()), Ok(room));
            }
        }

        #[test]
        fn any_characters_at_all_are_judged_without_panic(chars in proptest::collection::vec(proptest::prelude::any::<char>(), 0..40)) {
            let text = String::from_iter(chars);
            let _ = Nick::parse(&text);
            let _ = RoomName::parse(&text);
        }
    }
}
