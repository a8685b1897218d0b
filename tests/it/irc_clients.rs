//! irssi and weechat on sockchat's IRC listener, as people use them: they connect, register, join
//! `#rust`, talk with a person at nc and a JSON program in room `rust`, see their topics, renames,
//! parts and quits and show them theirs, send direct messages across modes (to the full-screen
//! client too), log in to an account with SASL, read the room's history through CHATHISTORY, and
//! quit.

use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::irc::irc_server;
use crate::irc_program::{IrcProgram, IrcUser, Setup};
use crate::support::{JsonClient, PlainClient, TestServer, run};

/// A person at nc, renamed to `nick` and in room `rust`.
fn nc_in_rust(server: &TestServer, nick: &str) -> PlainClient {
    let mut person = PlainClient::named(server.addr, nick);
    person.say("/join rust");
    person.lines.expect(&format!("-- {nick} joined rust"));
    person
}

/// A JSON program welcomed as `nick` and in room `rust`.
fn json_in_rust(server: &TestServer, nick: &str) -> JsonClient {
    let mut program = server.json(nick);
    program.send(json!({"id": "j", "type": "join", "room": "rust"}));
    until_event(&mut program, |event| event["type"] == "ack" && event["id"] == "j");
    program
}

/// Skips the program's events until one satisfies `wanted`, and returns it.
fn until_event(program: &mut JsonClient, wanted: impl Fn(&Value) -> bool) -> Value {
    loop {
        let event = program
            .next_event()
            .unwrap_or_else(|| panic!("the stream ended; saw {:#?}", program.lines.seen_lines()));
        if wanted(&event) {
            return event;
        }
    }
}

/// Waits for a message from `from` with `text` to the JSON program, in `room` or (with `None`) to it
/// alone.
fn json_receives(program: &mut JsonClient, from: &str, room: Option<&str>, text: &str) -> Value {
    until_event(program, |event| {
        event["type"] == "message"
            && event["from"] == from
            && event["text"] == text
            && match room {
                Some(room) => event["room"] == room,
                None => event["room"].is_null(),
            }
    })
}

fn talks_in_rust_with_an_nc_user_and_a_json_program(program: IrcProgram) {
    let (server, irc) = irc_server(&[]);
    let Some(alice) = IrcUser::connect(program, irc, "alice") else {
        return;
    };
    alice.join("#rust");
    let mut carol = nc_in_rust(&server, "carol");
    alice.wait_event("carol", "has joined #rust");
    let mut dave = json_in_rust(&server, "dave");
    alice.wait_event("dave", "has joined #rust");

    alice.say(&format!("hello from {program}"));
    carol.lines.expect(&format!("<alice> hello from {program}"));
    json_receives(&mut dave, "alice", Some("rust"), &format!("hello from {program}"));

    carol.say("hello from nc, 日本語");
    alice.wait_line("carol", "hello from nc, 日本語");
    dave.send(json!({"type": "say", "room": "rust", "text": "hello from json\nand a second line"}));
    alice.wait_line("dave", "hello from json");
    alice.wait_line("dave", "and a second line");
    carol.lines.expect("<dave> hello from json");

    alice.type_line("/me waves");
    carol.lines.expect("* alice waves");
    let action = json_receives(&mut dave, "alice", Some("rust"), "waves");
    assert_eq!(action["action"], true, "{action}");
    carol.say("/me waves back");
    alice.wait_action("carol", "waves back");
    alice.save_screen("conversation");

    // Bold and colours are IRC's formatting codes, control characters: at nc they must not reach
    // the terminal.
    alice.type_line(&format!("{} and {} done", alice.bold("bold"), alice.red("red")));
    let shown = carol
        .lines
        .until(|line| line.starts_with("<alice>") && line.ends_with("done"));
    assert!(
        !shown.chars().any(|c| c.is_control()),
        "a control character reached nc: {shown:?}"
    );
    println!("{program}'s formatted line at nc: {shown}");

    assert_eq!(alice.quit("off to bed"), "0");
    let quit = carol.lines.until(|line| line.starts_with("-- alice quit ("));
    assert!(quit.contains("off to bed"), "{quit}");
    let quit = until_event(&mut dave, |event| event["type"] == "quit" && event["nick"] == "alice");
    assert!(
        quit["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("off to bed")),
        "{quit}"
    );
}

#[test]
fn irssi_talks_in_rust_with_an_nc_user_and_a_json_program() {
    talks_in_rust_with_an_nc_user_and_a_json_program(IrcProgram::Irssi);
}

#[test]
fn weechat_talks_in_rust_with_an_nc_user_and_a_json_program() {
    talks_in_rust_with_an_nc_user_and_a_json_program(IrcProgram::Weechat);
}

fn sees_topics_renames_and_parts_across_modes(program: IrcProgram) {
    let (server, irc) = irc_server(&[]);
    let Some(mut alice) = IrcUser::connect(program, irc, "alice") else {
        return;
    };
    alice.join("#rust");
    let mut carol = nc_in_rust(&server, "carol");
    alice.wait_event("carol", "has joined #rust");

    carol.say("/topic all about crabs");
    alice.wait_topic("carol", "#rust", "all about crabs");
    alice.type_line("/topic crabs and more");
    carol.lines.expect("-- topic of rust: crabs and more (set by alice)");

    alice.rename("alicia");
    carol.lines.expect("-- alice is now known as alicia");
    carol.say("/nick caroline");
    alice.wait_for("carol is now known as caroline");

    carol.say("/part rust");
    alice.wait_event("caroline", "has left #rust");
    carol.say("/join rust");
    alice.wait_event("caroline", "has joined #rust");
    alice.type_line("/part #rust");
    carol.lines.expect("-- alicia left rust");
}

#[test]
fn irssi_sees_topics_renames_and_parts_across_modes() {
    sees_topics_renames_and_parts_across_modes(IrcProgram::Irssi);
}

#[test]
fn weechat_sees_topics_renames_and_parts_across_modes() {
    sees_topics_renames_and_parts_across_modes(IrcProgram::Weechat);
}

fn sends_and_receives_direct_messages_across_modes(program: IrcProgram) {
    let (server, irc) = irc_server(&[]);
    let Some(alice) = IrcUser::connect(program, irc, "alice") else {
        return;
    };
    let mut carol = PlainClient::named(server.addr, "carol");
    let mut dave = server.json("dave");

    alice.msg("carol", "hi carol, from irc");
    carol.lines.expect("*alice* hi carol, from irc");
    carol.say("/msg alice hi alice, from nc");
    alice.show_window("carol");
    alice.wait_line("carol", "hi alice, from nc");

    dave.send(json!({"type": "msg", "to": "alice", "text": "hi alice, from json"}));
    alice.show_window("dave");
    alice.wait_line("dave", "hi alice, from json");
    alice.msg("dave", "hi dave, from irc");
    json_receives(&mut dave, "alice", None, "hi dave, from irc");
}

#[test]
fn irssi_sends_and_receives_direct_messages_across_modes() {
    sends_and_receives_direct_messages_across_modes(IrcProgram::Irssi);
}

#[test]
fn weechat_sends_and_receives_direct_messages_across_modes() {
    sends_and_receives_direct_messages_across_modes(IrcProgram::Weechat);
}

#[test]
fn irssi_and_the_full_screen_client_msg_each_other() {
    let (server, irc) = irc_server(&[]);
    let Some(alice) = IrcUser::connect(IrcProgram::Irssi, irc, "alice") else {
        return;
    };
    let Some(bob) = crate::tui::start(&["join", &server.addr.to_string(), "--nick", "bob"]) else {
        return;
    };
    bob.wait_for("[bob] [lobby] connected");
    alice.msg("bob", "hi bob, from irssi");
    bob.wait_for("2:@alice");
    bob.type_line("/query alice");
    bob.wait_for("<alice> hi bob, from irssi");
    bob.type_line("hi alice, from the full-screen client");
    alice.show_window("bob");
    alice.wait_line("bob", "hi alice, from the full-screen client");
}

/// The account's nick is its owner's alone: the IRC client gets it by logging in with SASL PLAIN as
/// it registers.
fn logs_in_to_an_account_with_sasl(program: IrcProgram) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let db = db.to_string_lossy();
    let password = "correct-horse-battery";
    let created = run(
        &["account", "create", "alice", "--db", &db],
        format!("{password}\n").as_bytes(),
    );
    assert!(created.status.success(), "{created:?}");
    let (server, irc) = irc_server(&["--db", &db]);
    let mut carol = PlainClient::named(server.addr, "carol");
    carol.say("/nick alice");
    carol
        .lines
        .until(|line| line.starts_with("!! the nick alice is registered"));

    let setup = Setup {
        sasl_password: Some(password),
        ..Setup::default()
    };
    let Some(alice) = IrcUser::connect_with(program, irc, "alice", setup) else {
        return;
    };
    carol.say("/msg alice are you the real alice?");
    alice.show_window("carol");
    alice.wait_line("carol", "are you the real alice?");
}

#[test]
fn irssi_logs_in_to_an_account_with_sasl() {
    logs_in_to_an_account_with_sasl(IrcProgram::Irssi);
}

#[test]
fn weechat_logs_in_to_an_account_with_sasl() {
    logs_in_to_an_account_with_sasl(IrcProgram::Weechat);
}

/// Neither irssi 1.4 nor weechat 3.8 knows draft/chathistory, so its user has it asked for as the
/// client registers (a script in irssi, `capabilities` in weechat) and types CHATHISTORY with
/// `/quote`.
fn reads_the_rooms_history_through_chathistory(program: IrcProgram) {
    let (server, irc) = irc_server(&[]);
    let mut carol = nc_in_rust(&server, "carol");
    let said = "said before anyone came from irc";
    carol.say(said);
    // A message is delivered, and shown in history, only once stored.
    carol.say("/history 1");
    carol.lines.until(|line| line.ends_with(&format!("<carol> {said}")));
    let setup = Setup {
        capabilities: &["draft/chathistory"],
        ..Setup::default()
    };
    let Some(alice) = IrcUser::connect_with(program, irc, "alice", setup) else {
        return;
    };
    alice.join("#rust");
    // Whatever the server shows on joining, CHATHISTORY shows the line once more.
    let before = alice.count_lines("carol", said);
    alice.type_line("/quote CHATHISTORY LATEST #rust * 10");
    let screen = alice.wait_line_count("carol", said, before + 1);
    println!("{program} after CHATHISTORY LATEST:\n{screen}");
}

#[test]
fn irssi_reads_the_rooms_history_through_chathistory() {
    reads_the_rooms_history_through_chathistory(IrcProgram::Irssi);
}

#[test]
fn weechat_reads_the_rooms_history_through_chathistory() {
    reads_the_rooms_history_through_chathistory(IrcProgram::Weechat);
}

/// irssi's alice and weechat's bob meet in `#rust` on `server`, talk there and in private, and
/// alice quits. The same script runs against ngIRCd (`ngircd.rs`), which proves the harness.
pub fn irssi_and_weechat_converse(server: SocketAddr) {
    let Some(alice) = IrcUser::connect(IrcProgram::Irssi, server, "alice") else {
        return;
    };
    let Some(mut bob) = IrcUser::connect(IrcProgram::Weechat, server, "bob") else {
        return;
    };
    alice.join("#rust");
    bob.join("#rust");
    alice.wait_event("bob", "has joined #rust");
    alice.say("hello from irssi");
    bob.wait_line("alice", "hello from irssi");
    bob.say("hello from weechat, 日本語");
    alice.wait_line("bob", "hello from weechat, 日本語");
    bob.type_line("/me waves");
    alice.wait_action("bob", "waves");
    bob.wait_action("bob", "waves");
    alice.type_line("/topic all about crabs");
    bob.wait_topic("alice", "#rust", "all about crabs");
    alice.wait_topic("alice", "#rust", "all about crabs");
    bob.rename("bobby");
    alice.wait_for("bob is now known as bobby");
    alice.msg("bobby", "psst bobby");
    bob.show_window("alice");
    bob.wait_line("alice", "psst bobby");
    bob.msg("alice", "psst alice");
    alice.show_window("bobby");
    alice.wait_line("bobby", "psst alice");
    alice.show_window("#rust");
    bob.show_window("#rust");
    bob.type_line("/part #rust");
    bob.wait_event("bobby", "has left #rust");
    alice.wait_event("bobby", "has left #rust");
    bob.join("#rust");
    alice.wait_event("bobby", "has joined #rust");
    assert_eq!(alice.quit("off to bed"), "0");
    bob.wait_event("alice", "has quit");
}

#[test]
fn irssi_and_weechat_talk_through_sockchat() {
    let (_server, irc) = irc_server(&[]);
    irssi_and_weechat_converse(irc);
}

/// irssi sets `+i` on itself once welcomed (its `usermode` setting): the change is taken and shown.
#[test]
fn irssi_sets_its_user_mode_on_connecting_without_an_error() {
    let (_server, irc) = irc_server(&[]);
    let Some(alice) = IrcUser::connect(IrcProgram::Irssi, irc, "alice") else {
        return;
    };
    let screen = alice.wait_for("Mode change [+i] for user alice");
    assert!(!screen.contains("Unknown MODE flag"), "{screen}");
}
