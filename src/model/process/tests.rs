use super::*;
use jiff::civil::{date, time};

fn brussels() -> WorkingCalendar {
    WorkingCalendar {
        zone: TimeZone::get("Europe/Brussels").unwrap(),
        start: time(8, 0, 0, 0),
        end: time(16, 30, 0, 0),
        closing_days: vec![
            (ClosingDay::Annual { month: 12, day: 25 }, "Christmas Day".into()),
            (ClosingDay::Annual { month: 12, day: 26 }, "Boxing Day".into()),
            (ClosingDay::Easter { offset: 1 }, "Easter Monday".into()),
            (ClosingDay::Date(date(2026, 12, 31)), "New Year's Eve".into()),
        ],
    }
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn closing_days_are_matched_by_date_by_easter_and_once() {
    let cal = brussels();
    assert_eq!(cal.closing_day(date(2027, 12, 25)), Some("Christmas Day"));
    assert_eq!(cal.closing_day(date(2026, 4, 6)), Some("Easter Monday"));
    assert_eq!(cal.closing_day(date(2027, 3, 29)), Some("Easter Monday"));
    assert_eq!(cal.closing_day(date(2026, 12, 31)), Some("New Year's Eve"));
    assert_eq!(cal.closing_day(date(2027, 12, 31)), None);
    assert!(!cal.is_working_day(date(2026, 12, 5)), "a Saturday");
    assert!(cal.is_working_day(date(2026, 12, 4)), "a Friday");
}

#[test]
fn working_days_skip_weekends_and_closing_days() {
    let cal = brussels();
    // Monday 21 December 2026, 10:00 Brussels: Tue 22, Wed 23, Thu 24, (Fri 25 and
    // Sat 26 closed, Sun 27) Mon 28, Tue 29.
    assert_eq!(cal.add_working_days(at("2026-12-21T09:00:00Z"), 5), at("2026-12-29T09:00:00Z"));
    // A Friday evening resolution counts at the end of the working day.
    assert_eq!(cal.add_working_days(at("2026-12-04T20:00:00Z"), 1), at("2026-12-07T15:30:00Z"));
    assert_eq!(cal.add_working_days(at("2026-12-04T20:00:00Z"), 0), at("2026-12-04T15:30:00Z"));
}

#[test]
fn easter_agrees_with_known_dates() {
    assert_eq!(easter_sunday(2026), Some(date(2026, 4, 5)));
    assert_eq!(easter_sunday(1943), Some(date(1943, 4, 25)));
}

#[test]
fn hold_reasons_awaiting_change_and_awaiting_problem_are_distinct() {
    assert_eq!(HoldReason::of(Status::PendingRelease), Some(HoldReason::AwaitingChange));
    assert_eq!(HoldReason::of(Status::OnHold), Some(HoldReason::AwaitingProblem));
    assert_eq!(HoldReason::of(Status::AwaitingInfo), Some(HoldReason::AwaitingCallerInformation));
    assert_eq!(HoldReason::of(Status::InProgress), None);
}

#[test]
fn the_matrix_classifies_by_the_service_importance_and_impact() {
    let mut m = PriorityMatrix::default();
    m.services.insert("hd4dp".into(), Importance::Gold);
    m.cells.insert((Importance::Gold, Impact::High), "P01".into());
    m.canonical.insert("P01".into(), Priority::P1);
    let c = m.classify("HD4DP", Impact::High).unwrap();
    assert_eq!((c.importance, c.name.as_str(), c.canonical), (Importance::Gold, "P01", Priority::P1));
    assert_eq!(m.classify("HD4DP", Impact::Low), None, "no cell");
    assert_eq!(m.classify("other", Impact::High), None, "no importance");
}
