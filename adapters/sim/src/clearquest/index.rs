//! The records of one user database by field value, as the database under
//! ClearQuest keeps an index: a query with an equality on a field reads the records
//! holding that value instead of every record, so a query costs what it returns.
//!
//! Only narrows: every candidate is still held to the whole `oslc.where`, so the
//! answer is the one a scan of every record gives, in the same (dbid) order.

use std::collections::{BTreeSet, HashMap};

use deskgate_clearquest::oslc_where::{Literal, Op, Where};
use jiff::Timestamp;

use super::{PRESENTED, SimRecord};

#[derive(Default)]
pub(super) struct ByValue(HashMap<String, HashMap<String, BTreeSet<u64>>>);

/// The values a query compares a record's fields with: one line per history
/// entry in a multi-line value, of which the newest (last) counts.
fn keys(record: &SimRecord) -> impl Iterator<Item = (&str, &str)> {
    record.fields.iter().filter_map(|(name, value)| Some((name.as_str(), value.lines().last()?)))
}

impl ByValue {
    /// `old` (the record as stored until now, if any) is replaced by `new`.
    pub(super) fn replace(&mut self, old: Option<&SimRecord>, new: &SimRecord) {
        if let Some(old) = old {
            for (name, value) in keys(old) {
                let Some(values) = self.0.get_mut(name) else { continue };
                if let Some(ids) = values.get_mut(value) {
                    ids.remove(&old.dbid);
                    if ids.is_empty() {
                        values.remove(value);
                    }
                }
            }
        }
        for (name, value) in keys(new) {
            self.0.entry(name.to_owned()).or_default().entry(value.to_owned()).or_default().insert(new.dbid);
        }
    }

    /// The dbids that can match `filter`, in dbid order, when one of its terms is an
    /// equality on a kept field compared as text; `None` when no term narrows it.
    pub(super) fn candidates(&self, filter: &Where) -> Option<Vec<u64>> {
        filter
            .terms
            .iter()
            .filter(|t| t.op == Op::Eq && !PRESENTED.contains(&t.property.as_str()))
            .filter_map(|t| match &t.value {
                // Text that reads as an instant is compared as one: other text can equal it.
                Literal::String { value, datatype: None } if value.parse::<Timestamp>().is_err() => {
                    Some(self.0.get(&t.property).and_then(|values| values.get(value)))
                }
                _ => None,
            })
            .min_by_key(|ids| ids.map_or(0, BTreeSet::len))
            .map(|ids| ids.map(|ids| ids.iter().copied().collect()).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};

    use deskgate_clearquest::oslc_where::Where;

    use super::super::{Db, Shared, SimRecord};

    fn shared() -> Shared {
        Shared {
            config: Arc::default(),
            dbs: Arc::new(Mutex::new(BTreeMap::new())),
            received: Default::default(),
            clock: Arc::default(),
        }
    }

    fn record(dbid: u64, fields: &[(&str, &str)]) -> SimRecord {
        SimRecord {
            dbid,
            display_id: format!("SAMPL{dbid:08}"),
            state: "Submitted".into(),
            submitter: "deskgate".into(),
            fields: fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            created: jiff::Timestamp::UNIX_EPOCH,
            modified: jiff::Timestamp::UNIX_EPOCH,
            history: Vec::new(),
            version: 1,
        }
    }

    /// What every query answered before there was an index: every record held to the filter.
    fn scan(shared: &Shared, db: &Db, filter: &Where) -> Vec<u64> {
        db.records.values().filter(|r| shared.matches(filter, r)).map(|r| r.dbid).collect()
    }

    fn select(shared: &Shared, db: &Db, filter: &str) -> (Vec<u64>, usize) {
        let filter = Where::parse(filter).unwrap();
        let read = Cell::new(0);
        let found: Vec<u64> = db
            .select(Some(&filter), |w, r| {
                read.set(read.get() + 1);
                shared.matches(w, r)
            })
            .iter()
            .map(|r| r.dbid)
            .collect();
        assert_eq!(found, scan(shared, db, &filter), "{filter}");
        (found, read.get())
    }

    #[test]
    fn an_equality_on_a_field_reads_only_the_records_holding_the_value() {
        let shared = shared();
        let mut db = Db::default();
        for n in 1..=500 {
            let incident = format!("INC-{}", n % 250);
            db.put(record(n, &[("cq:deskgate_Incident", incident.as_str()), ("cq:Headline", "FMK down")]));
        }
        let (found, read) = select(&shared, &db, r#"cq:deskgate_Incident="INC-7""#);
        assert_eq!((found, read), (vec![7, 257], 2));
        let (found, read) = select(&shared, &db, r#"cq:Headline="FMK down" and cq:deskgate_Incident="INC-9""#);
        assert_eq!((found, read), (vec![9, 259], 2));
        assert_eq!(select(&shared, &db, r#"cq:deskgate_Incident="INC-x""#), (vec![], 0));
    }

    #[test]
    fn the_index_follows_every_change_and_answers_as_a_scan_would() {
        let shared = shared();
        let mut db = Db::default();
        db.put(record(1, &[("cq:deskgate_Incident", "INC-1")]));
        db.put(record(2, &[("cq:deskgate_Incident", "INC-2"), ("cq:Links", "old\nINC-1")]));
        // A multi-line value is compared by its newest line.
        assert_eq!(select(&shared, &db, r#"cq:Links="INC-1""#).0, vec![2]);
        db.put(record(1, &[("cq:deskgate_Incident", "INC-3")]));
        assert_eq!(select(&shared, &db, r#"cq:deskgate_Incident="INC-1""#).0, Vec::<u64>::new());
        assert_eq!(select(&shared, &db, r#"cq:deskgate_Incident="INC-3""#).0, vec![1]);
        // Properties the provider computes, other comparisons and text read as an
        // instant are not narrowed by the index: every record is read.
        assert_eq!(select(&shared, &db, r#"cq:id="SAMPL00000002""#), (vec![2], 2));
        assert_eq!(select(&shared, &db, r#"cq:deskgate_Incident!="INC-3""#), (vec![2], 2));
        db.put(record(3, &[("cq:Due", "2026-01-01T00:00:00+00:00")]));
        assert_eq!(select(&shared, &db, r#"cq:Due="2026-01-01T00:00:00Z""#), (vec![3], 3));
    }
}
