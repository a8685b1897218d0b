//! An IRC connection: registration (CAP, PASS, NICK, USER, SASL) read and answered here, the
//! password checked, the nick asked of the hub until it is free; then a session like any other, in
//! `WireMode::Irc` with the capabilities negotiated.

use std::future::Future;
use std::net::SocketAddr;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};
use tracing::info;

use super::connection::{Admitted, GOODBYE_GRACE, Greeted, Shared, goodbye, serve_greeted};
use super::reader::FrameReader;
use super::session::{self, Chosen};
use super::stream::ChatStream;
use crate::hub::{Arrival, Login};
use crate::names::ConnId;
use crate::protocol::ErrorCode;
use crate::transport::WireMode;
use crate::transport::irc::message::{MAX_LINE_BYTES, Message};
use crate::transport::irc::registration::{Registration, Step, from_server};
use crate::transport::irc::render::written;
use crate::transport::irc::user_modes::UserModes;
use crate::transport::line::{Frame, LineCodec};

/// The line a chat port sends an IRC client before closing: where IRC is, if anywhere.
pub fn elsewhere(irc_at: Option<&str>) -> String {
    let words = match irc_at {
        Some(at) => format!("This is a sockchat chat port, not IRC; IRC is served at {at}"),
        None => "This is a sockchat chat port, not IRC; this server serves no IRC port".to_owned(),
    };
    written(&Message::new("ERROR", &[&words]))
}

/// Registers an IRC client, then serves it. Not an `async fn`, so what a session keeps for days is
/// only what it needs (the registration is boxed and freed first).
pub fn serve<C: ChatStream>(
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
    let registering = Box::pin(register(stream, conn, (peer, secure), shared, deadline));
    serve_greeted(registering, hub, pace, (_slot, _ip_slot), false)
}

async fn register<C: ChatStream>(
    stream: C,
    conn: ConnId,
    (peer, secure): (SocketAddr, bool),
    shared: Shared,
    deadline: Instant,
) -> Option<Greeted<C>> {
    let (reader, mut writer) = stream.split();
    let codec = LineCodec::new(MAX_LINE_BYTES);
    let mut frames = FrameReader::new(reader, codec, shared.frame_budget.clone());
    let mut registration = Registration::default();
    let mut login = Login::None;
    let mut out = Vec::new();
    loop {
        let frame = match timeout_at(deadline, frames.next()).await {
            Err(_elapsed) => {
                info!(%conn, "no IRC registration in time");
                close(&mut writer, deadline, "Registration timed out").await;
                return None;
            }
            Ok(None | Some(Err(_))) => return None,
            Ok(Some(Ok(frame))) => frame,
        };
        let mut step = match frame {
            Frame::TooLong => {
                out.push(from_server("417", &["*", "Input line was too long"]));
                Step::Continue
            }
            Frame::Line(line) => match Message::parse(&line) {
                Ok(message) => registration.feed(&message, &mut out),
                Err(_) => Step::Continue,
            },
        };
        if let Step::Verify { account, password } = step {
            step = match shared.logins.verify(account, password, Some(peer.ip())).await {
                Ok(account) if secure => {
                    let name = account.name.clone();
                    login = Login::Verified(account);
                    registration.logged_in(name, &mut out)
                }
                _ => registration.login_failed(&mut out),
            };
        }
        if !send(&mut writer, &mut out, deadline).await {
            return None;
        }
        match step {
            Step::Continue | Step::Verify { .. } => continue,
            Step::Quit => {
                close(&mut writer, deadline, "Quit").await;
                return None;
            }
            Step::Ready => {}
        }
        if let Some(password) = &shared.server_password
            && registration.pass.as_deref() != Some(password.as_str())
        {
            let me = registration.nick.as_ref().map_or("*", |n| n.as_str());
            out.push(from_server("464", &[me, "Password incorrect"]));
            let _ = send(&mut writer, &mut out, deadline).await;
            close(&mut writer, deadline, "Bad password").await;
            return None;
        }
        let arrival = Arrival {
            conn,
            nick: registration.nick.clone(),
            room: None,
            peer: peer.to_string(),
            operator: false,
            echo: false,
            ip: Some(peer.ip()),
            secure,
            login: login.clone(),
            replay: 0,
            lands: false,
        };
        let mode = WireMode::Irc(registration.caps, UserModes::default());
        let limits = shared.limits;
        match session::register_choosing(arrival, mode, &shared.hub, limits.max_queued, &shared.published).await? {
            Chosen::In(session) => {
                return Some(Greeted {
                    session,
                    frames,
                    writer,
                });
            }
            Chosen::Refused((code, _why)) => {
                registration.nick_refused(code == ErrorCode::NickTaken, &mut out);
                if !send(&mut writer, &mut out, deadline).await {
                    return None;
                }
            }
        }
    }
}

/// Writes the replies gathered, within the registration's deadline; whether they were written.
async fn send<W: AsyncWrite + Unpin>(writer: &mut W, out: &mut Vec<Message>, deadline: Instant) -> bool {
    if out.is_empty() {
        return true;
    }
    let text: String = out.drain(..).map(|m| written(&m)).collect();
    matches!(
        timeout_at(deadline, writer.write_all(text.as_bytes())).await,
        Ok(Ok(()))
    )
}

/// Says ERROR and closes.
async fn close<W: AsyncWrite + Unpin>(writer: &mut W, deadline: Instant, why: &str) {
    let line = written(&Message::new("ERROR", &[&format!("Closing link: {why}")]));
    let _ = timeout_at(
        deadline.max(Instant::now()) + GOODBYE_GRACE,
        goodbye(writer, line.as_bytes()),
    )
    .await;
}
