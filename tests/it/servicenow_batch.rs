//! The ServiceNow Batch API (`POST /api/now/v1/batch`) against a real gateway: Table
//! API calls in one request, run in order with the caller's identity.

use crate::kit;
use crate::servicenow_api::{record, servicenow_federation};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use kit::*;
use kit::{Reply as Answer, request as call};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const BATCH: &str = "/api/now/v1/batch";
const TABLE: &str = "/api/now/table/incident";

async fn gateway() -> TestGateway {
    TestGateway::start_edited(
        |c| {
            servicenow_federation(c);
            c.open_rate_limits();
        },
        reqwest::Client::new(),
    )
    .await
}

/// One item of `rest_requests`, its body in base64 as ServiceNow expects.
fn item(id: &str, method: &str, url: &str, body: Option<Value>) -> Value {
    let mut item = json!({
        "id": id,
        "method": method,
        "url": url,
        "headers": [{"name": "Content-Type", "value": "application/json"}, {"name": "Accept", "value": "application/json"}],
    });
    if let Some(body) = body {
        item["body"] = json!(BASE64.encode(body.to_string()));
    }
    item
}

/// The answer to the item `id`, its body decoded.
fn serviced<'a>(a: &'a Answer, id: &str) -> (&'a Value, Value) {
    let items = a.body["serviced_requests"].as_array().unwrap_or_else(|| panic!("{}", a.body));
    let item = items.iter().find(|i| i["id"] == id).unwrap_or_else(|| panic!("no answer to {id}: {}", a.body));
    let body = BASE64.decode(item["body"].as_str().unwrap()).unwrap();
    (item, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn header<'a>(item: &'a Value, name: &str) -> Option<&'a str> {
    let headers = item["headers"].as_array()?;
    headers.iter().find(|h| h["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))?["value"].as_str()
}

#[tokio::test]
async fn a_batch_runs_table_calls_in_order_with_the_callers_identity() {
    let gw = gateway().await;
    let first = call(&gw, Method::POST, "region-h", TABLE, Some(record("FMK: first", "2", "2", "b-1"))).await;
    let sys_id = first.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let other = call(&gw, Method::POST, "region-s", TABLE, Some(record("NSP: not theirs", "3", "3", "s-1"))).await;
    let hidden = other.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let record_path = format!("{TABLE}/{sys_id}?sysparm_display_value=all");
    let mut impersonating = item("6", "PATCH", &format!("{TABLE}/{sys_id}"), Some(json!({"state": "2"})));
    impersonating["headers"] = json!([{"name": "Authorization", "value": format!("Bearer {}", gw.token("sds"))}]);
    let mut quiet = item("2", "GET", &format!("{TABLE}?sysparm_limit=1&business_service=FMK"), None);
    quiet["exclude_response_headers"] = json!(true);
    let batch = json!({
        "batch_request_id": 7,
        "rest_requests": [
            item("1", "POST", "/api/now/v2/table/incident", Some(record("FMK: in a batch", "1", "2", "b-2"))),
            quiet,
            item("3", "PATCH", &record_path, Some(json!({"comments": "Ward 4 too"}))),
            item("4", "GET", &format!("{TABLE}/{hidden}"), None),
            item("5", "GET", "/api/now/table/problem", None),
            impersonating,
            item("7", "POST", BATCH, Some(json!({"rest_requests": []}))),
        ],
    });
    let a = call(&gw, Method::POST, "region-h", BATCH, Some(batch)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["batch_request_id"], "7", "echoed as a string");
    assert_eq!(a.body["unserviced_requests"], json!([]));
    let ids: Vec<&str> =
        a.body["serviced_requests"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6", "7"], "in order");

    let (created, body) = serviced(&a, "1");
    assert_eq!((created["status_code"].as_u64(), created["status_text"].as_str()), (Some(201), Some("Created")));
    assert_eq!(body["result"]["number"], "INC0000003");
    assert_eq!(body["result"]["caller_id"]["value"], "region-h", "created as the batch's caller");
    assert!(header(created, "location").is_some_and(|l| l.ends_with(body["result"]["sys_id"].as_str().unwrap())));
    assert!(created["execution_time"].is_u64());
    let (listed, body) = serviced(&a, "2");
    assert_eq!((listed["status_code"].as_u64(), &listed["headers"]), (Some(200), &json!([])));
    assert_eq!(body["result"][0]["number"], "INC0000001");
    let (patched, body) = serviced(&a, "3");
    assert_eq!(patched["status_code"], 200, "{body}");
    assert_eq!(body["result"]["state"], json!({"display_value": "New", "value": "1"}), "the item's own parameters");
    let (not_party, body) = serviced(&a, "4");
    assert_eq!((not_party["status_code"].as_u64(), body["status"].as_str()), (Some(404), Some("failure")));
    let (table, body) = serviced(&a, "5");
    assert_eq!(table["status_code"], 400);
    assert!(body["error"]["message"].as_str().unwrap().starts_with("Invalid table problem"), "{body}");
    let (refused, body) = serviced(&a, "6");
    assert_eq!(refused["status_code"], 403, "an item's own Authorization is not used: {body}");
    let (nested, body) = serviced(&a, "7");
    assert_eq!(nested["status_code"], 400, "a batch inside a batch is not served: {body}");

    let incidents = gw.all_incidents().await;
    assert_eq!(incidents.len(), 3);
    let first = incidents.iter().find(|i| i["title"] == "FMK: first").unwrap();
    assert_eq!((first["status"].as_str(), first["notes"][0]["body"].as_str()), (Some("new"), Some("Ward 4 too")));
}

#[tokio::test]
async fn calls_beyond_what_one_batch_runs_are_answered_as_unserviced() {
    let gw = gateway().await;
    let requests: Vec<Value> =
        (1..=102).map(|n| item(&n.to_string(), "GET", &format!("{TABLE}?sysparm_limit=1"), None)).collect();
    let a =
        call(&gw, Method::POST, "region-h", BATCH, Some(json!({"batch_request_id": "b", "rest_requests": requests})))
            .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["serviced_requests"].as_array().map(Vec::len), Some(100));
    assert!(a.body["serviced_requests"].as_array().unwrap().iter().all(|i| i["status_code"] == 200));
    assert_eq!(a.body["unserviced_requests"], json!(["101", "102"]));
}

#[tokio::test]
async fn a_malformed_batch_runs_none_of_its_calls_and_names_the_problem() {
    let gw = gateway().await;
    let good = item("1", "POST", TABLE, Some(record("FMK: never", "2", "2", "m-1")));
    let mut bad_body = item("2", "POST", TABLE, None);
    bad_body["body"] = json!("not base64!");
    let cases = [
        (json!({"batch_request_id": "1"}), "rest_requests"),
        (json!({"rest_requests": [good.clone(), bad_body]}), "rest_requests[1].body"),
        (json!({"rest_requests": [good.clone(), {"id": "2", "method": "GET"}]}), "rest_requests[1].url"),
        (
            json!({"rest_requests": [good.clone(), item("2", "GET", "https://elsewhere/api/now/table/incident", None)]}),
            "rest_requests[1].url",
        ),
        (json!({"rest_requests": [{"method": "GET", "url": TABLE}]}), "rest_requests[0].id"),
    ];
    for (body, field) in cases {
        let a = call(&gw, Method::POST, "region-h", BATCH, Some(body)).await;
        assert_eq!(
            (a.status, a.body["status"].as_str()),
            (StatusCode::BAD_REQUEST, Some("failure")),
            "{field}: {}",
            a.body
        );
        assert_eq!(a.body["error"]["detail"], format!("field: {field}"), "{}", a.body);
    }
    assert!(gw.all_incidents().await.is_empty(), "nothing ran");

    let anonymous = gw.client.post(gw.url(BATCH)).json(&json!({"rest_requests": [good.clone()]})).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let native = call(&gw, Method::POST, "fmk", BATCH, Some(json!({"rest_requests": [good]}))).await;
    assert_eq!((native.status, native.body["status"].as_str()), (StatusCode::FORBIDDEN, Some("failure")));
    assert!(gw.all_incidents().await.is_empty());
}
