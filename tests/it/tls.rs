//! chats:// listeners: TLS with a certificate made here, clients that trust it or are told not to
//! check, certificates refused, reloading on SIGHUP, and the handshake deadline.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use tempfile::TempDir;

use crate::support::{Lines, TIMEOUT, TestServer, binary, run};

/// A self-signed certificate for localhost and 127.0.0.1, as PEM files in a directory of its own.
struct Pair {
    cert: PathBuf,
    key: PathBuf,
    _dir: TempDir,
}

fn pair() -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    write_pair(&cert, &key);
    Pair { cert, key, _dir: dir }
}

/// Writes a new self-signed pair to these paths.
fn write_pair(cert: &Path, key: &Path) {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let made = rcgen::generate_simple_self_signed(names).unwrap();
    std::fs::write(cert, made.cert.pem()).unwrap();
    std::fs::write(key, made.signing_key.serialize_pem()).unwrap();
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn tls_server(pair: &Pair, extra: &[&str]) -> TestServer {
    let mut args = vec!["--tls-cert", path(&pair.cert), "--tls-key", path(&pair.key)];
    args.extend_from_slice(extra);
    TestServer::launch(&["--listen", "chats://127.0.0.1:0", "--no-console"], &args)
}

/// A person at `openssl s_client`: plain lines inside TLS, trusting `ca`.
struct TlsPlain {
    stream: BufReader<StreamOwned<ClientConnection, TcpStream>>,
}

impl TlsPlain {
    fn connect(addr: SocketAddr, ca: &Path) -> std::io::Result<TlsPlain> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from("localhost").unwrap();
        let session = ClientConnection::new(Arc::new(config), name).unwrap();
        let tcp = TcpStream::connect(addr)?;
        tcp.set_read_timeout(Some(TIMEOUT))?;
        let mut stream = StreamOwned::new(session, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(TlsPlain {
            stream: BufReader::new(stream),
        })
    }

    /// Reads lines until one satisfies `wanted`.
    fn until(&mut self, wanted: impl Fn(&str) -> bool) -> String {
        let mut seen = Vec::new();
        loop {
            let mut line = String::new();
            let read = self.stream.read_line(&mut line);
            match read {
                Ok(0) | Err(_) => panic!("the TLS stream ended ({read:?}); saw {seen:#?}"),
                Ok(_) => {}
            }
            let line = line.trim_end_matches('\n').to_owned();
            if wanted(&line) {
                return line;
            }
            seen.push(line);
        }
    }

    fn say(&mut self, line: &str) {
        let stream = self.stream.get_mut();
        stream.write_all(format!("{line}\n").as_bytes()).unwrap();
        stream.flush().unwrap();
    }
}

/// Runs `sockchat send ARGS` with `text` on stdin.
fn send(args: &[&str], text: &str) -> Output {
    let argv: Vec<&str> = ["send"].into_iter().chain(args.iter().copied()).collect();
    run(&argv, text.as_bytes())
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn plain_and_structured_clients_talk_over_tls() {
    let pair = pair();
    let server = tls_server(&pair, &[]);
    let url = format!("chats://localhost:{}", server.addr.port());
    let mut ann = TlsPlain::connect(server.addr, &pair.cert).unwrap();
    // Silent after the handshake, so greeted as a person at a terminal.
    ann.until(|line| line.starts_with("-- welcome"));
    ann.say("/nick ann");
    ann.until(|line| line.ends_with("is now known as ann"));

    let trusted = send(&[&url, "--cacert", path(&pair.cert), "--nick", "bob"], "hi over tls\n");
    assert!(trusted.status.success(), "{}", stderr(&trusted));
    ann.until(|line| line == "<bob> hi over tls");

    let unchecked = send(&[&url, "-k", "--nick", "kim"], "not checked\n");
    assert!(unchecked.status.success(), "{}", stderr(&unchecked));
    ann.until(|line| line == "<kim> not checked");

    let mut joiner = Command::new(env!("CARGO_BIN_EXE_sockchat"))
        .args(["join", "--plain", &url, "--cacert", path(&pair.cert), "--nick", "joy"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut joined = Lines::spawn("joy", joiner.stdout.take().unwrap());
    joined.until(|line| line.starts_with("-- connected to sockchat"));
    ann.say("hello joy");
    joined.expect("<ann> hello joy");
    let mut input = joiner.stdin.take().unwrap();
    input.write_all(b"hello ann\n").unwrap();
    drop(input);
    ann.until(|line| line == "<joy> hello ann");
    assert!(joiner.wait().unwrap().success());
}

#[test]
fn a_certificate_the_client_does_not_trust_is_refused() {
    let pair = pair();
    let other = self::pair();
    let server = tls_server(&pair, &[]);
    let url = format!("chats://localhost:{}", server.addr.port());
    for args in [vec![url.as_str()], vec![url.as_str(), "--cacert", path(&other.cert)]] {
        let output = send(&args, "never arrives\n");
        assert!(!output.status.success(), "{args:?}");
        let why = stderr(&output);
        assert!(
            why.contains("TLS handshake with") && why.contains("certificate"),
            "{args:?}: {why}"
        );
    }
    // A plain client on a TLS port gets no chat at all.
    let mut plain = TcpStream::connect(server.addr).unwrap();
    plain.set_read_timeout(Some(TIMEOUT)).unwrap();
    plain.write_all(b"hello\n").unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!String::from_utf8_lossy(&answer).contains("welcome"));
}

#[test]
fn sighup_reloads_the_pair_for_new_connections_and_keeps_the_old_ones() {
    let first = pair();
    let mut server = tls_server(&first, &[]);
    let url = format!("chats://localhost:{}", server.addr.port());
    let kept = first._dir.path().join("first.pem");
    std::fs::copy(&first.cert, &kept).unwrap();
    let mut old = TlsPlain::connect(server.addr, &first.cert).unwrap();
    old.until(|line| line.starts_with("-- welcome"));

    write_pair(&first.cert, &first.key);
    hang_up(&server);
    server
        .log
        .until(|line| line.contains("reloaded the TLS certificate and key"));
    let fresh = send(&[&url, "--cacert", path(&first.cert), "--nick", "new"], "new pair\n");
    assert!(fresh.status.success(), "{}", stderr(&fresh));
    old.until(|line| line == "<new> new pair");
    let stale = send(&[&url, "--cacert", path(&kept), "--nick", "stale"], "old pair\n");
    assert!(!stale.status.success(), "the old pair is still served");

    // A broken key keeps the pair in force, and the log says why.
    std::fs::write(&first.key, "not a key").unwrap();
    hang_up(&server);
    server
        .log
        .until(|line| line.contains("kept the TLS certificate and key in force"));
    let still = send(
        &[&url, "--cacert", path(&first.cert), "--nick", "still"],
        "still served\n",
    );
    assert!(still.status.success(), "{}", stderr(&still));
    old.until(|line| line == "<still> still served");
}

fn hang_up(server: &TestServer) {
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn the_tls_handshake_counts_against_the_handshake_timeout() {
    let pair = pair();
    let mut server = tls_server(&pair, &["--handshake-timeout", "0.5"]);
    let mut silent = TcpStream::connect(server.addr).unwrap();
    silent.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut rest = Vec::new();
    // The server closes the connection: the read ends instead of timing out.
    assert!(silent.read_to_end(&mut rest).is_ok());
    server.log.until(|line| line.contains("no TLS handshake in time"));
}

#[test]
fn a_tls_listener_without_a_certificate_stops_the_server_at_start() {
    let output = binary()
        .args([
            "serve",
            "--ephemeral",
            "--no-console",
            "--listen",
            "chats://127.0.0.1:0",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let why = stderr(&output);
    assert!(why.contains("needs --tls-cert FILE and --tls-key FILE"), "{why}");
}
