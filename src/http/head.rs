//! A response head: parsed incrementally from bytes as they arrive, and what it says about the body's
//! framing (RFC 9112 section 6.3).

use crate::http::failure::{Failure, Kind};

/// The largest response head accepted, in bytes.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The most header fields accepted in one head.
pub const MAX_HEADERS: usize = 128;

/// A parsed status line and header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body at all (HEAD, 1xx, 204, 304).
    Empty,
    Length(u64),
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// Parses a head from the start of `buf`: `Ok(None)` when more bytes are needed, else the head and the
/// number of bytes it took.
pub fn parse(buf: &[u8]) -> Result<Option<(Head, usize)>, Failure> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut fields);
    let status = match httparse::ParserConfig::default()
        .allow_obsolete_multiline_headers_in_responses(true)
        .parse_response(&mut response, buf)
    {
        Ok(status) => status,
        Err(httparse::Error::TooManyHeaders) => {
            return Err(weird(format!("the response has more than {MAX_HEADERS} header fields")));
        }
        Err(e) => return Err(weird(format!("the response head is malformed: {e}"))),
    };
    let httparse::Status::Complete(used) = status else {
        if buf.len() >= MAX_HEAD_BYTES {
            return Err(weird(format!(
                "the response head is longer than {MAX_HEAD_BYTES} bytes"
            )));
        }
        return Ok(None);
    };
    let headers = response
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(&unfold(h.value))
                    .trim_matches([' ', '\t'])
                    .to_owned(),
            )
        })
        .collect();
    let head = Head {
        minor_version: response.version.unwrap_or(1),
        status: response.code.unwrap_or(0),
        reason: response.reason.unwrap_or("").to_owned(),
        headers,
    };
    Ok(Some((head, used)))
}

/// A field value with each obsolete line folding (`OWS CRLF RWS`) replaced by one space, as a user agent
/// must before interpreting it (RFC 9112 section 5.2).
fn unfold(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut rest = value;
    while let Some((&byte, after)) = rest.split_first() {
        rest = after;
        if byte != b'\r' && byte != b'\n' {
            out.push(byte);
            continue;
        }
        if byte == b'\r' {
            rest = rest.strip_prefix(b"\n").unwrap_or(rest);
        }
        while out.last().is_some_and(|b| *b == b' ' || *b == b'\t') {
            out.pop();
        }
        while rest.first().is_some_and(|b| *b == b' ' || *b == b'\t') {
            rest = &rest[1..];
        }
        out.push(b' ');
    }
    out
}

fn weird(message: String) -> Failure {
    Failure::new(Kind::WeirdReply, message)
}

impl Head {
    /// The values of every field called `name` (case-insensitive), in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    /// How the body is delimited, or why the head makes that impossible to know.
    pub fn framing(&self, request_was_head: bool) -> Result<Framing, Failure> {
        if request_was_head || (100..200).contains(&self.status) || self.status == 204 || self.status == 304 {
            return Ok(Framing::Empty);
        }
        let codings = self.transfer_encoding();
        if let Some(position) = codings.iter().position(|c| c == "chunked") {
            // Chunked is framing: applied once, and last (RFC 9112 section 6.1).
            if position + 1 != codings.len() {
                return Err(weird(format!(
                    "the response's Transfer-Encoding applies a coding after chunked: {}",
                    codings.join(", ")
                )));
            }
        }
        if !codings.is_empty() {
            // A length beside a transfer coding is ignored (RFC 9112 section 6.3, rule 3).
            return Ok(match codings.last().map(String::as_str) {
                Some("chunked") => Framing::Chunked,
                _ => Framing::UntilClose,
            });
        }
        match self.content_length()? {
            Some(length) => Ok(Framing::Length(length)),
            None => Ok(Framing::UntilClose),
        }
    }

    /// The transfer codings the body carries beyond the framing, in the order they were applied: every
    /// one Transfer-Encoding lists but a final `chunked`.
    pub fn transfer_codings(&self) -> Vec<String> {
        let mut codings = self.transfer_encoding();
        if codings.last().is_some_and(|c| c == "chunked") {
            codings.pop();
        }
        codings
    }

    fn transfer_encoding(&self) -> Vec<String> {
        self.list("transfer-encoding").map(|c| c.to_ascii_lowercase()).collect()
    }

    /// The Content-Length, if any. Several values (in one field or several) must agree.
    pub fn content_length(&self) -> Result<Option<u64>, Failure> {
        let mut length = None;
        let values = self
            .all("content-length")
            .flat_map(|v| v.split(','))
            .map(|e| e.trim_matches([' ', '\t']));
        for value in values {
            let parsed = parse_length(value)?;
            if length.is_some_and(|l| l != parsed) {
                return Err(weird("the response has conflicting Content-Length values".to_owned()));
            }
            length = Some(parsed);
        }
        Ok(length)
    }

    /// The comma-separated elements of every field called `name`, trimmed, empty ones skipped.
    pub fn list<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.all(name)
            .flat_map(|v| v.split(','))
            .map(|e| e.trim_matches([' ', '\t']))
            .filter(|e| !e.is_empty())
    }
}

/// `1*DIGIT`, leading zeros allowed; no sign, no spaces inside, no overflow.
fn parse_length(value: &str) -> Result<u64, Failure> {
    let bad = || weird(format!("the response has an invalid Content-Length: {value:?}"));
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    value.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a response head reads as: the status and the framing, or the start of the error.
    fn outcome(bytes: &[u8], head_request: bool) -> Result<Option<(u16, Framing, usize)>, String> {
        match parse(bytes) {
            Ok(Some((head, used))) => head
                .framing(head_request)
                .map(|f| Some((head.status, f, used)))
                .map_err(|e| e.message),
            Ok(None) => Ok(None),
            Err(e) => Err(e.message),
        }
    }

    #[test]
    fn heads_and_their_framing_at_every_split() {
        type Want = Result<(u16, Framing), &'static str>;
        let cases: &[(&[u8], bool, Want)] = &[
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                false,
                Ok((200, Framing::Length(5))),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length:  007 \r\n\r\n",
                false,
                Ok((200, Framing::Length(7))),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\n",
                false,
                Ok((200, Framing::Length(3))),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                false,
                Ok((200, Framing::Chunked)),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\nContent-Length: 9\r\n\r\n",
                false,
                Ok((200, Framing::Chunked)),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                false,
                Ok((200, Framing::UntilClose)),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n chunked\r\n\r\n",
                false,
                Ok((200, Framing::Chunked)),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\t2\r\n\r\n",
                false,
                Err("the response has an invalid Content-Length: \"1 2\""),
            ),
            (
                b"HTTP/1.1 200 OK\r\n folded-first: x\r\n\r\n",
                false,
                Err("the response head is malformed"),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                false,
                Err("the response's Transfer-Encoding applies a coding after chunked: chunked, gzip"),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
                false,
                Err("the response's Transfer-Encoding applies a coding after chunked"),
            ),
            (b"HTTP/1.0 200 OK\r\n\r\n", false, Ok((200, Framing::UntilClose))),
            (b"HTTP/1.1 200 OK\n\n", false, Ok((200, Framing::UntilClose))),
            (
                b"HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
                false,
                Ok((204, Framing::Empty)),
            ),
            (b"HTTP/1.1 304 Not Modified\r\n\r\n", false, Ok((304, Framing::Empty))),
            (b"HTTP/1.1 100 Continue\r\n\r\n", false, Ok((100, Framing::Empty))),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
                true,
                Ok((200, Framing::Empty)),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: +13\r\n\r\n",
                false,
                Err("the response has an invalid Content-Length: \"+13\""),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                false,
                Err("the response has an invalid Content-Length: \"-1\""),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
                false,
                Err("the response has an invalid Content-Length: \"1 2\""),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
                false,
                Err("the response has an invalid Content-Length: \"abc\""),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
                false,
                Err("the response has an invalid Content-Length"),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
                false,
                Err("the response has conflicting Content-Length values"),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 3,4\r\n\r\n",
                false,
                Err("the response has conflicting Content-Length values"),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
                false,
                Err("the response has an invalid Content-Length: \"\""),
            ),
            (
                b"<html>hello</html>\r\n\r\n",
                false,
                Err("the response head is malformed"),
            ),
            (b"HTTP/2 200\r\n\r\n", false, Err("the response head is malformed")),
            (b"HTTP/1.1 OK\r\n\r\n", false, Err("the response head is malformed")),
            (
                b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n",
                false,
                Err("the response head is malformed"),
            ),
        ];
        for (input, head_request, want) in cases {
            let end = input
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map(|p| p + 4)
                .or_else(|| input.windows(2).position(|w| w == b"\n\n").map(|p| p + 2))
                .unwrap();
            for split in 0..end {
                let got = outcome(&input[..split], *head_request);
                match (&got, want) {
                    (Ok(None), _) => {}
                    (Err(e), Err(w)) if e.starts_with(w) => {}
                    _ => panic!("{:?} cut at {split}: {got:?}", String::from_utf8_lossy(input)),
                }
            }
            let got = outcome(input, *head_request);
            match (got, want) {
                (Ok(Some((status, framing, used))), Ok((s, f))) => {
                    assert_eq!(
                        (status, framing, used),
                        (*s, *f, end),
                        "{:?}",
                        String::from_utf8_lossy(input)
                    );
                }
                (Err(e), Err(w)) => assert!(e.starts_with(w), "{:?}: {e}", String::from_utf8_lossy(input)),
                (got, _) => panic!("{:?}: {got:?}", String::from_utf8_lossy(input)),
            }
        }
    }

    #[test]
    fn transfer_codings_beyond_the_framing() {
        let cases: &[(&[u8], &[&str])] = &[
            (b"Transfer-Encoding: chunked\r\n", &[]),
            (b"Transfer-Encoding: gzip, Chunked\r\n", &["gzip"]),
            (b"Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", &["gzip"]),
            (b"Transfer-Encoding: deflate,gzip\r\n", &["deflate", "gzip"]),
            (b"Content-Encoding: gzip\r\n", &[]),
        ];
        for (fields, want) in cases {
            let input = [&b"HTTP/1.1 200 OK\r\n"[..], fields, b"\r\n"].concat();
            let (head, _) = parse(&input).unwrap().unwrap();
            assert_eq!(head.transfer_codings(), *want, "{:?}", String::from_utf8_lossy(fields));
        }
    }

    #[test]
    fn folded_values_are_unfolded_to_one_space() {
        let cases: &[(&[u8], &str)] = &[
            (b"X-A: one\r\n two\r\n\r\n", "one two"),
            (b"X-A: one  \r\n \t two\r\n\tthree\r\n\r\n", "one two three"),
            (b"X-A: one\n two\n\n", "one two"),
            (b"X-A:\r\n two\r\n\r\n", "two"),
            (b"X-A: plain\r\n\r\n", "plain"),
        ];
        for (fields, want) in cases {
            let input = [&b"HTTP/1.1 200 OK\r\n"[..], fields].concat();
            let (head, _) = parse(&input).unwrap().unwrap();
            assert_eq!(head.get("x-a"), Some(*want), "{:?}", String::from_utf8_lossy(fields));
        }
    }

    #[test]
    fn an_endless_head_is_refused() {
        let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
        while input.len() < MAX_HEAD_BYTES {
            input.extend_from_slice(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        let error = parse(&input).unwrap_err();
        assert!(
            error.message.contains("more than 128 header fields") || error.message.contains("longer than"),
            "{}",
            error.message
        );
    }
}
