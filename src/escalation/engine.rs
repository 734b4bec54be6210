//! Evaluation: who is contacted for service S, priority P at instant T, and why;
//! who staffs the national desk at T; when a deferred P3/P4 report is taken up.
//!
//! Owns [`Engine`], which pairs a loaded
//! [`Ruleset`] with an injectable [`Clock`] so that every time-dependent answer can
//! be tested at any instant without sleeping. All evaluation is on the ruleset's
//! local wall-clock time (see `schedule` for the DST rule).

use std::{fmt, sync::Arc};

use jiff::{SignedDuration, Timestamp, ToSpan, Zoned};

use super::{
    Priority,
    decision::{DEFAULT_RULE, Decision},
    record::{Escalation, TimeoutOutcome, TransitionError},
    rules::{Contact, Rule, Ruleset, When},
    schedule::{HolidayPolicy, TimeOfDay, WallClock, resolve_local},
};
use crate::clock::Clock;

fn local_text(z: &Zoned) -> String {
    z.strftime("%a %Y-%m-%d %H:%M:%S %Z").to_string()
}

fn placeholder_contact(id: &str) -> Contact {
    // Unreachable for a loaded ruleset (every reference is checked at load), but a
    // decision must never fail: better a named id than no answer at 3 a.m.
    Contact {
        id: id.to_string(),
        name: id.to_string(),
        role: String::new(),
        email: String::new(),
        phone: None,
        channels: Vec::new(),
    }
}

impl Ruleset {
    pub(super) fn wall(&self, at: Timestamp) -> WallClock {
        WallClock::of(self.zone.to_datetime(at))
    }

    pub(super) fn holiday_on(&self, calendar: usize, wall: &WallClock) -> Option<&str> {
        self.calendars.get(calendar)?.holiday(wall.date)
    }

    /// Which part of `rule`'s time condition holds at `wall`, as text, if any.
    pub(super) fn matched_window(&self, rule: &Rule, wall: &WallClock) -> Option<String> {
        let holiday = self.holiday_on(rule.calendar, wall).is_some();
        let pos = rule.holidays.position(wall.weekday, wall.seconds, holiday)?;
        match &rule.when {
            When::Always => Some("always".to_string()),
            When::Windows(ws) => ws.iter().find(|w| w.contains(pos)).map(|w| w.to_string()),
        }
    }

    pub(super) fn covers(&self, rule: &Rule, wall: &WallClock) -> bool {
        let holiday = self.holiday_on(rule.calendar, wall).is_some();
        match rule.holidays.position(wall.weekday, wall.seconds, holiday) {
            None => false,
            Some(pos) => match &rule.when {
                When::Always => true,
                When::Windows(ws) => ws.iter().any(|w| w.contains(pos)),
            },
        }
    }

    fn contact_or_placeholder(&self, id: &str) -> Contact {
        self.contacts.get(id).cloned().unwrap_or_else(|| placeholder_contact(id))
    }

    /// Every rule that matches, in order; the first is the one [`Ruleset::decide`]
    /// picks. For "why not that rule?" questions and for tests.
    pub fn matching_rules(&self, service: &str, priority: Priority, at: Timestamp) -> Vec<&Rule> {
        let wall = self.wall(at);
        self.rules
            .iter()
            .filter(|r| r.services.matches(Some(service)) && r.for_priority(priority))
            .filter(|r| self.covers(r, &wall))
            .collect()
    }

    /// Who to contact for `service` at `priority` at instant `at`: the first rule
    /// that matches, else the default. Pure: same inputs, same decision.
    pub fn decide(&self, service: &str, priority: Priority, at: Timestamp) -> Decision {
        let wall = self.wall(at);
        let local = at.to_zoned(self.zone.clone());
        let service = service.trim();
        let hit = self
            .rules
            .iter()
            .filter(|r| r.services.matches(Some(service)) && r.for_priority(priority))
            .find_map(|r| self.matched_window(r, &wall).map(|w| (r, w)));

        let (rule_id, contact_id, ack_timeout, calendar, policy, note, window) = match hit {
            Some((r, w)) => {
                (r.id.as_str(), r.contact.as_str(), r.ack_timeout, r.calendar, r.holidays, r.note.as_deref(), Some(w))
            }
            None => (
                DEFAULT_RULE,
                self.default.contact.as_str(),
                self.default.ack_timeout,
                self.staffing.calendar,
                HolidayPolicy::AsWeekend,
                self.default.note.as_deref(),
                None,
            ),
        };
        let holiday = self.holiday_on(calendar, &wall).map(str::to_string);
        let contact = self.contact_or_placeholder(contact_id);
        let chain = self.chain(contact_id).iter().map(|id| self.contact_or_placeholder(id)).collect();

        let mut reason = format!("{service} {priority} at {} ({})", local_text(&local), self.zone_name);
        if let Some(h) = &holiday {
            reason.push_str(&format!(", {h}, a holiday"));
            reason.push_str(match policy {
                HolidayPolicy::AsWeekend => " (counts as weekend)",
                HolidayPolicy::AsWeekday => " (this rule treats it as an ordinary weekday)",
                HolidayPolicy::Only | HolidayPolicy::Never => "",
            });
        }
        match &window {
            Some(w) => reason.push_str(&format!(": rule `{rule_id}` matched ({w})")),
            None => reason.push_str(": no rule matched, using the default"),
        }
        if let Some(n) = note {
            reason.push_str(&format!(" — {n}"));
        }
        reason.push_str(&format!(" → {} ({}, {})", contact.name, contact.role, contact.id));

        Decision {
            rule: rule_id.to_string(),
            ruleset_version: self.version.clone(),
            service: service.to_string(),
            priority,
            contact,
            chain,
            ack_timeout,
            at,
            local,
            holiday,
            reason,
        }
    }

    /// Whether the national desk is staffed by itself (not the operations supplier)
    /// at `at`. Holidays count as weekend.
    pub fn is_staffed(&self, at: Timestamp) -> bool {
        let wall = self.wall(at);
        let holiday = self.holiday_on(self.staffing.calendar, &wall).is_some();
        HolidayPolicy::AsWeekend
            .position(wall.weekday, wall.seconds, holiday)
            .is_some_and(|pos| self.staffing.windows.iter().any(|w| w.contains(pos)))
    }

    /// The desk answering the national desk's phone and queue at `at`.
    pub fn staffed_by(&self, at: Timestamp) -> &str {
        if self.is_staffed(at) { &self.staffing.staffed_by } else { &self.staffing.otherwise }
    }

    /// The next instant strictly after `at` at which staffed hours begin (the next
    /// working day 08:00 for the NSP desk). `None` only when there is no staffed
    /// time within 400 days.
    pub fn next_working_start(&self, at: Timestamp) -> Option<Timestamp> {
        let first = at.to_zoned(self.zone.clone()).date();
        let opens: Vec<TimeOfDay> = self.staffing.windows.iter().map(|w| w.edges()[0]).collect();
        for d in 0..400 {
            let date = first.checked_add(d.days()).ok()?;
            let start = opens
                .iter()
                .filter_map(|&t| resolve_local(&self.zone, date, t))
                .filter(|&ts| ts > at && self.is_staffed(ts))
                // A window that continues one ending just before is not a start.
                .filter(|&ts| ts.checked_sub(SignedDuration::from_secs(1)).is_ok_and(|prev| !self.is_staffed(prev)))
                .min();
            if start.is_some() {
                return start;
            }
        }
        None
    }

    /// When a report of `priority` arriving at `at` is to be taken up: `None` for
    /// "now" (P1/P2 always, P3/P4 within staffed hours), else the next working
    /// start. Deferred reports are queued, never dropped.
    pub fn defer_until(&self, priority: Priority, at: Timestamp) -> Option<Timestamp> {
        if priority.is_major() || self.is_staffed(at) {
            return None;
        }
        self.next_working_start(at)
    }
}

/// A ruleset with a clock: the gateway's handle on escalation.
#[derive(Clone)]
pub struct Engine {
    ruleset: Arc<Ruleset>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("ruleset", &self.ruleset.file())
            .field("version", &self.ruleset.version())
            .finish_non_exhaustive()
    }
}

impl Engine {
    pub fn new(ruleset: Arc<Ruleset>, clock: Arc<dyn Clock>) -> Self {
        Engine { ruleset, clock }
    }

    pub fn ruleset(&self) -> &Arc<Ruleset> {
        &self.ruleset
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// See [`Ruleset::decide`].
    pub fn decide(&self, service: &str, priority: Priority, at: Timestamp) -> Decision {
        self.ruleset.decide(service, priority, at)
    }

    pub fn decide_now(&self, service: &str, priority: Priority) -> Decision {
        self.decide(service, priority, self.now())
    }

    /// Decide now and open an escalation record for it: the first contact is to be
    /// notified, with a deadline of now + the rule's acknowledgement timeout.
    pub fn open(
        &self,
        id: impl Into<String>,
        incident_id: impl Into<String>,
        service: &str,
        priority: Priority,
    ) -> Escalation {
        Escalation::open(id, incident_id, self.decide_now(service, priority))
    }

    /// Record an acknowledgement by `by` at the clock's now.
    pub fn acknowledge(&self, escalation: &mut Escalation, by: &str) -> Result<(), TransitionError> {
        escalation.acknowledge(by, self.now())
    }

    /// Move an escalation on when its deadline has passed by the clock's now.
    pub fn on_timeout(&self, escalation: &mut Escalation) -> TimeoutOutcome {
        escalation.on_timeout(self.now())
    }

    pub fn is_staffed(&self, at: Timestamp) -> bool {
        self.ruleset.is_staffed(at)
    }

    pub fn staffed_by(&self, at: Timestamp) -> &str {
        self.ruleset.staffed_by(at)
    }

    pub fn next_working_start(&self, at: Timestamp) -> Option<Timestamp> {
        self.ruleset.next_working_start(at)
    }

    /// See [`Ruleset::defer_until`]; evaluated at the clock's now.
    pub fn defer_now(&self, priority: Priority) -> Option<Timestamp> {
        self.ruleset.defer_until(priority, self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::TestClock;
    use crate::escalation::testkit::{local, shipped, sweep_start};
    use Priority::*;
    use proptest::prelude::*;

    const IM: &str = "nsp-incident-manager";
    const SO: &str = "nsp-system-owner";
    const FMK_IM: &str = "fmk-incident-manager";

    /// DESIGN §6 and process step 3, row by row and edge by edge, for a non-FMK
    /// service: (local time, rule, contact).
    const NON_FMK: &[(&str, &str, &str)] = &[
        // Monday, working hours and their edges.
        ("2026-03-02T07:59:59", "nsp-weekend", SO),
        ("2026-03-02T08:00", "nsp-working-hours", IM),
        ("2026-03-02T15:59", "nsp-working-hours", IM),
        ("2026-03-02T15:59:59", "nsp-working-hours", IM),
        ("2026-03-02T16:00", "nsp-late-afternoon", IM),
        ("2026-03-02T17:59", "nsp-late-afternoon", IM),
        ("2026-03-02T17:59:59", "nsp-late-afternoon", IM),
        ("2026-03-02T18:00", "nsp-weeknight", SO),
        // Mon–Thu nights run into the next morning.
        ("2026-03-03T03:00", "nsp-weeknight", SO),
        ("2026-03-03T07:59", "nsp-weeknight", SO),
        ("2026-03-03T08:00", "nsp-working-hours", IM),
        ("2026-03-05T18:00", "nsp-weeknight", SO),
        ("2026-03-06T07:59", "nsp-weeknight", SO),
        // Friday.
        ("2026-03-06T08:00", "nsp-working-hours", IM),
        ("2026-03-06T15:29", "nsp-working-hours", IM),
        ("2026-03-06T15:29:59", "nsp-working-hours", IM),
        ("2026-03-06T15:30", "nsp-late-afternoon", IM),
        ("2026-03-06T17:59", "nsp-late-afternoon", IM),
        ("2026-03-06T18:00", "nsp-weekend", SO),
        // Weekend until Monday 08:00.
        ("2026-03-07T12:00", "nsp-weekend", SO),
        ("2026-03-08T23:59", "nsp-weekend", SO),
        ("2026-03-09T07:59", "nsp-weekend", SO),
        ("2026-03-09T08:00", "nsp-working-hours", IM),
        // Easter 2026: Maundy Thursday 2 Apr … Easter Monday 6 Apr.
        ("2026-04-01T17:59", "nsp-late-afternoon", IM),
        ("2026-04-01T18:00", "nsp-weeknight", SO),
        ("2026-04-02T07:59", "nsp-holiday", SO),
        ("2026-04-02T10:00", "nsp-holiday", SO),
        ("2026-04-02T16:30", "nsp-holiday", SO),
        ("2026-04-03T10:00", "nsp-holiday", SO),
        ("2026-04-05T10:00", "nsp-holiday", SO),
        ("2026-04-06T10:00", "nsp-holiday", SO),
        ("2026-04-06T17:00", "nsp-holiday", SO),
        ("2026-04-07T03:00", "nsp-weeknight", SO),
        ("2026-04-07T07:59", "nsp-weeknight", SO),
        ("2026-04-07T08:00", "nsp-working-hours", IM),
        // Ascension (Thursday 14 May) and the Friday after it.
        ("2026-05-14T10:00", "nsp-holiday", SO),
        ("2026-05-15T07:59", "nsp-weeknight", SO),
        ("2026-05-15T08:00", "nsp-working-hours", IM),
        // Whit Monday.
        ("2026-05-25T10:00", "nsp-holiday", SO),
        ("2026-05-26T08:00", "nsp-working-hours", IM),
        // Configured closing days: 5 June (a Friday), 24 December (a Thursday).
        ("2026-06-05T10:00", "nsp-holiday", SO),
        ("2026-06-05T16:00", "nsp-holiday", SO),
        ("2026-12-23T10:00", "nsp-working-hours", IM),
        ("2026-12-24T10:00", "nsp-holiday", SO),
        ("2026-12-28T08:00", "nsp-working-hours", IM),
        // Store Bededag: a holiday in 2023, an ordinary Friday from 2024.
        ("2023-05-05T10:00", "nsp-holiday", SO),
        ("2024-04-26T10:00", "nsp-working-hours", IM),
        // DST Sundays: the skipped hour (02:30 does not exist on 29 March; jiff
        // reads it as 03:30 CEST) and both 02:30s of 25 October.
        ("2026-03-29T02:30", "nsp-weekend", SO),
        ("2026-10-25T02:30+02:00", "nsp-weekend", SO),
        ("2026-10-25T02:30+01:00", "nsp-weekend", SO),
        // The Monday after each DST change keeps wall-clock edges.
        ("2026-03-30T07:59", "nsp-weekend", SO),
        ("2026-03-30T08:00", "nsp-working-hours", IM),
        ("2026-10-26T07:59", "nsp-weekend", SO),
        ("2026-10-26T08:00", "nsp-working-hours", IM),
    ];

    #[test]
    fn non_fmk_contacts_follow_the_design_table() {
        let rs = shipped();
        for &(when, rule, contact) in NON_FMK {
            for service in ["NSP", "SOSI", "some-new-service"] {
                for p in [P1, P2] {
                    let d = rs.decide(service, p, local(when));
                    assert_eq!(
                        (d.rule.as_str(), d.contact.id.as_str()),
                        (rule, contact),
                        "{service} {p} at {when}: {}",
                        d.reason
                    );
                }
            }
        }
    }

    #[test]
    fn fmk_always_reaches_the_fmk_incident_manager() {
        let rs = shipped();
        for &(when, _, _) in NON_FMK {
            for service in ["FMK", "fmk", " FMK "] {
                for p in [P1, P2] {
                    let d = rs.decide(service, p, local(when));
                    assert_eq!(d.rule, "fmk-always", "{service} {p} at {when}");
                    assert_eq!(d.contact.id, FMK_IM, "{service} {p} at {when}");
                }
            }
        }
    }

    #[test]
    fn p3_p4_fall_to_the_national_desk() {
        let rs = shipped();
        for p in [P3, P4] {
            let d = rs.decide("NSP", p, local("2026-03-02T10:00"));
            assert!(d.is_default(), "{}", d.reason);
            assert_eq!(d.contact.id, "national-service-desk");
        }
    }

    #[test]
    fn decision_records_proof() {
        let rs = shipped();
        let at = local("2026-04-06T10:00");
        let d = rs.decide("NSP", P1, at);
        assert_eq!(d.at, at);
        assert_eq!(d.ruleset_version, rs.version());
        assert_eq!(d.local.time().hour(), 10);
        assert_eq!(d.local.time_zone().iana_name(), Some("Europe/Copenhagen"));
        assert_eq!(d.holiday.as_deref(), Some("Easter Monday (2. påskedag)"));
        assert_eq!(d.ack_timeout, SignedDuration::from_mins(30));
        let chain: Vec<_> = d.chain.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(chain, [IM, "national-service-desk"]);
        assert!(d.reason.contains("Easter Monday"), "{}", d.reason);
        assert!(d.reason.contains("nsp-holiday"), "{}", d.reason);
        assert!(d.reason.contains("NSP System Owner"), "{}", d.reason);
        assert!(d.reason.contains("Mon 2026-04-06 10:00:00 CEST"), "{}", d.reason);
    }

    #[test]
    fn repeated_hour_keeps_both_instants_apart_in_the_record() {
        let rs = shipped();
        let first = rs.decide("NSP", P1, local("2026-10-25T02:30+02:00"));
        let second = rs.decide("NSP", P1, local("2026-10-25T02:30+01:00"));
        assert_eq!(second.at.as_second() - first.at.as_second(), 3600);
        assert_eq!(first.local.offset().seconds(), 7200);
        assert_eq!(second.local.offset().seconds(), 3600);
        assert_eq!(first.rule, second.rule);
    }

    /// A ruleset with a window edge at 02:30 on Sundays, inside both DST hours.
    const DST_EDGE: &str = r#"
zone = "Europe/Copenhagen"
calendar = "dk"
ack_timeout = "15m"
[calendars.dk]
base = "none"
[contacts.a]
name = "A"
role = "a"
email = "a@x.example"
[contacts.b]
name = "B"
role = "b"
email = "b@x.example"
[staffing]
staffed_by = "sds"
otherwise = "drift"
windows = [{ days = "mon-fri", time = "08:00-16:00" }]
[[rules]]
id = "early-sunday"
services = ["*"]
windows = [{ days = "sun", time = "00:00-02:30" }]
contact = "a"
[[rules]]
id = "rest"
services = ["*"]
always = true
contact = "b"
[default]
contact = "b"
"#;

    #[test]
    fn window_edges_in_dst_hours_use_wall_clock_time() {
        let rs = Ruleset::from_toml(DST_EDGE, "dst.toml", sweep_start()).unwrap();
        let table = [
            // Skipped hour: the 02:30 edge takes effect at 03:00 CEST, the first
            // valid instant after it.
            ("2026-03-29T00:59:59Z", "early-sunday"), // 01:59:59 CET
            ("2026-03-29T01:00:00Z", "rest"),         // 03:00:00 CEST
            // Repeated hour: each instant on its wall-clock reading.
            ("2026-10-25T00:15:00Z", "early-sunday"), // 02:15 CEST
            ("2026-10-25T00:45:00Z", "rest"),         // 02:45 CEST
            ("2026-10-25T01:15:00Z", "early-sunday"), // 02:15 CET
            ("2026-10-25T01:45:00Z", "rest"),         // 02:45 CET
            ("2026-10-25T02:00:00Z", "rest"),         // 03:00 CET
        ];
        for (utc, want) in table {
            let d = rs.decide("X", P1, utc.parse().unwrap());
            assert_eq!(d.rule, want, "{utc}: {}", d.reason);
        }
    }

    #[test]
    fn staffing_follows_working_hours_and_holidays() {
        let rs = shipped();
        let table = [
            ("2026-03-02T07:59", false),
            ("2026-03-02T08:00", true),
            ("2026-03-02T15:59:59", true),
            ("2026-03-02T16:00", false),
            ("2026-03-05T15:59", true),
            ("2026-03-06T15:29:59", true),
            ("2026-03-06T15:30", false),
            ("2026-03-07T10:00", false),
            ("2026-04-02T10:00", false), // Maundy Thursday
            ("2026-04-06T10:00", false), // Easter Monday
            ("2026-04-07T10:00", true),
            ("2026-12-24T10:00", false), // configured closing day
        ];
        for (when, staffed) in table {
            assert_eq!(rs.is_staffed(local(when)), staffed, "{when}");
            let by = if staffed { "sds" } else { "drift" };
            assert_eq!(rs.staffed_by(local(when)), by, "{when}");
        }
    }

    #[test]
    fn p3_p4_outside_staffed_hours_wait_for_next_working_day() {
        let rs = shipped();
        let table = [
            // Friday evening → Monday 08:00.
            ("2026-03-06T17:00", Some("2026-03-09T08:00")),
            ("2026-03-06T15:30", Some("2026-03-09T08:00")),
            // Before opening on a working day → the same morning.
            ("2026-03-09T07:00", Some("2026-03-09T08:00")),
            // Maundy Thursday, and the Wednesday evening before → Tuesday after Easter.
            ("2026-04-02T10:00", Some("2026-04-07T08:00")),
            ("2026-04-01T16:30", Some("2026-04-07T08:00")),
            // Over Christmas: 24 (closing day), 25, 26 Dec, weekend.
            ("2026-12-23T16:00", Some("2026-12-28T08:00")),
            // Across the spring DST change: Monday 08:00 CEST.
            ("2026-03-27T17:00", Some("2026-03-30T08:00")),
            // Within staffed hours: not deferred.
            ("2026-03-09T10:00", None),
            ("2026-03-06T15:29", None),
        ];
        for (when, want) in table {
            let want = want.map(local);
            for p in [P3, P4] {
                assert_eq!(rs.defer_until(p, local(when)), want, "{p} at {when}");
            }
            // Urgent cases are handled at once.
            assert_eq!(rs.defer_until(P1, local(when)), None, "P1 at {when}");
            assert_eq!(rs.defer_until(P2, local(when)), None, "P2 at {when}");
        }
        // next_working_start is always strictly later.
        assert_eq!(rs.next_working_start(local("2026-03-09T10:00")), Some(local("2026-03-10T08:00")));
        assert_eq!(rs.next_working_start(local("2026-03-09T08:00")), Some(local("2026-03-10T08:00")));
    }

    #[test]
    fn engine_uses_its_clock() {
        let clock = TestClock::at(local("2026-03-07T03:00"));
        let engine = Engine::new(Arc::new(shipped().clone()), Arc::new(clock.clone()));
        assert_eq!(engine.decide_now("NSP", P1).contact.id, SO);
        assert_eq!(engine.defer_now(P3), Some(local("2026-03-09T08:00")));
        clock.set(local("2026-03-09T09:00"));
        assert_eq!(engine.decide_now("NSP", P1).contact.id, IM);
        assert_eq!(engine.defer_now(P3), None);
    }

    /// An oracle written straight from DESIGN §6 with the 2026 holidays and
    /// closing days listed by hand, independent of the calendar and rules code.
    fn oracle_2026(service: &str, at: Timestamp) -> &'static str {
        if service.eq_ignore_ascii_case("FMK") {
            return FMK_IM;
        }
        let z = at.to_zoned(jiff::tz::TimeZone::get("Europe/Copenhagen").unwrap());
        let closed =
            [(1, 1), (4, 2), (4, 3), (4, 5), (4, 6), (5, 14), (5, 24), (5, 25), (6, 5), (12, 24), (12, 25), (12, 26)];
        let working_day = z.weekday().to_monday_one_offset() <= 5 && !closed.contains(&(z.month(), z.day()));
        if working_day && (8..18).contains(&z.hour()) { IM } else { SO }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Every instant of 2026 has exactly one contact per service and escalating
        /// priority, and it is the one the design table names.
        #[test]
        fn every_instant_has_exactly_one_contact(
            offset in 0i64..(365 * 86_400),
            service in prop::sample::select(vec!["NSP", "SOSI", "FMK", "UNLISTED", "fmk"]),
            p in prop::sample::select(vec![P1, P2]),
        ) {
            let at = Timestamp::from_second(sweep_start().as_second() + offset).unwrap();
            let rs = shipped();
            let d = rs.decide(service, p, at);
            prop_assert!(!d.is_default(), "{}", d.reason);
            let mut contacts: Vec<&str> =
                rs.matching_rules(service, p, at).iter().map(|r| r.contact()).collect();
            contacts.sort_unstable();
            contacts.dedup();
            prop_assert_eq!(contacts, vec![d.contact.id.as_str()]);
            prop_assert_eq!(d.contact.id.as_str(), oracle_2026(service, at), "{}", d.reason);
        }
    }
}
