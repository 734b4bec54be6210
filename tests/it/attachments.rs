//! Attachments end to end: a screenshot attached through region H's ServiceNow
//! Attachment API reaches every other party's copy once (the national ClearQuest,
//! the supplier's Jira, region H's own ServiceNow record), also when a delivery's
//! answer is lost; content is stored once per hash; over the desk's limit an upload
//! is refused in the caller's dialect and nothing is stored.

use crate::kit;

use deskgate_sim::jira::LoseResponses;
use kit::{Federation, Fmk, ref_of};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A small PNG-looking file: the signature and some bytes.
fn screenshot() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend((0..4096u32).map(|i| (i * 7 % 251) as u8));
    png
}

/// An incident reported by region H and assigned to the Jira supplier: its id and
/// its sys_id in deskgate's ServiceNow API.
async fn assigned_incident(f: &Federation) -> (String, String) {
    let fields = [("short_description", "NSP lookups time out"), ("description", "Reported by phone")];
    let body = json!({"title": "NSP lookups time out", "description": "Reported by phone", "service": "NSP", "priority": "P3"});
    let (id, _) = f.report_ticket(&fields, body).await;
    let (status, _) = f.patch("sds", &id, json!({"assignee": "drift"})).await;
    assert_eq!(status, StatusCode::OK);
    f.drained().await;
    let sys_id = deskgate::dialects::servicenow::api::sys_id_of(&id.parse().unwrap());
    (id, sys_id)
}

/// Region H uploads `content` as `name` through deskgate's Attachment API.
async fn upload(f: &Federation, sys_id: &str, name: &str, content: Vec<u8>) -> (StatusCode, Value) {
    let res = f
        .client
        .post(f.url("/api/now/attachment/file"))
        .query(&[("table_name", "incident"), ("table_sys_id", sys_id), ("file_name", name)])
        .bearer_auth(kit::tokens::token("region-h"))
        .header("Content-Type", "image/png")
        .body(content)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn display(incident: &Value, desk: &str) -> String {
    ref_of(incident, desk).and_then(|r| r["display_id"].as_str()).unwrap_or_default().to_owned()
}

fn remote(incident: &Value, desk: &str) -> String {
    ref_of(incident, desk).and_then(|r| r["remote_id"].as_str()).unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_screenshot_reaches_every_copy_once_although_jira_s_answer_is_lost() {
    let f = Federation::builder().fmk(Fmk::Absent).open_rate_limits().start().await;
    let (id, sys_id) = assigned_incident(&f).await;
    let incident = f.incident(&id).await;
    let (cq, key, region_h) = (display(&incident, "sds"), remote(&incident, "drift"), remote(&incident, "region-h"));
    // Jira attaches the file and its answer never arrives: the delivery is retried.
    f.drift.lose_responses(LoseResponses { method: "POST".into(), path_suffix: "/attachments".into(), count: 1 });

    let png = screenshot();
    let (status, answer) = upload(&f, &sys_id, "screenshot.png", png.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let record = &answer["result"];
    assert_eq!(record["file_name"], "screenshot.png");
    assert_eq!(record["size_bytes"], png.len().to_string());
    assert_eq!(record["hash"], hex::encode(Sha256::digest(&png)));
    assert_eq!(record["table_sys_id"], sys_id.as_str());
    f.drained().await;

    assert_eq!(f.sds.attachments(&cq), vec![("screenshot.png".to_owned(), png.clone().into())], "national ClearQuest");
    let jira = f.drift.attachments(&key);
    assert_eq!(jira.len(), 1, "the supplier's Jira has it once: {:?}", jira.iter().map(|a| &a.0).collect::<Vec<_>>());
    assert_eq!((jira[0].0.as_str(), jira[0].1.as_str(), &jira[0].2[..]), ("screenshot.png", "image/png", &png[..]));
    let own = f.region_h.attachments(&region_h);
    assert_eq!(own.len(), 1, "region H's own record shows it too");
    assert_eq!(&own[0].1[..], &png[..]);
    assert!(f.dead_letters().await.is_empty());

    // Every copy is remembered as holding it.
    let attached = &f.incident(&id).await["attachments"][0];
    let mut delivered: Vec<&str> =
        attached["delivered_to"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    delivered.sort_unstable();
    assert_eq!(delivered, ["drift", "region-h", "sds"]);
    assert_eq!(attached["added_by"], "region-h");

    // The same file under the same name again is the attachment already there.
    let (status, again) = upload(&f, &sys_id, "screenshot.png", png.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["result"]["sys_id"], record["sys_id"]);
    f.drained().await;
    assert_eq!(f.sds.attachments(&cq).len(), 1);
    assert_eq!(f.drift.attachments(&key).len(), 1);

    // Region H lists and reads it back through the Attachment API.
    let query = [("sysparm_query", format!("table_name=incident^table_sys_id={sys_id}"))];
    let listed = kit::json_of(f.get_as("region-h", "/api/now/attachment").query(&query)).await;
    assert_eq!(listed["result"].as_array().map(Vec::len), Some(1), "{listed}");
    let link = record["sys_id"].as_str().unwrap();
    let res = f.get_as("region-h", &format!("/api/now/attachment/{link}/file")).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(&res.bytes().await.unwrap()[..], &png[..]);
}

#[tokio::test]
async fn a_supplier_assigned_later_gets_the_attachments_with_its_copy() {
    let f = Federation::builder().fmk(Fmk::Absent).open_rate_limits().start().await;
    let fields = [("short_description", "NSP lookups time out"), ("description", "Reported by phone")];
    let body = json!({"title": "NSP lookups time out", "description": "Reported by phone", "service": "NSP", "priority": "P3"});
    let (id, _) = f.report_ticket(&fields, body).await;
    f.drained().await;
    let sys_id = deskgate::dialects::servicenow::api::sys_id_of(&id.parse().unwrap());
    let (status, answer) = upload(&f, &sys_id, "screenshot.png", screenshot()).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, _) = f.patch("sds", &id, json!({"assignee": "drift"})).await;
    assert_eq!(status, StatusCode::OK);
    f.drained().await;
    let key = remote(&f.incident(&id).await, "drift");
    assert_eq!(f.drift.attachments(&key).len(), 1, "the new copy starts with the file");
}

#[tokio::test]
async fn the_same_content_twice_is_stored_once() {
    let f = Federation::builder().fmk(Fmk::Absent).open_rate_limits().start().await;
    let (id, sys_id) = assigned_incident(&f).await;
    let png = screenshot();
    assert_eq!(upload(&f, &sys_id, "screenshot.png", png.clone()).await.0, StatusCode::CREATED);
    assert_eq!(upload(&f, &sys_id, "copy of screenshot.png", png.clone()).await.0, StatusCode::CREATED);
    f.drained().await;
    let incident = f.incident(&id).await;
    let attachments = incident["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 2, "two attachments by name");
    assert_eq!(attachments[0]["sha256"], attachments[1]["sha256"]);
    // Both are delivered; the store holds the content once.
    assert_eq!(f.drift.attachments(&remote(&incident, "drift")).len(), 2);
    let mut f = f;
    f.stop().await;
    let store = deskgate::store::SledStore::open(&f.dir.path().join("store")).unwrap();
    use deskgate::store::Store;
    assert_eq!(store.content_count().await.unwrap(), 1);
}

#[tokio::test]
async fn an_upload_over_the_desk_s_limit_is_refused_with_413_and_nothing_is_stored() {
    let f = Federation::builder()
        .fmk(Fmk::Absent)
        .open_rate_limits()
        .configure(|c| {
            c.desk_key("region-h", "attachment_max_bytes", 1000);
        })
        .start()
        .await;
    let (id, sys_id) = assigned_incident(&f).await;
    let (status, answer) = upload(&f, &sys_id, "screenshot.png", screenshot()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(answer["status"], "failure", "ServiceNow's error shape: {answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("1000 bytes"), "{message}");
    f.drained().await;
    assert!(f.incident(&id).await.get("attachments").is_none());
    assert!(f.drift.attachments(&remote(&f.incident(&id).await, "drift")).is_empty());
    // The native API refuses it in its own shape, naming the field and the limit.
    let res = f
        .client
        .post(f.url(&format!("/api/v1/incidents/{id}/attachments")))
        .query(&[("file_name", "screenshot.png")])
        .bearer_auth(kit::tokens::token("region-h"))
        .body(screenshot())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let native: Value = res.json().await.unwrap();
    assert_eq!(
        (native["error"]["code"].as_str(), native["error"]["field"].as_str()),
        (Some("payload_too_large"), Some("file"))
    );
    assert!(native["error"]["message"].as_str().unwrap_or_default().contains("1000 bytes"), "{native}");
    // A file within the limit is taken.
    let (status, answer) = upload(&f, &sys_id, "small.png", vec![1; 1000]).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let mut f = f;
    f.stop().await;
    let store = deskgate::store::SledStore::open(&f.dir.path().join("store")).unwrap();
    use deskgate::store::Store;
    assert_eq!(store.content_count().await.unwrap(), 1, "only the file within the limit was stored");
}

#[tokio::test]
async fn a_file_name_with_patient_data_is_refused_and_nothing_is_stored() {
    let f = Federation::builder().fmk(Fmk::Absent).open_rate_limits().start().await;
    let (id, sys_id) = assigned_incident(&f).await;
    let (status, answer) = upload(&f, &sys_id, "CPR-0102031047.png", screenshot()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    let text = answer.to_string();
    assert!(!text.contains("0102031047"), "the error never echoes the identifier: {text}");
    assert!(f.incident(&id).await.get("attachments").is_none());
}

#[tokio::test]
async fn jira_uploads_need_the_no_check_header_and_are_listed_on_the_issue() {
    let f = Federation::builder().fmk(Fmk::Absent).open_rate_limits().start().await;
    let (id, _) = assigned_incident(&f).await;
    let key = deskgate::dialects::jira::api::key_of(&id.parse().unwrap());
    let (content_type, body) = deskgate_adapter::multipart::encode(&[deskgate_adapter::multipart::Part {
        name: "file".into(),
        file_name: Some("trace.txt".into()),
        content_type: Some("text/plain".into()),
        data: bytes::Bytes::from_static(b"timeout after 30 s"),
    }]);
    let post = |token: bool| {
        let mut req = f
            .client
            .post(f.url(&format!("/rest/api/2/issue/{key}/attachments")))
            .bearer_auth(kit::tokens::token("drift"))
            .header("Content-Type", content_type.clone())
            .body(body.clone());
        if token {
            req = req.header("X-Atlassian-Token", "no-check");
        }
        req.send()
    };
    let refused = post(false).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused: Value = refused.json().await.unwrap();
    assert!(refused["errorMessages"][0].as_str().unwrap_or_default().contains("X-Atlassian-Token"), "{refused}");
    let made = post(true).await.unwrap();
    assert_eq!(made.status(), StatusCode::OK);
    let made: Value = made.json().await.unwrap();
    assert_eq!(made[0]["filename"], "trace.txt");
    assert_eq!(made[0]["size"], 18);
    let issue =
        kit::get_json(&f.client, &f.url(&format!("/rest/api/2/issue/{key}")), &kit::tokens::token("drift")).await;
    assert_eq!(issue["fields"]["attachment"][0]["filename"], "trace.txt", "{issue}");
    f.drained().await;
    // It came from the supplier's side: the national ClearQuest and region H get it.
    let incident = f.incident(&id).await;
    assert_eq!(f.sds.attachments(&display(&incident, "sds")).len(), 1);
    assert_eq!(f.region_h.attachments(&remote(&incident, "region-h")).len(), 1);
}

#[tokio::test]
async fn the_native_api_takes_and_serves_attachments() {
    let f = Federation::builder().fmk(Fmk::Absent).open_rate_limits().start().await;
    let (id, _) = assigned_incident(&f).await;
    let res = f
        .client
        .post(f.url(&format!("/api/v1/incidents/{id}/attachments")))
        .query(&[("file_name", "log.txt")])
        .bearer_auth(kit::tokens::token("sds"))
        .header("Content-Type", "text/plain")
        .body("line 1\nline 2\n")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let made: Value = res.json().await.unwrap();
    assert_eq!(made["number"], 1);
    assert_eq!(made["size"], 14);
    let content = f.get_as("region-h", &format!("/api/v1/incidents/{id}/attachments/1/content")).send().await.unwrap();
    assert_eq!(content.status(), StatusCode::OK);
    assert_eq!(content.text().await.unwrap(), "line 1\nline 2\n");
    f.drained().await;
    let incident = f.incident(&id).await;
    assert_eq!(f.drift.attachments(&remote(&incident, "drift")).len(), 1);

    // An upload without content is refused, naming the body, and adds nothing.
    let empty = f
        .client
        .post(f.url(&format!("/api/v1/incidents/{id}/attachments")))
        .query(&[("file_name", "empty.txt")])
        .bearer_auth(kit::tokens::token("sds"))
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    let refused: Value = empty.json().await.unwrap();
    assert_eq!(refused["error"]["field"], "body", "{refused}");
    assert_eq!(f.incident(&id).await["attachments"].as_array().map(Vec::len), Some(1));
}
