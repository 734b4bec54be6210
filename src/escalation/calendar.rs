//! Holiday calendars: which local dates count as closing days.
//!
//! Owns the built-in calendars (Denmark, Belgian healthdata.be closing days), the
//! Easter computation they rest on, and the operator-configured additions (closing
//! days every year, one-off dates). It knows nothing of time zones or rules: a
//! calendar answers "is this civil date a holiday, and which one".

use std::collections::BTreeMap;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The built-in part of a calendar; configured dates are added on top.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaseCalendar {
    /// Danish public holidays. 5 June and 24 December are closing days, not public
    /// holidays, so they are left to the configuration (`annual`).
    Denmark,
    /// healthdata.be closing days (Belgium).
    BelgiumHealthdata,
    /// Nothing built in: only the configured dates.
    None,
}

impl BaseCalendar {
    pub fn name(self) -> &'static str {
        match self {
            BaseCalendar::Denmark => "denmark",
            BaseCalendar::BelgiumHealthdata => "belgium-healthdata",
            BaseCalendar::None => "none",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "denmark" | "dk" => Some(BaseCalendar::Denmark),
            "belgium-healthdata" | "belgium" | "be" => Some(BaseCalendar::BelgiumHealthdata),
            "none" => Some(BaseCalendar::None),
            _ => None,
        }
    }

    fn holiday(self, d: Date) -> Option<&'static str> {
        match self {
            BaseCalendar::Denmark => denmark(d),
            BaseCalendar::BelgiumHealthdata => belgium_healthdata(d),
            BaseCalendar::None => None,
        }
    }
}

/// Easter Sunday: one computation for holiday calendars and process calendars.
pub use crate::model::process::easter_sunday;

/// Days from Easter Sunday to `d` when both fall in the same year.
fn easter_offset(d: Date) -> Option<i32> {
    let easter = easter_sunday(d.year())?;
    Some(i32::from(d.day_of_year()) - i32::from(easter.day_of_year()))
}

fn denmark(d: Date) -> Option<&'static str> {
    match (d.month(), d.day()) {
        (1, 1) => return Some("New Year's Day (Nytårsdag)"),
        (12, 25) => return Some("Christmas Day (Juledag)"),
        (12, 26) => return Some("Boxing Day (2. juledag)"),
        _ => {}
    }
    match easter_offset(d)? {
        -3 => Some("Maundy Thursday (Skærtorsdag)"),
        -2 => Some("Good Friday (Langfredag)"),
        0 => Some("Easter Sunday (Påskedag)"),
        1 => Some("Easter Monday (2. påskedag)"),
        // Store Bededag was abolished as a public holiday from 2024.
        26 if d.year() <= 2023 => Some("Great Prayer Day (Store Bededag)"),
        39 => Some("Ascension Day (Kristi himmelfartsdag)"),
        49 => Some("Whit Sunday (Pinsedag)"),
        50 => Some("Whit Monday (2. pinsedag)"),
        _ => None,
    }
}

fn belgium_healthdata(d: Date) -> Option<&'static str> {
    let fixed = match (d.month(), d.day()) {
        (1, 1) => Some("New Year's Day"),
        (5, 1) => Some("Labour Day"),
        (7, 21) => Some("Belgian National Day"),
        (8, 15) => Some("Assumption Day"),
        (11, 1) => Some("All Saints' Day"),
        (11, 2) => Some("All Souls' Day"),
        (11, 11) => Some("Armistice Day"),
        (12, 25) => Some("Christmas Day"),
        (12, 26) => Some("Boxing Day"),
        _ => None,
    };
    if fixed.is_some() {
        return fixed;
    }
    match easter_offset(d)? {
        1 => Some("Easter Monday"),
        39 => Some("Ascension Day"),
        50 => Some("Whit Monday"),
        _ => None,
    }
}

/// A calendar as configured: a built-in base plus closing days.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    pub id: String,
    pub base: BaseCalendar,
    /// Closing days every year, keyed by (month, day).
    pub annual: BTreeMap<(i8, i8), String>,
    /// One-off closing days.
    pub dates: BTreeMap<Date, String>,
}

impl Calendar {
    /// The holiday's name when `d` is a holiday or closing day in this calendar.
    /// One-off dates win over annual ones, which win over the base, so an operator
    /// can rename a day; they can add days but not remove built-in ones.
    pub fn holiday(&self, d: Date) -> Option<&str> {
        if let Some(name) = self.dates.get(&d) {
            return Some(name);
        }
        if let Some(name) = self.annual.get(&(d.month(), d.day())) {
            return Some(name);
        }
        self.base.holiday(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn easter_matches_known_dates() {
        let known = [
            (1818, date(1818, 3, 22)), // earliest possible
            (1943, date(1943, 4, 25)), // latest possible
            (2000, date(2000, 4, 23)),
            (2008, date(2008, 3, 23)),
            (2011, date(2011, 4, 24)),
            (2019, date(2019, 4, 21)),
            (2023, date(2023, 4, 9)),
            (2024, date(2024, 3, 31)),
            (2025, date(2025, 4, 20)),
            (2026, date(2026, 4, 5)),
            (2027, date(2027, 3, 28)),
            (2028, date(2028, 4, 16)),
            (2038, date(2038, 4, 25)),
        ];
        for (year, want) in known {
            assert_eq!(easter_sunday(year), Some(want), "Easter {year}");
        }
    }

    fn dk() -> Calendar {
        Calendar { id: "dk".into(), base: BaseCalendar::Denmark, annual: BTreeMap::new(), dates: BTreeMap::new() }
    }

    #[test]
    fn danish_holidays_2026() {
        let cal = dk();
        let holidays = [
            (date(2026, 1, 1), "New Year"),
            (date(2026, 4, 2), "Maundy Thursday"),
            (date(2026, 4, 3), "Good Friday"),
            (date(2026, 4, 5), "Easter Sunday"),
            (date(2026, 4, 6), "Easter Monday"),
            (date(2026, 5, 14), "Ascension"),
            (date(2026, 5, 24), "Whit Sunday"),
            (date(2026, 5, 25), "Whit Monday"),
            (date(2026, 12, 25), "Christmas Day"),
            (date(2026, 12, 26), "Boxing Day"),
        ];
        for (d, name) in holidays {
            let got = cal.holiday(d);
            assert!(got.is_some_and(|g| g.contains(name)), "{d}: want {name}, got {got:?}");
        }
        let ordinary = [
            date(2026, 4, 1),
            date(2026, 4, 4), // Holy Saturday is not a holiday (it is a Saturday anyway)
            date(2026, 4, 7),
            date(2026, 5, 1),
            date(2026, 6, 5),   // closing day only when configured
            date(2026, 12, 24), // likewise
            date(2026, 12, 31),
        ];
        for d in ordinary {
            assert_eq!(cal.holiday(d), None, "{d}");
        }
    }

    #[test]
    fn store_bededag_only_up_to_2023() {
        let cal = dk();
        assert!(cal.holiday(date(2023, 5, 5)).is_some());
        assert!(cal.holiday(date(2022, 5, 13)).is_some());
        assert_eq!(cal.holiday(date(2024, 4, 26)), None);
        assert_eq!(cal.holiday(date(2026, 5, 1)), None);
    }

    #[test]
    fn configured_closing_days_are_added() {
        let mut cal = dk();
        cal.annual.insert((12, 24), "Christmas Eve (closing day)".into());
        cal.dates.insert(date(2026, 12, 31), "New Year's Eve".into());
        assert_eq!(cal.holiday(date(2027, 12, 24)), Some("Christmas Eve (closing day)"));
        assert_eq!(cal.holiday(date(2026, 12, 31)), Some("New Year's Eve"));
        assert_eq!(cal.holiday(date(2027, 12, 31)), None);
    }

    #[test]
    fn belgian_closing_days() {
        let cal = Calendar {
            id: "be".into(),
            base: BaseCalendar::BelgiumHealthdata,
            annual: BTreeMap::new(),
            dates: BTreeMap::new(),
        };
        for d in [
            date(2026, 1, 1),
            date(2026, 4, 6),
            date(2026, 5, 1),
            date(2026, 5, 14),
            date(2026, 5, 25),
            date(2026, 7, 21),
            date(2026, 8, 15),
            date(2026, 11, 1),
            date(2026, 11, 2),
            date(2026, 11, 11),
            date(2026, 12, 25),
            date(2026, 12, 26),
        ] {
            assert!(cal.holiday(d).is_some(), "{d}");
        }
        for d in [date(2026, 4, 2), date(2026, 4, 3), date(2026, 5, 24), date(2026, 6, 5)] {
            assert_eq!(cal.holiday(d), None, "{d}");
        }
    }
}
