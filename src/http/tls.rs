//! HTTPS: a rustls client over a TCP stream, verifying the server against the system's roots, a
//! `--cacert` file, or (with `--insecure`) not at all.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme, StreamOwned};

use crate::http::failure::{Failure, Kind};

/// How to trust servers.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// PEM certificates to trust instead of the system's roots.
    pub cacert: Option<PathBuf>,
    /// Trust any certificate (`-k`).
    pub insecure: bool,
}

/// The configuration for HTTPS: `options`' trust, offering HTTP/1.1.
pub fn config(options: &TlsOptions) -> Result<Arc<ClientConfig>, Failure> {
    config_offering(options, &[b"http/1.1"])
}

/// A client configuration with `options`' trust, offering the application protocols `alpn` (ALPN);
/// the chat client shares it with `get`.
pub fn config_offering(options: &TlsOptions, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>, Failure> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Failure::new(Kind::Tls, e.to_string()))?;
    let mut config = if options.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(TrustAnything(provider)))
            .with_no_client_auth()
    } else {
        builder.with_root_certificates(roots(options)?).with_no_client_auth()
    };
    config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    Ok(Arc::new(config))
}

fn roots(options: &TlsOptions) -> Result<RootCertStore, Failure> {
    let mut roots = RootCertStore::empty();
    match &options.cacert {
        Some(path) => {
            let bad = |e: &dyn std::fmt::Display| {
                Failure::new(
                    Kind::Certificate,
                    format!("cannot use --cacert {}: {e}", path.display()),
                )
            };
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(&e))? {
                roots.add(cert.map_err(|e| bad(&e))?).map_err(|e| bad(&e))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
        }
    }
    if roots.is_empty() {
        return Err(Failure::new(Kind::Certificate, "no trusted certificates were found"));
    }
    Ok(roots)
}

/// Completes the handshake with `host` over `tcp`.
pub fn handshake<S: Read + Write>(
    config: Arc<ClientConfig>,
    host: &str,
    mut tcp: S,
) -> Result<StreamOwned<ClientConnection, S>, Failure> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| Failure::new(Kind::Tls, format!("{host} is not a name TLS can check: {e}")))?;
    let mut session = ClientConnection::new(config, name).map_err(|e| Failure::new(Kind::Tls, e.to_string()))?;
    while session.is_handshaking() {
        session.complete_io(&mut tcp).map_err(handshake_failure)?;
    }
    Ok(StreamOwned::new(session, tcp))
}

fn handshake_failure(error: io::Error) -> Failure {
    let tls = error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidCertificate(why)) => Failure::new(
            Kind::Certificate,
            format!("the server's certificate was not accepted: {why:?}"),
        ),
        Some(other) => Failure::new(Kind::Tls, format!("TLS handshake failed: {other}")),
        None if matches!(error.kind(), io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock) => {
            Failure::new(Kind::Timeout, "timed out in the TLS handshake")
        }
        None => Failure::new(Kind::Tls, format!("TLS handshake failed: {error}")),
    }
}

/// `--insecure`: any certificate is accepted, though handshake signatures are still checked.
#[derive(Debug)]
struct TrustAnything(Arc<CryptoProvider>);

impl ServerCertVerifier for TrustAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
