//! People who sign in through the identity provider simulator: the provider with its
//! users, each desk's `auth` section (the API token secret and the OpenID client, both
//! as secret files), the gateway registered as each desk's client, and a sign-in in
//! the browser through the provider's login page.

use deskgate_sim::idp::{IdpClient, IdpConfig, IdpSim, IdpUser};
use serde_json::{Value, json};

use super::browser::Browser;
use super::federation::Federation;

/// The `name=value` of a `Set-Cookie` answer (not one that clears the cookie).
pub fn set_cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")) && !v.starts_with(&format!("{name}=;")))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

/// Where a redirect answer sends the browser.
pub fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// A provider and the secret files of the desks that sign in at it.
pub struct SignIn {
    pub idp: IdpSim,
    secrets: tempfile::TempDir,
}

/// The API token secret of a desk whose people sign in here.
pub fn api_secret(desk: &str) -> String {
    format!("{desk}-api-token-secret-of-32-bytes!!")
}

impl SignIn {
    /// A provider with these people, `(login, name, desk)`; each one's password is
    /// `<login>-password`.
    pub async fn start(people: &[(&str, &str, &str)]) -> SignIn {
        let users = people
            .iter()
            .map(|(login, name, desk)| IdpUser {
                login: (*login).into(),
                name: (*name).into(),
                desk: (*desk).into(),
                password: format!("{login}-password"),
            })
            .collect();
        let idp = IdpSim::spawn(IdpConfig { users, ..IdpConfig::default() }).await.unwrap();
        SignIn { idp, secrets: tempfile::tempdir().unwrap() }
    }

    fn file(&self, name: &str, value: &str) -> Value {
        let path = self.secrets.path().join(name);
        std::fs::write(&path, value).unwrap();
        json!({ "file": path })
    }

    /// `desk`'s `auth` section: API tokens from this provider's issuer signed with
    /// [`api_secret`], and the OpenID client `gw-<desk>`.
    pub fn auth(&self, desk: &str) -> Value {
        json!({
            "issuer": self.idp.issuer(), "algorithm": "HS256",
            "secret": self.file(&format!("{desk}-token"), &api_secret(desk)),
            "oidc_client_id": format!("gw-{desk}"),
            "oidc_client_secret": self.file(&format!("{desk}-oidc"), &format!("{desk}-client-secret")),
        })
    }

    /// The gateway `f` as the provider's client of each desk.
    pub fn register(&self, f: &Federation, desks: &[&str]) {
        for id in desks {
            self.idp.add_client(IdpClient {
                id: format!("gw-{id}"),
                secret: format!("{id}-client-secret"),
                redirect_uris: vec![f.url("/auth/callback")],
            });
        }
    }
}

/// Sign in as `login` of `desk` through the provider's login page; the page shown
/// after names the desk.
pub async fn sign_in(b: &Browser, f: &Federation, desk: &str, login: &str) {
    b.goto(&f.url(&format!("/login/{desk}"))).await;
    b.fill("username", login).await;
    b.fill("password", &format!("{login}-password")).await;
    b.click("sign-in").await;
    let Some(who) = b.text("who").await else { panic!("not signed in: {}", b.source().await) };
    assert!(who.contains(desk), "{who}");
}
