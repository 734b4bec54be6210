use super::*;

fn desk(id: &str) -> DeskId {
    id.parse().unwrap()
}

fn actor(id: &str, role: Role) -> Actor {
    Actor { desk: desk(id), role }
}

#[test]
fn notes_beyond_the_cap_are_refused() {
    let mut i = sample(None);
    let national = actor("sds", Role::National);
    for _ in 0..3 {
        i.ensure_room_for_notes(1, 3).unwrap();
        i.add_note(&national, Text::parse("body", "checked").unwrap(), Visibility::Public, Timestamp::UNIX_EPOCH);
    }
    let full = i.ensure_room_for_notes(1, 3).unwrap_err();
    assert_eq!(full, ModelError::Full { field: "notes", limit: 3 });
    assert!(full.to_string().starts_with("notes: "), "{full}");
    assert!(sample(None).ensure_room_for_notes(4, 3).is_err(), "several at once count together");
}

fn sample(priority: Option<Priority>) -> Incident {
    let mut report = crate::model::testing::report("region-h", crate::model::DialectId::Servicenow, "INC0010001");
    report.priority = priority;
    report.into_incident(IncidentId::new(2026, 1), Timestamp::UNIX_EPOCH)
}

#[test]
fn title_refuses_patient_data_and_names_the_field() {
    let err = Title::parse("Borger 010203-1234 kan ikke logge ind").unwrap_err();
    assert_eq!(err.field(), Some("title"));
    assert!(!err.to_string().contains("010203"), "the value must not be echoed: {err}");
    let err = Text::parse("description", "NISS 85.07.30-033.28").unwrap_err();
    assert_eq!(err.field(), Some("description"));
}

#[test]
fn hostile_characters_are_refused_in_titles_and_text() {
    for title in ["FMK \u{202e}nede", "FMK\u{0}nede", "FMK\u{7}", "\u{200b}\u{2060}\u{feff}", "FMK\u{2066}x\u{2069}"] {
        let err = Title::parse(title).unwrap_err();
        assert_eq!(err.field(), Some("title"), "{title:?}");
    }
    assert!(Text::parse("description", "line one\n\tline two\r\n").is_ok(), "tab and line breaks are text");
    for text in ["a\u{0}b", "a\u{1b}[31mred", "abc \u{202e}fed", "\u{200b}\u{200b}"] {
        let err = Text::parse("description", text).unwrap_err();
        assert_eq!(err.field(), Some("description"), "{text:?}");
    }
}

#[test]
fn display_ids_and_urls_are_limited_to_what_desks_use() {
    for ok in ["INC0010001", "DRIFT-42", "SAMPL00000042", "cq:SAMPL00000042", "RITM0012345#2", "a.b_c/d"] {
        assert_eq!(parse_display_id("display_id", ok).as_deref(), Ok(ok), "{ok}");
    }
    for bad in ["<script>", "INC 1", "", "x\u{202e}", &"A".repeat(65), "a\"b", "DRIFT-42\u{200b}"] {
        assert_eq!(parse_display_id("display_id", bad).unwrap_err().field(), Some("display_id"), "{bad:?}");
    }
    assert!(matches!(
        parse_display_id("display_id", "CPR-0102031047"),
        Err(ModelError::PatientData { field: "display_id", .. })
    ));
    for ok in ["https://desk.example/ticket/1", "http://10.0.0.1:8080/x?y=1"] {
        assert!(parse_url("ticket_url", ok).is_ok(), "{ok}");
    }
    for bad in [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        "data:text/html,x",
        "//desk.example/x",
        "/x",
        "ftp://x/y",
        "https://",
        "https://a b/",
    ] {
        assert_eq!(parse_url("ticket_url", bad).unwrap_err().field(), Some("ticket_url"), "{bad:?}");
    }
    assert!(matches!(
        parse_url("rfc.url", "https://jira.example/browse/X?cpr=010203-1047"),
        Err(ModelError::PatientData { field: "rfc.url", .. })
    ));
}

#[test]
fn title_length_limit() {
    assert!(Title::parse(&"x".repeat(160)).is_ok());
    assert!(Title::parse(&"x".repeat(161)).is_err());
    assert!(Title::parse("  ").is_err());
}

#[test]
fn priority_follows_impact_and_urgency_when_not_given() {
    let mut n = sample(None);
    assert_eq!(n.priority, None);
    let mut report = crate::model::testing::report("region-h", crate::model::DialectId::Servicenow, "INC0010001");
    (report.urgency, report.impact) = (Some(Level::High), Some(Level::Medium));
    n = report.into_incident(n.id, n.created_at);
    assert_eq!(n.priority, Some(Priority::P2));
}

#[test]
fn illegal_transition_names_from_and_to_and_changes_nothing() {
    let mut inc = sample(Some(Priority::P3));
    let before = inc.clone();
    let err = inc
        .apply(
            &actor("sds", Role::National),
            &Change { status: Some(Status::Closed), ..Change::default() },
            Timestamp::UNIX_EPOCH,
        )
        .unwrap_err();
    assert_eq!(err, ModelError::IllegalTransition { from: Status::New, to: Status::Closed });
    assert_eq!(inc, before);
}

#[test]
fn assignment_moves_new_to_assigned_and_is_recorded() {
    let mut inc = sample(Some(Priority::P3));
    let changed = inc
        .apply(
            &actor("sds", Role::National),
            &Change { assignee: Some(desk("fmk")), ..Change::default() },
            Timestamp::UNIX_EPOCH,
        )
        .unwrap();
    assert!(changed);
    assert_eq!(inc.status, Status::Assigned);
    assert_eq!(inc.version, 2);
    assert_eq!(inc.history.len(), 2);
}

#[test]
fn suppliers_change_only_incidents_assigned_to_them_and_never_the_assignee() {
    let mut inc = sample(Some(Priority::P3));
    let fmk = actor("fmk", Role::Supplier);
    let status = Change { status: Some(Status::InProgress), ..Change::default() };
    assert!(matches!(inc.apply(&fmk, &status, Timestamp::UNIX_EPOCH), Err(ModelError::Forbidden(_))));
    inc.apply(
        &actor("sds", Role::National),
        &Change { assignee: Some(desk("fmk")), ..Change::default() },
        Timestamp::UNIX_EPOCH,
    )
    .unwrap();
    assert!(inc.apply(&fmk, &status, Timestamp::UNIX_EPOCH).unwrap());
    let reassign = Change { assignee: Some(desk("drift")), ..Change::default() };
    assert!(matches!(inc.apply(&fmk, &reassign, Timestamp::UNIX_EPOCH), Err(ModelError::Forbidden(_))));
    let local = actor("region-h", Role::Local);
    assert!(matches!(inc.apply(&local, &status, Timestamp::UNIX_EPOCH), Err(ModelError::Forbidden(_))));
}

#[test]
fn major_incidents_close_only_with_an_approved_report() {
    let sds = actor("sds", Role::National);
    let t = Timestamp::UNIX_EPOCH;
    for (priority, needs_report) in [(Priority::P1, true), (Priority::P2, true), (Priority::P3, false)] {
        let mut inc = sample(Some(priority));
        inc.apply(&sds, &Change { status: Some(Status::Resolved), ..Change::default() }, t).unwrap();
        let close = Change { status: Some(Status::Closed), ..Change::default() };
        let result = inc.apply(&sds, &close, t);
        assert_eq!(result.is_err(), needs_report, "{priority}");
        if needs_report {
            // The supplier that solved it writes the report (steps 12a–12b), never the national desk.
            let report = Text::parse("report", "Root cause: expired certificate").unwrap();
            let write = Change { report: Some(report), ..Change::default() };
            assert!(matches!(inc.apply(&sds, &write, t), Err(ModelError::Forbidden(_))), "the national desk writes");
            inc.assignee = Some("fmk".parse().unwrap());
            inc.apply(&actor("fmk", Role::Supplier), &write, t).unwrap();
            assert!(matches!(inc.apply(&sds, &close, t), Err(ModelError::Conflict(_))), "unapproved");
            inc.apply(&sds, &Change { approve_report: true, ..Change::default() }, t).unwrap();
            inc.apply(&sds, &close, t).unwrap();
        }
        assert_eq!(inc.status, Status::Closed);
    }
}

#[test]
fn linking_an_rfc_records_it_and_makes_open_work_pending_release() {
    assert!(ReleaseLink::parse(LinkKind::Rfc, "sdsjira-1", None).is_err());
    assert!(ReleaseLink::parse(LinkKind::Rfc, "SDSJIRA-", None).is_err());
    assert!(ReleaseLink::parse(LinkKind::Rfc, "SDSJIRA-1", Some("ftp://x")).is_err());
    let link = ReleaseLink::parse(LinkKind::Problem, " SDSJIRA-7 ", None).unwrap();
    assert_eq!(link.key, "SDSJIRA-7");
    let t = Timestamp::UNIX_EPOCH;
    let mut inc = sample(Some(Priority::P3));
    inc.apply(&actor("sds", Role::National), &Change { assignee: Some(desk("drift")), ..Change::default() }, t)
        .unwrap();
    let change = Change { rfc: Some(link), ..Change::default() };
    assert!(matches!(inc.apply(&actor("region-h", Role::Local), &change, t), Err(ModelError::Forbidden(_))));
    assert!(inc.apply(&actor("drift", Role::Supplier), &change, t).unwrap());
    assert_eq!(inc.status, Status::PendingRelease);
    assert_eq!(inc.external_links.len(), 1);
    assert_eq!(inc.external_links[0].linked_by, desk("drift"));
    assert!(inc.history.iter().any(|h| h.field == "problem" && h.to.as_deref() == Some("SDSJIRA-7")));
    assert!(!inc.apply(&actor("drift", Role::Supplier), &change, t).unwrap(), "the same link again is no change");
    let mut done = sample(Some(Priority::P3));
    done.status = Status::Cancelled;
    let err = done.apply(&actor("sds", Role::National), &change, t).unwrap_err();
    assert_eq!(err, ModelError::IllegalTransition { from: Status::Cancelled, to: Status::PendingRelease });
}

#[test]
fn visibility_is_origin_national_and_assignee() {
    let mut inc = sample(None);
    assert!(inc.is_visible_to(&actor("region-h", Role::Local)));
    assert!(inc.is_visible_to(&actor("sds", Role::National)));
    assert!(!inc.is_visible_to(&actor("region-m", Role::Local)));
    assert!(!inc.is_visible_to(&actor("fmk", Role::Supplier)));
    inc.assignee = Some(desk("fmk"));
    assert!(inc.is_visible_to(&actor("fmk", Role::Supplier)));
    assert!(!inc.is_visible_to(&actor("drift", Role::Supplier)));
}

fn version(delivery: Option<&str>, updated_ms: Option<i64>, mod_count: Option<u64>) -> RemoteVersion {
    RemoteVersion { delivery: delivery.map(str::to_owned), updated_ms, mod_count, comment_ms: None, read_at: None }
}

#[test]
fn a_report_no_newer_than_the_newest_applied_is_a_replay() {
    let mut seen = Seen::default();
    assert_eq!(seen.replay(&version(Some("d1"), Some(1_000), None)), None);
    assert!(seen.record(&version(Some("d1"), Some(1_000), None)));
    assert!(seen.replay(&version(Some("d1"), Some(2_000), None)).is_some(), "same delivery");
    assert!(seen.replay(&version(Some("d2"), Some(1_000), None)).is_some(), "same version");
    assert!(seen.replay(&version(Some("d2"), Some(999), None)).is_some(), "older version");
    assert_eq!(seen.replay(&version(Some("d2"), Some(1_001), None)), None);
    assert_eq!(seen.replay(&version(None, None, None)), None, "nothing to compare");
}

#[test]
fn a_modification_count_decides_over_the_time_when_both_sides_have_one() {
    let mut seen = Seen::default();
    seen.record(&version(None, Some(5_000), Some(3)));
    // ServiceNow's time has whole seconds: two writes in one second differ only by count.
    assert_eq!(seen.replay(&version(None, Some(5_000), Some(4))), None);
    assert!(seen.replay(&version(None, Some(9_000), Some(3))).is_some());
}

#[test]
fn comments_are_ordered_by_their_own_time_not_the_issues() {
    let mut seen = Seen::default();
    seen.record(&version(None, Some(9_000), None));
    let comment = |ms| RemoteVersion { comment_ms: Some(ms), ..RemoteVersion::default() };
    assert_eq!(seen.replay(&comment(5_000)), None, "a comment event carries no issue version");
    seen.record(&comment(5_000));
    assert!(seen.replay(&comment(5_000)).is_some());
    assert_eq!(seen.replay(&comment(5_001)), None);
}

#[test]
fn delivery_ids_are_bounded_and_the_oldest_go_first() {
    let mut seen = Seen::default();
    for n in 0..(Seen::MAX_DELIVERIES + 5) {
        seen.record(&version(Some(&format!("d{n}")), None, None));
    }
    assert_eq!(seen.deliveries.len(), Seen::MAX_DELIVERIES);
    assert_eq!(seen.deliveries[0], "d5");
    let newest = format!("d{}", Seen::MAX_DELIVERIES + 4);
    assert!(!seen.record(&version(Some(&newest), None, None)), "an id already kept changes nothing");
}

#[test]
fn a_ref_stored_before_seen_existed_still_reads() {
    let stored = r#"{"desk":"drift","system":"jira","remote_id":"DRIFT-1","display_id":"DRIFT-1","url":null}"#;
    let r: Ref = serde_json::from_str(stored).unwrap();
    assert!(r.seen.is_empty());
}

#[test]
fn step_15_a_supplier_resolves_and_only_the_national_desk_closes_or_cancels() {
    let t = Timestamp::UNIX_EPOCH;
    let sds = actor("sds", Role::National);
    let fmk = actor("fmk", Role::Supplier);
    let to = |status| Change { status: Some(status), ..Change::default() };
    let mut inc = sample(Some(Priority::P3));
    inc.apply(&sds, &Change { assignee: Some(desk("fmk")), ..Change::default() }, t).unwrap();
    for end in [Status::Closed, Status::Cancelled] {
        let mut open = inc.clone();
        let err = open.apply(&fmk, &to(end), t).unwrap_err();
        assert_eq!(err, ModelError::Forbidden(Incident::close_refusal(end)));
        assert!(Incident::is_close_by_supplier(&fmk, &to(end)));
        assert_eq!(open, inc, "a refused change changes nothing");
    }
    assert!(inc.apply(&fmk, &to(Status::Resolved), t).unwrap());
    let mut resolved = inc.clone();
    assert!(matches!(resolved.apply(&fmk, &to(Status::Closed), t), Err(ModelError::Forbidden(_))));
    assert_eq!(resolved.status, Status::Resolved);
    assert!(inc.apply(&sds, &to(Status::Closed), t).unwrap());
    assert_eq!(inc.status, Status::Closed);
    assert!(!Incident::is_close_by_supplier(&sds, &to(Status::Closed)));
}
