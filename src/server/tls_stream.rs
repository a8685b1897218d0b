//! A server-side TLS stream as a chat stream: sniffed on the decrypted bytes, and split into halves
//! that share it. The read half says it is ready without a buffer of its own, so an idle TLS session
//! holds no read buffer, as a plain one does not.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::handshake::SNIFF_WINDOW;
use super::reader::{READ_CHUNK_BYTES, Source};
use super::stream::ChatStream;
use crate::transport::{Opening, WireMode};

type Shared = Arc<Mutex<TlsStream<TcpStream>>>;

/// The reading half. Both halves are polled by the one task of their session, so the lock is never
/// waited for.
pub struct TlsReader(Shared);

/// The writing half.
pub struct TlsWriter(Shared);

fn lock(shared: &Shared) -> io::Result<MutexGuard<'_, TlsStream<TcpStream>>> {
    shared
        .lock()
        .map_err(|_| io::Error::other("the TLS stream was poisoned by a panic"))
}

/// Boxed, so the futures that carry it until it is split hold a pointer, not the whole stream.
impl ChatStream for Box<TlsStream<TcpStream>> {
    type Read = TlsReader;
    type Write = TlsWriter;

    /// TLS records cannot be peeked, so the first decrypted bytes are read and handed on.
    async fn sniff(&mut self) -> Option<(Opening, BytesMut)> {
        let mut first = BytesMut::with_capacity(READ_CHUNK_BYTES);
        match tokio::time::timeout(SNIFF_WINDOW, self.read_buf(&mut first)).await {
            Err(_elapsed) => Some((Opening::Chat(WireMode::Text), BytesMut::new())),
            Ok(Ok(0) | Err(_)) => None,
            Ok(Ok(_)) => Some((Opening::sniff(&first), first)),
        }
    }

    fn split(self) -> (TlsReader, TlsWriter) {
        let shared = Arc::new(Mutex::new(*self));
        (TlsReader(shared.clone()), TlsWriter(shared))
    }
}

impl AsyncRead for TlsReader {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let mut stream = lock(&self.0)?;
        match ready!(Pin::new(&mut *stream).poll_read(cx, buf)) {
            // rustls's own message points at its manual, which is no reason to show a room.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed by the client without ending TLS",
            ))),
            read => Poll::Ready(read),
        }
    }
}

impl Source for TlsReader {
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut stream = lock(&self.0)?;
        let (tcp, tls) = stream.get_mut();
        match tls.process_new_packets() {
            Ok(state) if state.plaintext_bytes_to_read() == 0 && !state.peer_has_closed() => {}
            // Decrypted bytes wait, or the peer has closed, or the read will report an error.
            _ => return Poll::Ready(Ok(())),
        }
        // Peeking parks the waker with the socket itself, as for a plain session.
        let mut byte = [0u8; 1];
        ready!(tcp.poll_peek(cx, &mut ReadBuf::new(&mut byte)))?;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for TlsWriter {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut stream = lock(&self.0)?;
        Pin::new(&mut *stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut stream = lock(&self.0)?;
        Pin::new(&mut *stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut stream = lock(&self.0)?;
        Pin::new(&mut *stream).poll_shutdown(cx)
    }
}
