//! `[gateway.report]` (who reviews P1/P2 incident reports, steps 12b–13) and
//! `[gateway.journal]` (where a closed incident's report and timeline are
//! journalised, step 17).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Desk, Problem};
use crate::model::{DeskId, ReportPolicy, Role};

/// `[gateway.report]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportFile {
    /// The FMK/NSP incident managers who approve reports, by name.
    #[serde(default)]
    incident_managers: Vec<String>,
    /// The desk whose people quality-check reports (the national desk without it).
    operator: Option<String>,
    /// Suppliers whose reports the operator checks before approval (not FMK's).
    #[serde(default)]
    quality_check: Vec<String>,
    /// The operations supplier, told to coordinate a report another supplier writes.
    operations_supplier: Option<String>,
}

/// The report workflow's configuration, resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportSettings {
    pub policy: ReportPolicy,
    pub operations_supplier: Option<DeskId>,
}

/// `[gateway.journal]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct JournalFile {
    kind: String,
    /// `directory`: where the files go (relative to the configuration file).
    path: Option<PathBuf>,
    /// `webhook`: where the JSON is posted.
    url: Option<String>,
    /// `mail`: the journal system's addresses.
    #[serde(default)]
    to: Vec<String>,
}

/// Where closed incidents are journalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Journal {
    /// One file per incident, `<id>.json`, written atomically.
    Directory(PathBuf),
    /// POST of the JSON, with `Idempotency-Key: journal-<id>`.
    Webhook(url::Url),
    /// A mail through `[gateway.smtp]`.
    Mail(Vec<String>),
}

fn desk_with_role(
    desks: &std::collections::BTreeMap<DeskId, Desk>,
    id: &str,
    roles: &[Role],
    path: String,
    problems: &mut Vec<Problem>,
) -> Option<DeskId> {
    let found = id.parse::<DeskId>().ok().filter(|d| desks.get(d).is_some_and(|d| roles.contains(&d.role)));
    if found.is_none() {
        let what = if roles == [Role::Supplier] { "a registered supplier desk" } else { "a registered desk" };
        problems.push(Problem { path, message: format!("expected the id of {what}, got {id:?}") });
    }
    found
}

fn resolve_report(
    file: ReportFile,
    desks: &std::collections::BTreeMap<DeskId, Desk>,
    problems: &mut Vec<Problem>,
) -> ReportSettings {
    let any = [Role::National, Role::Supplier, Role::Local];
    for (n, name) in file.incident_managers.iter().enumerate() {
        if crate::model::parse_person("name", name).is_err() {
            problems.push(Problem {
                path: format!("gateway.report.incident_managers[{n}]"),
                message: "expected a person's name: one line of at most 100 characters".into(),
            });
        }
    }
    let operator =
        file.operator.and_then(|o| desk_with_role(desks, &o, &any, "gateway.report.operator".into(), problems));
    let quality_checked = (file.quality_check.iter().enumerate())
        .filter_map(|(n, d)| {
            desk_with_role(desks, d, &[Role::Supplier], format!("gateway.report.quality_check[{n}]"), problems)
        })
        .collect();
    let operations_supplier = file.operations_supplier.and_then(|o| {
        desk_with_role(desks, &o, &[Role::Supplier], "gateway.report.operations_supplier".into(), problems)
    });
    ReportSettings {
        policy: ReportPolicy { incident_managers: file.incident_managers, operator, quality_checked },
        operations_supplier,
    }
}

fn resolve_journal(
    file: Option<JournalFile>,
    base_dir: &Path,
    has_smtp: bool,
    problems: &mut Vec<Problem>,
) -> Option<Journal> {
    let file = file?;
    let missing = |problems: &mut Vec<Problem>, key: &str, what: &str| {
        let message = format!("kind = {:?} needs {what}", file.kind);
        problems.push(Problem { path: format!("gateway.journal.{key}"), message });
    };
    match file.kind.as_str() {
        "directory" => match &file.path {
            Some(p) => Some(Journal::Directory(if p.is_absolute() { p.clone() } else { base_dir.join(p) })),
            None => {
                missing(problems, "path", "the directory the journal files go to");
                None
            }
        },
        "webhook" => match file.url.as_deref().map(url::Url::parse) {
            Some(Ok(u)) if matches!(u.scheme(), "http" | "https") => Some(Journal::Webhook(u)),
            Some(_) => {
                problems.push(Problem {
                    path: "gateway.journal.url".into(),
                    message: "expected an absolute http(s) URL".into(),
                });
                None
            }
            None => {
                missing(problems, "url", "the URL the journal entries are posted to");
                None
            }
        },
        "mail" => {
            if file.to.is_empty() {
                missing(problems, "to", "the journal system's mail addresses");
                return None;
            }
            for (n, a) in file.to.iter().enumerate() {
                if !a.contains('@') {
                    problems.push(Problem {
                        path: format!("gateway.journal.to[{n}]"),
                        message: format!("expected an e-mail address, got {a:?}"),
                    });
                }
            }
            if !has_smtp {
                problems
                    .push(Problem { path: "gateway.journal.kind".into(), message: "mail needs [gateway.smtp]".into() });
            }
            Some(Journal::Mail(file.to))
        }
        other => {
            problems.push(Problem {
                path: "gateway.journal.kind".into(),
                message: format!("expected \"directory\", \"webhook\" or \"mail\", got {other:?}"),
            });
            None
        }
    }
}

/// Both sections; the desks are known already (the reviewers are checked against them).
pub(super) fn resolve(
    report: ReportFile,
    journal: Option<JournalFile>,
    desks: &std::collections::BTreeMap<DeskId, Desk>,
    base_dir: &Path,
    has_smtp: bool,
    problems: &mut Vec<Problem>,
) -> (ReportSettings, Option<Journal>) {
    let journal = resolve_journal(journal, base_dir, has_smtp, problems);
    // The journal's deliveries have a lane of their own, named like a desk.
    let lane = crate::outbox::JOURNAL_LANE;
    if journal.is_some() && desks.keys().any(|d| d.as_str() == lane) {
        problems.push(Problem {
            path: format!("desks.{lane}"),
            message: "this desk id is reserved for the journal's deliveries while [gateway.journal] is set".into(),
        });
    }
    (resolve_report(report, desks, problems), journal)
}
