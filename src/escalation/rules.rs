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

use std::{collections::BTreeMap, fmt, path::Path, str::FromStr};

use jiff::{SignedDuration, Timestamp, civil::Date, tz::TimeZone};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    Priority,
    calendar::{BaseCalendar, Calendar},
    schedule::{DaySet, HolidayPolicy, Window, week_point},
    sweep::{self, Finding},
};

// ---------------------------------------------------------------------------
// The file as written. Every table refuses unknown keys; values that need
// parsing (zones, times, weekdays, durations) stay strings here so that a bad
// one is reported with its key path rather than as a bare serde message.

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawRuleset {
    zone: String,
    calendar: String,
    ack_timeout: String,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    calendars: BTreeMap<String, RawCalendar>,
    contacts: BTreeMap<String, RawContact>,
    #[serde(default)]
    chains: BTreeMap<String, Vec<String>>,
    staffing: RawStaffing,
    #[serde(default)]
    rules: Vec<RawRule>,
    default: RawDefault,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    base: String,
    #[serde(default)]
    annual: Vec<RawNamedDate>,
    #[serde(default)]
    dates: Vec<RawNamedDate>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawNamedDate {
    date: String,
    name: String,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawContact {
    name: String,
    role: String,
    email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    phone: Option<String>,
    #[serde(default)]
    channels: Vec<Channel>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawStaffing {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    calendar: Option<String>,
    staffed_by: String,
    otherwise: String,
    windows: Vec<RawWindow>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    services: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    except: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    priorities: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    always: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    windows: Option<Vec<RawWindow>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holidays: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    calendar: Option<String>,
    contact: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ack_timeout: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    days: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<String>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawDefault {
    contact: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ack_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

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

// ---------------------------------------------------------------------------
// Errors.

/// One thing wrong with the file, at a key path such as `rules[3](nsp-night).windows[0].time`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub reason: String,
}

impl fmt::Display for Problem {
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
    Invalid { file: String, problems: Vec<Problem> },
    /// Some instant of the sample year falls through to the default for a service
    /// and escalating priority. Overlaps found in the same sweep are listed too.
    #[error("{file}: the escalation rules leave gaps; refusing to start:{}{}", lines(gaps), lines(others))]
    Gaps { file: String, gaps: Vec<Finding>, others: Vec<Finding> },
}

/// Turn toml's byte span into line, column and a key path such as `rules[2].colour`.
fn locate(src: &str, offset: usize) -> (usize, usize, String) {
    let offset = offset.min(src.len());
    let before = &src[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;

    let mut header = String::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for l in src[..line_start].lines() {
        let t = l.trim();
        if let Some(name) = t.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let n = counts.entry(name.clone()).or_insert(0);
            header = format!("{name}[{n}]");
            *n += 1;
        } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            header = name.trim().to_string();
        }
    }
    let this_line = src[line_start..].lines().next().unwrap_or("");
    let t = this_line.trim_start();
    let key = match t.split_once('=') {
        Some((k, _)) if t.starts_with(|c: char| c.is_alphanumeric() || c == '"' || c == '_') => {
            let k = k.trim();
            if header.is_empty() { k.to_string() } else { format!("{header}.{k}") }
        }
        _ if header.is_empty() => "(top level)".to_string(),
        _ => header,
    };
    (line, column, key)
}

// ---------------------------------------------------------------------------
// Loading.

impl Ruleset {
    /// Read, validate and sweep the ruleset at `path`. `now` picks the sample year:
    /// the sweep covers the 366 local days starting on the date of `now`.
    pub fn load(path: &Path, now: Timestamp) -> Result<Ruleset, LoadError> {
        let file = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|source| LoadError::Read { file: file.clone(), source })?;
        Ruleset::from_toml(&src, &file, now)
    }

    /// Like [`Ruleset::load`] for text already in memory; `file` names it in errors.
    pub fn from_toml(src: &str, file: &str, now: Timestamp) -> Result<Ruleset, LoadError> {
        let raw: RawRuleset = toml::from_str(src).map_err(|e| {
            let (line, column, key) = locate(src, e.span().map_or(0, |s| s.start));
            LoadError::Syntax { file: file.to_string(), line, column, key, reason: e.message().trim().to_string() }
        })?;
        let mut ruleset = build(raw, file)?;
        let start = now.to_zoned(ruleset.zone.clone()).date();
        let findings = sweep::sweep(&ruleset, start, sweep::SAMPLE_DAYS);
        let (gaps, others): (Vec<_>, Vec<_>) = findings.into_iter().partition(|f| f.kind.is_error());
        if !gaps.is_empty() {
            return Err(LoadError::Gaps { file: file.to_string(), gaps, others });
        }
        ruleset.warnings = others;
        Ok(ruleset)
    }

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

fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let d = SignedDuration::from_str(s.trim())
        .map_err(|e| format!("`{s}` is not a duration (want e.g. `15m`, `1h`): {e}"))?;
    if d <= SignedDuration::ZERO || d > SignedDuration::from_hours(24) {
        return Err(format!("`{s}` must be more than 0 and at most 24 hours"));
    }
    Ok(d)
}

/// Collects problems so the operator sees all of them at once.
struct Check {
    problems: Vec<Problem>,
}

impl Check {
    fn fail(&mut self, key: impl Into<String>, reason: impl Into<String>) {
        self.problems.push(Problem { key: key.into(), reason: reason.into() });
    }

    fn ok<T>(&mut self, key: impl Into<String>, r: Result<T, String>) -> Option<T> {
        r.map_err(|reason| self.fail(key, reason)).ok()
    }
}

fn parse_windows(check: &mut Check, key: &str, raw: &mut [RawWindow]) -> Vec<Window> {
    let mut out = Vec::new();
    for (i, w) in raw.iter_mut().enumerate() {
        let key = format!("{key}[{i}]");
        // Parse the parts first so that the error names the key at fault.
        let parsed = match (&w.days, &w.time, &w.from, &w.to) {
            (Some(days), time, None, None) => match DaySet::parse(days) {
                Err(e) => Err((format!("{key}.days"), e)),
                Ok(_) => Window::daily(days, time.as_deref()).map_err(|e| (format!("{key}.time"), e)),
            },
            (None, None, Some(from), Some(to)) => match (week_point(from), week_point(to)) {
                (Err(e), _) => Err((format!("{key}.from"), e)),
                (_, Err(e)) => Err((format!("{key}.to"), e)),
                _ => Window::span(from, to).map_err(|e| (key.clone(), e)),
            },
            _ => Err((key.clone(), "give either `days` (with optional `time`) or `from` and `to`".into())),
        };
        let parsed = parsed.map_err(|(k, e)| check.fail(k, e)).ok();
        if let Some(win) = parsed {
            // Normalise the spelling for the version hash.
            *w = match win {
                Window::Daily { days, start, end } => RawWindow {
                    days: Some(days.to_string()),
                    time: Some(format!("{start}-{end}")),
                    from: None,
                    to: None,
                },
                Window::Span { .. } => {
                    let text = win.to_string();
                    let (from, to) = text.split_once(" → ").unwrap_or((&text, ""));
                    RawWindow { days: None, time: None, from: Some(from.to_string()), to: Some(to.to_string()) }
                }
            };
            out.push(win);
        }
    }
    out
}

fn build(mut raw: RawRuleset, file: &str) -> Result<Ruleset, LoadError> {
    let mut check = Check { problems: Vec::new() };

    let zone = check.ok(
        "zone",
        TimeZone::get(raw.zone.trim())
            .map_err(|e| format!("`{}` is not a known IANA time zone (e.g. Europe/Copenhagen): {e}", raw.zone)),
    );
    raw.zone = raw.zone.trim().to_string();
    let ack_timeout = check.ok("ack_timeout", parse_duration(&raw.ack_timeout));
    if let Some(d) = ack_timeout {
        raw.ack_timeout = d.to_string();
    }

    // Calendars.
    let mut calendars = Vec::new();
    for (id, c) in raw.calendars.iter_mut() {
        let key = format!("calendars.{id}");
        let base = BaseCalendar::parse(&c.base).ok_or_else(|| {
            format!("`{}` is not a built-in calendar (want denmark, belgium-healthdata or none)", c.base)
        });
        let base = check.ok(format!("{key}.base"), base).unwrap_or(BaseCalendar::None);
        c.base = base.name().to_string();
        let mut annual = BTreeMap::new();
        for (i, a) in c.annual.iter_mut().enumerate() {
            let parsed = a
                .date
                .trim()
                .split_once('-')
                .and_then(|(m, d)| Some((m.parse::<i8>().ok()?, d.parse::<i8>().ok()?)))
                // 2024 is a leap year, so 02-29 is accepted.
                .filter(|&(m, d)| Date::new(2024, m, d).is_ok())
                .ok_or_else(|| format!("`{}` is not a month-day (want MM-DD, e.g. 12-24)", a.date));
            if let Some((m, d)) = check.ok(format!("{key}.annual[{i}].date"), parsed) {
                a.date = format!("{m:02}-{d:02}");
                if annual.insert((m, d), a.name.clone()).is_some() {
                    check.fail(format!("{key}.annual[{i}]"), "date listed twice");
                }
            }
        }
        let mut dates = BTreeMap::new();
        for (i, a) in c.dates.iter_mut().enumerate() {
            let parsed =
                Date::from_str(a.date.trim()).map_err(|e| format!("`{}` is not a date (want YYYY-MM-DD): {e}", a.date));
            if let Some(d) = check.ok(format!("{key}.dates[{i}].date"), parsed) {
                a.date = d.to_string();
                if dates.insert(d, a.name.clone()).is_some() {
                    check.fail(format!("{key}.dates[{i}]"), "date listed twice");
                }
            }
        }
        calendars.push(Calendar { id: id.clone(), base, annual, dates });
    }
    let calendar_index = |check: &mut Check, key: &str, id: &str| -> usize {
        match calendars.iter().position(|c| c.id == id) {
            Some(i) => i,
            None => {
                let known: Vec<_> = calendars.iter().map(|c| c.id.as_str()).collect();
                check.fail(key, format!("no calendar `{id}` (known: {})", known.join(", ")));
                0
            }
        }
    };
    let default_calendar = calendar_index(&mut check, "calendar", &raw.calendar);

    // Contacts.
    let mut contacts = BTreeMap::new();
    for (id, c) in &raw.contacts {
        let key = format!("contacts.{id}");
        if c.name.trim().is_empty() {
            check.fail(format!("{key}.name"), "must not be empty");
        }
        if !c.email.contains('@') {
            check.fail(format!("{key}.email"), format!("`{}` is not an e-mail address", c.email));
        }
        for (i, ch) in c.channels.iter().enumerate() {
            let key = format!("{key}.channels[{i}]");
            match ch {
                Channel::Email { address } if !address.contains('@') => {
                    check.fail(key, format!("`{address}` is not an e-mail address"))
                }
                Channel::Webhook { url } if !(url.starts_with("https://") || url.starts_with("http://")) => {
                    check.fail(key, format!("`{url}` is not an http(s) URL"))
                }
                Channel::Sms { number } | Channel::Phone { number }
                    if !number.trim_start_matches('+').chars().any(|c| c.is_ascii_digit()) =>
                {
                    check.fail(key, format!("`{number}` is not a phone number"))
                }
                _ => {}
            }
        }
        contacts.insert(
            id.clone(),
            Contact {
                id: id.clone(),
                name: c.name.clone(),
                role: c.role.clone(),
                email: c.email.clone(),
                phone: c.phone.clone(),
                channels: c.channels.clone(),
            },
        );
    }
    let known_contact = |check: &mut Check, key: &str, id: &str| {
        if !contacts.contains_key(id) {
            let known: Vec<_> = contacts.keys().map(String::as_str).collect();
            check.fail(key, format!("no contact `{id}` (known: {})", known.join(", ")));
        }
    };

    // Chains: who comes next when a contact does not acknowledge.
    for (from, next) in &raw.chains {
        let key = format!("chains.{from}");
        known_contact(&mut check, &key, from);
        for (i, to) in next.iter().enumerate() {
            known_contact(&mut check, &format!("{key}[{i}]"), to);
            if to == from || next[..i].contains(to) {
                check.fail(format!("{key}[{i}]"), format!("`{to}` already comes earlier in this chain"));
            }
        }
    }

    // Staffing.
    let staffing_calendar = match &raw.staffing.calendar {
        Some(c) => calendar_index(&mut check, "staffing.calendar", c),
        None => default_calendar,
    };
    for (field, value) in [("staffed_by", &raw.staffing.staffed_by), ("otherwise", &raw.staffing.otherwise)] {
        if value.trim().is_empty() {
            check.fail(format!("staffing.{field}"), "must name a desk");
        }
    }
    if raw.staffing.windows.is_empty() {
        check.fail("staffing.windows", "at least one staffed window is needed");
    }
    let staffing = Staffing {
        calendar: staffing_calendar,
        staffed_by: raw.staffing.staffed_by.clone(),
        otherwise: raw.staffing.otherwise.clone(),
        windows: parse_windows(&mut check, "staffing.windows", &mut raw.staffing.windows),
    };

    // Rules.
    let mut rules: Vec<Rule> = Vec::new();
    let mut services: Vec<String> = Vec::new();
    for (i, r) in raw.rules.iter_mut().enumerate() {
        let key = format!("rules[{i}]({})", r.id);
        if r.id.trim().is_empty() || r.id == "default" {
            check.fail(format!("{key}.id"), "must be non-empty and not `default`");
        }
        if rules.iter().any(|o| o.id == r.id) {
            check.fail(format!("{key}.id"), format!("rule id `{}` is used twice", r.id));
        }
        let mut names = |check: &mut Check, field: &str, list: &mut Vec<String>| {
            for n in list.iter_mut() {
                *n = n.trim().to_uppercase();
                if n.is_empty() || n == "*" {
                    check.fail(format!("{key}.{field}"), "`*` must stand alone; names must not be empty");
                } else if !services.contains(n) {
                    services.push(n.clone());
                }
            }
            list.clone()
        };
        let service_match = if r.services.iter().any(|s| s.trim() == "*") {
            if r.services.len() > 1 {
                check.fail(format!("{key}.services"), "`*` must stand alone");
            }
            ServiceMatch::Any { except: names(&mut check, "except", &mut r.except) }
        } else {
            if r.services.is_empty() {
                check.fail(format!("{key}.services"), "name services, or `*` for any service");
            }
            if !r.except.is_empty() {
                check.fail(format!("{key}.except"), "`except` goes with `services = [\"*\"]`");
            }
            ServiceMatch::Named(names(&mut check, "services", &mut r.services))
        };
        let mut priorities = [true; 4];
        if let Some(list) = &mut r.priorities {
            priorities = [false; 4];
            for (j, p) in list.iter_mut().enumerate() {
                match Priority::from_str(p) {
                    Ok(p2) => {
                        priorities[p2.index()] = true;
                        *p = p2.to_string();
                    }
                    Err(_) => check.fail(
                        format!("{key}.priorities[{j}]"),
                        format!("`{p}` is not a priority (want P1, P2, P3 or P4)"),
                    ),
                }
            }
            if list.is_empty() {
                check.fail(format!("{key}.priorities"), "leave out for all priorities, or name some");
            }
        }
        let when = match (r.always, &mut r.windows) {
            (Some(true), None) => When::Always,
            (None | Some(false), Some(ws)) if !ws.is_empty() => {
                When::Windows(parse_windows(&mut check, &format!("{key}.windows"), ws))
            }
            _ => {
                check.fail(key.clone(), "give either `always = true` or a non-empty `windows` list");
                When::Always
            }
        };
        let holidays = match &mut r.holidays {
            Some(h) => {
                let p = check.ok(format!("{key}.holidays"), HolidayPolicy::parse(h)).unwrap_or_default();
                *h = p.name().to_string();
                p
            }
            None => HolidayPolicy::default(),
        };
        let calendar = match &r.calendar {
            Some(c) => calendar_index(&mut check, &format!("{key}.calendar"), c),
            None => default_calendar,
        };
        known_contact(&mut check, &format!("{key}.contact"), &r.contact);
        let rule_timeout = match &mut r.ack_timeout {
            Some(t) => {
                let d = check.ok(format!("{key}.ack_timeout"), parse_duration(t));
                if let Some(d) = d {
                    *t = d.to_string();
                }
                d
            }
            None => ack_timeout,
        };
        rules.push(Rule {
            id: r.id.clone(),
            note: r.note.clone(),
            services: service_match,
            priorities,
            when,
            holidays,
            calendar,
            contact: r.contact.clone(),
            ack_timeout: rule_timeout.unwrap_or(SignedDuration::from_mins(15)),
        });
    }
    for (i, s) in raw.services.iter_mut().enumerate() {
        let n = s.trim().to_uppercase();
        if n.is_empty() || n == "*" {
            check.fail(format!("services[{i}]"), "must name a service");
        } else if !services.contains(&n) {
            services.push(n.clone());
        }
        *s = n;
    }
    raw.services.sort();
    raw.services.dedup();

    known_contact(&mut check, "default.contact", &raw.default.contact);
    let default_timeout = match &mut raw.default.ack_timeout {
        Some(t) => {
            let d = check.ok("default.ack_timeout", parse_duration(t));
            if let Some(d) = d {
                *t = d.to_string();
            }
            d
        }
        None => ack_timeout,
    };

    let zone = match zone {
        Some(z) if check.problems.is_empty() => z,
        _ => {
            return Err(LoadError::Invalid { file: file.to_string(), problems: check.problems });
        }
    };

    let canonical = toml::to_string(&raw).map_err(|e| LoadError::Invalid {
        file: file.to_string(),
        problems: vec![Problem { key: "(whole file)".into(), reason: format!("cannot normalise for hashing: {e}") }],
    })?;
    let digest = Sha256::digest(canonical.as_bytes());
    let version = hex::encode(&digest[..8]);

    Ok(Ruleset {
        file: file.to_string(),
        version,
        zone_name: zone.iana_name().unwrap_or(raw.zone.as_str()).to_string(),
        zone,
        calendars,
        contacts,
        chains: raw.chains,
        services,
        rules,
        default: DefaultRule {
            contact: raw.default.contact,
            ack_timeout: default_timeout.unwrap_or(SignedDuration::from_mins(15)),
            note: raw.default.note,
        },
        staffing,
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::{
        FindingKind,
        testkit::{SHIPPED_TOML, edit, shipped, sweep_start},
    };

    fn load(src: &str) -> Result<Ruleset, LoadError> {
        Ruleset::from_toml(src, "contacts.toml", sweep_start())
    }

    fn problems(src: &str) -> Vec<Problem> {
        match load(src) {
            Err(LoadError::Invalid { file, problems }) => {
                assert_eq!(file, "contacts.toml");
                problems
            }
            Err(other) => panic!("want Invalid, got {other}"),
            Ok(_) => panic!("want Invalid, got a loaded ruleset"),
        }
    }

    #[test]
    fn shipped_ruleset_loads_clean() {
        let rs = shipped();
        assert!(rs.warnings().is_empty(), "{:?}", rs.warnings());
        assert_eq!(rs.zone_name(), "Europe/Copenhagen");
        assert_eq!(rs.services(), ["FMK", "NSP", "SOSI"]);
        assert_eq!(rs.version().len(), 16);
        let ids: Vec<_> = rs.rules().iter().map(Rule::id).collect();
        assert_eq!(
            ids,
            ["fmk-always", "nsp-working-hours", "nsp-late-afternoon", "nsp-holiday", "nsp-weeknight", "nsp-weekend"]
        );
    }

    #[test]
    fn unknown_keys_are_refused_with_their_path() {
        let src = edit(SHIPPED_TOML, "id = \"nsp-weeknight\"\n", "id = \"nsp-weeknight\"\ncolour = \"red\"\n");
        match load(&src) {
            Err(e @ LoadError::Syntax { .. }) => {
                let LoadError::Syntax { key, reason, line, .. } = &e else { unreachable!() };
                assert_eq!(key, "rules[4].colour", "{e}");
                assert!(reason.contains("unknown field `colour`"), "{e}");
                assert_eq!(src.lines().nth(line - 1), Some("colour = \"red\""));
                assert!(e.to_string().starts_with("contacts.toml:"), "{e}");
            }
            other => panic!("want Syntax, got {other:?}"),
        }
        // Also inside a nested table.
        let src = edit(SHIPPED_TOML, "staffed_by = \"sds\"", "staffed_by = \"sds\"\nstaffed = true");
        assert!(
            matches!(load(&src), Err(LoadError::Syntax { ref key, .. }) if key == "staffing.staffed"),
            "{:?}",
            load(&src)
        );
        // And in a window's inline table.
        let src = edit(
            SHIPPED_TOML,
            "{ days = \"fri\", time = \"15:30-18:00\" }",
            "{ days = \"fri\", tme = \"15:30-18:00\" }",
        );
        assert!(
            matches!(load(&src), Err(LoadError::Syntax { ref reason, .. }) if reason.contains("tme")),
            "{:?}",
            load(&src)
        );
    }

    #[test]
    fn missing_default_is_refused() {
        let src = edit(SHIPPED_TOML, "[default]\ncontact = \"national-service-desk\"\n", "");
        let src = edit(&src, "note = \"no escalation rule applies; the national service desk handles it\"\n", "");
        match load(&src) {
            Err(LoadError::Syntax { reason, .. }) => {
                assert!(reason.contains("missing field `default`"), "{reason}")
            }
            other => panic!("want Syntax, got {other:?}"),
        }
    }

    #[test]
    fn bad_values_are_named_with_key_paths() {
        let table = [
            ("zone = \"Europe/Copenhagen\"", "zone = \"Europe/Copenhagn\"", "zone", "Europe/Copenhagn"),
            (
                "{ days = \"mon-thu\", time = \"18:00-08:00\" }",
                "{ days = \"mon-thu\", time = \"18:00-25:00\" }",
                "rules[4](nsp-weeknight).windows[0].time",
                "25:00",
            ),
            (
                "{ days = \"mon-thu\", time = \"18:00-08:00\" }",
                "{ days = \"mun-thu\", time = \"18:00-08:00\" }",
                "rules[4](nsp-weeknight).windows[0].days",
                "mun",
            ),
            (
                "{ from = \"fri 18:00\", to = \"mon 08:00\" }",
                "{ from = \"fry 18:00\", to = \"mon 08:00\" }",
                "rules[5](nsp-weekend).windows[0].from",
                "fry",
            ),
            (
                "contact = \"nsp-system-owner\"\nack_timeout = \"30m\"\n\n[[rules]]\nid = \"nsp-weeknight\"",
                "contact = \"nsp-sytem-owner\"\nack_timeout = \"30m\"\n\n[[rules]]\nid = \"nsp-weeknight\"",
                "rules[3](nsp-holiday).contact",
                "no contact `nsp-sytem-owner`",
            ),
            (
                "priorities = [\"P1\", \"P2\"]\nalways = true",
                "priorities = [\"P1\", \"P9\"]\nalways = true",
                "rules[0](fmk-always).priorities[1]",
                "P9",
            ),
            ("ack_timeout = \"15m\"", "ack_timeout = \"soon\"", "ack_timeout", "soon"),
            ("holidays = \"only\"", "holidays = \"sometimes\"", "rules[3](nsp-holiday).holidays", "sometimes"),
            ("base = \"denmark\"", "base = \"danmark\"", "calendars.dk.base", "danmark"),
            ("{ date = \"12-24\",", "{ date = \"12-32\",", "calendars.dk.annual[1].date", "12-32"),
            ("calendar = \"dk\"\n# Default time", "calendar = \"de\"\n# Default time", "calendar", "no calendar `de`"),
            (
                "fmk-incident-manager = [\"national-service-desk\"]",
                "fmk-incident-manager = [\"national-service-desk\", \"fmk-incident-manager\"]",
                "chains.fmk-incident-manager[1]",
                "already comes earlier",
            ),
            ("id = \"nsp-weekend\"", "id = \"nsp-weeknight\"", "rules[5](nsp-weeknight).id", "used twice"),
            (
                "url = \"https://sds.example/hooks/escalation\"",
                "url = \"sds.example/hooks\"",
                "contacts.national-service-desk.channels[1]",
                "not an http(s) URL",
            ),
            (
                "priorities = [\"P1\", \"P2\"]\nalways = true",
                "priorities = [\"P1\", \"P2\"]\nalways = true\nwindows = [{ days = \"mon\" }]",
                "rules[0](fmk-always)",
                "either `always = true` or",
            ),
        ];
        for (from, to, key, reason) in table {
            let src = edit(SHIPPED_TOML, from, to);
            if load(&src).is_ok() {
                panic!("{to}: loaded");
            }
            let found = problems(&src);
            assert!(
                found.iter().any(|p| p.key == key && p.reason.contains(reason)),
                "{to}: want `{key}: …{reason}…`, got {found:?}"
            );
        }
    }

    #[test]
    fn all_problems_are_reported_at_once() {
        let src = edit(SHIPPED_TOML, "zone = \"Europe/Copenhagen\"", "zone = \"Mars/Olympus\"");
        let src = edit(&src, "time = \"16:00-18:00\"", "time = \"16:00-1800\"");
        let err = load(&src).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("zone: `Mars/Olympus`"), "{text}");
        assert!(text.contains("rules[2](nsp-late-afternoon).windows[0].time: `1800`"), "{text}");
    }

    #[test]
    fn a_gap_refuses_the_ruleset_with_an_example() {
        // Without the weekend rule nothing covers Friday 18:00 → Monday 08:00.
        let src = edit(
            SHIPPED_TOML,
            "windows = [{ from = \"fri 18:00\", to = \"mon 08:00\" }]",
            "windows = [{ from = \"sat 00:00\", to = \"mon 08:00\" }]",
        );
        match load(&src) {
            Err(e @ LoadError::Gaps { .. }) => {
                let LoadError::Gaps { gaps, .. } = &e else { unreachable!() };
                let services: Vec<_> = gaps.iter().map(|g| (g.service.clone(), g.priority)).collect();
                // Every non-FMK service and the stand-in for others, P1 and P2.
                assert_eq!(services.len(), 6, "{e}");
                assert!(services.iter().all(|(s, _)| s.as_deref() != Some("FMK")), "{e}");
                let nsp = gaps
                    .iter()
                    .find(|g| g.service.as_deref() == Some("NSP") && g.priority == Some(Priority::P1))
                    .unwrap();
                assert_eq!(nsp.kind, FindingKind::Gap);
                let example = nsp.example.as_ref().unwrap();
                // 1 Jan 2026 is a holiday, so the first gap is Friday 2 Jan 18:00.
                assert_eq!(example.strftime("%a %F %T %Z").to_string(), "Fri 2026-01-02 18:00:00 CET");
                // 6 hours a week, sampled every 15 minutes plus edges.
                assert!(nsp.count >= 24 * 50, "{}", nsp.count);
                let text = e.to_string();
                assert!(text.contains("refusing to start"), "{text}");
                assert!(text.contains("gap: NSP P1"), "{text}");
                assert!(text.contains("gap: any other service P1"), "{text}");
                assert!(text.contains("Fri 2026-01-02 18:00:00 CET [Europe/Copenhagen]"), "{text}");
            }
            other => panic!("want Gaps, got {other:?}"),
        }
    }

    #[test]
    fn a_one_minute_gap_at_an_edge_is_found() {
        // 15:30 → 15:31 is not on the 15-minute grid: only the edge samples see it.
        let src = edit(
            SHIPPED_TOML,
            "{ days = \"fri\", time = \"15:30-18:00\" }",
            "{ days = \"fri\", time = \"15:31-18:00\" }",
        );
        match load(&src) {
            Err(LoadError::Gaps { gaps, .. }) => {
                let g = &gaps[0];
                assert_eq!(g.example.as_ref().unwrap().strftime("%a %T").to_string(), "Fri 15:30:00");
            }
            other => panic!("want Gaps, got {other:?}"),
        }
    }

    #[test]
    fn an_overlap_is_a_warning_and_the_first_rule_wins() {
        let extra = "[[rules]]\nid = \"sosi-tuesday-evening\"\nservices = [\"SOSI\"]\npriorities = [\"P1\"]\nwindows = [{ days = \"tue\", time = \"20:00-22:00\" }]\ncontact = \"national-service-desk\"\n\n[[rules]]\nid = \"nsp-weeknight\"";
        let src = edit(SHIPPED_TOML, "[[rules]]\nid = \"nsp-weeknight\"", extra);
        let rs = load(&src).unwrap();
        let overlaps: Vec<_> = rs.warnings().iter().filter(|w| w.kind == FindingKind::Overlap).collect();
        assert_eq!(overlaps.len(), 1, "{:?}", rs.warnings());
        let o = overlaps[0];
        assert_eq!(o.service.as_deref(), Some("SOSI"));
        assert_eq!(o.priority, Some(Priority::P1));
        assert_eq!(o.rules, ["sosi-tuesday-evening", "nsp-weeknight"]);
        assert_eq!(o.example.as_ref().unwrap().strftime("%a %F %H:%M").to_string(), "Tue 2026-01-06 20:00");
        assert!(o.to_string().starts_with("overlap: SOSI P1"), "{o}");
        let at = crate::escalation::testkit::local("2026-01-06T21:00");
        assert_eq!(rs.decide("SOSI", Priority::P1, at).rule, "sosi-tuesday-evening");
        assert_eq!(rs.decide("SOSI", Priority::P2, at).rule, "nsp-weeknight");
    }

    #[test]
    fn a_rule_that_never_wins_is_a_warning() {
        let extra = "[[rules]]\nid = \"dead\"\nservices = [\"NSP\"]\nwindows = [{ days = \"sat\" }]\ncontact = \"nsp-system-owner\"\n\n[default]\ncontact";
        let src = edit(SHIPPED_TOML, "[default]\ncontact", extra);
        let rs = load(&src).unwrap();
        assert!(
            rs.warnings().iter().any(|w| w.kind == FindingKind::Unused && w.rules == ["dead"]),
            "{:?}",
            rs.warnings()
        );
    }

    #[test]
    fn version_ignores_layout_but_not_content() {
        let base = shipped().version().to_string();
        let respelled = edit(
            SHIPPED_TOML,
            "days = \"mon-thu\", time = \"18:00-08:00\"",
            "time = \"18:00-08:00\", days = \"Monday-Thursday\"",
        );
        let respelled = format!("# a comment of its own\n\n{respelled}");
        let respelled = edit(&respelled, "ack_timeout = \"15m\"", "ack_timeout   =   \"15 minutes\"");
        assert_eq!(load(&respelled).unwrap().version(), base);

        let changed = edit(SHIPPED_TOML, "phone = \"+45 00000002\"", "phone = \"+45 00000009\"");
        assert_ne!(load(&changed).unwrap().version(), base);
        let reordered = edit(SHIPPED_TOML, "[[rules]]\nid = \"nsp-holiday\"", "[[rules]]\nid = \"nsp-holiday-2\"");
        assert_ne!(load(&reordered).unwrap().version(), base);
    }

    #[test]
    fn load_reads_a_file_and_names_it() {
        let missing = Ruleset::load(Path::new("/nonexistent/contacts.toml"), sweep_start()).unwrap_err();
        assert!(matches!(missing, LoadError::Read { .. }));
        assert!(missing.to_string().starts_with("/nonexistent/contacts.toml: cannot read"), "{missing}");
    }

    #[test]
    fn locate_finds_line_column_and_key() {
        let src = "zone = \"x\"\n[[rules]]\nid = \"a\"\n[[rules]]\nid = \"b\"\nbad = 1\n";
        let offset = src.find("bad").unwrap();
        assert_eq!(locate(src, offset), (6, 1, "rules[1].bad".to_string()));
        assert_eq!(locate(src, 0), (1, 1, "zone".to_string()));
    }
}
