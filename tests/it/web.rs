//! The `http` listener: the page and its headers, `/healthz`, `/metrics`, the WebSocket at `/ws`
//! (the structured protocol, one JSON object per text frame) with its bounds, origins and close
//! codes, and a chat port that answers a stray HTTP request with a 400.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use serde_json::{Value, json};
use tungstenite::client::IntoClientRequest;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

use crate::support::{PlainClient, TIMEOUT, TestServer};

/// A server with a chat listener (`server.addr`) and a web listener (the address beside it).
pub fn web_server(extra: &[&str]) -> (TestServer, SocketAddr) {
    let mut server = TestServer::launch(
        &[
            "--listen",
            "127.0.0.1:0",
            "--listen",
            "http://127.0.0.1:0",
            "--no-console",
        ],
        extra,
    );
    let line = server.log.until(|l| l.contains("listening on http://"));
    let web = line.rsplit("http://").next().unwrap().trim().parse().unwrap();
    (server, web)
}

/// A program speaking the structured protocol over a WebSocket.
pub struct WsClient {
    socket: WebSocket<TcpStream>,
}

impl WsClient {
    /// Opens `/ws`, sending `origin` as a browser would; the handshake's error if it is refused.
    pub fn open(web: SocketAddr, origin: Option<&str>) -> Result<WsClient, tungstenite::Error> {
        let stream = TcpStream::connect(web).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut request = format!("ws://{web}/ws").into_client_request().unwrap();
        if let Some(origin) = origin {
            request.headers_mut().insert("origin", origin.parse().unwrap());
        }
        match tungstenite::client(request, stream) {
            Ok((socket, _response)) => Ok(WsClient { socket }),
            Err(tungstenite::HandshakeError::Failure(e)) => Err(e),
            Err(tungstenite::HandshakeError::Interrupted(_)) => panic!("a blocking handshake was interrupted"),
        }
    }

    /// Opens `/ws` and says hello as `nick`; returns the welcome.
    pub fn hello(web: SocketAddr, nick: &str) -> (WsClient, Value) {
        let mut client = WsClient::open(web, None).expect("the WebSocket opens");
        client.send(json!({"type": "hello", "version": 1, "nick": nick}));
        let welcome = client.until_type("welcome");
        (client, welcome)
    }

    pub fn send(&mut self, value: Value) {
        self.send_message(Message::text(value.to_string()));
    }

    pub fn send_message(&mut self, message: Message) {
        self.socket.send(message).unwrap();
    }

    /// The next message that is not a control frame's echo; panics past the deadline.
    pub fn next(&mut self) -> Message {
        loop {
            match self.socket.read() {
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(message) => return message,
                Err(e) => panic!("no WebSocket message within {TIMEOUT:?}: {e}"),
            }
        }
    }

    /// Skips events until one of type `kind`.
    pub fn until_type(&mut self, kind: &str) -> Value {
        loop {
            match self.next() {
                Message::Text(text) => {
                    let event: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
                    if event["type"] == kind {
                        return event;
                    }
                }
                other => panic!("waiting for a {kind}, got {other:?}"),
            }
        }
    }

    /// Reads until the server's close frame; its code.
    pub fn until_closed(&mut self) -> CloseCode {
        loop {
            match self.socket.read() {
                Ok(Message::Close(frame)) => return frame.map_or(CloseCode::Status, |f| f.code),
                Ok(_) => continue,
                Err(e) => panic!("the connection ended without a close frame: {e}"),
            }
        }
    }
}

/// One HTTP/1.1 request on a fresh connection; the whole response as text.
pub fn http_get(addr: SocketAddr, path: &str, headers: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    if let Err(e) = stream.read_to_string(&mut response) {
        panic!("GET {path} from {addr}: {e}; read {response:?}");
    }
    response
}

#[test]
fn a_websocket_client_chats_with_an_nc_user_both_ways() {
    let (server, web) = web_server(&[]);
    let mut nc = PlainClient::named(server.addr, "nc_user");
    let (mut browser, welcome) = WsClient::hello(web, "webby");
    assert_eq!(welcome["nick"], "webby");
    assert_eq!(welcome["room"], "lobby");
    nc.lines.expect("-- webby joined lobby");

    browser.send(json!({"type": "say", "id": 1, "text": "hello from a browser"}));
    assert_eq!(browser.until_type("ack")["id"], 1);
    nc.lines.expect("<webby> hello from a browser");

    nc.say("hello from nc");
    let message = browser.until_type("message");
    assert_eq!(
        (message["from"].as_str(), message["text"].as_str()),
        (Some("nc_user"), Some("hello from nc"))
    );

    // A request whose JSON is spread over lines is still one request.
    browser.send_message(Message::text(
        "{\n  \"type\": \"say\",\n  \"id\": 2,\n  \"text\": \"a\\nb\"\n}",
    ));
    assert_eq!(browser.until_type("ack")["id"], 2);
    nc.lines.expect("<webby> a");
}

#[test]
fn bad_frames_are_answered_as_on_the_chat_port_and_the_socket_goes_on() {
    let (_server, web) = web_server(&[]);
    let (mut client, _) = WsClient::hello(web, "clumsy");
    client.send_message(Message::text("this is not json"));
    let error = client.until_type("error");
    assert_eq!(error["code"], "bad_request", "{error}");
    client.send_message(Message::binary(&b"{\"type\":\"ping\"}"[..]));
    let error = client.until_type("error");
    assert_eq!(error["code"], "bad_request", "{error}");
    assert!(error["message"].as_str().unwrap().contains("binary frames"), "{error}");
    client.send(json!({"type": "ping", "id": "still-there"}));
    client.until_type("pong");
    assert_eq!(client.until_type("ack")["id"], "still-there");
}

#[test]
fn a_frame_over_the_bound_is_refused_with_1009_and_a_long_text_with_too_large() {
    let (_server, web) = web_server(&["--max-message", "1000"]);
    let (mut client, welcome) = WsClient::hello(web, "big");
    assert_eq!(welcome["max_message"], 1000);
    // Within the frame bound but over the text bound: refused as on the chat port.
    client.send(json!({"type": "say", "id": 1, "text": "x".repeat(1001)}));
    assert_eq!(client.until_type("error")["code"], "too_large");
    // Over the frame bound (6 x 1000 + 4096 bytes): the socket is closed as too big.
    client.send_message(Message::text("x".repeat(6 * 1000 + 4096 + 1)));
    assert_eq!(client.until_closed(), CloseCode::Size);
}

#[test]
fn a_page_from_another_origin_is_refused_before_the_upgrade() {
    let (_server, web) = web_server(&["--web-origin", "https://chat.example.org"]);
    match WsClient::open(web, Some("https://evil.example")) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        Err(other) => panic!("refused otherwise: {other}"),
        Ok(_) => panic!("a foreign origin opened the socket"),
    }
    let own = format!("http://{web}");
    for origin in [own.as_str(), "https://chat.example.org"] {
        let mut client = WsClient::open(web, Some(origin)).unwrap_or_else(|e| panic!("{origin}: {e}"));
        client.send(json!({"type": "hello", "version": 1}));
        client.until_type("welcome");
    }
}

#[test]
fn a_refused_hello_and_a_shutdown_close_with_their_codes() {
    let (server, web) = web_server(&[]);
    let mut refused = WsClient::open(web, None).unwrap();
    refused.send(json!({"type": "hello", "version": 99}));
    assert_eq!(refused.until_type("error")["code"], "unsupported_version");
    assert_eq!(refused.until_closed(), CloseCode::Policy);

    let (mut staying, _) = WsClient::hello(web, "staying");
    let (mut leaving, _) = WsClient::hello(web, "leaving");
    leaving.send(json!({"type": "quit"}));
    leaving.until_type("bye");
    assert_eq!(leaving.until_closed(), CloseCode::Normal);
    staying.until_type("quit");
    assert_eq!(server.terminate(), Some(0));
    assert_eq!(staying.until_type("bye")["reason"], "the server is shutting down");
    assert_eq!(staying.until_closed(), CloseCode::Away);
}

#[test]
fn a_websocket_reader_that_never_reads_is_dropped_like_a_slow_tcp_one() {
    let (server, web) = web_server(&["--max-backlog", "1000000"]);
    let mut loud = PlainClient::named(server.addr, "loud");
    let mut keen = PlainClient::named(server.addr, "keen");
    let (deaf, _) = WsClient::hello(web, "deaf");
    keen.lines.expect("-- deaf joined lobby");
    let text = "y".repeat(60_000);
    let mut quit = None;
    for sent in 0..1000 {
        loud.say(&format!("{sent} {text}"));
        let wanted = format!("<loud> {sent} {text}");
        let line = keen.lines.until(|l| l == wanted || l.starts_with("-- deaf quit"));
        if line.starts_with("-- deaf quit") {
            quit = Some(line);
            break;
        }
    }
    let quit = quit.expect("the deaf client was never dropped");
    assert!(
        quit.starts_with("-- deaf quit (too slow: more than 1000000 bytes of lobby were waiting unread"),
        "{quit}"
    );
    loud.say("still here");
    keen.lines.expect("<loud> still here");
    drop(deaf);
}

#[test]
fn the_page_is_served_with_its_security_headers_and_health_answers() {
    let (_server, web) = web_server(&[]);
    let page = http_get(web, "/", "");
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    let head = page.split("\r\n\r\n").next().unwrap().to_ascii_lowercase();
    for header in [
        "content-type: text/html; charset=utf-8",
        "content-security-policy: default-src 'self'; script-src 'self'",
        "x-content-type-options: nosniff",
        "x-frame-options: deny",
    ] {
        assert!(head.contains(header), "{header} missing from {head}");
    }
    assert!(page.contains("<script src=\"app.js\""), "{page}");
    assert!(http_get(web, "/app.js", "").contains("text/javascript"));
    assert!(http_get(web, "/style.css", "").contains("text/css"));
    assert!(http_get(web, "/healthz", "").ends_with("\r\n\r\nok\n"));
    assert!(http_get(web, "/nothing-here", "").starts_with("HTTP/1.1 404"));
    assert!(http_get(web, "/ws", "").starts_with("HTTP/1.1 426"));
}

/// The samples of a Prometheus text page, by name with labels; panics on a line that is neither a
/// comment nor `NAME VALUE`.
fn samples(page: &str) -> std::collections::HashMap<String, f64> {
    page.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
            let value = value.parse().unwrap_or_else(|_| panic!("not a number: {line}"));
            (name.to_owned(), value)
        })
        .collect()
}

#[test]
fn metrics_count_what_clients_did() {
    let (server, web) = web_server(&[]);
    let (mut browser, _) = WsClient::hello(web, "counted");
    let mut nc = PlainClient::named(server.addr, "nc_user");
    for n in 0..3 {
        browser.send(json!({"type": "say", "id": n, "text": format!("counted {n}")}));
        browser.until_type("ack");
        nc.lines.expect(&format!("<counted> counted {n}"));
    }
    let response = http_get(web, "/metrics", "");
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    let samples = samples(body);
    let get = |name: &str| {
        samples
            .get(name)
            .copied()
            .unwrap_or_else(|| panic!("no {name} in {body}"))
    };
    assert_eq!(get("sockchat_connections{mode=\"websocket\"}"), 1.0);
    assert_eq!(get("sockchat_connections{mode=\"plain\"}"), 1.0);
    assert_eq!(get("sockchat_messages_committed_total"), 3.0);
    assert!(get("sockchat_requests_total") >= 4.0, "{body}");
    assert!(get("sockchat_events_written_total") >= 6.0, "{body}");
    assert!(get("sockchat_written_bytes_total") > 0.0, "{body}");
    assert_eq!(get("sockchat_store_commit_seconds_count"), 3.0);
    assert_eq!(get("sockchat_store_commit_seconds_bucket{le=\"+Inf\"}"), 3.0);
    assert_eq!(get("sockchat_drops_total{reason=\"slow_feed\"}"), 0.0);
}

#[test]
fn an_http_request_on_a_chat_port_gets_a_400_naming_the_web_listener_and_reaches_no_room() {
    let (server, web) = web_server(&[]);
    let mut watcher = PlainClient::named(server.addr, "watcher");
    let mut talker = PlainClient::named(server.addr, "talker");
    watcher.lines.expect("-- user2 is now known as talker");
    let response = http_get(server.addr, "/", "User-Agent: curl/8\r\n");
    assert!(response.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{response}");
    assert!(response.contains(&format!("http://{web}/")), "{response}");
    // What the watcher sees next is the talker's line: the request reached nobody.
    talker.say("anyone there?");
    assert_eq!(watcher.lines.next().as_deref(), Some("<talker> anyone there?"));

    // Without a web listener, the answer says only what the port is.
    let plain = TestServer::start(&[]);
    let response = http_get(plain.addr, "/", "");
    assert!(response.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{response}");
    assert!(!response.contains("web chat"), "{response}");
}

#[test]
fn the_servers_ping_is_a_websocket_ping_and_the_automatic_pong_keeps_the_socket() {
    let (_server, web) = web_server(&["--ping-after", "1", "--ping-timeout", "1"]);
    let (mut client, _) = WsClient::hello(web, "idle");
    // Reading answers each Ping with a Pong (tungstenite, as a browser, does it by itself); the
    // client sends nothing else, for several pings' worth of silence.
    let mut pings = 0;
    while pings < 3 {
        match client.socket.read() {
            Ok(Message::Ping(_)) => pings += 1,
            Ok(Message::Text(text)) => assert!(!text.contains("\"ping\""), "a ping came as text: {text}"),
            Ok(other) => panic!("expected a ping, got {other:?}"),
            Err(e) => panic!("no ping within {TIMEOUT:?}: {e}"),
        }
    }
    client.send(json!({"type": "ping", "id": 1}));
    client.until_type("pong");
}

#[test]
fn a_websocket_that_answers_no_ping_is_dropped() {
    let (server, web) = web_server(&["--ping-after", "1", "--ping-timeout", "1"]);
    let mut nc = PlainClient::named(server.addr, "watcher");
    // Never read, so no Pong is ever sent.
    let (silent, _) = WsClient::hello(web, "silent");
    nc.lines.expect("-- silent joined lobby");
    nc.lines.expect("-- silent quit (no answer to a ping within 1 s)");
    drop(silent);
}
