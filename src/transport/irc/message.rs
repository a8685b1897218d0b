//! One IRC line: IRCv3 tags, a source, a command and its parameters, parsed from the bytes a client
//! sent and written back as the specifications say (RFC 1459 section 2.3, IRCv3 message-tags).

use std::fmt::Write as _;

/// The most bytes of tags a line may carry, with the `@` and the space after them (IRCv3).
pub const MAX_TAGS_BYTES: usize = 8191;
/// The most bytes of tag data a client may send, without the `@` and the space: IRCv3 message-tags
/// gives clients 4094 of the 8191 and the server the rest; more is refused with 417.
pub const MAX_CLIENT_TAG_DATA_BYTES: usize = 4094;
/// The most bytes of the rest of a line, without its CR LF (RFC 1459: 512 with it).
pub const MAX_BODY_BYTES: usize = 510;
/// The longest line a client may send: tags, body and line ending.
pub const MAX_LINE_BYTES: usize = MAX_TAGS_BYTES + MAX_BODY_BYTES + 2;
/// The most parameters a command may have (RFC 1459).
pub const MAX_PARAMS: usize = 15;

/// A parsed line. Text is UTF-8 (invalid bytes become U+FFFD): the chat carries text, not bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Tags in the order given; a tag without a value has `None`.
    pub tags: Vec<(String, Option<String>)>,
    /// Who the line is from (`nick!user@host` or a server name), without the `:`.
    pub source: Option<String>,
    /// The command, upper-cased, or a three-digit numeric.
    pub command: String,
    pub params: Vec<String>,
}

/// Why a line could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the line is empty")]
    Empty,
    #[error("the line has no command")]
    NoCommand,
    #[error("the line is too long")]
    TooLong,
    #[error("the line's tags are too long")]
    TagsTooLong,
    #[error("the command is not a word or a number")]
    BadCommand,
}

impl Message {
    /// A message with no tags or source.
    pub fn new(command: &str, params: &[&str]) -> Message {
        Message {
            command: command.to_owned(),
            params: params.iter().map(|p| (*p).to_owned()).collect(),
            ..Message::default()
        }
    }

    /// Reads one line a client sent, without its line ending.
    pub fn parse(line: &[u8]) -> Result<Message, ParseError> {
        Message::parse_within(line, (MAX_CLIENT_TAG_DATA_BYTES, MAX_BODY_BYTES))
    }

    /// Reads back a line this server wrote from one it parsed: unbounded, since making the client's
    /// invalid UTF-8 into U+FFFD may have taken it past the bound the client's line was within.
    pub fn reread(line: &str) -> Result<Message, ParseError> {
        Message::parse_within(line.as_bytes(), (MAX_TAGS_BYTES, usize::MAX))
    }

    /// Reads a line whose tag data (without `@` and space) and body are within the bounds given.
    fn parse_within(line: &[u8], (max_tag_data_bytes, max_body_bytes): (usize, usize)) -> Result<Message, ParseError> {
        let mut rest = line;
        let mut tags = Vec::new();
        if let Some(tagged) = rest.strip_prefix(b"@") {
            let (raw, body) = split_word(tagged);
            if raw.len() > max_tag_data_bytes || raw.len() + 2 > MAX_TAGS_BYTES {
                return Err(ParseError::TagsTooLong);
            }
            tags = parse_tags(&String::from_utf8_lossy(raw));
            rest = body;
        }
        let rest = trim_spaces(rest);
        if rest.len() > max_body_bytes {
            return Err(ParseError::TooLong);
        }
        if rest.is_empty() {
            return Err(if tags.is_empty() {
                ParseError::Empty
            } else {
                ParseError::NoCommand
            });
        }
        let text = String::from_utf8_lossy(rest);
        let mut rest = text.as_ref();
        let mut source = None;
        if let Some(sourced) = rest.strip_prefix(':') {
            let (word, after) = sourced.split_once(' ').unwrap_or((sourced, ""));
            source = Some(word.to_owned());
            rest = after.trim_start_matches(' ');
        }
        let (command, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
        if command.is_empty() {
            return Err(ParseError::NoCommand);
        }
        // A command is letters, or a three-digit numeric (RFC 1459 2.3.1).
        if !command.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ParseError::BadCommand);
        }
        let mut params = Vec::new();
        loop {
            rest = rest.trim_start_matches(' ');
            if rest.is_empty() {
                break;
            }
            // Past the fourteenth, the rest is one parameter, as if it were trailing (RFC 2812 2.3.1).
            if let Some(trailing) = rest
                .strip_prefix(':')
                .or((params.len() == MAX_PARAMS - 1).then_some(rest))
            {
                params.push(trailing.to_owned());
                break;
            }
            let (param, after) = rest.split_once(' ').unwrap_or((rest, ""));
            params.push(param.to_owned());
            rest = after;
        }
        Ok(Message {
            tags,
            source,
            command: command.to_ascii_uppercase(),
            params,
        })
    }

    /// The value of tag `key`, if the line has it (`Some("")` for a tag without a value).
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    /// The line as sent, with CR LF. The last parameter is written as trailing when it must be (it is
    /// empty, has a space or starts with `:`); a parameter before it never contains one, nor CR, LF or
    /// NUL, which are replaced by spaces (callers split text before it comes here).
    pub fn to_line(&self) -> String {
        self.written(false)
    }

    /// Like `to_line`, but the last parameter is always written as trailing (with its `:`), as
    /// servers write text (PRIVMSG's, a numeric's words) so that clients that split at ` :` read it.
    pub fn to_line_with_trailing(&self) -> String {
        self.written(true)
    }

    fn written(&self, always_trailing: bool) -> String {
        let mut line = String::new();
        if !self.tags.is_empty() {
            line.push('@');
            for (i, (key, value)) in self.tags.iter().enumerate() {
                if i > 0 {
                    line.push(';');
                }
                line.push_str(key);
                if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                    line.push('=');
                    escape_tag_value(value, &mut line);
                }
            }
            line.push(' ');
        }
        if let Some(source) = &self.source {
            let _ = write!(line, ":{source} ");
        }
        line.push_str(&self.command);
        let last = self.params.len().saturating_sub(1);
        for (i, param) in self.params.iter().enumerate() {
            line.push(' ');
            let clean = param.replace(['\r', '\n', '\0'], " ");
            let trailing = always_trailing || clean.is_empty() || clean.contains(' ') || clean.starts_with(':');
            if i == last && trailing {
                line.push(':');
                line.push_str(&clean);
            } else {
                line.push_str(&clean.replace(' ', "_"));
            }
        }
        line.push_str("\r\n");
        line
    }
}

fn split_word(bytes: &[u8]) -> (&[u8], &[u8]) {
    match bytes.iter().position(|&b| b == b' ') {
        Some(i) => (&bytes[..i], &bytes[i + 1..]),
        None => (bytes, &[]),
    }
}

fn trim_spaces(mut bytes: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = bytes {
        bytes = rest;
    }
    bytes
}

fn parse_tags(raw: &str) -> Vec<(String, Option<String>)> {
    raw.split(';')
        .filter(|tag| !tag.is_empty())
        .map(|tag| match tag.split_once('=') {
            // An empty value is the same as none (IRCv3 message-tags).
            Some((key, value)) => (
                key.to_owned(),
                Some(unescape_tag_value(value)).filter(|v| !v.is_empty()),
            ),
            None => (tag.to_owned(), None),
        })
        // A tag needs a name; one without is dropped.
        .filter(|(key, _)| !key.is_empty())
        .collect()
}

/// IRCv3 message-tags escaping: `\:` is `;`, `\s` a space, `\\` a backslash, `\r` and `\n`; any
/// other escaped character is itself, and a lone backslash at the end is dropped.
fn unescape_tag_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some(':') => out.push(';'),
            Some('s') => out.push(' '),
            Some('r') => out.push('\r'),
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn escape_tag_value(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            ';' => out.push_str("\\:"),
            ' ' => out.push_str("\\s"),
            '\\' => out.push_str("\\\\"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn lines_as_clients_send_them() {
        let cases: &[(&str, Message)] = &[
            ("NICK ann", Message::new("NICK", &["ann"])),
            ("nick ann", Message::new("NICK", &["ann"])),
            (
                "PRIVMSG #rust :hello there",
                Message::new("PRIVMSG", &["#rust", "hello there"]),
            ),
            ("PRIVMSG #rust ::-)", Message::new("PRIVMSG", &["#rust", ":-)"])),
            ("PRIVMSG #rust :", Message::new("PRIVMSG", &["#rust", ""])),
            (
                "USER ann 0 * :Ann Smith",
                Message::new("USER", &["ann", "0", "*", "Ann Smith"]),
            ),
            ("CAP LS 302", Message::new("CAP", &["LS", "302"])),
            ("  PING   x   y  ", Message::new("PING", &["x", "y"])),
            ("QUIT", Message::new("QUIT", &[])),
            (
                ":ann!a@host PRIVMSG bob :hi",
                Message {
                    source: Some("ann!a@host".to_owned()),
                    ..Message::new("PRIVMSG", &["bob", "hi"])
                },
            ),
            (
                "@label=abc;+draft/reply=12;solo TAGMSG #rust",
                Message {
                    tags: tags(&[("label", Some("abc")), ("+draft/reply", Some("12")), ("solo", None)]),
                    ..Message::new("TAGMSG", &["#rust"])
                },
            ),
            (
                r"@a=x\:y\sz\\w\r\n\q\;e=;f=\ B",
                Message {
                    tags: tags(&[("a", Some("x;y z\\w\r\nq")), ("e", None), ("f", None)]),
                    ..Message::new("B", &[])
                },
            ),
            (
                "A 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
                Message::new(
                    "A",
                    &[
                        "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15 16",
                    ],
                ),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(Message::parse(line.as_bytes()).as_ref(), Ok(want), "{line:?}");
        }
    }

    #[test]
    fn client_tag_data_of_exactly_4094_bytes_is_read() {
        let line = format!("@+a={} PING x", "x".repeat(MAX_CLIENT_TAG_DATA_BYTES - 3));
        let message = Message::parse(line.as_bytes()).expect("within the bound");
        assert_eq!(
            message.tags[0].1.as_ref().map(String::len),
            Some(MAX_CLIENT_TAG_DATA_BYTES - 3)
        );
    }

    #[test]
    fn lines_that_are_refused() {
        let long = format!("PRIVMSG #a :{}", "x".repeat(MAX_BODY_BYTES));
        let long_tags = format!("@a={} PING", "x".repeat(MAX_TAGS_BYTES));
        let long_client_tags = format!("@+a={} PING", "x".repeat(MAX_CLIENT_TAG_DATA_BYTES - 2));
        let cases: &[(&str, ParseError)] = &[
            ("", ParseError::Empty),
            ("   ", ParseError::Empty),
            ("@a=b", ParseError::NoCommand),
            (":source", ParseError::NoCommand),
            (&long, ParseError::TooLong),
            (&long_tags, ParseError::TagsTooLong),
            (&long_client_tags, ParseError::TagsTooLong),
            ("@ @:a", ParseError::BadCommand),
            ("@=x", ParseError::Empty),
            ("PRIV.MSG x", ParseError::BadCommand),
        ];
        for (line, want) in cases {
            assert_eq!(Message::parse(line.as_bytes()), Err(*want), "{line:?}");
        }
    }

    #[test]
    fn lines_as_the_server_writes_them() {
        let cases: &[(Message, &str)] = &[
            (Message::new("PING", &["sockchat"]), "PING sockchat\r\n"),
            (
                Message::new("PRIVMSG", &["#rust", "hello there"]),
                "PRIVMSG #rust :hello there\r\n",
            ),
            (Message::new("PRIVMSG", &["#rust", ":-)"]), "PRIVMSG #rust ::-)\r\n"),
            (Message::new("TOPIC", &["#rust", ""]), "TOPIC #rust :\r\n"),
            (Message::new("PRIVMSG", &["#rust", "a\r\nb"]), "PRIVMSG #rust :a  b\r\n"),
            (Message::new("X", &["a b", "c"]), "X a_b c\r\n"),
            (
                Message {
                    tags: tags(&[
                        ("time", Some("2026-12-02T06:00:00.000Z")),
                        ("msgid", Some("a;b c")),
                        ("bot", None),
                    ]),
                    source: Some("sockchat".to_owned()),
                    ..Message::new("001", &["ann", "Welcome"])
                },
                "@time=2026-12-02T06:00:00.000Z;msgid=a\\:b\\sc;bot :sockchat 001 ann Welcome\r\n",
            ),
        ];
        for (message, want) in cases {
            assert_eq!(message.to_line(), *want, "{message:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_a_message_or_an_error(line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = Message::parse(&line);
        }

        #[test]
        fn messages_written_read_back_the_same(
            tags in proptest::collection::vec(("[a-z+/.-]{1,8}", proptest::option::of("\\PC{1,12}")), 0..3),
            command in "[A-Z]{1,8}|[0-9]{3}",
            params in proptest::collection::vec("[^ :\r\n\0][^ \r\n\0]{0,10}", 0..5),
            last in proptest::option::of("[^\r\n\0]{0,40}"),
        ) {
            let mut params = params;
            params.extend(last);
            let message = Message { tags, source: Some("ann!a@h".to_owned()), command, params };
            let line = message.to_line();
            let read = Message::parse(line.trim_end_matches("\r\n").as_bytes()).unwrap();
            proptest::prop_assert_eq!(read, message);
        }
    }

    #[test]
    fn text_is_written_as_trailing_when_asked() {
        let message = Message::new("PRIVMSG", &["#rust", "word"]);
        assert_eq!(message.to_line_with_trailing(), "PRIVMSG #rust :word\r\n");
        assert_eq!(Message::new("QUIT", &[]).to_line_with_trailing(), "QUIT\r\n");
    }

    #[test]
    fn what_is_written_reads_back_the_same() {
        let message = Message {
            tags: tags(&[("label", Some("x y;z\\")), ("flag", None)]),
            source: Some("ann!a@h".to_owned()),
            ..Message::new("PRIVMSG", &["#rust", "  spaced :text "])
        };
        let line = message.to_line();
        let read = Message::parse(line.trim_end_matches("\r\n").as_bytes()).unwrap();
        assert_eq!(read, message);
    }
}
