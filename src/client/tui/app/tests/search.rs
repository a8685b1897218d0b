//! `/search WORDS`: a window of its own listing the matches newest first, with where and when each was
//! said.

use super::*;
use crate::client::tui::view::clock;
use crate::client::tui::view::tests::screen;

fn found(query: &str) -> Msg {
    Msg::Server(Event::Search {
        query: query.into(),
        messages: vec![
            Message {
                id: MessageId(9),
                ts: NOW,
                from: nick("bob"),
                account: None,
                room: Some(room("lobby")),
                to: None,
                text: "crab cakes tonight".into(),
                action: false,
            },
            Message {
                id: MessageId(4),
                ts: NOW,
                from: nick("ann"),
                account: None,
                room: None,
                to: Some(nick("cy")),
                text: "crab cakes?".into(),
                action: false,
            },
        ],
    })
}

#[test]
fn a_search_lists_its_matches_in_a_window_of_its_own() {
    let mut app = connected();
    let actions = typed(&mut app, "/search crab cakes");
    assert_eq!(sent(&actions), [r#"{"id":3,"type":"search","query":"crab cakes"}"#]);
    assert_eq!(app.active().name(), "search: crab cakes");
    assert_eq!(texts(app.active()), ["-- searching…"]);
    app.update(found("crab cakes"), NOW);
    assert_eq!(
        texts(app.active()),
        [
            "-- 2 messages hold all of: crab cakes, newest first",
            "<bob> [lobby] crab cakes tonight",
            "<ann> [@cy] crab cakes?",
        ]
    );
    let rows = screen(&app, 80, 8);
    let t = clock(NOW);
    assert_eq!(rows[0], " 0:mentions  1:lobby  2:search: crab cakes");
    assert_eq!(rows[4], format!("{t}<bob> [lobby] crab cakes tonight"), "{rows:#?}");
    assert_eq!(rows[5], format!("{t}<ann> [@cy] crab cakes?"), "{rows:#?}");
}

#[test]
fn the_same_words_reuse_their_window_which_takes_no_messages_and_closes() {
    let mut app = connected();
    typed(&mut app, "/search crab cakes");
    app.update(found("crab cakes"), NOW);
    app.update(with(KeyCode::Char('1'), KeyModifiers::ALT), NOW);
    typed(&mut app, "/search crab cakes");
    assert_eq!(app.windows.len(), 3);
    assert_eq!(app.active().name(), "search: crab cakes");
    assert_eq!(texts(app.active()), ["-- searching…"], "the old matches are gone");
    app.update(found("crab cakes"), NOW);
    let actions = typed(&mut app, "hello");
    assert!(actions.is_empty());
    assert_eq!(
        texts(app.active()).last().unwrap(),
        "-- this window lists search results; switch to a room to talk (Ctrl-N)"
    );
    typed(&mut app, "/close");
    assert_eq!(app.windows.len(), 2);
    assert_eq!(app.active().name(), "lobby");
}

#[test]
fn no_match_is_said_and_search_is_in_the_help() {
    let mut app = connected();
    typed(&mut app, "/search nothing here");
    app.update(
        Msg::Server(Event::Search {
            query: "nothing here".into(),
            messages: vec![],
        }),
        NOW,
    );
    assert_eq!(texts(app.active()), ["-- no message holds all of: nothing here"]);
    typed(&mut app, "/help");
    assert!(texts(app.active()).iter().any(|t| t.contains("/search WORDS")));
}
