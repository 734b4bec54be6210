//! Listings served from the indexes: a point lookup for a sequence number or a
//! desk's ticket; otherwise one index walked in the query's order from its cursor
//! (keyset), the other filters checked on each incident it yields.
//!
//! Which index drives: [`OrderBy::Updated`] the `u` index (bounded by the updated
//! range); [`OrderBy::Created`] the `s` index; [`OrderBy::Id`] the viewer's `p`
//! index, else the status's `t` index, else the incidents themselves. When the
//! driving index decides every filter by itself, an offset is skipped over its
//! keys without reading incidents, and a count is a count of keys.

use std::ops::Bound;

use jiff::Timestamp;

use super::index::{PARTY, SEQ, STATUS, UPDATED, ms_key, status_name};
use super::{SledStore, decode, io, xref_key};
use crate::model::{Incident, IncidentId};
use crate::store::{ListQuery, OrderBy, StoreError, Viewer, sequence_of};

/// Which tree a listing walks, between which keys, and how an entry names its incident.
struct Plan {
    /// Walk `incidents` itself (values are incidents) or `incident_index` (values are ids).
    direct: bool,
    lo: Bound<Vec<u8>>,
    hi: Bound<Vec<u8>>,
    /// The index decides every filter of the query: a key is a match.
    covers: bool,
}

/// The first key after every key starting with `prefix`.
fn prefix_end(prefix: &[u8]) -> Bound<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Bound::Excluded(end);
        }
    }
    Bound::Unbounded
}

fn joined(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The tighter of two lower bounds.
fn max_lo(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x > y || (x == y && matches!(a, Bound::Excluded(_))) { a } else { b }
        }
    }
}

/// The tighter of two upper bounds.
fn min_hi(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            if x < y || (x == y && matches!(a, Bound::Excluded(_))) { a } else { b }
        }
    }
}

fn is_empty(lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => a >= b,
        _ => false,
    }
}

impl Plan {
    fn of(q: &ListQuery) -> Self {
        let unfiltered_but = |viewer: bool, status: bool, updated: bool| {
            (viewer || q.viewer == Viewer::Everything)
                && (status || q.status.is_none())
                && q.status_in.is_none()
                && q.priority.is_none()
                && q.service.is_none()
                && (updated || (q.updated_since.is_none() && q.updated_before.is_none()))
                && q.sequence.is_none()
                && q.reference.is_none()
        };
        let cursor_id: Option<&IncidentId> = q.cursor.as_ref().map(|c| &c.id).or(q.after.as_ref());
        // The position just past the cursor, as a key of the walked tree.
        let (prefix, at, covers, direct): (Vec<u8>, Option<Vec<u8>>, bool, bool) = match q.order.by {
            OrderBy::Updated => {
                let at =
                    q.cursor.as_ref().map(|c| joined(&[&[UPDATED], &ms_key(c.updated_at), c.id.as_str().as_bytes()]));
                (vec![UPDATED], at, unfiltered_but(false, false, true), false)
            }
            OrderBy::Created => {
                let at = cursor_id.and_then(sequence_of).map(|s| joined(&[&[SEQ], &s.to_be_bytes()]));
                (vec![SEQ], at, unfiltered_but(false, false, false), false)
            }
            OrderBy::Id => {
                let (prefix, direct, covers) = match (&q.viewer, q.status) {
                    (Viewer::PartyTo(desk), _) => {
                        (joined(&[&[PARTY], desk.as_str().as_bytes(), &[0]]), false, unfiltered_but(true, false, false))
                    }
                    (Viewer::Everything, Some(s)) => (
                        joined(&[&[STATUS], status_name(s).as_bytes(), &[0]]),
                        false,
                        unfiltered_but(false, true, false),
                    ),
                    (Viewer::Everything, None) => (Vec::new(), true, unfiltered_but(false, false, false)),
                };
                let at = cursor_id.map(|id| joined(&[&prefix, id.as_str().as_bytes()]));
                (prefix, at, covers, direct)
            }
        };
        let mut lo = if prefix.is_empty() { Bound::Unbounded } else { Bound::Included(prefix.clone()) };
        let mut hi = prefix_end(&prefix);
        let mut covers = covers;
        if q.order.by == OrderBy::Updated {
            // Keys hold milliseconds: a bound between two is widened to the next, and
            // the incidents decide.
            let whole = |t: Timestamp| t.subsec_nanosecond() % 1_000_000 == 0;
            if let Some(t) = q.updated_since {
                lo = max_lo(lo, Bound::Included(joined(&[&prefix, &ms_key(t)])));
                covers &= whole(t);
            }
            if let Some(t) = q.updated_before {
                let end = if whole(t) { t } else { t + jiff::SignedDuration::from_millis(1) };
                hi = min_hi(hi, Bound::Excluded(joined(&[&prefix, &ms_key(end)])));
                covers &= whole(t);
            }
        }
        if let Some(at) = at {
            if q.order.descending {
                hi = min_hi(hi, Bound::Excluded(at));
            } else {
                // Keys are the cursor's key and then more bytes (an id); just past it.
                lo = max_lo(lo, Bound::Excluded(at));
            }
        }
        Plan { direct, lo, hi, covers }
    }
}

impl SledStore {
    /// The one incident a sequence number or a ticket names, if the query asks for one.
    fn point(&self, q: &ListQuery) -> Result<Option<Option<IncidentId>>, StoreError> {
        let id_of = |bytes: Option<sled::IVec>| -> Result<Option<IncidentId>, StoreError> {
            bytes
                .map(|b| String::from_utf8_lossy(&b).parse().map_err(|_| StoreError::Corrupt("index value".into())))
                .transpose()
        };
        if let Some(seq) = q.sequence {
            return Ok(Some(id_of(self.incident_index.get(joined(&[&[SEQ], &seq.to_be_bytes()])).map_err(io)?)?));
        }
        if let Some((desk, ticket)) = &q.reference {
            return Ok(Some(id_of(self.xref.get(xref_key(desk, ticket)).map_err(io)?)?));
        }
        Ok(None)
    }

    /// Walk the plan's tree in the query's order, giving each entry's key and (when
    /// `need_incident`) its incident to `visit` until it returns false.
    fn walk(
        &self,
        q: &ListQuery,
        plan: &Plan,
        need_incident: bool,
        mut visit: impl FnMut(&[u8], Option<Incident>) -> bool,
    ) -> Result<(), StoreError> {
        if is_empty(&plan.lo, &plan.hi) {
            return Ok(());
        }
        let tree = if plan.direct { &self.incidents } else { &self.incident_index };
        let range = tree.range::<Vec<u8>, _>((plan.lo.clone(), plan.hi.clone()));
        let entries: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> =
            if q.order.descending { Box::new(range.rev()) } else { Box::new(range) };
        for entry in entries {
            let (key, value) = entry.map_err(io)?;
            let incident = if !need_incident {
                None
            } else if plan.direct {
                Some(decode::<Incident>(&value)?)
            } else {
                match self.incidents.get(&value).map_err(io)? {
                    Some(bytes) => Some(decode::<Incident>(&bytes)?),
                    // An index entry whose incident is gone: nothing to list.
                    None => continue,
                }
            };
            if !visit(&key, incident) {
                break;
            }
        }
        Ok(())
    }

    pub(super) fn query(&self, q: &ListQuery) -> Result<Vec<Incident>, StoreError> {
        let mut out = Vec::new();
        if q.limit == 0 {
            return Ok(out);
        }
        if let Some(point) = self.point(q)? {
            let found = match point {
                Some(id) => self.incidents.get(id.as_str().as_bytes()).map_err(io)?.map(|b| decode(&b)).transpose()?,
                None => None,
            };
            return Ok(q.apply(found));
        }
        let mut plan = Plan::of(q);
        let mut skip = q.offset;
        if plan.covers && skip > 0 {
            // Every key is a match: skip over keys alone, then read on from the last
            // one skipped.
            let mut last = None;
            self.walk(q, &plan, false, |key, _| {
                skip -= 1;
                if skip == 0 {
                    last = Some(key.to_vec());
                }
                skip > 0
            })?;
            let Some(last) = last else { return Ok(out) };
            if q.order.descending {
                plan.hi = Bound::Excluded(last);
            } else {
                plan.lo = Bound::Excluded(last);
            }
        }
        self.walk(q, &plan, true, |_, i| {
            let Some(i) = i else { return true };
            if !q.matches(&i) {
                return true;
            }
            if skip > 0 {
                skip -= 1;
                return true;
            }
            out.push(i);
            out.len() < q.limit
        })?;
        Ok(out)
    }

    pub(super) fn count(&self, q: &ListQuery, at_most: usize) -> Result<usize, StoreError> {
        if at_most == 0 {
            return Ok(0);
        }
        let unpaged = ListQuery { after: None, cursor: None, offset: 0, limit: at_most, ..q.clone() };
        if self.point(&unpaged)?.is_some() {
            return Ok(self.query(&unpaged)?.len());
        }
        let plan = Plan::of(&unpaged);
        let mut n = 0usize;
        self.walk(&unpaged, &plan, !plan.covers, |_, i| {
            if i.as_ref().is_none_or(|i| unpaged.matches(i)) {
                n += 1;
            }
            n < at_most
        })?;
        Ok(n)
    }
}
