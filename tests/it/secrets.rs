//! Secrets never leak: the real binary runs against the simulators with known
//! secret values — two desks with wrong remote credentials, so deliveries fail with
//! the remotes' 401 answers — and its logs, error bodies, dead letters, outbox,
//! audit log, metrics and `check-config` output are searched for every secret.

use crate::kit;

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};
use deskgate_sim::jira::{JiraSim, JiraSimConfig};
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

const SECRETS: &[(&str, &str)] = &[
    ("S_REGION_H_JWT", "jwt-secret-regionh-7f3a91c2e4"),
    ("S_SDS_JWT", "jwt-secret-sds-55e1b0d9a7"),
    ("S_DRIFT_JWT", "jwt-secret-drift-0a9c44e1f2"),
    ("S_SN_PASSWORD", "sn-password-c0ffee42d1"),
    // Wrong on purpose: the remotes refuse them.
    ("S_CQ_PASSWORD", "cq-password-wrong-9d2b61"),
    ("S_JIRA_TOKEN", "jira-token-wrong-a1b2c3d4"),
    ("S_JIRA_WEBHOOK", "jira-webhook-secret-5e6f7a"),
];

fn secret(name: &str) -> &'static str {
    SECRETS.iter().find(|(k, _)| *k == name).map(|(_, v)| *v).unwrap()
}

/// Region H on ServiceNow, the national desk on ClearQuest, the operations supplier
/// on Jira, every secret under its own `S_` name.
fn config(data: &Path, sn: &str, cq: &str, jira: &str) -> kit::GatewayConfig {
    let mut c = kit::GatewayConfig::new(data);
    c.gateway("delivery", json!({ "retry_base_ms": 20, "retry_max_ms": 100, "max_attempts": 2, "concurrency": 4 }));
    c.desk(
        "region-h",
        kit::Desk::region_h_on_servicenow(sn)
            .hs256("idp.regionh", "S_REGION_H_JWT")
            .basic_credentials("deskgate.integration", "S_SN_PASSWORD"),
    );
    c.desk(
        "sds",
        kit::Desk::sds_on_clearquest(cq, json!({ "repo": "7.0.0", "db": "SDS", "poll_ms": 100 }))
            .hs256("idp.sds", "S_SDS_JWT")
            .basic_credentials("deskgate", "S_CQ_PASSWORD"),
    );
    let jira_table = json!({ "project": "DRIFT", "correlation_field": "customfield_10042", "webhook_secret": { "env": "S_JIRA_WEBHOOK" } });
    c.desk(
        "drift",
        kit::Desk::drift_on_jira(jira, jira_table).hs256("idp.drift", "S_DRIFT_JWT").bearer_credentials("S_JIRA_TOKEN"),
    );
    c
}

#[tokio::test]
async fn no_secret_appears_in_logs_errors_dead_letters_metrics_or_check_config() {
    let sn = ServiceNowSim::spawn(ServiceNowSimConfig {
        password: secret("S_SN_PASSWORD").into(),
        ..ServiceNowSimConfig::default()
    })
    .await
    .unwrap();
    let cq = ClearQuestSim::spawn(ClearQuestSimConfig {
        db: "SDS".into(),
        password: "cq-password-right-3b7e44".into(),
        ..ClearQuestSimConfig::default()
    })
    .await
    .unwrap();
    let jira =
        JiraSim::spawn(JiraSimConfig { bearer_token: "jira-token-right-7c8d99".into(), ..JiraSimConfig::default() })
            .await
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("gateway.toml");
    let mut federation = config(&dir.path().join("data"), &sn.base_url(), cq.base_url(), &jira.base_url());
    std::fs::write(&config_file, federation.render()).unwrap();
    let log = dir.path().join("gateway.log");
    let running =
        kit::RunningBinary::serve(&config_file, &log, SECRETS.iter().copied().chain([("RUST_LOG", "debug")])).await;
    let client = reqwest::Client::new();
    let base = running.base();
    let token = |iss: &str, desk: &str, s: &str| kit::hs256(&kit::claims(iss, desk), s);
    let region_h = token("idp.regionh", "region-h", secret("S_REGION_H_JWT"));
    let sds = token("idp.sds", "sds", secret("S_SDS_JWT"));

    // A report whose delivery to the national desk fails on its wrong password …
    let record = sn.create_as_user(&[("short_description", "FMK down")]).unwrap();
    let body = json!({"title": "FMK down", "description": "No prescriptions", "service": "FMK", "ticket_id": record["sys_id"]});
    let res = client.post(format!("{base}/api/v1/incidents")).bearer_auth(&region_h).json(&body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    // … and an assignment whose delivery to the supplier fails on its wrong token.
    let res = client
        .patch(format!("{base}/api/v1/incidents/{id}"))
        .bearer_auth(&sds)
        .json(&json!({"assignee": "drift"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let mut dead = Value::Null;
    let _ = kit::wait::poll_until(Duration::from_secs(10), async || {
        dead = kit::get_json(&client, &format!("{base}/api/v1/dead-letters"), &sds).await;
        dead["items"].as_array().is_some_and(|a| a.len() >= 2).then_some(())
    })
    .await;
    let letters = dead["items"].as_array().cloned().unwrap_or_default();
    assert!(letters.len() >= 2, "both deliveries failed on their credentials: {dead:#}");
    assert!(letters.iter().all(|l| l["remote_status"] == 401), "{dead:#}");

    // Error answers of every kind.
    let mut collected = vec![serde_json::to_string(&dead).unwrap()];
    let forged = token("idp.regionh", "region-h", "not-the-secret");
    for (token, path, body) in [
        (forged.as_str(), "/api/v1/incidents", json!({"title": "x"})),
        (region_h.as_str(), "/api/v1/incidents", json!({"title": "x", "colour": 1})),
        (sds.as_str(), "/api/v1/dead-letters/999/replay", json!({})),
    ] {
        let res = client.post(format!("{base}{path}")).bearer_auth(token).json(&body).send().await.unwrap();
        assert!(res.status().is_client_error());
        collected.push(res.text().await.unwrap());
    }
    let signed = client
        .post(format!("{base}/webhooks/jira/drift"))
        .header("x-hub-signature", "sha256=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), StatusCode::UNAUTHORIZED);
    collected.push(signed.text().await.unwrap());
    for path in ["/api/v1/outbox", "/api/v1/audit", &format!("/api/v1/incidents/{id}"), "/metrics", "/openapi.json"] {
        collected
            .push(client.get(format!("{base}{path}")).bearer_auth(&sds).send().await.unwrap().text().await.unwrap());
    }

    // check-config, good and broken.
    let good =
        kit::binary::command().envs(SECRETS.iter().copied()).args(["check-config"]).arg(&config_file).output().unwrap();
    assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stderr));
    let broken_file = dir.path().join("broken.toml");
    std::fs::write(&broken_file, federation.desk_key("drift", "colour", "red").render()).unwrap();
    let bad =
        kit::binary::command().envs(SECRETS.iter().copied()).args(["check-config"]).arg(&broken_file).output().unwrap();
    assert!(!bad.status.success());
    for out in [good, bad] {
        collected.push(String::from_utf8_lossy(&out.stdout).into_owned());
        collected.push(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("dead-lettered"), "the failures were logged:\n{logs}");
    collected.push(logs);

    let everything = collected.join("\n");
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for (name, value) in SECRETS {
        assert!(!everything.contains(value), "{name} leaked");
    }
    for (user, password) in [("deskgate.integration", secret("S_SN_PASSWORD")), ("deskgate", secret("S_CQ_PASSWORD"))] {
        assert!(!everything.contains(&b64(&format!("{user}:{password}"))), "a Basic credential leaked");
    }
    for token in [&region_h, &sds] {
        assert!(!everything.contains(token.as_str()), "a desk token leaked");
    }
}
