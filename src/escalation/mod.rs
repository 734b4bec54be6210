//! P1/P2 escalation: who is contacted for an incident of service S and priority P at
//! instant T, and what happens when nobody acknowledges.
//!
//! This module owns the rules engine and nothing around it: it reads its ruleset
//! file (`deploy/contacts.toml`) and otherwise does no I/O — no storage, no
//! notification delivery, no HTTP. The gateway stores the [`Escalation`] records it
//! defines and delivers to the [`Contact`] channels they name.
//!
//! * [`calendar`] — holiday calendars (Denmark, healthdata.be, configured dates).
//! * [`schedule`] — weekly windows on local wall-clock time, holiday policies, DST.
//! * [`rules`] — the ruleset, its file format and validation, the ruleset version.
//! * [`sweep`] — the load-time proof that every instant has exactly one contact.
//! * [`loader`] — reading a ruleset: build it, then refuse it unless the sweep passes.
//! * [`decision`] — [`Decision`], the proof of who is contacted and why.
//! * [`engine`] — decisions, staffing and deferral, with an injectable clock.
//! * [`record`] — the escalation record and its state transitions.
//! * [`hook`] — [`EscalationHook`], what the incident flow calls when a change
//!   calls for an escalation (the engine is the real one).
//! * [`week`] — who is on call now, and a week of rule spans per day (the console).
//!
//! Loading: `Ruleset::load(path, clock.now())` refuses a ruleset with gaps (and any
//! malformed one); log `ruleset.warnings()`; then `Engine::new(Arc::new(ruleset), clock)`.

pub mod calendar;
pub mod decision;
pub mod engine;
pub mod facts;
pub mod hook;
pub mod loader;
pub mod record;
pub mod rules;
pub mod schedule;
pub mod sweep;
pub mod week;
pub mod working_days;

pub use decision::{DEFAULT_RULE, Decision};
pub use engine::Engine;
pub use facts::IncidentFacts;
pub use hook::EscalationHook;
pub use record::{
    Acknowledgement, Attempt, Ending, Escalation, EscalationState, TimeoutOutcome, TransitionError, end_reason,
};
pub use rules::{Channel, Contact, Finding, FindingKind, LoadError, Ruleset, RulesetProblem};

/// The canonical priority; escalation uses P1 and P2 ([`Priority::is_major`]).
pub use crate::model::Priority;

/// Whether a priority change calls for an escalation: a new P1/P2, or an upgrade
/// to P1 or P2 (the process, step 5a/5b/6: "opgraderes til P1 eller P2"). That
/// includes P2 → P1, which is an upgrade to P1; a downgrade (P1 → P2) or an
/// unchanged priority does not escalate again.
pub fn should_escalate(previous: Option<Priority>, new: Priority) -> bool {
    // `Ord` runs P1 < P2 < …, so "more urgent" is "less than".
    new.is_major() && previous.is_none_or(|p| new < p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Priority::*;

    #[test]
    fn escalation_triggers() {
        let table = [
            (None, P1, true),
            (None, P2, true),
            (None, P3, false),
            (None, P4, false),
            (Some(P3), P1, true),
            (Some(P4), P2, true),
            (Some(P3), P2, true),
            (Some(P4), P3, false),
            (Some(P1), P2, false), // downgrade within P1/P2
            (Some(P2), P1, true),  // an upgrade to P1 is escalated again
            (Some(P2), P2, false),
            (Some(P1), P1, false),
            (Some(P1), P3, false),
        ];
        for (prev, new, want) in table {
            assert_eq!(should_escalate(prev, new), want, "{prev:?} -> {new}");
        }
    }

    #[test]
    fn priorities_parse() {
        assert_eq!("p1".parse::<Priority>(), Ok(P1));
        assert_eq!(" P4 ".parse::<Priority>(), Ok(P4));
        assert!("P5".parse::<Priority>().is_err());
        assert!("1".parse::<Priority>().is_err());
    }
}

/// Helpers shared by the tests of the submodules.
#[cfg(test)]
pub(crate) mod testkit {
    use std::sync::OnceLock;

    use jiff::{Timestamp, Zoned};

    use super::Ruleset;

    pub const SHIPPED_TOML: &str = include_str!("../../deploy/contacts.toml");

    /// The start of the sample year used throughout the tests.
    pub fn sweep_start() -> Timestamp {
        local("2026-01-01T00:00")
    }

    /// The shipped ruleset, loaded (and swept) once.
    pub fn shipped() -> &'static Ruleset {
        static SHIPPED: OnceLock<Ruleset> = OnceLock::new();
        SHIPPED.get_or_init(|| {
            Ruleset::from_toml(SHIPPED_TOML, "deploy/contacts.toml", sweep_start())
                .unwrap_or_else(|e| panic!("shipped ruleset refused: {e}"))
        })
    }

    /// `2026-03-30T15:59` (Copenhagen wall clock; in a gap, jiff's compatible rule)
    /// or, for the repeated hour, with an explicit offset: `2026-10-25T02:30+01:00`.
    pub fn local(s: &str) -> Timestamp {
        let text = format!("{s}[Europe/Copenhagen]");
        text.parse::<Zoned>().unwrap_or_else(|e| panic!("bad test time {text}: {e}")).timestamp()
    }

    /// `src` with the first occurrence of `from` outside a comment line replaced;
    /// fails when there is none, so an edited ruleset in a test cannot silently
    /// equal the original.
    pub fn edit(src: &str, from: &str, to: &str) -> String {
        let at = src.match_indices(from).map(|(i, _)| i).find(|&i| {
            let line_start = src[..i].rfind('\n').map_or(0, |n| n + 1);
            !src[line_start..].trim_start().starts_with('#')
        });
        let Some(at) = at else { panic!("test edit: `{from}` not found outside comments") };
        format!("{}{to}{}", &src[..at], &src[at + from.len()..])
    }
}
