//! Scripts of messages and what the client must do and show.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::names::ConnId;
use crate::protocol::MessageId;

mod accounts;
mod paging;
mod search;

pub(crate) const NOW: Millis = 1_764_000_000_000;

pub(crate) fn nick(n: &str) -> Nick {
    Nick::parse(n).unwrap()
}

pub(crate) fn room(r: &str) -> RoomName {
    RoomName::parse(r).unwrap()
}

pub(crate) fn welcome(n: &str) -> Welcome {
    Welcome {
        server: "sockchat test".into(),
        nick: nick(n),
        conn: ConnId(1),
        room: Some(room("lobby")),
        max_message: 1000,
    }
}

pub(crate) fn said(from: &str, in_room: &str, text: &str) -> Msg {
    Msg::Server(Event::Message(Message {
        id: MessageId(1),
        ts: NOW,
        from: nick(from),
        account: None,
        room: Some(room(in_room)),
        to: None,
        text: text.into(),
        action: false,
    }))
}

pub(crate) fn joined(in_room: &str, who: &str) -> Msg {
    Msg::Server(Event::Joined {
        room: room(in_room),
        nick: nick(who),
        account: None,
    })
}

pub(crate) fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

pub(crate) fn with(code: KeyCode, modifiers: KeyModifiers) -> Msg {
    Msg::Key(KeyEvent::new(code, modifiers))
}

pub(crate) fn typed(app: &mut App, text: &str) -> Vec<Action> {
    let mut actions = Vec::new();
    for c in text.chars() {
        actions.extend(app.update(key(KeyCode::Char(c)), NOW));
    }
    actions.extend(app.update(key(KeyCode::Enter), NOW));
    actions
}

/// A client connected as ann, in lobby.
pub(crate) fn connected() -> App {
    let mut app = App::new(nick("ann"));
    app.update(Msg::Connected(welcome("ann")), NOW);
    app.update(joined("lobby", "ann"), NOW);
    app
}

pub(crate) fn sent(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| match a {
            Action::Send(request) => serde_json::to_string(request).unwrap(),
            Action::Quit => "quit".to_owned(),
        })
        .collect()
}

pub(crate) fn texts(window: &Window) -> Vec<String> {
    window
        .entries
        .iter()
        .map(|e| match e {
            Entry::Message { from, text, mine, .. } => format!(
                "<{from}> {text}{}",
                mine.map(|(_, d)| format!(" [{d:?}]")).unwrap_or_default()
            ),
            Entry::Notice { text, .. } => format!("-- {text}"),
            Entry::Presence { joined, left, .. } => format!("presence +{joined:?} -{left:?}"),
        })
        .collect()
}

#[test]
fn joining_opens_a_window_and_asks_who_is_there() {
    let mut app = App::new(nick("ann"));
    app.update(Msg::Connected(welcome("ann")), NOW);
    let actions = app.update(joined("lobby", "ann"), NOW);
    assert_eq!(
        sent(&actions),
        [
            r#"{"id":1,"type":"who","room":"lobby"}"#,
            r#"{"id":2,"type":"history","room":"lobby","limit":100}"#
        ]
    );
    assert_eq!(app.active().name(), "lobby");
}

#[test]
fn typing_sends_to_the_active_window_and_marks_delivery() {
    let mut app = connected();
    let actions = typed(&mut app, "hello all");
    assert_eq!(
        sent(&actions),
        [r#"{"id":3,"type":"say","room":"lobby","text":"hello all"}"#]
    );
    assert_eq!(texts(app.active()).last().unwrap(), "<ann> hello all [Sent]");
    app.update(
        Msg::Server(Event::Ack {
            id: RequestId::Number(3),
            message: Some(MessageId(9)),
            ts: Some(NOW),
        }),
        NOW,
    );
    assert_eq!(texts(app.active()).last().unwrap(), "<ann> hello all [Delivered]");
    typed(&mut app, "/msg bob psst");
    assert_eq!(app.active().name(), "@bob");
    let actions = typed(&mut app, "more");
    assert_eq!(sent(&actions), [r#"{"id":5,"type":"msg","to":"bob","text":"more"}"#]);
    app.update(
        Msg::Server(Event::Error {
            id: Some(RequestId::Number(5)),
            code: crate::protocol::ErrorCode::NoSuchNick,
            message: "nobody is called bob".into(),
        }),
        NOW,
    );
    assert_eq!(
        texts(app.active())[1..],
        ["<ann> more [Failed]", "-- not delivered: nobody is called bob"]
    );
}

#[test]
fn mentions_are_highlighted_counted_and_collected() {
    let mut app = connected();
    app.update(joined("rust", "ann"), NOW);
    app.update(with(KeyCode::Char('1'), KeyModifiers::ALT), NOW);
    app.update(said("bob", "rust", "ann: look at this"), NOW);
    app.update(said("bob", "rust", "annoying is not a mention"), NOW);
    let rust = &app.windows[2];
    assert_eq!((rust.unread, rust.mentioned), (2, true));
    assert_eq!(texts(&app.windows[0]), ["<bob> [rust] ann: look at this"]);
    app.update(with(KeyCode::Char('2'), KeyModifiers::ALT), NOW);
    assert_eq!((app.windows[2].unread, app.windows[2].mentioned), (0, false));
}

#[test]
fn windows_switch_with_alt_digits_and_ctrl_n_p() {
    let mut app = connected();
    app.update(joined("rust", "ann"), NOW);
    let names = |app: &App| app.active().name();
    assert_eq!(
        names(&app),
        "lobby",
        "a join the user did not ask for does not steal the focus"
    );
    app.update(with(KeyCode::Char('n'), KeyModifiers::CONTROL), NOW);
    assert_eq!(names(&app), "rust");
    app.update(with(KeyCode::Char('n'), KeyModifiers::CONTROL), NOW);
    assert_eq!(names(&app), "mentions");
    app.update(with(KeyCode::Char('p'), KeyModifiers::CONTROL), NOW);
    assert_eq!(names(&app), "rust");
    app.update(with(KeyCode::Char('1'), KeyModifiers::ALT), NOW);
    assert_eq!(names(&app), "lobby");
    app.update(with(KeyCode::Char('9'), KeyModifiers::ALT), NOW);
    assert_eq!(names(&app), "lobby");
}

#[test]
fn nothing_typed_while_disconnected_is_lost() {
    let mut app = connected();
    app.update(joined("rust", "ann"), NOW);
    app.update(
        Msg::Disconnected {
            reason: "reset".into(),
            retry_in: Duration::from_secs(1),
        },
        NOW,
    );
    let actions = typed(&mut app, "while away");
    assert!(actions.is_empty());
    assert_eq!(texts(app.active()).last().unwrap(), "<ann> while away [Queued]");
    let mut back = welcome("user7");
    back.room = Some(room("lobby"));
    let actions = app.update(Msg::Connected(back), NOW);
    assert_eq!(
        sent(&actions),
        [
            r#"{"id":6,"type":"nick","nick":"ann"}"#,
            r#"{"id":7,"type":"join","room":"rust"}"#,
            r#"{"id":1,"type":"who","room":"lobby"}"#,
            r#"{"id":3,"type":"who","room":"rust"}"#,
            r#"{"id":5,"type":"say","room":"lobby","text":"while away"}"#,
        ],
        "the nick and rooms come back first, then everything unanswered, once, in order"
    );
    let shown = texts(app.active());
    assert_eq!(shown[shown.len() - 2..], ["<ann> while away [Sent]", "-- reconnected"]);
}

#[test]
fn long_messages_ask_first_and_newlines_come_from_alt_enter_and_paste() {
    let mut app = connected();
    app.update(Msg::Paste("a\nb\nc\nd\ne\nf".into()), NOW);
    assert!(app.update(key(KeyCode::Enter), NOW).is_empty());
    assert!(app.confirm.is_some());
    let actions = app.update(key(KeyCode::Char('y')), NOW);
    assert_eq!(
        sent(&actions),
        [r#"{"id":3,"type":"say","room":"lobby","text":"a\nb\nc\nd\ne\nf"}"#]
    );
    app.update(key(KeyCode::Char('x')), NOW);
    app.update(with(KeyCode::Enter, KeyModifiers::ALT), NOW);
    app.update(key(KeyCode::Char('y')), NOW);
    let actions = app.update(key(KeyCode::Enter), NOW);
    assert_eq!(
        sent(&actions),
        [r#"{"id":4,"type":"say","room":"lobby","text":"x\ny"}"#]
    );
}

#[test]
fn presence_is_folded_and_members_tracked() {
    let mut app = connected();
    app.update(
        Msg::Server(Event::Members {
            room: room("lobby"),
            nicks: vec![nick("ann")],
            more: false,
            id: None,
        }),
        NOW,
    );
    for who in ["bob", "cy"] {
        app.update(
            Msg::Server(Event::Joined {
                room: room("lobby"),
                nick: nick(who),
                account: None,
            }),
            NOW,
        );
    }
    app.update(
        Msg::Server(Event::Quit {
            nick: nick("bob"),
            reason: "bye".into(),
        }),
        NOW,
    );
    assert_eq!(
        texts(app.active()).last().unwrap(),
        r#"presence +["bob", "cy"] -["bob"]"#
    );
    let members: Vec<String> = app.active().members.iter().map(|n| n.to_string()).collect();
    assert_eq!(members, ["ann", "cy"]);
}

#[test]
fn ctrl_c_quits_and_says_so() {
    let mut app = connected();
    let actions = app.update(with(KeyCode::Char('c'), KeyModifiers::CONTROL), NOW);
    assert_eq!(sent(&actions), [r#"{"id":3,"type":"quit"}"#, "quit"]);
}

#[test]
fn the_mouse_wheel_scrolls() {
    use crossterm::event::{MouseEvent, MouseEventKind};
    let mut app = connected();
    app.update(Msg::Resize(40, 6), NOW);
    for i in 0..20 {
        app.update(said("bob", "lobby", &format!("line {i}")), NOW);
    }
    let wheel = |kind| {
        Msg::Mouse(MouseEvent {
            kind,
            column: 0,
            row: 2,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.update(wheel(MouseEventKind::ScrollUp), NOW);
    assert_eq!(app.active().scroll, WHEEL_ROWS);
    app.update(wheel(MouseEventKind::ScrollDown), NOW);
    assert_eq!(app.active().scroll, 0);
}

#[test]
fn tab_cycles_through_commands_as_through_nicks() {
    let cases: [(&str, &[&str]); 3] = [
        ("/m", &["/me ", "/msg ", "/me "]),
        ("/q", &["/query ", "/quit ", "/query "]),
        ("/cl", &["/close ", "/clear ", "/close "]),
    ];
    for (start, want) in cases {
        let mut app = connected();
        app.update(
            Msg::Server(Event::Members {
                room: room("lobby"),
                nicks: vec![nick("ann"), nick("server")],
                more: false,
                id: None,
            }),
            NOW,
        );
        for c in start.chars() {
            app.update(key(KeyCode::Char(c)), NOW);
        }
        let got: Vec<String> = want
            .iter()
            .map(|_| {
                app.update(key(KeyCode::Tab), NOW);
                app.editor.text()
            })
            .collect();
        assert_eq!(got, *want, "{start}");
    }
}

#[test]
fn help_is_the_clients_own() {
    let mut app = connected();
    typed(&mut app, "/help");
    let shown = texts(app.active()).join("\n");
    for wanted in ["/query NICK", "/close", "/clear", "Ctrl-N", "Alt+Enter"] {
        assert!(shown.contains(wanted), "{wanted} missing from {shown}");
    }
    assert!(!shown.contains("operator only"), "{shown}");
    assert!(
        shown.contains("  /query NICK          open a window"),
        "aligned: {shown}"
    );
}

#[test]
fn the_start_says_how_to_get_help_and_a_taken_nick_is_said_where_one_looks() {
    let mut app = App::new(nick("ann"));
    app.update(Msg::Connected(welcome("user323")), NOW);
    app.update(
        Msg::Server(Event::Error {
            id: None,
            code: ErrorCode::NickTaken,
            message: "the nick ann is taken; you are user323".into(),
        }),
        NOW,
    );
    app.update(joined("lobby", "user323"), NOW);
    assert_eq!(app.active().name(), "lobby");
    assert_eq!(
        texts(app.active()),
        [
            "-- type /help for commands and keys, Ctrl-C to quit",
            "-- the nick ann is taken: you are user323; /nick NAME picks another",
            "-- you are in lobby",
        ]
    );
    assert!(
        texts(&app.windows[0]).is_empty(),
        "nothing lands in the mentions window"
    );
}

#[test]
fn a_reconnect_forgets_the_old_topic() {
    let mut app = connected();
    app.update(
        Msg::Server(Event::Topic {
            room: room("lobby"),
            topic: Some("before the restart".into()),
            by: Some(nick("bob")),
        }),
        NOW,
    );
    assert_eq!(app.active().topic.as_deref(), Some("before the restart"));
    app.update(
        Msg::Disconnected {
            reason: "reset".into(),
            retry_in: Duration::from_secs(1),
        },
        NOW,
    );
    app.update(Msg::Connected(welcome("ann")), NOW);
    assert_eq!(app.active().topic, None);
}

fn members(room_name: &str, nicks: &[&str], more: bool) -> Msg {
    Msg::Server(Event::Members {
        room: room(room_name),
        nicks: nicks.iter().map(|n| nick(n)).collect(),
        more,
        id: None,
    })
}

fn ack(id: u64) -> Msg {
    Msg::Server(Event::Ack {
        id: RequestId::Number(id),
        message: None,
        ts: None,
    })
}

fn member_list(app: &App) -> Vec<String> {
    app.active().members.iter().map(Nick::to_string).collect()
}

#[test]
fn member_pages_add_up_and_a_fresh_who_starts_the_list_again() {
    // Joining asked for the first page (id 1).
    let mut app = connected();
    let actions = app.update(members("lobby", &["ann", "bo"], true), NOW);
    assert_eq!(sent(&actions), [r#"{"id":3,"type":"who","room":"lobby","after":"bo"}"#]);
    app.update(ack(1), NOW);
    // The user asks again while the client is still paging the first listing.
    typed(&mut app, "/who");
    app.update(members("lobby", &["cy", "dee"], true), NOW);
    assert_eq!(member_list(&app), ["ann", "bo", "cy", "dee"]);
    app.update(ack(3), NOW);
    // The answer to the user's /who (id 4): the list starts again; the older listing's next page
    // (id 5) is dropped and not followed.
    let actions = app.update(members("lobby", &["ann"], true), NOW);
    assert_eq!(
        sent(&actions),
        [r#"{"id":6,"type":"who","room":"lobby","after":"ann"}"#]
    );
    assert_eq!(member_list(&app), ["ann"]);
    app.update(ack(4), NOW);
    let actions = app.update(members("lobby", &["eve"], true), NOW);
    assert!(actions.is_empty(), "{:?}", sent(&actions));
    assert_eq!(member_list(&app), ["ann"]);
    app.update(ack(5), NOW);
    app.update(members("lobby", &["bo", "eve"], false), NOW);
    app.update(ack(6), NOW);
    assert_eq!(member_list(&app), ["ann", "bo", "eve"]);
    // A page nobody asked for as the next one starts the list afresh too.
    app.update(members("lobby", &["zed"], false), NOW);
    assert_eq!(member_list(&app), ["zed"]);
}

#[test]
fn a_page_of_rooms_says_how_to_get_the_next() {
    let summary = |name: &str, members| crate::protocol::RoomSummary {
        room: room(name),
        members,
        topic: None,
    };
    let cases = [
        (false, "-- rooms: lobby (2), rust (1)"),
        (true, "-- rooms: lobby (2), rust (1); more follow: /rooms rust"),
    ];
    for (more, want) in cases {
        let mut app = connected();
        let rooms = vec![summary("lobby", 2), summary("rust", 1)];
        app.update(Msg::Server(Event::Rooms { rooms, more }), NOW);
        assert_eq!(texts(app.active()).last().unwrap(), want);
    }
}

#[test]
fn a_reconnect_asks_back_a_chosen_nick_but_not_one_the_server_gave() {
    let reconnect = |app: &mut App, as_nick: &str| {
        app.update(
            Msg::Disconnected {
                reason: "reset".into(),
                retry_in: Duration::from_secs(1),
            },
            NOW,
        );
        sent(&app.update(Msg::Connected(welcome(as_nick)), NOW))
    };
    let asks_nick = |sent: &[String]| sent.iter().any(|s| s.contains(r#""type":"nick""#));
    // ann was taken at the start: the server's user323 is not asked back.
    let mut app = App::new(nick("ann"));
    app.update(Msg::Connected(welcome("user323")), NOW);
    app.update(joined("lobby", "user323"), NOW);
    let sent = reconnect(&mut app, "user9");
    assert!(!asks_nick(&sent), "{sent:?}");
    assert_eq!(app.me, nick("user9"));
    // Once the user picks a nick it is theirs, and asked back after the next reconnect.
    typed(&mut app, "/nick anna");
    app.update(
        Msg::Server(Event::Renamed {
            from: nick("user9"),
            to: nick("anna"),
        }),
        NOW,
    );
    let sent = reconnect(&mut app, "user12");
    assert!(
        sent.iter().any(|s| s.contains(r#""type":"nick","nick":"anna""#)),
        "{sent:?}"
    );
    // A nick chosen at the start is asked back too.
    let mut app = connected();
    let sent = reconnect(&mut app, "user2");
    assert!(
        sent.iter().any(|s| s.contains(r#""type":"nick","nick":"ann""#)),
        "{sent:?}"
    );
    // The hello asks for ann each time: once the server gives ann, the server's nick before is not
    // asked back, and ann is asked back after the next reconnect.
    let mut app = App::new(nick("ann"));
    app.update(Msg::Connected(welcome("user2")), NOW);
    let sent = reconnect(&mut app, "ann");
    assert!(!asks_nick(&sent), "{sent:?}");
    let sent = reconnect(&mut app, "user4");
    assert!(
        sent.iter().any(|s| s.contains(r#""type":"nick","nick":"ann""#)),
        "{sent:?}"
    );
}

#[test]
fn a_reconnect_logs_in_again_with_the_last_login_that_succeeded() {
    let reconnect = |app: &mut App, as_nick: &str| {
        app.update(
            Msg::Disconnected {
                reason: "reset".into(),
                retry_in: Duration::from_secs(1),
            },
            NOW,
        );
        sent(&app.update(Msg::Connected(welcome(as_nick)), NOW))
    };
    let logs_in = |sent: &[String]| sent.iter().position(|s| s.contains(r#""type":"login""#));
    let id_of = |line: &str| -> u64 {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        value["id"].as_u64().unwrap()
    };
    let mut app = connected();
    typed(&mut app, "/join rust");
    app.update(joined("rust", "ann"), NOW);
    // A login that failed is not tried again.
    let refused = sent(&typed(&mut app, "/login bob wrong"));
    app.update(
        Msg::Server(Event::Error {
            id: Some(RequestId::Number(id_of(&refused[0]))),
            code: ErrorCode::WrongPassword,
            message: "wrong password".into(),
        }),
        NOW,
    );
    assert_eq!(logs_in(&reconnect(&mut app, "guest3")), None);
    // One that succeeded is, before the rooms are joined again, and its nick is not asked for besides.
    let login = sent(&typed(&mut app, "/login bob right horse"));
    app.update(
        Msg::Server(Event::Renamed {
            from: nick("ann"),
            to: nick("bob"),
        }),
        NOW,
    );
    app.update(ack(id_of(&login[0])), NOW);
    let sent_now = reconnect(&mut app, "guest4");
    let at = logs_in(&sent_now).expect("a login after the reconnect");
    assert!(
        sent_now[at].contains(r#""nick":"bob","password":"right horse""#),
        "{sent_now:?}"
    );
    let joins = sent_now.iter().position(|s| s.contains(r#""type":"join""#)).unwrap();
    assert!(at < joins, "{sent_now:?}");
    assert!(
        !sent_now.iter().any(|s| s.contains(r#""type":"nick","nick":"bob""#)),
        "{sent_now:?}"
    );
    app.update(ack(id_of(&sent_now[at])), NOW);
    // After the account is deleted, a reconnect is a guest's.
    let gone = sent(&typed(&mut app, "/unregister right horse"));
    app.update(ack(id_of(&gone[0])), NOW);
    assert_eq!(logs_in(&reconnect(&mut app, "guest5")), None);
}
