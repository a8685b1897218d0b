//! Accounts as the hub sees them: registering the nick one holds, logging in to take an account's
//! nick (from whoever holds it), changing the password, deleting the account. The password checks
//! themselves are the store's.

use super::{AccountRef, Ask, Done, Effects, Hub, Refusal, elsewhere};
use crate::names::{ConnId, Nick};
use crate::protocol::{ErrorCode, Event, Password};
use crate::store::Account;

/// What a client is told when it sends a password where the network can read it.
const IN_THE_CLEAR: &str = "warning: this connection is not encrypted, so your password crossed the network \
     in the clear; connect with chats:// (TLS) to keep it safe";

impl AccountRef {
    /// The event telling its member which account it is logged in to.
    pub(super) fn event(&self) -> Event {
        Event::Account {
            account: Some(self.name.clone()),
            operator: self.operator,
        }
    }
}

impl Hub {
    pub(super) fn register(&mut self, conn: ConnId, password: Password, out: &mut Effects) -> Result<Done, Refusal> {
        let member = &self.members[&conn];
        if let Some(account) = &member.account {
            let why = format!("you are logged in to {} already", account.name);
            return Err((ErrorCode::BadRequest, why));
        }
        let nick = member.nick.clone();
        if nick.is_guest_shaped() {
            let why = format!("{nick} is a nick the server gave you; /nick NAME first, then register NAME");
            return Err((ErrorCode::BadRequest, why));
        }
        self.warn_if_in_the_clear(conn, out);
        let now = self.now;
        out.ask(conn, self.request_id.clone(), Ask::Register { nick, password, now });
        Ok(Done::Asked)
    }

    pub(super) fn login(
        &mut self,
        conn: ConnId,
        nick: Nick,
        password: Password,
        out: &mut Effects,
    ) -> Result<Done, Refusal> {
        let member = &self.members[&conn];
        if member.account.as_ref().is_some_and(|a| a.name.key() == nick.key()) {
            return Err((ErrorCode::BadRequest, format!("you are logged in to {nick} already")));
        }
        let ip = member.ip;
        self.warn_if_in_the_clear(conn, out);
        out.ask(conn, self.request_id.clone(), Ask::Login { nick, password, ip });
        Ok(Done::Asked)
    }

    pub(super) fn change_password(
        &mut self,
        conn: ConnId,
        password: Password,
        out: &mut Effects,
    ) -> Result<Done, Refusal> {
        let account = self.own_account(conn)?;
        self.warn_if_in_the_clear(conn, out);
        out.ask(conn, self.request_id.clone(), Ask::Passwd { account, password });
        Ok(Done::Asked)
    }

    pub(super) fn unregister(&mut self, conn: ConnId, password: Password, out: &mut Effects) -> Result<Done, Refusal> {
        let account = self.own_account(conn)?;
        let ip = self.members[&conn].ip;
        self.warn_if_in_the_clear(conn, out);
        out.ask(conn, self.request_id.clone(), Ask::Unregister { account, password, ip });
        Ok(Done::Asked)
    }

    fn own_account(&self, conn: ConnId) -> Result<Nick, Refusal> {
        match &self.members[&conn].account {
            Some(account) => Ok(account.name.clone()),
            None => Err((
                ErrorCode::NotLoggedIn,
                "you are not logged in: /register PASSWORD or /login NICK PASSWORD".to_owned(),
            )),
        }
    }

    fn warn_if_in_the_clear(&self, conn: ConnId, out: &mut Effects) {
        if !self.members[&conn].secure {
            out.tell(
                conn,
                Event::Notice {
                    text: IN_THE_CLEAR.to_owned(),
                },
            );
        }
    }

    pub(super) fn registered(&mut self, conn: ConnId, account: Account, out: &mut Effects) -> Done {
        self.registered.insert(account.name.key(), account.id);
        self.account_names.insert(account.id, account.name.clone());
        let account = AccountRef::from(account);
        out.tell(conn, account.event());
        if let Some(member) = self.members.get_mut(&conn) {
            member.account = Some(Box::new(account));
        }
        Done::Answered(None)
    }

    /// Takes the account's nick, unless it is banned: a ban on a nick holds for its account too.
    pub(super) fn logged_in(&mut self, conn: ConnId, account: Account, out: &mut Effects) -> Result<Done, Refusal> {
        if let Some(ban) = self.bans.find(Some(&account.name), None, self.now) {
            let why = format!("the nick {} is banned ({})", account.name, ban.describe());
            return Err((ErrorCode::Banned, why));
        }
        self.account_names.insert(account.id, account.name.clone());
        let account = AccountRef::from(account);
        self.reclaim(conn, &account.name, out);
        if self.nick(conn).as_str() != account.name.as_str() {
            self.set_nick(conn, account.name.clone(), out);
        }
        if account.operator {
            self.operators.insert(conn);
        }
        out.tell(conn, account.event());
        if let Some(member) = self.members.get_mut(&conn) {
            member.account = Some(Box::new(account));
        }
        Ok(Done::Answered(None))
    }

    pub(super) fn unregistered(&mut self, conn: ConnId, out: &mut Effects) -> Done {
        let Some(member) = self.members.get_mut(&conn) else {
            return Done::Gone;
        };
        if let Some(account) = member.account.take() {
            self.registered.remove(&account.name.key());
            self.account_names.remove(&account.id);
            if account.operator && !self.console_operator(conn) {
                self.operators.remove(&conn);
            }
        }
        out.tell(
            conn,
            Event::Account {
                account: None,
                operator: false,
            },
        );
        Done::Answered(None)
    }

    /// Whoever else holds `nick` gets a spare one: an account's nick is its owner's.
    pub(super) fn reclaim(&mut self, conn: ConnId, nick: &Nick, out: &mut Effects) {
        let Some(&holder) = self.nicks.get(&nick.key()) else {
            return;
        };
        if holder == conn {
            return;
        }
        let spare = self.spare_nick(holder);
        out.tell(
            holder,
            Event::Notice {
                text: format!("{nick} logged in from another connection, so you are {spare} here now"),
            },
        );
        self.set_nick(holder, spare, out);
    }

    /// Renames `conn`, telling it and those who share a room with it.
    pub(super) fn set_nick(&mut self, conn: ConnId, nick: Nick, out: &mut Effects) {
        let old = self.nick(conn);
        self.nicks.remove(&old.key());
        self.nicks.insert(nick.key(), conn);
        if let Some(member) = self.members.get_mut(&conn) {
            member.nick = nick.clone();
        }
        let mut to = self.neighbours(conn);
        to.push(elsewhere(conn));
        out.deliver(Event::Renamed { from: old, to: nick }, to);
    }

    /// Whether `conn` is the console, whose powers no account gives or takes.
    fn console_operator(&self, conn: ConnId) -> bool {
        self.members[&conn].console
    }
}
