//! Deliveries about support requests (step 3) and supplier-detected incidents
//! (steps 18a/b): the links between a parent and its support requests in each
//! desk's copies, and the mail to the national desk.

use deskgate_adapter::{Adapter, RemoteId, RemoteLink};

use super::deliver::{Dispatcher, Failure};
use crate::gateway::plan::Planner;
use crate::model::{DeskId, Incident, IncidentId};

impl Dispatcher {
    /// [`crate::outbox::Action::SupportRequest`] at `desk`: the parent's copy links to
    /// the support request, and the support request's copy (when the desk holds one
    /// and is its party) links to the parent. Each names the other's ticket at the
    /// same desk, else the national desk's, else the incident id.
    pub(super) async fn support_request_links(
        &self,
        parent: &Incident,
        desk: &DeskId,
        id: &IncidentId,
        adapter: &dyn Adapter,
    ) -> Result<(), Failure> {
        let child =
            self.store.get_incident(id).await?.ok_or_else(|| Failure::Impossible(format!("{id} no longer exists")))?;
        if !child.supports(&parent.id) {
            return Err(Failure::Dropped(format!("{id} is no longer a support request of {}", parent.id)));
        }
        let planner = Planner::new(&self.config);
        if let Some(copy) = parent.ref_for(desk) {
            let (display_id, url) = self.shown_at(&child, desk);
            let link = RemoteLink {
                global_id: format!("deskgate:{}:support-request:{id}", parent.id),
                title: format!("Support request {display_id} ({id})"),
                url,
                display_id,
            };
            adapter.link(&RemoteId(copy.remote_id.to_string()), &link).await?;
        }
        if let Some(copy) = child.ref_for(desk).filter(|_| planner.is_party(&child, desk)) {
            let (display_id, url) = self.shown_at(parent, desk);
            let link = RemoteLink {
                global_id: format!("deskgate:{id}:parent:{}", parent.id),
                title: format!("Support request of {display_id} ({})", parent.id),
                url,
                display_id,
            };
            adapter.link(&RemoteId(copy.remote_id.to_string()), &link).await?;
        }
        Ok(())
    }

    /// How people at `desk` name `incident`: their own copy, else the national desk's
    /// copy, else deskgate's id.
    fn shown_at(&self, incident: &Incident, desk: &DeskId) -> (String, Option<String>) {
        let national = self.config.national_desk().and_then(|n| incident.ref_for(&n.id));
        match incident.ref_for(desk).or(national) {
            Some(r) => (r.display_id.clone(), r.url.clone()),
            None => (incident.id.to_string(), None),
        }
    }

    /// [`crate::outbox::Action::DetectedMail`]: to the national desk's contact address.
    pub(super) async fn detected_mail(&self, incident: &Incident) -> Result<(), Failure> {
        let Some(to) = self.config.national_desk().and_then(|d| d.contact.as_ref()).and_then(|c| c.email.clone())
        else {
            return Err(Failure::Dropped("the national desk has no contact e-mail".into()));
        };
        self.notifier.detected(&to, incident).await.map_err(Failure::Remote)
    }
}
