//! `sockchat bench`: a load generator for chat servers. C clients connect and join a room, S of them
//! send M messages of P bytes, and every receiver counts what arrives and how late. Every run is
//! bounded in count and in time.

mod dialect;
mod lines;
mod payload;
mod procfs;
mod tally;
mod websocket;

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use hdrhistogram::Histogram;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Semaphore, watch};
use tokio::time::{Instant as TokioInstant, sleep_until, timeout_at};

pub use dialect::{Dialect, Proto};
pub use tally::Counts;

use lines::{read_lines, take_lines};
use payload::Stamp;
use tally::Tally;
use websocket::Deframer;

/// Latency histograms are sharded so that receivers rarely wait for one another.
const HISTOGRAM_SHARDS: usize = 32;
/// Latencies a receiver gathers before adding them to its shard.
const LATENCY_BATCH: usize = 1024;
/// The longest line a bench client accepts.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;
/// Bytes a burst sender gathers into one write.
const SEND_BATCH_BYTES: usize = 64 * 1024;
/// The most tally bits one run may hold (receivers x senders x messages): 1 GiB.
const MAX_TALLY_BITS: u128 = 8 << 30;

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub addr: String,
    pub clients: usize,
    /// How many clients join the room (the rest connect and idle); all when `None`.
    pub members: Option<usize>,
    pub senders: usize,
    pub messages: u32,
    pub size: usize,
    /// Messages per second over all senders; as fast as possible when `None`.
    pub rate: Option<f64>,
    pub dialect: Dialect,
    pub connects_in_flight: usize,
    /// The server's process id, to read its memory and CPU time.
    pub pid: Option<u32>,
    pub join_timeout: Duration,
    pub run_timeout: Duration,
    /// A pause between everyone joining and the first message, for servers that say nothing when a
    /// client is in (a plain server may not have accepted the last connections yet).
    pub settle: Duration,
    /// Numbers nicks from here, so several bench processes can share one server.
    pub first_client: usize,
    pub progress: bool,
}

/// What a run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub proto: Proto,
    pub clients: usize,
    pub joined: usize,
    pub members: usize,
    pub senders: usize,
    pub messages_per_sender: u32,
    pub payload_bytes: usize,
    pub connect_join_seconds: f64,
    pub expected: u64,
    pub counts: Counts,
    pub lost: u64,
    pub send_seconds: f64,
    pub deliver_seconds: f64,
    pub deliveries_per_second: f64,
    pub latency_ms: Latency,
    pub server: Option<ServerUse>,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ServerUse {
    pub rss_before_bytes: u64,
    pub rss_connected_bytes: u64,
    pub rss_after_bytes: u64,
    /// The growth of the server's RSS while the clients connected, per client. Memory that earlier
    /// connections freed is reused without growing RSS, so this is right only against a server that
    /// has not served more connections before: `memory_caveat` says when it is not to be trusted.
    pub bytes_per_connection: f64,
    pub memory_caveat: Option<MemoryCaveat>,
    pub cpu_seconds: f64,
}

/// Why `bytes_per_connection` may be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemoryCaveat {
    /// Too little to be a connection's state: the server reused memory freed by earlier
    /// connections (a second run against the same server), so the figure is too low.
    Reused,
    /// The server kept most of what the clients cost after they left (allocators do): this figure is
    /// right, but a later run against the same server will come out too low.
    KeptAfterwards,
}

/// Less than this per connection is not a server's state for it but memory reused from before.
pub const MIN_PLAUSIBLE_BYTES_PER_CONNECTION: f64 = 256.0;

/// Whether the RSS figures of a run can be trusted for memory per connection.
pub fn memory_caveat(before: u64, connected: u64, after: u64, clients: usize) -> Option<MemoryCaveat> {
    let grown = connected.saturating_sub(before);
    if (grown as f64) < MIN_PLAUSIBLE_BYTES_PER_CONNECTION * clients as f64 {
        return Some(MemoryCaveat::Reused);
    }
    let kept = after.saturating_sub(before);
    (kept * 2 > grown).then_some(MemoryCaveat::KeptAfterwards)
}

impl MemoryCaveat {
    fn explain(self) -> &'static str {
        match self {
            MemoryCaveat::Reused => {
                "not to be trusted: too low, the server reused memory freed by earlier connections; restart it and run again"
            }
            MemoryCaveat::KeptAfterwards => {
                "right for this run; the server kept that memory after the clients left, so restart it before measuring again"
            }
        }
    }
}

/// Which clients finished joining before the run began; later ones are turned away.
struct Roster {
    frozen: bool,
    ready: Vec<bool>,
}

/// What every client task shares.
struct Shared {
    options: BenchOptions,
    start: Instant,
    connects: Semaphore,
    roster: Mutex<Roster>,
    /// Set when the joining phase is over: (ready senders, ready flags by client).
    go: watch::Sender<Option<Arc<Plan>>>,
    histograms: Vec<Mutex<Histogram<u64>>>,
    received: AtomicU64,
    sent: AtomicU64,
    /// Nanoseconds since `start` of the last arrival.
    last_arrival: AtomicU64,
    deadline: TokioInstant,
    /// Cancelled when every member is done: idle clients then hang up.
    over: tokio_util::sync::CancellationToken,
}

/// The run as it is once joining is over.
struct Plan {
    senders: Vec<u32>,
    send_start: Instant,
}

impl Shared {
    fn nanos(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn member(&self, i: usize) -> bool {
        i < self.options.members.unwrap_or(self.options.clients)
    }

    fn is_sender(&self, i: usize) -> bool {
        i < self.options.senders
    }

    /// How many clients have joined so far.
    fn joined(&self) -> usize {
        self.roster
            .lock()
            .expect("not poisoned")
            .ready
            .iter()
            .filter(|r| **r)
            .count()
    }

    /// Counts client `i` in, unless the run has already begun.
    fn check_in(&self, i: usize) -> bool {
        let mut roster = self.roster.lock().expect("not poisoned");
        if roster.frozen {
            return false;
        }
        roster.ready[i] = true;
        true
    }
}

pub async fn run(options: BenchOptions) -> anyhow::Result<Report> {
    check(&options)?;
    let before = options.pid.map(|pid| {
        (
            procfs::rss_bytes(pid).unwrap_or(0),
            procfs::cpu_seconds(pid).unwrap_or(0.0),
        )
    });
    let start = Instant::now();
    let histogram = Histogram::new_with_bounds(1, 3_600_000_000, 3).context("histogram bounds")?;
    let (go, _) = watch::channel(None);
    let shared = Arc::new(Shared {
        connects: Semaphore::new(options.connects_in_flight.max(1)),
        roster: Mutex::new(Roster {
            frozen: false,
            ready: vec![false; options.clients],
        }),
        go,
        histograms: (0..HISTOGRAM_SHARDS).map(|_| Mutex::new(histogram.clone())).collect(),
        received: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        last_arrival: AtomicU64::new(0),
        deadline: TokioInstant::now() + options.join_timeout + options.run_timeout,
        over: tokio_util::sync::CancellationToken::new(),
        start,
        options: options.clone(),
    });
    let (members, idlers): (Vec<_>, Vec<_>) = (0..options.clients)
        .map(|i| (shared.member(i), tokio::spawn(client(i, shared.clone()))))
        .partition(|(m, _)| *m);
    let progress = options.progress.then(|| tokio::spawn(show_progress(shared.clone())));

    let joined = wait_for_joins(&shared).await;
    let connect_join_seconds = start.elapsed().as_secs_f64();
    let connected_rss = options.pid.and_then(procfs::rss_bytes).unwrap_or(0);
    let ready = shared.roster.lock().expect("not poisoned").ready.clone();
    let senders: Vec<u32> = (0..options.senders).filter(|&i| ready[i]).map(|i| i as u32).collect();
    let expected = expected_deliveries(&shared, &ready, senders.len());
    tokio::time::sleep(options.settle).await;
    let send_start = Instant::now();
    let _ = shared.go.send(Some(Arc::new(Plan { senders, send_start })));

    let mut counts = Counts::default();
    let mut send_seconds: f64 = 0.0;
    for (_, task) in members {
        if let Ok(outcome) = task.await {
            counts.add(outcome.counts);
            send_seconds = send_seconds.max(outcome.send_seconds);
        }
    }
    shared.over.cancel();
    for (_, task) in idlers {
        let _ = task.await;
    }
    if let Some(progress) = progress {
        progress.abort();
        eprintln!();
    }
    let after = options.pid.map(|pid| {
        (
            procfs::rss_bytes(pid).unwrap_or(0),
            procfs::cpu_seconds(pid).unwrap_or(0.0),
        )
    });
    let last = Duration::from_nanos(shared.last_arrival.load(Ordering::Relaxed));
    let deliver_seconds = last.saturating_sub(send_start - start).as_secs_f64();
    let merged = merge(&shared.histograms);
    let quantile = |q: f64| merged.value_at_quantile(q) as f64 / 1000.0;
    let members = ready
        .iter()
        .enumerate()
        .filter(|&(i, &r)| r && shared.member(i))
        .count();
    Ok(Report {
        proto: options.dialect.proto,
        clients: options.clients,
        joined,
        members,
        senders: options.senders,
        messages_per_sender: options.messages,
        payload_bytes: options.size,
        connect_join_seconds,
        expected,
        counts,
        lost: expected.saturating_sub(counts.received),
        send_seconds,
        deliver_seconds,
        deliveries_per_second: if deliver_seconds > 0.0 {
            counts.received as f64 / deliver_seconds
        } else {
            0.0
        },
        latency_ms: Latency {
            p50: quantile(0.5),
            p99: quantile(0.99),
            p999: quantile(0.999),
            max: merged.max() as f64 / 1000.0,
        },
        server: before
            .zip(after)
            .map(|((rss_before, cpu_before), (rss_after, cpu_after))| ServerUse {
                rss_before_bytes: rss_before,
                rss_connected_bytes: connected_rss,
                rss_after_bytes: rss_after,
                bytes_per_connection: connected_rss.saturating_sub(rss_before) as f64 / options.clients.max(1) as f64,
                memory_caveat: memory_caveat(rss_before, connected_rss, rss_after, options.clients.max(1)),
                cpu_seconds: cpu_after - cpu_before,
            }),
    })
}

fn check(options: &BenchOptions) -> anyhow::Result<()> {
    if options.senders > options.members.unwrap_or(options.clients) {
        bail!(
            "--senders ({}) cannot exceed the clients that join the room",
            options.senders
        );
    }
    let bits = options.clients as u128 * options.senders as u128 * u128::from(options.messages);
    if bits > MAX_TALLY_BITS {
        bail!("clients x senders x messages is too large to count ({bits} > {MAX_TALLY_BITS})");
    }
    if options.size < 40 {
        bail!("--size must be at least 40 bytes to carry the stamp");
    }
    Ok(())
}

/// Waits until every client has joined or the join timeout passes; returns how many joined.
async fn wait_for_joins(shared: &Shared) -> usize {
    let deadline = TokioInstant::now() + shared.options.join_timeout;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    loop {
        tick.tick().await;
        let joined = shared.joined();
        if joined == shared.options.clients || TokioInstant::now() >= deadline {
            shared.roster.lock().expect("not poisoned").frozen = true;
            return shared.joined();
        }
    }
}

fn expected_deliveries(shared: &Shared, ready: &[bool], senders: usize) -> u64 {
    let messages = u64::from(shared.options.messages);
    let per_member = |i: usize| (senders - usize::from(shared.is_sender(i) && ready[i])) as u64 * messages;
    (0..ready.len())
        .filter(|&i| ready[i] && shared.member(i))
        .map(per_member)
        .sum()
}

fn merge(shards: &[Mutex<Histogram<u64>>]) -> Histogram<u64> {
    let mut merged = shards[0].lock().expect("not poisoned").clone();
    for shard in &shards[1..] {
        let _ = merged.add(&*shard.lock().expect("not poisoned"));
    }
    merged
}

/// One client's result.
#[derive(Default)]
struct Outcome {
    counts: Counts,
    send_seconds: f64,
}

async fn client(i: usize, shared: Arc<Shared>) -> Outcome {
    let Some((reader, writer, leftover, mut deframer)) = join(i, &shared).await else {
        return Outcome::default();
    };
    if !shared.check_in(i) {
        return Outcome::default();
    }
    let writer = Arc::new(tokio::sync::Mutex::new(writer));
    if !shared.member(i) {
        // It waits on its socket from now on, so the start of the run wakes only the room's members.
        idle(reader, (leftover, deframer.as_mut()), &writer, &shared).await;
        return Outcome::default();
    }
    let Some(plan) = started(&shared).await else {
        return Outcome::default();
    };
    let own = plan.senders.contains(&(i as u32));
    let expected = (plan.senders.len() - usize::from(own)) as u64 * u64::from(shared.options.messages);
    let receiving = receive(
        i,
        reader,
        (leftover, deframer.as_mut()),
        writer.clone(),
        expected,
        &shared,
        &plan,
    );
    let sending = async {
        if own {
            send(i as u32, &writer, &shared, &plan).await
        } else {
            0.0
        }
    };
    let (counts, send_seconds) = tokio::join!(receiving, sending);
    Outcome { counts, send_seconds }
}

/// Waits for the joining phase to end; `None` if the run never starts.
async fn started(shared: &Shared) -> Option<Arc<Plan>> {
    let mut go = shared.go.subscribe();
    loop {
        if let Some(plan) = go.borrow_and_update().clone() {
            return Some(plan);
        }
        go.changed().await.ok()?;
    }
}

/// Connects and joins; returns the halves and whatever was read past the joining.
/// A connection's halves, what was read past the joining, and for a WebSocket its reader's place.
type Joined = (OwnedReadHalf, OwnedWriteHalf, Vec<u8>, Option<Deframer>);

async fn join(i: usize, shared: &Shared) -> Option<Joined> {
    let deadline = TokioInstant::from_std(shared.start) + shared.options.join_timeout;
    let _permit = timeout_at(deadline, shared.connects.acquire()).await.ok()?.ok()?;
    let stream = timeout_at(deadline, TcpStream::connect(&shared.options.addr))
        .await
        .ok()?
        .ok()?;
    let _ = stream.set_nodelay(true);
    let (reader, mut writer) = stream.into_split();
    let dialect = &shared.options.dialect;
    let member = shared.member(i);
    let (greeting, ready) = dialect.greeting(shared.options.first_client + i, member);
    writer.write_all(&greeting).await.ok()?;
    let mut carry = Vec::new();
    let mut deframer = (dialect.proto == dialect::Proto::Ws).then(Deframer::default);
    if ready {
        return Some((reader, writer, carry, deframer));
    }
    loop {
        let mut joined = false;
        let mut replies = Vec::new();
        let step = |line: &[u8]| match dialect.joining(line, member) {
            dialect::Step::Ready => {
                joined = true;
                ControlFlow::Break(())
            }
            dialect::Step::Send(bytes) => {
                replies.push(bytes);
                ControlFlow::Continue(())
            }
            dialect::Step::Wait => ControlFlow::Continue(()),
        };
        let reading = read_lines(&reader, &mut carry, MAX_LINE_BYTES, deframer.as_mut(), step);
        let n = timeout_at(deadline, reading).await.ok()?.ok()?;
        for reply in replies {
            writer.write_all(&reply).await.ok()?;
        }
        if joined {
            return Some((reader, writer, carry, deframer));
        }
        if n == 0 {
            return None;
        }
    }
}

/// What one member makes of the lines it receives.
struct Arrivals<'a> {
    dialect: &'a Dialect,
    tally: Tally,
    counts: Counts,
    /// One-way latencies in microseconds, not yet in the histogram.
    latencies: Vec<u64>,
    stamps: payload::Finder,
    /// Answers to the server's PINGs, to send.
    pongs: Vec<Vec<u8>>,
}

impl Arrivals<'_> {
    /// Takes in one line that arrived at `now`.
    fn line(&mut self, line: &[u8], now: u64) -> ControlFlow<()> {
        if let Some(pong) = self.dialect.pong(line) {
            self.pongs.push(pong);
        } else if let Some(Stamp { sender, seq, sent_at }) = self.stamps.find(line) {
            self.tally.record(sender, seq, &mut self.counts);
            self.latencies.push(now.saturating_sub(sent_at) / 1000);
        }
        ControlFlow::Continue(())
    }
}

/// Reads until `expected` messages from this run have arrived (or the run's deadline), tallying them.
async fn receive(
    i: usize,
    reader: OwnedReadHalf,
    (mut carry, mut deframer): (Vec<u8>, Option<&mut Deframer>),
    writer: Arc<tokio::sync::Mutex<OwnedWriteHalf>>,
    expected: u64,
    shared: &Shared,
    plan: &Plan,
) -> Counts {
    let options = &shared.options;
    let mut arrivals = Arrivals {
        dialect: &options.dialect,
        tally: Tally::new(options.senders as u32, options.messages),
        counts: Counts::default(),
        latencies: Vec::with_capacity(LATENCY_BATCH),
        stamps: payload::Finder::default(),
        pongs: Vec::new(),
    };
    let shard = &shared.histograms[i % HISTOGRAM_SHARDS];
    let deadline = TokioInstant::from_std(plan.send_start) + options.run_timeout;
    let deadline = deadline.min(shared.deadline);
    let now = shared.nanos();
    take_lines(&mut carry, |line| arrivals.line(line, now));
    let mut counted = 0;
    let mut read_at = Some(now);
    loop {
        let received = arrivals.counts.received;
        if received > counted {
            shared.received.fetch_add(received - counted, Ordering::Relaxed);
            shared.last_arrival.fetch_max(read_at.unwrap_or(0), Ordering::Relaxed);
            counted = received;
        }
        if arrivals.latencies.len() >= LATENCY_BATCH || received >= expected {
            record(shard, &mut arrivals.latencies);
        }
        for pong in arrivals.pongs.drain(..) {
            let _ = writer.lock().await.write_all(&pong).await;
        }
        if received >= expected {
            break;
        }
        read_at = None;
        let reading = read_lines(&reader, &mut carry, MAX_LINE_BYTES, deframer.as_deref_mut(), |line| {
            let now = *read_at.get_or_insert_with(|| shared.nanos());
            arrivals.line(line, now)
        });
        match timeout_at(deadline, reading).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => break,
        }
    }
    record(shard, &mut arrivals.latencies);
    arrivals.counts
}

/// Stays connected, answering PINGs, until the run is over.
async fn idle(
    reader: OwnedReadHalf,
    (mut carry, mut deframer): (Vec<u8>, Option<&mut Deframer>),
    writer: &tokio::sync::Mutex<OwnedWriteHalf>,
    shared: &Shared,
) {
    let dialect = &shared.options.dialect;
    let mut pongs = Vec::new();
    take_lines(&mut carry, |line| {
        pongs.extend(dialect.pong(line));
        ControlFlow::Continue(())
    });
    loop {
        for pong in pongs.drain(..) {
            let _ = writer.lock().await.write_all(&pong).await;
        }
        let reading = read_lines(&reader, &mut carry, MAX_LINE_BYTES, deframer.as_deref_mut(), |line| {
            pongs.extend(dialect.pong(line));
            ControlFlow::Continue(())
        });
        let read = tokio::select! {
            () = shared.over.cancelled() => return,
            () = sleep_until(shared.deadline) => return,
            read = reading => read,
        };
        if !matches!(read, Ok(n) if n > 0) {
            return;
        }
    }
}

fn record(histogram: &Mutex<Histogram<u64>>, latencies: &mut Vec<u64>) {
    if latencies.is_empty() {
        return;
    }
    let mut histogram = histogram.lock().expect("not poisoned");
    for &micros in latencies.iter() {
        histogram.saturating_record(micros.max(1));
    }
    latencies.clear();
}

/// Sends this sender's messages, paced or in bursts; returns how long it took.
async fn send(sender: u32, writer: &tokio::sync::Mutex<OwnedWriteHalf>, shared: &Shared, plan: &Plan) -> f64 {
    let options = &shared.options;
    let interval = options
        .rate
        .map(|rate| Duration::from_secs_f64(plan.senders.len() as f64 / rate));
    let stagger = interval.map(|i| i.mul_f64(f64::from(sender) / plan.senders.len().max(1) as f64));
    let begin = TokioInstant::from_std(plan.send_start);
    let mut batch = Vec::with_capacity(SEND_BATCH_BYTES);
    for seq in 0..options.messages {
        if let (Some(interval), Some(stagger)) = (interval, stagger) {
            sleep_until(begin + stagger + interval * seq).await;
        }
        let stamp = Stamp {
            sender,
            seq,
            sent_at: shared.nanos(),
        };
        batch.extend_from_slice(&options.dialect.message(&payload::encode(stamp, options.size)));
        if interval.is_some() || batch.len() >= SEND_BATCH_BYTES || seq + 1 == options.messages {
            if writer.lock().await.write_all(&batch).await.is_err() {
                break;
            }
            shared.sent.fetch_add(1, Ordering::Relaxed);
            batch.clear();
        }
    }
    plan.send_start.elapsed().as_secs_f64()
}

async fn show_progress(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let joined = shared.joined();
        let received = shared.received.load(Ordering::Relaxed);
        eprint!("\rjoined {joined}/{}  received {received}   ", shared.options.clients);
    }
}

impl Report {
    /// The report for a person.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{:?}: {} clients ({} joined, {} in the room), {} senders x {} messages of {} bytes\n",
            self.proto,
            self.clients,
            self.joined,
            self.members,
            self.senders,
            self.messages_per_sender,
            self.payload_bytes
        );
        out.push_str(&format!("connect+join   {:.3} s\n", self.connect_join_seconds));
        out.push_str(&format!(
            "deliveries     {} of {} expected: {} lost, {} duplicated, {} out of order, {} foreign (not sent by this run)\n",
            self.counts.received,
            self.expected,
            self.lost,
            self.counts.duplicates,
            self.counts.out_of_order,
            self.counts.foreign
        ));
        out.push_str(&format!(
            "rate           {:.0} deliveries/s over {:.3} s (sending took {:.3} s)\n",
            self.deliveries_per_second, self.deliver_seconds, self.send_seconds
        ));
        let l = self.latency_ms;
        out.push_str(&format!(
            "latency ms     p50 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}\n",
            l.p50, l.p99, l.p999, l.max
        ));
        if let Some(s) = self.server {
            out.push_str(&format!(
                "server         RSS {:.1} MiB before, {:.1} MiB connected, {:.1} MiB after; {:.0} bytes per connection; CPU {:.2} s\n",
                s.rss_before_bytes as f64 / 1048576.0,
                s.rss_connected_bytes as f64 / 1048576.0,
                s.rss_after_bytes as f64 / 1048576.0,
                s.bytes_per_connection,
                s.cpu_seconds
            ));
            if let Some(caveat) = s.memory_caveat {
                out.push_str(&format!("               bytes per connection: {}\n", caveat.explain()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_per_connection_is_trusted_only_when_it_can_be() {
        const MIB: u64 = 1 << 20;
        let cases = [
            // A fresh server that gives the memory back.
            (10 * MIB, 40 * MIB, 12 * MIB, 10_000, None),
            // A fresh server that keeps it: right now, wrong next time.
            (10 * MIB, 40 * MIB, 39 * MIB, 10_000, Some(MemoryCaveat::KeptAfterwards)),
            // The next run against that server: 20 bytes per connection.
            (
                39 * MIB,
                39 * MIB + 200_000,
                39 * MIB,
                10_000,
                Some(MemoryCaveat::Reused),
            ),
            (39 * MIB, 38 * MIB, 38 * MIB, 10_000, Some(MemoryCaveat::Reused)),
        ];
        for (before, connected, after, clients, want) in cases {
            assert_eq!(
                memory_caveat(before, connected, after, clients),
                want,
                "{before} {connected} {after} {clients}"
            );
        }
    }
}
