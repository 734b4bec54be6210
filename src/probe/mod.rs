//! `deskgate probe`: proves a desk's configured endpoint works as deskgate expects,
//! before go-live. This module owns the framework: the checks' results and their
//! printing ([`Report`]), the HTTP client that calls the desk with its configured
//! credentials and notes what every answer says about the server's clock and rate
//! limits ([`Http`]), the checks every dialect shares (clock skew, rate-limit
//! headers), and the workflow graph reachability is judged on ([`workflow`]).
//!
//! A dialect plugs its own checks in by implementing [`DeskProbe`] in
//! `src/dialects/<name>/probe.rs` and returning it from `Dialect::probe`.

pub mod http;
pub mod workflow;

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;

use crate::config::Desk;
use crate::mapping::DeskMapping;
use crate::model::Status;

pub use http::{Answer, Http};

/// What one check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    Warn,
    Fail,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Warn => "WARN",
            Outcome::Fail => "FAIL",
        }
    }
}

/// One check's line: its name, what was found and, for a WARN or FAIL, the fix.
#[derive(Clone, Debug)]
pub struct Check {
    pub outcome: Outcome,
    pub name: String,
    pub detail: String,
    pub fix: Option<String>,
}

/// Every check's result, in the order they ran.
#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn pass(&mut self, name: &str, detail: impl Into<String>) {
        self.push(Outcome::Pass, name, detail.into(), None);
    }

    pub fn warn(&mut self, name: &str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(Outcome::Warn, name, detail.into(), Some(fix.into()));
    }

    pub fn fail(&mut self, name: &str, detail: impl Into<String>, fix: impl Into<String>) {
        self.push(Outcome::Fail, name, detail.into(), Some(fix.into()));
    }

    fn push(&mut self, outcome: Outcome, name: &str, detail: String, fix: Option<String>) {
        self.checks.push(Check { outcome, name: name.to_owned(), detail, fix });
    }

    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.outcome == Outcome::Fail)
    }

    /// `PASS|WARN|FAIL  <check>  <detail>[ — fix: …]`, one line per check.
    pub fn render(&self) -> String {
        let width = self.checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let mut out = String::new();
        for c in &self.checks {
            let _ = write!(out, "{}  {:width$}  {}", c.outcome.label(), c.name, c.detail);
            if let Some(fix) = &c.fix {
                let _ = write!(out, " — fix: {fix}");
            }
            out.push('\n');
        }
        out
    }
}

/// What a dialect's checks are given: the desk, the client calling its endpoint,
/// the statuses its mapping uses, and whether writing a test ticket is allowed.
pub struct Probe<'a> {
    pub desk: &'a Desk,
    pub endpoint: &'a url::Url,
    pub http: &'a Http,
    pub mapping: &'a DeskMapping,
    /// `--write`: create a test ticket, walk it through every mapped status, cancel it.
    pub write: bool,
    /// The gateway's public URL, where the desk's pushes must go (if configured).
    pub public_url: Option<&'a url::Url>,
}

impl Probe<'_> {
    /// `desks.<id>.<key>`, for fixes that name a configuration key.
    pub fn key(&self, key: &str) -> String {
        format!("desks.{}.{key}", self.desk.id)
    }

    /// The remote status values the desk's mapping sets, one per canonical status
    /// that changes the ticket's status, in canonical order and without repeats.
    pub fn mapped_statuses(&self) -> Vec<(Status, String)> {
        let mut out: Vec<(Status, String)> = Vec::new();
        for status in Status::ALL {
            let outbound = self.mapping.status_fields(status, None, false);
            let Some(value) = outbound.fields().and_then(|f| f.status.clone()) else { continue };
            if !out.iter().any(|(_, v)| v.eq_ignore_ascii_case(&value)) {
                out.push((status, value));
            }
        }
        out
    }

    /// Where the desk's pushes are expected: `{public_url}/webhooks/{system}/{desk}`.
    pub fn push_path(&self) -> String {
        format!("/webhooks/{}/{}", self.desk.system, self.desk.id)
    }

    /// The whole address of [`Probe::push_path`], for a fix to quote: under the
    /// gateway's public URL, or a placeholder for it when none is configured.
    pub fn push_url(&self) -> String {
        let base = self.public_url.map_or("<gateway URL>".to_owned(), |u| u.as_str().trim_end_matches('/').to_owned());
        format!("{base}{}", self.push_path())
    }
}

pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// A dialect's own checks against a desk's endpoint; they add their lines to `report`.
pub trait DeskProbe: Sync {
    fn checks<'a>(&'a self, probe: &'a Probe<'a>, report: &'a mut Report) -> ProbeFuture<'a>;
}

/// Run the dialect's checks, then the shared ones on what its answers showed.
pub async fn run(probe: &Probe<'_>, dialect: &dyn DeskProbe) -> Report {
    let mut report = Report::default();
    dialect.checks(probe, &mut report).await;
    shared_checks(probe, &mut report);
    report
}

/// Skew beyond which a warning is given: polling watermarks and token lifetimes
/// tolerate this much.
const SKEW_WARN_SECS: i64 = 30;
/// Skew beyond which deskgate's timestamps (watermarks, JWT `exp`/`nbf`) misfire.
const SKEW_FAIL_SECS: i64 = 120;

fn shared_checks(probe: &Probe<'_>, report: &mut Report) {
    seen_checks(&probe.http.seen(), &probe.key("rate_limit.outbound_per_minute"), report);
}

/// The clock and rate-limit checks on what the answers showed; `limit_key` is the
/// desk's outbound limit key, for the fix.
fn seen_checks(seen: &http::Seen, limit_key: &str, report: &mut Report) {
    match seen.skew_secs {
        None => report.warn("clock", "no answer carried a Date header", "check the server's clock by hand (NTP)"),
        Some(s) if s.abs() > SKEW_FAIL_SECS => report.fail(
            "clock",
            format!("the server's clock is {s:+} s from this host's"),
            "synchronise the clocks of this host and the desk's server (NTP)",
        ),
        Some(s) if s.abs() > SKEW_WARN_SECS => report.warn(
            "clock",
            format!("the server's clock is {s:+} s from this host's"),
            "synchronise the clocks of this host and the desk's server (NTP)",
        ),
        Some(s) => report.pass("clock", format!("skew {s:+} s (Date header)")),
    }
    if seen.rate_limit_headers.is_empty() {
        report.warn(
            "rate-limit",
            format!("no rate-limit headers seen in {} answers", seen.answers),
            format!("ask the desk's administrators for its API limits and set {limit_key} below them"),
        );
    } else {
        report.pass("rate-limit", format!("seen: {}", seen.rate_limit_headers.join(", ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(skew: Option<i64>, headers: &[&str]) -> String {
        let seen = http::Seen {
            answers: 3,
            skew_secs: skew,
            rate_limit_headers: headers.iter().map(|h| (*h).to_owned()).collect(),
        };
        let mut report = Report::default();
        seen_checks(&seen, "desks.d.rate_limit.outbound_per_minute", &mut report);
        report.render()
    }

    #[test]
    fn clock_skew_warns_then_fails_and_rate_limit_headers_are_named() {
        assert!(lines(Some(-3), &[]).starts_with("PASS  clock       skew -3 s"), "{}", lines(Some(-3), &[]));
        assert!(lines(Some(45), &[]).starts_with("WARN  clock       the server's clock is +45 s"));
        assert!(lines(Some(-600), &[]).starts_with("FAIL  clock       the server's clock is -600 s"));
        assert!(lines(None, &[]).starts_with("WARN  clock"));
        let with = lines(Some(0), &["x-ratelimit-remaining=99", "retry-after=5"]);
        assert!(with.contains("PASS  rate-limit  seen: x-ratelimit-remaining=99, retry-after=5"), "{with}");
        let without = lines(Some(0), &[]);
        assert!(without.contains("WARN  rate-limit  no rate-limit headers seen in 3 answers — fix: ask"), "{without}");
        assert!(without.contains("desks.d.rate_limit.outbound_per_minute"), "{without}");
    }

    #[test]
    fn a_report_fails_only_with_a_fail() {
        let mut report = Report::default();
        report.pass("a", "fine");
        report.warn("b", "odd", "look");
        assert!(!report.failed());
        report.fail("c", "broken", "mend it");
        assert!(report.failed());
        assert!(report.render().ends_with("FAIL  c  broken — fix: mend it\n"), "{}", report.render());
    }
}
