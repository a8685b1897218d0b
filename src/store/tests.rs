//! The SQLite store through its interface: in memory, and on temporary files where reopening matters.

use std::net::IpAddr;

use super::*;

const NOW: Millis = 1_700_000_000_000;

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

fn room(text: &str) -> RoomName {
    RoomName::parse(text).unwrap()
}

/// The tests' messages are stamped in 2023: kept whatever the default age limit.
fn keeping_all(mut options: StoreOptions) -> StoreOptions {
    options.retention = Retention::FOREVER;
    options
}

fn memory() -> SqliteStore {
    SqliteStore::open(&keeping_all(StoreOptions::in_memory())).unwrap()
}

fn guest(name: &str) -> Author {
    Author {
        nick: nick(name),
        account: None,
    }
}

fn said(from: &str, in_room: &str, text: &str) -> NewMessage {
    NewMessage {
        ts: NOW,
        from: guest(from),
        to: Destination::Room(room(in_room)),
        text: text.to_owned(),
        action: false,
    }
}

fn direct(from: Author, to: Author, text: &str) -> NewMessage {
    NewMessage {
        ts: NOW,
        from,
        to: Destination::Direct(to),
        text: text.to_owned(),
        action: false,
    }
}

/// The latest `limit` messages of a room.
fn latest_in(store: &SqliteStore, in_room: &str, limit: usize) -> Result<HistoryPage, StoreError> {
    let request = PageRequest {
        until: None,
        conversation: Conversation::Room(room(in_room)),
        at: PageAt::Latest,
        limit,
    };
    store.page(request).wait()
}

fn texts(messages: &[StoredMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.message.text.as_str()).collect()
}

/// `lobby` holding "m1" to "m10" (ids 1 to 10), with "x" in `other` between each.
fn ten_in_lobby(store: &SqliteStore) -> Vec<MessageId> {
    let mut lobby_ids = Vec::new();
    for n in 1..=10 {
        let ids = store
            .append(vec![
                said("alice", "lobby", &format!("m{n}")),
                said("bob", "other", "x"),
            ])
            .wait()
            .unwrap();
        lobby_ids.push(ids[0]);
    }
    lobby_ids
}

#[test]
fn pages_both_ways_and_the_latest() {
    let store = memory();
    let ids = ten_in_lobby(&store);
    let id = |n: usize| ids[n - 1];
    let cases: Vec<(PageAt, usize, Vec<&str>, bool)> = vec![
        (PageAt::Latest, 3, vec!["m8", "m9", "m10"], true),
        (
            PageAt::Latest,
            10,
            (1..=10)
                .map(|n| ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10"][n - 1])
                .collect(),
            false,
        ),
        (
            PageAt::Latest,
            1000,
            vec!["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9", "m10"],
            false,
        ),
        (PageAt::After(id(2)), 3, vec!["m3", "m4", "m5"], true),
        (PageAt::After(id(7)), 3, vec!["m8", "m9", "m10"], false),
        (PageAt::After(id(10)), 3, vec![], false),
        (PageAt::After(MessageId(0)), 2, vec!["m1", "m2"], true),
        (PageAt::Before(id(5)), 3, vec!["m2", "m3", "m4"], true),
        (PageAt::Before(id(4)), 3, vec!["m1", "m2", "m3"], false),
        (PageAt::Before(id(1)), 3, vec![], false),
    ];
    for (at, limit, want, more) in cases {
        let page = store
            .page(PageRequest {
                until: None,
                conversation: Conversation::Room(room("lobby")),
                at,
                limit,
            })
            .wait()
            .unwrap();
        assert_eq!(texts(&page.messages), want, "{at:?} limit {limit}");
        assert_eq!(page.more, more, "{at:?} limit {limit}");
    }
}

#[test]
fn pages_are_bounded_and_an_unknown_room_is_empty() {
    let store = memory();
    ten_in_lobby(&store);
    for limit in [0, HISTORY_PAGE_MAX + 1] {
        let refused = latest_in(&store, "lobby", limit).unwrap_err();
        assert_eq!(refused.to_string(), "a history page holds 1 to 1000 messages");
    }
    let empty = latest_in(&store, "nowhere", 10).unwrap();
    assert_eq!(
        empty,
        HistoryPage {
            messages: vec![],
            more: false
        }
    );
}

#[test]
fn a_message_comes_back_as_it_went_in() {
    let store = memory();
    let mut message = said("Alice", "lobby", "waves");
    message.action = true;
    message.from.account = Some(AccountId(3));
    let ids = store.append(vec![message.clone()]).wait().unwrap();
    let page = latest_in(&store, "lobby", 1).unwrap();
    assert_eq!(page.messages, vec![StoredMessage { id: ids[0], message }]);
}

#[test]
fn ids_increase_and_are_never_reused_across_reopening_even_after_pruning() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = StoreOptions::file(dir.path().join("chat.db"));
    options.retention = Retention::FOREVER;
    let first = {
        let store = SqliteStore::open(&options).unwrap();
        let ids = store
            .append((0..5).map(|n| said("alice", "lobby", &format!("a{n}"))).collect())
            .wait()
            .unwrap();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        ids
    };
    // Keep one message: pruning deletes the newest ids' predecessors, and the ids must still go on.
    options.retention = Retention {
        max_age: None,
        max_per_room: Some(1),
    };
    let second = {
        let store = SqliteStore::open(&options).unwrap();
        store.append(vec![said("bob", "lobby", "b")]).wait().unwrap()
    };
    assert!(second[0] > first[4], "{second:?} after {first:?}");
    let store = SqliteStore::open(&options).unwrap();
    let third = store.append(vec![said("carol", "lobby", "c")]).wait().unwrap();
    assert!(third[0] > second[0]);
}

#[test]
fn concurrent_appenders_each_get_their_own_increasing_ids() {
    let store = std::sync::Arc::new(memory());
    let appenders: Vec<_> = (0..4)
        .map(|t| {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                let tickets: Vec<_> = (0..200)
                    .map(|n| store.append(vec![said("alice", "lobby", &format!("{t}-{n}"))]))
                    .collect();
                tickets.into_iter().map(|t| t.wait().unwrap()[0]).collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all = Vec::new();
    for appender in appenders {
        let ids = appender.join().unwrap();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "one appender's ids in its order");
        all.extend(ids);
    }
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 800);
}

#[test]
fn search_finds_only_the_rooms_given_and_the_accounts_own_direct_messages() {
    let dir = tempfile::tempdir().unwrap();
    let options = keeping_all(StoreOptions::file(dir.path().join("search.db")));
    let store = SqliteStore::open(&options).unwrap();
    let alice = Author {
        nick: nick("alice"),
        account: Some(AccountId(1)),
    };
    let bob = Author {
        nick: nick("bob"),
        account: Some(AccountId(2)),
    };
    store
        .append(vec![
            said("carol", "lobby", "apple in lobby"),
            said("carol", "rust", "apple in rust"),
            said("carol", "secret", "apple in secret"),
            direct(alice.clone(), bob.clone(), "apple from alice to bob"),
            direct(bob.clone(), guest("dave"), "apple from bob to dave"),
            direct(guest("dave"), guest("erin"), "apple between guests"),
            said("carol", "lobby", "pear in lobby"),
        ])
        .wait()
        .unwrap();
    // Messages are indexed shortly after their commit, and all of them when the store closes.
    drop(store);
    let store = SqliteStore::open(&options).unwrap();
    // Rooms searched, the searcher's account, the query, the texts found.
    type Case<'a> = (Vec<&'a str>, Option<i64>, &'a str, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (vec!["lobby"], None, "apple", vec!["apple in lobby"]),
        (
            vec!["lobby", "rust"],
            None,
            "apple",
            vec!["apple in rust", "apple in lobby"],
        ),
        (vec![], None, "apple", vec![]),
        (vec![], Some(1), "apple", vec!["apple from alice to bob"]),
        (
            vec![],
            Some(2),
            "apple",
            vec!["apple from bob to dave", "apple from alice to bob"],
        ),
        (vec!["lobby"], Some(3), "apple", vec!["apple in lobby"]),
        (vec!["lobby"], None, "apple lobby", vec!["apple in lobby"]),
        (vec!["lobby"], None, "APPLE", vec!["apple in lobby"]),
        (vec!["lobby"], None, "apple OR pear", vec![]),
        (
            vec!["lobby", "secret"],
            None,
            "in",
            vec!["pear in lobby", "apple in secret", "apple in lobby"],
        ),
    ];
    for (rooms, account, query, want) in cases {
        let found = store
            .search(SearchRequest {
                query: query.to_owned(),
                rooms: rooms.iter().map(|r| room(r)).collect(),
                account: account.map(AccountId),
                limit: SEARCH_RESULTS_MAX,
            })
            .wait()
            .unwrap();
        assert_eq!(texts(&found), want, "{query:?} in {rooms:?} as {account:?}");
    }
    let limited = store
        .search(SearchRequest {
            query: "in".to_owned(),
            rooms: vec![room("lobby"), room("rust"), room("secret")],
            account: None,
            limit: 2,
        })
        .wait()
        .unwrap();
    assert_eq!(texts(&limited), vec!["pear in lobby", "apple in secret"]);
}

#[test]
fn direct_conversations_are_seen_only_by_their_accounts() {
    let store = memory();
    let alice = Author {
        nick: nick("alice"),
        account: Some(AccountId(1)),
    };
    let bob_guest = guest("bob");
    store
        .append(vec![
            direct(alice.clone(), bob_guest.clone(), "hi bob"),
            direct(bob_guest.clone(), alice.clone(), "hi alice"),
            direct(alice.clone(), guest("carol"), "hi carol"),
        ])
        .wait()
        .unwrap();
    let page = |account: i64, with: &str| {
        let page = store
            .page(PageRequest {
                until: None,
                conversation: Conversation::Direct {
                    account: AccountId(account),
                    with: nick(with),
                },
                at: PageAt::Latest,
                limit: 10,
            })
            .wait()
            .unwrap();
        texts(&page.messages).into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(page(1, "BOB"), vec!["hi bob", "hi alice"]);
    assert_eq!(page(1, "carol"), vec!["hi carol"]);
    assert_eq!(page(2, "alice"), Vec::<String>::new());
}

#[test]
fn a_full_disk_refuses_new_messages_acknowledges_nothing_it_lacks_and_reads_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = keeping_all(StoreOptions::file(dir.path().join("full.db")));
    options.max_bytes = Some(256 * 1024);
    let store = SqliteStore::open(&options).unwrap();
    let text = "y".repeat(1000);
    let mut acknowledged = Vec::new();
    let mut refusal = None;
    for _ in 0..1000 {
        let batch = (0..20).map(|_| said("alice", "lobby", &text)).collect();
        match store.append(batch).wait() {
            Ok(ids) => acknowledged.extend(ids),
            Err(e) => {
                refusal = Some(e);
                break;
            }
        }
    }
    assert_eq!(refusal, Some(StoreError::Full));
    assert_eq!(
        StoreError::Full.to_string(),
        "the database is full, so nothing new can be stored"
    );
    // What a failed batch would have taken may still hold a few single messages; then those are refused.
    let mut refused_alone = false;
    for _ in 0..1000 {
        match store.append(vec![said("bob", "lobby", &text)]).wait() {
            Ok(ids) => acknowledged.extend(ids),
            Err(e) => {
                assert_eq!(e, StoreError::Full);
                refused_alone = true;
                break;
            }
        }
    }
    assert!(refused_alone);
    let mut stored = Vec::new();
    let mut at = PageAt::After(MessageId(0));
    loop {
        let page = store
            .page(PageRequest {
                until: None,
                conversation: Conversation::Room(room("lobby")),
                at,
                limit: HISTORY_PAGE_MAX,
            })
            .wait()
            .unwrap();
        stored.extend(page.messages.iter().map(|m| m.id));
        match page.messages.last() {
            Some(last) if page.more => at = PageAt::After(last.id),
            _ => break,
        }
    }
    assert!(!acknowledged.is_empty());
    assert_eq!(stored, acknowledged, "exactly what was acknowledged is stored");
    drop(store);
    let reopened = SqliteStore::open(&keeping_all(StoreOptions::file(dir.path().join("full.db")))).unwrap();
    let last = latest_in(&reopened, "lobby", 1).unwrap();
    assert_eq!(last.messages[0].id, *acknowledged.last().unwrap());
}

#[test]
fn accounts_are_created_verified_changed_granted_and_deleted() {
    let store = memory();
    let created = store
        .create_account(nick("Alice"), "correct horse".into(), NOW)
        .wait()
        .unwrap();
    assert_eq!((created.name.as_str(), created.operator), ("Alice", false));
    let cases: Vec<(&str, &str, Result<AccountId, StoreError>)> = vec![
        ("alice", "correct horse", Ok(created.id)),
        ("ALICE", "correct horse", Ok(created.id)),
        ("alice", "wrong horse!", Err(StoreError::WrongPassword)),
        ("nobody", "correct horse", Err(StoreError::WrongPassword)),
    ];
    for (name, password, want) in cases {
        let got = store.verify_password(nick(name), password.into()).wait().map(|a| a.id);
        assert_eq!(got, want, "{name} {password}");
    }
    assert_eq!(
        store.create_account(nick("alice"), "another one".into(), NOW).wait(),
        Err(StoreError::AccountExists("alice".into()))
    );
    assert_eq!(
        store
            .create_account(nick("bob"), "short".into(), NOW)
            .wait()
            .unwrap_err()
            .to_string(),
        "a password needs at least 8 characters"
    );
    store
        .set_password(nick("alice"), "battery staple".into())
        .wait()
        .unwrap();
    assert_eq!(
        store.verify_password(nick("alice"), "correct horse".into()).wait(),
        Err(StoreError::WrongPassword)
    );
    store
        .verify_password(nick("alice"), "battery staple".into())
        .wait()
        .unwrap();
    store.set_operator(nick("alice"), true).wait().unwrap();
    let listed = store.accounts().wait().unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].operator);
    assert_eq!(
        store.account(nick("alice")).wait().unwrap().map(|a| a.operator),
        Some(true)
    );
    store.delete_account(nick("alice")).wait().unwrap();
    assert_eq!(store.account(nick("alice")).wait(), Ok(None));
    for missing in [
        store.delete_account(nick("alice")).wait(),
        store.set_operator(nick("alice"), true).wait(),
        store.set_password(nick("alice"), "whatever123".into()).wait(),
    ] {
        assert_eq!(missing, Err(StoreError::NoSuchAccount("alice".into())));
    }
    let again = store
        .create_account(nick("alice"), "correct horse".into(), NOW)
        .wait()
        .unwrap();
    assert!(again.id > created.id, "a new account gets a new number");
}

#[test]
fn bans_hold_until_they_expire_or_are_lifted() {
    let store = memory();
    let ip: IpAddr = "192.0.2.7".parse().unwrap();
    let ban = |target: BanTarget, expires: Option<Millis>| Ban {
        target,
        reason: Some("spam".into()),
        set_by: nick("oper"),
        set_at: NOW,
        expires,
    };
    store
        .ban(ban(BanTarget::Nick(nick("Mallory")), Some(NOW + 1000)))
        .wait()
        .unwrap();
    store.ban(ban(BanTarget::Ip(ip), None)).wait().unwrap();
    let other_ip: IpAddr = "192.0.2.8".parse().unwrap();
    let cases: Vec<(&str, IpAddr, Millis, Option<BanTarget>)> = vec![
        ("mallory", other_ip, NOW, Some(BanTarget::Nick(nick("mallory")))),
        ("MALLORY", other_ip, NOW + 999, Some(BanTarget::Nick(nick("mallory")))),
        ("mallory", other_ip, NOW + 1000, None),
        ("alice", ip, NOW + 1_000_000, Some(BanTarget::Ip(ip))),
        ("alice", other_ip, NOW, None),
    ];
    for (who, from, at, want) in cases {
        let found = store.ban_for(nick(who), from, at).wait().unwrap().map(|b| b.target);
        assert_eq!(found, want, "{who} from {from} at {at}");
    }
    assert_eq!(store.bans(NOW).wait().unwrap().len(), 2);
    assert_eq!(store.bans(NOW + 1000).wait().unwrap().len(), 1);
    assert_eq!(store.unban(BanTarget::Ip(ip)).wait(), Ok(true));
    assert_eq!(store.unban(BanTarget::Ip(ip)).wait(), Ok(false));
    assert_eq!(store.ban_for(nick("alice"), ip, NOW).wait(), Ok(None));
    let mut long = ban(BanTarget::Nick(nick("x")), None);
    long.reason = Some("r".repeat(BAN_REASON_MAX_BYTES + 1));
    assert!(matches!(store.ban(long).wait(), Err(StoreError::Invalid(_))));
}

#[test]
fn rooms_and_topics_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let options = keeping_all(StoreOptions::file(dir.path().join("rooms.db")));
    {
        let store = SqliteStore::open(&options).unwrap();
        store.append(vec![said("alice", "rust", "hi")]).wait().unwrap();
        let topic = |name: &str, topic: Option<&str>| RoomRecord {
            name: room(name),
            topic: topic.map(str::to_owned),
        };
        store.save_room(topic("lobby", Some("welcome"))).wait().unwrap();
        store.save_room(topic("rust", Some("old"))).wait().unwrap();
        store.save_room(topic("rust", Some("crabs"))).wait().unwrap();
        store.save_room(topic("quiet", None)).wait().unwrap();
    }
    let store = SqliteStore::open(&options).unwrap();
    let rooms: Vec<(String, Option<String>)> = store
        .rooms()
        .wait()
        .unwrap()
        .into_iter()
        .map(|r| (r.name.to_string(), r.topic))
        .collect();
    assert_eq!(
        rooms,
        vec![
            ("lobby".into(), Some("welcome".into())),
            ("quiet".into(), None),
            ("rust".into(), Some("crabs".into())),
        ]
    );
}

#[test]
fn a_file_from_a_newer_sockchat_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.db");
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection.pragma_update(None, "user_version", 99).unwrap();
    drop(connection);
    let refused = SqliteStore::open(&StoreOptions::file(&path)).err().unwrap();
    assert!(matches!(refused, StoreError::TooNew { found: 99, .. }), "{refused}");
}

#[test]
fn a_first_schema_file_opens_with_its_history_and_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(include_str!("fixtures/v1.sql"))
        .unwrap();
    let options = keeping_all(StoreOptions::file(&path));
    // The first opening migrates and, by the time it closes, has indexed the old messages.
    drop(SqliteStore::open(&options).unwrap());
    let store = SqliteStore::open(&options).unwrap();
    let found = store
        .search(SearchRequest {
            query: "first schema".into(),
            rooms: vec![room("lobby")],
            account: None,
            limit: 10,
        })
        .wait()
        .unwrap();
    assert_eq!(found.iter().map(|m| m.id).collect::<Vec<_>>(), vec![MessageId(7)]);
    let next = store
        .append(vec![said("bob", "lobby", "after the upgrade")])
        .wait()
        .unwrap();
    assert!(next[0] > MessageId(7));
    assert_eq!(
        store.account(nick("alice")).wait().unwrap().map(|a| a.operator),
        Some(true)
    );
}

#[test]
fn retention_prunes_by_count_per_room_and_by_age_in_batches() {
    let mut connection = rusqlite::Connection::open_in_memory().unwrap();
    schema::migrate(&mut connection).unwrap();
    for n in 0..2500_i64 {
        connection
            .execute("INSERT INTO rooms (name) VALUES ('lobby') ON CONFLICT DO NOTHING", [])
            .unwrap();
        connection
            .execute(
                "INSERT INTO messages (ts, room_id, from_nick, text) VALUES (?1, 1, 'alice', 'm')",
                [n],
            )
            .unwrap();
    }
    // Inserted behind the writer's back: its count too.
    connection.execute("UPDATE rooms SET messages = 2500", []).unwrap();
    let count =
        |c: &rusqlite::Connection| -> i64 { c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0)).unwrap() };
    let by_count = Retention {
        max_age: None,
        max_per_room: Some(100),
    };
    let steps: Vec<usize> = (0..4)
        .map(|_| by_count.prune_step(&mut connection, 0).unwrap())
        .collect();
    assert_eq!(steps, vec![1000, 1000, 400, 0]);
    assert_eq!(count(&connection), 100);
    let oldest: i64 = connection
        .query_row("SELECT min(ts) FROM messages", [], |r| r.get(0))
        .unwrap();
    assert_eq!(oldest, 2400);
    let by_age = Retention {
        max_age: Some(std::time::Duration::from_millis(50)),
        max_per_room: None,
    };
    assert_eq!(by_age.prune_step(&mut connection, 2500).unwrap(), 50);
    assert_eq!(by_age.prune_step(&mut connection, 2500).unwrap(), 0);
    assert_eq!(count(&connection), 50);
    let counted: i64 = connection
        .query_row("SELECT messages FROM rooms", [], |r| r.get(0))
        .unwrap();
    assert_eq!(counted, 50, "the room's count follows what is deleted");
}

#[test]
fn an_answer_that_never_comes_is_closed_not_a_hang() {
    let (answer, ticket) = Ticket::<()>::new();
    drop(answer);
    assert_eq!(ticket.wait(), Err(StoreError::Closed));
}

#[test]
fn disk_failures_become_errors_a_user_can_read() {
    let cases = [
        (rusqlite::ffi::SQLITE_FULL, StoreError::Full),
        (rusqlite::ffi::SQLITE_READONLY, StoreError::ReadOnly),
        (rusqlite::ffi::SQLITE_BUSY, StoreError::Locked),
        (rusqlite::ffi::SQLITE_LOCKED, StoreError::Locked),
    ];
    for (code, want) in cases {
        let failure = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
        assert_eq!(StoreError::from(failure), want, "code {code}");
    }
    let io = rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR),
        Some("disk I/O error".into()),
    );
    assert_eq!(StoreError::from(io).to_string(), "the database failed: disk I/O error");
}

#[test]
fn a_flood_of_logins_is_refused_past_the_hashers_queue_and_every_one_is_answered() {
    let store = memory();
    store
        .create_account(nick("alice"), "correct horse".into(), NOW)
        .wait()
        .unwrap();
    let flood = sqlite::HASHER_THREADS + sqlite::HASH_QUEUE_REQUESTS + 50;
    let tickets: Vec<_> = (0..flood)
        .map(|_| store.verify_password(nick("alice"), "wrong horse!".into()))
        .collect();
    let answers: Vec<_> = tickets.into_iter().map(Ticket::wait).collect();
    let busy = answers.iter().filter(|a| **a == Err(StoreError::Overloaded)).count();
    let checked = answers.iter().filter(|a| **a == Err(StoreError::WrongPassword)).count();
    assert_eq!(busy + checked, flood);
    assert!(busy >= 50, "{busy} refused of {flood}");
    assert!(checked >= sqlite::HASH_QUEUE_REQUESTS, "{checked} checked");
    store
        .verify_password(nick("alice"), "correct horse".into())
        .wait()
        .unwrap();
}

#[test]
fn a_search_in_a_small_room_finds_its_matches_behind_many_elsewhere_and_tokens_typed_reveal_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let options = keeping_all(StoreOptions::file(dir.path().join("scope.db")));
    let store = SqliteStore::open(&options).unwrap();
    store
        .append(vec![said("a", "small", "apple one"), said("a", "small", "apple two")])
        .wait()
        .unwrap();
    let small_token = text_index::room_token(1);
    let elsewhere: Vec<NewMessage> = (0..1500)
        .map(|n| said("b", "big", &format!("apple {n} {small_token}")))
        .collect();
    store.append(elsewhere).wait().unwrap();
    drop(store);
    let store = SqliteStore::open(&options).unwrap();
    let search = |rooms: &[&str], limit: usize| {
        let found = store
            .search(SearchRequest {
                query: "apple".into(),
                rooms: rooms.iter().map(|r| room(r)).collect(),
                account: None,
                limit,
            })
            .wait()
            .unwrap();
        found.into_iter().map(|m| m.message.text).collect::<Vec<_>>()
    };
    assert_eq!(search(&["small"], 10), vec!["apple two", "apple one"]);
    assert_eq!(search(&["small"], 1), vec!["apple two"]);
    let big = search(&["big", "small"], 3);
    assert_eq!(
        big,
        vec![
            format!("apple 1499 {small_token}"),
            format!("apple 1498 {small_token}"),
            format!("apple 1497 {small_token}"),
        ]
    );
    assert_eq!(search(&["nowhere"], 10), Vec::<String>::new());
}

#[test]
fn the_writer_counts_each_rooms_messages_as_it_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("count.db");
    let store = SqliteStore::open(&keeping_all(StoreOptions::file(&path))).unwrap();
    store
        .append(vec![
            said("a", "lobby", "1"),
            said("a", "rust", "2"),
            said("a", "lobby", "3"),
        ])
        .wait()
        .unwrap();
    store.append(vec![said("a", "lobby", "4")]).wait().unwrap();
    drop(store);
    let connection = rusqlite::Connection::open(&path).unwrap();
    let counts: Vec<(String, i64)> = connection
        .prepare("SELECT name, messages FROM rooms ORDER BY name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(counts, vec![("lobby".to_owned(), 3), ("rust".to_owned(), 1)]);
}

#[test]
fn pages_start_at_a_time() {
    let store = memory();
    // m1 to m5 stamped a second apart; a room beside it stamped in between.
    for n in 1..=5u64 {
        let mut lobby = said("alice", "lobby", &format!("m{n}"));
        lobby.ts = NOW + n * 1000;
        let mut other = said("bob", "other", "x");
        other.ts = NOW + n * 1000 + 500;
        store.append(vec![lobby, other]).wait().unwrap();
    }
    let at = |n: u64| NOW + n * 1000;
    let cases: Vec<(PageAt, usize, Vec<&str>)> = vec![
        (PageAt::AfterTime(at(2)), 10, vec!["m3", "m4", "m5"]),
        (PageAt::AfterTime(at(2) - 1), 2, vec!["m2", "m3"]),
        (PageAt::AfterTime(at(5)), 10, vec![]),
        (PageAt::AfterTime(0), 1, vec!["m1"]),
        (PageAt::BeforeTime(at(3)), 10, vec!["m1", "m2"]),
        (PageAt::BeforeTime(at(3) + 1), 1, vec!["m3"]),
        (PageAt::BeforeTime(at(1)), 10, vec![]),
        (PageAt::BeforeTime(at(9)), 2, vec!["m4", "m5"]),
    ];
    for (at, limit, want) in cases {
        let page = store
            .page(PageRequest {
                until: None,
                conversation: Conversation::Room(room("lobby")),
                at,
                limit,
            })
            .wait()
            .unwrap();
        assert_eq!(texts(&page.messages), want, "{at:?} limit {limit}");
    }
}
