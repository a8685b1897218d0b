//! Line mode for pipes and scripts: stdin lines become commands, every event becomes readable lines
//! on stdout. At the end of stdin it waits for every request to be answered.

use anyhow::{Context as _, bail};
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio_util::codec::FramedRead;

use super::{Commands, Connection, Events, Welcome};
use crate::hub::Focus;
use crate::names::{Nick, RoomName};
use crate::protocol::{Command, Event};
use crate::transport::line::{Frame, LineCodec};
use crate::transport::{WireMode, text};

/// How far the input side has got: requests sent, and whether it is done sending.
#[derive(Debug, Clone, Copy, Default)]
struct Sent {
    requests: u64,
    finished: bool,
}

/// Runs line mode until stdin ends and all is answered, or the server closes the connection.
pub async fn run<I, O>(connection: Connection, input: I, output: O) -> anyhow::Result<()>
where
    I: AsyncRead + Unpin,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let Connection {
        welcome,
        events,
        mut commands,
    } = connection;
    let (sent_tx, sent_rx) = watch::channel(Sent::default());
    let view = View::new(&welcome);
    let mut showing = tokio::spawn(show_events(events, view, sent_rx, output));
    let typed = tokio::select! {
        typed = send_input(&mut commands, input, welcome.max_message, &sent_tx) => typed,
        shown = &mut showing => return shown.context("the event printer failed")?,
    };
    sent_tx.send_modify(|sent| sent.finished = true);
    let shown = showing.await.context("the event printer failed")?;
    if let Ok(Typed { quit: false, .. }) = typed {
        let _ = commands.send_unanswered(Command::Quit { reason: None }).await;
    }
    let _ = commands.finish().await;
    let Typed { invalid, .. } = typed?;
    shown?;
    if invalid > 0 {
        bail!("{invalid} lines of input were not valid commands");
    }
    Ok(())
}

/// How the input side ended.
struct Typed {
    /// The user typed /quit (rather than reaching the end of input).
    quit: bool,
    /// Lines that were not valid commands, and so were not sent.
    invalid: u64,
}

async fn send_input<I: AsyncRead + Unpin>(
    commands: &mut Commands,
    input: I,
    max_message: usize,
    sent: &watch::Sender<Sent>,
) -> anyhow::Result<Typed> {
    let codec = LineCodec::new(WireMode::Text.max_frame_bytes(max_message));
    let mut lines = FramedRead::new(input, codec);
    let mut invalid = 0;
    while let Some(frame) = lines.next().await {
        let line = match frame.context("cannot read standard input")? {
            Frame::Line(line) => line,
            Frame::TooLong => {
                bail!("a line of input is longer than the server's limit of {max_message} bytes")
            }
        };
        let request = match text::parse(&line) {
            text::Typed::Request(request) => request,
            text::Typed::Nothing => continue,
            text::Typed::Invalid(why) => {
                eprintln!("!! {why}");
                invalid += 1;
                continue;
            }
        };
        if let Command::Quit { .. } = request.command {
            commands
                .send_unanswered(request.command)
                .await
                .context("lost the connection")?;
            return Ok(Typed { quit: true, invalid });
        }
        commands.send(request.command).await.context("lost the connection")?;
        sent.send_modify(|sent| sent.requests += 1);
    }
    Ok(Typed { quit: false, invalid })
}

/// Prints events until the input side is finished and every request it sent is answered.
async fn show_events<O: AsyncWrite + Unpin>(
    mut events: Events,
    mut view: View,
    mut sent: watch::Receiver<Sent>,
    mut output: O,
) -> anyhow::Result<()> {
    let mut answered = 0u64;
    let mut refused = 0u64;
    output.write_all(view.greeting().as_bytes()).await?;
    loop {
        let Sent { requests, finished } = *sent.borrow_and_update();
        if finished && answered >= requests {
            break;
        }
        let event = tokio::select! {
            event = events.next_event() => event.context("lost the connection")?,
            changed = sent.changed() => {
                if changed.is_err() { break }
                continue;
            }
        };
        let Some(event) = event else {
            if answered < requests {
                bail!(
                    "the server closed the connection with {} requests unanswered",
                    requests - answered
                );
            }
            break;
        };
        match &event {
            Event::Ack { .. } => answered += 1,
            Event::Error { id: Some(_), .. } => {
                answered += 1;
                refused += 1;
            }
            _ => {}
        }
        let focus = view.focus(&event);
        view.follow(&event);
        output.write_all(&text::render(&event, focus)).await?;
        output.flush().await?;
    }
    if refused > 0 {
        bail!("the server refused {refused} of {answered} requests");
    }
    Ok(())
}

/// What the printer must know to show events as the server would: who we are, which room is current.
struct View {
    me: Nick,
    /// Joined rooms in join order; the last is current.
    rooms: Vec<RoomName>,
    server: String,
}

impl View {
    fn new(welcome: &Welcome) -> View {
        View {
            me: welcome.nick.clone(),
            rooms: Vec::new(),
            server: welcome.server.clone(),
        }
    }

    fn greeting(&self) -> String {
        format!("-- connected to {} as {}\n", self.server, self.me)
    }

    fn focus(&self, event: &Event) -> Focus {
        match event {
            Event::Message(message) if message.room.is_some() && message.room.as_ref() != self.rooms.last() => {
                Focus::Elsewhere
            }
            _ => Focus::Current,
        }
    }

    fn follow(&mut self, event: &Event) {
        match event {
            Event::Joined { room, nick, .. } if *nick == self.me => {
                self.rooms.retain(|r| r != room);
                self.rooms.push(room.clone());
            }
            Event::Parted { room, nick } | Event::Kicked { room, nick, .. } if *nick == self.me => {
                self.rooms.retain(|r| r != room);
            }
            Event::Renamed { from, to } if *from == self.me => self.me = to.clone(),
            _ => {}
        }
    }
}
