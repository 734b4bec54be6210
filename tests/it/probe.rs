//! `deskgate probe --desk ID [--write]`, the real binary against the simulators: it
//! passes against each simulator profile and fails, naming the problem and its fix,
//! against a misconfigured desk or product.

use std::time::Duration;

use crate::kit;
use crate::kit::federation::Federation;

/// `deskgate probe --config … --desk DESK ARGS`, with the federation's secrets and
/// `env` on top: (success, stdout).
async fn probe_with(f: &Federation, desk: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut c = kit::binary::async_command();
    c.args(["probe", "--config", f.config_file.to_str().unwrap(), "--desk", desk]).args(args);
    c.current_dir(f.dir.path());
    c.envs(f.env_vars());
    c.envs(env.iter().copied());
    let out = tokio::time::timeout(Duration::from_secs(120), c.output()).await.expect("the probe answers").unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty() || !out.status.success(), "{stderr}");
    (out.status.success(), format!("{stdout}{stderr}"))
}

async fn probe(f: &Federation, desk: &str, args: &[&str]) -> (bool, String) {
    probe_with(f, desk, args, &[]).await
}

/// The output of a probe that must pass.
async fn passes(f: &Federation, desk: &str, args: &[&str]) -> String {
    let (ok, out) = probe(f, desk, args).await;
    assert!(ok, "{out}");
    out
}

/// The output of a probe (with `env`) that must fail.
async fn fails_with(f: &Federation, desk: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let (ok, out) = probe_with(f, desk, args, env).await;
    assert!(!ok, "{out}");
    out
}

async fn fails(f: &Federation, desk: &str, args: &[&str]) -> String {
    fails_with(f, desk, args, &[]).await
}

/// The line of check `name`, which must exist.
fn line<'a>(out: &'a str, name: &str) -> &'a str {
    out.lines()
        .find(|l| l.get(6..).is_some_and(|rest| rest.trim_start().starts_with(&format!("{name} "))))
        .unwrap_or_else(|| panic!("no line for {name:?} in:\n{out}"))
}

fn assert_line(out: &str, outcome: &str, name: &str, says: &str) {
    let l = line(out, name);
    assert!(l.starts_with(outcome) && l.contains(says), "expected {outcome} {name} …{says}…, got:\n{out}");
}

/// Rewrite the configuration file the probe reads.
fn secrets_absent(f: &Federation, out: &str) {
    for (name, value) in f.env_vars() {
        if value.len() >= 8 {
            assert!(!out.contains(&value), "{name}'s value printed:\n{out}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_center_jira_desk_passes_and_write_walks_every_mapped_status() {
    let f = Federation::builder().jira_webhooks("hook-secret-probe-1").start().await;
    let out = passes(&f, "drift", &[]).await;
    assert_line(&out, "PASS", "endpoint", "Jira REST API");
    assert_line(&out, "PASS", "deployment", "Server");
    assert_line(&out, "PASS", "auth", "authenticated as");
    assert_line(&out, "PASS", "project", "DRIFT");
    assert_line(&out, "PASS", "issue-type", "Incident");
    assert_line(&out, "PASS", "field correlation_field", "customfield_10042");
    assert_line(&out, "PASS", "change-capture", "/webhooks/jira/drift");
    assert_line(&out, "PASS", "clock", "skew");
    assert_line(&out, "WARN", "rate-limit", "rate_limit.outbound_per_minute");
    // Read-only, an empty project shows no transitions: not proven, not failed.
    assert_line(&out, "WARN", "workflow", "--write");
    assert!(f.drift.issues().is_empty(), "read-only created nothing");

    let out = passes(&f, "drift", &["--write"]).await;
    assert_line(&out, "PASS", "workflow", "each of 8 mapped statuses reaches every other");
    assert_line(&out, "PASS", "write", "and cancelled");
    let issues = f.drift.issues();
    assert!(!issues.is_empty());
    assert!(issues.iter().all(|i| i.status == "Won't Do"), "{issues:?}");
    secrets_absent(&f, &out);

    // With issues in the project, read-only reads their transitions.
    let (_, out) = probe(&f, "drift", &[]).await;
    assert!(line(&out, "workflow").contains(&issues[0].key), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jira_cloud_desk_passes() {
    let f = Federation::builder().jira_cloud(Duration::ZERO, 30).jira_webhooks("hook-secret-probe-2").start().await;
    let out = passes(&f, "drift", &["--write"]).await;
    assert_line(&out, "PASS", "endpoint", "/rest/api/3");
    assert_line(&out, "PASS", "deployment", "Cloud");
    assert_line(&out, "PASS", "auth", "557058:deskgate-integration");
    assert_line(&out, "PASS", "field correlation_field", "customfield_10042");
    assert_line(&out, "PASS", "workflow", "reaches every other");
    assert_line(&out, "PASS", "change-capture", "signed webhooks");
    secrets_absent(&f, &out);

    // Read-only, the issues are found through Cloud's /search/jql.
    let (_, out) = probe(&f, "drift", &[]).await;
    assert!(line(&out, "workflow").contains("DRIFT-1 (Won't Do)"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jira_workflow_dead_end_fails_naming_the_status_and_what_it_cannot_reach() {
    let f = Federation::builder()
        .jira_webhooks("hook-secret-probe-3")
        .jira_sim(|c| c.removed_transitions = vec!["Reopen Issue".into()])
        .start()
        .await;
    let out = fails(&f, "drift", &["--write"]).await;
    let workflow = line(&out, "workflow");
    assert!(workflow.starts_with("FAIL") && workflow.contains("Closed cannot reach Open"), "{out}");
    assert!(workflow.contains("no transition out") && workflow.contains("Project settings → Workflows"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_project_a_missing_field_and_a_wrong_deployment_fail_with_their_keys() {
    let mut f = Federation::builder()
        .jira_webhooks("hook-secret-probe-4")
        .drift_jira("link_field", "customfield_10099")
        .drift_jira("deployment", "cloud")
        .start()
        .await;
    let out = fails(&f, "drift", &[]).await;
    assert_line(&out, "FAIL", "field link_field", "customfield_10099 is not on the create screen");
    assert_line(&out, "FAIL", "field link_field", "desks.drift.jira.link_field");
    assert_line(&out, "PASS", "field correlation_field", "customfield_10042");
    assert_line(&out, "FAIL", "deployment", "desks.drift.jira.deployment = \"datacenter\"");

    f.rewrite_config(|c| {
        c.desk_subkey("drift", "jira", "project", "NOPE");
    });
    let out = fails(&f, "drift", &[]).await;
    assert_line(&out, "FAIL", "project", "No project could be found with key 'NOPE'");
    assert_line(&out, "FAIL", "project", "desks.drift.jira.project");

    f.rewrite_config(|c| {
        c.desk_subkey("drift", "jira", "project", "DRIFT").desk_subkey("drift", "jira", "issue_type", "Story");
    });
    let out = fails(&f, "drift", &[]).await;
    assert_line(&out, "FAIL", "issue-type", "no issue type \"Story\" (it has: Incident, Task");
    assert_line(&out, "FAIL", "issue-type", "desks.drift.jira.issue_type");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_endpoint_path_refused_credentials_and_no_webhook_fail() {
    let mut f = Federation::builder().start().await;
    let out = fails(&f, "drift", &[]).await;
    assert_line(&out, "FAIL", "change-capture", "none of 0 webhooks posts to …/webhooks/jira/drift");

    let out = fails_with(&f, "drift", &[], &[("T_JIRA_TOKEN", "not-the-token-5f3a9c")]).await;
    assert_line(&out, "FAIL", "auth", "desks.drift.credentials");
    assert!(!out.contains("not-the-token-5f3a9c"), "{out}");

    let base = f.drift.base_url();
    f.rewrite_config(|c| {
        c.desk_key("drift", "endpoint", format!("{base}/jira"));
    });
    let out = fails(&f, "drift", &[]).await;
    assert_line(&out, "FAIL", "endpoint", "/jira/rest/api/2/serverInfo");
    assert_line(&out, "FAIL", "endpoint", "desks.drift.endpoint");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_servicenow_desk_passes_and_a_missing_field_or_wrong_path_fails() {
    let mut f = Federation::builder().start().await;
    let out = passes(&f, "region-h", &[]).await;
    assert_line(&out, "PASS", "auth", "accepted");
    assert_line(&out, "PASS", "table", "incident is readable");
    assert_line(&out, "WARN", "workflow", "--write");
    assert_line(&out, "WARN", "change-capture", "sys_script");

    let out = passes(&f, "region-h", &["--write"]).await;
    assert_line(&out, "PASS", "field correlation_field", "incident.correlation_id exists");
    assert_line(&out, "PASS", "field link_field", "incident.u_deskgate_links exists");
    assert_line(&out, "PASS", "workflow", "1 (new) → 2 (assigned)");
    assert_line(&out, "PASS", "write", "cancelled");
    assert!(f.region_h.records().iter().all(|r| r.get("state").map(String::as_str) == Some("8")));
    secrets_absent(&f, &out);

    // The table now has a record: its fields are read without writing.
    f.rewrite_config(|c| {
        c.desk_subkey("region-h", "servicenow", "link_field", "u_links");
    });
    let out = fails(&f, "region-h", &[]).await;
    assert_line(&out, "FAIL", "field link_field", "incident has no field u_links");
    assert_line(&out, "FAIL", "field link_field", "desks.region-h.servicenow.link_field");

    let base = f.region_h.base_url();
    f.rewrite_config(|c| {
        c.desk_key("region-h", "endpoint", format!("{base}/now"));
    });
    let out = fails(&f, "region-h", &[]).await;
    assert_line(&out, "FAIL", "endpoint", "no ServiceNow Table API");

    f.rewrite_config(|c| {
        c.without_desk_subkey("region-h", "servicenow", "link_field")
            .desk_subkey("region-h", "servicenow", "table", "problem")
            .desk_key("region-h", "endpoint", &base);
    });
    let out = fails(&f, "region-h", &[]).await;
    assert_line(&out, "FAIL", "table", "Invalid table problem");
    assert_line(&out, "FAIL", "table", "desks.region-h.servicenow.table");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clearquest_desk_passes_and_a_wrong_database_fails() {
    let mut f = Federation::builder().start().await;
    let out = passes(&f, "sds", &[]).await;
    assert_line(&out, "PASS", "auth", "accepted");
    assert_line(&out, "PASS", "discovery", "/cqweb/oslc/repo/7.0.0/db/SDS");
    assert_line(&out, "PASS", "record-type", "simpleQuery/16777224");
    assert_line(&out, "PASS", "modified_field", "cq:history{cq:action_timestamp}");
    assert_line(&out, "PASS", "clock", "skew");

    let out = fails_with(&f, "sds", &[], &[("T_CQ_PASSWORD", "not-the-password-77ab")]).await;
    assert_line(&out, "FAIL", "auth", "desks.sds.credentials");
    assert!(!out.contains("not-the-password-77ab"), "{out}");

    f.rewrite_config(|c| {
        c.desk_subkey("sds", "clearquest", "db", "NOPE");
    });
    let out = fails(&f, "sds", &[]).await;
    assert_line(&out, "FAIL", "discovery", "desks.sds.clearquest.db");

    // A change-capture field the record type does not have is named with its key.
    f.rewrite_config(|c| {
        c.desk_subkey("sds", "clearquest", "db", "SDS").desk_subkey(
            "sds",
            "clearquest",
            "modified_field",
            "cq:Last_Modified",
        );
    });
    let out = fails(&f, "sds", &[]).await;
    assert_line(&out, "FAIL", "modified_field", "desks.sds.clearquest.modified_field");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_desk_or_one_deskgate_does_not_call_is_refused_naming_it() {
    let f = Federation::builder().region_h_native().start().await;
    let mut c = kit::binary::async_command();
    c.args(["probe", "--config", f.config_file.to_str().unwrap(), "--desk", "nowhere"]).envs(f.env_vars());
    let out = c.output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no desk \"nowhere\"") && stderr.contains("drift"), "{stderr}");

    let (ok, out) = probe(&f, "region-h", &[]).await;
    assert!(!ok);
    assert!(out.contains("desks.region-h.endpoint: the desk has no endpoint"), "{out}");
}
