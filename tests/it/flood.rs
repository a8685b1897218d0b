//! Clients that send faster than they may, or faster than they read: they are slowed, never dropped,
//! and everyone else is served as if they were not there.

use std::io::Write;
use std::net::TcpStream;
use std::thread;

use serde_json::json;

use crate::support::{Lines, PlainClient, TestServer};

#[test]
fn a_flooder_is_slowed_and_nobody_waits_for_it() {
    let server = TestServer::start(&[]);
    let mut flood = PlainClient::named(server.addr, "flood");
    let mut bob = PlainClient::named(server.addr, "bob");
    let mut carol = PlainClient::named(server.addr, "carol");
    let burst: String = (0..2000).map(|i| format!("flood {i}\n")).collect();
    flood.write(burst.as_bytes());
    carol.lines.expect("<flood> flood 0");
    bob.say("hello through the flood");
    let mut flood_seen = 1;
    let line = carol.lines.until(|l| {
        flood_seen += usize::from(l.starts_with("<flood> "));
        l == "<bob> hello through the flood"
    });
    assert_eq!(line, "<bob> hello through the flood");
    assert!(
        flood_seen < 2000,
        "the flooder was not slowed: all {flood_seen} of its lines came first"
    );
    // Slowed, not dropped: its lines keep coming, in order.
    for i in flood_seen..flood_seen + 3 {
        carol.lines.until(|l| l == format!("<flood> flood {i}"));
    }
}

#[test]
fn pipelined_requests_are_all_answered_by_a_client_that_reads() {
    let server = TestServer::start(&["--flood-control", "off", "--max-queued", "20000"]);
    let mut ann = server.json("ann");
    let mut writer = ann.stream.try_clone().unwrap();
    let pings = 5000;
    let sending = thread::spawn(move || {
        let requests: String = (0..pings)
            .map(|id| format!("{}\n", json!({"id": id, "type": "ping"})))
            .collect();
        writer.write_all(requests.as_bytes()).unwrap();
    });
    for id in 0..pings {
        let ack = ann.until_type("ack");
        assert_eq!(ack["id"], id);
    }
    sending.join().unwrap();
}

#[test]
fn a_client_that_never_reads_its_answers_is_slowed_not_dropped() {
    let server = TestServer::start(&["--flood-control", "off", "--max-queued", "65536"]);
    let mut ann = PlainClient::named(server.addr, "ann");
    let mut bob = PlainClient::named(server.addr, "bob");
    for i in 0..50 {
        ann.say(&format!("/join room{i}"));
        ann.say(&format!(
            "/topic a topic for room {i}, long enough to make the list of rooms heavy"
        ));
    }
    ann.say("/join lobby");
    ann.lines.until(|l| l.contains("a topic for room 49"));
    let deaf = TcpStream::connect(server.addr).unwrap();
    let mut writer = deaf.try_clone().unwrap();
    let asking = thread::spawn(move || {
        // Far more answers than the outbox holds; the writes block once the server stops reading.
        let requests = "/rooms\n".repeat(20_000);
        let _ = writer.write_all(requests.as_bytes());
    });
    for round in 0..20 {
        ann.say(&format!("still here {round}"));
        bob.lines.expect(&format!("<ann> still here {round}"));
    }
    let mut deaf_lines = Lines::spawn("deaf", deaf);
    deaf_lines.until(|l| l.starts_with("-- welcome"));
    // Once it reads, it is answered, request after request: it was never dropped.
    for _ in 0..200 {
        deaf_lines.until(|l| l.ends_with(" rooms:"));
    }
    drop(asking);
}

#[test]
fn a_flooder_of_large_messages_costs_its_room_nobody() {
    let server = TestServer::start(&[]);
    let flood = PlainClient::named(server.addr, "flood");
    let mut bob = PlainClient::named(server.addr, "bob");
    let mut carol = PlainClient::named(server.addr, "carol");
    let mut writer = flood.stream.try_clone().unwrap();
    let flooding = thread::spawn(move || {
        let line = format!("{}\n", "m".repeat(1024 * 1024 - 1));
        for _ in 0..20 {
            if writer.write_all(line.as_bytes()).is_err() {
                return;
            }
        }
    });
    carol.lines.until(|l| l.starts_with("<flood> mmm"));
    bob.say("still talking");
    carol.lines.expect("<bob> still talking");
    bob.say("/who");
    let who = bob.lines.until(|l| l.starts_with("-- lobby has"));
    assert!(
        who.contains("carol") && who.contains("flood"),
        "nobody was dropped: {who}"
    );
    drop((flood, flooding));
}
