//! What `serve --db FILE` keeps across restarts, checked as a user would: messages acknowledged
//! before a kill -9, rooms and topics, ids, history pages, search scopes, retention, a full disk, an
//! old file and a newer one.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::process::Stdio;
use std::sync::mpsc::channel;
use std::time::Instant;

use serde_json::{Value, json};

use crate::on_disk::{Db, ask, events_until_pong, hello, history, ids, kill_hard, register, say, texts, whole_room};
use crate::support::{JsonClient, PlainClient, TIMEOUT, TestServer, binary, run};

/// How many messages the burst holds, and how many acks are seen before the kill.
const BURST: usize = 20_000;
const KILL_AFTER_ACKS: usize = 2_000;

/// Writes `BURST` says without waiting for any answer, until done, the deadline, or the socket fails.
fn pipeline_burst(client: &JsonClient) -> std::thread::JoinHandle<usize> {
    let mut stream = client.stream.try_clone().unwrap();
    std::thread::spawn(move || {
        let deadline = Instant::now() + TIMEOUT;
        let mut chunk = String::new();
        for n in 0..BURST {
            chunk.push_str(&json!({"id": n, "type": "say", "text": format!("burst {n}")}).to_string());
            chunk.push('\n');
            if (n + 1) % 100 == 0 {
                if Instant::now() > deadline || stream.write_all(chunk.as_bytes()).is_err() {
                    return n + 1 - 100;
                }
                chunk.clear();
            }
        }
        BURST
    })
}

/// The acks (request id, message id) and errors a sender got, in the order they came, until its
/// stream ended.
fn answers_until_end(client: &mut JsonClient) -> (Vec<(u64, u64)>, Vec<Value>) {
    let mut acks = Vec::new();
    let mut errors = Vec::new();
    while let Some(event) = client.next_event() {
        match event["type"].as_str() {
            Some("ack") => acks.push((event["id"].as_u64().unwrap(), event["message"].as_u64().unwrap())),
            Some("error") => errors.push(event),
            _ => {}
        }
    }
    (acks, errors)
}

#[test]
fn every_acknowledged_message_survives_kill_9_in_a_pipelined_burst() {
    stopped_in_a_pipelined_burst("normal", kill_hard);
}

#[test]
fn every_acknowledged_message_survives_kill_9_with_full_sync() {
    stopped_in_a_pipelined_burst("full", kill_hard);
}

#[test]
fn every_acknowledged_message_survives_sigterm_in_a_pipelined_burst() {
    stopped_in_a_pipelined_burst("normal", |server| assert_eq!(server.terminate(), Some(0)));
}

/// A sender pipelines a burst while a reader reads; the server is stopped by `stop` in the middle.
fn stopped_in_a_pipelined_burst(sync: &str, stop: fn(TestServer)) {
    let db = Db::new();
    let server = db.serve(&["--flood-control", "off", "--sync", sync]);
    let mut reader = server.json("reader");
    let mut sender = server.json("sender");
    let writer = pipeline_burst(&sender);
    let mut acks = Vec::new();
    while acks.len() < KILL_AFTER_ACKS {
        let event = sender.until_type("ack");
        acks.push((event["id"].as_u64().unwrap(), event["message"].as_u64().unwrap()));
    }
    stop(server);
    let (rest, errors) = answers_until_end(&mut sender);
    acks.extend(rest);
    assert!(errors.is_empty(), "errors before the kill: {errors:#?}");
    let written = writer.join().unwrap();
    assert!(
        acks.len() < BURST,
        "the kill came after all {BURST} were acknowledged: not in the middle"
    );
    let mut seen = Vec::new();
    while let Some(event) = reader.next_event() {
        if event["type"] == "message" {
            seen.push((
                event["id"].as_u64().unwrap(),
                event["text"].as_str().unwrap().to_owned(),
            ));
        }
    }
    eprintln!(
        "sync {sync}: wrote {written}, acknowledged {}, the reader saw {}",
        acks.len(),
        seen.len()
    );

    let restarted = db.serve(&[]);
    let mut auditor = restarted.json("auditor");
    let stored = whole_room(&mut auditor, "lobby");
    let stored_ids = ids(&stored);
    assert!(
        stored_ids.windows(2).all(|w| w[0] < w[1]),
        "history repeats or goes back"
    );
    let by_id: HashMap<u64, String> = stored_ids.iter().copied().zip(texts(&stored)).collect();
    for (n, (request, id)) in acks.iter().enumerate() {
        assert_eq!(*request, n as u64, "acks came out of request order");
        assert_eq!(
            by_id.get(id).map(String::as_str),
            Some(format!("burst {request}").as_str()),
            "acknowledged message {id} (request {request}) is missing after the kill"
        );
    }
    assert!(acks.windows(2).all(|w| w[0].1 < w[1].1), "ack ids do not increase");
    for (id, text) in &seen {
        assert_eq!(
            by_id.get(id),
            Some(text),
            "message {id} reached a reader but not the disk"
        );
    }
    // What was stored but never acknowledged can only be the next few in order, never a gap.
    let acked: HashSet<u64> = acks.iter().map(|(_, id)| *id).collect();
    let unacked: Vec<&String> = stored
        .iter()
        .filter(|m| !acked.contains(&m["id"].as_u64().unwrap()))
        .map(|m| by_id.get(&m["id"].as_u64().unwrap()).unwrap())
        .collect();
    let next: Vec<String> = (acks.len()..acks.len() + unacked.len())
        .map(|n| format!("burst {n}"))
        .collect();
    assert_eq!(unacked, next.iter().collect::<Vec<_>>(), "stored but not acknowledged");
}

#[test]
fn a_restart_keeps_rooms_and_topics_and_never_reuses_an_id() {
    let db = Db::new();
    let server = db.serve(&[]);
    let mut ann = server.json("ann");
    ask(&mut ann, json!({"type": "join", "room": "kitchen"}), "ack").unwrap();
    ask(
        &mut ann,
        json!({"type": "topic", "room": "kitchen", "topic": "soup at noon"}),
        "ack",
    )
    .unwrap();
    let before = [say(&mut ann, "is the soup on?"), say(&mut ann, "it is")];
    assert_eq!(server.terminate(), Some(0));

    let server = db.serve(&[]);
    let mut bob = server.json("bob");
    let rooms = ask(&mut bob, json!({"type": "rooms"}), "rooms").unwrap();
    let kitchen = rooms["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["room"] == "kitchen")
        .unwrap_or_else(|| panic!("no kitchen after the restart: {rooms}"));
    assert_eq!(kitchen["topic"], "soup at noon");
    let topic = ask(&mut bob, json!({"type": "topic", "room": "kitchen"}), "topic").unwrap();
    assert_eq!(topic["topic"], "soup at noon");
    ask(&mut bob, json!({"type": "join", "room": "kitchen"}), "ack").unwrap();
    let after = say(&mut bob, "any soup left?");
    assert!(
        before.iter().all(|&id| id < after),
        "{after} after {before:?}: an id was reused"
    );
    let kept = history(&mut bob, json!({"room": "kitchen"})).unwrap();
    assert_eq!(
        texts(kept["messages"].as_array().unwrap()),
        ["is the soup on?", "it is", "any soup left?"]
    );
}

#[test]
fn a_client_that_reconnects_gets_exactly_what_it_missed() {
    let db = Db::new();
    let server = db.serve(&[]);
    let mut ann = server.json("ann");
    let mut bob = server.json("bob");
    for n in 0..5 {
        say(&mut ann, &format!("before {n}"));
    }
    let mut read_up_to = 0;
    for n in 0..5 {
        let message = bob.until_type("message");
        assert_eq!(message["text"], format!("before {n}"));
        read_up_to = message["id"].as_u64().unwrap();
    }
    ask(&mut bob, json!({"type": "quit"}), "bye").unwrap();
    let missed: Vec<u64> = (0..7).map(|n| say(&mut ann, &format!("missed {n}"))).collect();

    let (mut bob, _) = hello(server.addr, json!({"nick": "bob"}));
    let page = history(&mut bob, json!({"after": read_up_to})).unwrap();
    let messages = page["messages"].as_array().unwrap();
    assert_eq!(ids(messages), missed);
    let want: Vec<String> = (0..7).map(|n| format!("missed {n}")).collect();
    assert_eq!(texts(messages), want);
    assert_eq!(page["more"], false);
}

/// Walks a room a page at a time in one direction: the ids in order, oldest first.
fn walk(client: &mut JsonClient, room: &str, limit: usize, forward: bool) -> Vec<u64> {
    let mut walked: Vec<u64> = Vec::new();
    let mut request = json!({"room": room, "limit": limit});
    if forward {
        request["after"] = json!(0);
    }
    loop {
        let page = history(client, request.clone()).unwrap();
        let page_ids = ids(page["messages"].as_array().unwrap());
        assert!(
            page_ids.len() <= limit,
            "{} messages in a page of {limit}",
            page_ids.len()
        );
        assert!(
            page_ids.windows(2).all(|w| w[0] < w[1]),
            "a page out of order: {page_ids:?}"
        );
        if forward {
            walked.extend(&page_ids);
            request["after"] = json!(walked.last());
        } else {
            walked.splice(0..0, page_ids.iter().copied());
            request["before"] = json!(walked.first());
        }
        if page["more"] == false {
            return walked;
        }
    }
}

#[test]
fn paging_after_and_before_walks_the_whole_room_without_gap_or_overlap() {
    let db = Db::new();
    let server = db.serve(&[]);
    let mut ann = server.json("ann");
    let mut bob = server.json("bob");
    ask(&mut ann, json!({"type": "join", "room": "attic"}), "ack").unwrap();
    ask(&mut bob, json!({"type": "join", "room": "attic"}), "ack").unwrap();
    let mut said = Vec::new();
    for n in 0..23 {
        said.push(say(&mut ann, &format!("attic {n}")));
        // Another room's messages in between must not show up in this one's pages.
        ask(
            &mut bob,
            json!({"type": "say", "room": "lobby", "text": "elsewhere"}),
            "ack",
        )
        .unwrap();
    }
    for limit in [1, 4, 23] {
        assert_eq!(walk(&mut bob, "attic", limit, true), said, "after, {limit} a page");
        assert_eq!(walk(&mut bob, "attic", limit, false), said, "before, {limit} a page");
    }
}

#[test]
fn a_plain_client_sees_earlier_messages_with_their_times_on_joining() {
    let db = Db::new();
    let server = db.serve(&[]);
    let mut ann = server.json("ann");
    for n in 0..12 {
        say(&mut ann, &format!("note {n}"));
    }
    assert_eq!(server.terminate(), Some(0));
    let server = db.serve(&[]);
    let mut cy = PlainClient::connect(server.addr, "cy");
    cy.lines
        .expect("-- earlier in lobby (times in UTC); /history 100 shows more:");
    let earlier = earlier_lines(&mut cy);
    let want: Vec<String> = (2..12).map(|n| format!("<ann> note {n}")).collect();
    assert_eq!(earlier, want);
    cy.say("/history 3");
    cy.lines
        .expect("-- earlier in lobby (times in UTC); /history 100 shows more:");
    assert_eq!(earlier_lines(&mut cy), want[7..]);
    // A clean shutdown indexed everything, so the search finds it at once.
    cy.say("/search NOTE 11");
    cy.lines.expect("-- 1 match for \"NOTE 11\", newest first:");
    let found = cy.lines.next().unwrap();
    let (place, said) = found.split_once("] ").unwrap();
    assert!(place.starts_with("[lobby "), "{found}");
    assert_eq!(said, "<ann> note 11");
}

/// The `[MM-DD HH:MM] <nick> text` lines up to the end of a history, each checked for its time and
/// given without it.
fn earlier_lines(client: &mut PlainClient) -> Vec<String> {
    let mut found = Vec::new();
    loop {
        let line = client.lines.next().expect("the end of the earlier messages");
        if line == "-- (end of earlier messages)" {
            return found;
        }
        let (time, rest) = line
            .strip_prefix('[')
            .and_then(|l| l.split_once("] "))
            .unwrap_or_else(|| panic!("no time on {line:?}"));
        assert!(
            chrono::NaiveDateTime::parse_from_str(&format!("2024-{time}"), "%Y-%m-%d %H:%M").is_ok(),
            "{time:?} is not MM-DD HH:MM"
        );
        found.push(rest.to_owned());
    }
}

#[test]
fn a_full_database_refuses_messages_but_still_serves_history_and_loses_nothing() {
    let db = Db::new();
    let server = db.serve(&["--db-max-bytes", "200000", "--flood-control", "off"]);
    let mut ann = server.json("ann");
    let mut kept = Vec::new();
    let mut refusal = None;
    for n in 0..1000 {
        let text = format!("fill {n} {}", "lorem ipsum dolor ".repeat(100));
        match ask(&mut ann, json!({"type": "say", "text": text}), "ack") {
            Ok(ack) => kept.push(ack["message"].as_u64().unwrap()),
            Err(error) => {
                refusal = Some(error);
                break;
            }
        }
    }
    let refusal = refusal.expect("200,000 bytes never filled up");
    assert_eq!(refusal["code"], "unavailable", "{refusal}");
    assert!(!kept.is_empty(), "refused from the first message");
    // No ack follows the error: the next answer is the pong.
    ann.send(json!({"id": "after", "type": "ping"}));
    let next = ann.until_type("pong");
    assert_eq!(next["type"], "pong");
    assert_eq!(ids(&whole_room(&mut ann, "lobby")), kept, "history while full");
    drop(ann);
    assert_eq!(server.terminate(), Some(0));

    let server = db.serve(&[]);
    let mut bob = server.json("bob");
    assert_eq!(ids(&whole_room(&mut bob, "lobby")), kept, "after the restart");
    let later = say(&mut bob, "room again");
    assert!(kept.iter().all(|&id| id < later));
}

/// The schema version this binary writes, read from a file it made.
fn current_schema_version(db: &Db) -> u32 {
    let made = run(&["account", "list", "--db", &db.path_text()], b"");
    assert!(made.status.success(), "{made:?}");
    let connection = rusqlite::Connection::open(&db.path).unwrap();
    connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap()
}

#[test]
fn a_first_schema_file_is_brought_up_to_date_and_its_messages_are_kept() {
    let db = Db::new();
    let connection = rusqlite::Connection::open(&db.path).unwrap();
    connection
        .execute_batch(include_str!("../../src/store/fixtures/v1.sql"))
        .unwrap();
    connection
        .execute(
            "INSERT INTO messages (id, ts, room_id, from_nick, text) VALUES (8, 1700000060000, 1, 'bob', 'an old reply')",
            [],
        )
        .unwrap();
    drop(connection);
    // The fixture's message is from 2023: kept only because this server keeps messages forever.
    let server = db.serve(&["--retention-days", "0"]);
    let log = server.log.seen_lines();
    let logged = |words: &[&str]| log.iter().any(|l| words.iter().all(|w| l.contains(w)));
    assert!(
        logged(&["brought the database's schema up to date", "from=1"]),
        "{log:#?}"
    );
    assert!(
        logged(&["restored from the store", "rooms=1", "accounts=1"]),
        "{log:#?}"
    );
    let mut ann = server.json("ann");
    let old = whole_room(&mut ann, "lobby");
    assert_eq!(ids(&old), [7, 8]);
    assert_eq!(texts(&old), ["hello from the first schema", "an old reply"]);
    assert_eq!(old[0]["from"], "alice");
    let topic = ask(&mut ann, json!({"type": "topic"}), "topic").unwrap();
    assert_eq!(topic["topic"], "welcome");
    assert!(say(&mut ann, "a new one") > 8);
    let found = search_until(&mut ann, json!({"query": "first schema"}), |found| !found.is_empty());
    assert_eq!(ids(&found), [7]);
    let (_, welcome) = hello(server.addr, json!({"nick": "alice"}));
    assert_ne!(welcome["nick"], "alice", "the old file's account lost its nick");
}

#[test]
fn a_file_from_a_newer_sockchat_is_refused_naming_both_versions() {
    let db = Db::new();
    let known = current_schema_version(&db);
    let connection = rusqlite::Connection::open(&db.path).unwrap();
    connection.pragma_update(None, "user_version", known + 1).unwrap();
    drop(connection);
    let child = binary()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-console",
            "--db",
            &db.path_text(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = channel();
    std::thread::spawn(move || tx.send(child.wait_with_output()));
    let output = match rx.recv_timeout(TIMEOUT) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            // SAFETY: kill(2) on the child this test started, which has not exited.
            unsafe { libc::kill(libc::pid_t::try_from(pid).unwrap(), libc::SIGKILL) };
            panic!("serve started on a file from a newer sockchat");
        }
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("schema version {}", known + 1)) && stderr.contains(&format!("the {known} this")),
        "{stderr}"
    );
}

/// Searches until `wanted` holds for the matches (indexing follows the commit by milliseconds).
pub fn search_until(client: &mut JsonClient, request: Value, wanted: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + TIMEOUT;
    let mut request = request;
    request["type"] = json!("search");
    loop {
        let answer = ask(client, request.clone(), "search").unwrap_or_else(|e| panic!("search refused: {e}"));
        let found = answer["messages"].as_array().unwrap().clone();
        if wanted(&found) {
            return found;
        }
        assert!(Instant::now() < deadline, "{request}: only {found:#?}");
    }
}

#[test]
fn search_finds_only_what_the_searcher_may_read() {
    let db = Db::new();
    let server = db.serve(&[]);
    let mut ann = server.json("ann");
    let mut bob = server.json("bob");
    let mut dee = server.json("dee");
    let mut cy = server.json("cy");
    for (client, password) in [
        (&mut ann, "ann's secret"),
        (&mut bob, "bob's secret"),
        (&mut dee, "dee's secret"),
    ] {
        register(client, password);
    }
    ask(&mut ann, json!({"type": "join", "room": "attic"}), "ack").unwrap();
    let attic = say(&mut ann, "a walrus upstairs");
    let direct = message_id(ask(
        &mut ann,
        json!({"type": "msg", "to": "bob", "text": "a walrus between us"}),
        "ack",
    ));
    let from_guest = message_id(ask(
        &mut cy,
        json!({"type": "msg", "to": "ann", "text": "a walrus from a guest"}),
        "ack",
    ));
    let lobby = message_id(ask(
        &mut bob,
        json!({"type": "say", "room": "lobby", "text": "a walrus downstairs"}),
        "ack",
    ));
    // Messages are indexed in id order: once the newest is found, all are.
    let walrus = json!({"query": "walrus"});
    let found = |client: &mut JsonClient| ids(&search_until(client, walrus.clone(), |f| ids(f).contains(&lobby)));
    assert_eq!(found(&mut ann), [lobby, from_guest, direct, attic]);
    assert_eq!(found(&mut bob), [lobby, direct]);
    assert_eq!(found(&mut dee), [lobby], "another account's direct messages");
    assert_eq!(found(&mut cy), [lobby], "a guest finds direct messages");
    let in_attic = search_until(&mut ann, json!({"query": "walrus", "room": "attic"}), |f| !f.is_empty());
    assert_eq!(ids(&in_attic), [attic]);
    let refused = ask(
        &mut bob,
        json!({"type": "search", "query": "walrus", "room": "attic"}),
        "search",
    )
    .unwrap_err();
    assert_eq!(refused["code"], "not_in_room");
    let refused = history(&mut cy, json!({"with": "ann"})).unwrap_err();
    assert_eq!(refused["code"], "not_logged_in");
    let between = history(&mut bob, json!({"with": "ann"})).unwrap();
    assert_eq!(ids(between["messages"].as_array().unwrap()), [direct]);
    let none = history(&mut dee, json!({"with": "ann"})).unwrap();
    assert_eq!(ids(none["messages"].as_array().unwrap()), Vec::<u64>::new());
}

fn message_id(ack: Result<Value, Value>) -> u64 {
    let ack = ack.unwrap_or_else(|error| panic!("refused: {error}"));
    ack["message"].as_u64().unwrap()
}

#[test]
fn a_file_already_past_its_cap_takes_no_new_message_and_keeps_the_old() {
    let db = Db::new();
    let server = db.serve(&["--flood-control", "off"]);
    let mut ann = server.json("ann");
    let kept: Vec<u64> = (0..150)
        .map(|n| say(&mut ann, &format!("fill {n} {}", "lorem ipsum dolor ".repeat(100))))
        .collect();
    drop(ann);
    assert_eq!(server.terminate(), Some(0));
    let size = database_bytes(&db);
    assert!(size > 200_000, "the file is only {size} bytes");

    // The cap cannot be below the file: the file may take no new page, only fill what it has.
    let server = db.serve(&["--db-max-bytes", "200000", "--flood-control", "off"]);
    let mut bob = server.json("bob");
    let mut kept = kept;
    let refused = (0..50).find_map(|n| {
        let text = format!("more {n} {}", "lorem ipsum dolor ".repeat(100));
        match ask(&mut bob, json!({"type": "say", "text": text}), "ack") {
            Ok(ack) => {
                kept.push(ack["message"].as_u64().unwrap());
                None
            }
            Err(error) => Some(error),
        }
    });
    let refused = refused.expect("the file grew past its cap by 50 messages");
    assert_eq!(refused["code"], "unavailable", "{refused}");
    assert_eq!(ids(&whole_room(&mut bob, "lobby")), kept);
    drop(bob);
    assert_eq!(server.terminate(), Some(0));
    let grown = database_bytes(&db);
    assert!(grown <= size, "{size} bytes grew to {grown} under a cap of 200,000");
    let server = db.serve(&[]);
    let mut cy = server.json("cy");
    assert_eq!(ids(&whole_room(&mut cy, "lobby")), kept);
}

/// How big the database is, its write-ahead log included: what `--db-max-bytes` caps.
fn database_bytes(db: &Db) -> u64 {
    let connection = rusqlite::Connection::open(&db.path).unwrap();
    let pragma = |name: &str| -> i64 { connection.pragma_query_value(None, name, |row| row.get(0)).unwrap() };
    u64::try_from(pragma("page_count") * pragma("page_size")).unwrap()
}

#[test]
fn an_acknowledged_topic_survives_kill_9() {
    let db = Db::new();
    for round in 0..5 {
        let server = db.serve(&[]);
        let mut ann = server.json("ann");
        let topic = format!("topic number {round}");
        ask(&mut ann, json!({"type": "topic", "topic": topic}), "ack").unwrap();
        kill_hard(server);
        let server = db.serve(&[]);
        let mut bob = server.json("bob");
        let kept = ask(&mut bob, json!({"type": "topic"}), "topic").unwrap();
        assert_eq!(kept["topic"], topic.as_str(), "round {round}");
    }
}

#[test]
fn a_room_keeps_only_its_newest_messages_under_retention_and_ids_go_on() {
    let db = Db::new();
    let server = db.serve(&["--flood-control", "off"]);
    let mut ann = server.json("ann");
    let said: Vec<u64> = (0..12).map(|n| say(&mut ann, &format!("note {n}"))).collect();
    drop(ann);
    kill_hard(server);
    // Pruning runs at start and then every minute or so: a restart is the quick way to see it.
    let server = db.serve(&["--retention-messages", "5"]);
    let mut bob = server.json("bob");
    let deadline = Instant::now() + TIMEOUT;
    let mut kept = whole_room(&mut bob, "lobby");
    while kept.len() > 5 {
        assert!(Instant::now() < deadline, "still {} messages kept", kept.len());
        kept = whole_room(&mut bob, "lobby");
    }
    assert_eq!(ids(&kept), said[7..]);
    let next = say(&mut bob, "after the pruning");
    assert!(next > said[11], "{next} after {}", said[11]);
}

#[test]
fn whoever_registers_a_deleted_accounts_nick_reads_none_of_its_direct_messages() {
    let db = Db::new();
    let server = db.serve(&[]);
    let mut ann = server.json("ann");
    let mut bob = server.json("bob");
    register(&mut ann, "ann's secret");
    register(&mut bob, "bob's secret");
    let direct = message_id(ask(
        &mut ann,
        json!({"type": "msg", "to": "bob", "text": "a walrus for bob"}),
        "ack",
    ));
    let walrus = json!({"query": "walrus"});
    assert_eq!(
        ids(&search_until(&mut bob, walrus.clone(), |f| !f.is_empty())),
        [direct]
    );
    ask(
        &mut bob,
        json!({"type": "unregister", "password": "bob's secret"}),
        "account",
    )
    .unwrap();
    ask(&mut bob, json!({"type": "quit"}), "bye").unwrap();

    let (mut newcomer, welcome) = hello(server.addr, json!({"nick": "bob"}));
    assert_eq!(welcome["nick"], "bob");
    register(&mut newcomer, "a new secret");
    let page = history(&mut newcomer, json!({"with": "ann"})).unwrap();
    assert_eq!(page["messages"], json!([]));
    let found = ask(&mut newcomer, json!({"type": "search", "query": "walrus"}), "search").unwrap();
    assert_eq!(found["messages"], json!([]));
    let kept = history(&mut ann, json!({"with": "bob"})).unwrap();
    assert_eq!(ids(kept["messages"].as_array().unwrap()), [direct], "the sender's copy");
}

#[test]
fn topics_set_on_a_full_database_are_not_acknowledged_unless_kept() {
    let db = Db::new();
    let server = db.serve(&["--db-max-bytes", "200000", "--flood-control", "off"]);
    let mut ann = server.json("ann");
    let full = (0..1000).find_map(|n| {
        let text = format!("fill {n} {}", "lorem ipsum dolor ".repeat(100));
        ask(&mut ann, json!({"type": "say", "text": text}), "ack").err()
    });
    assert_eq!(full.expect("never full")["code"], "unavailable");
    // Each new room's long topic is a new row: soon one needs a page the file may not have.
    let mut acknowledged = Vec::new();
    for n in 0..40 {
        let room = format!("room{n}");
        ask(&mut ann, json!({"type": "join", "room": room}), "ack").unwrap();
        let topic = format!("{n} {}", "a topic with nowhere to go ".repeat(18));
        let answer = ask(&mut ann, json!({"type": "topic", "room": room, "topic": topic}), "ack");
        let told = events_until_pong(&mut ann);
        let refused: Vec<&Value> = told.iter().filter(|e| e["type"] == "error").collect();
        match answer {
            Ok(_) if refused.is_empty() => acknowledged.push((room, topic)),
            Ok(_) => panic!("the topic of {room} was acknowledged, then refused: {refused:#?}"),
            Err(error) => {
                assert_eq!(error["code"], "unavailable", "{error}");
                break;
            }
        }
    }
    assert!(acknowledged.len() < 40, "40 long topics fitted");
    drop(ann);
    assert_eq!(server.terminate(), Some(0));
    let server = db.serve(&[]);
    let mut bob = server.json("bob");
    for (room, topic) in acknowledged {
        let kept = ask(&mut bob, json!({"type": "topic", "room": room}), "topic").unwrap();
        assert_eq!(kept["topic"], topic.as_str(), "the acknowledged topic of {room}");
    }
}
