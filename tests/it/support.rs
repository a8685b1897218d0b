//! Test fixtures: the real `sockchat` binary on a port-0 listener, and clients that wait for what
//! they expect with a deadline instead of sleeping.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any expected line may take to arrive.
pub const TIMEOUT: Duration = Duration::from_secs(20);

/// Whether `program` (from the Debian package `package`) is there for a test that needs it. Where it
/// is missing the test is skipped, saying so, unless `SOCKCHAT_REQUIRE_ALL=1` (as in CI) makes that a
/// failure.
pub fn outside_program(program: &str, package: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|out| out.status.success());
    if found {
        return true;
    }
    let required = std::env::var("SOCKCHAT_REQUIRE_ALL").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{program} is missing (Debian package {package}) and SOCKCHAT_REQUIRE_ALL=1"
    );
    eprintln!("skipped: {program} is missing (install the Debian package {package})");
    false
}

/// Runs `sockchat ARGS` with `input` on stdin and returns what it did.
pub fn run(args: &[&str], input: &[u8]) -> Output {
    let mut child = binary()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

pub fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sockchat"))
}

/// Lines read by a background thread, so that waiting for one can time out.
pub struct Lines {
    name: String,
    rx: Receiver<Vec<u8>>,
    seen: Vec<String>,
}

impl Lines {
    pub fn spawn(name: &str, source: impl Read + Send + 'static) -> Lines {
        let (tx, rx) = channel();
        thread::spawn(move || {
            let mut reader = BufReader::with_capacity(1 << 16, source);
            loop {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                        }
                        if tx.send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Lines {
            name: name.to_owned(),
            rx,
            seen: Vec::new(),
        }
    }

    /// The next line, or `None` at end of stream; panics after `TIMEOUT`.
    pub fn next(&mut self) -> Option<String> {
        self.next_bytes()
            .map(|line| String::from_utf8_lossy(&line).into_owned())
    }

    pub fn next_bytes(&mut self) -> Option<Vec<u8>> {
        match self.rx.recv_timeout(TIMEOUT) {
            Ok(line) => {
                self.seen
                    .push(String::from_utf8_lossy(&line).chars().take(200).collect());
                Some(line)
            }
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => {
                panic!("{}: nothing arrived in {TIMEOUT:?}; saw {:#?}", self.name, self.seen)
            }
        }
    }

    /// Skips lines until one whose raw bytes satisfy `wanted`, and returns them as they came.
    pub fn next_bytes_until(&mut self, wanted: impl Fn(&[u8]) -> bool) -> Vec<u8> {
        loop {
            match self.next_bytes() {
                Some(line) if wanted(&line) => return line,
                Some(_) => continue,
                None => panic!("{}: the stream ended; saw {:#?}", self.name, self.seen),
            }
        }
    }

    /// Skips lines until one satisfies `wanted`, and returns it.
    pub fn until(&mut self, mut wanted: impl FnMut(&str) -> bool) -> String {
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            match self.next() {
                Some(line) if wanted(&line) => return line,
                Some(_) => continue,
                None => panic!("{}: the stream ended; saw {:#?}", self.name, self.seen),
            }
        }
        panic!("{}: no such line in {TIMEOUT:?}; saw {:#?}", self.name, self.seen)
    }

    /// Skips lines until one equals `text`.
    pub fn expect(&mut self, text: &str) -> String {
        self.until(|line| line == text)
    }

    /// The lines read so far (each cut to 200 characters), for failure messages.
    pub fn seen_lines(&self) -> &[String] {
        &self.seen
    }

    /// Reads to the end of the stream and returns what was left.
    pub fn rest(&mut self) -> Vec<String> {
        std::iter::from_fn(|| self.next()).collect()
    }
}

/// A running server, killed when dropped.
pub struct TestServer {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub console: Option<ChildStdin>,
    pub console_out: Option<Lines>,
    /// The server's stderr, line by line.
    pub log: Lines,
}

impl TestServer {
    pub fn start(extra: &[&str]) -> TestServer {
        TestServer::launch(&["--listen", "127.0.0.1:0", "--no-console"], extra)
    }

    /// A server whose operator console is fed through a pipe.
    pub fn with_console(extra: &[&str]) -> TestServer {
        TestServer::launch(&["--listen", "127.0.0.1:0", "--console"], extra)
    }

    pub fn launch(base: &[&str], extra: &[&str]) -> TestServer {
        // Each server keeps its state in memory unless the test gives it a file.
        let ephemeral = (!extra.contains(&"--db")).then_some("--ephemeral");
        let mut child = binary()
            .arg("serve")
            .args(base)
            .args(ephemeral)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the sockchat binary starts");
        let console = base.contains(&"--console").then(|| child.stdin.take().unwrap());
        let console_out = Some(Lines::spawn("console", child.stdout.take().unwrap()));
        let mut log = Lines::spawn("server log", child.stderr.take().unwrap());
        let line = log.until(|l| l.contains("listening on ") || l.contains("Error"));
        let listener = line.rsplit("listening on ").next().unwrap().trim();
        let addr = listener
            .rsplit("://")
            .next()
            .unwrap()
            .parse()
            .unwrap_or_else(|_| panic!("no address in {line:?}"));
        TestServer {
            child: Some(child),
            addr,
            console,
            console_out,
            log,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn console_line(&mut self, line: &str) {
        let stdin = self.console.as_mut().expect("a console");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    pub fn console_out(&mut self) -> &mut Lines {
        self.console_out.as_mut().unwrap()
    }

    pub fn json(&self, nick: &str) -> JsonClient {
        let mut client = JsonClient::connect(self.addr, nick);
        client.send(serde_json::json!({"type": "hello", "version": 1, "nick": nick}));
        client.until_type("welcome");
        client
    }

    /// Sends SIGTERM and waits for the exit code.
    pub fn terminate(mut self) -> Option<i32> {
        let mut child = self.child.take().unwrap();
        Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        let (tx, rx) = channel();
        let pid = child.id();
        thread::spawn(move || tx.send(child.wait().map(|s| s.code())));
        match rx.recv_timeout(TIMEOUT) {
            Ok(status) => status.unwrap(),
            Err(_) => {
                let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
                panic!("the server did not exit within {TIMEOUT:?} of SIGTERM")
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A person at nc.
pub struct PlainClient {
    pub stream: TcpStream,
    pub lines: Lines,
}

impl PlainClient {
    pub fn connect(addr: SocketAddr, name: &str) -> PlainClient {
        let stream = TcpStream::connect(addr).unwrap();
        let lines = Lines::spawn(name, stream.try_clone().unwrap());
        let mut client = PlainClient { stream, lines };
        client.lines.until(|l| l.starts_with("-- welcome"));
        client
    }

    /// Connects and renames to `nick`, waiting until the rename is done.
    pub fn named(addr: SocketAddr, nick: &str) -> PlainClient {
        let mut client = PlainClient::connect(addr, nick);
        client.say(&format!("/nick {nick}"));
        client.lines.until(|l| l.ends_with(&format!("is now known as {nick}")));
        client
    }

    pub fn say(&mut self, line: &str) {
        self.write(format!("{line}\n").as_bytes());
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }
}

/// A program speaking the structured protocol.
pub struct JsonClient {
    pub stream: TcpStream,
    pub lines: Lines,
}

impl JsonClient {
    pub fn connect(addr: SocketAddr, name: &str) -> JsonClient {
        let stream = TcpStream::connect(addr).unwrap();
        let lines = Lines::spawn(name, stream.try_clone().unwrap());
        JsonClient { stream, lines }
    }

    pub fn send(&mut self, value: Value) {
        self.send_raw(format!("{value}\n").as_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    pub fn next_event(&mut self) -> Option<Value> {
        let line = self.lines.next_bytes()?;
        Some(
            serde_json::from_slice(&line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&line))),
        )
    }

    /// Skips events until one of type `kind`.
    pub fn until_type(&mut self, kind: &str) -> Value {
        loop {
            let event = self
                .next_event()
                .unwrap_or_else(|| panic!("stream ended before a {kind}; saw {:#?}", self.lines.seen));
            if event["type"] == kind {
                return event;
            }
        }
    }
}
