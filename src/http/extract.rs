//! Extractors that fail with [`ApiError`]: the authenticated desk, and JSON bodies
//! whose errors name the field at fault.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use super::request_id::RequestId;
use crate::auth::{AuthError, DeskPrincipal};
use crate::gateway::RequestContext;
use crate::server::BodyDeadline;
use crate::tls::ClientCertificate;

/// The request id chosen by the request-id layer and the caller's address, for logs,
/// the audit trail and the per-address limit on audited rejections.
pub fn request_context(parts: &Parts) -> RequestContext {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let chosen = match parts.extensions.get::<RequestId>() {
        Some(id) => id.clone(),
        // Outside the layer (a router driven directly): the same rules apply.
        None => RequestId::choose(parts.headers.get(super::request_id::HEADER).map(|v| v.as_bytes())),
    };
    RequestContext { request_id: Some(chosen.id), request_id_source: chosen.source, request_id_hint: chosen.hint, peer }
}

impl FromRequestParts<AppState> for RequestContext {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, ApiError> {
        Ok(request_context(parts))
    }
}

impl FromRequestParts<AppState> for DeskPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match state.gateway.authenticate(header) {
            Ok(principal) => {
                require_pinned_certificate(parts, state, &principal).await?;
                within_rate_limit(state, &principal)?;
                Ok(principal)
            }
            Err(e) => {
                if let AuthError::NotADesk { subject, issuer, referral } = &e {
                    let ctx = request_context(parts);
                    let reason = format!(
                        "not a registered desk (issuer {issuer}); referred to {}",
                        referral.desk.as_deref().unwrap_or("the caller's local service desk")
                    );
                    state.gateway.audit_rejection(None, Some(subject), &reason, &ctx).await;
                    let subject = crate::rejections::bounded(subject, crate::rejections::MAX_SUBJECT);
                    tracing::info!(%subject, %issuer, "refused a caller that is not a registered desk");
                }
                Err(e.into())
            }
        }
    }
}

/// A desk whose configuration pins a client certificate (`client_cert_sha256`) is
/// refused unless this connection presented exactly that certificate: its token
/// alone is not enough (mutual TLS). Desks without a pin are not affected.
async fn require_pinned_certificate(parts: &Parts, state: &AppState, who: &DeskPrincipal) -> Result<(), ApiError> {
    let Some(pinned) = state.gateway.desk(&who.desk).and_then(|d| d.client_cert_sha256) else {
        return Ok(());
    };
    let presented = parts.extensions.get::<ClientCertificate>();
    if presented.is_some_and(|c| c.sha256 == pinned) {
        return Ok(());
    }
    let reason = match presented {
        None => "no client certificate presented",
        Some(_) => "a client certificate other than the one configured for this desk",
    };
    let ctx = request_context(parts);
    state.gateway.audit_rejection(Some(&who.desk), None, &format!("mutual TLS: {reason}"), &ctx).await;
    tracing::info!(desk = %who.desk, reason, "refused a desk token without the desk's client certificate");
    let mut err = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "client_certificate_required",
        format!("desk {} must connect with its registered client certificate (mutual TLS): {reason}", who.desk),
    );
    err.www_authenticate = Some("Bearer realm=\"deskgate\"".into());
    Err(err)
}

/// A desk over its inbound rate limit gets 429 with `Retry-After`; the dialect
/// layers re-render it like any other error.
fn within_rate_limit(state: &AppState, who: &DeskPrincipal) -> Result<(), ApiError> {
    let Err(wait) = state.rate_limits.check(&who.desk) else { return Ok(()) };
    Err(rate_limited(who, wait))
}

fn rate_limited(who: &DeskPrincipal, wait: std::time::Duration) -> ApiError {
    let secs = crate::ratelimit::retry_after_secs(wait);
    metrics::counter!("deskgate_rate_limited_total", "desk" => who.desk.to_string(), "direction" => "inbound")
        .increment(1);
    tracing::info!(desk = %who.desk, retry_after = secs, "inbound rate limit reached");
    let mut err = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("desk {} has sent more requests than its rate limit allows; try again in {secs} s", who.desk),
    );
    err.retry_after = Some(secs);
    err
}

/// A write that adds `n` notes (comments, work notes) to `incident` (`None`: one
/// being created) in one request: at most `gateway.limits.comments_per_request`,
/// room for them on the incident, and one inbound rate-limit cell per note on top of
/// the request's own, so one request cannot add work for many. Refused whole, in
/// the caller's dialect, naming `field` (or `notes`) and the limit.
pub fn admit_notes(
    state: &AppState,
    who: &DeskPrincipal,
    incident: Option<&crate::model::Incident>,
    n: usize,
    field: &str,
) -> Result<(), ApiError> {
    let limits = &state.gateway.config().gateway.limits;
    if n == 0 {
        return Ok(());
    }
    if n > limits.comments_per_request {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_comments",
            format!(
                "{field}: {n} comments in one request; at most {} are accepted per request",
                limits.comments_per_request
            ),
        )
        .with_field(field));
    }
    if let Some(i) = incident {
        i.ensure_room_for_notes(n, limits.notes_per_incident).map_err(ApiError::from)?;
    }
    let cells = u32::try_from(n).unwrap_or(u32::MAX);
    match state.rate_limits.check_n(&who.desk, cells) {
        Ok(()) => Ok(()),
        Err(Some(wait)) => Err(rate_limited(who, wait)),
        Err(None) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_comments",
            format!("{field}: {n} comments in one request are more than desk {}'s rate limit allows at once", who.desk),
        )
        .with_field(field)),
    }
}

/// A JSON body. Malformed JSON, unknown fields, missing fields and wrong types are
/// 400s that name the field; a body over the limit is a 413.
pub struct JsonBody<T>(pub T, pub Bytes);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
            let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            if essence != "application/json" && !essence.ends_with("+json") {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    format!("expected Content-Type: application/json, got {essence}"),
                ));
            }
        }
        let deadline = req.extensions().get::<BodyDeadline>().cloned();
        let bytes = Bytes::from_request(req, state).await.map_err(|r| body_rejected(&r, deadline.as_ref()))?;
        let value = parse_json(&bytes)?;
        Ok(JsonBody(value, bytes))
    }
}

/// Why a request body could not be taken: its deadline passed, it was too large, or
/// it could not be read.
pub fn body_rejected(rejection: &BytesRejection, deadline: Option<&BodyDeadline>) -> ApiError {
    if deadline.is_some_and(|d| d.expired()) {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            "the request body did not arrive in time (gateway.http.body_timeout_secs); nothing was changed",
        )
    } else if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is larger than this gateway accepts",
        )
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", "the request body could not be read")
    }
}

/// Parse JSON, turning serde's errors into field-naming API errors.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {message}"),
            );
        }
        let named = |m: &str, prefix: &str| m.strip_prefix(prefix).and_then(|r| r.split('`').next()).map(str::to_owned);
        let field = named(&message, "unknown field `")
            .or_else(|| named(&message, "missing field `"))
            // An empty key is named as the JSON it is, so the error still names a field.
            .map(|f| if f.is_empty() { "\"\"".to_owned() } else { f })
            .map(|f| match path.as_str() {
                "." => f,
                p if p == f || p.ends_with(&format!(".{f}")) => p.to_owned(),
                p => format!("{p}.{f}"),
            })
            .unwrap_or(path);
        let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", format!("{field}: {message}")).with_field(field)
    })
}

/// Where links in answers point: `gateway.public_url` when configured, else the
/// address the caller used.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    state.gateway.config().gateway.public_base(host)
}

/// The `Idempotency-Key` a create came with and the digest of its body, as stored
/// with the incident; a key that is not 1 to 255 visible characters is refused.
pub fn idempotency(headers: &HeaderMap, body: &[u8]) -> Result<Option<(String, String)>, ApiError> {
    use sha2::{Digest, Sha256};
    match headers.get("idempotency-key") {
        Some(v) => {
            let key = v.to_str().ok().filter(|k| !k.is_empty() && k.len() <= 255).ok_or_else(|| {
                ApiError::bad_request("Idempotency-Key", "Idempotency-Key: expected 1 to 255 visible ASCII characters")
            })?;
            // Stored with the incident's idempotency record.
            crate::model::patient_data::check("Idempotency-Key", key)?;
            Ok(Some((key.to_owned(), hex::encode(Sha256::digest(body)))))
        }
        None => Ok(None),
    }
}
