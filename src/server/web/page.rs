//! The chat page's files, embedded in the binary (assets/web/), and the headers they are served with.

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::header::{self, HeaderValue};

/// One embedded file.
pub struct Asset {
    body: &'static [u8],
    content_type: &'static str,
}

const INDEX: Asset = Asset {
    body: include_bytes!("../../../assets/web/index.html"),
    content_type: "text/html; charset=utf-8",
};
const SCRIPT: Asset = Asset {
    body: include_bytes!("../../../assets/web/app.js"),
    content_type: "text/javascript; charset=utf-8",
};
const STYLE: Asset = Asset {
    body: include_bytes!("../../../assets/web/style.css"),
    content_type: "text/css; charset=utf-8",
};
const ICON: Asset = Asset {
    body: include_bytes!("../../../assets/web/icon.svg"),
    content_type: "image/svg+xml",
};

/// The file at `path`, if the page has one there.
pub fn asset(path: &str) -> Option<&'static Asset> {
    match path {
        "/" | "/index.html" => Some(&INDEX),
        "/app.js" => Some(&SCRIPT),
        "/style.css" => Some(&STYLE),
        "/icon.svg" => Some(&ICON),
        _ => None,
    }
}

/// Scripts, styles and sockets from the page's own origin only, and nothing inline: a message that
/// somehow became markup could still run nothing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

pub fn response(asset: &'static Asset) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(asset.body)));
    let headers = response.headers_mut();
    let mut set = |name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::CONTENT_TYPE, asset.content_type);
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "no-referrer");
    // The page is small and changes with the binary: always ask whether it did.
    set(header::CACHE_CONTROL, "no-cache");
    response
}
