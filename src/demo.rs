//! `deskgate demo`: the gateway on a throw-away data directory, desks talking to it
//! over real HTTP with real tokens, and a readable account of what happened.
//!
//! It runs the shipped NSP configuration (`deploy/gateway.toml`, embedded) with
//! freshly generated secrets, so what the demo shows is what that file configures.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rand::Rng;
use serde_json::{Value, json};

use crate::auth::{self, Claims};
use crate::config::{Config, MapEnv};
use crate::startup::Application;

const SHIPPED_CONFIG: &str = include_str!("../deploy/gateway.toml");

/// Every secret variable the configuration references, with a random value.
fn generated_secrets(config_text: &str) -> Result<MapEnv, String> {
    fn collect(v: &toml::Value, out: &mut BTreeSet<String>) {
        match v {
            toml::Value::Table(t) => {
                if let Some(toml::Value::String(name)) = t.get("env") {
                    out.insert(name.clone());
                }
                t.values().for_each(|v| collect(v, out));
            }
            toml::Value::Array(a) => a.iter().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let root: toml::Value = config_text.parse::<toml::Table>().map(toml::Value::Table).map_err(|e| e.to_string())?;
    let mut names = BTreeSet::new();
    collect(&root, &mut names);
    let mut rng = rand::thread_rng();
    let mut env = MapEnv::new(false);
    for name in names {
        let bytes: [u8; 32] = rng.r#gen();
        env = env.with(&name, hex::encode(bytes));
    }
    Ok(env)
}

struct Demo {
    base: String,
    client: reqwest::Client,
    config: Config,
    env: MapEnv,
    step: usize,
}

impl Demo {
    fn token(&self, desk: &str) -> Result<String, String> {
        let desk = self
            .config
            .desk(&desk.parse().map_err(|e: crate::model::ModelError| e.to_string())?)
            .ok_or("no such desk")?;
        auth::mint(desk, &self.config.gateway.audience, Duration::from_secs(600), now())
    }

    fn step(&mut self, title: &str) {
        self.step += 1;
        println!("\n{}. {title}", self.step);
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let mut req = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        let body = res.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }
}

fn now() -> u64 {
    jiff::Timestamp::now().as_second().max(0) as u64
}

fn show(status: u16, expect: u16, what: &str) -> Result<(), String> {
    let mark = if status == expect { "✔" } else { "✘" };
    println!("   {mark} {status} {what}");
    if status == expect { Ok(()) } else { Err(format!("expected {expect}, got {status}: {what}")) }
}

pub async fn run() -> Result<(), String> {
    let data = std::env::temp_dir().join(format!("deskgate-demo-{}-{}", std::process::id(), now()));
    let result = play(&data).await;
    let _ = std::fs::remove_dir_all(&data);
    result
}

async fn play(data: &Path) -> Result<(), String> {
    let env = generated_secrets(SHIPPED_CONFIG)?
        .with("DESKGATE_GATEWAY__LISTEN", "127.0.0.1:0")
        .with("DESKGATE_GATEWAY__DATA_DIR", data.display().to_string());
    let config = Config::from_toml(SHIPPED_CONFIG, &PathBuf::from("deploy"), &env)
        .map_err(|p| p.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))?;
    let app = Application::build(config.clone()).await.map_err(|e| e.to_string())?;
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    println!("deskgate demo — the NSP federation from deploy/gateway.toml");
    println!("gateway at {base}, data in {}", data.display());
    for desk in config.desks.values() {
        println!(
            "   {:<9} {:<9} {:<11} {}",
            desk.id.as_str(),
            format!("{:?}", desk.role).to_lowercase(),
            desk.system.as_str(),
            desk.name
        );
    }

    let mut demo = Demo { base, client: reqwest::Client::new(), config, env, step: 0 };
    let outcome = scenario(&mut demo).await;
    let _ = stop.send(());
    let _ = server.await;
    outcome
}

async fn scenario(d: &mut Demo) -> Result<(), String> {
    use reqwest::Method;
    let region_h = d.token("region-h")?;
    let region_m = d.token("region-m")?;
    let portal = d.token("portal")?;
    let sds = d.token("sds")?;

    d.step("Region Hovedstaden reports an FMK outage from its ServiceNow ticket INC0010042");
    let report = json!({
        "title": "FMK: prescriptions cannot be read at Rigshospitalet",
        "description": "Since 01:40 the FMK client shows no prescriptions; pharmacies are calling.",
        "service": "FMK", "ticket_id": "INC0010042", "urgency": "high", "impact": "medium",
    });
    let (status, created) = d.call(Method::POST, "/api/v1/incidents", &region_h, Some(report.clone())).await?;
    show(
        status,
        201,
        &format!(
            "accepted as {} (priority {} from urgency high × impact medium), durable before the answer",
            created["id"], created["priority"]
        ),
    )?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();

    d.step("The desk's retry of the same ticket is recognised, not stored twice");
    let (status, again) = d.call(Method::POST, "/api/v1/incidents", &region_h, Some(report)).await?;
    show(status, 200, &format!("replay answered with the same incident {}", again["id"]))?;

    d.step("The municipal portal reports an NSP problem");
    let (status, other) = d
        .call(
            Method::POST,
            "/api/v1/incidents",
            &portal,
            Some(json!({
                "title": "NSP: slow lookups in the vaccination register",
                "description": "Lookups take 20-30 seconds in three municipalities since this morning.",
                "service": "NSP", "ticket_id": "PORTAL-7781", "urgency": "medium", "impact": "low",
            })),
        )
        .await?;
    show(status, 201, &format!("accepted as {} ({})", other["id"], other["priority"]))?;

    d.step(
        "A clinician at Rigshospitalet tries to report directly, with a valid token from Region H's identity provider",
    );
    let issuer_secret = d.env.vars.get("DESKGATE_SECRET_REGION_H_JWT").cloned().unwrap_or_default();
    let issuer = d
        .config
        .desk(&"region-h".parse().map_err(|_| "desk id")?)
        .and_then(|desk| desk.auth.as_ref())
        .map(|a| a.issuer.clone())
        .unwrap_or_default();
    let clinician = Claims {
        iss: issuer,
        sub: "jens.hansen@rigshospitalet".into(),
        aud: d.config.gateway.audience.clone(),
        exp: now() + 600,
        nbf: None,
        iat: Some(now()),
        role: Some("clinician".into()),
        org: Some("rigshospitalet".into()),
    };
    let token = auth::sign(&clinician, jsonwebtoken::Algorithm::HS256, issuer_secret.as_bytes())?;
    let (status, refused) = d
        .call(
            Method::POST,
            "/api/v1/incidents",
            &token,
            Some(json!({"title": "FMK down", "description": "x", "service": "FMK", "ticket_id": "none"})),
        )
        .await?;
    show(status, 403, "refused: not a registered desk")?;
    println!("     “{}”", refused["error"]["message"].as_str().unwrap_or_default());

    d.step("Region Midtjylland's report contains a CPR number");
    let (status, rejected) = d
        .call(
            Method::POST,
            "/api/v1/incidents",
            &region_m,
            Some(json!({
                "title": "Citizen 010203-1234 cannot see her prescriptions",
                "description": "Reported by phone.", "service": "FMK", "ticket_id": "RM-4410",
            })),
        )
        .await?;
    show(
        status,
        422,
        &format!("refused, field {}: nothing stored, the number not echoed or logged", rejected["error"]["field"]),
    )?;

    d.step("Region Midtjylland tries to read Region Hovedstaden's incident");
    let (status, _) = d.call(Method::GET, &format!("/api/v1/incidents/{id}"), &region_m, None).await?;
    show(status, 404, "not party to it: as if it did not exist")?;

    d.step("The national service desk triages: P2, assigned to the FMK supplier");
    let (status, triaged) = d
        .call(
            Method::PATCH,
            &format!("/api/v1/incidents/{id}"),
            &sds,
            Some(json!({"priority": "P2", "assignee": "fmk"})),
        )
        .await?;
    show(status, 200, &format!("{id} is now {} and {}", triaged["priority"], triaged["status"]))?;

    d.step("Closing straight away is not allowed");
    let (status, refused) =
        d.call(Method::PATCH, &format!("/api/v1/incidents/{id}"), &sds, Some(json!({"status": "closed"}))).await?;
    show(status, 409, refused["error"]["message"].as_str().unwrap_or_default())?;

    d.step("What the national desk sees");
    let (_, list) = d.call(Method::GET, "/api/v1/incidents", &sds, None).await?;
    for i in list["items"].as_array().into_iter().flatten() {
        let refs: Vec<String> = i["refs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| format!("{}:{}", r["desk"].as_str().unwrap_or(""), r["display_id"].as_str().unwrap_or("")))
            .collect();
        println!(
            "   {} {:<2} {:<4} {:<9} {:<12} {}  [{}]",
            i["id"].as_str().unwrap_or(""),
            i["priority"].as_str().unwrap_or("-"),
            i["service"].as_str().unwrap_or(""),
            i["assignee"].as_str().unwrap_or("-"),
            i["status"].as_str().unwrap_or(""),
            i["title"].as_str().unwrap_or(""),
            refs.join(", ")
        );
    }

    d.step("The audit log");
    let (_, audit) = d.call(Method::GET, "/api/v1/audit", &sds, None).await?;
    for e in audit["items"].as_array().into_iter().flatten() {
        println!(
            "   {:<9} {:<9} {}",
            e["kind"].as_str().unwrap_or(""),
            e["desk"].as_str().or(e["subject"].as_str()).unwrap_or(""),
            e["reason"].as_str().unwrap_or("")
        );
    }
    println!("\ndone.");
    Ok(())
}
