//! `[gateway.process]`: a federation's process profile as data (the healthdata.be
//! process: the priority matrix of business importance × impact, the working
//! calendar with its closing days, auto-close and the reporter's reopen). Every
//! problem is reported with its key path; the rules themselves are evaluated by
//! `model::process`.

use std::collections::BTreeMap;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::Deserialize;

use super::Problem;
use crate::model::Priority;
use crate::model::process::{ClosingDay, Impact, Importance, PriorityMatrix, ProcessProfile, WorkingCalendar};

/// `[gateway.process]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProcessFile {
    /// The profile's name, kept on each incident.
    name: String,
    calendar: CalendarFile,
    priority: PriorityFile,
    #[serde(default = "default_auto_close")]
    auto_close_working_days: u32,
    #[serde(default)]
    reporter_reopens: bool,
}

fn default_auto_close() -> u32 {
    5
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    zone: String,
    /// `"08:00-16:30"`.
    working_hours: String,
    #[serde(default)]
    closing_days: Vec<ClosingDayFile>,
}

/// One closing day: `date = "12-25"` (every year), `date = "2026-12-31"` (once) or
/// `easter = 1` (days after Easter Sunday), with its name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClosingDayFile {
    date: Option<String>,
    easter: Option<i16>,
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriorityFile {
    /// Service → gold, silver or bronze.
    services: BTreeMap<String, String>,
    /// Importance → impact (high, medium, low, none) → priority name.
    matrix: BTreeMap<String, BTreeMap<String, String>>,
    /// Priority name → canonical P1..P4.
    canonical: BTreeMap<String, String>,
}

pub(super) fn resolve(file: ProcessFile, problems: &mut Vec<Problem>) -> Option<ProcessProfile> {
    let before = problems.len();
    let mut push = |path: String, message: String| problems.push(Problem { path, message });
    let key = "gateway.process";
    let zone = TimeZone::get(&file.calendar.zone)
        .map_err(|_| {
            push(format!("{key}.calendar.zone"), format!("expected an IANA time zone, got {:?}", file.calendar.zone))
        })
        .ok();
    let hours = file
        .calendar
        .working_hours
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<Time>().ok()?, b.trim().parse::<Time>().ok()?)))
        .filter(|(a, b)| a < b);
    if hours.is_none() {
        push(
            format!("{key}.calendar.working_hours"),
            format!("expected HH:MM-HH:MM with the start first, got {:?}", file.calendar.working_hours),
        );
    }
    let mut closing_days = Vec::new();
    for (n, day) in file.calendar.closing_days.iter().enumerate() {
        let path = format!("{key}.calendar.closing_days[{n}]");
        match (&day.date, day.easter) {
            (Some(d), None) => match parse_day(d) {
                Some(c) => closing_days.push((c, day.name.clone())),
                None => push(format!("{path}.date"), format!("expected MM-DD or YYYY-MM-DD, got {d:?}")),
            },
            (None, Some(offset)) if (-60..=60).contains(&offset) => {
                closing_days.push((ClosingDay::Easter { offset }, day.name.clone()))
            }
            (None, Some(offset)) => {
                push(format!("{path}.easter"), format!("expected days from Easter Sunday, -60 to 60, got {offset}"))
            }
            _ => push(path, "expected one of date or easter".into()),
        }
    }
    let mut matrix = PriorityMatrix::default();
    for (service, importance) in &file.priority.services {
        match Importance::parse(importance) {
            Some(i) => {
                matrix.services.insert(service.to_ascii_lowercase(), i);
            }
            None => push(
                format!("{key}.priority.services.{service}"),
                format!("expected gold, silver or bronze, got {importance:?}"),
            ),
        }
    }
    for (name, canonical) in &file.priority.canonical {
        match canonical.parse::<Priority>() {
            Ok(p) => {
                matrix.canonical.insert(name.clone(), p);
            }
            Err(_) => push(format!("{key}.priority.canonical.{name}"), format!("expected P1..P4, got {canonical:?}")),
        }
    }
    for (importance, row) in &file.priority.matrix {
        let Some(level) = Importance::parse(importance) else {
            push(format!("{key}.priority.matrix.{importance}"), "expected gold, silver or bronze".into());
            continue;
        };
        for (impact, name) in row {
            let path = format!("{key}.priority.matrix.{importance}.{impact}");
            let Some(impact) = Impact::parse(impact) else {
                push(path, "expected an impact: high, medium, low or none".into());
                continue;
            };
            if !file.priority.canonical.contains_key(name) {
                push(path, format!("{name:?} has no canonical priority in {key}.priority.canonical"));
                continue;
            }
            matrix.cells.insert((level, impact), name.clone());
        }
    }
    // Every importance a service carries needs a full row, or its incidents would go
    // without a priority.
    let used: std::collections::BTreeSet<Importance> = matrix.services.values().copied().collect();
    for importance in used {
        for impact in Impact::ALL {
            if !matrix.cells.contains_key(&(importance, impact)) {
                push(
                    format!("{key}.priority.matrix.{}.{}", importance.as_str(), impact.as_str()),
                    "missing: a service has this importance, and every impact needs a priority".into(),
                );
            }
        }
    }
    if problems.len() != before {
        return None;
    }
    let (start, end) = hours?;
    Some(ProcessProfile {
        name: file.name,
        calendar: WorkingCalendar { zone: zone?, start, end, closing_days },
        priority: matrix,
        auto_close_working_days: file.auto_close_working_days,
        reporter_reopens: file.reporter_reopens,
    })
}

fn parse_day(s: &str) -> Option<ClosingDay> {
    let s = s.trim();
    if let Ok(d) = s.parse::<Date>() {
        return Some(ClosingDay::Date(d));
    }
    let (m, d) = s.split_once('-')?;
    let (month, day): (i8, i8) = (m.parse().ok()?, d.parse().ok()?);
    // 2024 is a leap year: 02-29 is a valid annual day.
    Date::new(2024, month, day).ok()?;
    Some(ClosingDay::Annual { month, day })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::testing::{GATEWAY, NATIONAL};
    use crate::config::{Config, MapEnv};

    fn problems(process: &str) -> Vec<String> {
        let text = format!("{GATEWAY}{process}\n{NATIONAL}");
        let env = MapEnv::new(false).with("T_SDS", "sds-secret");
        match Config::from_toml(&text, Path::new("."), &env) {
            Ok(_) => Vec::new(),
            Err(p) => p.iter().map(|p| format!("{}: {}", p.path, p.message)).collect(),
        }
    }

    const GOOD: &str = r#"
        [gateway.process]
        name = "healthdata"
        [gateway.process.calendar]
        zone = "Europe/Brussels"
        working_hours = "08:00-16:30"
        closing_days = [{ date = "12-25", name = "Christmas" }, { easter = 1, name = "Easter Monday" }]
        [gateway.process.priority]
        services = { HD4DP = "gold" }
        canonical = { P01 = "P1", P02 = "P2", P08 = "P4", P40 = "P4" }
        matrix.gold = { high = "P01", medium = "P02", low = "P08", none = "P40" }
    "#;

    #[test]
    fn a_profile_loads_and_evaluates() {
        assert_eq!(problems(GOOD), Vec::<String>::new());
    }

    #[test]
    fn check_config_names_each_bad_value_by_its_key_path() {
        let bad = GOOD
            .replace("Europe/Brussels", "Europe/Nowhere")
            .replace("08:00-16:30", "16:30-08:00")
            .replace(r#"date = "12-25""#, r#"date = "13-01""#)
            .replace(r#"HD4DP = "gold""#, r#"HD4DP = "gold", OTHER = "platinum""#)
            .replace(r#"P08 = "P4""#, r#"P08 = "P9""#)
            .replace(r#"none = "P40""#, r#"nothing = "P40""#);
        let found = problems(&bad);
        for path in [
            "gateway.process.calendar.zone:",
            "gateway.process.calendar.working_hours:",
            "gateway.process.calendar.closing_days[0].date:",
            "gateway.process.priority.services.OTHER:",
            "gateway.process.priority.canonical.P08:",
            "gateway.process.priority.matrix.gold.nothing:",
            "gateway.process.priority.matrix.gold.none: missing",
        ] {
            assert!(found.iter().any(|p| p.starts_with(path)), "{path} in {found:#?}");
        }
    }
}
