//! Escalations in operation: who is notified, how, and what happens when nobody answers.
//!
//! The rules engine ([`crate::escalation`]) decides and keeps the record; this module
//! wraps storage and delivery around it:
//!
//! * [`notifications`] and [`stakeholder_mail`] (in [`crate::gateway::notifications`]) plan the outbox deliveries of an
//!   escalation attempt — one per channel of the contact, each in its own lane, so a
//!   contact that cannot be reached never holds up the next one in the chain.
//! * [`Notifier`] carries one out: a JSON POST to a webhook, a mail over SMTP
//!   (`[gateway.smtp]`), or a text through an HTTP SMS gateway (`[gateway.sms]`).
//!   Failures are [`AdapterError`]s, so the outbox retries and dead-letters them like
//!   any delivery. Phone channels are for people: shown in the escalation, not called.
//! * [`Watch`] moves unacknowledged escalations past their deadline to the next
//!   contact of the chain ([`Escalation::on_timeout`]), on the injectable clock.
//!
//! Nothing here opens escalations: the gateway does, in the same transaction as the
//! change that called for them (see [`crate::escalation::EscalationHook`]).

pub mod journal;

use std::sync::Arc;
use std::time::Duration;

use deskgate_adapter::AdapterError;
use jiff::Timestamp;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Body, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;
use tokio::sync::{Notify, watch};

use crate::clock::Clock;
use crate::config::{Config, SmtpTls};
use crate::escalation::{Channel, Escalation, EscalationState, IncidentFacts, TimeoutOutcome};
use crate::gateway::end_escalation;
use crate::model::{Incident, ModelError};
use crate::outbox::{Action, Delivery};
use crate::store::{DueEscalation, Store, StoreError};

mod alert;
#[cfg(test)]
mod watch_reads;

// The deliveries an escalation plans are the gateway's (they enter the outbox in the
// change's transaction); they are re-exported here where the notifier uses them.
use crate::gateway::notifications::deliverable;
pub use crate::gateway::notifications::{ack_url, escalation_id, notifications, opened, stakeholder_mail};

type Smtp = AsyncSmtpTransport<Tokio1Executor>;

/// Sends escalation notifications by webhook and mail.
pub struct Notifier {
    http: reqwest::Client,
    /// The transport and the sender, or why there is none.
    smtp: Result<(Smtp, Mailbox), String>,
    stakeholders: Vec<String>,
    config: Arc<Config>,
}

impl Notifier {
    /// Built from `[gateway.smtp]`, `[gateway.escalation]` and `gateway.public_url`.
    /// A mail server that cannot be set up is reported by [`Notifier::problem`].
    pub fn new(config: &Arc<Config>) -> Self {
        let g = &config.gateway;
        let smtp = match &g.smtp {
            None => Err("no mail server is configured ([gateway.smtp])".to_owned()),
            Some(m) => {
                let builder = match m.tls {
                    SmtpTls::StartTls => Smtp::starttls_relay(&m.host),
                    SmtpTls::Tls => Smtp::relay(&m.host),
                    SmtpTls::None => Ok(Smtp::builder_dangerous(&m.host)),
                };
                let from = m.from.parse::<Mailbox>().map_err(|e| format!("gateway.smtp.from: {e}"));
                match (builder, from) {
                    (Ok(b), Ok(from)) => {
                        let mut b = b.port(m.port).timeout(Some(Duration::from_secs(m.timeout_secs.max(1))));
                        if let Some((user, password)) = &m.login {
                            b = b.credentials(Credentials::new(user.clone(), password.expose().to_owned()));
                        }
                        Ok((b.build(), from))
                    }
                    (Err(e), _) => Err(format!("gateway.smtp.host: {e}")),
                    (_, Err(e)) => Err(e),
                }
            }
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("deskgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self { http, smtp, stakeholders: g.escalation.stakeholders.clone(), config: config.clone() }
    }

    /// A configured mail server that cannot be used (for start-up to refuse).
    pub fn problem(config: &Arc<Config>) -> Option<String> {
        config.gateway.smtp.as_ref()?;
        Notifier::new(config).smtp.err()
    }

    fn ack_url(&self, escalation: &str) -> String {
        ack_url(&self.config, escalation)
    }

    /// Carry out a [`Action::Notify`] or [`Action::Stakeholders`] delivery.
    pub async fn deliver(&self, action: &Action, e: &Escalation, incident: &Incident) -> Result<(), AdapterError> {
        match action {
            // Queued before its incident was resolved (or downgraded…): nobody is paged
            // for an escalation that ended, even by a retry.
            Action::Notify { .. } if e.state == EscalationState::Ended => {
                tracing::info!(escalation = %e.id, "notification dropped: the escalation ended");
                Ok(())
            }
            Action::Notify { attempt, channel, .. } => {
                let contact = attempt
                    .checked_sub(1)
                    .and_then(|i| e.attempts.get(i))
                    .map(|a| &a.contact)
                    .ok_or_else(|| AdapterError::permanent(format!("{} has no attempt {attempt}", e.id)))?;
                let target = deliverable(contact).into_iter().find(|(i, _)| i == channel).map(|(_, c)| c);
                match target {
                    Some(Channel::Webhook { url }) => self.webhook(&url, e, *attempt, *channel, incident).await,
                    Some(Channel::Email { address }) => {
                        let (subject, body) = self.contact_mail(e, *attempt, incident);
                        let id = format!("<{}.{attempt}.{channel}@deskgate>", e.id);
                        self.mail(&[address], &subject, body, id).await
                    }
                    Some(Channel::Sms { number }) => self.sms(&number, e, *attempt, *channel, incident).await,
                    _ => Err(AdapterError::permanent(format!(
                        "{} has no e-mail, sms or webhook channel #{}",
                        contact.id,
                        channel + 1
                    ))),
                }
            }
            Action::Stakeholders { .. } => {
                let (subject, body) = self.stakeholder_text(e, incident);
                self.mail(&self.stakeholders, &subject, body, format!("<{}.stakeholders@deskgate>", e.id)).await
            }
            other => Err(AdapterError::permanent(format!("not a notification: {}", other.describe()))),
        }
    }

    /// The mail to the national desk about an incident a supplier detected itself
    /// (steps 18a/b): what it is, who works it, and whether it affects users (then a
    /// record is in the national desk's tool; otherwise it stays in the supplier's).
    pub async fn detected(&self, to: &str, incident: &Incident) -> Result<(), AdapterError> {
        let supplier = incident.assignee.as_ref().map_or("a supplier", |d| d.as_str());
        let subject =
            format!("[deskgate] detected by {supplier}: {} {}", incident.id.as_str(), incident.title.as_str());
        let handled = if incident.supplier_only {
            "does not affect users: handled in the supplier's tool only"
        } else {
            "affects users: a record is created in the national desk's tool"
        };
        let body = format!(
            "A supplier detected an incident itself (NSP steps 18a/b).\n\n{}\
             Supplier:   {supplier} (its ticket {})\nPriority:   {}\nHandling:   {handled}\n",
            facts(incident),
            incident.origin.ticket,
            incident.priority.map_or("not set", |p| p.as_str()),
        );
        self.mail(&[to.to_owned()], &subject, body, format!("<{}.detected@deskgate>", incident.id.as_str())).await
    }

    async fn webhook(
        &self,
        url: &str,
        e: &Escalation,
        attempt: usize,
        channel: usize,
        incident: &Incident,
    ) -> Result<(), AdapterError> {
        let a = e.attempts.get(attempt.saturating_sub(1));
        let zone = e.decision.local.time_zone().clone();
        let body = json!({
            "type": "escalation",
            "escalation": e.id,
            "attempt": attempt,
            "incident": {
                "id": incident.id.as_str(),
                "title": incident.title.as_str(),
                "service": incident.service.as_str(),
                "priority": e.priority,
            },
            "contact": a.map(|a| json!({"id": a.contact.id, "name": a.contact.name, "role": a.contact.role})),
            "rule": e.decision.rule,
            "ruleset_version": e.decision.ruleset_version,
            "reason": e.decision.reason,
            "decided_at": e.decision.at.to_string(),
            "local_time": e.decision.local.to_string(),
            "notified_local_time": a.map(|a| a.notified_at.to_zoned(zone.clone()).to_string()),
            "deadline_local_time": a.map(|a| a.deadline.to_zoned(zone.clone()).to_string()),
            "ack_url": self.ack_url(&e.id),
        });
        let res = self
            .http
            .post(url)
            .header("Idempotency-Key", format!("{}.{attempt}.{channel}", e.id))
            .json(&body)
            .send()
            .await
            .map_err(|err| AdapterError::retriable(format!("webhook {}: {}", host_of(url), err.without_url())))?;
        answered(&format!("webhook {}", host_of(url)), res).await
    }

    /// A text through the configured HTTP SMS gateway: a JSON POST of the number, the
    /// rendered `[gateway.sms] body` and a reference that stays the same on a retry.
    async fn sms(
        &self,
        number: &str,
        e: &Escalation,
        attempt: usize,
        channel: usize,
        incident: &Incident,
    ) -> Result<(), AdapterError> {
        let Some(sms) = &self.config.gateway.sms else {
            return Err(AdapterError::permanent("no SMS gateway is configured ([gateway.sms])"));
        };
        let text = self.sms_text(&sms.body, e, attempt, incident);
        self.send_text(number, &text, &format!("{}.{attempt}.{channel}", e.id)).await
    }

    /// `text` to `number` through the SMS gateway, under `reference` (the same on a retry).
    async fn send_text(&self, number: &str, text: &str, reference: &str) -> Result<(), AdapterError> {
        let Some(sms) = &self.config.gateway.sms else {
            return Err(AdapterError::permanent("no SMS gateway is configured ([gateway.sms])"));
        };
        let body = json!({ "to": number, "body": text, "reference": reference });
        let mut request = self
            .http
            .post(&sms.url)
            .timeout(Duration::from_secs(sms.timeout_secs.max(1)))
            .header("Idempotency-Key", reference)
            .json(&body);
        if let Some(token) = &sms.token {
            request = request.bearer_auth(token.expose());
        }
        let host = host_of(&sms.url);
        let res = request
            .send()
            .await
            .map_err(|err| AdapterError::retriable(format!("sms gateway {host}: {}", err.without_url())))?;
        answered(&format!("sms gateway {host}"), res).await
    }

    /// `template` with its placeholders filled in for attempt `attempt` of `e`.
    fn sms_text(&self, template: &str, e: &Escalation, attempt: usize, incident: &Incident) -> String {
        let zone = e.decision.local.time_zone().clone();
        let a = e.attempts.get(attempt.saturating_sub(1));
        let deadline = a.map(|a| a.deadline.to_zoned(zone).strftime("%a %H:%M %Z").to_string()).unwrap_or_default();
        [
            ("{priority}", e.priority.as_str().to_owned()),
            ("{service}", incident.service.as_str().to_owned()),
            ("{incident}", incident.id.as_str().to_owned()),
            ("{title}", incident.title.as_str().to_owned()),
            ("{contact}", a.map(|a| a.contact.name.clone()).unwrap_or_default()),
            ("{deadline}", deadline),
            ("{ack_url}", self.ack_url(&e.id)),
            ("{escalation}", e.id.clone()),
        ]
        .iter()
        .fold(template.to_owned(), |text, (key, value)| text.replace(key, value))
    }

    async fn mail(&self, to: &[String], subject: &str, body: String, message_id: String) -> Result<(), AdapterError> {
        let (transport, from) = self.smtp.as_ref().map_err(|why| AdapterError::permanent(why.clone()))?;
        let mut builder = Message::builder().from(from.clone()).subject(subject).message_id(Some(message_id));
        for address in to {
            let mailbox =
                address.parse::<Mailbox>().map_err(|e| AdapterError::permanent(format!("address {address:?}: {e}")))?;
            builder = builder.to(mailbox);
        }
        // Quoted-printable: readable as plain text, safe through any relay.
        let body = Body::new_with_encoding(body, ContentTransferEncoding::QuotedPrintable)
            .map_err(|_| AdapterError::permanent("the mail body cannot be encoded"))?;
        let message =
            builder.header(ContentType::TEXT_PLAIN).body(body).map_err(|e| AdapterError::permanent(e.to_string()))?;
        match transport.send(message).await {
            Ok(_) => Ok(()),
            // lettre's messages name the server's answer, never the login.
            Err(e) if e.is_permanent() => Err(AdapterError::permanent(format!("mail server refused: {e}"))),
            Err(e) => Err(AdapterError::retriable(format!("mail server: {e}"))),
        }
    }

    fn contact_mail(&self, e: &Escalation, attempt: usize, incident: &Incident) -> (String, String) {
        let zone = e.decision.local.time_zone().clone();
        let a = e.attempts.get(attempt.saturating_sub(1));
        let who = a.map_or("", |a| a.contact.name.as_str());
        let subject = format!(
            "[deskgate] {} {} escalation: {} {}",
            e.priority,
            incident.service.as_str(),
            incident.id.as_str(),
            incident.title.as_str()
        );
        let mut body = format!(
            "{who}: you are contacted for a {} incident.\n\n{}Priority:   {}\n\n\
             Why you:    {}\nRule:       {} (ruleset {})\nDecided at: {}\n",
            e.priority,
            facts(incident),
            e.priority,
            e.decision.reason,
            e.decision.rule,
            e.decision.ruleset_version,
            e.decision.local.strftime("%a %Y-%m-%d %H:%M %Z"),
        );
        if let Some(a) = a {
            if attempt > 1 {
                body.push_str(&format!(
                    "\nNobody acknowledged in time before you: this is attempt {attempt} of the chain.\n"
                ));
            }
            body.push_str(&format!(
                "\nPlease acknowledge before {}:\n  POST {}\n",
                a.deadline.to_zoned(zone).strftime("%a %Y-%m-%d %H:%M %Z"),
                self.ack_url(&e.id)
            ));
        }
        body.push_str(&format!("\nEscalation {}\n", e.id));
        (subject, body)
    }

    fn stakeholder_text(&self, e: &Escalation, incident: &Incident) -> (String, String) {
        let subject = format!(
            "[deskgate] {} incident {}: {} ({})",
            e.priority,
            incident.id.as_str(),
            incident.title.as_str(),
            incident.service.as_str()
        );
        let body = format!(
            "A {} incident has been registered or upgraded.\n\n{}Priority:   {}\nAt:         {}\n\
             Contacted:  {} ({})\n\nEscalation {}\n",
            e.priority,
            facts(incident),
            e.priority,
            e.decision.local.strftime("%a %Y-%m-%d %H:%M %Z"),
            e.decision.contact.name,
            e.decision.contact.role,
            e.id,
        );
        (subject, body)
    }
}

/// What every mail about an incident says of it first: its id, title and service,
/// a line each.
fn facts(incident: &Incident) -> String {
    format!(
        "Incident:   {}\nTitle:      {}\nService:    {}\n",
        incident.id.as_str(),
        incident.title.as_str(),
        incident.service.as_str()
    )
}

/// A notification endpoint's answer: done, or the failure classed by its status
/// (with its `Retry-After`).
async fn answered(what: &str, res: reqwest::Response) -> Result<(), AdapterError> {
    let status = res.status();
    if status.is_success() {
        return Ok(());
    }
    let retry_after = res
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = res.text().await.ok();
    Err(AdapterError::from_status(status.as_u16(), format!("{what} answered {status}"), text, retry_after))
}

fn host_of(url: &str) -> String {
    url::Url::parse(url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "(invalid URL)".into())
}

/// Moves unacknowledged escalations on when their deadline passes.
pub struct Watch {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Woken when notifications were queued.
    pub wake: Arc<Notify>,
    pub every: Duration,
    /// Whose due deferrals end at each pass (process step 3), when there is one.
    pub deferrals: Option<Arc<crate::gateway::Gateway>>,
    /// Reminds assignees of root-cause analyses due soon, on each pass (the Mitz
    /// process; nothing without `[gateway.mitz]`).
    pub reminders: Option<Arc<crate::gateway::Gateway>>,
}

impl Watch {
    /// One pass at the clock's now: every waiting escalation past its deadline either
    /// ends, when its incident no longer calls for one ([`crate::escalation::IncidentFacts::end_reason`]:
    /// resolved, closed, cancelled, downgraded, a support request — whatever the
    /// gateway did before a restart), or moves to the next contact (whose
    /// notifications are queued) or becomes exhausted. Only the due escalations are
    /// read, each with its incident's facts: a round costs what is due, not what waits
    /// (the gateway ends the others with the change that settles them). Returns the
    /// escalations moved on (not those ended).
    pub async fn step(&self) -> Result<Vec<Escalation>, StoreError> {
        let now = self.clock.now();
        if let Some(gateway) = &self.deferrals {
            if let Err(e) = gateway.end_due_deferrals().await {
                tracing::error!(error = %e, "ending due deferrals failed");
            }
        }
        let mut due = Vec::new();
        for DueEscalation { escalation: e, incident } in self.store.due_for_watch(now, usize::MAX).await? {
            if !e.state.is_waiting() {
                continue;
            }
            match settled(&e, incident.as_ref()) {
                Some(reason) => {
                    end_escalation(&*self.store, &e.id, &reason, now).await?;
                }
                None if e.deadline.is_some_and(|d| d <= now) => due.push(e),
                None => {}
            }
        }
        let mut moved = Vec::new();
        for e in due {
            // The facts read above may be older than the incident: the change checks
            // them again, as its own transaction reads them, so an incident settled
            // since (resolved a moment ago) ends its escalation instead of paging.
            // Refused with the reason (the only error the change makes), then ended.
            let change = |e: &mut Escalation, facts: Option<&IncidentFacts>| -> Result<Vec<Delivery>, ModelError> {
                if let Some(reason) = settled(e, facts) {
                    return Err(ModelError::Conflict(reason));
                }
                Ok(match e.on_timeout(now) {
                    TimeoutOutcome::ReEscalated { attempt, .. } => notifications(e, attempt),
                    _ => Vec::new(),
                })
            };
            let after = match self.store.update_escalation(&e.id, now, &change, None).await {
                Ok(after) => after,
                Err(StoreError::Model(ModelError::Conflict(reason))) => {
                    end_escalation(&*self.store, &e.id, &reason, now).await?;
                    continue;
                }
                Err(err) => return Err(err),
            };
            if after.attempts.len() != e.attempts.len() || after.state != e.state {
                let outcome = if after.state.is_waiting() { "re_escalated" } else { "exhausted" };
                metrics::counter!("deskgate_escalations_total", "outcome" => outcome).increment(1);
                tracing::warn!(
                    escalation = %after.id, incident = %after.incident_id, contact = %after.current_contact().id,
                    outcome, "escalation not acknowledged in time"
                );
                moved.push(after);
            }
        }
        if !moved.is_empty() {
            self.wake.notify_one();
        }
        if let Some(gateway) = &self.reminders {
            if let Err(e) = gateway.remind_rcas().await {
                tracing::error!(error = %e, "reminding of root-cause analyses failed");
            }
        }
        Ok(moved)
    }

    /// Check every `self.every` until `shutdown` turns true.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>) {
        self.run_led(shutdown, crate::store::Leadership::always()).await
    }

    /// Like [`Watch::run`], checking only while `leadership` says this process
    /// leads: replicas sharing a store re-escalate once, not once each.
    pub async fn run_led(
        self: Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
        mut leadership: crate::store::Leadership,
    ) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            if leadership.is_leader() {
                // Stopped where it is when leadership goes: the new leader checks again.
                let stepped = tokio::select! {
                    stepped = self.step() => stepped,
                    () = leadership.lost() => Ok(Vec::new()),
                };
                if let Err(e) = stepped {
                    tracing::error!(error = %e, "checking escalation deadlines failed");
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(self.every) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// Why escalation `e` no longer calls for anyone, given its incident's facts
/// (`None`: the incident is not stored), if it does not.
fn settled(e: &Escalation, incident: Option<&IncidentFacts>) -> Option<String> {
    match incident {
        Some(facts) => facts.end_reason(),
        None => Some(format!("{} is not stored", e.incident_id)),
    }
}

/// The deadline of `e` on its ruleset's wall clock, for views.
pub fn local(e: &Escalation, at: Timestamp) -> String {
    at.to_zoned(e.decision.local.time_zone().clone()).to_string()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jiff::SignedDuration;

    use super::*;
    use crate::clock::TestClock;
    use crate::escalation::{Engine, EscalationState, testkit};
    use crate::model::{Change, DialectId, Priority, Status};
    use crate::store::{AuditEntry, AuditKind, Effects};

    /// A watch on `store` at `clock`'s time, with no gateway behind it (no deferrals,
    /// no reminders).
    pub(super) fn bare_watch(store: Arc<dyn Store>, clock: &TestClock) -> Watch {
        Watch {
            store,
            clock: Arc::new(clock.clone()),
            wake: Arc::default(),
            every: Duration::ZERO,
            deferrals: None,
            reminders: None,
        }
    }

    /// A P1 incident of region-h with escalation ESC-1 waiting, in a sled store at
    /// `clock`'s time: the store and the incident's id.
    async fn escalated(dir: &std::path::Path, clock: &TestClock) -> (Arc<dyn Store>, crate::model::IncidentId) {
        let store = crate::store::open(&crate::store::StoreConfig::sled(dir.to_owned())).unwrap();
        let engine = Engine::new(Arc::new(testkit::shipped().clone()), Arc::new(clock.clone()));
        let mut new = crate::model::testing::report("region-h", DialectId::Servicenow, "INC1");
        new.priority = Some(Priority::P1);
        let plan = |i: &mut Incident| Effects {
            changed: true,
            escalations: vec![engine.open("ESC-1", i.id.as_str(), "NSP", Priority::P1)],
            ..Effects::default()
        };
        let entry = AuditEntry::new(clock.now(), AuditKind::Submitted, "test");
        let created = store.create_incident(new, None, entry, clock.now(), &plan).await.unwrap();
        let id = created.incident().id.clone();
        (store, id)
    }

    /// The national desk resolves incident `id`, straight in the store (as the
    /// gateway's change does, without its ending of escalations after it).
    async fn resolve(store: &dyn Store, id: &crate::model::IncidentId, clock: &TestClock) {
        let national = crate::model::Actor { desk: "sds".parse().unwrap(), role: crate::model::Role::National };
        let now = clock.now();
        let resolve = |i: &mut Incident| {
            let changed = i.apply(&national, &Change { status: Some(Status::Resolved), ..Change::default() }, now)?;
            Ok(Effects { changed, ..Effects::default() })
        };
        store.update_incident(id, &resolve, AuditEntry::new(now, AuditKind::Updated, "test")).await.unwrap();
    }

    /// ESC-1 ended for its incident's resolution, with nobody paged.
    async fn ended_without_paging(store: &dyn Store) {
        let e = store.escalation("ESC-1").await.unwrap().unwrap();
        assert_eq!(e.state, EscalationState::Ended);
        assert!(e.ended.is_some_and(|end| end.reason.contains("resolved")));
        assert_eq!(e.attempts.len(), 1, "no next contact");
        assert!(store.outbox(10).await.unwrap().is_empty(), "no notification queued");
    }

    /// The gateway ends the escalations of a resolved incident after the change; if it
    /// did not get to (a crash in between), the watch ends them instead of paging.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn step_10_the_watch_ends_an_escalation_whose_incident_was_resolved_instead_of_paging() {
        let dir = tempfile::tempdir().unwrap();
        let clock = TestClock::at(testkit::local("2026-03-07T03:00"));
        let (store, id) = escalated(dir.path(), &clock).await;
        resolve(&*store, &id, &clock).await;

        let watch = bare_watch(store.clone(), &clock);
        clock.advance(SignedDuration::from_mins(45));
        assert!(watch.step().await.unwrap().is_empty(), "nobody paged");
        ended_without_paging(&*store).await;
    }

    /// An incident resolved after the watch read the due escalations, before it moved
    /// this one on: the move checks the incident as its own transaction reads it, so
    /// the escalation ends and the next contact is not paged for a resolved incident.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn step_10_an_incident_resolved_while_the_watch_ran_is_not_paged_for() {
        let dir = tempfile::tempdir().unwrap();
        let clock = TestClock::at(testkit::local("2026-03-07T03:00"));
        let (store, id) = escalated(dir.path(), &clock).await;
        let paused = Arc::new(crate::store::counting::Counting::new(store.clone(), false));
        let pause = paused.pause_after_watch_read();

        let watch = bare_watch(paused, &clock);
        clock.advance(SignedDuration::from_mins(45));
        let step = tokio::spawn(async move { watch.step().await });
        pause.reached.notified().await;
        resolve(&*store, &id, &clock).await;
        pause.resume.notify_one();
        assert!(step.await.unwrap().unwrap().is_empty(), "nobody paged");
        ended_without_paging(&*store).await;
    }
}
