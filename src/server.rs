//! The TCP server: listeners, the accept loops, the connection limit, and graceful shutdown.

mod backlog;
mod console;
mod fanout;
mod feed;
mod flood;
mod followers;
mod handshake;
mod hub_task;
mod liveness;
mod outbox;
mod pacing;
mod reader;
mod sequence;
mod session;
mod stage;
mod unfinished;
mod writer;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub use console::CONSOLE_CONN;
pub use flood::FloodPolicy;
pub use handshake::SNIFF_WINDOW;
pub use hub_task::HUB_INBOX_CAPACITY;
pub use reader::budget_for_frame;
pub use session::FLUSH_GRACE;
pub use unfinished::FREE_FRAME_BYTES;

use crate::hub::{Arrival, Hub, HubConfig, Input};
use crate::names::{ConnId, Nick};
use crate::transport::WireMode;
use crate::transport::line::LineCodec;
use fanout::Fanout;
use hub_task::HubMessage;
use reader::FrameReader;
use sequence::Published;
use session::Registered;
use unfinished::FrameBudget;

/// How many connections the kernel may hold for the accept loop (the OS caps it at net.core.somaxconn).
pub const LISTEN_BACKLOG: u32 = 4096;
/// How long shutdown waits for sessions to flush before giving up on them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long the accept loop rests after a failed accept (out of file descriptors, say).
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: Vec<SocketAddr>,
    /// The most clients connected at once; more are turned away with a line saying so.
    pub max_connections: usize,
    /// Whether the operator chats through the console (stdin and stdout).
    pub console: bool,
    /// The operator's nick, which nobody else may take, console or not.
    pub operator_nick: Nick,
    /// The most rooms there may be at once.
    pub max_rooms: usize,
    pub limits: Limits,
}

/// Per-connection bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest message text, in bytes.
    pub max_message: usize,
    /// How many bytes of its own events may wait for a client that does not read before it is
    /// disconnected.
    pub max_queued: usize,
    /// How many bytes of a room's messages a client may leave unread before it is disconnected.
    pub max_backlog: usize,
    /// How long a structured client has from connecting to finish its hello.
    pub handshake_timeout: Duration,
    /// Rooms larger than this keep joins, parts, quits and renames to the person concerned.
    pub presence_limit: usize,
    /// The shortest time between two writes to one client; what arrives meanwhile is written together.
    pub write_interval: Duration,
    /// Each client's flood budget; `None` with flood control off.
    pub flood: Option<FloodPolicy>,
    /// The bytes all unfinished frames may hold together, beyond `FREE_FRAME_BYTES` each.
    pub max_unfinished: usize,
    /// How long the rest of a frame may take to arrive once it has begun.
    pub frame_timeout: Duration,
    /// How long a structured client may stay silent before it is pinged.
    pub ping_after: Duration,
    /// How long a pinged client has to answer before it is dropped.
    pub ping_timeout: Duration,
}

impl Limits {
    /// How often to look for silent sessions: often enough that a dead one goes within a few
    /// seconds of its time.
    fn sweep_interval(&self) -> Duration {
        (self.ping_after.min(self.ping_timeout) / 4).clamp(Duration::from_millis(100), Duration::from_secs(5))
    }

    /// How a client's session is paced.
    fn pace(&self) -> session::Pace {
        session::Pace {
            write_interval: self.write_interval,
            flood: self.flood,
        }
    }
}

pub struct Server {
    config: ServerConfig,
    listeners: Vec<TcpListener>,
}

impl Server {
    pub async fn bind(config: ServerConfig) -> anyhow::Result<Server> {
        let mut listeners = Vec::new();
        for addr in &config.listen {
            listeners.push(listen(*addr).with_context(|| format!("cannot listen on {addr}"))?);
        }
        Ok(Server { config, listeners })
    }

    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.iter().filter_map(|l| l.local_addr().ok()).collect()
    }

    /// Serves until `shutdown` is cancelled, then says goodbye to every client and returns. If the hub
    /// task ends first (it panicked), it returns that as an error at once: the process should exit,
    /// which closes every connection, so that a supervisor can start it again.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let hub = Hub::new(HubConfig {
            server: format!("sockchat {}", env!("CARGO_PKG_VERSION")),
            max_message: self.config.limits.max_message,
            presence_limit: self.config.limits.presence_limit,
            max_rooms: self.config.max_rooms,
            operator_nick: self.config.operator_nick.clone(),
        });
        let (hub_tx, hub_rx) = mpsc::channel(HUB_INBOX_CAPACITY);
        let published = Arc::new(Published::default());
        let fanout = Fanout::new(published.clone(), self.config.limits);
        let mut hub_task = tokio::spawn(hub_task::run(hub, hub_rx, fanout));
        tokio::spawn(hub_task::tick(hub_tx.clone(), self.config.limits.sweep_interval()));
        let tracker = TaskTracker::new();
        if self.config.console {
            let (nick, limits) = (self.config.operator_nick.clone(), self.config.limits);
            tracker.spawn(console::serve(nick, limits, hub_tx.clone(), published.clone()));
        }
        let limits = self.config.limits;
        let admission = Admission {
            hub: hub_tx.clone(),
            published,
            limits: self.config.limits,
            slots: Arc::new(Semaphore::new(self.config.max_connections)),
            frame_budget: Arc::new(FrameBudget::new(limits.max_unfinished, limits.frame_timeout)),
            pace: Arc::new(limits.pace()),
            next_conn: Arc::new(AtomicU64::new(CONSOLE_CONN.0 + 1)),
            tracker: tracker.clone(),
        };
        for listener in self.listeners {
            if let Ok(addr) = listener.local_addr() {
                info!(target: "sockchat::server::listening", "listening on {addr}");
            }
            tracker.spawn(accept_loop(listener, admission.clone(), shutdown.clone()));
        }
        until_shutdown(&shutdown, &mut hub_task).await?;
        info!("shutting down");
        let _ = hub_tx.send(HubMessage::Inputs(vec![Input::Shutdown])).await;
        drop((hub_tx, admission));
        let _ = hub_task.await;
        tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait()).await.is_err() {
            warn!("some sessions did not finish within {SHUTDOWN_GRACE:?}");
        }
        Ok(())
    }
}

/// Waits for `shutdown`; an error if the hub task, which the server cannot live without, ends first.
async fn until_shutdown(shutdown: &CancellationToken, hub_task: &mut JoinHandle<()>) -> anyhow::Result<()> {
    let ended = tokio::select! {
        () = shutdown.cancelled() => return Ok(()),
        ended = hub_task => ended,
    };
    let why = match ended {
        Ok(()) => "it returned".to_owned(),
        Err(e) if e.is_panic() => match e.into_panic().downcast::<String>() {
            Ok(message) => format!("it panicked: {message}"),
            Err(payload) => match payload.downcast::<&str>() {
                Ok(message) => format!("it panicked: {message}"),
                Err(_) => "it panicked".to_owned(),
            },
        },
        Err(e) => e.to_string(),
    };
    anyhow::bail!("the hub task ended ({why}); the server stopped")
}

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// What the accept loops need to start a session.
#[derive(Clone)]
struct Admission {
    hub: mpsc::Sender<HubMessage>,
    published: Arc<Published>,
    limits: Limits,
    slots: Arc<Semaphore>,
    frame_budget: Arc<FrameBudget>,
    /// Shared by every session, so that none keeps a copy.
    pace: Arc<session::Pace>,
    next_conn: Arc<AtomicU64>,
    tracker: TaskTracker,
}

async fn accept_loop(listener: TcpListener, admission: Admission, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => admission.admit(stream, peer),
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

impl Admission {
    fn admit(&self, stream: TcpStream, peer: SocketAddr) {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            // Best effort: a full server does not wait on the refused client.
            let _ = stream.try_write(b"!! the server is full; try again later\n");
            warn!(%peer, "refused: the server is full");
            return;
        };
        let conn = ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed));
        info!(%conn, %peer, "connected");
        let greeting = Box::pin(greet(
            stream,
            peer,
            conn,
            self.limits,
            self.hub.clone(),
            self.published.clone(),
            self.frame_budget.clone(),
        ));
        let hub = self.hub.clone();
        self.tracker.spawn(serve_tcp(greeting, hub, self.pace.clone(), slot));
    }
}

/// One TCP client, from its first byte to its last. The greeting (sniff, hello, registration) is
/// boxed by the caller so that what it holds is freed before the session, which may last for days.
async fn serve_tcp(
    greeting: Pin<Box<impl Future<Output = Option<Greeted>>>>,
    hub: mpsc::Sender<HubMessage>,
    pace: Arc<session::Pace>,
    _slot: OwnedSemaphorePermit,
) {
    // Built in one expression so the greeting's parts are not kept beside the session that owns them.
    let serving = match greeting.await {
        Some(Greeted {
            session,
            frames,
            writer,
        }) => session::serve(session, frames, writer, hub, pace),
        None => return,
    };
    serving.await;
}

/// A connection whose mode is known, whose hello (if structured) was read, and that the hub knows.
struct Greeted {
    session: Registered,
    frames: FrameReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

async fn greet(
    stream: TcpStream,
    peer: SocketAddr,
    conn: ConnId,
    limits: Limits,
    hub: mpsc::Sender<HubMessage>,
    published: Arc<Published>,
    frame_budget: Arc<FrameBudget>,
) -> Option<Greeted> {
    let deadline = Instant::now() + limits.handshake_timeout;
    let _ = stream.set_nodelay(true);
    let mode = handshake::sniff(&stream).await?;
    let (reader, mut writer) = stream.into_split();
    let codec = LineCodec::new(mode.max_frame_bytes(limits.max_message));
    let mut frames = FrameReader::new(reader, codec, frame_budget);
    let arrival = match mode {
        WireMode::Text => Arrival {
            conn,
            nick: None,
            room: None,
            peer: peer.to_string(),
            operator: false,
            echo: true,
        },
        WireMode::Json => match handshake::hello(&mut frames, &mut writer, conn, peer, deadline).await {
            Some(arrival) => arrival,
            None => {
                let _ = writer.shutdown().await;
                return None;
            }
        },
    };
    let session = session::register(arrival, mode, &hub, limits.max_queued, &published).await?;
    Some(Greeted {
        session,
        frames,
        writer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hub_task_that_dies_is_an_error_and_shutdown_is_not() {
        let shutdown = CancellationToken::new();
        let mut dying = tokio::spawn(async { panic!("boom") });
        let error = until_shutdown(&shutdown, &mut dying).await.unwrap_err();
        assert_eq!(
            error.to_string(),
            "the hub task ended (it panicked: boom); the server stopped"
        );

        let mut living = tokio::spawn(std::future::pending::<()>());
        shutdown.cancel();
        assert!(until_shutdown(&shutdown, &mut living).await.is_ok());
    }
}
