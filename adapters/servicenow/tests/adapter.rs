//! The adapter against the ServiceNow simulator on loopback.

use std::time::Duration;

use deskgate_adapter::{Adapter, AdapterError, RemoteId, RemoteLink, RemoteNote, TicketFields};
use deskgate_servicenow::{Auth, ServiceNowAdapter, ServiceNowConfig};
use deskgate_sim::Fault;
use deskgate_sim::servicenow::{ServiceNowSim, ServiceNowSimConfig};
use serde_json::{Value, json};

async fn sim() -> ServiceNowSim {
    ServiceNowSim::spawn(ServiceNowSimConfig::default()).await.expect("simulator starts")
}

fn basic(sim: &ServiceNowSim) -> Auth {
    Auth::Basic { user: sim.config().user.clone(), password: sim.config().password.clone() }
}

fn oauth_password(sim: &ServiceNowSim) -> Auth {
    let c = sim.config();
    Auth::OAuthPassword {
        client_id: c.oauth_client_id.clone(),
        client_secret: c.oauth_client_secret.clone(),
        username: c.user.clone(),
        password: c.password.clone(),
    }
}

fn oauth_client(sim: &ServiceNowSim) -> Auth {
    let c = sim.config();
    Auth::OAuthClientCredentials { client_id: c.oauth_client_id.clone(), client_secret: c.oauth_client_secret.clone() }
}

fn adapter(sim: &ServiceNowSim, auth: Auth) -> ServiceNowAdapter {
    let mut config = ServiceNowConfig::new(&sim.base_url(), auth).unwrap();
    config.timeout = Duration::from_secs(5);
    ServiceNowAdapter::new(config).unwrap()
}

fn fields(pairs: &[(&str, &str)]) -> TicketFields {
    let mut f = TicketFields::default();
    for (k, v) in pairs {
        let value = Some((*v).to_owned());
        match *k {
            "title" => f.title = value,
            "description" => f.description = value,
            "status" => f.status = value,
            "priority" => f.priority = value,
            "assignee" => f.assignee = value,
            other => {
                f.extra.insert(other.to_owned(), (*v).to_owned());
            }
        }
    }
    f
}

/// The write requests the simulator received, without the random sys_ids in paths.
fn writes(sim: &ServiceNowSim) -> Value {
    Value::Array(
        sim.requests()
            .into_iter()
            .map(|r| {
                let path =
                    r.path.split('/').map(|s| if s.len() == 32 { "{sys_id}" } else { s }).collect::<Vec<_>>().join("/");
                json!({"method": r.method, "path": path, "query": r.query, "body": r.body})
            })
            .collect(),
    )
}

fn new_incident() -> TicketFields {
    fields(&[
        ("title", "FMK: prescriptions cannot be renewed"),
        ("description", "Since 08:10 every renewal in the FMK fails with a timeout."),
        ("assignee", "NSP Service Desk"),
        ("impact", "1"),
        ("urgency", "2"),
        ("priority", "1"),
    ])
}

/// A simulator, an adapter with basic auth, and a ticket it created for `incident`.
async fn with_ticket(incident: &str) -> (ServiceNowSim, ServiceNowAdapter, deskgate_adapter::RemoteTicket) {
    let sim = sim().await;
    let a = adapter(&sim, basic(&sim));
    let t = a.create(&new_incident(), incident).await.unwrap();
    (sim, a, t)
}

#[tokio::test]
async fn create_find_get_and_update() {
    let sim = sim().await;
    let a = adapter(&sim, basic(&sim));

    let created = a.create(&new_incident(), "INC-2026-000042").await.unwrap();
    assert_eq!(created.display_id, "INC0010001");
    assert_eq!(created.fields.priority.as_deref(), Some("2"), "impact 1 + urgency 2");
    assert_eq!(created.fields.status.as_deref(), Some("1"));
    assert_eq!(created.fields.extra["correlation_id"], "INC-2026-000042");
    assert_eq!(created.fields.extra["correlation_display"], "deskgate");
    assert_eq!(created.url.as_deref(), Some(format!("{}/incident.do?sys_id={}", sim.base_url(), created.id).as_str()));
    assert!(created.updated_at.is_some());

    let found = a.find_by_correlation("INC-2026-000042").await.unwrap();
    assert_eq!(found.as_ref().map(|t| &t.id), Some(&created.id));
    assert!(a.find_by_correlation("INC-2026-000043").await.unwrap().is_none());
    // A correlation id with the query separator in it cannot widen the query.
    assert!(a.find_by_correlation("x^ORactive=true").await.unwrap().is_none());

    let got = a.get(&created.id).await.unwrap();
    assert_eq!(got, created);

    let updated = a.update(&created.id, &fields(&[("status", "2"), ("urgency", "1")])).await.unwrap();
    assert_eq!(updated.fields.status.as_deref(), Some("2"));
    assert_eq!(updated.fields.priority.as_deref(), Some("1"));
    assert_eq!(updated.fields.extra["sys_mod_count"], "1");

    insta::assert_json_snapshot!("create_and_update_bodies", writes(&sim));
}

#[tokio::test]
async fn resolving_needs_close_code_and_notes() {
    let (sim, a, t) = with_ticket("INC-2026-000050").await;

    let e = a.update(&t.id, &fields(&[("status", "6")])).await.unwrap_err();
    assert!(!e.is_retriable(), "{e}");
    assert_eq!(e.status(), Some(403));
    assert!(e.to_string().contains("Resolution code"), "{e}");
    assert!(e.body().unwrap().contains("Data Policy Exception"));
    assert_eq!(sim.record(&t.id.0).unwrap()["state"], "1", "nothing changed");

    let resolved = a
        .update(
            &t.id,
            &fields(&[
                ("status", "6"),
                ("close_code", "Solution provided"),
                ("close_notes", "Certificate renewed on the FMK gateway."),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(resolved.fields.status.as_deref(), Some("6"));
    assert_eq!(resolved.fields.extra["close_code"], "Solution provided");
    assert!(resolved.fields.extra.contains_key("resolved_at"));

    insta::assert_json_snapshot!("resolve_bodies", writes(&sim));
}

#[tokio::test]
async fn notes_go_to_the_journal() {
    let (sim, a, t) = with_ticket("INC-2026-000051").await;
    let note = |body: &str, public| RemoteNote { body: body.to_owned(), public, author: None, at: None };
    a.add_note(&t.id, &note("We are looking into it.", true)).await.unwrap();
    a.add_note(&t.id, &note("Supplier drift has the ticket.", false)).await.unwrap();
    let e = a.add_note(&t.id, &note("  ", true)).await.unwrap_err();
    assert!(!e.is_retriable());

    let journal = sim.journal(&t.id.0);
    let entries: Vec<_> =
        journal.iter().map(|j| (j.element.as_str(), j.value.as_str(), j.sys_created_by.as_str())).collect();
    assert_eq!(
        entries,
        [
            ("comments", "We are looking into it.", "deskgate.integration"),
            ("work_notes", "Supplier drift has the ticket.", "deskgate.integration"),
        ]
    );
    // Journal fields are write-only: reading the record does not return them.
    let got = a.get(&t.id).await.unwrap();
    assert!(!got.fields.extra.contains_key("comments"));
    assert!(got.notes.is_empty());

    insta::assert_json_snapshot!("note_bodies", writes(&sim));
}

#[tokio::test]
async fn links_are_idempotent() {
    let (sim, a, t) = with_ticket("INC-2026-000052").await;
    let link = |id: &str, display: &str| RemoteLink {
        global_id: id.to_owned(),
        title: "FMK renewals time out".to_owned(),
        url: Some("https://cq.example/cqweb/record/42".to_owned()),
        display_id: display.to_owned(),
    };
    a.link(&t.id, &link("deskgate:sds:SAMPL00000042", "SAMPL00000042")).await.unwrap();
    a.link(&t.id, &link("deskgate:sds:SAMPL00000042", "SAMPL00000042")).await.unwrap();
    a.link(&t.id, &link("deskgate:drift:DRIFT-7", "DRIFT-7")).await.unwrap();

    let record = sim.record(&t.id.0).unwrap();
    assert_eq!(
        record["u_deskgate_links"],
        "SAMPL00000042: FMK renewals time out https://cq.example/cqweb/record/42 [deskgate:sds:SAMPL00000042]\n\
         DRIFT-7: FMK renewals time out https://cq.example/cqweb/record/42 [deskgate:drift:DRIFT-7]"
    );
    let notes: Vec<_> = sim.journal(&t.id.0).into_iter().map(|j| (j.element, j.value)).collect();
    assert_eq!(notes.len(), 2, "one work note per distinct link: {notes:?}");
    assert!(notes.iter().all(|(e, v)| e == "work_notes" && v.starts_with("Linked to ")));

    insta::assert_json_snapshot!("link_bodies", writes(&sim));
}

#[tokio::test]
async fn linking_without_the_link_field_fails_before_writing() {
    let sim =
        ServiceNowSim::spawn(ServiceNowSimConfig { custom_fields: Vec::new(), ..Default::default() }).await.unwrap();
    let a = adapter(&sim, basic(&sim));
    let t = a.create(&new_incident(), "INC-2026-000053").await.unwrap();
    let e = a
        .link(&t.id, &RemoteLink { global_id: "g".into(), title: "t".into(), url: None, display_id: "D-1".into() })
        .await
        .unwrap_err();
    assert!(!e.is_retriable());
    assert!(e.to_string().contains("u_deskgate_links"), "{e}");
    assert!(sim.journal(&t.id.0).is_empty());
}

#[tokio::test]
async fn changed_since_returns_changes_oldest_first() {
    let sim = sim().await;
    let a = adapter(&sim, basic(&sim));
    let first = a.create(&new_incident(), "INC-2026-000060").await.unwrap();
    sim.advance_clock(Duration::from_secs(3600));
    let second = a.create(&new_incident(), "INC-2026-000061").await.unwrap();
    sim.advance_clock(Duration::from_secs(3600));
    // A change made in the tool moves the first record after the second.
    sim.update_as_user(&first.id.0, &[("state", "2")]).unwrap();

    let t0 = first.updated_at.unwrap();
    let all = a.changed_since(t0).await.unwrap();
    let ids: Vec<_> = all.iter().map(|t| t.id.clone()).collect();
    assert_eq!(ids, [second.id.clone(), first.id.clone()]);

    let later = a.changed_since(second.updated_at.unwrap() + jiff::SignedDuration::from_secs(1)).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].id, first.id);
    assert_eq!(later[0].fields.extra["sys_updated_by"], "beth.anglin");
}

#[tokio::test]
async fn changed_since_pages_through_large_backlogs() {
    let sim = sim().await;
    let a = adapter(&sim, basic(&sim));
    for i in 0..230 {
        sim.create_as_user(&[("short_description", &format!("report {i}"))]).unwrap();
    }
    let all = a.changed_since(jiff::Timestamp::UNIX_EPOCH).await.unwrap();
    assert_eq!(all.len(), 230);
    let mut ids: Vec<_> = all.iter().map(|t| t.id.0.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 230, "no record twice");
    let pages = sim.faults().served("GET /api/now/table/incident");
    assert_eq!(pages, 3, "100 + 100 + 30");
}

#[tokio::test]
async fn oauth_password_grant_caches_and_renews_the_token() {
    let sim = sim().await;
    let a = adapter(&sim, oauth_password(&sim));
    let t = a.create(&new_incident(), "INC-2026-000070").await.unwrap();
    a.get(&t.id).await.unwrap();
    assert_eq!(sim.faults().served("POST /oauth_token.do"), 1, "token reused");

    // Revoked access token: one 401, renewed with the refresh token, call repeated.
    sim.revoke_access_tokens();
    a.get(&t.id).await.unwrap();
    assert_eq!(sim.faults().served("POST /oauth_token.do"), 2);

    // Refresh token gone too: the refresh fails and the password grant is used again.
    sim.revoke_access_tokens();
    sim.revoke_refresh_tokens();
    a.get(&t.id).await.unwrap();
    assert_eq!(sim.faults().served("POST /oauth_token.do"), 4);

    // Expiry on the instance's clock behaves like revocation.
    sim.advance_clock(Duration::from_secs(7200));
    a.get(&t.id).await.unwrap();
    assert_eq!(sim.faults().served("POST /oauth_token.do"), 5);
}

#[tokio::test]
async fn oauth_client_credentials_grant_works_and_renews() {
    let sim = sim().await;
    let a = adapter(&sim, oauth_client(&sim));
    let t = a.create(&new_incident(), "INC-2026-000071").await.unwrap();
    assert_eq!(sim.faults().served("POST /oauth_token.do"), 1);
    sim.revoke_access_tokens();
    a.get(&t.id).await.unwrap();
    assert_eq!(sim.faults().served("POST /oauth_token.do"), 2);
}

#[tokio::test]
async fn bad_credentials_are_permanent_and_never_echo_secrets() {
    let sim = sim().await;
    let wrong_basic =
        adapter(&sim, Auth::Basic { user: sim.config().user.clone(), password: "s3cret-wrong-password".into() });
    let e = wrong_basic.find_by_correlation("x").await.unwrap_err();
    assert!(!e.is_retriable());
    assert_eq!(e.status(), Some(401));
    assert!(e.to_string().contains("User Not Authenticated"), "{e}");
    assert!(!format!("{e:?}").contains("s3cret"));

    let wrong_oauth = adapter(
        &sim,
        Auth::OAuthClientCredentials {
            client_id: sim.config().oauth_client_id.clone(),
            client_secret: "s3cret-wrong-client-secret".into(),
        },
    );
    let e = wrong_oauth.find_by_correlation("x").await.unwrap_err();
    assert!(!e.is_retriable());
    assert_eq!(e.status(), Some(401));
    assert!(e.to_string().contains("access_denied"), "{e}");
    assert!(!format!("{e:?}").contains("s3cret"));
}

#[tokio::test]
async fn rate_limiting_is_retriable_with_retry_after() {
    let sim = sim().await;
    let a = adapter(&sim, basic(&sim));
    sim.faults().push([Fault::RateLimited { retry_after_secs: 7 }]);
    let e = a.find_by_correlation("INC-1").await.unwrap_err();
    assert!(e.is_retriable(), "{e}");
    assert_eq!(e.status(), Some(429));
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    // The fault was used up: the next call goes through.
    assert!(a.find_by_correlation("INC-1").await.unwrap().is_none());
}

#[tokio::test]
async fn server_errors_are_retriable() {
    let sim = sim().await;
    let a = adapter(&sim, basic(&sim));
    sim.faults().push([Fault::ServerError, Fault::Unavailable]);
    for want in [500, 503] {
        let e = a.create(&new_incident(), "INC-1").await.unwrap_err();
        assert!(e.is_retriable(), "{e}");
        assert_eq!(e.status(), Some(want));
    }
    assert_eq!(sim.count(), 0);
}

#[tokio::test]
async fn slow_answers_time_out_as_retriable() {
    let sim = sim().await;
    let mut config = ServiceNowConfig::new(&sim.base_url(), basic(&sim)).unwrap();
    config.timeout = Duration::from_millis(200);
    let a = ServiceNowAdapter::new(config).unwrap();
    sim.faults().push([Fault::Slow { millis: 5_000 }]);
    let e = a.find_by_correlation("INC-1").await.unwrap_err();
    assert!(matches!(&e, AdapterError::Retriable { status: None, .. }), "{e:?}");
    assert!(e.to_string().contains("timed out"), "{e}");
}

#[tokio::test]
async fn unreachable_instances_are_retriable() {
    // Bind and drop a listener so the port is (almost certainly) closed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = ServiceNowConfig::new(
        &format!("http://127.0.0.1:{port}"),
        Auth::Basic { user: "u".into(), password: "p".into() },
    )
    .unwrap();
    let a = ServiceNowAdapter::new(config).unwrap();
    let e = a.find_by_correlation("INC-1").await.unwrap_err();
    assert!(e.is_retriable(), "{e}");
}

#[tokio::test]
async fn unknown_records_are_permanent_404s() {
    let sim = sim().await;
    let a = adapter(&sim, basic(&sim));
    let e = a.get(&RemoteId("0123456789abcdef0123456789abcdef".into())).await.unwrap_err();
    assert!(!e.is_retriable());
    assert_eq!(e.status(), Some(404));
    assert!(e.to_string().contains("No Record found"), "{e}");
    let e =
        a.update(&RemoteId("0123456789abcdef0123456789abcdef".into()), &fields(&[("status", "2")])).await.unwrap_err();
    assert_eq!(e.status(), Some(404));
}
