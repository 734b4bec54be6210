//! Jira's JSON shapes: users, statuses, priorities, comments and issues, in the v2
//! or v3 form.

use deskgate_jira::adf;
use deskgate_jira::wire::{ApiVersion, format_timestamp};
use serde_json::{Value, json};

use super::links::LINK_TYPES;
use super::profile::JiraProfile;
use super::workflow::{STATUSES, status_def};
use super::{JiraComment, JiraIssue, Shared, SimUser};

pub(super) const PRIORITIES: &[(&str, &str)] =
    &[("1", "Highest"), ("2", "High"), ("3", "Medium"), ("4", "Low"), ("5", "Lowest")];

impl Shared {
    pub(super) fn user_by_handle(&self, handle: &str) -> Option<&SimUser> {
        [&self.config.api_user, &self.config.operator]
            .into_iter()
            .find(|u| u.account_id == handle || u.name == handle || u.email == handle)
    }

    /// A user object: Cloud names users by `accountId` only, Data Center by `name`
    /// and `key` (see `profile.rs`).
    pub(super) fn user_json(&self, handle: &str) -> Value {
        let base = self.base_url();
        let known = self.user_by_handle(handle);
        let (account_id, name) = known.map_or((handle, handle), |u| (u.account_id.as_str(), u.name.as_str()));
        let mut user = match self.config.profile {
            JiraProfile::Cloud => json!({
                "self": format!("{base}/rest/api/3/user?accountId={account_id}"),
                "accountId": account_id,
                "accountType": "atlassian",
            }),
            JiraProfile::DataCenter => json!({
                "self": format!("{base}/rest/api/2/user?username={name}"),
                "name": name,
                "key": name,
            }),
        };
        match known {
            Some(u) => {
                user["displayName"] = json!(u.display_name);
                user["emailAddress"] = json!(u.email);
                user["active"] = json!(true);
                user["timeZone"] = json!("UTC");
            }
            // Unknown assignees are kept as given, as a deactivated user would be.
            None => {
                user["displayName"] = json!(handle);
                user["active"] = json!(false);
            }
        }
        user
    }

    pub(super) fn status_json(&self, name: &str) -> Value {
        let base = self.base_url();
        let def = status_def(name).copied().unwrap_or(STATUSES[0]);
        let (cat_id, cat_name, color) = match def.category {
            "new" => (2, "To Do", "blue-gray"),
            "done" => (3, "Done", "green"),
            _ => (4, "In Progress", "yellow"),
        };
        json!({
            "self": format!("{base}/rest/api/2/status/{}", def.id),
            "description": "",
            "iconUrl": format!("{base}/images/icons/statuses/generic.png"),
            "name": def.name,
            "id": def.id,
            "statusCategory": {
                "self": format!("{base}/rest/api/2/statuscategory/{cat_id}"),
                "id": cat_id,
                "key": def.category,
                "colorName": color,
                "name": cat_name,
            }
        })
    }

    pub(super) fn priority_json(&self, name: &str) -> Value {
        let base = self.base_url();
        let (id, name) =
            PRIORITIES.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)).copied().unwrap_or(("3", "Medium"));
        json!({
            "self": format!("{base}/rest/api/2/priority/{id}"),
            "iconUrl": format!("{base}/images/icons/priorities/{}.svg", name.to_lowercase()),
            "name": name,
            "id": id,
        })
    }

    pub(super) fn comment_json(&self, issue: &JiraIssue, c: &JiraComment, version: ApiVersion) -> Value {
        let base = self.base_url();
        let body = match version {
            ApiVersion::V2 => json!(c.body),
            ApiVersion::V3 => json!(adf::from_text(&c.body)),
        };
        let mut out = json!({
            "self": format!("{base}/rest/api/{}/issue/{}/comment/{}", version.as_str(), issue.id, c.id),
            "id": c.id.to_string(),
            "author": self.user_json(&c.author),
            "body": body,
            "updateAuthor": self.user_json(&c.author),
            "created": format_timestamp(c.created),
            "updated": format_timestamp(c.created),
        });
        if let Some(v) = &c.visibility {
            out["visibility"] = json!(v);
        }
        if let Some(public) = c.jsd_public {
            out["jsdPublic"] = json!(public);
        }
        out
    }

    /// The issue in a version's shape, keeping only `only` fields when given.
    pub(super) fn issue_json(&self, issue: &JiraIssue, version: ApiVersion, only: Option<&[String]>) -> Value {
        let base = self.base_url();
        let v = version.as_str();
        let description = match (&issue.description, version) {
            (None, _) => Value::Null,
            (Some(d), ApiVersion::V2) => json!(d),
            (Some(d), ApiVersion::V3) => json!(adf::from_text(d)),
        };
        let comments: Vec<Value> = issue.comments.iter().map(|c| self.comment_json(issue, c, version)).collect();
        let issue_links: Vec<Value> = issue
            .issue_links
            .iter()
            .map(|(kind, outward)| {
                let (id, name, inward, out) = LINK_TYPES.iter().find(|t| t.1 == kind).copied().unwrap_or(LINK_TYPES[3]);
                json!({
                    "type": {"id": id, "name": name, "inward": inward, "outward": out},
                    "outwardIssue": {"key": outward, "self": format!("{base}/rest/api/{v}/issue/{outward}")},
                })
            })
            .collect();
        let mut fields = json!({
            "summary": issue.summary,
            "description": description,
            "status": self.status_json(&issue.status),
            "priority": self.priority_json(&issue.priority),
            "assignee": issue.assignee.as_deref().map_or(Value::Null, |a| self.user_json(a)),
            "reporter": self.user_json(&issue.reporter),
            "creator": self.user_json(&issue.reporter),
            "labels": issue.labels,
            "issuetype": {
                "self": format!("{base}/rest/api/{v}/issuetype/{}", issue.issue_type),
                "name": issue.issue_type,
                "subtask": false,
            },
            "project": {
                "self": format!("{base}/rest/api/{v}/project/{}", issue.project),
                "key": issue.project,
                "name": issue.project,
                "projectTypeKey": "software",
            },
            "resolution": issue.resolution.as_deref().map_or(Value::Null, |r| json!({
                "self": format!("{base}/rest/api/{v}/resolution/{}", if r == "Done" { 10000 } else { 10001 }),
                "name": r,
            })),
            "created": format_timestamp(issue.created),
            "updated": format_timestamp(issue.updated),
            "issuelinks": issue_links,
            "comment": {
                "comments": comments,
                "maxResults": issue.comments.len(),
                "total": issue.comments.len(),
                "startAt": 0,
            },
        });
        if let Some(map) = fields.as_object_mut() {
            for (id, _) in &self.config.custom_fields {
                map.insert(id.clone(), issue.custom.get(id).cloned().unwrap_or(Value::Null));
            }
            map.insert("attachment".into(), self.attachments_json(&issue.key, v));
            if let Some(only) = only {
                let all = only.iter().any(|f| f == "*all" || f == "*navigable");
                if !all {
                    map.retain(|k, _| only.iter().any(|f| f == k));
                }
            }
        }
        json!({
            "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
            "id": issue.id.to_string(),
            "self": format!("{base}/rest/api/{v}/issue/{}", issue.id),
            "key": issue.key,
            "fields": fields,
        })
    }
}
