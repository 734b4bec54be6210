//! Working days on the national desk's calendar: what a deadline "N working days
//! later" is (a P1's root-cause analysis is due five working days after it).

use jiff::Timestamp;
use jiff::civil::Weekday;
use jiff::tz::TimeZone;

use super::Ruleset;
use super::calendar::Calendar;

/// Whether `day` is a working day: Monday to Friday and not a holiday or closing day
/// of `calendar`.
pub fn is_working_day(day: jiff::civil::Date, calendar: Option<&Calendar>) -> bool {
    !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) && calendar.is_none_or(|c| c.holiday(day).is_none())
}

/// The same wall-clock time `days` working days after `at`, in `zone`: days that are
/// not working days are skipped (a report on a Saturday counts from Monday).
pub fn after_working_days(at: Timestamp, zone: &TimeZone, calendar: Option<&Calendar>, days: u32) -> Timestamp {
    let local = at.to_zoned(zone.clone());
    let mut day = local.date();
    let mut counted = 0;
    // Bounded: a calendar cannot close more than a year in a row.
    for _ in 0..(days as usize * 7 + 366) {
        if counted == days {
            break;
        }
        let Ok(next) = day.tomorrow() else { break };
        day = next;
        if is_working_day(day, calendar) {
            counted += 1;
        }
    }
    day.to_datetime(local.time()).to_zoned(zone.clone()).map_or(at, |z| z.timestamp())
}

impl Ruleset {
    /// The national desk's calendar (its staffing's).
    pub fn national_calendar(&self) -> Option<&Calendar> {
        self.calendars.get(self.staffing.calendar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::calendar::BaseCalendar;
    use std::collections::BTreeMap;

    fn at(s: &str) -> Timestamp {
        format!("{s}[Europe/Copenhagen]").parse::<jiff::Zoned>().unwrap().timestamp()
    }

    #[test]
    fn five_working_days_skip_the_weekend_and_danish_easter() {
        let zone = TimeZone::get("Europe/Copenhagen").unwrap();
        let dk =
            Calendar { id: "dk".into(), base: BaseCalendar::Denmark, annual: BTreeMap::new(), dates: BTreeMap::new() };
        // Tuesday before Easter: Maundy Thursday, Good Friday and Easter Monday are closed.
        assert_eq!(after_working_days(at("2026-03-31T10:00"), &zone, Some(&dk), 5), at("2026-04-10T10:00"));
        assert_eq!(after_working_days(at("2026-03-31T10:00"), &zone, None, 5), at("2026-04-07T10:00"));
        // A Saturday report counts from Monday.
        assert_eq!(after_working_days(at("2026-11-28T23:00"), &zone, Some(&dk), 5), at("2026-12-04T23:00"));
    }
}
