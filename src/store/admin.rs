//! `sockchat account`: administering the accounts in a database file from the command line, beside
//! or without a running server.

use std::io::{BufRead, IsTerminal, Read};

use crate::cli::{AccountAction, AccountArgs};

use super::{Account, PASSWORD_MAX_BYTES, Retention, SqliteStore, Store, StoreError, StoreOptions};

/// Carry out one account command; what to print on success.
pub fn run(args: AccountArgs) -> anyhow::Result<String> {
    let mut options = StoreOptions::file(&args.db);
    // Pruning is the server's business, under the server's flags.
    options.retention = Retention::FOREVER;
    let store = SqliteStore::open(&options).map_err(|e| anyhow::anyhow!("{}: {e}", args.db.display()))?;
    let now = crate::clock::now();
    let done = match args.action {
        AccountAction::Create { name } => {
            let password = read_password()?;
            let account = store.create_account(name, password, now).wait()?;
            format!("created account {}\n", account.name)
        }
        AccountAction::Passwd { name } => {
            let password = read_password()?;
            store.set_password(name.clone(), password).wait()?;
            format!("changed the password of {name}\n")
        }
        AccountAction::Delete { name } => {
            store.delete_account(name.clone()).wait()?;
            format!("deleted account {name}\n")
        }
        AccountAction::List => listing(&store.accounts().wait()?),
        AccountAction::Oper { name, revoke } => {
            store.set_operator(name.clone(), !revoke).wait()?;
            match revoke {
                false => format!("{name} is an operator\n"),
                true => format!("{name} is no longer an operator\n"),
            }
        }
    };
    Ok(done)
}

fn listing(accounts: &[Account]) -> String {
    let mut text = String::new();
    for account in accounts {
        let created = chrono::DateTime::from_timestamp_millis(i64::try_from(account.created).unwrap_or(i64::MAX))
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        let role = if account.operator { "operator" } else { "user" };
        text.push_str(&format!("{:<24} {role:<8} created {created}\n", account.name.as_str()));
    }
    text
}

/// On a terminal, ask twice without echo; otherwise read one line from stdin.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Again: ")?;
        if first != second {
            anyhow::bail!("the two passwords differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    // One byte more than a password may have, and the newline, so that a longer one is refused, not cut.
    std::io::stdin()
        .lock()
        .take(PASSWORD_MAX_BYTES as u64 + 2)
        .read_line(&mut line)?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.len() > PASSWORD_MAX_BYTES {
        return Err(StoreError::Invalid(format!("a password may have at most {PASSWORD_MAX_BYTES} bytes")).into());
    }
    Ok(password.to_owned())
}
