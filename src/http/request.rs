//! The request head: method, target, and header fields, as bytes on the wire.

use base64::Engine as _;
use url::Url;

/// The methods `get` sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Head,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
        }
    }
}

/// A header the user gave with `-H`: curl's forms `Name: value`, `Name:` (remove), `Name;` (empty value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderEdit {
    Set(String, String),
    Remove(String),
}

impl HeaderEdit {
    pub fn parse(text: &str) -> Result<HeaderEdit, String> {
        if text.contains(['\r', '\n']) {
            return Err("a header must not contain a line break".to_owned());
        }
        let valid_name = |name: &str| !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if let Some(name) = text.strip_suffix(';').filter(|n| valid_name(n)) {
            return Ok(HeaderEdit::Set(name.to_owned(), String::new()));
        }
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?} is not NAME: VALUE"))?;
        if !valid_name(name) {
            return Err(format!("{name:?} is not a header name"));
        }
        let value = value.trim();
        Ok(if value.is_empty() {
            HeaderEdit::Remove(name.to_owned())
        } else {
            HeaderEdit::Set(name.to_owned(), value.to_owned())
        })
    }

    fn name(&self) -> &str {
        match self {
            HeaderEdit::Set(name, _) | HeaderEdit::Remove(name) => name,
        }
    }
}

/// Header fields in order, names compared without case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.remove(name);
        self.0.push((name.to_owned(), value.into()));
    }

    pub fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Applies `-H` edits; credentials (`Authorization`, `Cookie`) only where `trusted`.
    pub fn apply(&mut self, edits: &[HeaderEdit], trusted: bool) {
        for edit in edits {
            if !trusted && is_credential(edit.name()) {
                continue;
            }
            match edit {
                HeaderEdit::Set(name, value) => self.set(name, value.clone()),
                HeaderEdit::Remove(name) => self.remove(name),
            }
        }
    }
}

/// Header fields that carry credentials and so never follow a redirect to another origin.
pub fn is_credential(name: &str) -> bool {
    name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("cookie")
}

pub fn basic_auth(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// `host[:port]`, the port only when it is not the scheme's default; IPv6 in brackets.
pub fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// The request line's target: origin-form, or absolute-form for a plain-HTTP proxy (never with
/// userinfo or fragment).
pub fn target(url: &Url, absolute: bool) -> String {
    let path_and_query = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    if absolute {
        format!("{}://{}{path_and_query}", url.scheme(), authority(url))
    } else {
        path_and_query
    }
}

pub fn render(method: Method, target: &str, fields: &Fields) -> Vec<u8> {
    render_line(&format!("{} {target} HTTP/1.1", method.as_str()), fields)
}

/// A CONNECT request for a tunnel to `authority` (`host:port`).
pub fn render_connect(authority: &str, fields: &Fields) -> Vec<u8> {
    render_line(&format!("CONNECT {authority} HTTP/1.1"), fields)
}

fn render_line(request_line: &str, fields: &Fields) -> Vec<u8> {
    let mut head = format!("{request_line}\r\n");
    for (name, value) in &fields.0 {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_edits() {
        let set = |n: &str, v: &str| Ok(HeaderEdit::Set(n.to_owned(), v.to_owned()));
        let cases = [
            ("X-A: 1", set("X-A", "1")),
            ("X-A:   spaced  ", set("X-A", "spaced")),
            ("Accept:", Ok(HeaderEdit::Remove("Accept".to_owned()))),
            ("X-Empty;", set("X-Empty", "")),
            (
                "X-A: a\r\nInjected: 1",
                Err("a header must not contain a line break".to_owned()),
            ),
            ("no colon", Err("\"no colon\" is not NAME: VALUE".to_owned())),
            ("Bad Name: x", Err("\"Bad Name\" is not a header name".to_owned())),
        ];
        for (text, want) in cases {
            assert_eq!(HeaderEdit::parse(text), want, "{text}");
        }
    }

    #[test]
    fn targets_and_authorities() {
        let cases = [
            ("http://h/", "/", "http://h/", "h"),
            (
                "http://u:p@h:8080/a%20b?q=1#frag",
                "/a%20b?q=1",
                "http://h:8080/a%20b?q=1",
                "h:8080",
            ),
            ("http://[::1]:80/x", "/x", "http://[::1]/x", "[::1]"),
            ("https://h:443", "/", "https://h/", "h"),
        ];
        for (url, origin, absolute, host) in cases {
            let url = Url::parse(url).unwrap();
            assert_eq!(
                (
                    target(&url, false).as_str(),
                    target(&url, true).as_str(),
                    authority(&url).as_str()
                ),
                (origin, absolute, host)
            );
        }
    }

    #[test]
    fn credentials_stay_home() {
        let edits = [
            HeaderEdit::parse("Cookie: c=1").unwrap(),
            HeaderEdit::parse("X-Other: 2").unwrap(),
        ];
        let mut away = Fields::default();
        away.apply(&edits, false);
        assert_eq!(away.0, vec![("X-Other".to_owned(), "2".to_owned())]);
        assert_eq!(
            basic_auth("Aladdin", "open sesame"),
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }
}
