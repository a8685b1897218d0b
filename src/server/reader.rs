//! A session's input side: frames read from a source that may sit idle for hours, so the read buffer
//! exists only while there are bytes to hold, and an unfinished frame is bounded in time and in the
//! server's memory.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::BytesMut;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::net::tcp::OwnedReadHalf;
use tokio_util::codec::Decoder;
use tokio_util::io::poll_read_buf;

use super::metrics::METRICS;
use super::unfinished::{FREE_FRAME_BYTES, FrameBudget, Unfinished};
use crate::transport::line::{Frame, LineCodec};

/// How much is read at a time.
pub const READ_CHUNK_BYTES: usize = 8 * 1024;

/// Something frames are read from that can say when it has bytes, before a buffer is committed.
pub trait Source: AsyncRead + Unpin + Send {
    /// Ready once a read would not wait (there are bytes, or the end, or an error).
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
}

impl Source for OwnedReadHalf {
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Peeking parks the waker with the socket itself, so a waiting session holds no wait state.
        let mut byte = [0u8; 1];
        ready!(self.poll_peek(cx, &mut ReadBuf::new(&mut byte)))?;
        Poll::Ready(Ok(()))
    }
}

impl Source for tokio::io::Stdin {
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

pub struct FrameReader<S> {
    source: S,
    codec: LineCodec,
    buf: BytesMut,
    eof: bool,
    budget: Arc<FrameBudget>,
    /// Only while a frame is unfinished.
    unfinished: Option<Box<Unfinished>>,
}

impl<S: Source> FrameReader<S> {
    pub fn new(source: S, codec: LineCodec, budget: Arc<FrameBudget>) -> FrameReader<S> {
        FrameReader::starting_with(source, codec, budget, BytesMut::new())
    }

    /// A reader whose first bytes were already read (to sniff the mode of a TLS stream, say).
    pub fn starting_with(source: S, codec: LineCodec, budget: Arc<FrameBudget>, read: BytesMut) -> FrameReader<S> {
        FrameReader {
            source,
            codec,
            buf: read,
            eof: false,
            budget,
            unfinished: None,
        }
    }

    /// The next frame; `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<io::Result<Frame>> {
        let next = poll_fn(|cx| self.poll_next(cx)).await;
        if let Some(unfinished) = &mut self.unfinished {
            unfinished.frame_ended();
        }
        next
    }

    /// The longest frame read, in bytes.
    pub fn max_frame_bytes(&self) -> usize {
        self.codec.max_bytes()
    }

    /// The next frame already read, if there is one; it never waits.
    pub fn next_buffered(&mut self) -> Option<Frame> {
        self.codec.next_frame(&mut self.buf)
    }

    /// Ready with an error once this reader has held part of the server-wide budget for longer than
    /// the frame timeout while its session did not read (it was paced): a client must not keep the
    /// budget by not reading its answers. Pending while it holds none.
    pub fn poll_held_too_long(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        match &mut self.unfinished {
            Some(unfinished) if unfinished.holds_budget() => unfinished.poll_deadline(&self.budget, cx),
            _ => Poll::Pending,
        }
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame>>> {
        loop {
            let decoded = if self.eof {
                self.codec.decode_eof(&mut self.buf)
            } else {
                self.codec.decode(&mut self.buf)
            };
            match decoded {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Err(e) => return Poll::Ready(Some(Err(e))),
                Ok(None) if self.eof => return Poll::Ready(None),
                Ok(None) => {}
            }
            if self.buf.is_empty() {
                if self.buf.capacity() > 0 {
                    self.buf = BytesMut::new();
                }
                // Nothing unfinished: what was held for the budget goes back.
                self.unfinished = None;
                if let Err(e) = ready!(self.source.poll_ready(cx)) {
                    return Poll::Ready(Some(Err(e)));
                }
            }
            if let Err(e) = ready!(self.poll_room(cx)) {
                return Poll::Ready(Some(Err(e)));
            }
            match poll_read_buf(Pin::new(&mut self.source), cx, &mut self.buf) {
                Poll::Ready(Ok(0)) => self.eof = true,
                Poll::Ready(Ok(n)) => METRICS.bytes_read(n),
                Poll::Ready(Err(e)) => return Poll::Ready(Some(Err(e))),
                Poll::Pending if self.buf.is_empty() => return Poll::Pending,
                // Part of a frame is here and the rest is awaited: that wait has a deadline.
                Poll::Pending => {
                    let unfinished = self.unfinished.get_or_insert_with(Box::default);
                    return unfinished.poll_deadline(&self.budget, cx).map(|e| Some(Err(e)));
                }
            }
        }
    }

    /// Makes room for the next read. Up to `FREE_FRAME_BYTES` the buffer grows as it needs; past that
    /// it takes its largest frame's share of the budget, and grows to that size at once (its pages
    /// are only touched as bytes arrive).
    fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.buf.capacity() - self.buf.len() >= READ_CHUNK_BYTES / 4 {
            return Poll::Ready(Ok(()));
        }
        let needed = self.buf.len() + READ_CHUNK_BYTES;
        if needed <= FREE_FRAME_BYTES {
            let doubled = (self.buf.capacity() * 2).clamp(needed, FREE_FRAME_BYTES);
            self.regrow(doubled);
            return Poll::Ready(Ok(()));
        }
        let largest = self.largest_buffer();
        let unfinished = self.unfinished.get_or_insert_with(Box::default);
        ready!(unfinished.poll_budget(&self.budget, largest - FREE_FRAME_BYTES, cx))?;
        self.regrow(largest);
        Poll::Ready(Ok(()))
    }

    /// The most the buffer ever needs: the largest frame, the byte of a `\r\n` that has not arrived
    /// whole, and one read.
    fn largest_buffer(&self) -> usize {
        self.codec.max_bytes() + 1 + READ_CHUNK_BYTES
    }

    /// Moves what is buffered into an allocation of exactly `capacity` bytes, so the budget counts what
    /// the buffer really holds.
    fn regrow(&mut self, capacity: usize) {
        let mut grown = BytesMut::with_capacity(capacity.max(self.buf.len()));
        grown.extend_from_slice(&self.buf);
        self.buf = grown;
    }
}

/// The budget the largest frame of `max_frame_bytes` takes from `--max-unfinished`.
pub fn budget_for_frame(max_frame_bytes: usize) -> usize {
    (max_frame_bytes + 1 + READ_CHUNK_BYTES).saturating_sub(FREE_FRAME_BYTES)
}
