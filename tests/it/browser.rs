//! The chat page in a real browser (headless Chromium), used as a person would: it opens in the
//! lobby with the input focused, chats with nc users both ways, shows hostile text as text, scrolls
//! back through history, and survives a restart of the server without a gap or a duplicate.
//! Screenshots go to target/screenshots/ for a person to look at.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::support::{PlainClient, TestServer};
use crate::web::web_server;
use crate::webdriver::{ALT, ARROW_UP, Browser, ENTER, RELEASE, SHIFT};

/// The texts of the messages shown, in order.
const SHOWN_TEXTS: &str =
    "return [...document.querySelectorAll('#messages li:not(.system) .text')].map(e => e.textContent)";

fn screenshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/screenshots")
        .join(name)
}

fn texts(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Waits until the page is welcomed in the lobby with its input focused; the nick it was given.
fn until_in_lobby(browser: &mut Browser) -> String {
    let ready = browser.wait_for(
        "the lobby, with the input focused",
        "return [document.getElementById('window-name').textContent, document.activeElement.id, \
         document.getElementById('status').textContent]",
        |v| {
            v[0] == "#lobby"
                && v[1] == "input"
                && v[2]
                    .as_str()
                    .is_some_and(|s| s.starts_with("guest") || s.starts_with("user"))
        },
    );
    ready[2].as_str().unwrap().to_owned()
}

#[test]
fn the_page_chats_with_nc_users_and_shows_hostile_text_as_text() {
    let Some(mut browser) = Browser::start() else {
        return;
    };
    let (server, web) = web_server(&[]);
    let mut nc = PlainClient::named(server.addr, "ncuser");
    browser.open(&format!("http://{web}/"));
    let nick = until_in_lobby(&mut browser);
    nc.lines.expect(&format!("-- {nick} joined lobby"));

    browser.type_keys(&format!("hello from chromium{ENTER}"));
    nc.lines.expect(&format!("<{nick}> hello from chromium"));
    // Shift+Enter starts a new line; the two lines go as one message.
    browser.type_keys(&format!("first line{SHIFT}{ENTER}{RELEASE}second line{ENTER}"));
    nc.lines.expect(&format!("<{nick}> first line"));
    nc.lines.until(|l| l.contains("second line"));

    let hostile = [
        "<img src=x onerror=\"document.title='pwned'\">".to_owned(),
        "<script>document.title='pwned'</script>".to_owned(),
        format!("\u{202E}txt.exe\u{202C} bidi override, and a mention of {nick}"),
    ];
    for line in &hostile {
        nc.say(line);
    }
    let shown = browser.wait_for("nc's lines", SHOWN_TEXTS, |v| texts(v).last() == hostile.last());
    let shown = texts(&shown);
    for line in &hostile {
        assert!(shown.contains(line), "{line:?} is not shown as it was sent: {shown:?}");
    }
    let markup = browser.eval(
        "return [document.querySelectorAll('#messages img, #messages script').length, document.title, \
         document.querySelectorAll('#messages li.mention').length]",
    );
    assert_eq!(markup[0], 0, "markup from a message was made into elements");
    assert!(!markup[1].as_str().unwrap().contains("pwned"), "a message ran a script");
    assert_eq!(markup[2], 1, "the mention is not highlighted");

    // A room joined from the page, and its unread mark in the sidebar when the page looks elsewhere.
    browser.type_keys(&format!("/join rust{ENTER}"));
    browser.wait_for(
        "#rust",
        "return document.getElementById('window-name').textContent",
        |v| v == "#rust",
    );
    nc.say("back in the lobby");
    browser.wait_for(
        "an unread count on the lobby",
        "return [...document.querySelectorAll('#rooms button')].map(b => b.getAttribute('aria-label'))",
        |v| texts(v).iter().any(|l| l.starts_with("#lobby, 1 unread")),
    );
    browser.type_keys(&format!("/topic Rust, \u{202E}reversed?{ENTER}"));
    browser.wait_for(
        "the topic",
        "return document.getElementById('topic').textContent",
        |v| v.as_str().is_some_and(|t| t.starts_with("Rust, ")),
    );
    // Back to the lobby by keyboard alone.
    browser.type_keys(&format!("{ALT}{ARROW_UP}{RELEASE}"));
    browser.wait_for(
        "the lobby again",
        "return document.getElementById('window-name').textContent",
        |v| v == "#lobby",
    );
    browser.screenshot(&screenshot_path("chat-wide.png"));
    browser.resize(390, 800);
    browser.screenshot(&screenshot_path("chat-phone.png"));
}

#[test]
fn history_scrolls_back_and_a_restart_resumes_without_a_gap_or_a_duplicate() {
    let Some(mut browser) = Browser::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let db = db.to_str().unwrap();
    let (server, web) = web_server(&["--db", db, "--flood-control", "off"]);
    let mut nc = PlainClient::named(server.addr, "teller");
    let before: Vec<String> = (0..130).map(|n| format!("before the restart {n}")).collect();
    for line in &before {
        nc.say(line);
    }
    browser.open(&format!("http://{web}/"));
    until_in_lobby(&mut browser);
    browser.wait_for("the newest message", SHOWN_TEXTS, |v| texts(v).last() == before.last());
    // Scrolling to the top asks for the page before, until the first message is there.
    let scrolled = browser.wait_for(
        "the oldest message after scrolling back",
        &format!("document.getElementById('log').scrollTop = 0; {SHOWN_TEXTS}"),
        |v| texts(v).first() == before.first(),
    );
    assert_eq!(texts(&scrolled), before);

    drop(nc);
    assert_eq!(server.terminate(), Some(0));
    browser.wait_for(
        "that it is offline",
        "return document.getElementById('status').textContent",
        |v| v.as_str().is_some_and(|s| s.starts_with("offline")),
    );
    let web_listener = format!("http://{web}");
    let again = TestServer::launch(
        &["--listen", "127.0.0.1:0", "--listen", &web_listener, "--no-console"],
        &["--db", db],
    );
    // Said while the page may still be away: it must fetch these, once each, when it is back.
    let mut nc = PlainClient::named(again.addr, "teller");
    let after: Vec<String> = (0..5).map(|n| format!("after the restart {n}")).collect();
    for line in &after {
        nc.say(line);
    }
    let resumed = browser.wait_for("the messages said after the restart", SHOWN_TEXTS, |v| {
        texts(v).last() == after.last()
    });
    let expected: Vec<String> = before.iter().chain(&after).cloned().collect();
    assert_eq!(texts(&resumed), expected);
    nc.say("live again");
    browser.wait_for("a live message", SHOWN_TEXTS, |v| {
        texts(v).last().map(String::as_str) == Some("live again")
    });
    browser.screenshot(&screenshot_path("history-resumed.png"));
}

#[test]
fn the_page_registers_sends_a_direct_message_and_searches() {
    let Some(mut browser) = Browser::start() else {
        return;
    };
    let (server, web) = web_server(&[]);
    let mut nc = PlainClient::named(server.addr, "ncfriend");
    browser.open(&format!("http://{web}/"));
    until_in_lobby(&mut browser);
    // The account form, by keyboard: the nick to take and its password, then "Register this nick".
    browser.eval("document.getElementById('account').click()");
    browser.wait_for(
        "the account form",
        "return document.getElementById('account-dialog').open",
        |v| v == true,
    );
    browser.type_keys("hunter2hunter2");
    browser.eval(
        "document.getElementById('account-nick').value = 'webuser'; \
         document.getElementById('register').click()",
    );
    browser.wait_for(
        "the account",
        "return document.getElementById('account').textContent",
        |v| v.as_str().is_some_and(|t| t.starts_with("webuser")),
    );
    browser.eval("document.getElementById('input').focus()");
    browser.type_keys(&format!("/msg ncfriend just for you{ENTER}"));
    nc.lines.until(|l| l.contains("webuser") && l.contains("just for you"));
    nc.say("/msg webuser and back to you");
    browser.wait_for("the answer in the conversation", SHOWN_TEXTS, |v| {
        texts(v).last().map(String::as_str) == Some("and back to you")
    });
    nc.say("searchable needle words");
    browser.type_keys(&format!("/join lobby{ENTER}"));
    // A message is found once indexed, a moment after it is stored: ask again until it is.
    let found = |v: &Value| texts(v).iter().any(|t| t == "searchable needle words");
    let deadline = std::time::Instant::now() + crate::support::TIMEOUT;
    loop {
        browser.type_keys(&format!("/search needle{ENTER}"));
        if browser
            .seen_within(SHOWN_TEXTS, &found, Duration::from_millis(500))
            .is_ok()
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the search never found the message"
        );
    }
    browser.screenshot(&screenshot_path("search.png"));
}
