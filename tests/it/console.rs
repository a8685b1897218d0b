//! The operator console, fed through a pipe as `sockchat serve --console` allows.

use crate::support::{PlainClient, TestServer};

#[test]
fn the_operator_talks_to_everyone_to_one_and_kicks() {
    let mut server = TestServer::with_console(&[]);
    server.console_out().expect("-- server joined lobby");
    let mut one = PlainClient::connect(server.addr, "one");
    server
        .console_out()
        .until(|l| l.starts_with("-- #1 user1 connected from 127.0.0.1:"));
    let mut two = PlainClient::connect(server.addr, "two");
    server
        .console_out()
        .until(|l| l.starts_with("-- #2 user2 connected from 127.0.0.1:"));

    server.console_line("hello everyone");
    one.lines.expect("<server> hello everyone");
    two.lines.expect("<server> hello everyone");

    server.console_line("/msg #1 just for you");
    one.lines.expect("*server* just for you");
    server.console_out().expect("-> *user1* just for you");

    server.console_line("\x0c/topic set after Ctrl-L");
    one.lines.expect("-- topic of lobby: set after Ctrl-L (set by server)");

    server.console_line("/quit");
    server
        .console_out()
        .expect("!! the console stays as long as the server runs; Ctrl-C stops the server");

    two.say("hi operator");
    server.console_out().expect("<user2> hi operator");

    server.console_line("/who");
    server
        .console_out()
        .expect("-- lobby has 3 members: server user1 user2");

    server.console_line("/kick #2 behave");
    two.lines.expect("-- bye: kicked by server: behave");
    assert_eq!(two.lines.rest(), Vec::<String>::new());
    one.lines.expect("-- user2 quit (kicked by server: behave)");
    server
        .console_out()
        .expect("-- #2 user2 disconnected (kicked by server: behave)");

    two = PlainClient::connect(server.addr, "three");
    server.console_out().until(|l| l.starts_with("-- #3 user3 connected"));
    two.say("/kick user1");
    two.lines.expect("!! only the operator may kick");
    two.say("/msg #1 sneaky");
    two.lines
        .expect("!! only the operator may address a connection by number");
}

#[test]
fn without_a_console_stdin_is_not_read() {
    let mut server = TestServer::start(&[]);
    let mut one = PlainClient::connect(server.addr, "one");
    // stdin is a pipe here, but without --console nothing typed into it reaches the chat.
    if let Some(stdin) = server.console.as_mut() {
        use std::io::Write;
        let _ = writeln!(stdin, "should not be said");
    }
    one.say("/who");
    one.lines.expect("-- lobby has 1 member: user1");
}
