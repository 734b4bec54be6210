//! The one way adapters speak HTTP: every request is tagged with the delivery's
//! request id, sent (the adapters' clients never follow redirects), its answer read
//! up to a size limit, and every failure classified as retriable or permanent.
//!
//! Each adapter keeps what is its own: authentication, the remote's error shape, and
//! how it describes a call in an error (`"ClearQuest answered 412 to PUT …"`).

use std::time::Duration;

use reqwest::header::{AsHeaderName, HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};

use crate::{AdapterError, parse_retry_after, tag_request};

/// The largest answer an adapter reads unless it sets its own limit.
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// A remote's whole answer, whatever its status.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: impl AsHeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn retry_after(&self) -> Option<Duration> {
        self.header(RETRY_AFTER).and_then(parse_retry_after)
    }

    /// This answer (not a 2xx) as the error it is, classified by its status, with its
    /// body and `Retry-After`. `message` describes it in the remote's own terms; a
    /// redirect also says where it pointed, since it is never followed.
    pub fn error(&self, message: impl Into<String>) -> AdapterError {
        let mut message = message.into();
        if self.status.is_redirection() {
            message.push_str(&format!(
                " (redirects are not followed: it pointed to {}; check the desk's endpoint)",
                self.header(LOCATION).unwrap_or("nowhere")
            ));
        }
        let text = self.text();
        AdapterError::from_status(self.status.as_u16(), message, (!text.is_empty()).then_some(text), self.retry_after())
    }
}

/// Send `request` and read its whole answer, at most `max_bytes` of it. `remote` and
/// `what` name the call in errors (`"ClearQuest"`, `"GET /cqweb/oslc/…"`). Every status
/// comes back as an [`Answer`]; only transport failures and oversized answers are errors.
pub async fn send(remote: &str, what: &str, request: RequestBuilder, max_bytes: usize) -> Result<Answer, AdapterError> {
    let mut response = tag_request(request).send().await.map_err(|e| transport_error(remote, what, &e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(remote, what, &e))? {
        if body.len() + chunk.len() > max_bytes {
            return Err(AdapterError::permanent(format!("{remote} answered {what} with more than {max_bytes} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status, headers, body })
}

/// A failure before any answer: a timeout, a refused connection, a broken answer are
/// worth retrying; a request that cannot even be built is not.
pub fn transport_error(remote: &str, what: &str, e: &reqwest::Error) -> AdapterError {
    // Only the kind and the call's own description: the error's source chain could
    // carry more than belongs in a dead letter.
    if e.is_builder() {
        return AdapterError::permanent(format!("{remote} {what}: the request cannot be built"));
    }
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "answer broke off"
    } else {
        "failed in transport"
    };
    AdapterError::retriable(format!("{remote} {what}: {kind}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&'static str, &str)], body: &str) -> Answer {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        Answer { status: StatusCode::from_u16(status).unwrap(), headers: map, body: body.as_bytes().to_vec() }
    }

    #[test]
    fn an_answer_becomes_an_error_classified_by_its_status() {
        let e = answer(429, &[("retry-after", "7")], "slow down").error("X answered 429");
        assert!(e.is_retriable());
        assert_eq!(
            (e.status(), e.retry_after(), e.body()),
            (Some(429), Some(Duration::from_secs(7)), Some("slow down"))
        );
        let e = answer(400, &[], "").error("X answered 400");
        assert!(!e.is_retriable());
        assert_eq!(e.body(), None, "an empty body is no body");
    }

    #[test]
    fn a_redirect_says_where_it_pointed_and_is_not_retried() {
        let e = answer(302, &[("location", "http://elsewhere/x")], "").error("X answered 302");
        assert!(!e.is_retriable());
        let text = e.to_string();
        assert!(text.contains("redirects are not followed") && text.contains("http://elsewhere/x"), "{text}");
    }

    #[tokio::test]
    async fn transport_failures_are_retriable_and_name_the_call() {
        // Nothing listens on port 9 of loopback.
        let request = reqwest::Client::new().get("http://127.0.0.1:9/x");
        let e = send("X", "GET /x", request, 1024).await.unwrap_err();
        assert!(e.is_retriable());
        assert_eq!(e.to_string(), "X GET /x: could not connect");
    }
}
