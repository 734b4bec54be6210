//! Inbound rate limits per desk against a real gateway: a burst beyond the limit is
//! a 429 with `Retry-After` and the JSON error; other desks keep their allowance.

use crate::kit;

use kit::*;
use reqwest::StatusCode;
use serde_json::Value;

/// One request a minute after a burst of three, for every desk; region-m overrides
/// the burst to one.
fn tight(c: &mut GatewayConfig) {
    c.gateway_toml("rate_limit = { inbound_per_minute = 1, inbound_burst = 3 }");
    c.desk_toml("region-m", "rate_limit = { inbound_burst = 1 }");
}

#[tokio::test]
async fn a_burst_beyond_the_limit_gets_429_with_retry_after_and_other_desks_are_unaffected() {
    let gw = TestGateway::start_edited(tight, reqwest::Client::new()).await;
    for n in 0..3 {
        let res = gw.get("region-h", "/api/v1/incidents").await;
        assert_eq!(res.status(), StatusCode::OK, "request {n} is within the burst");
    }
    let refused = gw.submit("region-h", &incident("INC0090001")).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "one request a minute: {retry_after}");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(body["error"]["message"].as_str().unwrap().contains("region-h"), "{body}");

    // Refused means nothing happened.
    assert!(gw.all_incidents().await.is_empty());

    // Other desks have their own allowance: sds just used one above, drift none.
    assert_eq!(gw.get("drift", "/api/v1/incidents").await.status(), StatusCode::OK);
    assert_eq!(gw.get("sds", "/api/v1/incidents").await.status(), StatusCode::OK);

    // A desk's override applies to that desk only.
    assert_eq!(gw.get("region-m", "/api/v1/incidents").await.status(), StatusCode::OK);
    assert_eq!(gw.get("region-m", "/api/v1/incidents").await.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn requests_that_fail_authentication_take_nothing_from_the_desk() {
    let gw = TestGateway::start_with_gateway_keys("rate_limit = { inbound_per_minute = 1, inbound_burst = 1 }").await;
    for _ in 0..5 {
        let res = gw.client.get(gw.url("/api/v1/incidents")).bearer_auth("not-a-token").send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(gw.get("fmk", "/api/v1/incidents").await.status(), StatusCode::OK);
    // Health checks are never limited.
    for _ in 0..5 {
        assert_eq!(gw.client.get(gw.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    }
}

#[test]
fn zero_limits_are_configuration_problems_with_their_key_paths() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = GatewayConfig::standard(&dir.path().join("store"), 1024 * 1024);
    config.gateway_toml("rate_limit = { inbound_burst = 0 }");
    config.desk_toml("fmk", "rate_limit = { outbound_per_minute = 0, colour = 1 }");
    let problems = config.load(&env()).unwrap_err();
    let joined: Vec<String> = problems.iter().map(ToString::to_string).collect();
    let joined = joined.join("\n");
    assert!(joined.contains("gateway.rate_limit.inbound_burst: expected at least 1"), "{joined}");
    assert!(joined.contains("desks.fmk.rate_limit"), "{joined}");
}

#[tokio::test]
async fn a_servicenow_desk_over_its_limit_gets_the_429_in_servicenow_shape() {
    let gw = TestGateway::start_edited(tight, reqwest::Client::new()).await;
    let list = || gw.client.get(gw.url("/api/now/table/incident")).bearer_auth(gw.token("region-h")).send();
    for n in 0..3 {
        assert_eq!(list().await.unwrap().status(), StatusCode::OK, "request {n} is within the burst");
    }
    let refused = list().await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["status"], "failure", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("rate limit"), "{body}");
}
