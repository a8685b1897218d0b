//! The full-screen client: a terminal UI over `Connection`, reconnecting by itself.

mod app;
mod editor;
mod help;
mod link;
mod paging;
mod terminal;
mod view;
mod window;

use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use ratatui::DefaultTerminal;
use tokio::sync::mpsc;

pub use app::{Action, App, LinkState, Msg};

use crate::client::{Connection, Dialer, Hello};

/// How many requests may wait for the connection task.
pub const REQUEST_QUEUE: usize = 1024;
/// How many events may wait for the screen.
pub const EVENT_QUEUE: usize = 4096;
/// The most events handled between two draws.
pub const EVENTS_PER_DRAW: usize = 512;

/// Runs the full-screen client until the user quits; the terminal is restored however it ends. A first
/// connection that fails is an error: reconnecting is only for a server that once answered.
/// `hello` is said again on each reconnect, with its password if it has one.
pub async fn run(addr: Dialer, hello: Hello) -> anyhow::Result<()> {
    let first = Connection::connect(&addr, hello.clone()).await?;
    let mut screen = terminal::enter()?;
    let result = event_loop(&mut screen, first, addr, hello).await;
    terminal::leave();
    result
}

async fn event_loop(screen: &mut DefaultTerminal, first: Connection, addr: Dialer, hello: Hello) -> anyhow::Result<()> {
    let mut app = App::new(hello.nick.clone().unwrap_or_else(|| first.welcome.nick.clone()));
    let size = screen.size()?;
    app.update(Msg::Resize(size.width, size.height), crate::clock::now());
    let (requests, request_rx) = mpsc::channel(REQUEST_QUEUE);
    let (msg_tx, mut msgs) = mpsc::channel(EVENT_QUEUE);
    let link = tokio::spawn(link::run(first, addr, hello, request_rx, msg_tx));
    let mut keys = EventStream::new();
    let mut terminate = terminate_signal()?;
    loop {
        screen.draw(|frame| {
            frame.render_widget(&app, frame.area());
            frame.set_cursor_position(view::cursor_position(&app, frame.area()));
        })?;
        let first = tokio::select! {
            key = keys.next() => match key {
                Some(Ok(event)) => from_terminal(event),
                Some(Err(_)) | None => Some(Msg::Terminate),
            },
            Some(msg) = msgs.recv() => Some(msg),
            _ = terminate.recv() => Some(Msg::Terminate),
        };
        let mut batch: Vec<Msg> = first.into_iter().collect();
        while batch.len() < EVENTS_PER_DRAW {
            match msgs.try_recv() {
                Ok(msg) => batch.push(msg),
                Err(_) => break,
            }
        }
        for msg in batch {
            for action in app.update(msg, crate::clock::now()) {
                match action {
                    Action::Send(request) => {
                        let _ = requests.try_send(request);
                    }
                    Action::Quit => {
                        drop(requests);
                        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), link).await;
                        return Ok(());
                    }
                }
            }
        }
    }
}

fn from_terminal(event: TermEvent) -> Option<Msg> {
    match event {
        TermEvent::Key(key) => Some(Msg::Key(key)),
        TermEvent::Paste(text) => Some(Msg::Paste(text)),
        TermEvent::Mouse(mouse) => Some(Msg::Mouse(mouse)),
        TermEvent::Resize(width, height) => Some(Msg::Resize(width, height)),
        TermEvent::FocusGained | TermEvent::FocusLost => None,
    }
}

#[cfg(unix)]
fn terminate_signal() -> std::io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
}
