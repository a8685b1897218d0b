//! The server: its listeners, the shared state their connections start from, and graceful shutdown.

mod admission;
mod backlog;
mod connection;
mod console;
mod fanout;
mod feed;
mod followers;
mod handshake;
mod hub_task;
mod listener;
mod outbox;
mod per_ip;
mod reader;
mod sequence;
mod session;
mod stage;
mod stream;
mod tls;
mod tls_stream;
mod writer;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub use admission::{EdgeLimits, MAX_CLOSING_REFUSALS, REFUSAL_LINGER};
pub use console::CONSOLE_CONN;
pub use handshake::SNIFF_WINDOW;
pub use hub_task::HUB_INBOX_CAPACITY;
pub use listener::{
    ACCEPT_BACKOFF, KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_PROBES, LISTEN_BACKLOG, UNACKED_TIMEOUT,
};
pub use per_ip::{MAX_IDLE_ENTRIES, PerIpLimits, RATE_WINDOW};
pub use session::FLUSH_GRACE;
pub use tls::TlsFiles;

use crate::hub::{Hub, HubConfig, Input};
use crate::names::Nick;
use crate::scheme::Listener;
use admission::Admission;
use connection::Shared;
use fanout::Fanout;
use hub_task::HubMessage;
use listener::Bound;
use per_ip::IpTable;
use sequence::Published;
use tls::Certificates;

/// How long shutdown waits for sessions to flush before giving up on them.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: Vec<Listener>,
    /// The certificate chain and key every TLS listener serves.
    pub tls: Option<TlsFiles>,
    /// The per-IP limits at the accept edge.
    pub edge: EdgeLimits,
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
    listeners: Vec<Bound>,
    certificates: Option<Arc<Certificates>>,
}

impl Server {
    pub async fn bind(config: ServerConfig) -> anyhow::Result<Server> {
        let certificates = match (&config.tls, config.listen.iter().find(|l| l.scheme.tls())) {
            (Some(files), _) => Some(Arc::new(Certificates::load(files.clone())?)),
            (None, Some(listener)) => bail!("{listener} needs --tls-cert FILE and --tls-key FILE"),
            (None, None) => None,
        };
        let mut listeners = Vec::new();
        for listener in &config.listen {
            let bound = listener::bind(listener.scheme, listener.addr)
                .with_context(|| format!("cannot listen on {listener}"))?;
            listeners.push(bound);
        }
        Ok(Server {
            config,
            listeners,
            certificates,
        })
    }

    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.socket.local_addr().ok())
            .collect()
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
        if let Some(certificates) = &self.certificates {
            tracker.spawn(tls::reload_on_hangup(certificates.clone(), shutdown.clone()));
        }
        let admission = Admission {
            shared: Shared {
                hub: hub_tx.clone(),
                published,
                limits: self.config.limits,
                certificates: self.certificates.clone(),
            },
            exempt: Arc::new(self.config.edge.exempt.clone()),
            per_ip: Arc::new(Mutex::new(IpTable::new(self.config.edge.per_ip))),
            slots: Arc::new(Semaphore::new(self.config.max_connections)),
            closing: Arc::new(Semaphore::new(admission::MAX_CLOSING_REFUSALS)),
            next_conn: Arc::new(AtomicU64::new(CONSOLE_CONN.0 + 1)),
            tracker: tracker.clone(),
        };
        for bound in self.listeners {
            if let Ok(addr) = bound.socket.local_addr() {
                info!(
                    "listening on {}",
                    Listener {
                        scheme: bound.scheme,
                        addr
                    }
                );
            }
            tracker.spawn(listener::accept_loop(bound, admission.clone(), shutdown.clone()));
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
