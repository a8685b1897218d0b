//! A browser or curl pointed at a chat port: its request line would be chat in the lobby, so it is
//! answered with an HTTP 400 that names the web listener (if there is one) and closed, and nothing
//! reaches a room. Pure but for writing the answer.

use std::fmt::Write as _;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::scheme::{Listener, Scheme};

/// How much of a plain connection's first bytes are looked at for a request line.
pub const STRAY_PEEK_BYTES: usize = 2048;
/// How long writing the answer, and then reading what the client still sends (so that closing
/// with unread input does not reset the connection and lose the answer), may take.
const ANSWER_GRACE: Duration = Duration::from_secs(1);

/// Whether `start` opens with an HTTP/1 request line: `METHOD SP TARGET SP HTTP/1.x` and a line end.
pub fn is_request_line(start: &[u8]) -> bool {
    let Some(end) = memchr::memchr(b'\n', start) else {
        return false;
    };
    let line = start[..end].strip_suffix(b"\r").unwrap_or(&start[..end]);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let token = |b: &u8| b.is_ascii_uppercase() || *b == b'-' || *b == b'_';
    !method.is_empty() && method.iter().all(token) && !target.is_empty() && matches!(version, b"HTTP/1.0" | b"HTTP/1.1")
}

/// The `Host` header's name, without its port, if the head carries one.
fn host_of(head: &[u8]) -> Option<String> {
    let head = std::str::from_utf8(head).ok()?;
    let value = head.lines().skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("host").then(|| value.trim())
    })?;
    let host = match value.strip_prefix('[') {
        Some(v6) => format!("[{}]", v6.split(']').next()?),
        None => value.split(':').next()?.to_owned(),
    };
    let plain = host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-[]:".contains(&b));
    (plain && !host.is_empty()).then_some(host)
}

/// The 400 response: a sentence for a person, naming where the web chat is when there is one.
pub fn answer(head: &[u8], web: &[Listener]) -> String {
    let mut text = "This is a sockchat chat port, for nc, telnet and `sockchat join`, not for a browser.\n".to_owned();
    if let Some(listener) = web.first() {
        let scheme = if listener.scheme == Scheme::Https {
            "https"
        } else {
            "http"
        };
        let host = match host_of(head) {
            Some(host) if listener.addr.ip().is_unspecified() => host,
            _ if listener.addr.is_ipv6() => format!("[{}]", listener.addr.ip()),
            _ => listener.addr.ip().to_string(),
        };
        let _ = writeln!(text, "The web chat is at {scheme}://{host}:{}/", listener.addr.port());
    }
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
}

/// Writes the answer and closes, reading what the client still sends for a moment.
pub async fn refuse<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(reader: &mut R, writer: &mut W, answer: String) {
    let closing = async {
        writer.write_all(answer.as_bytes()).await?;
        writer.shutdown().await?;
        let mut sink = [0u8; 1024];
        while reader.read(&mut sink).await? > 0 {}
        std::io::Result::Ok(())
    };
    let _ = tokio::time::timeout(ANSWER_GRACE, closing).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_told_from_chat() {
        let cases: &[(&[u8], bool)] = &[
            (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", true),
            (b"POST /api?x=1 HTTP/1.0\n", true),
            (b"OPTIONS * HTTP/1.1\r\n", true),
            (b"M-SEARCH * HTTP/1.1\r\n", true),
            (b"GET / HTTP/1.1", false),
            (b"GET / HTTP/2\r\n", false),
            (b"get / HTTP/1.1\r\n", false),
            (b"hello everyone\n", false),
            (b"GET /  HTTP/1.1\r\n", false),
            (b"/join rust\n", false),
            (b"", false),
        ];
        for &(start, expected) in cases {
            assert_eq!(is_request_line(start), expected, "{:?}", String::from_utf8_lossy(start));
        }
    }

    #[test]
    fn the_answer_names_the_web_listener_as_the_client_reached_the_server() {
        let web = |text: &str| vec![text.parse::<Listener>().unwrap()];
        let cases: &[(&[u8], Vec<Listener>, Option<&str>)] = &[
            (
                b"GET / HTTP/1.1\r\nHost: chat.example.org:7000\r\n\r\n",
                web("http://0.0.0.0:8080"),
                Some("http://chat.example.org:8080/"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
                web("https://127.0.0.1:8443"),
                Some("https://127.0.0.1:8443/"),
            ),
            (
                b"GET / HTTP/1.1\r\nhost: [::1]:7000\r\n\r\n",
                web("http://[::]:80"),
                Some("http://[::1]:80/"),
            ),
            (
                b"GET / HTTP/1.1\r\nHost: <script>\r\n\r\n",
                web("http://0.0.0.0:8080"),
                Some("http://0.0.0.0:8080/"),
            ),
            (b"GET / HTTP/1.0\r\n\r\n", vec![], None),
        ];
        for (head, listeners, url) in cases {
            let answer = answer(head, listeners);
            assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{answer}");
            let (_, body) = answer.split_once("\r\n\r\n").unwrap();
            assert!(
                answer.contains(&format!("Content-Length: {}\r\n", body.len())),
                "{answer}"
            );
            match url {
                Some(url) => assert!(body.contains(url), "{body}"),
                None => assert!(!body.contains("web chat"), "{body}"),
            }
        }
    }
}
