//! Graceful shutdown of the real binary: on SIGTERM the gateway stops accepting,
//! finishes the request in flight (2xx), flushes the store and exits 0; what that
//! request did is there after a restart.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Running {
    child: Child,
    addr: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(config: &Path, log: &Path) -> Running {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deskgate"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DESKGATE_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in &env().vars {
        cmd.env(k, v);
    }
    let child = cmd
        .args(["serve", "--json-logs", "--config", config.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut running = Running { child, addr: String::new() };
    for _ in 0..400 {
        if let Some(addr) = listening_addr(log) {
            running.addr = addr;
            return running;
        }
        assert!(running.child.try_wait().unwrap().is_none(), "the gateway exited: {}", read(log));
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the gateway never said where it listens: {}", read(log));
}

fn read(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

fn listening_addr(log: &Path) -> Option<String> {
    read(log).lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find_map(|l| {
        let fields = if l["fields"].is_object() { &l["fields"] } else { &l };
        (fields["message"] == "deskgate listening").then(|| fields["addr"].as_str().map(str::to_owned)).flatten()
    })
}

fn sigterm(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn a_request_in_flight_when_sigterm_arrives_completes_and_its_incident_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(&config, config_text(&dir.path().join("store"), 1024 * 1024)).unwrap();
    let log = dir.path().join("gateway.log");
    let mut gw = start(&config, &log).await;

    // A submission whose body arrives in two parts: the request is in flight.
    let body = serde_json::to_vec(&incident("INC0099001")).unwrap();
    let token = hs256(&claims("idp.regionh", "region-h"), "region-h-test-secret");
    let head = format!(
        "POST /api/v1/incidents HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        gw.addr,
        body.len()
    );
    let mut conn = TcpStream::connect(&gw.addr).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..body.len() / 2]).await.unwrap();
    conn.flush().await.unwrap();
    // Let the gateway take the connection and start reading the request.
    tokio::time::sleep(Duration::from_millis(300)).await;

    sigterm(&gw.child);
    // Shutdown has begun once new connections are refused.
    let mut refused = false;
    for _ in 0..400 {
        if TcpStream::connect(&gw.addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(refused, "the gateway kept accepting connections after SIGTERM");
    assert!(gw.child.try_wait().unwrap().is_none(), "the gateway exited with a request in flight");

    conn.write_all(&body[body.len() / 2..]).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let created: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();

    let status = gw.child.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status}; {}", read(&log));
    assert!(read(&log).contains("store flushed"), "{}", read(&log));
    drop(gw);

    let gw = start(&config, &dir.path().join("again.log")).await;
    let got = reqwest::Client::new()
        .get(format!("http://{}/api/v1/incidents/{id}", gw.addr))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    let got: Value = got.json().await.unwrap();
    assert_eq!(got["title"], created["title"]);
}
