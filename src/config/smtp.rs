//! `[gateway.smtp]`: the mail server escalations, stakeholder mail and the journal
//! are sent through, checked at load (TLS mode, sender, login, password by secret
//! reference).

use std::path::Path;

use serde::Deserialize;

use super::{Env, Problem, Secret, SecretRef, resolve_secret};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SmtpFile {
    host: String,
    port: Option<u16>,
    /// The sender, e.g. `deskgate <deskgate@sds.example>`.
    from: String,
    username: Option<String>,
    password: Option<SecretRef>,
    /// `starttls` (default), `tls` (implicit TLS, port 465) or `none` (plain text;
    /// for a relay on the same host only).
    #[serde(default = "default_smtp_tls")]
    tls: String,
    #[serde(default = "default_smtp_timeout")]
    timeout_secs: u64,
}

fn default_smtp_tls() -> String {
    "starttls".into()
}
fn default_smtp_timeout() -> u64 {
    10
}

/// How the gateway talks to its mail server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    StartTls,
    Tls,
    None,
}

/// `[gateway.smtp]`, resolved: the password is a [`Secret`].
#[derive(Clone, Debug)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub from: String,
    /// User name and password, when the server wants a login.
    pub login: Option<(String, Secret)>,
    pub tls: SmtpTls,
    pub timeout_secs: u64,
}

/// `[gateway.smtp]`: the TLS mode and the login (user name and password together).
pub(super) fn resolve_smtp(m: SmtpFile, base_dir: &Path, env: &dyn Env, problems: &mut Vec<Problem>) -> Option<Smtp> {
    let before = problems.len();
    let tls = match m.tls.as_str() {
        "starttls" => SmtpTls::StartTls,
        "tls" => SmtpTls::Tls,
        "none" => SmtpTls::None,
        other => {
            problems.push(Problem {
                path: "gateway.smtp.tls".into(),
                message: format!("expected starttls, tls or none, got {other:?}"),
            });
            SmtpTls::StartTls
        }
    };
    if m.host.trim().is_empty() {
        problems.push(Problem { path: "gateway.smtp.host".into(), message: "expected a host name".into() });
    }
    if !m.from.contains('@') {
        problems.push(Problem {
            path: "gateway.smtp.from".into(),
            message: format!("expected a sender address like deskgate <deskgate@sds.example>, got {:?}", m.from),
        });
    }
    let login = match (m.username, m.password) {
        (Some(user), Some(password)) => {
            resolve_secret(&password, "gateway.smtp.password", base_dir, env, problems).map(|p| (user, p))
        }
        (None, None) => None,
        (Some(_), None) => {
            problems
                .push(Problem { path: "gateway.smtp.password".into(), message: "a username needs a password".into() });
            None
        }
        (None, Some(_)) => {
            problems
                .push(Problem { path: "gateway.smtp.username".into(), message: "a password needs a username".into() });
            None
        }
    };
    let port = m.port.unwrap_or(match tls {
        SmtpTls::StartTls => 587,
        SmtpTls::Tls => 465,
        SmtpTls::None => 25,
    });
    (problems.len() == before).then_some(Smtp {
        host: m.host,
        port,
        from: m.from,
        login,
        tls,
        timeout_secs: m.timeout_secs,
    })
}
