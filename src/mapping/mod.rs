//! Translation between the canonical incident and each remote system's vocabulary,
//! as data (`mappings/servicenow.toml`, `jira.toml`, `clearquest.toml`).
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

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

pub use desk::{DeskMapping, StatusOutbound};
pub use deskgate_adapter::TicketFields;

use crate::model::DeskId;

/// The remote systems that have mapping files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SystemKind {
    Servicenow,
    Jira,
    Clearquest,
}

impl SystemKind {
    pub const ALL: [SystemKind; 3] = [SystemKind::Servicenow, SystemKind::Jira, SystemKind::Clearquest];

    pub fn as_str(self) -> &'static str {
        match self {
            SystemKind::Servicenow => "servicenow",
            SystemKind::Jira => "jira",
            SystemKind::Clearquest => "clearquest",
        }
    }

    /// The mapping file's name in the mappings directory.
    pub fn file_name(self) -> &'static str {
        match self {
            SystemKind::Servicenow => "servicenow.toml",
            SystemKind::Jira => "jira.toml",
            SystemKind::Clearquest => "clearquest.toml",
        }
    }

    /// What the remote calls its status field, for messages.
    pub fn status_field(self) -> &'static str {
        match self {
            SystemKind::Servicenow => "state",
            SystemKind::Jira => "status",
            SystemKind::Clearquest => "State",
        }
    }

    /// What the remote calls its priority field, for messages.
    pub fn priority_field(self) -> &'static str {
        match self {
            SystemKind::Servicenow => "priority",
            SystemKind::Jira => "priority",
            SystemKind::Clearquest => "Priority",
        }
    }
}

impl FromStr for SystemKind {
    type Err = UnknownSystem;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SystemKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| UnknownSystem(s.to_owned()))
    }
}

impl fmt::Display for SystemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A system name that has no mapping file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no mapping for system `{0}`; known systems: servicenow, jira, clearquest")]
pub struct UnknownSystem(pub String);

/// A remote value no mapping row accounts for, met while reading a remote ticket.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    #[error("{system} desk {desk}: no status mapping for {found}; add an inbound row to mappings/{file}", file = .system.file_name())]
    UnmappedStatus { desk: DeskId, system: SystemKind, found: String },
    #[error("{system} desk {desk}: no priority mapping for {found}; add an inbound row to mappings/{file}", file = .system.file_name())]
    UnmappedPriority { desk: DeskId, system: SystemKind, found: String },
}

/// One thing wrong with the mapping files: the file, the key it concerns, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// A key path such as `status.inbound[3].canonical` or `desks.drift`; empty when
    /// the problem concerns the whole file.
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
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
    pub problems: Vec<Problem>,
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
    /// Read `servicenow.toml`, `jira.toml` and `clearquest.toml` from `dir` and build
    /// the mapping of each desk in `desks` (native desks are not listed: they speak
    /// the canonical model).
    pub fn load(dir: &Path, desks: &[(DeskId, SystemKind)]) -> Result<Mappings, MappingProblems> {
        let mut problems = Vec::new();
        let mut sources = Vec::new();
        for system in SystemKind::ALL {
            let path = dir.join(system.file_name());
            let name = path.display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => sources.push((name, text)),
                Err(e) => {
                    problems.push(Problem { file: name, key: String::new(), message: format!("cannot read: {e}") })
                }
            }
        }
        let refs: Vec<(&str, &str)> = sources.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        match Self::build(&refs, desks) {
            Ok(m) if problems.is_empty() => Ok(m),
            Ok(_) => Err(MappingProblems { problems }),
            Err(more) => {
                problems.extend(more.problems);
                Err(MappingProblems { problems })
            }
        }
    }

    /// Build from the three files' texts, each given with its file name (which names
    /// the system: `…/servicenow.toml`, `…/jira.toml`, `…/clearquest.toml`).
    pub fn from_sources(
        sources: [(&str, &str); 3],
        desks: &[(DeskId, SystemKind)],
    ) -> Result<Mappings, MappingProblems> {
        let mut problems = Vec::new();
        let mut seen = Vec::new();
        for (name, _) in &sources {
            match system_of(name) {
                Some(system) if seen.contains(&system) => problems.push(Problem {
                    file: (*name).to_owned(),
                    key: String::new(),
                    message: format!("a second {system} mapping file"),
                }),
                Some(system) => seen.push(system),
                None => problems.push(Problem {
                    file: (*name).to_owned(),
                    key: String::new(),
                    message: "not a mapping file name: expected servicenow.toml, jira.toml or clearquest.toml".into(),
                }),
            }
        }
        if !problems.is_empty() {
            return Err(MappingProblems { problems });
        }
        Self::build(&sources, desks)
    }

    /// Parse and validate every source; a system without a source maps no desk, and a
    /// desk of that system is reported.
    fn build(sources: &[(&str, &str)], desks: &[(DeskId, SystemKind)]) -> Result<Mappings, MappingProblems> {
        let mut problems = Vec::new();
        let mut built = BTreeMap::new();
        let mut covered = Vec::new();
        for (name, text) in sources {
            let Some(system) = system_of(name) else { continue };
            covered.push(system);
            let (mappings, mut found) = file::compile(name, text, system, desks);
            problems.append(&mut found);
            built.extend(mappings);
        }
        for (desk, system) in desks {
            if !covered.contains(system) {
                problems.push(Problem {
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

fn system_of(file_name: &str) -> Option<SystemKind> {
    let stem = Path::new(file_name).file_stem()?.to_str()?;
    let ext = Path::new(file_name).extension()?.to_str()?;
    if ext != "toml" {
        return None;
    }
    stem.parse().ok()
}

#[cfg(test)]
mod tests;
