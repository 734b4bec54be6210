//! Who is on call: now, for every service and priority, and over a week as a grid
//! of rule spans per day, in the ruleset's zone — what the console shows.
//!
//! Pure: the answers are [`Ruleset::decide`] evaluated where the answer can change
//! (midnight and every window edge of every rule, each read as local wall-clock time
//! by `schedule`'s DST rule), merged into spans. A day carries its holiday and its
//! DST change, if any, so a reader sees why a span looks unusual.

use jiff::{Timestamp, ToSpan, Zoned, civil::Date};

use super::{
    Priority,
    decision::Decision,
    rules::{Ruleset, When},
    schedule::{TimeOfDay, resolve_local},
};

/// One row of "on call now".
#[derive(Clone, Debug)]
pub struct NowRow {
    pub service: String,
    pub priority: Priority,
    pub decision: Decision,
}

/// Who is contacted at `at` for every service the ruleset names and every priority.
pub fn on_call_now(ruleset: &Ruleset, priorities: &[Priority], at: Timestamp) -> Vec<NowRow> {
    let mut rows = Vec::new();
    for service in ruleset.services() {
        for &priority in priorities {
            rows.push(NowRow { service: service.clone(), priority, decision: ruleset.decide(service, priority, at) });
        }
    }
    rows
}

/// A span of one day during which one rule names one contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// Local wall-clock start and end (`24:00` ends the day).
    pub from: TimeOfDay,
    pub to: TimeOfDay,
    pub rule: String,
    pub contact_id: String,
    pub contact_name: String,
    /// The instant the span begins.
    pub starts: Timestamp,
}

/// A change of the zone's offset within a day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DstChange {
    /// The instant of the change, in the zone (the wall clock just after it).
    pub at: Zoned,
    /// Local time just before and just after, e.g. `02:00` → `03:00`.
    pub before: String,
    pub after: String,
    /// The day's length in hours (23 or 25 for a one-hour change).
    pub day_hours: i64,
}

/// One day of the grid.
#[derive(Clone, Debug)]
pub struct Day {
    pub date: Date,
    pub holiday: Option<String>,
    pub dst: Option<DstChange>,
    pub spans: Vec<Span>,
}

/// The week of `service`'s contact rules for `priority`, from Monday `monday`.
#[derive(Clone, Debug)]
pub struct WeekGrid {
    pub service: String,
    pub priority: Priority,
    pub zone: String,
    pub monday: Date,
    pub days: Vec<Day>,
}

/// The Monday of the week holding `date`.
pub fn monday_of(date: Date) -> Date {
    let back = i64::from(date.weekday().to_monday_zero_offset());
    date.checked_sub(back.days()).unwrap_or(date)
}

/// The grid of the week holding `date` (moved back to its Monday).
pub fn week_grid(ruleset: &Ruleset, service: &str, priority: Priority, date: Date) -> WeekGrid {
    let monday = monday_of(date);
    let edges = edges(ruleset);
    let days = (0..7)
        .filter_map(|n| monday.checked_add(n.days()).ok())
        .map(|date| day(ruleset, service, priority, date, &edges))
        .collect();
    WeekGrid { service: service.to_string(), priority, zone: ruleset.zone_name().to_string(), monday, days }
}

/// Every time of day at which some rule's window opens or closes, and midnight.
fn edges(ruleset: &Ruleset) -> Vec<TimeOfDay> {
    let mut edges = vec![TimeOfDay::MIDNIGHT];
    for rule in ruleset.rules() {
        if let When::Windows(ws) = &rule.when {
            edges.extend(ws.iter().flat_map(|w| w.edges()).filter(|&t| t != TimeOfDay::END_OF_DAY));
        }
    }
    edges.sort();
    edges.dedup();
    edges
}

fn day(ruleset: &Ruleset, service: &str, priority: Priority, date: Date, edges: &[TimeOfDay]) -> Day {
    let zone = ruleset.zone();
    let mut spans: Vec<Span> = Vec::new();
    let mut holiday = None;
    for &edge in edges {
        let Some(starts) = resolve_local(zone, date, edge) else { continue };
        let d = ruleset.decide(service, priority, starts);
        if holiday.is_none() {
            holiday = d.holiday.clone();
        }
        if let Some(last) = spans.last_mut()
            && last.rule == d.rule
            && last.contact_id == d.contact.id
        {
            continue;
        }
        if let Some(last) = spans.last_mut() {
            last.to = edge;
        }
        spans.push(Span {
            from: edge,
            to: TimeOfDay::END_OF_DAY,
            rule: d.rule,
            contact_id: d.contact.id,
            contact_name: d.contact.name,
            starts,
        });
    }
    Day { date, holiday, dst: dst_change(ruleset, date), spans }
}

fn dst_change(ruleset: &Ruleset, date: Date) -> Option<DstChange> {
    let zone = ruleset.zone();
    let start = resolve_local(zone, date, TimeOfDay::MIDNIGHT)?;
    let end = resolve_local(zone, date.tomorrow().ok()?, TimeOfDay::MIDNIGHT)?;
    let change = zone.following(start).next().filter(|t| t.timestamp() < end)?;
    let at = change.timestamp();
    let before = at.checked_sub(1.second()).ok()?.to_zoned(zone.clone());
    let after = at.to_zoned(zone.clone());
    Some(DstChange {
        // The wall clock's reading at the change as the old offset would show it.
        before: before.datetime().checked_add(1.second()).ok()?.strftime("%H:%M").to_string(),
        after: after.strftime("%H:%M").to_string(),
        at: after,
        day_hours: end.duration_since(start).as_hours(),
    })
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::super::testkit::{local, shipped};
    use super::*;

    const END: TimeOfDay = TimeOfDay::END_OF_DAY;

    fn ruleset() -> Ruleset {
        let src = r#"
zone = "Europe/Copenhagen"
calendar = "dk"
ack_timeout = "15m"
services = ["NSP"]

[calendars.dk]
base = "denmark"

[contacts.day-desk]
name = "Dagvagt"
role = "desk"
email = "day@example.org"

[contacts.night-owner]
name = "Natvagt"
role = "owner"
email = "night@example.org"

[staffing]
staffed_by = "sds"
otherwise = "drift"
windows = [{ days = "mon-fri", time = "08:00-16:00" }]

[[rules]]
id = "day"
services = ["*"]
windows = [{ days = "mon-fri", time = "02:30-16:00" }, { days = "sun", time = "02:30-05:00" }]
contact = "day-desk"

[[rules]]
id = "rest"
services = ["*"]
always = true
contact = "night-owner"

[default]
contact = "day-desk"
"#;
        Ruleset::from_toml(src, "test.toml", local("2026-01-01T00:00"))
            .unwrap_or_else(|e| panic!("test ruleset refused: {e}"))
    }

    fn t(s: &str) -> TimeOfDay {
        TimeOfDay::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    fn spans(day: &Day) -> Vec<(TimeOfDay, TimeOfDay, &str)> {
        day.spans.iter().map(|s| (s.from, s.to, s.rule.as_str())).collect()
    }

    #[test]
    fn a_week_with_a_holiday() {
        // Mon 30 Mar … Sun 5 Apr 2026: Maundy Thursday and Good Friday are holidays.
        let r = ruleset();
        let g = week_grid(&r, "NSP", Priority::P1, date(2026, 4, 1));
        assert_eq!((g.monday, g.days.len(), g.zone.as_str()), (date(2026, 3, 30), 7, "Europe/Copenhagen"));
        let monday = &g.days[0];
        assert_eq!((monday.holiday.as_deref(), monday.dst.as_ref()), (None, None));
        assert_eq!(
            spans(monday),
            [(t("00:00"), t("02:30"), "rest"), (t("02:30"), t("16:00"), "day"), (t("16:00"), END, "rest")]
        );
        assert_eq!(monday.spans[1].contact_name, "Dagvagt");
        assert_eq!(monday.spans[1].starts, local("2026-03-30T02:30"));
        // A holiday counts as a Sunday: Sunday's short window, not the weekday one.
        for thursday in [&g.days[3], &g.days[4]] {
            assert!(thursday.holiday.is_some(), "{thursday:?}");
            assert_eq!(
                spans(thursday),
                [(t("00:00"), t("02:30"), "rest"), (t("02:30"), t("05:00"), "day"), (t("05:00"), END, "rest")]
            );
        }
        assert!(g.days[3].holiday.as_deref().is_some_and(|h| h.contains("Maundy Thursday")));
        assert!(g.days[..3].iter().all(|d| d.holiday.is_none()));
    }

    #[test]
    fn the_days_the_clocks_go_forward_and_back() {
        let r = ruleset();
        let spring = week_grid(&r, "NSP", Priority::P1, date(2026, 3, 29));
        assert_eq!(spring.monday, date(2026, 3, 23));
        let sunday = &spring.days[6];
        assert_eq!(sunday.date, date(2026, 3, 29));
        let dst = sunday.dst.as_ref().unwrap_or_else(|| panic!("no DST change on {}", sunday.date));
        assert_eq!((dst.before.as_str(), dst.after.as_str(), dst.day_hours), ("02:00", "03:00", 23));
        assert!(spring.days[..6].iter().all(|d| d.dst.is_none()));
        // The 02:30 edge lies in the skipped hour: the span starts at the transition.
        assert_eq!(
            spans(sunday),
            [(t("00:00"), t("02:30"), "rest"), (t("02:30"), t("05:00"), "day"), (t("05:00"), END, "rest")]
        );
        assert_eq!(sunday.spans[1].starts, local("2026-03-29T03:00"));
        assert_eq!(sunday.spans[1].starts, dst.at.timestamp());

        let autumn = week_grid(&r, "NSP", Priority::P1, date(2026, 10, 25));
        let sunday = &autumn.days[6];
        let dst = sunday.dst.as_ref().unwrap_or_else(|| panic!("no DST change on {}", sunday.date));
        assert_eq!((dst.before.as_str(), dst.after.as_str(), dst.day_hours), ("03:00", "02:00", 25));
        // 02:30 happens twice; the span starts at the first.
        assert_eq!(sunday.spans[1].starts, local("2026-10-25T02:30+02:00"));
        // Every span's start decides as its rule, holidays and DST included.
        for day in spring.days.iter().chain(&autumn.days) {
            for s in &day.spans {
                assert_eq!(r.decide("NSP", Priority::P1, s.starts).rule, s.rule, "{} {}", day.date, s.from);
            }
        }
    }

    #[test]
    fn on_call_now_names_the_rule_for_every_service_and_priority() {
        let r = shipped();
        let at = local("2026-03-31T10:00");
        let rows = on_call_now(r, &[Priority::P1, Priority::P2], at);
        assert_eq!(rows.len(), r.services().len() * 2);
        for row in &rows {
            let want = r.decide(&row.service, row.priority, at);
            assert_eq!(row.decision.contact.id, want.contact.id);
            assert!(!row.decision.is_default(), "{} {}", row.service, row.priority);
        }
        let r = ruleset();
        let rows = on_call_now(&r, &[Priority::P1], local("2026-03-31T10:00"));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].decision.contact.name, "Dagvagt");
        let rows = on_call_now(&r, &[Priority::P1], local("2026-04-02T10:00"));
        assert_eq!(rows[0].decision.contact.name, "Natvagt", "Maundy Thursday counts as weekend");
    }
}
