//! Attachments through the record's attachment field (see [`crate::attachment`]).

use deskgate_adapter::multipart::{self, Part};
use deskgate_adapter::{AdapterError, AttachmentUpload, RemoteAttachment, RemoteId, http};
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};

use super::ClearQuestAdapter;
use crate::attachment::{CqAttachmentField, field_path};
use crate::oslc;

impl ClearQuestAdapter {
    async fn attachment_call(
        &self,
        method: Method,
        path: &str,
        body: Option<(String, Vec<u8>)>,
    ) -> Result<http::Answer, AdapterError> {
        let mut url = self.base.clone();
        url.set_path(path);
        let what = format!("{method} {}", url.path());
        let mut request = self
            .http
            .request(method, url)
            .basic_auth(&self.config.user, Some(&self.config.password))
            .header("OSLC-Core-Version", "2.0")
            .header(ACCEPT, "application/json");
        if let Some((content_type, body)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(body);
        }
        let answer = http::send("ClearQuest", &what, request, self.config.limits.max_bytes).await?;
        if answer.status.is_success() {
            return Ok(answer);
        }
        let mut message = format!("ClearQuest answered {} to {what}", answer.status.as_u16());
        if let Some(detail) = oslc::parse_error(&answer.body).map(|e| e.message).filter(|m| !m.is_empty()) {
            message.push_str(": ");
            message.push_str(&detail);
        }
        Err(answer.error(message))
    }

    /// The files in the record's attachment field.
    pub async fn list_attachments(&self, id: &RemoteId) -> Result<Vec<RemoteAttachment>, AdapterError> {
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
    pub async fn upload_attachment(
        &self,
        id: &RemoteId,
        file: &AttachmentUpload,
    ) -> Result<RemoteAttachment, AdapterError> {
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
