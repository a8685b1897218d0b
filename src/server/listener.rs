//! The accept edge: binding each listener (IPv6 ones for IPv6 only, so `0.0.0.0:P` and `[::]:P`
//! work together), accepting, and the socket options every accepted connection gets (TCP keepalive).

use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, SockRef, Socket, TcpKeepalive, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::admission::Admission;
use crate::scheme::Scheme;

/// How many connections the kernel may hold for the accept loop (the OS caps it at net.core.somaxconn).
pub const LISTEN_BACKLOG: i32 = 4096;
/// How long the accept loop rests after a failed accept (out of file descriptors, say).
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// How long a connection may be silent before the kernel probes whether the peer is still there.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
/// The time between two unanswered probes.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// Unanswered probes after which the peer is taken for dead.
pub const KEEPALIVE_PROBES: u32 = 6;
/// The longest data sent may go unacknowledged before the peer is taken for dead: the same bound as
/// the probes', so a dead peer is gone within two minutes whether or not the server was writing to it.
pub const UNACKED_TIMEOUT: Duration = Duration::from_secs(120);

/// A listening socket and the scheme it serves.
pub struct Bound {
    pub scheme: Scheme,
    pub socket: TcpListener,
}

pub fn bind(scheme: Scheme, addr: SocketAddr) -> std::io::Result<Bound> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(socket2::Protocol::TCP))?;
    if addr.is_ipv6() {
        // Otherwise [::]:P also takes IPv4's P, and a listener on 0.0.0.0:P cannot be bound beside it.
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(Bound {
        scheme,
        socket: TcpListener::from_std(socket.into())?,
    })
}

/// Accepts until `shutdown`; a failed accept is logged and retried after a rest.
pub async fn accept_loop(bound: Bound, admission: Admission, shutdown: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = shutdown.cancelled() => return,
            accepted = bound.socket.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                if let Err(e) = prepare(&stream) {
                    debug!(%peer, error = %e, "cannot set the socket's options");
                }
                admission.admit(stream, peer, bound.scheme);
            }
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// The options every accepted socket gets: no Nagle delay, and keepalive so a peer that vanished
/// without a word (power cut, cable pulled) is noticed and its session ends.
fn prepare(stream: &TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let socket = SockRef::from(stream);
    let keepalive = TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL);
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "freebsd"
    ))]
    let keepalive = keepalive.with_retries(KEEPALIVE_PROBES);
    socket.set_tcp_keepalive(&keepalive)?;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    socket.set_tcp_user_timeout(Some(UNACKED_TIMEOUT))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_sockets_probe_a_silent_peer_and_give_up_on_a_dead_one() {
        let bound = bind(Scheme::Chat, "127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = bound.socket.local_addr().unwrap();
        let _client = TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = bound.socket.accept().await.unwrap();
        prepare(&accepted).unwrap();
        let socket = SockRef::from(&accepted);
        assert!(socket.keepalive().unwrap());
        assert!(accepted.nodelay().unwrap());
        #[cfg(target_os = "linux")]
        {
            assert_eq!(socket.tcp_keepalive_time().unwrap(), KEEPALIVE_IDLE);
            assert_eq!(socket.tcp_keepalive_interval().unwrap(), KEEPALIVE_INTERVAL);
            assert_eq!(socket.tcp_keepalive_retries().unwrap(), KEEPALIVE_PROBES);
            assert_eq!(socket.tcp_user_timeout().unwrap(), Some(UNACKED_TIMEOUT));
        }
    }

    #[tokio::test]
    async fn an_ipv6_listener_leaves_the_ipv4_port_free() {
        let v6 = bind(Scheme::Chat, "[::]:0".parse().unwrap()).unwrap();
        let port = v6.socket.local_addr().unwrap().port();
        assert!(SockRef::from(&v6.socket).only_v6().unwrap());
        bind(Scheme::Chat, SocketAddr::from(([0, 0, 0, 0], port))).unwrap();
    }
}
