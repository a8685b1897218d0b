//! The operator console: the person at the server chats over stdin and stdout as a privileged session.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::Limits;
use super::hub_task::HubMessage;
use super::reader::FrameReader;
use super::sequence::Published;
use super::session;
use super::unfinished::FrameBudget;
use crate::hub::{Arrival, JOIN_HISTORY_PLAIN, Login};
use crate::names::{ConnId, Nick};
use crate::transport::WireMode;
use crate::transport::line::LineCodec;

/// The console's connection number; clients count from 1.
pub const CONSOLE_CONN: ConnId = ConnId(0);

/// Serves the console until stdin ends or the server shuts down.
pub async fn serve(nick: Nick, limits: Limits, hub: mpsc::Sender<HubMessage>, published: Arc<Published>) {
    let mode = WireMode::Text;
    let frames = FrameReader::new(
        tokio::io::stdin(),
        LineCodec::new(mode.max_frame_bytes(limits.max_message)),
        Arc::new(FrameBudget::unbounded()),
    );
    let arrival = Arrival {
        conn: CONSOLE_CONN,
        nick: Some(nick),
        room: None,
        peer: "the console".to_owned(),
        operator: true,
        echo: true,
        ip: None,
        secure: true,
        login: Login::None,
        replay: JOIN_HISTORY_PLAIN,
        lands: true,
    };
    let registering = session::register(arrival, mode, &hub, limits.max_queued, &published);
    let Some(session) = Box::pin(registering).await else {
        return;
    };
    // The operator is exempt from flood control.
    let pace = Arc::new(session::Pace {
        write_interval: limits.write_interval,
        flood: None,
    });
    session::serve(session, frames, tokio::io::stdout(), hub, pace).await;
}
