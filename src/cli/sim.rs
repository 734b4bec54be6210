//! `deskgate sim --config FILE`: simulators standing in for every desk system a
//! gateway configuration names, so the whole federation can run without one.
//!
//! Desks whose endpoints share a host and port share one simulator, which hosts
//! each of their projects (Jira) or databases (ClearQuest). An endpoint on an IP
//! address or `localhost` is served where it points (port 0: a free one); one on
//! another host name cannot be bound here, so its simulator takes a free loopback
//! port and the banner says which endpoint it stands in for. User names come from
//! the desks' credentials; passwords and tokens are each simulator's fixed test
//! values, printed for the gateway's environment. The configuration's own secrets
//! need not be set: the simulators never use them, except a Jira desk's webhook
//! secret when it is set, so their webhooks reach the gateway signed.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::response::IntoResponse;
use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};
use deskgate_sim::jira::{JiraProfile, JiraSim, JiraSimConfig, JiraWebhookTarget};
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};
use tower::ServiceExt;

use crate::config::{Config, Credentials, Desk, Env, System};
use crate::dialects::jira::options::JiraDeployment;

/// What a secret the environment does not set reads as while the configuration is
/// loaded here: the simulators need none of them, and must not fail for want of one.
const UNSET: &str = "deskgate-sim: not set in the environment of deskgate sim";

/// The process environment, with every variable it lacks read as [`UNSET`].
struct SimEnv;

impl Env for SimEnv {
    fn var(&self, name: &str) -> Option<String> {
        Some(std::env::var(name).unwrap_or_else(|_| UNSET.to_owned()))
    }
    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars().collect()
    }
}

/// Where one simulator listens, and which endpoint it stands in for.
#[derive(Clone, Debug)]
struct Place {
    /// `Some` when the endpoint's host can be bound here.
    bind: Option<SocketAddr>,
    /// The endpoint's host and port, shared by the desks of one simulator.
    host: String,
    port: u16,
    /// The endpoint's path, where the simulator's routes are mounted.
    path: String,
}

impl Place {
    fn of(endpoint: &url::Url) -> Place {
        let host = endpoint.host_str().unwrap_or_default().to_owned();
        let port = endpoint.port_or_known_default().unwrap_or(0);
        let ip = match endpoint.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            _ => None,
        };
        let path = endpoint.path().trim_end_matches('/').to_owned();
        Place { bind: ip.map(|ip| SocketAddr::new(ip, port)), host, port, path }
    }
}

/// The desks one simulator serves: one system, one endpoint host and port.
struct Group<'a> {
    system: System,
    place: Place,
    desks: Vec<&'a Desk>,
}

/// Desks with an endpoint, grouped by where their system listens.
fn groups(config: &Config) -> Result<Vec<Group<'_>>, String> {
    let mut by_place: BTreeMap<(String, u16), Group<'_>> = BTreeMap::new();
    for desk in config.desks.values() {
        let Some(endpoint) = &desk.endpoint else { continue };
        let place = Place::of(endpoint);
        let key = (place.host.to_ascii_lowercase(), place.port);
        match by_place.get_mut(&key) {
            // Port 0 asks for a free port: each such desk gets its own.
            Some(group) if place.port != 0 => {
                if group.system != desk.system {
                    return Err(format!(
                        "desks.{}.endpoint: {endpoint} is also desk {}'s {} endpoint; one port serves one system",
                        desk.id,
                        group.desks.first().map_or("", |d| d.id.as_str()),
                        group.system.as_str()
                    ));
                }
                group.desks.push(desk);
            }
            _ => {
                let key = if place.port == 0 { (format!("{}#{}", key.0, desk.id), 0) } else { key };
                by_place.insert(key, Group { system: desk.system, place, desks: vec![desk] });
            }
        }
    }
    Ok(by_place.into_values().collect())
}

/// The user name a desk's credentials give, if any.
fn user_of(desk: &Desk) -> Option<&str> {
    match desk.credentials.as_ref()? {
        Credentials::Basic { username, .. } | Credentials::OauthPassword { username, .. } => Some(username),
        Credentials::Bearer { .. } | Credentials::OauthClientCredentials { .. } => None,
    }
}

/// The one value the desks of a group agree on, or an error naming the key.
fn agreed<'a>(
    desks: &[&'a Desk],
    key: &str,
    value: impl Fn(&'a Desk) -> Option<&'a str>,
) -> Result<Option<&'a str>, String> {
    let mut found: Option<(&Desk, &str)> = None;
    for desk in desks {
        let Some(v) = value(desk) else { continue };
        match found {
            Some((first, seen)) if seen != v => {
                return Err(format!(
                    "desks.{}.{key}: {v:?} differs from desk {}'s {seen:?}, and both desks call one simulator",
                    desk.id, first.id
                ));
            }
            _ => found = Some((desk, v)),
        }
    }
    Ok(found.map(|(_, v)| v))
}

fn ids(desks: &[&Desk]) -> String {
    desks.iter().map(|d| d.id.as_str()).collect::<Vec<_>>().join(", ")
}

/// A started simulator, kept alive while it serves: dropping one stops it.
type Running = Box<dyn std::any::Any + Send>;

async fn servicenow(group: &Group<'_>, lines: &mut Vec<String>) -> Result<(Running, Router), String> {
    let mut config = ServiceNowSimConfig::default();
    if let Some(user) = agreed(&group.desks, "credentials.username", user_of)? {
        config.user = user.to_owned();
    }
    let client_id = agreed(&group.desks, "credentials.client_id", |d| match d.credentials.as_ref() {
        Some(Credentials::OauthPassword { client_id, .. } | Credentials::OauthClientCredentials { client_id, .. }) => {
            Some(client_id.as_str())
        }
        _ => None,
    })?;
    if let Some(id) = client_id {
        config.oauth_client_id = id.to_owned();
    }
    let sim = ServiceNowSim::spawn(config).await.map_err(|e| format!("cannot start a ServiceNow simulator: {e}"))?;
    let c = sim.config();
    lines.push(format!("            basic {} / {}", c.user, c.password));
    lines.push(format!("            oauth client {} / {}", c.oauth_client_id, c.oauth_client_secret));
    let router = sim.router();
    Ok((Box::new(sim), router))
}

async fn jira(config: &Config, group: &Group<'_>, lines: &mut Vec<String>) -> Result<(Running, Router), String> {
    let jira_desks: Vec<_> = group.desks.iter().filter_map(|d| Some((*d, d.jira()?))).collect();
    let cloud = jira_desks.iter().filter(|(_, o)| o.deployment() == JiraDeployment::Cloud).count();
    if cloud != 0 && cloud != jira_desks.len() {
        return Err(format!(
            "desks {}: Jira Cloud and Data Center desks call one endpoint; one simulator is one product",
            ids(&group.desks)
        ));
    }
    let mut sim_config = if cloud > 0 { JiraSimConfig::cloud() } else { JiraSimConfig::default() };
    sim_config.projects.clear();
    for (_, options) in &jira_desks {
        let key = options.project.to_uppercase();
        if !sim_config.projects.contains(&key) {
            sim_config.projects.push(key);
        }
    }
    for (_, options) in &jira_desks {
        if let Some(issue_type) = &options.issue_type {
            if !sim_config.issue_types.iter().any(|t| t.eq_ignore_ascii_case(issue_type)) {
                sim_config.issue_types.push(issue_type.clone());
            }
        }
        for field in [&options.correlation_field, &options.link_field, &options.service_field].into_iter().flatten() {
            if !sim_config.custom_fields.iter().any(|(id, _)| id == field) {
                sim_config.custom_fields.push((field.clone(), field.clone()));
            }
        }
    }
    if let Some(user) = agreed(&group.desks, "credentials.username", user_of)? {
        sim_config.email = user.to_owned();
    }
    let integration = agreed(&group.desks, "jira.integration_user", |d| d.jira()?.integration_user.as_deref())?;
    if let Some(user) = integration {
        match sim_config.profile {
            JiraProfile::Cloud => sim_config.api_user.account_id = user.to_owned(),
            JiraProfile::DataCenter => sim_config.api_user.name = user.to_owned(),
        }
    }
    // One instance pushes to one receiver: its desk's, when it is the only one.
    let signed: Vec<_> = group
        .desks
        .iter()
        .filter_map(|d| Some((*d, d.jira_webhook_secret()?.expose())))
        .filter(|(_, s)| *s != UNSET)
        .collect();
    if signed.len() > 1 {
        let desks: Vec<_> = signed.iter().map(|(d, _)| *d).collect();
        lines.push(format!("            no webhooks: desks {} share this instance and it pushes to one", ids(&desks)));
    }
    if let [(desk, secret)] = signed.as_slice() {
        let url = format!("{}/webhooks/jira/{}", config.gateway.public_base(None), desk.id);
        sim_config.webhook = Some(JiraWebhookTarget { url: url.clone(), secret: Some((*secret).to_owned()) });
        lines.push(format!("            webhooks to {url}, signed"));
    }
    let sim = JiraSim::spawn(sim_config).await.map_err(|e| format!("cannot start a Jira simulator: {e}"))?;
    let c = sim.config();
    lines.push(format!("            basic {} / {}, bearer {}", c.email, c.api_token, c.bearer_token));
    let router = sim.router();
    Ok((Box::new(sim), router))
}

/// One ClearQuest simulator per database, behind one router that hands each request
/// to the simulator of the database its path names.
async fn clearquest(group: &Group<'_>, lines: &mut Vec<String>) -> Result<(Running, Router), String> {
    let user = agreed(&group.desks, "credentials.username", user_of)?;
    let mut sims: Vec<ClearQuestSim> = Vec::new();
    for desk in &group.desks {
        let Some(options) = desk.clearquest() else { continue };
        if sims.iter().any(|s| s.config().db.eq_ignore_ascii_case(&options.db)) {
            continue;
        }
        let mut config =
            ClearQuestSimConfig { repo: options.repo.clone(), db: options.db.clone(), ..Default::default() };
        if let Some(record_type) = &options.record_type {
            config.record_type = record_type.clone();
        }
        if let Some(dbid) = &options.record_type_dbid {
            config.record_type_dbid = dbid.clone();
        }
        if let Some(user) = user {
            config.user = user.to_owned();
        }
        let sim =
            ClearQuestSim::spawn(config).await.map_err(|e| format!("cannot start a ClearQuest simulator: {e}"))?;
        sims.push(sim);
    }
    if let Some(c) = sims.first().map(ClearQuestSim::config) {
        lines.push(format!("            basic {} / {}, header OSLC-Core-Version: 2.0", c.user, c.password));
    }
    let routers: Arc<Vec<(String, Router)>> =
        Arc::new(sims.iter().map(|s| (s.config().db.clone(), s.router())).collect());
    let router = Router::new().fallback(move |request: Request| {
        let routers = routers.clone();
        async move {
            let db = request.uri().path().split('/').skip_while(|s| *s != "db").nth(1).map(str::to_owned);
            // A path naming no hosted database goes to the first, which answers it
            // as ClearQuest does (and serves /_sim/faults).
            let chosen =
                db.and_then(|db| routers.iter().find(|(d, _)| d.eq_ignore_ascii_case(&db))).or(routers.first());
            match chosen {
                Some((_, router)) => router.clone().oneshot(request).await.into_response(),
                None => axum::http::StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    Ok((Box::new(sims), router))
}

/// Serve `router` where `place` says (or on a free loopback port); the base URL.
async fn listen(place: &Place, router: Router) -> Result<String, String> {
    let addr = place.bind.unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0));
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let router = if place.path.is_empty() { router } else { Router::new().nest(&place.path, router) };
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!(error = %e, "simulator listener stopped");
        }
    });
    Ok(format!("http://{bound}{}", place.path))
}

/// The mail server and SMS gateway the configuration sends escalations to, when
/// they are on this machine (loopback): a simulator of each on its port.
async fn notification_sinks(config: &Config, lines: &mut Vec<String>) -> Result<Vec<Running>, String> {
    let loopback = |host: &str| host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    let mut running: Vec<Running> = Vec::new();
    if let Some(smtp) = config.gateway.smtp.as_ref().filter(|s| loopback(&s.host)) {
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), smtp.port);
        let sim =
            deskgate_sim::smtp::SmtpSim::spawn_on(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        lines.push(format!("mail        smtp://127.0.0.1:{}  (gateway.smtp; any login)", sim.port()));
        running.push(Box::new(sim));
    }
    let sms_url = config.gateway.sms.as_ref().and_then(|s| url::Url::parse(&s.url).ok());
    if let Some(url) = sms_url.filter(|u| u.host_str().is_some_and(loopback)) {
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), url.port_or_known_default().unwrap_or(80));
        let sim = deskgate_sim::sms::SmsSim::spawn_on(addr, None)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        lines.push(format!("sms         {}  (gateway.sms; any token)", sim.url()));
        running.push(Box::new(sim));
    }
    Ok(running)
}

/// `deskgate sim --config`: start the simulators `config_path` needs, print where
/// each desk's is and its credentials, and serve until `shutdown` completes.
pub async fn from_config(
    config_path: &Path,
    shutdown: impl std::future::Future<Output = ()>,
    mut out: impl std::io::Write,
) -> Result<(), String> {
    let config = Config::load(config_path, &SimEnv).map_err(|p| p.to_string())?;
    let groups = groups(&config)?;
    let mut lines = vec![format!("deskgate simulators for {} (Ctrl-C to stop)", config_path.display())];
    let mut running: Vec<Running> = Vec::new();
    for group in &groups {
        let mut details = Vec::new();
        let (sim, router) = match group.system {
            System::Servicenow => servicenow(group, &mut details).await?,
            System::Jira => jira(&config, group, &mut details).await?,
            System::Clearquest => clearquest(group, &mut details).await?,
            other => {
                lines.push(format!("{:<10}  {} has no simulator; skipped", ids(&group.desks), other.as_str()));
                continue;
            }
        };
        let url = listen(&group.place, router).await?;
        for desk in &group.desks {
            let hosts = match (desk.jira(), desk.clearquest()) {
                (Some(j), _) => format!("project {}", j.project.to_uppercase()),
                (_, Some(c)) => format!("db {} (repo {})", c.db, c.repo),
                _ => "incident table".to_owned(),
            };
            lines.push(format!("{:<10}  {:<10}  {url}  {hosts}", desk.id.as_str(), group.system.as_str()));
            if group.place.bind.is_none() {
                if let Some(endpoint) = &desk.endpoint {
                    lines.push(format!("            stands in for {endpoint}"));
                }
            }
        }
        lines.extend(details);
        running.push(sim);
    }
    running.extend(notification_sinks(&config, &mut lines).await?);
    running.extend(super::sim_idp::identity_providers(&config, UNSET, &mut lines).await?);
    lines.push("faults      POST <base>/_sim/faults on any of them".to_owned());
    for line in lines {
        // Nobody reading stdout is no reason to stop serving.
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    shutdown.await;
    drop(running);
    Ok(())
}
