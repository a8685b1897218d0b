//! A database file in a temporary directory, the servers run on it one after another, and the
//! structured requests the durability tests make of them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::support::{JsonClient, TestServer};

/// A database file that outlives the servers started on it.
pub struct Db {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Db {
    pub fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.db");
        Db { _dir: dir, path }
    }

    pub fn path_text(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    /// A server keeping its state in this file.
    pub fn serve(&self, extra: &[&str]) -> TestServer {
        let path = self.path_text();
        let mut args = vec!["--db", path.as_str()];
        args.extend_from_slice(extra);
        TestServer::start(&args)
    }
}

/// `kill -9`: the server gets no chance to finish anything; returns once the process is gone.
pub fn kill_hard(server: TestServer) {
    let pid = libc::pid_t::try_from(server.pid()).unwrap();
    // SAFETY: kill(2) with a PID this test started and has not yet reaped.
    let sent = unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(sent, 0, "kill -9 {pid}");
    // Dropping reaps the killed process.
    drop(server);
}

/// A structured client after its hello: the client and its `welcome`.
pub fn hello(addr: SocketAddr, hello: Value) -> (JsonClient, Value) {
    let mut client = JsonClient::connect(addr, hello["nick"].as_str().unwrap_or("anonymous"));
    let mut hello = hello;
    hello["type"] = json!("hello");
    hello["version"] = json!(1);
    client.send(hello);
    let welcome = client.until_type("welcome");
    (client, welcome)
}

/// A fresh request id, so that an answer is matched to its own request.
fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("r{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Sends `request` with an id and returns the first event of type `kind` (`ack` means the ack of
/// this request), or the error answering it.
pub fn ask(client: &mut JsonClient, mut request: Value, kind: &str) -> Result<Value, Value> {
    let id = request_id();
    request["id"] = json!(id);
    client.send(request);
    loop {
        let event = client.next_event().unwrap_or_else(|| {
            panic!(
                "the stream ended before the answer; saw {:#?}",
                client.lines.seen_lines()
            )
        });
        let ours = event["id"] == id.as_str();
        match event["type"].as_str() {
            Some("error") if ours => return Err(event),
            Some("ack") if kind == "ack" && ours => return Ok(event),
            Some(other) if other == kind && kind != "ack" => return Ok(event),
            _ => {}
        }
    }
}

/// Says `text` in the current room and returns the id the ack gave it.
pub fn say(client: &mut JsonClient, text: &str) -> u64 {
    let ack = ask(client, json!({"type": "say", "text": text}), "ack")
        .unwrap_or_else(|error| panic!("{text:?} was refused: {error}"));
    ack["message"].as_u64().expect("a message id in the ack")
}

/// One `history` page.
pub fn history(client: &mut JsonClient, request: Value) -> Result<Value, Value> {
    let mut request = request;
    request["type"] = json!("history");
    ask(client, request, "history")
}

/// Every message of `room`, paged from the start with `after`, a thousand at a time.
pub fn whole_room(client: &mut JsonClient, room: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = history(client, json!({"room": room, "after": after, "limit": 1000}))
            .unwrap_or_else(|error| panic!("history of {room} refused: {error}"));
        let messages = page["messages"].as_array().unwrap().clone();
        if let Some(last) = messages.last() {
            after = last["id"].as_u64().unwrap();
        }
        let more = page["more"].as_bool().unwrap();
        assert!(!more || !messages.is_empty(), "an empty page says more follow");
        all.extend(messages);
        if !more {
            return all;
        }
    }
}

/// The ids of `messages`, in order.
pub fn ids(messages: &[Value]) -> Vec<u64> {
    messages.iter().map(|m| m["id"].as_u64().unwrap()).collect()
}

/// The texts of `messages`, in order.
pub fn texts(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

/// Registers the nick `client` holds; returns the `account` event.
pub fn register(client: &mut JsonClient, password: &str) -> Value {
    ask(client, json!({"type": "register", "password": password}), "account")
        .unwrap_or_else(|error| panic!("register refused: {error}"))
}

/// Every event up to the answer to a ping: what the connection was told before it, all of it.
pub fn events_until_pong(client: &mut JsonClient) -> Vec<Value> {
    client.send(json!({"id": "sync", "type": "ping"}));
    let mut events = Vec::new();
    loop {
        let event = client.next_event().expect("the stream ended before the pong");
        if event["type"] == "pong" {
            return events;
        }
        events.push(event);
    }
}
