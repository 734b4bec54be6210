//! Translation between the canonical incident and each remote system's vocabulary,
//! as data: one mapping file per mapped dialect (`mappings/<system>.toml`), whose
//! [`MappingSource`] each dialect declares in its own folder.
//!
//! This module owns the mapping files' format, their validation at start-up and the
//! pure functions the gateway calls to turn a canonical status or priority into
//! [`TicketFields`] for an adapter, and an adapter's [`TicketFields`] back into a
//! canonical value. It does no I/O after [`Mappings::load`], knows no wire format
//! (adapters place the values on the wire) and keeps no state about incidents.
//!
//! Each file holds one system's base tables and optional per-desk overrides
//! (`[desks.<id>…]`) that replace single rows. What every desk ends up with — base
//! plus its overrides — is validated as a whole: every canonical status and priority
//! has an outbound row and is yielded by an inbound row that can match, or the
//! gateway refuses to start. [`MappingProblems`] lists everything wrong at once, one
//! line per problem with file and key.
//!
//! The origin profile: the gateway never closes the ticket of the desk that reported
//! the incident (DESIGN §3 step 11). For that desk, `closed` becomes a note
//! ([`StatusOutbound::Note`]) when the file says so.

mod desk;
mod file;
pub mod profile;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub use desk::{DeskMapping, StatusOutbound};
pub use deskgate_adapter::TicketFields;

use crate::model::DeskId;

/// Where a system's mapping comes from and what the system calls the fields it maps.
/// Each dialect with a mapping file declares its own (in its folder) and start-up
/// hands them in; desks are keyed to their system by it. Two sources are the same
/// system when their names are equal.
#[derive(Clone, Copy, Debug)]
pub struct MappingSource {
    /// The system's name, as in configuration (`system = "…"`) and messages.
    pub system: &'static str,
    /// The mapping file's name in the mappings directory, e.g. `jira.toml`.
    pub file: &'static str,
    /// What the remote calls its status field, for messages.
    pub status_field: &'static str,
    /// What the remote calls its priority field, for messages.
    pub priority_field: &'static str,
    /// The shipped mapping file, compiled in.
    pub text: &'static str,
}

/// A dialect's shipped mapping: `mapping_source!(DialectId::Jira, "jira.toml", status
/// "status", priority "priority")` compiles in `mappings/jira.toml`.
macro_rules! mapping_source {
    ($dialect:expr, $file:literal, status $status:literal, priority $priority:literal) => {
        $crate::mapping::MappingSource {
            system: $dialect.as_str(),
            file: $file,
            status_field: $status,
            priority_field: $priority,
            text: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/", $file)),
        }
    };
}
pub(crate) use mapping_source;

impl MappingSource {
    /// The mapping file's name in the mappings directory.
    pub fn file_name(self) -> &'static str {
        self.file
    }

    /// What the remote calls its status field, for messages.
    pub fn status_field(self) -> &'static str {
        self.status_field
    }

    /// What the remote calls its priority field, for messages.
    pub fn priority_field(self) -> &'static str {
        self.priority_field
    }
}

impl PartialEq for MappingSource {
    fn eq(&self, other: &Self) -> bool {
        self.system == other.system
    }
}

impl Eq for MappingSource {}

impl fmt::Display for MappingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.system)
    }
}

/// A remote value no mapping row accounts for, met while reading a remote ticket.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("{system} desk {desk}: no status mapping for {found}; add an inbound row to mappings/{file}", file = .system.file_name())]
    UnmappedStatus { desk: DeskId, system: &'static MappingSource, found: String },
    #[error("{system} desk {desk}: no priority mapping for {found}; add an inbound row to mappings/{file}", file = .system.file_name())]
    UnmappedPriority { desk: DeskId, system: &'static MappingSource, found: String },
}

/// One thing wrong with the mapping files: the file, the key it concerns, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingProblem {
    pub file: String,
    /// A key path such as `status.inbound[3].canonical` or `desks.drift`; empty when
    /// the problem concerns the whole file.
    pub key: String,
    pub message: String,
}

impl fmt::Display for MappingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{} [{}]: {}", self.file, self.key, self.message)
        }
    }
}

/// Everything wrong with the mapping files, found in one pass.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct MappingProblems {
    pub problems: Vec<MappingProblem>,
}

impl fmt::Display for MappingProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} problem(s) in the mapping files:", self.problems.len())?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

/// The validated mappings of every configured desk that speaks a mapped system.
#[derive(Clone, Debug, Default)]
pub struct Mappings {
    desks: BTreeMap<DeskId, DeskMapping>,
}

impl Mappings {
    /// Read the file of each of `systems` from `dir` and build the mapping of each
    /// desk in `desks` (native desks are not listed: they speak the canonical model).
    pub fn load(
        dir: &Path,
        systems: &[&'static MappingSource],
        desks: &[(DeskId, &'static MappingSource)],
    ) -> Result<Mappings, MappingProblems> {
        let mut problems = Vec::new();
        let mut sources = Vec::new();
        for system in systems {
            let path = dir.join(system.file_name());
            let name = path.display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => sources.push((name, text)),
                Err(e) => problems.push(MappingProblem {
                    file: name,
                    key: String::new(),
                    message: format!("cannot read: {e}"),
                }),
            }
        }
        let refs: Vec<(&str, &str)> = sources.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        match Self::build(&refs, systems, desks) {
            Ok(m) if problems.is_empty() => Ok(m),
            Ok(_) => Err(MappingProblems { problems }),
            Err(more) => {
                problems.extend(more.problems);
                Err(MappingProblems { problems })
            }
        }
    }

    /// Build from the files' texts, each given with its file name (which names one of
    /// `systems`: `…/servicenow.toml`, `…/jira.toml`, …).
    pub fn from_sources(
        sources: &[(&str, &str)],
        systems: &[&'static MappingSource],
        desks: &[(DeskId, &'static MappingSource)],
    ) -> Result<Mappings, MappingProblems> {
        let mut problems = Vec::new();
        let mut seen = Vec::new();
        for (name, _) in sources {
            match system_of(name, systems) {
                Some(system) if seen.contains(&system) => problems.push(MappingProblem {
                    file: (*name).to_owned(),
                    key: String::new(),
                    message: format!("a second {system} mapping file"),
                }),
                Some(system) => seen.push(system),
                None => problems.push(MappingProblem {
                    file: (*name).to_owned(),
                    key: String::new(),
                    message: format!("not a mapping file name: expected {}", file_names(systems)),
                }),
            }
        }
        if !problems.is_empty() {
            return Err(MappingProblems { problems });
        }
        Self::build(sources, systems, desks)
    }

    /// Parse and validate every source; a system without a source maps no desk, and a
    /// desk of that system is reported.
    fn build(
        sources: &[(&str, &str)],
        systems: &[&'static MappingSource],
        desks: &[(DeskId, &'static MappingSource)],
    ) -> Result<Mappings, MappingProblems> {
        let mut problems = Vec::new();
        let mut built = BTreeMap::new();
        let mut covered = Vec::new();
        for (name, text) in sources {
            let Some(system) = system_of(name, systems) else { continue };
            covered.push(system);
            let (mappings, mut found) = file::compile(name, text, system, desks);
            problems.append(&mut found);
            built.extend(mappings);
        }
        for (desk, system) in desks {
            if !covered.contains(system) {
                problems.push(MappingProblem {
                    file: system.file_name().to_owned(),
                    key: String::new(),
                    message: format!("missing, but desk {desk} uses {system}"),
                });
            }
        }
        if problems.is_empty() { Ok(Mappings { desks: built }) } else { Err(MappingProblems { problems }) }
    }

    /// The mapping for `desk`, if it is a configured desk of a mapped system.
    pub fn desk(&self, desk: &DeskId) -> Option<&DeskMapping> {
        self.desks.get(desk)
    }
}

/// The system whose mapping file `file_name` (a path) is.
fn system_of(file_name: &str, systems: &[&'static MappingSource]) -> Option<&'static MappingSource> {
    let name = Path::new(file_name).file_name()?.to_str()?;
    systems.iter().copied().find(|s| s.file == name)
}

/// `a.toml, b.toml or c.toml`.
fn file_names(systems: &[&'static MappingSource]) -> String {
    let names: Vec<&str> = systems.iter().map(|s| s.file).collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests;
