//! Attaching files to incidents: the content stored once by its SHA-256, the
//! metadata on the incident, and one delivery per other party's copy.

use bytes::Bytes;

use super::plan::{Planner, Via};
use super::{Gateway, GatewayError, RequestContext};
use crate::auth::DeskPrincipal;
use crate::model::attachment::{parse_content_type, parse_file_name, sha256_hex};
use crate::model::{Attachment, Incident, IncidentId, ModelError};
use crate::store::{AuditKind, Effects};

/// A file a desk attaches, as its dialect read it.
#[derive(Clone, Debug)]
pub struct NewAttachment {
    pub file_name: String,
    pub content_type: Option<String>,
    pub content: Bytes,
}

/// What attaching did.
#[derive(Clone, Debug)]
pub struct Attached {
    pub incident: Incident,
    /// The attachment's place in `incident.attachments`.
    pub index: usize,
}

impl Attached {
    pub fn attachment(&self) -> &Attachment {
        &self.incident.attachments[self.index]
    }
}

impl Gateway {
    /// The largest file `desk` may attach, in bytes.
    pub fn attachment_limit(&self, who: &DeskPrincipal) -> u64 {
        self.config.desk(&who.desk).map_or(crate::model::attachment::DEFAULT_MAX_BYTES, |d| d.attachment_max_bytes)
    }

    /// Attach a file to an incident the desk is party to. The name is checked like
    /// any text (no patient data); the content is stored once per hash; the same
    /// file under the same name again is the attachment already there, and nothing
    /// is delivered twice.
    pub async fn add_attachment(
        &self,
        who: &DeskPrincipal,
        id: &IncidentId,
        file: NewAttachment,
        ctx: &RequestContext,
    ) -> Result<Attached, GatewayError> {
        let actor = who.actor();
        let file_name = parse_file_name("file_name", &file.file_name)?;
        let content_type = parse_content_type("content_type", file.content_type.as_deref())?;
        let limit = self.attachment_limit(who);
        let size = file.content.len() as u64;
        if size > limit {
            return Err(ModelError::TooLarge { field: "file", limit }.into());
        }
        // Refused before anything is stored: not there, or not this desk's to see.
        match self.store.get_incident(id).await? {
            Some(i) if i.is_visible_to(&actor) => {
                if i.attachment(&file_name, &sha256_hex(&file.content)).is_none() {
                    i.ensure_room_for_attachments(1, self.config.gateway.limits.attachments_per_incident)?;
                }
            }
            _ => return Err(GatewayError::NotFound(id.to_string())),
        }
        let (sha256, _) = self.store.put_content(file.content).await?;
        let now = self.now();
        let entry = self.entry(AuditKind::Updated, Some(&who.desk), "attachment added", ctx);
        let mutate = |i: &mut Incident| {
            if !i.is_visible_to(&actor) {
                return Err(ModelError::NOT_PARTY);
            }
            if i.attachment(&file_name, &sha256).is_none() {
                i.ensure_room_for_attachments(1, self.config.gateway.limits.attachments_per_incident)?;
            }
            let before = i.clone();
            let (_, new) = i.add_attachment(&actor, file_name.clone(), content_type.clone(), size, sha256.clone(), now);
            if !new {
                return Ok(Effects::unchanged());
            }
            Ok(Effects {
                changed: true,
                deliveries: Planner::new(&self.config).changed(&before, i, &actor.desk, Via::Api),
                ..Effects::default()
            })
        };
        let incident = self.store_change(id, &mutate, entry).await?;
        let index = incident
            .attachment(&file_name, &sha256)
            .ok_or_else(|| GatewayError::NotFound(format!("{id} attachment {file_name}")))?;
        Ok(Attached { incident, index })
    }

    /// An attachment's content, for a desk party to the incident.
    pub async fn attachment_content(
        &self,
        who: &DeskPrincipal,
        id: &IncidentId,
        index: usize,
    ) -> Result<(Attachment, Bytes), GatewayError> {
        let incident = self.get(who, id).await?;
        let missing = || GatewayError::NotFound(format!("{id} attachment #{}", index + 1));
        let attachment = incident.attachments.get(index).cloned().ok_or_else(missing)?;
        let content = self.store.content(&attachment.sha256).await?.ok_or_else(missing)?;
        Ok((attachment, content))
    }
}
