//! IRCv3 draft/multiline: a message of several lines as one batch of PRIVMSGs, read from a client
//! (bounded by `MAX_BYTES` and `MAX_LINES`) and written to clients that negotiated it.

use super::message::Message;

/// The most bytes of text a client's multiline batch may carry (the cap's `max-bytes`).
pub const MAX_BYTES: usize = 4096;
/// The most lines a client's multiline batch may have (the cap's `max-lines`).
pub const MAX_LINES: usize = 64;
/// The batch type.
pub const BATCH_TYPE: &str = "draft/multiline";
/// The tag of a line that continues the one before it, with no line break between.
pub const CONCAT_TAG: &str = "draft/multiline-concat";

/// A client's multiline batch being read.
#[derive(Debug)]
pub struct Batch {
    reference: String,
    command: String,
    target: String,
    text: String,
    lines: usize,
    /// Why it will be refused when it ends, once it went past a bound.
    failed: Option<Failure>,
}

/// Why a batch was refused: FAIL BATCH's code and what it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    MaxBytes,
    MaxLines,
    InvalidTarget,
    Invalid,
}

impl Failure {
    pub fn code(self) -> &'static str {
        match self {
            Failure::MaxBytes => "MULTILINE_MAX_BYTES",
            Failure::MaxLines => "MULTILINE_MAX_LINES",
            Failure::InvalidTarget => "MULTILINE_INVALID_TARGET",
            Failure::Invalid => "MULTILINE_INVALID",
        }
    }

    /// FAIL BATCH's parameters after the code.
    pub fn words(self) -> Vec<String> {
        match self {
            Failure::MaxBytes => vec![MAX_BYTES.to_string(), "Multiline batch max-bytes exceeded".to_owned()],
            Failure::MaxLines => vec![MAX_LINES.to_string(), "Multiline batch max-lines exceeded".to_owned()],
            Failure::InvalidTarget => vec!["Multiline batch with too many targets".to_owned()],
            Failure::Invalid => vec!["Invalid multiline batch".to_owned()],
        }
    }

    pub fn named(code: &str) -> Option<Failure> {
        [
            Failure::MaxBytes,
            Failure::MaxLines,
            Failure::InvalidTarget,
            Failure::Invalid,
        ]
        .into_iter()
        .find(|f| f.code() == code)
    }
}

/// What became of a line while a batch may be open.
#[derive(Debug, PartialEq)]
pub enum Taken {
    /// Not part of a batch: read it as any line.
    Free,
    /// Kept in the batch.
    Held,
    /// The batch ended: this is its message (PRIVMSG or NOTICE, the target, the text with its
    /// line breaks).
    Ended(Message),
    /// The batch ended, refused.
    Refused(Failure),
}

/// `BATCH +REF draft/multiline TARGET`, as a batch to read.
pub fn opened(line: &Message) -> Option<Batch> {
    let reference = line.params.first()?.strip_prefix('+')?;
    if line.params.get(1).map(String::as_str) != Some(BATCH_TYPE) || reference.is_empty() {
        return None;
    }
    Some(Batch {
        reference: reference.to_owned(),
        command: String::new(),
        target: line.params.get(2)?.clone(),
        text: String::new(),
        lines: 0,
        failed: None,
    })
}

impl Batch {
    /// Takes `line` into the batch if it belongs to it.
    pub fn take(&mut self, line: &Message) -> Taken {
        if line.command == "BATCH" && line.params.first().and_then(|p| p.strip_prefix('-')) == Some(&self.reference) {
            return self.end();
        }
        if line.tag("batch") != Some(self.reference.as_str()) {
            return Taken::Free;
        }
        let (Some(target), Some(text)) = (line.params.first(), line.params.get(1)) else {
            self.fail(Failure::Invalid);
            return Taken::Held;
        };
        let command_changed = !self.command.is_empty() && self.command != line.command;
        if !matches!(line.command.as_str(), "PRIVMSG" | "NOTICE") || command_changed {
            self.fail(Failure::Invalid);
            return Taken::Held;
        }
        if *target != self.target {
            self.fail(Failure::InvalidTarget);
            return Taken::Held;
        }
        self.command.clone_from(&line.command);
        let concat = line.tag(CONCAT_TAG).is_some();
        if self.lines > 0 && !concat {
            self.text.push('\n');
        }
        self.lines += 1;
        self.text.push_str(text);
        if self.text.len() > MAX_BYTES {
            self.fail(Failure::MaxBytes);
            // What went past the bound is not kept.
            self.text.clear();
        } else if self.lines > MAX_LINES {
            self.fail(Failure::MaxLines);
        }
        Taken::Held
    }

    fn fail(&mut self, failure: Failure) {
        self.failed.get_or_insert(failure);
    }

    fn end(&mut self) -> Taken {
        if let Some(failure) = self.failed {
            return Taken::Refused(failure);
        }
        if self.lines == 0 {
            return Taken::Refused(Failure::Invalid);
        }
        Taken::Ended(Message::new(&self.command, &[&self.target, &self.text]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> Vec<Taken> {
        let parse = |l: &str| Message::parse(l.as_bytes()).unwrap();
        let mut batch = opened(&parse(lines[0])).expect("a batch opens");
        lines[1..].iter().map(|l| batch.take(&parse(l))).collect()
    }

    #[test]
    fn batches_become_one_message_or_are_refused() {
        let ended = |text: &str| Taken::Ended(Message::new("PRIVMSG", &["#rust", text]));
        let cases: Vec<(Vec<&str>, Taken)> = vec![
            (
                vec![
                    "BATCH +a draft/multiline #rust",
                    "@batch=a PRIVMSG #rust :one",
                    "@batch=a PRIVMSG #rust :",
                    "@batch=a PRIVMSG #rust :two, and",
                    "@batch=a;draft/multiline-concat PRIVMSG #rust : more",
                    "BATCH -a",
                ],
                ended("one\n\ntwo, and more"),
            ),
            (
                vec!["BATCH +a draft/multiline #rust", "@batch=a PRIVMSG #go :x", "BATCH -a"],
                Taken::Refused(Failure::InvalidTarget),
            ),
            (
                vec!["BATCH +a draft/multiline #rust", "BATCH -a"],
                Taken::Refused(Failure::Invalid),
            ),
        ];
        for (lines, want) in cases {
            assert_eq!(run(&lines).pop().unwrap(), want, "{lines:?}");
        }
        assert_eq!(
            run(&["BATCH +a draft/multiline #rust", "PRIVMSG #rust :outside"]),
            [Taken::Free]
        );
        assert!(opened(&Message::new("BATCH", &["+a", "chathistory", "#rust"])).is_none());
    }

    #[test]
    fn batches_past_their_bounds_are_refused() {
        let line = format!("@batch=a PRIVMSG #rust :{}", "x".repeat(400));
        let mut lines = vec!["BATCH +a draft/multiline #rust".to_owned()];
        lines.extend(std::iter::repeat_n(line, MAX_BYTES / 400 + 1));
        lines.push("BATCH -a".to_owned());
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(run(&lines).pop().unwrap(), Taken::Refused(Failure::MaxBytes));

        let mut lines = vec!["BATCH +a draft/multiline #rust".to_owned()];
        lines.extend(std::iter::repeat_n(
            "@batch=a PRIVMSG #rust :x".to_owned(),
            MAX_LINES + 1,
        ));
        lines.push("BATCH -a".to_owned());
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(run(&lines).pop().unwrap(), Taken::Refused(Failure::MaxLines));
    }
}
