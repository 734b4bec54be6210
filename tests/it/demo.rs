//! The README's first command keeps working: `deskgate demo` plays the whole NSP
//! scenario against the simulators and ends cleanly.

#[test]
fn the_demo_plays_the_nsp_scenario_to_the_end() {
    plays(
        &["demo", "--at", "2026-11-29T02:00"],
        &[
            "the national desk's ClearQuest has SDS00000001",
            "FMK Incident Manager via rule `fmk-always`",
            "mail to fmk-incident-manager@fmk.example",
            "(the same at this hour for an NSP incident: NSP System Owner)",
            "registers INC-2026-000002 as a support request of INC-2026-000001",
            "is assigned to fmk",
            "the operations supplier's Jira has 0 issues",
            "state 6 (Resolved)",
            "(the support request) got the resolution too",
            "409 INC-2026-000001 is P2",
            "it was told: “Closed nationally",
            "the FMK/NSP Incident Manager Mette Holm approves it",
            "journalised once (step 17): mail to journal@sds.example: “Journal: INC-2026-000001",
            "Please also phone Sundhedsdatastyrelsen National Service Desk on +45 33143900",
            "403 a clinician",
            "422 patient data in title",
            "dead letters: 0",
            "done.",
        ],
    );
}

/// `deskgate demo --profile healthdata` plays the healthdata.be process: the matrix's
/// priority, on hold awaiting a problem, resolved, reopened by the reporter, resolved
/// again, closed by itself five working days later, and a reopen after close refused.
#[test]
fn the_healthdata_demo_plays_its_process_to_the_end() {
    plays(
        &["demo", "--profile", "healthdata", "--at", "2026-12-21T10:00:00+01:00"],
        &[
            "the healthdata.be federation of deploy/healthdata/gateway.toml",
            "SILVER service × medium impact = P04 (escalates as P3)",
            "healthdata.be's ServiceNow has 1 record(s), u_process_priority P04",
            "on_hold (awaiting_problem)",
            "state 3, hold_reason 3",
            "reopened by the hospital: in_progress",
            "the L2 Jira issue is In Progress again",
            // Monday 21 December + 5 working days, 25 and 26 December closed.
            "closes by itself Tuesday 2026-12-29 10:00",
            "closed by itself; healthdata.be's ServiceNow: state 7; the L2 Jira issue is Closed",
            "409 INC-2026-000001 is closed",
            "a new ticket is needed",
            "dead letters: 0",
            "done.",
        ],
    );
}

/// Runs `deskgate` with `args` and checks it ends well, tells every line of `story`,
/// and has no step that went otherwise than expected (✘).
fn plays(args: &[&str], story: &[&str]) {
    let out = crate::kit::binary::command().args(args).env_remove("RUST_LOG").output().expect("the binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    for expected in story {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    assert!(!stdout.contains('✘'), "a step did not go as expected:\n{stdout}");
}
