//! Files attached to an incident: what the incident keeps of each (name, content
//! type, size, SHA-256, who added it and when, which desks' copies have it). The
//! content itself is in the store, once per hash.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{Actor, DeskId, Incident, ModelError, patient_data};

/// What a desk may attach when its configuration says nothing else: 10 MB.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// A file's name as every party sees it: 1 to 255 characters, no path, no control
/// characters, no patient data (a screenshot is often named after what it shows).
pub fn parse_file_name(field: &'static str, s: &str) -> Result<String, ModelError> {
    let t = s.trim();
    patient_data::check(field, t)?;
    let printable =
        !t.chars().any(|c| c.is_control() || patient_data::is_bidi_control(c) || patient_data::is_format(c));
    if t.is_empty() || t.chars().count() > 255 || t.contains(['/', '\\']) || t == "." || t == ".." || !printable {
        return Err(ModelError::invalid(
            field,
            "a file name of 1 to 255 printable characters, without a path or control characters",
        ));
    }
    Ok(t.to_owned())
}

/// A media type (`image/png`); none given is `application/octet-stream`.
pub fn parse_content_type(field: &'static str, s: Option<&str>) -> Result<String, ModelError> {
    // Parameters (`; charset=…`) are the sender's business; the type is what is kept.
    let t = s.map(|s| s.split(';').next().unwrap_or_default().trim()).filter(|t| !t.is_empty());
    let Some(t) = t else { return Ok("application/octet-stream".into()) };
    let token = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "!#$&^_.+-".contains(c));
    match t.split_once('/') {
        Some((kind, sub)) if t.len() <= 127 && token(kind) && token(sub) => Ok(t.to_ascii_lowercase()),
        _ => Err(ModelError::invalid(field, "a media type like image/png")),
    }
}

/// The key of a content: its SHA-256 in lower-case hex.
pub fn sha256_hex(content: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(content))
}

/// One file attached to an incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the content: the content's key in the store.
    pub sha256: String,
    #[schema(value_type = String)]
    pub added_by: DeskId,
    #[schema(value_type = String)]
    pub added_at: Timestamp,
    /// The desks whose copies hold the file: a delivery planned twice, or retried
    /// after its answer was lost, does not attach it again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<String>)]
    pub delivered_to: Vec<DeskId>,
}

impl Incident {
    /// Whether `adding` more attachments fit under `max` per incident.
    pub fn ensure_room_for_attachments(&self, adding: usize, max: usize) -> Result<(), ModelError> {
        if self.attachments.len().saturating_add(adding) > max {
            return Err(ModelError::Full { field: "attachments", limit: max });
        }
        Ok(())
    }

    /// The attachment with this name and content, if the incident holds it.
    pub fn attachment(&self, file_name: &str, sha256: &str) -> Option<usize> {
        self.attachments.iter().position(|a| a.file_name == file_name && a.sha256 == sha256)
    }

    /// Attach a file as `actor`; the same file under the same name again is the one
    /// already attached. Returns its index and whether it is new.
    pub fn add_attachment(
        &mut self,
        actor: &Actor,
        file_name: String,
        content_type: String,
        size: u64,
        sha256: String,
        now: Timestamp,
    ) -> (usize, bool) {
        if let Some(index) = self.attachment(&file_name, &sha256) {
            return (index, false);
        }
        self.attachments.push(Attachment {
            file_name,
            content_type,
            size,
            sha256,
            added_by: actor.desk.clone(),
            added_at: now,
            delivered_to: Vec::new(),
        });
        self.updated_at = now;
        self.version += 1;
        (self.attachments.len() - 1, true)
    }

    /// Remember that `desk`'s copy holds attachment `index`; true when that is news.
    pub fn attachment_delivered(&mut self, index: usize, desk: &DeskId) -> bool {
        match self.attachments.get_mut(index) {
            Some(a) if !a.delivered_to.contains(desk) => {
                a.delivered_to.push(desk.clone());
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_checked_like_text() {
        assert_eq!(parse_file_name("file_name", " screen.png ").unwrap(), "screen.png");
        assert!(matches!(
            parse_file_name("file_name", "CPR-0102031047.png"),
            Err(ModelError::PatientData { field: "file_name", .. })
        ));
        for bad in ["", "../etc/passwd", "a\\b.png", "a\u{202e}gnp.exe", "line\nbreak.png"] {
            assert!(parse_file_name("file_name", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_same_file_under_the_same_name_is_attached_once_and_delivered_once_per_desk() {
        let mut i = crate::model::testing::incident("region-h", crate::model::DialectId::Servicenow, "t-1");
        let actor = Actor { desk: "region-h".parse().unwrap(), role: crate::model::Role::Local };
        let now = Timestamp::UNIX_EPOCH;
        let add = |i: &mut Incident, name: &str, sha: &str| {
            i.add_attachment(&actor, name.into(), "image/png".into(), 3, sha.into(), now)
        };
        assert_eq!(add(&mut i, "a.png", "11"), (0, true));
        assert_eq!(add(&mut i, "a.png", "11"), (0, false), "the same file again");
        assert_eq!(add(&mut i, "b.png", "11"), (1, true), "the same content under another name");
        let sds: DeskId = "sds".parse().unwrap();
        assert!(i.attachment_delivered(0, &sds));
        assert!(!i.attachment_delivered(0, &sds), "remembered");
        assert!(!i.attachment_delivered(7, &sds), "no such attachment");
        assert_eq!(i.attachments[0].delivered_to, [sds]);
        assert!(i.ensure_room_for_attachments(1, 2).is_err());
    }

    #[test]
    fn content_types_are_media_types() {
        assert_eq!(parse_content_type("content_type", None).unwrap(), "application/octet-stream");
        assert_eq!(parse_content_type("content_type", Some("Image/PNG; q=1")).unwrap(), "image/png");
        assert!(parse_content_type("content_type", Some("<script>")).is_err());
    }
}
