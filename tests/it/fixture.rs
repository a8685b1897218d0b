//! An HTTP fixture: std threads that read a request head and answer with crafted raw bytes, plain or
//! over TLS, and a CONNECT proxy. Every connection thread ends when the client goes or a deadline passes.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::support::TIMEOUT;

/// A request as the fixture received it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub head: String,
}

impl Seen {
    pub fn line(&self) -> &str {
        self.head.lines().next().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    pub fn path(&self) -> String {
        self.line().split(' ').nth(1).unwrap_or("").to_owned()
    }
}

/// How to answer.
#[derive(Debug, Clone, Default)]
pub struct Reply {
    pub bytes: Vec<u8>,
    /// One byte per write.
    pub dribble: bool,
    /// Keep the connection open after the bytes, until the client closes it.
    pub hold_open: bool,
    /// After the first `.0` bytes, the rest one byte every `.1`: a server that trickles.
    pub trickle: Option<(usize, Duration)>,
}

impl Reply {
    pub fn raw(bytes: impl AsRef<[u8]>) -> Reply {
        Reply {
            bytes: bytes.as_ref().to_vec(),
            ..Reply::default()
        }
    }

    /// A complete response with a Content-Length.
    pub fn ok(body: impl AsRef<[u8]>) -> Reply {
        Reply::with(200, &[], body)
    }

    pub fn with(status: u16, headers: &[(&str, &str)], body: impl AsRef<[u8]>) -> Reply {
        let body = body.as_ref();
        let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        Reply::raw(bytes)
    }

    pub fn held_open(mut self) -> Reply {
        self.hold_open = true;
        self
    }

    /// Sends the head at once and the body a byte every `gap`.
    pub fn trickled(mut self, gap: Duration) -> Reply {
        let head_end = self
            .bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(0, |p| p + 4);
        self.trickle = Some((head_end, gap));
        self
    }
}

type Handler = Arc<dyn Fn(&Seen) -> Reply + Send + Sync>;

pub struct Fixture {
    pub addr: SocketAddr,
    seen: Mutex<Receiver<Seen>>,
}

impl Fixture {
    pub fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Fixture {
        Fixture::start_on("127.0.0.1:0", None, handler)
    }

    pub fn start_on(
        bind: &str,
        tls: Option<Arc<rustls::ServerConfig>>,
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Fixture {
        let listener = TcpListener::bind(bind).unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = channel();
        let handler: Handler = Arc::new(handler);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (tx, handler, tls) = (tx.clone(), handler.clone(), tls.clone());
                thread::spawn(move || serve(stream, tls, &handler, &tx));
            }
        });
        Fixture {
            addr,
            seen: Mutex::new(rx),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next request received; panics after `TIMEOUT`.
    pub fn next_request(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .recv_timeout(TIMEOUT)
            .expect("a request reached the fixture")
    }
}

fn serve(stream: TcpStream, tls: Option<Arc<rustls::ServerConfig>>, handler: &Handler, seen: &Sender<Seen>) {
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    let raw = stream.try_clone().unwrap();
    match tls {
        Some(config) => {
            let session = rustls::ServerConnection::new(config).unwrap();
            let _ = answer(rustls::StreamOwned::new(session, stream), handler, seen);
        }
        None => {
            let _ = answer(stream, handler, seen);
        }
    }
    let _ = raw.shutdown(Shutdown::Both);
}

fn answer<S: Read + Write>(stream: S, handler: &Handler, seen: &Sender<Seen>) -> io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        if reader.read_line(&mut head)? == 0 || head.len() > 65536 {
            return Ok(());
        }
    }
    let request = Seen { head };
    let reply = handler(&request);
    let _ = seen.send(request);
    let stream = reader.get_mut();
    if let Some((at, gap)) = reply.trickle {
        stream.write_all(&reply.bytes[..at])?;
        stream.flush()?;
        for byte in &reply.bytes[at..] {
            // Pacing the server, not synchronising the test: the client must give up by its deadline.
            thread::sleep(gap);
            stream.write_all(std::slice::from_ref(byte))?;
            stream.flush()?;
        }
    } else if reply.dribble {
        for byte in &reply.bytes {
            stream.write_all(std::slice::from_ref(byte))?;
            stream.flush()?;
        }
    } else {
        stream.write_all(&reply.bytes)?;
        stream.flush()?;
    }
    if reply.hold_open {
        let mut sink = [0u8; 1024];
        while reader.read(&mut sink)? > 0 {}
    }
    Ok(())
}

/// A proxy that answers CONNECT by piping to the target, and anything else with the handler.
pub fn connect_proxy() -> (SocketAddr, Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = channel();
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let tx = tx.clone();
            thread::spawn(move || tunnel(client, &tx));
        }
    });
    (addr, rx)
}

fn tunnel(client: TcpStream, seen: &Sender<String>) -> io::Result<()> {
    client.set_read_timeout(Some(TIMEOUT))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        if reader.read_line(&mut head)? == 0 {
            return Ok(());
        }
    }
    let _ = seen.send(head.clone());
    let target = head.split(' ').nth(1).unwrap_or("").to_owned();
    let upstream = TcpStream::connect(target)?;
    upstream.set_read_timeout(Some(TIMEOUT))?;
    (&client).write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    let (mut up_read, mut client_write) = (upstream.try_clone()?, client.try_clone()?);
    let down = thread::spawn(move || io::copy(&mut up_read, &mut client_write));
    io::copy(&mut reader, &mut &upstream)?;
    let _ = upstream.shutdown(Shutdown::Write);
    let _ = down.join();
    Ok(())
}

/// A self-signed certificate for localhost and 127.0.0.1, and a server config using it.
pub fn tls_server() -> (String, Arc<rustls::ServerConfig>) {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(names).unwrap();
    let pem = cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::try_from(signing_key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    (pem, Arc::new(config))
}
