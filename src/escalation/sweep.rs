//! The load-time coverage proof.
//!
//! Owns the sweep: for every configured service, a stand-in for "any other
//! service", and each escalating priority (P1, P2), evaluate every 15 minutes of a
//! sample year plus the instant of every window edge on every day (and the second
//! before it). An instant that falls through to the default is a **gap** (an
//! error: the gateway refuses to start); an instant matched by two rules naming
//! different contacts is an **overlap** (a warning: the first rule wins); a rule
//! that never wins is **unused** (a warning). Each finding carries the earliest
//! example, in local time. A staffing schedule with no staffed instant is an error.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp, ToSpan, civil::Date};

use super::{
    Priority,
    rules::{Finding, FindingKind, Ruleset, When},
    schedule::{TimeOfDay, resolve_local},
};

/// Length of the sample period, in local days.
pub(super) const SAMPLE_DAYS: i32 = 366;
const STEP_SECONDS: i64 = 15 * 60;
const SWEPT: [Priority; 2] = [Priority::P1, Priority::P2];

/// The instants to evaluate: every 15 minutes from local midnight of `start` for
/// `days` days, plus each window edge of each day and the second before it.
fn samples(rs: &Ruleset, start: Date, days: i32) -> Vec<Timestamp> {
    let tz = rs.zone();
    let end_date = start.checked_add(days.days()).unwrap_or(start);
    let (Some(begin), Some(end)) =
        (resolve_local(tz, start, TimeOfDay::MIDNIGHT), resolve_local(tz, end_date, TimeOfDay::MIDNIGHT))
    else {
        return Vec::new();
    };
    let mut edges: BTreeSet<TimeOfDay> = BTreeSet::new();
    for r in rs.rules() {
        if let When::Windows(ws) = &r.when {
            edges.extend(ws.iter().flat_map(|w| w.edges()));
        }
    }
    for w in &rs.staffing.windows {
        edges.extend(w.edges());
    }
    let mut out: Vec<i64> = (begin.as_second()..end.as_second()).step_by(STEP_SECONDS as usize).collect();
    let one = SignedDuration::from_secs(1);
    for d in 0..days {
        let Ok(date) = start.checked_add(d.days()) else {
            break;
        };
        for &t in &edges {
            if let Some(ts) = resolve_local(tz, date, t) {
                out.push(ts.as_second());
                if let Ok(prev) = ts.checked_sub(one) {
                    out.push(prev.as_second());
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out.into_iter()
        .filter(|&s| s >= begin.as_second() && s < end.as_second())
        .filter_map(|s| Timestamp::from_second(s).ok())
        .collect()
}

/// (kind, service index, priority, rule a, rule b): findings are counted per key,
/// keeping the first instant as the example.
type FindingKey = (FindingKind, usize, Priority, usize, usize);

/// Run the sweep over `days` local days from `start`. Findings come sorted: errors
/// first, then by service, priority and rule.
pub(super) fn sweep(rs: &Ruleset, start: Date, days: i32) -> Vec<Finding> {
    let instants = samples(rs, start, days);
    let rules = rs.rules();
    let mut services: Vec<Option<&str>> = rs.services().iter().map(|s| Some(s.as_str())).collect();
    services.push(None);

    let mut found: BTreeMap<FindingKey, (Timestamp, usize)> = BTreeMap::new();
    let mut note = |key, at: Timestamp| {
        found.entry(key).and_modify(|e: &mut (Timestamp, usize)| e.1 += 1).or_insert((at, 1));
    };
    let mut won = vec![false; rules.len()];
    let mut covers = vec![false; rules.len()];
    let mut staffed = 0usize;

    for &at in &instants {
        let wall = rs.wall(at);
        for (c, r) in covers.iter_mut().zip(rules) {
            *c = rs.covers(r, &wall);
        }
        if rs.is_staffed(at) {
            staffed += 1;
        }
        for (si, &service) in services.iter().enumerate() {
            for p in SWEPT {
                let mut winner: Option<usize> = None;
                for (ri, r) in rules.iter().enumerate() {
                    if !covers[ri] || !r.for_priority(p) || !r.services.matches(service) {
                        continue;
                    }
                    match winner {
                        None => {
                            winner = Some(ri);
                            won[ri] = true;
                        }
                        Some(w) if rules[w].contact() != r.contact() => {
                            note((FindingKind::Overlap, si, p, w, ri), at);
                        }
                        Some(_) => {}
                    }
                }
                if winner.is_none() {
                    note((FindingKind::Gap, si, p, 0, 0), at);
                }
            }
        }
    }

    let sampled = instants.len();
    let zone = rs.zone().clone();
    let mut out: Vec<Finding> = found
        .into_iter()
        .map(|((kind, si, p, a, b), (at, count))| Finding {
            kind,
            service: services[si].map(str::to_string),
            priority: Some(p),
            rules: match kind {
                FindingKind::Overlap => vec![rules[a].id().to_string(), rules[b].id().to_string()],
                _ => Vec::new(),
            },
            example: Some(at.to_zoned(zone.clone())),
            count,
            sampled,
        })
        .collect();
    if staffed == 0 {
        out.push(Finding {
            kind: FindingKind::NeverStaffed,
            service: None,
            priority: None,
            rules: Vec::new(),
            example: None,
            count: 0,
            sampled,
        });
    }
    for (r, _) in rules.iter().zip(&won).filter(|(r, w)| !**w && SWEPT.iter().any(|&p| r.for_priority(p))) {
        out.push(Finding {
            kind: FindingKind::Unused,
            service: None,
            priority: None,
            rules: vec![r.id().to_string()],
            example: None,
            count: 0,
            sampled,
        });
    }
    out.sort_by_key(|f| !f.kind.is_error());
    out
}
