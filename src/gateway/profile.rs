//! The process profile's part in the use cases (`[gateway.process]`, seed 000): the
//! priority a new incident gets from the matrix, the hold reason and auto-close
//! instant kept on the incident with every change, a problem link putting the
//! incident on hold awaiting the problem, and the pass that closes resolved incidents
//! whose window has run out.

use jiff::Timestamp;

use crate::auth::DeskPrincipal;
use crate::config::Config;
use crate::model::{
    Actor, Change, HoldReason, Incident, IncidentId, Kind, LinkKind, Role, Status, Text, Timer, Visibility,
};

use super::{Gateway, GatewayError, RequestContext};

/// A new incident under the profile: its state, and the matrix's canonical priority
/// unless the reporter set one itself.
pub(super) fn on_created(config: &Config, i: &mut Incident) {
    let Some(profile) = &config.gateway.process else { return };
    let (state, canonical) = profile.on_created(i.service.as_str(), i.impact);
    i.process = Some(state);
    if let Some(p) = canonical {
        i.priority = Some(p);
    }
}

/// After a change: the hold reason follows the status; resolving starts the
/// auto-close window (on the profile's working days), leaving resolved ends it.
pub(super) fn after_change(config: &Config, actor: &Actor, before: &Incident, i: &mut Incident, now: Timestamp) {
    reclassified(actor, before, i, now);
    let Some(profile) = &config.gateway.process else { return };
    let (status, priority) = (i.status, i.priority);
    let Some(state) = i.process.as_mut() else { return };
    state.hold_reason = HoldReason::of(status);
    // The national desk re-prioritising ("Impact and Priority will be adapted"): the
    // profile's name follows when one name stands for the new priority, else none is
    // claimed rather than a stale one.
    if priority != before.priority {
        if let Some(p) = priority {
            let names: Vec<&String> =
                profile.priority.canonical.iter().filter(|(_, c)| **c == p).map(|(n, _)| n).collect();
            let kept = state.priority.as_ref().filter(|n| names.contains(n)).cloned();
            state.priority = kept.or_else(|| (names.len() == 1).then(|| names[0].clone()));
        }
    }
    if status == Status::Resolved && before.status != Status::Resolved {
        state.auto_close_at = Some(profile.calendar.add_working_days(now, profile.auto_close_working_days));
    } else if status != Status::Resolved {
        state.auto_close_at = None;
    }
}

/// A request found to be an incident, or an incident found to be a request, is
/// reclassified by the national desk (seed 000, relation with Request Management):
/// every copy is told by a public note, and the history records the kind.
fn reclassified(actor: &Actor, before: &Incident, i: &mut Incident, now: Timestamp) {
    let label = |k: Kind| if k == Kind::ServiceRequest { "a service request" } else { "an incident" };
    let between = |k: Kind| matches!(k, Kind::Incident | Kind::ServiceRequest);
    if before.kind == i.kind || !between(before.kind) || !between(i.kind) {
        return;
    }
    let text = format!(
        "Reclassified by the national desk: {} is {}, not {}; it is handled as such from now on.",
        i.id,
        label(i.kind),
        label(before.kind)
    );
    if let Ok(body) = Text::parse("note", &text) {
        i.add_note(actor, body, Visibility::Public, now);
    }
}

/// Whether a local desk's report of `to` is its reporter reopening `i` (seed 000,
/// I08), which the profile allows: from resolved back to work.
pub(super) fn is_reporter_reopen(i: &Incident, to: Status) -> bool {
    i.process.as_ref().is_some_and(|p| p.reporter_reopens)
        && matches!(i.status, Status::Resolved | Status::Closed)
        && matches!(to, Status::InProgress | Status::Assigned)
}

/// Under the profile, linking a problem puts the incident on hold awaiting that
/// problem (I13) rather than pending release, which is awaiting a change (I12).
pub(super) fn with_hold_reason(config: &Config, change: &Change) -> Option<Change> {
    config.gateway.process.as_ref()?;
    let link = change.rfc.as_ref().filter(|l| l.kind == LinkKind::Problem && change.status.is_none())?;
    tracing::debug!(key = %link.key, "a problem link: on hold, awaiting problem");
    Some(Change { status: Some(Status::OnHold), ..change.clone() })
}

/// What the reporter is told when a problem link puts the incident on hold (I13).
pub(super) fn problem_note(link: &crate::model::ReleaseLink) -> Result<Text, crate::model::ModelError> {
    let url = link.url.as_deref().map(|u| format!(" ({u})")).unwrap_or_default();
    Text::parse(
        "note",
        &format!(
            "On hold, awaiting problem {}{url}: problem management looks for the cause; a workaround may be applied meanwhile.",
            link.key
        ),
    )
}

impl Gateway {
    /// One auto-close pass at the clock's now: every resolved incident whose window
    /// has run out is closed by the national desk, and every party told. The instant
    /// is in the incident, so a pass after a restart closes what fell due meanwhile.
    /// Returns the incidents closed.
    pub async fn auto_close_due(&self) -> Result<Vec<IncidentId>, GatewayError> {
        let Some(profile) = &self.config.gateway.process else { return Ok(Vec::new()) };
        let Some(national) = self.config.national_desk() else { return Ok(Vec::new()) };
        let now = self.now();
        let who = DeskPrincipal { desk: national.id.clone(), role: Role::National };
        let mut closed = Vec::new();
        // Only the resolved incidents whose window ran out (the store indexes it).
        for id in self.due(Timer::AutoClose, now).await? {
            let change = Change { status: Some(Status::Closed), ..Change::default() };
            match self.update(&who, &id, &change, &RequestContext::default()).await {
                Ok(_) => {
                    tracing::info!(incident = %id, profile = %profile.name, "closed: the reopen window after resolution ran out");
                    closed.push(id);
                }
                // A P1/P2 without an approved report stays resolved: the close guard holds.
                Err(e) => tracing::warn!(incident = %id, error = %e, "auto-close not applied"),
            }
        }
        Ok(closed)
    }

    /// Run [`Gateway::auto_close_due`] every `every` (the escalation watch's period)
    /// until `shutdown` turns true; nothing to do without a process profile.
    pub async fn run_auto_close(
        self: std::sync::Arc<Self>,
        every: std::time::Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        if self.config.gateway.process.is_none() {
            return;
        }
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Err(e) = self.auto_close_due().await {
                tracing::error!(error = %e, "the auto-close pass failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
