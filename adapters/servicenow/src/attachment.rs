//! The Attachment API's record (`sys_attachment`) as ServiceNow answers it: every
//! value a string, sizes included. Shared by the outbound client, the simulator and
//! the gateway's inbound Attachment API.

use serde::{Deserialize, Serialize};

/// One attachment's metadata: what `POST /api/now/attachment/file` answers in
/// `result` and `GET /api/now/attachment` lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttachmentRecord {
    pub sys_id: String,
    pub file_name: String,
    pub content_type: String,
    /// The size in bytes, as a string (`"5881"`).
    pub size_bytes: String,
    pub table_name: String,
    pub table_sys_id: String,
    /// SHA-256 of the content in hex.
    pub hash: String,
    /// `<instance>/api/now/attachment/<sys_id>/file`.
    pub download_link: String,
    pub sys_created_on: String,
    pub sys_created_by: String,
    pub sys_updated_on: String,
    pub sys_updated_by: String,
    pub sys_mod_count: String,
    pub state: String,
}

impl AttachmentRecord {
    pub fn size(&self) -> u64 {
        self.size_bytes.trim().parse().unwrap_or(0)
    }
}
