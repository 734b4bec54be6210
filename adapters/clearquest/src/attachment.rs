//! Attachments of a ClearQuest record as the OSLC provider exposes them: the
//! record's attachment field (`cq:Attachments`, an ATTACHMENT_LIST) is a resource of
//! its own at `{record}/field/Attachments`. Files are added by POSTing their content
//! there as `multipart/form-data` (ClearQuest's documented form: one part per file,
//! with an optional `description` part); the field is read as JSON (ClearQuest
//! serves every resource as JSON on `Accept: application/json`).
//!
//! The listing's exact member names are not pinned down by the public
//! documentation; this module reads the shape the simulator serves, kept in one
//! place so it is easy to align with a real server. [`ClearQuestAdapter`] speaks it
//! as its [`Attachments`].

use async_trait::async_trait;
use deskgate_adapter::multipart::{self, Part};
use deskgate_adapter::{AdapterError, AttachmentUpload, Attachments, RemoteAttachment, RemoteId, http};
use reqwest::Method;
use reqwest::header::{CONTENT_TYPE, LOCATION};
use serde::{Deserialize, Serialize};

use crate::client::ClearQuestAdapter;

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

impl ClearQuestAdapter {
    async fn attachment_call(
        &self,
        method: Method,
        path: &str,
        body: Option<(String, Vec<u8>)>,
    ) -> Result<http::Answer, AdapterError> {
        let mut url = self.base.clone();
        url.set_path(path);
        let (what, mut request) = self.request(method, url, "application/json");
        if let Some((content_type, body)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(body);
        }
        self.exchange(&what, request).await
    }
}

#[async_trait]
impl Attachments for ClearQuestAdapter {
    /// The files in the record's attachment field.
    async fn list(&self, id: &RemoteId) -> Result<Vec<RemoteAttachment>, AdapterError> {
        let path = field_path(&self.record_path(id)?);
        let answer = self.attachment_call(Method::GET, &path, None).await?;
        let field: CqAttachmentField = serde_json::from_slice(&answer.body).map_err(|e| {
            AdapterError::permanent(format!("ClearQuest's answer to GET {path} is not an attachment field: {e}"))
        })?;
        Ok(field
            .attachments
            .into_iter()
            .map(|a| RemoteAttachment {
                id: Some(a.about).filter(|s| !s.is_empty()),
                file_name: a.filename,
                size: a.filesize,
                content_type: None,
            })
            .collect())
    }

    /// Add `file` to the record's attachment field.
    async fn add(&self, id: &RemoteId, file: &AttachmentUpload) -> Result<RemoteAttachment, AdapterError> {
        let path = field_path(&self.record_path(id)?);
        let form = multipart::encode(&[Part {
            name: "file".into(),
            file_name: Some(file.file_name.clone()),
            content_type: Some(file.content_type.clone()),
            data: file.content.clone(),
        }]);
        let answer = self.attachment_call(Method::POST, &path, Some(form)).await?;
        Ok(RemoteAttachment {
            id: answer.header(LOCATION).map(str::to_owned),
            file_name: file.file_name.clone(),
            size: file.content.len() as u64,
            content_type: Some(file.content_type.clone()),
        })
    }
}
