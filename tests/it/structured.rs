//! The structured (JSON lines) mode, including every transcript in docs/protocol.md replayed.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::{Value, json};

use crate::support::{JsonClient, PlainClient, TestServer};

const VARYING: [&str; 2] = ["ts", "server"];

/// Fields whose values differ from run to run, compared only for presence (in nested messages too).
fn normalise(mut value: Value) -> Value {
    match &mut value {
        Value::Object(object) => {
            for (key, field) in object.iter_mut() {
                *field = match VARYING.contains(&key.as_str()) {
                    true => json!("*"),
                    false => normalise(field.take()),
                };
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| *item = normalise(item.take())),
        _ => {}
    }
    value
}

/// The ```transcript blocks of docs/protocol.md: lines `NAME> json` (NAME sends) and `NAME< json`
/// (NAME receives, next in order).
fn transcripts() -> Vec<(String, Vec<String>)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/protocol.md")).unwrap();
    let mut found = Vec::new();
    let mut current: Option<Vec<String>> = None;
    let mut heading = String::new();
    for line in doc.lines() {
        if line.starts_with('#') {
            heading = line.trim_start_matches('#').trim().to_owned();
        }
        match (&mut current, line.trim()) {
            (None, "```transcript") => current = Some(Vec::new()),
            (Some(_), "```") => found.push((heading.clone(), current.take().unwrap())),
            (Some(lines), text) if !text.is_empty() => lines.push(text.to_owned()),
            _ => {}
        }
    }
    found
}

#[test]
fn every_transcript_in_the_protocol_document_replays() {
    let transcripts = transcripts();
    assert!(transcripts.len() >= 5, "found only {} transcripts", transcripts.len());
    for (heading, lines) in transcripts {
        let server = TestServer::start(&[]);
        let mut clients: HashMap<String, JsonClient> = HashMap::new();
        for line in lines {
            let (name, rest, sends) = match (line.split_once("> "), line.split_once("< ")) {
                (Some((name, rest)), _) if !name.contains(' ') => (name, rest, true),
                (_, Some((name, rest))) if !name.contains(' ') => (name, rest, false),
                _ => panic!("{heading}: cannot read transcript line {line:?}"),
            };
            let client = clients
                .entry(name.to_owned())
                .or_insert_with(|| JsonClient::connect(server.addr, name));
            if sends {
                client.send_raw(format!("{rest}\n").as_bytes());
                continue;
            }
            let want: Value = serde_json::from_str(rest).unwrap_or_else(|e| panic!("{heading}: {e}: {rest}"));
            let got = client
                .next_event()
                .unwrap_or_else(|| panic!("{heading}: {name}'s stream ended before {rest}"));
            assert_eq!(normalise(got), normalise(want), "{heading}: {name} expected {rest}");
        }
    }
}

#[test]
fn a_one_mebibyte_message_arrives_intact_in_both_modes() {
    let server = TestServer::start(&[]);
    let mut ann = server.json("ann");
    let mut bob = server.json("bob");
    let mut cy = PlainClient::named(server.addr, "cy");
    let text: String = (0..1024 * 1024).map(|i| char::from(b'A' + (i % 26) as u8)).collect();
    ann.send(json!({"id": "big", "type": "say", "text": text}));
    let ack = ann.until_type("ack");
    assert_eq!(ack["id"], "big");
    let message = bob.until_type("message");
    assert_eq!(message["text"].as_str().unwrap(), text);
    assert_eq!(message["id"], ack["message"]);
    let line = cy.lines.until(|l| l.starts_with("<ann>"));
    assert_eq!(line, format!("<ann> {text}"));
}

#[test]
fn a_multi_line_message_is_one_event_and_prefixed_lines_in_text() {
    let server = TestServer::start(&[]);
    let mut ann = server.json("ann");
    let mut bob = server.json("bob");
    let mut cy = PlainClient::named(server.addr, "cy");
    ann.send(json!({"type": "say", "text": "roses are red\nviolets are blue\n\nend"}));
    assert_eq!(
        bob.until_type("message")["text"],
        "roses are red\nviolets are blue\n\nend"
    );
    cy.lines.expect("<ann> roses are red");
    assert_eq!(cy.lines.next().unwrap(), "<ann> violets are blue");
    assert_eq!(cy.lines.next().unwrap(), "<ann> ");
    assert_eq!(cy.lines.next().unwrap(), "<ann> end");
}

#[test]
fn message_ids_increase_across_the_server() {
    let server = TestServer::start(&[]);
    let mut ann = server.json("ann");
    let mut bob = server.json("bob");
    let mut last = 0;
    for i in 0..20 {
        let (sender, receiver) = if i % 2 == 0 {
            (&mut ann, &mut bob)
        } else {
            (&mut bob, &mut ann)
        };
        sender.send(json!({"type": "say", "text": format!("n{i}")}));
        let id = receiver.until_type("message")["id"].as_u64().unwrap();
        assert!(id > last, "{id} after {last}");
        last = id;
    }
}

#[test]
fn a_wrong_version_or_a_missing_hello_is_refused_and_closed() {
    let server = TestServer::start(&[]);
    let mut old = JsonClient::connect(server.addr, "old");
    old.send(json!({"type": "hello", "version": 99}));
    assert_eq!(old.until_type("error")["code"], "unsupported_version");
    assert_eq!(old.next_event(), None);
    let mut rude = JsonClient::connect(server.addr, "rude");
    rude.send(json!({"type": "say", "text": "no hello"}));
    let error = rude.until_type("error");
    assert_eq!(error["message"], "the first frame must be a hello");
    assert_eq!(rude.next_event(), None);
}

#[test]
fn a_client_that_never_finishes_its_hello_is_dropped() {
    let mut server = TestServer::start(&["--handshake-timeout", "0.5"]);
    let started = Instant::now();
    let mut stuck = JsonClient::connect(server.addr, "stuck");
    stuck.send_raw(b"{\"type\":\"hel");
    assert_eq!(stuck.until_type("error")["message"], "no hello arrived in time");
    assert_eq!(stuck.next_event(), None);
    assert!(started.elapsed().as_secs_f64() >= 0.5);
    server
        .log
        .until(|l| l.contains("handshake failed") && l.contains("no hello arrived in time"));
    let mut fine = server.json("fine");
    fine.send(json!({"id": 1, "type": "ping"}));
    assert_eq!(fine.until_type("pong")["type"], "pong");
}
