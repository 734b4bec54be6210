//! `[gateway.mitz]`: the Mitz incident process — who is told of an information-security
//! incident and of a calamity, and the root-cause analysis a P1 is owed. Without the
//! section none of it runs (categories and calamity criteria are still recorded).

use serde::Deserialize;

use super::Problem;

/// `[gateway.mitz]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MitzFile {
    security_officer: Option<PersonFile>,
    service_desk: Option<PersonFile>,
    service_level_manager: Option<PersonFile>,
    #[serde(default = "default_rca_days")]
    rca_working_days: u32,
    #[serde(default = "default_reminder_hours")]
    rca_reminder_hours: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonFile {
    name: String,
    email: Option<String>,
    sms: Option<String>,
}

fn default_rca_days() -> u32 {
    5
}

fn default_reminder_hours() -> u32 {
    24
}

/// A person deskgate tells, by mail and/or text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub email: Option<String>,
    pub sms: Option<String>,
}

/// `[gateway.mitz]`, resolved.
#[derive(Clone, Debug)]
pub struct Mitz {
    /// Every information-security incident is reported to them, at any hour and priority.
    pub security_officer: Person,
    /// Every calamity is reported to the Mitz service desk and the service level manager.
    pub service_desk: Person,
    pub service_level_manager: Person,
    /// A P1's root-cause analysis is due this many working days after it became P1.
    pub rca_working_days: u32,
    /// The assignee is reminded this long before the analysis is due.
    pub rca_reminder_hours: u32,
}

pub(super) fn resolve(m: MitzFile, smtp: bool, sms: bool, problems: &mut Vec<Problem>) -> Option<Mitz> {
    let before = problems.len();
    let mut person = |p: Option<PersonFile>, key: &str| -> Option<Person> {
        let path = format!("gateway.mitz.{key}");
        let Some(p) = p else {
            problems.push(Problem { path, message: "expected { name, email and/or sms } of the person told".into() });
            return None;
        };
        if p.name.trim().is_empty() {
            problems.push(Problem { path: format!("{path}.name"), message: "expected a name".into() });
        }
        if p.email.is_none() && p.sms.is_none() {
            problems.push(Problem { path: path.clone(), message: "expected an email address or an sms number".into() });
        }
        if let Some(e) = &p.email {
            if !e.contains('@') || e.chars().any(char::is_whitespace) {
                problems.push(Problem { path: format!("{path}.email"), message: "expected an e-mail address".into() });
            } else if !smtp {
                problems.push(Problem { path: format!("{path}.email"), message: "mail needs [gateway.smtp]".into() });
            }
        }
        if let Some(n) = &p.sms {
            let digits = n.strip_prefix('+').unwrap_or(n);
            if !n.starts_with('+') || digits.len() < 6 || !digits.chars().all(|c| c.is_ascii_digit()) {
                problems.push(Problem {
                    path: format!("{path}.sms"),
                    message: "expected a phone number in international form, like +31612345678".into(),
                });
            } else if !sms {
                problems.push(Problem { path: format!("{path}.sms"), message: "texts need [gateway.sms]".into() });
            }
        }
        Some(Person { name: p.name, email: p.email, sms: p.sms })
    };
    let security_officer = person(m.security_officer, "security_officer");
    let service_desk = person(m.service_desk, "service_desk");
    let service_level_manager = person(m.service_level_manager, "service_level_manager");
    if !(1..=60).contains(&m.rca_working_days) {
        problems.push(Problem {
            path: "gateway.mitz.rca_working_days".into(),
            message: format!("expected 1 to 60 working days, got {}", m.rca_working_days),
        });
    }
    if !(1..=24 * 30).contains(&m.rca_reminder_hours) {
        problems.push(Problem {
            path: "gateway.mitz.rca_reminder_hours".into(),
            message: format!("expected 1 to 720 hours, got {}", m.rca_reminder_hours),
        });
    }
    if problems.len() != before {
        return None;
    }
    Some(Mitz {
        security_officer: security_officer?,
        service_desk: service_desk?,
        service_level_manager: service_level_manager?,
        rca_working_days: m.rca_working_days,
        rca_reminder_hours: m.rca_reminder_hours,
    })
}
