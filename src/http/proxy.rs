//! Choosing a proxy (`-x`, or `http_proxy`, `https_proxy`, `all_proxy` and `no_proxy` as curl reads
//! them) and opening a tunnel through one with CONNECT.

use url::Url;

use crate::http::failure::{Failure, Kind};

/// A proxy to go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub host: String,
    pub port: u16,
    /// `user:password` from the proxy URL, for Proxy-Authorization.
    pub credentials: Option<(String, String)>,
}

/// The environment variables that matter, read once.
#[derive(Debug, Clone, Default)]
pub struct ProxyEnv {
    pub http_proxy: Option<String>,
    pub https_proxy: Option<String>,
    pub all_proxy: Option<String>,
    pub no_proxy: Option<String>,
}

impl ProxyEnv {
    /// As curl reads them: `http_proxy` only in lower case (a CGI server sets `HTTP_PROXY` from a
    /// request header), the others in either case.
    pub fn from_env() -> ProxyEnv {
        let either = |name: &str| {
            std::env::var(name)
                .or_else(|_| std::env::var(name.to_ascii_uppercase()))
                .ok()
        };
        ProxyEnv {
            http_proxy: std::env::var("http_proxy").ok(),
            https_proxy: either("https_proxy"),
            all_proxy: either("all_proxy"),
            no_proxy: either("no_proxy"),
        }
    }
}

/// The proxy for `target`: the explicit one if given, else the environment's, unless `no_proxy` says not.
pub fn choose(target: &Url, explicit: Option<&str>, env: &ProxyEnv) -> Result<Option<Proxy>, Failure> {
    let host = target.host_str().unwrap_or("");
    if env.no_proxy.as_deref().is_some_and(|list| bypasses(list, host)) {
        return Ok(None);
    }
    let from_env = match target.scheme() {
        "https" => env.https_proxy.as_deref(),
        _ => env.http_proxy.as_deref(),
    };
    match explicit
        .or(from_env)
        .or(env.all_proxy.as_deref())
        .filter(|p| !p.is_empty())
    {
        Some(spec) => parse(spec).map(Some),
        None => Ok(None),
    }
}

/// `host:port`, `http://[user:pass@]host[:port]`; only plain HTTP proxies.
pub fn parse(spec: &str) -> Result<Proxy, Failure> {
    let with_scheme = if spec.contains("://") {
        spec.to_owned()
    } else {
        format!("http://{spec}")
    };
    let bad = |why: &str| Failure::new(Kind::ProxyResolve, format!("cannot use the proxy {spec}: {why}"));
    let url = Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "http" {
        return Err(bad("only http:// proxies are supported"));
    }
    let host = url.host_str().ok_or_else(|| bad("no host"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let credentials =
        (!url.username().is_empty()).then(|| (decode(url.username()), decode(url.password().unwrap_or(""))));
    Ok(Proxy {
        host,
        port: url.port().unwrap_or(1080),
        credentials,
    })
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// `no_proxy`: `*`, or names that match the host exactly or as a domain suffix.
fn bypasses(list: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    list.split(',')
        .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .any(|entry| entry == "*" || host == entry || host.ends_with(&format!(".{entry}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(http: Option<&str>, https: Option<&str>, no_proxy: Option<&str>) -> ProxyEnv {
        ProxyEnv {
            http_proxy: http.map(str::to_owned),
            https_proxy: https.map(str::to_owned),
            all_proxy: None,
            no_proxy: no_proxy.map(str::to_owned),
        }
    }

    #[test]
    fn which_proxy() {
        let proxy = |host: &str, port| {
            Some(Proxy {
                host: host.to_owned(),
                port,
                credentials: None,
            })
        };
        let cases = [
            (
                "http://example.com/",
                None,
                env(Some("p:3128"), None, None),
                proxy("p", 3128),
            ),
            ("https://example.com/", None, env(Some("p:3128"), None, None), None),
            (
                "https://example.com/",
                None,
                env(None, Some("http://s:8080"), None),
                proxy("s", 8080),
            ),
            (
                "http://example.com/",
                Some("x:1"),
                env(Some("p:3128"), None, None),
                proxy("x", 1),
            ),
            (
                "http://example.com/",
                None,
                env(Some("p"), None, None),
                proxy("p", 1080),
            ),
            (
                "http://a.example.com/",
                None,
                env(Some("p:1"), None, Some("example.com")),
                None,
            ),
            (
                "http://example.com/",
                None,
                env(Some("p:1"), None, Some("other.org, .example.com")),
                None,
            ),
            (
                "http://notexample.com/",
                None,
                env(Some("p:1"), None, Some("example.com")),
                proxy("p", 1),
            ),
            ("http://[::1]:8/", None, env(Some("p:1"), None, Some("::1")), None),
            ("http://h/", None, env(Some("p:1"), None, Some("*")), None),
            ("http://h/", None, env(Some(""), None, None), None),
        ];
        for (url, explicit, env, want) in cases {
            let got = choose(&Url::parse(url).unwrap(), explicit, &env).unwrap();
            assert_eq!(got, want, "{url} {env:?}");
        }
    }

    #[test]
    fn proxy_urls() {
        let p = parse("http://us%40r:p%3Ass@[::1]:3128").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("::1", 3128));
        assert_eq!(p.credentials, Some(("us@r".to_owned(), "p:ss".to_owned())));
        assert_eq!(
            parse("socks5://h:1").unwrap_err().message,
            "cannot use the proxy socks5://h:1: only http:// proxies are supported"
        );
    }
}
