//! Headless Chromium driven through chromedriver's WebDriver HTTP API (W3C WebDriver), spoken by
//! hand over loopback: a session, pages, keys, scripts that read the page, and screenshots.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::support::{Lines, TIMEOUT, outside_program};

/// WebDriver's key codes.
pub const ENTER: &str = "\u{E007}";
pub const SHIFT: &str = "\u{E008}";
pub const ALT: &str = "\u{E00A}";
pub const ARROW_UP: &str = "\u{E013}";
/// Releases the modifier keys held down.
pub const RELEASE: &str = "\u{E000}";

/// How often a condition on the page is looked at again while it is waited for.
const POLL: Duration = Duration::from_millis(50);

pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium with a fresh profile; `None`
    /// (the test is skipped, saying why) where they are not installed.
    pub fn start() -> Option<Browser> {
        if !outside_program("chromium", "chromium chromium-driver")
            || !outside_program("chromedriver", "chromium chromium-driver")
        {
            return None;
        }
        let mut driver = Command::new("chromedriver")
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut out = Lines::spawn("chromedriver", driver.stdout.take().unwrap());
        let line = out.until(|l| l.contains("started successfully on port"));
        let port = line
            .trim_end_matches('.')
            .rsplit(' ')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            "--window-size=1200,800",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
        }}});
        let mut browser = Browser {
            driver,
            port,
            session: String::new(),
            _profile: profile,
        };
        let created = browser.call("POST", "/session", Some(capabilities));
        browser.session = created["sessionId"].as_str().expect("a session id").to_owned();
        Some(browser)
    }

    pub fn open(&mut self, url: &str) {
        self.session_call("POST", "url", Some(json!({ "url": url })));
    }

    /// Types `keys` into the element the page has focused.
    pub fn type_keys(&mut self, keys: &str) {
        let element = self.session_call("GET", "element/active", None);
        let id = element
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("an element id")
            .to_owned();
        self.session_call("POST", &format!("element/{id}/value"), Some(json!({ "text": keys })));
    }

    /// Runs `script` (a function body) in the page; what it returns.
    pub fn eval(&mut self, script: &str) -> Value {
        self.session_call("POST", "execute/sync", Some(json!({"script": script, "args": []})))
    }

    /// Runs `script` until what it returns satisfies `done`, within the deadline; that value.
    pub fn wait_for(&mut self, what: &str, script: &str, done: impl Fn(&Value) -> bool) -> Value {
        self.seen_within(script, &done, TIMEOUT)
            .unwrap_or_else(|last| panic!("the page did not show {what} within {TIMEOUT:?}; last saw {last}"))
    }

    /// Runs `script` until what it returns satisfies `done`, for at most `within`; that value, or
    /// the last value seen.
    pub fn seen_within(
        &mut self,
        script: &str,
        done: &dyn Fn(&Value) -> bool,
        within: Duration,
    ) -> Result<Value, Value> {
        let deadline = Instant::now() + within;
        loop {
            let value = self.eval(script);
            if done(&value) {
                return Ok(value);
            }
            if Instant::now() >= deadline {
                return Err(value);
            }
            std::thread::sleep(POLL);
        }
    }

    pub fn resize(&mut self, width: u32, height: u32) {
        self.session_call("POST", "window/rect", Some(json!({"width": width, "height": height})));
    }

    /// Saves a PNG of the page at `path`.
    pub fn screenshot(&mut self, path: &Path) {
        let encoded = self.session_call("GET", "screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_str().expect("base64"))
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    fn session_call(&mut self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}/{path}", self.session);
        self.call(method, &path, body)
    }

    /// One WebDriver command; its `value`, or a panic naming the driver's error.
    fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> Value {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let json = read_response(&mut stream);
        let answer: Value =
            serde_json::from_slice(&json).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&json)));
        let value = answer["value"].clone();
        if let Some(error) = value.get("error") {
            panic!("WebDriver {method} {path} failed: {error}: {}", value["message"]);
        }
        value
    }
}

/// The body of one response, by its Content-Length (chromedriver keeps the connection open).
fn read_response(stream: &mut TcpStream) -> Vec<u8> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "chromedriver closed before answering");
        received.extend_from_slice(&chunk[..n]);
        let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&received[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no Content-Length in {head}"));
        let body = end + 4;
        if received.len() >= body + length {
            return received[body..body + length].to_vec();
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let path = format!("/session/{}", self.session);
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.call("DELETE", &path, None)));
        }
        // Shutting chromedriver down closes every browser it started, even one whose session was
        // never made; killing it alone would leave them running.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.call("GET", "/shutdown", None)));
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline && matches!(self.driver.try_wait(), Ok(None)) {
            std::thread::sleep(POLL);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
