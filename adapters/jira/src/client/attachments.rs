//! Attachments: read from the issue's `fields.attachment`, added with
//! `POST /rest/api/{v}/issue/{key}/attachments` — a `multipart/form-data` body whose
//! `file` part is the file, and `X-Atlassian-Token: no-check`, without which Jira
//! refuses the upload (its XSRF check).

use async_trait::async_trait;
use deskgate_adapter::multipart::{self, Part};
use deskgate_adapter::{AdapterError, AttachmentUpload, Attachments, RemoteAttachment, RemoteId, http};
use reqwest::Method;

use super::{Auth, JiraAdapter, decode, issue_ref};
use crate::attachment::{Attachment, NO_CHECK_HEADER};
use crate::wire::Issue;

#[async_trait]
impl Attachments for JiraAdapter {
    /// The files attached to the issue `id`.
    async fn list(&self, id: &RemoteId) -> Result<Vec<RemoteAttachment>, AdapterError> {
        let key = issue_ref(id)?;
        let mut url = self.api_url(&["issue", key]);
        url.query_pairs_mut().append_pair("fields", "attachment");
        let what = format!("get attachments of {key}");
        let issue: Issue = self.get_json(url, &what).await?;
        let listed = issue.fields.extra.get("attachment").cloned().unwrap_or(serde_json::Value::Null);
        let attachments: Vec<Attachment> = if listed.is_null() {
            Vec::new()
        } else {
            serde_json::from_value(listed)
                .map_err(|e| AdapterError::permanent(format!("jira {what}: `fields.attachment` is not a list: {e}")))?
        };
        Ok(attachments.into_iter().map(remote).collect())
    }

    /// Attach `file` to the issue `id`.
    async fn add(&self, id: &RemoteId, file: &AttachmentUpload) -> Result<RemoteAttachment, AdapterError> {
        let key = issue_ref(id)?;
        let what = format!("add attachment to {key}");
        let (content_type, body) = multipart::encode(&[Part {
            name: "file".into(),
            file_name: Some(file.file_name.clone()),
            content_type: Some(file.content_type.clone()),
            data: file.content.clone(),
        }]);
        let mut request = self
            .http
            .request(Method::POST, self.api_url(&["issue", key, "attachments"]))
            .header(reqwest::header::ACCEPT, "application/json")
            .header(NO_CHECK_HEADER, "no-check")
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        request = match &self.config.auth {
            Auth::Basic { email, api_token } => request.basic_auth(email, Some(api_token)),
            Auth::Bearer { token } => request.bearer_auth(token),
        };
        let answer = http::send("jira", &what, request, http::DEFAULT_MAX_ANSWER_BYTES).await?;
        if !answer.status.is_success() {
            let detail: String = answer.text().chars().take(200).collect();
            return Err(answer.error(format!("jira {what}: HTTP {}: {}", answer.status.as_u16(), detail.trim())));
        }
        let added: Vec<Attachment> = decode(&answer.body, &what)?;
        added
            .into_iter()
            .next()
            .map(remote)
            .ok_or_else(|| AdapterError::permanent(format!("jira {what}: the answer lists no attachment")))
    }
}

fn remote(a: Attachment) -> RemoteAttachment {
    RemoteAttachment {
        id: Some(a.id),
        file_name: a.filename,
        size: a.size,
        content_type: Some(a.mime_type).filter(|t| !t.is_empty()),
    }
}
