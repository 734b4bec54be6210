//! Support requests (process step 3) and what their reporters hear (step 15).
//!
//! A further report of a known incident is kept as a support request with a `parent`.
//! The parent lists its support requests (stored on the parent, so listing them
//! costs one read): when one joins, the parent's copies at every desk that is party
//! to it link to it, and the support request's copies refer back. When the parent is
//! resolved or closed, every support request's reporter gets the resolution on their
//! own ticket, once. The national desk may name the parent in its own tool (a
//! ClearQuest field, read by the poll): [`Gateway::parent_named`].

use super::plan::{Planner, Via, resolution_text};
use super::{Gateway, GatewayError, RequestContext};
use crate::auth::DeskPrincipal;
use crate::model::{Actor, Change, DeskId, Incident, IncidentId, Kind, Role, Text, TicketId, Visibility};
use crate::outbox::{Action, Delivery};
use crate::store::{AuditKind, Effects};

/// The longest resolution passed on to a support request's reporter, in characters.
const MAX_RESOLUTION_CHARS: usize = 4000;

/// What the national desk's tool named as a ticket's parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamedParent {
    /// An incident deskgate knows.
    Known(IncidentId),
    /// Nothing deskgate knows; the value as it may be shown (checked for patient
    /// data and bounded), or `None` when it may not be shown.
    Unknown(Option<String>),
}

impl Gateway {
    fn national_actor(&self) -> Option<Actor> {
        self.config.national_desk().map(|d| Actor { desk: d.id.clone(), role: Role::National })
    }

    /// After a change to `incident`: a support request is listed on its parent, and
    /// a resolved parent's support requests are told (each at most once). Failures
    /// are logged: the change itself is stored already and a later change retries.
    pub(crate) async fn follow_support_requests(&self, incident: &Incident, ctx: &RequestContext) {
        let parent = match &incident.parent {
            Some(parent) if incident.kind == Kind::SupportRequest => {
                self.list_on_parent(parent, &incident.id, ctx).await
            }
            _ => Ok(None),
        };
        // A support request pointed elsewhere, or no longer one, leaves the list it was on.
        let earlier = incident.history.iter().rev().find(|h| h.field == "parent").and_then(|h| h.from.as_deref());
        for old in earlier.into_iter().chain(incident.parent.as_ref().map(IncidentId::as_str)) {
            match old.parse::<IncidentId>() {
                Ok(old) if !incident.supports(&old) => {
                    if let Err(e) = self.unlist_from_parent(&old, &incident.id, ctx).await {
                        tracing::error!(incident = %incident.id, error = %e, "taking a support request off a list failed");
                    }
                }
                _ => {}
            }
        }
        let parent = match parent {
            Ok(parent) => parent,
            Err(e) => {
                tracing::error!(incident = %incident.id, error = %e, "listing a support request on its parent failed");
                None
            }
        };
        for p in parent.iter().chain(std::iter::once(incident)) {
            if let Err(e) = self.tell_support_requests(p, ctx).await {
                tracing::error!(incident = %p.id, error = %e, "telling support requests of a resolution failed");
            }
        }
    }

    /// `child` joins `parent`'s list; the parent's copies link to it. Returns the
    /// parent as stored when it changed.
    async fn list_on_parent(
        &self,
        parent: &IncidentId,
        child: &IncidentId,
        ctx: &RequestContext,
    ) -> Result<Option<Incident>, GatewayError> {
        match self.store.get_incident(parent).await? {
            Some(p) if !p.support_requests.ids.contains(child) => {}
            _ => return Ok(None),
        }
        let entry = self.entry(AuditKind::Updated, None, format!("support request {child} listed"), ctx);
        let planner = Planner::new(&self.config);
        let national = self.config.national_desk().map(|d| d.id.clone());
        let mutate = |i: &mut Incident| {
            if !i.support_requests.add(child) {
                return Ok(Effects::unchanged());
            }
            i.version += 1;
            let mut desks: Vec<DeskId> = [Some(i.origin.desk.clone()), national.clone(), i.assignee.clone()]
                .into_iter()
                .flatten()
                .filter(|d| planner.is_party(i, d) && planner.delivers_to(d))
                .collect();
            desks.dedup();
            let deliveries = desks
                .into_iter()
                .map(|desk| Delivery { desk, action: Action::SupportRequest { id: child.clone() } })
                .collect();
            Ok(Effects { changed: true, deliveries, ..Effects::default() })
        };
        let updated = self.store.update_incident(parent, &mutate, entry).await?;
        self.outbox_changed.notify_one();
        Ok(Some(updated))
    }

    /// `child` is no longer a support request of `parent`: off its list (the links
    /// already written stay, as a record of what was).
    async fn unlist_from_parent(
        &self,
        parent: &IncidentId,
        child: &IncidentId,
        ctx: &RequestContext,
    ) -> Result<(), GatewayError> {
        match self.store.get_incident(parent).await? {
            Some(p) if p.support_requests.ids.contains(child) => {}
            _ => return Ok(()),
        }
        let entry = self.entry(AuditKind::Updated, None, format!("support request {child} taken off the list"), ctx);
        let mutate = |i: &mut Incident| {
            let Some(at) = i.support_requests.ids.iter().position(|id| id == child) else {
                return Ok(Effects::unchanged());
            };
            i.support_requests.ids.remove(at);
            if at < i.support_requests.told {
                i.support_requests.told -= 1;
            }
            i.version += 1;
            Ok(Effects { changed: true, ..Effects::default() })
        };
        self.store.update_incident(parent, &mutate, entry).await?;
        Ok(())
    }

    /// A resolved or closed incident's support requests not yet told: each gets a
    /// public note from the national desk with the resolution (its reporter's ticket
    /// hears it through the outbox), then the parent records them as told.
    async fn tell_support_requests(&self, parent: &Incident, ctx: &RequestContext) -> Result<(), GatewayError> {
        let waiting = parent.support_requests_to_tell().to_vec();
        let Some(national) = self.national_actor().filter(|_| !waiting.is_empty()) else { return Ok(()) };
        let resolver = parent
            .history
            .iter()
            .rev()
            .find(|h| h.field == "status" && h.to.as_deref() == Some("resolved"))
            .map(|h| h.actor.clone());
        let resolution = resolver.and_then(|r| resolution_text(parent, &r));
        let resolution = resolution.map(|r| r.chars().take(MAX_RESOLUTION_CHARS).collect::<String>());
        let national_ticket =
            parent.ref_for(&national.desk).map(|r| format!(" (national ticket {})", r.display_id)).unwrap_or_default();
        let note = Text::parse(
            "note",
            &format!(
                "The incident this report refers to, {}{national_ticket}, has been {}: {}",
                parent.id,
                parent.status,
                resolution.as_deref().unwrap_or("no resolution notes were given.")
            ),
        )?;
        let now = self.now();
        for child in &waiting {
            let entry =
                self.entry(AuditKind::Updated, Some(&national.desk), format!("told of {} resolution", parent.id), ctx);
            let add = |i: &mut Incident| {
                // Told before a restart cut this short: not again.
                if !i.supports(&parent.id) || i.notes.iter().any(|n| n.body == note) {
                    return Ok(Effects::unchanged());
                }
                i.ensure_room_for_notes(1, self.config.gateway.limits.notes_per_incident)?;
                let before = i.clone();
                i.add_note(&national, note.clone(), Visibility::Public, now);
                let deliveries = Planner::new(&self.config).changed(&before, i, &national.desk, Via::Api);
                Ok(Effects { changed: true, deliveries, ..Effects::default() })
            };
            self.store.update_incident(child, &add, entry).await?;
        }
        let told = parent.support_requests.told + waiting.len();
        let entry = self.entry(AuditKind::Updated, None, format!("{} support requests told", waiting.len()), ctx);
        let mark = |i: &mut Incident| {
            if i.support_requests.told >= told {
                return Ok(Effects::unchanged());
            }
            i.support_requests.told = told.min(i.support_requests.ids.len());
            i.version += 1;
            Ok(Effects { changed: true, ..Effects::default() })
        };
        self.store.update_incident(&parent.id, &mark, entry).await?;
        self.outbox_changed.notify_one();
        Ok(())
    }

    /// The national desk named `named` as the parent of its ticket `remote_id` in its
    /// own tool (step 3): the incident becomes a support request of that one, as
    /// through the API. A value naming no incident changes nothing; the national desk
    /// is told by an internal note on the ticket, once.
    pub async fn parent_named(
        &self,
        desk: &DeskId,
        remote_id: &TicketId,
        field: &str,
        named: NamedParent,
        ctx: &RequestContext,
    ) -> Result<Option<Incident>, GatewayError> {
        let Some(national) = self.config.national_desk().filter(|d| &d.id == desk) else { return Ok(None) };
        let Some(id) = self.store.find_by_ref(desk, remote_id).await? else { return Ok(None) };
        let Some(incident) = self.store.get_incident(&id).await? else { return Ok(None) };
        let named = match named {
            NamedParent::Known(parent) if self.store.get_incident(&parent).await?.is_none() => {
                NamedParent::Unknown(Some(parent.to_string()))
            }
            other => other,
        };
        let parent = match named {
            NamedParent::Known(parent) if parent != id => parent,
            NamedParent::Known(_) => {
                let reason = format!("not applied: {field} of {desk} ticket {remote_id} names the incident itself");
                self.park_reason(&id, desk, reason, self.now(), ctx).await?;
                return Ok(None);
            }
            NamedParent::Unknown(shown) => {
                let value = shown.map_or_else(|| "a value that cannot be shown".to_owned(), |v| format!("{v:?}"));
                let reason = format!(
                    "not applied: {field} of {desk} ticket {remote_id} names {value}, which is neither a deskgate incident id nor a ticket of {desk} that deskgate knows"
                );
                self.park_reason(&id, desk, reason, self.now(), ctx).await?;
                return Ok(None);
            }
        };
        if incident.supports(&parent) {
            return Ok(None);
        }
        let who = DeskPrincipal { desk: national.id.clone(), role: Role::National };
        let change = Change { kind: Some(Kind::SupportRequest), parent: Some(parent), ..Change::default() };
        Ok(Some(self.update(&who, &id, &change, ctx).await?))
    }
}

/// The mail to the national desk about an incident a supplier detected (steps
/// 18a/b), on a lane of its own so no desk's deliveries hold it up; none when the
/// national desk has no contact address or no mail server is configured.
pub(crate) fn detected_mail(config: &crate::config::Config) -> Option<Delivery> {
    config.gateway.smtp.as_ref()?;
    config.national_desk().and_then(|d| d.contact.as_ref()).and_then(|c| c.email.as_ref())?;
    let desk = "notify-national".parse().ok()?;
    Some(Delivery { desk, action: Action::DetectedMail })
}
