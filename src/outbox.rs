//! What the outbox holds: deliveries to remote desks, planned in the same transaction
//! as the change that caused them, and the dead letters of those that failed for good.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::model::{DeskId, IncidentId, Priority, Status};

/// What a remote desk must be told. The content is read from the incident when the
/// delivery runs; the action carries only the intent, so a delivery retried an hour
/// later still sends the incident as it was meant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Give the desk its own copy of the incident (national desk, assigned supplier).
    Create,
    /// Set the status. `resolution` travels with `resolved`.
    Status {
        status: Status,
        resolution: Option<String>,
    },
    Priority {
        priority: Priority,
    },
    /// Add the incident's note number `index`.
    Note {
        index: usize,
    },
    /// Record in this desk's ticket the ticket another desk holds (`with`).
    Link {
        #[schema(value_type = String)]
        with: DeskId,
    },
    /// Notify the contact of an escalation's attempt `attempt` (1 = the first
    /// contact) through that contact's channel number `channel` (e-mail or webhook).
    /// The lane is a pseudo-desk per contact and channel (`notify-…`), so a contact
    /// that cannot be reached never holds up the next one in the chain.
    Notify {
        escalation: String,
        attempt: usize,
        channel: usize,
    },
    /// The automatic mail about a P1/P2 to the configured stakeholders (step 5b).
    Stakeholders {
        escalation: String,
    },
    /// Attach the incident's attachment number `index` to the desk's copy (once:
    /// what each copy holds is remembered on the attachment).
    Attachment {
        index: usize,
    },
    /// Tell a supplier that is no longer party to the incident that its copy is no
    /// longer kept in step. The note names only the incident id: the supplier may no
    /// longer see anything else. Nothing is sent when the desk has no copy, or is a
    /// party again by the time the delivery runs.
    Unassigned {
        #[serde(default)]
        why: Unassigned,
    },
    /// Record in this desk's copies that incident `id` is a support request of this
    /// one (step 3): the parent's copy lists it, and the support request's copy, where
    /// the desk holds one, refers to the parent. Links carry global ids (idempotent).
    SupportRequest {
        #[schema(value_type = String)]
        id: IncidentId,
    },
    /// Mail the national desk (its contact address) that a supplier detected this
    /// incident itself (steps 18a/b), whether it affects users or not.
    DetectedMail,
    /// Journalise the closed incident's report and timeline in the configured sink
    /// (step 17); the lane is the pseudo-desk [`JOURNAL_LANE`]. The sink is written
    /// idempotently, so a delivery repeated after a crash journals once.
    Journal,
    /// Tell the operations supplier that another supplier (`solved_by`) writes the
    /// incident report, which it coordinates (step 12b): a note on its copy.
    Coordinate {
        #[schema(value_type = String)]
        solved_by: DeskId,
    },
    /// Show in the desk's copy until when a report is deferred (`until`, local wall
    /// clock), or that the deferral ended (`None`): a field where the desk's
    /// dialect has one, else a note (process step 3).
    Deferral {
        until: Option<String>,
    },
    /// Tell a person of the Mitz process (`[gateway.mitz]`, or the assignee's desk
    /// contact) of `alert`, by mail or, with `sms`, by text. The lane is a pseudo-desk
    /// per person and channel (`notify-mitz-…`).
    Alert {
        alert: Alert,
        to: AlertTo,
        #[serde(default)]
        sms: bool,
    },
}

/// What a Mitz-process notice is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Alert {
    /// An information-security incident (always to the security officer).
    Security,
    /// A calamity (to the service desk and the service level manager).
    Calamity,
    /// The root-cause analysis is due soon (to the assignee).
    RcaDue,
}

/// Who a Mitz-process notice goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertTo {
    SecurityOfficer,
    ServiceDesk,
    ServiceLevelManager,
    /// The contact of the assigned supplier's desk (`desks.<id>.contact`).
    Assignee,
}

impl AlertTo {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertTo::SecurityOfficer => "security-officer",
            AlertTo::ServiceDesk => "service-desk",
            AlertTo::ServiceLevelManager => "service-level-manager",
            AlertTo::Assignee => "assignee",
        }
    }
}

/// The lane of [`Action::Journal`] deliveries.
pub const JOURNAL_LANE: &str = "journal";

/// Why a supplier stopped being party to an incident.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unassigned {
    /// The national desk assigned the incident to another supplier (or to none).
    #[default]
    Reassigned,
    /// The incident became a further report of another incident, which the supplier
    /// works instead.
    SupportRequest,
    /// The supplier handed the incident on to another supplier (step 5b).
    HandedOn,
}

impl Action {
    pub fn describe(&self) -> String {
        match self {
            Action::Create => "create ticket".into(),
            Action::Status { status, .. } => format!("status → {status}"),
            Action::Priority { priority } => format!("priority → {priority}"),
            Action::Note { index } => format!("note #{}", index + 1),
            Action::Link { with } => format!("link to {with}'s ticket"),
            Action::Notify { escalation, attempt, channel } => {
                format!("notify {escalation} attempt {attempt} channel {}", channel + 1)
            }
            Action::Stakeholders { escalation } => format!("stakeholder mail for {escalation}"),
            Action::Attachment { index } => format!("attachment #{}", index + 1),
            Action::Unassigned { .. } => "note that the copy is no longer kept in step".into(),
            Action::SupportRequest { id } => format!("link support request {id}"),
            Action::DetectedMail => "mail the national desk of a supplier-detected incident".into(),
            Action::Journal => "journal the report and timeline".into(),
            Action::Coordinate { solved_by } => format!("ask to coordinate the report {solved_by} writes"),
            Action::Deferral { until: Some(until) } => format!("deferred until {until}"),
            Action::Deferral { until: None } => "deferral ended".into(),
            Action::Alert { alert, to, sms } => {
                format!("{alert:?} notice to the {} by {}", to.as_str(), if *sms { "sms" } else { "mail" })
            }
        }
    }
}

/// A planned delivery, before it has a place in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub desk: DeskId,
    pub action: Action,
}

/// A delivery waiting in the outbox. Deliveries to one desk about one incident (a
/// *lane*) go out in `seq` order; lanes are independent of each other.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutboxItem {
    pub seq: u64,
    #[schema(value_type = String)]
    pub incident: IncidentId,
    #[schema(value_type = String)]
    pub desk: DeskId,
    pub action: Action,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    pub attempts: u32,
    /// Not before this instant (backoff, `Retry-After`).
    #[schema(value_type = String)]
    pub not_before: Timestamp,
    pub last_error: Option<String>,
    /// The `x-request-id` of the desk request that caused this delivery, when there
    /// was one; sent to the remote desk as `X-Request-Id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl OutboxItem {
    /// `delivery` about `incident` as it first enters the outbox: untried and due at
    /// `now`, under sequence number `seq`.
    pub fn queued(
        seq: u64,
        incident: &IncidentId,
        delivery: &Delivery,
        now: Timestamp,
        request_id: Option<&str>,
    ) -> Self {
        Self {
            seq,
            incident: incident.clone(),
            desk: delivery.desk.clone(),
            action: delivery.action.clone(),
            created_at: now,
            attempts: 0,
            not_before: now,
            last_error: None,
            request_id: request_id.map(str::to_owned),
        }
    }

    /// The request id the remote desk sees for this delivery: the originating
    /// request's, else `deliver-<seq>`.
    pub fn correlation(&self) -> String {
        self.request_id.clone().unwrap_or_else(|| format!("deliver-{}", self.seq))
    }

    pub fn lane(&self) -> (IncidentId, DeskId) {
        (self.incident.clone(), self.desk.clone())
    }
}

/// A delivery that failed permanently or ran out of retries, with the remote's answer.
/// Its lane is held until the dead letter is replayed, so later changes do not
/// overtake it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DeadLetter {
    pub item: OutboxItem,
    #[schema(value_type = String)]
    pub failed_at: Timestamp,
    pub error: String,
    pub remote_status: Option<u16>,
    pub remote_body: Option<String>,
}
