//! A desk as written (`[desks.<id>]`) and its resolution into [`Desk`]: auth,
//! credentials, client certificate pin, rate limits and the dialect's options, each
//! problem with its key path; and the federation checks across desks.

use super::*;
use crate::dialects::options::{CheckOptions, DeskFields};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ContactFile {
    name: String,
    email: Option<String>,
    phone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthFile {
    /// The `iss` of this desk's tokens.
    issuer: String,
    /// The one algorithm accepted from this desk.
    algorithm: String,
    /// HS* shared secret.
    secret: Option<SecretRef>,
    /// RS*/PS*/ES*/EdDSA public key, PEM.
    public_key: Option<SecretRef>,
    /// The `sub` this desk's tokens carry; defaults to the desk id.
    subject: Option<String>,
    /// The longest lifetime (`exp` − `iat`) a token of this desk may have.
    max_lifetime_secs: Option<u64>,
    /// The gateway's client at this issuer's OpenID provider, for people signing in
    /// to the web pages (both or neither).
    oidc_client_id: Option<String>,
    oidc_client_secret: Option<SecretRef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub(super) enum CredentialsFile {
    Basic { username: String, password: SecretRef },
    Bearer { token: SecretRef },
    OauthPassword { client_id: String, client_secret: SecretRef, username: String, password: SecretRef },
    OauthClientCredentials { client_id: String, client_secret: SecretRef },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DeskFile {
    name: String,
    role: Role,
    system: System,
    endpoint: Option<String>,
    #[serde(default)]
    services: Vec<String>,
    /// Organisations (the `org` claim) whose people this desk serves: callers from
    /// them who are not desks are referred here.
    #[serde(default)]
    organisations: Vec<String>,
    contact: Option<ContactFile>,
    auth: Option<AuthFile>,
    credentials: Option<CredentialsFile>,
    /// When set, this desk's requests must come over TLS with the client
    /// certificate of this SHA-256 fingerprint, besides carrying its JWT.
    client_cert_sha256: Option<String>,
    /// This desk's rate limits, where they differ from `[gateway.rate_limit]`.
    #[serde(default)]
    rate_limit: RateLimitOverrides,
    /// The largest file this desk may attach, in bytes (10 MB when not set).
    attachment_max_bytes: Option<u64>,
    /// Options for the system the desk runs (only the one matching `system`).
    servicenow: Option<ServiceNowOptions>,
    jira: Option<JiraOptions>,
    clearquest: Option<ClearQuestOptions>,
    /// The national desk's number for urgent cases (process step 3).
    urgent_phone: Option<String>,
    /// Suppliers this supplier may hand incidents on to or involve (steps 5b, 6).
    hand_on: Option<super::process::HandOnFile>,
}

pub(super) fn resolve_desk(
    id: DeskId,
    f: DeskFile,
    path: &str,
    base_dir: &Path,
    env: &dyn Env,
    problems: &mut Vec<Problem>,
) -> Option<Desk> {
    let before = problems.len();
    let endpoint = f.endpoint.as_deref().and_then(|e| match url::Url::parse(e) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
        _ => {
            problems.push(Problem {
                path: format!("{path}.endpoint"),
                message: format!("expected an http(s) URL, got {e:?}"),
            });
            None
        }
    });
    if f.system != System::Native && f.endpoint.is_none() && f.role != Role::Local {
        problems.push(Problem {
            path: format!("{path}.endpoint"),
            message: format!("a {} desk the gateway delivers to needs an endpoint", f.system.as_str()),
        });
    }
    if f.role == Role::Supplier && f.services.is_empty() {
        problems.push(Problem {
            path: format!("{path}.services"),
            message: "a supplier needs the services it is assigned, e.g. [\"FMK\"] or [\"*\"]".into(),
        });
    }
    let fields = DeskFields {
        system: f.system,
        endpoint_given: f.endpoint.is_some(),
        endpoint: endpoint.as_ref(),
        has_credentials: f.credentials.is_some(),
    };
    // Each dialect checks its own options; a desk may only have its system's.
    let dialect_options: [&dyn CheckOptions; 3] = [&f.servicenow, &f.jira, &f.clearquest];
    let mut found = Vec::new();
    for options in dialect_options {
        options.check_options(path, &fields, &mut found);
    }
    problems.extend(found.into_iter().map(|(path, message)| Problem { path, message }));
    let auth = f.auth.and_then(|a| {
        let apath = format!("{path}.auth");
        let algorithm = match a.algorithm.parse::<jsonwebtoken::Algorithm>() {
            Ok(alg) => alg,
            Err(_) => {
                problems.push(Problem {
                    path: format!("{apath}.algorithm"),
                    message: format!("expected one of HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA; got {:?}", a.algorithm),
                });
                return None;
            }
        };
        let symmetric = matches!(algorithm, jsonwebtoken::Algorithm::HS256 | jsonwebtoken::Algorithm::HS384 | jsonwebtoken::Algorithm::HS512);
        let key = match (symmetric, &a.secret, &a.public_key) {
            (true, Some(s), None) => resolve_secret(s, &format!("{apath}.secret"), base_dir, env, problems).map(KeyMaterial::Secret),
            (false, None, Some(k)) => resolve_secret(k, &format!("{apath}.public_key"), base_dir, env, problems)
                .map(|pem| KeyMaterial::PublicKeyPem(pem.expose().to_owned())),
            (true, _, _) => {
                problems.push(Problem { path: format!("{apath}.secret"), message: format!("{algorithm:?} needs a shared secret (and no public_key)") });
                None
            }
            (false, _, _) => {
                problems.push(Problem { path: format!("{apath}.public_key"), message: format!("{algorithm:?} needs a public key PEM (and no secret)") });
                None
            }
        }?;
        if let Err(e) = key.decoding_key(algorithm) {
            problems.push(Problem { path: format!("{apath}.public_key"), message: format!("not a usable {algorithm:?} key: {e}") });
            return None;
        }
        let max_lifetime_secs = a.max_lifetime_secs.unwrap_or(DEFAULT_MAX_TOKEN_LIFETIME_SECS);
        if max_lifetime_secs == 0 {
            problems.push(Problem { path: format!("{apath}.max_lifetime_secs"), message: "expected at least 1 (seconds)".into() });
            return None;
        }
        let oidc = super::web::oidc_client(&a.oidc_client_id, &a.oidc_client_secret, &apath, base_dir, env, problems);
        Some(DeskAuth {
            oidc,
            issuer: a.issuer,
            algorithm,
            key,
            subject: a.subject.unwrap_or_else(|| id.to_string()),
            max_lifetime_secs,
        })
    });
    let credentials = f.credentials.and_then(|c| {
        let cpath = format!("{path}.credentials");
        let mut s = |r: &SecretRef, key: &str| resolve_secret(r, &format!("{cpath}.{key}"), base_dir, env, problems);
        Some(match c {
            CredentialsFile::Basic { username, password } => {
                Credentials::Basic { username, password: s(&password, "password")? }
            }
            CredentialsFile::Bearer { token } => Credentials::Bearer { token: s(&token, "token")? },
            CredentialsFile::OauthPassword { client_id, client_secret, username, password } => {
                let client_secret = s(&client_secret, "client_secret");
                let password = s(&password, "password");
                Credentials::OauthPassword { client_id, client_secret: client_secret?, username, password: password? }
            }
            CredentialsFile::OauthClientCredentials { client_id, client_secret } => {
                Credentials::OauthClientCredentials { client_id, client_secret: s(&client_secret, "client_secret")? }
            }
        })
    });
    let client_cert_sha256 = f.client_cert_sha256.as_deref().and_then(|text| {
        tls::parse_fingerprint(text)
            .map_err(|message| problems.push(Problem { path: format!("{path}.client_cert_sha256"), message }))
            .ok()
    });
    f.rate_limit.check(&format!("{path}.rate_limit"), problems);
    let attachment_max_bytes =
        attachment_max_bytes(f.attachment_max_bytes, &format!("{path}.attachment_max_bytes"), problems);
    let jira_webhook_secret = f
        .jira
        .as_ref()
        .and_then(|j| j.webhook_secret.as_ref())
        .and_then(|r| resolve_secret(r, &format!("{path}.jira.webhook_secret"), base_dir, env, problems));
    let process = super::process::resolve(f.urgent_phone, f.hand_on, path, problems);
    (problems.len() == before).then(|| Desk {
        process,
        options: DialectOptions::of_system(f.system, f.servicenow, f.jira, jira_webhook_secret, f.clearquest),
        id,
        name: f.name,
        role: f.role,
        system: f.system,
        endpoint,
        services: f.services,
        organisations: f.organisations,
        contact: f.contact.map(|c| Contact { name: c.name, email: c.email, phone: c.phone }),
        auth,
        credentials,
        client_cert_sha256,
        rate_limit: f.rate_limit,
        attachment_max_bytes,
    })
}

/// The attachment limit: at least 1 byte, at most 100 MB (attachments are held
/// whole while they are checked and stored).
fn attachment_max_bytes(value: Option<u64>, path: &str, problems: &mut Vec<Problem>) -> u64 {
    const MAX: u64 = 100 * 1024 * 1024;
    match value {
        None => crate::model::attachment::DEFAULT_MAX_BYTES,
        Some(v) if (1..=MAX).contains(&v) => v,
        Some(v) => {
            problems.push(Problem { path: path.into(), message: format!("expected 1 to {MAX} bytes, found {v}") });
            crate::model::attachment::DEFAULT_MAX_BYTES
        }
    }
}

/// Rules about the set of desks as a whole.
pub(super) fn check_federation(desks: &BTreeMap<DeskId, Desk>, problems: &mut Vec<Problem>) {
    let national: Vec<_> = desks.values().filter(|d| d.role == Role::National).collect();
    if national.len() > 1 {
        problems.push(Problem {
            path: "desks".into(),
            message: format!(
                "exactly one national desk is expected, found {}",
                national.iter().map(|d| d.id.as_str()).collect::<Vec<_>>().join(", ")
            ),
        });
    }
    let mut subjects: HashMap<(&str, &str), &DeskId> = HashMap::new();
    for desk in desks.values() {
        if let Some(auth) = &desk.auth {
            if let Some(other) = subjects.insert((auth.issuer.as_str(), auth.subject.as_str()), &desk.id) {
                problems.push(Problem {
                    path: format!("desks.{}.auth.subject", desk.id),
                    message: format!(
                        "issuer {:?} and subject {:?} are already desk {other}'s",
                        auth.issuer, auth.subject
                    ),
                });
            }
        }
    }
}
