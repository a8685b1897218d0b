//! The connection behind the full-screen client: pass events to the app and its requests to the
//! server, and after a drop reconnect with doubling waits.

use std::time::Duration;

use tokio::sync::mpsc;

use super::app::Msg;
use crate::client::{Connection, Dialer, Hello};
use crate::protocol::Request;

/// The first wait before reconnecting; it doubles after each failure up to `MAX_RETRY`.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);
pub const MAX_RETRY: Duration = Duration::from_secs(30);

/// How a connection ended.
enum Ended {
    /// The app has gone: stop.
    AppGone,
    Lost(String),
}

/// Runs `first`, the connection that worked, then reconnects whenever it drops; until the app drops its
/// end of `requests` or of `msgs`.
pub async fn run(
    first: Connection,
    addr: Dialer,
    hello: Hello,
    mut requests: mpsc::Receiver<Request>,
    msgs: mpsc::Sender<Msg>,
) {
    let mut retry = FIRST_RETRY;
    let mut first = Some(first);
    loop {
        let connecting = match first.take() {
            Some(connection) => Ok(connection),
            None => Connection::connect(&addr, hello.clone()).await,
        };
        let ended = match connecting {
            Ok(connection) => {
                retry = FIRST_RETRY;
                if msgs.send(Msg::Connected(connection.welcome.clone())).await.is_err() {
                    return;
                }
                serve(connection, &mut requests, &msgs).await
            }
            Err(e) => Ended::Lost(format!("{e:#}")),
        };
        let Ended::Lost(reason) = ended else { return };
        // What was queued for the lost connection is resent by the app once it hears of the new one.
        while requests.try_recv().is_ok() {}
        if msgs
            .send(Msg::Disconnected {
                reason,
                retry_in: retry,
            })
            .await
            .is_err()
        {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(retry) => {}
            closed = wait_closed(&mut requests) => if closed { return },
        }
        retry = (retry * 2).min(MAX_RETRY);
    }
}

/// While disconnected, requests are dropped (the app resends them); returns true when the app is gone.
async fn wait_closed(requests: &mut mpsc::Receiver<Request>) -> bool {
    while requests.recv().await.is_some() {}
    true
}

async fn serve(connection: Connection, requests: &mut mpsc::Receiver<Request>, msgs: &mpsc::Sender<Msg>) -> Ended {
    let Connection {
        mut events,
        mut commands,
        ..
    } = connection;
    loop {
        tokio::select! {
            event = events.next_event() => match event {
                Ok(Some(event)) => {
                    if msgs.send(Msg::Server(event)).await.is_err() {
                        return Ended::AppGone;
                    }
                }
                Ok(None) => return Ended::Lost("the server closed the connection".to_owned()),
                Err(e) => return Ended::Lost(e.to_string()),
            },
            request = requests.recv() => match request {
                Some(request) => {
                    if let Err(e) = commands.send_request(&request).await {
                        return Ended::Lost(e.to_string());
                    }
                }
                None => {
                    let _ = commands.finish().await;
                    return Ended::AppGone;
                }
            },
        }
    }
}
