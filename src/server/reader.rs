//! A session's input side: frames read from a source that may sit idle for hours, so the read buffer
//! exists only while there are bytes to hold.

use std::future::Future;
use std::io;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio_util::codec::Decoder;

use crate::transport::line::{Frame, LineCodec};

/// How much is read at a time.
pub const READ_CHUNK_BYTES: usize = 8 * 1024;

/// Something frames are read from that can say when it has bytes, before a buffer is committed.
pub trait Source: AsyncRead + Unpin + Send {
    fn ready(&self) -> impl Future<Output = io::Result<()>> + Send;
}

impl Source for OwnedReadHalf {
    fn ready(&self) -> impl Future<Output = io::Result<()>> + Send {
        self.readable()
    }
}

impl Source for tokio::io::Stdin {
    async fn ready(&self) -> io::Result<()> {
        Ok(())
    }
}

pub struct FrameReader<S> {
    source: S,
    codec: LineCodec,
    buf: BytesMut,
    eof: bool,
}

impl<S: Source> FrameReader<S> {
    pub fn new(source: S, codec: LineCodec) -> FrameReader<S> {
        FrameReader {
            source,
            codec,
            buf: BytesMut::new(),
            eof: false,
        }
    }

    /// The next frame; `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<io::Result<Frame>> {
        loop {
            let decoded = if self.eof {
                self.codec.decode_eof(&mut self.buf)
            } else {
                self.codec.decode(&mut self.buf)
            };
            match decoded {
                Ok(Some(frame)) => return Some(Ok(frame)),
                Err(e) => return Some(Err(e)),
                Ok(None) if self.eof => return None,
                Ok(None) => {}
            }
            if self.buf.is_empty() && self.buf.capacity() > 0 {
                self.buf = BytesMut::new();
            }
            if let Err(e) = self.source.ready().await {
                return Some(Err(e));
            }
            if self.buf.capacity() - self.buf.len() < READ_CHUNK_BYTES / 4 {
                self.buf.reserve(READ_CHUNK_BYTES);
            }
            match self.source.read_buf(&mut self.buf).await {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
