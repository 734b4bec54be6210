//! The incident's category as Jira labels: `security` or `fraud` (the Mitz
//! classification; the Dutch `informatiebeveiliging` and `fraude` are read too); an
//! issue with neither is a disruption. Other labels are accepted and not kept.

use serde_json::{Value, json};

use super::field_error;
use crate::http::error::ApiError;
use crate::model::Category;

/// The `labels` field of an incident.
pub(super) fn labels(category: Category) -> Value {
    match category {
        Category::Disruption => json!([]),
        other => json!([other.as_str()]),
    }
}

/// The category `labels` (a list of strings) says.
pub(super) fn category(labels: &Value) -> Result<Category, ApiError> {
    let list = labels
        .as_array()
        .filter(|l| l.iter().all(Value::is_string))
        .ok_or_else(|| field_error("labels", "labels: expected a list of labels, e.g. [\"security\"]"))?;
    let named =
        |want: &[&str]| list.iter().filter_map(Value::as_str).any(|l| want.iter().any(|w| l.eq_ignore_ascii_case(w)));
    Ok(if named(&["security", "informatiebeveiliging"]) {
        Category::Security
    } else if named(&["fraud", "fraude"]) {
        Category::Fraud
    } else {
        Category::Disruption
    })
}
