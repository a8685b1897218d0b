//! One accepted connection, from its first byte to its last: the TLS handshake when its scheme has
//! TLS, then its scheme's protocol on the opened stream (for `chat`: sniff, hello, session; for
//! `http`: the web side, whose WebSockets come back here as chat sessions).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::Either;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio::time::{Instant, timeout_at};
use tokio_rustls::server::TlsStream;
use tracing::info;

use super::Limits;
use super::admission::{IpSlot, REFUSAL_LINGER};
use super::handshake;
use super::hub_task::HubMessage;
use super::irc;
use super::logins::Logins;
use super::metrics::{METRICS, Mode};
use super::reader::FrameReader;
use super::sequence::Published;
use super::session::{self, Pace, Registered};
use super::stray_http::{self, STRAY_PEEK_BYTES};
use super::stream::ChatStream;
use super::tls::Certificates;
use super::unfinished::FrameBudget;
use super::web::{self, WebConfig};
use crate::hub::{Arrival, JOIN_HISTORY_PLAIN, Login};
use crate::names::ConnId;
use crate::scheme::{Protocol, Scheme};
use crate::transport::line::LineCodec;
use crate::transport::{Opening, WireMode};

/// What every connection's task shares.
#[derive(Clone)]
pub struct Shared {
    pub hub: mpsc::Sender<HubMessage>,
    pub published: Arc<Published>,
    pub limits: Limits,
    /// The pair TLS listeners serve; `Some` whenever a listener has TLS.
    pub certificates: Option<Arc<Certificates>>,
    /// What unfinished frames may hold together.
    pub frame_budget: Arc<FrameBudget>,
    /// Shared by every session, so that none keeps a copy.
    pub pace: Arc<Pace>,
    /// Checks a hello's password.
    pub logins: Logins,
    /// What every client must give before the hub hears of it (`--server-password`).
    pub server_password: Option<Arc<String>>,
    /// Where IRC is served, for IRC clients that came to a chat port.
    pub irc_at: Option<Arc<str>>,
    /// Allowed origins, and the web listeners a stray browser on a chat port is pointed to.
    pub web: Arc<WebConfig>,
}

/// A connection let in, and what it holds while it lasts.
pub struct Admitted {
    pub conn: ConnId,
    pub peer: SocketAddr,
    pub scheme: Scheme,
    /// Its place under `--max-connections`, given back when the connection ends.
    pub _slot: OwnedSemaphorePermit,
    /// Its count against its address, unless exempt; uncounted when the connection ends.
    pub _ip_slot: Option<Box<IpSlot>>,
}

/// Serves `stream` as `admitted.scheme` says until either side ends it.
pub fn serve(stream: TcpStream, admitted: Admitted, shared: Shared) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    // The handshake deadline runs from the accept, so TLS and the hello share it.
    let deadline = Instant::now() + shared.limits.handshake_timeout;
    if !admitted.scheme.tls() {
        return Box::pin(speak(stream, admitted, shared, deadline));
    }
    // What an async block captures it keeps for its whole life: a pointer, not the parts.
    let parts = Box::new((stream, admitted, shared));
    Box::pin(async move {
        let (stream, admitted, shared) = unbox(parts);
        // Boxed, so what the handshake holds is freed before the session, which may last for days.
        let opened = Box::pin(open_tls(stream, admitted, shared, deadline)).await;
        if let Some((tls, admitted, shared)) = opened {
            speak(tls, admitted, shared, deadline).await;
        }
    })
}

/// Frees the box as it hands its value back.
#[allow(
    clippy::boxed_local,
    reason = "the box is what the caller's future holds in place of the value"
)]
fn unbox<T>(boxed: Box<T>) -> T {
    *boxed
}

/// The TLS handshake, within the connection's deadline; the stream comes back boxed, since it is
/// over a kilobyte and every future that takes it would keep a copy.
async fn open_tls(
    stream: TcpStream,
    admitted: Admitted,
    shared: Shared,
    deadline: Instant,
) -> Option<(Box<TlsStream<TcpStream>>, Admitted, Shared)> {
    // Server::bind refuses a TLS listener without a certificate.
    let acceptor = shared.certificates.as_ref()?.acceptor();
    match timeout_at(deadline, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => Some((Box::new(tls), admitted, shared)),
        Ok(Err(e)) => {
            info!(conn = %admitted.conn, error = %e, "TLS handshake failed");
            None
        }
        Err(_elapsed) => {
            info!(conn = %admitted.conn, "no TLS handshake in time");
            None
        }
    }
}

/// The scheme's protocol on the opened stream: the one place a new protocol adds an arm. Not an
/// `async fn`, so the protocol's future is all a connection holds.
fn speak<C>(stream: C, admitted: Admitted, shared: Shared, deadline: Instant) -> impl Future<Output = ()>
where
    C: ChatStream + AsyncRead + AsyncWrite + Unpin,
{
    match admitted.scheme.protocol() {
        Protocol::Chat => Either::Left(chat(stream, admitted, shared, deadline)),
        Protocol::Irc => Either::Right(Either::Left(irc::serve(stream, admitted, shared, deadline))),
        // Boxed: an HTTP connection's future is larger than a chat session's, and every connection
        // would otherwise be given room for it.
        Protocol::Http => Either::Right(Either::Right(Box::pin(web::serve(stream, admitted, shared)))),
    }
}

/// A chat client: sniffed, greeted, then served. Not an `async fn`, so what the session's future
/// keeps for days is only what it needs: the greeting (boxed, so what it holds is freed before the
/// session), the hub, the pacing and the slots the connection holds.
pub(super) fn chat<C: ChatStream>(
    stream: C,
    admitted: Admitted,
    shared: Shared,
    deadline: Instant,
) -> impl Future<Output = ()> {
    let Admitted {
        conn,
        peer,
        scheme,
        _slot,
        _ip_slot,
    } = admitted;
    let hub = shared.hub.clone();
    let pace = shared.pace.clone();
    let secure = scheme.tls() || peer.ip().is_loopback();
    let web = scheme.protocol() == Protocol::Http;
    let greeting = Box::pin(greet(stream, conn, (peer, secure), shared, deadline));
    serve_greeted(greeting, hub, pace, (_slot, _ip_slot), web)
}

/// Serves a connection once its greeting is done. Not an `async fn`, which would keep its arguments
/// twice for the session's whole life.
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn keeps its arguments twice in its future"
)]
pub(super) fn serve_greeted<C: ChatStream>(
    greeting: Pin<Box<impl Future<Output = Option<Greeted<C>>>>>,
    hub: mpsc::Sender<HubMessage>,
    pace: Arc<Pace>,
    held: (OwnedSemaphorePermit, Option<Box<IpSlot>>),
    web: bool,
) -> impl Future<Output = ()> {
    async move {
        let _held = held;
        // Built in one expression so the greeting's parts are not kept beside the session that owns them.
        let (serving, _open) = match greeting.await {
            Some(Greeted {
                session,
                frames,
                writer,
            }) => {
                let mode = match session.mode {
                    _ if web => Mode::WebSocket,
                    WireMode::Text => Mode::Plain,
                    WireMode::Json => Mode::Json,
                    WireMode::Irc(..) => Mode::Irc,
                };
                (
                    session::serve(session, frames, writer, hub, pace),
                    METRICS.session(mode),
                )
            }
            None => return,
        };
        serving.await;
    }
}

/// A connection whose mode is known, whose hello (if structured) was read, and that the hub knows.
pub(super) struct Greeted<C: ChatStream> {
    pub session: Registered,
    pub frames: FrameReader<C::Read>,
    pub writer: C::Write,
}

async fn greet<C: ChatStream>(
    mut stream: C,
    conn: ConnId,
    (peer, secure): (SocketAddr, bool),
    shared: Shared,
    deadline: Instant,
) -> Option<Greeted<C>> {
    let limits = shared.limits;
    let (opening, read) = stream.sniff().await?;
    let answer = match opening {
        Opening::Chat(WireMode::Text) => stray_answer(&stream, &read, &shared.web.listeners),
        _ => None,
    };
    let (mut reader, mut writer) = stream.split();
    if let Some(answer) = answer {
        info!(%conn, "an HTTP request on a chat port; answered 400");
        stray_http::refuse(&mut reader, &mut writer, answer).await;
        return None;
    }
    let mode = match opening {
        Opening::Chat(mode) => mode,
        Opening::IrcRegistration => {
            let error = irc::elsewhere(shared.irc_at.as_deref());
            info!(%conn, "an IRC client on a chat port");
            farewell(reader, &mut writer, error.as_bytes()).await;
            return None;
        }
    };
    let codec = LineCodec::new(mode.max_frame_bytes(limits.max_message));
    let mut frames = FrameReader::starting_with(reader, codec, shared.frame_budget.clone(), read);
    if mode == WireMode::Text
        && let Some(password) = &shared.server_password
        && !handshake::plain_pass(&mut frames, &mut writer, password, deadline).await
    {
        let _ = timeout_at(deadline + GOODBYE_GRACE, writer.shutdown()).await;
        return None;
    }
    let arrival = match mode {
        WireMode::Text => Arrival {
            conn,
            nick: None,
            room: None,
            peer: peer.to_string(),
            operator: false,
            echo: true,
            ip: Some(peer.ip()),
            secure,
            login: Login::None,
            replay: JOIN_HISTORY_PLAIN,
            lands: true,
        },
        // A chat port's sniff tells only text from JSON.
        WireMode::Irc(..) => return None,
        WireMode::Json => match handshake::hello(
            &mut frames,
            &mut writer,
            conn,
            peer,
            (deadline, shared.server_password.as_deref().map(String::as_str)),
        )
        .await
        {
            Some((mut arrival, password)) => {
                arrival.secure = secure;
                arrival.login = handshake::log_in(&shared.logins, &arrival, password).await;
                arrival
            }
            None => {
                let _ = timeout_at(deadline + GOODBYE_GRACE, writer.shutdown()).await;
                return None;
            }
        },
    };
    let session = session::register(arrival, mode, &shared.hub, limits.max_queued, &shared.published).await?;
    Some(Greeted {
        session,
        frames,
        writer,
    })
}

/// Writes `bytes` and closes the stream.
pub(super) async fn goodbye<W: tokio::io::AsyncWrite + Unpin>(writer: &mut W, bytes: &[u8]) {
    if writer.write_all(bytes).await.is_ok() {
        let _ = writer.shutdown().await;
    }
}

/// Writes `bytes`, closes the writing side, and reads (and drops) what the client still sends for
/// up to `REFUSAL_LINGER`: closing with its lines unread would reset the connection and could take
/// the line with it.
pub(super) async fn farewell<R: tokio::io::AsyncRead + Unpin, W: tokio::io::AsyncWrite + Unpin>(
    mut reader: R,
    writer: &mut W,
    bytes: &[u8],
) {
    use tokio::io::AsyncReadExt;
    let draining = async {
        goodbye(writer, bytes).await;
        let mut discard = [0u8; 512];
        while matches!(reader.read(&mut discard).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(REFUSAL_LINGER, draining).await;
}

/// The 400 for a plain connection that opened with an HTTP request line; `None` for a chat client.
fn stray_answer<C: ChatStream>(stream: &C, read: &[u8], web: &[crate::scheme::Listener]) -> Option<String> {
    let mut peeked = [0u8; STRAY_PEEK_BYTES];
    let start = match read.is_empty() {
        true => {
            let n = stream.peek_now(&mut peeked);
            &peeked[..n]
        }
        false => read,
    };
    stray_http::is_request_line(start).then(|| stray_http::answer(start, web))
}

/// How long past the handshake deadline a refused client's stream may take to close.
pub(super) const GOODBYE_GRACE: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use std::mem::size_of;

    use super::*;

    fn size_of_output<F: FnOnce() -> R, R>(_: F) -> usize {
        size_of::<R>()
    }

    /// Every connected client holds its session's future for as long as it stays: a TLS stream (over
    /// a kilobyte) kept inline in it would be paid by every TLS client again, on top of the stream.
    #[test]
    fn a_tls_session_future_is_no_bigger_than_a_plain_one() {
        let plain = size_of_output(|| chat::<TcpStream>(unreachable(), unreachable(), unreachable(), Instant::now()));
        let tls = size_of_output(|| {
            chat::<Box<TlsStream<TcpStream>>>(unreachable(), unreachable(), unreachable(), Instant::now())
        });
        assert!(
            tls <= plain + 64,
            "a TLS session's future is {tls} bytes, a plain one's {plain}"
        );
    }

    /// A connection's future has room for the largest protocol's: no protocol may make a chat
    /// session's larger.
    #[test]
    fn no_protocol_makes_a_chat_connection_bigger() {
        let chat = size_of_output(|| chat::<TcpStream>(unreachable(), unreachable(), unreachable(), Instant::now()));
        let any = size_of_output(|| speak::<TcpStream>(unreachable(), unreachable(), unreachable(), Instant::now()));
        assert!(
            any <= chat + 16,
            "a connection's future is {any} bytes, a chat session's {chat}"
        );
    }

    /// A value of any type, for sizing futures that are never run.
    fn unreachable<T>() -> T {
        unreachable!("only the type is used")
    }
}
