//! Reading an uploaded file's body: streamed and stopped at the desk's attachment
//! limit, so an oversized upload is refused (413 naming the limit) without being
//! held whole, and nothing of it is stored.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};

use super::error::ApiError;
use crate::model::ModelError;

/// The body, at most `limit` bytes; over it, the 413 that names the limit.
pub async fn read_limited(headers: &HeaderMap, body: Body, limit: u64) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::from(ModelError::TooLarge { field: "file", limit });
    // A declared length over the limit is refused before anything is read.
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let max = usize::try_from(limit).unwrap_or(usize::MAX);
    axum::body::to_bytes(body, max).await.map_err(|e| {
        // `to_bytes` stops at the limit with a length-limit error; anything else
        // is a body that broke off.
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(s) = source {
            if s.to_string().contains("length limit exceeded") {
                return too_large();
            }
            source = s.source();
        }
        ApiError::bad_request("file", "the upload broke off before its end")
    })
}
