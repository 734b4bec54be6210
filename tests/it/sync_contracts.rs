//! The synchronisation contracts of DESIGN §8 against the simulators: order per
//! incident, one stuck incident not blocking another, no echo (Jira webhooks and
//! ServiceNow pushes of deskgate's own writes), authenticated change capture, and
//! the P1/P2 close guard for changes made in a remote desk's own tool.
//!
//! The simulators' webhooks reach the gateway through a relay in this process, which
//! records every answer the gateway gave and can hold deliveries back (the gateway's
//! address is only known once the simulators it calls are running).

use crate::kit;

use deskgate_sim::Fault;
use kit::{Federation, Fmk, ref_of, wait_until};
use reqwest::StatusCode;
use serde_json::{Value, json};

const JIRA_HOOK_SECRET: &str = "drift-webhook-secret";

// --- the federation ---------------------------------------------------------------

/// Region H's ServiceNow pushes, the national desk on ClearQuest (default polling),
/// FMK on the native API, the operations supplier's Jira with webhooks when
/// `jira_webhooks`; every webhook through the relay.
async fn federation(jira_webhooks: bool) -> Federation {
    federation_with(jira_webhooks, |b| b).await
}

/// [`federation`], with `edit` applied to its builder.
async fn federation_with(
    jira_webhooks: bool,
    edit: impl FnOnce(kit::federation::FederationBuilder) -> kit::federation::FederationBuilder,
) -> Federation {
    let b = Federation::builder()
        .max_attempts(50)
        .poll_ms(None)
        .open_rate_limits()
        .fmk(Fmk::Native)
        .servicenow_pushes()
        .jira_hook_secret(JIRA_HOOK_SECRET);
    let b = if jira_webhooks { b.jira_webhooks(JIRA_HOOK_SECRET) } else { b };
    edit(b).start().await
}

/// Region H creates a ticket in ServiceNow and forwards it: (incident id, sys_id).
async fn report(f: &Federation, title: &str) -> (String, String) {
    let fields = [("short_description", title), ("description", "Reported by phone"), ("impact", "2")];
    let body = json!({
        "title": title, "description": "Reported by phone", "service": "NSP",
        "urgency": "medium", "impact": "medium",
    });
    f.report_ticket(&fields, body).await
}

/// Report, triage as `priority` and assign to the operations supplier; settled.
async fn assigned_to_drift(f: &Federation, title: &str, priority: &str) -> (String, String, String) {
    let (id, sys_id) = report(f, title).await;
    let key = crate::support::assign_to_drift(f, &id, priority).await;
    (id, sys_id, key)
}

// --- order per incident -------------------------------------------------------------

/// What a write to the origin's ServiceNow record said, in canonical terms.
fn servicenow_event(body: &Value) -> Option<String> {
    let s = |k: &str| body.get(k).and_then(Value::as_str);
    if let (Some(impact), Some(urgency)) = (s("impact"), s("urgency")) {
        let p = match (impact, urgency) {
            ("1", "1") => "P1",
            ("1", "2") => "P2",
            ("2", "2") => "P3",
            ("3", "3") => "P4",
            other => panic!("unexpected impact/urgency {other:?}"),
        };
        return Some(format!("priority {p}"));
    }
    if let Some(state) = s("state") {
        let status = match (state, s("hold_reason")) {
            ("2", _) => "in_progress",
            ("3", Some("1")) => "awaiting_info",
            ("3", Some("4")) => "on_hold",
            ("3", Some("5")) => "pending_release",
            other => panic!("unexpected state/hold_reason {other:?}"),
        };
        return Some(format!("status {status}"));
    }
    s("comments").and_then(|c| c.split_once(" #")).map(|(_, rest)| format!("note {}", rest.split(' ').next().unwrap()))
}

const SUPPLIER_STATUSES: [&str; 6] =
    ["on_hold", "in_progress", "awaiting_info", "in_progress", "pending_release", "in_progress"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_to_one_incident_reach_every_desk_in_the_order_they_were_accepted() {
    // Delivery order only: the supplier's Jira does not call back here (echoes of
    // older writes are the subject of their own test below).
    let f = federation(false).await;
    let (id, sys_id, key) = assigned_to_drift(&f, "NSP: lookups time out", "P3").await;
    let (status, body) = f.patch("drift", &id, json!({"status": "in_progress"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;
    let history_before = f.incident(&id).await["history"].as_array().unwrap().len();
    let sn_before = f.region_h.requests().len();
    let cq_before = f.sds.received().len();

    // The national desk and the supplier change the incident at the same time: the
    // national desk re-prioritises and comments, the supplier moves the status
    // through the waiting states (always via in progress, as Jira's workflow
    // requires) and changes the priority too.
    let national = async {
        for (n, p) in ["P1", "P4", "P2", "P3", "P1", "P4", "P2", "P3"].iter().enumerate() {
            let (status, body) = f.patch("sds", &id, json!({"priority": p})).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(f.note("sds", &id, &format!("National update {n} #n{n} end")).await, StatusCode::CREATED);
        }
    };
    let supplier = async {
        for (n, s) in SUPPLIER_STATUSES.iter().enumerate() {
            let (status, body) = f.patch("drift", &id, json!({"status": s})).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let p = if n % 2 == 0 { "P2" } else { "P4" };
            let (status, body) = f.patch("drift", &id, json!({"priority": p})).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    };
    tokio::join!(national, supplier);
    f.settled().await;
    assert!(f.dead_letters().await.is_empty(), "{:#?}", f.dead_letters().await);

    // Accepted order: the incident's history (status, priority) and its notes.
    let incident = f.incident(&id).await;
    let history = &incident["history"].as_array().unwrap()[history_before..];
    let accepted = |field: &str, actor: Option<&str>| -> Vec<String> {
        history
            .iter()
            .filter(|h| h["field"] == field && actor.is_none_or(|a| h["actor"] == a))
            .map(|h| format!("{field} {}", h["to"].as_str().unwrap()))
            .collect()
    };
    let notes: Vec<String> = incident["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["body"].as_str().unwrap().split_once(" #").map(|(_, r)| r.split(' ').next().unwrap()))
        .map(|n| format!("note {n}"))
        .collect();
    // The supplier's statuses, exactly as it set them: none of deskgate's own writes
    // to its Jira came back as a change of its own.
    let supplier_statuses: Vec<String> = SUPPLIER_STATUSES.iter().map(|s| format!("status {s}")).collect();
    assert_eq!(accepted("status", Some("drift")), supplier_statuses, "{history:#?}");
    assert!(accepted("priority", None).len() >= 4, "{history:#?}");

    // The origin (ServiceNow) was told everything, each kind in accepted order.
    let sn: Vec<String> = f.region_h.requests()[sn_before..]
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.ends_with(&sys_id))
        .filter_map(|r| servicenow_event(&r.body))
        .collect();
    for kind in ["priority", "status", "note"] {
        let seen: Vec<_> = sn.iter().filter(|e| e.starts_with(kind)).cloned().collect();
        let expected = if kind == "note" { notes.clone() } else { accepted(kind, None) };
        assert_eq!(seen, expected, "{kind} changes at the origin's ServiceNow, in order");
    }

    // The national desk's ClearQuest heard the supplier's priorities in order.
    let cq_priorities: Vec<String> = f.sds.received()[cq_before..]
        .iter()
        .filter(|r| r.method == "PUT")
        .filter_map(|r| {
            let v = r.body.split("<cq:Priority>").nth(1)?.split('<').next()?;
            Some(format!("priority P{}", &v[..1]))
        })
        .collect();
    let supplier_priorities = accepted("priority", Some("drift"));
    let mut rest = cq_priorities.iter();
    for p in &supplier_priorities {
        assert!(rest.any(|c| c == p), "{supplier_priorities:?} is not in order in ClearQuest's {cq_priorities:?}");
    }

    // The supplier's Jira issue ends where the incident ended.
    let issue = f.drift.issue(&key).unwrap();
    assert_eq!(issue.status, "In Progress");
    let final_priority = incident["priority"].as_str().unwrap();
    let jira_priority = match final_priority {
        "P1" => "Highest",
        "P2" => "High",
        "P3" => "Medium",
        _ => "Low",
    };
    assert_eq!(issue.priority, jira_priority);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_desk_answer_for_one_incident_does_not_hold_back_another() {
    let f = federation(true).await;
    let (slow_id, slow_sys_id) = report(&f, "SOSI: token service slow").await;
    let (fast_id, fast_sys_id) = report(&f, "FMK: prescriptions missing").await;
    f.settled().await;

    // Region H's ServiceNow answers slowly for the first incident's record only.
    f.region_h.faults().only_on_paths_containing(slow_sys_id.clone());
    f.region_h.faults().push([Fault::Slow { millis: 3_000 }]);
    assert_eq!(f.note("sds", &slow_id, "We are looking into the token service").await, StatusCode::CREATED);
    let slow_pending = async || f.outbox().await.iter().any(|i| i["incident"] == slow_id.as_str());
    assert!(slow_pending().await, "the slow incident's note waits in the outbox");
    // Its delivery is under way (the fault was taken) before the other change is made.
    assert!(wait_until(async || f.region_h.faults().pending() == 0).await);
    assert_eq!(f.note("sds", &fast_id, "A fix is being deployed").await, StatusCode::CREATED);

    let journal_has = |sys_id: &str, text: &str| f.region_h.journal(sys_id).iter().any(|j| j.value.contains(text));
    assert!(
        wait_until(async || journal_has(&fast_sys_id, "A fix is being deployed")).await,
        "the other incident's note was not delivered"
    );
    // By state: when the other incident's note arrived, this one's was still pending.
    assert!(!journal_has(&slow_sys_id, "looking into the token service"));
    assert!(slow_pending().await, "the slow delivery is still in the outbox");

    // And it does arrive, once.
    f.region_h.faults().clear();
    f.settled().await;
    let delivered =
        f.region_h.journal(&slow_sys_id).iter().filter(|j| j.value.contains("looking into the token service")).count();
    assert_eq!(delivered, 1);
}

// --- no echo ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jira_echoes_of_deskgate_writes_are_not_news_but_a_person_s_change_flows_to_the_national_desk() {
    let f = federation(true).await;
    let (id, _, key) = assigned_to_drift(&f, "NSP: lookups time out", "P3").await;
    let national = ref_of(&f.incident(&id).await, "sds").unwrap()["display_id"].as_str().unwrap().to_owned();
    let hook = "/webhooks/jira/drift";

    // The national desk puts the incident on hold; deskgate moves the Jira issue, and
    // Jira's webhook about that move is held back while the incident moves on.
    let cq_mark = f.sds.received().len();
    f.relay.hold();
    let (status, body) = f.patch("sds", &id, json!({"status": "on_hold"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let written = async || {
        let i = f.incident(&id).await;
        ref_of(&i, "drift").is_some_and(|r| r["written"]["status"] == "on_hold")
    };
    assert!(wait_until(written).await, "the status was not delivered to Jira");
    assert_eq!(f.drift.issue(&key).unwrap().status, "Pending");
    // The next status waits on a slow Jira, so the last value written there stays on_hold.
    f.drift.faults().only_on_paths_containing("/transitions");
    f.drift.faults().push([Fault::Slow { millis: 1_500 }, Fault::Slow { millis: 1_500 }]);
    let (status, body) = f.patch("sds", &id, json!({"status": "in_progress"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Now the echo arrives: deskgate's own "Pending" is recognised, not applied.
    f.relay.release();
    f.settled().await;
    let answers = f.answers(hook, &key);
    let status_echoes: Vec<_> = answers
        .iter()
        .filter(|r| r.request["issue"]["fields"]["status"]["name"] == "Pending")
        .map(|r| r.answer.clone())
        .collect();
    assert!(!status_echoes.is_empty(), "Jira sent no webhook for the move: {answers:#?}");
    for answer in &status_echoes {
        // The same answer whatever became of it: the effect is what is checked below.
        assert_eq!(answer["outcome"], "received", "{answer}");
    }
    let incident = f.incident(&id).await;
    assert_eq!(incident["status"], "in_progress", "the echo did not set the status back");
    assert!(
        incident["history"].as_array().unwrap().iter().all(|h| h["actor"] != "drift"),
        "no change is attributed to the supplier: {:#}",
        incident["history"]
    );
    assert!(f.outbox().await.is_empty());
    assert_eq!(f.drift.issue(&key).unwrap().status, "In Progress");
    // The national desk's ClearQuest got its own two changes (Postponed, then Opened
    // by way of Assigned) and nothing more: the echo was not passed on as the supplier's.
    let actions: Vec<String> = f.sds.received()[cq_mark..]
        .iter()
        .filter_map(|r| r.target.split("rcm.action=").nth(1)?.split('&').next().map(str::to_owned))
        .filter(|a| a != "Modify")
        .collect();
    assert_eq!(actions, ["Postpone", "Assign", "Open"]);
    assert!(answers.iter().all(|r| r.status == 200), "{answers:#?}");

    // A person in Jira moves the issue: applied as the supplier's change and delivered
    // to the national desk's ClearQuest.
    let before = f.relay.log().len();
    f.drift.transition_as_user(&key, "Waiting for customer").unwrap();
    f.settled().await;
    let answers: Vec<_> = f.relay.log()[before..].to_vec();
    assert!(!answers.is_empty() && answers.iter().all(|r| r.status == 200), "{answers:#?}");
    let incident = f.incident(&id).await;
    assert_eq!(incident["status"], "awaiting_info");
    let last = incident["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["actor"].as_str(), last["to"].as_str()), (Some("drift"), Some("awaiting_info")));
    let record = f.sds.record(&national).unwrap();
    assert_eq!(record.state, "Postponed");
    assert_eq!(record.get("HoldReason"), Some("Awaiting information"));
    assert!(f.dead_letters().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servicenow_pushes_of_deskgate_writes_are_not_news_but_a_person_s_comment_flows_to_the_national_desk() {
    let f = federation(true).await;
    let (id, sys_id) = report(&f, "SOSI: token service unavailable").await;
    f.settled().await;
    let national = ref_of(&f.incident(&id).await, "sds").unwrap()["display_id"].as_str().unwrap().to_owned();
    let hook = "/webhooks/servicenow/region-h";

    // The national desk comments and re-prioritises; deskgate writes both to Region H's
    // ServiceNow, whose business rule pushes each write back.
    let pushes_before = f.answers(hook, &sys_id).len();
    assert_eq!(f.note("sds", &id, "Token service restarted; please retry").await, StatusCode::CREATED);
    let (status, body) = f.patch("sds", &id, json!({"priority": "P2"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    f.settled().await;
    let echoes = f.answers(hook, &sys_id)[pushes_before..].to_vec();
    assert!(echoes.len() >= 2, "ServiceNow pushed deskgate's writes back: {echoes:#?}");
    for echo in &echoes {
        assert_eq!(echo.status, 200, "{echo:?}");
        assert_eq!(echo.answer["outcome"], "received", "{echo:#?}");
    }
    let incident = f.incident(&id).await;
    assert_eq!(incident["notes"].as_array().unwrap().len(), 1, "the note did not come back as a new one");
    assert!(f.outbox().await.is_empty());
    let notes_log = f.sds.record(&national).unwrap().get("Notes_Log").unwrap_or_default().to_owned();
    assert_eq!(notes_log.matches("Token service restarted").count(), 1, "{notes_log}");

    // A person at Region H comments in ServiceNow: a note by Region H, delivered to
    // the national desk.
    let before = f.answers(hook, &sys_id).len();
    f.region_h.comment_as_user(&sys_id, "Still failing at Herlev since 09:10", true).unwrap();
    f.settled().await;
    let answers = f.answers(hook, &sys_id)[before..].to_vec();
    assert_eq!(answers.len(), 1, "{answers:#?}");
    assert_eq!(answers[0].answer["outcome"], "received", "{answers:#?}");
    let incident = f.incident(&id).await;
    let notes = incident["notes"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[1]["author_desk"], "region-h");
    let notes_log = f.sds.record(&national).unwrap().get("Notes_Log").unwrap_or_default().to_owned();
    assert!(notes_log.contains("Still failing at Herlev"), "{notes_log}");
    // That delivery's own push-back is an echo again: still two notes, each once.
    let incident = f.incident(&id).await;
    assert_eq!(incident["notes"].as_array().unwrap().len(), 2, "{:#}", incident["notes"]);
    assert!(f.outbox().await.is_empty());
}

// --- authenticated change capture ---------------------------------------------------

/// The operations supplier's Jira webhook with `body`, signed with `signature` when
/// given: the gateway's status.
async fn jira_hook(f: &Federation, body: Vec<u8>, signature: Option<&str>) -> StatusCode {
    let mut req = f
        .client
        .post(format!("{}/webhooks/jira/drift", f.gateway))
        .header("content-type", "application/json")
        .body(body);
    if let Some(s) = signature {
        req = req.header(deskgate_jira::webhook::SIGNATURE_HEADER, s);
    }
    req.send().await.unwrap().status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_badly_signed_jira_webhook_is_refused_and_a_push_with_another_desk_s_token_is_forbidden() {
    let f = federation(true).await;
    let (id, sys_id, key) = assigned_to_drift(&f, "NSP: lookups time out", "P3").await;
    let before = f.incident(&id).await;
    let audit_before = f.audit().await.len();

    let event = json!({
        "webhookEvent": "jira:issue_updated",
        "issue": {"id": "10000", "key": key, "fields": {"status": {"name": "Resolved"}, "priority": {"name": "Highest"}}},
    });
    let body = serde_json::to_vec(&event).unwrap();
    let forged = deskgate_jira::webhook::sign(b"not-the-secret", &body);
    let good = deskgate_jira::webhook::sign(JIRA_HOOK_SECRET.as_bytes(), &body);
    for signature in [Some(forged.as_str()), None] {
        assert_eq!(jira_hook(&f, body.clone(), signature).await, StatusCode::UNAUTHORIZED, "signature {signature:?}");
    }
    // A body changed after signing fails too.
    let tampered = String::from_utf8(body.clone()).unwrap().replace("Highest", "Lowest");
    assert_eq!(jira_hook(&f, tampered.into_bytes(), Some(&good)).await, StatusCode::UNAUTHORIZED);

    // A ServiceNow push for Region H's record, authenticated as another desk.
    let push = json!({
        "table": "incident", "operation": "update", "sys_id": sys_id, "changed_fields": ["comments"],
        "record": {"sys_id": sys_id, "state": "2"},
        "journal": {"element": "comments", "value": "Injected", "sys_created_on": "2026-03-01 10:00:00", "sys_created_by": "x"},
    });
    for desk in ["sds", "drift"] {
        let res = f
            .client
            .post(format!("{}/webhooks/servicenow/region-h", f.gateway))
            .bearer_auth(kit::tokens::token(desk))
            .json(&push)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "pushed as {desk}");
    }
    let res = f.client.post(format!("{}/webhooks/servicenow/region-h", f.gateway)).json(&push).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "pushed without a token");

    // Nothing changed, nothing was planned; the refusals were audited.
    let after = f.incident(&id).await;
    assert_eq!(after, before);
    assert!(f.outbox().await.is_empty());
    let audit = f.audit().await;
    let refused = audit[audit_before..]
        .iter()
        .filter(|e| e["kind"] == "rejected" && e["reason"].as_str().unwrap_or("").contains("Jira webhook"))
        .count();
    assert_eq!(refused, 3, "{:#?}", &audit[audit_before..]);
    // The correctly signed original is accepted (the signature check is what refused).
    assert_eq!(jira_hook(&f, body, Some(&good)).await, StatusCode::OK);
}

// --- the close guard for remote changes ---------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_p1_closed_in_jira_without_an_approved_report_is_parked_with_a_note_and_an_audit_entry() {
    let f = federation(true).await;
    let (id, _, key) = assigned_to_drift(&f, "FMK: no prescriptions anywhere", "P1").await;
    let hook = "/webhooks/jira/drift";

    // The supplier resolves in Jira (allowed), then closes (not without an approved report).
    f.drift.transition_as_user(&key, "In Progress").unwrap();
    f.drift.transition_as_user(&key, "Resolved").unwrap();
    f.settled().await;
    assert_eq!(f.incident(&id).await["status"], "resolved");
    let audit_before = f.audit().await.len();
    let before = f.relay.log().len();
    f.drift.transition_as_user(&key, "Closed").unwrap();
    f.settled().await;

    let answers: Vec<_> = f.relay.log()[before..].iter().filter(|r| r.path == hook).cloned().collect();
    // Answered like any other event; why it was not applied is in the audit log.
    assert!(!answers.is_empty() && answers.iter().all(|r| r.answer["outcome"] == "received"), "{answers:#?}");

    let incident = f.incident(&id).await;
    assert_eq!(incident["status"], "resolved", "not closed");
    let notes = incident["notes"].as_array().unwrap();
    let note = notes.last().expect("a note on the incident");
    assert_eq!(note["visibility"], "internal");
    // Only the national desk closes (step 15): that is the rule the supplier broke.
    assert!(note["body"].as_str().unwrap().contains("only the national desk closes"), "{note}");
    let audit = f.audit().await;
    let entries: Vec<_> = audit[audit_before..].iter().filter(|e| e["kind"] == "rejected").collect();
    assert_eq!(entries.len(), 1, "{:#?}", &audit[audit_before..]);
    assert_eq!(entries[0]["desk"], "drift");
    assert!(entries[0]["reason"].as_str().unwrap().contains(&key), "{:#}", entries[0]);
    assert!(entries[0]["reason"].as_str().unwrap().contains("only the national desk closes"), "{:#}", entries[0]);
    // The internal note reaches no local desk.
    let origin_journal = f.region_h.journal(incident["origin"]["ticket"].as_str().unwrap());
    assert!(origin_journal.iter().all(|j| !j.value.contains("not applied")), "{origin_journal:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_jira_echo_of_an_older_write_is_not_applied() {
    // deskgate knows the account it acts as in the supplier's Jira: what that account
    // did is deskgate's own write, however late its webhook arrives.
    let f = federation_with(true, |b| b.drift_jira("integration_user", "deskgate")).await;
    let (id, _, key) = assigned_to_drift(&f, "NSP: lookups time out", "P3").await;
    let written = async |p: &str| {
        let i = f.incident(&id).await;
        ref_of(&i, "drift").is_some_and(|r| r["written"]["priority"] == p)
    };
    // Two priorities written to Jira while its webhooks are held back.
    f.relay.hold();
    assert_eq!(f.patch("sds", &id, json!({"priority": "P1"})).await.0, StatusCode::OK);
    assert!(wait_until(async || written("P1").await).await);
    assert_eq!(f.patch("sds", &id, json!({"priority": "P2"})).await.0, StatusCode::OK);
    assert!(wait_until(async || written("P2").await).await);
    f.relay.release();
    f.settled().await;
    let incident = f.incident(&id).await;
    assert_eq!(incident["priority"], "P2", "{:#}", incident["history"]);
    assert_eq!(f.drift.issue(&key).unwrap().priority, "High");
    let history = incident["history"].as_array().unwrap();
    assert!(history.iter().all(|h| h["actor"] != "drift"), "{history:#?}");
}
