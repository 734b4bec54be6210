//! Who a page request comes from: [`SignedIn`] (the session, the page's language
//! and the desk the person acts as), and [`CsrfChecked`], a form posted by that
//! person with the session's CSRF token. Every page handler starts with one of them,
//! so none repeats the sign-in check or forgets the token.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, RequestExt};
use serde::de::DeserializeOwned;

use super::session::{self, Session};
use super::text::Lang;
use super::{Web, message};
use crate::auth::DeskPrincipal;
use crate::http::AppState;
use crate::model::Role;

/// A signed-in person: without a live session the request is answered with a
/// redirect to `/login`.
#[derive(Clone, Debug)]
pub struct SignedIn {
    pub session: Session,
    /// `?lang=`, else the browser's `Accept-Language`, else Danish.
    pub lang: Lang,
    /// The person acts as their desk: what they see is what the desk sees.
    pub desk: DeskPrincipal,
}

impl SignedIn {
    pub fn role(&self) -> Role {
        self.desk.role
    }

    /// A message page (403, 404, …) for this person.
    pub fn message(&self, status: StatusCode, text: &str) -> Response {
        message(status, self.lang, Some(&self.session), text)
    }

    /// 404 in this person's language (also for what their desk may not see).
    pub fn not_found(&self) -> Response {
        self.message(StatusCode::NOT_FOUND, self.lang.t().not_found)
    }

    /// `Ok` when `token` is this session's CSRF token, else the 403 page.
    pub fn check_csrf(&self, token: Option<&str>) -> Result<(), Box<Response>> {
        if token.is_some_and(|t| session::same(t, &self.session.csrf)) {
            Ok(())
        } else {
            Err(Box::new(self.message(StatusCode::FORBIDDEN, self.lang.t().forbidden_csrf)))
        }
    }
}

/// The `lang` parameter of a query string.
pub(super) fn lang_param(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == "lang").map(|(_, v)| v.into_owned())
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let lang = Lang::choose(lang_param(parts.uri.query()).as_deref(), &parts.headers);
        let to_login = || Redirect::to("/login").into_response();
        let Some(web) = parts.extensions.get::<Arc<Web>>() else { return Err(to_login()) };
        let Some(session) = web.sessions.get(&parts.headers) else { return Err(to_login()) };
        // A desk removed from the configuration since sign-in signs its people out.
        let Some(role) = state.gateway.desk(&session.desk).map(|d| d.role) else { return Err(to_login()) };
        let desk = DeskPrincipal { desk: session.desk.clone(), role };
        Ok(SignedIn { session, lang, desk })
    }
}

/// A signed-in person's url-encoded form, its `csrf` field checked before anything else of it
/// is read: a form from elsewhere gets the 403 page and changes nothing.
pub struct CsrfChecked<T> {
    pub who: SignedIn,
    pub form: T,
}

#[derive(serde::Deserialize)]
struct TokenOnly {
    csrf: Option<String>,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for CsrfChecked<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let who = SignedIn::from_request_parts(&mut parts, state).await?;
        let content_type = parts.headers.get(header::CONTENT_TYPE).cloned();
        let bytes = Request::from_parts(parts, body)
            .extract::<axum::body::Bytes, _>()
            .await
            .map_err(|_| who.message(StatusCode::BAD_REQUEST, who.lang.t().not_found))?;
        let form_of = |bytes: axum::body::Bytes| {
            let mut r = Request::new(Body::from(bytes));
            if let Some(ct) = &content_type {
                r.headers_mut().insert(header::CONTENT_TYPE, ct.clone());
            }
            r
        };
        let token = Form::<TokenOnly>::from_request(form_of(bytes.clone()), &()).await.ok().map(|f| f.0);
        who.check_csrf(token.as_ref().and_then(|t| t.csrf.as_deref())).map_err(|r| *r)?;
        match Form::<T>::from_request(form_of(bytes), &()).await {
            Ok(Form(form)) => Ok(CsrfChecked { who, form }),
            Err(e) => {
                tracing::info!(error = %e.body_text(), "a web form could not be read");
                Err(who.message(StatusCode::BAD_REQUEST, who.lang.t().err_choice))
            }
        }
    }
}
