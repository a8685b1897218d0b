//! The bytes gathered for one write: frames copied together, since the kernel takes one buffer far
//! faster than many small ones, or one frame too big to copy, written from where it is.
//!
//! Frames are copied into a buffer the worker thread lends for the write and gets back as soon as the
//! socket has taken it all, which is nearly always at once: one buffer per thread, warm in its cache,
//! serves every session it runs. A session keeps bytes of its own only when the socket takes part of
//! a write, and then just the part it did not take.

use std::cell::Cell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;

use super::metrics::METRICS;

/// The most bytes copied together for one write.
pub const STAGE_BYTES: usize = 64 * 1024;

thread_local! {
    /// The buffer this worker thread lends to the stage being filled; empty while it is lent out.
    static LENT: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

#[derive(Debug, Default)]
pub struct Stage {
    /// Frames copied together: the thread's buffer while it is filled and written, or what a write
    /// left unwritten.
    copied: Vec<u8>,
    /// A frame of `STAGE_BYTES` or more, alone in the stage.
    big: Option<Bytes>,
    /// How much of what is staged has been written.
    written: usize,
}

impl Stage {
    /// Adds `frame` if it fits; `false` if the stage must be written first.
    pub fn add(&mut self, frame: &Bytes) -> bool {
        if self.big.is_some() {
            return false;
        }
        if frame.len() >= STAGE_BYTES {
            if !self.copied.is_empty() {
                return false;
            }
            self.big = Some(frame.clone());
            METRICS.event_written();
            return true;
        }
        if self.copied.len() + frame.len() > STAGE_BYTES {
            return false;
        }
        if self.copied.capacity() == 0 {
            self.copied = borrow();
        }
        self.copied.extend_from_slice(frame);
        METRICS.event_written();
        true
    }

    pub fn is_empty(&self) -> bool {
        self.copied.is_empty() && self.big.is_none()
    }

    /// Writes what is staged and empties the stage. Polled rather than awaited, so a session's future
    /// keeps no write state of its own.
    pub fn poll_write<W: AsyncWrite + Unpin>(&mut self, cx: &mut Context<'_>, writer: &mut W) -> Poll<io::Result<()>> {
        loop {
            let staged: &[u8] = match &self.big {
                Some(big) => big,
                None => &self.copied,
            };
            let rest = &staged[self.written..];
            if rest.is_empty() {
                break;
            }
            match Pin::new(&mut *writer).poll_write(cx, rest) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    METRICS.bytes_written(n);
                    self.written += n;
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    self.keep_unwritten();
                    return Poll::Pending;
                }
            }
        }
        give_back(std::mem::take(&mut self.copied));
        self.big = None;
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    /// While the socket is full, the session keeps what it has not taken in a buffer of its own, just
    /// that size, and the thread gets its buffer back.
    fn keep_unwritten(&mut self) {
        if self.copied.capacity() >= STAGE_BYTES {
            let unwritten = self.copied[self.written..].to_vec();
            give_back(std::mem::replace(&mut self.copied, unwritten));
            self.written = 0;
        }
    }
}

/// The thread's buffer, or a new one if it is lent out already.
fn borrow() -> Vec<u8> {
    let buffer = LENT.take();
    if buffer.capacity() >= STAGE_BYTES {
        buffer
    } else {
        Vec::with_capacity(STAGE_BYTES)
    }
}

/// Returns a buffer to the thread, which keeps one.
fn give_back(mut buffer: Vec<u8>) {
    if buffer.capacity() >= STAGE_BYTES {
        buffer.clear();
        LENT.set(buffer);
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    /// Adds frames of the given sizes, writing whenever the stage is full: every byte arrives, in
    /// order, and no write is bigger than the stage unless it is one big frame.
    #[tokio::test]
    async fn frames_of_every_size_arrive_whole_and_in_order() {
        let sizes: &[&[usize]] = &[
            &[1],
            &[10, 20, 30],
            &[STAGE_BYTES],
            &[STAGE_BYTES + 1, 5],
            &[5, STAGE_BYTES - 5, 1, 3 * STAGE_BYTES, 7],
            &[STAGE_BYTES / 2 + 1, STAGE_BYTES / 2 + 1, STAGE_BYTES / 2 + 1],
        ];
        for (case, sizes) in sizes.iter().enumerate() {
            let frames: Vec<Bytes> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| Bytes::from(vec![b'a' + (case + i) as u8 % 26; n]))
                .collect();
            let mut stage = Stage::default();
            let mut written = Vec::new();
            let mut writes = Vec::new();
            for frame in &frames {
                if !stage.add(frame) {
                    let mut one = Vec::new();
                    std::future::poll_fn(|cx| stage.poll_write(cx, &mut one)).await.unwrap();
                    writes.push(one.len());
                    written.extend(one);
                    assert!(stage.add(frame), "an empty stage takes any frame");
                }
            }
            std::future::poll_fn(|cx| stage.poll_write(cx, &mut written))
                .await
                .unwrap();
            assert!(stage.is_empty());
            assert_eq!(written, frames.concat(), "sizes {sizes:?}");
            assert!(
                writes.iter().all(|&n| n <= STAGE_BYTES || sizes.contains(&n)),
                "{writes:?}"
            );
        }
    }

    /// A socket that takes a little at a time: everything arrives in order, while it waits the session
    /// holds only what is unwritten, and once it is all written the session holds no buffer at all.
    #[tokio::test]
    async fn a_slow_socket_gets_everything_and_the_session_keeps_only_the_rest() {
        let frames: Vec<Bytes> = (0..100).map(|i| Bytes::from(format!("{i:099}\n"))).collect();
        let expected = frames.concat();
        let (mut client, mut server) = tokio::io::duplex(1000);
        let len = expected.len();
        let reader = tokio::spawn(async move {
            let mut got = vec![0; len];
            client.read_exact(&mut got).await.unwrap();
            got
        });
        let mut stage = Stage::default();
        for frame in &frames {
            assert!(stage.add(frame));
        }
        let mut held = Vec::new();
        std::future::poll_fn(|cx| {
            let written = stage.poll_write(cx, &mut server);
            if written.is_pending() {
                held.push((stage.copied.capacity(), stage.copied.len() - stage.written));
            }
            written
        })
        .await
        .unwrap();
        assert!(!held.is_empty(), "the socket was full at times");
        assert!(
            held.iter()
                .all(|&(kept, unwritten)| kept < STAGE_BYTES && unwritten <= kept),
            "{held:?}"
        );
        assert_eq!(stage.copied.capacity(), 0);
        assert_eq!(reader.await.unwrap(), expected);
    }
}
