//! The ClearQuest adapter against the simulator on loopback.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use deskgate_adapter::{Adapter, RemoteId, RemoteLink, RemoteNote, TicketFields};
use deskgate_clearquest::{ClearQuestAdapter, ClearQuestConfig, PollState, StateAction};
use deskgate_sim::Fault;
use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};

fn config_for(base_url: &str, sim: &ClearQuestSimConfig) -> ClearQuestConfig {
    let mut config =
        ClearQuestConfig::new(base_url, sim.repo.clone(), sim.db.clone(), sim.user.clone(), sim.password.clone());
    config.timeout = Duration::from_secs(5);
    config
}

async fn setup() -> (ClearQuestSim, ClearQuestAdapter) {
    let sim = ClearQuestSim::spawn(ClearQuestSimConfig::default()).await.unwrap();
    let adapter = ClearQuestAdapter::new(config_for(sim.base_url(), sim.config())).unwrap();
    (sim, adapter)
}

fn incident(title: &str) -> TicketFields {
    TicketFields {
        title: Some(title.into()),
        description: Some("FMK answers 500 <sometimes> & \"intermittently\"".into()),
        priority: Some("2-Major".into()),
        assignee: Some("fmk-support".into()),
        extra: BTreeMap::from([("Severity".into(), "3-Average".into())]),
        ..TicketFields::default()
    }
}

/// Replace the simulator's random port so snapshots are stable.
fn redact(sim: &ClearQuestSim, text: &str) -> String {
    text.replace(sim.base_url(), "http://cq.test")
}

#[tokio::test]
async fn create_find_and_get() {
    let (sim, cq) = setup().await;
    let created = cq.create(&incident("FMK down"), "INC-2026-000001").await.unwrap();
    assert_eq!(sim.count(), 1);
    assert_eq!(created.display_id, "SAMPL00000001");
    assert_eq!(created.fields.status.as_deref(), Some("Submitted"));
    assert_eq!(created.fields.title.as_deref(), Some("FMK down"));
    assert_eq!(created.fields.extra.get("cq:deskgate_Incident").map(String::as_str), Some("INC-2026-000001"));
    let stored = sim.record("SAMPL00000001").unwrap();
    assert_eq!(stored.get("Severity"), Some("3-Average"));
    assert_eq!(stored.get("Owner"), Some("fmk-support"));
    assert_eq!(stored.submitter, "deskgate");

    let received = sim.received();
    assert_eq!(received.len(), 1);
    insta::assert_snapshot!("create_body", redact(&sim, &received[0].body));

    let found = cq.find_by_correlation("INC-2026-000001").await.unwrap().unwrap();
    assert_eq!(found.id, created.id);
    assert_eq!(found.display_id, created.display_id);
    assert!(cq.find_by_correlation("INC-2026-000002").await.unwrap().is_none());

    let got = cq.get(&created.id).await.unwrap();
    assert_eq!(got.etag.as_deref(), Some(stored.etag().as_str()));
    assert_eq!(got.fields, created.fields);
    assert_eq!(got.updated_at, Some(stored.modified), "dcterms:modified is carried");
}

#[tokio::test]
async fn create_with_a_status_runs_the_actions() {
    let (sim, cq) = setup().await;
    let fields = TicketFields { status: Some("Opened".into()), ..incident("starts opened") };
    let created = cq.create(&fields, "INC-2026-000010").await.unwrap();
    assert_eq!(created.fields.status.as_deref(), Some("Opened"));
    assert_eq!(sim.record(&created.display_id).unwrap().state, "Opened");
}

#[tokio::test]
async fn update_sends_only_changed_fields_with_if_match() {
    let (sim, cq) = setup().await;
    let created = cq.create(&incident("first"), "INC-1").await.unwrap();
    let before = sim.record(&created.display_id).unwrap();

    let change = TicketFields {
        title: Some("second".into()),
        priority: Some("2-Major".into()), // unchanged: not sent
        ..TicketFields::default()
    };
    let updated = cq.update(&created.id, &change).await.unwrap();
    assert_eq!(updated.fields.title.as_deref(), Some("second"));
    let after = sim.record(&created.display_id).unwrap();
    assert_ne!(after.etag(), before.etag(), "every modify changes the ETag");
    assert_eq!(updated.etag.as_deref(), Some(after.etag().as_str()));

    let put = sim.received().pop().unwrap();
    assert_eq!(put.method, "PUT");
    insta::assert_snapshot!("modify_request", format!("{}\n\n{}", redact(&sim, &put.target), redact(&sim, &put.body)));

    // Same fields again: nothing to do, no PUT.
    cq.update(&created.id, &change).await.unwrap();
    assert_eq!(sim.received().len(), 2);
}

/// Serve the simulator through a layer that lets a "user" modify the record
/// right before each of the first `times` PUTs reach it.
async fn with_user_racing(sim: Arc<ClearQuestSim>, display_id: String, times: usize) -> (String, Arc<AtomicUsize>) {
    let puts = Arc::new(AtomicUsize::new(0));
    let counter = puts.clone();
    let app = sim.router().layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let sim = sim.clone();
            let counter = counter.clone();
            let display_id = display_id.clone();
            async move {
                if request.method() == axum::http::Method::PUT {
                    let n = counter.fetch_add(1, Ordering::SeqCst);
                    if n < times {
                        sim.modify_as_user(&display_id, [("Severity", format!("user-{n}"))]).unwrap();
                    }
                }
                next.run(request).await
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), puts)
}

#[tokio::test]
async fn a_concurrent_user_change_is_reread_and_reapplied() {
    let (sim, cq) = setup().await;
    let created = cq.create(&incident("race"), "INC-2").await.unwrap();
    let sim = Arc::new(sim);
    let (url, puts) = with_user_racing(sim.clone(), created.display_id.clone(), 1).await;
    let racing = ClearQuestAdapter::new(config_for(&url, sim.config())).unwrap();

    let change = TicketFields { title: Some("after the race".into()), ..TicketFields::default() };
    let updated = racing.update(&created.id, &change).await.unwrap();
    assert_eq!(puts.load(Ordering::SeqCst), 2, "first PUT is stale (412), second lands");
    let stored = sim.record(&created.display_id).unwrap();
    assert_eq!(stored.get("Headline"), Some("after the race"));
    assert_eq!(stored.get("Severity"), Some("user-0"), "the user's change survives");
    assert_eq!(updated.fields.title.as_deref(), Some("after the race"));
}

#[tokio::test]
async fn a_412_storm_gives_up_with_a_retriable_error() {
    let (sim, cq) = setup().await;
    let created = cq.create(&incident("storm"), "INC-3").await.unwrap();
    let sim = Arc::new(sim);
    let (url, puts) = with_user_racing(sim.clone(), created.display_id.clone(), usize::MAX).await;
    let mut config = config_for(&url, sim.config());
    config.max_conflict_retries = 2;
    let racing = ClearQuestAdapter::new(config).unwrap();

    let err = racing
        .update(&created.id, &TicketFields { title: Some("never".into()), ..TicketFields::default() })
        .await
        .unwrap_err();
    assert!(err.is_retriable(), "{err:?}");
    assert_eq!(err.status(), Some(412));
    assert_eq!(puts.load(Ordering::SeqCst), 3, "one try plus two retries, then stop");
    assert_eq!(sim.record(&created.display_id).unwrap().get("Headline"), Some("storm"));
}

#[tokio::test]
async fn status_changes_run_actions() {
    let (sim, cq) = setup().await;
    let created = cq.create(&incident("workflow"), "INC-4").await.unwrap();

    let resolve = TicketFields {
        status: Some("Resolved".into()),
        extra: BTreeMap::from([("cq:Resolution".into(), "Fixed".into())]),
        ..TicketFields::default()
    };
    let resolved = cq.update(&created.id, &resolve).await.unwrap();
    assert_eq!(resolved.fields.status.as_deref(), Some("Resolved"));
    let stored = sim.record(&created.display_id).unwrap();
    assert_eq!(stored.state, "Resolved");
    assert_eq!(stored.get("Resolution"), Some("Fixed"));

    let targets: Vec<String> =
        sim.received().iter().filter(|r| r.method == "PUT").map(|r| redact(&sim, &r.target)).collect();
    insta::assert_snapshot!("resolve_actions", targets.join("\n"));

    let closed = cq
        .update(&created.id, &TicketFields { status: Some("Closed".into()), ..TicketFields::default() })
        .await
        .unwrap();
    assert_eq!(closed.fields.status.as_deref(), Some("Closed"));

    // No action leads there: refused before anything is sent.
    let sent = sim.received().len();
    let err = cq
        .update(&created.id, &TicketFields { status: Some("Limbo".into()), ..TicketFields::default() })
        .await
        .unwrap_err();
    assert!(!err.is_retriable());
    assert_eq!(sim.received().len(), sent);
}

#[tokio::test]
async fn an_action_the_server_refuses_is_permanent() {
    let sim = ClearQuestSim::spawn(ClearQuestSimConfig::default()).await.unwrap();
    let mut config = config_for(sim.base_url(), sim.config());
    // A table that believes Close works from anywhere; the server knows better.
    config.state_actions = vec![StateAction::new("Close", &[], "Closed")];
    let cq = ClearQuestAdapter::new(config).unwrap();
    let created = cq.create(&incident("too early"), "INC-5").await.unwrap();
    let err = cq
        .update(&created.id, &TicketFields { status: Some("Closed".into()), ..TicketFields::default() })
        .await
        .unwrap_err();
    assert!(!err.is_retriable(), "{err:?}");
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("not available"), "{err}");
    assert_eq!(sim.record(&created.display_id).unwrap().state, "Submitted");
}

#[tokio::test]
async fn notes_are_appended_once() {
    let (sim, cq) = setup().await;
    let created = cq.create(&incident("notes"), "INC-6").await.unwrap();
    sim.add_note_as_user(&created.display_id, "alice", "Looking into it").unwrap();
    let note = RemoteNote {
        body: "Supplier says: restart scheduled\nsecond line".into(),
        public: true,
        author: Some("fmk".into()),
        at: Some("2026-03-01T10:00:00Z".parse().unwrap()),
    };
    cq.add_note(&created.id, &note).await.unwrap();
    // A retried call (lost answer) changes nothing.
    cq.add_note(&created.id, &note).await.unwrap();

    let log = sim.record(&created.display_id).unwrap().get("Notes_Log").unwrap().to_owned();
    assert_eq!(log.matches("restart scheduled").count(), 1);
    let puts = sim.received().into_iter().filter(|r| r.method == "PUT").count();
    assert_eq!(puts, 1);

    let got = cq.get(&created.id).await.unwrap();
    assert_eq!(got.notes.len(), 2);
    assert_eq!(got.notes[0].author.as_deref(), Some("alice"));
    assert!(!got.notes[0].public);
    assert_eq!(got.notes[1], note);
}

#[tokio::test]
async fn links_are_stored_once_each() {
    let (sim, cq) = setup().await;
    let created = cq.create(&incident("links"), "INC-7").await.unwrap();
    let link = |key: &str| RemoteLink {
        global_id: format!("deskgate:{key}"),
        title: key.into(),
        url: None,
        display_id: key.into(),
    };
    cq.link(&created.id, &link("DRIFT-42")).await.unwrap();
    cq.link(&created.id, &link("DRIFT-42")).await.unwrap();
    cq.link(&created.id, &link("INC-2026-000007")).await.unwrap();
    let stored = sim.record(&created.display_id).unwrap();
    assert_eq!(stored.get("deskgate_Links"), Some("DRIFT-42\nINC-2026-000007"));
}

#[tokio::test]
async fn polling_reports_each_change_once() {
    let sim = ClearQuestSim::spawn(ClearQuestSimConfig::default()).await.unwrap();
    let mut config = config_for(sim.base_url(), sim.config());
    config.page_size = 1; // every record on its own page: paging is followed
    let cq = ClearQuestAdapter::new(config).unwrap();
    let overlap = Duration::from_secs(300);

    let a = sim.create_as_user("alice", [("Headline", "a")]);
    let b = sim.create_as_user("bob", [("Headline", "b")]);
    let first = cq.poll(&PollState::default(), overlap).await.unwrap();
    let seen: Vec<&str> = first.fresh.iter().map(|t| t.display_id.as_str()).collect();
    assert_eq!(seen, [a.as_str(), b.as_str()]);
    assert!(first.next.watermark.is_some());

    // Nothing changed: the overlap re-reads both, and both are dropped.
    let second = cq.poll(&first.next, overlap).await.unwrap();
    assert!(second.fresh.is_empty(), "{:?}", second.fresh);

    // A user change, possibly within the same second: reported once.
    sim.action_as_user(&a, "Assign", [("Owner", "fmk-support")]).unwrap();
    let third = cq.poll(&second.next, overlap).await.unwrap();
    assert_eq!(third.fresh.len(), 1);
    assert_eq!(third.fresh[0].display_id, a);
    assert_eq!(third.fresh[0].fields.status.as_deref(), Some("Assigned"));
    let fourth = cq.poll(&third.next, overlap).await.unwrap();
    assert!(fourth.fresh.is_empty());

    let queries =
        sim.faults().served_all().into_iter().filter(|(k, _)| k.ends_with("/query")).map(|(_, n)| n).sum::<u64>();
    assert!(queries >= 8, "two pages per poll: {queries}");
}

#[tokio::test]
async fn changed_since_is_oldest_first_and_filtered() {
    let (sim, cq) = setup().await;
    let a = sim.create_as_user("alice", [("Headline", "a")]);
    let since = sim.record(&a).unwrap().modified;
    let all = cq.changed_since(since).await.unwrap();
    assert_eq!(all.len(), 1);
    let later = since.checked_add(jiff::SignedDuration::from_hours(1)).unwrap();
    assert!(cq.changed_since(later).await.unwrap().is_empty());
}

#[tokio::test]
async fn rate_limits_are_retriable_with_retry_after() {
    let (sim, cq) = setup().await;
    sim.faults().push([Fault::RateLimited { retry_after_secs: 7 }]);
    let err = cq.find_by_correlation("INC-8").await.unwrap_err();
    assert!(err.is_retriable());
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn server_errors_are_retriable() {
    let (sim, cq) = setup().await;
    sim.faults().push([Fault::ServerError]);
    let err = cq.create(&incident("x"), "INC-9").await.unwrap_err();
    assert!(err.is_retriable());
    assert_eq!(err.status(), Some(500));
    assert_eq!(sim.count(), 0);
}

#[tokio::test]
async fn slow_answers_time_out_as_retriable() {
    let sim = ClearQuestSim::spawn(ClearQuestSimConfig::default()).await.unwrap();
    let mut config = config_for(sim.base_url(), sim.config());
    config.timeout = Duration::from_millis(200);
    let cq = ClearQuestAdapter::new(config).unwrap();
    sim.faults().push([Fault::Slow { millis: 3_000 }]);
    let err = cq.find_by_correlation("INC-10").await.unwrap_err();
    assert!(err.is_retriable(), "{err:?}");
    assert_eq!(err.status(), None);
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn missing_records_are_permanent() {
    let (sim, cq) = setup().await;
    let id = RemoteId(format!(
        "/cqweb/oslc/repo/{}/db/{}/record/{}-99999999",
        sim.config().repo,
        sim.config().db,
        sim.config().record_type_dbid
    ));
    let err = cq.get(&id).await.unwrap_err();
    assert!(!err.is_retriable());
    assert_eq!(err.status(), Some(404));
    // Not a record of this database at all: refused without a request.
    let err = cq.get(&RemoteId("/elsewhere/1".into())).await.unwrap_err();
    assert!(!err.is_retriable());
}

#[tokio::test]
async fn bad_credentials_are_permanent_and_not_echoed() {
    let sim = ClearQuestSim::spawn(ClearQuestSimConfig::default()).await.unwrap();
    let mut config = config_for(sim.base_url(), sim.config());
    config.password = "wrong-password-123".into();
    let cq = ClearQuestAdapter::new(config).unwrap();
    let err = cq.find_by_correlation("INC-11").await.unwrap_err();
    assert!(!err.is_retriable());
    assert_eq!(err.status(), Some(401));
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("wrong-password-123"), "{shown}");
}

#[tokio::test]
async fn connection_refused_is_retriable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let cq = ClearQuestAdapter::new(config_for(&format!("http://{addr}"), &ClearQuestSimConfig::default())).unwrap();
    let err = cq.find_by_correlation("INC-12").await.unwrap_err();
    assert!(err.is_retriable(), "{err:?}");
}

/// A server that answers every request the same way.
async fn rogue(status: u16, headers: &'static [(&'static str, &'static str)], body: &'static str) -> String {
    let app = axum::Router::new().fallback(move || async move {
        let mut response = axum::response::Response::new(axum::body::Body::from(body));
        *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
        for (k, v) in headers {
            response.headers_mut().insert(*k, axum::http::HeaderValue::from_static(v));
        }
        response
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn unreadable_answers_and_redirects_are_permanent() {
    let sim_config = ClearQuestSimConfig::default();
    let garbage = rogue(200, &[("etag", "\"1\"")], "<rdf:RDF><unclosed").await;
    let cq = ClearQuestAdapter::new(config_for(&garbage, &sim_config)).unwrap();
    let err = cq.find_by_correlation("INC-13").await.unwrap_err();
    assert!(!err.is_retriable(), "{err:?}");

    let doctype = rogue(
        200,
        &[],
        "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/>",
    )
    .await;
    let cq = ClearQuestAdapter::new(config_for(&doctype, &sim_config)).unwrap();
    let err = cq.find_by_correlation("INC-13").await.unwrap_err();
    assert!(!err.is_retriable());
    assert!(err.to_string().contains("DOCTYPE"), "{err}");

    let redirect = rogue(302, &[("location", "http://127.0.0.1:9/elsewhere")], "").await;
    let cq = ClearQuestAdapter::new(config_for(&redirect, &sim_config)).unwrap();
    let err = cq.find_by_correlation("INC-13").await.unwrap_err();
    assert!(!err.is_retriable());
    assert!(err.to_string().contains("redirects are not followed"), "{err}");

    // A query answer pointing at a record on another host is refused.
    let foreign = rogue(
        200,
        &[],
        r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:cq="http://www.ibm.com/xmlns/prod/rational/clearquest/1.0/"><cq:Defect rdf:about="http://evil.example/cqweb/oslc/repo/7.0.0/db/SAMPL/record/16777224-1"><cq:Headline>x</cq:Headline></cq:Defect></rdf:RDF>"#,
    )
    .await;
    let cq = ClearQuestAdapter::new(config_for(&foreign, &sim_config)).unwrap();
    let err = cq.find_by_correlation("INC-13").await.unwrap_err();
    assert!(!err.is_retriable());
    assert!(err.to_string().contains("outside the configured base"), "{err}");
}
