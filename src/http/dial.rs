//! Opening a TCP connection: resolve, then race the addresses as Happy Eyeballs does (RFC 8305).

use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::http::failure::{Failure, Kind};

/// How long one attempt runs alone before the next address is tried beside it (RFC 8305 section 5).
pub const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Which address families may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Family {
    #[default]
    Any,
    V4,
    V6,
}

/// The addresses of `host`, in the order to try them: families alternating, starting with the
/// resolver's first choice.
pub fn resolve(host: &str, port: u16, family: Family) -> Result<Vec<SocketAddr>, Failure> {
    let found: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => (host, port)
            .to_socket_addrs()
            .map_err(|e| Failure::new(Kind::Resolve, format!("could not resolve host {host}: {e}")))?
            .collect(),
    };
    let wanted: Vec<SocketAddr> = found
        .into_iter()
        .filter(|a| match family {
            Family::Any => true,
            Family::V4 => a.is_ipv4(),
            Family::V6 => a.is_ipv6(),
        })
        .collect();
    if wanted.is_empty() {
        return Err(Failure::new(
            Kind::Resolve,
            format!("could not resolve host {host} to a usable address"),
        ));
    }
    Ok(interleave(wanted))
}

fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let first_v6 = addrs[0].is_ipv6();
    let (mut first, mut second): (Vec<_>, Vec<_>) = addrs.into_iter().partition(|a| a.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(first.len() + second.len());
    first.reverse();
    second.reverse();
    while let Some(a) = first.pop() {
        out.push(a);
        out.extend(second.pop());
    }
    out.extend(second.into_iter().rev());
    out
}

/// Connects to the first of `addrs` to answer, starting a new attempt every `ATTEMPT_DELAY` while the
/// earlier ones are still pending, until `deadline`.
pub fn connect(addrs: &[SocketAddr], deadline: Instant) -> Result<TcpStream, Failure> {
    let (tx, rx) = mpsc::channel();
    let mut untried = addrs.iter().copied();
    let mut pending = 0;
    let mut start_next = |pending: &mut usize| match untried.next() {
        Some(addr) => {
            let tx = tx.clone();
            let budget = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            thread::spawn(move || tx.send((addr, TcpStream::connect_timeout(&addr, budget))));
            *pending += 1;
            true
        }
        None => false,
    };
    let mut more = start_next(&mut pending);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::new(Kind::Timeout, "timed out connecting"));
        }
        let wait = if more { left.min(ATTEMPT_DELAY) } else { left };
        match rx.recv_timeout(wait) {
            Ok((_, Ok(stream))) => return Ok(stream),
            Ok((addr, Err(e))) => {
                pending -= 1;
                more = start_next(&mut pending);
                if !more && pending == 0 {
                    // The attempt's own timeout is the deadline too: it may report before the loop does.
                    if e.kind() == std::io::ErrorKind::TimedOut {
                        return Err(Failure::new(Kind::Timeout, format!("timed out connecting to {addr}")));
                    }
                    return Err(Failure::new(Kind::Connect, format!("failed to connect to {addr}: {e}")));
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => more = start_next(&mut pending),
            Err(mpsc::RecvTimeoutError::Disconnected) => return Err(Failure::new(Kind::Connect, "failed to connect")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_alternate_starting_with_the_first() {
        let a = |s: &str| s.parse::<SocketAddr>().unwrap();
        let got = interleave(vec![
            a("[::1]:1"),
            a("[::2]:1"),
            a("[::3]:1"),
            a("1.1.1.1:1"),
            a("2.2.2.2:1"),
        ]);
        assert_eq!(
            got,
            vec![a("[::1]:1"), a("1.1.1.1:1"), a("[::2]:1"), a("2.2.2.2:1"), a("[::3]:1")]
        );
        let got = interleave(vec![a("1.1.1.1:1"), a("[::1]:1")]);
        assert_eq!(got, vec![a("1.1.1.1:1"), a("[::1]:1")]);
    }

    #[test]
    fn a_dead_address_does_not_stop_a_live_one() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let live = listener.local_addr().unwrap();
        let dead = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let stream = connect(&[dead, live], Instant::now() + Duration::from_secs(10)).unwrap();
        assert_eq!(stream.peer_addr().unwrap(), live);
        let error = connect(&[dead], Instant::now() + Duration::from_secs(10)).unwrap_err();
        assert_eq!(error.kind, Kind::Connect);
    }
}
