//! The full-screen client as a person uses it: the real binary in tmux, typed into with send-keys and
//! read with capture-pane.

use std::process::Command;

use crate::support::{PlainClient, TestServer, binary, run};
use crate::tmux::{Size, Tmux, shell_quoted};

/// The size of the terminal the client runs in.
const TERMINAL: Size = Size { columns: 80, rows: 24 };

/// Runs `sockchat ARGS` in a terminal of its own. `None` (the test is skipped) where tmux is missing.
pub fn start(args: &[&str]) -> Option<Tmux> {
    let program = binary().get_program().to_string_lossy().into_owned();
    let words: Vec<String> = std::iter::once(program.as_str())
        .chain(args.iter().copied())
        .map(shell_quoted)
        .collect();
    Tmux::start(TERMINAL, &words.join(" "))
}

#[test]
fn chat_in_the_full_screen_client_safe_from_escape_sequences() {
    let server = TestServer::start(&[]);
    let addr = server.addr.to_string();
    let Some(ui) = start(&["join", &addr, "--nick", "alice"]) else {
        return;
    };
    ui.wait_for("[alice] [lobby] connected");
    let mut bob = PlainClient::named(server.addr, "bob");
    bob.say("hello alice");
    ui.wait_for("<bob> hello alice");
    bob.write(b"look \x1b]2;pwned\x07\x1b[2J\x1b[31mred?\x1b[0m after-escape\n");
    let screen = ui.wait_for("after-escape");
    assert!(
        screen.contains("<bob> hello alice"),
        "the screen was not cleared:\n{screen}"
    );
    assert!(
        screen.contains("look ␛]2;pwned␇␛[2J␛[31mred?␛[0m after-escape"),
        "{screen}"
    );
    assert_ne!(ui.show("#{pane_title}"), "pwned");
    ui.type_line("hi bob, 日本語 works");
    bob.lines.expect("<alice> hi bob, 日本語 works");
    ui.wait_for("<alice> hi bob, 日本語 works");
    ui.wait_gone("(sending)");
    ui.keys(&["C-c"]);
    assert_eq!(ui.wait_exit(), "0");
    assert_eq!(ui.show("#{alternate_on}"), "0", "the terminal is back to normal");
    bob.lines.expect("-- alice quit (quit)");
}

#[test]
fn sigterm_restores_the_terminal() {
    let server = TestServer::start(&[]);
    let Some(ui) = start(&["join", &server.addr.to_string(), "--nick", "carol"]) else {
        return;
    };
    ui.wait_for("[carol] [lobby] connected");
    assert_eq!(ui.show("#{alternate_on}"), "1");
    Command::new("kill").args(["-TERM", &ui.client_pid()]).status().unwrap();
    assert_eq!(ui.wait_exit(), "0");
    assert_eq!(ui.show("#{alternate_on}"), "0");
}

#[test]
fn it_reconnects_rejoins_and_sends_what_was_typed_meanwhile() {
    let server = TestServer::start(&[]);
    let addr = server.addr.to_string();
    let Some(ui) = start(&["join", &addr, "--nick", "dave"]) else {
        return;
    };
    ui.wait_for("[dave] [lobby] connected");
    ui.type_line("/join ops");
    ui.wait_for("[dave] [ops] connected");
    drop(server);
    ui.wait_for("disconnected, retrying in");
    ui.type_line("typed while away");
    ui.wait_for("typed while away (queued)");
    let again = TestServer::launch(&["--listen", &addr, "--no-console"], &[]);
    let screen = ui.wait_for("reconnected");
    assert!(screen.contains("[dave] [ops]"), "{screen}");
    ui.wait_gone("typed while away (");
    let mut erin = PlainClient::named(again.addr, "erin");
    erin.say("/who ops");
    erin.lines.expect("-- ops has 1 member: dave");
    erin.say("/join ops");
    ui.wait_for("joined: erin");
}

#[test]
fn a_first_connection_that_fails_exits_one_with_the_reason() {
    // Bound but not listening: connecting is refused, and no other process can take the port meanwhile.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let closed = socket.local_addr().unwrap().as_socket().unwrap();
    let Some(ui) = start(&["join", &closed.to_string(), "--nick", "frank"]) else {
        return;
    };
    assert_eq!(ui.wait_exit(), "1");
    let screen = ui.screen();
    assert!(screen.contains("cannot connect to"), "{screen}");
    assert!(!screen.contains("retrying"), "{screen}");
}

#[test]
fn a_console_on_a_terminal_is_not_garbled_by_log_lines() {
    let Some(ui) = start(&["serve", "--ephemeral", "--listen", "127.0.0.1:0"]) else {
        return;
    };
    let screen = ui.wait_for("listening on 127.0.0.1:");
    let addr: std::net::SocketAddr = screen
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .expect("the address is on the screen");
    ui.keys(&["-l", "half a li"]);
    let mut ann = PlainClient::named(addr, "ann");
    ann.say("hello console");
    let screen = ui.wait_for("<ann> hello console");
    assert!(screen.contains("-- #1 user1 connected from"), "{screen}");
    let logged: Vec<&str> = screen.lines().filter(|l| l.contains(" INFO ")).collect();
    assert_eq!(logged.len(), 1, "only the listening line is logged here:\n{screen}");
    ui.keys(&["-l", "ne"]);
    ui.keys(&["Enter"]);
    ann.lines.expect("<server> half a line");
    ui.type_line("/quit");
    ui.wait_for("!! the console stays as long as the server runs; Ctrl-C stops the server");
    // Ctrl-C would reach the test's shell too; SIGTERM is the same shutdown.
    Command::new("kill").args(["-TERM", &ui.client_pid()]).status().unwrap();
    assert_eq!(ui.wait_exit(), "0");
}

/// The rows of `screen` holding each of `texts`, in the order given; panics if one is missing.
fn rows_of(screen: &str, texts: &[&str]) -> Vec<usize> {
    texts
        .iter()
        .map(|text| {
            screen
                .lines()
                .position(|row| row.contains(text))
                .unwrap_or_else(|| panic!("{text:?} is not on the screen:\n{screen}"))
        })
        .collect()
}

/// Whether `row` begins with a time of day, `HH:MM `.
fn timed(row: &str) -> bool {
    let bytes = row.as_bytes();
    bytes.len() > 6
        && bytes[..2].iter().all(u8::is_ascii_digit)
        && bytes[2] == b':'
        && bytes[3..5].iter().all(u8::is_ascii_digit)
        && bytes[5] == b' '
}

#[test]
fn a_room_opens_with_its_stored_history_and_search_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let server = TestServer::start(&["--db", &db.to_string_lossy()]);
    let mut bob = PlainClient::named(server.addr, "bob");
    let mut carol = PlainClient::named(server.addr, "carol");
    let said = ["first of the morning", "second, with crab cakes", "third and last"];
    for line in said {
        bob.say(line);
    }
    // Messages are delivered once stored: carol seeing the last means all three are on disk.
    carol.lines.expect("<bob> third and last");
    let Some(ui) = start(&["join", &server.addr.to_string(), "--nick", "alice"]) else {
        return;
    };
    let screen = ui.wait_for("<bob> third and last");
    println!("on joining:\n{screen}");
    let rows = rows_of(
        &screen,
        &[
            "<bob> first of the morning",
            "<bob> second, with crab cakes",
            "<bob> third and last",
            "-- you are in lobby",
        ],
    );
    assert!(
        rows.is_sorted(),
        "history comes before the join notice, in order:\n{screen}"
    );
    let lines: Vec<&str> = screen.lines().collect();
    assert!(
        rows[..3].iter().all(|&row| timed(lines[row])),
        "with their times:\n{screen}"
    );
    bob.say("live after joining");
    let screen = ui.wait_for("<bob> live after joining");
    let rows = rows_of(
        &screen,
        &[
            "<bob> third and last",
            "-- you are in lobby",
            "<bob> live after joining",
        ],
    );
    assert!(rows.is_sorted(), "live lines follow:\n{screen}");
    ui.type_line("/search crab cakes");
    let screen = ui.wait_for("1 message holds all of: crab cakes");
    println!("after /search crab cakes:\n{screen}");
    assert!(screen.contains("2:search: crab cakes"), "{screen}");
    let row = rows_of(&screen, &["<bob> [lobby] second, with crab cakes"])[0];
    assert!(timed(screen.lines().nth(row).unwrap()), "{screen}");
    ui.keys(&["C-c"]);
    assert_eq!(ui.wait_exit(), "0");
}

#[test]
fn logged_in_from_a_password_file_a_conversation_opens_with_its_stored_messages() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let db = db.to_string_lossy();
    let created = run(&["account", "create", "alice", "--db", &db], b"correct horse\n");
    assert!(created.status.success(), "{created:?}");
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, "correct horse\n").unwrap();
    let server = TestServer::start(&["--db", &db]);
    let addr = server.addr.to_string();
    let password_file = password_file.to_string_lossy();
    let args = ["join", &addr, "--nick", "alice", "--password-file", &password_file];
    let Some(ui) = start(&args) else {
        return;
    };
    ui.wait_for("logged in to alice");
    let mut bob = PlainClient::named(server.addr, "bob");
    bob.say("/msg alice kept for later");
    ui.wait_for("2:@bob");
    ui.keys(&["C-c"]);
    assert_eq!(ui.wait_exit(), "0");
    drop(ui);
    let Some(again) = start(&args) else {
        return;
    };
    again.wait_for("logged in to alice");
    again.type_line("/query bob");
    let screen = again.wait_for("<bob> kept for later");
    println!("a conversation reopened:\n{screen}");
    assert!(!screen.contains("correct horse"), "{screen}");
}
