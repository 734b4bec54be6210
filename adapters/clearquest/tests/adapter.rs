//! The ClearQuest adapter against the simulator on loopback.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use deskgate_adapter::{Adapter, RemoteId, RemoteLink, RemoteNote, TicketFields};
use deskgate_clearquest::oslc;
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
    // The actions start from the record the POST answered with, ETag and all.
    let served = sim.faults().served_all();
    let reads: Vec<_> = served.keys().filter(|k| k.starts_with("GET ") && k.contains("/record/")).collect();
    assert!(reads.is_empty(), "the created record was read again: {served:?}");
    assert!(served.keys().any(|k| k.starts_with("PUT ")), "{served:?}");
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
    let base = deskgate_sim::loopback::serve(app).await.unwrap();
    (base, puts)
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
    config.schema.actions = vec![StateAction::new("Close", &[], "Closed")];
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
        sim.faults().served_all().into_iter().filter(|(k, _)| k.contains("/simpleQuery/")).map(|(_, n)| n).sum::<u64>();
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
    deskgate_sim::loopback::serve(app).await.unwrap()
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
    let sim = ClearQuestSim::spawn(ClearQuestSimConfig::default()).await.unwrap();
    let foreign = with_query_answer(&sim, FOREIGN_RECORD.into()).await;
    let cq = ClearQuestAdapter::new(config_for(&foreign, sim.config())).unwrap();
    let err = cq.find_by_correlation("INC-13").await.unwrap_err();
    assert!(!err.is_retriable());
    assert!(err.to_string().contains("outside the configured base"), "{err}");
}

const FOREIGN_RECORD: &str = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:cq="http://www.ibm.com/xmlns/prod/rational/clearquest/1.0/"><cq:Defect rdf:about="http://evil.example/cqweb/oslc/repo/7.0.0/db/SAMPL/record/16777224-1"><cq:Headline>x</cq:Headline></cq:Defect></rdf:RDF>"#;

/// Serve the simulator (its catalogs and provider included) but answer every query
/// with `body`.
async fn with_query_answer(sim: &ClearQuestSim, body: String) -> String {
    let app = sim.router().layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let body = body.clone();
            async move {
                if request.uri().path().contains("/simpleQuery/") {
                    return axum::response::Response::new(axum::body::Body::from(body));
                }
                next.run(request).await
            }
        },
    ));
    deskgate_sim::loopback::serve(app).await.unwrap()
}

#[tokio::test]
async fn a_next_page_on_another_origin_is_refused() {
    let sim = ClearQuestSim::spawn(ClearQuestSimConfig::default()).await.unwrap();
    let page =
        oslc::write_query_page("http://x/q", &[], 5, Some("http://evil.example:9/cqweb/oslc/next?rcm.startIndex=2"))
            .unwrap();
    let url = with_query_answer(&sim, page).await;
    let cq = ClearQuestAdapter::new(config_for(&url, sim.config())).unwrap();
    let err = cq.find_by_correlation("INC-14").await.unwrap_err();
    assert!(!err.is_retriable());
    assert!(err.to_string().contains("on another origin"), "{err}");
}

#[tokio::test]
async fn a_relative_next_page_in_another_form_is_followed() {
    let sim = ClearQuestSim::spawn(ClearQuestSimConfig::default()).await.unwrap();
    sim.create_as_user("alice", [("Headline", "on page two")]);
    // A first page that points at the real query capability in a form of its own.
    let next = format!("{}?oslc.select=*&rcm.startIndex=1&oslc.paging=true&oslc.pageSize=5", sim.query_path());
    let first = oslc::write_query_page("http://x/q", &[], 1, Some(&next)).unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let counter = served.clone();
    let app = sim.router().layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let first = first.clone();
            let counter = counter.clone();
            async move {
                let is_query = request.uri().path().contains("/simpleQuery/");
                if is_query && counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    return axum::response::Response::new(axum::body::Body::from(first));
                }
                next.run(request).await
            }
        },
    ));
    let base = deskgate_sim::loopback::serve(app).await.unwrap();
    let cq = ClearQuestAdapter::new(config_for(&base, sim.config())).unwrap();
    let found = cq.changed_since("2000-01-01T00:00:00Z".parse().unwrap()).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].fields.title.as_deref(), Some("on page two"));
    assert_eq!(served.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn discovery_is_cached_and_repeated_when_a_capability_answers_404() {
    let (sim, cq) = setup().await;
    cq.create(&incident("one"), "INC-20").await.unwrap();
    cq.find_by_correlation("INC-20").await.unwrap().unwrap();
    let providers = |sim: &ClearQuestSim| {
        sim.faults().served_all().into_iter().filter(|(k, _)| k.ends_with("/db/SAMPL")).map(|(_, n)| n).sum::<u64>()
    };
    assert_eq!(providers(&sim), 1, "discovered once, then cached");

    // The query capability moves away once: the adapter discovers again and retries.
    let sim = Arc::new(sim);
    let gone = Arc::new(AtomicUsize::new(0));
    let counter = gone.clone();
    let app = sim.router().layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let counter = counter.clone();
            async move {
                if request.uri().path().contains("/simpleQuery/") && counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    let mut r = axum::response::Response::new(axum::body::Body::from("gone"));
                    *r.status_mut() = axum::http::StatusCode::NOT_FOUND;
                    return r;
                }
                next.run(request).await
            }
        },
    ));
    let base = deskgate_sim::loopback::serve(app).await.unwrap();
    let moved = ClearQuestAdapter::new(config_for(&base, sim.config())).unwrap();
    assert!(moved.find_by_correlation("INC-20").await.unwrap().is_some());
    assert_eq!(gone.load(Ordering::SeqCst), 2, "one 404, one answer after discovering again");
    assert_eq!(providers(&sim), 3, "the moved adapter read the provider twice");
}

#[tokio::test]
async fn describe_reports_provider_factory_query_and_shape() {
    let sim = ClearQuestSim::spawn(ClearQuestSimConfig::default()).await.unwrap();
    let report = deskgate_clearquest::describe(config_for(sim.base_url(), sim.config())).await.unwrap();
    let d = &report.discovered;
    assert!(d.service_provider.ends_with("/cqweb/oslc/repo/7.0.0/db/SAMPL"));
    assert_eq!(d.service_provider_title.as_deref(), Some("SAMPL"));
    assert_eq!(d.creation_factory, sim.creation_path());
    assert_eq!(d.query_capability, sim.query_path());
    let notes = report.properties.iter().find(|p| p.name == "cq:Notes_Log").unwrap();
    assert!(notes.read_only);
    assert!(report.properties.iter().any(|p| p.name == "cq:Note_Entry" && !p.read_only));
    let shown = report.to_string();
    assert!(shown.contains("creation factory:") && shown.contains("cq:Headline Exactly-one"), "{shown}");
    assert!(!shown.contains(&sim.config().password));

    let mut wrong = config_for(sim.base_url(), sim.config());
    wrong.db = "NOPE".into();
    let err = deskgate_clearquest::describe(wrong).await.unwrap_err().to_string();
    assert!(err.contains("no service provider for user database NOPE") && err.contains("SAMPL"), "{err}");
}

#[tokio::test]
async fn one_simulator_serves_several_user_databases() {
    let sim = ClearQuestSim::spawn(ClearQuestSimConfig::serving("SDS", &["FMK"])).await.unwrap();
    let sds = ClearQuestAdapter::new(config_for(sim.base_url(), sim.config())).unwrap();
    let mut fmk_config = config_for(sim.base_url(), sim.config());
    fmk_config.db = "FMK".into();
    let fmk = ClearQuestAdapter::new(fmk_config).unwrap();
    let at_sds = sds.create(&incident("national"), "INC-30").await.unwrap();
    let at_fmk = fmk.create(&incident("supplier"), "INC-30").await.unwrap();
    assert_eq!(at_sds.display_id, "SDS00000001");
    assert_eq!(at_fmk.display_id, "FMK00000001");
    assert!(fmk.get(&at_sds.id).await.is_err(), "a record of another database is not this adapter's");
    assert_eq!(sim.database("FMK").unwrap().count(), 1);
    assert_eq!(sim.count(), 1);
    let found = fmk.find_by_correlation("INC-30").await.unwrap().unwrap();
    assert_eq!(found.id, at_fmk.id);
}

#[tokio::test]
async fn a_long_note_is_split_so_no_text_is_lost() {
    let (sim, cq) = setup().await;
    let created = cq.create(&incident("long note"), "INC-40").await.unwrap();
    let body: String =
        (0..100).map(|i| format!("{i:03}: the supplier's analysis continues here\n")).collect::<String>() + "end";
    assert!(body.chars().count() > 4000);
    let note = RemoteNote {
        body,
        public: true,
        author: Some("fmk".into()),
        at: Some("2026-03-01T10:00:00Z".parse().unwrap()),
    };
    cq.add_note(&created.id, &note).await.unwrap();
    let puts = || sim.received().into_iter().filter(|r| r.method == "PUT").count();
    assert_eq!(puts(), 3, "three numbered entries");
    cq.add_note(&created.id, &note).await.unwrap();
    assert_eq!(puts(), 3, "a retry writes nothing again");
    let got = cq.get(&created.id).await.unwrap();
    assert_eq!(got.notes, vec![note]);
    let put = sim.received().into_iter().find(|r| r.method == "PUT").unwrap();
    assert!(put.target.contains("oslc.properties=cq%3ANote_Entry"), "{}", put.target);
}

#[tokio::test]
async fn required_fields_travel_with_their_action() {
    let (sim, cq) = setup().await;
    let mut fields = incident("assign me");
    fields.assignee = None;
    fields.status = Some("Assigned".into());
    let created = cq.create(&fields, "INC-50").await.unwrap();
    let stored = sim.record(&created.display_id).unwrap();
    assert_eq!(stored.state, "Assigned");
    assert_eq!(stored.get("Owner"), Some("deskgate"), "the schema's default: deskgate's own login");
    let resolved = cq
        .update(&created.id, &TicketFields { status: Some("Resolved".into()), ..TicketFields::default() })
        .await
        .unwrap();
    assert_eq!(resolved.fields.status.as_deref(), Some("Resolved"));
    assert_eq!(sim.record(&created.display_id).unwrap().get("Resolution"), Some("Fixed"));

    // No value anywhere: refused before anything is sent.
    let mut config = config_for(sim.base_url(), sim.config());
    config.schema.defaults.clear();
    let strict = ClearQuestAdapter::new(config).unwrap();
    let other = strict.create(&TicketFields { assignee: None, ..incident("strict") }, "INC-51").await.unwrap();
    let sent = sim.received().len();
    let err = strict
        .update(&other.id, &TicketFields { status: Some("Assigned".into()), ..TicketFields::default() })
        .await
        .unwrap_err();
    assert!(!err.is_retriable());
    assert!(err.to_string().contains("requires cq:Owner"), "{err}");
    assert_eq!(sim.received().len(), sent);
}

#[tokio::test]
async fn the_priority_field_is_configurable() {
    let sim = ClearQuestSim::spawn(ClearQuestSimConfig::default()).await.unwrap();
    let mut config = config_for(sim.base_url(), sim.config());
    config.priority_field = "Severity".into();
    let cq = ClearQuestAdapter::new(config).unwrap();
    let fields = TicketFields { extra: BTreeMap::new(), priority: Some("1-Critical".into()), ..incident("sev") };
    let created = cq.create(&fields, "INC-60").await.unwrap();
    let stored = sim.record(&created.display_id).unwrap();
    assert_eq!(stored.get("Severity"), Some("1-Critical"));
    assert_eq!(stored.get("Priority"), None);
    assert_eq!(created.fields.priority.as_deref(), Some("1-Critical"));
    assert!(!created.fields.extra.contains_key("cq:Severity"));
}

#[tokio::test]
async fn change_capture_reads_modification_times_from_the_history_by_default() {
    let since: jiff::Timestamp = "2000-01-01T00:00:00Z".parse().unwrap();
    // Stock ClearQuest maps no dcterms:modified: the history's times are what there is.
    let (sim, cq) = setup().await;
    assert_eq!(cq.config().modified_field, deskgate_clearquest::STOCK_MODIFIED);
    let a = sim.create_as_user("alice", [("Headline", "a")]);
    sim.action_as_user(&a, "Assign", [("Owner", "bob")]).unwrap();
    let found = cq.changed_since(since).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].updated_at, Some(sim.record(&a).unwrap().modified), "the newest history entry");
    assert!(!found[0].fields.extra.keys().any(|k| k.contains("history")), "{:?}", found[0].fields.extra);
    let mut by_modified = config_for(sim.base_url(), sim.config());
    by_modified.modified_field = "dcterms:modified".into();
    let by_modified = ClearQuestAdapter::new(by_modified).unwrap();
    assert!(by_modified.changed_since(since).await.unwrap().is_empty(), "nothing carries dcterms:modified");

    // An installation that maps dcterms:modified can say so.
    let mapped =
        ClearQuestSim::spawn(ClearQuestSimConfig { present_modified: true, ..Default::default() }).await.unwrap();
    let mut config = config_for(mapped.base_url(), mapped.config());
    config.modified_field = "dcterms:modified".into();
    let cq = ClearQuestAdapter::new(config).unwrap();
    let b = mapped.create_as_user("alice", [("Headline", "b")]);
    let found = cq.changed_since(since).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].updated_at, Some(mapped.record(&b).unwrap().modified));
}
