use std::path::Path;

use super::build::locate;
use super::*;
use crate::escalation::{
    FindingKind,
    testkit::{SHIPPED_TOML, edit, shipped, sweep_start},
};

fn load(src: &str) -> Result<Ruleset, LoadError> {
    Ruleset::from_toml(src, "contacts.toml", sweep_start())
}

fn problems(src: &str) -> Vec<RulesetProblem> {
    match load(src) {
        Err(LoadError::Invalid { file, problems }) => {
            assert_eq!(file, "contacts.toml");
            problems
        }
        Err(other) => panic!("want Invalid, got {other}"),
        Ok(_) => panic!("want Invalid, got a loaded ruleset"),
    }
}

#[test]
fn shipped_ruleset_loads_clean() {
    let rs = shipped();
    assert!(rs.warnings().is_empty(), "{:?}", rs.warnings());
    assert_eq!(rs.zone_name(), "Europe/Copenhagen");
    assert_eq!(rs.services(), ["FMK", "NSP", "SOSI"]);
    assert_eq!(rs.version().len(), 16);
    let ids: Vec<_> = rs.rules().iter().map(Rule::id).collect();
    assert_eq!(
        ids,
        ["fmk-always", "nsp-working-hours", "nsp-late-afternoon", "nsp-holiday", "nsp-weeknight", "nsp-weekend"]
    );
}

#[test]
fn unknown_keys_are_refused_with_their_path() {
    let src = edit(SHIPPED_TOML, "id = \"nsp-weeknight\"\n", "id = \"nsp-weeknight\"\ncolour = \"red\"\n");
    match load(&src) {
        Err(e @ LoadError::Syntax { .. }) => {
            let LoadError::Syntax { key, reason, line, .. } = &e else { unreachable!() };
            assert_eq!(key, "rules[4].colour", "{e}");
            assert!(reason.contains("unknown field `colour`"), "{e}");
            assert_eq!(src.lines().nth(line - 1), Some("colour = \"red\""));
            assert!(e.to_string().starts_with("contacts.toml:"), "{e}");
        }
        other => panic!("want Syntax, got {other:?}"),
    }
    // Also inside a nested table.
    let src = edit(SHIPPED_TOML, "staffed_by = \"sds\"", "staffed_by = \"sds\"\nstaffed = true");
    assert!(
        matches!(load(&src), Err(LoadError::Syntax { ref key, .. }) if key == "staffing.staffed"),
        "{:?}",
        load(&src)
    );
    // And in a window's inline table.
    let src =
        edit(SHIPPED_TOML, "{ days = \"fri\", time = \"15:30-18:00\" }", "{ days = \"fri\", tme = \"15:30-18:00\" }");
    assert!(
        matches!(load(&src), Err(LoadError::Syntax { ref reason, .. }) if reason.contains("tme")),
        "{:?}",
        load(&src)
    );
}

#[test]
fn missing_default_is_refused() {
    let src = edit(SHIPPED_TOML, "[default]\ncontact = \"national-service-desk\"\n", "");
    let src = edit(&src, "note = \"no escalation rule applies; the national service desk handles it\"\n", "");
    match load(&src) {
        Err(LoadError::Syntax { reason, .. }) => {
            assert!(reason.contains("missing field `default`"), "{reason}")
        }
        other => panic!("want Syntax, got {other:?}"),
    }
}

#[test]
fn bad_values_are_named_with_key_paths() {
    let table = [
        ("zone = \"Europe/Copenhagen\"", "zone = \"Europe/Copenhagn\"", "zone", "Europe/Copenhagn"),
        (
            "{ days = \"mon-thu\", time = \"18:00-08:00\" }",
            "{ days = \"mon-thu\", time = \"18:00-25:00\" }",
            "rules[4](nsp-weeknight).windows[0].time",
            "25:00",
        ),
        (
            "{ days = \"mon-thu\", time = \"18:00-08:00\" }",
            "{ days = \"mun-thu\", time = \"18:00-08:00\" }",
            "rules[4](nsp-weeknight).windows[0].days",
            "mun",
        ),
        (
            "{ from = \"fri 18:00\", to = \"mon 08:00\" }",
            "{ from = \"fry 18:00\", to = \"mon 08:00\" }",
            "rules[5](nsp-weekend).windows[0].from",
            "fry",
        ),
        (
            "contact = \"nsp-system-owner\"\nack_timeout = \"30m\"\n\n[[rules]]\nid = \"nsp-weeknight\"",
            "contact = \"nsp-sytem-owner\"\nack_timeout = \"30m\"\n\n[[rules]]\nid = \"nsp-weeknight\"",
            "rules[3](nsp-holiday).contact",
            "no contact `nsp-sytem-owner`",
        ),
        (
            "priorities = [\"P1\", \"P2\"]\nalways = true",
            "priorities = [\"P1\", \"P9\"]\nalways = true",
            "rules[0](fmk-always).priorities[1]",
            "P9",
        ),
        ("ack_timeout = \"15m\"", "ack_timeout = \"soon\"", "ack_timeout", "soon"),
        ("holidays = \"only\"", "holidays = \"sometimes\"", "rules[3](nsp-holiday).holidays", "sometimes"),
        ("base = \"denmark\"", "base = \"danmark\"", "calendars.dk.base", "danmark"),
        ("{ date = \"12-24\",", "{ date = \"12-32\",", "calendars.dk.annual[1].date", "12-32"),
        ("calendar = \"dk\"\n# Default time", "calendar = \"de\"\n# Default time", "calendar", "no calendar `de`"),
        (
            "fmk-incident-manager = [\"national-service-desk\"]",
            "fmk-incident-manager = [\"national-service-desk\", \"fmk-incident-manager\"]",
            "chains.fmk-incident-manager[1]",
            "already comes earlier",
        ),
        ("id = \"nsp-weekend\"", "id = \"nsp-weeknight\"", "rules[5](nsp-weeknight).id", "used twice"),
        (
            "url = \"https://sds.example/hooks/escalation\"",
            "url = \"sds.example/hooks\"",
            "contacts.national-service-desk.channels[1]",
            "not an http(s) URL",
        ),
        (
            "priorities = [\"P1\", \"P2\"]\nalways = true",
            "priorities = [\"P1\", \"P2\"]\nalways = true\nwindows = [{ days = \"mon\" }]",
            "rules[0](fmk-always)",
            "either `always = true` or",
        ),
    ];
    for (from, to, key, reason) in table {
        let src = edit(SHIPPED_TOML, from, to);
        if load(&src).is_ok() {
            panic!("{to}: loaded");
        }
        let found = problems(&src);
        assert!(
            found.iter().any(|p| p.key == key && p.reason.contains(reason)),
            "{to}: want `{key}: …{reason}…`, got {found:?}"
        );
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let src = edit(SHIPPED_TOML, "zone = \"Europe/Copenhagen\"", "zone = \"Mars/Olympus\"");
    let src = edit(&src, "time = \"16:00-18:00\"", "time = \"16:00-1800\"");
    let err = load(&src).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("zone: `Mars/Olympus`"), "{text}");
    assert!(text.contains("rules[2](nsp-late-afternoon).windows[0].time: `1800`"), "{text}");
}

#[test]
fn a_gap_refuses_the_ruleset_with_an_example() {
    // Without the weekend rule nothing covers Friday 18:00 → Monday 08:00.
    let src = edit(
        SHIPPED_TOML,
        "windows = [{ from = \"fri 18:00\", to = \"mon 08:00\" }]",
        "windows = [{ from = \"sat 00:00\", to = \"mon 08:00\" }]",
    );
    match load(&src) {
        Err(e @ LoadError::Gaps { .. }) => {
            let LoadError::Gaps { gaps, .. } = &e else { unreachable!() };
            let services: Vec<_> = gaps.iter().map(|g| (g.service.clone(), g.priority)).collect();
            // Every non-FMK service and the stand-in for others, P1 and P2.
            assert_eq!(services.len(), 6, "{e}");
            assert!(services.iter().all(|(s, _)| s.as_deref() != Some("FMK")), "{e}");
            let nsp =
                gaps.iter().find(|g| g.service.as_deref() == Some("NSP") && g.priority == Some(Priority::P1)).unwrap();
            assert_eq!(nsp.kind, FindingKind::Gap);
            let example = nsp.example.as_ref().unwrap();
            // 1 Jan 2026 is a holiday, so the first gap is Friday 2 Jan 18:00.
            assert_eq!(example.strftime("%a %F %T %Z").to_string(), "Fri 2026-01-02 18:00:00 CET");
            // 6 hours a week, sampled every 15 minutes plus edges.
            assert!(nsp.count >= 24 * 50, "{}", nsp.count);
            let text = e.to_string();
            assert!(text.contains("refusing to start"), "{text}");
            assert!(text.contains("gap: NSP P1"), "{text}");
            assert!(text.contains("gap: any other service P1"), "{text}");
            assert!(text.contains("Fri 2026-01-02 18:00:00 CET [Europe/Copenhagen]"), "{text}");
        }
        other => panic!("want Gaps, got {other:?}"),
    }
}

#[test]
fn a_one_minute_gap_at_an_edge_is_found() {
    // 15:30 → 15:31 is not on the 15-minute grid: only the edge samples see it.
    let src =
        edit(SHIPPED_TOML, "{ days = \"fri\", time = \"15:30-18:00\" }", "{ days = \"fri\", time = \"15:31-18:00\" }");
    match load(&src) {
        Err(LoadError::Gaps { gaps, .. }) => {
            let g = &gaps[0];
            assert_eq!(g.example.as_ref().unwrap().strftime("%a %T").to_string(), "Fri 15:30:00");
        }
        other => panic!("want Gaps, got {other:?}"),
    }
}

#[test]
fn an_overlap_is_a_warning_and_the_first_rule_wins() {
    let extra = "[[rules]]\nid = \"sosi-tuesday-evening\"\nservices = [\"SOSI\"]\npriorities = [\"P1\"]\nwindows = [{ days = \"tue\", time = \"20:00-22:00\" }]\ncontact = \"national-service-desk\"\n\n[[rules]]\nid = \"nsp-weeknight\"";
    let src = edit(SHIPPED_TOML, "[[rules]]\nid = \"nsp-weeknight\"", extra);
    let rs = load(&src).unwrap();
    let overlaps: Vec<_> = rs.warnings().iter().filter(|w| w.kind == FindingKind::Overlap).collect();
    assert_eq!(overlaps.len(), 1, "{:?}", rs.warnings());
    let o = overlaps[0];
    assert_eq!(o.service.as_deref(), Some("SOSI"));
    assert_eq!(o.priority, Some(Priority::P1));
    assert_eq!(o.rules, ["sosi-tuesday-evening", "nsp-weeknight"]);
    assert_eq!(o.example.as_ref().unwrap().strftime("%a %F %H:%M").to_string(), "Tue 2026-01-06 20:00");
    assert!(o.to_string().starts_with("overlap: SOSI P1"), "{o}");
    let at = crate::escalation::testkit::local("2026-01-06T21:00");
    assert_eq!(rs.decide("SOSI", Priority::P1, at).rule, "sosi-tuesday-evening");
    assert_eq!(rs.decide("SOSI", Priority::P2, at).rule, "nsp-weeknight");
}

#[test]
fn a_rule_that_never_wins_is_a_warning() {
    let extra = "[[rules]]\nid = \"dead\"\nservices = [\"NSP\"]\nwindows = [{ days = \"sat\" }]\ncontact = \"nsp-system-owner\"\n\n[default]\ncontact";
    let src = edit(SHIPPED_TOML, "[default]\ncontact", extra);
    let rs = load(&src).unwrap();
    assert!(rs.warnings().iter().any(|w| w.kind == FindingKind::Unused && w.rules == ["dead"]), "{:?}", rs.warnings());
}

#[test]
fn version_ignores_layout_but_not_content() {
    let base = shipped().version().to_string();
    let respelled = edit(
        SHIPPED_TOML,
        "days = \"mon-thu\", time = \"18:00-08:00\"",
        "time = \"18:00-08:00\", days = \"Monday-Thursday\"",
    );
    let respelled = format!("# a comment of its own\n\n{respelled}");
    let respelled = edit(&respelled, "ack_timeout = \"15m\"", "ack_timeout   =   \"15 minutes\"");
    assert_eq!(load(&respelled).unwrap().version(), base);

    let changed = edit(SHIPPED_TOML, "phone = \"+45 00000002\"", "phone = \"+45 00000009\"");
    assert_ne!(load(&changed).unwrap().version(), base);
    let reordered = edit(SHIPPED_TOML, "[[rules]]\nid = \"nsp-holiday\"", "[[rules]]\nid = \"nsp-holiday-2\"");
    assert_ne!(load(&reordered).unwrap().version(), base);
}

#[test]
fn load_reads_a_file_and_names_it() {
    let missing = Ruleset::load(Path::new("/nonexistent/contacts.toml"), sweep_start()).unwrap_err();
    assert!(matches!(missing, LoadError::Read { .. }));
    assert!(missing.to_string().starts_with("/nonexistent/contacts.toml: cannot read"), "{missing}");
}

#[test]
fn locate_finds_line_column_and_key() {
    let src = "zone = \"x\"\n[[rules]]\nid = \"a\"\n[[rules]]\nid = \"b\"\nbad = 1\n";
    let offset = src.find("bad").unwrap();
    assert_eq!(locate(src, offset), (6, 1, "rules[1].bad".to_string()));
    assert_eq!(locate(src, 0), (1, 1, "zone".to_string()));
}
