//! Hostile text against a real gateway: control characters, bidi overrides, NUL,
//! titles that show nothing, script URLs and markup in ids. Each is refused with 400
//! in the caller's dialect, naming the field and saying what was expected, and
//! nothing is stored; ordinary text with tabs and line breaks still passes.

use crate::kit;

use kit::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn with(mut body: Value, field: &str, value: &str) -> Value {
    body[field] = json!(value);
    body
}

const HOSTILE_TITLES: &[&str] = &[
    "FMK \u{202e}nede\u{202c}",
    "FMK\u{0}nede",
    "FMK \u{1b}[31mnede",
    "\u{200b}\u{2060}\u{feff}",
    "FMK \u{2067}x\u{2069} nede",
];

/// The bodies to refuse: `base` with each hostile title as `title_field`, then with
/// each `(field, value)` of `more`; each with the field it is refused for.
fn cases<'a>(base: &Value, title_field: &'a str, more: &[(&'a str, &str)]) -> Vec<(&'a str, Value)> {
    let titles = HOSTILE_TITLES.iter().map(|t| (title_field, *t));
    titles.chain(more.iter().copied()).map(|(field, value)| (field, with(base.clone(), field, value))).collect()
}

#[tokio::test]
async fn native_api_refuses_control_characters_bidi_script_urls_and_markup_ids() {
    let gw = TestGateway::start().await;
    let base = incident("PH-1");
    let long_id = "A".repeat(65);
    let cases = cases(
        &base,
        "title",
        &[
            ("description", "Ingen recepter\u{0}"),
            ("description", "Ingen \u{202e}retpecer"),
            ("description", "\u{200b}\u{200b}"),
            ("ticket_url", "javascript:alert(document.cookie)"),
            ("ticket_url", "data:text/html,<script>alert(1)</script>"),
            ("ticket_url", "//desk.example/PH-1"),
            ("display_id", "<script>alert(1)</script>"),
            ("display_id", "INC0010001\u{202e}"),
            ("display_id", &long_id),
            ("ticket_id", "<img src=x onerror=alert(1)>"),
            ("ticket_id", "PH\u{200b}-1"),
        ],
    );
    for (field, body) in cases {
        let a = call(&gw, Method::POST, "pharmacy", "/api/v1/incidents", &body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{field}: {}", a.text);
        assert_eq!(a.body["error"]["field"], field, "{}", a.text);
        assert!(a.body["error"]["message"].as_str().unwrap().starts_with(&format!("{field}: expected")), "{}", a.text);
    }
    assert!(gw.all_incidents().await.is_empty(), "nothing was stored");

    // Ordinary text passes: tabs and line breaks in a description, a real URL and id.
    let ok = json!({
        "title": "FMK: recepter kan ikke læses", "description": "Trin:\n\t1. log ind\r\n\t2. åbn FMK",
        "service": "FMK", "ticket_id": "PH-1", "display_id": "RITM0012345", "ticket_url": "https://desk.example/PH-1",
    });
    let created = call(&gw, Method::POST, "pharmacy", "/api/v1/incidents", &ok).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let before = gw.all_incidents().await;
    let path = format!("/api/v1/incidents/{id}");
    let a = call(&gw, Method::PATCH, "sds", &path, &json!({"rfc": {"key": "SDSJIRA-1", "url": "javascript:alert(1)"}}))
        .await;
    assert_eq!((a.status, a.body["error"]["field"].clone()), (StatusCode::BAD_REQUEST, json!("rfc.url")), "{}", a.text);
    for body in ["se \u{202e}her", "NUL\u{0}", "\u{200b}"] {
        let a = call(&gw, Method::POST, "pharmacy", &format!("{path}/notes"), &json!({ "body": body })).await;
        assert_eq!(
            (a.status, a.body["error"]["field"].clone()),
            (StatusCode::BAD_REQUEST, json!("body")),
            "{}",
            a.text
        );
    }
    assert_eq!(gw.all_incidents().await, before, "nothing was changed");
}

#[tokio::test]
async fn servicenow_table_api_refuses_hostile_values_naming_the_servicenow_field() {
    let gw = TestGateway::start().await;
    let base = json!({
        "short_description": "FMK: prescriptions cannot be read", "description": "No prescriptions.",
        "business_service": "FMK", "correlation_id": "RH-1",
    });
    let cases = cases(
        &base,
        "short_description",
        &[
            ("correlation_display", "<script>alert(1)</script>"),
            ("correlation_id", "<b>RH-1</b>"),
            ("work_notes", "se \u{202e}her"),
            ("close_notes", "NUL\u{0}"),
            ("close_code", "Solved\n(Permanently)"),
        ],
    );
    for (field, body) in cases {
        let a = call(&gw, Method::POST, "region-h", "/api/now/table/incident", &body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{field}: {}", a.text);
        assert_eq!(a.body["status"], "failure", "{}", a.text);
        assert_eq!(a.body["error"]["detail"], format!("field: {field}"), "{}", a.text);
        assert!(a.body["error"]["message"].as_str().unwrap().starts_with(&format!("{field}: expected")), "{}", a.text);
    }
    assert!(gw.all_incidents().await.is_empty(), "nothing was stored");
}

#[tokio::test]
async fn jira_rest_api_refuses_hostile_values_naming_the_jira_field() {
    let gw = TestGateway::start().await;
    let issue = |summary: &str, ticket: &str| {
        json!({"fields": {
            "project": {"key": "DG"}, "issuetype": {"name": "Incident"}, "summary": summary,
            "description": "No prescriptions.", "components": [{"name": "FMK"}], "customfield_10100": ticket,
        }})
    };
    let mut cases: Vec<(&str, Value)> = HOSTILE_TITLES.iter().map(|t| ("summary", issue(t, "RM-1"))).collect();
    cases.push(("customfield_10100", issue("FMK: nede", "<script>alert(1)</script>")));
    for (field, body) in cases {
        let a = call(&gw, Method::POST, "region-m", "/rest/api/2/issue", &body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{field}: {}", a.text);
        assert!(a.body["errors"][field].as_str().unwrap().starts_with(&format!("{field}: expected")), "{}", a.text);
    }
    assert!(gw.all_incidents().await.is_empty(), "nothing was stored");
    let created = call(&gw, Method::POST, "region-m", "/rest/api/2/issue", &issue("FMK: nede", "RM-1")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let key = created.body["key"].as_str().unwrap().to_owned();
    let before = gw.all_incidents().await;
    let link = json!({"globalId": "g-1", "object": {"url": "javascript:alert(1)", "title": "Ticket"}});
    let a = call(&gw, Method::POST, "region-m", &format!("/rest/api/2/issue/{key}/remotelink"), &link).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(a.body["errors"]["object.url"].as_str().unwrap().contains("http(s) URL"), "{}", a.text);
    let a = call(
        &gw,
        Method::POST,
        "region-m",
        &format!("/rest/api/2/issue/{key}/comment"),
        &json!({"body": "x\u{202e}y"}),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(a.body["errors"]["body"].is_string(), "{}", a.text);
    assert_eq!(gw.all_incidents().await, before, "nothing was changed");
}
