//! Scripts of inputs and the effects the hub must answer them with.

use std::collections::BTreeMap;

use super::*;
use crate::store::{Conversation, HistoryPage, StoredMessage};

const NOW: Millis = 1_700_000_000_000;

fn hub() -> Hub {
    Hub::new(HubConfig {
        server: "sockchat test".to_owned(),
        max_message: 64,
        presence_limit: 3,
        max_rooms: 10_000,
        operator_nick: Nick::parse("server").unwrap(),
    })
}

fn arrival(conn: u64, nick: Option<&str>) -> Input {
    Input::Connect(Arrival {
        conn: ConnId(conn),
        nick: nick.map(|n| Nick::parse(n).unwrap()),
        room: None,
        peer: format!("127.0.0.1:{}", 5000 + conn),
        operator: conn == 0,
        echo: conn == 0,
        ip: Some(core::net::Ipv4Addr::new(127, 0, 0, 1).into()),
        secure: true,
        login: Login::None,
        replay: 0,
        lands: true,
    })
}

fn request(conn: u64, id: Option<u64>, json: &str) -> Input {
    let command: Command = serde_json::from_str(json).unwrap();
    Input::Request {
        conn: ConnId(conn),
        request: Request {
            id: id.map(RequestId::Number),
            command,
        },
    }
}

/// Who follows which room, as the server learns it from `Follow` and `Unfollow`.
#[derive(Default)]
struct Followers(BTreeMap<RoomName, BTreeMap<ConnId, Focus>>);

impl Followers {
    /// One line per delivery: `#N here|away {event as JSON}`, or `#N closed`; broadcasts are spelled
    /// out for each follower.
    fn describe(&mut self, effects: Vec<Effect>) -> Vec<String> {
        let mut lines = Vec::new();
        for effect in effects {
            match effect {
                Effect::Deliver { event, to } => {
                    for Addressee { conn, focus } in to {
                        lines.push(line(conn, focus, &event));
                    }
                }
                Effect::Broadcast { room, event, except } => {
                    let followers = self.0.get(&room).into_iter().flatten();
                    for (&conn, &focus) in followers.filter(|(c, _)| Some(**c) != except) {
                        lines.push(line(conn, focus, &event));
                    }
                }
                Effect::Follow { conn, room, focus } => {
                    self.0.entry(room).or_default().insert(conn, focus);
                }
                Effect::Unfollow { conn, room } => {
                    self.0.entry(room).or_default().remove(&conn);
                }
                Effect::Close { conn } => {
                    self.0.values_mut().for_each(|f| {
                        f.remove(&conn);
                    });
                    lines.push(format!("{conn} closed"));
                }
                // What the store is asked is checked on its own (`stored`).
                Effect::Persist { .. } | Effect::Ask { .. } => {}
            }
        }
        lines
    }
}

fn line(conn: ConnId, focus: Focus, event: &Event) -> String {
    let focus = if focus == Focus::Current { "here" } else { "away" };
    format!("{conn} {focus} {}", serde_json::to_string(event).unwrap())
}

/// Runs `setup`, then checks each step's input against the lines it must produce.
fn script(setup: &[Input], steps: &[(Input, &[&str])]) {
    let mut hub = hub();
    let mut followers = Followers::default();
    for input in setup {
        followers.describe(hub.handle(input.clone(), NOW));
    }
    for (input, want) in steps {
        let got = followers.describe(hub.handle(input.clone(), NOW));
        assert_eq!(got, *want, "after {input:?}");
    }
}

#[test]
fn connect_welcomes_and_announces() {
    script(
        &[arrival(1, None)],
        &[(
            arrival(2, Some("bob")),
            &[
                r#"#2 away {"type":"welcome","version":1,"server":"sockchat test","nick":"bob","conn":2,"room":"lobby","max_message":64}"#,
                r#"#1 here {"type":"joined","room":"lobby","nick":"bob"}"#,
                r#"#2 here {"type":"joined","room":"lobby","nick":"bob"}"#,
            ],
        )],
    );
}

#[test]
fn taken_nick_on_connect_falls_back() {
    script(
        &[arrival(1, Some("Bob"))],
        &[(
            arrival(2, Some("bob")),
            &[
                r#"#2 away {"type":"welcome","version":1,"server":"sockchat test","nick":"user2","conn":2,"room":"lobby","max_message":64}"#,
                r#"#2 away {"type":"error","id":null,"code":"nick_taken","message":"the nick bob is taken; you are user2"}"#,
                r#"#1 here {"type":"joined","room":"lobby","nick":"user2"}"#,
                r#"#2 here {"type":"joined","room":"lobby","nick":"user2"}"#,
            ],
        )],
    );
}

#[test]
fn say_reaches_the_room_but_not_the_sender() {
    script(
        &[arrival(1, Some("ann")), arrival(2, Some("bob")), arrival(3, Some("cy"))],
        &[(
            request(1, Some(7), r#"{"type":"say","text":"hi\nthere"}"#),
            &[
                r#"#2 here {"type":"message","id":1,"ts":1700000000000,"from":"ann","room":"lobby","text":"hi\nthere"}"#,
                r#"#3 here {"type":"message","id":1,"ts":1700000000000,"from":"ann","room":"lobby","text":"hi\nthere"}"#,
                r#"#1 away {"type":"ack","id":7,"message":1,"ts":1700000000000}"#,
            ],
        )],
    );
}

#[test]
fn focus_follows_the_current_room() {
    script(
        &[
            arrival(1, Some("ann")),
            arrival(2, Some("bob")),
            request(2, None, r#"{"type":"join","room":"rust"}"#),
            request(1, None, r#"{"type":"join","room":"rust"}"#),
        ],
        &[(
            request(1, None, r#"{"type":"say","room":"lobby","text":"x"}"#),
            &[r#"#2 away {"type":"message","id":1,"ts":1700000000000,"from":"ann","room":"lobby","text":"x"}"#],
        )],
    );
}

#[test]
fn focus_returns_to_the_room_joined_before() {
    let say_in_lobby = || request(2, None, r#"{"type":"say","room":"lobby","text":"x"}"#);
    script(
        &[
            arrival(1, Some("ann")),
            arrival(2, Some("bob")),
            request(1, None, r#"{"type":"join","room":"rust"}"#),
        ],
        &[
            (
                say_in_lobby(),
                &[r#"#1 away {"type":"message","id":1,"ts":1700000000000,"from":"bob","room":"lobby","text":"x"}"#],
            ),
            (
                request(1, None, r#"{"type":"part","room":"rust"}"#),
                &[r#"#1 here {"type":"parted","room":"rust","nick":"ann"}"#],
            ),
            (
                say_in_lobby(),
                &[r#"#1 here {"type":"message","id":2,"ts":1700000000000,"from":"bob","room":"lobby","text":"x"}"#],
            ),
            (
                request(1, None, r#"{"type":"join","room":"rust"}"#),
                &[r#"#1 here {"type":"joined","room":"rust","nick":"ann"}"#],
            ),
            (
                request(1, None, r#"{"type":"join","room":"lobby"}"#),
                &[r#"#1 away {"type":"joined","room":"lobby","nick":"ann"}"#],
            ),
            (
                say_in_lobby(),
                &[r#"#1 here {"type":"message","id":3,"ts":1700000000000,"from":"bob","room":"lobby","text":"x"}"#],
            ),
        ],
    );
}

#[test]
fn a_member_may_be_in_so_many_rooms() {
    let mut hub = hub();
    hub.handle(arrival(1, Some("ann")), NOW);
    let join = |room: &str| request(1, Some(9), &format!(r#"{{"type":"join","room":"{room}"}}"#));
    for n in 1..MAX_ROOMS_PER_MEMBER {
        hub.handle(join(&format!("r{n}")), NOW);
    }
    let mut followers = Followers::default();
    let refused = followers.describe(hub.handle(join("onemore"), NOW));
    assert_eq!(
        refused,
        [
            r#"#1 away {"type":"error","id":9,"code":"too_many_rooms","message":"you are in 64 rooms already; /part one first"}"#
        ]
    );
    let rejoined = followers.describe(hub.handle(join("lobby"), NOW));
    assert!(rejoined.last().unwrap().contains(r#""type":"ack""#), "{rejoined:?}");
    hub.handle(request(1, None, r#"{"type":"part","room":"r1"}"#), NOW);
    let joined = followers.describe(hub.handle(join("onemore"), NOW));
    assert!(joined.last().unwrap().contains(r#""type":"ack""#), "{joined:?}");
}

#[test]
fn direct_messages_reach_only_their_target() {
    script(
        &[arrival(1, Some("ann")), arrival(2, Some("bob")), arrival(3, Some("cy"))],
        &[
            (
                request(1, Some(1), r#"{"type":"msg","to":"BOB","text":"psst"}"#),
                &[
                    r#"#2 away {"type":"message","id":1,"ts":1700000000000,"from":"ann","to":"bob","text":"psst"}"#,
                    r#"#1 away {"type":"ack","id":1,"message":1,"ts":1700000000000}"#,
                ],
            ),
            (
                request(1, Some(2), r#"{"type":"msg","to":"nobody","text":"x"}"#),
                &[r#"#1 away {"type":"error","id":2,"code":"no_such_nick","message":"nobody is called nobody"}"#],
            ),
            (
                request(1, Some(3), r#"{"type":"msg","to":3,"text":"x"}"#),
                &[
                    r#"#1 away {"type":"error","id":3,"code":"not_permitted","message":"only the operator may address a connection by number"}"#,
                ],
            ),
        ],
    );
}

#[test]
fn rename_is_told_to_neighbours_once() {
    script(
        &[
            arrival(1, Some("ann")),
            arrival(2, Some("bob")),
            request(1, None, r#"{"type":"join","room":"rust"}"#),
            request(2, None, r#"{"type":"join","room":"rust"}"#),
        ],
        &[
            (
                request(1, Some(1), r#"{"type":"nick","nick":"Anna"}"#),
                &[
                    r#"#2 away {"type":"renamed","from":"ann","to":"Anna"}"#,
                    r#"#1 away {"type":"renamed","from":"ann","to":"Anna"}"#,
                    r#"#1 away {"type":"ack","id":1}"#,
                ],
            ),
            (
                request(2, Some(2), r#"{"type":"nick","nick":"anna"}"#),
                &[r#"#2 away {"type":"error","id":2,"code":"nick_taken","message":"the nick anna is taken"}"#],
            ),
        ],
    );
}

#[test]
fn part_and_topic_and_who() {
    script(
        &[arrival(1, Some("ann")), arrival(2, Some("bob"))],
        &[
            (
                request(1, None, r#"{"type":"topic","topic":"welcome all"}"#),
                &[
                    r#"#1 here {"type":"topic","room":"lobby","topic":"welcome all","by":"ann"}"#,
                    r#"#2 here {"type":"topic","room":"lobby","topic":"welcome all","by":"ann"}"#,
                ],
            ),
            (
                request(2, None, r#"{"type":"who"}"#),
                &[r#"#2 away {"type":"members","room":"lobby","nicks":["ann","bob"]}"#],
            ),
            (
                request(2, Some(9), r#"{"type":"part"}"#),
                &[
                    r#"#1 here {"type":"parted","room":"lobby","nick":"bob"}"#,
                    r#"#2 here {"type":"parted","room":"lobby","nick":"bob"}"#,
                    r#"#2 away {"type":"ack","id":9}"#,
                ],
            ),
            (
                request(2, Some(10), r#"{"type":"say","text":"anyone?"}"#),
                &[
                    r#"#2 away {"type":"error","id":10,"code":"no_room","message":"you are in no room; /join one first"}"#,
                ],
            ),
            (
                request(2, None, r#"{"type":"rooms"}"#),
                &[r#"#2 away {"type":"rooms","rooms":[{"room":"lobby","members":1,"topic":"welcome all"}]}"#],
            ),
        ],
    );
}

#[test]
fn bad_messages_are_refused() {
    script(
        &[arrival(1, Some("ann"))],
        &[
            (
                request(1, Some(1), r#"{"type":"say","text":""}"#),
                &[r#"#1 away {"type":"error","id":1,"code":"empty_message","message":"a message must not be empty"}"#],
            ),
            (
                request(1, Some(2), &format!(r#"{{"type":"say","text":"{}"}}"#, "x".repeat(65))),
                &[
                    r#"#1 away {"type":"error","id":2,"code":"too_large","message":"a message may be at most 64 bytes"}"#,
                ],
            ),
            (
                request(1, Some(3), r#"{"type":"say","room":"elsewhere","text":"x"}"#),
                &[
                    r#"#1 away {"type":"error","id":3,"code":"not_in_room","message":"you are not in elsewhere; /join elsewhere first"}"#,
                ],
            ),
        ],
    );
}

#[test]
fn operator_sees_arrivals_and_may_kick() {
    script(
        &[arrival(0, Some("server")), arrival(1, Some("ann"))],
        &[
            (
                arrival(2, Some("bob")),
                &[
                    r#"#2 away {"type":"welcome","version":1,"server":"sockchat test","nick":"bob","conn":2,"room":"lobby","max_message":64}"#,
                    r#"#0 away {"type":"connected","conn":2,"nick":"bob","peer":"127.0.0.1:5002"}"#,
                    r#"#0 here {"type":"joined","room":"lobby","nick":"bob"}"#,
                    r#"#1 here {"type":"joined","room":"lobby","nick":"bob"}"#,
                    r#"#2 here {"type":"joined","room":"lobby","nick":"bob"}"#,
                ],
            ),
            (
                request(1, Some(1), r#"{"type":"kick","target":"bob"}"#),
                &[r#"#1 away {"type":"error","id":1,"code":"not_permitted","message":"only the operator may kick"}"#],
            ),
            (
                request(0, None, r#"{"type":"msg","to":1,"text":"hello one"}"#),
                &[
                    r#"#0 away {"type":"echo","id":1,"ts":1700000000000,"from":"server","to":"ann","text":"hello one"}"#,
                    r#"#1 away {"type":"message","id":1,"ts":1700000000000,"from":"server","to":"ann","text":"hello one"}"#,
                ],
            ),
            (
                request(0, None, r#"{"type":"kick","target":2,"reason":"spam"}"#),
                &[
                    r#"#2 away {"type":"bye","reason":"kicked by server: spam"}"#,
                    r#"#0 away {"type":"quit","nick":"bob","reason":"kicked by server: spam"}"#,
                    r#"#1 away {"type":"quit","nick":"bob","reason":"kicked by server: spam"}"#,
                    r#"#0 away {"type":"disconnected","conn":2,"nick":"bob","reason":"kicked by server: spam"}"#,
                    "#2 closed",
                ],
            ),
        ],
    );
}

#[test]
fn quit_and_disconnect_free_the_nick() {
    let mut hub = hub();
    let mut followers = Followers::default();
    followers.describe(hub.handle(arrival(1, Some("ann")), NOW));
    followers.describe(hub.handle(arrival(2, Some("bob")), NOW));
    let got = followers.describe(hub.handle(request(1, None, r#"{"type":"quit","reason":"bed"}"#), NOW));
    assert_eq!(
        got,
        [
            r#"#1 away {"type":"bye","reason":"bed"}"#,
            r#"#2 away {"type":"quit","nick":"ann","reason":"bed"}"#,
            "#1 closed",
        ]
    );
    hub.handle(
        Input::Disconnect {
            conn: ConnId(2),
            reason: "reset".to_owned(),
        },
        NOW,
    );
    assert_eq!(hub.connections(), 0);
    let got = followers.describe(hub.handle(arrival(3, Some("ann")), NOW));
    assert!(got[0].contains(r#""nick":"ann""#), "{got:?}");
}

#[test]
fn shutdown_says_bye_to_everyone() {
    script(
        &[arrival(1, Some("ann")), arrival(2, Some("bob"))],
        &[(
            Input::Shutdown,
            &[
                r#"#1 away {"type":"bye","reason":"the server is shutting down"}"#,
                "#1 closed",
                r#"#2 away {"type":"bye","reason":"the server is shutting down"}"#,
                "#2 closed",
            ],
        )],
    );
}

#[test]
fn requests_from_strangers_are_ignored() {
    script(&[], &[(request(9, Some(1), r#"{"type":"rooms"}"#), &[])]);
}

#[test]
fn big_rooms_keep_presence_to_themselves() {
    script(
        &[arrival(1, Some("ann")), arrival(2, Some("bob")), arrival(3, Some("cy"))],
        &[
            (
                arrival(4, Some("dee")),
                &[
                    r#"#4 away {"type":"welcome","version":1,"server":"sockchat test","nick":"dee","conn":4,"room":"lobby","max_message":64}"#,
                    r#"#4 here {"type":"joined","room":"lobby","nick":"dee"}"#,
                ],
            ),
            (
                request(4, Some(1), r#"{"type":"nick","nick":"dora"}"#),
                &[
                    r#"#4 away {"type":"renamed","from":"dee","to":"dora"}"#,
                    r#"#4 away {"type":"ack","id":1}"#,
                ],
            ),
            (
                request(1, None, r#"{"type":"say","text":"still heard"}"#),
                &[
                    r#"#2 here {"type":"message","id":1,"ts":1700000000000,"from":"ann","room":"lobby","text":"still heard"}"#,
                    r#"#3 here {"type":"message","id":1,"ts":1700000000000,"from":"ann","room":"lobby","text":"still heard"}"#,
                    r#"#4 here {"type":"message","id":1,"ts":1700000000000,"from":"ann","room":"lobby","text":"still heard"}"#,
                ],
            ),
            (
                request(4, None, r#"{"type":"part"}"#),
                &[r#"#4 here {"type":"parted","room":"lobby","nick":"dora"}"#],
            ),
            (
                request(3, None, r#"{"type":"quit"}"#),
                &[
                    r#"#3 away {"type":"bye","reason":"goodbye"}"#,
                    r#"#1 away {"type":"quit","nick":"cy","reason":"quit"}"#,
                    r#"#2 away {"type":"quit","nick":"cy","reason":"quit"}"#,
                    "#3 closed",
                ],
            ),
        ],
    );
}

#[test]
fn nobody_may_take_the_operators_nick_or_a_guests() {
    let nick = |conn: u64, nick: &str| request(conn, Some(1), &format!(r#"{{"type":"nick","nick":"{nick}"}}"#));
    let cases: &[(&str, &str)] = &[
        ("server", "the nick server is the operator's"),
        ("SERVER", "the nick SERVER is the operator's"),
        (
            "user3",
            "nicks like user3 are given by the server to those who ask for none",
        ),
        (
            "Guest12",
            "nicks like Guest12 are given by the server to those who ask for none",
        ),
    ];
    for (wanted, why) in cases {
        let mut hub = hub();
        hub.handle(arrival(1, Some("ann")), NOW);
        let mut followers = Followers::default();
        let got = followers.describe(hub.handle(nick(1, wanted), NOW));
        let want = format!(r#"#1 away {{"type":"error","id":1,"code":"nick_taken","message":"{why}"}}"#);
        assert_eq!(got, [want], "asking for {wanted}");
    }
    // Words that only start like a guest's nick are anyone's.
    for free in ["users", "user3a", "guestbook"] {
        let mut hub = hub();
        hub.handle(arrival(1, Some("ann")), NOW);
        let got = Followers::default().describe(hub.handle(nick(1, free), NOW));
        assert!(got.last().unwrap().contains(r#""type":"ack""#), "{free}: {got:?}");
    }
}

#[test]
fn a_hello_with_a_reserved_nick_gets_its_own_guest_nick() {
    script(
        &[],
        &[(
            arrival(2, Some("user3")),
            &[
                r#"#2 away {"type":"welcome","version":1,"server":"sockchat test","nick":"user2","conn":2,"room":"lobby","max_message":64}"#,
                r#"#2 away {"type":"error","id":null,"code":"nick_taken","message":"nicks like user3 are given by the server to those who ask for none; you are user2"}"#,
                r#"#2 here {"type":"joined","room":"lobby","nick":"user2"}"#,
            ],
        )],
    );
}

#[test]
fn the_number_of_rooms_is_capped_but_lobby_is_always_there() {
    let mut hub = Hub::new(HubConfig {
        max_rooms: 3,
        ..hub().config
    });
    hub.handle(arrival(1, Some("ann")), NOW);
    let join = |room: &str| request(1, Some(9), &format!(r#"{{"type":"join","room":"{room}"}}"#));
    let mut followers = Followers::default();
    let mut last = |hub: &mut Hub, room: &str| followers.describe(hub.handle(join(room), NOW)).pop().unwrap();
    assert!(last(&mut hub, "a").contains("ack"));
    assert!(last(&mut hub, "b").contains("ack"));
    assert_eq!(
        last(&mut hub, "c"),
        r#"#1 away {"type":"error","id":9,"code":"rooms_full","message":"the server keeps at most 3 rooms; join one of them"}"#
    );
    assert!(last(&mut hub, "a").contains("ack"), "a room that exists may be joined");
    assert!(last(&mut hub, "lobby").contains("ack"));
}

#[test]
fn quit_and_kick_reasons_are_cut_at_a_characters_edge() {
    let long = "é".repeat(MAX_REASON_BYTES);
    let quit = request(2, None, &format!(r#"{{"type":"quit","reason":"{long}"}}"#));
    let mut hub = hub();
    hub.handle(arrival(1, Some("ann")), NOW);
    hub.handle(arrival(2, Some("bob")), NOW);
    let lines = Followers::default().describe(hub.handle(quit, NOW));
    let told = lines.iter().find(|l| l.starts_with("#1 ")).unwrap();
    let cut = "é".repeat(MAX_REASON_BYTES / 2);
    assert_eq!(
        told,
        &format!(r#"#1 away {{"type":"quit","nick":"bob","reason":"{cut}"}}"#)
    );
}

#[test]
fn who_and_rooms_come_in_pages() {
    let mut hub = hub();
    let members = 3000;
    for conn in 1..=members {
        hub.handle(arrival(conn, Some(&format!("n{conn:05}"))), NOW);
    }
    let mut after: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let after_field = after.as_ref().map(|a| format!(r#","after":"{a}""#)).unwrap_or_default();
        let who = request(1, None, &format!(r#"{{"type":"who","room":"lobby"{after_field}}}"#));
        let mut effects = hub.handle(who, NOW);
        let Some(Effect::Deliver {
            event: Event::Members { nicks, more, .. },
            ..
        }) = effects.drain(..).next()
        else {
            panic!("no members");
        };
        after = nicks.last().map(|n| n.as_str().to_owned());
        seen.extend(nicks.into_iter().map(|n| n.as_str().to_owned()));
        if !more {
            break;
        }
    }
    let want: Vec<String> = (1..=members).map(|c| format!("n{c:05}")).collect();
    assert_eq!(seen, want, "every member once, in order, over the pages");
}

/// The store's side of the effects, one line each: `#N stores ID to DESTINATION` and `#N asks ...`;
/// deliveries as `describe` spells them.
fn stored(hub: &mut Hub, followers: &mut Followers, input: Input) -> Vec<String> {
    let effects = hub.handle(input, NOW);
    let mut lines = Vec::new();
    for effect in &effects {
        match effect {
            Effect::Persist {
                provisional,
                sender,
                message,
            } => {
                let to = match &message.to {
                    Destination::Room(room) => format!("{room}"),
                    Destination::Direct(to) => format!("{} ({:?})", to.nick, to.account.map(|a| a.0)),
                };
                let from = message.from.account.map(|a| a.0);
                lines.push(format!("{sender} stores {} from {from:?} to {to}", provisional.0));
            }
            Effect::Ask { conn, ask, .. } => lines.push(format!("{conn} asks {}", asked(ask))),
            _ => {}
        }
    }
    lines.extend(followers.describe(effects));
    lines
}

fn asked(ask: &Ask) -> String {
    match ask {
        Ask::Page(page) => format!("page {:?} {:?} limit {}", page.conversation, page.at, page.limit),
        Ask::Search(search) => format!(
            "search {:?} in {:?} for {:?}",
            search.query, search.rooms, search.account
        ),
        Ask::Login { nick, .. } => format!("login {nick}"),
        Ask::Register { nick, .. } => format!("register {nick}"),
        other => format!("{other:?}"),
    }
}

fn account(id: i64, name: &str, operator: bool) -> Account {
    Account {
        id: AccountId(id),
        name: Nick::parse(name).unwrap(),
        operator,
        created: NOW,
    }
}

fn answer(conn: u64, id: Option<u64>, answer: Answer) -> Input {
    Input::Answer {
        conn: ConnId(conn),
        id: id.map(RequestId::Number),
        answer,
    }
}

#[test]
fn messages_are_stored_with_their_accounts_before_they_go_out() {
    let mut hub = hub();
    let mut followers = Followers::default();
    for input in [arrival(1, Some("ann")), arrival(2, Some("bob"))] {
        followers.describe(hub.handle(input, NOW));
    }
    followers.describe(hub.handle(answer(1, None, Answer::LoggedIn(Ok(account(7, "ann", false)))), NOW));
    let said = stored(
        &mut hub,
        &mut followers,
        request(2, Some(1), r#"{"type":"say","text":"hi"}"#),
    );
    assert_eq!(
        said,
        [
            "#2 stores 1 from None to lobby",
            r##"#1 here {"type":"message","id":1,"ts":1700000000000,"from":"bob","room":"lobby","text":"hi"}"##,
            r#"#2 away {"type":"ack","id":1,"message":1,"ts":1700000000000}"#,
        ]
    );
    let direct = stored(
        &mut hub,
        &mut followers,
        request(2, None, r#"{"type":"msg","to":"ann","text":"psst"}"#),
    );
    assert_eq!(direct[0], "#2 stores 2 from None to ann (Some(7))");
}

#[test]
fn history_and_search_ask_the_store_for_what_the_member_may_read() {
    let mut hub = hub();
    let mut followers = Followers::default();
    followers.describe(hub.handle(arrival(1, Some("ann")), NOW));
    let cases: &[(&str, &[&str])] = &[
        (
            r#"{"type":"history","limit":5}"#,
            &[r#"#1 asks page Room(RoomName("lobby")) Latest limit 5"#],
        ),
        (
            r#"{"type":"history","after":9}"#,
            &[r#"#1 asks page Room(RoomName("lobby")) After(MessageId(9)) limit 100"#],
        ),
        (
            r#"{"type":"history","room":"rust"}"#,
            &[
                r#"#1 away {"type":"error","id":1,"code":"not_in_room","message":"you are not in rust; /join rust first"}"#,
            ],
        ),
        (
            r#"{"type":"history","limit":1001}"#,
            &[
                r#"#1 away {"type":"error","id":1,"code":"bad_request","message":"a history page holds 1 to 1000 messages"}"#,
            ],
        ),
        (
            r#"{"type":"history","with":"bob"}"#,
            &[
                r#"#1 away {"type":"error","id":1,"code":"not_logged_in","message":"direct messages are kept for accounts only: /register to keep yours"}"#,
            ],
        ),
        (
            r#"{"type":"search","query":"crab"}"#,
            &[r#"#1 asks search "crab" in [RoomName("lobby")] for None"#],
        ),
    ];
    for (json, want) in cases {
        let got = stored(&mut hub, &mut followers, request(1, Some(1), json));
        assert_eq!(got, *want, "{json}");
    }
}

#[test]
fn a_page_comes_back_as_one_history_event_then_the_ack() {
    let mut hub = hub();
    let mut followers = Followers::default();
    followers.describe(hub.handle(arrival(1, Some("ann")), NOW));
    let page = HistoryPage {
        messages: vec![StoredMessage {
            id: MessageId(4),
            message: NewMessage {
                ts: NOW,
                from: Author {
                    nick: Nick::parse("bob").unwrap(),
                    account: None,
                },
                to: Destination::Room(RoomName::lobby()),
                text: "earlier".to_owned(),
                action: false,
            },
        }],
        more: true,
    };
    let answered = Answer::Page {
        conversation: Conversation::Room(RoomName::lobby()),
        result: Ok(page),
    };
    assert_eq!(
        followers.describe(hub.handle(answer(1, Some(3), answered), NOW)),
        [
            r#"#1 away {"type":"history","room":"lobby","messages":[{"id":4,"ts":1700000000000,"from":"bob","room":"lobby","text":"earlier"}],"more":true,"id":3}"#,
            r#"#1 away {"type":"ack","id":3}"#,
        ]
    );
}

#[test]
fn a_registered_nick_is_its_owners_and_an_operator_account_has_the_powers() {
    let mut hub = hub();
    hub.restore(Restored {
        accounts: vec![account(3, "ann", true)],
        ..Restored::default()
    });
    let mut followers = Followers::default();
    let refused = followers.describe(hub.handle(arrival(1, Some("ann")), NOW));
    assert!(
        refused[1].contains("the nick ann is registered; /login ann PASSWORD to use it"),
        "{refused:?}"
    );
    let kick = request(1, Some(1), r#"{"type":"kick","target":"user1"}"#);
    assert!(followers.describe(hub.handle(kick, NOW))[0].contains("not_permitted"));
    let login = stored(
        &mut hub,
        &mut followers,
        request(
            1,
            Some(2),
            r#"{"type":"login","nick":"ann","password":"correct horse"}"#,
        ),
    );
    assert_eq!(login, ["#1 asks login ann"]);
    assert_eq!(
        followers.describe(hub.handle(answer(1, Some(2), Answer::LoggedIn(Ok(account(3, "ann", true)))), NOW)),
        [
            r#"#1 away {"type":"renamed","from":"user1","to":"ann"}"#,
            r#"#1 away {"type":"account","account":"ann","operator":true}"#,
            r#"#1 away {"type":"ack","id":2}"#,
        ]
    );
    followers.describe(hub.handle(arrival(2, Some("bob")), NOW));
    let ban = stored(
        &mut hub,
        &mut followers,
        request(1, Some(3), r#"{"type":"ban","target":"bob","reason":"spam"}"#),
    );
    assert!(
        ban.contains(&r#"#2 away {"type":"bye","reason":"banned by ann: spam"}"#.to_owned()),
        "{ban:?}"
    );
    assert!(ban.contains(&"#2 closed".to_owned()), "{ban:?}");
    let again = followers.describe(hub.handle(arrival(3, Some("bob")), NOW));
    assert_eq!(
        again,
        [r#"#3 away {"type":"bye","reason":"banned by ann: spam"}"#, "#3 closed"]
    );
}

#[test]
fn a_password_sent_in_the_clear_is_warned_of() {
    let mut hub = hub();
    let mut followers = Followers::default();
    let Input::Connect(mut plain) = arrival(1, Some("ann")) else {
        unreachable!()
    };
    plain.secure = false;
    followers.describe(hub.handle(Input::Connect(plain), NOW));
    let got = stored(
        &mut hub,
        &mut followers,
        request(1, None, r#"{"type":"register","password":"correct horse"}"#),
    );
    assert_eq!(got[0], "#1 asks register ann");
    assert!(
        got[1].contains(r#""type":"notice""#) && got[1].contains("in the clear"),
        "{got:?}"
    );
}

#[test]
fn a_plain_client_is_shown_a_kept_rooms_latest_messages_on_joining() {
    let mut hub = hub();
    hub.restore(Restored {
        rooms: vec![RoomRecord {
            name: RoomName::parse("rust").unwrap(),
            topic: Some("crabs".to_owned()),
        }],
        ..Restored::default()
    });
    let mut followers = Followers::default();
    let Input::Connect(mut plain) = arrival(1, None) else {
        unreachable!()
    };
    plain.replay = 10;
    plain.room = Some(RoomName::parse("rust").unwrap());
    let got = stored(&mut hub, &mut followers, Input::Connect(plain));
    assert_eq!(got[0], r#"#1 asks page Room(RoomName("rust")) Latest limit 10"#);
    assert!(
        got.iter().any(|l| l.contains(r#""topic":"crabs","by":null"#)),
        "{got:?}"
    );
}

/// The integration tests reach the server over loopback, which counts as safe, so the warning is
/// checked here, with an arrival that is neither TLS nor loopback.
#[test]
fn a_password_sent_in_the_clear_is_warned_about_and_a_safe_one_is_not() {
    let mut hub = hub();
    let mut followers = Followers::default();
    let Input::Connect(mut in_the_clear) = arrival(1, Some("ann")) else {
        unreachable!("arrival makes a Connect")
    };
    in_the_clear.secure = false;
    in_the_clear.ip = Some(core::net::Ipv4Addr::new(192, 0, 2, 7).into());
    followers.describe(hub.handle(Input::Connect(in_the_clear), NOW));
    followers.describe(hub.handle(arrival(2, Some("bob")), NOW));
    let commands = [
        r#"{"type":"register","password":"correct horse"}"#,
        r#"{"type":"login","nick":"carol","password":"correct horse"}"#,
    ];
    for command in commands {
        for conn in [1, 2] {
            let notices: Vec<String> = followers
                .describe(hub.handle(request(conn, Some(1), command), NOW))
                .into_iter()
                .filter(|l| l.contains(r#""type":"notice""#))
                .collect();
            let want: &[&str] = if conn == 1 {
                &[
                    r#"#1 away {"type":"notice","text":"warning: this connection is not encrypted, so your password crossed the network in the clear; connect with chats:// (TLS) to keep it safe"}"#,
                ]
            } else {
                &[]
            };
            assert_eq!(notices, want, "{command} from #{conn}");
        }
    }
}

#[test]
fn a_kick_from_a_room_takes_the_user_out_of_it_and_leaves_them_connected() {
    script(
        &[
            arrival(0, Some("server")),
            arrival(1, Some("ann")),
            arrival(2, Some("bob")),
        ],
        &[
            (
                request(1, Some(1), r#"{"type":"kick","target":"bob","room":"lobby"}"#),
                &[r#"#1 away {"type":"error","id":1,"code":"not_permitted","message":"only the operator may kick"}"#],
            ),
            (
                request(1, Some(1), r#"{"type":"kick","target":"bob","room":"rust"}"#),
                &[r#"#1 away {"type":"error","id":1,"code":"no_such_room","message":"there is no room rust"}"#],
            ),
            (
                request(0, Some(2), r#"{"type":"kick","target":"bob","room":"rust"}"#),
                &[r#"#0 away {"type":"error","id":2,"code":"no_such_room","message":"there is no room rust"}"#],
            ),
            (
                request(
                    0,
                    Some(3),
                    r#"{"type":"kick","target":"bob","room":"lobby","reason":"off topic"}"#,
                ),
                &[
                    r#"#0 here {"type":"kicked","room":"lobby","nick":"bob","by":"server","reason":"off topic"}"#,
                    r#"#1 here {"type":"kicked","room":"lobby","nick":"bob","by":"server","reason":"off topic"}"#,
                    r#"#2 here {"type":"kicked","room":"lobby","nick":"bob","by":"server","reason":"off topic"}"#,
                    r#"#0 away {"type":"ack","id":3}"#,
                ],
            ),
            (
                request(0, Some(4), r#"{"type":"kick","target":"bob","room":"lobby"}"#),
                &[r#"#0 away {"type":"error","id":4,"code":"not_in_room","message":"bob is not in lobby"}"#],
            ),
            (
                request(2, Some(5), r#"{"type":"msg","to":"ann","text":"still here"}"#),
                &[
                    r#"#1 away {"type":"message","id":1,"ts":1700000000000,"from":"bob","to":"ann","text":"still here"}"#,
                    r#"#2 away {"type":"ack","id":5,"message":1,"ts":1700000000000}"#,
                ],
            ),
        ],
    );
}

#[test]
fn an_invitation_is_told_to_the_invitee_alone() {
    script(
        &[
            arrival(1, Some("ann")),
            arrival(2, Some("bob")),
            request(1, None, r#"{"type":"join","room":"rust"}"#),
        ],
        &[
            (
                request(1, Some(1), r#"{"type":"invite","nick":"bob","room":"rust"}"#),
                &[
                    r#"#2 away {"type":"invited","room":"rust","by":"ann"}"#,
                    r#"#1 away {"type":"ack","id":1}"#,
                ],
            ),
            (
                request(2, Some(2), r#"{"type":"invite","nick":"ann","room":"rust"}"#),
                &[r#"#2 away {"type":"error","id":2,"code":"not_in_room","message":"you are not in rust"}"#],
            ),
            (
                request(1, Some(3), r#"{"type":"invite","nick":"bob","room":"lobby"}"#),
                &[r#"#1 away {"type":"error","id":3,"code":"already_in_room","message":"bob is in lobby already"}"#],
            ),
        ],
    );
}
