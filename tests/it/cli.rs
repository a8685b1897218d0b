//! The client subcommands and the server's lifecycle, run as a user runs them.

use std::process::Stdio;

use crate::support::{Lines, PlainClient, TestServer, binary, run};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn join_in_line_mode_sends_stdin_and_waits_for_every_ack() {
    let server = TestServer::start(&[]);
    let mut watcher = PlainClient::named(server.addr, "watcher");
    let addr = server.addr.to_string();
    let input = b"first line\n\n/me waves\n/join rust\nin rust\n/msg watcher psst\n";
    let output = run(&["join", &addr, "--nick", "liner"], input);
    assert!(output.status.success(), "{}", text(&output.stderr));
    watcher.lines.expect("<liner> first line");
    watcher.lines.expect("* liner waves");
    watcher.lines.expect("*liner* psst");
    watcher.lines.expect("-- liner quit (quit)");
    let stdout = text(&output.stdout);
    assert!(stdout.starts_with("-- connected to sockchat "), "{stdout}");
    assert!(stdout.contains("-- liner joined rust\n"), "{stdout}");
}

#[test]
fn join_prints_what_others_say() {
    let server = TestServer::start(&[]);
    let addr = server.addr.to_string();
    let mut talker = PlainClient::named(server.addr, "talker");
    let mut child = binary()
        .args(["join", &addr, "--nick", "reader"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = crate::support::Lines::spawn("reader", child.stdout.take().unwrap());
    talker.lines.expect("-- reader joined lobby");
    talker.say("hello reader\u{1b}[31m");
    out.expect("<talker> hello reader␛[31m");
    talker.say("/join side");
    talker.say("over here");
    talker.say("/msg reader direct");
    out.expect("*talker* direct");
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn join_fails_clearly_when_the_server_refuses_or_is_gone() {
    let server = TestServer::start(&["--max-message", "10"]);
    let addr = server.addr.to_string();
    let output = run(&["join", &addr], b"this is longer than ten bytes\n");
    assert!(!output.status.success());
    assert!(
        text(&output.stdout).contains("!! a message may be at most 10 bytes"),
        "{}",
        text(&output.stdout)
    );

    let output = run(&["join", &addr], b"/msg nobody hi\n");
    assert!(!output.status.success());
    assert!(text(&output.stdout).contains("!! nobody is called nobody"));
    assert!(
        text(&output.stderr).contains("the server refused 1 of 1 requests"),
        "{}",
        text(&output.stderr)
    );
    drop(server);

    let output = run(&["join", &addr], b"hi\n");
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("cannot connect to"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn send_delivers_a_900_kb_file_as_one_message() {
    let server = TestServer::start(&[]);
    let mut watcher = PlainClient::named(server.addr, "watcher");
    let body: String = (0..900_000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    let output = run(
        &["send", &server.addr.to_string(), "--nick", "mailer"],
        format!("{body}\n").as_bytes(),
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        watcher.lines.until(|l| l.starts_with("<mailer>")),
        format!("<mailer> {body}")
    );
}

#[test]
fn send_to_a_nick_and_to_a_room() {
    let server = TestServer::start(&[]);
    let addr = server.addr.to_string();
    let mut bob = PlainClient::named(server.addr, "bob");
    bob.say("/join ops");
    let output = run(
        &["send", &addr, "--nick", "cron", "--to", "bob"],
        b"line one\nline two\n",
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    bob.lines.expect("*cron* line one");
    bob.lines.expect("*cron* line two");
    let output = run(&["send", &addr, "--nick", "cron", "--room", "ops"], b"deployed");
    assert!(output.status.success(), "{}", text(&output.stderr));
    bob.lines.expect("<cron> deployed");
}

#[test]
fn send_refuses_what_it_cannot_deliver() {
    let server = TestServer::start(&["--max-message", "100"]);
    let addr = server.addr.to_string();
    let mut ann = PlainClient::named(server.addr, "ann");
    let cases: [(&[&str], &[u8], &str); 4] = [
        (&["--to", "nobody"], b"x", "not delivered: nobody is called nobody"),
        (&["--nick", "ann"], b"as ann?", "the nick ann is taken"),
        (&[], &[b'x'; 101], "larger than the server's limit of 100 bytes"),
        (&[], b"", "there is nothing to send"),
    ];
    for (extra, input, complaint) in cases {
        let mut args = vec!["send", addr.as_str()];
        args.extend_from_slice(extra);
        let output = run(&args, input);
        assert_eq!(output.status.code(), Some(1), "{extra:?}");
        assert!(
            text(&output.stderr).contains(complaint),
            "{extra:?}: {}",
            text(&output.stderr)
        );
    }
    ann.say("/ping");
    let mut heard = Vec::new();
    while let Some(line) = ann.lines.next().filter(|l| l != "-- pong") {
        heard.push(line);
    }
    assert!(!heard.iter().any(|l| l.contains("as ann?")), "{heard:?}");
}

#[test]
fn sigterm_says_goodbye_to_everyone_and_exits_zero() {
    let server = TestServer::start(&[]);
    let mut ann = PlainClient::connect(server.addr, "ann");
    let mut bob = crate::support::JsonClient::connect(server.addr, "bob");
    bob.send(serde_json::json!({"type": "hello", "version": 1}));
    bob.until_type("welcome");
    ann.say("/who");
    ann.lines.expect("-- lobby has 2 members: user1 user2");
    assert_eq!(server.terminate(), Some(0));
    ann.lines.expect("-- bye: the server is shutting down");
    assert_eq!(ann.lines.rest(), Vec::<String>::new());
    assert_eq!(bob.until_type("bye")["reason"], "the server is shutting down");
    assert_eq!(bob.next_event(), None);
}

#[test]
fn usage_errors_exit_two() {
    let output = run(&["serve", "--ephemeral", "--max-queued", "0"], b"");
    assert_eq!(output.status.code(), Some(2));
    let output = run(&["join", "--nick", "9lives"], b"");
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("a nick must start with a letter"));
}

#[cfg(unix)]
/// A named pipe at `path`, so that the test reads the log as it is written instead of polling a file.
fn named_pipe(path: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: c_path is a valid NUL-terminated string that outlives the call.
    let made = unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) };
    assert_eq!(made, 0, "mkfifo {path:?}: {}", std::io::Error::last_os_error());
}

#[cfg(unix)]
/// Reads a named pipe, opened on the first read: opening it waits for the writer, and that wait
/// belongs on the reading thread, where `Lines` times it out.
struct PipeReader {
    path: std::path::PathBuf,
    file: Option<std::fs::File>,
}

impl std::io::Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.file.is_none() {
            self.file = Some(std::fs::File::open(&self.path)?);
        }
        self.file.as_mut().map_or(Ok(0), |file| file.read(buf))
    }
}

#[cfg(unix)]
#[test]
fn the_log_can_go_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    named_pipe(&log);
    let mut server = binary()
        .args([
            "serve",
            "--ephemeral",
            "--no-console",
            "--listen",
            "127.0.0.1:0",
            "--log-file",
        ])
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut logged = Lines::spawn("log file", PipeReader { path: log, file: None });
    let listening = logged.until(|line| line.contains("listening on 127.0.0.1:"));
    let addr = listening
        .split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .expect("the address is logged");
    let _ann = PlainClient::connect(addr, "ann");
    logged.until(|line| line.contains("connected"));
    server.kill().unwrap();
    let output = server.wait_with_output().unwrap();
    assert_eq!(text(&output.stderr), "", "nothing goes to stderr");
}
