//! The TCP server: listeners, the accept loops, the connection limit, and graceful shutdown.

mod backlog;
mod console;
mod fanout;
mod feed;
mod followers;
mod handshake;
mod hub_task;
mod outbox;
mod reader;
mod sequence;
mod session;
mod stage;
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
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub use console::CONSOLE_CONN;
pub use handshake::SNIFF_WINDOW;
pub use hub_task::HUB_INBOX_CAPACITY;
pub use session::FLUSH_GRACE;

use crate::hub::{Arrival, Hub, HubConfig, Input};
use crate::names::{ConnId, Nick};
use crate::transport::WireMode;
use crate::transport::line::LineCodec;
use fanout::Fanout;
use hub_task::HubMessage;
use reader::FrameReader;
use sequence::Published;
use session::Registered;

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
    /// The operator console's nick, when the console is on.
    pub console: Option<Nick>,
    pub limits: Limits,
}

/// Per-connection bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest message text, in bytes.
    pub max_message: usize,
    /// How many events of its own may wait for a client that does not read before it is disconnected.
    pub max_queued: usize,
    /// How many bytes of a room's messages a client may leave unread before it is disconnected.
    pub max_backlog: usize,
    /// How long a structured client has from connecting to finish its hello.
    pub handshake_timeout: Duration,
    /// Rooms larger than this keep joins, parts, quits and renames to the person concerned.
    pub presence_limit: usize,
    /// The shortest time between two writes to one client; what arrives meanwhile is written together.
    pub write_interval: Duration,
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

    /// Serves until `shutdown` is cancelled, then says goodbye to every client and returns.
    pub async fn run(self, shutdown: CancellationToken) {
        let hub = Hub::new(HubConfig {
            server: format!("sockchat {}", env!("CARGO_PKG_VERSION")),
            max_message: self.config.limits.max_message,
            presence_limit: self.config.limits.presence_limit,
        });
        let (hub_tx, hub_rx) = mpsc::channel(HUB_INBOX_CAPACITY);
        let published = Arc::new(Published::default());
        let fanout = Fanout::new(published.clone(), self.config.limits);
        let hub_task = tokio::spawn(hub_task::run(hub, hub_rx, fanout));
        let tracker = TaskTracker::new();
        if let Some(nick) = self.config.console.clone() {
            let limits = self.config.limits;
            tracker.spawn(console::serve(nick, limits, hub_tx.clone(), published.clone()));
        }
        let admission = Admission {
            hub: hub_tx.clone(),
            published,
            limits: self.config.limits,
            slots: Arc::new(Semaphore::new(self.config.max_connections)),
            next_conn: Arc::new(AtomicU64::new(CONSOLE_CONN.0 + 1)),
            tracker: tracker.clone(),
        };
        for listener in self.listeners {
            if let Ok(addr) = listener.local_addr() {
                info!(target: "sockchat::server::listening", "listening on {addr}");
            }
            tracker.spawn(accept_loop(listener, admission.clone(), shutdown.clone()));
        }
        shutdown.cancelled().await;
        info!("shutting down");
        let _ = hub_tx.send(HubMessage::Inputs(vec![Input::Shutdown])).await;
        drop((hub_tx, admission));
        let _ = hub_task.await;
        tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait()).await.is_err() {
            warn!("some sessions did not finish within {SHUTDOWN_GRACE:?}");
        }
    }
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
        ));
        let hub = self.hub.clone();
        self.tracker
            .spawn(serve_tcp(greeting, hub, self.limits.write_interval, slot));
    }
}

/// One TCP client, from its first byte to its last. The greeting (sniff, hello, registration) is
/// boxed by the caller so that what it holds is freed before the session, which may last for days.
async fn serve_tcp(
    greeting: Pin<Box<impl Future<Output = Option<Greeted>>>>,
    hub: mpsc::Sender<HubMessage>,
    write_interval: Duration,
    _slot: OwnedSemaphorePermit,
) {
    // Built in one expression so the greeting's parts are not kept beside the session that owns them.
    let serving = match greeting.await {
        Some(Greeted {
            session,
            frames,
            writer,
        }) => session::serve(session, frames, writer, hub, write_interval),
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
) -> Option<Greeted> {
    let deadline = Instant::now() + limits.handshake_timeout;
    let _ = stream.set_nodelay(true);
    let mode = handshake::sniff(&stream).await?;
    let (reader, mut writer) = stream.into_split();
    let mut frames = FrameReader::new(reader, LineCodec::new(mode.max_frame_bytes(limits.max_message)));
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
