//! A ClearQuest desk's options: `clearquest = { repo, db, record_type, …, poll_ms }`.
//! Plain configuration data, read with the rest of a desk by `crate::config`.

use serde::Deserialize;

use crate::dialects::options::{DeskFields, DeskOptions, OptionProblem};
use crate::model::DialectId;

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

impl DeskOptions for ClearQuestOptions {
    const SYSTEM: DialectId = DialectId::Clearquest;

    fn check_desk(options: Option<&Self>, path: &str, desk: &DeskFields<'_>, problems: &mut Vec<OptionProblem>) {
        if desk.endpoint_given && options.is_none() {
            problems.push((
                format!("{path}.clearquest"),
                "a ClearQuest desk deskgate calls needs clearquest = { repo = \"…\", db = \"…\" }".into(),
            ));
        }
        // The adapter builds `{endpoint}/cqweb/oslc/…`: an endpoint that already ends in
        // `/cqweb` would send every call to `/cqweb/cqweb/oslc/…`.
        if let Some(e) = desk.endpoint {
            if e.path().trim_end_matches('/').ends_with("/cqweb") {
                let base = e.as_str().trim_end_matches('/').trim_end_matches("/cqweb");
                problems.push((
                    format!("{path}.endpoint"),
                    format!(
                        "give the ClearQuest server's base URL without /cqweb (deskgate adds /cqweb/oslc/…): {base}"
                    ),
                ));
            }
        }
    }
}
