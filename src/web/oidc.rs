//! The gateway as an OpenID Connect relying party: the authorization code flow
//! (OpenID Connect Core 1.0 §3.1) with PKCE `S256` (RFC 7636) against each desk's
//! provider — the desk's `auth.issuer`, found by discovery (OpenID Connect
//! Discovery 1.0 §4) — and the ID token checked as Core §3.1.3.7 asks: signature
//! by a key of the provider's JWKS (asymmetric algorithms only), `iss`, `aud`,
//! `exp`, and the `nonce` of this sign-in.
//!
//! Metadata and keys are fetched when someone first signs in, not at start, so a
//! provider that is down stops only sign-in; the keys are fetched again once when
//! a token names a key the cached set lacks (the provider rotated them).
//!
//! Why not the `openidconnect` crate (weighed against this client, 2026-12): with
//! `default-features = false, features = ["reqwest"]` on the workspace's reqwest it
//! pulls in no openssl-sys and no aws-lc-rs, but it does not keep the build light.
//! 4.0.1 adds 47 crates to what deskgate builds (268 → 315): chrono beside jiff,
//! serde_with with the darling proc macros, thiserror 1 beside 2, base64 0.21 beside
//! 0.22, and verifiers for every JOSE algorithm (rsa with num-bigint-dig,
//! ed25519-dalek with curve25519-dalek, p256, p384). 4.1.0 adds about 60, among them a
//! second RustCrypto generation (digest 0.11, sha2 0.11, hmac 0.13, signature 3).
//! Its features also change how url and rustls are built, so adding it rebuilds
//! those and every crate above them.
//! The `desk` claim would also need a custom `AdditionalClaims` type and with it a
//! `Client` alias spelled out in its fifteen type parameters. What this module checks
//! (discovery's issuer, PKCE `S256`, `state`, `nonce`, signature by a JWKS key,
//! asymmetric algorithms only, `iss`, `aud`, `exp`) is what the crate would check
//! for this flow; jsonwebtoken, already a dependency, verifies the ES256 tokens.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::config::{Desk, web::OidcClient};

/// What could not be done; said to the person without secrets or tokens.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider could not be reached or answered unexpectedly: {0}")]
    Provider(String),
    #[error("the sign-in could not be verified: {0}")]
    Invalid(String),
}

#[derive(Clone, Debug, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

struct Provider {
    metadata: Metadata,
    keys: JwkSet,
}

/// A sign-in under way: what the callback must match.
#[derive(Clone, Debug)]
pub struct Pending {
    pub desk: String,
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub redirect_uri: String,
}

/// Who signed in, from the verified ID token.
#[derive(Clone, Debug)]
pub struct Identity {
    pub subject: String,
    pub name: String,
    /// The `desk` claim, when the provider sends one.
    pub desk: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    nonce: Option<String>,
    name: Option<String>,
    desk: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: String,
}

/// The providers of every desk that signs people in, by issuer.
pub struct RelyingParty {
    http: reqwest::Client,
    providers: Mutex<HashMap<String, std::sync::Arc<Provider>>>,
}

/// A random URL-safe string of `n` bytes of entropy.
pub fn random(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The signing algorithms an ID token may use: never `none`, never a shared secret.
const ASYMMETRIC: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

impl RelyingParty {
    pub fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { http, providers: Mutex::default() }
    }

    async fn provider(&self, issuer: &str, refresh: bool) -> Result<std::sync::Arc<Provider>, OidcError> {
        if !refresh {
            if let Some(p) = self.lock().get(issuer) {
                return Ok(p.clone());
            }
        }
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let metadata: Metadata = self.get_json(&url).await?;
        // Discovery §4.3: the issuer in the metadata must be the one asked for.
        if metadata.issuer != issuer {
            return Err(OidcError::Provider(format!("the metadata names issuer {:?}", metadata.issuer)));
        }
        let keys: JwkSet = self.get_json(&metadata.jwks_uri).await?;
        let provider = std::sync::Arc::new(Provider { metadata, keys });
        self.lock().insert(issuer.to_owned(), provider.clone());
        Ok(provider)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, std::sync::Arc<Provider>>> {
        self.providers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let answer = self.http.get(url).send().await.map_err(|e| OidcError::Provider(e.without_url().to_string()))?;
        if !answer.status().is_success() {
            return Err(OidcError::Provider(format!("{url} answered {}", answer.status())));
        }
        answer.json().await.map_err(|e| OidcError::Provider(format!("{url}: {}", e.without_url())))
    }

    /// Where to send the person, and what the callback must match.
    pub async fn begin(&self, desk: &Desk, redirect_uri: &str) -> Result<(String, Pending), OidcError> {
        let (issuer, client) = client_of(desk)?;
        let provider = self.provider(issuer, false).await?;
        let pending = Pending {
            desk: desk.id.to_string(),
            state: random(24),
            nonce: random(24),
            verifier: random(48),
            redirect_uri: redirect_uri.to_owned(),
        };
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
        let mut url = url::Url::parse(&provider.metadata.authorization_endpoint)
            .map_err(|_| OidcError::Provider("the authorization endpoint is not a URL".into()))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &client.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", "openid profile")
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok((url.into(), pending))
    }

    /// Exchange the code and verify the ID token against the sign-in it ends.
    pub async fn finish(&self, desk: &Desk, pending: &Pending, code: &str) -> Result<Identity, OidcError> {
        let (issuer, client) = client_of(desk)?;
        let provider = self.provider(issuer, false).await?;
        // RFC 6749 §2.3.1: id and secret form-urlencoded, then HTTP Basic.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let answer = self
            .http
            .post(&provider.metadata.token_endpoint)
            .basic_auth(enc(&client.client_id), Some(enc(client.client_secret.expose())))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &pending.redirect_uri),
                ("code_verifier", &pending.verifier),
            ])
            .send()
            .await
            .map_err(|e| OidcError::Provider(e.without_url().to_string()))?;
        if !answer.status().is_success() {
            return Err(OidcError::Invalid(format!("the token endpoint refused the code ({})", answer.status())));
        }
        let token: TokenAnswer =
            answer.json().await.map_err(|_| OidcError::Provider("the token answer carries no id_token".into()))?;
        let header = jsonwebtoken::decode_header(&token.id_token)
            .map_err(|_| OidcError::Invalid("the ID token is not a JWT".into()))?;
        if !ASYMMETRIC.contains(&header.alg) {
            return Err(OidcError::Invalid(format!("ID tokens signed with {:?} are not accepted", header.alg)));
        }
        let key = match find_key(&provider.keys, header.kid.as_deref()) {
            Some(k) => k,
            None => find_key(&self.provider(issuer, true).await?.keys, header.kid.as_deref())
                .ok_or_else(|| OidcError::Invalid("the ID token's key is not in the provider's key set".into()))?,
        };
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[&client.client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<IdClaims>(&token.id_token, &key, &validation)
            .map_err(|e| OidcError::Invalid(e.to_string()))?
            .claims;
        if claims.nonce.as_deref() != Some(pending.nonce.as_str()) {
            return Err(OidcError::Invalid("the ID token's nonce is not this sign-in's".into()));
        }
        Ok(Identity { name: claims.name.unwrap_or_else(|| claims.sub.clone()), subject: claims.sub, desk: claims.desk })
    }
}

impl Default for RelyingParty {
    fn default() -> Self {
        Self::new()
    }
}

fn client_of(desk: &Desk) -> Result<(&str, &OidcClient), OidcError> {
    desk.auth
        .as_ref()
        .and_then(|a| a.oidc.as_ref().map(|c| (a.issuer.as_str(), c)))
        .ok_or_else(|| OidcError::Invalid(format!("desk {} has no sign-in configured", desk.id)))
}

fn find_key(keys: &JwkSet, kid: Option<&str>) -> Option<DecodingKey> {
    let jwk = match kid {
        Some(kid) => keys.find(kid)?,
        None if keys.keys.len() == 1 => &keys.keys[0],
        None => return None,
    };
    DecodingKey::from_jwk(jwk).ok()
}
