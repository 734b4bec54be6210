//! Queries at the discovered query capability, page by page.

use deskgate_adapter::{AdapterError, RemoteTicket};
use reqwest::Method;

use super::{ClearQuestAdapter, Current};
use crate::oslc;
use crate::oslc_where::Where;

impl ClearQuestAdapter {
    /// Run a query at the discovered query capability and follow `oslc:nextPage`
    /// in whatever form the server writes it (same origin only, bounded). A query
    /// capability that answers 404 is discovered again, once.
    pub(super) async fn query(
        &self,
        filter: &Where,
        order_by: Option<&str>,
    ) -> Result<Vec<RemoteTicket>, AdapterError> {
        match self.query_at(&self.discover().await?.query_capability, filter, order_by).await {
            Err(Paging::FirstPage(e)) if e.status() == Some(404) => {
                tracing::info!(error = %e, "ClearQuest's query capability is gone; discovering again");
                self.forget_discovery();
                let found = self.discover().await?;
                self.query_at(&found.query_capability, filter, order_by).await.map_err(Paging::into_error)
            }
            other => other.map_err(Paging::into_error),
        }
    }

    async fn query_at(
        &self,
        capability: &str,
        filter: &Where,
        order_by: Option<&str>,
    ) -> Result<Vec<RemoteTicket>, Paging> {
        let filter = filter.to_string();
        let page_size = self.config.page_size.to_string();
        let selection = self.selection();
        let mut params = vec![
            ("oslc.where", filter.as_str()),
            ("oslc.select", selection.as_str()),
            ("oslc.paging", "true"),
            ("oslc.pageSize", page_size.as_str()),
        ];
        if let Some(order) = order_by {
            params.push(("oslc.orderBy", order));
        }
        let mut tickets = Vec::new();
        let mut path = capability.to_owned();
        let mut first = true;
        for _ in 0..self.config.max_pages {
            let query: &[(&str, &str)] = if first { &params } else { &[] };
            let answer = match self.send(Method::GET, &path, query, None, None).await {
                Ok(answer) => answer,
                Err(e) if first => return Err(Paging::FirstPage(e)),
                Err(e) => return Err(Paging::Later(e)),
            };
            let page = oslc::parse_query(&answer.body, self.config.limits).map_err(|e| {
                Paging::Later(AdapterError::Permanent {
                    message: format!("ClearQuest's query answer is unreadable: {e}"),
                    status: None,
                    body: Some(String::from_utf8_lossy(&answer.body).chars().take(2048).collect()),
                })
            })?;
            for record in page.records {
                tickets.push(self.ticket(Current { record, etag: None }).map_err(Paging::Later)?);
            }
            match page.next_page {
                Some(next) => {
                    path = self.next_page_path(&next).map_err(Paging::Later)?;
                    first = false;
                }
                None => return Ok(tickets),
            }
        }
        Err(Paging::Later(AdapterError::permanent(format!(
            "query answer has more than {} pages; narrow the query or raise max_pages",
            self.config.max_pages
        ))))
    }

    /// The path of an `oslc:nextPage`: absolute or relative, any query parameters
    /// (`rcm.startIndex`, `page`, tokens), but on the configured origin.
    fn next_page_path(&self, next: &str) -> Result<String, AdapterError> {
        let url = self
            .base
            .join(next)
            .map_err(|e| AdapterError::permanent(format!("ClearQuest's next page {next:?} is not a URL: {e}")))?;
        if url.origin() != self.base.origin() {
            return Err(AdapterError::permanent(format!(
                "ClearQuest's next page {next:?} is on another origin than the configured base URL; not followed"
            )));
        }
        self.own_path(url.as_str())
    }
}

/// A query that failed on its first page (where a 404 means the capability moved)
/// or later.
enum Paging {
    FirstPage(AdapterError),
    Later(AdapterError),
}

impl Paging {
    fn into_error(self) -> AdapterError {
        match self {
            Paging::FirstPage(e) | Paging::Later(e) => e,
        }
    }
}
