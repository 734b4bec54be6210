//! What of a JQL query the store answers from its indexes: `key`/`issuekey`/`id`
//! equal to one issue (its sequence), `updated` ranges, and an order it can walk
//! (`key`, `created`, `updated`). Only conditions every match must meet (the query
//! itself, or one term of its top-level `AND`) narrow; the search then checks the
//! whole query on what the store returns. A search that leaves more than
//! [`MAX_CANDIDATES`] incidents to examine is refused with a request to narrow it.

use deskgate_jira::jql::{Clause, Operand, Operator, Query, Term};
use jiff::SignedDuration;

use super::*;
use crate::store::{ListOrder, ListQuery, OrderBy};

/// Incidents one search may leave to be examined in memory.
pub(super) const MAX_CANDIDATES: usize = 10_000;

/// The store query that narrows `query` (evaluated at `ctx`).
pub(super) fn narrowed(query: &Query, ctx: &jql::EvalContext) -> ListQuery {
    let mut out = ListQuery::all(MAX_CANDIDATES + 1);
    let terms: Vec<&Term> = match &query.filter {
        Some(Clause::Term(t)) => vec![t],
        Some(Clause::And(all)) => all
            .iter()
            .filter_map(|c| match c {
                Clause::Term(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    for t in terms {
        narrow(&mut out, t, ctx);
    }
    if let [first, ..] = query.order_by.as_slice() {
        let by = match jql_field(&first.field) {
            Some("key") | Some("created") => Some(OrderBy::Created),
            Some("updated") => Some(OrderBy::Updated),
            _ => None,
        };
        if let Some(by) = by {
            out.order = if first.descending { ListOrder::descending(by) } else { ListOrder::ascending(by) };
        }
    }
    out
}

fn narrow(out: &mut ListQuery, t: &Term, ctx: &jql::EvalContext) {
    let Operand::Value(v) = &t.operand else { return };
    match (jql_field(&t.field), t.op) {
        (Some("key"), Operator::Eq) => {
            if let Some(n) = parse_key(v.trim()) {
                // Two different keys ANDed: nothing matches (sequence 0 is never given out).
                out.sequence = Some(if out.sequence.is_none_or(|had| had == n) { n } else { 0 });
            }
        }
        (Some("updated"), op) => {
            let Some(at) = jql::parse_date(v, ctx) else { return };
            match op {
                Operator::Ge | Operator::Gt => {
                    out.updated_since = Some(out.updated_since.map_or(at, |had| had.max(at)));
                }
                // A day's date may stand for the whole day: a day's margin.
                Operator::Le | Operator::Lt => {
                    let end = at + SignedDuration::from_hours(24);
                    out.updated_before = Some(out.updated_before.map_or(end, |had| had.min(end)));
                }
                _ => {}
            }
        }
        _ => {}
    }
}
