//! `[gateway.tls]` resolved: the server certificate and key loaded and checked at
//! configuration load, so `check-config` finds an unreadable certificate or a key
//! that does not match it. Uses the ring crypto provider only. Serving is
//! `crate::server`'s; client certificates are `crate::tls`'s.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;

use super::Secret;

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
