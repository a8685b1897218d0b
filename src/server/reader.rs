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
        FrameReader {
            source,
            codec,
            buf: BytesMut::new(),
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
            } else {
                let unfinished = self.unfinished.get_or_insert_with(Box::default);
                if let Poll::Ready(e) = unfinished.poll_deadline(&self.budget, cx) {
                    return Poll::Ready(Some(Err(e)));
                }
            }
            if self.buf.capacity() - self.buf.len() < READ_CHUNK_BYTES / 4 {
                // What `reserve` may grow the buffer to: double, or what is asked.
                let grown = (self.buf.capacity() * 2).max(self.buf.len() + READ_CHUNK_BYTES);
                if grown > FREE_FRAME_BYTES {
                    let unfinished = self.unfinished.get_or_insert_with(Box::default);
                    if let Err(e) = ready!(unfinished.poll_room(&self.budget, grown, cx)) {
                        return Poll::Ready(Some(Err(e)));
                    }
                }
                self.buf.reserve(READ_CHUNK_BYTES);
            }
            match ready!(poll_read_buf(Pin::new(&mut self.source), cx, &mut self.buf)) {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
        }
    }
}
