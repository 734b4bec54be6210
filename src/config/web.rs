//! The web sign-in settings of a desk's `auth`: the gateway's OpenID Connect client
//! at the desk's issuer (`oidc_client_id`, `oidc_client_secret` by secret reference).

use std::path::Path;

use super::{Env, Problem, SecretRef, resolve_secret};
use crate::secret::Secret;

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
