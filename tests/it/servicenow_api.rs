//! deskgate as a ServiceNow instance: the Table API for `incident`, against a real
//! gateway. The national desk speaks ServiceNow here too, so that changes can be
//! made through the dialect; `region-s` is a second ServiceNow local desk.

use crate::kit;

use kit::*;
use kit::{Reply as Answer, request as call};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TABLE: &str = "/api/now/table/incident";

pub fn servicenow_federation(c: &mut GatewayConfig) {
    c.desk("sds", servicenow_national());
    c.desk("region-s", Desk::known("region-s", "Region Syddanmark Service Desk", "local", "servicenow"));
}

/// The national desk on a ServiceNow nobody answers (non-local ServiceNow desks need
/// an endpoint and credentials).
pub fn servicenow_national() -> Desk {
    Desk::known("sds", "National Service Desk", "national", "servicenow")
        .endpoint("http://127.0.0.1:9")
        .basic_credentials("deskgate", "T_SDS")
}

async fn gateway() -> TestGateway {
    TestGateway::start_edited(servicenow_federation, reqwest::Client::new()).await
}

pub fn record(title: &str, impact: &str, urgency: &str, ticket: &str) -> Value {
    json!({
        "short_description": title,
        "description": format!("{title}: reported by Region Hovedstaden"),
        "business_service": "FMK",
        "impact": impact,
        "urgency": urgency,
        "correlation_id": ticket,
    })
}

/// The Table API path of a created ServiceNow record.
fn record_path(r: &Value) -> String {
    format!("{TABLE}/{}", r["sys_id"].as_str().unwrap())
}

/// Region H creates an incident: its ServiceNow record, the incident's id and the
/// record's Table API path.
async fn created(gw: &TestGateway, body: Value) -> (Value, String, String) {
    let r = create(gw, "region-h", body).await;
    let (id, path) = (r["u_deskgate_incident"].as_str().unwrap().to_owned(), record_path(&r));
    (r, id, path)
}

/// Create an incident as `desk`; its ServiceNow record.
async fn create(gw: &TestGateway, desk: &str, body: Value) -> Value {
    let a = call(gw, Method::POST, desk, TABLE, Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    a.body["result"].clone()
}

fn assert_servicenow_error(a: &Answer, status: StatusCode) {
    assert_eq!(a.status, status, "{}", a.body);
    assert_eq!(a.body["status"], "failure", "{}", a.body);
    assert!(a.body["error"]["message"].is_string(), "{}", a.body);
    assert!(a.body["error"].get("detail").is_some(), "{}", a.body);
}

fn is_date(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    deskgate_servicenow::wire::parse_date(s).is_ok()
}

/// The native view of an incident, as the national desk sees it.
async fn native(gw: &TestGateway, id: &str) -> Value {
    gw.get("sds", &format!("/api/v1/incidents/{id}")).await.json().await.unwrap()
}

#[tokio::test]
async fn a_post_submits_and_answers_a_servicenow_record() {
    let gw = gateway().await;
    let mut body = record("FMK: prescriptions cannot be read", "1", "2", "a1b2c3d4e5f60718293a4b5c6d7e8f90");
    body["work_notes"] = json!("Seen at three wards since 01:40");
    body["correlation_display"] = json!("INC0012345");
    let a = call(&gw, Method::POST, "region-h", TABLE, Some(body)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let r = &a.body["result"];
    // Reference fields carry a link to the referenced record, as ServiceNow's do.
    let references = [
        ("business_service", "cmdb_ci_service/FMK", "FMK"),
        ("cmdb_ci", "cmdb_ci/FMK", "FMK"),
        ("caller_id", "sys_user/region-h", "region-h"),
        ("opened_by", "sys_user/region-h", "region-h"),
    ];
    for (field, value) in r.as_object().unwrap() {
        match references.iter().find(|(name, ..)| name == field) {
            Some((_, record, id)) => assert_eq!(
                value,
                &json!({"link": format!("http://gateway.test/api/now/table/{record}"), "value": id}),
                "{field}"
            ),
            None => assert!(value.is_string(), "{field} is {value}"),
        }
    }
    assert_eq!(r["assignment_group"], "", "no assignee yet: an empty reference has no link");
    assert_eq!(r["sys_class_name"], "incident");
    assert_eq!(r["incident_state"], "1");
    assert_eq!(r["category"], "software");
    assert_eq!((r["sys_created_by"].as_str(), r["sys_updated_by"].as_str()), (Some("region-h"), Some("region-h")));
    let sys_id = r["sys_id"].as_str().unwrap();
    assert!(deskgate_servicenow::wire::is_sys_id(sys_id), "{sys_id}");
    assert_eq!(r["number"], "INC0000001");
    assert_eq!(r["state"], "1");
    assert_eq!(r["impact"], "1");
    assert_eq!(r["urgency"], "2");
    assert_eq!(r["priority"], "2");
    assert_eq!(r["correlation_id"], "a1b2c3d4e5f60718293a4b5c6d7e8f90");
    assert_eq!(r["correlation_display"], "INC0012345");
    assert_eq!(r["active"], "true");
    assert!(is_date(&r["sys_created_on"]) && is_date(&r["sys_updated_on"]), "{r}");
    assert_eq!(
        a.headers[reqwest::header::LOCATION].to_str().unwrap(),
        format!("http://gateway.test/api/now/table/incident/{sys_id}")
    );

    let id = r["u_deskgate_incident"].as_str().unwrap();
    let incident = native(&gw, id).await;
    assert_eq!(incident["title"], "FMK: prescriptions cannot be read");
    assert_eq!(incident["priority"], "P2");
    assert_eq!(incident["origin"], json!({"desk": "region-h", "ticket": "a1b2c3d4e5f60718293a4b5c6d7e8f90"}));
    assert_eq!(incident["refs"][0]["display_id"], "INC0012345");
    assert_eq!(incident["notes"].as_array().unwrap().len(), 1);
    assert_eq!(incident["notes"][0]["body"], "Seen at three wards since 01:40");
}

#[tokio::test]
async fn the_same_correlation_id_again_is_a_replay_and_without_one_a_ticket_id_is_minted() {
    let gw = gateway().await;
    let body = record("NSP: login fails", "2", "2", "ticket-1");
    let first = create(&gw, "region-h", body.clone()).await;
    let again = call(&gw, Method::POST, "region-h", TABLE, Some(body)).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.body["result"]["sys_id"], first["sys_id"]);
    assert_eq!(gw.all_incidents().await.len(), 1);

    let mut minted = record("NSP: slow", "3", "3", "x");
    minted.as_object_mut().unwrap().remove("correlation_id");
    let r = create(&gw, "region-h", minted).await;
    let ticket = r["correlation_id"].as_str().unwrap();
    assert!(deskgate_servicenow::wire::is_sys_id(ticket), "{ticket}");
    assert_ne!(r["sys_id"], first["sys_id"]);
    let looked_up: Value = gw.get("region-h", &format!("/api/v1/refs/region-h/{ticket}")).await.json().await.unwrap();
    assert_eq!(looked_up["incident"], r["u_deskgate_incident"]);
}

#[tokio::test]
async fn one_level_alone_defaults_the_other_to_low_and_no_levels_leave_priority_to_triage() {
    let gw = gateway().await;
    let mut body = record("FMK: one level", "1", "1", "t-1");
    body.as_object_mut().unwrap().remove("urgency");
    let r = create(&gw, "region-h", body).await;
    assert_eq!(
        (r["impact"].as_str(), r["urgency"].as_str(), r["priority"].as_str()),
        (Some("1"), Some("3"), Some("3"))
    );
    let mut body = record("FMK: no levels", "1", "1", "t-2");
    body.as_object_mut().unwrap().remove("urgency");
    body.as_object_mut().unwrap().remove("impact");
    let r = create(&gw, "region-h", body).await;
    let incident = native(&gw, r["u_deskgate_incident"].as_str().unwrap()).await;
    assert_eq!(incident["priority"], Value::Null);
}

#[tokio::test]
async fn display_value_modes_and_reference_links() {
    let gw = gateway().await;
    let parent = create(&gw, "region-h", record("FMK down", "1", "1", "p-1")).await;
    let child = create(&gw, "region-h", record("FMK down again", "2", "2", "c-1")).await;
    let child_id = child["u_deskgate_incident"].as_str().unwrap();
    let patched = gw
        .patch(
            "sds",
            child_id,
            &json!({"kind": "support_request", "parent": parent["u_deskgate_incident"], "status": "awaiting_info"}),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let path = format!("{TABLE}/{}", child["sys_id"].as_str().unwrap());
    let link = format!("http://gateway.test/api/now/table/incident/{}", parent["sys_id"].as_str().unwrap());

    let cases: &[(&str, Value, Value, Value)] = &[
        ("", json!("3"), json!("1"), json!({"link": link, "value": parent["sys_id"]})),
        ("?sysparm_display_value=false", json!("3"), json!("1"), json!({"link": link, "value": parent["sys_id"]})),
        (
            "?sysparm_display_value=true",
            json!("On Hold"),
            json!("Awaiting Caller"),
            json!({"link": link, "display_value": "INC0000001"}),
        ),
        (
            "?sysparm_display_value=all",
            json!({"display_value": "On Hold", "value": "3"}),
            json!({"display_value": "Awaiting Caller", "value": "1"}),
            json!({"display_value": "INC0000001", "link": link, "value": parent["sys_id"]}),
        ),
        ("?sysparm_exclude_reference_link=true", json!("3"), json!("1"), parent["sys_id"].clone()),
        (
            "?sysparm_display_value=all&sysparm_exclude_reference_link=true",
            json!({"display_value": "On Hold", "value": "3"}),
            json!({"display_value": "Awaiting Caller", "value": "1"}),
            json!({"display_value": "INC0000001", "value": parent["sys_id"]}),
        ),
    ];
    for (query, state, hold_reason, parent_field) in cases {
        let a = call(&gw, Method::GET, "region-h", &format!("{path}{query}"), None).await;
        assert_eq!(a.status, StatusCode::OK, "{query}: {}", a.body);
        let r = &a.body["result"];
        assert_eq!(&r["state"], state, "{query}");
        assert_eq!(&r["hold_reason"], hold_reason, "{query}");
        assert_eq!(&r["parent_incident"], parent_field, "{query}");
    }
}

#[tokio::test]
async fn journal_fields_show_the_notes_the_desk_may_see_as_display_values() {
    let gw = gateway().await;
    let mut body = record("FMK: journal", "2", "2", "j-1");
    body["comments"] = json!("Public remark from the region");
    let r = create(&gw, "region-h", body).await;
    let path = record_path(&r);
    let a = call(&gw, Method::PATCH, "sds", &path, Some(json!({"work_notes": "Internal triage note"}))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);

    let region = call(&gw, Method::GET, "region-h", &format!("{path}?sysparm_display_value=true"), None).await;
    let comments = region.body["result"]["comments"].as_str().unwrap();
    assert!(comments.contains("(Additional comments)\nPublic remark from the region"), "{comments}");
    assert_eq!(region.body["result"]["work_notes"], "", "a local desk does not see internal notes");
    let national = call(&gw, Method::GET, "sds", &format!("{path}?sysparm_display_value=true"), None).await;
    assert!(national.body["result"]["work_notes"].as_str().unwrap().contains("Internal triage note"));
    let values = call(&gw, Method::GET, "sds", &path, None).await;
    assert_eq!(values.body["result"]["comments"], "", "journal fields have no value of their own");
}

/// Three incidents with distinct fields, for the query table.
async fn three(gw: &TestGateway) -> Vec<Value> {
    let mut out = Vec::new();
    for (title, impact, urgency, service) in [
        ("Printer queue stuck", "3", "3", "NSP"),
        ("FMK prescriptions missing", "1", "1", "FMK"),
        ("SOSI token expired", "2", "2", "SOSI"),
    ] {
        let mut body = record(title, impact, urgency, &format!("q-{title}"));
        body["business_service"] = json!(service);
        out.push(create(gw, "region-h", body).await);
    }
    out
}

fn numbers(a: &Answer) -> Vec<String> {
    a.body["result"].as_array().unwrap().iter().map(|r| r["number"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn encoded_queries_filter_and_order_the_desks_incidents() {
    let gw = gateway().await;
    three(&gw).await;
    create(&gw, "region-s", record("Someone else's printer", "3", "3", "other")).await;
    let cases: &[(&str, &[&str])] = &[
        ("", &["INC0000001", "INC0000002", "INC0000003"]),
        ("business_service=FMK", &["INC0000002"]),
        ("business_service!=FMK", &["INC0000001", "INC0000003"]),
        ("short_descriptionLIKEprescription", &["INC0000002"]),
        ("short_descriptionLIKEPRINTER", &["INC0000001"]),
        ("short_descriptionSTARTSWITHsosi", &["INC0000003"]),
        ("priorityIN1,3", &["INC0000002", "INC0000003"]),
        ("priority=5^business_service=NSP", &["INC0000001"]),
        ("priority=5^business_service=FMK", &[]),
        ("business_service=FMK^ORbusiness_service=SOSI", &["INC0000002", "INC0000003"]),
        ("state=1^ORDERBYpriority", &["INC0000002", "INC0000003", "INC0000001"]),
        ("ORDERBYDESCnumber", &["INC0000003", "INC0000002", "INC0000001"]),
        ("ORDERBYDESCimpact^ORDERBYnumber", &["INC0000001", "INC0000003", "INC0000002"]),
        ("assignment_groupISEMPTY^numberIN", &[]),
        ("u_reported_by=region-h^short_descriptionLIKEprinter", &["INC0000001"]),
    ];
    for (query, want) in cases {
        let path = format!("{TABLE}?sysparm_query={}", urlencode(query));
        let a = call(&gw, Method::GET, "region-h", &path, None).await;
        assert_eq!(a.status, StatusCode::OK, "{query}: {}", a.body);
        assert_eq!(numbers(&a), *want, "{query}");
        assert_eq!(a.headers["x-total-count"].to_str().unwrap(), want.len().to_string(), "{query}");
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn paging_sets_total_count_and_link_header_and_fields_select() {
    let gw = gateway().await;
    three(&gw).await;
    let a =
        call(&gw, Method::GET, "region-h", &format!("{TABLE}?sysparm_limit=2&sysparm_fields=number,state"), None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(numbers(&a), ["INC0000001", "INC0000002"]);
    assert_eq!(a.body["result"][0], json!({"number": "INC0000001", "state": "1"}));
    assert_eq!(a.headers["x-total-count"], "3");
    let link = a.headers[reqwest::header::LINK].to_str().unwrap();
    assert!(link.contains("sysparm_offset=0>;rel=\"first\""), "{link}");
    assert!(link.contains("sysparm_offset=2>;rel=\"next\""), "{link}");
    assert!(link.contains("sysparm_offset=2>;rel=\"last\""), "{link}");
    assert!(!link.contains("rel=\"prev\""), "{link}");
    assert!(link.contains("sysparm_fields=number%2Cstate"), "the other parameters are kept: {link}");

    let b = call(&gw, Method::GET, "region-h", &format!("{TABLE}?sysparm_limit=2&sysparm_offset=2"), None).await;
    assert_eq!(numbers(&b), ["INC0000003"]);
    let link = b.headers[reqwest::header::LINK].to_str().unwrap();
    assert!(link.contains("sysparm_offset=0>;rel=\"prev\""), "{link}");
    assert!(!link.contains("rel=\"next\""), "{link}");

    let suppressed =
        call(&gw, Method::GET, "region-h", &format!("{TABLE}?sysparm_suppress_pagination_header=true"), None).await;
    assert!(suppressed.headers.get(reqwest::header::LINK).is_none());
    assert_eq!(suppressed.headers["x-total-count"], "3");
}

#[tokio::test]
async fn bad_requests_get_servicenow_shaped_errors_naming_the_problem() {
    let gw = gateway().await;
    let r = create(&gw, "region-h", record("FMK: errors", "2", "2", "e-1")).await;
    let path = record_path(&r);
    let cases: &[(Method, &str, Option<Value>, StatusCode, &str)] = &[
        (
            Method::GET,
            "/api/now/table/incident?sysparm_query=state~1",
            None,
            StatusCode::BAD_REQUEST,
            "term 1 (`state~1`)",
        ),
        (
            Method::GET,
            "/api/now/table/incident?sysparm_query=state=1^Priority=1",
            None,
            StatusCode::BAD_REQUEST,
            "term 2",
        ),
        (
            Method::GET,
            "/api/now/table/incident?sysparm_query=u_bogus=abc",
            None,
            StatusCode::BAD_REQUEST,
            "unknown field `u_bogus`",
        ),
        (
            Method::GET,
            "/api/now/table/incident?u_bogus=abc",
            None,
            StatusCode::BAD_REQUEST,
            "u_bogus: unknown field to filter on",
        ),
        (
            Method::GET,
            "/api/now/table/incident?sysparm_query=ORDERBYfoo",
            None,
            StatusCode::BAD_REQUEST,
            "`ORDERBYfoo`",
        ),
        (Method::GET, "/api/now/table/incident?sysparm_limit=0", None, StatusCode::BAD_REQUEST, "sysparm_limit"),
        (
            Method::GET,
            "/api/now/table/incident?sysparm_display_value=maybe",
            None,
            StatusCode::BAD_REQUEST,
            "sysparm_display_value",
        ),
        (Method::GET, "/api/now/table/incident?sysparm_bogus=1", None, StatusCode::BAD_REQUEST, "sysparm_bogus"),
        (
            Method::GET,
            "/api/now/table/incident/0123456789abcdef0123456789abcdef",
            None,
            StatusCode::NOT_FOUND,
            "No Record found",
        ),
        (Method::GET, "/api/now/table/incident/not-a-sys-id", None, StatusCode::NOT_FOUND, "No Record found"),
        (
            Method::POST,
            TABLE,
            Some(json!({"description": "no title", "business_service": "FMK"})),
            StatusCode::BAD_REQUEST,
            "short_description",
        ),
        (
            Method::POST,
            TABLE,
            Some(json!({"short_description": "no service"})),
            StatusCode::BAD_REQUEST,
            "business_service",
        ),
        (
            Method::POST,
            TABLE,
            Some(json!({"short_description": "x", "business_service": "FMK", "impact": "4"})),
            StatusCode::BAD_REQUEST,
            "impact",
        ),
        (
            Method::POST,
            TABLE,
            Some(json!({"short_description": "x", "business_service": "FMK", "state": "42"})),
            StatusCode::BAD_REQUEST,
            "state",
        ),
        (Method::POST, TABLE, Some(json!(["not", "a", "record"])), StatusCode::BAD_REQUEST, "record"),
        (Method::GET, "/api/now/table/problem", None, StatusCode::BAD_REQUEST, "Invalid table problem"),
        (Method::POST, "/api/now/v2/table/sys_user", None, StatusCode::BAD_REQUEST, "Invalid table sys_user"),
        (
            Method::GET,
            "/api/now/v1/cmdb/instance/cmdb_ci_service",
            None,
            StatusCode::BAD_REQUEST,
            "Requested URI does not represent any resource",
        ),
        // The Attachment API is served; a listing must name its record.
        (Method::GET, "/api/now/v1/attachment", None, StatusCode::BAD_REQUEST, "sysparm_query"),
        (
            Method::GET,
            &format!("{path}/comments"),
            None,
            StatusCode::BAD_REQUEST,
            "Requested URI does not represent any resource",
        ),
        (Method::DELETE, &path, None, StatusCode::METHOD_NOT_ALLOWED, "Method not Supported"),
        (Method::PATCH, "/api/now/v1/table/incident", None, StatusCode::METHOD_NOT_ALLOWED, "Method not Supported"),
        (Method::PATCH, &path, Some(json!({"urgency": "high"})), StatusCode::BAD_REQUEST, "urgency"),
    ];
    for (method, path, body, status, says) in cases {
        let a = call(&gw, method.clone(), "region-h", path, body.clone()).await;
        assert_servicenow_error(&a, *status);
        let text = a.body["error"].to_string();
        assert!(text.contains(says), "{method} {path}: {text} should mention {says}");
    }
    let unchanged = gw.all_incidents().await;
    assert_eq!(unchanged.len(), 1, "bad input changes nothing");
    assert_eq!(unchanged[0]["title"], "FMK: errors");
}

#[tokio::test]
async fn patient_data_in_short_description_is_422_naming_the_field_and_not_echoed() {
    let gw = gateway().await;
    let body = record("Borger 010203-1234 kan ikke se recepter", "2", "2", "pd-1");
    let a = call(&gw, Method::POST, "region-h", TABLE, Some(body)).await;
    assert_servicenow_error(&a, StatusCode::UNPROCESSABLE_ENTITY);
    let text = a.body.to_string();
    assert!(text.contains("short_description"), "{text}");
    assert_eq!(a.body["error"]["detail"], "field: short_description");
    assert!(!text.contains("010203"), "the identifier is not echoed: {text}");
    let mut body = record("Recepter mangler", "2", "2", "pd-2");
    body["comments"] = json!("CPR 010203-1234");
    let a = call(&gw, Method::POST, "region-h", TABLE, Some(body)).await;
    assert_servicenow_error(&a, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.body["error"]["detail"], "field: comments");
    assert!(gw.all_incidents().await.is_empty());
}

#[tokio::test]
async fn authentication_visibility_and_dialect_are_enforced() {
    let gw = gateway().await;
    let r = create(&gw, "region-h", record("FMK: mine", "2", "2", "v-1")).await;
    let path = record_path(&r);

    let unserved = gw.client.get(gw.url("/api/now/table/problem")).send().await.unwrap();
    assert_eq!(unserved.status(), StatusCode::UNAUTHORIZED, "other /api/now paths too");
    let anonymous = gw.client.get(gw.url(TABLE)).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key(reqwest::header::WWW_AUTHENTICATE));
    let body: Value = anonymous.json().await.unwrap();
    assert_eq!(body["status"], "failure", "{body}");

    let other = call(&gw, Method::GET, "region-s", &path, None).await;
    assert_servicenow_error(&other, StatusCode::NOT_FOUND);
    let other = call(&gw, Method::PATCH, "region-s", &path, Some(json!({"comments": "hello"}))).await;
    assert_servicenow_error(&other, StatusCode::NOT_FOUND);
    let listed = call(&gw, Method::GET, "region-s", TABLE, None).await;
    assert_eq!(listed.body["result"], json!([]));

    let native = call(&gw, Method::GET, "fmk", TABLE, None).await;
    assert_servicenow_error(&native, StatusCode::FORBIDDEN);
    assert!(native.body["error"]["message"].as_str().unwrap().contains("servicenow"), "{}", native.body);
}

#[tokio::test]
async fn oversized_bodies_are_413_in_servicenow_shape() {
    let gw = TestGateway::start_edited(
        |c| {
            servicenow_federation(c);
            c.gateway("max_body_bytes", 1024);
        },
        reqwest::Client::new(),
    )
    .await;
    let mut body = record("FMK: large", "2", "2", "big-1");
    body["description"] = json!("x".repeat(2048));
    let a = call(&gw, Method::POST, "region-h", TABLE, Some(body)).await;
    assert_servicenow_error(&a, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_local_desk_adds_notes_but_does_not_change_the_national_status() {
    let gw = gateway().await;
    let (r, id, path) = created(&gw, record("FMK: local update", "2", "2", "l-1")).await;

    let a = call(&gw, Method::PATCH, "region-h", &path, Some(json!({"comments": "More wards affected"}))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["result"]["sys_id"], r["sys_id"]);
    let incident = native(&gw, &id).await;
    assert_eq!(incident["notes"][0]["body"], "More wards affected");
    assert_eq!(incident["notes"][0]["visibility"], "public");

    let refused =
        call(&gw, Method::PATCH, "region-h", &path, Some(json!({"state": "2", "comments": "and start"}))).await;
    assert_servicenow_error(&refused, StatusCode::FORBIDDEN);
    let incident = native(&gw, &id).await;
    assert_eq!(incident["status"], "new");
    assert_eq!(incident["notes"].as_array().unwrap().len(), 1, "a refused change adds no note either");

    // The whole record sent back unchanged (a PUT of what was read) changes nothing.
    let mut same = r.clone();
    same.as_object_mut().unwrap().retain(|k, _| !matches!(k.as_str(), "comments" | "work_notes"));
    let put = call(&gw, Method::PUT, "region-h", &path, Some(same)).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.body);
    assert_eq!(native(&gw, &id).await["version"], incident["version"]);
}

#[tokio::test]
async fn the_national_desk_changes_state_and_priority_through_the_mapping() {
    let gw = gateway().await;
    let (_, id, path) = created(&gw, record("FMK: national update", "3", "3", "n-1")).await;

    let a = call(&gw, Method::PATCH, "sds", &path, Some(json!({"state": "3", "hold_reason": "5"}))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!((a.body["result"]["state"].as_str(), a.body["result"]["hold_reason"].as_str()), (Some("3"), Some("5")));
    assert_eq!(native(&gw, &id).await["status"], "pending_release");

    let a = call(&gw, Method::PATCH, "sds", &path, Some(json!({"impact": "1", "urgency": "1"}))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["result"]["priority"], "1");
    assert_eq!(native(&gw, &id).await["priority"], "P1");

    let a = call(&gw, Method::PATCH, "sds", &path, Some(json!({"state": "2", "assignment_group": "fmk"}))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let incident = native(&gw, &id).await;
    assert_eq!((incident["status"].as_str(), incident["assignee"].as_str()), (Some("in_progress"), Some("fmk")));
    assert_eq!(
        a.body["result"]["assignment_group"],
        json!({"link": "http://gateway.test/api/now/table/sys_user_group/fmk", "value": "fmk"})
    );
    assert_eq!(a.body["result"]["sys_updated_by"], "sds");

    // Closing needs resolving first: 409 naming both states in ServiceNow's words.
    let a = call(&gw, Method::PATCH, "sds", &path, Some(json!({"state": "7"}))).await;
    assert_servicenow_error(&a, StatusCode::CONFLICT);
    let message = a.body["error"]["message"].as_str().unwrap();
    assert!(message.contains("from In Progress to Closed"), "{message}");
    assert_eq!(a.body["error"]["detail"], "field: state");
    assert_eq!(native(&gw, &id).await["status"], "in_progress");

    let a =
        call(&gw, Method::PATCH, "sds", &path, Some(json!({"state": "6", "close_notes": "Certificate renewed"}))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(native(&gw, &id).await["status"], "resolved");
    // A P1 closes only with an approved report: the model's rule, in ServiceNow's shape.
    let a = call(&gw, Method::PATCH, "sds", &path, Some(json!({"state": "7"}))).await;
    assert_servicenow_error(&a, StatusCode::CONFLICT);
    assert!(a.body["error"]["message"].as_str().unwrap().contains("incident report"), "{}", a.body);
}

#[tokio::test]
async fn flags_in_any_casing_name_value_filters_and_unknown_fields_are_taken_as_servicenow_takes_them() {
    let gw = gateway().await;
    three(&gw).await;
    let get = |query: &str| {
        let path = format!("{TABLE}?{query}");
        let gw = &gw;
        async move { call(gw, Method::GET, "region-h", &path, None).await }
    };
    let a = get("business_service=FMK&sysparm_display_value=True&sysparm_exclude_reference_link=FALSE").await;
    assert_eq!(numbers(&a), ["INC0000002"], "{}", a.body);
    let service = json!({"link": "http://gateway.test/api/now/table/cmdb_ci_service/FMK", "display_value": "FMK"});
    assert_eq!((&a.body["result"][0]["state"], &a.body["result"][0]["business_service"]), (&json!("New"), &service));
    let a = get("sysparm_display_value=ALL&sysparm_exclude_reference_link=True&sysparm_fields=number,caller_id").await;
    let caller = json!({"display_value": "Region Hovedstaden Service Desk", "value": "region-h"});
    let number = json!({"display_value": "INC0000001", "value": "INC0000001"});
    assert_eq!(a.body["result"][0], json!({"number": number, "caller_id": caller}), "{}", a.body);
    let a = get("sysparm_display_value=False&sysparm_fields=state&sysparm_limit=1").await;
    assert_eq!(a.body["result"], json!([{"state": "1"}]), "{}", a.body);
    // Name-value pairs are ANDed with each other and with sysparm_query.
    let a = get(&format!("impact=2&state=1&sysparm_query={}", urlencode("business_service!=FMK"))).await;
    assert_eq!(numbers(&a), ["INC0000003"], "{}", a.body);
    assert_eq!(numbers(&get("impact=2&business_service=FMK").await), Vec::<String>::new());
    // A choice or reference by its display value, in any casing.
    assert_eq!(numbers(&get("state=new&impact=2%20-%20Medium").await), ["INC0000003"]);
    assert_eq!(numbers(&get("caller_id=Region%20Hovedstaden%20Service%20Desk&priority=1").await), ["INC0000002"]);
    // Names in sysparm_fields that are no field are ignored; only such names select none.
    let a = get("sysparm_fields=number,u_bogus,priority&sysparm_limit=1").await;
    assert_eq!(a.body["result"], json!([{"number": "INC0000001", "priority": "5"}]), "{}", a.body);
    let a = get("sysparm_fields=u_bogus&sysparm_limit=1").await;
    assert_eq!(a.body["result"], json!([{}]), "{}", a.body);
}

#[tokio::test]
async fn fields_the_caller_may_not_write_are_ignored_but_patient_data_in_any_field_is_refused() {
    let gw = gateway().await;
    let mut body = record("FMK: extra fields", "2", "2", "x-1");
    for (field, value) in [
        ("caller_id", json!({"value": "someone", "link": "https://elsewhere/api/now/table/sys_user/someone"})),
        ("number", json!("INC0099999")),
        ("assignment_group", json!("fmk")),
        ("u_custom_field", json!("anything")),
        ("sys_created_by", json!("admin")),
    ] {
        body[field] = value;
    }
    let r = create(&gw, "region-h", body).await;
    assert_eq!((r["number"].as_str(), r["assignment_group"].as_str()), (Some("INC0000001"), Some("")));
    assert_eq!((r["caller_id"]["value"].as_str(), r["sys_created_by"].as_str()), (Some("region-h"), Some("region-h")));
    let path = record_path(&r);
    let renamed = json!({"short_description": "renamed", "business_service": "NSP", "comments": "Ward 7 as well"});
    let a = call(&gw, Method::PATCH, "region-h", &path, Some(renamed)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["result"]["short_description"], "FMK: extra fields", "set at submission: ignored");
    let stored = gw.all_incidents().await;
    assert_eq!((stored[0]["title"].as_str(), stored[0]["service"].as_str()), (Some("FMK: extra fields"), Some("FMK")));
    assert_eq!(stored[0]["notes"].as_array().map(Vec::len), Some(1), "the writable part applies");

    let cpr = "010203-1234";
    let refusals = [
        ("caller_id", json!({"caller_id": cpr})),
        ("u_custom_field", json!({"u_custom_field": format!("borger {cpr}")})),
        ("(a field name)", Value::Object([(format!("u_{cpr}"), json!("x"))].into_iter().collect())),
    ];
    for (field, extra) in refusals {
        for (method, target) in [(Method::POST, TABLE.to_owned()), (Method::PATCH, path.clone())] {
            let mut body = record("FMK: refused", "2", "2", "x-2");
            body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            let a = call(&gw, method.clone(), "region-h", &target, Some(body)).await;
            assert_servicenow_error(&a, StatusCode::UNPROCESSABLE_ENTITY);
            assert_eq!(a.body["error"]["detail"], format!("field: {field}"), "{method} {field}");
            assert!(!a.body.to_string().contains("010203"), "not echoed: {}", a.body);
        }
    }
    assert_eq!(gw.all_incidents().await, stored, "refused writes change nothing");
}

#[tokio::test]
async fn the_table_api_answers_under_its_versioned_paths() {
    let gw = gateway().await;
    let a =
        call(&gw, Method::POST, "region-h", "/api/now/v2/table/incident", Some(record("FMK: v2", "2", "2", "v2-1")))
            .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let sys_id = a.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let id = a.body["result"]["u_deskgate_incident"].as_str().unwrap().to_owned();
    for version in ["v1", "v2"] {
        let one =
            call(&gw, Method::GET, "region-h", &format!("/api/now/{version}/table/incident/{sys_id}"), None).await;
        assert_eq!((one.status, &one.body["result"]["sys_id"]), (StatusCode::OK, &json!(sys_id)), "{version}");
        let patch = json!({"comments": format!("via {version}")});
        let path = format!("/api/now/{version}/table/incident/{sys_id}");
        assert_eq!(call(&gw, Method::PATCH, "region-h", &path, Some(patch)).await.status, StatusCode::OK);
        let list =
            call(&gw, Method::GET, "region-h", &format!("/api/now/{version}/table/incident?sysparm_limit=1"), None)
                .await;
        assert_eq!(numbers(&list), ["INC0000001"], "{version}");
        let link = list.headers[reqwest::header::LINK].to_str().unwrap();
        assert!(link.contains(&format!("/api/now/{version}/table/incident?")), "{link}");
    }
    // An empty page: version 1 answers 404, version 2 and the default path [].
    let none = "table/incident?business_service=NSP";
    assert_servicenow_error(
        &call(&gw, Method::GET, "region-h", &format!("/api/now/v1/{none}"), None).await,
        StatusCode::NOT_FOUND,
    );
    for path in [format!("/api/now/v2/{none}"), format!("/api/now/{none}")] {
        let a = call(&gw, Method::GET, "region-h", &path, None).await;
        assert_eq!((a.status, &a.body["result"]), (StatusCode::OK, &json!([])), "{path}");
    }
    assert_eq!(native(&gw, &id).await["notes"].as_array().map(Vec::len), Some(2), "both versions' notes");
}

#[test]
fn sys_ids_are_derived_from_incident_ids_and_decode_back() {
    use deskgate::api::servicenow::{incident_of_sys_id, number_of, sys_id_of};
    use deskgate::model::IncidentId;
    for (year, seq) in [(2026, 1), (2026, 42), (1999, 999_999), (2030, 123_456_789_012)] {
        let id = IncidentId::new(year, seq);
        let sys_id = sys_id_of(&id);
        assert!(deskgate_servicenow::wire::is_sys_id(&sys_id), "{sys_id}");
        assert_eq!(incident_of_sys_id(&sys_id), Some(id.clone()));
        assert_eq!(sys_id, sys_id_of(&id), "stable");
        let mut forged = sys_id.clone().into_bytes();
        forged[0] = if forged[0] == b'0' { b'1' } else { b'0' };
        assert_eq!(incident_of_sys_id(std::str::from_utf8(&forged).unwrap()), None);
    }
    assert_eq!(number_of(&IncidentId::new(2026, 42)), "INC0000042");
    assert_ne!(sys_id_of(&IncidentId::new(2026, 1)), sys_id_of(&IncidentId::new(2027, 1)));
}
