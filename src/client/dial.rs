//! Opening a connection to a chat server: TCP, and for `chats://` TLS over it, verified with the
//! rustls setup `get` uses (the system's roots, `--cacert`, or `-k`).

use std::sync::Arc;

use anyhow::Context as _;
use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::http::TlsOptions;
use crate::http::tls;
use crate::scheme::{Protocol, Target};

/// What events are read from.
pub type ReadHalf = Box<dyn AsyncRead + Unpin + Send>;
/// What commands are written to.
pub type WriteHalf = Box<dyn AsyncWrite + Unpin + Send>;

/// A server to connect to, and how to trust it; cloned for each reconnection.
#[derive(Clone)]
pub struct Dialer {
    target: Target,
    tls: Option<Arc<ClientConfig>>,
}

impl Dialer {
    pub fn new(target: Target, trust: &TlsOptions) -> anyhow::Result<Dialer> {
        if target.scheme.protocol() != Protocol::Chat {
            anyhow::bail!(
                "{target} is an IRC address: this client speaks the chat protocol (chat:// or chats://); use an IRC client there"
            );
        }
        let tls = if target.scheme.tls() {
            // No ALPN is offered: the chat protocol has no registered name.
            Some(tls::config_offering(trust, &[]).map_err(|failure| anyhow::anyhow!("{failure}"))?)
        } else {
            None
        };
        Ok(Dialer { target, tls })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Connects, and for TLS completes the handshake.
    pub async fn open(&self) -> anyhow::Result<(ReadHalf, WriteHalf)> {
        let authority = self.target.authority();
        let tcp = TcpStream::connect(&authority)
            .await
            .with_context(|| format!("cannot connect to {}", self.target))?;
        tcp.set_nodelay(true)?;
        let Some(config) = &self.tls else {
            let (reader, writer) = tcp.into_split();
            return Ok((Box::new(reader), Box::new(writer)));
        };
        let name = ServerName::try_from(self.target.host.clone())
            .with_context(|| format!("{} is not a name TLS can check", self.target.host))?;
        let stream = TlsConnector::from(config.clone())
            .connect(name, tcp)
            .await
            .with_context(|| format!("TLS handshake with {} failed", self.target))?;
        let (reader, writer) = tokio::io::split(stream);
        Ok((Box::new(reader), Box::new(writer)))
    }
}
