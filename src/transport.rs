//! Wire modes: how `Command`s arrive as bytes and how `Event`s leave as bytes, encoded once per mode.

pub mod irc;
pub mod json;
pub mod line;
pub mod text;

use bytes::Bytes;

use crate::hub::Focus;
use crate::names::Nick;
use crate::protocol::Event;
use crate::transport::irc::caps::{Caps, Rendering};
use crate::transport::irc::user_modes::UserModes;

/// The bytes a structured frame may take beyond the message text it carries: JSON escaping can make
/// a text up to six times longer (`\u0001`), plus the object around it.
pub const JSON_FRAME_SLACK_BYTES: usize = 4096;
/// The bytes a typed line may take beyond the message text (`/msg NICK `, say).
pub const TEXT_FRAME_SLACK_BYTES: usize = 256;

/// How a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireMode {
    /// Plain lines, for people at nc or telnet.
    Text,
    /// One JSON object per line, for programs.
    Json,
    /// IRC (docs/irc.md), with the capabilities the client negotiated and its user modes; both may
    /// change while it is connected (`WireMode::after`).
    Irc(Caps, UserModes),
}

/// What a chat port makes of a connection's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    Chat(WireMode),
    /// An IRC client registering, on a port that does not speak IRC.
    IrcRegistration,
}

impl Opening {
    /// `{` opens a structured connection, IRC's registration commands an IRC client that came to the
    /// wrong port; anything else is plain text.
    pub fn sniff(first_bytes: &[u8]) -> Opening {
        if first_bytes.first() == Some(&b'{') {
            Opening::Chat(WireMode::Json)
        } else if irc::registration::opens_registration(first_bytes) {
            Opening::IrcRegistration
        } else {
            Opening::Chat(WireMode::Text)
        }
    }
}

impl WireMode {
    /// The first byte of a connection decides its mode: `{` opens a structured one.
    pub fn sniff(first_byte: u8) -> WireMode {
        if first_byte == b'{' {
            WireMode::Json
        } else {
            WireMode::Text
        }
    }

    /// Whether its clients answer the server's pings (plain text has no way to).
    pub fn answers_pings(self) -> bool {
        !matches!(self, WireMode::Text)
    }

    /// The longest frame this mode accepts when messages may be up to `max_message` bytes.
    pub fn max_frame_bytes(self, max_message: usize) -> usize {
        match self {
            WireMode::Text => max_message + TEXT_FRAME_SLACK_BYTES,
            WireMode::Json => max_message.saturating_mul(6) + JSON_FRAME_SLACK_BYTES,
            WireMode::Irc(..) => irc::message::MAX_LINE_BYTES,
        }
    }

    /// The mode after `event` is delivered to a session addressed as `nick`: an IRC client's own
    /// `CAP REQ` and `MODE` change it, at their place in the session's order.
    pub fn after(self, event: &Event, nick: Option<&Nick>) -> WireMode {
        match (self, nick) {
            (WireMode::Irc(caps, modes), Some(nick)) => irc::own_changes::after(caps, modes, event, nick)
                .map_or(self, |(caps, modes)| WireMode::Irc(caps, modes)),
            _ => self,
        }
    }
}

/// One rendering of an event: what a recipient gets depends on its wire mode and, in plain text, on
/// whether the event concerns its current room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Json,
    TextHere,
    TextAway,
    /// IRC, with or without the tags its capabilities add: a few renderings, however many
    /// sessions negotiated whatever.
    Irc(Rendering),
}

impl Variant {
    pub const COUNT: usize = 3 + Rendering::COUNT;
    pub const ALL: [Variant; Variant::COUNT] = {
        let mut all = [Variant::Json; Variant::COUNT];
        all[1] = Variant::TextHere;
        all[2] = Variant::TextAway;
        let mut i = 0;
        while i < Rendering::COUNT {
            all[3 + i] = Variant::Irc(Rendering::ALL[i]);
            i += 1;
        }
        all
    };

    pub fn of(mode: WireMode, focus: Focus) -> Variant {
        match (mode, focus) {
            (WireMode::Json, _) => Variant::Json,
            (WireMode::Text, Focus::Current) => Variant::TextHere,
            (WireMode::Text, Focus::Elsewhere) => Variant::TextAway,
            (WireMode::Irc(caps, _), _) => Variant::Irc(caps.rendering()),
        }
    }

    pub fn index(self) -> usize {
        match self {
            Variant::Json => 0,
            Variant::TextHere => 1,
            Variant::TextAway => 2,
            Variant::Irc(rendering) => 3 + rendering.index(),
        }
    }
}

/// One event and its encodings, each made at most once however many recipients share it.
pub struct Encoded<'a> {
    event: &'a Event,
    variants: [Option<Bytes>; Variant::COUNT],
}

impl<'a> Encoded<'a> {
    pub fn new(event: &'a Event) -> Encoded<'a> {
        Encoded {
            event,
            variants: std::array::from_fn(|_| None),
        }
    }

    /// The bytes for a recipient speaking `mode` with `focus`; cheap to clone (shared).
    pub fn bytes(&mut self, mode: WireMode, focus: Focus) -> Bytes {
        self.variant(Variant::of(mode, focus))
    }

    /// The bytes for one recipient of a delivered event: for IRC, addressed to `nick` (logged in to
    /// `account`) where the event is a reply (a numeric), and then made for it alone.
    pub fn delivered(
        &mut self,
        mode: WireMode,
        focus: Focus,
        (nick, account): (Option<&Nick>, Option<&Nick>),
    ) -> Bytes {
        if let (WireMode::Irc(caps, modes), Some(nick)) = (mode, nick)
            && let Some(reply) = irc::render::reply(self.event, (caps, modes), nick, account)
        {
            return reply;
        }
        self.bytes(mode, focus)
    }

    /// The bytes of one rendering; cheap to clone (shared).
    pub fn variant(&mut self, variant: Variant) -> Bytes {
        let event = self.event;
        self.variants[variant.index()]
            .get_or_insert_with(|| match variant {
                Variant::Json => json::render_event(event),
                Variant::TextHere => text::render(event, Focus::Current),
                Variant::TextAway => text::render(event, Focus::Elsewhere),
                Variant::Irc(rendering) => irc::render::shared(event, rendering),
            })
            .clone()
    }
}
