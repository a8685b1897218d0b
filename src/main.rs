//! The `sockchat` binary: parse the command line, set up logging, run one subcommand, choose the exit code.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use sockchat::cli::{AccountArgs, BenchArgs, Cli, GetArgs, JoinArgs, SendArgs, ServeArgs, Subcommands};
use sockchat::client::send::{Destination, send};
use sockchat::client::{Connection, Dialer, Hello, line, tui};
use sockchat::http;
use sockchat::names::Nick;
use sockchat::server::{
    EdgeLimits, FloodPolicy, Limits, OriginPolicy, PerIpLimits, Server, ServerConfig, TlsFiles, budget_for_frame,
};
use sockchat::transport::WireMode;

/// How long the runtime may take to stop once a subcommand is done (stdin readers never finish).
const RUNTIME_STOP: Duration = Duration::from_millis(100);

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logging(&cli.command) {
        return fail(&e);
    }
    if let Subcommands::Get(args) = cli.command {
        return get(args);
    }
    if let Subcommands::Account(args) = cli.command {
        return account(args);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => return fail(&anyhow::Error::new(e).context("cannot start the async runtime")),
    };
    let result = runtime.block_on(run(cli.command));
    runtime.shutdown_timeout(RUNTIME_STOP);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

/// What a console on a terminal lets through to stderr.
const CONSOLE_LOG_FILTER: &str = "warn,sockchat::server::listening=info";

/// Logs go to stderr, or to `--log-file`. A console on a terminal shares the terminal with stderr, so
/// there, unless `RUST_LOG` says otherwise, only warnings and the listening address are logged: a
/// log line in the middle of what the operator types would garble it.
fn init_logging(command: &Subcommands) -> anyhow::Result<()> {
    let (default, log_file) = match command {
        Subcommands::Serve(args) if args.log_file.is_some() => ("info", args.log_file.clone()),
        // Only where the logs share the console's terminal are they cut down; stderr sent to a file keeps them all.
        Subcommands::Serve(args)
            if args.console_runs() && std::io::stdin().is_terminal() && std::io::stderr().is_terminal() =>
        {
            (CONSOLE_LOG_FILTER, None)
        }
        Subcommands::Serve(_) => ("info", None),
        _ => ("warn", None),
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Where the console shares the terminal, lines short enough for it.
    let targets = default != CONSOLE_LOG_FILTER;
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_target(targets);
    match log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| anyhow::anyhow!("cannot open the log file {}: {e}", path.display()))?;
            logs.with_writer(std::sync::Mutex::new(file)).with_ansi(false).init();
        }
        None => logs
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .init(),
    }
    Ok(())
}

async fn run(command: Subcommands) -> anyhow::Result<()> {
    match command {
        Subcommands::Serve(args) => serve(args).await,
        Subcommands::Join(args) => join(args).await,
        Subcommands::Send(args) => send_stdin(args).await,
        Subcommands::Get(_) => unreachable!("get runs without the async runtime"),
        Subcommands::Bench(args) => bench(args).await,
        Subcommands::Account(_) => unreachable!("account runs without the async runtime"),
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let console = args.console_runs();
    let seconds = |s: f64, flag: &str| {
        Duration::try_from_secs_f64(s).map_err(|_| anyhow::anyhow!("{flag} must be a number of seconds"))
    };
    let handshake_timeout = seconds(args.handshake_timeout, "--handshake-timeout")?;
    let frame_timeout = seconds(args.frame_timeout, "--frame-timeout")?;
    let least = budget_for_frame(WireMode::Json.max_frame_bytes(args.max_message));
    if args.max_unfinished < least {
        anyhow::bail!("--max-unfinished must be at least {least} bytes: what the largest frame takes of it");
    }
    let store = args.store_options();
    let config = ServerConfig {
        store,
        web_origins: OriginPolicy { also: args.web_origin },
        listen: args.listen,
        tls: match (args.tls_cert, args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
            _ => None,
        },
        edge: EdgeLimits {
            per_ip: PerIpLimits {
                max_open: args.max_conns_per_ip,
                max_new_per_window: args.max_conn_rate_per_ip,
            },
            exempt: args.limits_exempt,
        },
        max_connections: args.max_connections,
        console,
        operator_nick: args.operator_nick,
        server_password: args.server_password,
        max_rooms: args.max_rooms,
        limits: Limits {
            max_message: args.max_message,
            max_queued: args.max_queued,
            max_backlog: args.max_backlog,
            handshake_timeout,
            presence_limit: args.presence_limit,
            write_interval: Duration::from_millis(args.write_interval_ms),
            flood: args.flood_control.then_some(FloodPolicy {
                requests_per_sec: args.flood_rate,
                burst_requests: args.flood_burst,
                bytes_per_sec: args.flood_bytes,
                burst_bytes: 2.0 * args.max_message as f64,
            }),
            max_unfinished: args.max_unfinished,
            frame_timeout,
            ping_after: seconds(args.ping_after, "--ping-after")?,
            ping_timeout: seconds(args.ping_timeout, "--ping-timeout")?,
        },
    };
    let server = Server::bind(config).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    server.run(shutdown).await
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    shutdown.cancel();
}

async fn join(args: JoinArgs) -> anyhow::Result<()> {
    let password = args.password()?;
    let dialer = Dialer::new(args.addr, &args.tls.into())?;
    if !args.plain && std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
        let nick = args
            .nick
            .or_else(|| std::env::var("USER").ok().and_then(|u| Nick::parse(&u).ok()));
        let nick = nick.unwrap_or_else(|| Nick::parse("guest").expect("a valid nick"));
        let hello = Hello {
            nick: Some(nick),
            room: args.room,
            password,
        };
        return tui::run(dialer, hello).await;
    }
    let hello = Hello {
        nick: args.nick,
        room: args.room,
        password,
    };
    let connection = Connection::connect(&dialer, hello).await?;
    line::run(connection, tokio::io::stdin(), tokio::io::stdout()).await
}

async fn send_stdin(args: SendArgs) -> anyhow::Result<()> {
    let to = match args.to {
        Some(nick) => Destination::Nick(nick),
        None => Destination::Room(args.room),
    };
    let dialer = Dialer::new(args.addr, &args.tls.into())?;
    send(&dialer, args.nick, to, tokio::io::stdin()).await
}

/// `account` works on the database file directly: no runtime.
fn account(args: AccountArgs) -> ExitCode {
    match sockchat::store::admin::run(args) {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

/// `get` is one blocking transfer: no runtime. Exit codes are curl's.
fn get(args: GetArgs) -> ExitCode {
    let quiet_errors = args.silent && !args.show_error;
    let options = match get_options(args) {
        Ok(options) => options,
        Err(e) => return fail(&e),
    };
    match http::get(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !quiet_errors {
                eprintln!("sockchat: {failure}");
            }
            ExitCode::from(failure.exit_code())
        }
    }
}

fn get_options(args: GetArgs) -> anyhow::Result<http::GetOptions> {
    let resume = match args.continue_at.as_deref() {
        None => None,
        Some("-") => Some(http::Resume::Auto),
        Some(n) => Some(http::Resume::At(
            n.parse().map_err(|_| anyhow::anyhow!("-C takes a byte offset or -"))?,
        )),
    };
    let output = match (args.output, args.remote_name) {
        (Some(path), _) => http::Output::File(path),
        (None, true) => http::Output::RemoteName,
        (None, false) => http::Output::Stdout,
    };
    let to_file = output != http::Output::Stdout;
    Ok(http::GetOptions {
        url: args.url,
        method: if args.head {
            http::Method::Head
        } else {
            http::Method::Get
        },
        headers: args.headers,
        user: args.user,
        user_agent: args.user_agent,
        referer: args.referer,
        follow: args.location,
        max_redirects: args.max_redirs,
        compressed: args.compressed,
        fail: match (args.fail, args.fail_with_body) {
            (true, _) => http::Fail::Quietly,
            (_, true) => http::Fail::WithBody,
            _ => http::Fail::Never,
        },
        include_head: args.include,
        output,
        resume,
        retries: args.retry,
        retry_delay: args.retry_delay,
        connect_timeout: args.connect_timeout,
        max_time: args.max_time,
        family: match (args.ipv4, args.ipv6) {
            (true, _) => http::Family::V4,
            (_, true) => http::Family::V6,
            _ => http::Family::Any,
        },
        proxy: args.proxy,
        tls: http::TlsOptions {
            cacert: args.cacert,
            insecure: args.insecure,
        },
        trace: http::Trace {
            verbose: args.verbose,
            silent: args.silent,
        },
        progress: to_file && !args.silent && std::io::stderr().is_terminal(),
    })
}

async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let seconds = |s: f64, flag: &str| {
        Duration::try_from_secs_f64(s).map_err(|_| anyhow::anyhow!("{flag} must be a number of seconds"))
    };
    let options = sockchat::bench::BenchOptions {
        addr: args.addr,
        clients: args.clients,
        members: args.members,
        senders: args.senders,
        messages: args.messages,
        size: args.size,
        rate: args.rate,
        dialect: sockchat::bench::Dialect {
            proto: args.proto,
            room: args.room,
            plain_hello: args.plain_hello,
            plain_ready: args.plain_ready,
        },
        connects_in_flight: args.connects,
        pid: args.pid,
        join_timeout: seconds(args.join_timeout, "--join-timeout")?,
        run_timeout: seconds(args.run_timeout, "--run-timeout")?,
        settle: seconds(args.settle, "--settle")?,
        first_client: args.first_client,
        progress: !args.json && std::io::stderr().is_terminal(),
    };
    let report = sockchat::bench::run(options).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.text());
    }
    Ok(())
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The one place errors are printed.
fn fail(error: &anyhow::Error) -> ExitCode {
    eprintln!("sockchat: {error:#}");
    ExitCode::FAILURE
}
