//! Who must hear about a change: a pure function of the configuration and the
//! incident before and after.
//!
//! The parties to an incident are its origin desk, the national desk and the assigned
//! supplier (DESIGN §8). A change is delivered to every party's copy that does not
//! have it yet: a change a desk's own tool reported ([`Via::Remote`]) is never sent
//! back there — the first half of echo suppression — while a change a desk made
//! through the API ([`Via::Api`]) is mirrored into that desk's own tool too, so its
//! copy never falls behind. Only desks deskgate calls are delivered to (`native` desks
//! read the API instead).

use std::collections::BTreeSet;

use crate::config::{Config, System};
use crate::model::{DeskId, Incident, Kind, Role, Status, Visibility};

use crate::outbox::{Action, Delivery, Unassigned};

/// Where a change came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// A desk called deskgate's API.
    Api,
    /// The desk's own tool reported it (webhook, push, poll).
    Remote,
}

pub struct Planner<'a> {
    config: &'a Config,
}

impl<'a> Planner<'a> {
    pub fn new(config: &'a Config) -> Self {
        Self { config }
    }

    /// Whether deskgate delivers to this desk (it has a system to call and an endpoint).
    pub fn delivers_to(&self, desk: &DeskId) -> bool {
        self.config.desk(desk).is_some_and(|d| d.system != System::Native && d.endpoint.is_some())
    }

    fn is_local(&self, desk: &DeskId) -> bool {
        self.config.desk(desk).is_some_and(|d| d.role == Role::Local)
    }

    fn national(&self) -> Option<DeskId> {
        self.config.national_desk().map(|d| d.id.clone())
    }

    /// A new incident reaches the national desk (step 3).
    pub fn created(&self, incident: &Incident) -> Vec<Delivery> {
        match self.national() {
            Some(n) if n != incident.origin.desk && self.delivers_to(&n) => {
                vec![Delivery { desk: n, action: Action::Create }]
            }
            _ => Vec::new(),
        }
    }

    /// Whether `desk`'s copy of `incident` is kept in step: the origin, the national
    /// desk (unless the incident is handled in the supplier's tool only) and the
    /// assigned supplier — unless the incident is a support request, whose supplier
    /// works the parent instead. Checked when a change is planned, again when its
    /// delivery runs (the incident may have been reassigned meanwhile), and for every
    /// change a desk's tool reports.
    pub fn is_party(&self, incident: &Incident, desk: &DeskId) -> bool {
        if &incident.origin.desk == desk {
            return true;
        }
        if self.national().as_ref() == Some(desk) {
            return !incident.supplier_only;
        }
        (incident.assignee.as_ref() == Some(desk) || incident.involved.contains(desk))
            && incident.kind != Kind::SupportRequest
    }

    /// The parties to `incident` whose copies must hear of `actor`'s change.
    fn others(&self, incident: &Incident, actor: &DeskId, via: Via) -> BTreeSet<DeskId> {
        let mut parties = BTreeSet::new();
        parties.insert(incident.origin.desk.clone());
        parties.extend(self.national());
        parties.extend(incident.assignee.clone());
        parties.extend(incident.involved.iter().cloned());
        parties.retain(|d| self.is_party(incident, d));
        if via == Via::Remote {
            parties.remove(actor);
        }
        parties.retain(|d| self.delivers_to(d));
        parties
    }

    /// What the parties' copies must be told after `actor` changed `before` into `after`.
    pub fn changed(&self, before: &Incident, after: &Incident, actor: &DeskId, via: Via) -> Vec<Delivery> {
        let mut out = Vec::new();
        let others = self.others(after, actor, via);
        // A supplier that stops being a party hears that once, and nothing after.
        if let Some(old) = before.assignee.as_ref().filter(|d| self.delivers_to(d)) {
            if self.is_party(before, old) && !self.is_party(after, old) {
                let why = if after.assignee.as_ref() == Some(old) {
                    Unassigned::SupportRequest
                } else if old == actor {
                    Unassigned::HandedOn
                } else {
                    Unassigned::Reassigned
                };
                out.push(Delivery { desk: old.clone(), action: Action::Unassigned { why } });
            }
        }
        // A desk that gets its copy now receives the current state with it.
        let mut fresh = BTreeSet::new();

        // A support request is a further report of a known incident: the supplier works
        // the parent, so no second ticket reaches it (step 3).
        let supplier_copy = after.kind != Kind::SupportRequest;
        // Step 6: a component supplier involved gets its copy like an assignee.
        let involved = after.involved.iter().filter(|d| !before.has_party(d));
        let assigned = after.assignee.as_ref().filter(|_| after.assignee != before.assignee);
        for supplier in assigned.into_iter().chain(involved).filter(|s| supplier_copy && self.delivers_to(s)) {
            if after.ref_for(supplier).is_none() {
                out.push(Delivery { desk: supplier.clone(), action: Action::Create });
                // The new copy gets the journal so far, after the ticket exists.
                for index in 0..after.notes.len() {
                    out.push(Delivery { desk: supplier.clone(), action: Action::Note { index } });
                }
                for index in 0..after.attachments.len() {
                    out.push(Delivery { desk: supplier.clone(), action: Action::Attachment { index } });
                }
                fresh.insert(supplier.clone());
            }
            // Step 5b: the national ticket's id in the supplier's ticket and back.
            if let Some(national) = self.national().filter(|n| self.delivers_to(n)) {
                out.push(Delivery { desk: supplier.clone(), action: Action::Link { with: national.clone() } });
                out.push(Delivery { desk: national, action: Action::Link { with: supplier.clone() } });
            }
        }

        let send_to = |out: &mut Vec<Delivery>, action: Action, filter: &dyn Fn(&DeskId) -> bool| {
            for desk in others.iter().filter(|d| !fresh.contains(*d) && filter(d)) {
                out.push(Delivery { desk: desk.clone(), action: action.clone() });
            }
        };

        if after.priority != before.priority {
            if let Some(priority) = after.priority {
                send_to(&mut out, Action::Priority { priority }, &|_| true);
            }
        }
        if after.status != before.status {
            let resolution = (after.status == Status::Resolved).then(|| resolution_text(after, actor)).flatten();
            // A security incident's resolution text stays internal: local desks get the status only.
            let hidden = |d: &DeskId| after.text_is_internal() && self.is_local(d);
            if resolution.is_some() && after.text_is_internal() {
                send_to(&mut out, Action::Status { status: after.status, resolution: None }, &hidden);
            }
            send_to(&mut out, Action::Status { status: after.status, resolution }, &|d| !hidden(d));
        }
        for index in before.notes.len()..after.notes.len() {
            let note = &after.notes[index];
            let internal = note.visibility == Visibility::Internal;
            // Not back to the tool it came from; internal notes never to a local desk.
            // Nor, of a security incident, another party's note to a local desk.
            let internal = |d: &DeskId| internal || (after.text_is_internal() && d != &note.author_desk);
            let skip = |d: &DeskId| (d == &note.author_desk && via == Via::Remote) || (internal(d) && self.is_local(d));
            send_to(&mut out, Action::Note { index }, &|d| !skip(d));
        }
        for index in before.attachments.len()..after.attachments.len() {
            let author = &after.attachments[index].added_by;
            // Not back to the tool it came from.
            let skip = |d: &DeskId| {
                (d == author && via == Via::Remote) || (after.text_is_internal() && self.is_local(d) && d != author)
            };
            send_to(&mut out, Action::Attachment { index }, &|d| !skip(d));
        }
        out.extend(self.journal(before, after));
        out
    }

    /// Step 17: a national incident just closed is journalised, once, when a sink
    /// is configured (planned with the close, in the same transaction).
    pub fn journal(&self, before: &Incident, after: &Incident) -> Option<Delivery> {
        let closed = after.status == Status::Closed && before.status != Status::Closed;
        let national = after.kind == Kind::Incident && !after.supplier_only;
        let lane = crate::outbox::JOURNAL_LANE.parse::<DeskId>().ok()?;
        (closed && national && self.config.gateway.journal.is_some())
            .then_some(Delivery { desk: lane, action: Action::Journal })
    }
}

/// The resolution notes: the newest public note by the desk that resolved it, else —
/// for a supplier, whose own tool's journal is where it documents the solution
/// (process step 10) — its newest note of any kind.
pub(crate) fn resolution_text(incident: &Incident, resolver: &DeskId) -> Option<String> {
    let by_resolver = || incident.notes.iter().rev().filter(|n| &n.author_desk == resolver);
    by_resolver()
        .find(|n| n.visibility == Visibility::Public)
        .or_else(|| {
            by_resolver().find(|n| incident.assignee.as_ref() == Some(resolver) && n.visibility == Visibility::Internal)
        })
        .map(|n| n.body.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use jiff::Timestamp;

    use super::*;
    use crate::model::{Actor, Change, IncidentId, Kind, Priority, Text};

    /// The rest of the federation beside the national desk on ClearQuest.
    const DESKS: &str = r#"
        [desks.region-h]
        name = "Region H"
        role = "local"
        system = "servicenow"
        endpoint = "http://127.0.0.1:1"
        [desks.portal]
        name = "Portal"
        role = "local"
        system = "native"
        [desks.fmk]
        name = "FMK"
        role = "supplier"
        system = "clearquest"
        endpoint = "http://127.0.0.1:3"
        clearquest = { repo = "7.0.0", db = "FMK" }
        services = ["FMK"]
        [desks.drift]
        name = "Drift"
        role = "supplier"
        system = "jira"
        endpoint = "http://127.0.0.1:4"
        jira = { project = "DRIFT", webhook_secret = { env = "T_HOOK" } }
        services = ["*"]
    "#;

    fn config() -> Config {
        use crate::config::testing::{GATEWAY, NATIONAL_ON_CLEARQUEST, env};
        let federation = format!("{GATEWAY}{NATIONAL_ON_CLEARQUEST}{DESKS}");
        Config::from_toml(&federation, Path::new("."), &env().with("T_HOOK", "hook-secret")).unwrap()
    }

    fn desk(s: &str) -> DeskId {
        s.parse().unwrap()
    }

    fn incident(origin: &str) -> Incident {
        crate::model::testing::incident(origin, crate::model::DialectId::Servicenow, "T-1")
    }

    fn apply(i: &Incident, actor: (&str, Role), change: Change) -> Incident {
        let mut after = i.clone();
        after.apply(&Actor { desk: desk(actor.0), role: actor.1 }, &change, Timestamp::UNIX_EPOCH).unwrap();
        after
    }

    /// `i` with a note by `author` added.
    fn noted(i: &Incident, author: (&str, Role), body: &str, visibility: Visibility) -> Incident {
        let mut after = i.clone();
        after.add_note(
            &Actor { desk: desk(author.0), role: author.1 },
            Text::parse("body", body).unwrap(),
            visibility,
            Timestamp::UNIX_EPOCH,
        );
        after
    }

    /// A new incident from region-h that the national desk assigned to `supplier`.
    fn assigned_to(supplier: &str) -> Incident {
        apply(
            &incident("region-h"),
            ("sds", Role::National),
            Change { assignee: Some(desk(supplier)), ..Change::default() },
        )
    }

    /// `i` with a file attached by `author`.
    fn attached(i: &Incident, author: (&str, Role)) -> Incident {
        let mut after = i.clone();
        let actor = Actor { desk: desk(author.0), role: author.1 };
        after.add_attachment(
            &actor,
            "screen.png".into(),
            "image/png".into(),
            3,
            "ab".repeat(32),
            Timestamp::UNIX_EPOCH,
        );
        after
    }

    #[test]
    fn an_attachment_goes_to_every_other_copy_once_and_with_a_new_supplier_copy() {
        let c = config();
        let p = Planner::new(&c);
        let assigned = assigned_to("fmk");
        let with_file = attached(&assigned, ("region-h", Role::Local));
        let to = |d: &str| Delivery { desk: desk(d), action: Action::Attachment { index: 0 } };
        // Reported by region H's own tool: not sent back there.
        assert_eq!(p.changed(&assigned, &with_file, &desk("region-h"), Via::Remote), vec![to("fmk"), to("sds")]);
        // Through the API: region H's own copy gets it too.
        assert_eq!(
            p.changed(&assigned, &with_file, &desk("region-h"), Via::Api),
            vec![to("fmk"), to("region-h"), to("sds")]
        );
        // A supplier assigned later gets the file after its copy exists.
        let before = attached(&incident("region-h"), ("region-h", Role::Local));
        let after =
            apply(&before, ("sds", Role::National), Change { assignee: Some(desk("fmk")), ..Change::default() });
        let plan = p.changed(&before, &after, &desk("sds"), Via::Remote);
        let create = plan.iter().position(|d| d == &Delivery { desk: desk("fmk"), action: Action::Create });
        let file = plan.iter().position(|d| d == &to("fmk"));
        assert!(create.is_some() && file > create, "{plan:?}");
        assert!(!plan.contains(&to("sds")) && !plan.contains(&to("region-h")), "no second copy: {plan:?}");
    }

    #[test]
    fn a_new_incident_goes_to_the_national_desk_only() {
        let c = config();
        let p = Planner::new(&c);
        assert_eq!(p.created(&incident("region-h")), vec![Delivery { desk: desk("sds"), action: Action::Create }]);
        assert_eq!(p.created(&incident("portal")).len(), 1);
    }

    #[test]
    fn assignment_creates_the_supplier_copy_and_links_both_ways_without_echo() {
        let c = config();
        let p = Planner::new(&c);
        let before = incident("region-h");
        let after = apply(
            &before,
            ("sds", Role::National),
            Change { assignee: Some(desk("fmk")), priority: Some(Priority::P2), ..Change::default() },
        );
        let plan = p.changed(&before, &after, &desk("sds"), Via::Remote);
        assert_eq!(
            plan,
            vec![
                Delivery { desk: desk("fmk"), action: Action::Create },
                Delivery { desk: desk("fmk"), action: Action::Link { with: desk("sds") } },
                Delivery { desk: desk("sds"), action: Action::Link { with: desk("fmk") } },
                Delivery { desk: desk("region-h"), action: Action::Priority { priority: Priority::P2 } },
                Delivery {
                    desk: desk("region-h"),
                    action: Action::Status { status: Status::Assigned, resolution: None }
                },
            ],
            "the national desk made the change: nothing goes back to it but the link; the supplier's copy carries the current state"
        );
    }

    #[test]
    fn a_supplier_resolution_flows_to_the_national_desk_and_the_origin_with_the_notes() {
        let c = config();
        let p = Planner::new(&c);
        let assigned = assigned_to("fmk");
        let noted = noted(&assigned, ("fmk", Role::Supplier), "Certificate renewed", Visibility::Public);
        let resolved =
            apply(&noted, ("fmk", Role::Supplier), Change { status: Some(Status::Resolved), ..Change::default() });
        let plan = p.changed(&assigned, &resolved, &desk("fmk"), Via::Remote);
        let status = Action::Status { status: Status::Resolved, resolution: Some("Certificate renewed".into()) };
        assert!(plan.contains(&Delivery { desk: desk("sds"), action: status.clone() }), "{plan:?}");
        assert!(plan.contains(&Delivery { desk: desk("region-h"), action: status }), "{plan:?}");
        assert!(plan.contains(&Delivery { desk: desk("region-h"), action: Action::Note { index: 0 } }));
        assert!(plan.iter().all(|d| d.desk != desk("fmk")), "no echo to the supplier: {plan:?}");
    }

    #[test]
    fn a_change_made_through_the_api_is_mirrored_into_the_desks_own_tool() {
        let c = config();
        let p = Planner::new(&c);
        let before = incident("region-h");
        let after =
            apply(&before, ("sds", Role::National), Change { priority: Some(Priority::P1), ..Change::default() });
        let plan = p.changed(&before, &after, &desk("sds"), Via::Api);
        let priority = Action::Priority { priority: Priority::P1 };
        assert!(plan.contains(&Delivery { desk: desk("sds"), action: priority.clone() }), "{plan:?}");
        assert!(plan.contains(&Delivery { desk: desk("region-h"), action: priority }), "{plan:?}");
        let remote = p.changed(&before, &after, &desk("sds"), Via::Remote);
        assert!(remote.iter().all(|d| d.desk != desk("sds")), "{remote:?}");
    }

    #[test]
    fn a_support_request_never_reaches_a_supplier() {
        let c = config();
        let p = Planner::new(&c);
        let mut before = incident("region-h");
        before.kind = Kind::SupportRequest;
        before.parent = Some(IncidentId::new(2026, 99));
        let mut after = before.clone();
        after.assignee = Some(desk("fmk"));
        let plan = p.changed(&before, &after, &desk("sds"), Via::Api);
        assert!(plan.iter().all(|d| d.desk != desk("fmk")), "{plan:?}");
    }

    #[test]
    fn internal_notes_never_reach_local_desks_and_native_desks_get_nothing() {
        let c = config();
        let p = Planner::new(&c);
        let before = incident("portal");
        let after = noted(&before, ("sds", Role::National), "internal", Visibility::Internal);
        assert!(p.changed(&before, &after, &desk("sds"), Via::Remote).is_empty());
        let before = incident("region-h");
        let after = noted(&before, ("sds", Role::National), "internal", Visibility::Internal);
        assert!(p.changed(&before, &after, &desk("sds"), Via::Remote).is_empty());
        let public = noted(&before, ("sds", Role::National), "we are on it", Visibility::Public);
        assert_eq!(
            p.changed(&before, &public, &desk("sds"), Via::Remote),
            vec![Delivery { desk: desk("region-h"), action: Action::Note { index: 0 } }]
        );
    }

    #[test]
    fn a_reassigned_supplier_is_told_once_and_hears_nothing_after() {
        let c = config();
        let p = Planner::new(&c);
        let national = ("sds", Role::National);
        let at_drift =
            apply(&incident("region-h"), national, Change { assignee: Some(desk("drift")), ..Change::default() });
        let at_fmk = apply(&at_drift, national, Change { assignee: Some(desk("fmk")), ..Change::default() });
        assert!(p.is_party(&at_drift, &desk("drift")) && !p.is_party(&at_fmk, &desk("drift")));
        let plan = p.changed(&at_drift, &at_fmk, &desk("sds"), Via::Api);
        let to_drift: Vec<_> = plan.iter().filter(|d| d.desk == desk("drift")).collect();
        assert_eq!(
            to_drift,
            [&Delivery { desk: desk("drift"), action: Action::Unassigned { why: Unassigned::Reassigned } }],
            "{plan:?}"
        );
        let noted = noted(&at_fmk, ("sds", Role::National), "internal", Visibility::Internal);
        let later = apply(&noted, national, Change { priority: Some(Priority::P1), ..Change::default() });
        let plan = p.changed(&at_fmk, &later, &desk("sds"), Via::Api);
        assert!(plan.iter().all(|d| d.desk != desk("drift")), "{plan:?}");
        assert!(plan.contains(&Delivery { desk: desk("fmk"), action: Action::Note { index: 0 } }), "{plan:?}");
    }

    #[test]
    fn a_supplier_whose_incident_becomes_a_support_request_is_told_and_no_longer_a_party() {
        let c = config();
        let p = Planner::new(&c);
        let assigned = assigned_to("fmk");
        let mut request = assigned.clone();
        request.kind = Kind::SupportRequest;
        request.parent = Some(IncidentId::new(2026, 99));
        assert!(!p.is_party(&request, &desk("fmk")));
        assert!(p.is_party(&request, &desk("region-h")) && p.is_party(&request, &desk("sds")));
        let plan = p.changed(&assigned, &request, &desk("sds"), Via::Api);
        assert_eq!(
            plan,
            vec![Delivery { desk: desk("fmk"), action: Action::Unassigned { why: Unassigned::SupportRequest } }]
        );
        let mut working = request.clone();
        working.status = Status::InProgress;
        let plan = p.changed(&request, &working, &desk("sds"), Via::Api);
        assert!(plan.iter().all(|d| d.desk != desk("fmk")), "{plan:?}");
    }
}
