//! The gateway as an OpenID Connect relying party, on the `openidconnect` crate: the
//! authorization code flow (OpenID Connect Core 1.0 §3.1) with PKCE `S256` (RFC 7636)
//! against each desk's provider — the desk's `auth.issuer`, found by discovery
//! (OpenID Connect Discovery 1.0 §4, whose metadata must name that issuer) — and the
//! ID token checked as Core §3.1.3.7 asks: signature by a key of the provider's JWKS
//! (asymmetric algorithms only: never `none`, never the client secret as an HMAC
//! key), `iss`, `aud`, `exp`, and the `nonce` of this sign-in. The provider's
//! `desk` claim rides along as an additional claim.
//!
//! Metadata and keys are fetched when someone first signs in, not at start, so a
//! provider that is down stops only sign-in; they are fetched again once when a
//! token's signature does not verify with the cached keys (the provider rotated them).
//!
//! The crate's weight, measured when it was adopted: with `default-features = false,
//! features = ["reqwest"]` on the workspace's reqwest it brings no openssl-sys and no
//! aws-lc-rs (pure Rust); 4.0.1 adds 47 crates to what deskgate builds (268 → 315:
//! chrono, serde_with, and verifiers for every JOSE algorithm). 4.1.0 would add a
//! second RustCrypto generation (digest 0.11, sha2 0.11, …), hence the pinned 4.0.1.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, Client, ClientId, ClientSecret, CsrfToken,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, StandardErrorResponse,
    StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::config::{Desk, web::OidcClient};

/// What could not be done; said to the person without secrets or tokens.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider could not be reached or answered unexpectedly: {0}")]
    Provider(String),
    #[error("the sign-in could not be verified: {0}")]
    Invalid(String),
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

/// The ID token's claim beyond the standard ones: whose person this is, when one
/// provider serves several desks.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
struct DeskClaim {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    desk: Option<String>,
}

impl AdditionalClaims for DeskClaim {}

type TokenAnswer = StandardTokenResponse<
    IdTokenFields<
        DeskClaim,
        EmptyExtraTokenFields,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    >,
    CoreTokenType,
>;

/// `CoreClient` with the `desk` claim, as discovery sets its endpoints.
type DeskClient = Client<
    DeskClaim,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenAnswer,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// The signing algorithms an ID token may use: never `none`, never a shared secret.
const ASYMMETRIC: [CoreJwsSigningAlgorithm; 8] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
];

/// The providers of every desk that signs people in, by issuer.
pub struct RelyingParty {
    http: reqwest::Client,
    providers: Mutex<HashMap<String, Arc<CoreProviderMetadata>>>,
}

/// A random URL-safe string of `n` bytes of entropy.
pub fn random(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    URL_SAFE_NO_PAD.encode(bytes)
}

impl RelyingParty {
    pub fn new() -> Self {
        // No redirects: a provider's answer is taken as it is (and cannot send the
        // gateway's requests elsewhere).
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { http, providers: Mutex::default() }
    }

    async fn provider(&self, issuer: &str, refresh: bool) -> Result<Arc<CoreProviderMetadata>, OidcError> {
        if !refresh {
            if let Some(p) = self.providers.lock().get(issuer) {
                return Ok(p.clone());
            }
        }
        let url = IssuerUrl::new(issuer.to_owned())
            .map_err(|_| OidcError::Provider("the desk's issuer is not a URL".into()))?;
        // Also checks that the metadata names the issuer asked for (Discovery §4.3),
        // and fetches the keys.
        let metadata = CoreProviderMetadata::discover_async(url, &self.http)
            .await
            .map_err(|e| OidcError::Provider(error_chain(&e)))?;
        let provider = Arc::new(metadata);
        self.providers.lock().insert(issuer.to_owned(), provider.clone());
        Ok(provider)
    }

    /// Where to send the person, and what the callback must match.
    pub async fn begin(&self, desk: &Desk, redirect_uri: &str) -> Result<(String, Pending), OidcError> {
        let (issuer, client) = client_of(desk)?;
        let rp = rp_client(&*self.provider(issuer, false).await?, client, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        // The crate asks for `openid`; `profile` for the person's name.
        let (url, state, nonce) = rp
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                || CsrfToken::new(random(24)),
                || Nonce::new(random(24)),
            )
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let pending = Pending {
            desk: desk.id.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            redirect_uri: redirect_uri.to_owned(),
        };
        Ok((url.into(), pending))
    }

    /// Exchange the code and verify the ID token against the sign-in it ends.
    pub async fn finish(&self, desk: &Desk, pending: &Pending, code: &str) -> Result<Identity, OidcError> {
        let (issuer, client) = client_of(desk)?;
        let rp = rp_client(&*self.provider(issuer, false).await?, client, &pending.redirect_uri)?;
        // The client authenticates with HTTP Basic, id and secret form-urlencoded (RFC 6749 §2.3.1).
        let token = rp
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Provider(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => {
                    OidcError::Invalid(format!("the token endpoint refused the code ({})", r.error()))
                }
                other => OidcError::Provider(error_chain(&other)),
            })?;
        let id_token =
            token.id_token().ok_or_else(|| OidcError::Provider("the token answer carries no id_token".into()))?;
        let nonce = Nonce::new(pending.nonce.clone());
        let verified =
            |rp: &DeskClient| id_token.claims(&rp.id_token_verifier().set_allowed_algs(ASYMMETRIC), &nonce).cloned();
        let claims = match verified(&rp) {
            Ok(c) => c,
            // Keys the cached set lacks: the provider may have rotated them; read them once more.
            Err(ClaimsVerificationError::SignatureVerification(_)) => {
                let fresh = rp_client(&*self.provider(issuer, true).await?, client, &pending.redirect_uri)?;
                verified(&fresh).map_err(|e| OidcError::Invalid(e.to_string()))?
            }
            Err(e) => return Err(OidcError::Invalid(e.to_string())),
        };
        let subject = claims.subject().to_string();
        let name = claims.name().and_then(|n| n.get(None)).map(|n| n.to_string()).unwrap_or_else(|| subject.clone());
        Ok(Identity { subject, name, desk: claims.additional_claims().desk.clone() })
    }
}

impl Default for RelyingParty {
    fn default() -> Self {
        Self::new()
    }
}

/// The gateway's client at a provider, coming back to `redirect_uri`.
fn rp_client(
    metadata: &CoreProviderMetadata,
    client: &OidcClient,
    redirect_uri: &str,
) -> Result<DeskClient, OidcError> {
    let redirect = RedirectUrl::new(redirect_uri.to_owned())
        .map_err(|_| OidcError::Provider("the callback address is not a URL".into()))?;
    Ok(DeskClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(client.client_id.clone()),
        Some(ClientSecret::new(client.client_secret.expose().to_owned())),
    )
    .set_redirect_uri(redirect))
}

/// An error and its causes on one line (the crate's errors name the step; their
/// sources say what went wrong). Never a secret: none is in a request the crate
/// describes.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn client_of(desk: &Desk) -> Result<(&str, &OidcClient), OidcError> {
    desk.auth
        .as_ref()
        .and_then(|a| a.oidc.as_ref().map(|c| (a.issuer.as_str(), c)))
        .ok_or_else(|| OidcError::Invalid(format!("desk {} has no sign-in configured", desk.id)))
}
