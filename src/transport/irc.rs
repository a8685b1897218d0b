//! IRC, the client protocol of RFC 1459 and 2812 as modern clients speak it (modern.ircdocs.horse),
//! with the IRCv3 extensions this server offers (docs/irc.md): lines, registration, capabilities,
//! lines as requests and events as lines.

pub mod asked;
pub mod caps;
pub mod chathistory;
pub mod commands;
pub mod labeled;
pub mod message;
pub mod multiline;
pub mod own_changes;
pub mod registration;
pub mod render;
pub mod split;
pub mod user_modes;
pub mod welcome;

use crate::names::{Nick, RoomName};

/// The server's name: the source of its numerics and the host of every user.
pub const SERVER_NAME: &str = "sockchat";

/// A room as an IRC channel: `#` and its name.
pub fn channel(room: &RoomName) -> String {
    format!("#{room}")
}

/// A user as the source of a line: `nick!nick@sockchat`.
pub fn source_of(nick: &Nick) -> String {
    format!("{0}!{0}@{SERVER_NAME}", nick.as_str())
}
