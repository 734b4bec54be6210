use super::*;

fn adapter() -> ClearQuestAdapter {
    ClearQuestAdapter::new(ClearQuestConfig::new("http://cq.example:8080", "7.0.0", "SAMPL", "gw", "s3cret-pw"))
        .unwrap()
}

#[test]
fn debug_never_shows_the_password() {
    let a = adapter();
    let shown = format!("{a:?} {:?}", a.config());
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(shown.contains("<redacted>"));
}

#[test]
fn config_is_checked() {
    let bad = ClearQuestConfig::new("http://u:p@cq", "r", "d", "u", "p");
    assert!(ClearQuestAdapter::new(bad).is_err());
    let bad = ClearQuestConfig::new("http://cq", "../x", "d", "u", "p");
    assert!(ClearQuestAdapter::new(bad).is_err());
    let mut bad = ClearQuestConfig::new("http://cq", "r", "d", "u", "p");
    bad.notes_field = "x:y".into();
    assert!(ClearQuestAdapter::new(bad).is_err());
}

#[test]
fn record_ids_are_checked_against_the_database() {
    let a = adapter();
    let good = RemoteId("/cqweb/oslc/repo/7.0.0/db/SAMPL/record/16777224-33554433".into());
    assert!(a.record_path(&good).is_ok());
    for bad in [
        "/cqweb/oslc/repo/7.0.0/db/OTHER/record/16777224-33554433",
        "/cqweb/oslc/repo/7.0.0/db/SAMPL/record/16777224-1/../../x",
        "http://evil/cqweb/oslc/repo/7.0.0/db/SAMPL/record/1-2",
    ] {
        assert!(a.record_path(&RemoteId(bad.into())).is_err(), "{bad}");
    }
    assert!(a.own_path("http://evil.example/cqweb/x").is_err());
    assert_eq!(a.own_path("http://cq.example:8080/cqweb/x?a=1").unwrap(), "/cqweb/x?a=1");
}

#[test]
fn action_paths_follow_the_table() {
    let a = adapter();
    assert_eq!(a.action_path("Assigned", "Resolved").unwrap(), ["Resolve"]);
    assert_eq!(a.action_path("Submitted", "Closed").unwrap(), ["Assign", "Resolve", "Close"]);
    assert_eq!(a.action_path("Closed", "Opened").unwrap(), ["Re_Open"]);
    let err = a.action_path("Closed", "Nowhere").unwrap_err();
    assert!(!err.is_retriable());
}

#[test]
fn notes_log_is_split_into_entries() {
    let note = RemoteNote {
        body: "line 1\nline 2".into(),
        public: true,
        author: Some("sds".into()),
        at: Some("2026-03-01T10:00:00Z".parse().unwrap()),
    };
    let log = format!("==== State: Opened by: alice on 01 March 2026 09:00:00 ====\nlooking\n{}", note_entry(&note));
    let notes = parse_notes(&log);
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0].author.as_deref(), Some("alice"));
    assert!(!notes[0].public);
    assert_eq!(notes[0].body, "looking");
    assert_eq!(notes[1], note);
}

#[test]
fn owner_uris_become_logins() {
    assert_eq!(owner_login("http://cq/cqweb/oslc/repo/r/db/d/user/alice"), "alice");
    assert_eq!(owner_login("alice"), "alice");
}
