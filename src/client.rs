//! The client side of the structured protocol: `Connection` connects, says hello, then splits into a
//! stream of events and a sender of commands that work at the same time. Presentation lives elsewhere.

pub mod dial;
pub mod line;
pub mod send;
pub mod tui;

use std::io;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;
use tokio_util::codec::FramedRead;

pub use dial::Dialer;
use dial::{ReadHalf, WriteHalf};

use crate::names::{ConnId, Nick, RoomName};
use crate::protocol::{Command, Event, PROTOCOL_VERSION, Password, Request, RequestId};
use crate::transport::line::{Frame, LineCodec};
use crate::transport::{WireMode, json};

/// The longest frame accepted before the welcome has told the real limit.
pub const GREETING_FRAME_BYTES: usize = 64 * 1024;

/// The most of a refusal line shown to the user.
pub const REFUSAL_CHARS: usize = 200;

/// What to ask for when connecting.
#[derive(Debug, Clone, Default)]
pub struct Hello {
    pub nick: Option<Nick>,
    pub room: Option<RoomName>,
    /// Log in to the account named `nick`.
    pub password: Option<Password>,
}

/// What the server said in its welcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Welcome {
    pub server: String,
    pub nick: Nick,
    pub conn: ConnId,
    pub room: Option<RoomName>,
    pub max_message: usize,
}

pub struct Connection {
    pub welcome: Welcome,
    pub events: Events,
    pub commands: Commands,
}

impl Connection {
    /// Connects to the server `dialer` names and completes the handshake.
    pub async fn connect(dialer: &Dialer, hello: Hello) -> anyhow::Result<Connection> {
        let addr = dialer.target();
        let (reader, writer) = dialer.open().await?;
        let writer = Arc::new(Mutex::new(writer));
        let mut commands = Commands {
            writer: writer.clone(),
            last_id: 0,
        };
        let command = Command::Hello {
            version: PROTOCOL_VERSION,
            nick: hello.nick,
            room: hello.room,
            password: hello.password,
            pass: None,
        };
        commands
            .write(&Request::new(command))
            .await
            .context("cannot send hello")?;
        let mut events = Events {
            frames: FramedRead::new(reader, LineCodec::new(GREETING_FRAME_BYTES)),
            pong: writer,
        };
        let welcome = events
            .welcome()
            .await
            .with_context(|| format!("no welcome from {addr}"))?;
        let max_frame = WireMode::Json.max_frame_bytes(welcome.max_message);
        *events.frames.decoder_mut() = LineCodec::new(max_frame);
        Ok(Connection {
            welcome,
            events,
            commands,
        })
    }
}

/// The events the server sends, in order. The server's pings are answered here and not passed on.
pub struct Events {
    frames: FramedRead<ReadHalf, LineCodec>,
    /// Shared with `Commands`, to answer pings while the commands side waits for something to send.
    pong: Arc<Mutex<WriteHalf>>,
}

impl Events {
    /// The next event; `None` once the server has closed the connection.
    pub async fn next_event(&mut self) -> io::Result<Option<Event>> {
        loop {
            let Some(frame) = self.frames.next().await.transpose()? else {
                return Ok(None);
            };
            match frame {
                Frame::Line(line) if line.is_empty() => continue,
                Frame::Line(line) => match json::parse_event(&line).map_err(io::Error::other)? {
                    Event::Ping => Self::answer_ping(&self.pong).await?,
                    event => return Ok(Some(event)),
                },
                Frame::TooLong => {
                    return Err(io::Error::other("the server sent a frame over the limit"));
                }
            }
        }
    }

    /// Answers a ping, unless the commands side is writing: then the server hears from the client
    /// anyway, and waiting for it here could stop events being read while that write waits for the
    /// server to read.
    async fn answer_ping(pong: &Mutex<WriteHalf>) -> io::Result<()> {
        let Ok(mut writer) = pong.try_lock() else {
            return Ok(());
        };
        writer
            .write_all(&json::render_request(&Request::new(Command::Pong)))
            .await
    }

    /// Skips anything before the welcome that is not JSON (a server may greet plain clients first).
    async fn welcome(&mut self) -> anyhow::Result<Welcome> {
        // A refusal at the door (server full, too many from this address) is one plain `!!` line.
        let mut refusal: Option<String> = None;
        loop {
            let Some(frame) = self.frames.next().await.transpose()? else {
                match refusal {
                    Some(why) => bail!("the server refused: {why}"),
                    None => bail!("the server closed the connection"),
                }
            };
            let Frame::Line(line) = frame else {
                bail!("the server's greeting was too long")
            };
            match json::parse_event(&line) {
                Ok(Event::Welcome {
                    server,
                    nick,
                    conn,
                    room,
                    max_message,
                    ..
                }) => {
                    return Ok(Welcome {
                        server,
                        nick,
                        conn,
                        room,
                        max_message,
                    });
                }
                Ok(Event::Error { message, .. }) => bail!("the server refused: {message}"),
                Ok(other) => bail!("expected a welcome, got {other:?}"),
                Err(_) => {
                    if let Some(why) = line.strip_prefix(b"!! ") {
                        // Shown on a terminal: no control characters, and a line's worth at most.
                        let why = String::from_utf8_lossy(why);
                        refusal = Some(why.chars().filter(|c| !c.is_control()).take(REFUSAL_CHARS).collect());
                    }
                }
            }
        }
    }
}

/// Sends commands, numbering each so that its answer can be matched.
pub struct Commands {
    writer: Arc<Mutex<WriteHalf>>,
    last_id: u64,
}

impl Commands {
    /// Sends `command` with a fresh id and returns that id.
    pub async fn send(&mut self, command: Command) -> io::Result<RequestId> {
        self.last_id += 1;
        let id = RequestId::Number(self.last_id);
        self.write(&Request {
            id: Some(id.clone()),
            command,
        })
        .await?;
        Ok(id)
    }

    /// Sends a request as it is, with whatever id it carries.
    pub async fn send_request(&mut self, request: &Request) -> io::Result<()> {
        self.write(request).await
    }

    /// Sends `command` with no id: nothing will answer it.
    pub async fn send_unanswered(&mut self, command: Command) -> io::Result<()> {
        self.write(&Request::new(command)).await
    }

    /// Says no more will be sent.
    pub async fn finish(&mut self) -> io::Result<()> {
        self.writer.lock().await.shutdown().await
    }

    async fn write(&mut self, request: &Request) -> io::Result<()> {
        self.writer.lock().await.write_all(&json::render_request(request)).await
    }
}
