//! A ClearQuest desk's options: `clearquest = { repo, db, record_type, …, poll_ms }`.
//! Plain configuration data, read with the rest of a desk by `crate::config`.

use serde::Deserialize;

/// How deskgate talks to a ClearQuest OSLC server.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClearQuestOptions {
    pub repo: String,
    pub db: String,
    /// Record type (default `Defect`) and its type dbid (default `16777224`).
    pub record_type: Option<String>,
    pub record_type_dbid: Option<String>,
    /// The field holding deskgate's incident id (default `cq:deskgate_Incident`).
    pub correlation_field: Option<String>,
    pub timeout_secs: Option<u64>,
    /// How often to poll for changes, in milliseconds (default 30000).
    pub poll_ms: Option<u64>,
}
