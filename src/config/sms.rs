//! `[gateway.sms]`: the HTTP SMS gateway escalations text people through, and what
//! `[gateway.escalation]` adds around the ruleset's contacts (the stakeholder list
//! from a secret, and what to do about a contact nobody can reach).

use std::path::Path;

use serde::Deserialize;

use super::{Env, Problem, Secret, SecretRef, resolve_secret};

/// The text sent when `body` is not configured. Placeholders: `{priority}`,
/// `{service}`, `{incident}`, `{title}`, `{contact}`, `{deadline}`, `{ack_url}`,
/// `{escalation}`.
pub const DEFAULT_SMS_BODY: &str =
    "deskgate {priority} {service} {incident}: {title}. Acknowledge before {deadline}: {ack_url}";

/// `[gateway.sms]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SmsFile {
    /// Where the SMS gateway takes a message: a JSON POST of `{"to", "body", "reference"}`.
    url: String,
    /// Sent as `Authorization: Bearer …`: a secret reference.
    token: Option<SecretRef>,
    /// The message text, with placeholders ([`DEFAULT_SMS_BODY`] without it).
    body: Option<String>,
    #[serde(default = "default_timeout")]
    timeout_secs: u64,
}

fn default_timeout() -> u64 {
    10
}

/// `[gateway.sms]`, resolved.
#[derive(Clone, Debug)]
pub struct Sms {
    pub url: String,
    pub token: Option<Secret>,
    pub body: String,
    pub timeout_secs: u64,
}

pub(super) fn resolve_sms(s: SmsFile, base_dir: &Path, env: &dyn Env, problems: &mut Vec<Problem>) -> Option<Sms> {
    let before = problems.len();
    match url::Url::parse(&s.url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
        _ => problems.push(Problem {
            path: "gateway.sms.url".into(),
            message: "expected an http(s) URL of the SMS gateway".into(),
        }),
    }
    let token = s.token.as_ref().and_then(|t| resolve_secret(t, "gateway.sms.token", base_dir, env, problems));
    let body = s.body.unwrap_or_else(|| DEFAULT_SMS_BODY.to_owned());
    if body.trim().is_empty() {
        problems.push(Problem { path: "gateway.sms.body".into(), message: "expected the message text".into() });
    }
    if s.timeout_secs == 0 {
        problems.push(Problem { path: "gateway.sms.timeout_secs".into(), message: "expected at least 1".into() });
    }
    (problems.len() == before).then_some(Sms { url: s.url, token, body, timeout_secs: s.timeout_secs })
}

/// `gateway.escalation.stakeholders_from`: a secret holding more stakeholder
/// addresses, separated by commas or new lines (the list names people, so it is kept
/// out of the configuration file like a secret).
pub(super) fn stakeholders_from(
    r: Option<&SecretRef>,
    base_dir: &Path,
    env: &dyn Env,
    problems: &mut Vec<Problem>,
) -> Vec<String> {
    let Some(r) = r else { return Vec::new() };
    let Some(secret) = resolve_secret(r, "gateway.escalation.stakeholders_from", base_dir, env, problems) else {
        return Vec::new();
    };
    let list: Vec<String> =
        secret.expose().split([',', '\n']).map(str::trim).filter(|a| !a.is_empty()).map(str::to_owned).collect();
    if list.is_empty() || list.iter().any(|a| !a.contains('@')) {
        // Never echo the list: it names people.
        problems.push(Problem {
            path: "gateway.escalation.stakeholders_from".into(),
            message: "expected e-mail addresses separated by commas".into(),
        });
        return Vec::new();
    }
    list
}

/// `gateway.escalation.undeliverable`: `fail` (the default) refuses to start when a
/// contact of the ruleset has no channel deskgate can deliver to; `warn` starts and
/// logs it loudly.
pub(super) fn check_undeliverable(value: &str, problems: &mut Vec<Problem>) {
    if !matches!(value, "fail" | "warn") {
        problems.push(Problem {
            path: "gateway.escalation.undeliverable".into(),
            message: format!("expected \"fail\" or \"warn\", got {value:?}"),
        });
    }
}
