//! [`Decision`]: the answer to "who is contacted, and why", kept with an escalation
//! as proof. Plain data, shared by the engine that makes it and the record that keeps it.

use jiff::{SignedDuration, Timestamp, Zoned};
use serde::{Deserialize, Serialize};

use super::{Priority, rules::Contact};

/// The rule id recorded when no rule matched.
pub const DEFAULT_RULE: &str = "default";

/// The answer to "who is contacted for this incident, now, and why" — stored with
/// the escalation as proof.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Id of the rule that matched, or `default`.
    pub rule: String,
    /// Version of the ruleset that decided (see [`Ruleset::version`]).
    pub ruleset_version: String,
    pub service: String,
    pub priority: Priority,
    /// Who to contact first.
    pub contact: Contact,
    /// Who follows, in order, when a contact does not acknowledge in time.
    pub chain: Vec<Contact>,
    /// How long each contact has to acknowledge.
    pub ack_timeout: SignedDuration,
    /// The instant decided for.
    pub at: Timestamp,
    /// The same instant in the ruleset's zone: what the rules looked at.
    pub local: Zoned,
    /// The holiday the local date falls on, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holiday: Option<String>,
    /// One human-readable sentence saying why.
    pub reason: String,
}

impl Decision {
    /// True when no rule matched (the sweep makes this impossible for P1/P2).
    pub fn is_default(&self) -> bool {
        self.rule == DEFAULT_RULE
    }
}
