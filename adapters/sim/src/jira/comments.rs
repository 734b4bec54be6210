//! Comments: v2 text or v3 ADF bodies, role and group visibility, and the
//! `issue_commented` and `comment_created` events a comment fires.
//!
//! With [`JiraSimConfig::service_management`](super::JiraSimConfig::service_management),
//! every comment carries Jira Service Management's `jsdPublic`: `false` for an
//! internal comment (seen by agents only) — which has no `visibility` — and `true`
//! otherwise. A comment is made internal by the `sd.public.comment` property
//! (`{"internal": true}`) in the create body; without Service Management the property
//! changes nothing, as in Jira (field per the Jira Cloud comment schema; seen in
//! answers in turbot/steampipe-plugin-jira#190).
//!
//! With [`JiraSimConfig::comment_events_without_issue`](super::JiraSimConfig::comment_events_without_issue)
//! `comment_created` has no `issue` object, as Jira Server/Data Center (7.1 and later)
//! sends it: only the comment, whose `self` is `…/rest/api/2/issue/{id}/comment/{cid}`
//! (payloads captured in DefectDojo/django-DefectDojo#3217, Commit451/skyhook#152).

use deskgate_jira::adf;
use deskgate_jira::webhook;
use deskgate_jira::wire::{ApiVersion, ErrorCollection, Visibility, format_timestamp};
use serde_json::{Value, json};

use super::{JiraComment, Shared, SimError, SimUser};

impl Shared {
    pub(super) fn add_comment(
        &self,
        actor: &SimUser,
        version: ApiVersion,
        key: &str,
        body: &Value,
    ) -> Result<Value, SimError> {
        let text = match (body.get("body"), version) {
            (Some(Value::String(s)), ApiVersion::V2) => s.clone(),
            (Some(node @ Value::Object(_)), ApiVersion::V3) => {
                serde_json::from_value::<adf::Node>(node.clone()).map(|n| adf::to_text(&n)).map_err(|_| {
                    SimError::bad(ErrorCollection::field("comment", "Comment body is not a valid Atlassian Document"))
                })?
            }
            (Some(Value::String(_)), ApiVersion::V3) => {
                return Err(SimError::bad(ErrorCollection::field(
                    "comment",
                    "Comment body is not a valid Atlassian Document",
                )));
            }
            _ => String::new(),
        };
        if text.trim().is_empty() {
            return Err(SimError::bad(ErrorCollection::field("comment", "Comment body can not be empty!")));
        }
        let visibility = match body.get("visibility") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let v: Visibility = serde_json::from_value(v.clone())
                    .map_err(|_| SimError::bad(ErrorCollection::field("commentLevel", "Invalid visibility")))?;
                let known = match v.kind.as_str() {
                    "role" => self.config.roles.iter().any(|r| r.eq_ignore_ascii_case(&v.value)),
                    "group" => self.config.groups.iter().any(|g| g.eq_ignore_ascii_case(&v.value)),
                    _ => false,
                };
                if !known {
                    return Err(SimError::bad(ErrorCollection::field(
                        "commentLevel",
                        format!("You are currently not a member of the project role: {}.", v.value),
                    )));
                }
                Some(v)
            }
        };
        let internal = body
            .get("properties")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| p.get("key").and_then(Value::as_str) == Some("sd.public.comment"))
            .and_then(|p| p.pointer("/value/internal"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let jsd_public = self.config.service_management.then_some(!internal);
        let mut inner = self.lock();
        let now = self.now();
        inner.next_comment_id += 1;
        let comment_id = 10_000 + inner.next_comment_id;
        let issue = Self::find(&mut inner, key)?;
        let comment = JiraComment {
            id: comment_id,
            author: actor.account_id.clone(),
            body: text,
            visibility,
            jsd_public,
            created: now,
        };
        issue.comments.push(comment.clone());
        issue.updated = now;
        let snapshot = issue.clone();
        let answer = self.comment_json(&snapshot, &comment, version);
        if self.hooks.enabled() {
            let v2 = self.comment_json(&snapshot, &comment, ApiVersion::V2);
            self.issue_event(
                &mut inner,
                &snapshot.key,
                (webhook::ISSUE_UPDATED, "issue_commented"),
                actor,
                Vec::new(),
                Some(v2.clone()),
            );
            if self.config.comment_events_without_issue {
                self.enqueue(json!({
                    "timestamp": now.as_millisecond(),
                    "webhookEvent": webhook::COMMENT_CREATED,
                    "comment": v2,
                }));
                return Ok(answer);
            }
            self.enqueue(json!({
                "timestamp": now.as_millisecond(),
                "webhookEvent": webhook::COMMENT_CREATED,
                "comment": v2,
                "issue": {
                    "id": snapshot.id.to_string(),
                    "self": format!("{}/rest/api/2/issue/{}", self.base_url(), snapshot.id),
                    "key": snapshot.key,
                    "fields": {
                        "summary": snapshot.summary,
                        "status": self.status_json(&snapshot.status),
                        "priority": self.priority_json(&snapshot.priority),
                        "issuetype": {"name": snapshot.issue_type, "subtask": false},
                        "updated": format_timestamp(snapshot.updated),
                    }
                },
            }));
        }
        Ok(answer)
    }
}
