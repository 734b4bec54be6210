//! The description at `/openapi.json` against what the gateway serves: every route
//! the routers declare is described and nothing else is (read from the sources, as
//! `layers.rs` reads them), and — run by `.ci/run`, ignored otherwise —
//! schemathesis (pinned, in a virtual environment) against a running gateway as
//! each kind of party, failing on any failure it finds.

use crate::kit;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use kit::*;
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// Every `.route(path, handlers)` in `src/` but the web pages: (method, path) with axum's `{*rest}`
/// written as OpenAPI's `{rest}`. Routes answered by `any(…)` are the dialects'
/// catch-alls (the system's own "not served" answer for every other path): not
/// operations, so not described.
fn routes_in_sources() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    let mut files = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
    let mut sources = Vec::new();
    // The web pages (`src/web/`) are HTML for people, not API operations; the
    // README describes them.
    let web = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src").join("web");
    while let Some(path) = files.pop() {
        if path == web {
            continue;
        }
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "rs") {
            sources.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
        }
    }
    for (path, text) in &sources {
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            let args = balanced(rest);
            let (first, handlers) = split_top_level(args);
            let paths = route_paths(first, text, &sources)
                .unwrap_or_else(|| panic!("{}: unreadable route {first}", path.display()));
            if handlers.trim_start().starts_with("any(") {
                continue;
            }
            let methods: Vec<&str> = METHODS.iter().copied().filter(|m| calls(handlers, m)).collect();
            assert!(!methods.is_empty(), "{}: no method in route {first}: {handlers}", path.display());
            for p in &paths {
                for m in &methods {
                    routes.insert((m.to_string(), p.replace("{*", "{")));
                }
            }
        }
    }
    routes
}

/// The text up to the parenthesis that closes the one just opened.
fn balanced(text: &str) -> &str {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' if depth == 0 => return &text[..i],
            ')' | ']' => depth -= 1,
            _ => {}
        }
    }
    text
}

fn split_top_level(args: &str) -> (&str, &str) {
    let mut depth = 0usize;
    for (i, c) in args.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => return (args[..i].trim(), &args[i + 1..]),
            _ => {}
        }
    }
    (args.trim(), "")
}

/// Whether `handlers` calls the method router `method(…)` (`get(…)`, `.post(…)`,
/// `axum::routing::put(…)`).
fn calls(handlers: &str, method: &str) -> bool {
    handlers
        .match_indices(&format!("{method}("))
        .any(|(i, _)| handlers[..i].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || c == '_')))
}

/// A route's path: a literal, or a ServiceNow API's `&format!("{prefix}…")` once per
/// entry of the prefix list its own file declares (`const …_PREFIXES`), else of the
/// Table API's `TABLE_PREFIXES`.
fn route_paths(first: &str, own: &str, sources: &[(PathBuf, String)]) -> Option<Vec<String>> {
    if let Some(literal) = first.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return Some(vec![literal.to_owned()]);
    }
    let template = first.strip_prefix("&format!(\"")?.strip_suffix("\")")?.strip_prefix("{prefix}")?;
    let own_list = own.find("_PREFIXES: &[&str] = &[").map(|at| (own, at));
    let prefixes = own_list
        .or_else(|| {
            sources.iter().find_map(|(_, text)| Some((text.as_str(), text.find("const TABLE_PREFIXES: &[&str] = &[")?)))
        })
        .and_then(|(text, at)| {
            let list = &text[at..];
            let list = &list[list.find("= &[")? + 4..list.find("];")?];
            Some(
                list.split(',')
                    .map(|p| p.trim().trim_matches('"').to_owned())
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>(),
            )
        })?;
    Some(prefixes.iter().map(|p| format!("{p}{}", template.replace("{{", "{").replace("}}", "}"))).collect())
}

fn described(spec: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for m in METHODS {
            if item.get(m).is_some() {
                ops.insert((m.to_owned(), path.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn every_route_served_is_described_and_nothing_else() {
    let gw = TestGateway::start().await;
    let spec: Value = gw.client.get(gw.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let served = routes_in_sources();
    assert!(served.len() > 50, "the walk found too few routes to be reading the routers: {served:?}");
    let described = described(&spec);
    let undescribed: Vec<_> = served.difference(&described).collect();
    let unserved: Vec<_> = described.difference(&served).collect();
    assert!(undescribed.is_empty(), "served but not in /openapi.json: {undescribed:?}");
    assert!(unserved.is_empty(), "in /openapi.json but not served: {unserved:?}");
    // The model's rules reach the served document (keywords its types cannot hold
    // would be dropped on the way).
    let schemas = &spec["components"]["schemas"];
    for field in ["title", "description", "service", "ticket_id", "display_id", "ticket_url"] {
        assert!(schemas["SubmitIncident"]["properties"][field]["pattern"].is_string(), "SubmitIncident.{field}");
    }
    assert_eq!(schemas["PatchIncident"]["anyOf"].as_array().map(Vec::len), Some(8), "{}", schemas["PatchIncident"]);
    assert!(schemas["ServiceNowError"].is_object() && schemas["JiraError"].is_object());
    // Every operation names the statuses it answers with its dialect's error body.
    for (method, path) in &described {
        let responses = spec["paths"][path][method]["responses"].as_object().unwrap();
        let secured = spec["paths"][path][method].get("security").is_some();
        for status in ["401", "429"].iter().filter(|_| secured) {
            assert!(responses.contains_key(*status), "{method} {path}: {status} not described");
        }
        for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('4')) {
            let schema = &response["content"]["application/json"]["schema"]["$ref"];
            assert!(schema.is_string(), "{method} {path}: {status} without an error body: {response}");
        }
    }
}

/// The virtual environment with the pinned schemathesis, built when missing or when
/// its requirements changed. Panics with the reason when Python or PyPI is unavailable.
fn schemathesis() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/schemathesis");
    let requirements = std::fs::read_to_string(dir.join("requirements.txt")).unwrap();
    let stamp = ("requirements.txt", requirements.as_str());
    kit::python::venv("deskgate-schemathesis", &dir.join("requirements.txt"), stamp, "schemathesis")
        .join("bin/schemathesis")
}

/// The parties schemathesis calls as, each on the routes of its own dialect.
const PARTIES: &[(&str, &str, &str)] = &[
    // (desk, what it is, the tags of the operations it calls)
    ("sds", "the national desk", "incidents|escalations|delivery|operations"),
    ("pharmacy", "a local desk on the native API", "incidents|escalations|delivery"),
    ("fmk", "a supplier on the native API", "incidents|delivery"),
    ("region-h", "a local desk on ServiceNow", "servicenow"),
    ("region-m", "a local desk on Jira", "jira"),
];

/// schemathesis, every check, against a gateway as each party; fails on any failure.
/// Needs python3 and PyPI; run by `.ci/run` (`-- --ignored`). Examples per operation:
/// `DESKGATE_SCHEMATHESIS_EXAMPLES` (default 30); one party only:
/// `DESKGATE_SCHEMATHESIS_AS=<desk>`; more arguments to schemathesis (e.g. to run
/// one operation): `DESKGATE_SCHEMATHESIS_ARGS`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs python3 and PyPI; .ci/run runs it"]
async fn schemathesis_finds_no_failure() {
    let bin = tokio::task::spawn_blocking(schemathesis).await.unwrap();
    let gw = TestGateway::start_edited(
        |c| {
            c.open_rate_limits();
            c.gateway("contacts", shipped_contacts().display().to_string());
            // Escalations are not what this run checks: nobody need be reachable.
            c.gateway("escalation", serde_json::json!({ "undeliverable": "warn" }));
        },
        reqwest::Client::new(),
    )
    .await;
    // Some incidents, so reads and writes by id meet real ones too.
    for n in 1..=3 {
        let r = gw.submit("pharmacy", &incident(&format!("ST-{n}"))).await;
        assert!(r.status().is_success(), "{}", r.status());
    }
    let examples = std::env::var("DESKGATE_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "30".into());
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/schemathesis/schemathesis.toml");
    // schemathesis keeps what it found under its working directory; each run starts afresh.
    let scratch = tempfile::tempdir().unwrap();
    let mut failed = Vec::new();
    let only = std::env::var("DESKGATE_SCHEMATHESIS_AS").ok();
    let extra = std::env::var("DESKGATE_SCHEMATHESIS_ARGS").unwrap_or_default();
    for (desk, who, tags) in PARTIES.iter().filter(|(d, ..)| only.as_deref().is_none_or(|o| o == *d)) {
        let out = tokio::process::Command::new(&bin)
            .arg("--config-file")
            .arg(&config)
            .args(["run", &gw.url("/openapi.json")])
            // Every check runs (schemathesis's default); the config file names the few
            // operations where one does not apply, and why.
            .args(["--max-examples", &examples, "--seed", "1", "--workers", "1"])
            .args(["--include-tag-regex", &format!("^({tags})$")])
            .args(["--header", &format!("Authorization: Bearer {}", gw.token(desk))])
            .args(extra.split_whitespace())
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .current_dir(scratch.path())
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!("== as {desk} ({who}):\n{stdout}");
        if !out.status.success() {
            failed.push(format!(
                "as {desk} ({who}): {}\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failed.is_empty(), "schemathesis failed:\n{}", failed.join("\n"));
}

/// JSON does not tell `2` from `2.0`, and Jira reads both as whole numbers; a
/// fraction or a negative number is still refused, naming the field.
#[tokio::test]
async fn jira_searches_read_a_whole_number_written_with_a_fraction() {
    let gw = TestGateway::start().await;
    for n in 1..=3 {
        assert!(gw.submit("region-m", &incident(&format!("WHOLE-{n}"))).await.status().is_success());
    }
    let post = |path: &'static str, body: Value| {
        let gw = &gw;
        async move { call(gw, reqwest::Method::POST, "region-m", path, &body).await }
    };
    let page = post("/rest/api/2/search", serde_json::json!({"jql": "", "startAt": 1.0, "maxResults": 1.0})).await;
    assert_eq!(page.status, reqwest::StatusCode::OK, "{}", page.body);
    assert_eq!((page.body["startAt"].as_u64(), page.body["maxResults"].as_u64()), (Some(1), Some(1)), "{}", page.body);
    let jql = post("/rest/api/3/search/jql", serde_json::json!({"jql": "project = DG", "maxResults": 2.0})).await;
    assert_eq!(jql.status, reqwest::StatusCode::OK, "{}", jql.body);
    assert_eq!(jql.body["issues"].as_array().map(Vec::len), Some(2), "{}", jql.body);
    for (path, body, field) in [
        ("/rest/api/2/search", serde_json::json!({"maxResults": 1.5}), "maxResults"),
        ("/rest/api/2/search", serde_json::json!({"startAt": -1.0}), "startAt"),
        ("/rest/api/3/search/jql", serde_json::json!({"jql": "project = DG", "maxResults": 2.5}), "maxResults"),
    ] {
        let refused = post(path, body).await;
        assert_eq!(refused.status, reqwest::StatusCode::BAD_REQUEST, "{}", refused.body);
        assert!(refused.body["errors"][field].as_str().is_some_and(|m| m.contains("whole number")), "{}", refused.body);
    }
}
