//! Talking to several gateway replicas on one database: a request goes to one
//! replica, else the next, until one answers.

use std::time::Duration;

use serde_json::Value;

/// POST `body` to `path` at replica `first` of `bases`, else the next, for at most
/// `attempts` tries each bounded by `timeout`: the answer's JSON. A refusal (4xx)
/// fails the test at once; an error or 5xx tries the next replica.
pub async fn send(
    client: &reqwest::Client,
    bases: &[String],
    first: usize,
    path: &str,
    body: &Value,
    attempts: usize,
    timeout: Duration,
) -> Value {
    let token = super::token("region-h");
    for attempt in 0..attempts {
        let base = &bases[(first + attempt) % bases.len()];
        let res = client.post(format!("{base}{path}")).bearer_auth(&token).timeout(timeout).json(body).send().await;
        match res {
            Ok(r) if r.status().is_success() => return r.json().await.unwrap(),
            Ok(r) if r.status().is_client_error() => panic!("{path} refused: {}", r.text().await.unwrap_or_default()),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("no replica answered {path}");
}

/// The outbox as one replica lists it; a page without items reads as one `null`
/// item, so that it never counts as drained.
pub async fn outbox(client: &reqwest::Client, base: &str, token: &str) -> Vec<Value> {
    let page = super::get_json(client, &format!("{base}/api/v1/outbox"), token).await;
    page["items"].as_array().cloned().unwrap_or_else(|| vec![Value::Null])
}
