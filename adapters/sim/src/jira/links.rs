//! Remote links (upserted by `globalId`: 201 when created, 200 when updated) and
//! issue links.

use axum::http::StatusCode;
use deskgate_jira::wire::{ApiVersion, ErrorCollection};
use serde_json::{Value, json};

use super::{Shared, SimError};

pub(super) const LINK_TYPES: &[(&str, &str, &str, &str)] = &[
    ("10000", "Blocks", "is blocked by", "blocks"),
    ("10001", "Cloners", "is cloned by", "clones"),
    ("10002", "Duplicate", "is duplicated by", "duplicates"),
    ("10003", "Relates", "relates to", "relates to"),
    ("10004", "Problem/Incident", "is caused by", "causes"),
];

impl Shared {
    pub(super) fn remote_link(
        &self,
        version: ApiVersion,
        key: &str,
        body: &Value,
    ) -> Result<(StatusCode, Value), SimError> {
        let mut errors = ErrorCollection::default();
        for (field, message) in [("url", "'url' is required."), ("title", "'title' is required.")] {
            if body.pointer(&format!("/object/{field}")).and_then(Value::as_str).is_none_or(str::is_empty) {
                errors.errors.insert(field.into(), message.into());
            }
        }
        if !errors.errors.is_empty() {
            return Err(SimError::bad(errors));
        }
        let base = self.base_url();
        let mut inner = self.lock();
        inner.next_link_id += 1;
        let fresh_id = 10_000 + inner.next_link_id;
        let issue = Self::find(&mut inner, key)?;
        let global_id = body.get("globalId").and_then(Value::as_str);
        let existing = global_id
            .and_then(|g| issue.remote_links.iter().position(|l| l.get("globalId").and_then(Value::as_str) == Some(g)));
        let (status, id, index) = match existing {
            Some(i) => (StatusCode::OK, issue.remote_links[i]["id"].as_u64().unwrap_or(fresh_id), i),
            None => {
                issue.remote_links.push(Value::Null);
                (StatusCode::CREATED, fresh_id, issue.remote_links.len() - 1)
            }
        };
        let self_url = format!("{base}/rest/api/{}/issue/{}/remotelink/{id}", version.as_str(), issue.key);
        let mut stored = body.clone();
        if let Some(o) = stored.as_object_mut() {
            o.insert("id".into(), json!(id));
            o.insert("self".into(), json!(self_url));
        }
        issue.remote_links[index] = stored;
        Ok((status, json!({ "id": id, "self": self_url })))
    }

    pub(super) fn issue_link(&self, body: &Value) -> Result<(), SimError> {
        let kind = body.pointer("/type/name").and_then(Value::as_str).unwrap_or_default();
        let Some(link_type) = LINK_TYPES.iter().find(|t| t.1.eq_ignore_ascii_case(kind)) else {
            return Err(SimError::not_found(format!("No issue link type with name '{kind}' found.")));
        };
        let inward = body.pointer("/inwardIssue/key").and_then(Value::as_str).unwrap_or_default().to_owned();
        let outward = body.pointer("/outwardIssue/key").and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut inner = self.lock();
        let outward_key = Self::find(&mut inner, &outward)?.key.clone();
        let issue = Self::find(&mut inner, &inward)?;
        let link = (link_type.1.to_owned(), outward_key);
        if !issue.issue_links.contains(&link) {
            issue.issue_links.push(link);
        }
        Ok(())
    }
}
