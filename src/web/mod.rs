//! The web face for people at the desks: sign-in through the desk's OpenID
//! provider ([`oidc`], [`session`], [`signed_in`]), the report intake form of local
//! desks ([`report`]) and the operator console of the national desk and the
//! suppliers ([`console`]).
//!
//! - `GET /login` — the desks that sign people in; `GET /login/{desk}` — off to that
//!   desk's provider; `GET /auth/callback` — back from it (a local desk's person to
//!   `/report`, anyone else's to `/console`); `POST /logout`.
//! - `GET|POST /report` — the form; `GET /report/{id}` — one report (after sending:
//!   the confirmation); `GET /report/mine` — the reporter's reports.
//! - `/console…` — see [`console`].
//!
//! Every page is rendered on the server and carries a strict Content-Security-Policy
//! (`default-src 'self'`, no script at all); every form carries the session's CSRF
//! token and a POST without it is refused with 403. A signed-in person acts as their
//! desk: what they see is what the desk sees through the API.

mod console;
mod form;
pub mod oidc;
mod pages;
mod report;
pub mod session;
mod signed_in;
mod text;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use serde::Deserialize;

use crate::config::Desk;
use crate::http::AppState;
use crate::model::Role;
use session::{Session, Sessions};
use signed_in::CsrfChecked;
use text::Lang;

/// The most screenshots one report takes.
pub const MAX_SCREENSHOTS: usize = 3;

/// What the web pages keep between requests.
pub struct Web {
    sessions: Sessions,
    rp: oidc::RelyingParty,
}

/// The web pages' routes, merged into the application router.
pub fn router(state: &AppState) -> Router<AppState> {
    let config = state.gateway.config();
    let web = Arc::new(Web { sessions: Sessions::new(config.gateway.tls.is_some()), rp: oidc::RelyingParty::new() });
    let largest = config.desks.values().map(|d| d.attachment_max_bytes).max().unwrap_or(0);
    // The form's text plus its screenshots, each within its desk's limit (checked per file).
    let upload_limit = usize::try_from(largest.saturating_mul(MAX_SCREENSHOTS as u64))
        .unwrap_or(usize::MAX)
        .saturating_add(256 * 1024);
    Router::new()
        .route("/login", get(login_choice))
        .route("/login/{desk}", get(login_start))
        .route("/auth/callback", get(callback))
        .route("/logout", post(logout))
        .route("/report", get(report::blank).post(report::send).layer(DefaultBodyLimit::max(upload_limit)))
        .route("/report/mine", get(report::mine))
        .route("/report/{id}", get(report::show))
        .route("/web/style.css", get(style))
        .merge(console::router())
        .layer(middleware::from_fn(security_headers))
        .layer(Extension(web))
}

/// No script, no inline style, nothing from elsewhere, not framed; pages not cached
/// (they show a person's reports) and no referrer (the callback's URL holds a code).
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn style() -> Response {
    let mut r = pages::STYLE.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    r
}

#[derive(Debug, Default, Deserialize)]
struct LangQuery {
    lang: Option<String>,
    failed: Option<String>,
}

/// A page with its status.
fn page(
    status: StatusCode,
    lang: Lang,
    title: &str,
    session: Option<&Session>,
    path: &str,
    body: maud::Markup,
) -> Response {
    (status, pages::layout(lang, title, session, path, body)).into_response()
}

/// A message page: 404 (also for what the desk may not see), 403, …
fn message(status: StatusCode, lang: Lang, session: Option<&Session>, text: &str) -> Response {
    page(status, lang, text, session, "/report", pages::message(text))
}

/// Desks whose people sign in here: every desk with an OpenID client.
fn sign_in_desks(state: &AppState) -> Vec<&Desk> {
    let config = state.gateway.config();
    config.desks.values().filter(|d| d.auth.as_ref().is_some_and(|a| a.oidc.is_some())).collect()
}

/// Where a person goes after sign-in: a local desk reports, the others operate.
fn home(role: Role) -> &'static str {
    if role == Role::Local { "/report" } else { "/console" }
}

async fn login_choice(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LangQuery>) -> Response {
    let lang = Lang::choose(q.lang.as_deref(), &headers);
    let desks: Vec<(String, String)> =
        sign_in_desks(&state).iter().map(|d| (d.id.to_string(), d.name.clone())).collect();
    page(StatusCode::OK, lang, lang.t().sign_in, None, "/login", pages::sign_in(lang, &desks, q.failed.is_some()))
}

async fn login_start(
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    Path(desk): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = Lang::choose(None, &headers);
    let Some(desk) = sign_in_desks(&state).into_iter().find(|d| d.id.as_str() == desk) else {
        return message(StatusCode::NOT_FOUND, lang, None, lang.t().not_found);
    };
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let redirect_uri = format!("{}/auth/callback", state.gateway.config().gateway.public_base(host));
    match web.rp.begin(desk, &redirect_uri).await {
        Ok((url, pending)) => {
            let cookie = web.sessions.start_login(pending);
            let mut r = Redirect::to(&url).into_response();
            r.headers_mut().insert(header::SET_COOKIE, cookie);
            r
        }
        Err(e) => {
            tracing::warn!(desk = %desk.id, error = %e, "sign-in could not start");
            message(StatusCode::BAD_GATEWAY, lang, None, lang.t().sign_in_failed)
        }
    }
}

#[derive(Debug, Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    Extension(web): Extension<Arc<Web>>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let failed = || Redirect::to("/login?failed=1").into_response();
    // Taken whatever follows: a sign-in is answered once.
    let Some(pending) = web.sessions.take_login(&headers) else { return failed() };
    if let Some(error) = &q.error {
        tracing::info!(desk = %pending.desk, error = %error.chars().take(64).collect::<String>(), "the provider refused the sign-in");
        return failed();
    }
    let (Some(code), Some(st)) = (&q.code, &q.state) else { return failed() };
    if !session::same(st, &pending.state) {
        tracing::warn!(desk = %pending.desk, "sign-in callback with another state: refused");
        return failed();
    }
    let config = state.gateway.config();
    let Some(desk) = config.desks.values().find(|d| d.id.as_str() == pending.desk) else { return failed() };
    let identity = match web.rp.finish(desk, &pending, code).await {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(desk = %desk.id, error = %e, "sign-in refused");
            return failed();
        }
    };
    // A provider shared by several desks says whose person this is.
    if identity.desk.as_deref().is_some_and(|d| d != desk.id.as_str()) {
        tracing::warn!(desk = %desk.id, "sign-in of a person of another desk: refused");
        return failed();
    }
    let cookie = web.sessions.create(desk.id.clone(), identity.name, identity.subject);
    let mut r = Redirect::to(home(desk.role)).into_response();
    r.headers_mut().append(header::SET_COOKIE, cookie);
    r.headers_mut()
        .append(header::SET_COOKIE, HeaderValue::from_static("deskgate_login=; Path=/; HttpOnly; Max-Age=0"));
    r
}

/// A form of nothing but its CSRF token.
#[derive(Debug, Deserialize)]
struct Nothing {}

async fn logout(Extension(web): Extension<Arc<Web>>, headers: HeaderMap, checked: CsrfChecked<Nothing>) -> Response {
    let CsrfChecked { who, form: Nothing {} } = checked;
    tracing::debug!(desk = %who.session.desk, "signed out");
    let cookie = web.sessions.end(&headers);
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    r
}
