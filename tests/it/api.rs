//! The native API against a real gateway: durability, idempotency, and every
//! rejection path of the foundation.

use crate::kit;

use kit::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn create_get_restart_and_everything_is_still_there_with_its_refs() {
    let gw = TestGateway::start().await;
    let mut body = incident("INC0010001");
    body["display_id"] = json!("INC0010001");
    body["ticket_url"] = json!("https://regionh.service-now.example/incident.do?sys_id=abc");
    let res = gw.submit("region-h", &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("INC-") && location.ends_with(&id), "{id} {location}");
    assert_eq!(created["priority"], "P2", "high urgency × medium impact");
    assert_eq!(created["status"], "new");

    let gw = gw.restart().await;
    let got: Value = gw.get("region-h", &format!("/api/v1/incidents/{id}")).await.json().await.unwrap();
    assert_eq!(got["title"], created["title"]);
    assert_eq!(got["refs"][0]["desk"], "region-h");
    assert_eq!(got["refs"][0]["system"], "servicenow");
    let by_ref = gw.get("region-h", "/api/v1/refs/region-h/INC0010001").await;
    assert_eq!(by_ref.status(), StatusCode::OK);
    let by_ref: Value = by_ref.json().await.unwrap();
    assert_eq!(by_ref["incident"], id.as_str());
    assert_eq!(by_ref["ref"]["url"], "https://regionh.service-now.example/incident.do?sys_id=abc");

    // New ids keep counting after a restart: never reused.
    let second: Value = gw.submit("region-h", &incident("INC0010002")).await.json().await.unwrap();
    assert_ne!(second["id"], created["id"]);
    assert!(second["id"].as_str().unwrap() > id.as_str());
}

#[tokio::test]
async fn idempotent_replay_returns_the_same_incident_and_stores_nothing_twice() {
    let gw = TestGateway::start().await;
    let send = |key: &'static str, body: Value| {
        let gw = &gw;
        async move {
            gw.client
                .post(gw.url("/api/v1/incidents"))
                .bearer_auth(gw.token("region-h"))
                .header("Idempotency-Key", key)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = send("key-1", incident("INC0020001")).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let replay = send("key-1", incident("INC0020001")).await;
    assert_eq!(replay.status(), StatusCode::OK);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["id"], first["id"]);

    // The same key with a different request is refused, naming the header.
    let mut other = incident("INC0020002");
    other["title"] = json!("Something else entirely");
    let clash = send("key-1", other).await;
    assert_eq!(clash.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let clash: Value = clash.json().await.unwrap();
    assert_eq!(clash["error"]["field"], "Idempotency-Key");

    // Without a key, the same desk ticket is the same incident too.
    let again = gw.submit("region-h", &incident("INC0020001")).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["id"], first["id"]);

    assert_eq!(gw.all_incidents().await.len(), 1);
    let submitted = gw.audit().await.into_iter().filter(|e| e["kind"] == "submitted").count();
    assert_eq!(submitted, 1, "one submission in the audit log");
}

#[tokio::test]
async fn concurrent_submissions_of_one_desk_ticket_create_one_incident() {
    let gw = std::sync::Arc::new(TestGateway::start().await);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let gw = gw.clone();
        tasks.push(tokio::spawn(async move {
            let res = gw.submit("region-h", &incident("INC0030001")).await;
            let status = res.status();
            let body: Value = res.json().await.unwrap();
            (status, body["id"].as_str().unwrap().to_owned())
        }));
    }
    let mut ids = Vec::new();
    let mut created = 0;
    for t in tasks {
        let (status, id) = t.await.unwrap();
        assert!(status == StatusCode::CREATED || status == StatusCode::OK, "{status}");
        created += usize::from(status == StatusCode::CREATED);
        ids.push(id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every answer names the same incident");
    assert_eq!(created, 1, "exactly one 201");
    assert_eq!(gw.all_incidents().await.len(), 1);
}

fn www_authenticate(res: &reqwest::Response) -> String {
    res.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

async fn submit_with(gw: &TestGateway, token: Option<&str>) -> reqwest::Response {
    let mut req = gw.client.post(gw.url("/api/v1/incidents")).json(&incident("INC0040001"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn unauthenticated_callers_get_401_with_a_bearer_challenge_and_nothing_is_stored() {
    let gw = TestGateway::start().await;

    let none = submit_with(&gw, None).await;
    assert_eq!(none.status(), StatusCode::UNAUTHORIZED);
    assert!(www_authenticate(&none).starts_with("Bearer"));

    let mut expired = claims("idp.regionh", "region-h");
    expired.exp = now() - 3600;
    expired.nbf = Some(now() - 7200);
    let res = submit_with(&gw, Some(&hs256(&expired, "region-h-test-secret"))).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(www_authenticate(&res).contains("invalid_token"));
    assert!(res.text().await.unwrap().contains("expired"));

    let mut early = claims("idp.regionh", "region-h");
    early.nbf = Some(now() + 3600);
    let res = submit_with(&gw, Some(&hs256(&early, "region-h-test-secret"))).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // alg "none": header {"alg":"none"}, valid claims, empty signature.
    use base64::Engine;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let unsigned = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&serde_json::to_value(claims("idp.regionh", "region-h")).unwrap())
    );
    let res = submit_with(&gw, Some(&unsigned)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    // Algorithm confusion: an HS256 token for the RS256 desk, keyed with its public key.
    let public_pem = std::fs::read_to_string(fixture("keys/pharmacy-rs256.pub.pem")).unwrap();
    let confused = hs256(&claims("idp.pharmacy", "pharmacy"), &public_pem);
    let res = submit_with(&gw, Some(&confused)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("algorithm"));

    let mut other_aud = claims("idp.regionh", "region-h");
    other_aud.aud = "some-other-service".into();
    let res = submit_with(&gw, Some(&hs256(&other_aud, "region-h-test-secret"))).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("audience"));

    let forged = hs256(&claims("idp.regionh", "region-h"), "not-the-secret");
    assert_eq!(submit_with(&gw, Some(&forged)).await.status(), StatusCode::UNAUTHORIZED);

    let unknown_issuer = hs256(&claims("idp.elsewhere", "region-h"), "region-h-test-secret");
    assert_eq!(submit_with(&gw, Some(&unknown_issuer)).await.status(), StatusCode::UNAUTHORIZED);

    assert!(gw.all_incidents().await.is_empty());
}

#[tokio::test]
async fn rs256_and_es256_desks_are_accepted_with_their_own_keys() {
    let gw = TestGateway::start().await;
    for desk in ["pharmacy", "gp"] {
        let res = gw.submit(desk, &incident(&format!("{desk}-1"))).await;
        assert_eq!(res.status(), StatusCode::CREATED, "{desk}");
    }
    // The ES256 key cannot sign for the RS256 desk.
    let wrong = es256(&claims("idp.pharmacy", "pharmacy"));
    assert_eq!(submit_with(&gw, Some(&wrong)).await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn valid_tokens_of_non_desks_are_refused_referred_and_audited() {
    let gw = TestGateway::start().await;

    // A clinician at Rigshospitalet, token from Region H's identity provider.
    let mut clinician = claims("idp.regionh", "jens.hansen");
    clinician.role = Some("clinician".into());
    clinician.org = Some("rigshospitalet".into());
    let res = submit_with(&gw, Some(&hs256(&clinician, "region-h-test-secret"))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_a_registered_desk");
    assert_eq!(body["error"]["referral"]["desk"], "region-h");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("Region Hovedstaden Service Desk") && message.contains("+45 38 66 50 00"), "{message}");

    // An unknown subject of a known issuer, organisation mapped elsewhere.
    let mut unknown = claims("idp.regionh", "some-system");
    unknown.org = Some("aarhus-universitetshospital".into());
    let res = submit_with(&gw, Some(&hs256(&unknown, "region-h-test-secret"))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["referral"]["desk"], "region-m");

    // The desk's own subject with a role other than desk.
    let mut impostor = claims("idp.regionh", "region-h");
    impostor.role = Some("user".into());
    assert_eq!(submit_with(&gw, Some(&hs256(&impostor, "region-h-test-secret"))).await.status(), StatusCode::FORBIDDEN);

    assert!(gw.all_incidents().await.is_empty());
    let rejections: Vec<Value> = gw.audit().await.into_iter().filter(|e| e["kind"] == "rejected").collect();
    assert_eq!(rejections.len(), 3);
    assert_eq!(rejections[0]["subject"], "jens.hansen");
    assert!(rejections[0]["reason"].as_str().unwrap().contains("referred to region-h"));
}

#[tokio::test]
async fn desks_see_only_incidents_they_are_party_to() {
    let gw = TestGateway::start().await;
    let created: Value = gw.submit("region-h", &incident("INC0050001")).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/incidents/{id}");

    assert_eq!(gw.get("region-h", &path).await.status(), StatusCode::OK);
    assert_eq!(gw.get("sds", &path).await.status(), StatusCode::OK);
    for outsider in ["region-m", "fmk", "drift"] {
        let res = gw.get(outsider, &path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{outsider}");
    }
    assert_eq!(gw.get("region-m", "/api/v1/refs/region-h/INC0050001").await.status(), StatusCode::NOT_FOUND);
    let listed: Value = gw.get("region-m", "/api/v1/incidents").await.json().await.unwrap();
    assert!(listed["items"].as_array().unwrap().is_empty());
    let note =
        gw.send("region-m", reqwest::Method::POST, &format!("{path}/notes"), &json!({"body": "we see this too"})).await;
    assert_eq!(note.status(), StatusCode::NOT_FOUND);

    // Once assigned, the supplier sees it; the other supplier still does not.
    let res = gw.patch("sds", id, &json!({"assignee": "fmk", "priority": "P2"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(gw.get("fmk", &path).await.status(), StatusCode::OK);
    assert_eq!(gw.get("drift", &path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(gw.patch("drift", id, &json!({"status": "in_progress"})).await.status(), StatusCode::NOT_FOUND);
    let res = gw.patch("fmk", id, &json!({"status": "in_progress"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = gw.patch("fmk", id, &json!({"assignee": "drift"})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(gw.patch("region-h", id, &json!({"status": "resolved"})).await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn patient_identifiers_are_refused_naming_the_field_and_never_stored_or_echoed() {
    let gw = TestGateway::start().await;
    let mut body = incident("INC0060001");
    body["title"] = json!("Borger 010203-1234 kan ikke se sine recepter");
    let res = gw.submit("region-h", &body).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = res.text().await.unwrap();
    assert!(!text.contains("010203"), "the number must not be echoed: {text}");
    let err: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(err["error"]["field"], "title");

    let mut body = incident("INC0060002");
    body["description"] = json!("Patient NISS 85.07.30-033.28 gets an error");
    let res = gw.submit("region-h", &body).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], "description");

    assert!(gw.all_incidents().await.is_empty());
    let audit = serde_json::to_string(&gw.audit().await).unwrap();
    assert!(audit.contains("patient data in title"));
    assert!(!audit.contains("010203") && !audit.contains("85.07.30"), "{audit}");
}

#[tokio::test]
async fn malformed_oversized_and_unknown_input_gets_a_400_or_413_naming_the_problem() {
    let gw = TestGateway::start_with_body_limit(4096).await;
    let post_raw = |body: String| {
        gw.client
            .post(gw.url("/api/v1/incidents"))
            .bearer_auth(gw.token("region-h"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let res = post_raw("{\"title\": \"broken\",".into()).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "malformed_json");

    // Each body refused naming its field: an unknown one, a missing one, a bad value,
    // one too long.
    let with = |ticket: &str, edit: &dyn Fn(&mut Value)| {
        let mut body = incident(ticket);
        edit(&mut body);
        body
    };
    for (body, field) in [
        (with("INC0070001", &|b| b["colour"] = json!("red")), "colour"),
        (
            with("INC0070002", &|b| {
                b.as_object_mut().unwrap().remove("service");
            }),
            "service",
        ),
        (with("INC0070003", &|b| b["priority"] = json!("P9")), "priority"),
        (with("INC0070004", &|b| b["title"] = json!("x".repeat(161))), "title"),
    ] {
        let res = gw.submit("region-h", &body).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{field}");
        assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], field);
    }

    let mut body = incident("INC0070005");
    body["description"] = json!("y".repeat(8192));
    let res = gw.submit("region-h", &body).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "payload_too_large");

    let res = gw.get("sds", "/api/v1/incidents?colour=red").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["field"], "colour");

    let res = gw.get("sds", "/api/v1/incidents/not-an-id").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    assert!(gw.all_incidents().await.is_empty());
}

#[tokio::test]
async fn illegal_status_transitions_are_409_naming_from_and_to_and_change_nothing() {
    let gw = TestGateway::start().await;
    let created: Value = gw.submit("region-h", &incident("INC0080001")).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();

    let res = gw.patch("sds", id, &json!({"status": "closed"})).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "illegal_transition");
    assert_eq!(err["error"]["message"], "status cannot change from new to closed");

    let res = gw.patch("sds", id, &json!({"status": "cancelled"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = gw.patch("sds", id, &json!({"status": "in_progress"})).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("from cancelled to in_progress"));

    let now: Value = gw.get("sds", &format!("/api/v1/incidents/{id}")).await.json().await.unwrap();
    assert_eq!(now["status"], "cancelled");
}

#[tokio::test]
async fn a_major_incident_closes_only_after_its_report_is_approved() {
    let gw = TestGateway::start().await;
    let created: Value = gw.submit("region-h", &incident("INC0090001")).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(gw.patch("sds", id, &json!({"assignee": "fmk"})).await.status(), StatusCode::OK);
    assert_eq!(gw.patch("fmk", id, &json!({"status": "resolved"})).await.status(), StatusCode::OK);
    let res = gw.patch("sds", id, &json!({"status": "closed"})).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("incident report"));
    let report = json!({"report": "https://docs.fmk.example/reports/2026-11-23"});
    assert_eq!(gw.patch("fmk", id, &report).await.status(), StatusCode::OK);
    assert_eq!(gw.patch("fmk", id, &json!({"approve_report": true})).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(gw.patch("sds", id, &json!({"approve_report": true})).await.status(), StatusCode::OK);
    let closed = gw.patch("sds", id, &json!({"status": "closed"})).await;
    assert_eq!(closed.status(), StatusCode::OK);
    let closed: Value = closed.json().await.unwrap();
    assert_eq!(closed["report"]["approved_by"], "sds");
}

#[tokio::test]
async fn listing_filters_and_pages_with_a_cursor() {
    let gw = TestGateway::start().await;
    for n in 0..5 {
        let mut body = incident(&format!("L-{n}"));
        body["service"] = json!(if n % 2 == 0 { "FMK" } else { "NSP" });
        assert_eq!(gw.submit("region-h", &body).await.status(), StatusCode::CREATED);
    }
    let fmk: Value = gw.get("sds", "/api/v1/incidents?service=fmk").await.json().await.unwrap();
    assert_eq!(fmk["items"].as_array().unwrap().len(), 3);
    let page1: Value = gw.get("sds", "/api/v1/incidents?limit=2").await.json().await.unwrap();
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2: Value = gw.get("sds", &format!("/api/v1/incidents?limit=2&cursor={cursor}")).await.json().await.unwrap();
    assert_ne!(page1["items"][0]["id"], page2["items"][0]["id"]);
    assert_eq!(gw.all_incidents().await.len(), 5);
    let p2: Value = gw.get("sds", "/api/v1/incidents?priority=P2&status=new").await.json().await.unwrap();
    assert_eq!(p2["items"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn notes_are_journaled_and_internal_notes_are_hidden_from_the_reporter() {
    let gw = TestGateway::start().await;
    let created: Value = gw.submit("region-h", &incident("INC0100001")).await.json().await.unwrap();
    let id = created["id"].as_str().unwrap();
    let note = |desk: &'static str, body: Value| {
        let gw = &gw;
        let url = gw.url(&format!("/api/v1/incidents/{id}/notes"));
        async move { gw.client.post(url).bearer_auth(gw.token(desk)).json(&body).send().await.unwrap() }
    };
    assert_eq!(note("region-h", json!({"body": "User reports it again at 02:10"})).await.status(), StatusCode::CREATED);
    assert_eq!(
        note("sds", json!({"body": "Looks like the certificate", "visibility": "internal"})).await.status(),
        StatusCode::CREATED
    );
    let seen_by_origin: Value = gw.get("region-h", &format!("/api/v1/incidents/{id}")).await.json().await.unwrap();
    assert_eq!(seen_by_origin["notes"].as_array().unwrap().len(), 1);
    let seen_by_sds: Value = gw.get("sds", &format!("/api/v1/incidents/{id}")).await.json().await.unwrap();
    assert_eq!(seen_by_sds["notes"].as_array().unwrap().len(), 2);
    let res = note("region-h", json!({"body": "cpr 0102031234"})).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn ops_endpoints_answer() {
    let gw = TestGateway::start().await;
    assert_eq!(gw.client.get(gw.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(gw.client.get(gw.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);
    let before = kit::metrics(&gw).await;
    gw.submit("region-h", &incident("OPS-1")).await;
    let metrics = kit::metrics(&gw).await;
    assert!(metrics.contains("deskgate_http_requests_total"), "{metrics}");
    assert!(metrics.contains("deskgate_incidents_accepted_total"), "{metrics}");
    // The accept went through the store's writer and a flush, and both are counted
    // (other tests in this process may add to the same totals, never take away).
    let grew = |name: &str| kit::metric(&metrics, name) - kit::metric(&before, name);
    assert!(grew("deskgate_store_creation_batch_size_count") >= 1.0, "{metrics}");
    assert!(grew("deskgate_store_creation_batch_size_sum") >= 1.0, "{metrics}");
    assert!(grew("deskgate_store_creation_batch_seconds_sum") > 0.0, "{metrics}");
    assert!(grew("deskgate_store_flush_seconds_count") >= 1.0, "{metrics}");
    assert!(grew("deskgate_store_flushed_bytes_total") > 0.0, "{metrics}");
    let spec: Value = gw.client.get(gw.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(spec["paths"]["/api/v1/incidents"]["post"].is_object());
    assert!(spec["components"]["schemas"]["SubmitIncident"].is_object());
    let missing = gw.client.get(gw.url("/no/such/thing")).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(missing.json::<Value>().await.unwrap()["error"]["code"], "not_found");
}
