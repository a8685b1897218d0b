//! The id an IRC client's request carries to the hub: the line that asked it (as this server reads
//! it) and, for what the hub has no command for, which reply the renderer owes. The hub echoes the
//! id in the ack or error, and the renderer turns that back into the numerics and lines IRC expects.

use super::message::Message;
use crate::protocol::RequestId;

/// The tag naming the reply a line is owed without the hub's help (`461`, `PONG`, ...). Tags the
/// client sent are never kept in an id, so none can pose as this one.
const REPLY_TAG: &str = "reply";
/// The tag of an id whose refusal is not told (the parts of `JOIN 0`, which may name rooms the
/// client has left already).
const QUIET_TAG: &str = "quiet";
/// The tag of the request that opens a labeled line's answer (labeled-response), with the label.
const LABEL_TAG: &str = "label";
/// The tag of the last request a labeled line made: its answer closes the labeled answer.
const LABEL_END_TAG: &str = "label-end";
/// The reply owed for the request that opens a labeled answer: none of its own.
const LABEL_REPLY: &str = "LABEL";

/// What an id says about the line that asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    pub line: Message,
    /// The reply owed, for lines answered without the hub.
    pub reply: Option<String>,
    /// Refusals of it are not told.
    pub quiet: bool,
    /// The label of the labeled answer this request opens.
    pub label: Option<String>,
    /// Its answer closes a labeled answer.
    pub ends_label: bool,
}

impl Asked {
    pub fn command(&self) -> &str {
        &self.line.command
    }

    pub fn param(&self, i: usize) -> &str {
        self.line.params.get(i).map_or("", String::as_str)
    }
}

/// The id for a request made from `line`.
pub fn id(line: &Message) -> RequestId {
    encode(line, &[])
}

/// The id for a line owed `reply`, which the renderer writes when the hub acknowledges it.
pub fn reply_id(line: &Message, reply: &str) -> RequestId {
    encode(line, &[(REPLY_TAG, Some(reply))])
}

/// The id for a request whose refusal is not told.
pub fn quiet_id(line: &Message) -> RequestId {
    encode(line, &[(QUIET_TAG, None)])
}

/// The id for a line owed `reply`, whose refusal is not told (the second page of a CHATHISTORY
/// AROUND, whose first page's refusal says it all).
pub fn quiet_reply_id(line: &Message, reply: &str) -> RequestId {
    encode(line, &[(REPLY_TAG, Some(reply)), (QUIET_TAG, None)])
}

/// The id of the request (a `ping`) sent before a labeled line's own: its ack opens the answer.
pub fn label_opening(line: &Message, label: &str) -> RequestId {
    encode(line, &[(REPLY_TAG, Some(LABEL_REPLY)), (LABEL_TAG, Some(label))])
}

/// `id` marked as the last request of a labeled line, whose answer closes the labeled answer.
pub fn ending_label(id: &RequestId) -> RequestId {
    let Some(asked) = read(id) else {
        return id.clone();
    };
    let mut tags = Vec::new();
    tags.extend(asked.reply.as_deref().map(|reply| (REPLY_TAG, Some(reply))));
    tags.extend(asked.quiet.then_some((QUIET_TAG, None)));
    tags.extend(asked.label.as_deref().map(|label| (LABEL_TAG, Some(label))));
    tags.push((LABEL_END_TAG, None));
    encode(&asked.line, &tags)
}

/// Between a line and a last parameter that a line cannot hold (a multiline batch's text, with its
/// line breaks), which then follows it whole.
const TEXT_SEPARATOR: char = '\0';

fn encode(line: &Message, tags: &[(&str, Option<&str>)]) -> RequestId {
    let mut params = line.params.clone();
    let text = params
        .last()
        .is_some_and(|p| p.contains(['\r', '\n', '\0']))
        .then(|| params.pop())
        .flatten();
    let message = Message {
        tags: tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect(),
        source: None,
        command: line.command.clone(),
        params,
    };
    let mut id = message.to_line();
    id.truncate(id.trim_end_matches("\r\n").len());
    if let Some(text) = text {
        id.push(TEXT_SEPARATOR);
        id.push_str(&text.replace('\0', " "));
    }
    RequestId::Text(id)
}

/// What an id made by `id`, `reply_id` or `quiet_id` says; `None` for any other id.
pub fn read(id: &RequestId) -> Option<Asked> {
    let RequestId::Text(id) = id else {
        return None;
    };
    let (line, text) = match id.split_once(TEXT_SEPARATOR) {
        Some((line, text)) => (line, Some(text)),
        None => (id.as_str(), None),
    };
    let mut line = Message::reread(line).ok()?;
    line.params.extend(text.map(str::to_owned));
    let reply = line.tag(REPLY_TAG).map(str::to_owned);
    let quiet = line.tag(QUIET_TAG).is_some();
    let label = line.tag(LABEL_TAG).map(str::to_owned);
    let ends_label = line.tags.iter().any(|(key, _)| key == LABEL_END_TAG);
    line.tags.clear();
    Some(Asked {
        line,
        reply,
        quiet,
        label,
        ends_label,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_as_the_line_that_asked() {
        let line = Message::new("PRIVMSG", &["#rust", "hello there"]);
        let asked = read(&id(&line)).unwrap();
        assert_eq!((asked.line, asked.reply, asked.quiet), (line.clone(), None, false));
        let asked = read(&reply_id(&line, "461")).unwrap();
        assert_eq!((asked.line, asked.reply.as_deref()), (line.clone(), Some("461")));
        assert!(read(&quiet_id(&line)).unwrap().quiet);
        let lines = Message::new("PRIVMSG", &["#rust", "two\nlines; and more"]);
        assert_eq!(read(&id(&lines)).unwrap().line, lines);
        assert_eq!(read(&RequestId::Number(3)), None);
        // A line within the bound whose invalid UTF-8 became U+FFFD, three bytes each, reads back too.
        let mut raw = b"PRIVMSG #rust :".to_vec();
        raw.extend([0xff; 400]);
        let lossy = Message::parse(&raw).unwrap();
        assert_eq!(read(&id(&lossy)).unwrap().line, lossy);
    }
}
