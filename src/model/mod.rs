//! The canonical incident model (DESIGN §2) and its rules.
//!
//! Every dialect maps to and from these types; nothing here knows a wire format.
//! Values are parsed into newtypes at the edge ([`ids`], [`Priority`], [`Status`],
//! [`Title`], …) so the rest of the gateway never handles raw strings, and every rule
//! about what may change — the status state machine, who may change what, the P1/P2
//! close guard, the patient-data ban — lives in [`incident`].

pub mod attachment;
pub mod category;
pub mod classification;
pub mod dialect;
mod hand_on;
pub mod ids;
pub mod incident;
pub mod patient_data;
pub mod priority;
pub mod process;
pub mod status;
pub mod support;
#[cfg(test)]
pub(crate) mod testing;

pub use attachment::Attachment;
pub use category::{Calamity, CalamityCriterion, Category, Classify, Rca};
pub use classification::Classification;
pub use dialect::DialectId;
pub use ids::{DeskId, IncidentId, Service, TicketId};
pub use incident::report::{Report, ReportPolicy, ReportState, ReportStep, Signoff, parse_person};
pub use incident::*;
pub use priority::{Level, Priority};
pub use process::{HoldReason, ProcessProfile, ProcessState};
pub use status::Status;
pub use support::SupportRequests;

/// A value that does not fit the model, or a change the rules do not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A field's value is malformed: `expected` says what would have been accepted.
    #[error("{field}: expected {expected}")]
    Invalid { field: &'static str, expected: &'static str },
    /// Text that contains a patient identifier. The value itself is deliberately not kept.
    #[error("{field} contains {} — patient data must never be sent to the gateway; remove it and resubmit", .kind.describe())]
    PatientData { field: &'static str, kind: patient_data::PatientIdentifier },
    /// The status workflow does not allow this step.
    #[error("status cannot change from {from} to {to}")]
    IllegalTransition { from: Status, to: Status },
    /// The step is allowed by the workflow but a precondition is missing.
    #[error("{0}")]
    Conflict(String),
    /// The desk may not make this change.
    #[error("{0}")]
    Forbidden(String),
    /// A value larger than the caller may send (an attachment over the desk's limit).
    #[error("{field}: larger than the limit of {limit} bytes; nothing was stored")]
    TooLarge { field: &'static str, limit: u64 },
    /// The incident already holds as many of `field` as it may.
    #[error("{field}: this incident already holds {limit} {field}, the most it may hold; nothing was added")]
    Full { field: &'static str, limit: usize },
}

impl ModelError {
    /// The desk is not party to the incident it names. The gateway answers it as
    /// "not found": that the incident exists is not that desk's to know.
    pub const NOT_PARTY: ModelError =
        ModelError::Invalid { field: "id", expected: "an incident this desk is party to" };

    pub fn invalid(field: &'static str, expected: &'static str) -> Self {
        Self::Invalid { field, expected }
    }

    /// The field this error is about, if it is about one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            ModelError::Invalid { field, .. }
            | ModelError::PatientData { field, .. }
            | ModelError::Full { field, .. }
            | ModelError::TooLarge { field, .. } => Some(field),
            ModelError::IllegalTransition { .. } => Some("status"),
            ModelError::Conflict(_) | ModelError::Forbidden(_) => None,
        }
    }
}
