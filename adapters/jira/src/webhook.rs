//! Jira webhooks: the payloads Jira posts when an issue or comment changes, and the
//! signature Jira adds when the webhook has a secret.
//!
//! Jira signs the raw request body with HMAC-SHA256 keyed on the webhook's secret
//! and sends `X-Hub-Signature: sha256=<lowercase hex>` (the WebSub format). Verify
//! the raw bytes *before* parsing: re-serialised JSON does not hash the same.
//!
//! Issues in webhook payloads are in the v2 shape (`description` is plain text),
//! whatever API version the receiver otherwise uses.
//!
//! Jira Server/Data Center (since 7.1) sends `comment_created` and `comment_updated`
//! *without* an `issue` object: only the comment, whose `self` is
//! `{base}/rest/api/2/issue/{issue id}/comment/{comment id}` (payloads captured from
//! Jira 8.x in DefectDojo/django-DefectDojo#3217 and Commit451/skyhook#152). The
//! issue is known only by that id: [`issue_id_of_comment`] reads it.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::wire::{Comment, Issue, User};

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature";
/// Identifies one delivery; unchanged across Jira's retries of it.
pub const IDENTIFIER_HEADER: &str = "X-Atlassian-Webhook-Identifier";

pub const ISSUE_CREATED: &str = "jira:issue_created";
pub const ISSUE_UPDATED: &str = "jira:issue_updated";
pub const ISSUE_DELETED: &str = "jira:issue_deleted";
pub const COMMENT_CREATED: &str = "comment_created";
pub const COMMENT_UPDATED: &str = "comment_updated";

/// A webhook body: `jira:issue_created`, `jira:issue_updated`, `comment_created`, …
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEvent {
    /// Milliseconds since the epoch.
    #[serde(default)]
    pub timestamp: i64,
    pub webhook_event: String,
    /// `issue_created`, `issue_generic`, `issue_commented`, … (issue events only).
    #[serde(rename = "issue_event_type_name", skip_serializing_if = "Option::is_none", default)]
    pub issue_event_type_name: Option<String>,
    /// Who made the change (absent on comment events, where `comment.author` says).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user: Option<User>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub issue: Option<Issue>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub changelog: Option<Changelog>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub comment: Option<Comment>,
}

impl WebhookEvent {
    /// Who made the change: `user` on issue events, the comment's author on
    /// comment events.
    pub fn actor(&self) -> Option<&User> {
        self.user.as_ref().or_else(|| self.comment.as_ref().and_then(|c| c.author.as_ref()))
    }

    /// The change of one field in this event's changelog, if it changed.
    pub fn change(&self, field: &str) -> Option<&ChangeItem> {
        self.changelog
            .as_ref()?
            .items
            .iter()
            .find(|item| item.field.eq_ignore_ascii_case(field) || item.field_id.as_deref() == Some(field))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Changelog {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub items: Vec<ChangeItem>,
}

/// One changed field: `{"field":"status","fromString":"Open","toString":"In Progress"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeItem {
    /// Display name (`status`, `priority`, `Correlation`).
    pub field: String,
    /// `jira` or `custom`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fieldtype: Option<String>,
    /// Field id (`status`, `customfield_10042`); Cloud only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field_id: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub from_string: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub to_string: Option<String>,
}

/// The numeric issue id in a comment's `self` URL
/// (`…/rest/api/{2|3|latest}/issue/{id}/comment/{cid}`), or `None` when the URL does
/// not have that shape. Only the id is taken: the URL itself is never called.
pub fn issue_id_of_comment(comment_self: &str) -> Option<&str> {
    let path = comment_self.split(['?', '#']).next()?;
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let comment_id = segments.next()?;
    let (comment, id, issue) = (segments.next()?, segments.next()?, segments.next()?);
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.chars().all(|c| c.is_ascii_digit());
    (comment == "comment" && issue == "issue" && digits(id) && digits(comment_id)).then_some(id)
}

/// Why a signature was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {SIGNATURE_HEADER} header is missing")]
    Missing,
    #[error("the {SIGNATURE_HEADER} header is not of the form sha256=<hex>")]
    Malformed,
    #[error("the {SIGNATURE_HEADER} header uses an algorithm other than sha256")]
    UnsupportedAlgorithm,
    #[error("the {SIGNATURE_HEADER} signature does not match the body")]
    Mismatch,
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

/// The header value Jira sends for `body` under `secret`: `sha256=<lowercase hex>`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Check a received header value against the raw body, in constant time.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let (method, digest) = header.split_once('=').ok_or(SignatureError::Malformed)?;
    if !method.eq_ignore_ascii_case("sha256") {
        return Err(SignatureError::UnsupportedAlgorithm);
    }
    let digest = hex::decode(digest).map_err(|_| SignatureError::Malformed)?;
    let mut mac = mac(secret);
    mac.update(body);
    mac.verify_slice(&digest).map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2.
        let sig = sign(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_eq!(verify(b"Jefe", b"what do ya want for nothing?", Some(&sig)), Ok(()));
        assert_eq!(
            verify(b"Jefe", b"what do ya want for nothing?", Some(&sig.to_uppercase())),
            Ok(()),
            "method and hex are case-insensitive"
        );
    }

    #[test]
    fn bad_signatures_are_told_apart() {
        let body = br#"{"webhookEvent":"jira:issue_updated"}"#;
        let sig = sign(b"s3cret", body);
        assert_eq!(verify(b"s3cret", b"{}", Some(&sig)), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"other", body, Some(&sig)), Err(SignatureError::Mismatch));
        assert_eq!(verify(b"s3cret", body, None), Err(SignatureError::Missing));
        assert_eq!(verify(b"s3cret", body, Some("abc")), Err(SignatureError::Malformed));
        assert_eq!(verify(b"s3cret", body, Some("sha256=zz")), Err(SignatureError::Malformed));
        assert_eq!(
            verify(b"s3cret", body, Some(&sig.replace("sha256", "sha1"))),
            Err(SignatureError::UnsupportedAlgorithm)
        );
        assert_eq!(
            verify(b"s3cret", body, Some(&sig[..sig.len() - 2])),
            Err(SignatureError::Mismatch),
            "a truncated digest is a mismatch"
        );
    }

    #[test]
    fn a_data_center_comment_event_names_its_issue_only_in_the_comment_url() {
        let event: WebhookEvent = serde_json::from_str(
            r#"{"timestamp":1605117321425,"webhookEvent":"comment_created",
               "comment":{"self":"https://jira.example.dk/jira/rest/api/2/issue/89820/comment/456843",
                  "id":"456843","author":{"name":"valentijn","key":"valentijn","displayName":"V"},
                  "body":"test2","created":"2020-11-11T18:55:21.425+0100"}}"#,
        )
        .unwrap();
        assert!(event.issue.is_none());
        assert_eq!(event.actor().and_then(|u| u.name.as_deref()), Some("valentijn"));
        let comment = event.comment.unwrap();
        assert_eq!(issue_id_of_comment(&comment.self_url), Some("89820"));
        assert_eq!(issue_id_of_comment("https://x/rest/api/3/issue/10010/comment/10000?expand=x"), Some("10010"));
        for not in [
            "",
            "https://x/rest/api/2/issue/DRIFT-1/comment/1",
            "https://x/rest/api/2/issue/10010/worklog/1",
            "https://x/rest/api/2/issue/../comment/1",
            "https://x/rest/api/2/issue/10010/comment/",
            "https://x/rest/api/2/project/10010/comment/1",
        ] {
            assert_eq!(issue_id_of_comment(not), None, "{not}");
        }
    }

    #[test]
    fn reads_an_issue_updated_payload() {
        let event: WebhookEvent = serde_json::from_str(
            r#"{"timestamp":1705314600000,"webhookEvent":"jira:issue_updated",
               "issue_event_type_name":"issue_generic",
               "user":{"accountId":"5b10a","displayName":"Ann"},
               "issue":{"id":"10000","key":"DRIFT-1","self":"x","fields":{"summary":"s"}},
               "changelog":{"id":"10100","items":[{"field":"status","fieldtype":"jira","fieldId":"status",
                  "from":"1","fromString":"Open","to":"3","toString":"In Progress"}]}}"#,
        )
        .unwrap();
        let change = event.change("status").unwrap();
        assert_eq!(change.from_string.as_deref(), Some("Open"));
        assert_eq!(change.to_string.as_deref(), Some("In Progress"));
        assert_eq!(event.issue.unwrap().key, "DRIFT-1");
    }
}
