//! A ClearQuest record type's workflow as data: its states, the actions between them,
//! the fields each action requires, and values for required fields a change does not
//! carry. Schemas differ between installations, so the table is read from the
//! `[schema]` section of `mappings/clearquest.toml` (or a desk's own file); the
//! simulator runs the same table.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The action that moves a record into state `to` from one of the states in `from`
/// (any state when `from` is empty), and the fields that must have a value once it ran.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateAction {
    pub action: String,
    #[serde(default)]
    pub from: Vec<String>,
    pub to: String,
    /// Prefixed field names (`cq:Owner`) the schema makes mandatory for this action.
    #[serde(default)]
    pub requires: Vec<String>,
}

impl StateAction {
    pub fn new(action: &str, from: &[&str], to: &str) -> Self {
        Self {
            action: action.to_owned(),
            from: from.iter().map(|s| (*s).to_owned()).collect(),
            to: to.to_owned(),
            requires: Vec::new(),
        }
    }

    /// The same action, requiring `fields`.
    pub fn requiring(mut self, fields: &[&str]) -> Self {
        self.requires = fields.iter().map(|s| (*s).to_owned()).collect();
        self
    }
}

/// The stand-in for the ClearQuest login deskgate uses, in [`Schema::defaults`].
pub const USER_PLACEHOLDER: &str = "{user}";

/// One record type's workflow.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schema {
    /// The state a submitted record starts in.
    pub initial_state: String,
    /// The action that changes fields without changing state.
    pub modify_action: String,
    pub actions: Vec<StateAction>,
    /// Values sent for a required field the change and the record leave empty;
    /// `"{user}"` stands for deskgate's own ClearQuest login.
    #[serde(default)]
    pub defaults: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct File {
    schema: Option<Schema>,
}

impl Schema {
    /// The `[schema]` section of a mapping file (other sections are ignored).
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: File = toml::from_str::<toml::Table>(text)
            .map_err(|e| e.message().to_owned())
            .and_then(|t| t.try_into().map_err(|e: toml::de::Error| format!("schema: {}", e.message())))?;
        let schema = file.schema.ok_or("no [schema] section")?;
        schema.check()?;
        Ok(schema)
    }

    /// What makes a table unusable, with the key path of the first problem.
    pub fn check(&self) -> Result<(), String> {
        if self.initial_state.trim().is_empty() {
            return Err("schema.initial_state: expected a state name".into());
        }
        if self.modify_action.trim().is_empty() {
            return Err("schema.modify_action: expected an action name".into());
        }
        if self.actions.is_empty() {
            return Err("schema.actions: expected at least one action".into());
        }
        for (i, a) in self.actions.iter().enumerate() {
            if a.action.trim().is_empty() || a.to.trim().is_empty() {
                return Err(format!("schema.actions[{i}]: expected an action and the state it leads to"));
            }
            if a.action == self.modify_action {
                return Err(format!("schema.actions[{i}].action: {} is the modify action", a.action));
            }
            if let Some(f) = a.requires.iter().find(|f| !f.contains(':')) {
                return Err(format!("schema.actions[{i}].requires: expected a prefixed field name such as cq:{f}"));
            }
        }
        Ok(())
    }

    /// The stock defect-tracking record type: Submitted → Assigned → Opened →
    /// Resolved → Closed, plus Postponed and Duplicate; an owner on Assign, a
    /// resolution on Resolve.
    pub fn stock() -> Self {
        Self {
            initial_state: "Submitted".into(),
            modify_action: "Modify".into(),
            actions: default_state_actions(),
            defaults: BTreeMap::from([
                ("cq:Owner".to_owned(), USER_PLACEHOLDER.to_owned()),
                ("cq:Resolution".to_owned(), "Fixed".to_owned()),
            ]),
        }
    }

    /// The action named `action`, or none for the modify action.
    pub fn action(&self, action: &str) -> Option<&StateAction> {
        self.actions.iter().find(|a| a.action == action)
    }

    /// The state `action` leads to from `state`, or why it cannot run.
    pub fn next_state(&self, action: &str, state: &str) -> Result<String, String> {
        if action == self.modify_action {
            return Ok(state.to_owned());
        }
        match self.action(action) {
            None => Err(format!("Unknown action \"{action}\" for this record type.")),
            Some(a) if a.from.is_empty() || a.from.iter().any(|f| f == state) => Ok(a.to.clone()),
            Some(_) => Err(format!("The action \"{action}\" is not available for a record in state \"{state}\".")),
        }
    }
}

/// The state model of ClearQuest's stock defect-tracking record type.
/// Installations differ: the gateway reads its table from the mapping file.
pub fn default_state_actions() -> Vec<StateAction> {
    vec![
        StateAction::new("Assign", &["Submitted", "Postponed"], "Assigned").requiring(&["cq:Owner"]),
        StateAction::new("Open", &["Assigned"], "Opened"),
        StateAction::new("Re_Open", &["Resolved", "Closed"], "Opened"),
        StateAction::new("Postpone", &["Submitted", "Assigned", "Opened"], "Postponed"),
        StateAction::new("Resolve", &["Assigned", "Opened"], "Resolved").requiring(&["cq:Resolution"]),
        StateAction::new("Close", &["Resolved"], "Closed"),
        StateAction::new("Duplicate", &["Submitted", "Assigned", "Opened", "Postponed"], "Duplicate"),
        StateAction::new("Unduplicate", &["Duplicate"], "Submitted"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_mapping_file_holds_the_stock_schema() {
        let text = include_str!("../../../mappings/clearquest.toml");
        assert_eq!(Schema::from_toml(text).unwrap(), Schema::stock());
    }

    #[test]
    fn bad_tables_name_the_key() {
        let err = Schema::from_toml(
            "[schema]\ninitial_state = \"S\"\nmodify_action = \"Modify\"\nactions = [{ action = \"A\", to = \"B\", requires = [\"Owner\"] }]",
        )
        .unwrap_err();
        assert!(err.starts_with("schema.actions[0].requires"), "{err}");
        let err = Schema::from_toml("[schema]\ninitial_state = \"S\"").unwrap_err();
        assert!(err.contains("schema"), "{err}");
    }

    #[test]
    fn actions_run_only_from_their_states() {
        let s = Schema::stock();
        assert_eq!(s.next_state("Assign", "Submitted").unwrap(), "Assigned");
        assert_eq!(s.next_state("Modify", "Opened").unwrap(), "Opened");
        assert!(s.next_state("Close", "Submitted").unwrap_err().contains("not available"));
        assert!(s.next_state("Fly", "Submitted").unwrap_err().contains("Unknown action"));
    }
}
