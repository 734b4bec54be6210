//! A ServiceNow desk's options: `servicenow = { table, correlation_field, link_field, timeout_secs }`.
//! Plain configuration data, read with the rest of a desk by `crate::config`.

use serde::Deserialize;

use crate::dialects::options::DeskOptions;
use crate::model::DialectId;

/// How deskgate talks to a ServiceNow instance.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceNowOptions {
    /// The table incidents live in (default `incident`).
    pub table: Option<String>,
    /// The field holding deskgate's incident id (default `correlation_id`).
    pub correlation_field: Option<String>,
    /// A text field for links to other desks' tickets (default `u_deskgate_links`).
    pub link_field: Option<String>,
    pub timeout_secs: Option<u64>,
}

impl DeskOptions for ServiceNowOptions {
    const SYSTEM: DialectId = DialectId::Servicenow;
}
