//! The accept edge: IPv4 and IPv6 listeners on one port, and the per-IP limits, seen by clients
//! connecting from distinct loopback addresses (127.0.0.2, 127.0.0.3, ...).

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};

use socket2::{Domain, Socket, Type};

use crate::support::{Lines, TestServer};

/// A client whose connection starts from `source`.
struct From {
    stream: TcpStream,
    lines: Lines,
}

impl From {
    /// Closes the connection (the reading thread holds a clone of the socket, so dropping would not).
    fn close(self) {
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
    }

    fn say(&mut self, line: &str) {
        self.stream.write_all(format!("{line}\n").as_bytes()).unwrap();
    }
}

fn connect_from(source: &str, server: SocketAddr) -> From {
    let source: IpAddr = source.parse().unwrap();
    let socket = Socket::new(Domain::for_address(server), Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::new(source, 0).into()).unwrap();
    socket.connect(&server.into()).unwrap();
    let stream: TcpStream = socket.into();
    let lines = Lines::spawn(&format!("client from {source}"), stream.try_clone().unwrap());
    From { stream, lines }
}

/// Connects from `source` and waits to be welcomed.
fn welcomed(source: &str, server: SocketAddr) -> From {
    let mut client = connect_from(source, server);
    client.lines.until(|line| line.starts_with("-- welcome"));
    client
}

/// Connects from `source` and returns everything the server said before closing.
fn refused(source: &str, server: SocketAddr) -> Vec<String> {
    connect_from(source, server).lines.rest()
}

#[test]
fn ipv4_and_ipv6_listeners_share_a_port() {
    // The OS picks the port; the server is then asked for it twice, once per family.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (v4, v6) = (format!("0.0.0.0:{port}"), format!("[::]:{port}"));
    let _server = TestServer::launch(&["--listen", &v4, "--listen", &v6, "--no-console"], &[]);
    let mut over_v4 = welcomed("127.0.0.1", SocketAddr::from(([127, 0, 0, 1], port)));
    let mut over_v6 = welcomed("::1", format!("[::1]:{port}").parse().unwrap());
    over_v6.say("/nick six");
    over_v4.lines.expect("-- user2 is now known as six");
}

#[test]
fn an_address_with_too_many_connections_open_is_refused_with_a_line() {
    let mut server = TestServer::start(&["--limits-exempt", "none", "--max-conns-per-ip", "2"]);
    let first = welcomed("127.0.0.2", server.addr);
    let _second = welcomed("127.0.0.2", server.addr);
    assert_eq!(
        refused("127.0.0.2", server.addr),
        ["!! too many connections from your address (at most 2 at once)"]
    );
    // Another address is not affected.
    let _other = welcomed("127.0.0.3", server.addr);
    // Once one of its connections has gone, the address may open another. The log tells the session
    // has ended a moment before its count is given back, so a refusal may still come in between.
    first.close();
    server.log.until(|line| line.contains("session ended conn=#1"));
    let deadline = std::time::Instant::now() + crate::support::TIMEOUT;
    loop {
        let mut third = connect_from("127.0.0.2", server.addr);
        let line = third.lines.next().unwrap_or_default();
        if line.starts_with("-- welcome") {
            break;
        }
        assert_eq!(line, "!! too many connections from your address (at most 2 at once)");
        assert!(
            std::time::Instant::now() < deadline,
            "the address never got its count back"
        );
    }
}

#[test]
fn an_address_that_opens_too_many_connections_in_a_minute_is_refused() {
    let server = TestServer::start(&["--limits-exempt", "none", "--max-conn-rate-per-ip", "3"]);
    for _ in 0..3 {
        welcomed("127.0.0.4", server.addr).close();
    }
    assert_eq!(
        refused("127.0.0.4", server.addr),
        ["!! too many new connections from your address (at most 3 a minute); try again later"]
    );
    let _other = welcomed("127.0.0.5", server.addr);
}

#[test]
fn exempt_addresses_are_not_limited() {
    let server = TestServer::start(&["--limits-exempt", "127.0.0.6/32, 10.0.0.0/8", "--max-conns-per-ip", "1"]);
    let _exempt: Vec<From> = (0..4).map(|_| welcomed("127.0.0.6", server.addr)).collect();
    let _limited = welcomed("127.0.0.7", server.addr);
    assert_eq!(
        refused("127.0.0.7", server.addr),
        ["!! too many connections from your address (at most 1 at once)"]
    );
}

#[test]
fn loopback_is_exempt_by_default_and_all_exempts_everyone() {
    let default = TestServer::start(&["--max-conns-per-ip", "1"]);
    let _loopback: Vec<From> = (0..3).map(|_| welcomed("127.0.0.8", default.addr)).collect();
    let everyone = TestServer::start(&["--limits-exempt", "all", "--max-conns-per-ip", "1"]);
    let _any: Vec<From> = (0..3).map(|_| welcomed("127.0.0.9", everyone.addr)).collect();
}

#[test]
fn a_refused_client_says_why() {
    let server = TestServer::start(&["--max-connections", "1"]);
    let _first = welcomed("127.0.0.1", server.addr);
    let output = crate::support::binary()
        .args(["send", &server.addr.to_string()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let why = String::from_utf8_lossy(&output.stderr);
    assert!(why.contains("the server refused: the server is full"), "{why}");
}
