//! TLS for outgoing connections (the bilibili client's `https://` and `wss://`).
//!
//! rustls with the *ring* crypto provider. Trusted roots: the system store
//! (Debian `ca-certificates`, read with rustls-native-certs, which honours
//! `SSL_CERT_FILE` / `SSL_CERT_DIR`) plus an optional extra CA file (PEM) from
//! the config — a TLS-inspecting proxy's root, or a test CA. Plain `http://`
//! and `ws://` go over the same [`ClientTls::connect`] without TLS.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::FeedsError;

/// A byte stream the HTTP and WebSocket clients run over (plain or TLS).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connected stream, TLS or not.
pub type Stream = Box<dyn Io>;

/// The client side TLS settings, built once and shared by every connection
/// (so TLS sessions are resumed across the periodic API calls).
#[derive(Debug, Clone)]
pub struct ClientTls {
    config: Arc<rustls::ClientConfig>,
    roots: usize,
}

impl ClientTls {
    /// The system roots plus the certificates in `extra_ca_file` (PEM; every
    /// `CERTIFICATE` block in it is trusted). A missing or unreadable file,
    /// or one without a usable certificate, is a [`FeedsError::Config`];
    /// problems with the system store are only logged (a store without roots
    /// makes every handshake fail with an untrusted-certificate error).
    pub fn new(extra_ca_file: Option<&Path>) -> Result<Self, FeedsError> {
        let mut roots = rustls::RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::warn!(error = %e, "system certificate store: some roots not loaded");
        }
        let (system, ignored) = roots.add_parsable_certificates(native.certs);
        if ignored > 0 {
            tracing::warn!(ignored, "system certificate store: unusable roots ignored");
        }
        if let Some(path) = extra_ca_file {
            let added = add_pem_file(&mut roots, path)?;
            tracing::info!(file = %path.display(), added, "extra CA certificates trusted");
        }
        if roots.is_empty() {
            tracing::warn!(
                "no trusted TLS roots (install ca-certificates or set extra_ca_file): https:// and wss:// will fail"
            );
        }
        let total = roots.len();
        tracing::debug!(system, total, "TLS roots loaded");
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| FeedsError::Config(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
            roots: total,
        })
    }

    /// How many roots are trusted (system store + extra file).
    pub fn roots(&self) -> usize {
        self.roots
    }

    /// Opens a TCP connection to `host:port` and, if `tls`, runs the TLS
    /// handshake verifying the certificate for `host` (a DNS name or an IP
    /// address). A failed handshake is [`FeedsError::Tls`] naming the host.
    pub async fn connect(&self, host: &str, port: u16, tls: bool) -> Result<Stream, FeedsError> {
        // `[::1]` in a URL is `::1` on the wire and in the certificate
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let tcp = tokio::net::TcpStream::connect((host, port)).await?;
        let _ = tcp.set_nodelay(true);
        if !tls {
            return Ok(Box::new(tcp));
        }
        let tls_error = |detail: String| FeedsError::Tls {
            host: host.to_owned(),
            port,
            detail,
        };
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| tls_error(format!("not a valid server name: {e}")))?;
        let stream = tokio_rustls::TlsConnector::from(Arc::clone(&self.config))
            .connect(name, tcp)
            .await
            .map_err(|e| tls_error(describe(&e)))?;
        Ok(Box::new(stream))
    }
}

/// Adds every certificate in a PEM file; returns how many were added.
fn add_pem_file(roots: &mut rustls::RootCertStore, path: &Path) -> Result<usize, FeedsError> {
    let bad =
        |detail: String| FeedsError::Config(format!("extra_ca_file {}: {detail}", path.display()));
    let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| bad(format!("bad PEM: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| bad(format!("unusable certificate: {e}")))?;
        added += 1;
    }
    if added == 0 {
        return Err(bad("no CERTIFICATE block found".into()));
    }
    Ok(added)
}

/// The rustls error behind a failed handshake, with a hint for the common
/// case of a certificate from an unknown CA.
fn describe(e: &std::io::Error) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
            format!(
                "{e} (certificate not issued by a trusted root; add the issuing CA as extra_ca_file)"
            )
        }
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_extra_ca_file_is_a_config_error() {
        let err = ClientTls::new(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(matches!(err, FeedsError::Config(_)), "{err}");
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn extra_ca_file_without_certificates_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.pem");
        std::fs::write(&p, "not a certificate\n").unwrap();
        let err = ClientTls::new(Some(&p)).unwrap_err();
        assert!(err.to_string().contains("no CERTIFICATE block"), "{err}");
        let garbled = dir.path().join("garbled.pem");
        std::fs::write(
            &garbled,
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = ClientTls::new(Some(&garbled)).unwrap_err();
        assert!(matches!(err, FeedsError::Config(_)), "{err}");
    }

    #[test]
    fn without_extra_file_loads_the_system_store() {
        // never fails, even on a machine without ca-certificates
        let tls = ClientTls::new(None).unwrap();
        eprintln!("system roots: {}", tls.roots());
    }
}
