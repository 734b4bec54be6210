//! What of a Table API query the store answers from its indexes.
//!
//! The encoded query and the name-value filters are read for the conditions the
//! store can index — `number`, `sys_id` and `u_deskgate_incident` (one incident),
//! `correlation_id` (the desk's own ticket), `state` (the canonical statuses the
//! desk's mapping shows as that state), `sys_updated_on` ranges — and for an
//! ordering it can walk (`number`, `sys_created_on`, `opened_at`,
//! `sys_updated_on`). Those become a [`ListQuery`]; the handler then checks the
//! whole query on what the store returns, so the translation only narrows.
//!
//! When every condition and the ordering were translated exactly, the store pages
//! (keyset within the index, `sysparm_offset` skipped there, at most
//! [`MAX_OFFSET`]) and counts (`X-Total-Count`, at most [`MAX_COUNT`]). Otherwise
//! at most [`MAX_CANDIDATES`] incidents are examined in memory; a query that leaves
//! more is refused with a request to narrow it.

use deskgate_servicenow::query::{Condition, Operator};

use super::*;
use crate::store::{ListOrder, ListQuery, OrderBy};

/// Incidents a query the store cannot answer alone may leave to be examined.
pub(super) const MAX_CANDIDATES: usize = 10_000;
/// The largest `sysparm_offset` served.
pub(super) const MAX_OFFSET: usize = 100_000;
/// `X-Total-Count` counts at most this many.
pub(super) const MAX_COUNT: usize = 100_000;

pub(super) struct StorePlan {
    pub(super) query: ListQuery,
    /// The store's answer is the query's answer, in its order.
    pub(super) exact: bool,
}

/// The store query for `params`, as `mapping` shows states.
pub(super) fn plan(params: &Params, desk: &SnDesk<'_>) -> StorePlan {
    let mut query = ListQuery::all(MAX_CANDIDATES + 1);
    let mut exact = true;
    let groups = &params.query.groups;
    if groups.len() > 1 {
        // `^NQ`: a union; nothing to narrow by.
        exact = false;
    } else {
        for clause in groups.iter().flat_map(|g| &g.clauses) {
            match clause.any.as_slice() {
                [one] => exact &= narrow(&mut query, one, desk),
                _ => exact = false,
            }
        }
    }
    // A state may be named by its display value here: only plain fields narrow.
    for (field, value) in params.filters.iter().filter(|(f, _)| !matches!(f.as_str(), "state" | "incident_state")) {
        let eq = Condition { field: field.clone(), op: Operator::Eq(value.clone()) };
        // Narrowed by value, and still checked by the handler.
        narrow(&mut query, &eq, desk);
    }
    exact &= params.filters.is_empty();
    match params.query.order.as_slice() {
        [] => {}
        [only] => match only.field.as_str() {
            "number" | "sys_created_on" | "opened_at" => query.order = order(OrderBy::Created, only.descending),
            "sys_updated_on" => query.order = order(OrderBy::Updated, only.descending),
            _ => exact = false,
        },
        _ => exact = false,
    }
    StorePlan { query, exact }
}

fn order(by: OrderBy, descending: bool) -> ListOrder {
    if descending { ListOrder::descending(by) } else { ListOrder::ascending(by) }
}

/// Narrow `query` by `c`; whether the store's filter is exactly `c`.
fn narrow(query: &mut ListQuery, c: &Condition, desk: &SnDesk<'_>) -> bool {
    let sequence = |id: &IncidentId| crate::store::sequence_of(id);
    match (c.field.as_str(), &c.op) {
        ("number", Operator::Eq(v)) => match wire::parse_number(v) {
            Ok((_, n)) if wire::format_number("INC", n) == *v => set_sequence(query, Some(n)),
            _ => set_sequence(query, None),
        },
        ("sys_id", Operator::Eq(v)) => set_sequence(query, incident_of_sys_id(v).as_ref().and_then(sequence)),
        ("u_deskgate_incident", Operator::Eq(v)) => {
            set_sequence(query, v.parse::<IncidentId>().ok().filter(|id| id.as_str() == v).as_ref().and_then(sequence))
        }
        ("correlation_id", Operator::Eq(v)) if !v.is_empty() => match v.parse::<TicketId>() {
            // Narrows only: the record shows the desk's first ticket, checked after.
            Ok(ticket) if ticket.as_str() == v && query.reference.is_none() => {
                query.reference = Some((desk.who.desk.clone(), ticket));
                false
            }
            _ => false,
        },
        ("state" | "incident_state", Operator::Eq(v)) => set_statuses(query, states(desk, |s| s == v)),
        ("state" | "incident_state", Operator::In(vs)) => {
            set_statuses(query, states(desk, |s| vs.iter().any(|v| v == s)))
        }
        ("sys_updated_on", op) => {
            let at = |v: &str| wire::parse_date(v).ok();
            let second = jiff::SignedDuration::from_secs(1);
            match op {
                Operator::Ge(v) => at(v).map(|t| since(query, t)).is_some(),
                Operator::Gt(v) => at(v).map(|t| since(query, t + second)).is_some(),
                Operator::Lt(v) => at(v).map(|t| before(query, t)).is_some(),
                Operator::Le(v) => at(v).map(|t| before(query, t + second)).is_some(),
                _ => false,
            }
        }
        _ => false,
    }
}

/// One incident, or (`None`: a value no incident has) none at all.
fn set_sequence(query: &mut ListQuery, n: Option<u64>) -> bool {
    match (query.sequence, n) {
        (None, Some(n)) => query.sequence = Some(n),
        (Some(had), Some(n)) if had == n => {}
        // Sequence 0 is never given out: nothing matches.
        _ => query.sequence = Some(0),
    }
    true
}

/// The canonical statuses the desk sees as a state that `shown` accepts.
fn states(desk: &SnDesk<'_>, shown: impl Fn(&str) -> bool) -> Vec<Status> {
    Status::ALL
        .into_iter()
        .filter(|s| {
            // As the record shows it: no state is the empty one.
            let fields = desk.mapping.status_fields(*s, None, false);
            shown(fields.fields().and_then(|f| f.status.as_deref()).unwrap_or_default())
        })
        .collect()
}

fn set_statuses(query: &mut ListQuery, statuses: Vec<Status>) -> bool {
    let statuses = match query.status_in.take() {
        Some(had) => had.into_iter().filter(|s| statuses.contains(s)).collect(),
        None => statuses,
    };
    query.status_in = Some(statuses);
    true
}

fn since(query: &mut ListQuery, t: jiff::Timestamp) {
    query.updated_since = Some(query.updated_since.map_or(t, |had| had.max(t)));
}

fn before(query: &mut ListQuery, t: jiff::Timestamp) {
    query.updated_before = Some(query.updated_before.map_or(t, |had| had.min(t)));
}

/// The page `params` asks for, rendered, and the total the query matches.
pub(super) async fn page(
    state: &AppState,
    desk: &SnDesk<'_>,
    params: &Params,
    base: &str,
) -> Result<(Vec<Value>, usize), ApiError> {
    let plan = plan(params, desk);
    let failed = |e| gateway_error(e, desk.mapping);
    let matching =
        |v: &View| params.query.matches(|f| v.value(f)) && params.filters.iter().all(|(f, want)| v.is(f, want));
    let point = plan.query.sequence.is_some() || plan.query.reference.is_some();
    if plan.exact && !point {
        if params.offset > MAX_OFFSET {
            return Err(bad(
                "sysparm_offset",
                format!("at most {MAX_OFFSET}; page further with a sys_updated_on or number condition"),
            ));
        }
        let paged = ListQuery { offset: params.offset, limit: params.limit, ..plan.query.clone() };
        let incidents = state.gateway.query(&desk.who, paged).await.map_err(failed)?;
        let total = state.gateway.count(&desk.who, plan.query, MAX_COUNT).await.map_err(failed)?;
        let views = incidents.iter().map(|i| View::new(state, desk, i, base)).filter(|v| matching(v));
        return Ok((views.map(|v| v.render(&params.rendering)).collect(), total));
    }
    let candidates = state.gateway.query(&desk.who, plan.query).await.map_err(failed)?;
    if candidates.len() > MAX_CANDIDATES {
        return Err(bad(
            "sysparm_query",
            format!(
                "the query leaves more than {MAX_CANDIDATES} incidents to examine; narrow it with number, sys_id, correlation_id, state or sys_updated_on conditions (ANDed, without ^OR or ^NQ), or order by number, sys_created_on or sys_updated_on only"
            ),
        ));
    }
    let mut views: Vec<View> =
        candidates.iter().map(|i| View::new(state, desk, i, base)).filter(|v| matching(v)).collect();
    // Stable: incidents equal on every sort key stay in id (creation) order.
    views.sort_by(|a, b| params.query.compare(|f| a.value(f), |f| b.value(f)));
    let total = views.len();
    Ok((views.iter().skip(params.offset).take(params.limit).map(|v| v.render(&params.rendering)).collect(), total))
}
