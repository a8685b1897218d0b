//! IRCv3 labeled-response: the answer to a line that carried a `label` tag, told as one labeled line,
//! as a `labeled-response` batch whose opening carries the label, or, when there is nothing to tell,
//! as a labeled `ACK`. Where an answer opens and closes is marked in the ids of the line's requests
//! (`asked::label_opening`, `asked::ending_label`), so the fan-out knows it in the session's order.

use bytes::Bytes;

use super::SERVER_NAME;
use super::asked;
use super::message::Message;
use crate::protocol::{Event, RequestId};

/// The longest label taken (the specification's bound); a line with a longer one is answered
/// unlabeled.
pub const MAX_LABEL_BYTES: usize = 64;

/// The batch type of a labeled answer of several lines.
pub const BATCH_TYPE: &str = "labeled-response";

/// The label a line carries, if it has one within bounds.
pub fn label_of(line: &Message) -> Option<&str> {
    line.tag("label")
        .filter(|label| !label.is_empty() && label.len() <= MAX_LABEL_BYTES)
}

/// What an event delivered as an answer says about a labeled answer: that one opens (with its
/// label), and whether one closes with it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Mark {
    pub opens: Option<String>,
    pub closes: bool,
}

/// The mark an answer carries: only acks and errors of the ids that mark one do.
pub fn mark(event: &Event) -> Mark {
    let id = match event {
        Event::Ack { id, .. } | Event::Error { id: Some(id), .. } => id,
        _ => return Mark::default(),
    };
    // Marked ids start with their tags; most acks (a PRIVMSG's) have none.
    if !matches!(id, RequestId::Text(text) if text.starts_with('@')) {
        return Mark::default();
    }
    asked::read(id).map_or_else(Mark::default, |asked| Mark {
        opens: asked.label,
        closes: asked.ends_label,
    })
}

/// One labeled answer being told: at most one line is held back, until it is known whether the
/// answer is that line alone.
#[derive(Debug)]
pub struct Answer {
    /// `label=VALUE`, escaped as a tag.
    label_tag: String,
    /// The batch's reference; `None` when the client has no `batch` (then an answer of several
    /// lines goes unlabeled).
    batch: Option<String>,
    told: Told,
}

#[derive(Debug)]
enum Told {
    Nothing,
    /// One line, held back.
    Held(Bytes),
    /// More than one: the batch is open (or, without `batch`, the lines went as they are).
    Several,
}

impl Answer {
    /// An answer labeled `label`; `batch` names its batch where the client has `batch`.
    pub fn new(label: &str, batch: Option<String>) -> Answer {
        let ack = Message {
            tags: vec![("label".to_owned(), Some(label.to_owned()))],
            ..Message::new("ACK", &[])
        }
        .to_line();
        let label_tag = ack[1..ack.find(' ').unwrap_or(ack.len())].to_owned();
        Answer {
            label_tag,
            batch,
            told: Told::Nothing,
        }
    }

    /// The bytes to write now for `bytes`, a part of the answer (lines ending in CRLF).
    pub fn take(&mut self, bytes: Bytes) -> Bytes {
        if bytes.is_empty() {
            return bytes;
        }
        let mut out = String::new();
        match std::mem::replace(&mut self.told, Told::Several) {
            Told::Nothing if line_count(&bytes) == 1 => {
                self.told = Told::Held(bytes);
                return Bytes::new();
            }
            Told::Nothing => self.open(&mut out),
            Told::Held(held) => {
                self.open(&mut out);
                self.in_batch(&held, &mut out);
            }
            Told::Several => {}
        }
        self.in_batch(&bytes, &mut out);
        Bytes::from(out)
    }

    /// What closes the answer: the line held, labeled; the batch's end; or a labeled `ACK`.
    pub fn finish(self) -> Bytes {
        let mut out = String::new();
        match self.told {
            Told::Nothing => {
                out.push('@');
                out.push_str(&self.label_tag);
                out.push_str(&format!(" :{SERVER_NAME} ACK\r\n"));
            }
            Told::Held(held) => each_line(&held, |line| tagged(line, &self.label_tag, &mut out)),
            Told::Several => {
                if let Some(batch) = &self.batch {
                    out.push_str(&format!(":{SERVER_NAME} BATCH -{batch}\r\n"));
                }
            }
        }
        Bytes::from(out)
    }

    fn open(&self, out: &mut String) {
        if let Some(batch) = &self.batch {
            let start = format!(":{SERVER_NAME} BATCH +{batch} {BATCH_TYPE}");
            tagged(&start, &self.label_tag, out);
        }
    }

    /// Lines of the answer once it is a batch: each tagged with it, but those already in a batch
    /// of their own (a history or multiline batch nests in this one through its opening line).
    fn in_batch(&self, bytes: &Bytes, out: &mut String) {
        let Some(batch) = &self.batch else {
            each_line(bytes, |line| {
                out.push_str(line);
                out.push_str("\r\n");
            });
            return;
        };
        let tag = format!("batch={batch}");
        each_line(bytes, |line| {
            if in_a_batch(line) {
                out.push_str(line);
                out.push_str("\r\n");
            } else {
                tagged(line, &tag, out);
            }
        });
    }
}

fn line_count(bytes: &[u8]) -> usize {
    bytes.windows(2).filter(|pair| pair == b"\r\n").count()
}

/// Calls `each` with every line of `bytes`, without its CRLF. What renders them is this server's
/// own code, so they are UTF-8; anything else is passed over.
fn each_line(bytes: &[u8], mut each: impl FnMut(&str)) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    for line in text.split_terminator("\r\n") {
        each(line);
    }
}

/// `line` with `tag` first among its tags, and its CRLF.
fn tagged(line: &str, tag: &str, out: &mut String) {
    out.push('@');
    out.push_str(tag);
    match line.strip_prefix('@') {
        Some(rest) => {
            out.push(';');
            out.push_str(rest);
        }
        None => {
            out.push(' ');
            out.push_str(line);
        }
    }
    out.push_str("\r\n");
}

fn in_a_batch(line: &str) -> bool {
    line.strip_prefix('@')
        .and_then(|rest| rest.split(' ').next())
        .is_some_and(|tags| tags.split(';').any(|tag| tag.starts_with("batch=")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn told(answer: &mut Answer, parts: &[&str]) -> String {
        let mut out = String::new();
        for part in parts {
            let bytes = answer.take(Bytes::from(part.to_string()));
            out.push_str(std::str::from_utf8(&bytes).unwrap());
        }
        out
    }

    #[test]
    fn an_answer_is_one_labeled_line_a_batch_or_an_ack() {
        let batch = || Some("lr1".to_owned());
        let cases: &[(&[&str], Option<String>, &str)] = &[
            (&[], batch(), "@label=x\\sy :sockchat ACK\r\n"),
            (&[""], batch(), "@label=x\\sy :sockchat ACK\r\n"),
            (
                &[":sockchat PONG sockchat a\r\n"],
                batch(),
                "@label=x\\sy :sockchat PONG sockchat a\r\n",
            ),
            (
                &["@msgid=3 :ann!ann@sockchat PRIVMSG #r :hi\r\n"],
                batch(),
                "@label=x\\sy;msgid=3 :ann!ann@sockchat PRIVMSG #r :hi\r\n",
            ),
            (
                &[
                    ":a JOIN #r\r\n",
                    ":sockchat 353 a = #r :a\r\n:sockchat 366 a #r :End\r\n",
                ],
                batch(),
                "@label=x\\sy :sockchat BATCH +lr1 labeled-response\r\n\
                 @batch=lr1 :a JOIN #r\r\n\
                 @batch=lr1 :sockchat 353 a = #r :a\r\n\
                 @batch=lr1 :sockchat 366 a #r :End\r\n\
                 :sockchat BATCH -lr1\r\n",
            ),
            (
                &[
                    ":sockchat BATCH +h1 chathistory #r\r\n@batch=h1;msgid=1 :a PRIVMSG #r :x\r\n:sockchat BATCH -h1\r\n",
                ],
                batch(),
                "@label=x\\sy :sockchat BATCH +lr1 labeled-response\r\n\
                 @batch=lr1 :sockchat BATCH +h1 chathistory #r\r\n\
                 @batch=h1;msgid=1 :a PRIVMSG #r :x\r\n\
                 @batch=lr1 :sockchat BATCH -h1\r\n\
                 :sockchat BATCH -lr1\r\n",
            ),
            (&[":a X\r\n", ":a Y\r\n"], None, ":a X\r\n:a Y\r\n"),
        ];
        for (parts, batch, want) in cases {
            let mut answer = Answer::new("x y", batch.clone());
            let mut got = told(&mut answer, parts);
            got.push_str(std::str::from_utf8(&answer.finish()).unwrap());
            assert_eq!(got, *want, "{parts:?}");
        }
    }

    #[test]
    fn labels_are_read_within_their_bound() {
        let line = |text: &str| Message::parse(text.as_bytes()).unwrap();
        assert_eq!(label_of(&line("@label=abc PING x")), Some("abc"));
        assert_eq!(label_of(&line("PING x")), None);
        assert_eq!(label_of(&line("@label= PING x")), None);
        let long = format!("@label={} PING x", "a".repeat(MAX_LABEL_BYTES + 1));
        assert_eq!(label_of(&line(&long)), None);
    }

    #[test]
    fn marks_are_read_from_the_ids_of_a_labeled_lines_requests() {
        let line = Message::new("PING", &["x"]);
        let opening = asked::label_opening(&line, "l1");
        let ack = |id: RequestId| Event::Ack {
            id,
            message: None,
            ts: None,
        };
        assert_eq!(
            mark(&ack(opening.clone())),
            Mark {
                opens: Some("l1".to_owned()),
                closes: false
            }
        );
        assert_eq!(
            mark(&ack(asked::ending_label(&asked::reply_id(&line, "PONG")))),
            Mark {
                opens: None,
                closes: true
            }
        );
        assert_eq!(
            mark(&ack(asked::ending_label(&opening))),
            Mark {
                opens: Some("l1".to_owned()),
                closes: true
            }
        );
        assert_eq!(mark(&ack(asked::id(&line))), Mark::default());
        assert_eq!(mark(&Event::Pong), Mark::default());
    }
}
