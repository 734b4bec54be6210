//! Weekly time windows evaluated on local wall-clock time.
//!
//! Owns the parsing and meaning of `days`/`time`/`from`/`to`, holiday policies, and
//! the translation of an instant into a position in the week. Windows are intervals
//! on a Monday-based week measured in seconds of local wall-clock time, so:
//!
//! * `{ days = "mon-thu", time = "18:00-08:00" }` wraps midnight: each listed day
//!   contributes its evening and the *next* morning (Thu 18:00 → Fri 08:00).
//! * `{ from = "fri 18:00", to = "mon 08:00" }` spans days and may wrap the week end.
//! * A holiday, by default, takes the place of a Sunday ("holidays count as weekend"):
//!   its whole date sits at Sunday's position in the week. The morning after a
//!   holiday keeps its own weekday, so `mon-thu 18:00-08:00` still covers Tuesday
//!   00:00–08:00 after Easter Monday.
//!
//! DST: an instant is evaluated on its wall-clock time. A window edge inside a
//! skipped hour (02:30 on the last Sunday of March) therefore takes effect at the
//! first valid instant after it (03:00 CEST); in a repeated hour both instants with
//! the same wall-clock time evaluate alike. [`resolve_local`] turns a configured
//! edge into an instant by the same rule.

use std::fmt;

use jiff::{
    Timestamp,
    civil::{Date, DateTime, Time, Weekday},
    tz::{AmbiguousOffset, TimeZone},
};

pub(crate) const DAY: u32 = 86_400;
pub(crate) const WEEK: u32 = 7 * DAY;

/// A wall-clock time of day with minute precision; `24:00` is allowed as an end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u32);

impl TimeOfDay {
    pub const MIDNIGHT: TimeOfDay = TimeOfDay(0);
    pub const END_OF_DAY: TimeOfDay = TimeOfDay(DAY);

    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a time of day (want HH:MM, 00:00..24:00)");
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        if h.is_empty() || h.len() > 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u32 = h.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        if m > 59 || h > 24 || (h == 24 && m != 0) {
            return Err(bad());
        }
        Ok(TimeOfDay(h * 3600 + m * 60))
    }

    pub fn seconds(self) -> u32 {
        self.0
    }

    /// The civil time, or `None` for `24:00`.
    pub fn civil(self) -> Option<Time> {
        if self.0 >= DAY {
            return None;
        }
        // Both fit: hours < 24, minutes < 60.
        Time::new((self.0 / 3600) as i8, ((self.0 / 60) % 60) as i8, 0, 0).ok()
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 3600, (self.0 / 60) % 60)
    }
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Monday = 0 … Sunday = 6.
pub(crate) fn weekday_index(w: Weekday) -> u32 {
    w.to_monday_zero_offset() as u32
}

fn parse_day(s: &str) -> Option<u32> {
    let s = s.trim().to_ascii_lowercase();
    let full = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
    (0..7u32).find(|&i| s == DAY_NAMES[i as usize] || s == full[i as usize])
}

/// A set of weekdays, e.g. `mon-thu`, `sat,sun`, `fri-mon` (wraps), `daily`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DaySet(u8);

impl DaySet {
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = |part: &str| {
            format!("`{part}` is not a weekday or range in `{s}` (want mon..sun, e.g. `mon-thu`, `sat,sun`, `daily`)")
        };
        let t = s.trim().to_ascii_lowercase();
        if t == "daily" || t == "*" {
            return Ok(DaySet(0x7f));
        }
        let mut bits = 0u8;
        for part in t.split(',') {
            let part = part.trim();
            match part.split_once('-') {
                Some((a, b)) => {
                    let a = parse_day(a).ok_or_else(|| bad(part))?;
                    let b = parse_day(b).ok_or_else(|| bad(part))?;
                    let mut d = a;
                    loop {
                        bits |= 1 << d;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
                None => bits |= 1 << parse_day(part).ok_or_else(|| bad(part))?,
            }
        }
        Ok(DaySet(bits))
    }

    pub fn contains(self, day: u32) -> bool {
        self.0 & (1 << day) != 0
    }

    fn days(self) -> impl Iterator<Item = u32> {
        (0..7).filter(move |&d| self.contains(d))
    }
}

impl fmt::Display for DaySet {
    /// Canonical form: ascending runs, e.g. `mon-thu,sat`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0x7f {
            return f.write_str("daily");
        }
        let mut first = true;
        let mut d = 0;
        while d < 7 {
            if !self.contains(d) {
                d += 1;
                continue;
            }
            let start = d;
            while d + 1 < 7 && self.contains(d + 1) {
                d += 1;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == d {
                f.write_str(DAY_NAMES[d as usize])?;
            } else {
                write!(f, "{}-{}", DAY_NAMES[start as usize], DAY_NAMES[d as usize])?;
            }
            d += 1;
        }
        Ok(())
    }
}

/// A weekday and time such as `fri 18:00`.
pub fn week_point(s: &str) -> Result<(u32, TimeOfDay), String> {
    let (d, t) = s
        .trim()
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("`{s}` is not a weekday and time (want e.g. `fri 18:00`)"))?;
    let day =
        parse_day(d).ok_or_else(|| format!("`{d}` is not a weekday (want mon, tue, wed, thu, fri, sat or sun)"))?;
    let t = TimeOfDay::parse(t)?;
    if t == TimeOfDay::END_OF_DAY {
        return Err(format!("`{s}`: use 00:00 of the next day instead of 24:00"));
    }
    Ok((day, t))
}

/// A recurring weekly window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// On each listed day from `start` to `end`; `end <= start` wraps into the next day.
    Daily { days: DaySet, start: TimeOfDay, end: TimeOfDay },
    /// From one weekday and time to another, possibly across the week end.
    Span { from_day: u32, from: TimeOfDay, to_day: u32, to: TimeOfDay },
}

/// Is `pos` in the half-open week interval starting at `start` of length `len`?
fn in_interval(pos: u32, start: u32, len: u32) -> bool {
    (pos + WEEK - start % WEEK) % WEEK < len
}

impl Window {
    /// `days` + optional `time` (`HH:MM-HH:MM`; absent = the whole day).
    pub fn daily(days: &str, time: Option<&str>) -> Result<Self, String> {
        let days = DaySet::parse(days)?;
        let (start, end) = match time {
            None => (TimeOfDay::MIDNIGHT, TimeOfDay::END_OF_DAY),
            Some(t) => {
                let (a, b) = t
                    .split_once('-')
                    .ok_or_else(|| format!("`{t}` is not a time window (want HH:MM-HH:MM, e.g. 18:00-08:00)"))?;
                (TimeOfDay::parse(a)?, TimeOfDay::parse(b)?)
            }
        };
        if start == TimeOfDay::END_OF_DAY {
            return Err("a window cannot start at 24:00".into());
        }
        if start == end || (start == TimeOfDay::MIDNIGHT && end == TimeOfDay::MIDNIGHT) {
            return Err(format!("`{start}-{end}` is empty or ambiguous (leave `time` out for the whole day)"));
        }
        Ok(Window::Daily { days, start, end })
    }

    /// `from = "fri 18:00"`, `to = "mon 08:00"`.
    pub fn span(from: &str, to: &str) -> Result<Self, String> {
        let (from_day, from) = week_point(from)?;
        let (to_day, to) = week_point(to)?;
        if from_day == to_day && from == to {
            return Err("`from` and `to` are the same instant of the week".into());
        }
        Ok(Window::Span { from_day, from, to_day, to })
    }

    /// Whether a week position (Monday 00:00 = 0, in seconds) is inside the window.
    pub fn contains(&self, pos: u32) -> bool {
        match *self {
            Window::Daily { days, start, end } => {
                let len = if end > start { end.0 - start.0 } else { DAY - start.0 + end.0 };
                days.days().any(|d| in_interval(pos, d * DAY + start.0, len))
            }
            Window::Span { from_day, from, to_day, to } => {
                let a = from_day * DAY + from.0;
                let b = to_day * DAY + to.0;
                in_interval(pos, a, (b + WEEK - a) % WEEK)
            }
        }
    }

    /// The times of day at which this window opens and closes, in that order.
    pub fn edges(&self) -> [TimeOfDay; 2] {
        match *self {
            Window::Daily { start, end, .. } => [start, end],
            Window::Span { from, to, .. } => [from, to],
        }
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Window::Daily { days, start, end } => {
                if start == TimeOfDay::MIDNIGHT && end == TimeOfDay::END_OF_DAY {
                    write!(f, "{days}")
                } else {
                    write!(f, "{days} {start}-{end}")
                }
            }
            Window::Span { from_day, from, to_day, to } => {
                write!(f, "{} {from} → {} {to}", DAY_NAMES[from_day as usize], DAY_NAMES[to_day as usize])
            }
        }
    }
}

/// How a rule treats a date that its calendar marks as a holiday.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HolidayPolicy {
    /// The holiday evaluates as a Sunday (the default: holidays count as weekend).
    #[default]
    AsWeekend,
    /// The holiday evaluates on its own weekday: the calendar is ignored.
    AsWeekday,
    /// The rule applies only on holidays (evaluated as a Sunday).
    Only,
    /// The rule never applies on holidays.
    Never,
}

impl HolidayPolicy {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "as_weekend" | "as-weekend" | "weekend" => Ok(HolidayPolicy::AsWeekend),
            "as_weekday" | "as-weekday" | "weekday" => Ok(HolidayPolicy::AsWeekday),
            "only" => Ok(HolidayPolicy::Only),
            "never" => Ok(HolidayPolicy::Never),
            _ => Err(format!("`{s}` is not a holiday policy (want as_weekend, as_weekday, only or never)")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HolidayPolicy::AsWeekend => "as_weekend",
            HolidayPolicy::AsWeekday => "as_weekday",
            HolidayPolicy::Only => "only",
            HolidayPolicy::Never => "never",
        }
    }

    /// The week position to evaluate windows at, or `None` when the policy excludes
    /// this date altogether.
    pub fn position(self, weekday: u32, seconds: u32, holiday: bool) -> Option<u32> {
        const SUNDAY: u32 = 6;
        let day = match (self, holiday) {
            (HolidayPolicy::Only, false) | (HolidayPolicy::Never, true) => return None,
            (HolidayPolicy::AsWeekend | HolidayPolicy::Only, true) => SUNDAY,
            _ => weekday,
        };
        Some(day * DAY + seconds)
    }
}

/// The local wall-clock reading of an instant: what windows are evaluated on.
#[derive(Clone, Debug)]
pub struct WallClock {
    pub date: Date,
    pub weekday: u32,
    pub seconds: u32,
}

impl WallClock {
    pub fn of(dt: DateTime) -> Self {
        WallClock {
            date: dt.date(),
            weekday: weekday_index(dt.weekday()),
            seconds: dt.hour() as u32 * 3600 + dt.minute() as u32 * 60 + dt.second() as u32,
        }
    }
}

/// The instant at which local wall-clock time `date time` begins, by the module's
/// DST rule: in a skipped hour the first valid instant after it (the transition
/// itself); in a repeated hour the first of the two. `None` only outside jiff's range.
pub fn resolve_local(tz: &TimeZone, date: Date, time: TimeOfDay) -> Option<Timestamp> {
    let (date, civil) = match time.civil() {
        Some(t) => (date, t),
        None => (date.tomorrow().ok()?, Time::midnight()),
    };
    let dt = date.to_datetime(civil);
    let amb = tz.to_ambiguous_zoned(dt);
    match amb.offset() {
        AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(dt).ok(),
        AmbiguousOffset::Fold { before, .. } => before.to_timestamp(dt).ok(),
        AmbiguousOffset::Gap { before, after } => {
            // Reading `dt` with the later offset gives an instant before the gap,
            // with the earlier offset one after it; the transition lies between.
            // Find the first second whose wall-clock time is not before `dt`.
            let mut lo = after.to_timestamp(dt).ok()?.as_second();
            let mut hi = before.to_timestamp(dt).ok()?.as_second();
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                let wall = tz.to_datetime(Timestamp::from_second(mid).ok()?);
                if wall >= dt {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            Timestamp::from_second(hi).ok()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(day: u32, hh: u32, mm: u32) -> u32 {
        day * DAY + hh * 3600 + mm * 60
    }

    #[test]
    fn day_sets_parse_and_print_canonically() {
        let cases = [
            ("mon-thu", "mon-thu"),
            ("Mon-Thu", "mon-thu"),
            ("fri", "fri"),
            ("sat,sun", "sat-sun"),
            ("fri-mon", "mon,fri-sun"),
            ("monday,wednesday", "mon,wed"),
            ("daily", "daily"),
            ("mon-sun", "daily"),
        ];
        for (input, want) in cases {
            assert_eq!(DaySet::parse(input).map(|d| d.to_string()), Ok(want.into()), "{input}");
        }
        for bad in ["mun", "mon-", "", "mon-xyz", "1-5"] {
            assert!(DaySet::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_parse() {
        assert_eq!(TimeOfDay::parse("08:00").map(|t| t.seconds()), Ok(8 * 3600));
        assert_eq!(TimeOfDay::parse("15:30").map(|t| t.to_string()), Ok("15:30".into()));
        assert_eq!(TimeOfDay::parse("24:00"), Ok(TimeOfDay::END_OF_DAY));
        for bad in ["25:00", "8", "08:60", "24:01", "08:0", "x:00", "-1:00"] {
            assert!(TimeOfDay::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wrapping_window_covers_next_morning() {
        let w = Window::daily("mon-thu", Some("18:00-08:00")).unwrap();
        let table = [
            (pos(0, 17, 59), false),
            (pos(0, 18, 0), true),
            (pos(1, 7, 59), true),
            (pos(1, 8, 0), false),
            (pos(4, 7, 59), true), // Thu night → Fri morning
            (pos(4, 18, 0), false),
            (pos(0, 3, 0), false), // Sunday night is not a Mon–Thu evening
        ];
        for (p, want) in table {
            assert_eq!(w.contains(p), want, "{p}");
        }
    }

    #[test]
    fn span_window_wraps_week_end() {
        let w = Window::span("fri 18:00", "mon 08:00").unwrap();
        let table = [
            (pos(4, 17, 59), false),
            (pos(4, 18, 0), true),
            (pos(5, 12, 0), true),
            (pos(6, 23, 59), true),
            (pos(0, 7, 59), true),
            (pos(0, 8, 0), false),
            (pos(2, 12, 0), false),
        ];
        for (p, want) in table {
            assert_eq!(w.contains(p), want, "{p}");
        }
        assert_eq!(w.to_string(), "fri 18:00 → mon 08:00");
    }

    #[test]
    fn sunday_wrap_reaches_monday() {
        let w = Window::daily("sun", Some("22:00-02:00")).unwrap();
        assert!(w.contains(pos(6, 23, 0)));
        assert!(w.contains(pos(0, 1, 0)));
        assert!(!w.contains(pos(0, 2, 0)));
    }

    #[test]
    fn bad_windows_are_refused() {
        assert!(Window::daily("mon", Some("08:00-08:00")).is_err());
        assert!(Window::daily("mon", Some("24:00-08:00")).is_err());
        assert!(Window::daily("mon", Some("08:00")).is_err());
        assert!(Window::span("fri 18:00", "fri 18:00").is_err());
        assert!(Window::span("fry 18:00", "mon 08:00").is_err());
        assert!(Window::span("fri", "mon 08:00").is_err());
    }

    #[test]
    fn dst_edges_resolve_to_first_valid_instant() {
        let tz = TimeZone::get("Europe/Copenhagen").unwrap();
        let t = |s: &str| TimeOfDay::parse(s).unwrap();
        // Skipped hour: 02:30 does not exist on 29 Mar 2026; the first valid instant
        // after it is 03:00 CEST = 01:00 UTC.
        assert_eq!(
            resolve_local(&tz, jiff::civil::date(2026, 3, 29), t("02:30")),
            Some("2026-03-29T01:00:00Z".parse().unwrap())
        );
        // Repeated hour: 02:30 happens twice on 25 Oct 2026; the first is +02:00.
        assert_eq!(
            resolve_local(&tz, jiff::civil::date(2026, 10, 25), t("02:30")),
            Some("2026-10-25T00:30:00Z".parse().unwrap())
        );
        assert_eq!(
            resolve_local(&tz, jiff::civil::date(2026, 10, 25), TimeOfDay::END_OF_DAY),
            Some("2026-10-25T23:00:00Z".parse().unwrap())
        );
    }

    #[test]
    fn holiday_policies() {
        let p = HolidayPolicy::AsWeekend;
        assert_eq!(p.position(0, 10, true), Some(6 * DAY + 10));
        assert_eq!(p.position(0, 10, false), Some(10));
        assert_eq!(HolidayPolicy::AsWeekday.position(0, 10, true), Some(10));
        assert_eq!(HolidayPolicy::Only.position(0, 10, false), None);
        assert_eq!(HolidayPolicy::Never.position(0, 10, true), None);
    }
}
