//! When each structured session was last heard from: who is due a ping, and who has not answered one
//! in time. Plain sessions cannot answer a ping; TCP keepalive finds their dead peers.

use std::time::Duration;

use tokio::time::Instant;

use crate::names::{ConnId, ConnMap};

/// When a session was last heard from, in whole seconds since the server started (small: every
/// structured client has one), and whether it has been pinged since.
struct Heard {
    at_secs: u32,
    pinged: bool,
}

pub struct Liveness {
    started: Instant,
    heard: ConnMap<Heard>,
    ping_after: Duration,
    ping_timeout: Duration,
}

/// What a sweep found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Silent for `ping_after`: ping them.
    pub ping: Vec<ConnId>,
    /// Pinged, and silent `ping_timeout` longer: drop them.
    pub dead: Vec<ConnId>,
}

impl Liveness {
    /// Nobody watched yet; times are counted from `now`.
    pub fn new(ping_after: Duration, ping_timeout: Duration, now: Instant) -> Liveness {
        Liveness {
            started: now,
            heard: ConnMap::default(),
            ping_after,
            ping_timeout,
        }
    }

    /// The session sent something (or just arrived): it is alive.
    pub fn heard(&mut self, conn: ConnId, now: Instant) {
        let at_secs = self.secs(now);
        self.heard.insert(conn, Heard { at_secs, pinged: false });
    }

    /// Like `heard`, but only for a session already watched.
    pub fn heard_again(&mut self, conn: ConnId, now: Instant) {
        let at_secs = self.secs(now);
        if let Some(heard) = self.heard.get_mut(&conn) {
            *heard = Heard { at_secs, pinged: false };
        }
    }

    pub fn forget(&mut self, conn: ConnId) {
        self.heard.remove(&conn);
    }

    pub fn sweep(&mut self, now: Instant) -> Sweep {
        let now_secs = self.secs(now);
        let mut sweep = Sweep::default();
        for (&conn, heard) in &mut self.heard {
            let silent = Duration::from_secs(u64::from(now_secs.saturating_sub(heard.at_secs)));
            if !heard.pinged && silent >= self.ping_after {
                heard.pinged = true;
                sweep.ping.push(conn);
            } else if heard.pinged && silent >= self.ping_after.saturating_add(self.ping_timeout) {
                sweep.dead.push(conn);
            }
        }
        sweep.ping.sort();
        sweep.dead.sort();
        sweep
    }

    fn secs(&self, now: Instant) -> u32 {
        let secs = now.saturating_duration_since(self.started).as_secs();
        u32::try_from(secs).unwrap_or(u32::MAX)
    }

    pub fn ping_timeout(&self) -> Duration {
        self.ping_timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_silent_are_pinged_then_dropped_and_an_answer_saves_them() {
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let mut liveness = Liveness::new(Duration::from_secs(60), Duration::from_secs(30), start);
        let (quiet, answers) = (ConnId(1), ConnId(2));
        liveness.heard(quiet, at(0));
        liveness.heard(answers, at(0));
        /// At a time, maybe after hearing from someone: who is pinged, and who dropped.
        type Step<'a> = (u64, Option<ConnId>, &'a [ConnId], &'a [ConnId]);
        let steps: &[Step] = &[
            // (time, heard from, pinged, dropped)
            (59, None, &[], &[]),
            (60, None, &[quiet, answers], &[]),
            (61, None, &[], &[]),
            (70, Some(answers), &[], &[]),
            (90, None, &[], &[quiet]),
            (130, None, &[answers], &[quiet]),
        ];
        for &(secs, heard, ping, dead) in steps {
            if let Some(conn) = heard {
                liveness.heard_again(conn, at(secs));
            }
            let sweep = liveness.sweep(at(secs));
            assert_eq!(
                (sweep.ping.as_slice(), sweep.dead.as_slice()),
                (ping, dead),
                "at {secs} s"
            );
        }
        liveness.forget(quiet);
        assert_eq!(liveness.sweep(at(1000)).dead, [answers]);
    }
}
