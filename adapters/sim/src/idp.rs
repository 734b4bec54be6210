//! An OpenID Connect identity provider, for tests and the demo: the authorization
//! code flow of OpenID Connect Core 1.0 (§3.1) with PKCE (RFC 7636, `S256` only),
//! discovery as OpenID Connect Discovery 1.0 §4 describes it, and the signing key as
//! a JSON Web Key Set (RFC 7517).
//!
//! - `GET /.well-known/openid-configuration` — the provider's metadata.
//! - `GET /jwks` — the public key ID tokens are signed with: an ES256 (P-256) key
//!   generated when the simulator starts, so no two runs share one.
//! - `GET /authorize` — checks `response_type=code`, the client, its registered
//!   `redirect_uri`, `scope` containing `openid` and a `S256` `code_challenge`, then
//!   shows a server-rendered login page (no script). Errors about the client or the
//!   redirect URI are shown on the page, never redirected (Core §3.1.2.6).
//! - `POST /authorize` — the login: a wrong user name or password shows the page
//!   again; a right one redirects to the client with `code` and `state`.
//! - `POST /token` — `grant_type=authorization_code`; the client authenticates with
//!   HTTP Basic (`client_secret_basic`) or in the form (`client_secret_post`); the
//!   code is single use, bound to its client and redirect URI, lives a minute, and
//!   the `code_verifier` must hash to its challenge (RFC 7636 §4.6). Errors are the
//!   JSON of RFC 6749 §5.2. The answer carries an ID token with `iss`, `sub`, `aud`,
//!   `exp`, `iat`, `auth_time`, the request's `nonce`, and the user's `name` and
//!   `desk`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Form;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A relying party registered with the provider.
#[derive(Clone, Debug)]
pub struct IdpClient {
    pub id: String,
    pub secret: String,
    pub redirect_uris: Vec<String>,
}

/// A person who can sign in.
#[derive(Clone, Debug)]
pub struct IdpUser {
    /// What the person types as user name; also the ID token's `sub`.
    pub login: String,
    pub name: String,
    /// The desk the person works for (the `desk` claim).
    pub desk: String,
    pub password: String,
}

#[derive(Clone, Debug, Default)]
pub struct IdpConfig {
    /// The issuer identifier to use, exactly as relying parties have it configured
    /// (e.g. `http://localhost:8090`); by default `http://<the address bound>`.
    pub issuer: Option<String>,
    pub clients: Vec<IdpClient>,
    pub users: Vec<IdpUser>,
}

/// What a code was issued for.
struct Grant {
    client: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    user: IdpUser,
    issued: Instant,
}

struct Shared {
    issuer: String,
    kid: String,
    key: EncodingKey,
    jwk: Value,
    config: Mutex<IdpConfig>,
    codes: Mutex<HashMap<String, Grant>>,
}

/// The running provider. Cheap to clone.
#[derive(Clone)]
pub struct IdpSim {
    shared: Arc<Shared>,
}

/// How long a code may wait for its exchange.
const CODE_LIFETIME: Duration = Duration::from_secs(60);
/// How long an ID token lives.
const TOKEN_LIFETIME_SECS: u64 = 300;

impl IdpSim {
    /// Listen on `127.0.0.1:0`.
    pub async fn spawn(config: IdpConfig) -> std::io::Result<Self> {
        Self::spawn_on(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Listen on `addr` (a fixed port, for `deskgate sim --config`).
    pub async fn spawn_on(addr: std::net::SocketAddr, config: IdpConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let issuer = match &config.issuer {
            Some(issuer) => issuer.clone(),
            None => format!("http://{}", listener.local_addr()?),
        };
        let rng = SystemRandom::new();
        let other = |e: &dyn std::fmt::Display| std::io::Error::other(format!("signing key: {e}"));
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).map_err(|e| other(&e))?;
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).map_err(|e| other(&e))?;
        // An uncompressed P-256 point: 0x04, then x and y (32 bytes each).
        let point = pair.public_key().as_ref();
        let kid = hex::encode(&Sha256::digest(point)[..8]);
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        let shared = Arc::new(Shared {
            issuer,
            kid,
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
            config: Mutex::new(config),
            codes: Mutex::default(),
        });
        let app = axum::Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize_page).post(login))
            .route("/token", post(token))
            .with_state(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "identity provider simulator stopped");
            }
        });
        Ok(Self { shared })
    }

    /// The issuer identifier (`iss`), also the base of every endpoint.
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// Register another client (its redirect URI is often known only later).
    pub fn add_client(&self, client: IdpClient) {
        lock(&self.shared.config).clients.push(client);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

async fn discovery(State(s): State<Arc<Shared>>) -> Json<Value> {
    let i = s.issuer.trim_end_matches('/');
    Json(json!({
        "issuer": s.issuer,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "scopes_supported": ["openid", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": ["authorization_code"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "name", "desk"],
    }))
}

async fn jwks(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "keys": [s.jwk] }))
}

#[derive(Clone, Debug, Default, Deserialize)]
struct AuthorizeParams {
    #[serde(default)]
    response_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    #[serde(default)]
    code_challenge: String,
    #[serde(default)]
    code_challenge_method: String,
    /// The login form's fields (POST only).
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// Why a request cannot go back to the client: shown on the page (Core §3.1.2.6).
fn check_client(s: &Shared, p: &AuthorizeParams) -> Result<(), String> {
    let config = lock(&s.config);
    let client = config.clients.iter().find(|c| c.id == p.client_id).ok_or("unknown client_id")?;
    if !client.redirect_uris.contains(&p.redirect_uri) {
        return Err("redirect_uri is not registered for this client".into());
    }
    Ok(())
}

/// Errors the client is told of, by redirect (RFC 6749 §4.1.2.1).
fn check_request(p: &AuthorizeParams) -> Result<(), (&'static str, &'static str)> {
    if p.response_type != "code" {
        return Err(("unsupported_response_type", "only response_type=code is supported"));
    }
    if !p.scope.split(' ').any(|s| s == "openid") {
        return Err(("invalid_scope", "scope must contain openid"));
    }
    if p.code_challenge_method != "S256" || p.code_challenge.len() != 43 {
        return Err(("invalid_request", "a S256 code_challenge is required (RFC 7636)"));
    }
    Ok(())
}

fn redirect_error(p: &AuthorizeParams, error: &str, description: &str) -> Response {
    let mut url = match url::Url::parse(&p.redirect_uri) {
        Ok(u) => u,
        Err(_) => return page(p, Some("redirect_uri is not a URL")).into_response(),
    };
    url.query_pairs_mut().append_pair("error", error).append_pair("error_description", description);
    if let Some(state) = &p.state {
        url.query_pairs_mut().append_pair("state", state);
    }
    Redirect::to(url.as_str()).into_response()
}

async fn authorize_page(State(s): State<Arc<Shared>>, Query(p): Query<AuthorizeParams>) -> Response {
    if let Err(e) = check_client(&s, &p) {
        return (StatusCode::BAD_REQUEST, page(&p, Some(&e))).into_response();
    }
    if let Err((error, description)) = check_request(&p) {
        return redirect_error(&p, error, description);
    }
    page(&p, None).into_response()
}

async fn login(State(s): State<Arc<Shared>>, Form(p): Form<AuthorizeParams>) -> Response {
    if let Err(e) = check_client(&s, &p) {
        return (StatusCode::BAD_REQUEST, page(&p, Some(&e))).into_response();
    }
    if let Err((error, description)) = check_request(&p) {
        return redirect_error(&p, error, description);
    }
    let user = lock(&s.config).users.iter().find(|u| u.login == p.username && u.password == p.password).cloned();
    let Some(user) = user else {
        return (StatusCode::UNAUTHORIZED, page(&p, Some("Wrong user name or password."))).into_response();
    };
    let code = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>());
    lock(&s.codes).insert(
        code.clone(),
        Grant {
            client: p.client_id.clone(),
            redirect_uri: p.redirect_uri.clone(),
            challenge: p.code_challenge.clone(),
            nonce: p.nonce.clone(),
            user,
            issued: Instant::now(),
        },
    );
    let Ok(mut url) = url::Url::parse(&p.redirect_uri) else {
        return (StatusCode::BAD_REQUEST, page(&p, Some("redirect_uri is not a URL"))).into_response();
    };
    url.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = &p.state {
        url.query_pairs_mut().append_pair("state", state);
    }
    Redirect::to(url.as_str()).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// The login page: the request's parameters ride along as hidden fields.
fn page(p: &AuthorizeParams, error: Option<&str>) -> Html<String> {
    let hidden = [
        ("response_type", p.response_type.as_str()),
        ("client_id", &p.client_id),
        ("redirect_uri", &p.redirect_uri),
        ("scope", &p.scope),
        ("state", p.state.as_deref().unwrap_or_default()),
        ("nonce", p.nonce.as_deref().unwrap_or_default()),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
    ]
    .iter()
    .map(|(k, v)| format!(r#"<input type="hidden" name="{k}" value="{}">"#, escape(v)))
    .collect::<String>();
    let error = error.map(|e| format!(r#"<p id="error" role="alert">{}</p>"#, escape(e))).unwrap_or_default();
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in</title></head><body>
<h1>Sign in</h1>{error}
<form method="post" action="/authorize">{hidden}
<label for="username">User name</label> <input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="sign-in" type="submit">Sign in</button>
</form></body></html>"#
    ))
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    code_verifier: String,
    client_id: Option<String>,
    client_secret: Option<String>,
}

fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut r = (status, Json(json!({ "error": error, "error_description": description }))).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    r
}

/// The client's id and secret: HTTP Basic (form-urlencoded parts, RFC 6749 §2.3.1)
/// or the form.
fn client_credentials(headers: &HeaderMap, form: &TokenForm) -> Option<(String, String)> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if let Some(pair) = basic {
        let (id, secret) = pair.split_once(':')?;
        let decode =
            |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
        return Some((decode(id)?, decode(secret)?));
    }
    Some((form.client_id.clone()?, form.client_secret.clone()?))
}

async fn token(State(s): State<Arc<Shared>>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    if form.grant_type != "authorization_code" {
        return token_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "only authorization_code");
    }
    let Some((client_id, secret)) = client_credentials(&headers, &form) else {
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication is required");
    };
    let known = lock(&s.config).clients.iter().any(|c| c.id == client_id && c.secret == secret);
    if !known {
        return token_error(StatusCode::UNAUTHORIZED, "invalid_client", "unknown client or wrong secret");
    }
    // Single use: the code is gone whatever follows.
    let Some(grant) = lock(&s.codes).remove(&form.code) else {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown or used code");
    };
    if grant.client != client_id || grant.redirect_uri != form.redirect_uri || grant.issued.elapsed() > CODE_LIFETIME {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant", "the code was not issued for this request");
    }
    let verifier_ok = (43..=128).contains(&form.code_verifier.len())
        && URL_SAFE_NO_PAD.encode(Sha256::digest(form.code_verifier.as_bytes())) == grant.challenge;
    if !verifier_ok {
        return token_error(StatusCode::BAD_REQUEST, "invalid_grant", "code_verifier does not match the challenge");
    }
    let now = now_secs();
    let claims = json!({
        "iss": s.issuer, "sub": grant.user.login, "aud": client_id, "exp": now + TOKEN_LIFETIME_SECS,
        "iat": now, "auth_time": now, "nonce": grant.nonce, "name": grant.user.name, "desk": grant.user.desk,
    });
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(s.kid.clone());
    let id_token = match jsonwebtoken::encode(&header, &claims, &s.key) {
        Ok(t) => t,
        Err(e) => return token_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e.to_string()),
    };
    let mut r = Json(json!({
        "access_token": URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>()),
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
        "id_token": id_token,
    }))
    .into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    r
}
