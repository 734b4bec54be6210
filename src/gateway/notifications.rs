//! What an escalation sends, as outbox deliveries: one per channel of the contact,
//! each in its own lane, and the stakeholder mail. Pure planning; the notifier
//! (`crate::notify`) carries them out.

use crate::config::Config;
use crate::escalation::{Channel, Contact, Escalation};
use crate::model::{DeskId, Incident};
use crate::outbox::{Action, Delivery};

/// The id of the escalation a change to `incident` opens: the incident's number and
/// the version the change produced, so each change opens at most one and a
/// transaction that runs twice opens the same one (`ESC-2026-000042-0003`).
pub fn escalation_id(incident: &Incident) -> String {
    let number = incident.id.as_str().trim_start_matches("INC-");
    format!("ESC-{number}-{:04}", incident.version)
}

/// The channels deskgate itself delivers to, with their index in the contact's
/// list; a contact without channels is mailed at its address.
pub fn deliverable(contact: &Contact) -> Vec<(usize, Channel)> {
    if contact.channels.is_empty() {
        return if contact.email.is_empty() {
            Vec::new()
        } else {
            vec![(0, Channel::Email { address: contact.email.clone() })]
        };
    }
    contact
        .channels
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c, Channel::Email { .. } | Channel::Webhook { .. } | Channel::Sms { .. }))
        .map(|(i, c)| (i, c.clone()))
        .collect()
}

/// Whether this configuration can deliver to `channel`: mail needs `[gateway.smtp]`,
/// a text `[gateway.sms]`; a webhook needs nothing more. A phone is for people.
pub fn can_deliver(config: &Config, channel: &Channel) -> bool {
    match channel {
        Channel::Email { .. } => config.gateway.smtp.is_some(),
        Channel::Sms { .. } => config.gateway.sms.is_some(),
        Channel::Webhook { .. } => true,
        Channel::Phone { .. } => false,
    }
}

/// The contacts nobody would reach: one line each, naming the contact and what its
/// channels need. Start-up refuses them unless `gateway.escalation.undeliverable = "warn"`.
pub fn undeliverable<'a>(config: &Config, contacts: impl IntoIterator<Item = &'a Contact>) -> Vec<String> {
    contacts
        .into_iter()
        .filter(|c| !deliverable(c).iter().any(|(_, channel)| can_deliver(config, channel)))
        .map(|c| {
            let kinds: Vec<&str> = deliverable(c)
                .iter()
                .map(|(_, channel)| match channel {
                    Channel::Email { .. } => "e-mail needs [gateway.smtp]",
                    Channel::Sms { .. } => "sms needs [gateway.sms]",
                    Channel::Webhook { .. } | Channel::Phone { .. } => "",
                })
                .filter(|k| !k.is_empty())
                .collect();
            let why =
                if kinds.is_empty() { "it has no e-mail, sms or webhook channel".to_owned() } else { kinds.join(", ") };
            format!("contact {} ({}) has no deliverable channel: {why}", c.id, c.name)
        })
        .collect()
}

/// The outbox lane of a contact's channel: a pseudo-desk `notify-<contact>-<n>`.
fn lane(contact: &str, channel: usize) -> DeskId {
    let mut slug: String = contact
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '-' })
        .collect();
    slug.truncate(48);
    format!("notify-{slug}-{channel}").parse().unwrap_or_else(|_| stakeholder_lane())
}

fn stakeholder_lane() -> DeskId {
    // A constant that satisfies the desk-id rules.
    "notify-stakeholders".parse().unwrap_or_else(|_| unreachable!("a valid desk id"))
}

/// The deliveries that notify the contact of `escalation`'s attempt `attempt` (1-based).
pub fn notifications(escalation: &Escalation, attempt: usize) -> Vec<Delivery> {
    let Some(contact) = attempt.checked_sub(1).and_then(|i| escalation.attempts.get(i)).map(|a| &a.contact) else {
        return Vec::new();
    };
    deliverable(contact)
        .into_iter()
        .map(|(channel, _)| Delivery {
            desk: lane(&contact.id, channel),
            action: Action::Notify { escalation: escalation.id.clone(), attempt, channel },
        })
        .collect()
}

/// The automatic stakeholder mail about a P1/P2, when stakeholders are configured.
pub fn stakeholder_mail(config: &Config, escalation: &Escalation) -> Option<Delivery> {
    (!config.gateway.escalation.stakeholders.is_empty()).then(|| Delivery {
        desk: stakeholder_lane(),
        action: Action::Stakeholders { escalation: escalation.id.clone() },
    })
}

/// Everything a newly opened escalation sends: the first contact, the stakeholders.
pub fn opened(config: &Config, escalation: &Escalation) -> Vec<Delivery> {
    let mut out = notifications(escalation, 1);
    out.extend(stakeholder_mail(config, escalation));
    out
}

/// Where a contact acknowledges: `{public_url}/api/v1/escalations/{id}/ack`
/// (without `public_url`, the listen address).
pub fn ack_url(config: &Config, escalation: &str) -> String {
    format!("{}/api/v1/escalations/{escalation}/ack", config.gateway.public_base(None))
}
