//! Attachments through the Attachment API: listing a record's files
//! (`GET /api/now/attachment?sysparm_query=table_name=…^table_sys_id=…`) and
//! uploading one (`POST /api/now/attachment/file?table_name=…&table_sys_id=…&file_name=…`,
//! the raw content as the body with its own `Content-Type`).

use async_trait::async_trait;
use deskgate_adapter::http;
use deskgate_adapter::{AdapterError, AttachmentUpload, Attachments, RemoteAttachment, RemoteId};
use reqwest::Method;
use url::Url;

use super::{ServiceNowAdapter, result_of};
use crate::attachment::AttachmentRecord;

impl ServiceNowAdapter {
    fn attachment_url(&self, path: &[&str]) -> Url {
        let mut url = self.config.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["api", "now", "attachment"]).extend(path);
        }
        url
    }

    /// One Attachment API call, authenticated like the Table API's.
    async fn attachment_call(
        &self,
        method: Method,
        url: Url,
        upload: Option<&AttachmentUpload>,
    ) -> Result<http::Answer, AdapterError> {
        self.send(method, url, |request| match upload {
            Some(file) => request.header(reqwest::header::CONTENT_TYPE, &file.content_type).body(file.content.clone()),
            None => request,
        })
        .await
    }
}

#[async_trait]
impl Attachments for ServiceNowAdapter {
    /// The files attached to the record `id`.
    async fn list(&self, id: &RemoteId) -> Result<Vec<RemoteAttachment>, AdapterError> {
        let sys_id = self.check_id(id)?;
        let mut url = self.attachment_url(&[]);
        url.query_pairs_mut()
            .append_pair("sysparm_query", &format!("table_name={}^table_sys_id={sys_id}", self.config.table))
            .append_pair("sysparm_limit", "1000");
        let what = format!("GET attachments of {sys_id}");
        let value = result_of(self.attachment_call(Method::GET, url, None).await?, &what)?;
        let records: Vec<AttachmentRecord> = serde_json::from_value(value).map_err(|e| {
            AdapterError::permanent(format!("ServiceNow {what}: `result` is not a list of attachments: {e}"))
        })?;
        Ok(records.into_iter().map(remote).collect())
    }

    /// Attach `file` to the record `id`.
    async fn add(&self, id: &RemoteId, file: &AttachmentUpload) -> Result<RemoteAttachment, AdapterError> {
        let sys_id = self.check_id(id)?;
        let mut url = self.attachment_url(&["file"]);
        url.query_pairs_mut()
            .append_pair("table_name", &self.config.table)
            .append_pair("table_sys_id", sys_id)
            .append_pair("file_name", &file.file_name);
        let what = format!("POST attachment to {sys_id}");
        let value = result_of(self.attachment_call(Method::POST, url, Some(file)).await?, &what)?;
        let record: AttachmentRecord = serde_json::from_value(value)
            .map_err(|e| AdapterError::permanent(format!("ServiceNow {what}: `result` is not an attachment: {e}")))?;
        Ok(remote(record))
    }
}

fn remote(r: AttachmentRecord) -> RemoteAttachment {
    let size = r.size();
    RemoteAttachment {
        id: Some(r.sys_id).filter(|s| !s.is_empty()),
        file_name: r.file_name,
        size,
        content_type: Some(r.content_type).filter(|s| !s.is_empty()),
    }
}
