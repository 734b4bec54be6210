//! "Who is contacted for service S, priority P at instant T" (DESIGN §6), by API
//! and by `deskgate who`, from the shipped ruleset loaded at start.

use crate::kit;

use std::process::Command;

use deskgate::startup::Application;
use kit::*;
use reqwest::StatusCode;
use serde_json::Value;

/// Sunday 29 November 2026, 02:00 in Copenhagen (CET).
const SUNDAY_NIGHT: &str = "2026-11-29T02:00:00+01:00";
/// Tuesday 1 December 2026, 10:00 in Copenhagen.
const TUESDAY_MORNING: &str = "2026-12-01T10:00:00+01:00";

async fn gateway() -> TestGateway {
    TestGateway::start_edited(
        |c| {
            c.gateway("contacts", shipped_contacts().display().to_string());
            deliverable(c);
        },
        reqwest::Client::new(),
    )
    .await
}

/// A mail server and an SMS gateway, so every contact of the shipped ruleset is reachable.
fn deliverable(c: &mut GatewayConfig) -> &mut GatewayConfig {
    c.gateway(
        "smtp",
        serde_json::json!({ "host": "127.0.0.1", "port": 9, "from": "deskgate@sds.example", "tls": "none" }),
    )
    .gateway("sms", serde_json::json!({ "url": "http://127.0.0.1:9/messages" }))
}

async fn ask(gw: &TestGateway, query: &[(&str, &str)]) -> (StatusCode, Value) {
    let res = gw
        .client
        .get(gw.url("/api/v1/escalations/contact"))
        .query(query)
        .bearer_auth(gw.token("region-h"))
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap())
}

#[tokio::test]
async fn the_endpoint_names_who_is_called_by_which_rule_and_why() {
    let gw = gateway().await;
    // (service, at, contact name, rule)
    let table = [
        ("NSP", SUNDAY_NIGHT, "NSP System Owner", "nsp-weekend"),
        ("SOSI", SUNDAY_NIGHT, "NSP System Owner", "nsp-weekend"),
        ("FMK", SUNDAY_NIGHT, "FMK Incident Manager", "fmk-always"),
        ("NSP", TUESDAY_MORNING, "NSP Incident Manager", "nsp-working-hours"),
        ("FMK", TUESDAY_MORNING, "FMK Incident Manager", "fmk-always"),
    ];
    for (service, at, name, rule) in table {
        let (status, body) = ask(&gw, &[("service", service), ("priority", "P1"), ("at", at)]).await;
        assert_eq!(status, StatusCode::OK, "{service} at {at}: {body}");
        assert_eq!(body["contact"]["name"], name, "{service} at {at}: {body}");
        assert_eq!(body["rule"], rule, "{service} at {at}: {body}");
    }

    let (_, body) = ask(&gw, &[("service", "NSP"), ("priority", "P1"), ("at", SUNDAY_NIGHT)]).await;
    assert_eq!(body["contact"]["phone"], "+45 00000002");
    assert_eq!(body["contact"]["email"], "nsp-system-owner@nsp.example");
    assert_eq!(body["at"], "2026-11-29T01:00:00Z");
    assert!(body["local_time"].as_str().unwrap().starts_with("2026-11-29T02:00:00+01:00"), "{body}");
    assert_eq!(body["zone"], "Europe/Copenhagen");
    assert_eq!(body["ack_timeout_secs"], 1800);
    assert!(body["ruleset_version"].as_str().is_some_and(|v| !v.is_empty()), "{body}");
    assert!(body["reason"].as_str().unwrap().contains("Sun 2026-11-29 02:00:00 CET"), "{body}");
    let chain: Vec<&str> = body["chain"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(chain, ["nsp-incident-manager", "national-service-desk"]);
}

#[tokio::test]
async fn at_defaults_to_now_and_an_unencoded_plus_is_read_as_meant() {
    let gw = gateway().await;
    let (status, body) = ask(&gw, &[("service", "FMK"), ("priority", "P2")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["contact"]["name"], "FMK Incident Manager");

    // A '+' typed straight into a URL arrives as a space.
    let url = gw.url(&format!("/api/v1/escalations/contact?service=NSP&priority=P1&at={SUNDAY_NIGHT}"));
    let res = gw.client.get(url).bearer_auth(gw.token("sds")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["contact"]["name"], "NSP System Owner");
}

#[tokio::test]
async fn bad_parameters_are_400s_naming_the_parameter() {
    let gw = gateway().await;
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("service", "NSP"), ("priority", "P9")], "priority"),
        (&[("service", "NSP"), ("priority", "P1"), ("at", "yesterday")], "at"),
        (&[("service", "NSP"), ("priority", "P1"), ("at", "2026-11-29T02:00:00")], "at"),
        (&[("priority", "P1")], "service"),
        (&[("service", "NSP")], "priority"),
        (&[("service", "NSP"), ("priority", "P1"), ("colour", "red")], "colour"),
    ];
    for (query, field) in cases {
        let (status, body) = ask(&gw, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query:?}: {body}");
        assert_eq!(body["error"]["field"], field, "{query:?}: {body}");
    }
}

#[tokio::test]
async fn only_registered_desks_may_ask_and_a_gateway_without_contacts_says_so() {
    let gw = gateway().await;
    let anonymous = gw.client.get(gw.url("/api/v1/escalations/contact?service=NSP&priority=P1")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let bare = TestGateway::start().await;
    let res = bare.get("sds", "/api/v1/escalations/contact?service=NSP&priority=P1").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.json::<Value>().await.unwrap()["error"]["code"], "escalation_not_configured");
}

#[tokio::test]
async fn the_endpoint_is_in_the_openapi_document() {
    let gw = gateway().await;
    let doc: Value = gw.client.get(gw.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let path = &doc["paths"]["/api/v1/escalations/contact"]["get"];
    assert!(path.is_object(), "{}", doc["paths"]);
    let params: Vec<&str> =
        path["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(params, ["service", "priority", "at"]);
}

#[tokio::test]
async fn a_ruleset_with_gaps_refuses_start_up_with_the_loaders_message() {
    let dir = tempfile::tempdir().unwrap();
    let gappy = kit::edited_contacts(dir.path(), "contacts.toml", |ruleset| {
        let from = |r: &toml::Value| r.get("windows")?.get(0)?.get("from")?.as_str().map(str::to_owned);
        let weekend = kit::rules(ruleset).find(|r| from(r).as_deref() == Some("fri 18:00"));
        weekend.expect("the shipped weekend rule")["windows"][0]["from"] = "sat 00:00".into();
    });
    let mut config = GatewayConfig::standard(&dir.path().join("store"), 1024 * 1024);
    config.gateway("contacts", gappy.display().to_string());
    let config = config.load(&env()).unwrap();
    let err = match Application::build(config).await {
        Ok(_) => panic!("a ruleset with gaps must refuse start-up"),
        Err(e) => e.to_string(),
    };
    assert!(err.starts_with("gateway.contacts: "), "{err}");
    assert!(err.contains(&gappy.display().to_string()), "{err}");
    assert!(err.contains("gap"), "{err}");
    assert!(err.contains("Fri"), "an example local time on the Friday evening: {err}");
}

fn deskgate() -> Command {
    kit::binary::command()
}

fn who(args: &[&str]) -> (bool, String, String) {
    let out = deskgate().arg("who").args(args).output().unwrap();
    (out.status.success(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn who_gives_the_same_answers_for_a_person() {
    let contacts = ["--contacts", "deploy/contacts.toml"];
    let (ok, out, err) =
        who(&[&["--service", "NSP", "--priority", "P1", "--at", SUNDAY_NIGHT][..], &contacts].concat());
    assert!(ok, "{err}");
    assert!(out.contains("contact: NSP System Owner"), "{out}");
    assert!(out.contains("+45 00000002") && out.contains("nsp-system-owner@nsp.example"), "{out}");
    assert!(out.contains("rule:    nsp-weekend"), "{out}");
    assert!(out.contains("Sun 2026-11-29 02:00:00 CET"), "{out}");
    assert!(out.contains("why:"), "{out}");

    let (ok, out, err) =
        who(&[&["--service", "FMK", "--priority", "P1", "--at", SUNDAY_NIGHT][..], &contacts].concat());
    assert!(ok, "{err}");
    assert!(out.contains("contact: FMK Incident Manager"), "{out}");

    let (ok, out, err) =
        who(&[&["--service", "NSP", "--priority", "P1", "--at", TUESDAY_MORNING][..], &contacts].concat());
    assert!(ok, "{err}");
    assert!(out.contains("contact: NSP Incident Manager"), "{out}");
    assert!(out.contains("rule:    nsp-working-hours"), "{out}");
}

#[test]
fn who_finds_the_ruleset_through_the_configuration_without_its_secrets() {
    let (ok, out, err) = who(&["--service", "NSP", "--priority", "P1", "--at", SUNDAY_NIGHT]);
    assert!(ok, "{err}");
    assert!(out.contains("contact: NSP System Owner"), "{out}");
}

#[test]
fn who_refuses_bad_arguments_naming_them() {
    let (ok, _, err) = who(&["--service", "NSP", "--priority", "P9", "--contacts", "deploy/contacts.toml"]);
    assert!(!ok);
    assert!(err.contains("--priority"), "{err}");
    let (ok, _, err) =
        who(&["--service", "NSP", "--priority", "P1", "--at", "29/11/2026", "--contacts", "deploy/contacts.toml"]);
    assert!(!ok);
    assert!(err.contains("--at"), "{err}");
}

#[test]
fn check_config_loads_the_contacts_the_configuration_names() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(shipped_contacts()).unwrap();
    std::fs::write(dir.path().join("contacts.toml"), &shipped).unwrap();
    kit::edited_contacts(dir.path(), "broken.toml", |ruleset| {
        for rule in kit::rules(ruleset).filter(|r| r["contact"].as_str() == Some("nsp-system-owner")) {
            rule["contact"] = "nobody".into();
        }
    });
    let config = |contacts: &str| {
        let path = dir.path().join(format!("gateway-{contacts}"));
        let mut c = GatewayConfig::new(&dir.path().join("store"));
        c.gateway("contacts", contacts).desk("sds", Desk::known("sds", "National Service Desk", "national", "native"));
        deliverable(&mut c);
        std::fs::write(&path, c.render()).unwrap();
        deskgate().args(["check-config", path.to_str().unwrap()]).envs(kit::tokens::env().vars).output().unwrap()
    };
    let good = config("contacts.toml");
    assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stderr));
    assert!(String::from_utf8_lossy(&good.stdout).contains("contacts"), "{}", String::from_utf8_lossy(&good.stdout));

    let broken = config("broken.toml");
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(!broken.status.success(), "{stderr}");
    assert!(stderr.contains("gateway.contacts") && stderr.contains("broken.toml"), "{stderr}");
    assert!(stderr.contains("nobody"), "{stderr}");
}

#[test]
fn step_3_check_config_refuses_a_contact_nobody_can_reach_and_warns_when_told_to() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("contacts.toml"), std::fs::read_to_string(shipped_contacts()).unwrap()).unwrap();
    let check = |edit: &dyn Fn(&mut GatewayConfig)| {
        let path = dir.path().join("gateway.toml");
        let mut c = GatewayConfig::new(&dir.path().join("store"));
        c.gateway("contacts", "contacts.toml")
            .desk("sds", Desk::known("sds", "National Service Desk", "national", "native"));
        edit(&mut c);
        std::fs::write(&path, c.render()).unwrap();
        deskgate().args(["check-config", path.to_str().unwrap()]).envs(kit::tokens::env().vars).output().unwrap()
    };
    // Mail only: the contacts with an e-mail are reached; so all of the shipped ones are.
    let mail_only = check(&|c| {
        c.gateway("smtp", serde_json::json!({ "host": "127.0.0.1", "from": "deskgate@sds.example", "tls": "none" }));
    });
    assert!(mail_only.status.success(), "{}", String::from_utf8_lossy(&mail_only.stderr));

    // Neither mail nor SMS: the NSP System Owner (e-mail and sms) is reached by no one.
    let neither = check(&|_| {});
    let stderr = String::from_utf8_lossy(&neither.stderr);
    assert!(!neither.status.success(), "{stderr}");
    assert!(stderr.contains("gateway.contacts") && stderr.contains("nsp-system-owner"), "{stderr}");
    assert!(stderr.contains("[gateway.smtp]") && stderr.contains("[gateway.sms]"), "{stderr}");
    assert!(!stderr.contains("national-service-desk"), "its webhook reaches it: {stderr}");

    // The operator's opt-out: it starts, and says so.
    let warned = check(&|c| {
        c.gateway("escalation", serde_json::json!({ "undeliverable": "warn" }));
    });
    let stderr = String::from_utf8_lossy(&warned.stderr);
    assert!(warned.status.success(), "{stderr}");
    assert!(stderr.contains("warning") && stderr.contains("nsp-system-owner"), "{stderr}");

    let bad = check(&|c| {
        c.gateway("escalation", serde_json::json!({ "undeliverable": "maybe" }));
    });
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && stderr.contains("gateway.escalation.undeliverable"), "{stderr}");
}
