//! Flood control: a token bucket of requests and one of bytes per connection. Past its budget a
//! connection is not read for a while (its requests wait in its socket), so a flooder slows only
//! itself and the server's memory and the hub's time stay fair between sessions.

use std::time::{Duration, Instant};

/// How fast a connection may send, on average and in a burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloodPolicy {
    /// Requests per second, sustained.
    pub requests_per_sec: f64,
    /// Requests that may come at once after a quiet spell.
    pub burst_requests: f64,
    /// Bytes of requests per second, sustained.
    pub bytes_per_sec: f64,
    /// Bytes that may come at once after a quiet spell.
    pub burst_bytes: f64,
}

/// One connection's buckets. A bucket may go below zero by what one request cost; the connection
/// then waits until both are back above it.
/// Every connected client holds one, so it is kept small: single precision is plenty for buckets of
/// requests and of a few MiB.
#[derive(Debug, Clone)]
pub struct FloodGate<'a> {
    policy: &'a FloodPolicy,
    requests: f32,
    bytes: f32,
    at: Instant,
}

impl<'a> FloodGate<'a> {
    /// Full buckets at `now`.
    pub fn new(policy: &'a FloodPolicy, now: Instant) -> FloodGate<'a> {
        FloodGate {
            requests: policy.burst_requests as f32,
            bytes: policy.burst_bytes as f32,
            policy,
            at: now,
        }
    }

    /// How long to wait before reading the next request; zero if it may be read now.
    pub fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        let short_of = |have: f64, need: f64, rate: f64| {
            if have >= need { 0.0 } else { (need - have) / rate }
        };
        let requests = short_of(f64::from(self.requests), 1.0, self.policy.requests_per_sec);
        let bytes = short_of(f64::from(self.bytes), 0.0, self.policy.bytes_per_sec);
        Duration::from_secs_f64(requests.max(bytes).min(3600.0))
    }

    /// How many requests may be read now (at least the one that `wait` let through).
    pub fn allowance(&mut self, now: Instant) -> usize {
        self.refill(now);
        if self.bytes_spent() {
            return 1;
        }
        (self.requests.floor().max(1.0)) as usize
    }

    /// Whether the byte budget is spent: no further request is taken into this batch.
    pub fn bytes_spent(&self) -> bool {
        self.bytes < 0.0
    }

    /// Takes one request of `bytes` from the buckets.
    pub fn charge(&mut self, bytes: usize) {
        self.requests -= 1.0;
        self.bytes -= bytes as f32;
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.at = now;
        let policy = self.policy;
        let requests = f64::from(self.requests) + elapsed * policy.requests_per_sec;
        let bytes = f64::from(self.bytes) + elapsed * policy.bytes_per_sec;
        self.requests = requests.min(policy.burst_requests) as f32;
        self.bytes = bytes.min(policy.burst_bytes) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: FloodPolicy = FloodPolicy {
        requests_per_sec: 2.0,
        burst_requests: 5.0,
        bytes_per_sec: 1000.0,
        burst_bytes: 4000.0,
    };

    /// Requests of `bytes` each, sent as fast as the gate lets them through: when each is read, in ms.
    fn schedule(bytes: usize, count: usize) -> Vec<u64> {
        let start = Instant::now();
        let mut gate = FloodGate::new(&POLICY, start);
        let mut now = start;
        let mut times = Vec::new();
        for _ in 0..count {
            now += gate.wait(now);
            assert!(gate.allowance(now) >= 1);
            gate.charge(bytes);
            times.push((now - start).as_millis() as u64);
        }
        times
    }

    #[test]
    fn a_burst_then_the_sustained_rate() {
        let cases: &[(usize, usize, &[u64])] = &[
            // Small requests: five at once, then one every half second.
            (10, 7, &[0, 0, 0, 0, 0, 500, 1000]),
            // Large ones: the byte bucket governs: 4000 at once, then 1000 bytes a second.
            (3000, 4, &[0, 0, 2000, 5000]),
        ];
        for (bytes, count, want) in cases {
            assert_eq!(&schedule(*bytes, *count), want, "{count} requests of {bytes} bytes");
        }
    }

    #[test]
    fn a_quiet_spell_refills_only_up_to_the_burst() {
        let start = Instant::now();
        let mut gate = FloodGate::new(&POLICY, start);
        for _ in 0..5 {
            gate.charge(1);
        }
        assert_eq!(gate.allowance(start), 1);
        assert!(gate.wait(start) > Duration::ZERO);
        let later = start + Duration::from_secs(3600);
        assert_eq!(gate.wait(later), Duration::ZERO);
        assert_eq!(gate.allowance(later), 5);
    }
}
