//! Schemes: which protocol an address speaks and whether over TLS, for the server's `--listen`
//! (`Listener`: `chat`, `chats`, `irc`, `ircs`, `http`, `https`) and for the clients' server address (`Target`).

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// What runs on a connection once it is open (and, for a TLS scheme, once its handshake is done).
/// A new protocol is a variant here, its schemes below, and one module the server hands streams to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// Plain lines for nc and JSON lines for programs, told apart by the first byte.
    Chat,
    /// The IRC client protocol (docs/irc.md).
    Irc,
    /// HTTP/1.1: the chat page, `/ws` (the structured protocol over WebSocket), `/metrics`, `/healthz`.
    Http,
}

/// A protocol, with or without TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Chat,
    Chats,
    Irc,
    Ircs,
    Http,
    Https,
}

impl Scheme {
    /// Every scheme, in the order the help lists them.
    pub const ALL: [Scheme; 6] = [
        Scheme::Chat,
        Scheme::Chats,
        Scheme::Irc,
        Scheme::Ircs,
        Scheme::Http,
        Scheme::Https,
    ];
    /// The scheme of an address written without one.
    pub const DEFAULT: Scheme = Scheme::Chat;

    pub fn name(self) -> &'static str {
        match self {
            Scheme::Chat => "chat",
            Scheme::Chats => "chats",
            Scheme::Irc => "irc",
            Scheme::Ircs => "ircs",
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    pub fn protocol(self) -> Protocol {
        match self {
            Scheme::Chat | Scheme::Chats => Protocol::Chat,
            Scheme::Irc | Scheme::Ircs => Protocol::Irc,
            Scheme::Http | Scheme::Https => Protocol::Http,
        }
    }

    /// Whether the protocol runs inside TLS.
    pub fn tls(self) -> bool {
        match self {
            Scheme::Chat | Scheme::Irc | Scheme::Http => false,
            Scheme::Chats | Scheme::Ircs | Scheme::Https => true,
        }
    }

    fn parse(name: &str) -> Result<Scheme, String> {
        Scheme::ALL
            .into_iter()
            .find(|scheme| scheme.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                let known: Vec<&str> = Scheme::ALL.iter().map(|s| s.name()).collect();
                format!("unknown scheme {name:?}; expected one of {}", known.join(", "))
            })
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Splits `SCHEME://REST` into its scheme (the default when there is none) and the rest.
fn split_scheme(text: &str) -> Result<(Scheme, &str), String> {
    match text.split_once("://") {
        Some((name, rest)) => Ok((Scheme::parse(name)?, rest)),
        None => Ok((Scheme::DEFAULT, text)),
    }
}

/// One address the server listens on, and what it speaks there: `[SCHEME://]HOST:PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listener {
    pub scheme: Scheme,
    pub addr: SocketAddr,
}

impl FromStr for Listener {
    type Err = String;

    fn from_str(text: &str) -> Result<Listener, String> {
        let (scheme, rest) = split_scheme(text)?;
        let addr = rest
            .parse()
            .map_err(|_| format!("{rest:?} is not an IP address and port (0.0.0.0:8000, [::]:8000)"))?;
        Ok(Listener { scheme, addr })
    }
}

impl fmt::Display for Listener {
    /// The default scheme is left out, so a plain listener logs as the bare address it always did.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scheme == Scheme::DEFAULT {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}://{}", self.scheme, self.addr)
        }
    }
}

/// The server a client connects to: `[SCHEME://]HOST:PORT`, where HOST is a name or an address
/// (an IPv6 one in brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: Scheme,
    /// The host as written, without brackets: what TLS checks the certificate against.
    pub host: String,
    pub port: u16,
}

impl Target {
    /// `HOST:PORT` as the resolver takes it.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(text: &str) -> Result<Target, String> {
        let (scheme, rest) = split_scheme(text)?;
        if scheme.protocol() == Protocol::Http {
            return Err(format!(
                "{scheme}:// is the chat page, for a browser; join the server's chat port (chat:// or chats://)"
            ));
        }
        let bad = || format!("{rest:?} is not HOST:PORT");
        let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
        let host = match host.strip_prefix('[') {
            Some(bracketed) => bracketed.strip_suffix(']').ok_or_else(bad)?,
            None if host.contains(':') => return Err(bad()),
            None => host,
        };
        let port = port.parse().map_err(|_| bad())?;
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Target {
            scheme,
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scheme == Scheme::DEFAULT {
            f.write_str(&self.authority())
        } else {
            write!(f, "{}://{}", self.scheme, self.authority())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_parse_with_and_without_a_scheme() {
        // The text, and the scheme and address it means, or `None` for text that is refused.
        type Case = (&'static str, Option<(Scheme, &'static str)>);
        let cases: &[Case] = &[
            ("127.0.0.1:8000", Some((Scheme::Chat, "127.0.0.1:8000"))),
            ("chat://0.0.0.0:0", Some((Scheme::Chat, "0.0.0.0:0"))),
            ("chats://[::]:8443", Some((Scheme::Chats, "[::]:8443"))),
            ("CHATS://[::1]:1", Some((Scheme::Chats, "[::1]:1"))),
            ("irc://0.0.0.0:6667", Some((Scheme::Irc, "0.0.0.0:6667"))),
            ("ircs://[::1]:6697", Some((Scheme::Ircs, "[::1]:6697"))),
            ("gopher://0.0.0.0:70", None),
            ("chats://localhost:8000", None),
            ("0.0.0.0", None),
            ("", None),
            ("http://127.0.0.1:8080", Some((Scheme::Http, "127.0.0.1:8080"))),
            ("https://[::]:443", Some((Scheme::Https, "[::]:443"))),
        ];
        for (text, expected) in cases {
            let parsed = text.parse::<Listener>().ok().map(|l| (l.scheme, l.addr));
            let expected = expected.map(|(scheme, addr)| (scheme, addr.parse().unwrap()));
            assert_eq!(parsed, expected, "{text}");
        }
    }

    #[test]
    fn a_listener_shows_its_scheme_unless_it_is_the_default() {
        for (text, shown) in [
            ("chat://127.0.0.1:80", "127.0.0.1:80"),
            ("chats://[::1]:443", "chats://[::1]:443"),
        ] {
            assert_eq!(text.parse::<Listener>().unwrap().to_string(), shown);
        }
    }

    #[test]
    fn targets_parse_names_addresses_and_schemes() {
        type Case = (&'static str, Option<(Scheme, &'static str, u16)>);
        let cases: &[Case] = &[
            ("127.0.0.1:8000", Some((Scheme::Chat, "127.0.0.1", 8000))),
            (
                "chats://chat.example.org:8443",
                Some((Scheme::Chats, "chat.example.org", 8443)),
            ),
            ("chats://[::1]:9", Some((Scheme::Chats, "::1", 9))),
            ("localhost:1", Some((Scheme::Chat, "localhost", 1))),
            ("::1:9", None),
            ("[::1:9", None),
            ("host", None),
            (":80", None),
            ("host:99999", None),
            ("ftp://host:21", None),
            ("http://localhost:8080", None),
            ("https://chat.example.org:443", None),
        ];
        for (text, expected) in cases {
            let parsed = text.parse::<Target>().ok();
            let expected = expected.map(|(scheme, host, port)| Target {
                scheme,
                host: host.to_owned(),
                port,
            });
            assert_eq!(parsed, expected, "{text}");
        }
    }

    #[test]
    fn a_target_gives_back_an_authority_the_resolver_takes() {
        for (text, authority) in [("chats://[::1]:9", "[::1]:9"), ("h:1", "h:1")] {
            assert_eq!(text.parse::<Target>().unwrap().authority(), authority);
        }
    }
}
