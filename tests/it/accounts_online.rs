//! Accounts in the chat, kept in the database: registering, logging in (in the hello or later),
//! wrong passwords and their limit, changing and giving up a password; operators by account, and
//! the bans they set, across a restart.
//!
//! The warning for a password sent in the clear is not here: the server counts loopback as safe,
//! and these tests reach it over loopback only (see the hub's unit tests).

use std::net::{IpAddr, SocketAddr, TcpStream};

use serde_json::{Value, json};

use crate::on_disk::{Db, ask, events_until_pong, hello, kill_hard, register};
use crate::support::{JsonClient, Lines, PlainClient, run};

/// The error a hello's refusal came with, skipping what came before it.
fn hello_error(client: &mut JsonClient) -> Value {
    client.until_type("error")
}

fn is_guest_nick(nick: &Value) -> bool {
    let nick = nick.as_str().unwrap();
    ["user", "guest"].iter().any(|p| {
        nick.strip_prefix(p)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

#[test]
fn an_account_is_registered_logged_in_to_changed_and_given_up() {
    let db = Db::new();
    let server = db.serve(&[]);
    let mut ann = server.json("ann");
    assert_eq!(
        register(&mut ann, "correct horse"),
        json!({"type": "account", "account": "ann"})
    );

    let (mut other, welcome) = hello(server.addr, json!({"nick": "ann"}));
    assert!(is_guest_nick(&welcome["nick"]), "{welcome}");
    assert_eq!(hello_error(&mut other)["code"], "nick_taken");

    let (mut wrong, welcome) = hello(server.addr, json!({"nick": "ann", "password": "battery staple"}));
    assert!(is_guest_nick(&welcome["nick"]), "{welcome}");
    assert_eq!(hello_error(&mut wrong)["code"], "wrong_password");

    let (mut again, welcome) = hello(server.addr, json!({"nick": "ann", "password": "correct horse"}));
    assert_eq!(welcome["nick"], "ann");
    assert_eq!(again.until_type("account")["account"], "ann");
    // Whoever held the nick is given another.
    let notice = ann.until_type("notice");
    assert!(
        notice["text"]
            .as_str()
            .unwrap()
            .starts_with("ann logged in from another connection"),
        "{notice}"
    );
    let renamed = ann.until_type("renamed");
    assert_eq!(renamed["from"], "ann");
    assert!(is_guest_nick(&renamed["to"]), "{renamed}");

    ask(
        &mut again,
        json!({"type": "passwd", "password": "horse battery"}),
        "ack",
    )
    .unwrap();
    let (mut old, welcome) = hello(server.addr, json!({"nick": "ann", "password": "correct horse"}));
    assert!(
        is_guest_nick(&welcome["nick"]),
        "the old password still works: {welcome}"
    );
    assert_eq!(hello_error(&mut old)["code"], "wrong_password");
    drop((ann, other, wrong, again, old));
    kill_hard(server);

    let server = db.serve(&[]);
    let (mut ann, welcome) = hello(server.addr, json!({"nick": "ann", "password": "horse battery"}));
    assert_eq!(welcome["nick"], "ann", "the account did not outlive the restart");
    assert_eq!(ann.until_type("account")["account"], "ann");
    let wrong = json!({"type": "unregister", "password": "correct horse"});
    assert_eq!(ask(&mut ann, wrong, "ack").unwrap_err()["code"], "wrong_password");
    let (mut nobody, welcome) = hello(server.addr, json!({"nick": "nobody", "password": "any password"}));
    assert!(is_guest_nick(&welcome["nick"]), "{welcome}");
    assert_eq!(
        hello_error(&mut nobody)["code"],
        "wrong_password",
        "a nick with no account"
    );
    let gone = ask(
        &mut ann,
        json!({"type": "unregister", "password": "horse battery"}),
        "account",
    )
    .unwrap();
    assert_eq!(gone["account"], Value::Null);
    ask(&mut ann, json!({"type": "quit"}), "bye").unwrap();
    let (mut newcomer, welcome) = hello(server.addr, json!({"nick": "ann"}));
    assert_eq!(welcome["nick"], "ann", "unregistering did not free the nick");
    let told = events_until_pong(&mut newcomer);
    assert!(told.iter().all(|e| e["type"] != "error"), "{told:#?}");
}

#[test]
fn a_plain_user_registers_and_logs_in_by_typing() {
    let db = Db::new();
    let server = db.serve(&[]);
    let mut bob = PlainClient::named(server.addr, "bob");
    bob.say("/register batterystaple");
    bob.lines.expect("-- you are logged in to the account bob");
    let mut guest = PlainClient::connect(server.addr, "guest");
    guest.say("/login bob wrongwrong");
    guest.lines.until(|l| l.starts_with("!! ") && l.contains("password"));
    guest.say("/login bob batterystaple");
    guest.lines.until(|l| l.ends_with("is now known as bob"));
    guest.lines.expect("-- you are logged in to the account bob");
    bob.lines
        .until(|l| l.starts_with("-- bob logged in from another connection, so you are "));
    guest.say("/quit");
    guest.lines.rest();
    // Free again, the nick is still the account's.
    let mut stranger = PlainClient::connect(server.addr, "stranger");
    stranger.say("/nick bob");
    stranger
        .lines
        .expect("!! the nick bob is registered; /login bob PASSWORD to use it");
}

#[test]
fn failed_logins_past_the_limit_are_throttled_even_with_the_right_password() {
    let db = Db::new();
    let server = db.serve(&[]);
    let mut ann = server.json("ann");
    register(&mut ann, "correct horse");
    let (mut mallory, _) = hello(server.addr, json!({"nick": "mallory"}));
    let mut codes = Vec::new();
    for attempt in 0..8 {
        let guess = json!({"type": "login", "nick": "ann", "password": format!("guess number {attempt}")});
        let error = ask(&mut mallory, guess, "ack").unwrap_err();
        codes.push(error["code"].as_str().unwrap().to_owned());
    }
    // Five failures are free; the sixth locks the address for a while.
    let mut want = vec!["wrong_password"; 6];
    want.extend(["throttled"; 2]);
    assert_eq!(codes, want);
    let right = json!({"type": "login", "nick": "ann", "password": "correct horse"});
    let error = ask(&mut mallory, right, "ack").unwrap_err();
    assert_eq!(error["code"], "throttled");
    assert!(error["message"].as_str().unwrap().contains("try again in"), "{error}");
}

/// A connection from `source`, a loopback address other than 127.0.0.1.
fn connect_from(source: &str, addr: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let source: IpAddr = source.parse().unwrap();
    socket.bind(&SocketAddr::new(source, 0).into()).unwrap();
    socket.connect(&addr.into()).unwrap();
    socket.into()
}

/// A structured client from `source` that sent its hello as `nick`.
fn json_from(source: &str, addr: SocketAddr, nick: &str) -> JsonClient {
    let stream = connect_from(source, addr);
    let lines = Lines::spawn(nick, stream.try_clone().unwrap());
    let mut client = JsonClient { stream, lines };
    client.send(json!({"type": "hello", "version": 1, "nick": nick}));
    client
}

/// Asserts the connection is turned away with a bye holding `reason`, before any welcome.
fn refused_at_connect(mut client: JsonClient, reason: &str) {
    let first = client.next_event().expect("an answer to the hello");
    assert_eq!(first["type"], "bye", "let in: {first}");
    assert!(first["reason"].as_str().unwrap().contains(reason), "{first}");
    assert_eq!(client.next_event(), None);
}

/// The operator `root`, logged in by typing.
fn root_logs_in(addr: SocketAddr) -> PlainClient {
    let mut root = PlainClient::connect(addr, "root");
    root.say("/login root rootpassword");
    root.lines
        .expect("-- you are logged in to the account root, with the operator's powers");
    root
}

/// `/bans`, and the lines listing them.
fn bans(root: &mut PlainClient) -> Vec<String> {
    root.say("/bans");
    let head = root
        .lines
        .until(|l| l.starts_with("-- ") && (l.ends_with(" ban:") || l.ends_with(" bans:")));
    let count: usize = head[3..].split(' ').next().unwrap().parse().unwrap();
    (0..count).map(|_| root.lines.next().unwrap()).collect()
}

#[test]
fn an_operator_account_kicks_and_bans_and_the_bans_outlive_a_restart() {
    let db = Db::new();
    let path = db.path_text();
    let created = run(&["account", "create", "root", "--db", &path], b"rootpassword\n");
    assert!(created.status.success(), "{created:?}");
    let opered = run(&["account", "oper", "root", "--db", &path], b"");
    assert!(opered.status.success(), "{opered:?}");
    let server = db.serve(&[]);
    let mut root = root_logs_in(server.addr);

    let (mut bob, _) = hello(server.addr, json!({"nick": "bob"}));
    let refused = ask(&mut bob, json!({"type": "ban", "target": "root"}), "ack").unwrap_err();
    assert_eq!(refused["code"], "not_permitted");
    root.say("/kick bob flooding");
    assert_eq!(bob.until_type("bye")["reason"], "kicked by root: flooding");
    assert_eq!(bob.next_event(), None);

    let (mut bob, _) = hello(server.addr, json!({"nick": "bob"}));
    root.say("/ban bob 1h spamming");
    assert_eq!(bob.until_type("bye")["reason"], "banned by root: spamming");
    assert_eq!(bob.next_event(), None);
    refused_at_connect(json_from("127.0.0.1", server.addr, "bob"), "banned by root: spamming");

    let mut eve = json_from("127.0.0.2", server.addr, "eve");
    eve.until_type("welcome");
    root.say("/ban 127.0.0.2 30m open proxy");
    assert_eq!(eve.until_type("bye")["reason"], "banned by root: open proxy");
    assert_eq!(eve.next_event(), None);
    refused_at_connect(json_from("127.0.0.2", server.addr, "frank"), "open proxy");

    let listed = bans(&mut root);
    assert_eq!(listed.len(), 2, "{listed:#?}");
    assert!(
        listed[0].starts_with("--   127.0.0.2 by root, until ") && listed[0].ends_with(": open proxy"),
        "{listed:#?}"
    );
    assert!(
        listed[1].starts_with("--   bob by root, until ") && listed[1].ends_with(": spamming"),
        "{listed:#?}"
    );
    drop(root);
    kill_hard(server);

    let server = db.serve(&[]);
    refused_at_connect(json_from("127.0.0.1", server.addr, "bob"), "spamming");
    refused_at_connect(json_from("127.0.0.2", server.addr, "frank"), "open proxy");
    let mut plain_bob = PlainClient::connect(server.addr, "plain bob");
    plain_bob.say("/nick bob");
    let refused = plain_bob.lines.until(|l| l.starts_with("!! "));
    assert!(refused.contains("banned"), "{refused}");

    let mut root = root_logs_in(server.addr);
    root.say("/unban bob");
    assert_eq!(bans(&mut root).len(), 1);
    let (_, welcome) = hello(server.addr, json!({"nick": "bob"}));
    assert_eq!(welcome["nick"], "bob");
    root.say("/unban 127.0.0.2");
    assert!(bans(&mut root).is_empty());
    let mut frank = json_from("127.0.0.2", server.addr, "frank");
    assert_eq!(frank.until_type("welcome")["nick"], "frank");
}

#[test]
fn failed_logins_from_many_addresses_lock_the_account() {
    let db = Db::new();
    let server = db.serve(&[]);
    let mut ann = server.json("ann");
    register(&mut ann, "correct horse");
    let mut codes = Vec::new();
    // Two addresses fail five times each, free; a third fails once more, the account's eleventh.
    for source in ["127.0.0.2", "127.0.0.3", "127.0.0.4"] {
        let mut guesser = json_from(source, server.addr, "guesser");
        guesser.until_type("welcome");
        let tries = if source == "127.0.0.4" { 2 } else { 5 };
        for attempt in 0..tries {
            let guess = json!({"type": "login", "nick": "ann", "password": format!("guess {source} {attempt}")});
            codes.push(ask(&mut guesser, guess, "ack").unwrap_err()["code"].clone());
        }
    }
    let mut want = vec![json!("wrong_password"); 11];
    want.push(json!("throttled"));
    assert_eq!(codes, want);
    let mut elsewhere = json_from("127.0.0.5", server.addr, "elsewhere");
    elsewhere.until_type("welcome");
    let right = json!({"type": "login", "nick": "ann", "password": "correct horse"});
    assert_eq!(ask(&mut elsewhere, right, "ack").unwrap_err()["code"], "throttled");
}

#[test]
fn a_banned_account_cannot_come_back_by_logging_in_later() {
    let db = Db::new();
    let path = db.path_text();
    for (name, password) in [("root", "rootpassword\n"), ("bob", "batterystaple\n")] {
        let created = run(&["account", "create", name, "--db", &path], password.as_bytes());
        assert!(created.status.success(), "{created:?}");
    }
    assert!(run(&["account", "oper", "root", "--db", &path], b"").status.success());
    let server = db.serve(&[]);
    let mut root = root_logs_in(server.addr);
    root.say("/ban bob 1h spamming");
    assert_eq!(bans(&mut root).len(), 1);
    refused_at_connect(
        {
            let mut bob = JsonClient::connect(server.addr, "bob");
            bob.send(json!({"type": "hello", "version": 1, "nick": "bob", "password": "batterystaple"}));
            bob
        },
        "spamming",
    );
    let (mut guest, _) = hello(server.addr, json!({}));
    let login = json!({"type": "login", "nick": "bob", "password": "batterystaple"});
    let refused = ask(&mut guest, login, "ack").unwrap_err();
    assert_eq!(refused["code"], "banned", "{refused}");
}
