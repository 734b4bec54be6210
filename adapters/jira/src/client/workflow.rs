//! Status changes through the workflow (see the parent module's docs): the
//! transitions an issue offers with their screens, the workflow learnt from them,
//! and the walk to a status several transitions away.

use std::collections::{BTreeMap, HashSet, VecDeque};

use deskgate_adapter::{AdapterError, TicketFields};
use reqwest::Method;
use serde_json::{Value, json};

use super::JiraAdapter;
use crate::wire::{DoTransition, NamedRef, Status, Transition, TransitionRef, Transitions};

/// Most transitions one status change walks through.
pub const MAX_TRANSITIONS: usize = 6;

impl JiraAdapter {
    /// The transitions the issue offers now, with the fields of their screens.
    async fn transitions(&self, key: &str) -> Result<Vec<Transition>, AdapterError> {
        let mut url = self.api_url(&["issue", key, "transitions"]);
        url.query_pairs_mut().append_pair("expand", "transitions.fields");
        let listed: Transitions = self.get_json(url, &format!("list transitions of {key}")).await?;
        Ok(listed.transitions)
    }

    fn known_workflow(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<Transition>>> {
        // The map is only a cache: a panic while it was held leaves it usable.
        self.workflow.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The status category (`new`, `indeterminate`, `done`) of `status`, from the
    /// transitions seen so far, else from `GET …/status/{name}`; `None` when Jira has
    /// no such status (or says nothing of its category). A failure that may pass
    /// (unreachable, 5xx, 429) is the caller's to retry, not a verdict on the status.
    async fn status_category(&self, status: &str) -> Result<Option<String>, AdapterError> {
        let seen = self.known_workflow().values().flatten().find_map(|t| {
            t.to.name.eq_ignore_ascii_case(status).then(|| t.to.status_category.as_ref().map(|c| c.key.clone()))?
        });
        if seen.is_some() {
            return Ok(seen);
        }
        let url = self.api_url(&["status", status]);
        match self.get_json::<Status>(url, &format!("read status '{status}'")).await {
            Ok(read) => Ok(read.status_category.map(|c| c.key)),
            Err(e) if e.is_retriable() => Err(e),
            Err(_) => Ok(None),
        }
    }

    /// Which of `available` starts the shortest known chain to `wanted` that avoids
    /// `passed`: breadth first, through the transitions remembered for each status.
    fn first_of_known_chain(&self, available: &[Transition], wanted: &str, passed: &[String]) -> Option<usize> {
        let workflow = self.known_workflow();
        let wanted = wanted.to_lowercase();
        let mut seen: HashSet<String> = passed.iter().map(|p| p.to_lowercase()).collect();
        let mut queue: VecDeque<(String, usize)> = VecDeque::new();
        for (index, t) in available.iter().enumerate() {
            let to = t.to.name.to_lowercase();
            if seen.insert(to.clone()) {
                queue.push_back((to, index));
            }
        }
        while let Some((status, first)) = queue.pop_front() {
            if status == wanted {
                return Some(first);
            }
            for t in workflow.get(&status).into_iter().flatten() {
                let to = t.to.name.to_lowercase();
                if seen.insert(to.clone()) {
                    queue.push_back((to, first));
                }
            }
        }
        None
    }

    /// Bring the issue from `current` to `wanted` through the workflow, or say why not.
    pub(super) async fn transition_to(
        &self,
        key: &str,
        current: Option<&str>,
        wanted: &str,
        fields: &TicketFields,
    ) -> Result<(), AdapterError> {
        let start = current.unwrap_or("?").to_owned();
        let mut current = current.map(str::to_owned);
        let mut passed: Vec<String> = current.iter().cloned().collect();
        let mut wanted_category = None;
        for step in 0..=MAX_TRANSITIONS {
            if current.as_deref().is_some_and(|c| c.eq_ignore_ascii_case(wanted)) {
                return Ok(());
            }
            if step == MAX_TRANSITIONS {
                break;
            }
            let available = self.transitions(key).await?;
            if let Some(status) = &current {
                self.known_workflow().insert(status.to_lowercase(), available.clone());
            }
            let step = match self.first_of_known_chain(&available, wanted, &passed) {
                Some(index) => Some(index),
                None => {
                    if wanted_category.is_none() {
                        wanted_category = Some(self.status_category(wanted).await?);
                    }
                    // A status Jira does not know is never explored for.
                    match wanted_category.as_ref().and_then(Option::as_deref) {
                        Some(category) => self.explore(&available, category, &passed),
                        None => None,
                    }
                }
            };
            let Some(transition) = step.and_then(|index| available.get(index)) else {
                let targets: Vec<String> = available.iter().map(|t| format!("'{}'", t.to.name)).collect();
                let targets = if targets.is_empty() { "none".to_owned() } else { targets.join(", ") };
                let via = if passed.len() > 1 { format!(" (walked {})", passed.join(" → ")) } else { String::new() };
                return Err(AdapterError::permanent(format!(
                    "jira {key}: the workflow has no transition from '{start}' to '{wanted}'{via}; \
                     available targets: {targets}",
                )));
            };
            let body = DoTransition {
                transition: TransitionRef { id: transition.id.clone() },
                fields: self.screen_fields(transition, fields),
            };
            let url = self.api_url(&["issue", key, "transitions"]);
            self.call(Method::POST, url, Some(&body), &format!("transition {key} to '{}'", transition.to.name)).await?;
            passed.push(transition.to.name.clone());
            current = Some(transition.to.name.clone());
        }
        Err(AdapterError::permanent(format!(
            "jira {key}: '{wanted}' is more than {MAX_TRANSITIONS} transitions from '{start}' (walked {})",
            passed.join(" → ")
        )))
    }

    /// A step into the unknown when no known chain leads on: a transition to a status
    /// not passed yet, unexplored statuses first, then the nearest status category
    /// to the wanted one, then a status that is not done (done sets a resolution),
    /// then the order Jira lists them in.
    fn explore(&self, available: &[Transition], wanted_category: &str, passed: &[String]) -> Option<usize> {
        let rank = |category: Option<&str>| match category {
            Some("new") => Some(0i32),
            Some("indeterminate") => Some(1),
            Some("done") => Some(2),
            _ => None,
        };
        let wanted = rank(Some(wanted_category));
        let workflow = self.known_workflow();
        available
            .iter()
            .enumerate()
            .filter(|(_, t)| !passed.iter().any(|p| p.eq_ignore_ascii_case(&t.to.name)))
            .min_by_key(|(index, t)| {
                let category = t.to.status_category.as_ref().map(|c| c.key.as_str());
                let distance = match (rank(category), wanted) {
                    (Some(a), Some(b)) => (a - b).abs(),
                    _ => 0,
                };
                let explored = workflow.contains_key(&t.to.name.to_lowercase());
                let done = category == Some("done") && wanted_category != "done";
                (explored, distance, done, *index)
            })
            .map(|(index, _)| index)
    }

    /// The fields of `fields` that `transition`'s screen takes: the resolution, when
    /// the screen has it (a screen without it refuses it with 400).
    fn screen_fields(&self, transition: &Transition, fields: &TicketFields) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        if let Some(resolution) = fields.extra.get("resolution") {
            if transition.fields.contains_key("resolution") {
                out.insert("resolution".into(), json!(NamedRef::by_name(resolution)));
            }
        }
        out
    }
}
