//! Creating and editing issues: the create and edit screens, field validation and
//! the changelog items a change produces.

use std::collections::BTreeMap;

use deskgate_jira::adf;
use deskgate_jira::webhook;
use deskgate_jira::wire::{ApiVersion, ErrorCollection};
use serde_json::{Map, Value, json};

use super::render::PRIORITIES;
use super::{Inner, JiraIssue, Shared, SimError, SimUser};

impl Shared {
    pub(super) fn custom_name(&self, id: &str) -> Option<&str> {
        self.config.custom_fields.iter().find(|(fid, _)| fid == id).map(|(_, name)| name.as_str())
    }

    pub(super) fn find<'a>(inner: &'a mut Inner, id_or_key: &str) -> Result<&'a mut JiraIssue, SimError> {
        inner
            .issues
            .iter_mut()
            .find(|i| i.key.eq_ignore_ascii_case(id_or_key) || i.id.to_string() == id_or_key)
            .ok_or_else(SimError::no_issue)
    }

    /// Validate and apply `fields` (create/edit screen) to `issue`; returns changelog items.
    pub(super) fn apply_fields(
        &self,
        issue: &mut JiraIssue,
        fields: &Map<String, Value>,
        version: ApiVersion,
        creating: bool,
    ) -> Result<Vec<Value>, SimError> {
        let mut errors = ErrorCollection::default();
        let mut items = Vec::new();
        let mut item =
            |field: &str, fieldtype: &str, field_id: &str, from: Value, from_s: Value, to: Value, to_s: Value| {
                items.push(json!({
                    "field": field, "fieldtype": fieldtype, "fieldId": field_id,
                    "from": from, "fromString": from_s, "to": to, "toString": to_s,
                }));
            };
        let not_on_screen =
            |name: &str| format!("Field '{name}' cannot be set. It is not on the appropriate screen, or unknown.");
        for (name, value) in fields {
            match name.as_str() {
                "project" | "issuetype" if creating => {}
                "summary" => match value.as_str().map(str::trim) {
                    Some(s) if !s.is_empty() => {
                        if issue.summary != s {
                            item(
                                "summary",
                                "jira",
                                "summary",
                                Value::Null,
                                json!(issue.summary),
                                Value::Null,
                                json!(s),
                            );
                            issue.summary = s.to_owned();
                        }
                    }
                    _ => {
                        errors.errors.insert("summary".into(), "You must specify a summary of the issue.".into());
                    }
                },
                "description" => {
                    let text = match (value, version) {
                        (Value::Null, _) => Ok(None),
                        (Value::String(s), ApiVersion::V2) => Ok(Some(s.clone())),
                        (Value::Object(_), ApiVersion::V3) => {
                            serde_json::from_value::<adf::Node>(value.clone()).map(|n| Some(adf::to_text(&n))).map_err(
                                |_| "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
                            )
                        }
                        (_, ApiVersion::V3) => {
                            Err("Operation value must be an Atlassian Document (see the Atlassian Document Format)")
                        }
                        (_, ApiVersion::V2) => Err("Operation value must be a string"),
                    };
                    match text {
                        Ok(text) => {
                            let text = text.filter(|t| !t.is_empty());
                            if issue.description != text {
                                item(
                                    "description",
                                    "jira",
                                    "description",
                                    Value::Null,
                                    json!(issue.description),
                                    Value::Null,
                                    json!(text),
                                );
                                issue.description = text;
                            }
                        }
                        Err(message) => {
                            errors.errors.insert("description".into(), message.into());
                        }
                    }
                }
                "priority" => {
                    let wanted = value
                        .get("name")
                        .and_then(Value::as_str)
                        .map(|n| ("name", n))
                        .or_else(|| value.get("id").and_then(Value::as_str).map(|i| ("id", i)));
                    let found = wanted.and_then(|(by, v)| {
                        PRIORITIES.iter().find(
                            |(id, name)| {
                                if by == "id" { *id == v } else { name.eq_ignore_ascii_case(v) }
                            },
                        )
                    });
                    match found {
                        Some((id, name)) => {
                            if issue.priority != *name {
                                let from_id = PRIORITIES.iter().find(|(_, n)| *n == issue.priority).map(|p| p.0);
                                item(
                                    "priority",
                                    "jira",
                                    "priority",
                                    json!(from_id),
                                    json!(issue.priority),
                                    json!(id),
                                    json!(name),
                                );
                                issue.priority = (*name).to_owned();
                            }
                        }
                        None => {
                            errors.errors.insert("priority".into(), "The priority selected is invalid.".into());
                        }
                    }
                }
                "assignee" => {
                    let handle = if value.is_null() {
                        Ok(None)
                    } else {
                        self.config
                            .profile
                            .user_keys()
                            .iter()
                            .find_map(|k| value.get(*k).and_then(Value::as_str))
                            .map(|h| Some(self.user_by_handle(h).map_or(h.to_owned(), |u| u.account_id.clone())))
                            .ok_or(())
                    };
                    match handle {
                        Ok(handle) => {
                            if issue.assignee != handle {
                                let name = |h: &Option<String>| {
                                    h.as_deref().map(|h| {
                                        self.user_by_handle(h).map_or(h.to_owned(), |u| u.display_name.clone())
                                    })
                                };
                                item(
                                    "assignee",
                                    "jira",
                                    "assignee",
                                    json!(issue.assignee),
                                    json!(name(&issue.assignee)),
                                    json!(handle),
                                    json!(name(&handle)),
                                );
                                issue.assignee = handle;
                            }
                        }
                        Err(()) => {
                            errors.errors.insert("assignee".into(), self.config.profile.user_keys_expected().into());
                        }
                    }
                }
                "labels" => match serde_json::from_value::<Vec<String>>(value.clone()) {
                    Ok(labels) => {
                        if let Some(bad) = labels.iter().find(|l| l.contains(char::is_whitespace) || l.is_empty()) {
                            errors.errors.insert(
                                "labels".into(),
                                format!("The label '{bad}' contains spaces which is invalid."),
                            );
                        } else if issue.labels != labels {
                            item(
                                "labels",
                                "jira",
                                "labels",
                                Value::Null,
                                json!(issue.labels.join(" ")),
                                Value::Null,
                                json!(labels.join(" ")),
                            );
                            issue.labels = labels;
                        }
                    }
                    Err(_) => {
                        errors.errors.insert("labels".into(), "data was not an array".into());
                    }
                },
                custom if self.custom_name(custom).is_some() => {
                    let old = issue.custom.get(custom).cloned().unwrap_or(Value::Null);
                    if old != *value {
                        let as_text = |v: &Value| match v {
                            Value::Null => Value::Null,
                            Value::String(s) => json!(s),
                            other => json!(other.to_string()),
                        };
                        item(
                            self.custom_name(custom).unwrap_or(custom),
                            "custom",
                            custom,
                            Value::Null,
                            as_text(&old),
                            Value::Null,
                            as_text(value),
                        );
                        if value.is_null() {
                            issue.custom.remove(custom);
                        } else {
                            issue.custom.insert(custom.to_owned(), value.clone());
                        }
                    }
                }
                other => {
                    errors.errors.insert(other.to_owned(), not_on_screen(other));
                }
            }
        }
        if errors.errors.is_empty() && errors.error_messages.is_empty() {
            Ok(items)
        } else {
            Err(SimError::bad(errors))
        }
    }

    pub(super) fn create(&self, actor: &SimUser, version: ApiVersion, body: &Value) -> Result<Value, SimError> {
        let fields = body
            .get("fields")
            .and_then(Value::as_object)
            .ok_or_else(|| SimError::bad(ErrorCollection::field("project", "project is required")))?;
        let mut errors = ErrorCollection::default();
        let project = fields.get("project").and_then(|p| {
            p.get("key").and_then(Value::as_str).map(str::to_owned).or_else(|| {
                p.get("id").and_then(Value::as_str).and_then(|id| {
                    let n: usize = id.parse().ok()?;
                    self.config.projects.get(n.checked_sub(10000)?).cloned()
                })
            })
        });
        let project = match project {
            Some(p) if self.config.projects.iter().any(|k| k.eq_ignore_ascii_case(&p)) => Some(p.to_uppercase()),
            Some(_) => {
                errors.errors.insert("project".into(), "valid project is required".into());
                None
            }
            None => {
                errors.errors.insert("project".into(), "project is required".into());
                None
            }
        };
        let issue_type = fields
            .get("issuetype")
            .and_then(|t| t.get("name").and_then(Value::as_str))
            .and_then(|n| self.config.issue_types.iter().find(|t| t.eq_ignore_ascii_case(n)).cloned());
        if issue_type.is_none() {
            let message = if fields.contains_key("issuetype") {
                "valid issue type is required"
            } else {
                "issue type is required"
            };
            errors.errors.insert("issuetype".into(), message.into());
        }
        if !fields.contains_key("summary") {
            errors.errors.insert("summary".into(), "You must specify a summary of the issue.".into());
        }
        let mut inner = self.lock();
        let now = self.now();
        let mut issue = JiraIssue {
            id: 0,
            key: String::new(),
            project: project.clone().unwrap_or_default(),
            issue_type: issue_type.clone().unwrap_or_default(),
            summary: String::new(),
            description: None,
            status: self.config.initial_status.clone(),
            priority: "Medium".to_owned(),
            assignee: None,
            reporter: actor.account_id.clone(),
            labels: Vec::new(),
            custom: BTreeMap::new(),
            resolution: None,
            created: now,
            updated: now,
            comments: Vec::new(),
            remote_links: Vec::new(),
            issue_links: Vec::new(),
        };
        let applied = self.apply_fields(&mut issue, fields, version, true);
        if let Err(e) = &applied {
            errors.errors.extend(e.errors.errors.clone());
        }
        if !errors.errors.is_empty() {
            return Err(SimError::bad(errors));
        }
        let Some(project) = project else {
            return Err(SimError::bad(errors));
        };
        inner.next_issue_id += 1;
        issue.id = 9_999 + inner.next_issue_id;
        let number = inner.next_number.entry(project.clone()).or_insert(0);
        *number += 1;
        issue.key = format!("{project}-{number}");
        let key = issue.key.clone();
        let id = issue.id;
        inner.issues.push(issue);
        self.issue_event(&mut inner, &key, (webhook::ISSUE_CREATED, "issue_created"), actor, Vec::new(), None);
        Ok(json!({
            "id": id.to_string(),
            "key": key,
            "self": format!("{}/rest/api/{}/issue/{id}", self.base_url(), version.as_str()),
        }))
    }

    pub(super) fn edit(&self, actor: &SimUser, version: ApiVersion, key: &str, body: &Value) -> Result<(), SimError> {
        let mut inner = self.lock();
        let now = self.now();
        let issue = Self::find(&mut inner, key)?;
        let mut draft = issue.clone();
        let mut fields = body.get("fields").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut comment = None;
        if let Some(update) = body.get("update").and_then(Value::as_object) {
            for (name, ops) in update {
                let Some(ops) = ops.as_array() else {
                    return Err(SimError::bad(ErrorCollection::field(name, "Operation value must be an array")));
                };
                for op in ops {
                    match (name.as_str(), op.as_object().and_then(|o| o.iter().next())) {
                        ("labels", Some((verb, value))) => {
                            let label = value.as_str().unwrap_or_default().to_owned();
                            let mut labels: Vec<String> = fields
                                .get("labels")
                                .and_then(|l| serde_json::from_value(l.clone()).ok())
                                .unwrap_or_else(|| draft.labels.clone());
                            match verb.as_str() {
                                "add" if !labels.contains(&label) => labels.push(label),
                                "remove" => labels.retain(|l| *l != label),
                                "set" => labels = serde_json::from_value(value.clone()).unwrap_or_default(),
                                _ => {}
                            }
                            fields.insert("labels".into(), json!(labels));
                        }
                        ("comment", Some((verb, value))) if verb == "add" => comment = Some(value.clone()),
                        (_, Some((verb, value))) if verb == "set" => {
                            fields.insert(name.clone(), value.clone());
                        }
                        _ => {
                            return Err(SimError::bad(ErrorCollection::field(
                                name,
                                format!(
                                    "Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
                                ),
                            )));
                        }
                    }
                }
            }
        }
        if fields.contains_key("project") {
            return Err(SimError::bad(ErrorCollection::field(
                "project",
                "Field 'project' cannot be set. It is not on the appropriate screen, or unknown.",
            )));
        }
        if let Some(t) = fields.remove("issuetype") {
            match t
                .get("name")
                .and_then(Value::as_str)
                .and_then(|n| self.config.issue_types.iter().find(|x| x.eq_ignore_ascii_case(n)))
            {
                Some(t) => draft.issue_type = t.clone(),
                None => {
                    return Err(SimError::bad(ErrorCollection::field("issuetype", "valid issue type is required")));
                }
            }
        }
        let items = self.apply_fields(&mut draft, &fields, version, false)?;
        let changed = !items.is_empty() || draft.issue_type != issue.issue_type;
        if changed {
            draft.updated = now;
        }
        *issue = draft;
        let key = issue.key.clone();
        if changed {
            self.issue_event(&mut inner, &key, (webhook::ISSUE_UPDATED, "issue_generic"), actor, items, None);
        }
        drop(inner);
        if let Some(comment) = comment {
            self.add_comment(actor, version, &key, &comment)?;
        }
        Ok(())
    }
}
