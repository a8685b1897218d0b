//! Received lines, read in place. Every client of a worker thread reads into that thread's one buffer
//! and looks at each complete line where it lies; a client keeps only the part of a line that a read
//! cut off. Twenty thousand clients then cost twenty thousand small tails, not twenty thousand buffers,
//! and nothing is copied or counted per line.

use std::cell::RefCell;
use std::io;
use std::ops::ControlFlow;

use tokio::net::tcp::OwnedReadHalf;

use super::websocket::Deframer;

/// Bytes read at a time.
pub const READ_BYTES: usize = 64 * 1024;

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The lines a WebSocket's frames held, before they go into `BUFFER`.
    static LINES: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The complete lines of `buf` (without their newlines); `consumed` is how far they reach.
pub struct Lines<'a> {
    buf: &'a [u8],
    pub consumed: usize,
}

impl<'a> Lines<'a> {
    pub fn new(buf: &'a [u8]) -> Lines<'a> {
        Lines { buf, consumed: 0 }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = &self.buf[self.consumed..];
        let end = memchr::memchr(b'\n', rest)?;
        self.consumed += end + 1;
        Some(&rest[..end])
    }
}

/// Hands each complete line of `buf` to `line` until it says stop; returns how far it got.
fn each_line(buf: &[u8], line: &mut impl FnMut(&[u8]) -> ControlFlow<()>) -> usize {
    let mut lines = Lines::new(buf);
    for complete in lines.by_ref() {
        if line(complete).is_break() {
            break;
        }
    }
    lines.consumed
}

/// The complete lines already in `carry` (left by an earlier read), handed to `line` in turn.
pub fn take_lines(carry: &mut Vec<u8>, mut line: impl FnMut(&[u8]) -> ControlFlow<()>) {
    let consumed = each_line(carry, &mut line);
    carry.drain(..consumed);
}

/// Waits for bytes, reads them after what `carry` holds, and hands each complete line to `line` until
/// it says stop; what is left is kept in `carry`. Returns how many bytes were read: 0 at the end of
/// the stream. A line longer than `max_line` is an error.
/// Turns the WebSocket bytes just read (`buffer[kept..kept + n]`) into lines in their place; the end
/// of what is filled. The buffer keeps its length, so it is not cleared again before the next read.
fn unframed(deframer: &mut Deframer, buffer: &mut Vec<u8>, kept: usize, n: usize) -> usize {
    LINES.with_borrow_mut(|lines| {
        lines.clear();
        deframer.unframe(&buffer[kept..kept + n], lines);
        let end = kept + lines.len();
        if buffer.len() < end {
            buffer.resize(end, 0);
        }
        buffer[kept..end].copy_from_slice(lines);
        end
    })
}

pub async fn read_lines(
    reader: &OwnedReadHalf,
    carry: &mut Vec<u8>,
    max_line: usize,
    mut deframer: Option<&mut Deframer>,
    mut line: impl FnMut(&[u8]) -> ControlFlow<()>,
) -> io::Result<usize> {
    loop {
        reader.readable().await?;
        let read = BUFFER.with_borrow_mut(|buffer| {
            let kept = carry.len();
            if buffer.len() < kept + READ_BYTES {
                buffer.resize(kept + READ_BYTES, 0);
            }
            buffer[..kept].copy_from_slice(carry);
            let n = match reader.try_read(&mut buffer[kept..kept + READ_BYTES]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) => return Some(Err(e)),
            };
            let end = match deframer.as_deref_mut() {
                Some(deframer) => unframed(deframer, buffer, kept, n),
                None => kept + n,
            };
            let filled = &buffer[..end];
            let consumed = each_line(filled, &mut line);
            carry.clear();
            carry.extend_from_slice(&filled[consumed..]);
            if carry.len() > max_line {
                return Some(Err(io::Error::new(io::ErrorKind::InvalidData, "a line is too long")));
            }
            Some(Ok(n))
        });
        if let Some(read) = read {
            return read;
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    #[test]
    fn complete_lines_only() {
        let cases: &[(&str, &[&str], usize)] = &[
            ("", &[], 0),
            ("partial", &[], 0),
            ("one\n", &["one"], 4),
            ("one\ntwo\nthr", &["one", "two"], 8),
            ("\n\n", &["", ""], 2),
        ];
        for &(buf, expected, consumed) in cases {
            let mut lines = Lines::new(buf.as_bytes());
            let got: Vec<&[u8]> = lines.by_ref().collect();
            let expected: Vec<&[u8]> = expected.iter().map(|l| l.as_bytes()).collect();
            assert_eq!(got, expected, "{buf:?}");
            assert_eq!(lines.consumed, consumed, "{buf:?}");
        }
    }

    fn collect<'a>(got: &'a mut Vec<String>, stop_at: &'static str) -> impl FnMut(&[u8]) -> ControlFlow<()> + 'a {
        move |line| {
            got.push(String::from_utf8(line.to_vec()).unwrap());
            if line == stop_at.as_bytes() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }

    #[test]
    fn a_stop_keeps_the_rest() {
        let mut carry = b"a\nstop\nb\nc".to_vec();
        let mut got = Vec::new();
        take_lines(&mut carry, collect(&mut got, "stop"));
        assert_eq!(got, ["a", "stop"]);
        assert_eq!(carry, b"b\nc");
    }

    async fn connected() -> (TcpStream, OwnedReadHalf) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sender = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (reader, _) = listener.accept().await.unwrap().0.into_split();
        (sender, reader)
    }

    #[tokio::test]
    async fn what_a_read_cut_off_is_joined_to_what_follows() {
        let (mut sender, reader) = connected().await;
        sender.write_all(b"over\nfirst\nsecond\nthird").await.unwrap();
        sender.shutdown().await.unwrap();
        let mut carry = b"left ".to_vec();
        let mut got = Vec::new();
        while read_lines(&reader, &mut carry, 100, None, collect(&mut got, ""))
            .await
            .unwrap()
            > 0
        {}
        assert_eq!(got, ["left over", "first", "second"]);
        assert_eq!(carry, b"third");
    }

    #[tokio::test]
    async fn a_line_over_the_limit_is_an_error() {
        let (mut sender, reader) = connected().await;
        sender.write_all(&[b'x'; 200]).await.unwrap();
        let mut carry = Vec::new();
        let mut outcome = Ok(1);
        while matches!(outcome, Ok(n) if n > 0) {
            outcome = read_lines(&reader, &mut carry, 100, None, |_| ControlFlow::Continue(())).await;
        }
        assert_eq!(outcome.unwrap_err().kind(), io::ErrorKind::InvalidData);
    }
}
