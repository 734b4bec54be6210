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
    for field in ["note_entry_field", "priority_field", "modified_field"] {
        let mut bad = ClearQuestConfig::new("http://cq", "r", "d", "u", "p");
        match field {
            "note_entry_field" => bad.note_entry_field = "x:y".into(),
            "priority_field" => bad.priority_field = "1bad".into(),
            _ => bad.modified_field = "nope:when".into(),
        }
        let err = ClearQuestAdapter::new(bad).unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
    }
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
    let entries = note_entries(&note, 2000).unwrap();
    assert_eq!(entries.len(), 1);
    let log = format!(
        "==== State: Opened by: alice on 01 March 2026 09:00:00 ====\nlooking\n\
         ==== State: Opened by: gw on 01 March 2026 10:00:01 ====\n{}\n\
         ==== 2026-03-01 11:00:00 UTC by: old (public) [dg:0123456789abcdef] ====\nwritten by an older deskgate\n",
        entries[0]
    );
    let notes = parse_notes(&log);
    assert_eq!(notes.len(), 3);
    assert_eq!(notes[0].author.as_deref(), Some("alice"));
    assert!(!notes[0].public);
    assert_eq!(notes[0].body, "looking");
    assert_eq!(notes[1], note, "deskgate's own header line wins over the notes package's");
    assert_eq!(notes[2].author.as_deref(), Some("old"));
    assert_eq!(notes[2].body, "written by an older deskgate");
}

#[test]
fn long_notes_are_split_into_numbered_entries_and_joined_again() {
    let body: String = (0..120).map(|i| format!("line {i:03} of a long supplier report\n")).collect::<String>() + "end";
    let note = RemoteNote {
        body,
        public: false,
        author: Some("fmk".into()),
        at: Some("2026-03-01T10:00:00Z".parse().unwrap()),
    };
    let entries = note_entries(&note, 2000).unwrap();
    assert_eq!(entries.len(), 3);
    for (i, entry) in entries.iter().enumerate() {
        assert!(entry.chars().count() <= 2000, "entry {i} is {} characters", entry.chars().count());
        assert!(entry.lines().next().unwrap().ends_with(&format!("({}/3)", i + 1)), "{entry}");
    }
    let log: String =
        entries.iter().map(|e| format!("==== State: Opened by: gw on 01 March 2026 10:00:01 ====\n{e}\n")).collect();
    assert_eq!(parse_notes(&log), vec![note.clone()], "no text is lost");
    let marker = note_marker(&note);
    assert!(has_entry(&log, &marker, 2, 3));
    assert!(!has_entry(&log[..log.len() / 2], &marker, 3, 3));
}

#[test]
fn owner_uris_become_logins() {
    assert_eq!(owner_login("http://cq/cqweb/oslc/repo/r/db/d/user/alice"), "alice");
    assert_eq!(owner_login("alice"), "alice");
}
