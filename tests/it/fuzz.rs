//! Property-based fuzzing of every parser that reads untrusted input: the native JSON
//! bodies, the ServiceNow and Jira dialects and their webhooks (over HTTP, against one
//! real gateway), the ClearQuest OSLC RDF/XML reader, the JQL, encoded-query and
//! OSLC where parsers, and desk authentication.
//!
//! Each target runs `DESKGATE_FUZZ_CASES` cases (default 64): the default keeps the
//! file to a few seconds; CI runs a longer pass with a larger value.

use crate::kit;

use std::sync::OnceLock;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use deskgate::api::error::ApiError;
use deskgate::api::extract::parse_json;
use deskgate::api::native::{AddNote, PatchIncident, SubmitIncident};
use deskgate::auth::{AuthError, Authenticator};
use deskgate::config::Config;
use deskgate_clearquest::oslc::{self, CqRecord, Limits};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{Value, json};

fn cases() -> u32 {
    std::env::var("DESKGATE_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
}

fn runner() -> TestRunner {
    TestRunner::new(RunnerConfig { cases: cases(), failure_persistence: None, ..RunnerConfig::default() })
}

// ---------------------------------------------------------------------------------
// Input generators
// ---------------------------------------------------------------------------------

/// Strings that stress parsers: control characters, quotes, non-ASCII, NUL.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[\\x00-\\x1f\"'\\\\<>&{}\\[\\]]{0,20}",
        Just(String::new()),
        Just("\u{0}".into()),
        Just("é".repeat(200)),
        (1usize..5000).prop_map(|n| "x".repeat(n)),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        nasty_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{0,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One change to a JSON document: which node (modulo their number), what to do.
#[derive(Clone, Debug)]
enum Edit {
    Replace(usize, Value),
    Remove(usize),
    Insert(usize, String, Value),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any_json()).prop_map(|(i, v)| Edit::Replace(i, v)),
        any::<usize>().prop_map(Edit::Remove),
        (any::<usize>(), "[a-zA-Z_]{0,12}", any_json()).prop_map(|(i, k, v)| Edit::Insert(i, k, v)),
    ]
}

/// JSON pointers of every node of `v`, the root first.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            m.iter().for_each(|(k, c)| pointers(c, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")), out))
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| pointers(c, format!("{at}/{i}"), out)),
        _ => {}
    }
}

fn apply(mut doc: Value, edits: &[Edit]) -> Value {
    for e in edits {
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        let pick = |i: &usize| all[i % all.len()].clone();
        match e {
            Edit::Replace(i, v) => {
                if let Some(node) = doc.pointer_mut(&pick(i)) {
                    *node = v.clone();
                }
            }
            Edit::Remove(i) => {
                let p = pick(i);
                let Some((parent, last)) = p.rsplit_once('/') else { continue };
                match doc.pointer_mut(parent) {
                    Some(Value::Object(m)) => {
                        m.remove(&last.replace("~1", "/").replace("~0", "~"));
                    }
                    Some(Value::Array(a)) => {
                        if let Ok(n) = last.parse::<usize>() {
                            a.remove(n);
                        }
                    }
                    _ => {}
                }
            }
            Edit::Insert(i, k, v) => {
                if let Some(Value::Object(m)) = doc.pointer_mut(&pick(i)) {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
    }
    doc
}

/// What the byte-level damage to a serialised document is.
#[derive(Clone, Debug)]
enum Damage {
    None,
    Truncate(usize),
    Flip(usize, u8),
    Splice(usize, Vec<u8>),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => Just(Damage::None),
        1 => any::<usize>().prop_map(Damage::Truncate),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Damage::Flip(i, b)),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 0..16)).prop_map(|(i, b)| Damage::Splice(i, b)),
    ]
}

fn hurt(mut bytes: Vec<u8>, d: &Damage) -> Vec<u8> {
    if bytes.is_empty() {
        return bytes;
    }
    match d {
        Damage::None => {}
        Damage::Truncate(i) => bytes.truncate(i % bytes.len()),
        Damage::Flip(i, b) => {
            let n = bytes.len();
            bytes[i % n] ^= b | 1;
        }
        Damage::Splice(i, b) => {
            let at = i % bytes.len();
            bytes.splice(at..at, b.iter().copied());
        }
    }
    bytes
}

/// Raw bytes, or a seed document mangled structurally and then at the byte level.
fn body_from(seed: Value) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256),
        1 => any_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        4 => (prop::collection::vec(edit(), 0..4), damage())
            .prop_map(move |(edits, d)| hurt(serde_json::to_vec(&apply(seed.clone(), &edits)).unwrap(), &d)),
    ]
}

// ---------------------------------------------------------------------------------
// (a) native JSON decoders
// ---------------------------------------------------------------------------------

fn check_decoder_error(e: &ApiError, input: &[u8]) {
    assert_eq!(e.status, StatusCode::BAD_REQUEST, "{e:?} for {:?}", String::from_utf8_lossy(input));
    match e.code {
        "malformed_json" => {}
        "invalid_field" => {
            let field = e.field.as_deref().unwrap_or_default();
            assert!(!field.is_empty(), "an invalid_field error names no field: {e:?}");
            assert!(e.message.starts_with(field), "the message does not lead with the field: {e:?}");
        }
        other => panic!("unexpected error code {other}: {e:?}"),
    }
}

fn submit_seed() -> Value {
    json!({"title": "FMK down", "description": "Prescriptions fail", "service": "FMK", "ticket_id": "RH-1",
           "display_id": "INC1", "ticket_url": "https://x", "priority": "P2", "urgency": "high", "impact": "low"})
}

#[test]
fn native_json_decoders_answer_with_a_field_or_malformed_json() {
    let seeds = [
        submit_seed(),
        json!({"status": "resolved", "priority": "P1", "assignee": "fmk", "kind": "support_request",
               "parent": "INC-1", "report": "r", "approve_report": true}),
        json!({"body": "note", "visibility": "internal"}),
    ];
    for (which, seed) in seeds.into_iter().enumerate() {
        runner()
            .run(&body_from(seed), |bytes| {
                let err = match which {
                    0 => parse_json::<SubmitIncident>(&bytes).err(),
                    1 => parse_json::<PatchIncident>(&bytes).err(),
                    _ => parse_json::<AddNote>(&bytes).err(),
                };
                if let Some(e) = err {
                    check_decoder_error(&e, &bytes);
                }
                Ok(())
            })
            .unwrap();
    }
}

#[test]
fn native_decoders_name_top_level_type_errors() {
    for body in [&b"5"[..], b"[]", b"\"x\"", b"null", b"true", b"{\"\":null}"] {
        let e = parse_json::<SubmitIncident>(body).unwrap_err();
        check_decoder_error(&e, body);
    }
}

// ---------------------------------------------------------------------------------
// (b) the dialects and webhooks, over HTTP against one gateway
// ---------------------------------------------------------------------------------

struct Target {
    method: reqwest::Method,
    path: String,
    desk: &'static str,
    seed: Value,
}

#[test]
fn dialect_bodies_never_get_a_server_error() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let gw = rt.block_on(kit::TestGateway::start());
    let sn_seed = json!({"short_description": "FMK down", "description": "fails", "business_service": "FMK",
                         "impact": "2", "urgency": "2", "number": "INC0010001",
                         "sys_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "comments": "seen"});
    let jira_seed = json!({"fields": {"project": {"key": "DG"}, "issuetype": {"name": "Incident"},
                           "summary": "FMK down", "description": "fails", "components": [{"name": "FMK"}],
                           "priority": {"name": "High"}, "customfield_10100": "RM-7"},
                           "update": {"comment": [{"add": {"body": "x"}}]}});
    // Something to change: one incident in each dialect.
    let (sys_id, key, native_id) = rt.block_on(async {
        let sn: Value =
            gw.send("region-h", reqwest::Method::POST, "/api/now/table/incident", &sn_seed).await.json().await.unwrap();
        let jira: Value =
            gw.send("region-m", reqwest::Method::POST, "/rest/api/2/issue", &jira_seed).await.json().await.unwrap();
        let native: Value = gw.submit("region-h", &submit_seed()).await.json().await.unwrap();
        (
            sn["result"]["sys_id"].as_str().unwrap_or("none").to_owned(),
            jira["key"].as_str().unwrap_or("DG-1").to_owned(),
            native["id"].as_str().unwrap_or("none").to_owned(),
        )
    });
    use reqwest::Method;
    let targets = [
        Target {
            method: Method::POST,
            path: "/api/now/table/incident".into(),
            desk: "region-h",
            seed: sn_seed.clone(),
        },
        Target {
            method: Method::PATCH,
            path: format!("/api/now/table/incident/{sys_id}"),
            desk: "region-h",
            seed: json!({"state": "6", "close_code": "Solved", "close_notes": "done", "work_notes": "w"}),
        },
        Target { method: Method::POST, path: "/rest/api/2/issue".into(), desk: "region-m", seed: jira_seed.clone() },
        Target {
            method: Method::PUT,
            path: format!("/rest/api/2/issue/{key}"),
            desk: "region-m",
            seed: json!({"fields": {"summary": "s", "priority": {"name": "Low"}}, "update": {"comment": [{"add": {"body": "x"}}]}}),
        },
        Target {
            method: Method::POST,
            path: format!("/rest/api/3/issue/{key}/transitions"),
            desk: "region-m",
            seed: json!({"transition": {"id": "31"}, "update": {"comment": [{"add": {"body": {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": "hi"}]}]}}}]}}),
        },
        Target {
            method: Method::POST,
            path: format!("/rest/api/2/issue/{key}/comment"),
            desk: "region-m",
            seed: json!({"body": "x", "visibility": {"type": "role", "value": "Service Desk Team"}}),
        },
        Target {
            method: Method::POST,
            path: "/rest/api/2/search".into(),
            desk: "region-m",
            seed: json!({"jql": "project = DG AND status = Open ORDER BY created DESC", "startAt": 0, "maxResults": 5, "fields": ["summary"]}),
        },
        Target {
            method: Method::POST,
            path: "/webhooks/jira/region-m".into(),
            desk: "region-m",
            seed: json!({"webhookEvent": "jira:issue_updated", "issue_event_type_name": "issue_generic",
                         "issue": {"id": "1", "key": "RM-7", "fields": {"summary": "s", "status": {"name": "Done"},
                         "priority": {"name": "High"}, "assignee": {"name": "a"}}},
                         "comment": {"body": "c", "author": {"displayName": "d"}}}),
        },
        Target {
            method: Method::POST,
            path: "/webhooks/servicenow/region-h".into(),
            desk: "region-h",
            seed: json!({"sys_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "record": {"state": "2", "short_description": "s"},
                         "journal": {"element": "comments", "value": "v"}}),
        },
        Target { method: Method::POST, path: "/api/v1/incidents".into(), desk: "region-h", seed: submit_seed() },
        Target {
            method: Method::PATCH,
            path: format!("/api/v1/incidents/{native_id}"),
            desk: "sds",
            seed: json!({"status": "in_progress", "assignee": "fmk", "priority": "P2"}),
        },
        Target {
            method: Method::POST,
            path: format!("/api/v1/incidents/{native_id}/notes"),
            desk: "sds",
            seed: json!({"body": "n", "visibility": "internal"}),
        },
    ];
    for t in &targets {
        let token = gw.token(t.desk);
        runner()
            .run(&body_from(t.seed.clone()), |bytes| {
                let (status, text) = rt.block_on(async {
                    let r = gw
                        .client
                        .request(t.method.clone(), gw.url(&t.path))
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(bytes.clone())
                        .send()
                        .await
                        .unwrap();
                    (r.status(), r.text().await.unwrap())
                });
                prop_assert!(
                    status.as_u16() < 500,
                    "{} {} answered {status}: {text} for {:?}",
                    t.method,
                    t.path,
                    String::from_utf8_lossy(&bytes)
                );
                Ok(())
            })
            .unwrap();
    }
    // Query strings: the encoded query and JQL as the desks send them.
    // Long enough to reach the parsers' limits, short enough to be a URI.
    let queries = prop_oneof![query_text(), "[=^&()\"'a-zA-Z ]{0,60}"].prop_map(|mut q| {
        let mut cut = q.len().min(3000);
        while !q.is_char_boundary(cut) {
            cut -= 1;
        }
        q.truncate(cut);
        q
    });
    runner()
        .run(&queries, |q| {
            let statuses = rt.block_on(async {
                let sn = gw
                    .client
                    .get(gw.url("/api/now/table/incident"))
                    .query(&[("sysparm_query", q.as_str()), ("sysparm_limit", "5")])
                    .bearer_auth(gw.token("region-h"))
                    .send()
                    .await
                    .unwrap()
                    .status();
                let jira = gw
                    .client
                    .get(gw.url("/rest/api/2/search"))
                    .query(&[("jql", q.as_str())])
                    .bearer_auth(gw.token("region-m"))
                    .send()
                    .await
                    .unwrap()
                    .status();
                [sn, jira]
            });
            for s in statuses {
                prop_assert!(s.as_u16() < 500, "query {q:?} answered {s}");
            }
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------------
// (c) OSLC RDF/XML
// ---------------------------------------------------------------------------------

fn cq_seed() -> String {
    let mut r = CqRecord {
        about: Some("http://cq/cqweb/oslc/repo/r/db/SAMPL/record/16777224-33554433".into()),
        ..CqRecord::default()
    };
    r.set("cq:Headline", "Login <fails> & \"crashes\"")
        .set("cq:State", "Submitted")
        .set("dcterms:identifier", "SAMPL1");
    oslc::write_record(&r).unwrap()
}

fn xml_input() -> impl Strategy<Value = Vec<u8>> {
    let seed = cq_seed();
    let page = oslc::write_query_page("http://cq/q", &[], 0, None).unwrap_or_default();
    let fragments = prop::sample::select(vec![
        "<",
        ">",
        "</",
        "/>",
        "<?xml version=\"1.0\"?>",
        "<!DOCTYPE x [<!ENTITY a \"&a;&a;\">]>",
        "&a;",
        "&amp;",
        "&#0;",
        "&#xFFFFFF;",
        "<![CDATA[",
        "]]>",
        "<!--",
        "-->",
        "rdf:about=\"",
        "\"",
        "xmlns:cq=\"http://x\"",
        "<rdf:RDF>",
        "</rdf:RDF>",
        "<cq:Headline>",
        "</cq:Headline>",
        "<oslc:ResponseInfo>",
        "<rdfs:member rdf:resource=\"x\"/>",
    ]);
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        2 => (damage(), damage()).prop_map(move |(a, b)| hurt(hurt(seed.clone().into_bytes(), &a), &b)),
        1 => (damage(), damage()).prop_map(move |(a, b)| hurt(hurt(page.clone().into_bytes(), &a), &b)),
        2 => prop::collection::vec(fragments, 0..40).prop_map(|f| f.concat().into_bytes()),
    ]
}

fn deep_xml(depth: usize) -> Vec<u8> {
    let mut s = String::from("<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">");
    s.push_str(&"<a>".repeat(depth));
    s.push_str(&"</a>".repeat(depth));
    s.push_str("</rdf:RDF>");
    s.into_bytes()
}

#[test]
fn oslc_reader_never_panics() {
    runner()
        .run(&xml_input(), |bytes| {
            let _ = oslc::parse_record(&bytes, Limits::default());
            let _ = oslc::parse_query(&bytes, Limits::default());
            let _ = oslc::parse_error(&bytes);
            Ok(())
        })
        .unwrap();
    // Deep, wide and huge documents are refused, not followed.
    for input in [deep_xml(100_000), format!("<x>{}</x>", "<y/>".repeat(200_000)).into_bytes(), vec![b'<'; 5 << 20]] {
        assert!(oslc::parse_record(&input, Limits::default()).is_err());
        assert!(oslc::parse_query(&input, Limits::default()).is_err());
        let _ = oslc::parse_error(&input);
    }
}

// ---------------------------------------------------------------------------------
// (d) JQL, encoded query, OSLC where
// ---------------------------------------------------------------------------------

fn query_text() -> impl Strategy<Value = String> {
    let tokens = prop::sample::select(vec![
        "project",
        " = ",
        "DG",
        " AND ",
        " OR ",
        "NOT ",
        "(",
        ")",
        "\"",
        "'",
        "status",
        " in ",
        ",",
        "~",
        "!=",
        " ORDER BY ",
        " DESC",
        "created",
        ">=",
        "-5d",
        "startOfDay()",
        "currentUser()",
        "EMPTY",
        " IS ",
        "\\",
        "^",
        "^OR",
        "^NQ",
        "ORDERBY",
        "ORDERBYDESC",
        "LIKE",
        "IN",
        "ISEMPTY",
        "=",
        "state",
        "1,2",
        "oslc.where=",
        "cq:State",
        "{",
        "}",
        "@",
        "é",
        "\u{0}",
    ]);
    prop_oneof![
        ".{0,80}",
        prop::collection::vec(tokens, 0..40).prop_map(|t| t.concat()),
        (prop::sample::select(vec!["(", "NOT ", "((", "NOT (", "^OR", "{", "cq:a{"]), 1usize..20_000)
            .prop_map(|(t, n)| t.repeat(n)),
    ]
}

#[test]
fn query_parsers_never_panic() {
    use deskgate_clearquest::oslc_where::Where;
    use deskgate_jira::jql::Query;
    use deskgate_servicenow::query::EncodedQuery;
    runner()
        .run(&query_text(), |q| {
            if let Ok(parsed) = Query::parse(&q) {
                let _ = parsed.matches(|_| None);
                let _ = parsed.fields();
            }
            if let Ok(parsed) = EncodedQuery::parse(&q) {
                let _ = parsed.matches(|_| None);
            }
            if let Ok(parsed) = Where::parse(&q) {
                let _ = parsed.matches(|_| None);
            }
            Ok(())
        })
        .unwrap();
    // Deep nesting and huge input are refused without exhausting the stack.
    for n in [1_000, 100_000, 2_000_000] {
        for unit in ["(", "NOT ", "(NOT ", "a=1^OR", "{"] {
            let q = unit.repeat(n);
            assert!(Query::parse(&q).is_err(), "JQL {unit:?}×{n}");
            let _ = EncodedQuery::parse(&q);
            let _ = Where::parse(&q);
        }
    }
}

// ---------------------------------------------------------------------------------
// (e) desk authentication
// ---------------------------------------------------------------------------------

fn authenticator() -> &'static Authenticator {
    static AUTH: OnceLock<Authenticator> = OnceLock::new();
    AUTH.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let text = kit::config_text(&dir.path().join("store"), 1024 * 1024);
        let config = Config::from_toml(&text, std::path::Path::new("."), &kit::env()).unwrap();
        Authenticator::new(&config)
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A genuine token's parts, one of them replaced: never a valid token.
#[derive(Clone, Debug)]
enum Mangle {
    /// A header with this `alg` (and a marker field, so it never equals the genuine header).
    Alg(String),
    /// A header that is not base64url / not JSON.
    HeaderBytes(Vec<u8>),
    /// Claims of another desk or none, with the genuine signature.
    Payload(Value),
    /// The genuine signature with one character changed (not the last).
    Signature(usize, char),
    /// Empty or extra segments.
    Segments(usize),
}

fn mangle() -> impl Strategy<Value = Mangle> {
    let algs = prop::sample::select(vec![
        "none", "None", "NONE", "nOnE", "", "HS256 ", "HS384", "HS512", "RS256", "ES256", "PS256", "EdDSA", "hs256",
    ]);
    prop_oneof![
        prop_oneof![algs.prop_map(str::to_owned), ".{0,12}"].prop_map(Mangle::Alg),
        prop::collection::vec(any::<u8>(), 0..64).prop_map(Mangle::HeaderBytes),
        any_json().prop_map(Mangle::Payload),
        prop::sample::select(vec![
            json!({"iss": "idp.sds", "sub": "region-h", "aud": "deskgate", "exp": 9_999_999_999u64, "role": "desk"}),
            json!({"iss": "idp.regionh", "sub": "sds", "aud": "deskgate", "exp": 9_999_999_999u64}),
            json!({"iss": "idp.regionh", "sub": "region-h", "aud": "deskgate", "exp": 9_999_999_999u64, "role": "desk"}),
        ])
        .prop_map(Mangle::Payload),
        (any::<usize>(), prop::char::range('-', 'z')).prop_map(|(i, c)| Mangle::Signature(i, c)),
        (0usize..6).prop_map(Mangle::Segments),
    ]
}

fn mangled_token(genuine: &str, m: &Mangle) -> String {
    let parts: Vec<&str> = genuine.split('.').collect();
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);
    match m {
        Mangle::Alg(alg) => {
            let h = json!({"alg": alg, "typ": "JWT", "kid": "mangled"});
            format!("{}.{payload}.{signature}", b64(h.to_string().as_bytes()))
        }
        Mangle::HeaderBytes(b) => format!("{}.{payload}.{signature}", String::from_utf8_lossy(b)),
        Mangle::Payload(v) => format!("{header}.{}.{signature}", b64(v.to_string().as_bytes())),
        Mangle::Signature(i, c) => {
            let mut sig: Vec<char> = signature.chars().collect();
            let at = i % (sig.len() - 1);
            if sig[at] == *c {
                sig[at] = if *c == 'A' { 'B' } else { 'A' };
            } else {
                sig[at] = *c;
            }
            format!("{header}.{payload}.{}", sig.into_iter().collect::<String>())
        }
        Mangle::Segments(n) => {
            let mut s = format!("{header}.{payload}");
            for _ in 0..*n {
                s.push('.');
            }
            if *n == 1 {
                s.push('x'); // never the genuine signature
            }
            s
        }
    }
}

fn assert_refused(header: Option<&str>) -> Result<(), TestCaseError> {
    match authenticator().authenticate(header) {
        Err(AuthError::Missing | AuthError::Invalid(_)) => Ok(()),
        Err(AuthError::NotADesk { subject, .. }) => {
            Err(TestCaseError::fail(format!("NotADesk({subject}) for {header:?}")))
        }
        Ok(p) => Err(TestCaseError::fail(format!("{header:?} authenticated as {p:?}"))),
    }
}

#[test]
fn arbitrary_authorization_headers_are_refused() {
    let headers = prop_oneof![
        ".{0,200}",
        "(Bearer|bearer|BEARER|Basic|Bearer  |Bearer\t) [A-Za-z0-9_=.+/-]{0,300}",
        (0usize..3, 1usize..200_000).prop_map(|(k, n)| match k {
            0 => format!("Bearer {}", "A".repeat(n)),
            1 => format!("Bearer {}", ".".repeat(n)),
            _ => format!("Bearer {}.{}.{}", "e".repeat(n), "e".repeat(n), "e".repeat(n)),
        }),
    ];
    runner().run(&headers, |h| assert_refused(Some(&h))).unwrap();
    assert!(matches!(authenticator().authenticate(None), Err(AuthError::Missing)));
}

#[test]
fn mangled_desk_tokens_are_refused() {
    let genuine: Vec<String> = ["region-h", "pharmacy", "gp"].into_iter().map(kit::token).collect();
    // The genuine tokens are accepted: the mangling is what is refused.
    for t in &genuine {
        assert!(authenticator().authenticate(Some(&format!("Bearer {t}"))).is_ok());
    }
    let strategy = (0..genuine.len(), mangle());
    runner()
        .run(&strategy, |(which, m)| {
            let token = mangled_token(&genuine[which], &m);
            assert_refused(Some(&format!("Bearer {token}")))
        })
        .unwrap();
    // alg none, unsigned, with the genuine claims.
    for (which, t) in genuine.iter().enumerate() {
        let payload = t.split('.').nth(1).unwrap();
        for alg in ["none", "None", "NONE"] {
            let h = b64(json!({"alg": alg, "typ": "JWT"}).to_string().as_bytes());
            for tail in ["", "."] {
                let token = format!("{h}.{payload}{tail}");
                assert_refused(Some(&format!("Bearer {token}"))).unwrap_or_else(|e| panic!("{which}: {e}"));
            }
        }
    }
}
