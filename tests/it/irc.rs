//! The IRC listener over raw TCP: registration, rooms shared with plain and JSON users, direct
//! messages across modes, long messages, nick collisions, pings, SASL, bans, the chat port's ERROR,
//! and every transcript in docs/irc.md replayed.

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};

use base64::Engine as _;
use serde_json::json;

use crate::support::{JsonClient, Lines, PlainClient, TestServer};

/// A server with a chat port (`server.addr`) and an IRC port (returned beside it).
pub fn irc_server(extra: &[&str]) -> (TestServer, SocketAddr) {
    irc_server_from(&["--listen", "127.0.0.1:0", "--no-console"], extra)
}

pub fn irc_server_from(base: &[&str], extra: &[&str]) -> (TestServer, SocketAddr) {
    let mut base = base.to_vec();
    base.extend(["--listen", "irc://127.0.0.1:0"]);
    let mut server = TestServer::launch(&base, extra);
    let line = server.log.until(|l| l.contains("listening on irc://"));
    let addr = line.rsplit("irc://").next().unwrap().trim().parse().unwrap();
    (server, addr)
}

/// An IRC client over a raw socket: lines out, lines in (without CR LF).
pub struct IrcClient {
    pub stream: TcpStream,
    pub lines: Lines,
}

impl IrcClient {
    pub fn connect(addr: SocketAddr, name: &str) -> IrcClient {
        let stream = TcpStream::connect(addr).unwrap();
        let lines = Lines::spawn(name, stream.try_clone().unwrap());
        IrcClient { stream, lines }
    }

    /// Connects and registers as `nick` without CAP, waiting for the end of the welcome.
    pub fn registered(addr: SocketAddr, nick: &str) -> IrcClient {
        let mut client = IrcClient::connect(addr, nick);
        client.send(&format!("NICK {nick}"));
        client.send(&format!("USER {nick} 0 * :{nick}"));
        client.until(|l| l.contains(" 422 "));
        client
    }

    pub fn send(&mut self, line: &str) {
        self.stream.write_all(format!("{line}\r\n").as_bytes()).unwrap();
    }

    /// The next line, or `None` at the end of the stream.
    pub fn next(&mut self) -> Option<String> {
        self.lines.next().map(|l| l.trim_end_matches('\r').to_owned())
    }

    pub fn until(&mut self, mut wanted: impl FnMut(&str) -> bool) -> String {
        self.lines
            .until(|l| wanted(l.trim_end_matches('\r')))
            .trim_end_matches('\r')
            .to_owned()
    }

    pub fn expect(&mut self, line: &str) -> String {
        self.until(|l| l == line)
    }

    /// Joins `channel` and waits for the end of its names.
    pub fn join(&mut self, channel: &str) {
        self.send(&format!("JOIN {channel}"));
        self.until(|l| l.contains(" 366 "));
    }
}

/// Whether `line` matches `pattern`, where `{any}` stands for any text.
fn matches(pattern: &str, line: &str) -> bool {
    let mut pieces = pattern.split("{any}");
    let first = pieces.next().unwrap_or("");
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    for (i, piece) in pieces.iter().enumerate() {
        if i == pieces.len() - 1 {
            return rest.ends_with(piece);
        }
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// The ```irc-transcript blocks of docs/irc.md, each under its heading.
fn transcripts() -> Vec<(String, Vec<String>)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/irc.md")).unwrap();
    let mut found = Vec::new();
    let mut current: Option<Vec<String>> = None;
    let mut heading = String::new();
    for line in doc.lines() {
        if line.starts_with('#') && current.is_none() {
            heading = line.trim_start_matches('#').trim().to_owned();
        }
        match (&mut current, line.trim()) {
            (None, "```irc-transcript") => current = Some(Vec::new()),
            (Some(_), "```") => found.push((heading.clone(), current.take().unwrap())),
            (Some(lines), text) if !text.is_empty() => lines.push(text.to_owned()),
            _ => {}
        }
    }
    found
}

#[test]
fn every_transcript_in_the_irc_document_replays() {
    let transcripts = transcripts();
    assert!(transcripts.len() >= 4, "found only {} transcripts", transcripts.len());
    for (heading, lines) in transcripts {
        let (_server, irc) = irc_server(&[]);
        let mut clients: HashMap<String, IrcClient> = HashMap::new();
        for line in lines {
            let (name, rest, sends) = match (line.split_once("> "), line.split_once("< ")) {
                (Some((name, rest)), _) if !name.contains(' ') => (name, rest, true),
                (_, Some((name, rest))) if !name.contains(' ') => (name, rest, false),
                _ => panic!("{heading}: cannot read transcript line {line:?}"),
            };
            let client = clients
                .entry(name.to_owned())
                .or_insert_with(|| IrcClient::connect(irc, name));
            if sends {
                client.send(rest);
                continue;
            }
            let got = client
                .next()
                .unwrap_or_else(|| panic!("{heading}: {name}'s stream ended before {rest}"));
            assert!(matches(rest, &got), "{heading}: {name} expected {rest:?}, got {got:?}");
        }
    }
}

#[test]
fn the_transcript_pattern_matches_as_documented() {
    for (pattern, line, want) in [
        ("a {any} c", "a b c", true),
        ("a {any} c", "a b d", false),
        ("a {any}", "a anything at all", true),
        ("exact", "exact", true),
        ("exact", "exactly", false),
        ("{any} x {any} y", "1 x 2 y", true),
    ] {
        assert_eq!(matches(pattern, line), want, "{pattern:?} {line:?}");
    }
}

#[test]
fn irc_plain_and_json_users_share_a_room_both_ways() {
    let (server, irc) = irc_server(&[]);
    let mut ann = IrcClient::registered(irc, "ann");
    ann.join("#rust");
    let mut cy = PlainClient::named(server.addr, "cy");
    cy.say("/join rust");
    ann.expect(":cy!cy@sockchat JOIN #rust");
    let mut dee = JsonClient::connect(server.addr, "dee");
    dee.send(json!({"type": "hello", "version": 1, "nick": "dee", "room": "rust"}));
    dee.until_type("welcome");
    ann.expect(":dee!dee@sockchat JOIN #rust");

    ann.send("PRIVMSG #rust :hello from irc");
    cy.lines.expect("<ann> hello from irc");
    let said = dee.until_type("message");
    assert_eq!(
        (said["from"].clone(), said["text"].clone()),
        (json!("ann"), json!("hello from irc"))
    );

    cy.say("hello from nc");
    ann.expect(":cy!cy@sockchat PRIVMSG #rust :hello from nc");
    dee.send(json!({"type": "say", "room": "rust", "text": "hello from json"}));
    ann.expect(":dee!dee@sockchat PRIVMSG #rust :hello from json");

    // /me both ways, as CTCP ACTION.
    cy.say("/me waves");
    ann.expect(":cy!cy@sockchat PRIVMSG #rust :\u{1}ACTION waves\u{1}");
    ann.send("PRIVMSG #rust :\u{1}ACTION bows\u{1}");
    let action = loop {
        let message = dee.until_type("message");
        if message["from"] == "ann" {
            break message;
        }
    };
    assert_eq!(
        (action["text"].clone(), action["action"].clone()),
        (json!("bows"), json!(true))
    );

    // Others' renames, parts and quits as IRC lines.
    cy.say("/nick cyril");
    ann.expect(":cy!cy@sockchat NICK cyril");
    dee.send(json!({"type": "part", "room": "rust"}));
    ann.expect(":dee!dee@sockchat PART #rust");
    cy.say("/quit gone fishing");
    ann.expect(":cyril!cyril@sockchat QUIT :gone fishing");

    // And the IRC user's own, to the others.
    let mut eve = PlainClient::named(server.addr, "eve");
    eve.say("/join rust");
    ann.expect(":eve!eve@sockchat JOIN #rust");
    ann.send("NICK annie");
    eve.lines.expect("-- ann is now known as annie");
    ann.send("QUIT :later");
    ann.expect("ERROR :Closing link: later");
    eve.lines.until(|l| l.starts_with("-- annie quit"));
}

#[test]
fn direct_messages_cross_modes() {
    let (server, irc) = irc_server(&[]);
    let mut ann = IrcClient::registered(irc, "ann");
    let mut cy = PlainClient::named(server.addr, "cy");
    let mut dee = server.json("dee");
    ann.send("PRIVMSG cy :psst cy");
    cy.lines.until(|l| l.contains("psst cy") && l.contains("ann"));
    ann.send("PRIVMSG dee :psst dee");
    let dm = dee.until_type("message");
    assert_eq!(
        (dm["from"].clone(), dm["to"].clone(), dm["text"].clone()),
        (json!("ann"), json!("dee"), json!("psst dee"))
    );
    cy.say("/msg ann hi back");
    ann.expect(":cy!cy@sockchat PRIVMSG ann :hi back");
    dee.send(json!({"type": "msg", "to": "ann", "text": "and from json"}));
    ann.expect(":dee!dee@sockchat PRIVMSG ann :and from json");
}

#[test]
fn a_long_multi_line_message_reaches_irc_whole() {
    let (server, irc) = irc_server(&[]);
    let mut ann = IrcClient::registered(irc, "ann");
    ann.join("#rust");
    let mut dee = JsonClient::connect(server.addr, "dee");
    dee.send(json!({"type": "hello", "version": 1, "nick": "dee", "room": "rust"}));
    dee.until_type("welcome");
    // Two lines, the second far longer than an IRC line, with characters of 1, 2, 3 and 4 bytes.
    let long: String = "aé€😀".repeat(300);
    let text = format!("short first line\n{long}");
    dee.send(json!({"id": 1, "type": "say", "room": "rust", "text": text}));
    dee.until_type("ack");
    let prefix = ":dee!dee@sockchat PRIVMSG #rust :";
    ann.expect(&format!("{prefix}short first line"));
    let mut rebuilt = String::new();
    while rebuilt.len() < long.len() {
        let line = ann.next().expect("more of the message");
        assert!(line.len() + 2 <= 512, "a line of {} bytes", line.len() + 2);
        let piece = line
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("not a piece: {line:?}"));
        rebuilt.push_str(piece);
    }
    assert_eq!(rebuilt, long);
}

#[test]
fn a_multi_line_message_is_one_batch_where_multiline_was_negotiated() {
    let (server, irc) = irc_server(&[]);
    let mut ann = IrcClient::connect(irc, "ann");
    for line in [
        "CAP LS 302",
        "CAP REQ :batch draft/multiline message-tags",
        "NICK ann",
        "USER ann 0 * :Ann",
        "CAP END",
    ] {
        ann.send(line);
    }
    ann.until(|l| l.contains(" 422 "));
    ann.join("#rust");
    let mut dee = JsonClient::connect(server.addr, "dee");
    dee.send(json!({"type": "hello", "version": 1, "nick": "dee", "room": "rust"}));
    dee.until_type("welcome");
    let long = "é".repeat(400);
    dee.send(json!({"id": 1, "type": "say", "room": "rust", "text": format!("one\n\n{long}")}));
    let id = dee.until_type("ack")["message"].as_u64().unwrap();
    let opening = ann.until(|l| l.contains(" BATCH +"));
    assert_eq!(
        opening,
        format!("@msgid={id} :dee!dee@sockchat BATCH +ml{id} draft/multiline #rust")
    );
    let mut text = String::new();
    for i in 0.. {
        let line = ann.next().unwrap();
        if line == format!(":dee!dee@sockchat BATCH -ml{id}") {
            break;
        }
        assert!(line.len() + 2 <= 512 + 8191, "{line}");
        let (tags, rest) = line.split_once(' ').unwrap();
        assert!(tags.contains(&format!("batch=ml{id}")), "{line}");
        let piece = rest.strip_prefix(":dee!dee@sockchat PRIVMSG #rust :").unwrap();
        if i > 0 && !tags.contains("draft/multiline-concat") {
            text.push('\n');
        }
        text.push_str(piece);
    }
    assert_eq!(text, format!("one\n\n{long}"));

    // And a batch from IRC is one message to the others.
    for line in [
        "BATCH +x draft/multiline #rust",
        "@batch=x PRIVMSG #rust :first",
        "@batch=x PRIVMSG #rust :second",
        "BATCH -x",
    ] {
        ann.send(line);
    }
    let message = dee.until_type("message");
    assert_eq!(message["text"], "first\nsecond");
}

#[test]
fn a_taken_nick_is_refused_before_registration_and_another_is_taken() {
    let (server, irc) = irc_server(&[]);
    let _cy = PlainClient::named(server.addr, "cy");
    let mut ann = IrcClient::connect(irc, "ann");
    ann.send("NICK CY");
    ann.send("USER ann 0 * :Ann");
    ann.expect(":sockchat 433 * CY :Nickname is already in use");
    ann.send("NICK 1x");
    ann.expect(":sockchat 432 * 1x :Erroneous nickname");
    ann.send("NICK ann");
    ann.expect(":sockchat 001 ann :Welcome to the sockchat IRC network, ann");
    // After registration too.
    ann.send("NICK cy");
    ann.expect(":sockchat 433 ann cy :Nickname is already in use");
}

#[test]
fn a_silent_irc_client_is_pinged_and_dropped() {
    let (server, irc) = irc_server(&["--ping-after", "1", "--ping-timeout", "1"]);
    let mut watcher = PlainClient::named(server.addr, "watcher");
    let mut alive = IrcClient::registered(irc, "alive");
    let mut mute = IrcClient::registered(irc, "mute");
    for client in [&mut alive, &mut mute] {
        client.send("JOIN #lobby");
    }
    watcher.lines.expect("-- mute joined lobby");
    alive.expect("PING sockchat");
    alive.send("PONG sockchat");
    mute.expect("PING sockchat");
    let quit = watcher.lines.until(|l| l.starts_with("-- mute quit"));
    assert_eq!(quit, "-- mute quit (no answer to a ping within 1 s)");
    alive.expect("PING sockchat");
    alive.send("PING still-here");
    alive.expect(":sockchat PONG sockchat still-here");
}

#[test]
fn registration_that_does_not_end_in_time_is_closed() {
    let (_server, irc) = irc_server(&["--handshake-timeout", "1"]);
    let mut slow = IrcClient::connect(irc, "slow");
    slow.send("CAP LS 302");
    slow.send("NICK slow");
    slow.send("USER slow 0 * :Slow");
    slow.until(|l| l.contains(" LS "));
    slow.expect("ERROR :Closing link: Registration timed out");
    assert_eq!(slow.next(), None);
}

#[test]
fn an_irc_client_on_the_chat_port_is_told_where_irc_is() {
    let (server, irc) = irc_server(&[]);
    let mut watcher = PlainClient::named(server.addr, "watcher");
    let mut lost = IrcClient::connect(server.addr, "lost");
    lost.send("CAP LS 302");
    lost.send("NICK lost");
    lost.send("USER lost 0 * :Lost");
    let error = lost.next().unwrap();
    assert_eq!(
        error,
        format!("ERROR :This is a sockchat chat port, not IRC; IRC is served at irc://{irc}")
    );
    assert_eq!(lost.next(), None);
    // Nothing of it reached the lobby: the next thing the watcher sees is what it asks.
    watcher.say("/who");
    let who = watcher.lines.until(|l| l.starts_with("-- "));
    assert!(who.starts_with("-- lobby has"), "{who}");

    let plain_only = TestServer::start(&[]);
    let mut lost = IrcClient::connect(plain_only.addr, "lost");
    lost.send("NICK lost");
    assert_eq!(
        lost.next().unwrap(),
        "ERROR :This is a sockchat chat port, not IRC; this server serves no IRC port"
    );
}

#[test]
fn sasl_plain_logs_in_to_an_account() {
    let (server, irc) = irc_server(&[]);
    let mut owner = server.json("ann");
    owner.send(json!({"id": 1, "type": "register", "password": "correct horse"}));
    owner.until_type("ack");
    owner.send(json!({"type": "quit"}));
    owner.until_type("bye");

    let sasl = |password: &str| base64::engine::general_purpose::STANDARD.encode(format!("\0ann\0{password}"));
    let mut wrong = IrcClient::connect(irc, "wrong");
    wrong.send("CAP LS 302");
    wrong.send("CAP REQ sasl");
    wrong.send("NICK someone");
    wrong.send("USER x 0 * :x");
    wrong.send("AUTHENTICATE PLAIN");
    wrong.expect("AUTHENTICATE +");
    wrong.send(&format!("AUTHENTICATE {}", sasl("battery staple")));
    wrong.expect(":sockchat 904 someone :SASL authentication failed");

    let mut ann = IrcClient::connect(irc, "ann");
    ann.send("CAP LS 302");
    ann.send("CAP REQ sasl");
    ann.send("NICK guestling");
    ann.send("USER ann 0 * :Ann");
    ann.send("AUTHENTICATE PLAIN");
    ann.expect("AUTHENTICATE +");
    ann.send(&format!("AUTHENTICATE {}", sasl("correct horse")));
    ann.expect(":sockchat 900 guestling ann!ann@sockchat ann :You are now logged in as ann");
    ann.expect(":sockchat 903 guestling :SASL authentication successful");
    ann.send("CAP END");
    // The account's nick is the one it gets.
    ann.expect(":sockchat 001 ann :Welcome to the sockchat IRC network, ann");
    // And nobody else may register as ann.
    let mut other = IrcClient::connect(irc, "other");
    other.send("NICK ann");
    other.send("USER o 0 * :o");
    other.expect(":sockchat 433 * ann :Nickname is already in use");
}

#[test]
fn bans_keep_irc_users_out() {
    let (mut server, irc) = irc_server_from(&["--listen", "127.0.0.1:0", "--console"], &[]);
    let mut bob = IrcClient::registered(irc, "bob");
    bob.join("#lobby");
    server.console_line("/ban bob 1h spamming");
    bob.expect("ERROR :Closing link: banned by server: spamming");
    let mut again = IrcClient::connect(irc, "bob again");
    again.send("NICK bob");
    again.send("USER bob 0 * :Bob");
    again.expect(":sockchat 432 * bob :Erroneous nickname");
    // An address ban closes the connection at registration.
    server.console_line("/ban 127.0.0.1 1h everyone here");
    let mut anyone = IrcClient::connect(irc, "anyone");
    anyone.send("NICK anyone");
    anyone.send("USER a 0 * :a");
    anyone.until(|l| l.starts_with("ERROR :Closing link: banned"));
}

#[test]
fn a_server_password_is_asked_in_every_mode() {
    let (server, irc) = irc_server(&["--server-password", "sesame"]);
    let mut json_without = JsonClient::connect(server.addr, "json without");
    json_without.send(json!({"type": "hello", "version": 1, "nick": "dee"}));
    let refused = json_without.until_type("error");
    assert_eq!(refused["code"], "wrong_password");
    let mut json_with = JsonClient::connect(server.addr, "json with");
    json_with.send(json!({"type": "hello", "version": 1, "nick": "dee", "pass": "sesame"}));
    json_with.until_type("welcome");

    let stream = TcpStream::connect(server.addr).unwrap();
    let mut plain = crate::support::PlainClient {
        lines: Lines::spawn("plain", stream.try_clone().unwrap()),
        stream,
    };
    plain
        .lines
        .expect("-- this server needs a password: type /pass PASSWORD");
    plain.say("/pass wrong");
    plain.lines.expect("!! wrong server password");
    let stream = TcpStream::connect(server.addr).unwrap();
    let mut plain = crate::support::PlainClient {
        lines: Lines::spawn("plain again", stream.try_clone().unwrap()),
        stream,
    };
    plain
        .lines
        .expect("-- this server needs a password: type /pass PASSWORD");
    plain.say("/pass sesame");
    plain.lines.until(|l| l.starts_with("-- welcome"));

    let mut without = IrcClient::connect(irc, "without");
    without.send("NICK ann");
    without.send("USER ann 0 * :Ann");
    without.expect(":sockchat 464 ann :Password incorrect");
    without.until(|l| l.starts_with("ERROR "));
    let mut with = IrcClient::connect(irc, "with");
    with.send("PASS sesame");
    with.send("NICK ann");
    with.send("USER ann 0 * :Ann");
    with.expect(":sockchat 001 ann :Welcome to the sockchat IRC network, ann");
}

#[test]
fn flood_control_slows_an_irc_client_without_losing_its_lines() {
    let (server, irc) = irc_server(&[]);
    let mut ann = IrcClient::registered(irc, "ann");
    ann.join("#lobby");
    let mut cy = PlainClient::named(server.addr, "cy");
    let burst: String = (0..200).map(|i| format!("PRIVMSG #lobby :n{i}\r\n")).collect();
    ann.stream.write_all(burst.as_bytes()).unwrap();
    for i in 0..200 {
        cy.lines.expect(&format!("<ann> n{i}"));
    }
}

#[test]
fn the_chat_clients_refuse_an_irc_address() {
    let output = crate::support::run(&["send", "irc://127.0.0.1:1"], b"hi\n");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("is an IRC address"), "{stderr}");
}

#[test]
fn an_operators_kick_takes_a_user_out_of_the_channel_and_no_further() {
    let db = crate::on_disk::Db::new();
    let path = db.path_text();
    let created = crate::support::run(&["account", "create", "root", "--db", &path], b"rootpassword\n");
    assert!(created.status.success(), "{created:?}");
    let opered = crate::support::run(&["account", "oper", "root", "--db", &path], b"");
    assert!(opered.status.success(), "{opered:?}");
    let (server, irc) = irc_server(&["--db", &path]);
    let mut root = IrcClient::registered(irc, "boss");
    root.send("OPER root rootpassword");
    root.expect(":sockchat 381 root :You are now an IRC operator");
    let mut ann = IrcClient::registered(irc, "ann");
    ann.join("#rust");
    let mut bob = IrcClient::registered(irc, "bob");
    bob.join("#rust");
    ann.expect(":bob!bob@sockchat JOIN #rust");
    let mut carol = server.json("carol");
    carol.send(json!({"id": 1, "type": "join", "room": "rust"}));
    carol.until_type("ack");
    ann.send("KICK #rust bob :not yours");
    ann.expect(":sockchat 482 ann #rust :You're not channel operator");

    root.send("KICK #rust bob :off topic");
    let kick = ":root!root@sockchat KICK #rust bob :off topic";
    bob.expect(kick);
    ann.expect(kick);
    let kicked = carol.until_type("kicked");
    assert_eq!(kicked["nick"], "bob");
    assert_eq!(kicked["by"], "root");
    assert_eq!(kicked["reason"], "off topic");
    // bob is still connected, and out of the channel.
    bob.send("PRIVMSG #rust :still here?");
    bob.expect(":sockchat 404 bob #rust :Cannot send to channel");
    bob.send("PING alive");
    bob.expect(":sockchat PONG sockchat alive");
    root.send("KICK #rust bob");
    root.expect(":sockchat 441 root bob #rust :They aren't on that channel");
    root.send("KICK #rust nobody");
    root.expect(":sockchat 401 root nobody :No such nick/channel");
    root.send("KICK #nowhere ann");
    root.expect(":sockchat 403 root #nowhere :No such channel");
}

#[test]
fn account_tag_names_the_account_of_a_logged_in_author_live_and_in_history() {
    let (server, irc) = irc_server(&[]);
    let mut ann = server.json("ann");
    ann.send(json!({"id": 1, "type": "register", "password": "correct horse"}));
    ann.until_type("ack");
    ann.send(json!({"id": 2, "type": "join", "room": "rust"}));
    ann.until_type("ack");
    let mut bob = IrcClient::connect(irc, "bob");
    bob.send("CAP LS 302");
    bob.send("CAP REQ :account-tag extended-join batch draft/chathistory");
    bob.send("NICK bob");
    bob.send("USER bob 0 * :Bob");
    bob.send("CAP END");
    bob.until(|l| l.contains(" 422 "));
    bob.join("#rust");
    let mut guest = server.json("guest");
    guest.send(json!({"id": 1, "type": "join", "room": "rust"}));
    bob.expect(":guest!guest@sockchat JOIN #rust * guest");

    ann.send(json!({"id": 3, "type": "say", "room": "rust", "text": "signed"}));
    bob.expect("@account=ann :ann!ann@sockchat PRIVMSG #rust :signed");
    guest.send(json!({"id": 2, "type": "say", "room": "rust", "text": "unsigned"}));
    bob.expect(":guest!guest@sockchat PRIVMSG #rust :unsigned");
    let said = guest.until_type("message");
    assert_eq!(
        (said["text"].as_str(), said["account"].as_str()),
        (Some("signed"), Some("ann")),
        "{said}"
    );

    bob.send("CHATHISTORY LATEST #rust * 10");
    bob.until(|l| l.starts_with(":sockchat BATCH +"));
    let first = bob.next().unwrap();
    assert!(first.contains("account=ann") && first.ends_with(":signed"), "{first}");
    let second = bob.next().unwrap();
    assert!(
        !second.contains("account=") && second.ends_with(":unsigned"),
        "{second}"
    );
}

/// Connects with the capabilities asked for, registered as `nick`.
fn with_caps(addr: SocketAddr, nick: &str, caps: &str) -> IrcClient {
    let mut client = IrcClient::connect(addr, nick);
    client.send("CAP LS 302");
    client.send(&format!("CAP REQ :{caps}"));
    client.send(&format!("NICK {nick}"));
    client.send(&format!("USER {nick} 0 * :{nick}"));
    client.send("CAP END");
    client.until(|l| l.contains(" 422 "));
    client
}

#[test]
fn a_labeled_lines_answer_is_labeled_batched_or_acknowledged() {
    let (_server, irc) = irc_server(&[]);
    let caps = "echo-message batch labeled-response";
    let mut foo = with_caps(irc, "foo", caps);
    let mut bar = with_caps(irc, "bar", caps);
    let mut carl = with_caps(irc, "carl", caps);

    // Three echoes are one batch; the recipients see no label.
    foo.send("@label=12345 PRIVMSG bar,carl :hi");
    let start = foo.next().unwrap();
    assert!(
        start.starts_with("@label=12345 :sockchat BATCH +") && start.ends_with(" labeled-response"),
        "{start}"
    );
    let batch = start.split(' ').nth(3).unwrap().trim_start_matches('+').to_owned();
    foo.expect(&format!("@batch={batch} :foo!foo@sockchat PRIVMSG bar :hi"));
    foo.expect(&format!("@batch={batch} :foo!foo@sockchat PRIVMSG carl :hi"));
    foo.expect(&format!(":sockchat BATCH -{batch}"));
    bar.expect(":foo!foo@sockchat PRIVMSG bar :hi");
    carl.expect(":foo!foo@sockchat PRIVMSG carl :hi");

    // To oneself: the message as it arrives, unlabeled, and the labeled echo.
    foo.send("@label=self PRIVMSG foo :me");
    let got = [foo.next().unwrap(), foo.next().unwrap()];
    assert_eq!(
        got.iter()
            .filter(|l| l.starts_with("@label=self :foo!foo@sockchat PRIVMSG foo :me"))
            .count(),
        1,
        "{got:?}"
    );
    assert!(got.contains(&":foo!foo@sockchat PRIVMSG foo :me".to_owned()), "{got:?}");

    // A history page nests in the labeled batch.
    foo.join("#rust");
    foo.send("PRIVMSG #rust :kept");
    foo.expect(":foo!foo@sockchat PRIVMSG #rust :kept");
    foo.send("CAP REQ draft/chathistory");
    foo.expect(":sockchat CAP foo ACK draft/chathistory");
    foo.send("@label=h CHATHISTORY LATEST #rust * 10");
    let start = foo.next().unwrap();
    assert!(start.starts_with("@label=h :sockchat BATCH +"), "{start}");
    let outer = start.split(' ').nth(3).unwrap().trim_start_matches('+').to_owned();
    let inner = foo.next().unwrap();
    assert!(
        inner.starts_with(&format!("@batch={outer} :sockchat BATCH +")) && inner.ends_with(" chathistory #rust"),
        "{inner}"
    );
    assert!(foo.next().unwrap().ends_with(":foo!foo@sockchat PRIVMSG #rust :kept"));
    assert!(
        foo.next()
            .unwrap()
            .starts_with(&format!("@batch={outer} :sockchat BATCH -"))
    );
    foo.expect(&format!(":sockchat BATCH -{outer}"));
    // Lines read together are answered in turn, each with its own label.
    foo.stream
        .write_all(b"@label=h2 CHATHISTORY LATEST #rust * 10\r\n@label=p2 PING x\r\n")
        .unwrap();
    assert!(foo.next().unwrap().starts_with("@label=h2 :sockchat BATCH +"));
    foo.until(|l| l.starts_with(":sockchat BATCH -lr"));
    foo.expect("@label=p2 :sockchat PONG sockchat x");

    // Others' messages meanwhile are no part of an answer; an unlabeled line gets no label.
    bar.send("JOIN #rust");
    foo.until(|l| l == ":bar!bar@sockchat JOIN #rust");
    foo.send("PING plain");
    foo.expect(":sockchat PONG sockchat plain");

    // The answer of a QUIT is told as far as it got.
    carl.send("@label=q QUIT :bye");
    carl.expect("@label=q ERROR :Closing link: bye");
}

#[test]
fn the_echo_of_a_logged_in_users_message_names_its_account() {
    let (server, irc) = irc_server(&[]);
    let mut owner = server.json("acct");
    owner.send(json!({"id": 1, "type": "register", "password": "correct horse"}));
    owner.until_type("ack");
    owner.send(json!({"id": 2, "type": "quit"}));
    owner.until_type("bye");
    let mut zed = with_caps(irc, "zed", "echo-message account-tag");
    zed.join("#rust");
    zed.send("PRIVMSG #rust :unsigned");
    zed.expect(":zed!zed@sockchat PRIVMSG #rust :unsigned");
    zed.send("OPER acct :correct horse");
    zed.expect(":zed!zed@sockchat NICK acct");
    zed.send("PRIVMSG #rust :signed");
    zed.expect("@account=acct :acct!acct@sockchat PRIVMSG #rust :signed");
}
