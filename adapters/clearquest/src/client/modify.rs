//! Reading a record with its ETag, and modifying it: plan, `PUT` with `If-Match`,
//! and on a 412 read again and plan again.

use deskgate_adapter::{AdapterError, RemoteId};
use reqwest::Method;
use reqwest::header::ETAG;

use super::{ClearQuestAdapter, Current, MAX_ACTION_HOPS, Step};
use crate::oslc::{self, CqRecord};

impl ClearQuestAdapter {
    pub(super) async fn read(&self, path: &str) -> Result<Current, AdapterError> {
        let selection = self.selection();
        let query: &[(&str, &str)] = if selection == "*" { &[] } else { &[("oslc.properties", selection.as_str())] };
        let answer = self.send(Method::GET, path, query, None, None).await?;
        let record = self.parse_record(&format!("GET {path}"), &answer.body)?;
        Ok(Current { record, etag: answer.header(ETAG).map(str::to_owned) })
    }

    /// Read, plan, PUT with `If-Match`; on 412 read again and re-plan. Returns the
    /// record once `plan` has nothing left to do.
    pub(super) async fn modify<F>(&self, id: &RemoteId, plan: F) -> Result<Current, AdapterError>
    where
        F: Fn(&CqRecord) -> Result<Option<Step>, AdapterError> + Send + Sync,
    {
        self.modify_steps(id, None, MAX_ACTION_HOPS, plan).await
    }

    /// [`Self::modify`] for a plan that may need up to `steps` PUTs, starting from
    /// the record as the caller last had it (with its ETag) or as read now. A stale
    /// start costs a 412 and a read, as any conflict does.
    pub(super) async fn modify_steps<F>(
        &self,
        id: &RemoteId,
        start: Option<Current>,
        steps: usize,
        plan: F,
    ) -> Result<Current, AdapterError>
    where
        F: Fn(&CqRecord) -> Result<Option<Step>, AdapterError> + Send + Sync,
    {
        let path = self.record_path(id)?;
        let mut current = match start.filter(|c| c.etag.is_some()) {
            Some(current) => current,
            None => self.read(&path).await?,
        };
        let mut conflicts = 0u32;
        let max_rounds = steps + self.config.max_conflict_retries as usize + 2;
        for _ in 0..max_rounds {
            let Some(step) = plan(&current.record)? else {
                return Ok(current);
            };
            let etag = current.etag.clone().ok_or_else(|| {
                AdapterError::permanent(format!("ClearQuest sent no ETag for {path}; cannot modify it safely"))
            })?;
            let body = CqRecord { about: Some(self.absolute(&path)), type_name: None, props: step.props.clone() };
            let body = oslc::write_record(&body)
                .map_err(|e| AdapterError::permanent(format!("cannot express the change as RDF/XML: {e}")))?;
            let properties = step.props.keys().cloned().collect::<Vec<_>>().join(",");
            let query = [("rcm.action", step.action.as_str()), ("oslc.properties", properties.as_str())];
            match self.send(Method::PUT, &path, &query, Some(&etag), Some(body)).await {
                Ok(answer) => {
                    let etag = answer.header(ETAG).map(str::to_owned);
                    current = if answer.body.is_empty() || etag.is_none() {
                        self.read(&path).await?
                    } else {
                        let record = self.parse_record(&format!("PUT {path}"), &answer.body)?;
                        Current { record, etag }
                    };
                    if step.last {
                        return Ok(current);
                    }
                }
                Err(e) if e.status() == Some(412) => {
                    conflicts += 1;
                    if conflicts > self.config.max_conflict_retries {
                        return Err(AdapterError::Retriable {
                            message: format!(
                                "{path} changed under us {conflicts} times in a row (412); giving up for now"
                            ),
                            status: Some(412),
                            retry_after: None,
                            body: e.body().map(str::to_owned),
                        });
                    }
                    tracing::debug!(record = %path, conflicts, "stale ETag, re-reading");
                    current = self.read(&path).await?;
                }
                Err(e) => return Err(e),
            }
        }
        Err(AdapterError::permanent(format!("modifying {path} did not settle after {max_rounds} rounds")))
    }
}
