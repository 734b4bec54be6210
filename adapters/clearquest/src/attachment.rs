//! Attachments of a ClearQuest record as the OSLC provider exposes them: the
//! record's attachment field (`cq:Attachments`, an ATTACHMENT_LIST) is a resource of
//! its own at `{record}/field/Attachments`. Files are added by POSTing their content
//! there as `multipart/form-data` (ClearQuest's documented form: one part per file,
//! with an optional `description` part); the field is read as JSON (ClearQuest
//! serves every resource as JSON on `Accept: application/json`).
//!
//! The listing's exact member names are not pinned down by the public
//! documentation; this module reads the shape the simulator serves, kept in one
//! place so it is easy to align with a real server.

use serde::{Deserialize, Serialize};

/// The name of the record's attachment field.
pub const FIELD: &str = "Attachments";

/// The attachment field's resource, under a record's URI path.
pub fn field_path(record_path: &str) -> String {
    format!("{}/field/{FIELD}", record_path.trim_end_matches('/'))
}

/// One file in the attachment field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CqAttachment {
    /// The attachment's URI.
    #[serde(rename = "rdf:about", default)]
    pub about: String,
    #[serde(rename = "cq:filename")]
    pub filename: String,
    #[serde(rename = "cq:filesize", default)]
    pub filesize: u64,
    #[serde(rename = "cq:description", default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// The attachment field as JSON: `{"rdf:about": …, "cq:Attachments": [ … ]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CqAttachmentField {
    #[serde(rename = "rdf:about", default)]
    pub about: String,
    #[serde(rename = "cq:Attachments", default)]
    pub attachments: Vec<CqAttachment>,
}
