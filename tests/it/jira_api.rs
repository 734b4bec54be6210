//! deskgate as a Jira server: REST v2/v3 against a real gateway. `region-m` is the
//! Jira local desk of the test federation; here the operations supplier `drift`
//! speaks Jira too (so it can transition issues assigned to it) and `region-n` is a
//! second Jira local desk.

use crate::kit;

use kit::*;
use kit::{Reply as Answer, request as call};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn jira_federation(c: &mut GatewayConfig) {
    c.desk("drift", jira_drift());
    c.desk("region-n", Desk::known("region-n", "Region Nordjylland Service Desk", "local", "jira"));
}

/// The operations supplier on a Jira nobody answers, its webhooks read back.
pub fn jira_drift() -> Desk {
    Desk::known("drift", "Operations supplier", "supplier", "jira")
        .endpoint("http://127.0.0.1:9")
        .bearer_credentials("T_DRIFT")
        .set("jira", json!({ "project": "DRIFT", "webhook_verify": "reread" }))
        .services(&["*"])
}

async fn gateway() -> TestGateway {
    TestGateway::start_edited(jira_federation, reqwest::Client::new()).await
}

fn issue(summary: &str, priority: &str, ticket: &str) -> Value {
    json!({"fields": {
        "project": {"key": "DG"},
        "issuetype": {"name": "Incident"},
        "summary": summary,
        "description": format!("{summary}: reported by Region Midtjylland"),
        "components": [{"name": "FMK"}],
        "priority": {"name": priority},
        "customfield_10100": ticket,
    }})
}

async fn create(gw: &TestGateway, desk: &str, body: Value) -> String {
    let a = call(gw, Method::POST, desk, "/rest/api/2/issue", Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body["key"].as_str().unwrap().to_owned()
}

async fn get_issue(gw: &TestGateway, desk: &str, key: &str) -> Value {
    let a = call(gw, Method::GET, desk, &format!("/rest/api/2/issue/{key}"), None).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    a.body
}

async fn native(gw: &TestGateway, id: &str) -> Value {
    gw.get("sds", &format!("/api/v1/incidents/{id}")).await.json().await.unwrap()
}

fn assert_jira_error(a: &Answer, status: StatusCode, says: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    assert!(a.body["errorMessages"].is_array() && a.body["errors"].is_object(), "Jira shape: {}", a.body);
    assert!(a.body.to_string().contains(says), "{} should mention {says}", a.body);
}

#[tokio::test]
async fn metadata_the_python_client_reads() {
    let gw = gateway().await;
    for v in ["2", "3", "latest"] {
        let info = call(&gw, Method::GET, "region-m", &format!("/rest/api/{v}/serverInfo"), None).await;
        assert_eq!(info.status, StatusCode::OK);
        assert_eq!(info.body["versionNumbers"], json!([9, 12, 0]));
        assert_eq!(info.body["deploymentType"], "Server");
    }
    let me = call(&gw, Method::GET, "region-m", "/rest/api/2/myself", None).await;
    assert_eq!(me.body["name"], "region-m");
    assert_eq!(me.body["displayName"], "Region Midtjylland IT Service Desk");
    let fields = call(&gw, Method::GET, "region-m", "/rest/api/2/field", None).await;
    let ticket = fields.body.as_array().unwrap().iter().find(|f| f["id"] == "customfield_10100").unwrap();
    assert_eq!(ticket["clauseNames"], json!(["cf[10100]", "Desk ticket"]));
    let priorities = call(&gw, Method::GET, "region-m", "/rest/api/2/priority", None).await;
    let names: Vec<&str> = priorities.body.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Highest", "High", "Medium", "Low"]);
    let project = call(&gw, Method::GET, "region-m", "/rest/api/2/project/DG", None).await;
    assert_eq!((project.body["key"].as_str(), project.body["id"].as_str()), (Some("DG"), Some("10000")));
    let missing = call(&gw, Method::GET, "region-m", "/rest/api/2/project/NOPE", None).await;
    assert_jira_error(&missing, StatusCode::NOT_FOUND, "No project could be found");
    let v4 = call(&gw, Method::GET, "region-m", "/rest/api/4/serverInfo", None).await;
    assert_jira_error(&v4, StatusCode::NOT_FOUND, "version 4");
}

#[tokio::test]
async fn creating_an_issue_submits_an_incident() {
    let gw = gateway().await;
    let mut body = issue("FMK: prescriptions cannot be read", "High", "RM-7");
    body["update"] = json!({"comment": [{"add": {"body": "Three wards affected"}}]});
    let a = call(&gw, Method::POST, "region-m", "/rest/api/2/issue", Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["key"], "DG-1");
    assert_eq!(a.body["id"], "1");
    assert_eq!(a.body["self"], "http://gateway.test/rest/api/2/issue/1");

    let i = get_issue(&gw, "region-m", "DG-1").await;
    let f = &i["fields"];
    assert_eq!(f["summary"], "FMK: prescriptions cannot be read");
    assert_eq!(f["description"], "FMK: prescriptions cannot be read: reported by Region Midtjylland");
    assert_eq!(f["status"]["name"], "Open");
    assert_eq!(f["status"]["statusCategory"]["key"], "new");
    assert_eq!(f["priority"]["name"], "High");
    assert_eq!(f["components"], json!([{"name": "FMK"}]));
    assert_eq!(f["reporter"]["name"], "region-m");
    assert_eq!(f["assignee"], Value::Null);
    assert_eq!(f["customfield_10100"], "RM-7");
    assert_eq!(f["comment"]["total"], 1);
    assert_eq!(f["comment"]["comments"][0]["body"], "Three wards affected");
    assert!(deskgate_jira::wire::parse_timestamp(f["created"].as_str().unwrap()).is_some());
    assert_eq!(get_issue(&gw, "region-m", "1").await["key"], "DG-1", "the issue id addresses it too");

    let incident = native(&gw, f["customfield_10101"].as_str().unwrap()).await;
    assert_eq!(incident["priority"], "P2");
    assert_eq!(incident["origin"], json!({"desk": "region-m", "ticket": "RM-7"}));
    assert_eq!(incident["notes"][0]["body"], "Three wards affected");

    // The same desk ticket again is the same incident.
    let again =
        call(&gw, Method::POST, "region-m", "/rest/api/2/issue", Some(issue("FMK again", "High", "RM-7"))).await;
    assert_eq!((again.status, again.body["key"].as_str()), (StatusCode::CREATED, Some("DG-1")));
    assert_eq!(gw.all_incidents().await.len(), 1);
}

#[tokio::test]
async fn v3_speaks_adf_and_v2_plain_text() {
    let gw = gateway().await;
    let mut body = issue("NSP: login fails", "Medium", "RM-8");
    body["fields"]["description"] = json!({"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "First line"}]},
        {"type": "paragraph", "content": [{"type": "text", "text": "Second paragraph"}]}]});
    let a = call(&gw, Method::POST, "region-m", "/rest/api/3/issue", Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body["self"], "http://gateway.test/rest/api/3/issue/1");
    let v2 = get_issue(&gw, "region-m", "DG-1").await;
    assert_eq!(v2["fields"]["description"], "First line\n\nSecond paragraph");
    let v3 = call(&gw, Method::GET, "region-m", "/rest/api/3/issue/DG-1", None).await;
    assert_eq!(v3.body["fields"]["description"]["type"], "doc");
    assert_eq!(v3.body["fields"]["description"]["content"][1]["content"][0]["text"], "Second paragraph");

    let comment = json!({"body": {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": "ADF comment"}]}]}});
    let c = call(&gw, Method::POST, "region-m", "/rest/api/3/issue/DG-1/comment", Some(comment)).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    assert_eq!(c.body["body"]["type"], "doc");
    let listed = call(&gw, Method::GET, "region-m", "/rest/api/2/issue/DG-1/comment", None).await;
    assert_eq!(listed.body["comments"][0]["body"], "ADF comment");
}

#[tokio::test]
async fn bad_requests_get_jira_shaped_errors_naming_the_field() {
    let gw = gateway().await;
    create(&gw, "region-m", issue("FMK: errors", "High", "RM-9")).await;
    let without = |field: &str| {
        let mut b = issue("FMK: x", "High", "RM-10");
        b["fields"].as_object_mut().unwrap().remove(field);
        b
    };
    let with = |field: &str, value: Value| {
        let mut b = issue("FMK: x", "High", "RM-10");
        b["fields"][field] = value;
        b
    };
    let cases: Vec<(Method, &str, Option<Value>, StatusCode, &str)> = vec![
        (Method::POST, "/rest/api/2/issue", Some(without("summary")), StatusCode::BAD_REQUEST, "\"summary\""),
        (Method::POST, "/rest/api/2/issue", Some(without("components")), StatusCode::BAD_REQUEST, "\"components\""),
        (
            Method::POST,
            "/rest/api/2/issue",
            Some(with("project", json!({"key": "XX"}))),
            StatusCode::BAD_REQUEST,
            "\"project\"",
        ),
        (
            Method::POST,
            "/rest/api/2/issue",
            Some(with("priority", json!({"name": "Urgent"}))),
            StatusCode::BAD_REQUEST,
            "Highest, High, Medium, Low",
        ),
        (
            Method::POST,
            "/rest/api/2/issue",
            Some(with("customfield_99", json!("x"))),
            StatusCode::BAD_REQUEST,
            "Field 'customfield_99' cannot be set",
        ),
        (Method::POST, "/rest/api/2/issue", Some(json!([1])), StatusCode::BAD_REQUEST, "JSON object"),
        (Method::GET, "/rest/api/2/issue/DG-99", None, StatusCode::NOT_FOUND, "Issue Does Not Exist"),
        (Method::GET, "/rest/api/2/issue/OTHER-1", None, StatusCode::NOT_FOUND, "Issue Does Not Exist"),
        (Method::GET, "/rest/api/2/search?jql=status%20%3D", None, StatusCode::BAD_REQUEST, "Error in the JQL Query"),
        (
            Method::GET,
            "/rest/api/2/search?jql=bogus%20%3D%201",
            None,
            StatusCode::BAD_REQUEST,
            "Field 'bogus' does not exist",
        ),
        (
            Method::POST,
            "/rest/api/2/issue/DG-1/transitions",
            Some(json!({"transition": {"id": "999"}})),
            StatusCode::BAD_REQUEST,
            "Transition id '999' is not valid",
        ),
        (
            Method::PUT,
            "/rest/api/2/issue/DG-1",
            Some(json!({"fields": {"summary": "renamed"}})),
            StatusCode::BAD_REQUEST,
            "\"summary\"",
        ),
        (
            Method::POST,
            "/rest/api/2/issue/DG-1/comment",
            Some(json!({"body": ""})),
            StatusCode::BAD_REQUEST,
            "\"body\"",
        ),
    ];
    for (method, path, body, status, says) in cases {
        let a = call(&gw, method.clone(), "region-m", path, body).await;
        assert_jira_error(&a, status, says);
    }
    let patient = call(
        &gw,
        Method::POST,
        "region-m",
        "/rest/api/2/issue",
        Some(issue("CPR 010203-1234 mangler", "High", "RM-11")),
    )
    .await;
    assert_jira_error(&patient, StatusCode::UNPROCESSABLE_ENTITY, "\"summary\"");
    assert!(!patient.body.to_string().contains("010203"));
    assert_eq!(gw.all_incidents().await.len(), 1, "bad input changes nothing");
}

#[tokio::test]
async fn visibility_authentication_and_dialect() {
    let gw = gateway().await;
    let key = create(&gw, "region-m", issue("FMK: mine", "High", "RM-12")).await;
    let other = call(&gw, Method::GET, "region-n", &format!("/rest/api/2/issue/{key}"), None).await;
    assert_jira_error(&other, StatusCode::NOT_FOUND, "Issue Does Not Exist");
    let other =
        call(&gw, Method::POST, "region-n", &format!("/rest/api/2/issue/{key}/comment"), Some(json!({"body": "x"})))
            .await;
    assert_jira_error(&other, StatusCode::NOT_FOUND, "Issue Does Not Exist");
    let searched = call(&gw, Method::GET, "region-n", "/rest/api/2/search?jql=", None).await;
    assert_eq!(searched.body["total"], 0);
    let servicenow_desk = call(&gw, Method::GET, "region-h", "/rest/api/2/serverInfo", None).await;
    assert_jira_error(&servicenow_desk, StatusCode::FORBIDDEN, "system = \\\"jira\\\"");
    let anonymous = gw.client.get(gw.url("/rest/api/2/myself")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let body: Value = anonymous.json().await.unwrap();
    assert!(body["errorMessages"][0].as_str().unwrap().contains("Bearer"), "{body}");
}

/// An issue reported by region-m and assigned to drift by the national desk.
async fn assigned_to_drift(gw: &TestGateway, priority: &str) -> (String, String) {
    let key = create(gw, "region-m", issue("FMK: assigned", priority, &format!("RM-{priority}"))).await;
    let id = get_issue(gw, "region-m", &key).await["fields"]["customfield_10101"].as_str().unwrap().to_owned();
    let r = gw.patch("sds", &id, &json!({"assignee": "drift"})).await;
    assert_eq!(r.status(), StatusCode::OK);
    (key, id)
}

fn transition_names(a: &Answer) -> Vec<String> {
    a.body["transitions"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn transitions_follow_the_workflow_and_are_named_by_the_desks_mapping() {
    let gw = gateway().await;
    let (key, id) = assigned_to_drift(&gw, "Medium").await;
    let path = format!("/rest/api/2/issue/{key}/transitions");
    let offered = call(&gw, Method::GET, "drift", &format!("{path}?expand=transitions.fields"), None).await;
    assert_eq!(offered.status, StatusCode::OK, "{}", offered.body);
    assert_eq!(
        transition_names(&offered),
        ["In Progress", "Waiting for customer", "Pending", "Pending Release", "Resolved", "Won't Do"]
    );
    let in_progress = offered.body["transitions"][0].clone();
    assert_eq!(in_progress["to"]["name"], "In Progress");
    assert!(in_progress["fields"].is_object());

    let done =
        call(&gw, Method::POST, "drift", &path, Some(json!({"transition": {"id": in_progress["id"]}, "update": {"comment": [{"add": {"body": "Working on it"}}]}}))).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);
    let incident = native(&gw, &id).await;
    assert_eq!(incident["status"], "in_progress");
    assert_eq!(incident["notes"][0]["body"], "Working on it");
    assert_eq!(get_issue(&gw, "drift", &key).await["fields"]["status"]["name"], "In Progress");

    // Closed is not offered from In Progress; asking for it anyway names both ends.
    let offered = call(&gw, Method::GET, "drift", &path, None).await;
    assert!(!transition_names(&offered).contains(&"Closed".to_owned()));
    let resolved_id =
        offered.body["transitions"].as_array().unwrap().iter().find(|t| t["name"] == "Resolved").unwrap()["id"].clone();
    let closed_id = (resolved_id.as_str().unwrap().parse::<u32>().unwrap() + 10).to_string();
    let refused = call(&gw, Method::POST, "drift", &path, Some(json!({"transition": {"id": closed_id}}))).await;
    assert_jira_error(&refused, StatusCode::BAD_REQUEST, "from 'In Progress' to 'Closed'");
    assert_eq!(native(&gw, &id).await["status"], "in_progress");

    // The reporting desk may comment but not move the status.
    let local = call(&gw, Method::POST, "region-m", &path, Some(json!({"transition": {"id": resolved_id}}))).await;
    assert_jira_error(&local, StatusCode::FORBIDDEN, "local desks add notes");
    let ok = call(&gw, Method::POST, "drift", &path, Some(json!({"transition": {"id": resolved_id}}))).await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.body);
    let resolved = get_issue(&gw, "region-m", &key).await;
    assert_eq!(resolved["fields"]["status"]["name"], "Resolved");
    assert_eq!(resolved["fields"]["resolution"]["name"], "Done");
}

#[tokio::test]
async fn editing_priority_and_internal_comments() {
    let gw = gateway().await;
    let (key, id) = assigned_to_drift(&gw, "Low").await;
    let path = format!("/rest/api/2/issue/{key}");
    let local =
        call(&gw, Method::PUT, "region-m", &path, Some(json!({"fields": {"priority": {"name": "Highest"}}}))).await;
    assert_jira_error(&local, StatusCode::FORBIDDEN, "local desks");
    let supplier =
        call(&gw, Method::PUT, "drift", &path, Some(json!({"fields": {"priority": {"name": "Highest"}}}))).await;
    assert_eq!(supplier.status, StatusCode::NO_CONTENT, "{}", supplier.body);
    assert_eq!(native(&gw, &id).await["priority"], "P1");
    let same = call(&gw, Method::PUT, "region-m", &path, Some(json!({"fields": {"summary": "FMK: assigned"}}))).await;
    assert_eq!(same.status, StatusCode::NO_CONTENT, "an unchanged summary is harmless: {}", same.body);

    let internal = json!({"body": "Root cause suspected in the certificate store", "visibility": {"type": "role", "value": "Developers"}});
    let c = call(&gw, Method::POST, "drift", &format!("{path}/comment"), Some(internal)).await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.body);
    assert_eq!(c.body["visibility"]["type"], "role");
    let public =
        call(&gw, Method::POST, "drift", &format!("{path}/comment"), Some(json!({"body": "We are on it"}))).await;
    assert_eq!(public.status, StatusCode::CREATED);
    let seen_by_region = call(&gw, Method::GET, "region-m", &format!("{path}/comment"), None).await;
    let bodies: Vec<&str> =
        seen_by_region.body["comments"].as_array().unwrap().iter().map(|c| c["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["We are on it"]);
    let seen_by_drift = call(&gw, Method::GET, "drift", &format!("{path}/comment"), None).await;
    assert_eq!(seen_by_drift.body["total"], 2);
}

#[tokio::test]
async fn remote_links_are_idempotent_on_global_id() {
    let gw = gateway().await;
    let key = create(&gw, "region-m", issue("FMK: linked", "High", "RM-20")).await;
    let link = json!({"globalId": "system=cq&id=SAMPL00000042", "relationship": "relates to",
        "object": {"url": "https://cq.example/record/42", "title": "SAMPL00000042"}});
    let path = format!("/rest/api/2/issue/{key}/remotelink");
    let first = call(&gw, Method::POST, "region-m", &path, Some(link.clone())).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let second = call(&gw, Method::POST, "region-m", &path, Some(link)).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.body);
    assert_eq!(first.body["id"], second.body["id"]);
    let comments = call(&gw, Method::GET, "region-m", &format!("/rest/api/2/issue/{key}/comment"), None).await;
    assert_eq!(comments.body["total"], 1);
    assert!(comments.body["comments"][0]["body"].as_str().unwrap().contains("https://cq.example/record/42"));
    let no_url = call(&gw, Method::POST, "region-m", &path, Some(json!({"object": {"title": "x"}}))).await;
    assert_jira_error(&no_url, StatusCode::BAD_REQUEST, "object.url");
}

fn keys(a: &Answer) -> Vec<String> {
    a.body["issues"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap().to_owned()).collect()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn jql_search_filters_orders_and_pages() {
    let gw = gateway().await;
    for (summary, priority, service) in [
        ("Printer queue stuck", "Low", "NSP"),
        ("FMK prescriptions missing", "Highest", "FMK"),
        ("SOSI token expired", "High", "SOSI"),
    ] {
        let mut body = issue(summary, priority, &format!("RM-{summary}"));
        body["fields"]["components"] = json!([{"name": service}]);
        create(&gw, "region-m", body).await;
    }
    create(&gw, "region-n", issue("Another region's issue", "High", "RN-1")).await;
    let cases: &[(&str, &[&str])] = &[
        ("", &["DG-1", "DG-2", "DG-3"]),
        ("project = DG", &["DG-1", "DG-2", "DG-3"]),
        ("status = Open", &["DG-1", "DG-2", "DG-3"]),
        ("status != Open", &[]),
        ("priority = Highest", &["DG-2"]),
        ("priority != Highest", &["DG-1", "DG-3"]),
        ("priority IN (High, Highest)", &["DG-2", "DG-3"]),
        ("component = FMK AND priority = Highest", &["DG-2"]),
        ("component = FMK AND priority = Low", &[]),
        ("summary ~ printer", &["DG-1"]),
        ("reporter = region-m ORDER BY key DESC", &["DG-3", "DG-2", "DG-1"]),
        ("project = DG ORDER BY priority ASC", &["DG-3", "DG-2", "DG-1"]),
        ("\"Desk ticket\" = \"RM-SOSI token expired\"", &["DG-3"]),
        ("key in (DG-1, DG-3) ORDER BY created DESC, key DESC", &["DG-3", "DG-1"]),
    ];
    for (jql, want) in cases {
        let a = call(&gw, Method::GET, "region-m", &format!("/rest/api/2/search?jql={}", enc(jql)), None).await;
        assert_eq!(a.status, StatusCode::OK, "{jql}: {}", a.body);
        assert_eq!(keys(&a), *want, "{jql}");
        assert_eq!(a.body["total"], want.len(), "{jql}");
    }
    let page = call(
        &gw,
        Method::GET,
        "region-m",
        "/rest/api/2/search?jql=project%3DDG&startAt=1&maxResults=1&fields=summary&fields=status&validateQuery=true",
        None,
    )
    .await;
    assert_eq!(keys(&page), ["DG-2"]);
    assert_eq!(
        (page.body["startAt"].as_u64(), page.body["maxResults"].as_u64(), page.body["total"].as_u64()),
        (Some(1), Some(1), Some(3))
    );
    let fields: Vec<&String> = page.body["issues"][0]["fields"].as_object().unwrap().keys().collect();
    assert_eq!(fields, ["status", "summary"]);
    let posted = call(
        &gw,
        Method::POST,
        "region-m",
        "/rest/api/3/search",
        Some(json!({"jql": "priority = High", "startAt": 0, "maxResults": 10, "fields": ["summary"]})),
    )
    .await;
    assert_eq!(posted.status, StatusCode::OK, "{}", posted.body);
    assert_eq!(keys(&posted), ["DG-3"]);
}
