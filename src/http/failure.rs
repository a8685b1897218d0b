//! Why a transfer failed, and curl's exit code for each kind of failure.

use std::fmt;

/// The kinds of failure, each with the exit code curl gives it (`man curl`, EXIT CODES).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    UnsupportedProtocol = 1,
    BadUrl = 3,
    ProxyResolve = 5,
    Resolve = 6,
    Connect = 7,
    WeirdReply = 8,
    PartialBody = 18,
    HttpStatus = 22,
    Write = 23,
    Read = 26,
    Timeout = 28,
    RangeRefused = 33,
    Tls = 35,
    TooManyRedirects = 47,
    EmptyReply = 52,
    Receive = 56,
    Certificate = 60,
    BadEncoding = 61,
}

/// A failed transfer: what kind, and a sentence for the person who ran it.
#[derive(Debug)]
pub struct Failure {
    pub kind: Kind,
    pub message: String,
}

impl Failure {
    pub fn new(kind: Kind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }

    /// The process exit code curl would give.
    pub fn exit_code(&self) -> u8 {
        self.kind as u8
    }

    /// Failures that `--retry` tries again (curl's "transient" errors; HTTP statuses are judged apart).
    pub fn is_transient(&self) -> bool {
        self.kind == Kind::Timeout
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}) {}", self.exit_code(), self.message)
    }
}

impl std::error::Error for Failure {}

/// Carries a `Failure` through `std::io` APIs (a body reader's `read`), to be recovered by `from_io`.
pub fn into_io(failure: Failure) -> std::io::Error {
    std::io::Error::other(failure)
}

/// The `Failure` inside an I/O error, or one of `kind` made from it.
pub fn from_io(error: std::io::Error, kind: Kind, doing: &str) -> Failure {
    if error.get_ref().is_some_and(|inner| inner.is::<Failure>()) {
        let inner = error.into_inner().expect("checked above");
        return *inner.downcast::<Failure>().expect("checked above");
    }
    match error.kind() {
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
            Failure::new(Kind::Timeout, format!("timed out {doing}"))
        }
        _ => Failure::new(kind, format!("{doing}: {error}")),
    }
}
