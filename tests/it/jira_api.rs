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
    // v3 is Jira Cloud's API: clients that read `Cloud` use Cloud's calls.
    for (v, deployment) in [("2", "Server"), ("3", "Cloud"), ("latest", "Server")] {
        let info = call(&gw, Method::GET, "region-m", &format!("/rest/api/{v}/serverInfo"), None).await;
        assert_eq!(info.status, StatusCode::OK);
        assert_eq!(info.body["versionNumbers"], json!([9, 12, 0]));
        assert_eq!(info.body["deploymentType"], deployment);
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

/// An anonymous request, as Jira clients send before they log in.
async fn anonymous(gw: &TestGateway, path: &str) -> Answer {
    let response = gw.client.get(gw.url(path)).send().await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    Answer { status, headers, body: response.json().await.unwrap_or(Value::Null) }
}

#[tokio::test]
async fn metadata_for_creating_by_issue_type_name() {
    let gw = gateway().await;
    let info = anonymous(&gw, "/rest/api/2/serverInfo").await;
    assert_eq!((info.status, info.body["deploymentType"].as_str()), (StatusCode::OK, Some("Server")), "{}", info.body);
    assert_eq!(info.body["baseUrl"], "http://gateway.test");
    let bad_token = gw.client.get(gw.url("/rest/api/2/serverInfo")).bearer_auth("not-a-jwt").send().await.unwrap();
    assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED, "credentials that are sent are checked");

    let project = call(&gw, Method::GET, "region-m", "/rest/api/2/project/DG?expand=issueTypes", None).await;
    assert_eq!(project.body["issueTypes"][0]["name"], "Incident", "{}", project.body);
    assert_eq!(project.body["issueTypes"][0]["id"], "10001");
    let types = call(&gw, Method::GET, "region-m", "/rest/api/2/issuetype", None).await;
    assert_eq!(types.body, json!([project.body["issueTypes"][0]]));
    let one = call(&gw, Method::GET, "region-m", "/rest/api/2/issuetype/10001", None).await;
    assert_eq!(one.body["name"], "Incident");
    let statuses = call(&gw, Method::GET, "region-m", "/rest/api/2/status", None).await;
    let names: Vec<&str> = statuses.body.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Open") && names.contains(&"In Progress") && names.contains(&"Resolved"), "{names:?}");
    let distinct: std::collections::BTreeSet<&&str> = names.iter().collect();
    assert_eq!(distinct.len(), names.len(), "one status per name: {names:?}");
    let by_name = call(&gw, Method::GET, "region-m", "/rest/api/2/status/in%20progress", None).await;
    assert_eq!(by_name.body["name"], "In Progress", "{}", by_name.body);
    let resolutions = call(&gw, Method::GET, "region-m", "/rest/api/2/resolution", None).await;
    assert_eq!(resolutions.body[0]["name"], "Done", "{}", resolutions.body);
    let resolution = call(&gw, Method::GET, "region-m", "/rest/api/2/resolution/1", None).await;
    assert_eq!(resolution.body["name"], "Done");

    let old = "/rest/api/2/issue/createmeta?projectKeys=DG&issuetypeNames=Incident&expand=projects.issuetypes.fields";
    let meta = call(&gw, Method::GET, "region-m", old, None).await;
    let incident = &meta.body["projects"][0]["issuetypes"][0];
    assert_eq!(incident["name"], "Incident", "{}", meta.body);
    assert_eq!(incident["fields"]["summary"]["required"], true);
    assert_eq!(incident["fields"]["priority"]["allowedValues"][1]["name"], "High");
    let other = call(&gw, Method::GET, "region-m", "/rest/api/2/issue/createmeta?projectKeys=XX", None).await;
    assert_eq!(other.body["projects"], json!([]));
    let new_form = call(&gw, Method::GET, "region-m", "/rest/api/2/issue/createmeta/DG/issuetypes", None).await;
    assert_eq!(new_form.body["values"][0]["id"], "10001", "{}", new_form.body);
    let fields = call(&gw, Method::GET, "region-m", "/rest/api/2/issue/createmeta/DG/issuetypes/10001", None).await;
    let ids: Vec<&str> =
        fields.body["values"].as_array().unwrap().iter().map(|f| f["fieldId"].as_str().unwrap()).collect();
    assert!(ids.contains(&"components") && ids.contains(&"customfield_10100"), "{ids:?}");

    // A create naming the issue type by id, as the client does after looking it up.
    let mut body = issue("FMK: by type id", "High", "RM-30");
    body["fields"]["issuetype"] = json!({"id": "10001"});
    create(&gw, "region-m", body).await;
    let mut body = issue("FMK: a task", "High", "RM-31");
    body["fields"]["issuetype"] = json!({"name": "Task"});
    let task = call(&gw, Method::POST, "region-m", "/rest/api/2/issue", Some(body)).await;
    assert_jira_error(&task, StatusCode::BAD_REQUEST, "\"issuetype\"");
    assert_eq!(gw.all_incidents().await.len(), 1);

    let me = call(&gw, Method::GET, "region-m", "/rest/auth/1/session", None).await;
    assert_eq!(me.body["name"], "region-m", "{}", me.body);
    let login = gw.client.post(gw.url("/rest/auth/1/session")).json(&json!({"username": "u", "password": "p"}));
    let login = login.send().await.unwrap();
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn unserved_rest_paths_answer_in_jiras_shape() {
    let gw = gateway().await;
    for path in ["/rest/api/2/dashboard", "/rest/agile/1.0/board", "/rest/api/2/issue/DG-1/worklog/1/x"] {
        let a = call(&gw, Method::GET, "region-m", path, None).await;
        assert_jira_error(&a, StatusCode::NOT_FOUND, "does not serve");
        let anon = anonymous(&gw, path).await;
        assert_jira_error(&anon, StatusCode::NOT_FOUND, "does not serve");
    }
    let with_cpr = anonymous(&gw, "/rest/api/2/user/0102031234/x").await;
    assert!(!with_cpr.body.to_string().contains("0102031234"), "{}", with_cpr.body);
}

#[tokio::test]
async fn users_and_assignment() {
    // The national desk on Jira too, so it can assign through this API.
    let national_on_jira = |c: &mut GatewayConfig| {
        jira_federation(c);
        let sds = Desk::known("sds", "National Service Desk", "national", "jira").endpoint("http://127.0.0.1:9");
        c.desk(
            "sds",
            sds.bearer_credentials("T_DRIFT").set("jira", json!({"project": "SDS", "webhook_verify": "reread"})),
        );
    };
    let gw = TestGateway::start_edited(national_on_jira, reqwest::Client::new()).await;
    let key = create(&gw, "region-m", issue("FMK: assign me", "High", "RM-40")).await;
    let found = call(&gw, Method::GET, "region-m", "/rest/api/2/user/search?username=drift", None).await;
    assert_eq!(found.body[0]["name"], "drift", "{}", found.body);
    assert_eq!(found.body[0]["accountId"], "drift");
    let by_name = call(&gw, Method::GET, "region-m", "/rest/api/3/user/search?query=operations", None).await;
    assert_eq!(by_name.body.as_array().unwrap().len(), 1, "{}", by_name.body);

    let assignable = format!("/rest/api/2/user/assignable/search?issueKey={key}&username=");
    let national = call(&gw, Method::GET, "sds", &assignable, None).await;
    let names: Vec<&str> = national.body.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"drift") && !names.contains(&"region-m"), "{names:?}");
    let local = call(&gw, Method::GET, "region-m", &assignable, None).await;
    assert_eq!(local.body, json!([]), "a local desk assigns nobody");

    let path = format!("/rest/api/2/issue/{key}/assignee");
    let refused = call(&gw, Method::PUT, "region-m", &path, Some(json!({"name": "drift"}))).await;
    assert_jira_error(&refused, StatusCode::FORBIDDEN, "local desks");
    let nobody = call(&gw, Method::PUT, "sds", &path, Some(json!({"name": null}))).await;
    assert_jira_error(&nobody, StatusCode::BAD_REQUEST, "\"assignee\"");
    let id = get_issue(&gw, "region-m", &key).await["fields"]["customfield_10101"].as_str().unwrap().to_owned();
    assert_eq!(native(&gw, &id).await["assignee"], Value::Null, "refusals change nothing");
    let cloud = call(&gw, Method::PUT, "sds", &path.replace("/2/", "/3/"), Some(json!({"accountId": "drift"}))).await;
    assert_eq!(cloud.status, StatusCode::NO_CONTENT, "{}", cloud.body);
    let incident = native(&gw, &id).await;
    assert_eq!((incident["assignee"].as_str(), incident["status"].as_str()), (Some("drift"), Some("assigned")));
}

#[tokio::test]
async fn comments_by_id_are_kept_as_written() {
    let gw = gateway().await;
    let (key, id) = assigned_to_drift(&gw, "High").await;
    let path = format!("/rest/api/2/issue/{key}/comment");
    let public = call(&gw, Method::POST, "drift", &path, Some(json!({"body": "We are on it"}))).await;
    let internal = json!({"body": "Suspect the proxy", "visibility": {"type": "role", "value": "Developers"}});
    let internal = call(&gw, Method::POST, "drift", &path, Some(internal)).await;
    let (public_id, internal_id) = (public.body["id"].as_str().unwrap(), internal.body["id"].as_str().unwrap());

    let got = call(&gw, Method::GET, "region-m", &format!("{path}/{public_id}"), None).await;
    assert_eq!((got.status, got.body["body"].as_str()), (StatusCode::OK, Some("We are on it")), "{}", got.body);
    let hidden = call(&gw, Method::GET, "region-m", &format!("{path}/{internal_id}"), None).await;
    assert_jira_error(&hidden, StatusCode::NOT_FOUND, "Can not find a comment");
    let same =
        call(&gw, Method::PUT, "drift", &format!("{path}/{public_id}"), Some(json!({"body": "We are on it"}))).await;
    assert_eq!(same.status, StatusCode::OK, "saving it unchanged is harmless: {}", same.body);
    let edited = call(&gw, Method::PUT, "drift", &format!("{path}/{public_id}"), Some(json!({"body": "Fixed"}))).await;
    assert_jira_error(&edited, StatusCode::FORBIDDEN, "permission to edit this comment");
    let deleted = call(&gw, Method::DELETE, "drift", &format!("{path}/{public_id}"), None).await;
    assert_jira_error(&deleted, StatusCode::FORBIDDEN, "permission to delete this comment");
    let hidden = call(&gw, Method::DELETE, "region-m", &format!("{path}/{internal_id}"), None).await;
    assert_jira_error(&hidden, StatusCode::NOT_FOUND, "Can not find a comment");
    let bodies: Vec<String> = native(&gw, &id).await["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["body"].as_str().unwrap().into())
        .collect();
    assert_eq!(bodies, ["We are on it", "Suspect the proxy"]);

    let link = json!({"globalId": "system=cq&id=42", "relationship": "relates to",
        "object": {"url": "https://cq.example/record/42", "title": "CQ record 42"}});
    let made = call(&gw, Method::POST, "region-m", &format!("/rest/api/2/issue/{key}/remotelink"), Some(link)).await;
    let links = call(&gw, Method::GET, "region-m", &format!("/rest/api/2/issue/{key}/remotelink"), None).await;
    assert_eq!(links.body.as_array().unwrap().len(), 1, "{}", links.body);
    let l = &links.body[0];
    assert_eq!((l["id"].clone(), l["globalId"].as_str()), (made.body["id"].clone(), Some("system=cq&id=42")));
    assert_eq!(
        (l["object"]["url"].as_str(), l["object"]["title"].as_str()),
        (Some("https://cq.example/record/42"), Some("CQ record 42"))
    );
    let one = call(&gw, Method::GET, "drift", &format!("/rest/api/2/issue/{key}/remotelink/{}", l["id"]), None).await;
    assert_eq!(one.body["relationship"], "relates to", "{}", one.body);
}

#[tokio::test]
async fn issue_expands_changelog_rendered_fields_and_names() {
    let gw = gateway().await;
    let (key, _) = assigned_to_drift(&gw, "High").await;
    let path = format!("/rest/api/2/issue/{key}/transitions");
    let to = |name: &str, a: &Answer| {
        a.body["transitions"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap()["id"].clone()
    };
    let offered = call(&gw, Method::GET, "drift", &path, None).await;
    let moved =
        call(&gw, Method::POST, "drift", &path, Some(json!({"transition": {"id": to("In Progress", &offered)}}))).await;
    assert_eq!(moved.status, StatusCode::NO_CONTENT, "{}", moved.body);
    call(
        &gw,
        Method::POST,
        "drift",
        &format!("/rest/api/2/issue/{key}/comment"),
        Some(json!({"body": "a < b\n\nnext"})),
    )
    .await;

    let plain = get_issue(&gw, "region-m", &key).await;
    assert!(plain.get("changelog").is_none() && plain.get("names").is_none());
    let a = call(
        &gw,
        Method::GET,
        "region-m",
        &format!("/rest/api/2/issue/{key}?expand=changelog,renderedFields,names"),
        None,
    )
    .await;
    let items: Vec<&Value> =
        a.body["changelog"]["histories"].as_array().unwrap().iter().map(|h| &h["items"][0]).collect();
    let status = items.iter().find(|i| i["field"] == "status" && i["to"] == "in_progress").expect("status history");
    assert_eq!((status["fromString"].as_str(), status["toString"].as_str()), (Some("Open"), Some("In Progress")));
    assert!(items.iter().any(|i| i["field"] == "assignee" && i["toString"] == "drift"), "{items:?}");
    assert_eq!(a.body["changelog"]["total"], items.len());
    assert_eq!(a.body["renderedFields"]["comment"]["comments"][0]["body"], "<p>a &lt; b</p>\n<p>next</p>");
    assert!(a.body["renderedFields"]["description"].as_str().unwrap().starts_with("<p>FMK: assigned"));
    assert_eq!(a.body["names"]["customfield_10100"], "Desk ticket");
    assert_eq!(a.body["fields"], plain["fields"], "expansions add, they do not change the fields");
}

#[tokio::test]
async fn search_jql_pages_by_token() {
    let gw = gateway().await;
    for n in 1..=5 {
        create(&gw, "region-m", issue(&format!("Issue {n}"), "High", &format!("RM-5{n}"))).await;
    }
    let jql = enc("project = DG ORDER BY key ASC");
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..4 {
        let page = match &token {
            Some(t) => format!("/rest/api/3/search/jql?jql={jql}&maxResults=2&fields=summary&nextPageToken={}", enc(t)),
            None => format!("/rest/api/3/search/jql?jql={jql}&maxResults=2&fields=summary"),
        };
        let a = call(&gw, Method::GET, "region-m", &page, None).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        seen.extend(keys(&a));
        token = a.body["nextPageToken"].as_str().map(str::to_owned);
        assert_eq!(a.body["isLast"], token.is_none(), "{}", a.body);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["DG-1", "DG-2", "DG-3", "DG-4", "DG-5"]);
    let posted = call(&gw, Method::POST, "region-m", "/rest/api/2/search/jql",
        Some(json!({"jql": "priority = High ORDER BY key DESC", "maxResults": 3, "fields": ["summary"], "reconcileIssues": []}))).await;
    assert_eq!(keys(&posted), ["DG-5", "DG-4", "DG-3"], "{}", posted.body);
    let next = posted.body["nextPageToken"].as_str().unwrap();
    let other_query = format!("/rest/api/2/search/jql?jql={}&nextPageToken={}", enc("priority = Low"), enc(next));
    let refused = call(&gw, Method::GET, "region-m", &other_query, None).await;
    assert_jira_error(&refused, StatusCode::BAD_REQUEST, "\"nextPageToken\"");
    let unknown = call(&gw, Method::GET, "region-m", "/rest/api/2/search/jql?jql=&startAt=2", None).await;
    assert_jira_error(&unknown, StatusCode::BAD_REQUEST, "\"startAt\"");
    assert_eq!(gw.all_incidents().await.len(), 5, "searching changes nothing");
}

#[tokio::test]
async fn a_transition_the_issue_does_not_offer_changes_nothing() {
    let gw = gateway().await;
    let (key, id) = assigned_to_drift(&gw, "High").await;
    let path = format!("/rest/api/2/issue/{key}/transitions");
    let offered = call(&gw, Method::GET, "drift", &path, None).await;
    let ids: Vec<&Value> = offered.body["transitions"].as_array().unwrap().iter().map(|t| &t["id"]).collect();
    // 11 is deskgate's id for a move to `new`: the workflow allows it, the list (where
    // new and assigned are both "Open") does not offer it.
    assert!(!ids.contains(&&json!("11")), "{ids:?}");
    let refused = call(&gw, Method::POST, "drift", &path, Some(json!({"transition": {"id": 11}}))).await;
    assert_jira_error(&refused, StatusCode::BAD_REQUEST, "Transition id '11' is not valid for this issue.");
    assert_eq!(native(&gw, &id).await["status"], "assigned");
}

#[tokio::test]
async fn the_comment_of_the_resolving_transition_is_the_resolution() {
    let gw = TestGateway::start_edited(
        |c| {
            jira_federation(c);
            c.desk(
                "region-n",
                Desk::known("region-n", "Region Nordjylland Service Desk", "local", "jira")
                    .endpoint("http://127.0.0.1:9")
                    .bearer_credentials("T_REGION_M")
                    .set("jira", json!({ "project": "RN", "webhook_verify": "reread" })),
            );
        },
        reqwest::Client::new(),
    )
    .await;
    let key = create(&gw, "region-n", issue("FMK: resolve me", "Medium", "RN-9")).await;
    let id = get_issue(&gw, "region-n", &key).await["fields"]["customfield_10101"].as_str().unwrap().to_owned();
    assert_eq!(gw.patch("sds", &id, &json!({"assignee": "drift"})).await.status(), StatusCode::OK);
    let path = format!("/rest/api/2/issue/{key}/transitions");
    let offered = call(&gw, Method::GET, "drift", &path, None).await;
    let resolved =
        offered.body["transitions"].as_array().unwrap().iter().find(|t| t["name"] == "Resolved").unwrap()["id"].clone();
    let body = json!({"transition": {"id": resolved}, "fields": {"resolution": {"name": "Done"}},
        "update": {"comment": [{"add": {"body": "Restarted the FMK proxy"}}]}});
    let done = call(&gw, Method::POST, "drift", &path, Some(body)).await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);

    let incident = native(&gw, &id).await;
    assert_eq!(incident["status"], "resolved");
    assert_eq!(incident["notes"][0]["body"], "Restarted the FMK proxy");
    let outbox = call(&gw, Method::GET, "sds", "/api/v1/outbox", None).await.body;
    let to_reporter: Vec<&Value> =
        outbox["items"].as_array().unwrap().iter().filter(|i| i["desk"] == "region-n").map(|i| &i["action"]).collect();
    let status = to_reporter.iter().find(|a| a["status"] == "resolved").expect("the resolution is delivered");
    assert_eq!(status["resolution"], "Restarted the FMK proxy", "the comment is the resolution: {to_reporter:?}");
    assert!(!to_reporter.iter().any(|a| a["type"] == "note"), "and is not told again as a comment: {to_reporter:?}");
}
