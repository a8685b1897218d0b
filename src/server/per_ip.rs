//! The per-IP table at the accept edge: for each address not exempt, how many connections it has open
//! and how many it opened in its current minute. Pure: the time comes in as an argument.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The window `--max-conn-rate-per-ip` counts new connections in.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);
/// The most addresses kept only for their rate window (no connection open). Past it, those whose
/// window has passed go first, then any, down to half: an address forgotten early merely starts a
/// new window.
pub const MAX_IDLE_ENTRIES: usize = 16_384;

/// What one address may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerIpLimits {
    /// Connections open at once.
    pub max_open: usize,
    /// New connections within one `RATE_WINDOW`.
    pub max_new_per_window: usize,
}

/// Why a connection was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    TooManyOpen(usize),
    TooManyNew(usize),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::TooManyOpen(limit) => {
                write!(f, "too many connections from your address (at most {limit} at once)")
            }
            Refusal::TooManyNew(limit) => write!(
                f,
                "too many new connections from your address (at most {limit} a minute); try again later"
            ),
        }
    }
}

#[derive(Debug)]
struct Entry {
    open: usize,
    window_start: Instant,
    new_in_window: usize,
}

impl Entry {
    fn window_passed(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.window_start) >= RATE_WINDOW
    }
}

/// Every address with a connection open, and some that had one within their rate window.
#[derive(Debug)]
pub struct IpTable {
    limits: PerIpLimits,
    entries: HashMap<IpAddr, Entry>,
    /// How many entries have no connection open.
    idle: usize,
}

impl IpTable {
    pub fn new(limits: PerIpLimits) -> IpTable {
        IpTable {
            limits,
            entries: HashMap::new(),
            idle: 0,
        }
    }

    /// Counts a new connection from `ip`, or says why it may not open one. A refused connection is
    /// not counted, so a client that retries too early is let in once its minute has passed.
    pub fn admit(&mut self, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        let limits = self.limits;
        let entry = self.entries.entry(ip.to_canonical()).or_insert_with(|| {
            // Counted idle until admitted below, so a refusal leaves the count true.
            Entry {
                open: 0,
                window_start: now,
                new_in_window: 0,
            }
        });
        let was_new = entry.open == 0 && entry.new_in_window == 0;
        if entry.window_passed(now) {
            entry.window_start = now;
            entry.new_in_window = 0;
        }
        let refusal = if entry.open >= limits.max_open {
            Some(Refusal::TooManyOpen(limits.max_open))
        } else if entry.new_in_window >= limits.max_new_per_window {
            Some(Refusal::TooManyNew(limits.max_new_per_window))
        } else {
            None
        };
        if let Some(refusal) = refusal {
            if was_new {
                self.entries.remove(&ip.to_canonical());
            }
            return Err(refusal);
        }
        if entry.open == 0 && !was_new {
            self.idle -= 1;
        }
        entry.open += 1;
        entry.new_in_window += 1;
        Ok(())
    }

    /// One of `ip`'s connections has closed.
    pub fn release(&mut self, ip: IpAddr, now: Instant) {
        let ip = ip.to_canonical();
        let Some(entry) = self.entries.get_mut(&ip) else {
            return;
        };
        entry.open = entry.open.saturating_sub(1);
        if entry.open > 0 {
            return;
        }
        if entry.window_passed(now) {
            self.entries.remove(&ip);
            return;
        }
        self.idle += 1;
        if self.idle > MAX_IDLE_ENTRIES {
            self.forget_idle(now);
        }
    }

    /// Drops idle entries whose window has passed, then any idle ones, until half the cap is left.
    fn forget_idle(&mut self, now: Instant) {
        self.entries
            .retain(|_, entry| entry.open > 0 || !entry.window_passed(now));
        let mut excess = self.idle_count().saturating_sub(MAX_IDLE_ENTRIES / 2);
        self.entries.retain(|_, entry| {
            if entry.open == 0 && excess > 0 {
                excess -= 1;
                false
            } else {
                true
            }
        });
        self.idle = self.idle_count();
    }

    fn idle_count(&self) -> usize {
        self.entries.values().filter(|entry| entry.open == 0).count()
    }

    /// How many addresses the table holds.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PerIpLimits = PerIpLimits {
        max_open: 2,
        max_new_per_window: 3,
    };

    enum Step {
        /// Seconds from the start, the address's last byte, and whether it is let in.
        Open(u64, u8, Result<(), Refusal>),
        Close(u64, u8),
        /// How many addresses the table holds now.
        Holds(usize),
    }
    use Step::{Close, Holds, Open};

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn connections_are_counted_per_address_and_per_minute() {
        let scripts: &[(&str, &[Step])] = &[
            (
                "open connections are capped, closing one makes room",
                &[
                    Open(0, 1, Ok(())),
                    Open(0, 1, Ok(())),
                    Open(0, 1, Err(Refusal::TooManyOpen(2))),
                    Open(0, 2, Ok(())),
                    Close(1, 1),
                    Open(1, 1, Ok(())),
                    Holds(2),
                ],
            ),
            (
                "new connections are capped per minute, even when each closes",
                &[
                    Open(0, 1, Ok(())),
                    Close(0, 1),
                    Open(10, 1, Ok(())),
                    Close(10, 1),
                    Open(20, 1, Ok(())),
                    Close(20, 1),
                    Open(30, 1, Err(Refusal::TooManyNew(3))),
                    Holds(1),
                    Open(60, 1, Ok(())),
                ],
            ),
            (
                "a refusal is not counted as a new connection",
                &[
                    Open(0, 1, Ok(())),
                    Open(0, 1, Ok(())),
                    Open(0, 1, Err(Refusal::TooManyOpen(2))),
                    Open(0, 1, Err(Refusal::TooManyOpen(2))),
                    Close(0, 1),
                    Open(0, 1, Ok(())),
                    Open(0, 1, Err(Refusal::TooManyOpen(2))),
                ],
            ),
            (
                "an address leaves the table once it has no connection and its minute has passed",
                &[
                    Open(0, 1, Ok(())),
                    Close(5, 1),
                    Holds(1),
                    Open(70, 1, Ok(())),
                    Close(200, 1),
                    Holds(0),
                ],
            ),
            (
                "closing what was never opened changes nothing",
                &[
                    Close(0, 9),
                    Holds(0),
                    Open(0, 9, Ok(())),
                    Close(0, 9),
                    Close(0, 9),
                    Holds(1),
                ],
            ),
        ];
        for (name, steps) in scripts {
            let start = Instant::now();
            let at = |secs: &u64| start + Duration::from_secs(*secs);
            let mut table = IpTable::new(LIMITS);
            for (i, step) in steps.iter().enumerate() {
                match step {
                    Open(secs, last, expected) => {
                        assert_eq!(table.admit(ip(*last), at(secs)), *expected, "{name}: step {i}");
                    }
                    Close(secs, last) => table.release(ip(*last), at(secs)),
                    Holds(n) => assert_eq!(table.len(), *n, "{name}: step {i}"),
                }
            }
        }
    }

    #[test]
    fn mapped_ipv4_addresses_count_as_their_ipv4_address() {
        let mut table = IpTable::new(LIMITS);
        let now = Instant::now();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(table.admit(ip(1), now), Ok(()));
        assert_eq!(table.admit(mapped, now), Ok(()));
        assert_eq!(table.admit(ip(1), now), Err(Refusal::TooManyOpen(2)));
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn addresses_kept_only_for_their_minute_are_bounded() {
        let mut table = IpTable::new(PerIpLimits {
            max_open: 1,
            max_new_per_window: 1,
        });
        let now = Instant::now();
        let held: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(table.admit(held, now), Ok(()));
        for n in 0..(MAX_IDLE_ENTRIES as u32 * 3) {
            let ip = IpAddr::from((u32::from_be_bytes([10, 0, 0, 0]) + n).to_be_bytes());
            assert_eq!(table.admit(ip, now), Ok(()));
            table.release(ip, now);
            assert!(table.len() <= MAX_IDLE_ENTRIES + 1, "{} after {n}", table.len());
        }
        // The address with a connection open is never forgotten.
        assert_eq!(table.admit(held, now), Err(Refusal::TooManyOpen(1)));
    }
}
