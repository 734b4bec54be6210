//! The id of every request (`X-Request-Id`): which one is used, and what is kept of
//! one that is not.
//!
//! A caller's `X-Request-Id` is used as sent only when it is 1–128 visible ASCII
//! characters, none of them markup or quoting (`<` `>` `"` `'` `&` `\` and the
//! backtick), and does not start with the gateway's own prefix (`gw-`); anything
//! else is replaced by a generated `gw-<uuid>`, and the caller's value survives only
//! as a short sanitised hint ([`HINT_LEN`] characters) for logs and the audit log.
//! The id used is put back into the request (for handlers and deliveries) and
//! echoed in the response. Who chose it is recorded with it ([`RequestIdSource`]),
//! so an id a caller copied from another request is never mistaken for the
//! gateway's own correlation.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

use crate::store::RequestIdSource;

/// The header carrying the id, both ways.
pub const HEADER: &str = "x-request-id";
/// The longest caller id used as sent.
pub const MAX_LEN: usize = 128;
/// The most kept of a caller id that was replaced.
pub const HINT_LEN: usize = 32;
/// Ids the gateway generates start with this; callers' ids may not.
pub const GATEWAY_PREFIX: &str = "gw-";

/// The id a request carries, put into its extensions by [`assign`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId {
    pub id: String,
    pub source: RequestIdSource,
    /// The start of a caller id that was not accepted, sanitised.
    pub hint: Option<String>,
}

impl RequestId {
    /// The id for a request whose `X-Request-Id` is `sent`.
    pub fn choose(sent: Option<&[u8]>) -> RequestId {
        match sent {
            Some(bytes) if acceptable(bytes) => RequestId {
                id: String::from_utf8_lossy(bytes).into_owned(),
                source: RequestIdSource::Client,
                hint: None,
            },
            _ => RequestId { id: generate(), source: RequestIdSource::Gateway, hint: sent.and_then(hint) },
        }
    }
}

/// A fresh gateway id.
pub fn generate() -> String {
    format!("{GATEWAY_PREFIX}{}", uuid::Uuid::new_v4())
}

/// Visible ASCII that could open markup or a quoted string where the id is shown
/// (a log viewer, an HTML audit page); refused in ids.
const MARKUP: &[u8] = b"<>\"'`\\&";

fn acceptable(bytes: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&bytes.len())
        && bytes.iter().all(|b| (0x21..=0x7e).contains(b) && !MARKUP.contains(b))
        && !bytes.get(..GATEWAY_PREFIX.len()).is_some_and(|p| p.eq_ignore_ascii_case(GATEWAY_PREFIX.as_bytes()))
}

/// The first [`HINT_LEN`] bytes, with anything but letters, digits and `-_.:` as `_`,
/// so a hint can neither carry markup nor grow an entry. `None` for an empty value.
fn hint(bytes: &[u8]) -> Option<String> {
    let kept: String = bytes
        .iter()
        .take(HINT_LEN)
        .map(|&b| if b.is_ascii_alphanumeric() || b"-_.:".contains(&b) { char::from(b) } else { '_' })
        .collect();
    (!kept.is_empty()).then_some(kept)
}

/// Middleware (outermost): choose the request's id, make it the request's
/// `X-Request-Id` and extension, and echo it in the response.
pub async fn assign(mut request: Request, next: Next) -> Response {
    let chosen = RequestId::choose(request.headers().get(HEADER).map(HeaderValue::as_bytes));
    // Visible ASCII by construction, so it is always a valid header value.
    let value = HeaderValue::from_str(&chosen.id).ok();
    if let Some(v) = &value {
        request.headers_mut().insert(HEADER, v.clone());
    }
    request.extensions_mut().insert(chosen);
    let mut response = next.run(request).await;
    if let Some(v) = value {
        response.headers_mut().insert(HEADER, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_caller_id_is_used_as_sent() {
        let id = RequestId::choose(Some(b"req-submit-1"));
        assert_eq!(id, RequestId { id: "req-submit-1".into(), source: RequestIdSource::Client, hint: None });
        assert_eq!(RequestId::choose(Some(&[b'a'; MAX_LEN])).source, RequestIdSource::Client);
        let trace = b"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(RequestId::choose(Some(trace)).source, RequestIdSource::Client);
    }

    #[test]
    fn anything_else_is_replaced_and_kept_only_as_a_short_sanitised_hint() {
        let long = vec![b'x'; 60 * 1024];
        let cases: [(&[u8], Option<&str>); 6] = [
            (&long, Some("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")),
            (b"<script>alert(1)</script>", Some("_script_alert_1___script_")),
            (b"with space", Some("with_space")),
            (b"gw-00000000-0000-0000-0000-000000000000", Some("gw-00000000-0000-0000-0000-00000")),
            (b"", None),
            ("café".as_bytes(), Some("caf__")),
        ];
        for (sent, expected_hint) in cases {
            let id = RequestId::choose(Some(sent));
            assert_eq!(id.source, RequestIdSource::Gateway, "{sent:?}");
            assert!(id.id.starts_with(GATEWAY_PREFIX) && id.id.len() <= MAX_LEN, "{}", id.id);
            assert_eq!(id.hint.as_deref(), expected_hint, "{sent:?}");
        }
        let none = RequestId::choose(None);
        assert_eq!((none.source, none.hint), (RequestIdSource::Gateway, None));
        assert_ne!(RequestId::choose(None).id, none.id, "generated ids are fresh");
        assert_eq!(RequestId::choose(Some(&[b'a'; MAX_LEN + 1])).source, RequestIdSource::Gateway);
    }
}
