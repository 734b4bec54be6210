//! Validation of mapping files: every problem at once, with file and key.

use super::*;

#[test]
fn every_problem_is_reported_at_once_with_file_and_key() {
    let jira = JIRA
        .replace(
            "pending_release = { status = \"Pending Release\" }",
            "pendng_release = { status = \"Pending Release\" }",
        )
        .replace("{ status = \"Done\", canonical = \"resolved\" }", "{ status = \"Done\", canonical = \"resolvd\" }")
        .replace("P3 = { priority = \"Medium\" }\n", "")
        .replace("{ status = \"Closed\", canonical = \"closed\" },", "{ stauts = \"Closed\", canonical = \"closed\" },")
        .replace("  { status = \"Won't Do\", canonical = \"cancelled\" },\n", "");
    let jira = format!(
        "{jira}
[desks.nobody.status.outbound]
new = {{ status = \"Open\" }}

[desks.region-h.priority.outbound]
P1 = {{ priority = \"Highest\" }}
"
    );
    let sn = SERVICENOW
        .replace("P2 = { fields = { impact = \"1\", urgency = \"2\" }, label = \"2 - High\" }", "P5 = { fields = {} }");
    let lines = problems(load(&sn, &jira, CLEARQUEST));
    let want = [
        "mappings/servicenow.toml [priority.outbound.P5]: unknown canonical priority `P5`; expected one of P1, P2, P3, P4",
        "mappings/servicenow.toml [priority.outbound]: no outbound row for priority P2",
        "mappings/jira.toml [status.outbound.pendng_release]: unknown canonical status `pendng_release`; \
         expected one of new, assigned, in_progress, awaiting_info, on_hold, pending_release, resolved, closed, cancelled",
        "mappings/jira.toml [status.inbound[10].canonical]: unknown canonical status `resolvd`; \
         expected one of new, assigned, in_progress, awaiting_info, on_hold, pending_release, resolved, closed, cancelled",
        "mappings/jira.toml [status.outbound]: no outbound row for status pending_release",
        "mappings/jira.toml [priority.outbound]: no outbound row for priority P3",
        "mappings/jira.toml [status.inbound]: no inbound row yields cancelled",
        "mappings/jira.toml [desks.nobody]: desk nobody is not configured",
        "mappings/jira.toml [desks.region-h]: desk region-h uses servicenow, not jira; its overrides belong in servicenow.toml",
    ];
    for w in want {
        assert_has(&lines, w);
    }
    let unknown_key: Vec<&String> = lines.iter().filter(|l| l.contains("unknown field `stauts`")).collect();
    assert_eq!(unknown_key.len(), 1, "{lines:#?}");
    assert!(unknown_key[0].starts_with("mappings/jira.toml [status.inbound[11]"), "{}", unknown_key[0]);
    assert_eq!(lines.len(), want.len() + 1, "{lines:#?}");

    // And the whole report reads one problem per line.
    let report = load(&sn, &jira, CLEARQUEST).unwrap_err().to_string();
    assert!(report.starts_with("10 problem(s) in the mapping files:\n"), "{report}");
    assert_eq!(report.lines().count(), 11);
}

#[test]
fn unknown_keys_are_refused_everywhere() {
    let cases: &[(&str, &str)] = &[
        ("colour = \"blue\"\n", "mappings/jira.toml [colour]: unknown key `colour`"),
        ("[status.outbound.new]\nstatus = \"Open\"\nlable = \"x\"\n", "mappings/jira.toml [status.outbound.new"),
        ("[desks.drift]\nstatuses = {}\n", "mappings/jira.toml [desks.drift.statuses]: unknown key `statuses`"),
        ("[desks.drift.status]\noutbund = {}\n", "mappings/jira.toml [desks.drift.status.outbund]: unknown key"),
        ("[desks.drift.origin]\nclose_nte = \"x\"\n", "mappings/jira.toml [desks.drift.origin"),
    ];
    for (extra, want) in cases {
        // Replacing the base `new` row keeps the file a valid TOML document.
        let jira = if extra.starts_with("[status.outbound.new]") {
            format!("{}\n{extra}", JIRA.replace("new = { status = \"Open\" }\n", ""))
        } else if extra.starts_with("colour") {
            format!("{extra}{JIRA}")
        } else {
            format!("{JIRA}\n{extra}")
        };
        let lines = problems(load(SERVICENOW, &jira, CLEARQUEST));
        assert_eq!(lines.len(), 1, "{extra}: {lines:#?}");
        assert!(lines[0].starts_with(want), "{extra}: {}", lines[0]);
        assert!(
            lines[0].contains("lable") || lines[0].contains("close_nte") || lines[0].contains("unknown key"),
            "{}",
            lines[0]
        );
    }
}

#[test]
fn rows_are_checked_one_by_one() {
    let extra = r#"
[desks.drift.status.outbound]
resolved = { status = "Resolved", note = "{resolution} by {who}" }
on_hold = { status = " ", fields = { status = "Pending" } }

[desks.drift.priority]
inbound = [
  { canonical = "P1" },
  { priority = "Highest", canonical = "P1" },
  { priority = "Highest", canonical = "P2" },
]
outbound = { P1 = { fields = { impact = "{resolution}" } } }
"#;
    let lines = problems(load(SERVICENOW, &format!("{JIRA}{extra}"), CLEARQUEST));
    let want = [
        "mappings/jira.toml [desks.drift.status.outbound.resolved.note]: unknown placeholder `{who}`; only {resolution} is replaced",
        "mappings/jira.toml [desks.drift.status.outbound.on_hold.status]: must name the remote status",
        "mappings/jira.toml [desks.drift.status.outbound.on_hold.fields.status]: `status` has its own key in a row; \
         `fields` holds the remote's other fields",
        "mappings/jira.toml [desks.drift.priority.inbound[0]]: has no condition: give `priority` or `fields`",
        "mappings/jira.toml [desks.drift.priority.inbound[2]]: never matches: desks.drift.priority.inbound[1] matches every ticket it would",
        "mappings/jira.toml [desks.drift.priority.outbound.P1.fields.impact]: {resolution} is only replaced in status rows",
    ];
    for w in want {
        assert_has(&lines, w);
    }
    assert_eq!(lines.len(), want.len(), "{lines:#?}");
}

#[test]
fn missing_settings_and_syntax_errors_are_reported() {
    let without_origin = JIRA.replace("close_as_note = true\n", "");
    let lines = problems(load(SERVICENOW, &without_origin, CLEARQUEST));
    assert_eq!(lines, ["mappings/jira.toml [origin.close_as_note]: missing: true or false"]);

    let without_note = CLEARQUEST.replace("[resolution]\ndefault_notes", "[resolution]\n# default_notes");
    let lines = problems(load(SERVICENOW, JIRA, &without_note));
    assert_eq!(
        lines,
        [
            "mappings/clearquest.toml [resolution.default_notes]: missing: the resolution notes sent when the resolving desk gave none"
        ]
    );

    let broken = format!("{SERVICENOW}\n[status\n");
    let lines = problems(load(&broken, JIRA, CLEARQUEST));
    let line = SERVICENOW.lines().count() + 2;
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert!(lines[0].starts_with(&format!("mappings/servicenow.toml [line {line}, column")), "{}", lines[0]);
}

#[test]
fn a_desk_that_turns_the_note_on_must_word_it() {
    let base =
        JIRA.replace("close_as_note = true", "close_as_note = false").replace("close_note = ", "# close_note = ");
    let extra = "\n[desks.drift.origin]\nclose_as_note = true\n";
    assert!(load(SERVICENOW, &base, CLEARQUEST).is_ok());
    let lines = problems(load(SERVICENOW, &format!("{base}{extra}"), CLEARQUEST));
    assert_eq!(
        lines,
        [
            "mappings/jira.toml [desks.drift.origin.close_note]: missing: the note the originating desk gets instead of a close"
        ]
    );
}

#[test]
fn file_names_name_the_system() {
    let desks = nsp_desks();
    let lines = problems(Mappings::from_sources(
        &[("mappings/servicenow.toml", SERVICENOW), ("mappings/jira.toml", JIRA), ("mappings/jira.toml", JIRA)],
        &SYSTEMS,
        &desks,
    ));
    assert_eq!(lines, ["mappings/jira.toml: a second jira mapping file"]);
    let lines = problems(Mappings::from_sources(
        &[("servicenow.toml", SERVICENOW), ("jira.toml", JIRA), ("cq.toml", CLEARQUEST)],
        &SYSTEMS,
        &desks,
    ));
    assert_eq!(lines, ["cq.toml: not a mapping file name: expected servicenow.toml, jira.toml or clearquest.toml"]);
}

#[test]
fn load_reads_the_directory() {
    let dir = std::env::temp_dir().join(format!("deskgate-mapping-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in [("servicenow.toml", SERVICENOW), ("jira.toml", JIRA), ("clearquest.toml", CLEARQUEST)] {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let m = Mappings::load(&dir, &SYSTEMS, &nsp_desks()).unwrap_or_else(|e| panic!("{e}"));
    assert!(m.desk(&desk("fmk")).is_some());

    std::fs::remove_file(dir.join("jira.toml")).unwrap();
    let lines = problems(Mappings::load(&dir, &SYSTEMS, &nsp_desks()));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(lines[0].contains("jira.toml: cannot read"), "{}", lines[0]);
    assert_has(&lines, "jira.toml: missing, but desk region-m uses jira");
    assert_has(&lines, "jira.toml: missing, but desk drift uses jira");
}

// ---------------------------------------------------------------------------
// Snapshots of what a new remote ticket gets
// ---------------------------------------------------------------------------

/// Built from JSON, as the store keeps it, so fields added to the model later with a
/// default do not need this test to change.
fn sample_incident() -> Incident {
    serde_json::from_value(serde_json::json!({
        "id": "INC-2026-000042",
        "kind": "incident",
        "title": "FMK: prescriptions cannot be renewed",
        "description": "Since 09:00 the renewal button fails with error 503.",
        "service": "FMK",
        "priority": "P2",
        "urgency": "high",
        "impact": "medium",
        "status": "assigned",
        "origin": { "desk": "region-h", "ticket": "INC0010001" },
        "assignee": "fmk",
        "refs": [],
        "notes": [],
        "parent": null,
        "links": [],
        "report": null,
        "history": [],
        "created_at": "2026-03-01T09:00:00Z",
        "updated_at": "2026-03-01T09:00:00Z",
        "version": 3
    }))
    .unwrap()
}

#[test]
fn create_fields_per_system() {
    let m = shipped();
    let incident = sample_incident();
    let settings = {
        let mut s = insta::Settings::clone_current();
        // Names independent of the crate the module is built in.
        s.set_prepend_module_to_snapshot(false);
        s
    };
    settings.bind(|| {
        for (id, system) in SAMPLE_DESKS {
            let fields = m.desk(&desk(id)).unwrap().create_fields(&incident, false);
            insta::assert_json_snapshot!(format!("create_fields_{system}"), fields);
        }
    });
    // A closed incident created at its origin carries no status.
    let closed = Incident { status: Status::Closed, ..sample_incident() };
    let fields = m.desk(&desk("region-h")).unwrap().create_fields(&closed, true);
    assert_eq!(fields.status, None);
    assert_eq!(fields.extra.get("impact").map(String::as_str), Some("1"));
    // No priority yet: no priority fields.
    let untriaged = Incident { priority: None, ..sample_incident() };
    let fields = m.desk(&desk("sds")).unwrap().create_fields(&untriaged, false);
    assert_eq!((fields.priority, fields.status.as_deref()), (None, Some("Assigned")));
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

fn any_status() -> impl Strategy<Value = Status> {
    proptest::sample::select(Status::ALL.to_vec())
}

proptest! {
    /// Jira and ClearQuest names read back whatever their case and surrounding blanks.
    #[test]
    fn names_match_regardless_of_case_and_blanks(status in any_status(), upper in proptest::collection::vec(any::<bool>(), 32), pad in "[ ]{0,2}") {
        let m = shipped();
        for id in ["region-m", "sds"] {
            let d = m.desk(&desk(id)).unwrap();
            let mut fields = d.status_fields(status, None, false).fields().cloned().unwrap();
            let name = fields.status.clone().unwrap();
            let mangled: String = name.chars().zip(upper.iter().cycle()).map(|(c, u)| if *u { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }).collect();
            fields.status = Some(format!("{pad}{mangled}{pad}"));
            let plain = d.inbound_status(&d.status_fields(status, None, false).fields().cloned().unwrap());
            prop_assert_eq!(d.inbound_status(&fields), plain);
        }
    }

    /// Any remote value either maps or is named in an error; nothing panics.
    #[test]
    fn arbitrary_remote_values_map_or_are_named(status in "\\PC{0,20}", priority in "\\PC{0,20}", hold in "[0-9]{0,2}") {
        let m = shipped();
        for (id, _) in SAMPLE_DESKS {
            let d = m.desk(&desk(id)).unwrap();
            let mut t = TicketFields { status: Some(status.clone()), priority: Some(priority.clone()), ..TicketFields::default() };
            t.extra.insert("hold_reason".into(), hold.clone());
            if let Err(e) = d.inbound_status(&t) {
                prop_assert!(e.to_string().contains(&format!("{status:?}")), "{}", e);
            }
            if let Err(e) = d.inbound_priority(&t) {
                prop_assert!(e.to_string().contains("priority"));
            }
        }
    }
}

#[test]
fn mappings_can_be_shared_between_tasks() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<Mappings>();
    shareable::<MappingProblems>();
    shareable::<MappingError>();
}
