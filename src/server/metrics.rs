//! The server's counters, kept where the work is done (relaxed atomics: no lock on any hot path) and
//! rendered in the Prometheus text format for `/metrics`.
//!
//! They are the process's, as a Prometheus client library's default registry is: a process runs one
//! server, and a counter that every session reaches without being handed it costs nothing to wire in.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The kinds of connection counted apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    Json,
    Irc,
    WebSocket,
}

impl Mode {
    const ALL: [Mode; 4] = [Mode::Plain, Mode::Json, Mode::Irc, Mode::WebSocket];

    fn label(self) -> &'static str {
        match self {
            Mode::Plain => "plain",
            Mode::Json => "json",
            Mode::Irc => "irc",
            Mode::WebSocket => "websocket",
        }
    }
}

/// Why the server ended a session that did not leave by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Its own queue was full of others' events.
    SlowQueue,
    /// It left too much of a room's feed unread.
    SlowFeed,
    /// It answered no ping in time.
    PingTimeout,
    /// A frame it began took too long to finish.
    FrameTimeout,
}

impl DropReason {
    const ALL: [DropReason; 4] = [
        DropReason::SlowQueue,
        DropReason::SlowFeed,
        DropReason::PingTimeout,
        DropReason::FrameTimeout,
    ];

    fn label(self) -> &'static str {
        match self {
            DropReason::SlowQueue => "slow_queue",
            DropReason::SlowFeed => "slow_feed",
            DropReason::PingTimeout => "ping_timeout",
            DropReason::FrameTimeout => "frame_timeout",
        }
    }
}

/// The upper bounds of the store's commit latency buckets, in microseconds.
const COMMIT_BUCKETS_US: [u64; 12] = [
    250, 500, 1_000, 2_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000, 5_000_000,
];

/// Every counter the server keeps.
pub struct Metrics {
    open: [AtomicU64; Mode::ALL.len()],
    opened: [AtomicU64; Mode::ALL.len()],
    requests: AtomicU64,
    events_written: AtomicU64,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    messages_committed: AtomicU64,
    drops: [AtomicU64; 4],
    flood_delays: AtomicU64,
    flood_delay_us: AtomicU64,
    http_requests: AtomicU64,
    commit_buckets: [AtomicU64; COMMIT_BUCKETS_US.len()],
    commits: AtomicU64,
    commit_us: AtomicU64,
}

/// The one set of counters.
pub static METRICS: Metrics = Metrics::new();

#[allow(
    clippy::declare_interior_mutable_const,
    reason = "only the initialiser of the static's arrays"
)]
const ZERO: AtomicU64 = AtomicU64::new(0);

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

impl Metrics {
    const fn new() -> Metrics {
        Metrics {
            open: [ZERO; Mode::ALL.len()],
            opened: [ZERO; Mode::ALL.len()],
            requests: ZERO,
            events_written: ZERO,
            bytes_read: ZERO,
            bytes_written: ZERO,
            messages_committed: ZERO,
            drops: [ZERO; 4],
            flood_delays: ZERO,
            flood_delay_us: ZERO,
            http_requests: ZERO,
            commit_buckets: [ZERO; COMMIT_BUCKETS_US.len()],
            commits: ZERO,
            commit_us: ZERO,
        }
    }

    /// Counts a session of `mode` open until the guard is dropped.
    pub fn session(&'static self, mode: Mode) -> OpenSession {
        add(&self.open[mode as usize], 1);
        add(&self.opened[mode as usize], 1);
        OpenSession(mode)
    }

    pub fn requests(&self, n: usize) {
        add(&self.requests, n as u64);
    }

    pub fn event_written(&self) {
        add(&self.events_written, 1);
    }

    pub fn bytes_read(&self, n: usize) {
        add(&self.bytes_read, n as u64);
    }

    pub fn bytes_written(&self, n: usize) {
        add(&self.bytes_written, n as u64);
    }

    pub fn committed(&self, messages: usize, took: Duration) {
        add(&self.messages_committed, messages as u64);
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        add(&self.commits, 1);
        add(&self.commit_us, us);
        if let Some(bucket) = COMMIT_BUCKETS_US.iter().position(|&bound| us <= bound) {
            add(&self.commit_buckets[bucket], 1);
        }
    }

    pub fn dropped(&self, why: DropReason) {
        add(&self.drops[why as usize], 1);
    }

    pub fn flood_delayed(&self, wait: Duration) {
        add(&self.flood_delays, 1);
        add(
            &self.flood_delay_us,
            u64::try_from(wait.as_micros()).unwrap_or(u64::MAX),
        );
    }

    pub fn http_request(&self) {
        add(&self.http_requests, 1);
    }

    /// The counters in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let seconds = |us: u64| us as f64 / 1e6;
        header(&mut out, "sockchat_connections", "gauge", "Sessions open now, by mode.");
        for mode in Mode::ALL {
            let n = get(&self.open[mode as usize]);
            let _ = writeln!(out, "sockchat_connections{{mode=\"{}\"}} {n}", mode.label());
        }
        header(
            &mut out,
            "sockchat_connections_total",
            "counter",
            "Sessions opened, by mode.",
        );
        for mode in Mode::ALL {
            let n = get(&self.opened[mode as usize]);
            let _ = writeln!(out, "sockchat_connections_total{{mode=\"{}\"}} {n}", mode.label());
        }
        counter(
            &mut out,
            "sockchat_requests_total",
            "Frames read from clients and handed on.",
            get(&self.requests),
        );
        counter(
            &mut out,
            "sockchat_events_written_total",
            "Events written to clients.",
            get(&self.events_written),
        );
        counter(
            &mut out,
            "sockchat_read_bytes_total",
            "Bytes read from chat sessions.",
            get(&self.bytes_read),
        );
        counter(
            &mut out,
            "sockchat_written_bytes_total",
            "Bytes written to chat sessions.",
            get(&self.bytes_written),
        );
        counter(
            &mut out,
            "sockchat_messages_committed_total",
            "Messages the store committed.",
            get(&self.messages_committed),
        );
        header(
            &mut out,
            "sockchat_drops_total",
            "counter",
            "Sessions the server ended, by reason.",
        );
        for why in DropReason::ALL {
            let n = get(&self.drops[why as usize]);
            let _ = writeln!(out, "sockchat_drops_total{{reason=\"{}\"}} {n}", why.label());
        }
        counter(
            &mut out,
            "sockchat_flood_delays_total",
            "Times flood control made a session wait before reading on.",
            get(&self.flood_delays),
        );
        header(
            &mut out,
            "sockchat_flood_delay_seconds_total",
            "counter",
            "Time sessions waited for flood control.",
        );
        let _ = writeln!(
            out,
            "sockchat_flood_delay_seconds_total {}",
            seconds(get(&self.flood_delay_us))
        );
        counter(
            &mut out,
            "sockchat_http_requests_total",
            "HTTP requests answered.",
            get(&self.http_requests),
        );
        header(
            &mut out,
            "sockchat_store_commit_seconds",
            "histogram",
            "Time from an append to its commit.",
        );
        let mut cumulative = 0;
        for (bound, bucket) in COMMIT_BUCKETS_US.iter().zip(&self.commit_buckets) {
            cumulative += get(bucket);
            let _ = writeln!(
                out,
                "sockchat_store_commit_seconds_bucket{{le=\"{}\"}} {cumulative}",
                seconds(*bound)
            );
        }
        let commits = get(&self.commits);
        let _ = writeln!(out, "sockchat_store_commit_seconds_bucket{{le=\"+Inf\"}} {commits}");
        let _ = writeln!(
            out,
            "sockchat_store_commit_seconds_sum {}",
            seconds(get(&self.commit_us))
        );
        let _ = writeln!(out, "sockchat_store_commit_seconds_count {commits}");
        out
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, "counter", help);
    let _ = writeln!(out, "{name} {value}");
}

/// A session counted as open; counted as closed when dropped.
pub struct OpenSession(Mode);

impl std::ops::Drop for OpenSession {
    fn drop(&mut self) {
        METRICS.open[self.0 as usize].fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every line is a comment or `NAME{LABELS} VALUE` with a number for a value, and each family
    /// has its HELP and TYPE before its samples.
    #[test]
    fn the_rendering_is_prometheus_text() {
        let metrics = Metrics::new();
        metrics.committed(3, Duration::from_millis(3));
        metrics.committed(1, Duration::from_secs(60));
        let text = metrics.render();
        let mut typed = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                typed.push(rest.split(' ').next().unwrap().to_owned());
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let (name, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
            let family = name.split('{').next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| family.strip_suffix(suffix))
                .filter(|base| typed.iter().any(|t| t == base))
                .unwrap_or(family);
            assert_eq!(typed.last().map(String::as_str), Some(family), "{line}");
        }
        assert!(text.contains("sockchat_messages_committed_total 4\n"), "{text}");
        assert!(
            text.contains("sockchat_store_commit_seconds_bucket{le=\"0.005\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("sockchat_store_commit_seconds_bucket{le=\"+Inf\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("sockchat_store_commit_seconds_count 2\n"), "{text}");
    }

    #[test]
    fn an_open_session_is_counted_until_it_ends() {
        let open = || METRICS.open[Mode::WebSocket as usize].load(Ordering::Relaxed);
        let before = open();
        let session = METRICS.session(Mode::WebSocket);
        assert_eq!(open(), before + 1);
        drop(session);
        assert_eq!(open(), before);
    }
}
