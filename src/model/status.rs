//! The canonical status and its state machine (DESIGN §4).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ModelError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Assigned,
    InProgress,
    AwaitingInfo,
    OnHold,
    PendingRelease,
    Resolved,
    Closed,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::New,
        Status::Assigned,
        Status::InProgress,
        Status::AwaitingInfo,
        Status::OnHold,
        Status::PendingRelease,
        Status::Resolved,
        Status::Closed,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Assigned => "assigned",
            Status::InProgress => "in_progress",
            Status::AwaitingInfo => "awaiting_info",
            Status::OnHold => "on_hold",
            Status::PendingRelease => "pending_release",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }

    /// Closed and cancelled incidents never change status again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Closed | Status::Cancelled)
    }

    /// Whether the workflow allows going from `self` to `to`. Staying put is always
    /// allowed (a no-op), so replays of the same update are harmless.
    ///
    /// The rules: work can move freely between the open states; only a resolved
    /// incident can be closed (resolution first, then the report guard, then close);
    /// a resolved incident can be reopened; closed and cancelled are final.
    pub fn can_become(self, to: Status) -> bool {
        use Status::*;
        if self == to {
            return true;
        }
        match self {
            Closed | Cancelled => false,
            Resolved => matches!(to, Closed | InProgress | Assigned),
            New | Assigned | InProgress | AwaitingInfo | OnHold | PendingRelease => {
                !matches!(to, Closed | New) || (to == New && self == Assigned)
            }
        }
    }
}

impl FromStr for Status {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s.trim())
            .ok_or_else(|| {
                ModelError::invalid(
                    "status",
                    "one of new, assigned, in_progress, awaiting_info, on_hold, pending_release, resolved, closed, cancelled",
                )
            })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Status::*;
    use super::*;

    #[test]
    fn terminal_states_are_final() {
        for from in [Closed, Cancelled] {
            for to in Status::ALL {
                assert_eq!(from.can_become(to), from == to, "{from} → {to}");
            }
        }
    }

    #[test]
    fn only_resolved_incidents_close() {
        for from in Status::ALL {
            let allowed = from.can_become(Closed);
            assert_eq!(allowed, matches!(from, Resolved | Closed), "{from} → closed");
        }
    }

    #[test]
    fn open_work_moves_freely_and_can_be_resolved_or_cancelled() {
        for from in [New, Assigned, InProgress, AwaitingInfo, OnHold, PendingRelease] {
            for to in [Assigned, InProgress, AwaitingInfo, OnHold, PendingRelease, Resolved, Cancelled] {
                assert!(from.can_become(to), "{from} → {to}");
            }
        }
        assert!(Resolved.can_become(InProgress), "reopen");
        assert!(!Resolved.can_become(Cancelled));
        assert!(!InProgress.can_become(New));
    }

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.as_str()));
        }
    }
}
