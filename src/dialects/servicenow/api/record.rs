//! The incident as a ServiceNow `incident` record, in the calling desk's vocabulary.
//!
//! Where each field comes from:
//! - `sys_id`, `number`: derived from the incident id; `sys_class_name` is `incident`.
//! - `short_description`, `description`, `impact`, `urgency`, `priority` (the base
//!   system's lookup of the two), `close_code`, `close_notes`: the incident's own.
//! - `state`, `incident_state` (the same value, as in the base system), `hold_reason`:
//!   the canonical status in the desk's mapping.
//! - `category`: the incident's category — `software` for a disruption (every
//!   incident deskgate federates concerns an IT service), `security` or `fraud`
//!   (the Mitz classification; see `category_value`).
//! - References, each `{"link", "value"}` unless `sysparm_exclude_reference_link=true`,
//!   their display value the referenced record's name. The links point where
//!   ServiceNow keeps such records; deskgate serves only `incident`.
//!   `business_service` and `cmdb_ci`: the service (`cmdb_ci_service`, `cmdb_ci`; deskgate
//!   knows no finer configuration item); `assignment_group`: the assigned desk
//!   (`sys_user_group`); `caller_id` and `opened_by`: the reporting desk (`sys_user`);
//!   `parent_incident`: the parent incident.
//! - `correlation_id`, `correlation_display`: the calling desk's own ticket, if any.
//! - `u_deskgate_incident`, `u_reported_by`: deskgate's id and the reporting desk.
//! - `comments`, `work_notes`: journals; the notes the desk may see as display values.
//! - `opened_at`, `sys_created_on`, `sys_updated_on`, `sys_mod_count`: the incident's
//!   times and version; `sys_created_by` the reporting desk, `sys_updated_by` the desk
//!   of the latest change.

use super::*;

/// One field: its internal value, its display value and, for references, a link.
#[derive(Clone, Debug)]
pub(super) struct FieldValue {
    pub(super) value: String,
    pub(super) display: String,
    pub(super) link: Option<String>,
}

impl FieldValue {
    pub(super) fn plain(value: impl Into<String>) -> Self {
        let value = value.into();
        Self { display: value.clone(), value, link: None }
    }

    pub(super) fn labelled(value: impl Into<String>, display: impl Into<String>) -> Self {
        Self { value: value.into(), display: display.into(), link: None }
    }

    /// A reference to the record `value` of `table`.
    pub(super) fn reference(base: &str, table: &str, value: impl Into<String>, display: impl Into<String>) -> Self {
        let value = value.into();
        Self { link: Some(format!("{base}/api/now/table/{table}/{value}")), value, display: display.into() }
    }
}

/// An incident as the calling desk sees it through the Table API.
pub(super) struct View {
    pub(super) fields: BTreeMap<&'static str, FieldValue>,
}

impl View {
    pub(super) fn new(state: &AppState, desk: &SnDesk<'_>, i: &Incident, base: &str) -> Self {
        let config = state.gateway.config();
        let desk_name = |d: &DeskId| config.desk(d).map(|d| d.name.clone()).unwrap_or_else(|| d.to_string());
        let mapping = desk.mapping;
        let status = mapping.status_fields(i.status, None, false);
        let status = status.fields().cloned().unwrap_or_default();
        let state_value = status.status.clone().unwrap_or_default();
        let extra = |k: &str| status.extra.get(k).cloned().unwrap_or_default();
        let (impact, urgency) = levels(i, mapping);
        let priority = wire::priority(impact, urgency);
        let own = i.ref_for(&desk.who.desk);
        let actor = desk.who.actor();
        let journal = |visibility: Visibility, label: &str| {
            i.notes
                .iter()
                .rev()
                .filter(|n| n.visibility == visibility && Incident::note_visible_to(n, &actor))
                .map(|n| {
                    format!(
                        "{} - {} ({label})\n{}\n\n",
                        wire::format_date(n.at),
                        desk_name(&n.author_desk),
                        n.body.as_str()
                    )
                })
                .collect::<String>()
        };
        let hold_reason = extra("hold_reason");
        let mut fields = BTreeMap::new();
        let mut put = |name: &'static str, v: FieldValue| {
            fields.insert(name, v);
        };
        put("sys_id", FieldValue::plain(sys_id_of(&i.id)));
        put("number", FieldValue::plain(number_of(&i.id)));
        put("short_description", FieldValue::plain(i.title.as_str()));
        put("description", FieldValue::plain(i.description.as_str()));
        put("sys_class_name", FieldValue::labelled("incident", "Incident"));
        let state_label = wire::state::label(&state_value).unwrap_or(&state_value);
        put("state", FieldValue::labelled(&state_value, state_label));
        put("incident_state", FieldValue::labelled(&state_value, state_label));
        put("hold_reason", FieldValue::labelled(&hold_reason, hold_reason_label(&hold_reason)));
        put("impact", FieldValue::labelled(impact.to_string(), level_label(impact)));
        put("urgency", FieldValue::labelled(urgency.to_string(), level_label(urgency)));
        put("priority", FieldValue::labelled(priority.to_string(), priority_label(priority)));
        put("category", category_field(i.category));
        put("business_service", FieldValue::reference(base, "cmdb_ci_service", i.service.as_str(), i.service.as_str()));
        put("cmdb_ci", FieldValue::reference(base, "cmdb_ci", i.service.as_str(), i.service.as_str()));
        put(
            "assignment_group",
            match &i.assignee {
                Some(a) => FieldValue::reference(base, "sys_user_group", a.as_str(), desk_name(a)),
                None => FieldValue::plain(""),
            },
        );
        let reporter = &i.origin.desk;
        put("caller_id", FieldValue::reference(base, "sys_user", reporter.as_str(), desk_name(reporter)));
        put("opened_by", FieldValue::reference(base, "sys_user", reporter.as_str(), desk_name(reporter)));
        put("correlation_id", FieldValue::plain(own.map(|r| r.remote_id.to_string()).unwrap_or_default()));
        put("correlation_display", FieldValue::plain(own.map(|r| r.display_id.clone()).unwrap_or_default()));
        put("u_deskgate_incident", FieldValue::plain(i.id.as_str()));
        put("u_reported_by", FieldValue::labelled(i.origin.desk.as_str(), desk_name(&i.origin.desk)));
        put("u_type", FieldValue::plain(i.kind.as_str()));
        // The process profile's priority (`P04`), beside ServiceNow's computed one.
        let process_priority = i.process.as_ref().and_then(|p| p.priority.clone()).unwrap_or_default();
        put("u_process_priority", FieldValue::plain(process_priority));
        put(
            "parent_incident",
            match &i.parent {
                Some(p) => {
                    let sys_id = sys_id_of(p);
                    FieldValue {
                        link: Some(format!("{base}/api/now/table/incident/{sys_id}")),
                        value: sys_id,
                        display: number_of(p),
                    }
                }
                None => FieldValue::plain(""),
            },
        );
        put("active", FieldValue::plain(if i.status.is_terminal() { "false" } else { "true" }));
        put("close_code", FieldValue::plain(extra("close_code")));
        put("close_notes", FieldValue::plain(extra("close_notes")));
        put("comments", FieldValue::labelled("", journal(Visibility::Public, "Additional comments")));
        put("work_notes", FieldValue::labelled("", journal(Visibility::Internal, "Work notes")));
        put("opened_at", FieldValue::plain(wire::format_date(i.created_at)));
        put("sys_created_by", FieldValue::plain(reporter.as_str()));
        put("sys_created_on", FieldValue::plain(wire::format_date(i.created_at)));
        let updated_by = i.history.last().map(|h| &h.actor).unwrap_or(reporter);
        put("sys_updated_by", FieldValue::plain(updated_by.as_str()));
        put("sys_updated_on", FieldValue::plain(wire::format_date(i.updated_at)));
        put("sys_mod_count", FieldValue::plain(i.version.saturating_sub(1).to_string()));
        Self { fields }
    }

    pub(super) fn value(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(|f| f.value.as_str())
    }

    /// Does `field` hold `want`, as its value or (in any casing) its display value?
    pub(super) fn is(&self, field: &str, want: &str) -> bool {
        let value = self.fields.get(field);
        value.is_some_and(|f| f.value == want || (!f.display.is_empty() && f.display.eq_ignore_ascii_case(want)))
    }

    pub(super) fn render(&self, how: &Rendering) -> Value {
        let mut out = Map::new();
        let names: Vec<&str> = match &how.fields {
            Some(fields) => fields.iter().map(String::as_str).collect(),
            None => field_names().collect(),
        };
        for name in names {
            if let Some(f) = self.fields.get(name) {
                out.insert(name.to_owned(), how.field(f));
            }
        }
        Value::Object(out)
    }
}

/// ServiceNow impact and urgency (1..3) for the incident: its own when they give its
/// priority, else those the desk's mapping writes for that priority, else Low.
pub(super) fn levels(i: &Incident, mapping: &DeskMapping) -> (u8, u8) {
    let own = match (i.impact, i.urgency) {
        (Some(im), Some(ur)) => Some((im, ur)),
        _ => None,
    };
    match i.priority {
        Some(p) => {
            if let Some((im, ur)) = own.filter(|(im, ur)| Priority::from_impact_urgency(*im, *ur) == p) {
                return (im.rank(), ur.rank());
            }
            let fields = mapping.priority_fields(p);
            let level = |k: &str| fields.extra.get(k).and_then(|v| wire::parse_level("impact", v).ok());
            match (level("impact"), level("urgency")) {
                (Some(im), Some(ur)) => (im, ur),
                _ => default_levels(p),
            }
        }
        None => (i.impact.map(Level::rank).unwrap_or(3), i.urgency.map(Level::rank).unwrap_or(3)),
    }
}

pub(super) fn default_levels(p: Priority) -> (u8, u8) {
    match p {
        Priority::P1 => (1, 1),
        Priority::P2 => (1, 2),
        Priority::P3 => (2, 2),
        Priority::P4 => (3, 3),
    }
}

pub(super) fn level_label(level: u8) -> &'static str {
    match level {
        1 => "1 - High",
        2 => "2 - Medium",
        _ => "3 - Low",
    }
}

pub(super) fn priority_label(priority: u8) -> &'static str {
    match priority {
        1 => "1 - Critical",
        2 => "2 - High",
        3 => "3 - Moderate",
        4 => "4 - Low",
        _ => "5 - Planning",
    }
}

pub(super) fn hold_reason_label(value: &str) -> String {
    match value {
        "1" => "Awaiting Caller",
        "3" => "Awaiting Problem",
        "4" => "Awaiting Vendor",
        "5" => "Awaiting Change",
        other => other,
    }
    .to_owned()
}

/// The `category` field of an incident of `category`.
fn category_field(category: crate::model::Category) -> FieldValue {
    match category {
        crate::model::Category::Disruption => FieldValue::labelled("software", "Software"),
        crate::model::Category::Security => FieldValue::labelled("security", "Security"),
        crate::model::Category::Fraud => FieldValue::labelled("fraud", "Fraud"),
    }
}

/// The category a `category` value written by a desk means: `security` and `fraud`
/// (or the canonical and Dutch names) are those; the base system's IT categories
/// (`software`, `hardware`, `network`, `database`, `inquiry`) are a disruption.
pub(super) fn category_value(value: &str) -> Result<crate::model::Category, ApiError> {
    let v = value.trim().to_ascii_lowercase();
    if matches!(v.as_str(), "software" | "hardware" | "network" | "database" | "inquiry" | "") {
        return Ok(crate::model::Category::Disruption);
    }
    crate::model::Category::parse("category", &v).map_err(|_| {
        bad("category", "one of software, hardware, network, database, inquiry (a disruption), security, fraud")
    })
}
