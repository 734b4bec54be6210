//! TLS on the inbound side: client certificates and their fingerprints.
//!
//! Owns [`ClientCertificate`] (the peer's certificate, put into every request's
//! extensions so the desk extractor can require it). [`TlsSettings`] (built once at
//! configuration load, so `check-config` finds an unreadable certificate or a key
//! that does not match it) is re-exported here. The settings live in `crate::config::tls`, serving in
//! `crate::server::serve_tls`.
//!
//! Client certificates are *requested*, never required at the TLS layer: a desk is
//! only required to present one when its configuration pins it
//! (`client_cert_sha256`), and that is decided per request, after the desk's JWT
//! says who is calling. A certificate that does not chain to `client_ca` fails the
//! handshake.

use rustls::pki_types::CertificateDer;
use sha2::{Digest, Sha256};

// The settings are configuration (loaded and checked with it); serving over them is
// `crate::server::serve_tls`.
pub use crate::config::tls::{TlsProblem, TlsSettings, format_fingerprint, parse_fingerprint};

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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Secret;

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
