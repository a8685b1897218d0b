//! History in the windows: the latest page on opening, older pages on scrolling back, and the messages
//! missed while away merged after a reconnect with no gap and no duplicate.

use super::*;
use crate::client::tui::view::clock;
use crate::client::tui::view::tests::screen;
use crate::protocol::ErrorCode;

/// Message `id` as stored: said by bob in `in_room` as "m{id}".
fn stored(id: u64, in_room: &str) -> Message {
    Message {
        id: MessageId(id),
        ts: NOW,
        from: nick("bob"),
        account: None,
        room: Some(room(in_room)),
        to: None,
        text: format!("m{id}"),
        action: false,
    }
}

fn live(id: u64) -> Msg {
    Msg::Server(Event::Message(stored(id, "lobby")))
}

fn page(ids: impl IntoIterator<Item = u64>, more: bool) -> Msg {
    Msg::Server(Event::History {
        room: Some(room("lobby")),
        with: None,
        messages: ids.into_iter().map(|id| stored(id, "lobby")).collect(),
        more,
        id: None,
    })
}

/// The history requests among `actions`.
fn pages_asked(actions: &[Action]) -> Vec<String> {
    sent(actions)
        .into_iter()
        .filter(|s| s.contains(r#""type":"history""#))
        .collect()
}

fn messages_shown(window: &Window) -> Vec<String> {
    texts(window).into_iter().filter(|t| t.starts_with('<')).collect()
}

const HINT: &str = "-- type /help for commands and keys, Ctrl-C to quit";
const IN_LOBBY: &str = "-- you are in lobby";

#[test]
fn a_window_opens_with_its_latest_history_before_what_is_said_live() {
    struct Case {
        name: &'static str,
        live_first: &'static [u64],
        page: &'static [u64],
        more: bool,
        shown: &'static [&'static str],
    }
    let cases = [
        Case {
            name: "history comes before the notices of joining",
            live_first: &[],
            page: &[1, 2, 3],
            more: true,
            shown: &["<bob> m1", "<bob> m2", "<bob> m3", HINT, IN_LOBBY],
        },
        Case {
            name: "a message said live before the page came is shown once, after the history",
            live_first: &[4],
            page: &[2, 3, 4],
            more: false,
            shown: &["<bob> m2", "<bob> m3", HINT, IN_LOBBY, "<bob> m4"],
        },
        Case {
            name: "an empty room shows no history",
            live_first: &[],
            page: &[],
            more: false,
            shown: &[HINT, IN_LOBBY],
        },
    ];
    for case in cases {
        let mut app = App::new(nick("ann"));
        app.update(Msg::Connected(welcome("ann")), NOW);
        let actions = app.update(joined("lobby", "ann"), NOW);
        assert_eq!(
            pages_asked(&actions),
            [r#"{"id":2,"type":"history","room":"lobby","limit":100}"#],
            "{}",
            case.name
        );
        for id in case.live_first {
            app.update(live(*id), NOW);
        }
        let actions = app.update(page(case.page.iter().copied(), case.more), NOW);
        assert!(actions.is_empty(), "{}: {:?}", case.name, sent(&actions));
        assert_eq!(texts(app.active()), case.shown, "{}", case.name);
        assert_eq!(app.active().paging.older, case.more, "{}", case.name);
        assert_eq!(app.active().unread, 0, "{}: history is not unread", case.name);
    }
}

#[test]
fn history_lines_look_like_messages_with_their_time() {
    let mut app = connected();
    app.update(page([7], false), NOW);
    let rows = screen(&app, 80, 8);
    let t = clock(NOW);
    assert_eq!(rows[3], format!("{t}<bob> m7"), "{rows:#?}");
}

#[test]
fn scrolling_above_the_oldest_line_fetches_the_page_before_it_and_keeps_the_view() {
    let mut app = connected();
    app.update(page(101..=130, true), NOW);
    app.update(ack(2), NOW);
    let actions = app.update(key(KeyCode::PageUp), NOW);
    assert_eq!(
        pages_asked(&actions),
        [r#"{"id":3,"type":"history","room":"lobby","before":101,"limit":100}"#]
    );
    let before = screen(&app, 80, 24);
    assert!(before[1].ends_with("<bob> m101"), "at the top: {before:#?}");
    let scroll = || {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollUp,
            column: 0,
            row: 0,
            modifiers: KeyModifiers::NONE,
        })
    };
    for again in [key(KeyCode::PageUp), scroll()] {
        let actions = app.update(again, NOW);
        assert!(pages_asked(&actions).is_empty(), "one page in flight at most");
    }
    app.update(page(71..=100, false), NOW);
    app.update(ack(3), NOW);
    assert_eq!(screen(&app, 80, 24), before, "the older page goes in above the view");
    let mut asked = Vec::new();
    for _ in 0..5 {
        asked.extend(pages_asked(&app.update(key(KeyCode::PageUp), NOW)));
    }
    assert!(asked.is_empty(), "nothing older is stored: {asked:?}");
    let top = screen(&app, 80, 24);
    assert!(top[1].ends_with("<bob> m71"), "{top:#?}");
    let shown = messages_shown(app.active());
    let wanted: Vec<String> = (71..=130).map(|id| format!("<bob> m{id}")).collect();
    assert_eq!(shown, wanted);
}

#[test]
fn after_a_reconnect_each_window_merges_what_it_missed_with_no_gap_and_no_duplicate() {
    struct Case {
        name: &'static str,
        /// From the drop on: what happens, up to and including the pages answering.
        steps: Vec<Msg>,
        pages_asked: &'static [&'static str],
        shown: Vec<String>,
    }
    let upto = |last: u64| (1..=last).map(|id| format!("<bob> m{id}")).collect::<Vec<_>>();
    let dropped = || Msg::Disconnected {
        reason: "reset".into(),
        retry_in: Duration::from_secs(1),
    };
    let back = || Msg::Connected(welcome("ann"));
    let cases = [
        Case {
            name: "the gap is filled after the notices of reconnecting",
            steps: vec![dropped(), back(), joined("lobby", "ann"), page(6..=7, false)],
            pages_asked: &[r#"{"id":4,"type":"history","room":"lobby","after":5,"limit":100}"#],
            shown: [
                upto(5),
                vec![
                    HINT.into(),
                    IN_LOBBY.into(),
                    "-- disconnected: reset; reconnecting in 1s".into(),
                    "-- reconnected".into(),
                    IN_LOBBY.into(),
                    "<bob> m6".into(),
                    "<bob> m7".into(),
                ],
            ]
            .concat(),
        },
        Case {
            name: "a message said live before the page came is not shown twice",
            steps: vec![dropped(), back(), joined("lobby", "ann"), live(8), page(6..=8, false)],
            pages_asked: &[r#"{"id":4,"type":"history","room":"lobby","after":5,"limit":100}"#],
            shown: upto(8),
        },
        Case {
            name: "while more follow, the next page is asked for after the newest shown",
            steps: vec![
                dropped(),
                back(),
                joined("lobby", "ann"),
                page(6..=7, true),
                ack(4),
                page(8..=9, false),
            ],
            pages_asked: &[
                r#"{"id":4,"type":"history","room":"lobby","after":5,"limit":100}"#,
                r#"{"id":5,"type":"history","room":"lobby","after":7,"limit":100}"#,
            ],
            shown: upto(9),
        },
        Case {
            name: "a page that repeats what is shown adds nothing",
            steps: vec![dropped(), back(), joined("lobby", "ann"), page(4..=6, false)],
            pages_asked: &[r#"{"id":4,"type":"history","room":"lobby","after":5,"limit":100}"#],
            shown: upto(6),
        },
        Case {
            name: "a page asked for before the drop is not asked again; the catch-up replaces it",
            steps: vec![
                key(KeyCode::PageUp),
                dropped(),
                back(),
                joined("lobby", "ann"),
                page(6..=6, false),
            ],
            pages_asked: &[
                r#"{"id":3,"type":"history","room":"lobby","before":1,"limit":100}"#,
                r#"{"id":5,"type":"history","room":"lobby","after":5,"limit":100}"#,
            ],
            shown: upto(6),
        },
    ];
    for case in cases {
        let mut app = connected();
        app.update(ack(1), NOW);
        app.update(page(1..=5, true), NOW);
        app.update(ack(2), NOW);
        let mut asked = Vec::new();
        for step in case.steps {
            asked.extend(pages_asked(&app.update(step, NOW)));
        }
        assert_eq!(asked, case.pages_asked, "{}", case.name);
        let shown = texts(app.active());
        if case.shown.iter().any(|s| s.starts_with("--")) {
            assert_eq!(shown, case.shown, "{}", case.name);
        } else {
            assert_eq!(messages_shown(app.active()), case.shown, "{}", case.name);
        }
    }
}

#[test]
fn ones_own_message_resent_after_a_reconnect_shows_once_whichever_comes_first() {
    for page_first in [true, false] {
        let mut app = connected();
        app.update(ack(1), NOW);
        app.update(page(1..=5, false), NOW);
        app.update(ack(2), NOW);
        app.update(
            Msg::Disconnected {
                reason: "reset".into(),
                retry_in: Duration::from_secs(1),
            },
            NOW,
        );
        typed(&mut app, "while away");
        app.update(Msg::Connected(welcome("ann")), NOW);
        app.update(joined("lobby", "ann"), NOW);
        let mine = Message {
            from: nick("ann"),
            text: "while away".into(),
            ..stored(6, "lobby")
        };
        let answer = Msg::Server(Event::History {
            room: Some(room("lobby")),
            with: None,
            messages: vec![mine],
            more: false,
            id: None,
        });
        let stored_as_6 = Msg::Server(Event::Ack {
            id: RequestId::Number(3),
            message: Some(MessageId(6)),
            ts: Some(NOW),
        });
        let (first, second) = if page_first {
            (answer, stored_as_6)
        } else {
            (stored_as_6, answer)
        };
        app.update(first, NOW);
        app.update(second, NOW);
        let shown = messages_shown(app.active());
        let mine: Vec<&String> = shown.iter().filter(|t| t.contains("while away")).collect();
        assert_eq!(mine.len(), 1, "page first: {page_first}: {shown:?}");
        assert_eq!(shown.len(), 6, "page first: {page_first}: {shown:?}");
    }
}

#[test]
fn direct_history_is_asked_for_only_when_logged_in_and_a_refusal_is_quiet() {
    let mut app = connected();
    let actions = typed(&mut app, "/query bob");
    assert!(
        pages_asked(&actions).is_empty(),
        "a guest's direct messages are not kept"
    );
    let actions = app.update(
        Msg::Server(Event::Account {
            account: Some(nick("ann")),
            operator: false,
        }),
        NOW,
    );
    assert_eq!(
        pages_asked(&actions),
        [r#"{"id":3,"type":"history","with":"bob","limit":100}"#]
    );
    app.update(
        Msg::Server(Event::Error {
            id: Some(RequestId::Number(3)),
            code: ErrorCode::NotLoggedIn,
            message: "direct messages are kept for accounts only".into(),
        }),
        NOW,
    );
    assert_eq!(app.active().name(), "@bob");
    assert!(
        texts(app.active()).iter().all(|t| !t.contains("accounts only")),
        "{:?}",
        texts(app.active())
    );
    let actions = typed(&mut app, "/query cy");
    assert_eq!(
        pages_asked(&actions),
        [r#"{"id":4,"type":"history","with":"cy","limit":100}"#]
    );
    app.update(
        Msg::Server(Event::History {
            room: None,
            with: Some(nick("cy")),
            messages: vec![Message {
                from: nick("cy"),
                room: None,
                to: Some(nick("ann")),
                text: "psst".into(),
                ..stored(3, "lobby")
            }],
            more: false,
            id: None,
        }),
        NOW,
    );
    assert_eq!(messages_shown(app.active()), ["<cy> psst"]);
}

#[test]
fn typed_history_fetches_the_older_page_here_once() {
    let mut app = connected();
    let actions = typed(&mut app, "/history 5");
    assert!(pages_asked(&actions).is_empty(), "the latest page is on its way");
    app.update(page(11..=20, true), NOW);
    let actions = typed(&mut app, "/history 5");
    assert_eq!(
        pages_asked(&actions),
        [r#"{"id":3,"type":"history","room":"lobby","before":11,"limit":5}"#]
    );
    app.update(page(6..=10, false), NOW);
    typed(&mut app, "/history");
    assert_eq!(
        texts(app.active()).last().unwrap(),
        "-- no older messages to fetch here"
    );
    assert_eq!(messages_shown(app.active()).len(), 15);
}
