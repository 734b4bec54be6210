//! Rate limits as configured: `[gateway.rate_limit]` (every desk's defaults) and a
//! desk's `rate_limit = { … }` (overrides key by key). The limiters are `crate::ratelimit`'s.

use serde::Deserialize;

use super::Problem;

/// The limits of one desk, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests a desk may make per minute, sustained.
    pub inbound_per_minute: u32,
    /// Requests a desk may make at once after being idle.
    pub inbound_burst: u32,
    /// Deliveries to a desk per minute, sustained.
    pub outbound_per_minute: u32,
    /// Deliveries to a desk at once after being idle; beyond it they are spaced.
    pub outbound_burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self { inbound_per_minute: 600, inbound_burst: 60, outbound_per_minute: 300, outbound_burst: 10 }
    }
}

/// `[gateway.rate_limit]` or a desk's `rate_limit = { … }` as written: every key optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitOverrides {
    pub inbound_per_minute: Option<u32>,
    pub inbound_burst: Option<u32>,
    pub outbound_per_minute: Option<u32>,
    pub outbound_burst: Option<u32>,
}

impl RateLimitOverrides {
    /// Every value given must be at least 1.
    pub fn check(&self, path: &str, problems: &mut Vec<Problem>) {
        let keys = [
            ("inbound_per_minute", self.inbound_per_minute),
            ("inbound_burst", self.inbound_burst),
            ("outbound_per_minute", self.outbound_per_minute),
            ("outbound_burst", self.outbound_burst),
        ];
        for (key, value) in keys {
            if value == Some(0) {
                problems.push(Problem { path: format!("{path}.{key}"), message: "expected at least 1".into() });
            }
        }
    }
}

impl RateLimit {
    /// These limits with the keys `o` sets replaced.
    pub fn with(self, o: &RateLimitOverrides) -> RateLimit {
        RateLimit {
            inbound_per_minute: o.inbound_per_minute.unwrap_or(self.inbound_per_minute),
            inbound_burst: o.inbound_burst.unwrap_or(self.inbound_burst),
            outbound_per_minute: o.outbound_per_minute.unwrap_or(self.outbound_per_minute),
            outbound_burst: o.outbound_burst.unwrap_or(self.outbound_burst),
        }
    }
}
