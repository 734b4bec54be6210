//! `deskgate sim`: the three simulators for manual use.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn deskgate() -> Command {
    crate::kit::binary::command()
}

#[test]
fn sim_help_describes_the_command() {
    let out = deskgate().args(["sim", "--help"]).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("--servicenow-port") && stdout.contains("--jira-port"), "{stdout}");
    assert!(stdout.contains("--clearquest-port"), "{stdout}");
}

/// Kills the simulator process however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The base URL on the line starting with `name`.
fn url_of(lines: &[String], name: &str) -> String {
    let line = lines.iter().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name} line in {lines:?}"));
    line.split_whitespace().nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn sim_starts_three_simulators_that_answer_on_the_printed_urls() {
    let mut child = deskgate().arg("sim").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);

    // Read the banner on a thread; the bound only keeps a broken build from
    // hanging the suite, it is not a performance assertion.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let last = line.starts_with("faults");
            lines.push(line);
            if last {
                break;
            }
        }
        let _ = tx.send(lines);
    });
    let lines = rx.recv_timeout(Duration::from_secs(120)).expect("the simulators print their URLs");
    assert!(lines.iter().any(|l| l.starts_with("faults")), "{lines:?}");

    let client = reqwest::Client::new();
    let servicenow = url_of(&lines, "servicenow");
    let res = client
        .get(format!("{servicenow}/api/now/table/incident"))
        .basic_auth("deskgate.integration", Some("integration-password"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let anonymous = client.get(format!("{servicenow}/api/now/table/incident")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401, "the printed credentials are the ones that matter");

    let jira = url_of(&lines, "jira");
    let res =
        client.get(format!("{jira}/rest/api/2/myself")).bearer_auth("jira-personal-access-token").send().await.unwrap();
    assert_eq!(res.status(), 200);

    let clearquest = url_of(&lines, "clearquest");
    let res = client
        .get(format!("{clearquest}/cqweb/oslc/repo/7.0.0/db/SAMPL/services"))
        .basic_auth("deskgate", Some("deskgate-secret"))
        .header("OSLC-Core-Version", "2.0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // The credentials are printed for a person to use.
    let banner = lines.join("\n");
    assert!(banner.contains("deskgate.integration / integration-password"), "{banner}");
    assert!(banner.contains("jira-personal-access-token"), "{banner}");
    assert!(banner.contains("deskgate / deskgate-secret"), "{banner}");
}

#[tokio::test]
async fn sim_serves_on_a_port_it_is_given() {
    // A free port, released just before the simulator binds it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = deskgate()
        .args(["sim", "--jira-port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _running = Running(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let lines: Vec<String> =
            BufReader::new(stdout).lines().map_while(Result::ok).take_while(|l| !l.starts_with("faults")).collect();
        let _ = tx.send(lines);
    });
    let lines = rx.recv_timeout(Duration::from_secs(120)).expect("the simulators print their URLs");
    let jira = url_of(&lines, "jira");
    assert_eq!(jira, format!("http://127.0.0.1:{port}"));
    let res = reqwest::get(format!("{jira}/rest/api/2/serverInfo")).await.unwrap();
    assert_eq!(res.status(), 200);
}
