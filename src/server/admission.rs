//! Who gets in, at the accept edge, before a byte is read: the per-IP limits (unless the address is
//! exempt) and the server's connection limit. A refusal is one line and a close.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use super::connection::{self, Admitted, Shared};
use super::per_ip::{IpTable, PerIpLimits};
use crate::cidr::Exempt;
use crate::names::ConnId;
use crate::scheme::Scheme;

/// The per-IP limits and who is exempt from them.
#[derive(Debug, Clone)]
pub struct EdgeLimits {
    pub per_ip: PerIpLimits,
    pub exempt: Exempt,
}

/// What the accept loops need to let a connection in and start it.
#[derive(Clone)]
pub struct Admission {
    pub shared: Shared,
    pub exempt: Arc<Exempt>,
    pub per_ip: Arc<Mutex<IpTable>>,
    pub slots: Arc<Semaphore>,
    /// Refused connections closing gracefully, at most `MAX_CLOSING_REFUSALS`.
    pub closing: Arc<Semaphore>,
    pub next_conn: Arc<AtomicU64>,
    pub tracker: TaskTracker,
}

/// One connection counted against its address; uncounted when dropped with the connection.
pub struct IpSlot {
    table: Arc<Mutex<IpTable>>,
    ip: IpAddr,
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        if let Ok(mut table) = self.table.lock() {
            table.release(self.ip, Instant::now());
        }
    }
}

impl Admission {
    pub fn admit(&self, stream: TcpStream, peer: SocketAddr, scheme: Scheme) {
        let ip_slot = match self.count_ip(peer.ip()) {
            Ok(slot) => slot,
            Err(reason) => return refuse(stream, peer, scheme, &reason, &self.closing),
        };
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            return refuse(
                stream,
                peer,
                scheme,
                "the server is full; try again later",
                &self.closing,
            );
        };
        let conn = ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed));
        info!(%conn, %peer, %scheme, "connected");
        let admitted = Admitted {
            conn,
            peer,
            scheme,
            _slot: slot,
            _ip_slot: ip_slot,
        };
        self.tracker
            .spawn(connection::serve(stream, admitted, self.shared.clone()));
    }

    /// `None` for an exempt address, which is not counted at all.
    fn count_ip(&self, ip: IpAddr) -> Result<Option<Box<IpSlot>>, String> {
        if self.exempt.covers(ip) {
            return Ok(None);
        }
        let mut table = self
            .per_ip
            .lock()
            .map_err(|_| "the server cannot count connections".to_owned())?;
        table.admit(ip, Instant::now()).map_err(|refusal| refusal.to_string())?;
        // Boxed: every connection's future holds it for as long as the connection lasts.
        Ok(Some(Box::new(IpSlot {
            table: self.per_ip.clone(),
            ip,
        })))
    }
}

/// How many refused connections may be closing gracefully at once; past it they are closed at once.
pub const MAX_CLOSING_REFUSALS: usize = 256;
/// How long a refused connection is kept to let its line arrive before the close.
pub const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// One clear line and a close. Best effort: the refused client is not waited on. A TLS client could
/// not read a line in the clear, so it is only closed.
fn refuse(stream: TcpStream, peer: SocketAddr, scheme: Scheme, reason: &str, closing: &Arc<Semaphore>) {
    if !scheme.tls() {
        let _ = stream.try_write(format!("!! {reason}\n").as_bytes());
    }
    warn!(%peer, "refused: {reason}");
    if let Ok(permit) = closing.clone().try_acquire_owned() {
        tokio::spawn(linger(stream, permit));
    }
}

/// Closing a socket with unread input resets it, and a reset can take the line with it before the
/// client has read it (a structured client sends its hello at once): so the server says it is done
/// writing and reads (and drops) what the client sends until it closes too, for `REFUSAL_LINGER`.
async fn linger(mut stream: TcpStream, _permit: OwnedSemaphorePermit) {
    let draining = async {
        let _ = stream.shutdown().await;
        let mut discard = [0u8; 512];
        while matches!(stream.read(&mut discard).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(REFUSAL_LINGER, draining).await;
}
