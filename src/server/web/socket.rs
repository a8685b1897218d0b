//! A WebSocket as a chat stream: each text frame the client sends is read as one JSON line, and each
//! JSON line the session writes goes out as one text frame. So a browser is one more kind of
//! structured session on the same reader, writer, pacing and flood control as a TCP client.
//!
//! The two sides of the protocol's liveness become WebSocket control frames: the server's `ping`
//! event goes out as a Ping frame, and a Pong frame is read as a `pong` request. A browser answers
//! Ping frames itself, even in a background tab whose scripts are frozen.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, ready};

use bytes::{Bytes, BytesMut};
use futures_util::{Sink, Stream};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

use super::burst_buffers::BurstBuffers;
use super::server_frame::{FRAME_HEADER_BYTES, PING, TEXT, frame_len, put_frame};
use crate::server::reader::Source;
use crate::server::stage::STAGE_BYTES;
use crate::server::stream::ChatStream;
use crate::transport::{Opening, WireMode};

type Ws = WebSocketStream<BurstBuffers<TokioIo<Upgraded>>>;

/// What a binary frame is read as: a JSON string, which is no request, so the client is answered
/// `bad_request` with this sentence in the reason, as for any other frame that is not a request.
const BINARY_LINE: &[u8] = b"\"binary frames are not read: send each request as one text frame\"\n";
/// What a Pong frame is read as.
const PONG_LINE: &[u8] = b"{\"type\":\"pong\"}\n";
/// The server's ping event, as the session writes it.
const PING_EVENT: &[u8] = br#"{"type":"ping"}"#;
/// What tungstenite keeps to read frames into, for every connection, idle or not: the bytes beneath
/// it are read a chunk at a time by `BurstBuffers`, so this small buffer costs copies, not system
/// calls. A frame longer than this grows it, for the sender only.
const WS_READ_BUFFER_BYTES: usize = 128;

/// The WebSocket settings for a session whose longest frame is `max_frame` bytes.
pub fn config(max_frame: usize) -> WebSocketConfig {
    let mut config = WebSocketConfig::default();
    config.read_buffer_size = WS_READ_BUFFER_BYTES;
    // Each frame goes straight down to `BurstBuffers`, which holds a stage of them until the flush
    // and then lets its buffer go; tungstenite's own buffer, which never shrinks, holds a frame.
    config.write_buffer_size = 0;
    // While `BurstBuffers` is full: a whole stage of frames and the largest event beside it.
    config.max_write_buffer_size = STAGE_BYTES + max_frame + FRAME_HEADER_BYTES;
    config.max_message_size = Some(max_frame);
    config.max_frame_size = Some(max_frame);
    config
}

/// An upgraded connection, before it is split.
pub struct WebSocket(Box<Ws>);

impl WebSocket {
    pub fn new(ws: Ws) -> WebSocket {
        WebSocket(Box::new(ws))
    }
}

/// What both halves share. Both are polled by their session's one task, so the lock is never
/// waited for.
struct State {
    ws: Ws,
    /// The rest of the frame being read, as a line.
    incoming: Bytes,
    /// Whether the line being read still needs its `\n`.
    newline: bool,
    /// The start of a line the session has not finished writing.
    partial: Vec<u8>,
    /// The close code the connection ends with, once something has decided it.
    close: Option<CloseCode>,
    /// Whether the close frame has been sent.
    closed: bool,
    /// Whether the client was welcomed (a connection refused before it is closes with 1008).
    welcomed: bool,
    /// Whether the client has closed its side (or the connection is gone).
    ended: bool,
    /// A read error met after lines were already handed over, for the next read.
    failed: Option<io::Error>,
}

type Shared = Arc<Mutex<State>>;

pub struct WsReader(Shared);
pub struct WsWriter(Shared);

fn lock(shared: &Shared) -> io::Result<MutexGuard<'_, State>> {
    shared
        .lock()
        .map_err(|_| io::Error::other("the WebSocket was poisoned by a panic"))
}

impl ChatStream for WebSocket {
    type Read = WsReader;
    type Write = WsWriter;

    /// A WebSocket speaks the structured protocol from its first frame.
    async fn sniff(&mut self) -> Option<(Opening, BytesMut)> {
        Some((Opening::Chat(WireMode::Json), BytesMut::new()))
    }

    fn split(self) -> (WsReader, WsWriter) {
        let state = State {
            ws: *self.0,
            incoming: Bytes::new(),
            newline: false,
            partial: Vec::new(),
            close: None,
            closed: false,
            welcomed: false,
            ended: false,
            failed: None,
        };
        let shared = Arc::new(Mutex::new(state));
        (WsReader(shared.clone()), WsWriter(shared))
    }
}

impl State {
    /// Ready once a line (or the end, or an error) is there to be read.
    fn poll_line(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.failed.take() {
            return Poll::Ready(Err(e));
        }
        while self.incoming.is_empty() && !self.newline && !self.ended {
            let message = match ready!(Pin::new(&mut self.ws).poll_next(cx)) {
                None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                    self.ended = true;
                    continue;
                }
                Some(Ok(message)) => message,
                Some(Err(e)) => return Poll::Ready(Err(self.refuse(e))),
            };
            match message {
                Message::Text(text) => self.take_line(Bytes::from(text)),
                Message::Binary(_) => self.incoming = Bytes::from_static(BINARY_LINE),
                Message::Pong(_) => self.incoming = Bytes::from_static(PONG_LINE),
                // Answered by tungstenite itself.
                Message::Ping(_) | Message::Frame(_) => {}
                Message::Close(_) => self.ended = true,
            }
        }
        Poll::Ready(Ok(()))
    }

    /// A text frame's payload as one line: a line break inside it (only whitespace between JSON
    /// tokens, since strings escape theirs) would end the line early, so it reads as a space.
    fn take_line(&mut self, payload: Bytes) {
        if payload.iter().any(|&b| b == b'\n' || b == b'\r') {
            let spaced: Vec<u8> = payload
                .iter()
                .map(|&b| if b == b'\n' || b == b'\r' { b' ' } else { b })
                .collect();
            self.incoming = Bytes::from(spaced);
        } else {
            self.incoming = payload;
        }
        self.newline = true;
    }

    /// A read error: the close code it ends the connection with, and the error for the session.
    fn refuse(&mut self, error: WsError) -> io::Error {
        let (code, why) = match error {
            WsError::Capacity(e) => (CloseCode::Size, format!("a WebSocket message too large: {e}")),
            WsError::Protocol(e) => (CloseCode::Protocol, format!("a WebSocket protocol error: {e}")),
            WsError::Utf8(_) => (CloseCode::Invalid, "a text frame that is not UTF-8".to_owned()),
            WsError::Io(e) => return e,
            other => return io::Error::other(other.to_string()),
        };
        self.close.get_or_insert(code);
        io::Error::new(io::ErrorKind::InvalidData, why)
    }

    fn copy_into(&mut self, buf: &mut ReadBuf<'_>) {
        let n = self.incoming.len().min(buf.remaining());
        buf.put_slice(&self.incoming.split_to(n));
        if self.incoming.is_empty() && self.newline && buf.remaining() > 0 {
            buf.put_slice(b"\n");
            self.newline = false;
        }
    }

    /// Sends one line the session wrote (without its `\n`) as a frame, after the frames already
    /// waiting. tungstenite writes only its own control frames (pongs, the close), each whole, so
    /// frames never interleave.
    fn send_line(&mut self, line: &[u8]) -> io::Result<()> {
        let held = self.ws.get_mut().held();
        if line == PING_EVENT {
            put_frame(held, PING, b"");
            return Ok(());
        }
        if std::str::from_utf8(line).is_err() {
            return Err(io::Error::other("an event that is not UTF-8"));
        }
        put_frame(held, TEXT, line);
        self.note(line);
        Ok(())
    }

    /// What the events written say about how the connection will end.
    fn note(&mut self, line: &[u8]) {
        if line.starts_with(br#"{"type":"welcome""#) {
            self.welcomed = true;
        } else if line.starts_with(br#"{"type":"bye""#) && memchr::memmem::find(line, b"shutting down").is_some() {
            self.close.get_or_insert(CloseCode::Away);
        }
    }

    fn close_frame(&self) -> CloseFrame {
        let code = match self.close {
            Some(code) => code,
            None if self.welcomed => CloseCode::Normal,
            None => CloseCode::Policy,
        };
        let reason = match code {
            CloseCode::Away => "the server is shutting down",
            CloseCode::Size => "message too large",
            CloseCode::Protocol => "protocol error",
            CloseCode::Invalid => "not UTF-8",
            CloseCode::Policy => "refused",
            _ => "",
        };
        CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        }
    }
}

impl AsyncRead for WsReader {
    /// Hands over every line already received that fits, as a TCP read hands over every byte: the
    /// session gives the hub what one read brought as one batch, so a frame per read would make a
    /// client that sends fast wait a round trip per request.
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let mut state = lock(&self.0)?;
        ready!(state.poll_line(cx))?;
        loop {
            state.copy_into(buf);
            let line_left = !state.incoming.is_empty() || state.newline;
            if buf.remaining() == 0 || line_left || state.ended {
                break;
            }
            match state.poll_line(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => {
                    state.failed = Some(e);
                    break;
                }
                Poll::Pending => break,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl Source for WsReader {
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        lock(&self.0)?.poll_line(cx)
    }
}

impl AsyncWrite for WsWriter {
    /// Takes every whole line in `buf` that the socket has room for, as one frame each; the start of
    /// a line that goes on in the next write is kept until its end comes.
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut state = lock(&self.0)?;
        if state.ended || state.closed {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the WebSocket is closing",
            )));
        }
        let mut taken = 0;
        while taken < buf.len() {
            let rest = &buf[taken..];
            let Some(end) = memchr::memchr(b'\n', rest) else {
                state.partial.extend_from_slice(rest);
                taken = buf.len();
                break;
            };
            let need = frame_len(state.partial.len() + end);
            match state.ws.get_mut().poll_room(cx, need) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending if taken == 0 => return Poll::Pending,
                Poll::Pending => break,
            }
            if state.partial.is_empty() {
                state.send_line(&rest[..end])?;
            } else {
                let mut whole = std::mem::take(&mut state.partial);
                whole.extend_from_slice(&rest[..end]);
                state.send_line(&whole)?;
            }
            taken += end + 1;
        }
        Poll::Ready(Ok(taken))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = lock(&self.0)?;
        Pin::new(&mut state.ws).poll_flush(cx).map_err(io::Error::other)
    }

    /// Sends the close frame, with the code the connection's end deserves, and flushes it.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut state = lock(&self.0)?;
        if !state.closed {
            ready!(Pin::new(&mut state.ws).poll_ready(cx)).map_err(io::Error::other)?;
            let frame = state.close_frame();
            state.closed = true;
            // A close already under way (the client's) leaves nothing to send.
            let _ = Pin::new(&mut state.ws).start_send(Message::Close(Some(frame)));
        }
        match ready!(Pin::new(&mut state.ws).poll_flush(cx)) {
            Ok(()) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => Poll::Ready(Ok(())),
            Err(e) => Poll::Ready(Err(io::Error::other(e))),
        }
    }
}
