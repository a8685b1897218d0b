//! Following redirects: where the next request goes, with which method, and when to stop.

use std::collections::HashSet;

use url::Url;

use crate::http::failure::{Failure, Kind};
use crate::http::request::Method;

/// Where a redirect leads, if `status` is one.
pub fn is_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// The method after a redirect: 303 turns anything but HEAD into GET; 301 and 302 turn a non-GET into
/// GET as browsers do; 307 and 308 keep it. GET and HEAD are what `get` sends, so they stay.
pub fn next_method(status: u16, method: Method) -> Method {
    match (status, method) {
        (303, Method::Head) => Method::Head,
        (303, _) => Method::Get,
        (_, method) => method,
    }
}

/// The URL a `Location` leads to: absolute, or relative to `current` in any of its forms
/// (`/path`, `../up`, `?query`, `//host/path`); spaces and UTF-8 are percent-encoded.
pub fn resolve(current: &Url, location: &str) -> Result<Url, Failure> {
    let next = current.join(location.trim()).map_err(|e| {
        Failure::new(
            Kind::WeirdReply,
            format!("the redirect location {location:?} is not a URL: {e}"),
        )
    })?;
    match next.scheme() {
        "http" | "https" => Ok(next),
        other => Err(Failure::new(
            Kind::UnsupportedProtocol,
            format!("a redirect to {other}: is not followed"),
        )),
    }
}

/// Whether two URLs share an origin (scheme, host and port): credentials go only where they came from.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

/// The redirects taken so far, to stop at the limit or at a loop.
pub struct Trail {
    max: u32,
    seen: HashSet<(Method, String)>,
}

impl Trail {
    pub fn new(max: u32, first: &Url, method: Method) -> Trail {
        Trail {
            max,
            seen: HashSet::from([(method, first.as_str().to_owned())]),
        }
    }

    pub fn step(&mut self, next: &Url, method: Method) -> Result<(), Failure> {
        if self.seen.len() > self.max as usize {
            return Err(Failure::new(
                Kind::TooManyRedirects,
                format!("maximum ({}) redirects followed", self.max),
            ));
        }
        if !self.seen.insert((method, next.as_str().to_owned())) {
            return Err(Failure::new(
                Kind::TooManyRedirects,
                format!("redirect loop: {next} was already visited"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        let base = Url::parse("http://h:8080/a/b/c?x=1").unwrap();
        let cases = [
            ("http://other/x", "http://other/x"),
            ("/root", "http://h:8080/root"),
            ("sibling", "http://h:8080/a/b/sibling"),
            ("../up", "http://h:8080/a/up"),
            ("?y=2", "http://h:8080/a/b/c?y=2"),
            ("//elsewhere/p", "http://elsewhere/p"),
            ("/with space/é", "http://h:8080/with%20space/%C3%A9"),
            ("  /trimmed  ", "http://h:8080/trimmed"),
            ("https://h:8080/secure", "https://h:8080/secure"),
        ];
        for (location, want) in cases {
            assert_eq!(resolve(&base, location).unwrap().as_str(), want, "{location}");
        }
        assert_eq!(resolve(&base, "ftp://h/x").unwrap_err().kind, Kind::UnsupportedProtocol);
    }

    #[test]
    fn methods_and_origins() {
        assert_eq!(next_method(303, Method::Get), Method::Get);
        assert_eq!(next_method(303, Method::Head), Method::Head);
        assert_eq!(next_method(307, Method::Head), Method::Head);
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(same_origin(&u("http://h/a"), &u("http://h:80/b")));
        assert!(!same_origin(&u("http://h/a"), &u("https://h/a")));
        assert!(!same_origin(&u("http://h/a"), &u("http://h:81/a")));
        assert!(!same_origin(&u("http://h/a"), &u("http://g/a")));
    }

    #[test]
    fn limits_and_loops() {
        let u = |s: &str| Url::parse(s).unwrap();
        let mut trail = Trail::new(2, &u("http://h/0"), Method::Get);
        trail.step(&u("http://h/1"), Method::Get).unwrap();
        assert_eq!(
            trail.step(&u("http://h/0"), Method::Get).unwrap_err().message,
            "redirect loop: http://h/0 was already visited"
        );
        trail.step(&u("http://h/2"), Method::Get).unwrap();
        assert_eq!(
            trail.step(&u("http://h/3"), Method::Get).unwrap_err().message,
            "maximum (2) redirects followed"
        );
    }
}
