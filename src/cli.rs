//! The command line: subcommands and flags. The doc comments are the help text.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::cidr::Exempt;
use crate::http::HeaderEdit;
use crate::names::{Nick, RoomName};
use crate::protocol::Password;
use crate::scheme::{Listener, Target};
use crate::store::{Retention, StoreOptions, SyncMode};

/// The address clients connect to and the server listens on when none is given.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8000";
/// The default cap on a message's size in bytes (1 MiB).
pub const DEFAULT_MAX_MESSAGE: usize = 1024 * 1024;
/// The default cap on clients connected at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// The default number of bytes of its own events (answers, direct messages, notices) that may wait
/// for one client, as encoded (8 MiB): more than the two largest direct messages one sender may send at
/// once, escaped six times over as JSON may.
pub const DEFAULT_MAX_QUEUED: usize = 8 * 1024 * 1024;
/// The default sustained rate of requests from one client, per second.
pub const DEFAULT_FLOOD_RATE: f64 = 8.0;
/// The default number of requests one client may send at once after a quiet spell.
pub const DEFAULT_FLOOD_BURST: f64 = 32.0;
/// The default sustained rate of bytes of requests from one client, per second (256 KiB).
pub const DEFAULT_FLOOD_BYTES: f64 = 256.0 * 1024.0;
/// The default number of bytes of a room's messages a client may leave unread before it is dropped as
/// too slow (16 MiB): a burst in a big room must not cost a reader that keeps up its place.
pub const DEFAULT_MAX_BACKLOG: usize = 16 * 1024 * 1024;
/// The default bytes all unfinished messages may hold together (256 MiB).
pub const DEFAULT_MAX_UNFINISHED: usize = 256 * 1024 * 1024;
/// The default time the rest of a message may take to arrive, in seconds.
pub const DEFAULT_FRAME_TIMEOUT_SECS: f64 = 30.0;
/// The default time a structured client may stay silent before it is pinged, in seconds.
pub const DEFAULT_PING_AFTER_SECS: f64 = 60.0;
/// The default time a pinged client has to answer, in seconds.
pub const DEFAULT_PING_TIMEOUT_SECS: f64 = 60.0;
/// The default cap on rooms at once.
pub const DEFAULT_MAX_ROOMS: usize = 10_000;
/// The default size above which a room keeps presence notices to the person concerned.
pub const DEFAULT_PRESENCE_LIMIT: usize = 100;
/// The default shortest time between two writes to one client, in milliseconds.
pub const DEFAULT_WRITE_INTERVAL_MS: u64 = 10;
/// The database file used when none is given.
pub const DEFAULT_DB: &str = "sockchat.db";
/// Days a message is kept by default: a year.
pub const DEFAULT_RETENTION_DAYS: u64 = 365;
/// Messages a room keeps by default.
pub const DEFAULT_RETENTION_MESSAGES: u64 = 1_000_000;
/// The default time a structured client has to say hello, in seconds.
pub const DEFAULT_HANDSHAKE_SECS: f64 = 10.0;
/// The default cap on connections open at once from one address (Ergo's).
pub const DEFAULT_MAX_CONNS_PER_IP: usize = 16;
/// The default cap on new connections from one address in a minute: one a second on average, in
/// bursts as large as a client that reconnects its whole set of windows.
pub const DEFAULT_MAX_CONN_RATE_PER_IP: usize = 60;
/// The addresses the per-IP limits leave alone by default: loopback, so local tests and benchmarks
/// are unaffected.
pub const DEFAULT_LIMITS_EXEMPT: &str = "127.0.0.0/8,::1";

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
    /// Join a chat server: full screen on a terminal; otherwise line mode, reading commands from stdin
    /// and printing every event.
    Join(JoinArgs),
    /// Send all of stdin as one message, and exit once the server has acknowledged it.
    Send(SendArgs),
    /// Fetch a URL with HTTP/1.1 (GET or HEAD), as curl does; the body goes to stdout.
    Get(GetArgs),
    /// Load a chat server (sockchat, an IRC server, ncat --chat) and measure deliveries and latency.
    ///
    /// The report counts deliveries: lost (expected, never arrived), duplicated, out of order (after a
    /// later message of the same sender) and foreign (a stamped message this run did not send: a
    /// leftover of an earlier run, or a server mixing up its streams).
    Bench(BenchArgs),
    /// Administer the accounts in a database file: create, passwd, delete, list, oper.
    Account(AccountArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Where to listen, as [SCHEME://]HOST:PORT; repeat for several (e.g. --listen 0.0.0.0:8000
    /// --listen [::]:8000 --listen chats://0.0.0.0:8443). SCHEME is chat (the default: plain text for
    /// nc and JSON lines for programs, told apart by the first byte), chats (the same over TLS), irc
    /// (the IRC client protocol, docs/irc.md), ircs (IRC over TLS), http (the chat page, its WebSocket
    /// at /ws, /metrics and /healthz) or https.
    #[arg(long, value_name = "[SCHEME://]ADDR", default_value = DEFAULT_ADDR)]
    pub listen: Vec<Listener>,
    /// PEM certificate chain (leaf first) for the TLS listeners; SIGHUP reloads it and --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// An origin whose pages may open the WebSocket of the http and https listeners, beside the
    /// server's own page (e.g. https://chat.example.org behind a proxy); repeat for several, or *
    /// for any page at all.
    #[arg(long, value_name = "ORIGIN")]
    pub web_origin: Vec<crate::server::AllowedOrigin>,
    /// Most connections open at once from one IP address (unless exempt); more are refused.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNS_PER_IP, value_parser = at_least_one)]
    pub max_conns_per_ip: usize,
    /// Most new connections from one IP address (unless exempt) in a minute; more are refused until
    /// the minute has passed.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONN_RATE_PER_IP, value_parser = at_least_one)]
    pub max_conn_rate_per_ip: usize,
    /// Addresses the per-IP limits leave alone: CIDR ranges separated by commas, or none (the limits
    /// apply to everyone), or all.
    #[arg(long, value_name = "CIDR,...|none|all", default_value = DEFAULT_LIMITS_EXEMPT)]
    pub limits_exempt: Exempt,
    /// Largest message, in bytes; longer ones are refused with an error.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_MESSAGE)]
    pub max_message: usize,
    /// Most clients connected at once; more are told the server is full.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Most rooms at once; asking to make another is refused (lobby is always there).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_ROOMS, value_parser = at_least_one)]
    pub max_rooms: usize,
    /// Most bytes of its own events (answers, direct messages, notices) waiting for one client, as
    /// encoded. A client stops being read while half of this waits; one that leaves direct messages
    /// unread past it is disconnected.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_QUEUED, value_parser = at_least_one)]
    pub max_queued: usize,
    /// Flood control: a client that sends past its budget is not read for a while (the operator is
    /// exempt).
    #[arg(long, value_name = "on|off", default_value = "on", value_parser = on_off, action = clap::ArgAction::Set)]
    pub flood_control: bool,
    /// Flood control: requests per second one client may send, sustained.
    #[arg(long, value_name = "PER_SEC", default_value_t = DEFAULT_FLOOD_RATE, value_parser = positive)]
    pub flood_rate: f64,
    /// Flood control: requests one client may send at once after a quiet spell.
    #[arg(long, value_name = "REQUESTS", default_value_t = DEFAULT_FLOOD_BURST, value_parser = at_least_one_request)]
    pub flood_burst: f64,
    /// Flood control: bytes per second one client may send, sustained; it may send twice
    /// --max-message at once after a quiet spell.
    #[arg(long, value_name = "BYTES_PER_SEC", default_value_t = DEFAULT_FLOOD_BYTES, value_parser = positive)]
    pub flood_bytes: f64,
    /// Most bytes of one room's messages a client may leave unread; a client that falls this far
    /// behind is disconnected.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BACKLOG, value_parser = at_least_one)]
    pub max_backlog: usize,
    /// Rooms with more members than this do not announce each join, part, quit and rename to everyone.
    #[arg(long, value_name = "MEMBERS", default_value_t = DEFAULT_PRESENCE_LIMIT)]
    pub presence_limit: usize,
    /// Milliseconds between two writes to one client, at least: messages that arrive meanwhile are
    /// sent together, which costs far fewer system calls under load; 0 writes each as it comes.
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_WRITE_INTERVAL_MS)]
    pub write_interval_ms: u64,
    /// Bytes that messages still arriving may hold together, beyond 64 KiB each (a large one takes its
    /// largest frame's share at once); a client whose share is not free is not read until others
    /// finish. At least the share of the largest structured frame.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_UNFINISHED)]
    pub max_unfinished: usize,
    /// Seconds the rest of a message may take to arrive once it has begun; a client that takes
    /// longer is disconnected.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_FRAME_TIMEOUT_SECS, value_parser = timeout_secs)]
    pub frame_timeout: f64,
    /// Seconds a structured client may stay silent before the server pings it.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_PING_AFTER_SECS, value_parser = timeout_secs)]
    pub ping_after: f64,
    /// Seconds a pinged structured client has to answer (any request) before it is disconnected.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_PING_TIMEOUT_SECS, value_parser = timeout_secs)]
    pub ping_timeout: f64,
    /// Seconds a client has, from connecting, to finish its TLS handshake and (if structured) its
    /// hello.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_HANDSHAKE_SECS, value_parser = timeout_secs)]
    pub handshake_timeout: f64,
    /// Read operator commands from stdin even when it is not a terminal (a pipe, say).
    #[arg(long, conflicts_with = "no_console")]
    pub console: bool,
    /// Never read stdin, even from a terminal (for running in the background).
    #[arg(long)]
    pub no_console: bool,
    /// The operator's nick in the chat; nobody else may take it, with or without the console.
    #[arg(long, value_name = "NICK", default_value = "server", value_parser = parse_operator_nick)]
    pub operator_nick: Nick,
    /// A password every client must give before it joins: IRC's PASS, the hello's "pass", or plain
    /// text's first line "/pass PASS" (docs/protocol.md, docs/irc.md).
    #[arg(long, value_name = "PASS", env = "SOCKCHAT_SERVER_PASSWORD", hide_env_values = true)]
    pub server_password: Option<String>,
    /// Append the log to FILE instead of stderr. Without it, a console on a terminal keeps the
    /// operator's typing clear: only warnings and the "listening on" line go to stderr.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// The database file keeping messages, rooms and topics, accounts and bans across restarts
    /// (SQLite, made if missing).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_DB, conflicts_with = "ephemeral")]
    pub db: PathBuf,
    /// Keep nothing on disk: history, accounts and bans last as long as the server (in memory).
    #[arg(long)]
    pub ephemeral: bool,
    /// How hard a commit tries to reach the disk before a message is acknowledged: normal survives
    /// the server being killed (the default: no fsync per commit); full also survives the machine
    /// losing power (an fsync per group commit).
    #[arg(long, value_name = "normal|full", default_value = "normal")]
    pub sync: SyncMode,
    /// Days a message is kept; older ones are deleted in the background (0 keeps them forever).
    #[arg(long, value_name = "DAYS", default_value_t = DEFAULT_RETENTION_DAYS)]
    pub retention_days: u64,
    /// Messages each room keeps, its newest; older ones are deleted in the background (0 keeps all).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RETENTION_MESSAGES)]
    pub retention_messages: u64,
    /// Largest the database file may grow, in bytes; past it new messages are refused as "the
    /// database is full" (0: as large as the disk allows).
    #[arg(long, value_name = "BYTES", default_value_t = 0)]
    pub db_max_bytes: u64,
}

impl ServeArgs {
    /// Where and how the server keeps its state.
    pub fn store_options(&self) -> StoreOptions {
        let days = Duration::from_secs(24 * 60 * 60);
        StoreOptions {
            path: (!self.ephemeral).then(|| self.db.clone()),
            sync: self.sync,
            retention: Retention {
                max_age: (self.retention_days > 0)
                    .then(|| days * u32::try_from(self.retention_days).unwrap_or(u32::MAX)),
                max_per_room: (self.retention_messages > 0).then_some(self.retention_messages),
            },
            max_bytes: (self.db_max_bytes > 0).then_some(self.db_max_bytes),
        }
    }

    /// Whether the operator console runs: given `--console`, or stdin is a terminal and not `--no-console`.
    pub fn console_runs(&self) -> bool {
        self.console || (!self.no_console && std::io::stdin().is_terminal())
    }
}

#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The server, as [SCHEME://]HOST:PORT: chat (the default) or chats (TLS).
    #[arg(value_name = "[SCHEME://]HOST:PORT", default_value = DEFAULT_ADDR)]
    pub addr: Target,
    #[command(flatten)]
    pub tls: ClientTlsArgs,
    /// The nick to ask for; the server picks one when it is missing or taken.
    #[arg(long, value_parser = parse_nick)]
    pub nick: Option<Nick>,
    /// The room to talk in, instead of lobby.
    #[arg(long, value_parser = parse_room)]
    pub room: Option<RoomName>,
    /// Use line mode even on a terminal.
    #[arg(long)]
    pub plain: bool,
    /// Log in to the account named by --nick with the password on the first line of FILE (kept off
    /// the command line, where others can read it).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

impl JoinArgs {
    /// The password in `--password-file`, if given: its first line.
    pub fn password(&self) -> anyhow::Result<Option<Password>> {
        let Some(path) = &self.password_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the password file {}: {e}", path.display()))?;
        let line = text.lines().next().unwrap_or_default();
        Ok(Some(Password(line.to_owned())))
    }
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The server, as [SCHEME://]HOST:PORT: chat (the default) or chats (TLS).
    #[arg(value_name = "[SCHEME://]HOST:PORT", default_value = DEFAULT_ADDR)]
    pub addr: Target,
    #[command(flatten)]
    pub tls: ClientTlsArgs,
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

/// How a chat client trusts a chats:// server.
#[derive(Debug, Args)]
pub struct ClientTlsArgs {
    /// For chats://, trust the certificates in this PEM file instead of the system's.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// For chats://, do not verify the server's certificate.
    #[arg(short = 'k', long)]
    pub insecure: bool,
}

impl From<ClientTlsArgs> for crate::http::TlsOptions {
    fn from(args: ClientTlsArgs) -> crate::http::TlsOptions {
        crate::http::TlsOptions {
            cacert: args.cacert,
            insecure: args.insecure,
        }
    }
}

/// curl's flags, as far as GET and HEAD need them. Exit codes are curl's (see README).
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The URL (http:// or https://; without a scheme, http://).
    pub url: String,
    /// Write the body to FILE (through FILE.part, renamed when complete) instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE", conflicts_with = "remote_name")]
    pub output: Option<PathBuf>,
    /// Write the body to a file named like the last path segment of the URL given (not a redirect's).
    #[arg(short = 'O', long)]
    pub remote_name: bool,
    /// Print the response head before the body.
    #[arg(short = 'i', long)]
    pub include: bool,
    /// Send HEAD and print the response head.
    #[arg(short = 'I', long)]
    pub head: bool,
    /// Show the request and response heads, and what happens, on stderr.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// No progress bar and no error messages.
    #[arg(short = 's', long)]
    pub silent: bool,
    /// With --silent, still show error messages.
    #[arg(short = 'S', long)]
    pub show_error: bool,
    /// Follow redirects.
    #[arg(short = 'L', long)]
    pub location: bool,
    /// The most redirects to follow.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_redirs: u32,
    /// Ask for a compressed response (gzip, deflate, br, zstd) and decompress it.
    #[arg(long)]
    pub compressed: bool,
    /// Basic authentication as USER:PASSWORD.
    #[arg(short = 'u', long, value_name = "USER:PASSWORD")]
    pub user: Option<String>,
    /// An extra header, "Name: value"; "Name:" removes a default one, "Name;" sends it empty.
    #[arg(short = 'H', long = "header", value_name = "HEADER", value_parser = parse_header)]
    pub headers: Vec<HeaderEdit>,
    /// The User-Agent to send.
    #[arg(short = 'A', long, value_name = "AGENT", default_value = concat!("sockchat/", env!("CARGO_PKG_VERSION")))]
    pub user_agent: String,
    /// The Referer to send.
    #[arg(short = 'e', long, value_name = "URL")]
    pub referer: Option<String>,
    /// Exit 22, without output, when the status is 400 or more.
    #[arg(short = 'f', long, conflicts_with = "fail_with_body")]
    pub fail: bool,
    /// Exit 22 when the status is 400 or more, after writing the body.
    #[arg(long)]
    pub fail_with_body: bool,
    /// The longest the whole transfer may take, in seconds.
    #[arg(short = 'm', long, value_name = "SECS", value_parser = parse_seconds)]
    pub max_time: Option<Duration>,
    /// The longest connecting may take, in seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub connect_timeout: Option<Duration>,
    /// Use IPv4 addresses only.
    #[arg(short = '4', long, conflicts_with = "ipv6")]
    pub ipv4: bool,
    /// Use IPv6 addresses only.
    #[arg(short = '6', long)]
    pub ipv6: bool,
    /// Go through this HTTP proxy ([http://][USER:PASS@]HOST[:PORT]); overrides http_proxy and https_proxy.
    #[arg(short = 'x', long, value_name = "PROXY")]
    pub proxy: Option<String>,
    /// Resume at byte OFFSET, or with "-" where the interrupted download (FILE.part) stopped.
    #[arg(short = 'C', long, value_name = "OFFSET", allow_hyphen_values = true)]
    pub continue_at: Option<String>,
    /// Retry this many times on a timeout or an HTTP 408, 429, 500, 502, 503 or 504.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retry: u32,
    /// Seconds between retries, instead of doubling from one second (or the server's Retry-After).
    #[arg(long, value_name = "SECS", value_parser = parse_seconds)]
    pub retry_delay: Option<Duration>,
    /// Trust the certificates in this PEM file instead of the system's.
    #[arg(long, value_name = "FILE")]
    pub cacert: Option<PathBuf>,
    /// Do not verify the server's certificate.
    #[arg(short = 'k', long)]
    pub insecure: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The server, as HOST:PORT.
    #[arg(default_value = DEFAULT_ADDR)]
    pub addr: String,
    /// Clients to connect.
    #[arg(short = 'c', long, default_value_t = 100)]
    pub clients: usize,
    /// Of those, how many join the room (the rest connect and idle); all by default.
    #[arg(long)]
    pub members: Option<usize>,
    /// Clients that send.
    #[arg(short = 's', long, default_value_t = 10)]
    pub senders: usize,
    /// Messages each sender sends.
    #[arg(short = 'm', long, default_value_t = 1000)]
    pub messages: u32,
    /// Payload bytes per message.
    #[arg(short = 'p', long, default_value_t = 64)]
    pub size: usize,
    /// Messages per second over all senders; as fast as possible without it.
    #[arg(short = 'r', long)]
    pub rate: Option<f64>,
    /// How to speak to the server.
    #[arg(long, value_enum, default_value = "structured")]
    pub proto: crate::bench::Proto,
    /// The room (channel, for IRC) to join.
    #[arg(long, default_value = "bench")]
    pub room: String,
    /// Plain protocol: a line each client sends first ({i} is its number), e.g. a username.
    #[arg(long)]
    pub plain_hello: Option<String>,
    /// Plain protocol: a client has joined once a line containing this arrives.
    #[arg(long)]
    pub plain_ready: Option<String>,
    /// Connections being set up at once.
    #[arg(long, default_value_t = 200)]
    pub connects: usize,
    /// The server's process id: report its memory per connection and CPU time. Memory per connection
    /// is the RSS growth while the clients connect, so it is right only against a freshly started
    /// server (an allocator reuses what earlier connections freed); the report says when it is not.
    #[arg(long)]
    pub pid: Option<u32>,
    /// Seconds allowed for connecting and joining.
    #[arg(long, default_value_t = 60.0)]
    pub join_timeout: f64,
    /// Seconds allowed, after sending starts, for everything to arrive.
    #[arg(long, default_value_t = 60.0)]
    pub run_timeout: f64,
    /// Seconds to wait after everyone has joined before sending (for servers with no join signal).
    #[arg(long, default_value_t = 0.0)]
    pub settle: f64,
    /// Number client nicks from here (to run several bench processes against one server).
    #[arg(long, default_value_t = 0)]
    pub first_client: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AccountArgs {
    #[command(subcommand)]
    pub action: AccountAction,
    /// The database file (a server may be running on it).
    #[arg(long, value_name = "FILE", default_value = DEFAULT_DB, global = true)]
    pub db: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum AccountAction {
    /// Create an account; the password is asked for on a terminal, or read as one line from stdin.
    Create {
        /// The account's name: the nick it owns.
        #[arg(value_parser = parse_nick)]
        name: Nick,
    },
    /// Change an account's password, read as for create.
    Passwd {
        /// The account's name: the nick it owns.
        #[arg(value_parser = parse_nick)]
        name: Nick,
    },
    /// Delete an account; its nick is free again, and its direct messages stay unreadable.
    Delete {
        /// The account's name: the nick it owns.
        #[arg(value_parser = parse_nick)]
        name: Nick,
    },
    /// List the accounts: name, operator or not, when created.
    List,
    /// Grant an account the operator's powers, or take them back with --revoke.
    Oper {
        /// The account's name: the nick it owns.
        #[arg(value_parser = parse_nick)]
        name: Nick,
        /// Take the operator's powers back instead.
        #[arg(long)]
        revoke: bool,
    },
}

fn parse_header(text: &str) -> Result<HeaderEdit, String> {
    HeaderEdit::parse(text)
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{text:?} is not a number of seconds"))
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse() {
        Ok(0) | Err(_) => Err("expected a whole number of at least 1".to_owned()),
        Ok(n) => Ok(n),
    }
}

fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err("expected a number above 0".to_owned()),
    }
}

/// A burst below one request would never let one through.
fn at_least_one_request(text: &str) -> Result<f64, String> {
    match positive(text)? {
        n if n >= 1.0 => Ok(n),
        _ => Err("expected at least 1".to_owned()),
    }
}

/// The longest any of the server's timeouts may be.
const MAX_TIMEOUT_SECS: f64 = 24.0 * 3600.0;

fn timeout_secs(text: &str) -> Result<f64, String> {
    match positive(text)? {
        n if n <= MAX_TIMEOUT_SECS => Ok(n),
        _ => Err(format!("expected at most {MAX_TIMEOUT_SECS} seconds (a day)")),
    }
}

fn on_off(text: &str) -> Result<bool, String> {
    match text {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err("expected on or off".to_owned()),
    }
}

/// The operator's nick may not look like one the server gives guests: they would collide.
fn parse_operator_nick(text: &str) -> Result<Nick, String> {
    let nick = parse_nick(text)?;
    if nick.is_guest_shaped() {
        return Err(format!(
            "{nick} looks like a nick the server gives guests; choose another"
        ));
    }
    Ok(nick)
}

fn parse_nick(text: &str) -> Result<Nick, String> {
    Nick::parse(text).map_err(|e| e.to_string())
}

fn parse_room(text: &str) -> Result<RoomName, String> {
    RoomName::parse(text).map_err(|e| e.to_string())
}
