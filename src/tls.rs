//! TLS on the inbound side: loading the server certificate and key, requesting
//! client certificates, and serving the router over rustls.
//!
//! Owns [`TlsSettings`] (built once at configuration load, so `check-config` finds an
//! unreadable certificate or a key that does not match it), [`ClientCertificate`]
//! (the peer's certificate, put into every request's extensions so the desk
//! extractor can require it) and [`serve`]. It uses the ring crypto provider only.
//!
//! Client certificates are *requested*, never required at the TLS layer: a desk is
//! only required to present one when its configuration pins it
//! (`client_cert_sha256`), and that is decided per request, after the desk's JWT
//! says who is calling. A certificate that does not chain to `client_ca` fails the
//! handshake.

use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::config::Secret;

/// The inbound TLS configuration, ready to serve. `Debug` names the files only:
/// the private key is never shown.
#[derive(Clone)]
pub struct TlsSettings {
    /// The certificate chain file (server certificate first).
    pub cert: PathBuf,
    /// CA certificates client certificates must chain to, when they are requested.
    pub client_ca: Option<PathBuf>,
    server: Arc<ServerConfig>,
}

impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("cert", &self.cert)
            .field("key", &"***")
            .field("client_ca", &self.client_ca)
            .finish()
    }
}

/// A problem with the TLS configuration, naming the key (`cert`, `key`,
/// `client_ca`) it is about. Messages never contain key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct TlsProblem {
    pub key: &'static str,
    pub message: String,
}

fn problem(key: &'static str, message: impl Into<String>) -> TlsProblem {
    TlsProblem { key, message: message.into() }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certificates(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsProblem> {
    let bytes = std::fs::read(path).map_err(|e| problem(key, format!("cannot read {}: {e}", path.display())))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(key, format!("{} is not a PEM certificate file: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(problem(key, format!("{} contains no PEM certificate", path.display())));
    }
    Ok(certs)
}

impl TlsSettings {
    /// Load and check everything: the chain parses, the key parses and belongs to
    /// the first certificate, the client CA parses. Every problem is returned.
    pub fn load(cert: &Path, key: &Secret, client_ca: Option<&Path>) -> Result<TlsSettings, Vec<TlsProblem>> {
        let provider = provider();
        let mut problems = Vec::new();
        let chain = read_certificates("cert", cert).map_err(|p| problems.push(p)).ok();
        // The key's own parse errors could quote it; say only what was expected.
        let private = PrivateKeyDer::from_pem_slice(key.expose().as_bytes())
            .map_err(|_| problems.push(problem("key", "expected a PEM private key (PKCS#8, PKCS#1 or SEC1)")))
            .ok();
        let roots = client_ca.and_then(|path| {
            let certs = read_certificates("client_ca", path).map_err(|p| problems.push(p)).ok()?;
            let mut roots = RootCertStore::empty();
            for c in certs {
                if let Err(e) = roots.add(c) {
                    problems
                        .push(problem("client_ca", format!("{}: not a usable CA certificate: {e}", path.display())));
                    return None;
                }
            }
            Some(roots)
        });
        let (Some(chain), Some(private)) = (chain, private) else { return Err(problems) };
        let certified = match CertifiedKey::from_der(chain, private, &provider) {
            Ok(c) => c,
            Err(rustls::Error::InconsistentKeys(_)) => {
                problems.push(problem("key", format!("does not belong to the certificate in {}", cert.display())));
                return Err(problems);
            }
            Err(_) => {
                problems
                    .push(problem("key", "not a private key this gateway can use (RSA, ECDSA P-256/P-384 or Ed25519)"));
                return Err(problems);
            }
        };
        if client_ca.is_some() && roots.is_none() {
            return Err(problems);
        }
        let builder = match ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()
        {
            Ok(b) => b,
            Err(e) => {
                problems.push(problem("cert", format!("no usable TLS protocol version: {e}")));
                return Err(problems);
            }
        };
        let builder = match roots {
            Some(roots) => {
                match WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                    .allow_unauthenticated()
                    .build()
                {
                    Ok(verifier) => builder.with_client_cert_verifier(verifier),
                    Err(e) => {
                        problems.push(problem("client_ca", format!("cannot verify client certificates with it: {e}")));
                        return Err(problems);
                    }
                }
            }
            None => builder.with_no_client_auth(),
        };
        let mut server = builder.with_cert_resolver(Arc::new(SingleCert(Arc::new(certified))));
        server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(TlsSettings { cert: cert.to_owned(), client_ca: client_ca.map(Path::to_owned), server: Arc::new(server) })
    }

    /// Whether client certificates are requested (a `client_ca` is configured).
    pub fn requests_client_certificates(&self) -> bool {
        self.client_ca.is_some()
    }

    pub fn server_config(&self) -> Arc<ServerConfig> {
        self.server.clone()
    }
}

/// Serves one certificate chain and key to every client.
#[derive(Debug)]
struct SingleCert(Arc<CertifiedKey>);

impl rustls::server::ResolvesServerCert for SingleCert {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// The certificate a client presented on this connection, verified against
/// `gateway.tls.client_ca`. Present in a request's extensions only when there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertificate {
    /// SHA-256 of the certificate's DER encoding.
    pub sha256: [u8; 32],
}

impl ClientCertificate {
    pub fn of(der: &CertificateDer<'_>) -> Self {
        Self { sha256: Sha256::digest(der.as_ref()).into() }
    }

    /// `AB:CD:…`, the way `openssl x509 -noout -fingerprint -sha256` prints it.
    pub fn fingerprint(&self) -> String {
        format_fingerprint(&self.sha256)
    }
}

/// Upper-case hex pairs separated by colons.
pub fn format_fingerprint(sha256: &[u8; 32]) -> String {
    sha256.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// A SHA-256 fingerprint as 64 hex digits, with or without `:` between pairs, in
/// either case.
pub fn parse_fingerprint(text: &str) -> Result<[u8; 32], String> {
    let hex_digits: String = text.trim().chars().filter(|c| *c != ':').collect();
    let bytes = hex::decode(&hex_digits).map_err(|_| {
        format!("expected a SHA-256 fingerprint: 64 hex digits, optionally in pairs separated by ':', got {text:?}")
    })?;
    bytes.try_into().map_err(|b: Vec<u8>| format!("expected 32 bytes (64 hex digits) of SHA-256, got {}", b.len()))
}

/// Serve `app` over TLS on `listener` until `shutdown` completes; connections in
/// flight finish first. The peer certificate, if any, is put into each request's
/// extensions as a [`ClientCertificate`]. Connections are bounded as
/// [`crate::server`] describes; the handshake must finish within the header timeout.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: &TlsSettings,
    http: &crate::config::HttpSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls.server_config());
    crate::server::serve(listener, app, http, Some(acceptor), shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_with_and_without_colons() {
        let plain = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_fingerprint(&plain).unwrap(), [0xab; 32]);
        assert_eq!(parse_fingerprint(&colons).unwrap(), [0xab; 32]);
        assert_eq!(format_fingerprint(&[0xab; 32]), colons);
        assert!(parse_fingerprint("ab:cd").is_err());
        assert!(parse_fingerprint(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn debug_never_shows_the_key() {
        let problems =
            TlsSettings::load(Path::new("/nonexistent.pem"), &Secret::new("PRIVATE-KEY-TEXT"), None).unwrap_err();
        let text = format!("{problems:?}");
        assert!(!text.contains("PRIVATE-KEY-TEXT"), "{text}");
        assert!(problems.iter().any(|p| p.key == "cert"), "{text}");
        assert!(problems.iter().any(|p| p.key == "key"), "{text}");
    }
}
