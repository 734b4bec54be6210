//! The report form as sent, and its checks: each problem on its field, by the
//! model's own rules (title, text, service, patient data), so a web report is held
//! to exactly what an API report is. A field that holds patient data is marked so
//! the page never shows its value again.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::model::{Level, ModelError, Service, Text, Title};

/// What the problem-type list offers besides the configured services.
pub const APPLICATION: &str = "application";

/// One uploaded screenshot.
#[derive(Clone, Debug)]
pub struct Upload {
    pub file_name: String,
    pub content_type: Option<String>,
    pub content: Bytes,
}

/// The form's fields, as typed.
#[derive(Clone, Debug, Default)]
pub struct ReportForm {
    pub urgency: String,
    pub problem_type: String,
    pub application: String,
    pub subject: String,
    pub description: String,
    pub screenshots: Vec<Upload>,
    /// Identifies this filling-in of the form: sending it twice is one report.
    pub form_id: String,
    pub csrf: String,
}

/// Why a field was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    Required,
    PatientData,
    OneSentence,
    Choice,
    TooMany,
    TooLarge,
    NotImage,
}

/// A form that passed: what the submit use case takes.
pub struct Valid {
    pub urgency: Level,
    pub service: Service,
    pub title: Title,
    pub description: Text,
}

/// The form's fields in page order, for the "required information" box.
pub const FIELDS: [&str; 5] = ["urgency", "problem_type", "application", "subject", "description"];

impl ReportForm {
    /// The form's checks: `Ok` or every problem by field.
    pub fn check(
        &self,
        services: &[String],
        max_files: usize,
        max_bytes: u64,
    ) -> Result<Valid, Vec<(&'static str, Problem)>> {
        let mut problems = Vec::new();
        let urgency = match self.urgency.as_str() {
            "high" => Some(Level::High),
            "medium" => Some(Level::Medium),
            "low" => Some(Level::Low),
            "" => {
                problems.push(("urgency", Problem::Required));
                None
            }
            _ => {
                problems.push(("urgency", Problem::Choice));
                None
            }
        };
        let service = if self.problem_type.is_empty() {
            problems.push(("problem_type", Problem::Required));
            None
        } else if self.problem_type == APPLICATION {
            field("application", &self.application, &mut problems, |s| s.parse::<Service>())
        } else if services.contains(&self.problem_type) {
            self.problem_type.parse::<Service>().ok()
        } else {
            problems.push(("problem_type", Problem::Choice));
            None
        };
        let title = field("subject", &self.subject, &mut problems, Title::parse);
        let description = field("description", &self.description, &mut problems, |s| Text::parse("description", s));
        if self.screenshots.len() > max_files {
            problems.push(("screenshots", Problem::TooMany));
        } else if self.screenshots.iter().any(|f| f.content.len() as u64 > max_bytes) {
            problems.push(("screenshots", Problem::TooLarge));
        } else if !self.screenshots.iter().all(|f| is_image(&f.content)) {
            problems.push(("screenshots", Problem::NotImage));
        } else if self.screenshots.iter().any(|f| crate::model::patient_data::check("file_name", &f.file_name).is_err())
        {
            problems.push(("screenshots", Problem::PatientData));
        }
        match (urgency, service, title, description) {
            (Some(urgency), Some(service), Some(title), Some(description)) if problems.is_empty() => {
                Ok(Valid { urgency, service, title, description })
            }
            _ => Err(problems),
        }
    }

    /// What makes two sendings the same report (the idempotency fingerprint).
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for part in [&self.urgency, &self.problem_type, &self.application, &self.subject, &self.description] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        for f in &self.screenshots {
            h.update(Sha256::digest(&f.content));
        }
        hex::encode(h.finalize())
    }
}

/// The field's value through its parser; an empty one is `Required`.
fn field<T>(
    name: &'static str,
    value: &str,
    problems: &mut Vec<(&'static str, Problem)>,
    parse: impl FnOnce(&str) -> Result<T, ModelError>,
) -> Option<T> {
    if value.trim().is_empty() {
        problems.push((name, Problem::Required));
        return None;
    }
    match parse(value) {
        Ok(v) => Some(v),
        Err(ModelError::PatientData { .. }) => {
            problems.push((name, Problem::PatientData));
            None
        }
        Err(_) if name == "subject" => {
            problems.push((name, Problem::OneSentence));
            None
        }
        Err(_) => {
            problems.push((name, Problem::Choice));
            None
        }
    }
}

/// PNG, JPEG, GIF or WebP, by their signatures (the declared type is the sender's word).
fn is_image(b: &[u8]) -> bool {
    b.starts_with(b"\x89PNG\r\n\x1a\n")
        || b.starts_with(b"\xff\xd8\xff")
        || b.starts_with(b"GIF8")
        || (b.len() > 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete() -> ReportForm {
        ReportForm {
            urgency: "high".into(),
            problem_type: "FMK".into(),
            subject: "Medication list does not load".into(),
            description: "Since 09:00 the list stays empty for every user.".into(),
            ..ReportForm::default()
        }
    }

    #[test]
    fn a_complete_form_passes_and_each_gap_is_named_on_its_field() {
        let services = vec!["FMK".to_owned()];
        assert!(complete().check(&services, 3, 1000).is_ok());
        let problems = ReportForm::default().check(&services, 3, 1000).err().unwrap();
        let fields: Vec<_> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["urgency", "problem_type", "subject", "description"]);
        let app = ReportForm { problem_type: APPLICATION.into(), ..complete() };
        assert_eq!(app.check(&services, 3, 1000).err().unwrap(), [("application", Problem::Required)]);
    }

    #[test]
    fn a_cpr_number_is_refused_on_its_field() {
        let f = ReportForm { description: "Patient 010203-1047 cannot log in".into(), ..complete() };
        assert_eq!(f.check(&["FMK".into()], 3, 1000).err().unwrap(), [("description", Problem::PatientData)]);
    }

    #[test]
    fn screenshots_must_be_images_within_the_limits() {
        let png = |n: usize| Upload {
            file_name: "s.png".into(),
            content_type: None,
            content: Bytes::from([b"\x89PNG\r\n\x1a\n".as_slice(), &vec![0; n]].concat()),
        };
        let services = vec!["FMK".to_owned()];
        let with = |s: Vec<Upload>| ReportForm { screenshots: s, ..complete() }.check(&services, 2, 100);
        assert!(with(vec![png(10)]).is_ok());
        assert_eq!(with(vec![png(10); 3]).err().unwrap(), [("screenshots", Problem::TooMany)]);
        assert_eq!(with(vec![png(200)]).err().unwrap(), [("screenshots", Problem::TooLarge)]);
        let text = Upload { file_name: "a.txt".into(), content_type: None, content: Bytes::from_static(b"hello") };
        assert_eq!(with(vec![text]).err().unwrap(), [("screenshots", Problem::NotImage)]);
    }
}
