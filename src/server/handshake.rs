//! A new connection's first moments: sniff its wire mode from the first byte, and for a structured
//! client, read its hello.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

use super::logins::Logins;
use super::reader::{FrameReader, Source};
use super::stray_http::STRAY_PEEK_BYTES;
use crate::hub::{Arrival, Login};
use crate::names::ConnId;
use crate::protocol::{Command, ErrorCode, Event, PROTOCOL_VERSION, Password};
use crate::transport::line::Frame;
use crate::transport::{Opening, WireMode, json};

/// How long a silent connection is given to show it is structured before it is greeted as plain text.
pub const SNIFF_WINDOW: Duration = Duration::from_millis(300);

/// How many of a connection's first bytes are looked at to tell what it opens with.
pub const SNIFF_BYTES: usize = 8;

/// How long a sniff waits between looks at a first line still arriving.
const FIRST_LINE_POLL: Duration = Duration::from_millis(2);

/// Waits for the first bytes (or the sniff window to pass). `None` if the client left first.
///
/// A line that opens with a capital may be IRC's registration or an HTTP request line, which a
/// client may send in pieces: the sniff waits, within its window, for that line's end (or
/// `STRAY_PEEK_BYTES` of it), so that it and the stray-HTTP check see the whole of it.
pub async fn sniff(stream: &TcpStream) -> Option<Opening> {
    let deadline = Instant::now() + SNIFF_WINDOW;
    let mut first = vec![0u8; STRAY_PEEK_BYTES];
    loop {
        let n = match timeout_at(deadline, stream.peek(&mut first)).await {
            Err(_elapsed) => return Some(Opening::Chat(WireMode::Text)),
            Ok(Ok(0) | Err(_)) => return None,
            Ok(Ok(n)) => n,
        };
        let seen = &first[..n];
        let whole = !seen[0].is_ascii_uppercase() || seen.contains(&b'\n') || n == first.len();
        if whole || Instant::now() + FIRST_LINE_POLL >= deadline {
            return Some(Opening::sniff(&seen[..n.min(SNIFF_BYTES)]));
        }
        tokio::time::sleep(FIRST_LINE_POLL).await;
    }
}

/// Reads the structured hello: the arrival and the password it carried. On failure the client is
/// told why, and `None` is returned.
pub async fn hello<S: Source, W: AsyncWrite + Unpin>(
    frames: &mut FrameReader<S>,
    writer: &mut W,
    conn: ConnId,
    peer: SocketAddr,
    (deadline, server_password): (Instant, Option<&str>),
) -> Option<(Arrival, Option<Password>)> {
    let outcome = timeout_at(deadline, first_frame(frames)).await;
    let refusal = match outcome {
        Err(_elapsed) => (ErrorCode::BadRequest, "no hello arrived in time".to_owned()),
        Ok(None) => return None,
        Ok(Some(Frame::TooLong)) => (ErrorCode::TooLarge, "the hello was too long".to_owned()),
        Ok(Some(Frame::Line(line))) => match json::parse_request(&line) {
            Ok(request) => match request.command {
                Command::Hello {
                    version: PROTOCOL_VERSION,
                    pass,
                    ..
                } if server_password.is_some_and(|wanted| pass.as_ref().is_none_or(|p| p.0 != wanted)) => (
                    ErrorCode::WrongPassword,
                    "this server needs its password in the hello's \"pass\"".to_owned(),
                ),
                Command::Hello {
                    version: PROTOCOL_VERSION,
                    nick,
                    room,
                    password,
                    pass: _,
                } => {
                    let arrival = Arrival {
                        conn,
                        nick,
                        room,
                        peer: peer.to_string(),
                        operator: false,
                        echo: false,
                        ip: Some(peer.ip()),
                        secure: false,
                        login: Login::None,
                        replay: 0,
                        lands: true,
                    };
                    return Some((arrival, password));
                }
                Command::Hello { version, .. } => (
                    ErrorCode::UnsupportedVersion,
                    format!("protocol version {version} is not supported; this server speaks {PROTOCOL_VERSION}"),
                ),
                _ => (ErrorCode::BadRequest, "the first frame must be a hello".to_owned()),
            },
            Err(malformed) => (ErrorCode::BadRequest, malformed.reason),
        },
    };
    let (code, message) = refusal;
    tracing::info!(%conn, message, "handshake failed");
    let error = json::render_event(&Event::Error {
        id: None,
        code,
        message,
    });
    let _ = tokio::time::timeout(SNIFF_WINDOW, writer.write_all(&error)).await;
    None
}

/// Asks a plain client for the server's password and reads its first line, which must be
/// `/pass PASSWORD`; whether it was. A client that gives another is told so.
pub async fn plain_pass<S: Source, W: AsyncWrite + Unpin>(
    frames: &mut FrameReader<S>,
    writer: &mut W,
    password: &str,
    deadline: Instant,
) -> bool {
    let ask = b"-- this server needs a password: type /pass PASSWORD\n";
    if !matches!(timeout_at(deadline, writer.write_all(ask)).await, Ok(Ok(()))) {
        return false;
    }
    let given = match timeout_at(deadline, first_frame(frames)).await {
        Ok(Some(Frame::Line(line))) => line,
        _ => return false,
    };
    let text = String::from_utf8_lossy(&given);
    let text = text.trim_end_matches('\r');
    if text.strip_prefix("/pass ") == Some(password) {
        return true;
    }
    let _ = timeout_at(deadline, writer.write_all(b"!! wrong server password\n")).await;
    false
}

/// Checks a hello's password for the account named by its nick, before the hub hears of the client.
pub async fn log_in(logins: &Logins, arrival: &Arrival, password: Option<Password>) -> Login {
    let Some(password) = password else {
        return Login::None;
    };
    let Some(nick) = arrival.nick.clone() else {
        return Login::Failed(
            ErrorCode::BadRequest,
            "a password needs the account's nick beside it".to_owned(),
        );
    };
    match logins.verify(nick, password, arrival.ip).await {
        Ok(account) => Login::Verified(account),
        Err((code, why)) => Login::Failed(code, why),
    }
}

/// The first non-empty frame, or `None` at EOF or on a read error.
async fn first_frame<S: Source>(frames: &mut FrameReader<S>) -> Option<Frame> {
    while let Some(frame) = frames.next().await {
        match frame {
            Ok(Frame::Line(line)) if line.iter().all(u8::is_ascii_whitespace) => continue,
            Ok(frame) => return Some(frame),
            Err(_) => return None,
        }
    }
    None
}
