//! `sockchat get` against crafted servers: framing, strictness, redirects, codings, proxies, resume,
//! timeouts, TLS.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::thread;

use crate::fixture::{Fixture, Reply, connect_proxy, tls_server};
use crate::support::{TIMEOUT, binary};

/// What a run of `sockchat get` did.
#[derive(Debug)]
struct Got {
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
}

impl Got {
    fn body(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

fn get(args: &[&str]) -> Got {
    get_in(args, None, &[])
}

/// Runs `sockchat get ARGS` in `dir` with `env`, failing the test if it does not finish in `TIMEOUT`.
fn get_in(args: &[&str], dir: Option<&std::path::Path>, env: &[(&str, &str)]) -> Got {
    let mut command = binary();
    command
        .arg("get")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in [
        "http_proxy",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
        "no_proxy",
        "NO_PROXY",
    ] {
        command.env_remove(name);
    }
    command.envs(env.iter().copied());
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let child = command.spawn().unwrap();
    let pid = child.id();
    let (tx, rx) = channel();
    thread::spawn(move || tx.send(child.wait_with_output()));
    match rx.recv_timeout(TIMEOUT) {
        Ok(output) => {
            let output = output.unwrap();
            Got {
                code: output.status.code(),
                stdout: output.stdout,
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            }
        }
        Err(_) => {
            let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            panic!("sockchat get {args:?} did not finish in {TIMEOUT:?}")
        }
    }
}

/// Serves `bytes` raw to one request and returns what `get` made of it.
fn fetch_raw(bytes: &[u8], dribble: bool) -> Got {
    let reply = Reply {
        dribble,
        ..Reply::raw(bytes)
    };
    let server = Fixture::start(move |_| reply.clone());
    get(&[&server.url("/")])
}

#[test]
fn framing_by_the_rules() {
    let cases: &[(&[u8], &str)] = &[
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "hello"),
        (b"HTTP/1.1 200 OK\r\nContent-Length:  0005 \r\n\r\nhelloIGNORED", "hello"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\"b;c\"\r\nhello\r\n1\r\n!\r\n0\r\nX-T: 1\r\n\r\n", "hello!"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\n\r\n2\r\nok\r\n0\r\n\r\n", "ok"),
        (b"HTTP/1.1 200 OK\r\n\r\nuntil the end", "until the end"),
        (b"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nten-style", "ten-style"),
        (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi", "hi"),
        (b"HTTP/1.1 204 No Content\r\nContent-Length: 4\r\n\r\n", ""),
        (b"HTTP/1.1 304 Not Modified\r\n\r\n", ""),
    ];
    for (response, body) in cases {
        for dribble in [false, true] {
            let got = fetch_raw(response, dribble);
            assert_eq!(
                (got.code, got.body().as_str()),
                (Some(0), *body),
                "{:?} dribbled {dribble}: {}",
                String::from_utf8_lossy(response),
                got.stderr
            );
        }
    }
}

#[test]
fn malformed_responses_are_clear_errors() {
    let cases: &[(&[u8], i32, &str)] = &[
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: +13\r\n\r\nhello",
            8,
            "invalid Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            8,
            "invalid Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            8,
            "invalid Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            8,
            "conflicting Content-Length",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\nhello\r\n0\r\n\r\n",
            56,
            "bad chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
            56,
            "not followed by CRLF",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
            18,
            "in the middle of a chunk",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
            18,
            "5 bytes of the body still to come",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Le",
            8,
            "in the middle of the response head",
        ),
        (b"<html>HTTP/0.9 has no head</html>\r\n\r\n", 8, "malformed"),
        (b"garbage\r\n\r\n", 8, "malformed"),
        (b"", 52, "empty reply from server"),
    ];
    for (response, code, complaint) in cases {
        let got = fetch_raw(response, false);
        assert_eq!(
            got.code,
            Some(*code),
            "{:?}: {}",
            String::from_utf8_lossy(response),
            got.stderr
        );
        assert!(
            got.stderr.contains(complaint),
            "{:?}: {}",
            String::from_utf8_lossy(response),
            got.stderr
        );
        assert!(!got.stderr.contains("panicked"), "{}", got.stderr);
    }
}

#[test]
fn an_endless_head_is_refused_with_bounded_memory() {
    let mut response = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..20_000 {
        response.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "a".repeat(50)).as_bytes());
    }
    let got = fetch_raw(&response, false);
    assert_eq!(got.code, Some(8), "{}", got.stderr);
}

#[test]
fn a_complete_body_on_a_kept_open_connection_is_not_waited_on() {
    let server = Fixture::start(|_| Reply::ok("done").held_open());
    let got = get(&[&server.url("/")]);
    assert_eq!((got.code, got.body().as_str()), (Some(0), "done"));
    let chunked = Fixture::start(|_| {
        Reply::raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ndone\r\n0\r\n\r\n").held_open()
    });
    assert_eq!(get(&[&chunked.url("/")]).body(), "done");
}

#[test]
fn head_requests_and_include() {
    let server = Fixture::start(|seen| {
        let body = if seen.line().starts_with("HEAD") { "" } else { "body" };
        let mut reply = Reply::raw(format!(
            "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Kind: test\r\n\r\n{body}"
        ));
        reply.hold_open = true;
        reply
    });
    let got = get(&["-I", &server.url("/")]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    assert_eq!(
        got.body(),
        "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Kind: test\r\n\r\n"
    );
    assert!(server.next_request().line().starts_with("HEAD / HTTP/1.1"));
    let got = get(&["-i", &server.url("/")]);
    assert_eq!(
        got.body(),
        "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nX-Kind: test\r\n\r\nbody"
    );
}

#[test]
fn folded_header_lines_are_read_as_one_line() {
    let response = b"HTTP/1.1 200 OK\r\nX-Folded: first\r\n   second\r\n\tthird\r\nTransfer-Encoding:\r\n chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    for dribble in [false, true] {
        let got = fetch_raw(response, dribble);
        assert_eq!(got.code, Some(0), "{}", got.stderr);
        assert_eq!(got.body(), "hello", "the folded Transfer-Encoding is chunked");
    }
    let server = Fixture::start(move |_| Reply::raw(response));
    let got = get(&["-i", &server.url("/")]);
    assert_eq!(
        got.body(),
        "HTTP/1.1 200 OK\r\nX-Folded: first second third\r\nTransfer-Encoding: chunked\r\n\r\nhello"
    );
}

#[test]
fn request_heads_carry_what_was_asked() {
    let server = Fixture::start(|_| Reply::ok("x"));
    let url = server.url("/p%20q?a=1#frag");
    let got = get(&[
        "-H",
        "X-Extra: yes",
        "-H",
        "Accept:",
        "-H",
        "X-Empty;",
        "-A",
        "agent/1",
        "-e",
        "http://ref/",
        "-u",
        "ann:s3cret",
        &url,
    ]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    let seen = server.next_request();
    assert_eq!(seen.line(), "GET /p%20q?a=1 HTTP/1.1");
    assert_eq!(seen.header("host"), Some(server.addr.to_string()));
    assert_eq!(seen.header("x-extra").as_deref(), Some("yes"));
    assert_eq!(seen.header("accept"), None);
    assert_eq!(seen.header("x-empty").as_deref(), Some(""));
    assert_eq!(seen.header("user-agent").as_deref(), Some("agent/1"));
    assert_eq!(seen.header("referer").as_deref(), Some("http://ref/"));
    assert_eq!(seen.header("authorization").as_deref(), Some("Basic YW5uOnMzY3JldA=="));
    let userinfo = format!("http://bob:p%40ss@{}/", server.addr);
    get(&[&userinfo]);
    assert_eq!(
        server.next_request().header("authorization").as_deref(),
        Some("Basic Ym9iOnBAc3M=")
    );
    let got = get(&["-v", &url]);
    assert!(got.stderr.contains("> GET /p%20q?a=1 HTTP/1.1"), "{}", got.stderr);
    assert!(got.stderr.contains("< HTTP/1.1 200 X"), "{}", got.stderr);
    assert!(got.stderr.contains("* Connected to 127.0.0.1"), "{}", got.stderr);
    let got = get(&["-H", "X-Bad: a\r\nInjected: 1", &url]);
    assert_eq!(got.code, Some(2));
}

#[test]
fn redirects_of_every_form_are_followed() {
    let hops: &[(&str, &str)] = &[
        ("/start", "/a/b/c"),
        ("/a/b/c", "../d"),
        ("/a/d", "?x=1"),
        ("/a/d?x=1", "e%20f"),
        ("/a/e%20f", "/with space/é"),
        ("/with%20space/%C3%A9", "//HOST/final"),
    ];
    let table: Vec<(String, String)> = hops.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    let server = Arc::new(Mutex::new(None::<String>));
    let host = server.clone();
    let fixture = Fixture::start(move |seen| {
        let path = seen.path();
        match table.iter().find(|(from, _)| *from == path) {
            Some((_, to)) => {
                let to = to.replace("HOST", host.lock().unwrap().as_deref().unwrap_or(""));
                Reply::with(302, &[("Location", &to)], "moved")
            }
            None => Reply::ok(format!("arrived at {path}")),
        }
    });
    *server.lock().unwrap() = Some(fixture.addr.to_string());
    let got = get(&["-L", &fixture.url("/start")]);
    assert_eq!(
        (got.code, got.body().as_str()),
        (Some(0), "arrived at /final"),
        "{}",
        got.stderr
    );
    let got = get(&[&fixture.url("/start")]);
    assert_eq!(got.body(), "moved", "without -L the redirect itself is the answer");
}

#[test]
fn redirect_limits_and_loops() {
    let looping = Fixture::start(|seen| {
        let next = if seen.path() == "/a" { "/b" } else { "/a" };
        Reply::with(301, &[("Location", next)], "")
    });
    let got = get(&["-L", &looping.url("/a")]);
    assert_eq!(got.code, Some(47));
    assert!(got.stderr.contains("redirect loop"), "{}", got.stderr);
    let endless = Fixture::start(|seen| {
        let n: u32 = seen.path().trim_start_matches('/').parse().unwrap_or(0);
        Reply::with(307, &[("Location", &format!("/{}", n + 1))], "")
    });
    let got = get(&["-L", "--max-redirs", "3", &endless.url("/0")]);
    assert_eq!(got.code, Some(47));
    assert!(got.stderr.contains("maximum (3) redirects followed"), "{}", got.stderr);
}

#[test]
fn credentials_never_follow_a_redirect_to_another_origin() {
    let elsewhere = Fixture::start(|_| Reply::ok("elsewhere"));
    let target = elsewhere.url("/");
    let home = Fixture::start(move |seen| match seen.path().as_str() {
        "/same" => Reply::with(302, &[("Location", "/landed")], ""),
        "/away" => Reply::with(302, &[("Location", &target)], ""),
        _ => Reply::ok("home"),
    });
    let args = |path: &str| {
        vec![
            "-L".to_owned(),
            "-u".to_owned(),
            "u:p".to_owned(),
            "-H".to_owned(),
            "Cookie: c=1".to_owned(),
            home.url(path),
        ]
    };
    let run = |path: &str| {
        let owned = args(path);
        get(&owned.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_eq!(run("/same").body(), "home");
    let first = home.next_request();
    let second = home.next_request();
    assert!(first.header("authorization").is_some() && first.header("cookie").is_some());
    assert!(
        second.header("authorization").is_some() && second.header("cookie").is_some(),
        "same origin keeps them"
    );
    assert_eq!(run("/away").body(), "elsewhere");
    let _ = home.next_request();
    let away = elsewhere.next_request();
    assert_eq!(
        (away.header("authorization"), away.header("cookie")),
        (None, None),
        "{}",
        away.head
    );
}

#[test]
fn compressed_content_is_decoded() {
    let text = "all work and no play makes jack a dull boy\n".repeat(200);
    let gzip = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let deflate = {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let raw_deflate = {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let br = {
        let mut out = Vec::new();
        brotli::BrotliCompress(
            &mut text.as_bytes(),
            &mut out,
            &brotli::enc::BrotliEncoderParams::default(),
        )
        .unwrap();
        out
    };
    let zstd = ruzstd::encoding::compress_to_vec(text.as_bytes(), ruzstd::encoding::CompressionLevel::Fastest);
    let stacked = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&deflate).unwrap();
        e.finish().unwrap()
    };
    let cases = [
        ("gzip", gzip),
        ("deflate", deflate),
        ("deflate", raw_deflate),
        ("br", br),
        ("zstd", zstd),
        ("deflate, gzip", stacked),
    ];
    for (coding, body) in cases {
        let coding_owned = coding.to_owned();
        let server = Fixture::start(move |_| Reply::with(200, &[("Content-Encoding", &coding_owned)], &body));
        let got = get(&["--compressed", &server.url("/")]);
        assert_eq!(
            (got.code, got.body() == text),
            (Some(0), true),
            "{coding}: {}",
            got.stderr
        );
        assert_eq!(
            server.next_request().header("accept-encoding").as_deref(),
            Some("gzip, deflate, br, zstd")
        );
    }
    let corrupt = Fixture::start(|_| {
        Reply::with(
            200,
            &[("Content-Encoding", "gzip")],
            b"\x1f\x8b\x08\x00garbage garbage garbage",
        )
    });
    let got = get(&["--compressed", &corrupt.url("/")]);
    assert_eq!(got.code, Some(61), "{}", got.stderr);
}

#[test]
fn a_compressed_empty_body_is_empty() {
    let server = Fixture::start(|seen| match seen.path().as_str() {
        "/none" => Reply::raw("HTTP/1.1 204 No Content\r\nContent-Encoding: gzip\r\n\r\n"),
        "/close" => Reply::raw("HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n\r\n"),
        _ => Reply::with(200, &[("Content-Encoding", "gzip")], ""),
    });
    for path in ["/zero", "/none", "/close"] {
        let got = get(&["--compressed", &server.url(path)]);
        assert_eq!((got.code, got.body().as_str()), (Some(0), ""), "{path}: {}", got.stderr);
    }
    let got = get(&["-I", "--compressed", &server.url("/zero")]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    assert!(got.body().contains("Content-Encoding: gzip\r\n\r\n"), "{}", got.body());
}

#[test]
fn transfer_codings_are_undone_never_passed_through() {
    let text = "a transfer-coded body\n".repeat(50);
    let gzip = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let chunked = |data: &[u8]| {
        let mut out = Vec::new();
        for piece in data.chunks(100) {
            out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    };
    let response = |coding: &str, body: &[u8]| {
        let mut bytes = format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: {coding}\r\n\r\n").into_bytes();
        bytes.extend_from_slice(body);
        bytes
    };
    let decoded = [
        response("gzip, chunked", &chunked(&gzip)),
        response("gzip\r\nTransfer-Encoding: chunked", &chunked(&gzip)),
        response("gzip", &gzip),
    ];
    for bytes in &decoded {
        let got = fetch_raw(bytes, false);
        assert_eq!(
            (got.code, got.body() == text),
            (Some(0), true),
            "{}: {}",
            String::from_utf8_lossy(&bytes[..60]),
            got.stderr
        );
    }
    let refused: [(Vec<u8>, i32, &str); 2] = [
        (
            response("compress, chunked", &chunked(b"whatever")),
            61,
            "unsupported transfer encoding: compress",
        ),
        (
            response("chunked, gzip", &chunked(&gzip)),
            8,
            "applies a coding after chunked",
        ),
    ];
    for (bytes, code, error) in &refused {
        let got = fetch_raw(bytes, false);
        assert_eq!((got.code, got.stdout.len()), (Some(*code), 0), "{}", got.stderr);
        assert!(got.stderr.contains(error), "{}", got.stderr);
    }
}

#[test]
fn ipv6_loopback() {
    let server = Fixture::start_on("[::1]:0", None, |_| Reply::ok("over six"));
    let url = format!("http://[::1]:{}/", server.addr.port());
    let got = get(&["-6", &url]);
    assert_eq!((got.code, got.body().as_str()), (Some(0), "over six"), "{}", got.stderr);
    assert_eq!(
        server.next_request().header("host"),
        Some(format!("[::1]:{}", server.addr.port()))
    );
    let got = get(&["-4", &url]);
    assert_eq!(got.code, Some(6), "{}", got.stderr);
}

#[test]
fn proxies_from_the_environment() {
    let proxy = Fixture::start(|_| Reply::ok("via proxy"));
    let proxy_url = format!("http://user:pw@{}", proxy.addr);
    let got = get_in(
        &["http://origin.example:81/path?q"],
        None,
        &[("http_proxy", &proxy_url)],
    );
    assert_eq!(
        (got.code, got.body().as_str()),
        (Some(0), "via proxy"),
        "{}",
        got.stderr
    );
    let seen = proxy.next_request();
    assert_eq!(seen.line(), "GET http://origin.example:81/path?q HTTP/1.1");
    assert_eq!(seen.header("host").as_deref(), Some("origin.example:81"));
    assert_eq!(
        seen.header("proxy-authorization").as_deref(),
        Some("Basic dXNlcjpwdw==")
    );

    let direct = Fixture::start(|_| Reply::ok("direct"));
    let got = get_in(
        &[&direct.url("/")],
        None,
        &[("http_proxy", &proxy_url), ("no_proxy", "127.0.0.1")],
    );
    assert_eq!(got.body(), "direct", "{}", got.stderr);
}

#[test]
fn https_through_a_connect_proxy() {
    let (pem, config) = tls_server();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let server = Fixture::start_on("127.0.0.1:0", Some(config), |_| Reply::ok("secret stuff"));
    let (proxy, requests) = connect_proxy();
    let url = format!("https://localhost:{}/", server.addr.port());
    let got = get_in(
        &["--cacert", ca.to_str().unwrap(), &url],
        None,
        &[("https_proxy", &format!("http://{proxy}"))],
    );
    assert_eq!(
        (got.code, got.body().as_str()),
        (Some(0), "secret stuff"),
        "{}",
        got.stderr
    );
    let connect = requests.recv_timeout(TIMEOUT).unwrap();
    assert!(
        connect.starts_with(&format!("CONNECT localhost:{} HTTP/1.1\r\n", server.addr.port())),
        "{connect}"
    );
}

#[test]
fn https_verifies_certificates() {
    let (pem, config) = tls_server();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let server = Fixture::start_on("127.0.0.1:0", Some(config), |_| {
        Reply::raw("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nprivate\r\n0\r\n\r\n")
    });
    let url = format!("https://localhost:{}/", server.addr.port());
    let got = get(&["--cacert", ca.to_str().unwrap(), &url]);
    assert_eq!((got.code, got.body().as_str()), (Some(0), "private"), "{}", got.stderr);
    let ip_url = format!("https://127.0.0.1:{}/", server.addr.port());
    assert_eq!(get(&["--cacert", ca.to_str().unwrap(), &ip_url]).body(), "private");
    let got = get(&[&url]);
    assert_eq!(got.code, Some(60), "an unknown issuer is refused: {}", got.stderr);
    let got = get(&["-k", &url]);
    assert_eq!((got.code, got.body().as_str()), (Some(0), "private"), "{}", got.stderr);
    let (other_pem, _) = tls_server();
    std::fs::write(&ca, other_pem).unwrap();
    let got = get(&["--cacert", ca.to_str().unwrap(), &url]);
    assert_eq!(got.code, Some(60), "{}", got.stderr);
}

#[test]
fn an_interrupted_download_never_looks_complete_and_resumes() {
    let body: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let whole = body.clone();
    let cut = Fixture::start(move |_| {
        let mut bytes = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", whole.len()).into_bytes();
        bytes.extend_from_slice(&whole[..40_000]);
        Reply::raw(bytes)
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("data.bin");
    let got = get(&["-o", file.to_str().unwrap(), &cut.url("/data.bin")]);
    assert_eq!(got.code, Some(18), "{}", got.stderr);
    assert!(!file.exists(), "no file under the final name");
    let part = dir.path().join("data.bin.part");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 40_000);

    let whole = body.clone();
    let ranged = Fixture::start(move |seen| {
        let from: usize = seen
            .header("range")
            .and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
            .unwrap_or(0);
        let range = format!("bytes {from}-{}/{}", whole.len() - 1, whole.len());
        Reply::with(206, &[("Content-Range", &range)], &whole[from..])
    });
    let got = get(&["-C", "-", "-o", file.to_str().unwrap(), &ranged.url("/data.bin")]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    assert_eq!(ranged.next_request().header("range").as_deref(), Some("bytes=40000-"));
    assert_eq!(std::fs::read(&file).unwrap(), body);
    assert!(!part.exists());

    std::fs::write(&part, &body[..10]).unwrap();
    let ignoring = Fixture::start(|_| Reply::ok("the whole thing again"));
    let got = get(&["-C", "-", "-o", file.to_str().unwrap(), &ignoring.url("/data.bin")]);
    assert_eq!(got.code, Some(33), "{}", got.stderr);
    assert!(got.stderr.contains("ignored the range"), "{}", got.stderr);
}

#[test]
fn devices_and_dash_are_written_in_place() {
    let server = Fixture::start(|_| Reply::ok("to the void"));
    let got = get(&["-o", "/dev/null", &server.url("/")]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    assert!(!std::path::Path::new("/dev/null.part").exists());
    assert!(
        !std::fs::metadata("/dev/null").unwrap().is_file(),
        "/dev/null is still a device"
    );
    let got = get(&["-o", "-", &server.url("/")]);
    assert_eq!(got.body(), "to the void");
}

#[test]
fn remote_name_saves_beside_the_caller() {
    let server = Fixture::start(|_| Reply::ok("named"));
    let dir = tempfile::tempdir().unwrap();
    let got = get_in(&["-O", &server.url("/dir/report.txt?x=1")], Some(dir.path()), &[]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    assert_eq!(std::fs::read_to_string(dir.path().join("report.txt")).unwrap(), "named");
    let got = get_in(&["-O", &server.url("/")], Some(dir.path()), &[]);
    assert_eq!(got.code, Some(23), "{}", got.stderr);
}

#[test]
fn remote_name_after_redirects_is_the_url_given() {
    let server = Fixture::start(|seen| match seen.path().as_str() {
        "/latest/tool.tar.gz" => Reply::with(302, &[("Location", "/v2/tool-2.0.tar.gz")], ""),
        _ => Reply::ok("version two"),
    });
    let dir = tempfile::tempdir().unwrap();
    let got = get_in(&["-O", "-L", &server.url("/latest/tool.tar.gz")], Some(dir.path()), &[]);
    assert_eq!(got.code, Some(0), "{}", got.stderr);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["tool.tar.gz"]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("tool.tar.gz")).unwrap(),
        "version two"
    );
}

#[test]
fn fail_and_fail_with_body() {
    let server = Fixture::start(|_| Reply::with(404, &[], "not here"));
    let got = get(&[&server.url("/")]);
    assert_eq!((got.code, got.body().as_str()), (Some(0), "not here"));
    let got = get(&["-f", &server.url("/")]);
    assert_eq!((got.code, got.body().as_str()), (Some(22), ""));
    assert!(
        got.stderr.contains("The requested URL returned error: 404"),
        "{}",
        got.stderr
    );
    let got = get(&["-fs", &server.url("/")]);
    assert_eq!((got.code, got.stderr.as_str()), (Some(22), ""));
    let got = get(&["-sS", "--fail-with-body", &server.url("/")]);
    assert_eq!((got.code, got.body().as_str()), (Some(22), "not here"));
    assert!(got.stderr.contains("404"));
}

#[test]
fn timeouts() {
    let stalled = Fixture::start(|_| Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nsome").held_open());
    let got = get(&["--max-time", "0.5", &stalled.url("/")]);
    assert_eq!(got.code, Some(28), "{}", got.stderr);
    let silent = Fixture::start(|_| Reply::default().held_open());
    let got = get(&["-m", "0.5", &silent.url("/")]);
    assert_eq!(got.code, Some(28), "{}", got.stderr);
    // The body would take 4 s; every byte arrives well within any per-read timeout.
    let body = "x".repeat(40);
    let trickling = Fixture::start(move |_| Reply::ok(&body).trickled(std::time::Duration::from_millis(100)));
    let got = get(&["-m", "1", &trickling.url("/")]);
    assert_eq!(got.code, Some(28), "{}", got.stderr);
    assert!(got.stdout.len() < 40, "got the whole body: {}", got.body());

    let full = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    full.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into())
        .unwrap();
    full.listen(0).unwrap();
    let addr = full.local_addr().unwrap().as_socket().unwrap();
    let fillers: Vec<_> = (0..4)
        .filter_map(|_| std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200)).ok())
        .collect();
    let got = get(&["--connect-timeout", "0.5", &format!("http://{addr}/")]);
    assert_eq!(got.code, Some(28), "{}", got.stderr);
    drop(fillers);
}

#[test]
fn retries_transient_statuses() {
    let count = Arc::new(Mutex::new(0));
    let counter = count.clone();
    let server = Fixture::start(move |_| {
        let mut n = counter.lock().unwrap();
        *n += 1;
        if *n < 3 {
            Reply::with(503, &[], "busy")
        } else {
            Reply::ok("finally")
        }
    });
    let got = get(&["--retry", "3", "--retry-delay", "0", &server.url("/")]);
    assert_eq!((got.code, got.body().as_str()), (Some(0), "finally"), "{}", got.stderr);
    assert_eq!(*count.lock().unwrap(), 3);
    assert!(got.stderr.contains("Will retry"), "{}", got.stderr);
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let big = vec![b'z'; 8 * 1024 * 1024];
    let server = Fixture::start(move |_| Reply::ok(&big));
    let mut child = binary()
        .args(["get", &server.url("/")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 10];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert_eq!((status.code(), stderr.as_str()), (Some(0), ""));
}

#[test]
fn bad_urls_and_protocols() {
    assert_eq!(get(&["ftp://example.com/"]).code, Some(1));
    assert_eq!(get(&["http://exa mple.com/"]).code, Some(3));
}
