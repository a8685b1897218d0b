//! The server: its listeners, the shared state their connections start from, and graceful shutdown.

mod admission;
mod backlog;
mod commit;
mod connection;
mod console;
mod fanout;
mod feed;
mod flood;
mod followers;
mod handshake;
mod hub_task;
mod irc;
mod listener;
mod liveness;
mod logins;
mod metrics;
mod outbox;
mod pacing;
mod per_ip;
mod reader;
mod sequence;
mod session;
mod stage;
mod store_requests;
mod stray_http;
mod stream;
mod tls;
mod tls_stream;
mod unfinished;
mod web;
mod writer;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

pub use admission::{EdgeLimits, MAX_CLOSING_REFUSALS, REFUSAL_LINGER};
pub use commit::APPENDS_IN_FLIGHT;
pub use console::CONSOLE_CONN;
pub use flood::FloodPolicy;
pub use handshake::SNIFF_WINDOW;
pub use hub_task::HUB_INBOX_CAPACITY;
pub use listener::{
    ACCEPT_BACKOFF, KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_PROBES, LISTEN_BACKLOG, UNACKED_TIMEOUT,
};
pub use logins::{FAILURES_TRACKED_MAX, FREE_FAILURES_PER_ACCOUNT, FREE_FAILURES_PER_IP, LOCKOUT_FIRST, LOCKOUT_MAX};
pub use per_ip::{MAX_IDLE_ENTRIES, PerIpLimits, RATE_WINDOW};
pub use reader::budget_for_frame;
pub use session::FLUSH_GRACE;
pub use tls::TlsFiles;
pub use unfinished::FREE_FRAME_BYTES;

use crate::hub::{Hub, HubConfig, Input, Restored};
use crate::names::Nick;
use crate::scheme::{Listener, Protocol};
use crate::store::{SqliteStore, Store, StoreOptions};
use admission::Admission;
use commit::Commits;
use connection::Shared;
use fanout::Fanout;
use hub_task::{HubMessage, HubTask};
use listener::Bound;
use logins::Logins;
use per_ip::IpTable;
use sequence::Published;
use store_requests::StoreRequests;
use tls::Certificates;
use unfinished::FrameBudget;
pub use web::origin::{AllowedOrigin, OriginPolicy};
pub use web::{HTTP_CONNECTION_LIFETIME, MAX_REQUEST_HEAD_BYTES, WebConfig};

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
    /// Whether the operator chats through the console (stdin and stdout).
    pub console: bool,
    /// The operator's nick, which nobody else may take, console or not.
    pub operator_nick: Nick,
    /// The most rooms there may be at once.
    pub max_rooms: usize,
    /// Where messages, rooms, accounts and bans are kept (in memory, with no path).
    pub store: StoreOptions,
    /// Which pages, beside the server's own, may open its WebSocket.
    pub web_origins: OriginPolicy,
    pub limits: Limits,
    /// The password every client must give before the hub hears of it (IRC's PASS, the hello's
    /// `pass`, plain text's `/pass`), if any.
    pub server_password: Option<String>,
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
    /// How long a client has from connecting to finish its TLS handshake and (if structured) its hello.
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
    listeners: Vec<Bound>,
    certificates: Option<Arc<Certificates>>,
    store: Arc<dyn Store>,
}

impl Server {
    pub async fn bind(config: ServerConfig) -> anyhow::Result<Server> {
        let certificates = match (&config.tls, config.listen.iter().find(|l| l.scheme.tls())) {
            (Some(files), _) => Some(Arc::new(Certificates::load(files.clone())?)),
            (None, Some(listener)) => bail!("{listener} needs --tls-cert FILE and --tls-key FILE"),
            (None, None) => None,
        };
        let store: Arc<dyn Store> = match SqliteStore::open(&config.store) {
            Ok(store) => Arc::new(store),
            Err(e) => match &config.store.path {
                Some(path) => bail!("cannot open the database {}: {e}", path.display()),
                None => bail!("cannot open the in-memory store: {e}"),
            },
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
            store,
        })
    }

    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.socket.local_addr().ok())
            .collect()
    }

    /// Serves until `shutdown` is cancelled, then says goodbye to every client and returns. If the hub
    /// task ends first (it panicked), it returns that as an error at once: the process should exit,
    /// which closes every connection, so that a supervisor can start it again.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut hub = Hub::new(HubConfig {
            server: format!("sockchat {}", env!("CARGO_PKG_VERSION")),
            max_message: self.config.limits.max_message,
            presence_limit: self.config.limits.presence_limit,
            max_rooms: self.config.max_rooms,
            operator_nick: self.config.operator_nick.clone(),
        });
        let store = self.store.clone();
        let (restored, last_message) = restore(store.as_ref()).await?;
        hub.restore(restored);
        let (hub_tx, hub_rx) = mpsc::channel(HUB_INBOX_CAPACITY);
        let published = Arc::new(Published::default());
        let logins = Logins::new(store.clone());
        let task = HubTask {
            hub,
            fanout: Fanout::new(published.clone(), self.config.limits, last_message),
            commits: Commits::new(store),
            store_requests: StoreRequests::new(logins.clone()),
        };
        let mut hub_task = tokio::spawn(hub_task::run(task, hub_rx));
        tokio::spawn(hub_task::tick(hub_tx.clone(), self.config.limits.sweep_interval()));
        let tracker = TaskTracker::new();
        if self.config.console {
            let (nick, limits) = (self.config.operator_nick.clone(), self.config.limits);
            tracker.spawn(console::serve(nick, limits, hub_tx.clone(), published.clone()));
        }
        if let Some(certificates) = &self.certificates {
            tracker.spawn(tls::reload_on_hangup(certificates.clone(), shutdown.clone()));
        }
        let limits = self.config.limits;
        let admission = Admission {
            shared: Shared {
                hub: hub_tx.clone(),
                published,
                limits,
                certificates: self.certificates.clone(),
                frame_budget: Arc::new(FrameBudget::new(limits.max_unfinished, limits.frame_timeout)),
                pace: Arc::new(limits.pace()),
                logins,
                server_password: self.config.server_password.clone().map(Arc::new),
                irc_at: irc_at(&self.listeners),
                web: Arc::new(WebConfig {
                    origins: self.config.web_origins.clone(),
                    listeners: bound_listeners(&self.listeners, Protocol::Http),
                }),
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
                    target: "sockchat::server::listening",
                    "listening on {}",
                    Listener {
                        scheme: bound.scheme,
                        addr
                    }
                );
            }
            tracker.spawn(listener::accept_loop(bound, admission.clone(), shutdown.clone()));
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

/// The listeners of `protocol` as bound (with the ports port 0 was given).
fn bound_listeners(listeners: &[Bound], protocol: Protocol) -> Vec<Listener> {
    listeners
        .iter()
        .filter(|bound| bound.scheme.protocol() == protocol)
        .filter_map(|bound| {
            let addr = bound.socket.local_addr().ok()?;
            Some(Listener {
                scheme: bound.scheme,
                addr,
            })
        })
        .collect()
}

/// Where IRC clients that came to a chat port are sent: the first IRC listener.
fn irc_at(listeners: &[Bound]) -> Option<Arc<str>> {
    let first = bound_listeners(listeners, Protocol::Irc).into_iter().next()?;
    Some(first.to_string().into())
}

/// What the store kept, for the hub to start from, and the last message id it gave.
async fn restore(store: &dyn Store) -> anyhow::Result<(Restored, Option<crate::protocol::MessageId>)> {
    let context = "cannot read the database";
    let restored = Restored {
        rooms: store.rooms().await.context(context)?,
        accounts: store.accounts().await.context(context)?,
        bans: store.bans(crate::clock::now()).await.context(context)?,
    };
    let last = store.last_message_id().await.context(context)?;
    info!(
        rooms = restored.rooms.len(),
        accounts = restored.accounts.len(),
        bans = restored.bans.len(),
        "restored from the store"
    );
    Ok((restored, last))
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
