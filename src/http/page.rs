//! The query of a listing that pages: `cursor` and `limit`, the same on every
//! operator listing (outbox, dead letters, escalations, audit).

use super::error::ApiError;

/// How many items a listing page holds unless `limit` says otherwise.
const PAGE: usize = 100;

/// `cursor` and `limit` of a listing's query (1 to 1000, default 100); anything else
/// is refused, naming the parameter.
pub fn page_params(query: Option<String>) -> Result<(Option<String>, usize), ApiError> {
    let (mut cursor, mut limit) = (None, PAGE);
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "cursor" => cursor = Some(value.into_owned()),
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| ApiError::bad_request("limit", "limit: expected a number from 1 to 1000"))?
            }
            other => {
                return Err(ApiError::bad_request(
                    other,
                    format!("{other}: unknown parameter; expected cursor or limit"),
                ));
            }
        }
    }
    Ok((cursor, limit))
}

/// A sequence-number cursor.
pub fn seq_cursor(cursor: Option<String>) -> Result<Option<u64>, ApiError> {
    cursor
        .map(|c| c.parse().map_err(|_| ApiError::bad_request("cursor", "cursor: expected a sequence number")))
        .transpose()
}
