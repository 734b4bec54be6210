//! The probe's HTTP client: calls the desk's endpoint with its configured credentials
//! (never printed), and keeps what the answers say about the server (its clock, its
//! rate-limit headers) for the shared checks.

use parking_lot::Mutex;
use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// How requests authenticate. The secrets stay in here: `Debug` is not derived.
pub enum HttpAuth {
    Basic { user: String, password: String },
    Bearer(String),
    None,
}

/// One answer: status, JSON body (`Null` when the body is not JSON) and raw text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The answer's error messages as the product wrote them, shortened, for a detail.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(list) = self.body.get("errorMessages").and_then(Value::as_array) {
            parts.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        if let Some(map) = self.body.get("errors").and_then(Value::as_object) {
            parts.extend(map.iter().map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default())));
        }
        if let Some(message) = self.body.pointer("/error/message").and_then(Value::as_str) {
            parts.push(message.to_owned());
        }
        if parts.is_empty() {
            parts.push(self.text.chars().take(120).collect());
        }
        format!("HTTP {}: {}", self.status, parts.join("; "))
    }
}

/// What the answers showed, for the shared checks.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    pub answers: usize,
    /// The server's `Date` minus this host's clock, in seconds (largest seen).
    pub skew_secs: Option<i64>,
    /// `name=value` of each rate-limit header, first value per name.
    pub rate_limit_headers: Vec<String>,
}

pub struct Http {
    client: reqwest::Client,
    base: url::Url,
    auth: Mutex<HttpAuth>,
    seen: Mutex<Seen>,
}

impl Http {
    pub fn new(base: url::Url, auth: HttpAuth, timeout: Duration) -> Result<Http, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Http { client, base, auth: Mutex::new(auth), seen: Mutex::new(Seen::default()) })
    }

    /// Use `auth` from now on (e.g. a token an OAuth exchange gave).
    pub fn set_auth(&self, auth: HttpAuth) {
        *self.auth.lock() = auth;
    }

    pub fn seen(&self) -> Seen {
        self.seen.lock().clone()
    }

    /// `path` (with its query) under the endpoint's path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_str().trim_end_matches('/'))
    }

    pub async fn get(&self, path: &str) -> Result<Answer, String> {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn send_json(&self, method: Method, path: &str, body: &Value) -> Result<Answer, String> {
        self.send(method, path, Some(body), &[]).await
    }

    /// Send a request; an error is only a failure to get an answer (no secret in it).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Answer, String> {
        let mut request = self.client.request(method, self.url(path));
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("accept")) {
            request = request.header("Accept", "application/json");
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        request = match &*self.auth.lock() {
            HttpAuth::Basic { user, password } => request.basic_auth(user, Some(password)),
            HttpAuth::Bearer(token) => request.bearer_auth(token),
            HttpAuth::None => request,
        };
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        self.note(response.headers());
        let text = response.text().await.map_err(|e| describe(&e))?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer { status, body, text })
    }

    /// A form POST (an OAuth token request), without the configured credentials.
    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Result<Answer, String> {
        let response = self.client.post(self.url(path)).form(form).send().await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        self.note(response.headers());
        let text = response.text().await.map_err(|e| describe(&e))?;
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Ok(Answer { status, body, text })
    }

    fn note(&self, headers: &HeaderMap) {
        let mut seen = self.seen.lock();
        seen.answers += 1;
        if let Some(date) = headers.get(reqwest::header::DATE).and_then(|d| d.to_str().ok()) {
            if let Ok(server) = jiff::fmt::rfc2822::parse(date) {
                let skew = server.timestamp().as_second() - jiff::Timestamp::now().as_second();
                if seen.skew_secs.is_none_or(|s| skew.abs() > s.abs()) {
                    seen.skew_secs = Some(skew);
                }
            }
        }
        for (name, value) in headers {
            let n = name.as_str();
            let rate_limit = n.contains("ratelimit") || n.contains("rate-limit") || n == "retry-after";
            if rate_limit && !seen.rate_limit_headers.iter().any(|h| h.split('=').next() == Some(n)) {
                seen.rate_limit_headers.push(format!("{n}={}", value.to_str().unwrap_or("?")));
            }
        }
    }
}

/// A transport failure, without the URL's query (which may name record data).
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let url = e.url().map(|u| format!("{}://{}{}", u.scheme(), u.authority(), u.path())).unwrap_or_default();
    format!("{kind}: {url}")
}
