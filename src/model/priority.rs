//! Canonical priority P1–P4 and the urgency/impact levels reporters give.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ModelError;

/// NSP priority. P1 is the most urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::P1, Priority::P2, Priority::P3, Priority::P4];

    /// P1 and P2 are escalated to a person (DESIGN §6) and need an approved incident
    /// report before they can close.
    pub fn is_major(self) -> bool {
        matches!(self, Priority::P1 | Priority::P2)
    }

    /// Position in [`Priority::ALL`], for per-priority tables.
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::P1 => "P1",
            Priority::P2 => "P2",
            Priority::P3 => "P3",
            Priority::P4 => "P4",
        }
    }

    /// The ServiceNow rule: `priority = min(5, impact + urgency − 1)`, with 4 and 5 both P4.
    pub fn from_impact_urgency(impact: Level, urgency: Level) -> Priority {
        match impact.rank() + urgency.rank() - 1 {
            1 => Priority::P1,
            2 => Priority::P2,
            3 => Priority::P3,
            _ => Priority::P4,
        }
    }
}

impl FromStr for Priority {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "P1" => Ok(Priority::P1),
            "P2" => Ok(Priority::P2),
            "P3" => Ok(Priority::P3),
            "P4" => Ok(Priority::P4),
            _ => Err(ModelError::invalid("priority", "one of P1, P2, P3, P4")),
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Urgency or impact as reported: high, medium or low (ServiceNow 1, 2, 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    High,
    Medium,
    Low,
}

impl Level {
    /// ServiceNow's numeric value: 1 high … 3 low.
    pub fn rank(self) -> u8 {
        match self {
            Level::High => 1,
            Level::Medium => 2,
            Level::Low => 3,
        }
    }

    pub fn from_rank(rank: u8) -> Option<Level> {
        match rank {
            1 => Some(Level::High),
            2 => Some(Level::Medium),
            3 => Some(Level::Low),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servicenow_priority_matrix() {
        use Level::*;
        let cases = [
            (High, High, Priority::P1),
            (High, Medium, Priority::P2),
            (Medium, High, Priority::P2),
            (High, Low, Priority::P3),
            (Medium, Medium, Priority::P3),
            (Medium, Low, Priority::P4),
            (Low, Low, Priority::P4),
        ];
        for (impact, urgency, want) in cases {
            assert_eq!(Priority::from_impact_urgency(impact, urgency), want, "{impact:?}×{urgency:?}");
        }
    }

    #[test]
    fn priorities_parse_case_insensitively_and_only_p1_to_p4() {
        assert_eq!("p2".parse::<Priority>().unwrap(), Priority::P2);
        assert!("P5".parse::<Priority>().is_err());
        assert!(Priority::P2.is_major() && !Priority::P3.is_major());
    }
}
