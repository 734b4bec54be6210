//! The outbound REST push (a business rule) fired on every change.
//!
//! # Outbound REST push
//!
//! When [`ServiceNowSimConfig::webhook`](super::ServiceNowSimConfig::webhook) is set, every insert, change and delete — made
//! through the REST API or the operator API — is POSTed, in order, to the target URL
//! with `Authorization: <configured value>` and `Content-Type: application/json`:
//!
//! ```json
//! {
//!   "table": "incident",
//!   "operation": "insert" | "update" | "delete",
//!   "sys_id": "46d44a5ea9fe198100bb5f2a0b7fea1b",
//!   "number": "INC0010001",
//!   "changed_fields": ["close_code", "state"],
//!   "record": { "number": "INC0010001", "state": "6", "sys_updated_by": "admin", … },
//!   "journal": null | {
//!     "element": "comments" | "work_notes",
//!     "value": "text",
//!     "sys_created_on": "2026-03-01 10:00:00",
//!     "sys_created_by": "beth.anglin"
//!   }
//! }
//! ```
//!
//! `record` holds every field as a string (`comments` and `work_notes` empty);
//! `changed_fields` is sorted, names the fields the write changed (journal fields
//! included, the `sys_updated_*`/`sys_mod_count` bookkeeping not); `journal` is the
//! latest entry the change added, if any. `sys_updated_by` tells who made the change
//! (the REST user, or [`ServiceNowSimConfig::operator`](super::ServiceNowSimConfig::operator)), which is how a receiver
//! recognises its own writes.

use std::sync::Arc;
use std::time::Duration;

use axum::http::header;
use deskgate_servicenow::wire::Record;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::{JournalEntry, Shared, TABLE};

/// One outbound REST push and how the receiver answered.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Push {
    pub payload: Value,
    pub status: Option<u16>,
    pub error: Option<String>,
}

impl Shared {
    pub(super) fn push(&self, operation: &str, record: &Record, changed: Vec<String>, journal: Option<&JournalEntry>) {
        if !self.pushes.enabled() {
            return;
        }
        let payload = json!({
            "table": TABLE,
            "operation": operation,
            "sys_id": record.get("sys_id"),
            "number": record.get("number"),
            "changed_fields": changed,
            "record": record,
            "journal": journal.map(|j| json!({
                "element": j.element,
                "value": j.value,
                "sys_created_on": j.sys_created_on,
                "sys_created_by": j.sys_created_by,
            })),
        });
        self.pushes.enqueue(payload);
    }
}

pub(super) async fn deliver_pushes(shared: Arc<Shared>, mut rx: mpsc::UnboundedReceiver<Value>) {
    let Some(target) = shared.config.webhook.clone() else {
        return;
    };
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(_) => return,
    };
    while let Some(payload) = rx.recv().await {
        let result = client
            .post(&target.url)
            .header(header::AUTHORIZATION.as_str(), &target.authorization)
            .json(&payload)
            .send()
            .await;
        let push = match result {
            Ok(r) => Push { payload, status: Some(r.status().as_u16()), error: None },
            Err(e) => Push { payload, status: None, error: Some(e.to_string()) },
        };
        shared.delivered.push(push);
        shared.pushes.settled_one();
    }
}
