//! Which pages may open the WebSocket: a browser names the page a script came from in `Origin`, so
//! a page elsewhere cannot chat as the person whose browser it runs in. Pure.

use std::fmt;
use std::str::FromStr;

/// An origin a page may come from: `*` (any), or `SCHEME://HOST[:PORT]` for http and https.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowedOrigin {
    Any,
    /// As a browser writes it: lower case, without a default port.
    Exact(String),
}

impl FromStr for AllowedOrigin {
    type Err = String;

    fn from_str(text: &str) -> Result<AllowedOrigin, String> {
        if text == "*" {
            return Ok(AllowedOrigin::Any);
        }
        let bad = || format!("{text:?} is not an origin like https://chat.example.org or http://localhost:8080, nor *");
        let url = url::Url::parse(text).map_err(|_| bad())?;
        let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
        if !matches!(url.scheme(), "http" | "https") || !bare || url.host().is_none() {
            return Err(bad());
        }
        Ok(AllowedOrigin::Exact(url.origin().ascii_serialization()))
    }
}

impl fmt::Display for AllowedOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowedOrigin::Any => f.write_str("*"),
            AllowedOrigin::Exact(origin) => f.write_str(origin),
        }
    }
}

/// The page's own origin is always allowed; `--web-origin` adds others.
#[derive(Debug, Clone, Default)]
pub struct OriginPolicy {
    pub also: Vec<AllowedOrigin>,
}

impl OriginPolicy {
    /// Whether a request with this `Origin` (none from programs that are not browsers, which may
    /// send anything anyway) to a listener reached as `host` (its `Host` header) may open a socket.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>, secure: bool) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        let scheme = if secure { "https" } else { "http" };
        let own = host.map(|host| without_default_port(&format!("{scheme}://{}", host.to_ascii_lowercase()), secure));
        if own.as_deref() == Some(without_default_port(&origin, secure).as_str()) {
            return true;
        }
        self.also.iter().any(|allowed| match allowed {
            AllowedOrigin::Any => true,
            AllowedOrigin::Exact(exact) => *exact == origin,
        })
    }
}

fn without_default_port(origin: &str, secure: bool) -> String {
    let default = if secure { ":443" } else { ":80" };
    origin.strip_suffix(default).unwrap_or(origin).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_allowed_when_they_are_the_pages_own_or_listed() {
        // Origin, Host, whether over TLS, the --web-origin list, and whether it is let in.
        type Case = (
            Option<&'static str>,
            Option<&'static str>,
            bool,
            &'static [&'static str],
            bool,
        );
        let cases: &[Case] = &[
            (None, Some("x:1"), false, &[], true),
            (Some("http://127.0.0.1:8080"), Some("127.0.0.1:8080"), false, &[], true),
            (
                Some("HTTP://Chat.Example.org"),
                Some("chat.example.org:80"),
                false,
                &[],
                true,
            ),
            (
                Some("https://chat.example.org"),
                Some("chat.example.org"),
                true,
                &[],
                true,
            ),
            (
                Some("http://chat.example.org"),
                Some("chat.example.org"),
                true,
                &[],
                false,
            ),
            (Some("https://evil.example"), Some("chat.example.org"), true, &[], false),
            (Some("http://127.0.0.1:8081"), Some("127.0.0.1:8080"), false, &[], false),
            (Some("https://evil.example"), None, true, &[], false),
            (Some("null"), Some("chat.example.org"), false, &[], false),
            (
                Some("https://app.example.org"),
                Some("10.0.0.1:8080"),
                false,
                &["https://app.example.org"],
                true,
            ),
            (Some("https://a.example"), Some("b.example"), false, &["*"], true),
        ];
        for &(origin, host, secure, also, allowed) in cases {
            let policy = OriginPolicy {
                also: also.iter().map(|o| o.parse().unwrap()).collect(),
            };
            assert_eq!(policy.allows(origin, host, secure), allowed, "{origin:?} at {host:?}");
        }
    }

    #[test]
    fn listed_origins_parse_as_browsers_write_them() {
        let cases: &[(&str, Option<&str>)] = &[
            ("*", Some("*")),
            ("https://Chat.Example.org", Some("https://chat.example.org")),
            ("https://chat.example.org:443", Some("https://chat.example.org")),
            ("http://localhost:8080/", Some("http://localhost:8080")),
            ("https://chat.example.org/page", None),
            ("ftp://chat.example.org", None),
            ("chat.example.org", None),
            ("", None),
        ];
        for &(text, expected) in cases {
            let parsed = text.parse::<AllowedOrigin>().ok().map(|o| o.to_string());
            assert_eq!(parsed.as_deref(), expected, "{text}");
        }
    }
}
