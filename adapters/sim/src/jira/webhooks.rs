//! Webhooks: queued in the order of the changes, delivered one by one, kept with
//! the receiver's answer.
//!
//! With [`JiraSimConfig::webhook`](super::JiraSimConfig::webhook) set, every change — through REST *or* the
//! operator API, since real Jira fires webhooks for REST changes too — is POSTed in
//! order to the target: `jira:issue_created`, `jira:issue_updated` (with
//! `changelog.items[]` of `field`, `fieldtype`, `fieldId`, `from`, `fromString`,
//! `to`, `toString`; for comments `issue_event_type_name` is `issue_commented` and
//! `comment` is set), and `comment_created`. `user` (issue events) and
//! `comment.author` say who acted: [`JiraSimConfig::api_user`](super::JiraSimConfig::api_user) for REST,
//! [`JiraSimConfig::operator`](super::JiraSimConfig::operator) for the operator API. Issues in payloads use the v2
//! shape. With a secret, each delivery carries `X-Hub-Signature: sha256=<hex>` over
//! the raw body ([`deskgate_jira::webhook::sign`]), and every delivery carries
//! `X-Atlassian-Webhook-Identifier`, unique to the delivery (the simulator does not
//! retry). Every change gets a later `updated` than the one before (to the
//! millisecond), and `comment_created` carries the issue's `updated` too, so a
//! receiver can tell a replayed event from a newer one.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, header};
use deskgate_jira::webhook;
use deskgate_jira::wire::ApiVersion;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{Inner, Shared, SimUser};

/// Where webhooks go.
#[derive(Clone)]
pub struct JiraWebhookTarget {
    pub url: String,
    /// When set, deliveries carry `X-Hub-Signature: sha256=<hmac hex>`.
    pub secret: Option<String>,
}

impl std::fmt::Debug for JiraWebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JiraWebhookTarget")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// One webhook delivery and how the receiver answered.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Delivery {
    pub payload: Value,
    pub signature: Option<String>,
    /// The `X-Atlassian-Webhook-Identifier` it carried.
    pub identifier: String,
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl Shared {
    pub(super) fn enqueue(&self, payload: Value) {
        self.hooks.enqueue(payload);
    }

    /// Queue an issue webhook; `(event, type_name)` is e.g.
    /// `("jira:issue_updated", "issue_generic")`.
    pub(super) fn issue_event(
        &self,
        inner: &mut Inner,
        key: &str,
        (event, type_name): (&str, &str),
        actor: &SimUser,
        items: Vec<Value>,
        comment: Option<Value>,
    ) {
        if !self.hooks.enabled() {
            return;
        }
        let Some(issue) = inner.issues.iter().find(|i| i.key == key).cloned() else {
            return;
        };
        let now = self.now();
        let mut payload = json!({
            "timestamp": now.as_millisecond(),
            "webhookEvent": event,
            "issue_event_type_name": type_name,
            "user": self.user_json(&actor.account_id),
            "issue": self.issue_json(&issue, ApiVersion::V2, None),
        });
        if !items.is_empty() {
            inner.next_changelog_id += 1;
            payload["changelog"] = json!({
                "id": (10000 + inner.next_changelog_id).to_string(),
                "items": items,
            });
        }
        if let Some(comment) = comment {
            payload["comment"] = comment;
        }
        self.enqueue(payload);
    }
}

pub(super) async fn deliver_webhooks(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Value>) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build();
    let Some(target) = shared.config.webhook.clone() else {
        return;
    };
    // Unique within the site and across restarts, as Jira's are.
    let site = uuid::Uuid::new_v4();
    let mut delivery_number = 0u64;
    while let Some(payload) = rx.recv().await {
        delivery_number += 1;
        let identifier = format!("{site}-{delivery_number}");
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        let signature = target.secret.as_ref().map(|secret| webhook::sign(secret.as_bytes(), &body));
        let (status, error) = match &client {
            Ok(client) => {
                let mut request = client
                    .post(&target.url)
                    .header(header::CONTENT_TYPE, "application/json")
                    .header(webhook::IDENTIFIER_HEADER, identifier.as_str())
                    .header("X-Atlassian-Webhook-Flow", "Primary");
                if let Some(signature) = &signature {
                    request = request.header(webhook::SIGNATURE_HEADER, signature);
                }
                match request.body(body).send().await {
                    Ok(response) => (Some(response.status().as_u16()), None),
                    Err(e) => (None, Some(e.to_string())),
                }
            }
            Err(e) => (None, Some(e.to_string())),
        };
        shared.deliveries.push(Delivery { payload, signature, identifier, status, error });
        shared.hooks.settled_one();
    }
}

/// Headers a webhook receiver gets, for tests that inspect them.
pub fn signature_of(headers: &HeaderMap) -> Option<String> {
    headers.get(webhook::SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned)
}
