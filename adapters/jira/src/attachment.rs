//! An attachment as Jira's REST API shows it: in an issue's `fields.attachment`
//! and in the answer of `POST /issue/{key}/attachments` (a list of these).

use serde::{Deserialize, Serialize};

use crate::wire::User;

/// The header Jira requires on an attachment upload (its XSRF check).
pub const NO_CHECK_HEADER: &str = "X-Atlassian-Token";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    #[serde(rename = "self", default)]
    pub self_url: String,
    pub id: String,
    pub filename: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<User>,
    /// Jira timestamp (`2024-01-15T10:30:00.000+0000`).
    #[serde(default)]
    pub created: String,
    pub size: u64,
    #[serde(default)]
    pub mime_type: String,
    /// Where the content is downloaded: `{base}/secure/attachment/{id}/{filename}`.
    #[serde(default)]
    pub content: String,
}
