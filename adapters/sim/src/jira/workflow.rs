//! The workflow: statuses, transitions, and the resolution a transition sets or clears.
//!
//! Status changes only through the workflow ([`WORKFLOW`]): the transitions listed
//! are those available from the current status, and any other transition id → 400
//! `Transition id 'x' is not valid for this issue.`. Entering a done status sets a
//! resolution (`Done`, or `Won't Do`); leaving it clears the resolution.
//!
//! Each transition has a screen ([`TransitionDef::screen`]): the fields it takes.
//! `Resolve Issue` and `Close Issue` show Jira's Resolve Issue Screen (the
//! resolution); the others have none, and a field a transition's screen lacks is
//! refused with 400 `{"errors":{"resolution":"Field 'resolution' cannot be set. It is
//! not on the appropriate screen, or unknown."}}`, as Jira does. `GET
//! …/transitions?expand=transitions.fields` lists each transition's screen fields
//! under `fields` (with `required`, `schema`, `name`, `key`, `operations`,
//! `allowedValues`), and `hasScreen` says whether it has one (shape per the Jira
//! Cloud REST reference of Get transitions, as jira.js documents it:
//! <https://mrrefactoring.github.io/jira.js/api/functions/server.getTransitions.html>).
//! `GET …/status/{idOrName}` answers a status with its category.

use deskgate_jira::webhook;
use deskgate_jira::wire::{ApiVersion, ErrorCollection};
use serde_json::{Map, Value, json};

use super::{Shared, SimError, SimUser};

/// One status of the workflow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusDef {
    pub id: &'static str,
    pub name: &'static str,
    /// `new`, `indeterminate` or `done`.
    pub category: &'static str,
}

pub const STATUSES: &[StatusDef] = &[
    StatusDef { id: "1", name: "Open", category: "new" },
    StatusDef { id: "10000", name: "To Do", category: "new" },
    StatusDef { id: "3", name: "In Progress", category: "indeterminate" },
    StatusDef { id: "4", name: "Reopened", category: "new" },
    StatusDef { id: "10002", name: "Waiting for customer", category: "indeterminate" },
    StatusDef { id: "10003", name: "Pending", category: "indeterminate" },
    StatusDef { id: "10004", name: "Pending Release", category: "indeterminate" },
    StatusDef { id: "5", name: "Resolved", category: "done" },
    StatusDef { id: "10001", name: "Done", category: "done" },
    StatusDef { id: "6", name: "Closed", category: "done" },
    StatusDef { id: "10005", name: "Won't Do", category: "done" },
];

/// One workflow transition: its id, name, the statuses it is available from, its target.
#[derive(Clone, Copy, Debug)]
pub struct TransitionDef {
    pub id: &'static str,
    pub name: &'static str,
    pub from: &'static [&'static str],
    pub to: &'static str,
    /// The fields on the transition's screen (empty: no screen).
    pub screen: &'static [&'static str],
}

/// Jira's Resolve Issue Screen, as far as the simulator knows it.
const RESOLVE_SCREEN: &[&str] = &["resolution"];

/// Resolutions offered on a screen (others are accepted too: the simulator does not
/// keep a resolution scheme).
const RESOLUTIONS: &[(&str, &str)] = &[
    ("10000", "Done"),
    ("10001", "Won't Do"),
    ("10002", "Fixed"),
    ("10003", "Duplicate"),
    ("10004", "Cannot Reproduce"),
];

const WORKING: &[&str] = &["Open", "To Do", "Reopened", "In Progress"];

/// The workflow: To Do/Open → In Progress → Resolved/Done → Closed, with waiting
/// states, Pending Release and Won't Do. Closed is left only by Reopen.
pub const WORKFLOW: &[TransitionDef] = &[
    TransitionDef {
        id: "11",
        name: "Start Progress",
        from: &["Open", "To Do", "Reopened", "Waiting for customer", "Pending", "Pending Release"],
        to: "In Progress",
        screen: &[],
    },
    TransitionDef { id: "21", name: "Stop Progress", from: &["In Progress"], to: "Open", screen: &[] },
    TransitionDef { id: "31", name: "Wait for customer", from: WORKING, to: "Waiting for customer", screen: &[] },
    TransitionDef { id: "41", name: "Pend", from: WORKING, to: "Pending", screen: &[] },
    TransitionDef {
        id: "51",
        name: "Await release",
        from: &["In Progress", "Pending"],
        to: "Pending Release",
        screen: &[],
    },
    TransitionDef {
        id: "61",
        name: "Resolve Issue",
        from: &["Open", "To Do", "Reopened", "In Progress", "Waiting for customer", "Pending", "Pending Release"],
        to: "Resolved",
        screen: RESOLVE_SCREEN,
    },
    TransitionDef { id: "71", name: "Done", from: &["In Progress", "To Do"], to: "Done", screen: &[] },
    TransitionDef { id: "81", name: "Close Issue", from: &["Resolved", "Done"], to: "Closed", screen: RESOLVE_SCREEN },
    TransitionDef {
        id: "91",
        name: "Reopen Issue",
        from: &["Resolved", "Done", "Closed", "Won't Do"],
        to: "Reopened",
        screen: &[],
    },
    TransitionDef {
        id: "101",
        name: "Won't Do",
        from: &["Open", "To Do", "Reopened", "In Progress", "Waiting for customer", "Pending"],
        to: "Won't Do",
        screen: &[],
    },
];

pub(super) fn status_def(name: &str) -> Option<&'static StatusDef> {
    STATUSES.iter().find(|s| s.name.eq_ignore_ascii_case(name))
}

impl Shared {
    /// The transitions of this instance's workflow: [`WORKFLOW`] less those removed.
    pub(super) fn workflow(&self) -> impl Iterator<Item = &'static TransitionDef> + '_ {
        WORKFLOW.iter().filter(|t| !self.config.removed_transitions.iter().any(|r| r.eq_ignore_ascii_case(t.name)))
    }

    pub(super) fn transitions_json(&self, version: ApiVersion, status: &str, with_fields: bool) -> Value {
        let transitions: Vec<Value> = self
            .workflow()
            .filter(|t| t.from.iter().any(|f| f.eq_ignore_ascii_case(status)))
            .map(|t| {
                let mut to = self.status_json(t.to);
                if let Some(o) = to.as_object_mut() {
                    o.insert(
                        "self".into(),
                        json!(format!(
                            "{}/rest/api/{}/status/{}",
                            self.base_url(),
                            version.as_str(),
                            status_def(t.to).map_or("", |s| s.id)
                        )),
                    );
                }
                let mut transition = json!({
                    "id": t.id, "name": t.name, "to": to,
                    "hasScreen": !t.screen.is_empty(), "isGlobal": false, "isInitial": false,
                    "isAvailable": true, "isConditional": false, "isLooped": false,
                });
                if with_fields {
                    let fields: Map<String, Value> =
                        t.screen.iter().map(|f| ((*f).to_owned(), self.screen_field_json(version, f))).collect();
                    transition["fields"] = Value::Object(fields);
                }
                transition
            })
            .collect();
        json!({ "expand": "transitions", "transitions": transitions })
    }

    /// A screen field's metadata, as `expand=transitions.fields` lists it.
    fn screen_field_json(&self, version: ApiVersion, field: &str) -> Value {
        let base = self.base_url();
        let v = version.as_str();
        let allowed: Vec<Value> = RESOLUTIONS
            .iter()
            .map(|(id, name)| json!({ "self": format!("{base}/rest/api/{v}/resolution/{id}"), "id": id, "name": name }))
            .collect();
        json!({
            "required": true,
            "schema": { "type": field, "system": field },
            "name": "Resolution",
            "key": field,
            "hasDefaultValue": false,
            "operations": ["set"],
            "allowedValues": allowed,
        })
    }

    pub(super) fn transition(
        &self,
        actor: &SimUser,
        version: ApiVersion,
        key: &str,
        body: &Value,
    ) -> Result<(), SimError> {
        let id = body
            .get("transition")
            .and_then(|t| t.get("id"))
            .and_then(|id| id.as_str().map(str::to_owned).or_else(|| id.as_u64().map(|n| n.to_string())))
            .ok_or_else(|| SimError::bad_message("Missing 'transition' identifier"))?;
        let mut inner = self.lock();
        let now = self.now();
        let issue = Self::find(&mut inner, key)?;
        let Some(t) =
            self.workflow().find(|t| t.id == id && t.from.iter().any(|f| f.eq_ignore_ascii_case(&issue.status)))
        else {
            return Err(SimError::bad_message(format!("Transition id '{id}' is not valid for this issue.")));
        };
        let target = status_def(t.to).copied().unwrap_or(STATUSES[0]);
        let mut resolution = match (target.category, target.name) {
            ("done", "Won't Do") => Some("Won't Do".to_owned()),
            ("done", _) => issue.resolution.clone().or_else(|| Some("Done".to_owned())),
            _ => None,
        };
        if let Some(fields) = body.get("fields").and_then(Value::as_object) {
            for (name, value) in fields {
                match name.as_str() {
                    "resolution" if t.screen.contains(&"resolution") => {
                        resolution = value.get("name").and_then(Value::as_str).map(str::to_owned);
                    }
                    other => {
                        return Err(SimError::bad(ErrorCollection::field(
                            other,
                            format!("Field '{other}' cannot be set. It is not on the appropriate screen, or unknown."),
                        )));
                    }
                }
            }
        }
        let from = status_def(&issue.status).copied().unwrap_or(STATUSES[0]);
        let mut items = vec![json!({
            "field": "status", "fieldtype": "jira", "fieldId": "status",
            "from": from.id, "fromString": from.name, "to": target.id, "toString": target.name,
        })];
        if issue.resolution != resolution {
            items.push(json!({
                "field": "resolution", "fieldtype": "jira", "fieldId": "resolution",
                "from": Value::Null, "fromString": issue.resolution, "to": Value::Null, "toString": resolution,
            }));
        }
        issue.status = target.name.to_owned();
        issue.resolution = resolution;
        issue.updated = now;
        let key = issue.key.clone();
        self.issue_event(&mut inner, &key, (webhook::ISSUE_UPDATED, "issue_generic"), actor, items, None);
        drop(inner);
        if let Some(comment) = body.pointer("/update/comment/0/add") {
            self.add_comment(actor, version, &key, comment)?;
        }
        Ok(())
    }
}
