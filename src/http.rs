//! `sockchat get`: an HTTP/1.1 client written on raw sockets. Crates parse URLs, status lines and
//! chunk sizes, and speak TLS; the exchange on the socket and the framing rules are ours.

pub mod body;
mod deadline;
mod decode;
mod dial;
mod exchange;
pub mod failure;
pub mod head;
mod output;
mod proxy;
mod redirect;
mod request;
pub mod tls;

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use url::Url;

pub use dial::Family;
pub use exchange::Trace;
pub use failure::{Failure, Kind};
pub use request::{HeaderEdit, Method};
pub use tls::TlsOptions;

use exchange::{Network, Response};
use head::Head;
use output::{Flow, Sink};
use request::Fields;

/// The buffer a body is copied through: small enough to stay in cache (measured: 64 KiB beats 256 KiB).
pub const COPY_BUFFER_BYTES: usize = 64 * 1024;
/// The longest wait between retries.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(600);

/// Everything `sockchat get` was asked to do.
#[derive(Debug, Clone)]
pub struct GetOptions {
    pub url: String,
    pub method: Method,
    pub headers: Vec<HeaderEdit>,
    pub user: Option<String>,
    pub user_agent: String,
    pub referer: Option<String>,
    pub follow: bool,
    pub max_redirects: u32,
    pub compressed: bool,
    pub fail: Fail,
    pub include_head: bool,
    pub output: Output,
    pub resume: Option<Resume>,
    pub retries: u32,
    pub retry_delay: Option<Duration>,
    pub connect_timeout: Option<Duration>,
    pub max_time: Option<Duration>,
    pub family: Family,
    pub proxy: Option<String>,
    pub tls: TlsOptions,
    pub trace: Trace,
    /// Show a progress bar (when writing to a file and stderr is a terminal).
    pub progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    /// Statuses >= 400 are output like any other.
    Never,
    /// `--fail`: no body, exit 22.
    Quietly,
    /// `--fail-with-body`: the body, then exit 22.
    WithBody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Stdout,
    File(PathBuf),
    /// `-O`: a file named after the URL.
    RemoteName,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    At(u64),
    /// `-C -`: wherever the interrupted download stopped.
    Auto,
}

/// Runs the transfer, retrying transient failures as `--retry` allows.
pub fn get(options: &GetOptions) -> Result<(), Failure> {
    let url = parse_url(&options.url)?;
    let mut attempt = 0;
    loop {
        match transfer(options, &url) {
            Err(Retryable { after, failure }) if attempt < options.retries => {
                attempt += 1;
                let delay = options.retry_delay.or(after).unwrap_or_else(|| backoff(attempt));
                let left = options.retries - attempt + 1;
                options.trace.warn(&format!(
                    "{}. Will retry in {:.1} seconds. {left} retries left.",
                    failure.message,
                    delay.as_secs_f64()
                ));
                std::thread::sleep(delay);
            }
            Err(Retryable { failure, .. }) => return Err(failure),
            Ok(result) => return result,
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(1u64 << attempt.saturating_sub(1).min(10)).min(MAX_RETRY_DELAY)
}

fn parse_url(text: &str) -> Result<Url, Failure> {
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let url = Url::parse(&with_scheme).map_err(|e| Failure::new(Kind::BadUrl, format!("bad URL {text:?}: {e}")))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(Failure::new(
            Kind::UnsupportedProtocol,
            format!("protocol \"{other}\" is not supported"),
        )),
    }
}

/// A failure that `--retry` may try again, with the wait the server asked for.
struct Retryable {
    after: Option<Duration>,
    failure: Failure,
}

/// One attempt: the request, the redirects it leads to, and the body of the last response.
fn transfer(options: &GetOptions, first: &Url) -> Result<Result<(), Failure>, Retryable> {
    let transient = |failure: Failure| match failure.is_transient() {
        true => Err(Retryable { after: None, failure }),
        false => Ok(Err(failure)),
    };
    let net = network(options);
    let mut sink = None;
    let (mut url, mut method) = (first.clone(), options.method);
    let mut trail = redirect::Trail::new(options.max_redirects, first, method);
    loop {
        let offset = match resume_offset(options, first) {
            Ok(offset) => offset,
            Err(failure) => return Ok(Err(failure)),
        };
        let fields = fields(options, first, &url, offset);
        let response = match exchange::exchange(&url, method, &fields, &net, options.trace) {
            Ok(response) => response,
            Err(failure) => return transient(failure),
        };
        let status = response.head.status;
        if options.include_head || method == Method::Head {
            let sink = match open_sink(&mut sink, options, first, 0) {
                Ok(sink) => sink,
                Err(failure) => return Ok(Err(failure)),
            };
            if let Err(failure) = sink.write(&head_text(&response.head)) {
                return Ok(Err(failure));
            }
        }
        let location = response.head.get("location").map(str::to_owned);
        if let (true, true, Some(location)) = (options.follow, redirect::is_redirect(status), location) {
            let next = redirect::resolve(&url, &location).and_then(|next| {
                let next_method = redirect::next_method(status, method);
                trail.step(&next, next_method).map(|()| (next, next_method))
            });
            match next {
                Ok((next, next_method)) => {
                    options.trace.info(&format!("following the redirect to {next}"));
                    (url, method) = (next, next_method);
                    continue;
                }
                Err(failure) => return Ok(Err(failure)),
            }
        }
        if matches!(status, 408 | 429 | 500 | 502 | 503 | 504) && options.retries > 0 {
            let after = response
                .head
                .get("retry-after")
                .and_then(|s| s.parse().ok())
                .map(Duration::from_secs);
            let failure = Failure::new(Kind::HttpStatus, format!("HTTP error {status}"));
            return Err(Retryable {
                after: after.map(|a| a.min(MAX_RETRY_DELAY)),
                failure,
            });
        }
        return Ok(finish(options, first, response, offset, sink));
    }
}

fn network(options: &GetOptions) -> Network {
    Network {
        family: options.family,
        connect_timeout: options.connect_timeout.unwrap_or(exchange::DEFAULT_CONNECT_TIMEOUT),
        deadline: options.max_time.map(|t| Instant::now() + t),
        proxy: options.proxy.clone(),
        proxy_env: proxy::ProxyEnv::from_env(),
        tls: options.tls.clone(),
        tls_config: std::cell::OnceCell::new(),
    }
}

/// The request's header fields for `url`, credentials only if it shares the first URL's origin.
fn fields(options: &GetOptions, first: &Url, url: &Url, offset: u64) -> Fields {
    let trusted = redirect::same_origin(first, url);
    let mut fields = Fields::default();
    fields.set("Host", request::authority(url));
    fields.set("User-Agent", options.user_agent.clone());
    fields.set("Accept", "*/*");
    if options.compressed {
        fields.set("Accept-Encoding", decode::ACCEPT_ENCODING);
    }
    if let Some(referer) = &options.referer {
        fields.set("Referer", referer.clone());
    }
    if offset > 0 {
        fields.set("Range", format!("bytes={offset}-"));
    }
    let from_url = (!url.username().is_empty()).then(|| {
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        (decode(url.username()), decode(url.password().unwrap_or("")))
    });
    let from_flag = options
        .user
        .as_ref()
        .filter(|_| trusted)
        .map(|user| match user.split_once(':') {
            Some((name, password)) => (name.to_owned(), password.to_owned()),
            None => (user.clone(), String::new()),
        });
    if let Some((name, password)) = from_flag.or(from_url) {
        fields.set("Authorization", request::basic_auth(&name, &password));
    }
    fields.apply(&options.headers, trusted);
    fields
}

/// Where a resumed download starts: `-C N`, or for `-C -` the size of the part file.
fn resume_offset(options: &GetOptions, given: &Url) -> Result<u64, Failure> {
    match options.resume {
        None => Ok(0),
        Some(Resume::At(offset)) => Ok(offset),
        Some(Resume::Auto) => match destination(options, given)? {
            Some(path) => Ok(std::fs::metadata(output::part_path(&path))
                .map(|m| m.len())
                .unwrap_or(0)),
            None => Ok(0),
        },
    }
}

/// The file to write, if not stdout. `-O` takes its name from the URL given, not from where redirects
/// led, as curl does: the name the user typed is the name they look for.
fn destination(options: &GetOptions, given: &Url) -> Result<Option<PathBuf>, Failure> {
    match &options.output {
        Output::Stdout => Ok(None),
        Output::File(path) => Ok(Some(path.clone())),
        Output::RemoteName => output::remote_name(given).map(Some),
    }
}

fn open_sink<'a>(
    sink: &'a mut Option<Sink>,
    options: &GetOptions,
    given: &Url,
    offset: u64,
) -> Result<&'a mut Sink, Failure> {
    if sink.is_none() {
        let opened = match destination(options, given)? {
            None => Sink::stdout(),
            Some(path) => {
                check_part(&path, offset)?;
                Sink::file(&path, offset)?
            }
        };
        *sink = Some(opened);
    }
    Ok(sink.as_mut().expect("opened above"))
}

/// Resuming at `offset` needs a part file at least that long.
fn check_part(path: &std::path::Path, offset: u64) -> Result<(), Failure> {
    if offset == 0 {
        return Ok(());
    }
    let part = output::part_path(path);
    let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    if have < offset {
        return Err(Failure::new(
            Kind::RangeRefused,
            format!("cannot resume at byte {offset}: {} holds {have} bytes", part.display()),
        ));
    }
    Ok(())
}

/// The last response: judge its status, then stream its body to the output.
fn finish(
    options: &GetOptions,
    given: &Url,
    response: Response,
    offset: u64,
    mut sink: Option<Sink>,
) -> Result<(), Failure> {
    let Response { head, body } = response;
    if offset > 0 {
        check_resumed(&head, offset)?;
    }
    let failed = head.status >= 400 && options.fail != Fail::Never;
    let status_failure = || {
        Failure::new(
            Kind::HttpStatus,
            format!("The requested URL returned error: {}", head.status),
        )
    };
    if failed && options.fail == Fail::Quietly {
        return Err(status_failure());
    }
    let sink_ref = open_sink(&mut sink, options, given, offset)?;
    let length = head.content_length().ok().flatten();
    let codings = Codings {
        transfer: head.transfer_codings(),
        content: if options.compressed {
            head.list("content-encoding").map(str::to_owned).collect()
        } else {
            Vec::new()
        },
    };
    let flow = copy_body(
        body,
        &codings,
        sink_ref,
        length.filter(|_| options.progress && codings.is_empty()),
        options.progress,
    )?;
    if flow == Flow::Continue {
        sink.take().map_or(Ok(Flow::Continue), Sink::finish)?;
    }
    if failed { Err(status_failure()) } else { Ok(()) }
}

/// A 206 that starts where we asked; anything else means the range was not honoured.
fn check_resumed(head: &Head, offset: u64) -> Result<(), Failure> {
    let refused = |why: String| Failure::new(Kind::RangeRefused, why);
    match head.status {
        206 => match head.get("content-range") {
            Some(range) if range.starts_with(&format!("bytes {offset}-")) => Ok(()),
            other => Err(refused(format!(
                "the server answered the range from byte {offset} with {other:?}; cannot resume"
            ))),
        },
        416 => Err(refused(format!(
            "the server cannot send from byte {offset} (416 Range Not Satisfiable)"
        ))),
        status => Err(refused(format!(
            "the server ignored the range (status {status}); cannot resume"
        ))),
    }
}

/// The codings to undo on the body, each in the order they were applied.
struct Codings {
    transfer: Vec<String>,
    content: Vec<String>,
}

impl Codings {
    fn is_empty(&self) -> bool {
        self.transfer.is_empty() && self.content.is_empty()
    }
}

fn copy_body(
    body: exchange::BodyReader,
    codings: &Codings,
    sink: &mut Sink,
    length: Option<u64>,
    progress: bool,
) -> Result<Flow, Failure> {
    let decoding = !codings.is_empty();
    // Transfer codings were applied last, so they come off first.
    let reader = decode::decoded(decode::Layer::Transfer, &codings.transfer, Box::new(body))?;
    let mut reader = decode::decoded(decode::Layer::Content, &codings.content, reader)?;
    let bar = progress.then(|| output::progress(length));
    let mut buf = vec![0u8; COPY_BUFFER_BYTES];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let kind = if decoding { Kind::BadEncoding } else { Kind::Receive };
                return Err(failure::from_io(e, kind, "reading the body"));
            }
        };
        if n == 0 {
            break;
        }
        if let Some(bar) = &bar {
            bar.inc(n as u64);
        }
        if sink.write(&buf[..n])? == Flow::ReaderGone {
            return Ok(Flow::ReaderGone);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(Flow::Continue)
}

/// A head as curl's `-i` prints it.
fn head_text(head: &Head) -> Vec<u8> {
    let mut text = format!("HTTP/1.{} {} {}\r\n", head.minor_version, head.status, head.reason);
    for (name, value) in &head.headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.into_bytes()
}
