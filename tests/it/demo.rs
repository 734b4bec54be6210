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

/// Kills the demo however the test ends.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `deskgate demo --serve` keeps the federation up after the scenario: a person signs
/// in at the printed identity provider with the printed demo user (a plain HTTP
/// client following the login form), reaches the intake form, and Ctrl-C ends it all
/// cleanly.
#[tokio::test]
async fn demo_serve_signs_a_printed_user_in_at_the_printed_urls_and_stops_at_ctrl_c() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;

    let mut child = crate::kit::binary::command()
        .args(["demo", "--serve"])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().unwrap();
    let mut running = Running(child);
    // The banner up to its last line, read on a thread; the bound only keeps a broken
    // build from hanging the suite.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut all = BufReader::new(stdout).lines().map_while(Result::ok);
        for line in all.by_ref() {
            let last = line.starts_with("Ctrl-C stops");
            lines.push(line);
            if last {
                break;
            }
        }
        let _ = tx.send(lines);
        // Read on to the end, as a terminal would: what the demo prints as it stops
        // must not meet a closed pipe.
        all.for_each(drop);
    });
    let lines = rx.recv_timeout(std::time::Duration::from_secs(180)).expect("the demo prints where it serves");
    assert!(lines.iter().any(|l| l == "done."), "the scenario played first: {lines:#?}");
    assert!(!lines.iter().any(|l| l.contains('✘')), "a step did not go as expected: {lines:#?}");
    let url_of = |label: &str| {
        let line = lines.iter().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("{label}"));
        line.split_whitespace().last().unwrap().to_owned()
    };
    let report = url_of("intake form");
    assert!(url_of("operator console").ends_with("/console"), "{lines:#?}");
    let base = report.strip_suffix("/report").expect("the form's URL").to_owned();
    for desk in ["sds", "fmk"] {
        assert!(lines.iter().any(|l| l.trim_start().starts_with(desk) && l.contains(" user ")), "{desk}: {lines:#?}");
    }

    // A local desk's reporter lands on the form, the national desk's operator on the console.
    let session = sign_in_as_printed(&lines, &base, "region-h", "/report").await;
    let http = reqwest::Client::new();
    let form = http.get(&report).header("cookie", &session).send().await.unwrap();
    assert_eq!(form.status(), 200);
    assert!(form.text().await.unwrap().contains("Region Hovedstaden"), "signed in as the printed user");
    let session = sign_in_as_printed(&lines, &base, "sds", "/console").await;
    let console = http.get(format!("{base}/console")).header("cookie", &session).send().await.unwrap();
    assert_eq!(console.status(), 200);
    assert!(console.text().await.unwrap().contains("nav-queue"), "the console's navigation");

    let pid = running.0.id().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let status =
        crate::kit::wait::poll_until(std::time::Duration::from_secs(30), async || running.0.try_wait().unwrap()).await;
    assert!(status.expect("the demo stops at Ctrl-C").success(), "exit 0 after Ctrl-C");
}

/// Sign in as the user the demo printed for `desk` (`<desk>  user <login> / <password>
/// … at <issuer>`), through the provider's login form, with a plain HTTP client; the
/// gateway sends the person to `lands_on`. The session cookie.
async fn sign_in_as_printed(lines: &[String], base: &str, desk: &str, lands_on: &str) -> String {
    let line = lines
        .iter()
        .find(|l| l.trim_start().starts_with(desk) && l.contains(" user "))
        .unwrap_or_else(|| panic!("a user of {desk}: {lines:#?}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let login = words[words.iter().position(|w| *w == "user").unwrap() + 1];
    let password = words[words.iter().position(|w| *w == "/").unwrap() + 1];
    let issuer = *words.last().unwrap();

    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let location = crate::kit::signin::location;
    let cookie = |r: &reqwest::Response, name: &str| {
        crate::kit::signin::set_cookie(r, name).unwrap_or_else(|| panic!("no cookie {name}"))
    };
    let start = http.get(format!("{base}/login/{desk}")).send().await.unwrap();
    assert_eq!(start.status(), 303, "{desk} signs in here");
    let login_cookie = cookie(&start, "deskgate_login");
    let authorize = location(&start);
    assert!(authorize.starts_with(issuer), "{authorize} is the printed provider's");
    // The provider's login page, then its form sent back with the printed credentials.
    let page = http.get(&authorize).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(r#"name="password""#));
    let mut form: Vec<(String, String)> = url::Url::parse(&authorize).unwrap().query_pairs().into_owned().collect();
    form.extend([("username".into(), login.into()), ("password".into(), password.into())]);
    let back = http.post(format!("{issuer}/authorize")).form(&form).send().await.unwrap();
    assert_eq!(back.status(), 303, "the printed password signs in");
    let callback = location(&back);
    assert!(callback.starts_with(&format!("{base}/auth/callback")), "{callback}");
    let signed_in = http.get(&callback).header("cookie", &login_cookie).send().await.unwrap();
    assert_eq!(location(&signed_in), lands_on, "{desk}");
    cookie(&signed_in, "deskgate_session")
}
