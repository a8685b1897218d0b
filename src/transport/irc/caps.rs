//! IRCv3 capabilities: the ones this server offers, a client's negotiated set, and the few
//! renderings they make of the events shared by a room.

use std::fmt;

use super::multiline;

/// draft/multiline's value in CAP LS 302: the bounds of a client's batch (`multiline::MAX_BYTES`,
/// `multiline::MAX_LINES`).
const MULTILINE_VALUE: &str = "max-bytes=4096,max-lines=64";
const _: () = assert!(multiline::MAX_BYTES == 4096 && multiline::MAX_LINES == 64);

/// A capability this server offers (CAP LS), each to its ircv3.net specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    CapNotify,
    ServerTime,
    MessageTags,
    EchoMessage,
    MultiPrefix,
    Sasl,
    Batch,
    Multiline,
    Chathistory,
    AwayNotify,
    ExtendedJoin,
    AccountTag,
    LabeledResponse,
}

impl Cap {
    pub const ALL: [Cap; 13] = [
        Cap::CapNotify,
        Cap::ServerTime,
        Cap::MessageTags,
        Cap::EchoMessage,
        Cap::MultiPrefix,
        Cap::Sasl,
        Cap::Batch,
        Cap::Multiline,
        Cap::Chathistory,
        Cap::AwayNotify,
        Cap::ExtendedJoin,
        Cap::AccountTag,
        Cap::LabeledResponse,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cap::CapNotify => "cap-notify",
            Cap::ServerTime => "server-time",
            Cap::MessageTags => "message-tags",
            Cap::EchoMessage => "echo-message",
            Cap::MultiPrefix => "multi-prefix",
            Cap::Sasl => "sasl",
            Cap::Batch => "batch",
            Cap::Multiline => "draft/multiline",
            Cap::Chathistory => "draft/chathistory",
            Cap::AwayNotify => "away-notify",
            Cap::ExtendedJoin => "extended-join",
            Cap::AccountTag => "account-tag",
            Cap::LabeledResponse => "labeled-response",
        }
    }

    /// What CAP LS 302 says after the name: `sasl=PLAIN`.
    pub fn value(self) -> Option<&'static str> {
        match self {
            Cap::Sasl => Some("PLAIN"),
            Cap::Multiline => Some(MULTILINE_VALUE),
            _ => None,
        }
    }

    pub fn named(name: &str) -> Option<Cap> {
        Cap::ALL.into_iter().find(|cap| cap.name().eq_ignore_ascii_case(name))
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// The capabilities a client has negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Caps(u16);

impl Caps {
    pub fn has(self, cap: Cap) -> bool {
        self.0 & cap.bit() != 0
    }

    pub fn with(self, cap: Cap) -> Caps {
        Caps(self.0 | cap.bit())
    }

    pub fn without(self, cap: Cap) -> Caps {
        Caps(self.0 & !cap.bit())
    }

    /// How the events a room shares are rendered for this client.
    pub fn rendering(self) -> Rendering {
        Rendering {
            time: self.has(Cap::ServerTime),
            msgid: self.has(Cap::MessageTags),
            multiline: self.has(Cap::Multiline) && self.has(Cap::Batch),
            extended_join: self.has(Cap::ExtendedJoin),
            account: self.has(Cap::AccountTag),
        }
    }

    /// The names of the negotiated capabilities, for CAP LIST.
    pub fn names(self) -> Vec<&'static str> {
        Cap::ALL
            .into_iter()
            .filter(|&cap| self.has(cap))
            .map(Cap::name)
            .collect()
    }
}

/// How a shared event is rendered: with `time` (server-time) and `msgid` (message-tags) tags, a
/// message of several lines as one draft/multiline batch (`multiline`), and JOIN with the joiner's
/// account and real name (`extended_join`), and messages with their author's `account` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Rendering {
    pub time: bool,
    pub msgid: bool,
    pub multiline: bool,
    pub extended_join: bool,
    pub account: bool,
}

impl Rendering {
    pub const COUNT: usize = 32;
    pub const ALL: [Rendering; Rendering::COUNT] = {
        let mut all = [Rendering {
            time: false,
            msgid: false,
            multiline: false,
            extended_join: false,
            account: false,
        }; Rendering::COUNT];
        let mut i = 0;
        while i < Rendering::COUNT {
            all[i] = Rendering {
                time: i & 1 != 0,
                msgid: i & 2 != 0,
                multiline: i & 4 != 0,
                extended_join: i & 8 != 0,
                account: i & 16 != 0,
            };
            i += 1;
        }
        all
    };

    pub fn index(self) -> usize {
        usize::from(self.time)
            | (usize::from(self.msgid) << 1)
            | (usize::from(self.multiline) << 2)
            | (usize::from(self.extended_join) << 3)
            | (usize::from(self.account) << 4)
    }
}

impl fmt::Display for Caps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(" "))
    }
}

/// The answer to `CAP LS`: every capability, with its value for version 302 and later.
pub fn offered(version_302: bool) -> String {
    let words: Vec<String> = Cap::ALL
        .into_iter()
        .map(|cap| match (cap.value(), version_302) {
            (Some(value), true) => format!("{}={value}", cap.name()),
            _ => cap.name().to_owned(),
        })
        .collect();
    words.join(" ")
}

/// What a `CAP REQ` asks for: the capabilities to add and remove, or `None` if any of them is not
/// offered (then the whole request is refused, as the specification says).
pub fn requested(caps: Caps, list: &str) -> Option<Caps> {
    let mut caps = caps;
    for word in list.split(' ').filter(|w| !w.is_empty()) {
        let (remove, name) = match word.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, word),
        };
        let cap = Cap::named(name)?;
        caps = if remove { caps.without(cap) } else { caps.with(cap) };
    }
    Some(caps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_add_and_remove_or_are_refused_whole() {
        let none = Caps::default();
        let cases: &[(&str, Option<&[Cap]>)] = &[
            ("server-time", Some(&[Cap::ServerTime])),
            ("server-time  echo-message", Some(&[Cap::ServerTime, Cap::EchoMessage])),
            ("SASL", Some(&[Cap::Sasl])),
            ("server-time -server-time", Some(&[])),
            ("server-time bogus", None),
            ("sasl=PLAIN", None),
            ("", Some(&[])),
        ];
        for (list, want) in cases {
            let want = want.map(|caps| caps.iter().fold(none, |c, &cap| c.with(cap)));
            assert_eq!(requested(none, list), want, "{list:?}");
        }
    }

    #[test]
    fn ls_lists_values_only_from_302() {
        assert_eq!(
            offered(false),
            "cap-notify server-time message-tags echo-message multi-prefix sasl batch draft/multiline draft/chathistory away-notify extended-join account-tag labeled-response"
        );
        assert!(offered(true).ends_with(
            " sasl=PLAIN batch draft/multiline=max-bytes=4096,max-lines=64 draft/chathistory away-notify extended-join account-tag labeled-response"
        ));
    }

    #[test]
    fn every_rendering_has_its_own_index() {
        for (i, rendering) in Rendering::ALL.into_iter().enumerate() {
            assert_eq!(rendering.index(), i);
        }
        let caps = Caps::default().with(Cap::ServerTime).with(Cap::Sasl);
        assert_eq!(
            caps.rendering(),
            Rendering {
                time: true,
                msgid: false,
                multiline: false,
                extended_join: false,
                account: false,
            }
        );
        assert_eq!(caps.to_string(), "server-time sasl");
    }
}
