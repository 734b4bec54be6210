//! An HTTP SMS gateway that keeps what it is asked to send, for tests and the demo:
//! `POST /messages` with a JSON `{"to", "body", "reference"}` and, when the
//! simulator has a token, `Authorization: Bearer <token>`. It answers `202` with a
//! message id, `401` to a wrong or missing token, `400` to a body without `to` or
//! `body`, and `503` (with `Retry-After: 0`) while failures are queued by
//! [`SmsSim::fail_next`]. A second message with the same `reference` is answered as
//! accepted and not kept again, as real gateways de-duplicate.
//!
//! It models no one product: the request is the one `[gateway.sms]` sends (its JSON
//! body and Bearer token); the answers are the ones HTTP gateways commonly give, with
//! `Retry-After` as RFC 9110 defines it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::core::record::Log;

/// One text the gateway accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sms {
    pub to: String,
    pub body: String,
    pub reference: Option<String>,
}

#[derive(Clone)]
struct Shared {
    messages: Log<Sms>,
    token: Option<String>,
    failures: Arc<AtomicUsize>,
}

/// The running SMS gateway. Cheap to clone.
#[derive(Clone)]
pub struct SmsSim {
    shared: Shared,
    url: String,
}

impl SmsSim {
    /// Listen on `127.0.0.1:0`; with `token`, only requests bearing it are taken.
    pub async fn spawn(token: Option<&str>) -> std::io::Result<Self> {
        Self::spawn_on("127.0.0.1:0".parse().expect("an address"), token).await
    }

    /// Listen on `addr` (a fixed port, for `deskgate sim --config`).
    pub async fn spawn_on(addr: std::net::SocketAddr, token: Option<&str>) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let url = format!("http://{}/messages", listener.local_addr()?);
        let shared = Shared {
            messages: Log::default(),
            token: token.map(str::to_owned),
            failures: Arc::new(AtomicUsize::new(0)),
        };
        let app = axum::Router::new().route("/messages", post(send)).with_state(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "sms simulator stopped");
            }
        });
        Ok(Self { shared, url })
    }

    /// Where messages are posted (`[gateway.sms] url`).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn messages(&self) -> Vec<Sms> {
        self.shared.messages.all()
    }

    /// Answer the next `n` requests with `503`.
    pub fn fail_next(&self, n: usize) {
        self.shared.failures.store(n, Ordering::SeqCst);
    }

    /// The texts to `number` once there are at least `n` (waits up to ten seconds).
    pub async fn wait_for(&self, number: &str, n: usize) -> Result<Vec<Sms>, String> {
        for _ in 0..400 {
            let found: Vec<Sms> = self.messages().into_iter().filter(|m| m.to == number).collect();
            if found.len() >= n {
                return Ok(found);
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Err(format!("no {n} text(s) to {number}; received: {:#?}", self.messages()))
    }
}

async fn send(State(shared): State<Shared>, headers: HeaderMap, body: Option<Json<Value>>) -> Response {
    if let Some(token) = &shared.token {
        let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if given != Some(format!("Bearer {token}").as_str()) {
            return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid or missing token"}))).into_response();
        }
    }
    let taken = shared.failures.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    if taken {
        return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "0")], Json(json!({"error": "try again"})))
            .into_response();
    }
    let Some(Json(body)) = body else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "expected a JSON body"}))).into_response();
    };
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(to), Some(text)) = (field("to"), field("body")) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "expected \"to\" and \"body\""}))).into_response();
    };
    let reference = field("reference");
    let seen = reference.is_some() && shared.messages.all().iter().any(|m| m.reference == reference);
    if !seen {
        shared.messages.push(Sms { to, body: text, reference: reference.clone() });
    }
    (StatusCode::ACCEPTED, Json(json!({"id": reference.unwrap_or_default(), "status": "queued"}))).into_response()
}
