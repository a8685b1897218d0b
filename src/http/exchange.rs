//! One request and its response on a fresh connection: connect (directly, through a proxy, with TLS),
//! write the head, read the response head, and hand back the body as a framed reader.

use std::cell::OnceCell;
use std::io::{self, BufReader, Cursor, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{ClientConfig, ClientConnection, StreamOwned};
use url::Url;

use crate::http::body::Body;
use crate::http::deadline::TimedTcp;
use crate::http::dial::{self, Family};
use crate::http::failure::{Failure, Kind};
use crate::http::head::{self, Head};
use crate::http::proxy::{self, Proxy, ProxyEnv};
use crate::http::request::{self, Fields, Method};
use crate::http::tls::{self, TlsOptions};

/// The size of the buffer responses are read through.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;
/// How long connecting may take when no `--connect-timeout` is given (curl's default).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(300);

/// How to reach servers: timeouts, address family, proxies, TLS.
pub struct Network {
    pub family: Family,
    pub connect_timeout: Duration,
    /// When the whole transfer must be over (`--max-time`).
    pub deadline: Option<Instant>,
    pub proxy: Option<String>,
    pub proxy_env: ProxyEnv,
    pub tls: TlsOptions,
    /// Built on the first https request: loading the system's roots costs file reads plain HTTP never needs.
    pub tls_config: OnceCell<Arc<ClientConfig>>,
}

impl Network {
    fn tls_config(&self) -> Result<Arc<ClientConfig>, Failure> {
        if let Some(config) = self.tls_config.get() {
            return Ok(config.clone());
        }
        let config = tls::config(&self.tls)?;
        Ok(self.tls_config.get_or_init(|| config).clone())
    }
}

/// Notes for `-v` and warnings, written to stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trace {
    pub verbose: bool,
    /// `-s`: no warnings either.
    pub silent: bool,
}

impl Trace {
    /// A warning, as curl gives one before a retry.
    pub fn warn(&self, text: &str) {
        if !self.silent {
            eprintln!("Warning: {text}");
        }
    }

    pub fn info(&self, text: &str) {
        if self.verbose {
            eprintln!("* {text}");
        }
    }

    pub fn head(&self, prefix: &str, head: &[u8]) {
        if self.verbose {
            for line in String::from_utf8_lossy(head).lines() {
                eprintln!("{prefix}{line}");
            }
        }
    }
}

/// A TLS session over a connection held to the deadline.
pub type TlsStream = StreamOwned<ClientConnection, TimedTcp>;

/// A connection, plain or TLS.
pub enum Conn {
    Plain(TimedTcp),
    Tls(Box<TlsStream>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            // A server that closes without close_notify has still delimited its body by its framing.
            Conn::Tls(s) => match s.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
                other => other,
            },
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

pub type BodyReader = Body<BufReader<io::Chain<Cursor<Vec<u8>>, Conn>>>;

pub struct Response {
    pub head: Head,
    pub body: BodyReader,
}

/// Sends one request for `url` and reads the response head.
pub fn exchange(url: &Url, method: Method, fields: &Fields, net: &Network, trace: Trace) -> Result<Response, Failure> {
    let host = url
        .host_str()
        .ok_or_else(|| Failure::new(Kind::BadUrl, format!("{url} has no host")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = url.port_or_known_default().unwrap_or(80);
    let proxy = proxy::choose(url, net.proxy.as_deref(), &net.proxy_env)?;
    let tcp = match &proxy {
        Some(p) => dial_proxy(p, net, trace)?,
        None => dial_host(host, port, net, trace, Kind::Resolve)?,
    };
    let tcp = TimedTcp::new(tcp, net.deadline);
    let https = url.scheme() == "https";
    let mut fields = fields.clone();
    let mut conn = match (&proxy, https) {
        (Some(p), true) => Conn::Tls(Box::new(tls::handshake(
            net.tls_config()?,
            host,
            tunnel(tcp, p, url, trace)?,
        )?)),
        (None, true) => Conn::Tls(Box::new(tls::handshake(net.tls_config()?, host, tcp)?)),
        (Some(p), false) => {
            if let Some((user, password)) = &p.credentials {
                fields.set("Proxy-Authorization", request::basic_auth(user, password));
            }
            Conn::Plain(tcp)
        }
        (None, false) => Conn::Plain(tcp),
    };
    let absolute = proxy.is_some() && !https;
    let head = request::render(method, &request::target(url, absolute), &fields);
    trace.head("> ", &head);
    conn.write_all(&head)
        .and_then(|()| conn.flush())
        .map_err(|e| send_error(&e))?;
    let (head, rest) = read_final_head(&mut conn, trace)?;
    let framing = head.framing(method == Method::Head)?;
    let reader = BufReader::with_capacity(READ_BUFFER_BYTES, Cursor::new(rest).chain(conn));
    Ok(Response {
        head,
        body: Body::new(reader, framing),
    })
}

fn dial_host(host: &str, port: u16, net: &Network, trace: Trace, resolve_kind: Kind) -> Result<TcpStream, Failure> {
    let addrs = dial::resolve(host, port, net.family).map_err(|f| Failure {
        kind: resolve_kind,
        ..f
    })?;
    let mut deadline = Instant::now() + net.connect_timeout;
    if let Some(overall) = net.deadline {
        deadline = deadline.min(overall);
    }
    let stream = dial::connect(&addrs, deadline)?;
    if let Ok(peer) = stream.peer_addr() {
        trace.info(&format!("Connected to {host} ({}) port {}", peer.ip(), peer.port()));
    }
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

fn dial_proxy(proxy: &Proxy, net: &Network, trace: Trace) -> Result<TcpStream, Failure> {
    trace.info(&format!("Using proxy {}:{}", proxy.host, proxy.port));
    dial_host(&proxy.host, proxy.port, net, trace, Kind::ProxyResolve)
}

/// Asks an HTTP proxy for a tunnel to the target with CONNECT.
fn tunnel(mut tcp: TimedTcp, proxy: &Proxy, url: &Url, trace: Trace) -> Result<TimedTcp, Failure> {
    let host = url.host_str().unwrap_or("");
    let authority = format!("{host}:{}", url.port_or_known_default().unwrap_or(443));
    let mut fields = Fields::default();
    fields.set("Host", authority.clone());
    if let Some((user, password)) = &proxy.credentials {
        fields.set("Proxy-Authorization", request::basic_auth(user, password));
    }
    let head = request::render_connect(&authority, &fields);
    trace.head("> ", &head);
    tcp.write_all(&head).map_err(|e| send_error(&e))?;
    let (answer, rest) = read_final_head(&mut tcp, trace)?;
    if !(200..300).contains(&answer.status) || !rest.is_empty() {
        return Err(Failure::new(
            Kind::Receive,
            format!("the proxy refused the tunnel: {} {}", answer.status, answer.reason),
        ));
    }
    Ok(tcp)
}

/// Reads heads until a final (non-1xx) one; returns it and the bytes read past it.
fn read_final_head<R: Read>(source: &mut R, trace: Trace) -> Result<(Head, Vec<u8>), Failure> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some((head, used)) = head::parse(&buf)? {
            trace.head("< ", &buf[..used]);
            buf.drain(..used);
            if head.is_interim() {
                continue;
            }
            return Ok((head, buf));
        }
        let n = source
            .read(&mut chunk)
            .map_err(|e| crate::http::failure::from_io(e, Kind::Receive, "reading the response"))?;
        if n == 0 {
            return Err(if buf.is_empty() {
                Failure::new(Kind::EmptyReply, "empty reply from server")
            } else {
                Failure::new(
                    Kind::WeirdReply,
                    "the server closed the connection in the middle of the response head",
                )
            });
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn send_error(error: &io::Error) -> Failure {
    match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            Failure::new(Kind::Timeout, "timed out sending the request")
        }
        _ => Failure::new(Kind::Receive, format!("failed sending the request: {error}")),
    }
}
