//! How a report that gives no priority is classified (process step 3): the reported
//! urgency × impact, read from a configured matrix (`[gateway.classification]`),
//! by default the ITIL matrix. The result is a suggestion: the incident says its
//! priority was classified until the national desk sets one.

use serde::Deserialize;

use super::{Level, Priority};

/// One urgency's row: its priority for each impact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpactRow {
    pub high: Priority,
    pub medium: Priority,
    pub low: Priority,
}

/// Urgency (rows) × impact (columns) → priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Classification {
    pub high: ImpactRow,
    pub medium: ImpactRow,
    pub low: ImpactRow,
}

impl Default for Classification {
    /// The ITIL matrix (the same as ServiceNow's `impact + urgency − 1`).
    fn default() -> Self {
        use Priority::*;
        Classification {
            high: ImpactRow { high: P1, medium: P2, low: P3 },
            medium: ImpactRow { high: P2, medium: P3, low: P4 },
            low: ImpactRow { high: P3, medium: P4, low: P4 },
        }
    }
}

impl Classification {
    pub fn classify(&self, urgency: Level, impact: Level) -> Priority {
        let row = match urgency {
            Level::High => &self.high,
            Level::Medium => &self.medium,
            Level::Low => &self.low,
        };
        match impact {
            Level::High => row.high,
            Level::Medium => row.medium,
            Level::Low => row.low,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_the_itil_matrix() {
        let m = Classification::default();
        for u in [Level::High, Level::Medium, Level::Low] {
            for i in [Level::High, Level::Medium, Level::Low] {
                assert_eq!(m.classify(u, i), Priority::from_impact_urgency(i, u), "{u:?}×{i:?}");
            }
        }
    }

    #[test]
    fn a_configured_row_replaces_its_default() {
        let m: Classification = toml::from_str("low = { high = \"P2\", medium = \"P3\", low = \"P4\" }").unwrap();
        assert_eq!(m.classify(Level::Low, Level::High), Priority::P2);
        assert_eq!(m.classify(Level::High, Level::High), Priority::P1);
        assert!(toml::from_str::<Classification>("low = { high = \"P5\", medium = \"P3\", low = \"P4\" }").is_err());
    }
}
