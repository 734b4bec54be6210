//! The web pages' settings: a desk's sign-in (the gateway's OpenID Connect client at
//! the desk's issuer: `auth.oidc_client_id`, `auth.oidc_client_secret` by secret
//! reference) and `[gateway.web]` (the report form's projects and applications).

use std::path::Path;

use serde::Deserialize;

use super::{Env, Problem, SecretRef, resolve_secret};
use crate::model::Service;
use crate::secret::Secret;

/// `[gateway.web]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WebFile {
    #[serde(default)]
    applications: Vec<ApplicationFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplicationFile {
    project: String,
    application: String,
    service: String,
}

/// One choice under the report form's problem type "Application": a project, one of
/// its applications, and the service an incident about it is filed under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Application {
    pub project: String,
    pub application: String,
    pub service: Service,
}

/// `[gateway.web]`, resolved.
#[derive(Clone, Debug, Default)]
pub struct WebSettings {
    /// In the file's order; without any, the form offers no "Application" type.
    pub applications: Vec<Application>,
}

/// Each entry named, with a service, once; each problem with its key path.
pub(super) fn resolve(file: Option<WebFile>, problems: &mut Vec<Problem>) -> WebSettings {
    let mut applications: Vec<Application> = Vec::new();
    for (n, a) in file.unwrap_or_default().applications.into_iter().enumerate() {
        let path = format!("gateway.web.applications[{n}]");
        let mut ok = true;
        for (key, value) in [("project", &a.project), ("application", &a.application)] {
            if value.trim().is_empty() || value.chars().any(char::is_control) {
                problems.push(Problem { path: format!("{path}.{key}"), message: "expected a name on one line".into() });
                ok = false;
            }
        }
        let service = match a.service.parse::<Service>() {
            Ok(s) => Some(s),
            Err(e) => {
                problems.push(Problem { path: format!("{path}.service"), message: format!("expected a service: {e}") });
                None
            }
        };
        if applications.iter().any(|b| b.project == a.project && b.application == a.application) {
            problems.push(Problem {
                path: format!("{path}.application"),
                message: format!("{:?} of project {:?} is listed twice", a.application, a.project),
            });
            ok = false;
        }
        if let Some(service) = service.filter(|_| ok) {
            applications.push(Application { project: a.project, application: a.application, service });
        }
    }
    WebSettings { applications }
}

/// The gateway as a relying party of a desk's OpenID provider.
#[derive(Clone, Debug)]
pub struct OidcClient {
    pub client_id: String,
    pub client_secret: Secret,
}

/// Both keys or neither; each problem with its key path.
pub(super) fn oidc_client(
    client_id: &Option<String>,
    client_secret: &Option<SecretRef>,
    apath: &str,
    base_dir: &Path,
    env: &dyn Env,
    problems: &mut Vec<Problem>,
) -> Option<OidcClient> {
    match (client_id, client_secret) {
        (None, None) => None,
        (Some(id), Some(secret)) => {
            if id.trim().is_empty() {
                problems.push(Problem {
                    path: format!("{apath}.oidc_client_id"),
                    message: "expected the client id registered at the issuer, got an empty string".into(),
                });
                return None;
            }
            let client_secret =
                resolve_secret(secret, &format!("{apath}.oidc_client_secret"), base_dir, env, problems)?;
            Some(OidcClient { client_id: id.clone(), client_secret })
        }
        (Some(_), None) => {
            problems.push(Problem {
                path: format!("{apath}.oidc_client_secret"),
                message: "expected a secret reference (oidc_client_id is set)".into(),
            });
            None
        }
        (None, Some(_)) => {
            problems.push(Problem {
                path: format!("{apath}.oidc_client_id"),
                message: "expected the client id registered at the issuer (oidc_client_secret is set)".into(),
            });
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{Config, MapEnv};

    fn federation(auth_extra: &str) -> String {
        format!(
            r#"
            [gateway]
            listen = "127.0.0.1:0"

            [desks.portal]
            name = "Portal"
            role = "local"
            system = "native"
            auth = {{ issuer = "http://127.0.0.1:9", algorithm = "HS256", secret = {{ env = "T_P" }}{auth_extra} }}
            "#
        )
    }

    fn env() -> MapEnv {
        MapEnv::new(false).with("T_P", "portal-secret").with("T_OIDC", "client-secret")
    }

    #[test]
    fn the_forms_applications_load_and_each_bad_entry_is_named_by_its_key_path() {
        let web = r#"
            [gateway.web]
            applications = [
                { project = "HD4DP", application = "HD4DP v2 Local", service = "hd4dp" },
                { project = "HD4DP", application = "", service = "HD4DP" },
                { project = "HD4DP", application = "HD4DP v2 Local", service = "HD4DP" },
                { project = "healthstat.be", application = "Dashboards", service = "" },
            ]
        "#;
        let text = federation("").replacen("[desks.portal]", &format!("{web}\n[desks.portal]"), 1);
        let problems = Config::from_toml(&text, Path::new("."), &env()).unwrap_err();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "gateway.web.applications[1].application",
                "gateway.web.applications[2].application",
                "gateway.web.applications[3].service"
            ],
            "{problems:?}"
        );
        let unknown = federation("").replacen(
            "[desks.portal]",
            "[gateway.web]\napplications = [{ project = \"P\", app = \"A\", service = \"S\" }]\n[desks.portal]",
            1,
        );
        let problems = Config::from_toml(&unknown, Path::new("."), &env()).unwrap_err();
        assert!(problems.iter().any(|p| p.path.starts_with("gateway.web.applications")), "{problems:?}");

        let good = federation("").replacen(
            "[desks.portal]",
            "[gateway.web]\napplications = [{ project = \"HD4DP\", application = \"Local\", service = \"hd4dp\" }]\n[desks.portal]",
            1,
        );
        let c = Config::from_toml(&good, Path::new("."), &env()).unwrap();
        let a = &c.gateway.web.applications[0];
        assert_eq!((a.project.as_str(), a.application.as_str(), a.service.as_str()), ("HD4DP", "Local", "HD4DP"));
    }

    #[test]
    fn a_desks_openid_client_loads_with_its_secret() {
        let text = federation(r#", oidc_client_id = "deskgate", oidc_client_secret = { env = "T_OIDC" }"#);
        let c = Config::from_toml(&text, Path::new("."), &env()).unwrap();
        let oidc = c.desks.values().next().unwrap().auth.as_ref().unwrap().oidc.as_ref().unwrap();
        assert_eq!((oidc.client_id.as_str(), oidc.client_secret.expose()), ("deskgate", "client-secret"));
    }

    #[test]
    fn half_an_openid_client_or_an_unset_secret_is_named_by_its_key_path() {
        for (extra, path) in [
            (r#", oidc_client_id = "deskgate""#, "desks.portal.auth.oidc_client_secret"),
            (r#", oidc_client_secret = { env = "T_OIDC" }"#, "desks.portal.auth.oidc_client_id"),
            (r#", oidc_client_id = " ", oidc_client_secret = { env = "T_OIDC" }"#, "desks.portal.auth.oidc_client_id"),
            (
                r#", oidc_client_id = "deskgate", oidc_client_secret = { env = "T_NONE" }"#,
                "desks.portal.auth.oidc_client_secret",
            ),
        ] {
            let problems = Config::from_toml(&federation(extra), Path::new("."), &env()).unwrap_err();
            assert!(problems.iter().any(|p| p.path == path), "{extra}: {problems:?}");
        }
    }
}
