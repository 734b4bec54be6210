//! Every call a delivery makes to a remote desk carries `X-Request-Id`: the id of the
//! desk request that caused the delivery.

use crate::kit;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use deskgate::startup::Application;
use serde_json::json;

type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A remote desk that records each request's path and `X-Request-Id` and refuses it.
async fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let record = seen.clone();
    let app = Router::new().fallback(move |req: Request| {
        let record = record.clone();
        async move {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
            record.lock().unwrap().push((req.uri().path().to_owned(), id));
            (StatusCode::UNAUTHORIZED, "{}")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn deliveries_carry_the_originating_request_id_to_every_system() {
    let (sn, sn_seen) = receiver().await;
    let (cq, cq_seen) = receiver().await;
    let (jira, jira_seen) = receiver().await;
    let data = tempfile::tempdir().unwrap();
    let mut c = kit::GatewayConfig::new(data.path());
    c.gateway("delivery", json!({ "retry_base_ms": 20, "retry_max_ms": 100, "max_attempts": 2, "concurrency": 4 }));
    c.desk("region-h", kit::Desk::known("region-h", "Region Hovedstaden Service Desk", "local", "native"));
    c.desk(
        "fmk",
        kit::Desk::known("fmk", "FMK supplier", "supplier", "servicenow")
            .endpoint(&sn)
            .services(&["FMK"])
            .basic_credentials("deskgate.integration", "T_SN_PASSWORD"),
    );
    c.desk(
        "sds",
        kit::Desk::sds_on_clearquest(
            &cq,
            json!({ "repo": "7.0.0", "db": "SDS", "poll_ms": 60000, "poll_min_ms": 60000 }),
        ),
    );
    let jira_table = json!({ "project": "DRIFT", "correlation_field": "customfield_10042", "webhook_secret": { "env": "T_JIRA_HOOK" } });
    c.desk("drift", kit::Desk::drift_on_jira(&jira, jira_table));
    let env = kit::tokens::federation_env().with("T_JIRA_HOOK", "drift-webhook-test-secret");
    let config = c.load(&env).expect("config");
    let app = Application::build(config).await.expect("gateway starts");
    let gateway = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until(async {
            let _ = stopped.await;
        })
        .await
        .unwrap()
    });
    let client = reqwest::Client::new();
    let region_h = kit::tokens::token("region-h");
    let sds = kit::tokens::token("sds");

    let submitted = client
        .post(format!("{gateway}/api/v1/incidents"))
        .bearer_auth(&region_h)
        .header("x-request-id", "req-submit-1")
        .json(&json!({"title": "FMK down", "description": "Prescriptions fail", "service": "FMK", "ticket_id": "RH-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), StatusCode::CREATED);
    let id = submitted.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let assigned = client
        .patch(format!("{gateway}/api/v1/incidents/{id}"))
        .bearer_auth(&sds)
        .header("x-request-id", "req-assign-2")
        .json(&json!({"status": "in_progress", "assignee": "drift"}))
        .send()
        .await
        .unwrap();
    assert_eq!(assigned.status(), StatusCode::OK, "{}", assigned.text().await.unwrap());

    let carried = |seen: &Seen, id: &str| seen.lock().unwrap().iter().any(|(_, r)| r.as_deref() == Some(id));
    let both = kit::poll_until(Duration::from_secs(10), async || {
        (carried(&cq_seen, "req-submit-1") && carried(&jira_seen, "req-assign-2")).then_some(())
    })
    .await;
    assert!(both.is_some(), "cq: {:?}\njira: {:?}", cq_seen.lock().unwrap(), jira_seen.lock().unwrap());
    // Calls made outside a delivery carry no request id; within one, every call does.
    for seen in [&cq_seen, &jira_seen] {
        for (path, rid) in seen.lock().unwrap().iter() {
            if let Some(rid) = rid {
                assert!(rid.starts_with("req-") || rid.starts_with("deliver-"), "{path}: {rid}");
            }
        }
    }
    // Reassigned to a supplier on ServiceNow: its create carries the reassignment's id.
    let reassigned = client
        .patch(format!("{gateway}/api/v1/incidents/{id}"))
        .bearer_auth(&sds)
        .header("x-request-id", "req-reassign-3")
        .json(&json!({"assignee": "fmk"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reassigned.status(), StatusCode::OK, "{}", reassigned.text().await.unwrap());
    let carried_on =
        kit::poll_until(Duration::from_secs(10), async || carried(&sn_seen, "req-reassign-3").then_some(())).await;
    assert!(carried_on.is_some(), "servicenow: {:?}", sn_seen.lock().unwrap());
    let _ = stop.send(());
    server.await.unwrap();
}
