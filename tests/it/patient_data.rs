//! Patient identifiers in every field of every dialect, against a real gateway.
//!
//! A sweep of CPR and NISS numbers (valid dates, valid mod-97 checks) in every way
//! people — or an attacker — write them: each separator, each prefix and suffix
//! punctuation, zero-width characters, HTML entities, percent-encoding, fullwidth and
//! Arabic-Indic digits. Each writing goes into every field a dialect reads, through
//! the real HTTP routes; every one must be refused with 422 in the caller's dialect,
//! naming the field, echoing nothing, changing nothing. Remote reports (a ServiceNow
//! push, a Jira webhook) are not applied where they carry one; the national desk is
//! told instead.

use crate::kit;

use kit::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const SEPARATORS: &[&str] = &[
    "-", "\u{2013}", "\u{2014}", "\u{2011}", "\u{2212}", "/", ".", " ", "\u{a0}", " - ", "  ", "\t", "\n", "&nbsp;",
    "%2D",
];
const BEFORE: &[&str] = &[
    "", "Borger ", "CPR-", "cpr-", "CPR=", "CPR#", "CPR:", "cpr", "#", "@", ",", "Borger,", "(", "?cpr=", "NISS ",
    "x_", "mail ",
];
const AFTER: &[&str] = &["", ",", ", kan ikke logge ind", ".X", "_", ".", ")", "&x=1", " kan ikke logge ind", "@x.dk"];

/// One writing of a patient number, and its plain digits (to check nothing echoes them).
struct Writing {
    text: String,
    digits: String,
}

/// CPR with a real date (days 1–28 exist in every month), or NISS with valid checks.
fn number(rng: &mut StdRng, niss: bool) -> (String, &'static [&'static [usize]]) {
    let (d, m, y) = (rng.gen_range(1..=28u8), rng.gen_range(1..=12u8), rng.gen_range(0..=99u8));
    if niss {
        let base: u64 = format!("{y:02}{m:02}{d:02}{:03}", rng.gen_range(1..=997u16)).parse().unwrap();
        let check = if rng.r#gen() { 97 - (2_000_000_000 + base) % 97 } else { 97 - base % 97 };
        (format!("{base:09}{check:02}"), &[&[11], &[2, 2, 2, 3, 2], &[6, 3, 2]])
    } else {
        (
            format!("{d:02}{m:02}{y:02}{:04}", rng.gen_range(0..=9999u16)),
            &[&[10], &[6, 4], &[2, 2, 2, 4], &[2, 2, 2, 2, 2]],
        )
    }
}

/// One digit as something that reads as that digit.
fn disguise(c: char, how: u32) -> String {
    let d = c as u32 - '0' as u32;
    match how {
        1 => format!("&#{};", c as u32),
        2 => format!("&#x{:x};", c as u32),
        3 => format!("%{:02X}", c as u32),
        4 => char::from_u32(0xFF10 + d).unwrap().to_string(),
        5 => char::from_u32(0x0660 + d).unwrap().to_string(),
        6 => format!("{c}\u{200b}"),
        7 => format!("{c}\u{2060}"),
        8 => format!("{c}\u{feff}"),
        9 => format!("{c}\u{ad}"),
        _ => c.to_string(),
    }
}

/// The `k`-th writing: every separator, prefix and suffix comes round as `k` grows;
/// digits are disguised at random, except in every fourth writing.
fn writing(rng: &mut StdRng, k: usize) -> Writing {
    let (digits, shapes) = number(rng, k % 2 == 1);
    let shape = shapes[k % shapes.len()];
    let separator = SEPARATORS[k % SEPARATORS.len()];
    let mut text = BEFORE[k % BEFORE.len()].to_owned();
    let mut at = 0;
    for (g, len) in shape.iter().enumerate() {
        if g > 0 {
            text.push_str(separator);
        }
        for c in digits[at..at + len].chars() {
            let how = if k % 4 == 0 || rng.gen_bool(0.5) { 0 } else { rng.gen_range(1..=9) };
            text.push_str(&disguise(c, how));
        }
        at += len;
    }
    text.push_str(AFTER[k % AFTER.len()]);
    Writing { text, digits }
}

/// Enough writings per field that each separator, prefix and suffix is used in each.
const CASES: usize = 17;

fn writings(seed: u64) -> Vec<Writing> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out: Vec<Writing> = (0..CASES.max(SEPARATORS.len())).map(|k| writing(&mut rng, k)).collect();
    // The reported ones, word for word.
    for text in ["010203-1047, kan ikke logge ind", "Borger, 010203-1047", "NISS 85.07.30-033.28, tak"] {
        let digits = text.chars().filter(char::is_ascii_digit).collect::<String>();
        out.push(Writing { text: text.to_owned(), digits: digits[digits.len() - 10..].to_owned() });
    }
    out
}

/// A JSON object with `path` (dots for nesting, `[0]` for the first element) set to `value`.
fn set(mut body: Value, path: &str, value: Value) -> Value {
    let mut at = &mut body;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let (name, first) = match part.strip_suffix("[0]") {
            Some(name) => (name, true),
            None => (*part, false),
        };
        let last = i + 1 == parts.len();
        if last && !first {
            at[name] = value;
            return body;
        }
        if at.get(name).is_none() {
            at[name] = if first { json!([{}]) } else { json!({}) };
        }
        at = &mut at[name];
        if first {
            if last {
                at[0] = value;
                return body;
            }
            at = &mut at[0];
        }
    }
    body
}

#[derive(Clone, Copy, Debug)]
enum Dialect {
    Native,
    ServiceNow,
    Jira,
}

/// 422 in `dialect`, naming `field`, echoing neither the writing nor its digits.
fn assert_refused(a: &Answer, dialect: Dialect, field: &str, w: &Writing, what: &str) {
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{what} {:?}: {}", w.text, a.text);
    match dialect {
        Dialect::Native => {
            assert_eq!(a.body["error"]["code"], "patient_data", "{what}: {}", a.text);
            assert_eq!(a.body["error"]["field"], field, "{what}: {}", a.text);
        }
        Dialect::ServiceNow => {
            assert_eq!(a.body["status"], "failure", "{what}: {}", a.text);
            assert_eq!(a.body["error"]["detail"], format!("field: {field}"), "{what}: {}", a.text);
        }
        Dialect::Jira => {
            assert_eq!(a.body["errorMessages"], json!([]), "{what}: {}", a.text);
            assert!(a.body["errors"][field].is_string(), "{what}: the error names {field}: {}", a.text);
        }
    }
    assert!(!a.text.contains(&w.text) && !a.text.contains(&w.digits[..6]), "{what}: echoed: {}", a.text);
}

/// The test federation with room for a sweep of hundreds of requests per desk.
async fn gateway() -> TestGateway {
    let roomy = |c: &mut GatewayConfig| {
        c.gateway_toml("rate_limit = { inbound_per_minute = 100000, inbound_burst = 100000 }");
    };
    TestGateway::start_edited(roomy, reqwest::Client::new()).await
}

/// The whole stored state the national desk can see, to compare before and after.
async fn stored(gw: &TestGateway) -> Vec<Value> {
    gw.all_incidents().await
}

/// `desk` submits the clean incident `ticket`: its id.
async fn submitted(gw: &TestGateway, desk: &str, ticket: &str) -> String {
    let created = gw.submit(desk, &incident(ticket)).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

/// Every field of a native submission, PATCH and note.
#[tokio::test]
async fn native_api_refuses_patient_data_in_every_field() {
    let gw = gateway().await;
    let id = submitted(&gw, "pharmacy", "PH-1").await;
    let before = stored(&gw).await;
    let base = json!({
        "title": "FMK: prescriptions cannot be read", "description": "No prescriptions are shown.",
        "service": "FMK", "ticket_id": "PH-2", "display_id": "PH-2", "ticket_url": "https://desk.example/PH-2",
    });
    let url = |w: &str| json!(format!("https://desk.example/ticket?ref={w}"));
    for (n, w) in writings(1).iter().enumerate() {
        let text = json!(w.text);
        let fields: Vec<(&str, Value)> = vec![
            ("title", text.clone()),
            ("description", text.clone()),
            ("service", text.clone()),
            ("ticket_id", text.clone()),
            ("display_id", text.clone()),
            ("ticket_url", url(&w.text)),
        ];
        for (field, value) in fields {
            let a = call(&gw, Method::POST, "pharmacy", "/api/v1/incidents", &set(base.clone(), field, value)).await;
            assert_refused(&a, Dialect::Native, field, w, &format!("submit {field} #{n}"));
        }
        let path = format!("/api/v1/incidents/{id}");
        for (field, body) in [
            ("report", json!({"report": w.text})),
            ("rfc.key", json!({"rfc": {"key": w.text}})),
            ("rfc.url", json!({"rfc": {"key": "SDSJIRA-1", "url": url(&w.text)}})),
        ] {
            let a = call(&gw, Method::PATCH, "sds", &path, &body).await;
            assert_refused(&a, Dialect::Native, field, w, &format!("PATCH {field} #{n}"));
        }
        let a = call(&gw, Method::POST, "pharmacy", &format!("{path}/notes"), &json!({"body": w.text})).await;
        assert_refused(&a, Dialect::Native, "body", w, &format!("note #{n}"));
    }
    // A header value is visible ASCII: the writings that can be one.
    let headers: Vec<Writing> =
        writings(4).into_iter().filter(|w| w.text.is_ascii() && !w.text.contains(['\t', '\n'])).collect();
    assert!(headers.len() >= 5, "{}", headers.len());
    for (n, w) in headers.iter().enumerate() {
        let response = gw
            .client
            .post(gw.url("/api/v1/incidents"))
            .bearer_auth(gw.token("pharmacy"))
            .header("idempotency-key", &w.text)
            .json(&set(base.clone(), "ticket_id", json!(format!("PH-KEY-{n}"))))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        let a = Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), text };
        assert_refused(&a, Dialect::Native, "Idempotency-Key", w, &format!("Idempotency-Key #{n}"));
    }
    assert_eq!(stored(&gw).await, before, "nothing was stored");
    assert!(gw.audit().await.iter().any(|e| e["reason"] == "patient data in ticket_url"), "submissions are audited");
}

const TABLE: &str = "/api/now/table/incident";

/// Every field the ServiceNow Table API reads, on insert and on update.
#[tokio::test]
async fn servicenow_table_api_refuses_patient_data_in_every_field() {
    let gw = gateway().await;
    let base = json!({
        "short_description": "FMK: prescriptions cannot be read", "description": "No prescriptions are shown.",
        "business_service": "FMK", "impact": "2", "urgency": "2", "correlation_id": "RH-1",
        "correlation_display": "INC0010001",
    });
    let created = call(&gw, Method::POST, "region-h", TABLE, &base).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let sys_id = created.body["result"]["sys_id"].as_str().unwrap().to_owned();
    let before = stored(&gw).await;
    let insert_fields = [
        "short_description",
        "description",
        "business_service",
        "impact",
        "urgency",
        "state",
        "hold_reason",
        "close_code",
        "close_notes",
        "correlation_id",
        "correlation_display",
        "work_notes",
        "comments",
    ];
    let update_fields = [
        "state",
        "hold_reason",
        "impact",
        "urgency",
        "close_code",
        "close_notes",
        "assignment_group",
        "work_notes",
        "comments",
    ];
    for (n, w) in writings(2).iter().enumerate() {
        for field in insert_fields {
            let body = set(set(base.clone(), "correlation_id", json!(format!("RH-{n}-{field}"))), field, json!(w.text));
            let a = call(&gw, Method::POST, "region-h", TABLE, &body).await;
            assert_refused(&a, Dialect::ServiceNow, field, w, &format!("insert {field} #{n}"));
        }
        for field in update_fields {
            let a = call(&gw, Method::PATCH, "region-h", &format!("{TABLE}/{sys_id}"), &json!({ field: w.text })).await;
            assert_refused(&a, Dialect::ServiceNow, field, w, &format!("update {field} #{n}"));
        }
    }
    assert_eq!(stored(&gw).await, before, "nothing was stored");
}

/// An ADF document whose only patient data is in a mention's display text.
fn adf_mention(text: &str) -> Value {
    json!({"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "Ring til "},
        {"type": "mention", "attrs": {"id": "5b10ac8d82e05b22cc7d4ef5", "text": text}},
    ]}]})
}

/// Every field the Jira REST API reads: create (v2 and v3), comments, remote links.
#[tokio::test]
async fn jira_rest_api_refuses_patient_data_in_every_field() {
    let gw = gateway().await;
    let created = call(&gw, Method::POST, "region-m", "/rest/api/2/issue", &jira_issue("RM-1")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let key = created.body["key"].as_str().unwrap().to_owned();
    let before = stored(&gw).await;
    for (n, w) in writings(3).iter().enumerate() {
        let text = json!(w.text);
        let base = jira_issue(&format!("RM-{n}"));
        let creates: Vec<(&str, &str, Value)> = vec![
            ("2", "summary", set(base.clone(), "fields.summary", text.clone())),
            ("2", "description", set(base.clone(), "fields.description", text.clone())),
            ("3", "description", set(base.clone(), "fields.description", adf_mention(&w.text))),
            ("2", "components", set(base.clone(), "fields.components", json!([{"name": w.text}]))),
            ("2", "customfield_10100", set(base.clone(), "fields.customfield_10100", text.clone())),
            ("2", "labels", set(base.clone(), "fields.labels", json!(["fmk", w.text]))),
            ("2", "environment", set(base.clone(), "fields.environment", text.clone())),
            ("2", "comment", set(base.clone(), "update.comment", json!([{"add": {"body": w.text}}]))),
            ("3", "comment", set(base.clone(), "update.comment", json!([{"add": {"body": adf_mention(&w.text)}}]))),
        ];
        for (v, field, body) in creates {
            let a = call(&gw, Method::POST, "region-m", &format!("/rest/api/{v}/issue"), &body).await;
            assert_refused(&a, Dialect::Jira, field, w, &format!("v{v} create {field} #{n}"));
        }
        let issue = format!("/rest/api/2/issue/{key}");
        let a = call(&gw, Method::POST, "region-m", &format!("{issue}/comment"), &json!({"body": w.text})).await;
        assert_refused(&a, Dialect::Jira, "body", w, &format!("comment #{n}"));
        let v3 = format!("/rest/api/3/issue/{key}/comment");
        let a = call(&gw, Method::POST, "region-m", &v3, &json!({"body": adf_mention(&w.text)})).await;
        assert_refused(&a, Dialect::Jira, "body", w, &format!("v3 comment mention #{n}"));
        let link = |url: String, title: &str, global: &str| json!({"globalId": global, "object": {"url": url, "title": title}});
        for (field, body) in [
            ("object.url", link(format!("https://desk.example/t?x={}", w.text), "Ticket", "g-1")),
            ("object.title", link("https://desk.example/t/1".into(), &w.text, "g-2")),
            ("globalId", link("https://desk.example/t/1".into(), "Ticket", &w.text)),
        ] {
            let a = call(&gw, Method::POST, "region-m", &format!("{issue}/remotelink"), &body).await;
            assert_refused(&a, Dialect::Jira, field, w, &format!("remote link {field} #{n}"));
        }
    }
    assert_eq!(stored(&gw).await, before, "nothing was stored");
}

/// The incident as the national desk sees it.
async fn incident_of(gw: &TestGateway, id: &str) -> Value {
    gw.get("sds", &format!("/api/v1/incidents/{id}")).await.json().await.unwrap()
}

/// A ServiceNow push whose journal entry carries a CPR number: the note is not
/// stored; the national desk gets an internal note naming the field, the audit log an
/// entry; what else the push carried is still applied.
#[tokio::test]
async fn a_servicenow_push_with_patient_data_is_parked_for_the_national_desk() {
    let gw = gateway().await;
    let id = submitted(&gw, "region-h", "RH-PUSH-1").await;
    let push = |journal: &str, close_notes: &str| {
        json!({"operation": "update", "sys_id": "RH-PUSH-1", "number": "INC0010001",
               "record": {"short_description": "FMK: prescriptions cannot be read", "close_notes": close_notes},
               "journal": {"element": "comments", "value": journal}})
    };
    let path = "/webhooks/servicenow/region-h";
    let a = call(&gw, Method::POST, "region-h", path, &push("Borger 010203\u{2013}1047, ringer igen", "")).await;
    // Webhooks answer alike whatever became of them; the effect shows below.
    assert_eq!((a.status, a.body["outcome"].as_str()), (StatusCode::OK, Some("received")), "{}", a.text);
    assert!(!a.text.contains("010203"), "{}", a.text);
    let inc = incident_of(&gw, &id).await;
    let notes = inc["notes"].as_array().unwrap();
    assert!(!notes.iter().any(|n| n["body"].as_str().unwrap().contains("ringer igen")), "the note is not applied");
    let parked: Vec<&Value> = notes.iter().filter(|n| n["visibility"] == "internal").collect();
    assert_eq!(parked.len(), 1, "{notes:?}");
    assert_eq!(parked[0]["author_desk"], "sds");
    assert!(parked[0]["body"].as_str().unwrap().contains("note contains a Danish CPR number"));
    assert!(!serde_json::to_string(&inc).unwrap().contains("010203"), "nothing of the number is stored");
    let audit = gw.audit().await;
    assert!(audit.iter().any(|e| e["reason"].as_str().unwrap().contains("region-h ticket RH-PUSH-1: note contains")));
    assert!(!serde_json::to_string(&audit).unwrap().contains("010203"));

    // A clean journal entry with patient data elsewhere: the note is applied, the
    // field is not, and the national desk hears which one.
    let a =
        call(&gw, Method::POST, "region-h", path, &push("Brugeren er logget ind igen", "NISS 85.07.30-033.28")).await;
    assert_eq!(a.body["outcome"], "received", "{}", a.text);
    let inc = incident_of(&gw, &id).await;
    let notes = inc["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n["body"] == "Brugeren er logget ind igen"));
    assert!(notes.iter().any(|n| n["visibility"] == "internal"
        && n["body"].as_str().unwrap().contains("close_notes contains a Belgian national register number")));
    assert!(!serde_json::to_string(&inc).unwrap().contains("85.07.30"));
}

/// A Jira comment whose mention carries a CPR number is not applied either.
#[tokio::test]
async fn a_jira_webhook_comment_with_patient_data_is_parked_for_the_national_desk() {
    let gw = gateway().await;
    let created = call(&gw, Method::POST, "region-m", "/rest/api/2/issue", &jira_issue("RM-HOOK-1")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = incident_of_ticket(&gw, "RM-HOOK-1").await;
    let event = json!({
        "webhookEvent": "comment_created",
        "issue": {"id": "10001", "key": "RM-HOOK-1", "fields": {}},
        "comment": {"body": adf_mention("@0102031047")},
    });
    // Signed with the desk's own token (this desk has no webhook secret).
    let a = call(&gw, Method::POST, "region-m", "/webhooks/jira/region-m", &event).await;
    assert_eq!((a.status, a.body["outcome"].as_str()), (StatusCode::OK, Some("received")), "{}", a.text);
    let audit = gw.audit().await;
    assert!(audit.iter().any(|e| e["reason"].as_str().unwrap().contains("region-m ticket RM-HOOK-1: note contains")));
    let inc = incident_of(&gw, &id).await;
    let notes = inc["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 1, "only the national desk's note: {notes:?}");
    assert_eq!(notes[0]["visibility"], "internal");
    assert!(notes[0]["body"].as_str().unwrap().contains("note contains a Danish CPR number"));
    assert!(!serde_json::to_string(&inc).unwrap().contains("0102031047"));
}

async fn incident_of_ticket(gw: &TestGateway, ticket: &str) -> String {
    let all = gw.all_incidents().await;
    let found = all.iter().find(|i| i["origin"]["ticket"] == ticket).expect("the incident");
    found["id"].as_str().unwrap().to_owned()
}
