//! Wire modes: how `Command`s arrive as bytes and how `Event`s leave as bytes, encoded once per mode.

pub mod json;
pub mod line;
pub mod text;

use bytes::Bytes;

use crate::hub::Focus;
use crate::protocol::Event;

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

    /// The longest frame this mode accepts when messages may be up to `max_message` bytes.
    pub fn max_frame_bytes(self, max_message: usize) -> usize {
        match self {
            WireMode::Text => max_message + TEXT_FRAME_SLACK_BYTES,
            WireMode::Json => max_message.saturating_mul(6) + JSON_FRAME_SLACK_BYTES,
        }
    }
}

/// One event and its encodings, each made at most once however many recipients share it.
pub struct Encoded<'a> {
    event: &'a Event,
    json: Option<Bytes>,
    text_current: Option<Bytes>,
    text_elsewhere: Option<Bytes>,
}

impl<'a> Encoded<'a> {
    pub fn new(event: &'a Event) -> Encoded<'a> {
        Encoded {
            event,
            json: None,
            text_current: None,
            text_elsewhere: None,
        }
    }

    /// The bytes for a recipient speaking `mode` with `focus`; cheap to clone (shared).
    pub fn bytes(&mut self, mode: WireMode, focus: Focus) -> Bytes {
        let event = self.event;
        let slot = match (mode, focus) {
            (WireMode::Json, _) => &mut self.json,
            (WireMode::Text, Focus::Current) => &mut self.text_current,
            (WireMode::Text, Focus::Elsewhere) => &mut self.text_elsewhere,
        };
        slot.get_or_insert_with(|| match mode {
            WireMode::Json => json::render_event(event),
            WireMode::Text => text::render(event, focus),
        })
        .clone()
    }
}
