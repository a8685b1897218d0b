//! The `http` listener's connections: HTTP/1.1 (hyper) serving the chat page, `/healthz`,
//! `/metrics`, and `/ws`, whose upgraded connection becomes a structured chat session over
//! WebSocket on the same machinery as a TCP one.

mod burst_buffers;
pub mod origin;
mod page;
mod server_frame;
mod socket;

use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::upgrade::OnUpgrade;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tracing::{debug, info};

use super::connection::{Admitted, Shared, chat};
use super::metrics::METRICS;
use crate::scheme::Listener;
use crate::transport::WireMode;
use burst_buffers::BurstBuffers;
use origin::OriginPolicy;
use socket::WebSocket;

/// The most bytes of a request's head (its line and headers) the server reads.
pub const MAX_REQUEST_HEAD_BYTES: usize = 16 * 1024;
/// How long a connection may stay open serving plain requests (the page, metrics) before it is
/// closed; a WebSocket upgrade ends this phase, and its session has its own liveness.
pub const HTTP_CONNECTION_LIFETIME: Duration = Duration::from_secs(120);

/// What the web side of the server knows beyond what every connection shares.
#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    pub origins: OriginPolicy,
    /// The web listeners, as bound, for pointing a stray browser at them from a chat port.
    pub listeners: Vec<Listener>,
}

type Body = Full<Bytes>;

/// One connection to an `http` listener. Not an `async fn`, so a WebSocket session's future keeps
/// only what it needs, and what hyper held is freed before the session begins.
pub fn serve<S>(stream: S, admitted: Admitted, shared: Shared) -> impl Future<Output = ()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let secure = admitted.scheme.tls();
    let conn = admitted.conn;
    let (upgrades, upgraded) = oneshot::channel();
    let http = Box::pin(serve_http(stream, secure, shared.clone(), upgrades));
    async move {
        if tokio::time::timeout(HTTP_CONNECTION_LIFETIME, http).await.is_err() {
            debug!(%conn, "HTTP connection closed after its lifetime");
            return;
        }
        let Ok(on_upgrade) = upgraded.await else {
            return;
        };
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let max_frame = WireMode::Json.max_frame_bytes(shared.limits.max_message);
        let ws = WebSocketStream::from_raw_socket(
            BurstBuffers::new(TokioIo::new(upgraded)),
            Role::Server,
            Some(socket::config(max_frame)),
        )
        .await;
        let deadline = Instant::now() + shared.limits.handshake_timeout;
        chat(WebSocket::new(ws), admitted, shared, deadline).await;
    }
}

/// Serves requests until the client closes, the connection upgrades, or a request head is late.
async fn serve_http<S>(stream: S, secure: bool, shared: Shared, upgrades: oneshot::Sender<OnUpgrade>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let upgrades = Arc::new(Mutex::new(Some(upgrades)));
    let service = service_fn(move |request: Request<Incoming>| {
        let response = respond(request, secure, &shared, &upgrades);
        async move { Ok::<_, Infallible>(response) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Some(HEADER_READ_TIMEOUT))
        .max_buf_size(MAX_REQUEST_HEAD_BYTES)
        .keep_alive(true);
    let served = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
    if let Err(e) = served {
        debug!(error = %e, "HTTP connection ended");
    }
}

/// How long a request's head may take to arrive.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

fn respond(
    mut request: Request<Incoming>,
    secure: bool,
    shared: &Shared,
    upgrades: &Mutex<Option<oneshot::Sender<OnUpgrade>>>,
) -> Response<Body> {
    METRICS.http_request();
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD are served here\n");
    }
    match request.uri().path() {
        "/ws" => upgrade(&mut request, secure, shared, upgrades),
        "/healthz" => plain(StatusCode::OK, "ok\n"),
        "/metrics" => {
            let mut response = Response::new(Body::from(METRICS.render()));
            set(
                &mut response,
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            );
            response
        }
        path => match page::asset(path) {
            Some(asset) => page::response(asset),
            None => plain(StatusCode::NOT_FOUND, "not found\n"),
        },
    }
}

/// The WebSocket opening handshake (RFC 6455 section 4.2), once the origin is allowed.
fn upgrade(
    request: &mut Request<Incoming>,
    secure: bool,
    shared: &Shared,
    upgrades: &Mutex<Option<oneshot::Sender<OnUpgrade>>>,
) -> Response<Body> {
    let headers = request.headers();
    let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let has_token = |name: header::HeaderName, token: &str| {
        text(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
        let mut response = plain(
            StatusCode::UPGRADE_REQUIRED,
            "/ws is a WebSocket; connect to it with one\n",
        );
        set(&mut response, header::UPGRADE, "websocket");
        return response;
    }
    if text(header::SEC_WEBSOCKET_VERSION) != Some("13") {
        let mut response = plain(StatusCode::BAD_REQUEST, "only WebSocket version 13 is spoken\n");
        set(&mut response, header::SEC_WEBSOCKET_VERSION, "13");
        return response;
    }
    let Some(key) = text(header::SEC_WEBSOCKET_KEY) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "a WebSocket handshake needs Sec-WebSocket-Key\n",
        );
    };
    let origin = text(header::ORIGIN);
    if !shared.web.origins.allows(origin, text(header::HOST), secure) {
        info!(origin, "WebSocket refused: origin not allowed");
        return plain(StatusCode::FORBIDDEN, "pages from that origin may not open this chat\n");
    }
    let accept = derive_accept_key(key.as_bytes());
    let Some(upgrades) = upgrades.lock().ok().and_then(|mut slot| slot.take()) else {
        return plain(StatusCode::BAD_REQUEST, "one WebSocket per connection\n");
    };
    let _ = upgrades.send(hyper::upgrade::on(request));
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    set(&mut response, header::CONNECTION, "upgrade");
    set(&mut response, header::UPGRADE, "websocket");
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        response.headers_mut().insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    set(&mut response, header::CONTENT_TYPE, "text/plain; charset=utf-8");
    response
}

fn set(response: &mut Response<Body>, name: header::HeaderName, value: &'static str) {
    response.headers_mut().insert(name, HeaderValue::from_static(value));
}
