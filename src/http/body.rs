//! Reading a response body exactly as its framing says: a Content-Length, chunks, or until close.
//! Anything short or malformed is an error, never a guess.

use std::io::{self, BufRead, Read};

use crate::http::failure::{Failure, Kind, into_io};
use crate::http::head::{Framing, MAX_HEAD_BYTES};

/// The longest chunk-size line (size, extensions and CRLF), in bytes.
pub const MAX_CHUNK_LINE_BYTES: usize = 4096;

/// A body as a `Read`: yields the payload and ends exactly where the framing says it ends.
pub struct Body<R> {
    source: R,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// This many payload bytes are still to come.
    Length(u64),
    /// A chunk-size line is next.
    ChunkSize,
    /// This many bytes of the current chunk are still to come, then CRLF.
    ChunkData(u64),
    /// The trailer section is next; `usize` counts its bytes so far.
    Trailers(usize),
    UntilClose,
    Done,
}

impl<R: BufRead> Body<R> {
    pub fn new(source: R, framing: Framing) -> Body<R> {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        Body { source, state }
    }

    /// Moves past chunk framing until payload (or the end) is next.
    fn advance(&mut self) -> Result<(), Failure> {
        loop {
            match self.state {
                State::ChunkSize => {
                    let size = chunk_size(&mut self.source)?;
                    self.state = if size == 0 {
                        State::Trailers(0)
                    } else {
                        State::ChunkData(size)
                    };
                }
                State::Trailers(seen) => {
                    let line = read_line(&mut self.source, MAX_HEAD_BYTES - seen, "trailer section")?;
                    let blank = line == b"\r\n" || line == b"\n";
                    self.state = if blank {
                        State::Done
                    } else {
                        State::Trailers(seen + line.len())
                    };
                }
                _ => return Ok(()),
            }
        }
    }

    fn read_payload(&mut self, buf: &mut [u8]) -> Result<usize, Failure> {
        self.advance()?;
        let limit = match self.state {
            State::Length(left) | State::ChunkData(left) => usize::try_from(left).unwrap_or(usize::MAX).min(buf.len()),
            State::UntilClose => buf.len(),
            _ => return Ok(0),
        };
        let n = self.source.read(&mut buf[..limit]).map_err(|e| receive_error(&e))?;
        match (&mut self.state, n) {
            (State::UntilClose, 0) => self.state = State::Done,
            (State::Length(left), 0) => return Err(cut_short(*left)),
            (State::ChunkData(_), 0) => {
                return Err(Failure::new(
                    Kind::PartialBody,
                    "the server closed the connection in the middle of a chunk",
                ));
            }
            (State::Length(left), n) => {
                *left -= n as u64;
                if *left == 0 {
                    self.state = State::Done;
                }
            }
            (State::ChunkData(left), n) => {
                *left -= n as u64;
                if *left == 0 {
                    expect_crlf(&mut self.source)?;
                    self.state = State::ChunkSize;
                }
            }
            _ => {}
        }
        Ok(n)
    }
}

impl<R: BufRead> Read for Body<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = self.read_payload(buf).map_err(into_io)?;
            // A chunk's end moves to the next chunk without payload; read on unless the body is over.
            if n > 0 || self.state == State::Done {
                return Ok(n);
            }
        }
    }
}

fn cut_short(left: u64) -> Failure {
    Failure::new(
        Kind::PartialBody,
        format!("the server closed the connection with {left} bytes of the body still to come"),
    )
}

fn receive_error(error: &io::Error) -> Failure {
    match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            Failure::new(Kind::Timeout, "timed out reading the body")
        }
        _ => Failure::new(Kind::Receive, format!("failed reading the body: {error}")),
    }
}

/// Reads one chunk-size line and returns the size. Bare LF is accepted as a line end (RFC 9112 2.2).
fn chunk_size<R: BufRead>(source: &mut R) -> Result<u64, Failure> {
    let mut line = read_line(source, MAX_CHUNK_LINE_BYTES, "chunk-size line")?;
    if !line.ends_with(b"\r\n") {
        line.insert(line.len() - 1, b'\r');
    }
    let bad = || {
        Failure::new(
            Kind::Receive,
            format!("bad chunk size line: {:?}", String::from_utf8_lossy(&line)),
        )
    };
    if !line.first().is_some_and(u8::is_ascii_hexdigit) {
        return Err(bad());
    }
    match httparse::parse_chunk_size(&line) {
        Ok(httparse::Status::Complete((used, size))) if used == line.len() => Ok(size),
        _ => Err(bad()),
    }
}

/// The CRLF that must follow a chunk's data.
fn expect_crlf<R: BufRead>(source: &mut R) -> Result<(), Failure> {
    let mut end = Vec::with_capacity(2);
    source
        .by_ref()
        .take(2)
        .read_until(b'\n', &mut end)
        .map_err(|e| receive_error(&e))?;
    match end.as_slice() {
        b"\r\n" | b"\n" => Ok(()),
        b"" | b"\r" => Err(Failure::new(
            Kind::PartialBody,
            "the server closed the connection after a chunk's data",
        )),
        _ => Err(Failure::new(Kind::Receive, "a chunk's data is not followed by CRLF")),
    }
}

/// One line including its `\n`, of at most `max` bytes.
fn read_line<R: BufRead>(source: &mut R, max: usize, what: &str) -> Result<Vec<u8>, Failure> {
    let mut line = Vec::new();
    let limit = u64::try_from(max).unwrap_or(u64::MAX);
    source
        .by_ref()
        .take(limit)
        .read_until(b'\n', &mut line)
        .map_err(|e| receive_error(&e))?;
    if line.last() == Some(&b'\n') {
        return Ok(line);
    }
    if line.len() >= max {
        return Err(Failure::new(
            Kind::Receive,
            format!("the {what} is too long or malformed"),
        ));
    }
    Err(Failure::new(
        Kind::PartialBody,
        format!("the server closed the connection in the {what}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads a whole body from `input` delivered in pieces of `step` bytes.
    fn read_all(input: &[u8], framing: Framing, step: usize) -> Result<(Vec<u8>, usize), String> {
        let pieces = Trickle { data: input, step };
        let mut body = Body::new(io::BufReader::with_capacity(step.max(1), pieces), framing);
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) => return Err(crate::http::failure::from_io(e, Kind::Receive, "reading").message),
            }
        }
        let rest = body.source.fill_buf().map(|b| b.len()).unwrap_or(0);
        Ok((out, rest))
    }

    /// A reader that hands out at most `step` bytes a call, as a dribbling server would.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn bodies_at_every_piece_size() {
        type Want = Result<&'static [u8], &'static str>;
        let cases: &[(&[u8], Framing, Want)] = &[
            (b"hello", Framing::Length(5), Ok(b"hello")),
            (b"hello, and more", Framing::Length(5), Ok(b"hello")),
            (
                b"hel",
                Framing::Length(5),
                Err("the server closed the connection with 2 bytes of the body still to come"),
            ),
            (b"anything at all", Framing::UntilClose, Ok(b"anything at all")),
            (b"", Framing::Empty, Ok(b"")),
            (
                b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                Framing::Chunked,
                Ok(b"hello world"),
            ),
            (
                b"5;name=\"quoted;value\"\r\nhello\r\n0;last\r\nX-Trailer: yes\r\nX-Two: 2\r\n\r\n",
                Framing::Chunked,
                Ok(b"hello"),
            ),
            (b"A\nabcdefghij\n0\n\n", Framing::Chunked, Ok(b"abcdefghij")),
            (b"00005\r\nhello\r\n000\r\n\r\n", Framing::Chunked, Ok(b"hello")),
            (b"5 \r\nhello\r\n0\r\n\r\n", Framing::Chunked, Ok(b"hello")),
            (
                b"5\r\nhelloXX0\r\n\r\n",
                Framing::Chunked,
                Err("a chunk's data is not followed by CRLF"),
            ),
            (
                b"zz\r\nhello\r\n0\r\n\r\n",
                Framing::Chunked,
                Err("bad chunk size line"),
            ),
            (b"\r\nhello\r\n0\r\n\r\n", Framing::Chunked, Err("bad chunk size line")),
            (
                b"-5\r\nhello\r\n0\r\n\r\n",
                Framing::Chunked,
                Err("bad chunk size line"),
            ),
            (
                b"+5\r\nhello\r\n0\r\n\r\n",
                Framing::Chunked,
                Err("bad chunk size line"),
            ),
            (b"10000000000000000\r\nx", Framing::Chunked, Err("bad chunk size line")),
            (
                b"5\r\nhel",
                Framing::Chunked,
                Err("the server closed the connection in the middle of a chunk"),
            ),
            (
                b"5\r\nhello\r\n",
                Framing::Chunked,
                Err("the server closed the connection in the chunk-size line"),
            ),
            (
                b"5\r\nhello\r\n0\r\n",
                Framing::Chunked,
                Err("the server closed the connection in the trailer section"),
            ),
            (
                b"5",
                Framing::Chunked,
                Err("the server closed the connection in the chunk-size line"),
            ),
        ];
        for (input, framing, want) in cases {
            for step in 1..=input.len().max(1) {
                let got = read_all(input, *framing, step).map(|(body, _)| body);
                match (&got, want) {
                    (Ok(body), Ok(w)) => assert_eq!(body, w, "{:?} in steps of {step}", String::from_utf8_lossy(input)),
                    (Err(e), Err(w)) => assert!(
                        e.starts_with(w),
                        "{:?} in steps of {step}: {e}",
                        String::from_utf8_lossy(input)
                    ),
                    _ => panic!("{:?} in steps of {step}: {got:?}", String::from_utf8_lossy(input)),
                }
            }
        }
    }

    #[test]
    fn a_complete_body_leaves_what_follows_unread() {
        let (body, rest) = read_all(b"3\r\nabc\r\n0\r\n\r\nNEXT", Framing::Chunked, 64).unwrap();
        assert_eq!((body.as_slice(), rest), (&b"abc"[..], 4));
    }

    #[test]
    fn endless_chunk_lines_and_trailers_are_refused() {
        let mut line = b"5;".to_vec();
        line.extend(std::iter::repeat_n(b'x', 10_000));
        assert_eq!(
            read_all(&line, Framing::Chunked, 512).unwrap_err(),
            "the chunk-size line is too long or malformed"
        );
        let mut trailers = b"0\r\n".to_vec();
        trailers.extend(std::iter::repeat_n(&b"X-A: b\r\n"[..], 10_000).flatten());
        assert_eq!(
            read_all(&trailers, Framing::Chunked, 512).unwrap_err(),
            "the trailer section is too long or malformed"
        );
    }
}
