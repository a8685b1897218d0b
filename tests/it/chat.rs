//! Plain-text chat as people at nc see it.

use std::thread;

use crate::support::{PlainClient, TestServer};

#[test]
fn two_clients_talk_at_once_and_everything_arrives_in_order() {
    let server = TestServer::start(&[]);
    let mut ann = PlainClient::named(server.addr, "ann");
    let mut bob = PlainClient::named(server.addr, "bob");
    ann.lines.expect("-- user2 is now known as bob");
    let mut ann_out = ann.stream.try_clone().unwrap();
    let mut bob_out = bob.stream.try_clone().unwrap();
    let ann_sends = thread::spawn(move || {
        use std::io::Write;
        for i in 0..100 {
            writeln!(ann_out, "from ann {i}").unwrap();
        }
    });
    let bob_sends = thread::spawn(move || {
        use std::io::Write;
        for i in 0..100 {
            writeln!(bob_out, "from bob {i}").unwrap();
        }
    });
    for i in 0..100 {
        bob.lines.expect(&format!("<ann> from ann {i}"));
        ann.lines.expect(&format!("<bob> from bob {i}"));
    }
    ann_sends.join().unwrap();
    bob_sends.join().unwrap();
}

#[test]
fn empty_lines_are_ignored_and_stall_nobody() {
    let server = TestServer::start(&[]);
    let mut ann = PlainClient::named(server.addr, "ann");
    let mut bob = PlainClient::named(server.addr, "bob");
    ann.write(b"\n\r\n   \n\n");
    ann.say("after the blanks");
    bob.say("bob speaks too");
    assert_eq!(bob.lines.until(|l| l.starts_with('<')), "<ann> after the blanks");
    assert_eq!(ann.lines.until(|l| l.starts_with('<')), "<bob> bob speaks too");
}

#[test]
fn a_one_mebibyte_line_arrives_intact() {
    let server = TestServer::start(&[]);
    let mut ann = PlainClient::named(server.addr, "ann");
    let mut bob = PlainClient::named(server.addr, "bob");
    let text: String = (0..1024 * 1024).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    ann.say(&text);
    let line = bob.lines.until(|l| l.starts_with("<ann> "));
    assert_eq!(line.len(), "<ann> ".len() + text.len());
    assert!(line.ends_with(&text));
}

#[test]
fn direct_messages_reach_only_their_target() {
    let server = TestServer::start(&[]);
    let mut ann = PlainClient::named(server.addr, "ann");
    let mut bob = PlainClient::named(server.addr, "bob");
    let mut cy = PlainClient::named(server.addr, "cy");
    ann.say("/msg BOB just between us");
    bob.lines.expect("*ann* just between us");
    ann.lines.expect("-> *bob* just between us");
    ann.say("/msg nobody hello?");
    ann.lines.expect("!! nobody is called nobody");
    ann.say("for everyone");
    assert_eq!(
        cy.lines.until(|l| l.starts_with('<') || l.starts_with('*')),
        "<ann> for everyone"
    );
}

#[test]
fn rename_join_part_and_topic_notices() {
    let server = TestServer::start(&[]);
    let mut ann = PlainClient::connect(server.addr, "ann");
    let mut bob = PlainClient::named(server.addr, "bob");
    ann.say("/nick ann");
    bob.lines.expect("-- user1 is now known as ann");
    bob.say("/nick ANN");
    bob.lines.expect("!! the nick ANN is taken");
    ann.say("/join rust");
    ann.say("/join lobby");
    ann.lines.expect("-- ann joined lobby");
    bob.say("/join rust");
    ann.lines.expect("-- bob joined rust");
    bob.say("in rust");
    ann.lines.expect("[rust] <bob> in rust");
    bob.say("/topic all about crabs");
    ann.lines.expect("-- topic of rust: all about crabs (set by bob)");
    bob.say("/part rust");
    ann.lines.expect("-- bob left rust");
    bob.say("/who rust");
    bob.lines.expect("-- rust has 1 member: ann");
    bob.say("/rooms");
    bob.lines.expect("-- 2 rooms:");
    bob.lines.expect("--   lobby (2)");
    bob.lines.expect("--   rust (1): all about crabs");
    bob.say("/quit see you");
    bob.lines.expect("-- bye: see you");
    ann.lines.expect("-- bob quit (see you)");
}

#[test]
fn exit_alone_quits_and_help_lists_commands() {
    let server = TestServer::start(&[]);
    let mut ann = PlainClient::connect(server.addr, "ann");
    ann.say("/help");
    ann.lines.expect("--   /msg NICK TEXT        send TEXT to NICK alone");
    ann.say("exit");
    ann.lines.expect("-- bye: goodbye");
    assert_eq!(ann.lines.rest(), Vec::<String>::new());
}

#[test]
fn telnet_negotiation_and_bad_utf8_do_no_harm() {
    let server = TestServer::start(&[]);
    let mut ann = PlainClient::connect(server.addr, "ann");
    let mut bob = PlainClient::connect(server.addr, "bob");
    ann.write(b"\xff\xfd\x03\xff\xfb\x18\r\ncaf\xe9 ok\r\n");
    assert_eq!(bob.lines.until(|l| l.starts_with('<')), "<user1> caf\u{fffd} ok");
}

#[test]
fn escape_sequences_reach_nc_users_defused() {
    let server = TestServer::start(&[]);
    let mut ann = PlainClient::connect(server.addr, "ann");
    let mut bob = PlainClient::connect(server.addr, "bob");
    ann.write(b"look \x1b[2J\x1b]0;owned\x07 hi\n");
    assert_eq!(
        bob.lines.until(|l| l.starts_with('<')),
        "<user1> look ␛[2J␛]0;owned␇ hi"
    );
}

#[test]
fn the_server_listens_on_ipv6_too() {
    let server = TestServer::launch(&["--listen", "[::1]:0", "--no-console"], &[]);
    assert!(server.addr.is_ipv6());
    let mut ann = PlainClient::connect(server.addr, "ann");
    ann.say("/who");
    ann.lines.expect("-- lobby has 1 member: user1");
}

#[test]
fn a_member_hears_two_rooms_and_direct_messages_in_the_order_they_were_sent() {
    let server = TestServer::start(&[]);
    let mut ann = PlainClient::named(server.addr, "ann");
    ann.say("/join rust");
    ann.lines.expect("-- ann joined rust");
    let mut bob = server.json("bob");
    bob.send(serde_json::json!({"type": "join", "room": "rust", "id": 0}));
    bob.until_type("ack");
    let mut burst = String::new();
    for i in 0..200 {
        let request = match i % 3 {
            0 => serde_json::json!({"type": "say", "room": "lobby", "text": format!("lobby {i}")}),
            1 => serde_json::json!({"type": "say", "room": "rust", "text": format!("rust {i}")}),
            _ => serde_json::json!({"type": "msg", "to": "ann", "text": format!("direct {i}")}),
        };
        burst.push_str(&format!("{request}\n"));
    }
    bob.send_raw(burst.as_bytes());
    for i in 0..200 {
        let line = match i % 3 {
            0 => format!("[lobby] <bob> lobby {i}"),
            1 => format!("<bob> rust {i}"),
            _ => format!("*bob* direct {i}"),
        };
        assert_eq!(ann.lines.until(|l| l.contains("bob>") || l.starts_with("*bob*")), line);
    }
}

#[test]
fn invisible_characters_and_runs_of_spaces_never_reach_nc_raw() {
    let server = TestServer::start(&[]);
    let mut mallory = PlainClient::named(server.addr, "mallory");
    let mut bob = PlainClient::named(server.addr, "bob");
    let fake = format!("{}-- server: the server is shutting down", " ".repeat(150));
    let filler = "x".repeat(80 - "<mallory> ".len());
    mallory.say("a\u{200b}b\u{200f}c\u{61c}d\u{2060}e\u{feff}f\u{2028}g\u{202e}h");
    mallory.say(&fake);
    mallory.say(&format!("{filler}-- server: the server is shutting down"));
    mallory.say(&format!("/quit {fake}"));
    let hidden = bob.lines.next_bytes_until(|l| l.starts_with(b"<mallory> a"));
    assert_eq!(
        String::from_utf8(hidden).unwrap(),
        "<mallory> a\u{fffd}b\u{fffd}c\u{fffd}d\u{fffd}e\u{fffd}f\u{fffd}g\u{fffd}h"
    );
    let spaced = bob.lines.until(|l| l.starts_with("<mallory>"));
    let filled = bob.lines.until(|l| l.starts_with("<mallory>"));
    let quit = bob.lines.until(|l| l.starts_with("-- mallory quit"));
    for line in [&spaced, &quit] {
        let at = line.find("-- server").expect("the text arrives");
        assert!(at < 80, "starts a row of an 80-column terminal: {line:?}");
    }
    assert_eq!(
        filled,
        format!("<mallory> {filler}\u{b7}-- server: the server is shutting down")
    );
}

#[test]
fn commands_with_extra_words_are_refused_with_their_usage() {
    let server = TestServer::start(&[]);
    let mut ann = PlainClient::named(server.addr, "ann");
    ann.say("/nick a b");
    ann.lines.expect("!! usage: /nick NAME");
    ann.say("/join #bad room!");
    ann.lines.expect("!! usage: /join ROOM");
    ann.say("/query bob");
    let refusal = ann.lines.until(|l| l.starts_with("!! "));
    assert!(refusal.starts_with("!! usage: /msg NICK TEXT"), "{refusal}");
    ann.say("\x0c/topic typed after Ctrl-L");
    ann.lines.expect("-- topic of lobby: typed after Ctrl-L (set by ann)");
    ann.say("/rooms");
    ann.lines.expect("-- 1 room:");
}

#[test]
fn a_reset_connection_is_told_in_words() {
    use std::io::Write;
    let server = TestServer::start(&[]);
    let mut bob = PlainClient::named(server.addr, "bob");
    let mut rude = std::net::TcpStream::connect(server.addr).unwrap();
    rude.write_all(b"/nick rude\n").unwrap();
    bob.lines.expect("-- user2 is now known as rude");
    // Closing with the server's lines unread makes the kernel reset the connection.
    drop(rude);
    bob.lines.expect("-- rude quit (connection reset)");
}
