//! `deskgate sim --config`: an OpenID provider for each issuer that desks sign
//! people in at (`auth.oidc_client_id`), when the issuer is on this machine
//! (loopback): the desks' clients registered with the gateway's callback, and one
//! test user per desk, printed with its password.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use deskgate_sim::idp::{IdpClient, IdpConfig, IdpSim, IdpUser};

use crate::config::{Config, Desk};

/// The test users' password.
pub const USER_PASSWORD: &str = "deskgate-sim";
/// What a client secret the environment does not set is, for the provider and the
/// gateway alike (printed, to be set in the gateway's environment).
pub const CLIENT_SECRET: &str = "deskgate-sim-client-secret";

pub(super) async fn identity_providers(
    config: &Config,
    unset: &str,
    lines: &mut Vec<String>,
) -> Result<Vec<Box<dyn std::any::Any + Send>>, String> {
    let mut by_issuer: BTreeMap<&str, Vec<&Desk>> = BTreeMap::new();
    for desk in config.desks.values() {
        if let Some(auth) = desk.auth.as_ref().filter(|a| a.oidc.is_some()) {
            by_issuer.entry(auth.issuer.as_str()).or_default().push(desk);
        }
    }
    let base = config.gateway.public_base(None);
    let port = config.gateway.listen.port();
    let callbacks = vec![
        format!("{base}/auth/callback"),
        format!("http://127.0.0.1:{port}/auth/callback"),
        format!("http://localhost:{port}/auth/callback"),
    ];
    let mut running: Vec<Box<dyn std::any::Any + Send>> = Vec::new();
    for (issuer, desks) in by_issuer {
        let Ok(url) = url::Url::parse(issuer) else { continue };
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        if !loopback || url.scheme() != "http" {
            lines.push(format!("openid      {issuer} is not on this machine (loopback, http): not simulated"));
            continue;
        }
        let mut idp = IdpConfig { issuer: Some(issuer.to_owned()), ..IdpConfig::default() };
        for desk in &desks {
            let Some(client) = desk.auth.as_ref().and_then(|a| a.oidc.as_ref()) else { continue };
            let secret = client.client_secret.expose();
            let secret = if secret == unset { CLIENT_SECRET } else { secret };
            idp.clients.push(IdpClient {
                id: client.client_id.clone(),
                secret: secret.to_owned(),
                redirect_uris: callbacks.clone(),
            });
            idp.users.push(IdpUser {
                login: format!("{}-reporter", desk.id),
                name: format!("Reporter at {}", desk.name),
                desk: desk.id.to_string(),
                password: USER_PASSWORD.to_owned(),
            });
        }
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), url.port_or_known_default().unwrap_or(80));
        let sim = IdpSim::spawn_on(addr, idp.clone()).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        lines.push(format!(
            "openid      {}  (auth.issuer of {})",
            sim.issuer(),
            desks.iter().map(|d| d.id.as_str()).collect::<Vec<_>>().join(", ")
        ));
        for (client, user) in idp.clients.iter().zip(&idp.users) {
            lines.push(format!(
                "            client {} / {}; user {} / {}",
                client.id, client.secret, user.login, user.password
            ));
        }
        running.push(Box::new(sim));
    }
    Ok(running)
}
