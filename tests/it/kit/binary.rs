//! The real `deskgate` binary: the command with its environment scrubbed in one place,
//! and [`RunningBinary`], a `deskgate serve` the tests signal, kill and read the logs of.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::wait::poll_until;

/// How long the binary gets to say where it listens, or to become ready.
const START_WITHIN: Duration = Duration::from_secs(10);

/// `deskgate`, run from the crate root, with no `DESKGATE_` variable of the caller's
/// (an operator's own settings must not change what a test sees).
pub fn command() -> Command {
    scrubbed(Command::new(env!("CARGO_BIN_EXE_deskgate")))
}

/// [`command`], run inside the network namespace `netns` (`ip netns exec`, which
/// execs the binary: the child is deskgate itself).
pub fn command_in_netns(netns: &str) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", netns, env!("CARGO_BIN_EXE_deskgate")]);
    scrubbed(c)
}

fn scrubbed(mut c: Command) -> Command {
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DESKGATE_") {
            c.env_remove(k);
        }
    }
    c
}

/// [`command`] for async tests.
pub fn async_command() -> tokio::process::Command {
    tokio::process::Command::from(command())
}

/// `deskgate serve`, running. Killed (SIGKILL) when dropped, so a failing test leaves
/// no process behind.
pub struct RunningBinary {
    pub child: Child,
    /// `host:port` it listens on.
    pub addr: String,
    /// Where its stderr (JSON logs) goes.
    pub log: PathBuf,
}

impl RunningBinary {
    /// `deskgate serve --json-logs --config CONFIG` with `env` set, stderr to `log`;
    /// returns once it logs where it listens (bounded; fails the test with the logs if
    /// it exits or never says).
    pub async fn serve<K: AsRef<str>, V: AsRef<str>>(
        config: &Path,
        log: &Path,
        env: impl IntoIterator<Item = (K, V)>,
    ) -> RunningBinary {
        RunningBinary::serve_with(command(), config, log, env).await
    }

    /// [`RunningBinary::serve`] of `cmd` (a [`command`] or [`command_in_netns`]).
    pub async fn serve_with<K: AsRef<str>, V: AsRef<str>>(
        mut cmd: Command,
        config: &Path,
        log: &Path,
        env: impl IntoIterator<Item = (K, V)>,
    ) -> RunningBinary {
        for (k, v) in env {
            cmd.env(k.as_ref(), v.as_ref());
        }
        let child = cmd
            .args(["serve", "--json-logs", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("the deskgate binary starts");
        let mut running = RunningBinary { child, addr: String::new(), log: log.to_owned() };
        let addr = poll_until(START_WITHIN, async || {
            if let Some(status) = running.child.try_wait().unwrap() {
                panic!("deskgate exited with {status}:\n{}", running.logs());
            }
            listening_addr(&running.logs())
        })
        .await;
        match addr {
            Some(addr) => running.addr = addr,
            None => panic!("deskgate never said where it listens:\n{}", running.logs()),
        }
        running
    }

    /// Wait (bounded) until it answers `/readyz` with 200.
    /// `serve` with every test desk's secret and `RUST_LOG=info`, returned once it
    /// answers `/readyz` (bounded).
    pub async fn serve_ready(config: &Path, log: &Path, client: &reqwest::Client) -> RunningBinary {
        let secrets = super::tokens::federation_env().vars;
        let env = secrets.into_iter().chain([("RUST_LOG".to_owned(), "info".to_owned())]);
        RunningBinary::serve(config, log, env).await.ready(client).await
    }

    /// [`RunningBinary::serve_ready`] of `cmd`.
    pub async fn serve_ready_with(cmd: Command, config: &Path, log: &Path, client: &reqwest::Client) -> RunningBinary {
        let secrets = super::tokens::federation_env().vars;
        let env = secrets.into_iter().chain([("RUST_LOG".to_owned(), "info".to_owned())]);
        RunningBinary::serve_with(cmd, config, log, env).await.ready(client).await
    }

    pub async fn ready(mut self, client: &reqwest::Client) -> RunningBinary {
        let url = format!("{}/readyz", self.base());
        let ready = poll_until(START_WITHIN, async || {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("deskgate exited with {status}:\n{}", self.logs());
            }
            let res = client.get(&url).send().await;
            res.is_ok_and(|r| r.status() == StatusCode::OK).then_some(())
        })
        .await;
        assert!(ready.is_some(), "deskgate did not become ready:\n{}", self.logs());
        self
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything it logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// SIGKILL: no shutdown, no flush, nothing finishes.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RunningBinary {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The address from the "deskgate listening" line of JSON logs.
pub fn listening_addr(logs: &str) -> Option<String> {
    logs.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).find_map(|l| {
        let fields = if l["fields"].is_object() { &l["fields"] } else { &l };
        (fields["message"] == "deskgate listening").then(|| fields["addr"].as_str().map(str::to_owned)).flatten()
    })
}
