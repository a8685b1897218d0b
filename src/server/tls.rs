//! The server's certificate chain and key for its TLS listeners: loaded at start (a bad pair stops
//! the server), reloaded on SIGHUP for new connections (a bad new pair keeps the old one, and says
//! why), while connections already open keep the pair they were opened with.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context as _, bail};
use rustls::ServerConfig;
use rustls::crypto::ring;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Where the PEM files are: the chain (leaf first) and its private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The pair in force, swapped whole on reload.
pub struct Certificates {
    files: TlsFiles,
    current: RwLock<Arc<ServerConfig>>,
}

impl Certificates {
    pub fn load(files: TlsFiles) -> anyhow::Result<Certificates> {
        let config = server_config(&files)?;
        Ok(Certificates {
            files,
            current: RwLock::new(config),
        })
    }

    /// Reads the files again; on any error the pair in force stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let config = server_config(&self.files)?;
        match self.current.write() {
            Ok(mut current) => *current = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
        Ok(())
    }

    /// What to accept the next connection with.
    pub fn acceptor(&self) -> TlsAcceptor {
        let config = match self.current.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        TlsAcceptor::from(config)
    }
}

fn server_config(files: &TlsFiles) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = read_chain(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("cannot read a private key from --tls-key {}", files.key.display()))?;
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .with_context(|| {
            format!(
                "--tls-cert {} and --tls-key {} do not make a usable pair",
                files.cert.display(),
                files.key.display()
            )
        })?;
    Ok(Arc::new(config))
}

fn read_chain(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let context = || format!("cannot read certificates from --tls-cert {}", path.display());
    let chain = CertificateDer::pem_file_iter(path)
        .with_context(context)?
        .collect::<Result<Vec<_>, _>>()
        .with_context(context)?;
    if chain.is_empty() {
        bail!("--tls-cert {} holds no certificate", path.display());
    }
    Ok(chain)
}

/// Reloads `certificates` on every SIGHUP until `shutdown`.
pub async fn reload_on_hangup(certificates: Arc<Certificates>, shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(hangups) => hangups,
            Err(e) => {
                warn!(error = %e, "cannot listen for SIGHUP; certificates will not be reloaded");
                return;
            }
        };
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                received = hangups.recv() => if received.is_none() { return },
            }
            match certificates.reload() {
                Ok(()) => info!("reloaded the TLS certificate and key"),
                Err(e) => warn!("kept the TLS certificate and key in force: {e:#}"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (certificates, shutdown.cancelled().await);
}
