//! The ServiceNow simulator speaks the Table API as the real instance does.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig, WebhookTarget};
use serde_json::{Value, json};

type Received = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A receiver for the outbound REST push, recording `Authorization` and body.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let store = received.clone();
    let app = Router::new().route(
        "/webhooks/servicenow/region-h",
        post(move |headers: HeaderMap, axum::Json(body): axum::Json<Value>| {
            let store = store.clone();
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
                store.lock().unwrap().push((auth, body));
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let base = deskgate_sim::loopback::serve(app).await.unwrap();
    (format!("{base}/webhooks/servicenow/region-h"), received)
}

fn client(sim: &ServiceNowSim) -> (reqwest::Client, String, String, String) {
    let c = sim.config();
    (reqwest::Client::new(), sim.base_url(), c.user.clone(), c.password.clone())
}

async fn create(sim: &ServiceNowSim, body: Value) -> Value {
    let (http, base, user, pw) = client(sim);
    let r = http
        .post(format!("{base}/api/now/table/incident"))
        .basic_auth(user, Some(pw))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(r.headers().contains_key("location"));
    r.json::<Value>().await.unwrap()["result"].clone()
}

#[tokio::test]
async fn records_look_like_servicenow_records() {
    let sim = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
    let r = create(
        &sim,
        json!({"short_description": "VPN down", "impact": 2, "urgency": "1", "priority": "5", "sys_created_by": "mallory"}),
    )
    .await;
    assert_eq!(r["number"], "INC0010001");
    assert!(deskgate_servicenow::wire::is_sys_id(r["sys_id"].as_str().unwrap()));
    assert_eq!(r["impact"], "2", "numbers are stored as strings");
    assert_eq!(r["priority"], "2", "priority is computed, not written");
    assert_eq!(r["sys_created_by"], "deskgate.integration", "sys_ fields are not writable");
    assert_eq!(r["state"], "1");
    assert_eq!(r["sys_mod_count"], "0");
    assert_eq!(r["comments"], "");
    assert!(deskgate_servicenow::wire::parse_date(r["opened_at"].as_str().unwrap()).is_ok());
    let second = create(&sim, json!({"short_description": "x"})).await;
    assert_eq!(second["number"], "INC0010002");
    assert_eq!(sim.count(), 2);
}

#[tokio::test]
async fn errors_have_servicenow_shapes() {
    let sim = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
    let (http, base, user, pw) = client(&sim);
    // The whole envelope, where a client reads its detail too.
    let not_json = http
        .post(format!("{base}/api/now/table/incident"))
        .basic_auth(&user, Some(&pw))
        .header("content-type", "application/json")
        .body("{not json");
    for (request, status, envelope) in [
        (
            http.get(format!("{base}/api/now/table/incident")),
            401,
            json!({"error": {"message": "User Not Authenticated", "detail": "Required to provide Auth information"}, "status": "failure"}),
        ),
        (
            not_json,
            400,
            json!({"error": {"message": "Exception while reading request", "detail": "The payload is not valid JSON."}, "status": "failure"}),
        ),
    ] {
        let r = request.send().await.unwrap();
        assert_eq!(r.status(), status);
        assert_eq!(r.json::<Value>().await.unwrap(), envelope);
    }

    // The status, and the message where ServiceNow gives one.
    for (path, status, message) in [
        ("/api/now/table/incident/0123456789abcdef0123456789abcdef", 404, Some("No Record found")),
        ("/api/now/table/sys_user", 400, Some("Invalid table sys_user")),
        ("/api/now/table/incident?sysparm_query=Active=true", 400, None),
    ] {
        let r = http.get(format!("{base}{path}")).basic_auth(&user, Some(&pw)).send().await.unwrap();
        assert_eq!(r.status(), status, "{path}");
        if let Some(message) = message {
            assert_eq!(r.json::<Value>().await.unwrap()["error"]["message"], message, "{path}");
        }
    }
}

#[tokio::test]
async fn resolving_without_close_fields_is_a_data_policy_exception() {
    let sim = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
    let rec = sim.create_as_user(&[("short_description", "x")]).unwrap();
    let id = &rec["sys_id"];
    let e = sim.update_as_user(id, &[("state", "6")]).unwrap_err();
    assert_eq!(e.status, 403);
    assert_eq!(e.envelope.error.message, "Operation Failed");
    assert_eq!(
        e.envelope.error.detail.as_deref(),
        Some("Data Policy Exception: \n\tThe following fields are mandatory: Resolution code, Resolution notes")
    );
    // A code outside the choice list counts as missing.
    let e = sim.update_as_user(id, &[("state", "6"), ("close_code", "Fixed"), ("close_notes", "n")]).unwrap_err();
    assert!(e.envelope.error.detail.unwrap().ends_with("mandatory: Resolution code"));
    let ok =
        sim.update_as_user(id, &[("state", "7"), ("close_code", "Workaround provided"), ("close_notes", "n")]).unwrap();
    assert_eq!(ok["active"], "false");
    assert!(!ok["closed_at"].is_empty());
    assert_eq!(ok["closed_by"], "beth.anglin");
}

#[tokio::test]
async fn lists_page_with_link_and_total_count() {
    let sim = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
    for i in 1..=5 {
        sim.create_as_user(&[("short_description", &format!("n{i}")), ("impact", if i % 2 == 0 { "1" } else { "3" })])
            .unwrap();
    }
    let (http, base, user, pw) = client(&sim);
    let r = http
        .get(format!(
            "{base}/api/now/table/incident?sysparm_query=impact=3^ORDERBYDESCnumber&sysparm_limit=2&sysparm_offset=0&sysparm_fields=number,impact"
        ))
        .basic_auth(&user, Some(&pw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-total-count"], "3");
    let link = r.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.contains("rel=\"first\""), "{link}");
    assert!(link.contains("sysparm_offset=2>;rel=\"next\""), "{link}");
    assert!(!link.contains("rel=\"prev\""), "{link}");
    assert!(link.contains("sysparm_offset=2>;rel=\"last\""), "{link}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body,
        json!({"result": [{"impact": "3", "number": "INC0010005"}, {"impact": "3", "number": "INC0010003"}]})
    );
}

#[tokio::test]
async fn display_values_and_reference_links() {
    let sim = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
    let rec = sim
        .create_as_user(&[
            ("short_description", "x"),
            ("assignment_group", "0a52d3dcd7011200f2d224837e6103f2"),
            ("impact", "1"),
            ("urgency", "1"),
        ])
        .unwrap();
    sim.comment_as_user(&rec["sys_id"], "Called the user back", true).unwrap();
    let (http, base, user, pw) = client(&sim);
    let get = |params: &'static str| {
        let http = http.clone();
        let url = format!(
            "{base}/api/now/table/incident/{}?sysparm_fields=priority,assignment_group,comments&{params}",
            rec["sys_id"]
        );
        let (user, pw) = (user.clone(), pw.clone());
        async move {
            http.get(url).basic_auth(user, Some(pw)).send().await.unwrap().json::<Value>().await.unwrap()["result"]
                .clone()
        }
    };
    let plain = get("sysparm_display_value=false").await;
    assert_eq!(plain["priority"], "1");
    assert_eq!(plain["comments"], "");
    assert_eq!(plain["assignment_group"]["value"], "0a52d3dcd7011200f2d224837e6103f2");
    assert!(
        plain["assignment_group"]["link"]
            .as_str()
            .unwrap()
            .ends_with("/api/now/table/sys_user_group/0a52d3dcd7011200f2d224837e6103f2")
    );

    let bare = get("sysparm_exclude_reference_link=true").await;
    assert_eq!(bare["assignment_group"], "0a52d3dcd7011200f2d224837e6103f2");

    let shown = get("sysparm_display_value=true&sysparm_exclude_reference_link=true").await;
    assert_eq!(shown["priority"], "1 - Critical");
    let comments = shown["comments"].as_str().unwrap();
    assert!(comments.contains("beth.anglin (Additional comments)\nCalled the user back"), "{comments}");

    let all = get("sysparm_display_value=all&sysparm_exclude_reference_link=true").await;
    assert_eq!(all["priority"], json!({"display_value": "1 - Critical", "value": "1"}));
}

#[tokio::test]
async fn oauth_grants_and_refusals() {
    let sim = ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.unwrap();
    let c = sim.config().clone();
    let http = reqwest::Client::new();
    let token_url = format!("{}/oauth_token.do", sim.base_url());
    let r = http
        .post(&token_url)
        .form(&[
            ("grant_type", "password"),
            ("client_id", &c.oauth_client_id),
            ("client_secret", &c.oauth_client_secret),
            ("username", &c.user),
            ("password", &c.password),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 1799);
    assert!(t["refresh_token"].is_string());
    let access = t["access_token"].as_str().unwrap();
    let r = http.get(format!("{}/api/now/table/incident", sim.base_url())).bearer_auth(access).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let r = http
        .post(&token_url)
        .form(&[("grant_type", "client_credentials"), ("client_id", &c.oauth_client_id), ("client_secret", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"error_description": "access_denied", "error": "server_error"})
    );
}

#[tokio::test]
async fn every_change_is_pushed_in_order_with_the_configured_authorization() {
    let (url, received) = receiver().await;
    let sim = ServiceNowSim::spawn(ServiceNowSimConfig {
        webhook: Some(WebhookTarget { url, authorization: "Bearer push-token".to_owned() }),
        ..Default::default()
    })
    .await
    .unwrap();
    let rec = create(&sim, json!({"short_description": "Printer on fire", "correlation_id": "INC-2026-000001"})).await;
    let id = rec["sys_id"].as_str().unwrap().to_owned();
    sim.update_as_user(&id, &[("state", "2")]).unwrap();
    // Writing what is already there changes nothing and fires nothing.
    sim.update_as_user(&id, &[("state", "2")]).unwrap();
    sim.comment_as_user(&id, "On it", false).unwrap();
    sim.pushes_settled().await;

    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got.iter().all(|(auth, _)| auth.as_deref() == Some("Bearer push-token")));
    let (_, insert) = &got[0];
    assert_eq!(insert["operation"], "insert");
    assert_eq!(insert["table"], "incident");
    assert_eq!(insert["sys_id"], id.as_str());
    assert_eq!(insert["number"], "INC0010001");
    assert_eq!(insert["record"]["correlation_id"], "INC-2026-000001");
    assert_eq!(insert["record"]["sys_updated_by"], "deskgate.integration");
    assert_eq!(insert["journal"], Value::Null);

    let (_, update) = &got[1];
    assert_eq!(update["operation"], "update");
    // The write's own changes; sys_ bookkeeping fields are not listed.
    assert_eq!(update["changed_fields"], json!(["incident_state", "state"]));
    assert_eq!(update["record"]["state"], "2");
    assert_eq!(update["record"]["sys_updated_by"], "beth.anglin");

    let (_, note) = &got[2];
    assert_eq!(note["journal"]["element"], "work_notes");
    assert_eq!(note["journal"]["value"], "On it");
    assert_eq!(note["journal"]["sys_created_by"], "beth.anglin");
    assert_eq!(note["record"]["work_notes"], "", "journal fields stay write-only");
    assert!(sim.pushes().iter().all(|p| p.status == Some(202)));
}
