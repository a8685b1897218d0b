//! The bytes gathered for one write: frames copied together, since the kernel takes one buffer far
//! faster than many small ones, or one frame too big to copy, written from where it is.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::io::AsyncWrite;

/// The most bytes copied together for one write; a session that is writing holds at most this much.
pub const STAGE_BYTES: usize = 64 * 1024;
/// Past this much, a stage grows straight to `STAGE_BYTES`: a session with a burst to write would
/// otherwise copy its stage over at every doubling, while a quiet one keeps a stage the size of what
/// it writes.
const STAGE_BUSY_BYTES: usize = 4 * 1024;

#[derive(Debug, Default)]
pub struct Stage {
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
            return true;
        }
        let len = self.copied.len();
        if len + frame.len() > STAGE_BYTES {
            return false;
        }
        if len >= STAGE_BUSY_BYTES && len + frame.len() > self.copied.capacity() {
            self.copied.reserve_exact(STAGE_BYTES - len);
        }
        self.copied.extend_from_slice(frame);
        true
    }

    pub fn is_empty(&self) -> bool {
        self.copied.is_empty() && self.big.is_none()
    }

    /// Writes what is staged and empties the stage, keeping its buffer for the next write. Polled
    /// rather than awaited, so a session's future keeps no write state of its own.
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
            match ready!(Pin::new(&mut *writer).poll_write(cx, rest))? {
                0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                n => self.written += n,
            }
        }
        self.copied.clear();
        self.big = None;
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    /// Frees the buffer: an idle session holds none.
    pub fn release(&mut self) {
        self.copied = Vec::new();
    }
}

#[cfg(test)]
mod tests {
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
}
