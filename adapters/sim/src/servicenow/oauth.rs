//! `POST /oauth_token.do` and the check of every Table API request's credentials:
//! Basic for the REST user, Bearer for tokens the instance issued and has not expired.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::Shared;
use crate::core::http::{authorization, basic_pair};

pub(super) struct Token {
    user: String,
    expires_at: Timestamp,
}

impl Shared {
    pub(super) fn authenticate(&self, headers: &HeaderMap) -> Option<String> {
        let value = authorization(headers)?;
        if value.starts_with("Basic ") {
            let decoded = basic_pair(value)?;
            let (user, password) = decoded.split_once(':')?;
            return (user == self.config.user && password == self.config.password).then(|| user.to_owned());
        }
        let token = value.strip_prefix("Bearer ")?.trim();
        let now = self.clock.now();
        let inner = self.lock();
        inner.tokens.get(token).filter(|t| t.expires_at > now).map(|t| t.user.clone())
    }
}

pub(super) async fn oauth_token(
    State(shared): State<Arc<Shared>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let denied = || {
        (StatusCode::UNAUTHORIZED, Json(json!({"error_description": "access_denied", "error": "server_error"})))
            .into_response()
    };
    let config = &shared.config;
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("client_id") != config.oauth_client_id || field("client_secret") != config.oauth_client_secret {
        return denied();
    }
    let (user, refresh) = match field("grant_type") {
        "password" => {
            if field("username") != config.user || field("password") != config.password {
                return denied();
            }
            (config.user.clone(), Some(random_token()))
        }
        "client_credentials" => (config.user.clone(), None),
        "refresh_token" => {
            let given = field("refresh_token");
            match shared.lock().refresh_tokens.get(given) {
                Some(user) => (user.clone(), Some(given.to_owned())),
                None => return denied(),
            }
        }
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error_description": "unsupported grant_type", "error": "invalid_request"})),
            )
                .into_response();
        }
    };
    let access = random_token();
    let lifetime = config.token_lifetime_secs;
    let mut inner = shared.lock();
    let expires_at = shared.clock.now() + SignedDuration::from_secs(lifetime as i64);
    inner.tokens.insert(access.clone(), Token { user: user.clone(), expires_at });
    let mut answer = json!({
        "access_token": access,
        "scope": "useraccount",
        "token_type": "Bearer",
        "expires_in": lifetime,
    });
    if let Some(refresh) = refresh {
        inner.refresh_tokens.insert(refresh.clone(), user);
        answer["refresh_token"] = Value::String(refresh);
    }
    Json(answer).into_response()
}

fn random_token() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}
