use super::*;

use super::testing::{GATEWAY, NATIONAL_ON_CLEARQUEST, env, region_h};

/// The national desk on ClearQuest and Region H on ServiceNow.
fn minimal() -> String {
    format!("{GATEWAY}{NATIONAL_ON_CLEARQUEST}{}", region_h("servicenow"))
}

#[test]
fn loads_a_minimal_federation() {
    let c = Config::from_toml(&minimal(), Path::new("."), &env()).unwrap();
    assert_eq!(c.desks.len(), 2);
    assert_eq!(c.national_desk().unwrap().id.as_str(), "sds");
    assert_eq!(c.local_desk_for_organisation("Rigshospitalet").unwrap().id.as_str(), "region-h");
    assert_eq!(c.gateway.max_body_bytes, 1024 * 1024);
    assert_eq!(c.gateway.data_dir, PathBuf::from("./data"));
}

#[test]
fn the_store_defaults_to_sled_in_data_dir_and_a_bad_kind_is_named_by_its_path() {
    let c = Config::from_toml(&minimal(), Path::new("."), &env()).unwrap();
    assert_eq!(c.gateway.store, StoreConfig::sled(PathBuf::from("./data")));
    let with = |store: &str| minimal().replacen("[gateway]\n", &format!("[gateway]\n{store}\n"), 1);
    let text = with("store = { kind = \"sled\", path = \"/var/lib/deskgate/store\" }");
    let c = Config::from_toml(&text, Path::new("."), &env()).unwrap();
    assert_eq!(c.gateway.store, StoreConfig::sled(PathBuf::from("/var/lib/deskgate/store")));
    let text = with("store = { kind = \"mysql\" }");
    let problems = Config::from_toml(&text, Path::new("."), &env()).unwrap_err();
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(text.iter().any(|p| p.contains("gateway.store.kind") && p.contains("postgres")), "{text:?}");
}

#[test]
fn reports_every_problem_with_its_path() {
    let text = minimal()
        .replace("listen = \"127.0.0.1:0\"", "listen = \"nowhere\"\ncolour = \"blue\"")
        .replace("system = \"servicenow\"", "system = \"remedy\"");
    let problems = Config::from_toml(&text, Path::new("."), &MapEnv::new(false)).unwrap_err();
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let joined = text.join("\n");
    assert!(joined.contains("gateway.colour") || joined.contains("gateway: unknown field `colour`"), "{joined}");
    assert!(joined.contains("desks.region-h.system"), "{joined}");
    assert!(joined.contains("remedy"), "{joined}");
    assert!(joined.contains("desks.sds.auth.secret: environment variable T_SDS is not set"), "{joined}");
}

#[test]
fn a_clearquest_endpoint_that_ends_in_cqweb_is_refused_with_the_base_url_to_use() {
    for endpoint in ["https://cq.sds.example/cqweb", "https://cq.sds.example/cqweb/", "http://10.0.0.1:8080/x/cqweb"] {
        let text = minimal().replace("endpoint = \"http://127.0.0.1:9\"", &format!("endpoint = \"{endpoint}\""));
        let problems = Config::from_toml(&text, Path::new("."), &env()).unwrap_err();
        let p = problems.iter().find(|p| p.path == "desks.sds.endpoint").expect("the endpoint is named");
        let base = endpoint.trim_end_matches('/').trim_end_matches("/cqweb");
        assert!(p.message.contains("without /cqweb") && p.message.ends_with(base), "{p}");
    }
    // A path prefix in front of /cqweb is fine: that is where the server lives.
    let text = minimal().replace("endpoint = \"http://127.0.0.1:9\"", "endpoint = \"https://cq.example/tools\"");
    Config::from_toml(&text, Path::new("."), &env()).unwrap();
}

#[test]
fn clearquest_field_options_and_schema_files_are_checked_with_their_key_paths() {
    let with = |options: &str| {
        minimal().replace(
            "clearquest = { repo = \"7.0.0\", db = \"SDS\" }",
            &format!("clearquest = {{ repo = \"7.0.0\", db = \"SDS\", {options} }}"),
        )
    };
    for (options, key) in [
        ("modified_field = \"x:when\"", "desks.sds.clearquest.modified_field"),
        ("priority_field = \"1-Severity\"", "desks.sds.clearquest.priority_field"),
        ("note_entry_field = \"cq:Note Entry\"", "desks.sds.clearquest.note_entry_field"),
        ("max_note_chars = 10", "desks.sds.clearquest.max_note_chars"),
        ("poll_min_ms = 10", "desks.sds.clearquest.poll_min_ms"),
        ("poll_ms = 20", "desks.sds.clearquest.poll_ms"),
        ("poll_min_ms = 60000", "desks.sds.clearquest.poll_min_ms"),
        ("poll_ms = 5000, poll_min_ms = 6000", "desks.sds.clearquest.poll_min_ms"),
        ("support_request_parent_field = \"Parent Incident\"", "desks.sds.clearquest.support_request_parent_field"),
        ("schema = \"/nonexistent/cq-schema.toml\"", "desks.sds.clearquest.schema"),
    ] {
        let problems = Config::from_toml(&with(options), Path::new("."), &env()).unwrap_err();
        assert!(problems.iter().any(|p| p.path == key), "{options}: {problems:?}");
    }
    let dir = std::env::temp_dir().join(format!("deskgate-cq-schema-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[schema]\ninitial_state = \"New\"\nmodify_action = \"Modify\"\nactions = []\n").unwrap();
    let problems =
        Config::from_toml(&with(&format!("schema = {:?}", bad.display().to_string())), Path::new("."), &env())
            .unwrap_err();
    let p = problems.iter().find(|p| p.path == "desks.sds.clearquest.schema").unwrap();
    assert!(p.message.contains("schema.actions"), "{p}");
    let good = dir.join("good.toml");
    std::fs::write(&good, include_str!("../../mappings/clearquest.toml")).unwrap();
    for modified in ["cq:Last_Modified", "cq:history{cq:action_timestamp}", "dcterms:modified"] {
        let options = format!(
            "schema = {:?}, priority_field = \"Severity\", modified_field = \"{modified}\"",
            good.display().to_string()
        );
        Config::from_toml(&with(&options), Path::new("."), &env()).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn env_overrides_replace_values_and_secret_variables_are_not_overrides() {
    let env = env()
        .with("DESKGATE_GATEWAY__LISTEN", "127.0.0.1:9999")
        .with("DESKGATE_DESKS__REGION_H__NAME", "Region Hovedstaden")
        .with("DESKGATE_SECRET_SOMETHING", "x");
    let c = Config::from_toml(&minimal(), Path::new("."), &env).unwrap();
    assert_eq!(c.gateway.listen.port(), 9999);
    assert_eq!(c.desk(&"region-h".parse().unwrap()).unwrap().name, "Region Hovedstaden");
}

#[test]
fn secrets_are_never_inline_and_never_printed() {
    let text = minimal().replace("secret = { env = \"T_SDS\" }", "secret = \"hunter2\"");
    let problems = Config::from_toml(&text, Path::new("."), &env()).unwrap_err();
    assert!(problems.iter().any(|p| p.path.starts_with("desks.sds.auth")), "{problems:?}");
    let c = Config::from_toml(&minimal(), Path::new("."), &env()).unwrap();
    let debug = format!("{c:?}");
    assert!(!debug.contains("sds-secret") && !debug.contains("rh-secret"), "{debug}");
}

#[test]
fn an_rs256_desk_needs_a_public_key_not_a_secret() {
    let text = minimal().replace(
        "algorithm = \"HS256\", secret = { env = \"T_SDS\" }",
        "algorithm = \"RS256\", secret = { env = \"T_SDS\" }",
    );
    let problems = Config::from_toml(&text, Path::new("."), &env()).unwrap_err();
    assert!(problems.iter().any(|p| p.path == "desks.sds.auth.public_key"), "{problems:?}");
}

/// Each dialect checks its own options; the key paths and messages are part of
/// check-config's output.
#[test]
fn dialect_options_are_checked_with_their_key_paths() {
    let has = |problems: &[Problem], path: &str, message: &str| {
        assert!(
            problems.iter().any(|p| p.path == path && p.message == message),
            "missing {path}: {message} in {problems:#?}"
        );
    };
    let text = minimal().replace("clearquest = { repo = \"7.0.0\", db = \"SDS\" }\n", "").replace(
        "organisations = [\"rigshospitalet\"]",
        "organisations = [\"rigshospitalet\"]\njira = { project = \"RH\", api_version = 4, link_field = \"cf_1\" }",
    ) + "\n[desks.drift]\nname = \"Drift\"\nrole = \"supplier\"\nsystem = \"jira\"\nservices = [\"*\"]\nendpoint = \"http://127.0.0.1:9\"\n";
    let problems = Config::from_toml(&text, Path::new("."), &env()).unwrap_err();
    has(&problems, "desks.region-h.jira", "options for jira, but this desk's system is servicenow");
    has(&problems, "desks.region-h.jira.api_version", "expected 2 or 3");
    has(&problems, "desks.region-h.jira.link_field", "expected a custom field id like customfield_10043, got \"cf_1\"");
    has(
        &problems,
        "desks.sds.clearquest",
        "a ClearQuest desk deskgate calls needs clearquest = { repo = \"…\", db = \"…\" }",
    );
    has(&problems, "desks.drift.jira", "a Jira desk deskgate calls needs jira = { project = \"KEY\" }");
    assert!(problems.iter().any(|p| p.path == "desks.drift.jira.webhook_secret"), "{problems:#?}");
    assert!(!problems.iter().any(|p| p.path.starts_with("desks.region-h.servicenow")), "{problems:#?}");
}

#[test]
fn absolute_urls_follow_one_rule_public_url_then_the_request_host_then_listen() {
    let c = Config::from_toml(&minimal(), Path::new("."), &env()).unwrap();
    assert_eq!(c.gateway.public_base(Some("gw.example:8443")), "http://gw.example:8443");
    assert_eq!(c.gateway.public_base(Some("")), "http://127.0.0.1:0");
    assert_eq!(c.gateway.public_base(None), "http://127.0.0.1:0");
    let text = minimal().replacen("[gateway]\n", "[gateway]\npublic_url = \"https://deskgate.example/\"\n", 1);
    let c = Config::from_toml(&text, Path::new("."), &env()).unwrap();
    assert_eq!(c.gateway.public_base(Some("attacker.example")), "https://deskgate.example");
    assert_eq!(c.gateway.public_base(None), "https://deskgate.example");
}

#[test]
fn sms_and_stakeholders_from_a_secret_are_resolved_and_bad_values_named_by_their_paths() {
    let with = |extra: &str| minimal().replacen("[desks.sds]", &format!("{extra}\n    [desks.sds]"), 1);
    let good = with(
        r#"[gateway.smtp]
    host = "127.0.0.1"
    from = "deskgate@sds.example"
    [gateway.sms]
    url = "https://sms.example/messages"
    token = { env = "T_SMS" }
    [gateway.escalation]
    stakeholders = ["a@sds.example"]
    stakeholders_from = { env = "T_STAKE" }
    undeliverable = "warn"
"#,
    );
    let vars = env().with("T_SMS", "sms-token").with("T_STAKE", "b@sds.example, c@sds.example");
    let c = Config::from_toml(&good, Path::new("."), &vars).unwrap_or_else(|p| panic!("{p:?}"));
    let sms = c.gateway.sms.as_ref().unwrap();
    assert_eq!(
        (sms.url.as_str(), sms.token.as_ref().map(Secret::expose)),
        ("https://sms.example/messages", Some("sms-token"))
    );
    assert_eq!(sms.body, DEFAULT_SMS_BODY);
    assert_eq!(c.gateway.escalation.stakeholders, ["a@sds.example", "b@sds.example", "c@sds.example"]);
    assert_eq!(c.gateway.escalation.undeliverable, "warn");

    let bad = with(
        r#"[gateway.sms]
    url = "sms.example"
    timeout_secs = 0
    [gateway.escalation]
    stakeholders_from = { env = "T_STAKE" }
    undeliverable = "sometimes"
"#,
    );
    let vars = env().with("T_STAKE", "Jens Jensen");
    let problems = Config::from_toml(&bad, Path::new("."), &vars).unwrap_err();
    let problems = problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    for path in [
        "gateway.sms.url",
        "gateway.sms.timeout_secs",
        "gateway.escalation.stakeholders_from",
        "gateway.escalation.undeliverable",
    ] {
        assert!(problems.contains(path), "{path}: {problems}");
    }
    assert!(!problems.contains("Jens"), "the list names people and is never echoed: {problems}");
}

#[test]
fn a_desk_s_attachment_limit_defaults_to_10_mb_and_a_bad_one_is_named_by_its_path() {
    let c = Config::from_toml(&minimal(), Path::new("."), &env()).unwrap();
    let region_h: DeskId = "region-h".parse().unwrap();
    assert_eq!(c.desk(&region_h).unwrap().attachment_max_bytes, 10 * 1024 * 1024);
    let with =
        |v: &str| minimal().replace("organisations = [", &format!("attachment_max_bytes = {v}\n    organisations = ["));
    let c = Config::from_toml(&with("2048"), Path::new("."), &env()).unwrap();
    assert_eq!(c.desk(&region_h).unwrap().attachment_max_bytes, 2048);
    for bad in ["0", "104857601"] {
        let problems = Config::from_toml(&with(bad), Path::new("."), &env()).unwrap_err();
        let p = problems.iter().find(|p| p.path == "desks.region-h.attachment_max_bytes").expect("named by its path");
        assert!(p.message.contains("1 to 104857600 bytes"), "{p}");
    }
}
