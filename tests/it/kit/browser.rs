//! A real headless Chromium driven over WebDriver: chromedriver on a free loopback
//! port, killed on drop, and a fresh profile per browser. Without chromedriver the
//! browser tests fail saying so, unless `DESKGATE_SKIP_BROWSER=1`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Where the tests' screenshots go: `<target>/web-screenshots/`.
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("web-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Browser {
    /// A browser, or `None` when chromedriver is missing and skipping was asked for.
    pub async fn start() -> Option<Browser> {
        let have = std::path::Path::new(CHROMEDRIVER).exists();
        if !have {
            if std::env::var("DESKGATE_SKIP_BROWSER").as_deref() == Ok("1") {
                eprintln!("skipped: no {CHROMEDRIVER} (DESKGATE_SKIP_BROWSER=1)");
                return None;
            }
            panic!(
                "the browser tests need {CHROMEDRIVER} and {CHROMIUM}: `apt-get install -y chromium chromium-driver` \
                 (or set DESKGATE_SKIP_BROWSER=1 to skip them)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
                    "--window-size=1200,1600", format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            let builder = ClientBuilder::new(HttpConnector::new()).capabilities(caps.clone()).to_owned();
            match builder.connect(&url).await {
                Ok(client) => return Some(Browser { client, driver, _profile: profile }),
                Err(e) => last = Some(e.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver on port {port} did not start a session: {last:?}");
    }

    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    pub async fn fill(&self, id: &str, text: &str) {
        let e = self.client.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("#{id}: {e}"));
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    pub async fn select(&self, id: &str, value: &str) {
        self.client.find(Locator::Id(id)).await.unwrap().select_by_value(value).await.unwrap();
    }

    /// Click `#id`, a button that submits its form, and wait (bounded) until the
    /// browser has left the page it was on: a click answers before the navigation it
    /// starts is done, so the next read would otherwise race the old page.
    pub async fn click(&self, id: &str) {
        let page = self.client.find(Locator::Css("html")).await.unwrap();
        self.client.find(Locator::Id(id)).await.unwrap_or_else(|e| panic!("#{id}: {e}")).click().await.unwrap();
        for _ in 0..400 {
            // The old page's root goes stale once the next page has replaced it.
            if page.tag_name().await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the page did not change within 20 s of clicking #{id}");
    }

    /// The text of `#id`, or `None` when the page has no such element.
    pub async fn text(&self, id: &str) -> Option<String> {
        let e = self.client.find(Locator::Id(id)).await.ok()?;
        Some(e.text().await.unwrap())
    }

    pub async fn source(&self) -> String {
        self.client.source().await.unwrap()
    }

    /// Save what the browser shows as `<name>.png` under [`screenshot_dir`]; its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.unwrap();
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// The value of cookie `name` as the browser holds it.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        self.client.get_named_cookie(name).await.ok().map(|c| c.value().to_owned())
    }
}
