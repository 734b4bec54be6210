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
