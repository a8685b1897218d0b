//! Password checks with limits on failure: each address and each account may fail a few times, then
//! must wait, longer after each further failure. The hashing itself runs on the store's hasher
//! threads, a few at a time, so a flood of logins never reaches the chat's workers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::hub::{Refusal, refusal_of};
use crate::names::{Nick, NickKey};
use crate::protocol::{ErrorCode, Password};
use crate::store::{Account, Store, StoreError};

/// Failures an address may have before it must wait.
pub const FREE_FAILURES_PER_IP: u32 = 5;
/// Failures an account may have (from anywhere) before it must wait.
pub const FREE_FAILURES_PER_ACCOUNT: u32 = 10;
/// The first wait; each further failure doubles it, up to `LOCKOUT_MAX`.
pub const LOCKOUT_FIRST: Duration = Duration::from_secs(2);
pub const LOCKOUT_MAX: Duration = Duration::from_secs(300);
/// Failures are forgotten after this long without another.
pub const FAILURES_FORGOTTEN_AFTER: Duration = Duration::from_secs(15 * 60);
/// The most addresses, and the most accounts, whose failures are remembered.
pub const FAILURES_TRACKED_MAX: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
    locked_until: Instant,
}

/// Failures by key, bounded: when full, the forgotten go first, then the oldest.
struct Tally<K> {
    free: u32,
    entries: HashMap<K, Failures>,
}

impl<K: std::hash::Hash + Eq + Clone> Tally<K> {
    fn new(free: u32) -> Tally<K> {
        Tally {
            free,
            entries: HashMap::new(),
        }
    }

    fn locked_until(&self, key: &K, now: Instant) -> Option<Instant> {
        let failures = self.entries.get(key)?;
        (failures.locked_until > now).then_some(failures.locked_until)
    }

    fn fail(&mut self, key: K, now: Instant) {
        if !self.entries.contains_key(&key) && self.entries.len() >= FAILURES_TRACKED_MAX {
            self.entries
                .retain(|_, f| now.duration_since(f.last) < FAILURES_FORGOTTEN_AFTER);
            if self.entries.len() >= FAILURES_TRACKED_MAX
                && let Some(oldest) = self.entries.iter().min_by_key(|(_, f)| f.last).map(|(k, _)| k.clone())
            {
                self.entries.remove(&oldest);
            }
        }
        let failures = self.entries.entry(key).or_insert(Failures {
            count: 0,
            last: now,
            locked_until: now,
        });
        if now.duration_since(failures.last) >= FAILURES_FORGOTTEN_AFTER {
            failures.count = 0;
        }
        failures.count += 1;
        failures.last = now;
        if failures.count > self.free {
            let doublings = (failures.count - self.free - 1).min(16);
            let wait = LOCKOUT_FIRST.saturating_mul(1 << doublings).min(LOCKOUT_MAX);
            failures.locked_until = now + wait;
        }
    }

    fn forgive(&mut self, key: &K) {
        self.entries.remove(key);
    }
}

struct Tallies {
    by_ip: Tally<IpAddr>,
    by_account: Tally<NickKey>,
}

/// Checks passwords for the hub and for hellos, within the failure limits.
#[derive(Clone)]
pub struct Logins {
    store: Arc<dyn Store>,
    tallies: Arc<Mutex<Tallies>>,
}

impl Logins {
    pub fn new(store: Arc<dyn Store>) -> Logins {
        Logins {
            store,
            tallies: Arc::new(Mutex::new(Tallies {
                by_ip: Tally::new(FREE_FAILURES_PER_IP),
                by_account: Tally::new(FREE_FAILURES_PER_ACCOUNT),
            })),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The account, if the password is its own and neither the address nor the account must wait.
    pub async fn verify(&self, nick: Nick, password: Password, ip: Option<IpAddr>) -> Result<Account, Refusal> {
        let key = nick.key();
        if let Some(until) = self.locked_until(ip, &key) {
            let seconds = until.saturating_duration_since(Instant::now()).as_secs() + 1;
            return Err((
                ErrorCode::Throttled,
                format!("too many failed logins; try again in {seconds} s"),
            ));
        }
        let result = self.store.verify_password(nick, password.0).await;
        let mut tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        match &result {
            Ok(_) => {
                tallies.by_account.forgive(&key);
                if let Some(ip) = ip {
                    tallies.by_ip.forgive(&ip);
                }
            }
            Err(StoreError::WrongPassword) => {
                let now = Instant::now();
                tallies.by_account.fail(key, now);
                if let Some(ip) = ip {
                    tallies.by_ip.fail(ip, now);
                }
            }
            Err(_) => {}
        }
        result.map_err(|e| refusal_of(&e))
    }

    fn locked_until(&self, ip: Option<IpAddr>, key: &NickKey) -> Option<Instant> {
        let tallies = self.tallies.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let by_ip = ip.and_then(|ip| tallies.by_ip.locked_until(&ip, now));
        by_ip.max(tallies.by_account.locked_until(key, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_past_the_free_ones_lock_for_longer_each_time() {
        let start = Instant::now();
        let mut tally = Tally::new(2);
        let cases: &[(u32, Option<Duration>)] = &[
            (1, None),
            (2, None),
            (3, Some(LOCKOUT_FIRST)),
            (4, Some(LOCKOUT_FIRST * 2)),
            (5, Some(LOCKOUT_FIRST * 4)),
        ];
        for &(failure, locked) in cases {
            tally.fail("ann", start);
            let got = tally.locked_until(&"ann", start).map(|until| until - start);
            assert_eq!(got, locked, "after failure {failure}");
        }
        for _ in 0..30 {
            tally.fail("ann", start);
        }
        assert_eq!(tally.locked_until(&"ann", start), Some(start + LOCKOUT_MAX));
        assert_eq!(tally.locked_until(&"bob", start), None);
        tally.forgive(&"ann");
        assert_eq!(tally.locked_until(&"ann", start), None);
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_spell() {
        let start = Instant::now();
        let mut tally = Tally::new(1);
        tally.fail("ann", start);
        let later = start + FAILURES_FORGOTTEN_AFTER;
        tally.fail("ann", later);
        assert_eq!(tally.locked_until(&"ann", later), None);
    }

    #[test]
    fn the_table_is_bounded() {
        let start = Instant::now();
        let mut tally = Tally::new(0);
        for n in 0..FAILURES_TRACKED_MAX + 10 {
            tally.fail(n, start + Duration::from_millis(n as u64));
        }
        assert_eq!(tally.entries.len(), FAILURES_TRACKED_MAX);
        assert!(tally.locked_until(&(FAILURES_TRACKED_MAX + 9), start).is_some());
    }
}
