//! The byte stream a chat session runs on, plain TCP or TLS over it: how its wire mode is sniffed,
//! and its two halves. The session code is generic over it.

use std::future::Future;

use bytes::BytesMut;
use futures_util::FutureExt;
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::handshake;
use super::reader::Source;
use crate::transport::Opening;

/// An accepted, opened stream (for TLS, one whose handshake is done).
pub trait ChatStream: Send + 'static {
    type Read: Source + 'static;
    type Write: AsyncWrite + Unpin + Send + 'static;

    /// Waits for the client's first bytes or `SNIFF_WINDOW`, and returns what they open with any
    /// bytes that had to be read to learn it; `None` if the client left first.
    fn sniff(&mut self) -> impl Future<Output = Option<(Opening, BytesMut)>> + Send;

    fn split(self) -> (Self::Read, Self::Write);

    /// Copies what the client has sent and is already waiting, without taking it, into `buf`;
    /// never waits. Streams that cannot peek (their first bytes come back from `sniff`) copy none.
    fn peek_now(&self, _buf: &mut [u8]) -> usize {
        0
    }
}

impl ChatStream for TcpStream {
    type Read = OwnedReadHalf;
    type Write = OwnedWriteHalf;

    async fn sniff(&mut self) -> Option<(Opening, BytesMut)> {
        // A peek leaves the byte in the socket, so nothing has to be carried over.
        Some((handshake::sniff(self).await?, BytesMut::new()))
    }

    fn split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        self.into_split()
    }

    fn peek_now(&self, buf: &mut [u8]) -> usize {
        // The sniff's peek left the socket marked readable, so this answers at once when bytes wait.
        self.peek(buf).now_or_never().and_then(Result::ok).unwrap_or(0)
    }
}
