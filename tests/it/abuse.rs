//! Bad, slow and hostile clients: each gets an error or a clean disconnect, and nobody else notices.

use std::io::Write;
use std::net::TcpStream;

use serde_json::json;

use crate::support::{JsonClient, PlainClient, TestServer};

/// A bystander who must keep hearing `speaker` promptly whatever else goes on.
fn still_served(speaker: &mut PlainClient, listener: &mut PlainClient, word: &str) {
    speaker.say(word);
    listener.lines.until(|l| l.ends_with(&format!("> {word}")));
}

#[test]
fn an_endless_line_is_dropped_without_being_buffered_and_the_client_survives() {
    let server = TestServer::start(&["--max-message", "4096"]);
    let mut flood = PlainClient::named(server.addr, "flood");
    let mut bob = PlainClient::named(server.addr, "bob");
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..10 {
        flood.write(&chunk);
    }
    flood.write(b"\nstill here\n");
    flood
        .lines
        .expect("!! that line was longer than the 4352 bytes the server accepts and was dropped");
    bob.lines.expect("<flood> still here");
}

#[test]
fn an_oversized_json_message_is_refused_by_id() {
    let server = TestServer::start(&["--max-message", "1000"]);
    let mut ann = server.json("ann");
    ann.send(json!({"id": 5, "type": "say", "text": "x".repeat(1001)}));
    let error = ann.until_type("error");
    assert_eq!(
        (error["id"].clone(), error["code"].clone()),
        (json!(5), json!("too_large"))
    );
    ann.send(json!({"id": 6, "type": "say", "text": "x".repeat(1000)}));
    assert_eq!(ann.until_type("ack")["id"], 6);
}

#[test]
fn invalid_json_and_unknown_types_get_errors_naming_the_request() {
    let server = TestServer::start(&[]);
    let mut ann = server.json("ann");
    ann.send_raw(b"{not json}\n");
    assert_eq!(ann.until_type("error")["code"], "bad_request");
    ann.send(json!({"id": "u1", "type": "teleport"}));
    let error = ann.until_type("error");
    assert_eq!(error["id"], "u1");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("unknown variant `teleport`"),
        "{error}"
    );
    ann.send_raw(b"{\"type\":\"say\",\"text\":\"\xff\xfe\"}\n");
    assert_eq!(ann.until_type("error")["code"], "bad_request");
    ann.send(json!({"id": 2, "type": "ping"}));
    assert_eq!(ann.until_type("ack")["id"], 2);
}

#[test]
fn random_bytes_truncated_frames_and_resets_harm_nobody_else() {
    let server = TestServer::start(&[]);
    let mut ann = PlainClient::named(server.addr, "ann");
    let mut bob = PlainClient::named(server.addr, "bob");

    let mut noise = TcpStream::connect(server.addr).unwrap();
    let bytes: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let _ = noise.write_all(&bytes);
    drop(noise);
    still_served(&mut ann, &mut bob, "after-noise");

    let mut truncated = JsonClient::connect(server.addr, "truncated");
    truncated.send(json!({"type": "hello", "version": 1}));
    truncated.until_type("welcome");
    truncated.send_raw(b"{\"type\":\"say\",\"text\":\"half a fr");
    drop(truncated);
    still_served(&mut ann, &mut bob, "after-truncation");

    let reset = TcpStream::connect(server.addr).unwrap();
    socket2::SockRef::from(&reset)
        .set_linger(Some(std::time::Duration::ZERO))
        .unwrap();
    (&reset)
        .write_all(b"{\"type\":\"hello\",\"version\":1}\n{\"type\":\"say\",\"te")
        .unwrap();
    drop(reset);
    still_served(&mut ann, &mut bob, "after-reset");
    still_served(&mut bob, &mut ann, "both-ways");
}

/// Plays rounds (each sends something and says the line `keen` should see for it) until `keen` sees
/// the client called deaf quit; returns that line.
fn until_deaf_quits(keen: &mut PlainClient, mut round: impl FnMut(usize) -> String) -> String {
    for sent in 0..1000 {
        let wanted = round(sent);
        let line = keen.lines.until(|l| l == wanted || l.starts_with("-- deaf quit"));
        if line.starts_with("-- deaf quit") {
            return line;
        }
    }
    panic!("the deaf client was never dropped");
}

#[test]
fn a_client_that_never_reads_is_dropped_while_others_keep_up() {
    let server = TestServer::start(&["--max-backlog", "1000000"]);
    let mut loud = PlainClient::named(server.addr, "loud");
    let mut keen = PlainClient::named(server.addr, "keen");
    let deaf = TcpStream::connect(server.addr).unwrap();
    (&deaf).write_all(b"/nick deaf\n").unwrap();
    keen.lines.expect("-- user3 is now known as deaf");
    let text = "y".repeat(60_000);
    let quit = until_deaf_quits(&mut keen, |sent| {
        loud.say(&format!("{sent} {text}"));
        format!("<loud> {sent} {text}")
    });
    assert!(
        quit.starts_with("-- deaf quit (too slow: more than 1000000 bytes of lobby were waiting unread"),
        "{quit}"
    );
    still_served(&mut loud, &mut keen, "after-the-deaf-one");
    drop(deaf);
}

#[test]
fn a_burst_far_over_the_event_bound_costs_no_reader_its_place() {
    let server = TestServer::start(&["--max-queued", "4096", "--flood-control", "off"]);
    let mut ann = PlainClient::named(server.addr, "ann");
    let mut bob = PlainClient::named(server.addr, "bob");
    ann.lines.expect("-- user2 is now known as bob");
    let burst: String = (0..5000).map(|i| format!("burst {i}\n")).collect();
    ann.write(burst.as_bytes());
    for i in 0..5000 {
        bob.lines.expect(&format!("<ann> burst {i}"));
    }
    still_served(&mut ann, &mut bob, "after-the-burst");
}

#[test]
fn a_client_that_never_reads_its_direct_messages_is_dropped_too() {
    let server = TestServer::start(&["--max-queued", "4096"]);
    let mut loud = PlainClient::named(server.addr, "loud");
    let mut keen = PlainClient::named(server.addr, "keen");
    keen.say("/join quiet");
    keen.lines.expect("-- keen joined quiet");
    let deaf = TcpStream::connect(server.addr).unwrap();
    (&deaf).write_all(b"/nick deaf\n/join quiet\n/part lobby\n").unwrap();
    keen.lines.expect("-- deaf joined quiet");
    let text = "z".repeat(60_000);
    let quit = until_deaf_quits(&mut keen, |sent| {
        loud.say(&format!("/msg deaf {sent} {text}"));
        loud.say(&format!("tick {sent}"));
        format!("[lobby] <loud> tick {sent}")
    });
    assert!(
        quit.starts_with("-- deaf quit (too slow: more than 4096 bytes were waiting unread"),
        "{quit}"
    );
    drop(deaf);
}

#[test]
fn a_full_server_turns_newcomers_away_politely() {
    let server = TestServer::start(&["--max-connections", "1"]);
    let _first = PlainClient::connect(server.addr, "first");
    let second = TcpStream::connect(server.addr).unwrap();
    let mut lines = crate::support::Lines::spawn("second", second);
    assert_eq!(lines.next().unwrap(), "!! the server is full; try again later");
    assert_eq!(lines.next(), None);
}

#[test]
fn nobody_passes_for_the_operator_or_squats_the_next_guests_nick() {
    let server = TestServer::start(&[]);
    let mut mallory = PlainClient::connect(server.addr, "mallory");
    mallory.say("/nick server");
    mallory.lines.expect("!! the nick server is the operator's");
    mallory.say("/nick user2");
    mallory
        .lines
        .expect("!! nicks like user2 are given by the server to those who ask for none");
    let mut next = crate::support::Lines::spawn("next", TcpStream::connect(server.addr).unwrap());
    let welcome = next.until(|l| l.starts_with("-- welcome"));
    assert!(welcome.contains("you are user2 "), "{welcome}");
}

#[test]
fn an_unfinished_message_has_a_deadline_and_others_are_unharmed() {
    let server = TestServer::start(&["--frame-timeout", "1"]);
    let mut ann = PlainClient::named(server.addr, "ann");
    let mut bob = PlainClient::named(server.addr, "bob");
    let mut slow = PlainClient::named(server.addr, "slow");
    slow.write(b"this line never ends");
    let quit = bob.lines.until(|l| l.starts_with("-- slow quit"));
    assert_eq!(quit, "-- slow quit (a message took longer than 1 s to arrive)");
    still_served(&mut ann, &mut bob, "after-the-slow-one");
}

#[test]
fn unfinished_messages_share_a_budget_and_wait_for_it() {
    // The least budget the server takes (its largest frame's share) holds eight plain frames' shares.
    let share = 200_000 + 256 + 1 + 8 * 1024 - 64 * 1024;
    let least = 6 * 200_000 + 4096 + 1 + 8 * 1024 - 64 * 1024;
    let senders = least / share + 4;
    let budget = least.to_string();
    let server = TestServer::start(&["--max-message", "200000", "--max-unfinished", &budget]);
    let mut cy = PlainClient::named(server.addr, "cy");
    let mut clients: Vec<PlainClient> = (0..senders)
        .map(|i| PlainClient::named(server.addr, &format!("s{i}")))
        .collect();
    let big = |i: usize| char::from(b'a' + i as u8).to_string().repeat(150_000);
    // Every sender starts a large message at once; more of them than the budget holds.
    for (i, sender) in clients.iter_mut().enumerate() {
        sender.write(big(i).as_bytes());
    }
    for sender in &mut clients {
        sender.write(b"\n");
    }
    let mut got: Vec<String> = (0..senders).map(|_| cy.lines.until(|l| l.starts_with("<s"))).collect();
    got.sort();
    let mut want: Vec<String> = (0..senders).map(|i| format!("<s{i}> {}", big(i))).collect();
    want.sort();
    assert_eq!(
        got, want,
        "every message arrives whole, those that waited for the budget too"
    );
}

#[test]
fn a_client_that_holds_a_large_message_while_not_reading_lets_it_go_at_the_deadline() {
    let server = TestServer::start(&[
        "--frame-timeout",
        "1",
        "--flood-control",
        "off",
        "--max-queued",
        "16384",
    ]);
    let mut bob = PlainClient::named(server.addr, "bob");
    let slow = TcpStream::connect(server.addr).unwrap();
    (&slow).write_all(b"/nick slow\n").unwrap();
    bob.lines.expect("-- user2 is now known as slow");
    // A large line, then requests whose answers it never reads, then the start of another line.
    let mut bytes = format!("{}\n", "x".repeat(100_000)).into_bytes();
    bytes.extend("/help\n".repeat(100).as_bytes());
    bytes.extend(b"never finished");
    (&slow).write_all(&bytes).unwrap();
    let quit = bob.lines.until(|l| l.starts_with("-- slow quit"));
    assert_eq!(quit, "-- slow quit (a message took longer than 1 s to arrive)");
    drop(slow);
}

#[test]
fn two_large_direct_messages_to_a_reader_that_keeps_up_cost_it_nothing() {
    let server = TestServer::start(&[]);
    let mut ann = server.json("ann");
    let mut bob = server.json("bob");
    // Control bytes: each is six bytes escaped as JSON.
    let text = "\u{1}".repeat(1024 * 1024 - 16);
    for id in 1..=2 {
        ann.send(json!({"id": id, "type": "msg", "to": "bob", "text": text}));
    }
    for _ in 1..=2 {
        let message = bob.until_type("message");
        assert_eq!(message["text"].as_str().map(str::len), Some(text.len()));
    }
    bob.send(json!({"id": 9, "type": "ping"}));
    assert_eq!(bob.until_type("ack")["id"], 9, "bob is still connected");
}
