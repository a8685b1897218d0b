//! One connection's life once its wire mode is known: register with the hub, then read requests and
//! write events at the same time until either side ends.

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWrite;
use tokio::sync::mpsc;
use tracing::{debug, info};

use super::hub_task::{HubMessage, Link};
use super::outbox::Outbox;
use super::reader::{FrameReader, Source};
use super::writer::write_queued;
use crate::hub::{Arrival, Input};
use crate::names::ConnId;
use crate::protocol::{Command, ErrorCode};
use crate::transport::line::Frame;
use crate::transport::{WireMode, json, text};

/// How long queued output may take to drain after the client stopped sending.
pub const FLUSH_GRACE: Duration = Duration::from_secs(5);

/// Serves one registered session. Returns when both directions are finished.
pub async fn serve<S, W>(
    arrival: Arrival,
    mode: WireMode,
    frames: FrameReader<S>,
    writer: W,
    hub: mpsc::Sender<HubMessage>,
    max_queued: usize,
) where
    S: Source,
    W: AsyncWrite + Unpin,
{
    let conn = arrival.conn;
    let outbox = Arc::new(Outbox::new(max_queued));
    let link = Link {
        outbox: outbox.clone(),
        mode,
    };
    if Box::pin(hub.send(HubMessage::Connect { arrival, link })).await.is_err() {
        return;
    }
    let writing = write_queued(outbox, writer);
    tokio::pin!(writing);
    let reason = tokio::select! {
        reason = read_requests(conn, mode, frames, &hub) => {
            disconnect(&hub, conn, reason.clone()).await;
            let _ = Box::pin(tokio::time::timeout(FLUSH_GRACE, &mut writing)).await;
            reason
        }
        written = &mut writing => {
            let reason = match written {
                Ok(()) => "closed by the server".to_owned(),
                Err(e) => e.to_string(),
            };
            disconnect(&hub, conn, reason.clone()).await;
            reason
        }
    };
    info!(%conn, reason, "session ended");
}

async fn disconnect(hub: &mpsc::Sender<HubMessage>, conn: ConnId, reason: String) {
    let _ = Box::pin(hub.send(HubMessage::Input(Input::Disconnect { conn, reason }))).await;
}

/// Passes each frame to the hub; returns why reading ended.
async fn read_requests<S: Source>(
    conn: ConnId,
    mode: WireMode,
    mut frames: FrameReader<S>,
    hub: &mpsc::Sender<HubMessage>,
) -> String {
    while let Some(frame) = frames.next().await {
        let input = match frame {
            Ok(Frame::Line(line)) => decode(conn, mode, line),
            Ok(Frame::TooLong) => Some(too_long(conn)),
            Err(e) => return e.to_string(),
        };
        let Some(input) = input else { continue };
        if let Input::Reject { message, .. } = &input {
            debug!(%conn, message, "bad request");
        }
        // Boxed: a pending send is the largest state of this loop, and every idle session would
        // otherwise carry its size while it waits for bytes.
        if Box::pin(hub.send(HubMessage::Input(input))).await.is_err() {
            return "the server is shutting down".to_owned();
        }
    }
    "connection closed by the client".to_owned()
}

fn too_long(conn: ConnId) -> Input {
    let message = "that frame was longer than the server accepts and was dropped".to_owned();
    Input::Reject {
        conn,
        id: None,
        code: ErrorCode::TooLarge,
        message,
    }
}

/// One frame as hub input; `None` for a frame that asks nothing (an empty line).
fn decode(conn: ConnId, mode: WireMode, line: BytesMut) -> Option<Input> {
    let reject = |id, message| Input::Reject {
        conn,
        id,
        code: ErrorCode::BadRequest,
        message,
    };
    match mode {
        WireMode::Text => match text::parse(&line) {
            text::Typed::Request(request) => Some(Input::Request { conn, request }),
            text::Typed::Nothing => None,
            text::Typed::Invalid(why) => Some(reject(None, why)),
        },
        WireMode::Json if line.iter().all(u8::is_ascii_whitespace) => None,
        WireMode::Json => match json::parse_request(&line) {
            Ok(request) if matches!(request.command, Command::Hello { .. }) => {
                Some(reject(request.id, "already said hello".to_owned()))
            }
            Ok(request) => Some(Input::Request { conn, request }),
            Err(malformed) => Some(reject(malformed.id, malformed.reason)),
        },
    }
}
