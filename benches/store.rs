//! The SQLite store under load, through its public interface (results in docs/BENCHMARKS.md).
//!
//! `cargo bench --bench store -- append [MESSAGES]`: 10 appenders pipelining single-message appends
//! into one room; committed messages/s and disk bytes per message, with `--sync normal` and `full`.
//! `cargo bench --bench store -- cost [MESSAGES]`: one appender keeping two appends of
//! `COST_APPEND_MESSAGES` in flight, as the server's commit pipeline does under load: a steady,
//! repeatable workload for counting the writer's instructions per message (`valgrind --tool=callgrind`).
//! `cargo bench --bench store -- large [MESSAGES] [FILE]`: fills FILE (kept for the next run) to
//! MESSAGES messages, all but one in a thousand in one room, then times the latest 100 and searches.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sockchat::names::{Nick, RoomName};
use sockchat::protocol::MessageId;
use sockchat::store::{
    Author, Conversation, Destination, NewMessage, PageAt, PageRequest, Retention, SearchRequest, SqliteStore, Store,
    StoreOptions, SyncMode, Ticket,
};

/// Appenders at once, as 10 senders would be.
const APPENDERS: usize = 10;
/// Appends one appender has waiting for their commit, as a pipelining sender has.
const IN_FLIGHT: usize = 256;
/// Messages per append in the `cost` run: about what the server gathers per append under 10
/// pipelining senders.
const COST_APPEND_MESSAGES: usize = 1000;
/// Appends in flight in the `cost` run, as in the server's commit pipeline.
const COST_APPENDS_IN_FLIGHT: usize = 2;
/// Messages per append while filling.
const FILL_BATCH: usize = 10_000;
/// Words in the made-up language the messages are written in.
const VOCABULARY: usize = 20_000;
/// Words per message: about 64 bytes of text.
const WORDS_PER_MESSAGE: usize = 9;
/// While filling, one message in this many goes to the small room.
const SMALL_EVERY: usize = 1000;
/// Timed reads of each kind.
const READS: usize = 1000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    match args.first().map(String::as_str) {
        Some("append") => {
            let messages = args.get(1).map_or(1_000_000, |n| n.parse().expect("a message count"));
            for sync in [SyncMode::Normal, SyncMode::Full] {
                append(messages, sync);
            }
        }
        Some("cost") => {
            let messages = args.get(1).map_or(200_000, |n| n.parse().expect("a message count"));
            cost(messages);
        }
        Some("large") => {
            let messages = args.get(1).map_or(10_000_000, |n| n.parse().expect("a message count"));
            let file = args
                .get(2)
                .map_or_else(|| PathBuf::from("target/store-bench-large.db"), PathBuf::from);
            large(messages, &file);
        }
        _ => eprintln!(
            "usage: cargo bench --bench store -- append [MESSAGES] | cost [MESSAGES] | large [MESSAGES] [FILE]"
        ),
    }
}

/// A cheap deterministic generator (xorshift), so every run writes the same texts.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A word's number: small numbers far more often, as in real text.
    fn word(&mut self) -> usize {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        (u * u * u * VOCABULARY as f64) as usize
    }
}

fn word(n: usize) -> String {
    let mut n = n;
    let mut word = String::new();
    loop {
        word.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            return word;
        }
    }
}

fn text(dice: &mut Dice) -> String {
    (0..WORDS_PER_MESSAGE)
        .map(|_| word(dice.word()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn message(dice: &mut Dice, room: &RoomName, n: usize) -> NewMessage {
    NewMessage {
        ts: sockchat::clock::now(),
        from: Author {
            nick: Nick::parse(&format!("user{}", n % 1000)).expect("a nick"),
            account: None,
        },
        to: Destination::Room(room.clone()),
        text: text(dice),
        action: false,
    }
}

fn append(messages: usize, sync: SyncMode) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("append.db");
    let mut options = StoreOptions::file(&path);
    options.sync = sync;
    options.retention = Retention::FOREVER;
    let store = Arc::new(SqliteStore::open(&options).expect("the store opens"));
    let room = RoomName::parse("bench").expect("a room");
    let per_appender = messages / APPENDERS;
    let texts: Vec<Vec<NewMessage>> = (0..APPENDERS)
        .map(|a| {
            let mut dice = Dice(0x9E37_79B9_7F4A_7C15 ^ (a as u64 + 1));
            (0..per_appender).map(|n| message(&mut dice, &room, n)).collect()
        })
        .collect();
    let started = Instant::now();
    let appenders: Vec<_> = texts
        .into_iter()
        .map(|texts| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let mut waiting: std::collections::VecDeque<Ticket<Vec<MessageId>>> = Default::default();
                let mut last = MessageId(0);
                for message in texts {
                    if waiting.len() == IN_FLIGHT {
                        last = take(waiting.pop_front());
                    }
                    waiting.push_back(store.append(vec![message]));
                }
                for ticket in waiting {
                    let id = take(Some(ticket));
                    assert!(id > last, "ids increase in one appender's order");
                    last = id;
                }
            })
        })
        .collect();
    for appender in appenders {
        appender.join().expect("an appender finishes");
    }
    let elapsed = started.elapsed();
    drop(store);
    let committed = per_appender * APPENDERS;
    let bytes = disk_bytes(&path);
    println!(
        "append --sync {:?}: {committed} messages by {APPENDERS} appenders ({IN_FLIGHT} in flight each) in {:.2} s: {:.0} committed/s; {} bytes on disk, {:.0} bytes/message",
        sync,
        elapsed.as_secs_f64(),
        committed as f64 / elapsed.as_secs_f64(),
        bytes,
        bytes as f64 / committed as f64
    );
}

fn cost(messages: usize) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("cost.db");
    let mut options = StoreOptions::file(&path);
    options.retention = Retention::FOREVER;
    let store = SqliteStore::open(&options).expect("the store opens");
    let room = RoomName::parse("bench").expect("a room");
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let texts: Vec<NewMessage> = (0..messages).map(|n| message(&mut dice, &room, n)).collect();
    let started = Instant::now();
    let mut waiting: std::collections::VecDeque<Ticket<Vec<MessageId>>> = Default::default();
    let mut chunks = texts.chunks(COST_APPEND_MESSAGES);
    loop {
        while waiting.len() < COST_APPENDS_IN_FLIGHT
            && let Some(chunk) = chunks.next()
        {
            waiting.push_back(store.append(chunk.to_vec()));
        }
        let Some(ticket) = waiting.pop_front() else { break };
        ticket.wait().expect("the append is committed");
    }
    let elapsed = started.elapsed();
    drop(store);
    let bytes = disk_bytes(&path);
    println!(
        "cost: {messages} messages in appends of {COST_APPEND_MESSAGES} in {:.2} s: {:.0} committed/s; {:.0} bytes/message on disk",
        elapsed.as_secs_f64(),
        messages as f64 / elapsed.as_secs_f64(),
        bytes as f64 / messages as f64
    );
}

fn take(ticket: Option<Ticket<Vec<MessageId>>>) -> MessageId {
    let ids = ticket.expect("a ticket").wait().expect("the append is committed");
    ids[0]
}

/// The database and its WAL, as the store left them when it closed.
fn disk_bytes(path: &Path) -> u64 {
    let size = |p: PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    size(path.to_path_buf()) + size(wal)
}

fn large(messages: usize, file: &Path) {
    let mut options = StoreOptions::file(file);
    options.retention = Retention::FOREVER;
    let store = SqliteStore::open(&options).expect("the store opens");
    let room = RoomName::parse("big").expect("a room");
    // One message in SMALL_EVERY goes to a small room instead: searching there must not pay for the big one.
    let small = RoomName::parse("small").expect("a room");
    let have = count(&store, &[&room, &small]);
    let mut dice = Dice(0x2545_F491_4F6C_DD1D ^ have as u64);
    let started = Instant::now();
    let mut filled = have;
    while filled < messages {
        let batch = FILL_BATCH.min(messages - filled);
        let texts = (0..batch)
            .map(|n| {
                let n = filled + n;
                message(&mut dice, if n % SMALL_EVERY == 0 { &small } else { &room }, n)
            })
            .collect();
        store.append(texts).wait().expect("the fill is committed");
        filled += batch;
        if filled % 1_000_000 < FILL_BATCH {
            eprintln!("filled {filled} of {messages}");
        }
    }
    if filled > have {
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "filled {} messages in {elapsed:.0} s ({:.0}/s, {FILL_BATCH} per append)",
            filled - have,
            (filled - have) as f64 / elapsed
        );
    }
    drop(store);
    println!(
        "{filled} messages, all but one in {SMALL_EVERY} in one room; {} bytes on disk",
        disk_bytes(file)
    );
    let store = SqliteStore::open(&options).expect("the store opens");
    let latest = time(READS, |_| {
        let page = store
            .page(PageRequest {
                until: None,
                conversation: Conversation::Room(room.clone()),
                at: PageAt::Latest,
                limit: 100,
            })
            .wait()
            .expect("a page");
        assert_eq!(page.messages.len(), 100);
    });
    report("latest 100 of the room", &latest);
    let mut dice = Dice(7);
    let deep = time(READS, |_| {
        let before = MessageId(1 + dice.next() % filled as u64);
        store
            .page(PageRequest {
                until: None,
                conversation: Conversation::Room(room.clone()),
                at: PageAt::Before(before),
                limit: 100,
            })
            .wait()
            .expect("a page");
    });
    report("100 before a random id", &deep);
    let searches: [(&str, usize, Vec<RoomName>); 4] = [
        ("one word, in the big room", 1, vec![room.clone()]),
        ("two words, in the big room", 2, vec![room.clone()]),
        ("one word, in the small room", 1, vec![small.clone()]),
        ("one word, in both rooms", 1, vec![room.clone(), small.clone()]),
    ];
    for (what, words, rooms) in searches {
        let mut dice = Dice(11);
        let searched = time(READS, |_| {
            let query = (0..words).map(|_| word(dice.word())).collect::<Vec<_>>().join(" ");
            store
                .search(SearchRequest {
                    query,
                    rooms: rooms.clone(),
                    account: None,
                    limit: 50,
                })
                .wait()
                .expect("a search");
        });
        report(&format!("search, {what}, 50 newest matches"), &searched);
    }
}

/// How many messages the file holds: ids start at 1 and nothing is pruned, so the newest id.
fn count(store: &SqliteStore, rooms: &[&RoomName]) -> usize {
    let newest = |room: &RoomName| {
        let latest = store
            .page(PageRequest {
                until: None,
                conversation: Conversation::Room(room.clone()),
                at: PageAt::Latest,
                limit: 1,
            })
            .wait()
            .expect("a page");
        latest.messages.last().map_or(0, |m| m.id.0 as usize)
    };
    rooms.iter().map(|room| newest(room)).max().unwrap_or(0)
}

fn time(runs: usize, mut run: impl FnMut(usize)) -> Vec<Duration> {
    let mut times: Vec<Duration> = (0..runs)
        .map(|n| {
            let started = Instant::now();
            run(n);
            started.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn report(what: &str, sorted: &[Duration]) {
    let at = |q: f64| sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}: {} runs, median {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        sorted.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(sorted[sorted.len() - 1])
    );
}
