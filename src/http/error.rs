//! One error type for the HTTP edge, rendered in the caller's dialect.
//!
//! Handlers and extractors return [`ApiError`]. Its response carries the error
//! itself in the response extensions; the dialect layer of a dialect's router
//! ([`render_in`], with the dialect's [`RenderError`]) re-renders it in that shape, so an error born
//! anywhere — an extractor, the body limit, a handler — reaches each caller in the
//! shape its client library understands:
//!
//! - native: `{"error":{"code","message","field"}}`
//! - ServiceNow: `{"error":{"message","detail"},"status":"failure"}`
//! - Jira: `{"errorMessages":[…],"errors":{field: message}}`

use std::sync::Arc;

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::auth::{AuthError, Referral};
use crate::gateway::GatewayError;
use crate::model::ModelError;
use crate::store::StoreError;

/// How a dialect shapes an error body. Each dialect's folder has its own
/// (`crate::dialects::<name>`); the native shape is [`native_body`].
pub type RenderError = fn(&ApiError) -> serde_json::Value;

/// The native error body: `{"error":{"code","message","field"}}`.
pub fn native_body(e: &ApiError) -> serde_json::Value {
    json!({ "error": e })
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    /// A stable machine-readable code, e.g. `invalid_field`, `not_found`.
    pub code: &'static str,
    /// What went wrong and what would have been accepted, for a person.
    pub message: String,
    /// The request field at fault, when there is one.
    pub field: Option<String>,
    /// For callers who are not registered desks: where to report instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referral: Option<Box<Referral>>,
    #[serde(skip)]
    pub www_authenticate: Option<String>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// The native error body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ApiError,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            referral: None,
            www_authenticate: None,
            retry_after: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message).with_field(field)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body exceeds the limit of {limit} bytes"),
        )
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the gateway could not complete the request; nothing was changed — try again",
        )
    }

    fn into_rendered_response(self, render: RenderError) -> Response {
        let body = render(&self);
        let mut response = (self.status, Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(v) = self.www_authenticate.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, v);
        }
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response.extensions_mut().insert(Arc::new(self));
        response
    }
}

impl ApiError {
    /// The same error, audited first when it refuses patient data (the field, never
    /// its value): a submission refused for it leaves a trace of who sent it.
    pub async fn audit_patient_data(
        self,
        state: &super::AppState,
        desk: &crate::model::DeskId,
        ctx: &crate::gateway::RequestContext,
    ) -> Self {
        if self.code == "patient_data" {
            let reason = format!("patient data in {}", self.field.as_deref().unwrap_or("a field"));
            state.gateway.audit_rejection(Some(desk), None, &reason, ctx).await;
        }
        self
    }
}

impl ApiError {
    /// The same error naming a dialect's field instead of the canonical one:
    /// `names` pairs canonical names with the dialect's; the message's leading
    /// field name is renamed with it.
    pub fn naming_fields(mut self, names: &[(&str, &str)]) -> Self {
        if let Some(field) = self.field.clone() {
            if let Some((canonical, theirs)) = names.iter().find(|(c, _)| *c == field) {
                self.field = Some((*theirs).to_owned());
                if let Some(rest) = self.message.strip_prefix(canonical) {
                    self.message = format!("{theirs}{rest}");
                }
            }
        }
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_rendered_response(native_body)
    }
}

/// Middleware for a dialect's router: re-render native error answers with `render`.
pub async fn render_in(render: RenderError, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    match response.extensions().get::<Arc<ApiError>>() {
        Some(e) => ApiError::clone(e).into_rendered_response(render),
        _ => response,
    }
}

impl From<ModelError> for ApiError {
    fn from(e: ModelError) -> Self {
        let message = e.to_string();
        match &e {
            ModelError::Invalid { field, .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", message).with_field(*field)
            }
            ModelError::PatientData { field, .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "patient_data", message).with_field(*field)
            }
            ModelError::IllegalTransition { .. } => {
                ApiError::new(StatusCode::CONFLICT, "illegal_transition", message).with_field("status")
            }
            ModelError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            ModelError::Forbidden(_) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", message),
            ModelError::Full { field, .. } => {
                ApiError::new(StatusCode::CONFLICT, "limit_reached", message).with_field(*field)
            }
            ModelError::TooLarge { field, .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", message).with_field(*field)
            }
        }
    }
}

impl From<GatewayError> for ApiError {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::NotFound(what) => ApiError::not_found(format!("{what} not found")),
            GatewayError::Model(m) => m.into(),
            GatewayError::Store(StoreError::IdempotencyMismatch) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was already used for a different request; use a new key for a new submission",
            )
            .with_field("Idempotency-Key"),
            GatewayError::Store(StoreError::RefTaken { desk, remote_id, incident }) => ApiError::new(
                StatusCode::CONFLICT,
                "ref_taken",
                format!("{desk} ticket {remote_id} already refers to {incident}"),
            ),
            GatewayError::Store(other) => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal()
            }
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Missing => {
                let mut err = ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "a Bearer token is required (Authorization: Bearer <JWT>)",
                );
                err.www_authenticate = Some("Bearer realm=\"deskgate\"".into());
                err
            }
            AuthError::Invalid(why) => {
                let mut err =
                    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", format!("the token is not valid: {why}"));
                let why = why.replace('"', "'");
                err.www_authenticate =
                    Some(format!("Bearer realm=\"deskgate\", error=\"invalid_token\", error_description=\"{why}\""));
                err
            }
            AuthError::NotADesk { referral, .. } => {
                let mut err = ApiError::new(StatusCode::FORBIDDEN, "not_a_registered_desk", referral.message.clone());
                err.referral = Some(referral);
                err
            }
        }
    }
}
