//! The command line: subcommands and flags. The doc comments are the help text.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};

use crate::names::{Nick, RoomName};

/// The address clients connect to and the server listens on when none is given.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8000";
/// The default cap on a message's size in bytes (1 MiB).
pub const DEFAULT_MAX_MESSAGE: usize = 1024 * 1024;
/// The default cap on clients connected at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// The default number of events that may wait for one client before it is dropped as too slow.
pub const DEFAULT_MAX_QUEUED: usize = 4096;
/// The default time a structured client has to say hello, in seconds.
pub const DEFAULT_HANDSHAKE_SECS: f64 = 10.0;

/// A chat system on plain sockets: a server anyone can join with nc, and its clients.
#[derive(Debug, Parser)]
#[command(name = "sockchat", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Subcommands,
}

#[derive(Debug, Subcommand)]
pub enum Subcommands {
    /// Run a chat server (join it with `nc 127.0.0.1 8000` or `sockchat join`).
    Serve(ServeArgs),
    /// Join a chat server: line mode reads commands from stdin and prints every event.
    Join(JoinArgs),
    /// Send all of stdin as one message, and exit once the server has acknowledged it.
    Send(SendArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on; repeat for several (e.g. --listen 0.0.0.0:8000 --listen [::]:8000).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_ADDR)]
    pub listen: Vec<SocketAddr>,
    /// Largest message, in bytes; longer ones are refused with an error.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_MESSAGE)]
    pub max_message: usize,
    /// Most clients connected at once; more are told the server is full.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Most events waiting for one client; a client that falls this far behind is disconnected.
    #[arg(long, value_name = "EVENTS", default_value_t = DEFAULT_MAX_QUEUED, value_parser = at_least_one)]
    pub max_queued: usize,
    /// Seconds a structured client has, from connecting, to finish its hello.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_HANDSHAKE_SECS)]
    pub handshake_timeout: f64,
    /// Read operator commands from stdin even when it is not a terminal (a pipe, say).
    #[arg(long, conflicts_with = "no_console")]
    pub console: bool,
    /// Never read stdin, even from a terminal (for running in the background).
    #[arg(long)]
    pub no_console: bool,
    /// The operator's nick in the chat.
    #[arg(long, value_name = "NICK", default_value = "server", value_parser = parse_nick)]
    pub operator_nick: Nick,
}

#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The server, as HOST:PORT.
    #[arg(default_value = DEFAULT_ADDR)]
    pub addr: String,
    /// The nick to ask for; the server picks one when it is missing or taken.
    #[arg(long, value_parser = parse_nick)]
    pub nick: Option<Nick>,
    /// The room to talk in, instead of lobby.
    #[arg(long, value_parser = parse_room)]
    pub room: Option<RoomName>,
    /// Use line mode even on a terminal.
    #[arg(long)]
    pub plain: bool,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The server, as HOST:PORT.
    #[arg(default_value = DEFAULT_ADDR)]
    pub addr: String,
    /// The nick to send as.
    #[arg(long, value_parser = parse_nick)]
    pub nick: Option<Nick>,
    /// The room to send to, instead of lobby.
    #[arg(long, value_parser = parse_room, conflicts_with = "to")]
    pub room: Option<RoomName>,
    /// Send directly to this nick instead of a room.
    #[arg(long, value_parser = parse_nick)]
    pub to: Option<Nick>,
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse() {
        Ok(0) | Err(_) => Err("expected a whole number of at least 1".to_owned()),
        Ok(n) => Ok(n),
    }
}

fn parse_nick(text: &str) -> Result<Nick, String> {
    Nick::parse(text).map_err(|e| e.to_string())
}

fn parse_room(text: &str) -> Result<RoomName, String> {
    RoomName::parse(text).map_err(|e| e.to_string())
}
