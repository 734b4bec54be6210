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

/// The banner `deskgate sim` prints, up to its last line (`faults …`), read on a
/// thread; the bound only keeps a broken build from hanging the suite, it is not a
/// performance assertion.
fn banner(stdout: std::process::ChildStdout) -> Vec<String> {
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
    rx.recv_timeout(Duration::from_secs(120)).expect("the simulators print their URLs")
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

    let lines = banner(stdout);
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

fn deploy(path: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(path)
}

/// Start `deskgate sim --config <path>`; its banner lines, up to the faults line.
fn sim_with_config(path: &std::path::Path) -> (Running, Vec<String>) {
    sim_with_config_env(path, &[])
}

/// Held by the tests that serve the compose configuration on its fixed ports.
static COMPOSE_PORTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn sim_with_config_env(path: &std::path::Path, env: &[(&str, &str)]) -> (Running, Vec<String>) {
    let mut command = deskgate();
    command.envs(env.iter().copied());
    let mut child =
        command.arg("sim").arg("--config").arg(path).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let running = Running(child);
    let lines = banner(stdout);
    if !lines.iter().any(|l| l.starts_with("faults")) {
        let mut errors = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut errors);
        panic!("deskgate sim --config {} did not start: {lines:?} {errors}", path.display());
    }
    (running, lines)
}

/// The compose gateway's environment, `${NAME:-default}` taking its default.
fn compose_env() -> deskgate::config::MapEnv {
    let compose: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(deploy("docker-compose.yml")).unwrap()).unwrap();
    let mut env = deskgate::config::MapEnv::new(false);
    for (k, v) in compose["services"]["deskgate"]["environment"].as_mapping().unwrap() {
        let value = v.as_str().unwrap();
        let value = value.split(":-").nth(1).map_or(value, |d| d.trim_end_matches('}'));
        env = env.with(k.as_str().unwrap(), value);
    }
    env
}

/// GET what a desk's adapter reads first from its system, with the desk's own
/// credentials: the ServiceNow incident table, the Jira project, the ClearQuest
/// database's services. Returns the status.
async fn get_as_desk(base: &str, desk: &deskgate::config::Desk) -> reqwest::StatusCode {
    use deskgate::config::{Credentials, System};
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = base.trim_end_matches('/');
    let request = match desk.system {
        System::Servicenow => client.get(format!("{base}/api/now/table/incident")),
        System::Jira => {
            let project = &desk.jira().unwrap().project;
            client.get(format!("{base}/rest/api/2/project/{project}"))
        }
        System::Clearquest => {
            let cq = desk.clearquest().unwrap();
            client
                .get(format!("{base}/cqweb/oslc/repo/{}/db/{}/services", cq.repo, cq.db))
                .header("OSLC-Core-Version", "2.0")
        }
        other => panic!("desk {} of system {other:?} has an endpoint", desk.id),
    };
    let request = match desk.credentials.as_ref().unwrap() {
        Credentials::Basic { username, password } => request.basic_auth(username, Some(password.expose())),
        Credentials::Bearer { token } => request.bearer_auth(token.expose()),
        other => panic!("desk {}: unexpected credentials {other:?}", desk.id),
    };
    request.send().await.unwrap().status()
}

#[test]
fn the_compose_federation_is_the_shipped_federation() {
    let desks_of = |path: &str| -> Vec<(String, String, String, String, String)> {
        let table: toml::Table = std::fs::read_to_string(deploy(path)).unwrap().parse().unwrap();
        table["desks"]
            .as_table()
            .unwrap()
            .iter()
            .map(|(id, d)| {
                let s = |v: Option<&toml::Value>| v.map(ToString::to_string).unwrap_or_default();
                let hosts =
                    s(d.get("jira").and_then(|j| j.get("project"))) + &s(d.get("clearquest").and_then(|c| c.get("db")));
                (id.clone(), s(d.get("role")), s(d.get("system")), hosts, s(d.get("services")))
            })
            .collect()
    };
    let shipped = desks_of("gateway.toml");
    assert!(shipped.len() >= 6, "{shipped:?}");
    assert_eq!(desks_of("compose/gateway.toml"), shipped);
}

#[tokio::test]
async fn sim_config_serves_every_endpoint_the_compose_gateway_calls() {
    let _ports = COMPOSE_PORTS.lock().await;
    let path = deploy("compose/gateway.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    // The gateway's view: its configuration with the secrets compose gives it.
    let config = deskgate::config::Config::from_toml(&text, &deploy("compose"), &compose_env())
        .unwrap_or_else(|p| panic!("{p:?}"));
    let (_running, lines) = sim_with_config(&path);
    let mut called = 0;
    for desk in config.desks.values() {
        let Some(endpoint) = &desk.endpoint else { continue };
        called += 1;
        assert!(lines.iter().any(|l| l.starts_with(desk.id.as_str())), "{} is not in {lines:?}", desk.id);
        let status = get_as_desk(endpoint.as_str(), desk).await;
        assert_eq!(status, 200, "desk {} at {endpoint}", desk.id);
    }
    assert_eq!(called, 5, "region-h, region-m, sds, drift and fmk call a system");
    // And the mail server and SMS gateway escalations go to.
    let smtp = config.gateway.smtp.as_ref().expect("compose configures mail");
    let mut mail = tokio::net::TcpStream::connect(("127.0.0.1", smtp.port)).await.expect("the mail simulator listens");
    let mut greeting = [0u8; 3];
    tokio::io::AsyncReadExt::read_exact(&mut mail, &mut greeting).await.unwrap();
    assert_eq!(&greeting, b"220", "an SMTP greeting");
    let sms = config.gateway.sms.as_ref().expect("compose configures SMS");
    let sent = reqwest::Client::new()
        .post(&sms.url)
        .bearer_auth("any")
        .json(&serde_json::json!({ "to": "+4500000000", "body": "probe", "reference": "r-1" }))
        .send()
        .await
        .unwrap();
    assert!(sent.status().is_success(), "{}", sent.status());
}

#[tokio::test]
async fn sim_config_stands_in_for_endpoints_on_other_hosts_on_printed_ports() {
    // deploy/gateway.toml names real hosts and none of its secrets are set here.
    let path = deploy("gateway.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let (_running, lines) = sim_with_config(&path);
    // The simulators' credentials, as compose gives them to the gateway.
    let config =
        deskgate::config::Config::from_toml(&text, &deploy(""), &compose_env()).unwrap_or_else(|p| panic!("{p:?}"));
    for desk in config.desks.values().filter(|d| d.endpoint.is_some()) {
        let at = lines.iter().position(|l| l.starts_with(desk.id.as_str())).unwrap_or_else(|| panic!("{lines:?}"));
        let url = lines[at].split_whitespace().nth(2).unwrap();
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        assert_eq!(lines[at + 1].trim(), format!("stands in for {}", desk.endpoint.as_ref().unwrap()));
        assert_eq!(get_as_desk(url, desk).await, 200, "desk {} at {url}", desk.id);
    }
}

#[tokio::test]
async fn desks_calling_one_endpoint_share_a_simulator_hosting_each_ones_project_or_database() {
    // The compose configuration's mail and SMS ports stay fixed here.
    let _ports = COMPOSE_PORTS.lock().await;
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (jira_port, cq_port, sn_port) = (free(), free(), free());
    let text = std::fs::read_to_string(deploy("compose/gateway.toml"))
        .unwrap()
        .replace("127.0.0.1:18084", &format!("127.0.0.1:{jira_port}"))
        .replace("127.0.0.1:18082", &format!("127.0.0.1:{jira_port}"))
        .replace("127.0.0.1:18083", &format!("127.0.0.1:{cq_port}"))
        .replace("127.0.0.1:18085", &format!("127.0.0.1:{cq_port}"))
        .replace("127.0.0.1:18081", &format!("127.0.0.1:{sn_port}"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    std::fs::write(&path, &text).unwrap();
    let config = deskgate::config::Config::from_toml(&text, dir.path(), &compose_env()).unwrap();
    let (_running, _lines) = sim_with_config(&path);
    for desk in config.desks.values().filter(|d| d.endpoint.is_some()) {
        let endpoint = desk.endpoint.as_ref().unwrap();
        assert_eq!(get_as_desk(endpoint.as_str(), desk).await, 200, "desk {} at {endpoint}", desk.id);
    }

    // One Jira: both projects, keys counted per project, the region's token and the
    // supplier's account both accepted.
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let jira = format!("http://127.0.0.1:{jira_port}/rest/api/2");
    let listed = crate::kit::get_json(&client, &format!("{jira}/project"), "jira-personal-access-token").await;
    let mut keys: Vec<_> = listed.as_array().unwrap().iter().map(|p| p["key"].as_str().unwrap().to_owned()).collect();
    keys.sort();
    assert_eq!(keys, ["DRIFT", "RMSD"]);
    for project in ["RMSD", "DRIFT"] {
        let fields =
            serde_json::json!({"project": {"key": project}, "issuetype": {"name": "Incident"}, "summary": "s"});
        let create = client
            .post(format!("{jira}/issue"))
            .basic_auth("deskgate@drift.example", Some("jira-api-token"))
            .json(&serde_json::json!({ "fields": fields }));
        let created = crate::kit::json_of(create).await;
        assert_eq!(created["key"], format!("{project}-1"));
    }

    // One ClearQuest port: each database is its own, unknown ones are refused.
    let cq = format!("http://127.0.0.1:{cq_port}/cqweb/oslc/repo/7.0.0/db");
    let services = |db: &str| {
        client
            .get(format!("{cq}/{db}/services"))
            .basic_auth("deskgate", Some("deskgate-secret"))
            .header("OSLC-Core-Version", "2.0")
            .send()
    };
    assert_eq!(services("SDS").await.unwrap().status(), 200);
    assert_eq!(services("FMK").await.unwrap().status(), 200);
    assert_eq!(services("SAMPL").await.unwrap().status(), 404);
}

#[test]
fn sim_config_reports_a_configuration_it_cannot_serve() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    // Two systems on one port cannot both be served.
    let text =
        std::fs::read_to_string(deploy("compose/gateway.toml")).unwrap().replace("127.0.0.1:18085", "127.0.0.1:18082");
    std::fs::write(&path, text).unwrap();
    let out = deskgate().arg("sim").arg("--config").arg(&path).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("desks.fmk.endpoint") && stderr.contains("one port serves one system"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing was started");

    let out = deskgate().args(["sim", "--config", "missing.toml", "--jira-port", "1"]).output().unwrap();
    assert!(!out.status.success(), "--config and the port flags exclude each other");
}

#[tokio::test]
async fn the_compose_gateway_runs_against_the_simulators_sim_config_serves() {
    let _ports = COMPOSE_PORTS.lock().await;
    // The two containers, as processes: `deskgate sim --config` and `deskgate serve`
    // on the compose configuration, with compose's environment; only where the
    // gateway listens and keeps its data are moved for the test.
    let dir = tempfile::tempdir().unwrap();
    let path = deploy("compose/gateway.toml");
    let (_sim, _lines) = sim_with_config(&path);
    let contacts = deploy("contacts.toml");
    let overrides = [
        ("DESKGATE_GATEWAY__LISTEN", "127.0.0.1:0".to_owned()),
        ("DESKGATE_GATEWAY__DATA_DIR", dir.path().join("data").display().to_string()),
        ("DESKGATE_GATEWAY__CONTACTS", contacts.display().to_string()),
    ];
    let env = compose_env().vars.into_iter().chain(overrides.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let gateway = crate::kit::RunningBinary::serve(&path, &dir.path().join("gateway.log"), env).await;
    let gateway = gateway.ready(&client).await;

    // The portal reports an incident; the gateway forwards it to the national desk's
    // ClearQuest database, SDS, in the simulator.
    let secret = compose_env().vars["DESKGATE_SECRET_PORTAL_JWT"].clone();
    let token = crate::kit::hs256(&crate::kit::claims("https://portal.example", "portal"), &secret);
    let incident = crate::kit::incident("PORTAL-1");
    let res = client
        .post(format!("{}/api/v1/incidents", gateway.base()))
        .bearer_auth(&token)
        .json(&incident)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: serde_json::Value = res.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let query = "http://127.0.0.1:18083/cqweb/oslc/repo/7.0.0/db/SDS/simpleQuery/16777224?oslc.select=*";
    let mut last = String::new();
    let records = crate::kit::poll_until(Duration::from_secs(30), async || {
        let res = client
            .get(query)
            .basic_auth("deskgate", Some("deskgate-secret"))
            .header("OSLC-Core-Version", "2.0")
            .header("Accept", "application/json")
            .send()
            .await
            .ok()?;
        let text = res.text().await.ok()?;
        last.clone_from(&text);
        // The record carries the incident's id, as the gateway correlates them.
        (text.contains(&id) && text.contains("prescriptions cannot be read")).then_some(text)
    })
    .await;
    assert!(records.is_some(), "no SDS record in the simulator: {last}\n{}", gateway.logs());
}

#[tokio::test]
async fn a_simulated_jira_signs_its_webhooks_to_the_gateway_when_its_desk_secret_is_set() {
    // A receiver standing where the gateway takes Jira webhooks.
    type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, String, Vec<u8>)>>>;
    let received: Received = Default::default();
    let store = received.clone();
    let receiver = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let store = store.clone();
            async move {
                let signature =
                    headers.get("x-hub-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                store.lock().unwrap().push((uri.path().to_owned(), signature, body.to_vec()));
                axum::http::StatusCode::OK
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    // The compose configuration's mail and SMS ports stay fixed here.
    let _ports = COMPOSE_PORTS.lock().await;
    let text = std::fs::read_to_string(deploy("compose/gateway.toml")).unwrap();
    let free = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let text = ["18081", "18082", "18083", "18084", "18085"]
        .iter()
        .fold(text, |t, port| t.replace(&format!("127.0.0.1:{port}"), &format!("127.0.0.1:{}", free())));
    std::fs::write(&path, &text).unwrap();
    let table: toml::Table = text.parse().unwrap();
    let drift_port = url::Url::parse(table["desks"]["drift"]["endpoint"].as_str().unwrap()).unwrap().port().unwrap();

    // Only drift's secret is set: only drift's Jira sends webhooks.
    let secret = "a-webhook-secret-for-the-test";
    let (_running, lines) = sim_with_config_env(
        &path,
        &[("DESKGATE_SECRET_DRIFT_WEBHOOK", secret), ("DESKGATE_GATEWAY__PUBLIC_URL", gateway.as_str())],
    );
    let banner = lines.join("\n");
    assert!(banner.contains(&format!("webhooks to {gateway}/webhooks/jira/drift, signed")), "{banner}");
    assert!(!banner.contains("webhooks/jira/region-m"), "{banner}");
    assert!(!banner.contains(secret), "the secret is not printed: {banner}");

    let fields = serde_json::json!({"project": {"key": "DRIFT"}, "issuetype": {"name": "Incident"}, "summary": "s"});
    let res = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("http://127.0.0.1:{drift_port}/rest/api/2/issue"))
        .basic_auth("deskgate@drift.example", Some("jira-api-token"))
        .json(&serde_json::json!({ "fields": fields }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let delivered =
        crate::kit::poll_until(Duration::from_secs(30), async || received.lock().unwrap().first().cloned()).await;
    let (path, signature, body) = delivered.expect("the simulated Jira sent a webhook");
    assert_eq!(path, "/webhooks/jira/drift");
    assert_eq!(signature, deskgate_jira::webhook::sign(secret.as_bytes(), &body));
}

#[tokio::test]
async fn sim_config_serves_an_openid_provider_for_a_loopback_issuer_desks_sign_in_at() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let issuer = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.toml");
    let mut config = crate::kit::GatewayConfig::new(&dir.path().join("data"));
    config.desk("portal", crate::kit::Desk::new("Portal", "local", "native").hs256(&issuer, "T_PORTAL_JWT"));
    config.desk_subkey("portal", "auth", "oidc_client_id", "deskgate");
    config.desk_subkey("portal", "auth", "oidc_client_secret", crate::kit::config::env_secret("T_PORTAL_OIDC"));
    std::fs::write(&path, config.render()).unwrap();
    let (_running, lines) = sim_with_config(&path);
    assert_eq!(url_of(&lines, "openid"), issuer, "{lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("client deskgate / ") && l.contains("user portal-reporter / ")),
        "{lines:?}"
    );
    let metadata: serde_json::Value =
        reqwest::get(format!("{issuer}/.well-known/openid-configuration")).await.unwrap().json().await.unwrap();
    assert_eq!(metadata["issuer"], issuer.as_str());
    assert_eq!(metadata["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    let keys: serde_json::Value =
        reqwest::get(metadata["jwks_uri"].as_str().unwrap()).await.unwrap().json().await.unwrap();
    assert_eq!(keys["keys"][0]["kty"], "EC");
}
