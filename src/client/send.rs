//! `sockchat send`: all of stdin as one message, done once the server acknowledges it.

use anyhow::{Context as _, bail};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{Connection, Dialer, Hello};
use crate::names::{Nick, RoomName};
use crate::protocol::{Command, Event, Recipient};

/// Where the message goes.
#[derive(Debug, Clone)]
pub enum Destination {
    Room(Option<RoomName>),
    Nick(Nick),
}

/// Sends everything `input` holds (less one final line ending) as one message.
pub async fn send<R: AsyncRead + Unpin>(
    dialer: &Dialer,
    nick: Option<Nick>,
    to: Destination,
    input: R,
) -> anyhow::Result<()> {
    let room = match &to {
        Destination::Room(room) => room.clone(),
        Destination::Nick(_) => None,
    };
    let Connection {
        welcome,
        mut events,
        mut commands,
    } = Connection::connect(
        dialer,
        Hello {
            nick: nick.clone(),
            room,
            password: None,
        },
    )
    .await?;
    if let Some(asked) = nick.filter(|asked| *asked != welcome.nick) {
        let _ = commands.send_unanswered(Command::Quit { reason: None }).await;
        let _ = commands.finish().await;
        bail!(
            "the nick {asked} is taken (the server would call you {}); nothing was sent",
            welcome.nick
        );
    }
    let text = read_message(input, welcome.max_message).await?;
    let command = match to {
        Destination::Room(room) => Command::Say {
            room,
            text,
            action: false,
        },
        Destination::Nick(nick) => Command::Msg {
            to: Recipient::Nick(nick),
            text,
        },
    };
    let id = commands.send(command).await.context("cannot send the message")?;
    loop {
        match events
            .next_event()
            .await
            .context("lost the connection before the server's ack")?
        {
            Some(Event::Ack { id: answered, .. }) if answered == id => break,
            Some(Event::Error {
                id: Some(answered),
                message,
                ..
            }) if answered == id => bail!("not delivered: {message}"),
            Some(_) => continue,
            None => bail!("the server closed the connection before acknowledging the message"),
        }
    }
    let _ = commands
        .send_unanswered(Command::Quit {
            reason: Some("sent".to_owned()),
        })
        .await;
    let _ = commands.finish().await;
    Ok(())
}

/// Reads at most `max_bytes` of UTF-8, refusing more rather than buffering it.
async fn read_message<R: AsyncRead + Unpin>(input: R, max_bytes: usize) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    let limit = u64::try_from(max_bytes).unwrap_or(u64::MAX).saturating_add(2);
    input
        .take(limit)
        .read_to_end(&mut bytes)
        .await
        .context("cannot read standard input")?;
    for ending in [&b"\r\n"[..], b"\n"] {
        if bytes.ends_with(ending) {
            bytes.truncate(bytes.len() - ending.len());
            break;
        }
    }
    if bytes.len() > max_bytes {
        bail!("the input is larger than the server's limit of {max_bytes} bytes");
    }
    if bytes.is_empty() {
        bail!("there is nothing to send: standard input was empty");
    }
    String::from_utf8(bytes).context("the input is not UTF-8 text")
}
