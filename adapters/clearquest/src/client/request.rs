//! What every exchange with the OSLC provider shares: the account's credentials,
//! OSLC 2.0, and a refusal read from the answer when it is not a success.

use deskgate_adapter::AdapterError;
use deskgate_adapter::http::{self, Answer};
use reqwest::header::ACCEPT;
use reqwest::{Method, RequestBuilder};
use url::Url;

use super::ClearQuestAdapter;
use crate::oslc;

impl ClearQuestAdapter {
    /// A request for `url` as the configured account, asking for `accept`, and the
    /// words that name it in messages (`GET /path`).
    pub(crate) fn request(&self, method: Method, url: Url, accept: &str) -> (String, RequestBuilder) {
        let what = format!("{method} {}", url.path());
        let request = self
            .http
            .request(method, url)
            .basic_auth(&self.config.user, Some(&self.config.password))
            .header("OSLC-Core-Version", "2.0")
            .header(ACCEPT, accept);
        (what, request)
    }

    /// Send `request` (named `what`): the answer when it is a success, else the
    /// provider's refusal.
    pub(crate) async fn exchange(&self, what: &str, request: RequestBuilder) -> Result<Answer, AdapterError> {
        let answer = http::send("ClearQuest", what, request, self.config.limits.max_bytes).await?;
        if answer.status.is_success() {
            return Ok(answer);
        }
        Err(oslc::refusal(what, &answer))
    }
}
