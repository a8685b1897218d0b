//! Bans: the table the hub checks at every connect and rename, and the operators' `ban`, `unban`
//! and `bans`. The store keeps them across restarts; the hub keeps them in memory, so a check costs
//! no disk.

use core::net::IpAddr;
use std::collections::HashMap;

use super::{Ask, Done, Effects, Hub, Refusal};
use crate::names::{ConnId, Nick, NickKey};
use crate::protocol::{BanSummary, ErrorCode, Event, Millis};
use crate::store::{BAN_REASON_MAX_BYTES, Ban, BanTarget, LISTING_MAX_ROWS};

/// The most bans one `bans` answer lists, the newest: with reasons at their longest, they fit in a
/// listing's answer.
pub const BANS_LISTED_MAX: usize = 64;

/// The bans in force, by target. At most `LISTING_MAX_ROWS` of them, expired ones included until a
/// new ban needs the room.
#[derive(Debug, Default)]
pub struct BanList {
    nicks: HashMap<NickKey, Ban>,
    ips: HashMap<IpAddr, Ban>,
}

/// A ban's target as typed: an address if it reads as one, else a nick.
pub fn parse_ban_target(text: &str) -> Result<BanTarget, String> {
    match text.parse::<IpAddr>() {
        Ok(ip) => Ok(BanTarget::Ip(ip)),
        Err(_) => Nick::parse(text)
            .map(BanTarget::Nick)
            .map_err(|e| format!("{text} is neither an address nor a nick: {e}")),
    }
}

fn in_force(ban: &Ban, now: Millis) -> bool {
    ban.expires.is_none_or(|expires| expires > now)
}

fn target_text(target: &BanTarget) -> String {
    match target {
        BanTarget::Nick(nick) => nick.to_string(),
        BanTarget::Ip(ip) => ip.to_string(),
    }
}

impl Ban {
    /// What a banned user is told.
    pub(crate) fn describe(&self) -> String {
        match &self.reason {
            Some(reason) => format!("banned by {}: {reason}", self.set_by),
            None => format!("banned by {}", self.set_by),
        }
    }
}

impl BanList {
    pub fn insert(&mut self, ban: Ban) {
        match &ban.target {
            BanTarget::Nick(nick) => self.nicks.insert(nick.key(), ban),
            BanTarget::Ip(ip) => self.ips.insert(*ip, ban),
        };
    }

    pub fn remove(&mut self, target: &BanTarget) -> bool {
        match target {
            BanTarget::Nick(nick) => self.nicks.remove(&nick.key()).is_some(),
            BanTarget::Ip(ip) => self.ips.remove(ip).is_some(),
        }
    }

    /// The ban in force on this nick or this address, if any.
    pub fn find(&self, nick: Option<&Nick>, ip: Option<IpAddr>, now: Millis) -> Option<&Ban> {
        let by_nick = nick.and_then(|n| self.nicks.get(&n.key()));
        let by_ip = ip.and_then(|ip| self.ips.get(&ip));
        by_nick.into_iter().chain(by_ip).find(|ban| in_force(ban, now))
    }

    fn len(&self) -> usize {
        self.nicks.len() + self.ips.len()
    }

    /// Room for one more, if the table is full, made by forgetting the expired.
    fn make_room(&mut self, now: Millis) -> bool {
        if self.len() < LISTING_MAX_ROWS {
            return true;
        }
        self.nicks.retain(|_, ban| in_force(ban, now));
        self.ips.retain(|_, ban| in_force(ban, now));
        self.len() < LISTING_MAX_ROWS
    }

    fn in_force(&self, now: Millis) -> Vec<&Ban> {
        let mut bans: Vec<&Ban> = self
            .nicks
            .values()
            .chain(self.ips.values())
            .filter(|b| in_force(b, now))
            .collect();
        bans.sort_by_key(|ban| ban.set_at);
        bans
    }
}

impl Hub {
    fn check_operator(&self, conn: ConnId, what: &str) -> Result<(), Refusal> {
        if self.operators.contains(&conn) {
            Ok(())
        } else {
            Err((ErrorCode::NotPermitted, format!("only operators may {what}")))
        }
    }

    pub(super) fn ban(
        &mut self,
        conn: ConnId,
        target: &str,
        duration: Option<u64>,
        reason: Option<String>,
        now: Millis,
        out: &mut Effects,
    ) -> Result<Done, Refusal> {
        self.check_operator(conn, "ban")?;
        let target = parse_ban_target(target).map_err(|why| (ErrorCode::BadRequest, why))?;
        if reason.as_ref().is_some_and(|r| r.len() > BAN_REASON_MAX_BYTES) {
            let why = format!("a ban's reason may be at most {BAN_REASON_MAX_BYTES} bytes");
            return Err((ErrorCode::TooLarge, why));
        }
        if !self.bans.make_room(now) {
            let why = format!("the server keeps at most {LISTING_MAX_ROWS} bans; lift some first");
            return Err((ErrorCode::BadRequest, why));
        }
        let ban = Ban {
            target,
            reason,
            set_by: self.nick(conn),
            set_at: now,
            expires: duration.map(|seconds| now.saturating_add(seconds.saturating_mul(1000))),
        };
        self.bans.insert(ban.clone());
        self.remove_banned(conn, &ban, out);
        out.ask(conn, self.request_id.clone(), Ask::Ban(ban));
        Ok(Done::Asked)
    }

    /// Disconnects whoever the new ban covers (never the operator who set it).
    fn remove_banned(&mut self, by: ConnId, ban: &Ban, out: &mut Effects) {
        let mut covered: Vec<ConnId> = self
            .members
            .iter()
            .filter(|(conn, member)| {
                **conn != by
                    && match &ban.target {
                        BanTarget::Nick(nick) => member.nick.key() == nick.key(),
                        BanTarget::Ip(ip) => member.ip == Some(*ip),
                    }
            })
            .map(|(conn, _)| *conn)
            .collect();
        covered.sort();
        for conn in covered {
            let reason = ban.describe();
            out.tell(conn, Event::Bye { reason: reason.clone() });
            self.remove(conn, reason, out);
        }
    }

    pub(super) fn unban(&mut self, conn: ConnId, target: &str, out: &mut Effects) -> Result<Done, Refusal> {
        self.check_operator(conn, "unban")?;
        let target = parse_ban_target(target).map_err(|why| (ErrorCode::BadRequest, why))?;
        if !self.bans.remove(&target) {
            return Err((ErrorCode::BadRequest, format!("{} is not banned", target_text(&target))));
        }
        out.ask(conn, self.request_id.clone(), Ask::Unban(target));
        Ok(Done::Asked)
    }

    pub(super) fn list_bans(&self, conn: ConnId, now: Millis, out: &mut Effects) -> Result<(), Refusal> {
        self.check_operator(conn, "list the bans")?;
        let bans = self
            .bans
            .in_force(now)
            .into_iter()
            .rev()
            .take(BANS_LISTED_MAX)
            .map(|ban| BanSummary {
                target: target_text(&ban.target),
                by: ban.set_by.clone(),
                ts: ban.set_at,
                expires: ban.expires,
                reason: ban.reason.clone(),
            })
            .collect();
        out.tell(conn, Event::Bans { bans });
        Ok(())
    }
}
