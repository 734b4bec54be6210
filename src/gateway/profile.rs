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
            if self.close_if_due(&who, &id, now).await {
                tracing::info!(incident = %id, profile = %profile.name, "closed: the reopen window after resolution ran out");
                closed.push(id);
            }
        }
        Ok(closed)
    }

    /// Close `id` if, as its change reads it, it is still resolved with its window
    /// run out at `now`: a reporter who reopened it after the pass read the index
    /// keeps it open (I08). Whether it was closed.
    async fn close_if_due(&self, national: &DeskPrincipal, id: &IncidentId, now: Timestamp) -> bool {
        let change = Change { status: Some(Status::Closed), ..Change::default() };
        let due = |i: &Incident| i.timer(Timer::AutoClose).is_some_and(|at| at <= now);
        match self.update_if(national, id, &change, &RequestContext::default(), &due).await {
            Ok(after) => after.status == Status::Closed,
            // A P1/P2 without an approved report stays resolved: the close guard holds.
            Err(e) => {
                tracing::warn!(incident = %id, error = %e, "auto-close not applied");
                false
            }
        }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jiff::{SignedDuration, Timestamp};

    use crate::auth::DeskPrincipal;
    use crate::clock::TestClock;
    use crate::config::Config;
    use crate::config::testing::{GATEWAY, NATIONAL, env, region_h};
    use crate::gateway::{Gateway, RequestContext};
    use crate::model::testing::desk;
    use crate::model::{Change, DialectId, Incident, Role, Status, Timer};
    use crate::store::{AuditEntry, AuditKind, Effects, StoreConfig};

    const PROFILE: &str = r#"
        [gateway.process]
        name = "healthdata"
        reporter_reopens = true
        [gateway.process.calendar]
        zone = "Europe/Brussels"
        working_hours = "08:00-16:30"
        [gateway.process.priority]
        services = { FMK = "gold" }
        canonical = { P08 = "P4" }
        matrix.gold = { high = "P08", medium = "P08", low = "P08", none = "P08" }
    "#;

    /// Seed 000, I08: "the end-user has 5 working days left to re-open the ticket.
    /// After 5 working days, the ticket will be automatically set to the status
    /// 'closed'." An incident reopened and resolved again after the auto-close pass
    /// read the index, and before it closed, gets its new window in full; the one
    /// left alone closes.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn i08_a_reopen_after_the_pass_read_the_index_gets_its_new_window_in_full() {
        let dir = tempfile::tempdir().expect("a directory");
        let store = crate::store::open(&StoreConfig::sled(dir.path().to_owned())).expect("opens");
        let now: Timestamp = "2026-12-02T10:00:00Z".parse().expect("an instant");
        let text = format!("{GATEWAY}{PROFILE}{NATIONAL}{}", region_h("native"));
        let config =
            Arc::new(Config::from_toml(&text, std::path::Path::new("."), &env()).expect("the federation loads"));
        let gateway = Gateway::new(config.clone(), store.clone(), Arc::new(TestClock::at(now)));
        let mut ids = Vec::new();
        for ticket in ["t-reopened", "t-left"] {
            let new = crate::model::testing::report("region-h", DialectId::Native, ticket);
            let plan = |i: &mut Incident| {
                super::on_created(&config, i);
                i.status = Status::Resolved;
                if let Some(p) = i.process.as_mut() {
                    p.auto_close_at = Some(now - SignedDuration::from_hours(1));
                }
                Effects { changed: true, ..Effects::default() }
            };
            let entry = AuditEntry::new(now, AuditKind::Submitted, "submitted");
            ids.push(store.create_incident(new, None, entry, now, &plan).await.expect("stored").incident().id.clone());
        }
        let due = gateway.due(Timer::AutoClose, now).await.expect("the index reads");
        assert_eq!(due, ids, "both windows ran out");

        // Between the index read and the close, the reporter reopens the first and the
        // national desk resolves it again: a new window has begun.
        let reporter = DeskPrincipal { desk: desk("region-h"), role: Role::Local };
        let national = DeskPrincipal { desk: desk("sds"), role: Role::National };
        let ctx = RequestContext::default();
        let to = |status| Change { status: Some(status), ..Change::default() };
        let reopened = gateway.update(&reporter, &ids[0], &to(Status::InProgress), &ctx).await.expect("reopens");
        assert_eq!(reopened.process.as_ref().and_then(|p| p.auto_close_at), None, "the reopen ends the window");
        let again = gateway.update(&national, &ids[0], &to(Status::Resolved), &ctx).await.expect("resolves");
        let window = again.process.as_ref().and_then(|p| p.auto_close_at).expect("a new window");
        assert!(window > now, "the new window runs from now: {window}");

        let closed =
            [gateway.close_if_due(&national, &ids[0], now).await, gateway.close_if_due(&national, &ids[1], now).await];
        assert_eq!(closed, [false, true], "only the incident whose window still ran out closes");
        let first = store.get_incident(&ids[0]).await.expect("reads").expect("stored");
        assert_eq!((first.status, first.version), (Status::Resolved, again.version), "left in its new window");
        let second = store.get_incident(&ids[1]).await.expect("reads").expect("stored");
        assert_eq!(second.status, Status::Closed, "the window ran out: closed by itself");
    }
}
