//! The published Jira Cloud API as the tests know it: `fixtures/jira-cloud-operations.json`
//! (see `contract.rs`), and the check of the requests a simulator saw against it.
#![allow(dead_code)]

use std::path::Path;

use deskgate_sim::jira::SeenRequest;
use serde_json::Value;

pub const FIXTURE: &str = "tests/fixtures/jira-cloud-operations.json";

pub fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `/rest/api/3/issue/DRIFT-1` against `/rest/api/3/issue/{issueIdOrKey}`. The v2
/// resources of Jira Cloud are the v3 ones under `/rest/api/2`.
fn matches_template(path: &str, template: &str) -> bool {
    let path = path.replacen("/rest/api/2/", "/rest/api/3/", 1);
    let (a, b): (Vec<&str>, Vec<&str>) = (path.split('/').collect(), template.split('/').collect());
    a.len() == b.len()
        && a.iter().zip(&b).all(|(seg, tpl)| if tpl.starts_with('{') { !seg.is_empty() } else { seg == tpl })
}

pub fn operations<'a>(fixture: &'a Value, list: &str) -> impl Iterator<Item = &'a Value> {
    fixture[list].as_array().into_iter().flatten()
}

/// Each request names an operation of the fixture and only its query parameters;
/// none is one Cloud removed. Returns the operations used.
pub fn check(seen: &[SeenRequest]) -> Vec<String> {
    let fixture = fixture();
    let mut used = Vec::new();
    for request in seen.iter().filter(|r| r.path.starts_with("/rest/")) {
        let what = format!("{} {}", request.method, request.path);
        for removed in operations(&fixture, "removed_on_cloud") {
            let gone = removed["method"] == request.method.as_str()
                && matches_template(&request.path, removed["path"].as_str().unwrap());
            assert!(!gone, "{what} is removed on Jira Cloud ({})", removed["source"]);
        }
        let op = operations(&fixture, "operations")
            .chain(operations(&fixture, "not_in_spec"))
            .find(|op| {
                op["method"] == request.method.as_str() && matches_template(&request.path, op["path"].as_str().unwrap())
            })
            .unwrap_or_else(|| panic!("{what} is not an operation of the published Jira Cloud API"));
        let allowed: Vec<&str> = op["query"].as_array().unwrap().iter().map(|q| q.as_str().unwrap()).collect();
        for name in &request.query_names {
            assert!(allowed.contains(&name.as_str()), "{what}: query parameter {name:?} is not one of {allowed:?}");
        }
        used.push(format!("{} {}", op["method"].as_str().unwrap(), op["path"].as_str().unwrap()));
    }
    used
}
