//! The ruleset file (`deploy/contacts.toml`): its format, loading and validation.
//!
//! Owns the TOML schema (contacts, chains, calendars, staffing, ordered rules and the
//! required default), turning it into the typed [`Ruleset`], the errors an operator
//! sees when it is wrong (file, key path, reason), and the ruleset version (a hash
//! of the normalised content). Evaluation lives in `engine`, the coverage proof in
//! `sweep`; this module reads one file and touches nothing else.
//!
//! The format, in brief (the shipped file is the worked example):
//!
//! ```toml
//! zone = "Europe/Copenhagen"      # IANA zone; windows are local wall-clock time
//! calendar = "dk"                 # default holiday calendar for rules and staffing
//! ack_timeout = "15m"             # default time to acknowledge before the chain moves on
//! services = ["NSP", "FMK"]       # swept besides those named in rules (optional)
//!
//! [calendars.dk]
//! base = "denmark"                # denmark | belgium-healthdata | none
//! annual = [{ date = "12-24", name = "Christmas Eve" }]     # every year
//! dates = [{ date = "2026-12-31", name = "New Year's Eve" }] # once
//!
//! [contacts.nsp-system-owner]     # the key is the contact id
//! name = "…"
//! role = "…"
//! email = "…"
//! phone = "…"                     # optional
//! channels = [{ kind = "email", address = "…" }, { kind = "webhook", url = "https://…" }]
//!                                 # kinds: email, webhook, sms, phone
//!
//! [chains]                        # who comes next when a contact does not acknowledge
//! nsp-system-owner = ["nsp-incident-manager", "national-service-desk"]
//!
//! [staffing]                      # the national desk's own hours
//! staffed_by = "sds"
//! otherwise = "drift"
//! windows = [{ days = "mon-thu", time = "08:00-16:00" }]
//!
//! [[rules]]                       # ordered; first match wins
//! id = "nsp-weekend"
//! note = "…"                      # optional, shown in the decision's reason
//! services = ["*"]                # or names; with "*", optional except = ["FMK"]
//! priorities = ["P1", "P2"]       # optional: all priorities
//! windows = [{ from = "fri 18:00", to = "mon 08:00" }]   # or always = true
//! holidays = "as_weekend"         # optional: as_weekend | as_weekday | only | never
//! calendar = "dk"                 # optional
//! contact = "nsp-system-owner"
//! ack_timeout = "30m"             # optional
//!
//! [default]                       # required
//! contact = "national-service-desk"
//! ```

use std::{collections::BTreeMap, fmt, str::FromStr};

use jiff::{SignedDuration, Zoned, civil::Date, tz::TimeZone};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    Priority,
    calendar::{BaseCalendar, Calendar},
    schedule::{DaySet, HolidayPolicy, Window, week_point},
};

mod build;

// ---------------------------------------------------------------------------
// The typed model.

/// How a contact is reached. Delivery is the gateway's job; this only says where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Channel {
    Email { address: String },
    Webhook { url: String },
    Sms { number: String },
    Phone { number: String },
}

/// A person or role that can be contacted. Copied whole into every decision, so the
/// record of who was contacted stays true after the ruleset changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: String,
    pub name: String,
    pub role: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Where notifications go; when empty, the e-mail address.
    #[serde(default)]
    pub channels: Vec<Channel>,
}

/// Which services a rule is for. Names are stored upper-case; matching ignores
/// ASCII case and surrounding blanks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceMatch {
    /// `services = ["*"]`: any service, including ones named nowhere in the file,
    /// except those listed in `except` (`except = ["FMK"]` reads "non-FMK").
    Any { except: Vec<String> },
    /// Named services.
    Named(Vec<String>),
}

impl ServiceMatch {
    /// `service` is `None` for "a service not named anywhere in the ruleset".
    pub(super) fn matches(&self, service: Option<&str>) -> bool {
        let named = |names: &[String], s: &str| names.iter().any(|n| n.eq_ignore_ascii_case(s.trim()));
        match (self, service) {
            (ServiceMatch::Any { .. }, None) => true,
            (ServiceMatch::Any { except }, Some(s)) => !named(except, s),
            (ServiceMatch::Named(_), None) => false,
            (ServiceMatch::Named(names), Some(s)) => named(names, s),
        }
    }
}

/// When a rule applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum When {
    Always,
    Windows(Vec<Window>),
}

/// One ordered rule: the first that matches service, priority and time wins.
#[derive(Clone, Debug)]
pub struct Rule {
    pub(super) id: String,
    pub(super) note: Option<String>,
    pub(super) services: ServiceMatch,
    pub(super) priorities: [bool; 4],
    pub(super) when: When,
    pub(super) holidays: HolidayPolicy,
    pub(super) calendar: usize,
    pub(super) contact: String,
    pub(super) ack_timeout: SignedDuration,
}

impl Rule {
    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn contact(&self) -> &str {
        &self.contact
    }
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
    pub(super) fn for_priority(&self, p: Priority) -> bool {
        self.priorities[p.index()]
    }
}

/// The fallback when no rule matches. For an escalating priority the sweep makes
/// sure it is never reached; it exists so that a decision is always possible.
#[derive(Clone, Debug)]
pub struct DefaultRule {
    pub(super) contact: String,
    pub(super) ack_timeout: SignedDuration,
    pub(super) note: Option<String>,
}

/// Who staffs the national desk when.
#[derive(Clone, Debug)]
pub struct Staffing {
    pub(super) calendar: usize,
    pub(super) staffed_by: String,
    pub(super) otherwise: String,
    pub(super) windows: Vec<Window>,
}

/// A loaded, validated and swept ruleset. Build it with [`Ruleset::load`] or
/// [`Ruleset::from_toml`]; it cannot be built in an unchecked state.
#[derive(Clone, Debug)]
pub struct Ruleset {
    pub(super) file: String,
    pub(super) version: String,
    pub(super) zone: TimeZone,
    pub(super) zone_name: String,
    pub(super) calendars: Vec<Calendar>,
    pub(super) contacts: BTreeMap<String, Contact>,
    pub(super) chains: BTreeMap<String, Vec<String>>,
    pub(super) services: Vec<String>,
    pub(super) rules: Vec<Rule>,
    pub(super) default: DefaultRule,
    pub(super) staffing: Staffing,
    pub(super) warnings: Vec<Finding>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// No rule covers the instant: the default would be used. An error.
    Gap,
    /// No instant of the sample year is staffed. An error.
    NeverStaffed,
    /// Two rules with different contacts cover the instant; the first wins. A warning.
    Overlap,
    /// A rule for P1/P2 that never wins. A warning.
    Unused,
}

impl FindingKind {
    pub fn is_error(self) -> bool {
        matches!(self, FindingKind::Gap | FindingKind::NeverStaffed)
    }
}

/// One result of the sweep.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// The service, or `None` for "any other service" (and for findings about a rule).
    pub service: Option<String>,
    pub priority: Option<Priority>,
    /// Overlap: the winning rule, then the shadowed one. Unused: the rule.
    pub rules: Vec<String>,
    /// The earliest affected instant, in the ruleset's zone.
    pub example: Option<Zoned>,
    /// How many sampled instants are affected, out of `sampled`.
    pub count: usize,
    pub sampled: usize,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let service = self.service.as_deref().unwrap_or("any other service");
        let priority = self.priority.map(|p| p.to_string()).unwrap_or_default();
        let example =
            self.example.as_ref().map(|z| z.strftime("%a %Y-%m-%d %H:%M:%S %Z [%Q]").to_string()).unwrap_or_default();
        let rule = |i: usize| self.rules.get(i).map(String::as_str).unwrap_or("?");
        match self.kind {
            FindingKind::Gap => write!(
                f,
                "gap: {service} {priority} matches no rule (would fall through to the default), e.g. at {example}; {} of {} sampled instants",
                self.count, self.sampled
            ),
            FindingKind::NeverStaffed => {
                write!(f, "staffing: no staffed instant in the {} sampled instants of the sample year", self.sampled)
            }
            FindingKind::Overlap => write!(
                f,
                "overlap: {service} {priority}: rules `{}` and `{}` both match with different contacts (the first wins), e.g. at {example}; {} of {} sampled instants",
                rule(0),
                rule(1),
                self.count,
                self.sampled
            ),
            FindingKind::Unused => write!(f, "unused: rule `{}` never wins for P1/P2 in the sample year", rule(0)),
        }
    }
}

// ---------------------------------------------------------------------------
// Errors.

/// One thing wrong with the file, at a key path such as `rules[3](nsp-night).windows[0].time`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RulesetProblem {
    pub key: String,
    pub reason: String,
}

impl fmt::Display for RulesetProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

fn lines<T: fmt::Display>(items: &[T]) -> String {
    items.iter().map(|i| format!("\n  - {i}")).collect()
}

/// Why a ruleset was refused. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{file}: cannot read the escalation ruleset: {source}")]
    Read {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, a wrong type, a missing or unknown key.
    #[error("{file}:{line}:{column}: {key}: {reason}")]
    Syntax { file: String, line: usize, column: usize, key: String, reason: String },
    /// Well-formed TOML with values that make no sense.
    #[error("{file}: invalid escalation ruleset:{}", lines(problems))]
    Invalid { file: String, problems: Vec<RulesetProblem> },
    /// Some instant of the sample year falls through to the default for a service
    /// and escalating priority. Overlaps found in the same sweep are listed too.
    #[error("{file}: the escalation rules leave gaps; refusing to start:{}{}", lines(gaps), lines(others))]
    Gaps { file: String, gaps: Vec<Finding>, others: Vec<Finding> },
}

// ---------------------------------------------------------------------------
// Loading.

impl Ruleset {
    /// Hash of the normalised content: independent of comments, layout and key
    /// order, and of how weekdays, times and durations were spelled.
    pub fn version(&self) -> &str {
        &self.version
    }
    /// The file the ruleset was read from, as given.
    pub fn file(&self) -> &str {
        &self.file
    }
    /// The IANA zone rules are evaluated in.
    pub fn zone_name(&self) -> &str {
        &self.zone_name
    }
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }
    /// Overlaps and never-used rules found by the load-time sweep; log them.
    pub fn warnings(&self) -> &[Finding] {
        &self.warnings
    }
    pub fn contact(&self, id: &str) -> Option<&Contact> {
        self.contacts.get(id)
    }
    pub fn contacts(&self) -> impl Iterator<Item = &Contact> {
        self.contacts.values()
    }
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }
    /// The services the sweep proved coverage for (besides "any other service").
    pub fn services(&self) -> &[String] {
        &self.services
    }
    /// Who comes after `contact` when it does not acknowledge, in order.
    pub fn chain(&self, contact: &str) -> &[String] {
        self.chains.get(contact).map_or(&[], Vec::as_slice)
    }
}

/// Read ruleset text into the typed model, unswept: a syntax error carries its line,
/// column and key; every invalid value is one problem with its key path.
pub(super) fn parse(src: &str, file: &str) -> Result<Ruleset, LoadError> {
    let raw: build::RawRuleset = toml::from_str(src).map_err(|e| {
        let (line, column, key) = build::locate(src, e.span().map_or(0, |s| s.start));
        LoadError::Syntax { file: file.to_string(), line, column, key, reason: e.message().trim().to_string() }
    })?;
    build::build(raw, file)
}

impl Ruleset {
    /// Records what the load-time sweep found besides gaps.
    pub(super) fn set_warnings(&mut self, warnings: Vec<Finding>) {
        self.warnings = warnings;
    }
}

#[cfg(test)]
mod tests;
