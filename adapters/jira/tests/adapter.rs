//! The Jira adapter against the Jira simulator on loopback.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use deskgate_adapter::{Adapter, RemoteId, RemoteLink, RemoteNote, TicketFields};
use deskgate_jira::webhook::{self, SignatureError, WebhookEvent};
use deskgate_jira::{ApiVersion, Auth, JiraAdapter, JiraConfig};
use deskgate_sim::Fault;
use deskgate_sim::jira::{JiraSim, JiraSimConfig, JiraWebhookTarget};
use url::Url;

#[path = "support/cloud_api.rs"]
mod cloud_api;

#[path = "support/sim_config.rs"]
mod sim_config;

use sim_config::config_for;

/// The simulated product an API version is served by: v3 only on Cloud.
fn sim_for(version: ApiVersion) -> JiraSimConfig {
    match version {
        ApiVersion::V2 => JiraSimConfig::default(),
        ApiVersion::V3 => JiraSimConfig::cloud(),
    }
}

async fn setup(version: ApiVersion) -> (JiraSim, JiraAdapter) {
    let sim = JiraSim::spawn(sim_for(version)).await.unwrap();
    let adapter = JiraAdapter::new(config_for(&sim, version)).unwrap();
    (sim, adapter)
}

fn incident(title: &str) -> TicketFields {
    TicketFields {
        title: Some(title.into()),
        description: Some("FMK answers 503 for region-h.\n\nSeen since 10:02.".into()),
        priority: Some("High".into()),
        ..TicketFields::default()
    }
}

fn key(s: &str) -> RemoteId {
    RemoteId(s.into())
}

#[tokio::test]
async fn create_v2_places_fields_and_correlation() {
    let (sim, adapter) = setup(ApiVersion::V2).await;
    let ticket = adapter.create(&incident("FMK down"), "INC-2026-000042").await.unwrap();
    assert_eq!(ticket.id, key("DRIFT-1"));
    assert_eq!(ticket.display_id, "DRIFT-1");
    assert_eq!(ticket.url.as_deref(), Some(format!("{}/browse/DRIFT-1", sim.base_url()).as_str()));
    assert_eq!(ticket.fields.status.as_deref(), Some("Open"));
    assert_eq!(ticket.fields.priority.as_deref(), Some("High"));
    assert_eq!(ticket.fields.extra.get("customfield_10042").map(String::as_str), Some("INC-2026-000042"));
    assert!(ticket.updated_at.is_some());

    let issue = sim.issue("DRIFT-1").unwrap();
    assert_eq!(issue.id, 10000);
    assert_eq!(issue.description.as_deref(), Some("FMK answers 503 for region-h.\n\nSeen since 10:02."));
    assert_eq!(issue.custom["customfield_10042"], "INC-2026-000042");
    let requests = sim.requests();
    assert_eq!(requests.len(), 1);
    insta::assert_json_snapshot!("create_v2_body", requests[0]);
}

#[tokio::test]
async fn create_v3_sends_adf_and_reads_it_back() {
    let (sim, adapter) = setup(ApiVersion::V3).await;
    let ticket = adapter.create(&incident("FMK down"), "INC-2026-000043").await.unwrap();
    assert_eq!(ticket.fields.description.as_deref(), Some("FMK answers 503 for region-h.\n\nSeen since 10:02."));
    let issue_json = sim.issue_json("DRIFT-1", ApiVersion::V3).unwrap();
    assert_eq!(issue_json["fields"]["description"]["type"], "doc");
    insta::assert_json_snapshot!("create_v3_body", sim.requests()[0]);
    cloud_api::check(&sim.seen_requests());
}

#[tokio::test]
async fn create_with_a_status_transitions_after_creating() {
    let (sim, adapter) = setup(ApiVersion::V2).await;
    let mut fields = incident("already being worked");
    fields.status = Some("in progress".into());
    let ticket = adapter.create(&fields, "INC-2026-000050").await.unwrap();
    assert_eq!(ticket.fields.status.as_deref(), Some("In Progress"));
    assert_eq!(sim.issue("DRIFT-1").unwrap().status, "In Progress");
}

#[tokio::test]
async fn a_create_refused_by_jira_is_permanent_and_names_the_field() {
    let (_sim, adapter) = setup(ApiVersion::V2).await;
    let mut fields = incident("bad priority");
    fields.priority = Some("Urgent!!".into());
    let err = adapter.create(&fields, "INC-1").await.unwrap_err();
    assert!(!err.is_retriable());
    assert_eq!(err.status(), Some(400));
    assert!(err.to_string().contains("priority: The priority selected is invalid."), "{err}");

    let mut fields = incident("unknown field");
    fields.extra.insert("customfield_99999".into(), "x".into());
    let err = adapter.create(&fields, "INC-1").await.unwrap_err();
    assert!(err.to_string().contains("customfield_99999"), "{err}");

    let err = adapter.create(&TicketFields::default(), "INC-1").await.unwrap_err();
    assert!(!err.is_retriable());
    assert!(err.to_string().contains("summary"), "{err}");
}

#[tokio::test]
async fn find_by_correlation_matches_exactly() {
    let (_sim, adapter) = setup(ApiVersion::V2).await;
    adapter.create(&incident("one"), "INC-2026-1").await.unwrap();
    adapter.create(&incident("ten"), "INC-2026-10").await.unwrap();

    // `~` is a text match: "INC-2026-1" is found inside "INC-2026-10" too, and the
    // adapter must pick the exact one.
    let one = adapter.find_by_correlation("INC-2026-1").await.unwrap();
    assert_eq!(one.map(|t| t.id), Some(key("DRIFT-1")));
    let ten = adapter.find_by_correlation("INC-2026-10").await.unwrap();
    assert_eq!(ten.map(|t| t.id), Some(key("DRIFT-2")));
    assert!(adapter.find_by_correlation("INC-2026-99").await.unwrap().is_none());
}

#[tokio::test]
async fn correlation_by_label_alone_works_too() {
    let sim = JiraSim::spawn(JiraSimConfig::default()).await.unwrap();
    let mut config = config_for(&sim, ApiVersion::V2);
    config.correlation_field = None;
    config.correlation_label_prefix = Some("deskgate-".into());
    let adapter = JiraAdapter::new(config).unwrap();
    adapter.create(&incident("one"), "INC-7").await.unwrap();
    assert_eq!(sim.issue("DRIFT-1").unwrap().labels, vec!["deskgate-INC-7"]);
    let found = adapter.find_by_correlation("INC-7").await.unwrap().unwrap();
    assert_eq!(found.id, key("DRIFT-1"));
    assert!(adapter.find_by_correlation("INC-70").await.unwrap().is_none());
    let search = sim.requests().into_iter().find(|r| r.path.ends_with("/search")).unwrap();
    insta::assert_json_snapshot!("find_by_label_search_body", search);
}

#[tokio::test]
async fn get_reads_the_issue_and_its_notes() {
    let (sim, adapter) = setup(ApiVersion::V2).await;
    adapter.create(&incident("FMK down"), "INC-1").await.unwrap();
    sim.comment_as_user("DRIFT-1", "Looking at it").unwrap();
    sim.internal_comment_as_user("DRIFT-1", "Vendor ticket 4711", "Developers").unwrap();
    let ticket = adapter.get(&key("drift-1")).await.unwrap();
    assert_eq!(ticket.id, key("DRIFT-1"));
    assert_eq!(ticket.fields.title.as_deref(), Some("FMK down"));
    assert_eq!(ticket.notes.len(), 2);
    assert_eq!(ticket.notes[0].body, "Looking at it");
    assert!(ticket.notes[0].public);
    assert_eq!(ticket.notes[0].author.as_deref(), Some("Mette Hansen"));
    assert!(!ticket.notes[1].public);

    let err = adapter.get(&key("DRIFT-404")).await.unwrap_err();
    assert!(!err.is_retriable());
    assert_eq!(err.status(), Some(404));
    assert!(err.to_string().contains("Issue does not exist"), "{err}");
}

#[tokio::test]
async fn ids_that_are_not_issue_keys_are_refused_before_any_request() {
    let (sim, adapter) = setup(ApiVersion::V2).await;
    for hostile in ["..", "../../../_sim/served", "DRIFT-1/../.."] {
        let err = adapter.get(&key(hostile)).await.unwrap_err();
        assert!(!err.is_retriable(), "{hostile}");
        assert_eq!(err.status(), None, "{hostile}");
    }
    assert!(sim.faults().served_all().is_empty());
}

#[tokio::test]
async fn update_edits_fields_with_a_put() {
    let (sim, adapter) = setup(ApiVersion::V2).await;
    adapter.create(&incident("FMK down"), "INC-1").await.unwrap();
    let change = TicketFields {
        title: Some("FMK down for all regions".into()),
        priority: Some("Highest".into()),
        assignee: Some("mette.drift".into()),
        ..TicketFields::default()
    };
    let ticket = adapter.update(&key("DRIFT-1"), &change).await.unwrap();
    assert_eq!(ticket.fields.priority.as_deref(), Some("Highest"));
    assert_eq!(ticket.fields.title.as_deref(), Some("FMK down for all regions"));
    let issue = sim.issue("DRIFT-1").unwrap();
    assert_eq!(issue.assignee.as_deref(), Some("5b10ac8d82e05b22cc7d4ef5"));
    let put = sim.requests().into_iter().find(|r| r.method == "PUT").unwrap();
    insta::assert_json_snapshot!("update_put_body", put);
}

#[tokio::test]
async fn status_changes_take_the_transition_to_the_wanted_status() {
    let (sim, adapter) = setup(ApiVersion::V2).await;
    adapter.create(&incident("FMK down"), "INC-1").await.unwrap();
    let to = |status: &str| TicketFields { status: Some(status.into()), ..TicketFields::default() };

    let ticket = adapter.update(&key("DRIFT-1"), &to("In Progress")).await.unwrap();
    assert_eq!(ticket.fields.status.as_deref(), Some("In Progress"));

    // Already there: nothing to do, nothing posted.
    let before = sim.faults().served("POST /rest/api/2/issue/DRIFT-1/transitions");
    adapter.update(&key("DRIFT-1"), &to("in progress")).await.unwrap();
    assert_eq!(sim.faults().served("POST /rest/api/2/issue/DRIFT-1/transitions"), before);

    // A status the workflow does not have: permanent, nothing posted (no walking
    // about looking for it), and it says why.
    let err = adapter.update(&key("DRIFT-1"), &to("Triage")).await.unwrap_err();
    assert!(!err.is_retriable());
    let message = err.to_string();
    assert!(message.contains("no transition from 'In Progress' to 'Triage'"), "{message}");
    assert!(message.contains("'Resolved'"), "{message}");
    assert!(message.contains("'Pending Release'"), "{message}");
    assert_eq!(sim.issue("DRIFT-1").unwrap().status, "In Progress");
    assert_eq!(sim.faults().served("POST /rest/api/2/issue/DRIFT-1/transitions"), before);

    let mut resolve = to("Resolved");
    resolve.extra.insert("resolution".into(), "Fixed".into());
    let ticket = adapter.update(&key("DRIFT-1"), &resolve).await.unwrap();
    assert_eq!(ticket.fields.status.as_deref(), Some("Resolved"));
    assert_eq!(ticket.fields.extra.get("resolution").map(String::as_str), Some("Fixed"));
    adapter.update(&key("DRIFT-1"), &to("Closed")).await.unwrap();

    let transitions: Vec<_> = sim.requests().into_iter().filter(|r| r.path.ends_with("/transitions")).collect();
    assert_eq!(transitions.len(), 3, "one POST per successful change");
    insta::assert_json_snapshot!("transition_bodies", transitions);
}

/// The transition ids posted for `key`, in order.
fn posted_transitions(sim: &JiraSim, key: &str) -> Vec<String> {
    let path = format!("/rest/api/2/issue/{key}/transitions");
    sim.requests()
        .into_iter()
        .filter(|r| r.path == path)
        .map(|r| r.body["transition"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_resolution_goes_only_to_a_transition_whose_screen_takes_it() {
    let (sim, adapter) = setup(ApiVersion::V2).await;
    adapter.create(&incident("FMK down"), "INC-1").await.unwrap();
    // Cancelling: Won't Do has no screen, and sets its resolution itself.
    let mut cancel = TicketFields { status: Some("Won't Do".into()), ..TicketFields::default() };
    cancel.extra.insert("resolution".into(), "Won't Do".into());
    let ticket = adapter.update(&key("DRIFT-1"), &cancel).await.unwrap();
    assert_eq!(ticket.fields.status.as_deref(), Some("Won't Do"));
    let issue = sim.issue("DRIFT-1").unwrap();
    assert_eq!(issue.resolution.as_deref(), Some("Won't Do"));
    let posted: Vec<_> = sim.requests().into_iter().filter(|r| r.path.ends_with("/transitions")).collect();
    assert_eq!(posted.len(), 1);
    assert_eq!(
        posted[0].body,
        serde_json::json!({"transition": {"id": "101"}}),
        "no fields for a screenless transition"
    );

    // Resolving: Resolve Issue's screen takes the resolution, so it is sent.
    adapter.create(&incident("FMK slow"), "INC-2").await.unwrap();
    let mut resolve = TicketFields { status: Some("Resolved".into()), ..TicketFields::default() };
    resolve.extra.insert("resolution".into(), "Fixed".into());
    adapter.update(&key("DRIFT-2"), &resolve).await.unwrap();
    assert_eq!(sim.issue("DRIFT-2").unwrap().resolution.as_deref(), Some("Fixed"));
}

#[tokio::test]
async fn a_status_several_transitions_away_is_reached_by_walking_the_workflow() {
    let (sim, adapter) = setup(ApiVersion::V2).await;
    let to = |status: &str| TicketFields { status: Some(status.into()), ..TicketFields::default() };
    adapter.create(&incident("FMK down"), "INC-1").await.unwrap();

    // Open → Closed: no transition leads there; Resolve Issue then Close Issue does.
    let ticket = adapter.update(&key("DRIFT-1"), &to("Closed")).await.unwrap();
    assert_eq!(ticket.fields.status.as_deref(), Some("Closed"));
    assert_eq!(posted_transitions(&sim, "DRIFT-1"), ["61", "81"]);

    // Closed → In Progress: Reopen Issue, then Start Progress.
    adapter.update(&key("DRIFT-1"), &to("In Progress")).await.unwrap();
    assert_eq!(posted_transitions(&sim, "DRIFT-1"), ["61", "81", "91", "11"]);

    // Open → Pending Release, never seen before: through In Progress (the nearest
    // status category), not through a done status.
    adapter.create(&incident("FMK slow"), "INC-2").await.unwrap();
    adapter.update(&key("DRIFT-2"), &to("Pending Release")).await.unwrap();
    assert_eq!(sim.issue("DRIFT-2").unwrap().status, "Pending Release");
    assert_eq!(posted_transitions(&sim, "DRIFT-2"), ["11", "51"]);

    // Resolved → Open: Reopen Issue, Start Progress, Stop Progress; the transitions
    // are read again after every step.
    adapter.create(&incident("FMK gone"), "INC-3").await.unwrap();
    adapter.update(&key("DRIFT-3"), &to("Resolved")).await.unwrap();
    let reads = sim.faults().served("GET /rest/api/2/issue/DRIFT-3/transitions");
    adapter.update(&key("DRIFT-3"), &to("Open")).await.unwrap();
    assert_eq!(sim.issue("DRIFT-3").unwrap().status, "Open");
    assert_eq!(posted_transitions(&sim, "DRIFT-3"), ["61", "91", "11", "21"]);
    assert_eq!(sim.faults().served("GET /rest/api/2/issue/DRIFT-3/transitions"), reads + 3);
}

#[tokio::test]
async fn a_walk_that_cannot_read_the_wanted_status_is_retried_not_given_up() {
    let (sim, adapter) = setup(ApiVersion::V2).await;
    let to = |status: &str| TicketFields { status: Some(status.into()), ..TicketFields::default() };
    adapter.create(&incident("FMK down"), "INC-1").await.unwrap();
    sim.faults().only_on_paths_containing("/status/");
    sim.faults().push([Fault::ServerError]);
    let err = adapter.update(&key("DRIFT-1"), &to("Pending Release")).await.unwrap_err();
    assert!(err.is_retriable(), "{err}");
    assert!(posted_transitions(&sim, "DRIFT-1").is_empty(), "no step taken blind");
    adapter.update(&key("DRIFT-1"), &to("Pending Release")).await.unwrap();
    assert_eq!(sim.issue("DRIFT-1").unwrap().status, "Pending Release");
}

#[tokio::test]
async fn service_management_internal_comments_are_read_as_internal() {
    let sim = JiraSim::spawn(JiraSimConfig { service_management: true, ..JiraSimConfig::default() }).await.unwrap();
    let adapter = JiraAdapter::new(config_for(&sim, ApiVersion::V2)).unwrap();
    adapter.create(&incident("FMK down"), "INC-1").await.unwrap();
    sim.service_desk_comment_as_user("DRIFT-1", "Agents only: DB failover", false).unwrap();
    sim.service_desk_comment_as_user("DRIFT-1", "We are on it", true).unwrap();
    let read = adapter.get(&key("DRIFT-1")).await.unwrap();
    let public: Vec<_> = read.notes.iter().map(|n| (n.body.as_str(), n.public)).collect();
    assert_eq!(public, [("Agents only: DB failover", false), ("We are on it", true)]);
    let listed = adapter.comments(&key("DRIFT-1")).await.unwrap();
    assert_eq!(listed.iter().map(|n| n.public).collect::<Vec<_>>(), [false, true]);
}

#[tokio::test]
async fn comments_by_the_integration_user_are_not_read_back() {
    let sim = JiraSim::spawn(JiraSimConfig::default()).await.unwrap();
    let mut config = config_for(&sim, ApiVersion::V2);
    // A Data Center Jira names its users by user name.
    config.integration_user = Some(sim.config().api_user.name.clone());
    let adapter = JiraAdapter::new(config).unwrap();
    adapter.create(&incident("FMK down"), "INC-1").await.unwrap();
    let note = RemoteNote { body: "Forwarded by deskgate".into(), public: true, author: None, at: None };
    adapter.add_note(&key("DRIFT-1"), &note).await.unwrap();
    sim.comment_as_user("DRIFT-1", "Please send logs").unwrap();
    assert_eq!(sim.comments("DRIFT-1").len(), 2);
    let read = adapter.get(&key("DRIFT-1")).await.unwrap();
    assert_eq!(read.notes.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(), ["Please send logs"]);
    let listed = adapter.comments(&key("DRIFT-1")).await.unwrap();
    assert_eq!(listed.iter().map(|n| n.body.as_str()).collect::<Vec<_>>(), ["Please send logs"]);
}

#[tokio::test]
async fn internal_notes_take_the_configured_visibility() {
    let sim = JiraSim::spawn(JiraSimConfig::default()).await.unwrap();
    let mut config = config_for(&sim, ApiVersion::V2);
    config.internal_comments = deskgate_jira::InternalCommentVisibility::Group("jira-software-users".into());
    let adapter = JiraAdapter::new(config).unwrap();
    adapter.create(&incident("FMK down"), "INC-1").await.unwrap();
    let note = RemoteNote { body: "Root cause: DB failover".into(), public: false, author: None, at: None };
    adapter.add_note(&key("DRIFT-1"), &note).await.unwrap();
    let comments = sim.comments("DRIFT-1");
    let visibility = comments[0].visibility.as_ref().unwrap();
    assert_eq!((visibility.kind.as_str(), visibility.value.as_str()), ("group", "jira-software-users"));
}

#[tokio::test]
async fn notes_become_public_or_role_restricted_comments() {
    for version in [ApiVersion::V2, ApiVersion::V3] {
        let (sim, adapter) = setup(version).await;
        adapter.create(&incident("FMK down"), "INC-1").await.unwrap();
        let note = |body: &str, public| RemoteNote { body: body.into(), public, author: None, at: None };
        adapter.add_note(&key("DRIFT-1"), &note("We are on it.\nETA 11:00", true)).await.unwrap();
        adapter.add_note(&key("DRIFT-1"), &note("Root cause: DB failover", false)).await.unwrap();
        let comments = sim.comments("DRIFT-1");
        assert_eq!(comments.len(), 2);
        assert_eq!(comments[0].body, "We are on it.\nETA 11:00");
        assert_eq!(comments[0].visibility, None);
        assert_eq!(comments[1].visibility.as_ref().map(|v| v.value.as_str()), Some("Administrators"));
        let notes = adapter.comments(&key("DRIFT-1")).await.unwrap();
        assert_eq!(notes[0].body, "We are on it.\nETA 11:00");
        assert!(notes[0].public && !notes[1].public);
        let posted: Vec<_> = sim.requests().into_iter().filter(|r| r.path.ends_with("/comment")).collect();
        insta::assert_json_snapshot!(format!("comment_bodies_v{}", version.as_str()), posted);
        if version == ApiVersion::V3 {
            cloud_api::check(&sim.seen_requests());
        }
    }
}

#[tokio::test]
async fn remote_links_are_idempotent_on_global_id() {
    let (sim, adapter) = setup(ApiVersion::V2).await;
    adapter.create(&incident("FMK down"), "INC-1").await.unwrap();
    let link = RemoteLink {
        global_id: "deskgate:INC-2026-000042:sds".into(),
        title: "FMK down".into(),
        url: Some("https://cq.example.dk/cqweb/#/SAMPL00000042".into()),
        display_id: "SAMPL00000042".into(),
    };
    adapter.link(&key("DRIFT-1"), &link).await.unwrap();
    adapter.link(&key("DRIFT-1"), &link).await.unwrap();
    let links = sim.remote_links("DRIFT-1");
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0]["object"]["title"], "SAMPL00000042");

    let other = RemoteLink { global_id: "deskgate:INC-2026-000042:region-h".into(), url: None, ..link.clone() };
    adapter.link(&key("DRIFT-1"), &other).await.unwrap();
    assert_eq!(sim.remote_links("DRIFT-1").len(), 2);
    insta::assert_json_snapshot!("remote_link_body", sim.requests()[1]);
}

#[tokio::test]
async fn a_link_also_writes_the_linked_id_into_the_link_field_once() {
    let mut sim_config = JiraSimConfig::default();
    sim_config.custom_fields.push(("customfield_10043".into(), "ClearQuest id".into()));
    let sim = JiraSim::spawn(sim_config).await.unwrap();
    let mut config = config_for(&sim, ApiVersion::V2);
    config.link_field = Some("customfield_10043".into());
    let adapter = JiraAdapter::new(config).unwrap();
    adapter.create(&incident("FMK down"), "INC-1").await.unwrap();
    let link = RemoteLink {
        global_id: "deskgate:INC-2026-000042:sds".into(),
        title: "FMK down".into(),
        url: None,
        display_id: "SAMPL00000042".into(),
    };
    adapter.link(&key("DRIFT-1"), &link).await.unwrap();
    let issue = sim.issue("DRIFT-1").unwrap();
    assert_eq!(issue.custom.get("customfield_10043"), Some(&serde_json::json!("SAMPL00000042")), "{issue:?}");
    assert_eq!(issue.remote_links.len(), 1);

    // Again (a retried delivery): the field is not written a second time.
    let edits = |sim: &JiraSim| sim.requests().iter().filter(|r| r.method == "PUT").count();
    assert_eq!(edits(&sim), 1);
    adapter.link(&key("DRIFT-1"), &link).await.unwrap();
    assert_eq!(edits(&sim), 1, "{:?}", sim.requests());
    assert_eq!(sim.issue("DRIFT-1").unwrap().remote_links.len(), 1);

    // A field the instance does not know is the operator's mistake: permanent, named.
    let sim = JiraSim::spawn(JiraSimConfig::default()).await.unwrap();
    let mut config = config_for(&sim, ApiVersion::V2);
    config.link_field = Some("customfield_10043".into());
    let adapter = JiraAdapter::new(config).unwrap();
    adapter.create(&incident("FMK down"), "INC-1").await.unwrap();
    let err = adapter.link(&key("DRIFT-1"), &link).await.unwrap_err();
    assert!(!err.is_retriable(), "{err}");
    assert!(err.to_string().contains("customfield_10043"), "{err}");

    let mut config = config_for(&sim, ApiVersion::V2);
    config.link_field = Some("ClearQuest id".into());
    assert!(JiraAdapter::new(config).is_err());
}

#[tokio::test]
async fn changed_since_searches_by_minute_oldest_first() {
    let (sim, adapter) = setup(ApiVersion::V2).await;
    adapter.create(&incident("first"), "INC-1").await.unwrap();
    sim.advance_clock(Duration::from_secs(600));
    adapter.create(&incident("second"), "INC-2").await.unwrap();
    let first = sim.issue("DRIFT-1").unwrap();

    let all =
        adapter.changed_since(first.updated.checked_sub(jiff::SignedDuration::from_secs(60)).unwrap()).await.unwrap();
    let keys: Vec<_> = all.iter().map(|t| t.display_id.as_str()).collect();
    assert_eq!(keys, ["DRIFT-1", "DRIFT-2"]);

    let later =
        adapter.changed_since(first.updated.checked_add(jiff::SignedDuration::from_secs(300)).unwrap()).await.unwrap();
    let keys: Vec<_> = later.iter().map(|t| t.display_id.as_str()).collect();
    assert_eq!(keys, ["DRIFT-2"]);

    // An operator change moves an issue to the end.
    sim.advance_clock(Duration::from_secs(600));
    sim.comment_as_user("DRIFT-1", "any news?").unwrap();
    let keys: Vec<_> = adapter.changed_since(first.updated).await.unwrap().into_iter().map(|t| t.display_id).collect();
    assert_eq!(keys, ["DRIFT-2", "DRIFT-1"]);
}

#[tokio::test]
async fn changed_since_follows_pages() {
    let sim = JiraSim::spawn(JiraSimConfig::default()).await.unwrap();
    let mut config = config_for(&sim, ApiVersion::V2);
    config.page_size = 2;
    let adapter = JiraAdapter::new(config).unwrap();
    for i in 0..5 {
        sim.create_as_user(serde_json::json!({ "summary": format!("issue {i}") })).unwrap();
    }
    let all = adapter.changed_since(jiff::Timestamp::UNIX_EPOCH).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(sim.faults().served("POST /rest/api/2/search"), 3);
}

#[tokio::test]
async fn bearer_auth_works_and_bad_credentials_are_permanent() {
    let sim = JiraSim::spawn(JiraSimConfig::default()).await.unwrap();
    let mut config = config_for(&sim, ApiVersion::V2);
    config.auth = Auth::Bearer { token: sim.config().bearer_token.clone() };
    let adapter = JiraAdapter::new(config.clone()).unwrap();
    adapter.create(&incident("via PAT"), "INC-1").await.unwrap();

    config.auth = Auth::Bearer { token: "wrong-token-value".into() };
    let adapter = JiraAdapter::new(config).unwrap();
    let err = adapter.get(&key("DRIFT-1")).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert!(!err.is_retriable());
    assert!(!err.to_string().contains("wrong-token-value"));
}

#[tokio::test]
async fn secrets_stay_out_of_debug_output() {
    let (_sim, adapter) = setup(ApiVersion::V2).await;
    let printed = format!("{adapter:?}");
    assert!(!printed.contains("jira-api-token"), "{printed}");
    assert!(printed.contains("<redacted>"), "{printed}");
    let bearer = Auth::Bearer { token: "pat-123".into() };
    assert!(!format!("{bearer:?}").contains("pat-123"));
}

#[tokio::test]
async fn rate_limits_are_retriable_with_retry_after() {
    let (sim, adapter) = setup(ApiVersion::V2).await;
    sim.faults().push([Fault::RateLimited { retry_after_secs: 7 }]);
    let err = adapter.create(&incident("x"), "INC-1").await.unwrap_err();
    assert!(err.is_retriable());
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(sim.count(), 0);
}

#[tokio::test]
async fn server_errors_are_retriable() {
    let (sim, adapter) = setup(ApiVersion::V2).await;
    sim.faults().push([Fault::ServerError]);
    let err = adapter.create(&incident("x"), "INC-1").await.unwrap_err();
    assert!(err.is_retriable());
    assert_eq!(err.status(), Some(500));
    sim.faults().push([Fault::Unavailable]);
    let err = adapter.find_by_correlation("INC-1").await.unwrap_err();
    assert_eq!((err.is_retriable(), err.status()), (true, Some(503)));
    // And the retry succeeds once the remote is back.
    adapter.create(&incident("x"), "INC-1").await.unwrap();
}

#[tokio::test]
async fn answers_slower_than_the_timeout_are_retriable() {
    let sim = JiraSim::spawn(JiraSimConfig::default()).await.unwrap();
    let mut config = config_for(&sim, ApiVersion::V2);
    config.timeout = Duration::from_millis(200);
    let adapter = JiraAdapter::new(config).unwrap();
    sim.faults().push([Fault::Slow { millis: 3_000 }]);
    let err = adapter.get(&key("DRIFT-1")).await.unwrap_err();
    assert!(err.is_retriable(), "{err}");
    assert_eq!(err.status(), None);
    assert!(err.to_string().contains("timed out"), "{err}");
}

#[tokio::test]
async fn connection_refused_is_retriable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let config = JiraConfig::new(
        Url::parse(&format!("http://{addr}")).unwrap(),
        ApiVersion::V2,
        Auth::Bearer { token: "t".into() },
        "DRIFT",
    );
    let adapter = JiraAdapter::new(config).unwrap();
    let err = adapter.get(&key("DRIFT-1")).await.unwrap_err();
    assert!(err.is_retriable(), "{err}");
}

/// A server that answers every request the same way, to test what Jira never sends.
async fn odd_server(status: u16, headers: Vec<(&'static str, &'static str)>, body: &'static str) -> String {
    let app = axum::Router::new().fallback(move || {
        let headers = headers.clone();
        async move {
            let mut response = axum::response::Response::new(axum::body::Body::from(body));
            *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
            for (k, v) in headers {
                response.headers_mut().insert(k, axum::http::HeaderValue::from_static(v));
            }
            response
        }
    });
    deskgate_sim::loopback::serve(app).await.unwrap()
}

fn adapter_at(base: &str) -> JiraAdapter {
    JiraAdapter::new(JiraConfig::new(
        Url::parse(base).unwrap(),
        ApiVersion::V2,
        Auth::Bearer { token: "t".into() },
        "DRIFT",
    ))
    .unwrap()
}

#[tokio::test]
async fn unparsable_answers_are_permanent() {
    let base = odd_server(200, vec![], "<html>maintenance</html>").await;
    let err = adapter_at(&base).get(&key("DRIFT-1")).await.unwrap_err();
    assert!(!err.is_retriable());
    assert!(err.to_string().contains("not what Jira sends"), "{err}");
    assert_eq!(err.body(), Some("<html>maintenance</html>"));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let base = odd_server(302, vec![("location", "http://127.0.0.1:9/elsewhere")], "").await;
    let err = adapter_at(&base).get(&key("DRIFT-1")).await.unwrap_err();
    assert!(!err.is_retriable());
    assert_eq!(err.status(), Some(302));
    assert!(err.to_string().contains("not followed"), "{err}");
}

#[tokio::test]
async fn config_is_checked_up_front() {
    let base = Url::parse("http://127.0.0.1:1").unwrap();
    let auth = Auth::Bearer { token: "t".into() };
    let mut config = JiraConfig::new(base.clone(), ApiVersion::V2, auth.clone(), "DRIFT");
    config.correlation_field = None;
    assert!(JiraAdapter::new(config).is_err());
    let mut config = JiraConfig::new(base.clone(), ApiVersion::V2, auth.clone(), "DRIFT");
    config.correlation_field = Some("summary".into());
    assert!(JiraAdapter::new(config).is_err());
    let config = JiraConfig::new(base.clone(), ApiVersion::V2, auth.clone(), "DR IFT");
    assert!(JiraAdapter::new(config).is_err());
    let config = JiraConfig::new(Url::parse("ftp://x/").unwrap(), ApiVersion::V2, auth.clone(), "DRIFT");
    assert!(JiraAdapter::new(config).is_err());
    // Data Center has no REST API 3.
    let mut config = JiraConfig::new(base, ApiVersion::V3, auth, "DRIFT");
    config.deployment = deskgate_jira::Deployment::DataCenter;
    assert!(matches!(JiraAdapter::new(config), Err(deskgate_jira::ConfigError::NoV3OnDataCenter)));
}

// ---------------------------------------------------------------------------
// webhooks

/// A received webhook: raw body and `X-Hub-Signature` value.
type Hook = (Vec<u8>, Option<String>);

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Hook>>>);

async fn receiver() -> (String, Received) {
    let received = Received::default();
    let store = received.clone();
    let app = axum::Router::new().route(
        "/hooks/jira",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                let signature = headers.get(webhook::SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
                store.0.lock().unwrap().push((body.to_vec(), signature));
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let base = deskgate_sim::loopback::serve(app).await.unwrap();
    (format!("{base}/hooks/jira"), received)
}

#[tokio::test]
async fn webhooks_are_signed_and_carry_changelogs() {
    let (url, received) = receiver().await;
    let secret = "whsec-drift-42";
    let sim = JiraSim::spawn(JiraSimConfig {
        webhook: Some(JiraWebhookTarget { url, secret: Some(secret.into()) }),
        ..JiraSimConfig::cloud()
    })
    .await
    .unwrap();
    let adapter = JiraAdapter::new(config_for(&sim, ApiVersion::V3)).unwrap();
    adapter.create(&incident("FMK down"), "INC-9").await.unwrap();
    adapter
        .update(&key("DRIFT-1"), &TicketFields { status: Some("In Progress".into()), ..TicketFields::default() })
        .await
        .unwrap();
    sim.comment_as_user("DRIFT-1", "Please send logs").unwrap();
    sim.set_priority_as_user("DRIFT-1", "Highest").unwrap();
    sim.webhooks_settled().await;

    let deliveries = received.0.lock().unwrap().clone();
    let mut events = Vec::new();
    for (body, signature) in &deliveries {
        assert_eq!(webhook::verify(secret.as_bytes(), body, signature.as_deref()), Ok(()));
        events.push(serde_json::from_slice::<WebhookEvent>(body).unwrap());
    }
    let kinds: Vec<_> = events.iter().map(|e| e.webhook_event.as_str()).collect();
    assert_eq!(
        kinds,
        [
            webhook::ISSUE_CREATED,
            webhook::ISSUE_UPDATED,
            webhook::ISSUE_UPDATED,
            webhook::COMMENT_CREATED,
            webhook::ISSUE_UPDATED,
        ]
    );
    let handle = |e: &WebhookEvent| e.user.as_ref().and_then(|u| u.handle().map(str::to_owned));
    assert_eq!(
        handle(&events[0]).as_deref(),
        Some("557058:deskgate-integration"),
        "REST changes are attributed to the integration user"
    );
    let status = events[1].change("status").unwrap();
    assert_eq!(status.from_string.as_deref(), Some("Open"));
    assert_eq!(status.to_string.as_deref(), Some("In Progress"));
    assert_eq!(events[2].issue_event_type_name.as_deref(), Some("issue_commented"));
    let comment = events[3].comment.as_ref().unwrap();
    assert_eq!(comment.body.to_text(), "Please send logs");
    assert_eq!(comment.author.as_ref().and_then(|a| a.display_name.as_deref()), Some("Mette Hansen"));
    let priority = events[4].change("priority").unwrap();
    assert_eq!((priority.from_string.as_deref(), priority.to_string.as_deref()), (Some("High"), Some("Highest")));
    assert_eq!(events[0].issue.as_ref().unwrap().fields.extra["customfield_10042"], "INC-9");

    // A tampered body or a missing header is refused.
    let (body, signature) = &deliveries[0];
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert_eq!(webhook::verify(secret.as_bytes(), &tampered, signature.as_deref()), Err(SignatureError::Mismatch));
    assert_eq!(webhook::verify(secret.as_bytes(), body, None), Err(SignatureError::Missing));
    assert_eq!(webhook::verify(b"another-secret", body, signature.as_deref()), Err(SignatureError::Mismatch));
    cloud_api::check(&sim.seen_requests());
}

#[tokio::test]
async fn edits_that_change_nothing_fire_no_webhook() {
    let (url, received) = receiver().await;
    let sim = JiraSim::spawn(JiraSimConfig {
        webhook: Some(JiraWebhookTarget { url, secret: None }),
        ..JiraSimConfig::default()
    })
    .await
    .unwrap();
    let adapter = JiraAdapter::new(config_for(&sim, ApiVersion::V2)).unwrap();
    adapter.create(&incident("FMK down"), "INC-9").await.unwrap();
    adapter.update(&key("DRIFT-1"), &incident("FMK down")).await.unwrap();
    sim.webhooks_settled().await;
    let deliveries = received.0.lock().unwrap().clone();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].1, None, "no secret, no signature");
}

#[tokio::test]
async fn data_center_comment_events_name_the_issue_only_in_the_comment_url() {
    let (url, received) = receiver().await;
    let sim = JiraSim::spawn(JiraSimConfig {
        webhook: Some(JiraWebhookTarget { url, secret: None }),
        comment_events_without_issue: true,
        ..JiraSimConfig::default()
    })
    .await
    .unwrap();
    let adapter = JiraAdapter::new(config_for(&sim, ApiVersion::V2)).unwrap();
    adapter.create(&incident("FMK down"), "INC-9").await.unwrap();
    sim.comment_as_user("DRIFT-1", "Please send logs").unwrap();
    sim.webhooks_settled().await;
    let events: Vec<WebhookEvent> =
        received.0.lock().unwrap().iter().map(|(body, _)| serde_json::from_slice(body).unwrap()).collect();
    let created = events.iter().find(|e| e.webhook_event == webhook::COMMENT_CREATED).unwrap();
    assert!(created.issue.is_none(), "{created:?}");
    let comment = created.comment.as_ref().unwrap();
    assert_eq!(webhook::issue_id_of_comment(&comment.self_url), Some("10000"));
    assert_eq!(created.actor().and_then(|u| u.name.as_deref()), Some("mette.drift"));
}
