//! An upgraded connection's bytes beneath the WebSocket codec, with read and write buffers that
//! exist only while bytes wait in them: an idle connection holds neither, while a busy one still
//! reads a whole chunk and writes a whole stage of frames per system call.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::server::reader::READ_CHUNK_BYTES;
use crate::server::stage::STAGE_BYTES;

/// Bytes written and not yet sent, at most; a write that would go past this sends what is held first.
pub const WRITE_HOLD_BYTES: usize = STAGE_BYTES;

pub struct BurstBuffers<S> {
    inner: S,
    /// What the last read from the socket brought beyond what the codec asked for (at most
    /// `READ_CHUNK_BYTES`).
    read_left: Bytes,
    /// Bytes written and not yet sent (at most `WRITE_HOLD_BYTES`), from `sent` on.
    held: Vec<u8>,
    sent: usize,
}

impl<S> BurstBuffers<S> {
    pub fn new(inner: S) -> BurstBuffers<S> {
        BurstBuffers {
            inner,
            read_left: Bytes::new(),
            held: Vec::new(),
            sent: 0,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for BurstBuffers<S> {
    /// The codec asks for a little at a time (it keeps only a small buffer for every connection),
    /// so the socket is read a chunk at a time into the stack, and only what is left over is kept.
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.read_left.is_empty() {
            let n = this.read_left.len().min(buf.remaining());
            buf.put_slice(&this.read_left.split_to(n));
            if this.read_left.is_empty() {
                this.read_left = Bytes::new();
            }
            return Poll::Ready(Ok(()));
        }
        if buf.remaining() >= READ_CHUNK_BYTES {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK_BYTES];
        let mut read = ReadBuf::uninit(&mut chunk);
        ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
        let got = read.filled();
        let n = got.len().min(buf.remaining());
        buf.put_slice(&got[..n]);
        if n < got.len() {
            this.read_left = Bytes::copy_from_slice(&got[n..]);
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> BurstBuffers<S> {
    /// Ready once `bytes` more can be held: what is held is sent first if they would not fit. A
    /// single frame longer than the bound is held alone.
    pub fn poll_room(&mut self, cx: &mut Context<'_>, bytes: usize) -> Poll<io::Result<()>> {
        if !self.held.is_empty() && self.held.len() + bytes > WRITE_HOLD_BYTES {
            ready!(self.poll_send_held(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    /// Where bytes are added to be sent at the next flush, once `poll_room` said they fit.
    pub fn held(&mut self) -> &mut Vec<u8> {
        &mut self.held
    }

    /// Sends everything held, then lets the buffer go.
    fn poll_send_held(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.held.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.held[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.held = Vec::new();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for BurstBuffers<S> {
    /// Takes all of `buf` or, while the held bytes cannot be sent, none of it: the codec writes a
    /// frame (or several) at a time, so frames written by it never interleave.
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.held.len() + buf.len() > WRITE_HOLD_BYTES {
            ready!(this.poll_send_held(cx))?;
            if buf.len() > WRITE_HOLD_BYTES {
                return Pin::new(&mut this.inner).poll_write(cx, buf);
            }
        }
        this.held.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send_held(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_send_held(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn small_reads_get_every_byte_in_order() {
        let data: Vec<u8> = (0..3 * READ_CHUNK_BYTES).map(|i| (i % 251) as u8).collect();
        let (mut far, near) = tokio::io::duplex(4 * READ_CHUNK_BYTES);
        far.write_all(&data).await.unwrap();
        drop(far);
        let mut buffers = BurstBuffers::new(near);
        let mut got = Vec::new();
        let mut small = [0u8; 14];
        loop {
            let n = buffers.read(&mut small).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&small[..n]);
        }
        assert_eq!(got, data);
        assert!(buffers.read_left.is_empty());
    }

    #[tokio::test]
    async fn held_writes_arrive_whole_after_flush_and_the_buffer_goes() {
        let (far, near) = tokio::io::duplex(WRITE_HOLD_BYTES / 4);
        let reader = tokio::spawn(async move {
            let mut far = far;
            let mut got = Vec::new();
            far.read_to_end(&mut got).await.unwrap();
            got
        });
        let mut buffers = BurstBuffers::new(near);
        let mut sent = Vec::new();
        for i in 0..2000u32 {
            let line = format!("frame {i} {}\n", "x".repeat((i % 97) as usize));
            buffers.write_all(line.as_bytes()).await.unwrap();
            sent.extend_from_slice(line.as_bytes());
        }
        buffers.flush().await.unwrap();
        assert_eq!(buffers.held.capacity(), 0);
        buffers.shutdown().await.unwrap();
        drop(buffers);
        assert_eq!(reader.await.unwrap(), sent);
    }
}
