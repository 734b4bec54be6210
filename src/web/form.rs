//! The report form as sent, and its checks: each problem on its field, by the
//! model's own rules (title, text, service, patient data), so a web report is held
//! to exactly what an API report is. A field that holds patient data is marked so
//! the page never shows its value again.
//!
//! The problem type "Application" (healthdata.be's portal) asks for a project and one
//! of its applications, both from `[gateway.web] applications`; the incident is filed
//! under the application's service, and its description begins with the two names.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::config::web::Application;
use crate::model::{Level, ModelError, Service, Text, Title};

/// What the problem-type list offers besides the configured services (when any
/// application is configured).
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
    pub project: String,
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
pub const FIELDS: [&str; 6] = ["urgency", "problem_type", "project", "application", "subject", "description"];

impl ReportForm {
    /// The form's checks: `Ok` or every problem by field.
    pub fn check(
        &self,
        services: &[String],
        applications: &[Application],
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
        } else if self.problem_type == APPLICATION && !applications.is_empty() {
            self.application_of(applications, &mut problems).map(|a| a.service.clone())
        } else if services.contains(&self.problem_type) {
            self.problem_type.parse::<Service>().ok()
        } else {
            problems.push(("problem_type", Problem::Choice));
            None
        };
        let title = field("subject", &self.subject, &mut problems, Title::parse);
        let description = field("description", &self.description, &mut problems, |s| {
            match self.application_of(applications, &mut Vec::new()).filter(|_| self.problem_type == APPLICATION) {
                // Where the reporter's desk and the supplier both read it, whatever their tools.
                Some(a) => Text::parse(
                    "description",
                    &format!("Project: {}\nApplication: {}\n\n{s}", a.project, a.application),
                ),
                None => Text::parse("description", s),
            }
        });
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

    /// The configured application the form names; each gap or unknown name on its field.
    fn application_of<'a>(
        &self,
        applications: &'a [Application],
        problems: &mut Vec<(&'static str, Problem)>,
    ) -> Option<&'a Application> {
        let project = self.project.trim();
        let application = self.application.trim();
        if project.is_empty() {
            problems.push(("project", Problem::Required));
        } else if !applications.iter().any(|a| a.project == project) {
            problems.push(("project", Problem::Choice));
        }
        if application.is_empty() {
            problems.push(("application", Problem::Required));
            return None;
        }
        let found = applications.iter().find(|a| a.project == project && a.application == application);
        if found.is_none() && !project.is_empty() {
            problems.push(("application", Problem::Choice));
        }
        found
    }

    /// What makes two sendings the same report (the idempotency fingerprint).
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        let parts = [&self.urgency, &self.problem_type, &self.project, &self.application, &self.subject];
        for part in parts.into_iter().chain([&self.description]) {
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
        assert!(complete().check(&services, &[], 3, 1000).is_ok());
        let problems = ReportForm::default().check(&services, &[], 3, 1000).err().unwrap();
        let fields: Vec<_> = problems.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["urgency", "problem_type", "subject", "description"]);
        let app = ReportForm { problem_type: APPLICATION.into(), ..complete() };
        assert_eq!(
            app.check(&services, &applications(), 3, 1000).err().unwrap(),
            [("project", Problem::Required), ("application", Problem::Required)]
        );
        // Without configured applications there is no such type to choose.
        assert_eq!(app.check(&services, &[], 3, 1000).err().unwrap(), [("problem_type", Problem::Choice)]);
    }

    fn applications() -> Vec<Application> {
        let app = |project: &str, application: &str, service: &str| Application {
            project: project.into(),
            application: application.into(),
            service: service.parse().unwrap(),
        };
        vec![app("HD4DP", "HD4DP v2 Local", "HD4DP"), app("healthstat.be", "Dashboards", "HEALTHSTAT")]
    }

    #[test]
    fn an_application_is_a_configured_pair_filed_under_its_service_and_named_in_the_description() {
        let apps = applications();
        let form = |project: &str, application: &str| ReportForm {
            problem_type: APPLICATION.into(),
            project: project.into(),
            application: application.into(),
            ..complete()
        };
        let valid = form("HD4DP", "HD4DP v2 Local").check(&[], &apps, 3, 1000).ok().unwrap();
        assert_eq!(valid.service.as_str(), "HD4DP");
        assert!(
            valid.description.as_str().starts_with("Project: HD4DP\nApplication: HD4DP v2 Local\n\nSince 09:00"),
            "{}",
            valid.description.as_str()
        );
        // Another project's application, or names that are not configured.
        assert_eq!(
            form("healthstat.be", "HD4DP v2 Local").check(&[], &apps, 3, 1000).err().unwrap(),
            [("application", Problem::Choice)]
        );
        assert_eq!(
            form("Elsewhere", "Dashboards").check(&[], &apps, 3, 1000).err().unwrap(),
            [("project", Problem::Choice), ("application", Problem::Choice)]
        );
        // A service problem type keeps the description as typed.
        let fmk = complete().check(&["FMK".into()], &apps, 3, 1000).ok().unwrap();
        assert!(fmk.description.as_str().starts_with("Since 09:00"));
    }

    #[test]
    fn a_cpr_number_is_refused_on_its_field() {
        let f = ReportForm { description: "Patient 010203-1047 cannot log in".into(), ..complete() };
        assert_eq!(f.check(&["FMK".into()], &[], 3, 1000).err().unwrap(), [("description", Problem::PatientData)]);
    }

    #[test]
    fn screenshots_must_be_images_within_the_limits() {
        let png = |n: usize| Upload {
            file_name: "s.png".into(),
            content_type: None,
            content: Bytes::from([b"\x89PNG\r\n\x1a\n".as_slice(), &vec![0; n]].concat()),
        };
        let services = vec!["FMK".to_owned()];
        let with = |s: Vec<Upload>| ReportForm { screenshots: s, ..complete() }.check(&services, &[], 2, 100);
        assert!(with(vec![png(10)]).is_ok());
        assert_eq!(with(vec![png(10); 3]).err().unwrap(), [("screenshots", Problem::TooMany)]);
        assert_eq!(with(vec![png(200)]).err().unwrap(), [("screenshots", Problem::TooLarge)]);
        let text = Upload { file_name: "a.txt".into(), content_type: None, content: Bytes::from_static(b"hello") };
        assert_eq!(with(vec![text]).err().unwrap(), [("screenshots", Problem::NotImage)]);
    }
}
