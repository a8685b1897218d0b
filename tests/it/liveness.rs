//! Silent structured clients are pinged; those that do not answer are dropped, and `sockchat join`
//! answers by itself.

use std::process::Stdio;

use serde_json::json;

use crate::support::{PlainClient, TestServer, binary};

#[test]
fn a_silent_client_is_pinged_and_dropped_unless_it_answers() {
    let server = TestServer::start(&["--ping-after", "1", "--ping-timeout", "1"]);
    let mut watcher = PlainClient::named(server.addr, "watcher");
    let mut mute = server.json("mute");
    let mut alive = server.json("alive");
    let ping = alive.until_type("ping");
    assert_eq!(ping, json!({"type": "ping"}));
    alive.send(json!({"type": "pong"}));
    assert_eq!(mute.until_type("ping"), json!({"type": "ping"}));
    let quit = watcher.lines.until(|l| l.starts_with("-- mute quit"));
    assert_eq!(quit, "-- mute quit (no answer to a ping within 1 s)");
    // alive answered its ping: a second one comes, and it is still there.
    alive.until_type("ping");
    alive.send(json!({"id": 1, "type": "who"}));
    let members = alive.until_type("members");
    assert!(
        members["nicks"].as_array().unwrap().contains(&json!("alive")),
        "{members}"
    );
}

#[test]
fn the_line_client_answers_pings_by_itself() {
    let server = TestServer::start(&["--ping-after", "1", "--ping-timeout", "1"]);
    let addr = server.addr.to_string();
    let mut watcher = PlainClient::named(server.addr, "watcher");
    let mut child = binary()
        .args(["join", &addr, "--nick", "quiet", "--plain"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    watcher.lines.expect("-- quiet joined lobby");
    // A client that arrived after it and does not answer is dropped; quiet, pinged before it, is not.
    let _mute = server.json("mute");
    watcher.lines.until(|l| l.starts_with("-- mute quit"));
    watcher.say("/who");
    let who = watcher.lines.until(|l| l.starts_with("-- lobby has"));
    assert!(who.contains(" quiet"), "{who}");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}
