//! A process profile: the rules of one federation's incident process that are data
//! rather than code (the healthdata.be process, seed 000: priority = business
//! importance × impact, working days on a calendar of closing days, auto-close a
//! number of working days after resolution, the reporter's reopen within that
//! window, and the hold reasons of its "On hold" status).
//!
//! This module owns the profile's types and evaluates them; configuration builds a
//! [`ProcessProfile`] (`[gateway.process]`), the gateway applies it. What an incident
//! keeps of it is [`ProcessState`], stored in the incident so that the auto-close
//! survives a restart.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::{Level, ModelError, Priority, Status};

/// A service's business importance (the Master Service Agreement's levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Importance {
    Gold,
    Silver,
    Bronze,
}

impl Importance {
    pub const ALL: [Importance; 3] = [Importance::Gold, Importance::Silver, Importance::Bronze];

    pub fn as_str(self) -> &'static str {
        match self {
            Importance::Gold => "gold",
            Importance::Silver => "silver",
            Importance::Bronze => "bronze",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Importance::ALL.into_iter().find(|i| i.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// How many end-users an incident affects: all (high), a group (medium), one or a
/// few (low), or no degradation of the service at all (none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    High,
    Medium,
    Low,
    None,
}

impl Impact {
    pub const ALL: [Impact; 4] = [Impact::High, Impact::Medium, Impact::Low, Impact::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Impact::High => "high",
            Impact::Medium => "medium",
            Impact::Low => "low",
            Impact::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Impact::ALL.into_iter().find(|i| i.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl From<Level> for Impact {
    fn from(l: Level) -> Self {
        match l {
            Level::High => Impact::High,
            Level::Medium => Impact::Medium,
            Level::Low => Impact::Low,
        }
    }
}

/// Why an incident is on hold, in the words of the healthdata.be process: the
/// caller is to answer (I07), a change is to be implemented (I12), or the problem
/// management process is to find the cause (I13). Awaiting a change and awaiting a
/// problem are distinct: the canonical statuses `pending_release` and `on_hold`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    AwaitingCallerInformation,
    AwaitingChange,
    AwaitingProblem,
}

impl HoldReason {
    /// The hold reason a canonical status stands for in this profile.
    pub fn of(status: Status) -> Option<HoldReason> {
        match status {
            Status::AwaitingInfo => Some(HoldReason::AwaitingCallerInformation),
            Status::PendingRelease => Some(HoldReason::AwaitingChange),
            Status::OnHold => Some(HoldReason::AwaitingProblem),
            _ => None,
        }
    }
}

/// The priority matrix: a priority name for each business importance and impact,
/// the canonical priority each name escalates as, and each service's importance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PriorityMatrix {
    pub cells: BTreeMap<(Importance, Impact), String>,
    /// Every name in `cells` → the canonical P1..P4 escalation and the close guard use.
    pub canonical: BTreeMap<String, Priority>,
    /// Service name (lowercase) → its business importance.
    pub services: BTreeMap<String, Importance>,
}

/// What the matrix says about one incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classified {
    pub importance: Importance,
    pub name: String,
    pub canonical: Priority,
}

impl PriorityMatrix {
    pub fn importance_of(&self, service: &str) -> Option<Importance> {
        self.services.get(&service.trim().to_ascii_lowercase()).copied()
    }

    /// The priority of an incident on `service` with `impact`; `None` when the
    /// service has no business importance configured.
    pub fn classify(&self, service: &str, impact: Impact) -> Option<Classified> {
        let importance = self.importance_of(service)?;
        let name = self.cells.get(&(importance, impact))?;
        let canonical = *self.canonical.get(name)?;
        Some(Classified { importance, name: name.clone(), canonical })
    }
}

/// A day the service desk is closed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClosingDay {
    /// Every year on this month and day.
    Annual { month: i8, day: i8 },
    /// Every year this many days after Easter Sunday (Easter Monday is 1).
    Easter { offset: i16 },
    /// Once.
    Date(Date),
}

impl ClosingDay {
    fn matches(&self, d: Date) -> bool {
        match self {
            ClosingDay::Annual { month, day } => d.month() == *month && d.day() == *day,
            ClosingDay::Easter { offset } => easter_sunday(d.year())
                .and_then(|e| e.checked_add(jiff::Span::new().days(i64::from(*offset))).ok())
                .is_some_and(|e| e == d),
            ClosingDay::Date(date) => *date == d,
        }
    }
}

/// Working days and hours: weekdays that are not closing days, between `start` and
/// `end` local time in `zone`.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkingCalendar {
    pub zone: TimeZone,
    pub start: Time,
    pub end: Time,
    pub closing_days: Vec<(ClosingDay, String)>,
}

impl WorkingCalendar {
    /// The closing day's name when `d` is one.
    pub fn closing_day(&self, d: Date) -> Option<&str> {
        self.closing_days.iter().find(|(c, _)| c.matches(d)).map(|(_, name)| name.as_str())
    }

    pub fn is_working_day(&self, d: Date) -> bool {
        let weekend = matches!(d.weekday(), jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday);
        !weekend && self.closing_day(d).is_none()
    }

    /// `n` working days after `at`: the `n`th working day after `at`'s local date, at
    /// `at`'s local time of day held within the working hours (a resolution at 18:00
    /// counts as 16:30, one at 06:00 as 08:00).
    pub fn add_working_days(&self, at: Timestamp, n: u32) -> Timestamp {
        let local = at.to_zoned(self.zone.clone());
        let mut day = local.date();
        let mut counted = 0;
        // Bounded: a calendar that closes every day would otherwise loop for ever.
        for _ in 0..3660 {
            if counted == n {
                break;
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
            if self.is_working_day(day) {
                counted += 1;
            }
        }
        let time = local.time().max(self.start).min(self.end);
        day.to_datetime(time).to_zoned(self.zone.clone()).map(|z| z.timestamp()).unwrap_or(at)
    }
}

/// The process profile a federation runs (`[gateway.process]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ProcessProfile {
    /// The profile's name, kept on each incident (`healthdata`).
    pub name: String,
    pub calendar: WorkingCalendar,
    pub priority: PriorityMatrix,
    /// A resolved incident closes by itself this many working days after resolution.
    pub auto_close_working_days: u32,
    /// The reporter (the origin desk) may reopen a resolved incident until it closes.
    pub reporter_reopens: bool,
}

impl ProcessProfile {
    /// The state a new incident starts with under this profile: the matrix's
    /// priority when the service has an importance and the reporter gave an impact.
    pub fn on_created(&self, service: &str, impact: Option<Level>) -> (ProcessState, Option<Priority>) {
        let classified = impact.and_then(|i| self.priority.classify(service, i.into()));
        let state = ProcessState {
            profile: self.name.clone(),
            importance: self.priority.importance_of(service),
            priority: classified.as_ref().map(|c| c.name.clone()),
            hold_reason: None,
            auto_close_at: None,
            reporter_reopens: self.reporter_reopens,
        };
        (state, classified.map(|c| c.canonical))
    }
}

/// What an incident keeps of the profile it was reported under.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProcessState {
    pub profile: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<Importance>,
    /// The profile's priority name (`P04`), shown to desks beside the canonical one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_reason: Option<HoldReason>,
    /// When a resolved incident closes by itself, unless reopened first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub auto_close_at: Option<Timestamp>,
    #[serde(default)]
    pub reporter_reopens: bool,
}

impl super::Incident {
    /// The origin desk reopening its resolved incident, where the profile lets the
    /// reporter do so (seed 000, I08): `Some(Ok)` allows it, `Some(Err)` refuses a
    /// reopen after close (a new ticket is needed), `None` is not such a reopen.
    pub(super) fn reporter_reopen(
        &self,
        actor_desk: &super::DeskId,
        change: &super::Change,
    ) -> Option<Result<(), ModelError>> {
        let state = self.process.as_ref().filter(|p| p.reporter_reopens)?;
        let reopen = super::Change { status: change.status, ..super::Change::default() };
        change.status.filter(|s| matches!(s, Status::InProgress | Status::Assigned))?;
        if &self.origin.desk != actor_desk || *change != reopen {
            return None;
        }
        match self.status {
            Status::Resolved => Some(Ok(())),
            Status::Closed => Some(Err(ModelError::Conflict(format!(
                "{} is closed and can no longer be reopened (the {} process reopens within the working days after resolution only): a new ticket is needed, please report a new incident",
                self.id, state.profile
            )))),
            _ => None,
        }
    }
}

/// Easter Sunday in the Gregorian calendar (anonymous algorithm, Meeus/Jones/Butcher).
/// `None` only for years jiff cannot represent.
pub fn easter_sunday(year: i16) -> Option<Date> {
    let y = i32::from(year);
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    // month is 3 or 4 and day 1..=31 by construction, so the conversions cannot fail.
    Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()
}

#[cfg(test)]
mod tests;
