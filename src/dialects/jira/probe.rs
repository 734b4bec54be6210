//! `deskgate probe` for a Jira desk: the endpoint and product (`serverInfo`), the
//! credentials (`myself`), the project, issue type and configured custom fields
//! (the paged create metadata, `issue/createmeta/{project}/issuetypes[/{id}]`), the
//! workflow, and the webhook that reports changes.
//!
//! The workflow is read from issues' transitions (`GET issue/{key}/transitions`),
//! which both Cloud and Data Center offer to a project user; Data Center has no
//! REST resource listing a workflow's transitions. Read-only, one issue per status
//! is looked up by JQL; `--write` walks a test issue through the workflow instead,
//! reading the transitions at every status it reaches, and cancels it.

use reqwest::Method;
use serde_json::{Value, json};

use super::options::{JiraDeployment, JiraOptions, WebhookVerify};
use crate::model::Status;
use crate::probe::workflow::Graph;
use crate::probe::{DeskProbe, Probe, ProbeFuture, Report};

pub struct JiraProbe;

impl DeskProbe for JiraProbe {
    fn checks<'a>(&'a self, probe: &'a Probe<'a>, report: &'a mut Report) -> ProbeFuture<'a> {
        Box::pin(async move {
            let Some(options) = probe.desk.jira() else {
                report.fail("config", "the desk has no jira options", format!("set {}", probe.key("jira.project")));
                return;
            };
            let jira = Jira { probe, options, api: format!("/rest/api/{}", options.api_version) };
            jira.run(report).await;
        })
    }
}

struct Jira<'a> {
    probe: &'a Probe<'a>,
    options: &'a JiraOptions,
    /// `/rest/api/2` or `/rest/api/3`.
    api: String,
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Transitions as `(id, name, target status, fields of its screen)`.
fn transitions_of(body: &Value) -> Vec<(String, String, String, Value)> {
    body.get("transitions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let id = t.get("id")?.as_str()?.to_owned();
            let name = t.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
            let to = t.pointer("/to/name")?.as_str()?.to_owned();
            Some((id, name, to, t.get("fields").cloned().unwrap_or(Value::Null)))
        })
        .collect()
}

impl Jira<'_> {
    async fn run(&self, report: &mut Report) {
        if !self.endpoint_and_deployment(report).await || !self.auth(report).await {
            return;
        }
        self.project(report).await;
        let mapped: Vec<String> = self.probe.mapped_statuses().into_iter().map(|(_, v)| v).collect();
        let mut graph = Graph::default();
        let mut sources = Vec::new();
        if self.probe.write {
            self.walk(&mapped, &mut graph, &mut sources, report).await;
        } else {
            self.read_workflow(&mapped, &mut graph, &mut sources).await;
        }
        self.judge_workflow(&mapped, &graph, &sources, report);
        self.change_capture(report).await;
    }

    async fn endpoint_and_deployment(&self, report: &mut Report) -> bool {
        let path = format!("{}/serverInfo", self.api);
        let fix = format!("set {} to the Jira base URL (without /rest/…)", self.probe.key("endpoint"));
        let answer = match self.probe.http.get(&path).await {
            Ok(a) if a.ok() && a.body.get("deploymentType").is_some() => a,
            // Jira answers serverInfo anonymously; an instance that refuses it names the credentials.
            Ok(a) if a.status == 401 && a.body.get("errorMessages").is_some() => {
                report.pass("endpoint", format!("Jira answers at {}", self.probe.http.url(&self.api)));
                report.fail("auth", format!("the credentials are refused: {}", a.summary()), self.auth_fix());
                return false;
            }
            Ok(a) => {
                report.fail(
                    "endpoint",
                    format!("no Jira REST API at {}: {}", self.probe.http.url(&path), a.summary()),
                    fix,
                );
                return false;
            }
            Err(e) => {
                report.fail("endpoint", e, fix);
                return false;
            }
        };
        report.pass("endpoint", format!("Jira REST API at {}", self.probe.http.url(&self.api)));
        let found = answer.body.get("deploymentType").and_then(Value::as_str).unwrap_or_default();
        let is_cloud = found.eq_ignore_ascii_case("cloud");
        let configured = self.options.deployment();
        if is_cloud == (configured == JiraDeployment::Cloud) {
            report.pass("deployment", format!("serverInfo says {found}, as configured"));
        } else {
            let want = if is_cloud { "cloud" } else { "datacenter" };
            report.fail(
                "deployment",
                format!("serverInfo says {found}, but {configured:?} is configured"),
                format!("set {} = \"{want}\"", self.probe.key("jira.deployment")),
            );
        }
        true
    }

    fn auth_fix(&self) -> String {
        format!(
            "check {} (Cloud: e-mail + API token; Data Center: a personal access token)",
            self.probe.key("credentials")
        )
    }

    async fn auth(&self, report: &mut Report) -> bool {
        let fix = self.auth_fix();
        match self.probe.http.get(&format!("{}/myself", self.api)).await {
            Ok(a) if a.ok() => {
                let who = ["accountId", "name", "displayName"]
                    .iter()
                    .find_map(|k| a.body.get(*k).and_then(Value::as_str))
                    .unwrap_or("?")
                    .to_owned();
                report.pass("auth", format!("authenticated as {who}"));
                true
            }
            Ok(a) => {
                report.fail("auth", format!("the credentials are refused: {}", a.summary()), fix);
                false
            }
            Err(e) => {
                report.fail("auth", e, fix);
                false
            }
        }
    }

    /// The project, the issue type and the custom fields on its create screen.
    async fn project(&self, report: &mut Report) {
        let project = &self.options.project;
        let path = format!("{}/issue/createmeta/{}/issuetypes", self.api, enc(project));
        let list = match self.pages(&path).await {
            Ok(Ok(items)) => items,
            Ok(Err(a)) => {
                report.fail(
                    "project",
                    format!("project {project:?} cannot be created in: {}", a.summary()),
                    format!(
                        "set {} to a project key the integration user may create issues in",
                        self.probe.key("jira.project")
                    ),
                );
                return;
            }
            Err(e) => {
                report.fail("project", e, "check the endpoint and network");
                return;
            }
        };
        report.pass("project", format!("{project} accepts new issues"));
        let wanted = self.options.issue_type.as_deref().unwrap_or("Incident");
        let Some(id) = list
            .iter()
            .find(|t| t.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(wanted)))
            .and_then(|t| t.get("id").and_then(Value::as_str))
        else {
            let names: Vec<&str> = list.iter().filter_map(|t| t.get("name").and_then(Value::as_str)).collect();
            report.fail(
                "issue-type",
                format!("project {project} has no issue type {wanted:?} (it has: {})", names.join(", ")),
                format!(
                    "set {} to one of them, or add the type to the project's issue type scheme",
                    self.probe.key("jira.issue_type")
                ),
            );
            return;
        };
        report.pass("issue-type", format!("{wanted} in {project}"));
        let fields = match self.pages(&format!("{path}/{id}")).await {
            Ok(Ok(items)) => items,
            Ok(Err(a)) => {
                report.fail(
                    "fields",
                    format!("the create screen of {wanted} cannot be read: {}", a.summary()),
                    "check the integration user's Browse/Create permissions",
                );
                return;
            }
            Err(e) => {
                report.fail("fields", e, "check the endpoint and network");
                return;
            }
        };
        let on_screen: Vec<&str> =
            fields.iter().filter_map(|f| f.get("fieldId").or_else(|| f.get("key")).and_then(Value::as_str)).collect();
        let configured = [
            ("correlation_field", &self.options.correlation_field),
            ("link_field", &self.options.link_field),
            ("service_field", &self.options.service_field),
        ];
        for (key, value) in configured {
            let Some(field) = value else { continue };
            let name = format!("field {key}");
            if on_screen.contains(&field.as_str()) {
                report.pass(&name, format!("{field} is on the create screen of {project}/{wanted}"));
            } else {
                report.fail(
                    &name,
                    format!("{field} is not on the create screen of {project}/{wanted}"),
                    format!(
                        "add the custom field {field} to the project's create screen, or set {} to the field's id",
                        self.probe.key(&format!("jira.{key}"))
                    ),
                );
            }
        }
    }

    /// Every item of a paged create-metadata resource: Data Center pages under
    /// `values`, Cloud names the list `issueTypes` or `fields` (or `results`, or
    /// `createMetaIssueType`). Bounded at 20 pages; a refusal is returned as it came.
    async fn pages(&self, path: &str) -> Result<Result<Vec<Value>, crate::probe::Answer>, String> {
        let mut items: Vec<Value> = Vec::new();
        for _ in 0..20 {
            let answer = self.probe.http.get(&format!("{path}?startAt={}&maxResults=100", items.len())).await?;
            if !answer.ok() {
                return Ok(Err(answer));
            }
            let page = ["values", "issueTypes", "fields", "results", "createMetaIssueType"]
                .iter()
                .find_map(|k| answer.body.get(*k).and_then(Value::as_array))
                .cloned()
                .unwrap_or_default();
            let total = answer.body.get("total").and_then(Value::as_u64);
            let last = answer.body.get("isLast").and_then(Value::as_bool);
            let empty = page.is_empty();
            items.extend(page);
            let done = last.unwrap_or(false) || total.is_none_or(|t| items.len() as u64 >= t);
            if empty || done {
                break;
            }
        }
        Ok(Ok(items))
    }

    /// Read-only: the transitions of one issue in each status, starting from the
    /// mapped statuses and following where their transitions lead.
    async fn read_workflow(&self, mapped: &[String], graph: &mut Graph, sources: &mut Vec<String>) {
        let mut queue: Vec<String> = mapped.to_vec();
        let mut tried: Vec<String> = Vec::new();
        while let Some(status) = queue.pop() {
            if tried.iter().any(|t| t.eq_ignore_ascii_case(&status)) || tried.len() >= 40 {
                continue;
            }
            tried.push(status.clone());
            let Some(key) = self.issue_in(&status).await else { continue };
            let Some(transitions) = self.transitions(&key).await else { continue };
            queue.extend(transitions.iter().map(|(_, _, to, _)| to.clone()));
            graph.explored(&status, transitions.into_iter().map(|(_, n, to, _)| (n, to)).collect());
            sources.push(format!("{key} ({status})"));
        }
    }

    async fn issue_in(&self, status: &str) -> Option<String> {
        let jql = format!("project = \"{}\" AND status = \"{}\"", self.options.project, status.replace('"', "\\\""));
        let search = match self.options.deployment() {
            JiraDeployment::Cloud => "search/jql",
            JiraDeployment::Datacenter => "search",
        };
        let path = format!("{}/{search}?jql={}&maxResults=1&fields=status", self.api, enc(&jql));
        let answer = self.probe.http.get(&path).await.ok().filter(|a| a.ok())?;
        answer.body.pointer("/issues/0/key").and_then(Value::as_str).map(str::to_owned)
    }

    async fn transitions(&self, key: &str) -> Option<Vec<(String, String, String, Value)>> {
        let path = format!("{}/issue/{}/transitions?expand=transitions.fields", self.api, enc(key));
        let answer = self.probe.http.get(&path).await.ok().filter(|a| a.ok())?;
        Some(transitions_of(&answer.body))
    }

    async fn status_of(&self, key: &str) -> Option<String> {
        let path = format!("{}/issue/{}?fields=status", self.api, enc(key));
        let answer = self.probe.http.get(&path).await.ok().filter(|a| a.ok())?;
        answer.body.pointer("/fields/status/name").and_then(Value::as_str).map(str::to_owned)
    }

    /// Take the transition named `name` to `to` from the issue's current status.
    async fn step(&self, key: &str, name: &str, to: &str) -> Result<(), String> {
        let transitions = self.transitions(key).await.ok_or("its transitions cannot be read")?;
        let (id, _, _, fields) = transitions
            .iter()
            .find(|(_, n, t, _)| n == name && t.eq_ignore_ascii_case(to))
            .ok_or_else(|| format!("transition {name:?} is not offered"))?;
        let mut body = json!({ "transition": { "id": id } });
        // A screen that requires a resolution gets the first one it offers.
        if fields.pointer("/resolution/required").and_then(Value::as_bool) == Some(true) {
            if let Some(r) = fields.pointer("/resolution/allowedValues/0/name") {
                body["fields"] = json!({ "resolution": { "name": r } });
            }
        }
        let path = format!("{}/issue/{}/transitions", self.api, enc(key));
        match self.probe.http.send_json(Method::POST, &path, &body).await {
            Ok(a) if a.ok() => Ok(()),
            Ok(a) => Err(format!("transition {name:?} refused: {}", a.summary())),
            Err(e) => Err(e),
        }
    }

    async fn walk_to(
        &self,
        key: &str,
        from: &str,
        to: &str,
        graph: &Graph,
        trail: &mut Vec<String>,
    ) -> Result<(), String> {
        let path = graph.path(from, to).ok_or_else(|| format!("no known chain of transitions from {from} to {to}"))?;
        for (name, target) in path {
            self.step(key, &name, &target).await?;
            trail.push(target);
        }
        Ok(())
    }

    /// `--write`: test issues walked through the workflow until every status reachable
    /// from a new issue's status has had its transitions read; each is cancelled.
    async fn walk(&self, mapped: &[String], graph: &mut Graph, sources: &mut Vec<String>, report: &mut Report) {
        let cancel = self.probe.mapped_statuses().into_iter().find(|(s, _)| *s == Status::Cancelled).map(|(_, v)| v);
        for _ in 0..4 {
            let Some(key) = self.create(report).await else { return };
            let Some(initial) = self.status_of(&key).await else {
                report.fail(
                    "write",
                    format!("test issue {key} cannot be read back"),
                    "check the integration user's Browse permission",
                );
                return;
            };
            let mut trail = vec![initial.clone()];
            let mut current = initial.clone();
            let mut stuck = None;
            for _ in 0..60 {
                if !graph.is_explored(&current) {
                    let Some(t) = self.transitions(&key).await else { break };
                    graph.explored(&current, t.into_iter().map(|(_, n, to, _)| (n, to)).collect());
                }
                let Some(next) = graph.nearest_unexplored(&current) else { break };
                if let Err(e) = self.walk_to(&key, &current, &next, graph, &mut trail).await {
                    stuck = Some(e);
                    break;
                }
                current = next;
            }
            sources.push(format!("{key} ({})", trail.join(" → ")));
            if let Some(e) = stuck {
                report.fail(
                    "write",
                    format!("walking test issue {key}: {e}"),
                    "check the workflow's conditions and validators for the integration user",
                );
                return;
            }
            match &cancel {
                Some(c) if !c.eq_ignore_ascii_case(&current) => {
                    match self.walk_to(&key, &current, c, graph, &mut trail).await {
                        Ok(()) => {
                            report.pass("write", format!("test issue {key} walked {} and cancelled", trail.join(" → ")))
                        }
                        Err(e) => report.fail(
                            "write",
                            format!("test issue {key} (walked {}) cannot be cancelled: {e}", trail.join(" → ")),
                            format!("add a transition toward {c} from {current}, and delete {key} by hand"),
                        ),
                    }
                }
                _ => report.pass("write", format!("test issue {key} walked {} and cancelled", trail.join(" → "))),
            }
            let left: Vec<&String> = mapped.iter().filter(|m| !graph.is_explored(m)).collect();
            if left.is_empty() || graph.nearest_unexplored(&initial).is_none() {
                return;
            }
        }
    }

    async fn create(&self, report: &mut Report) -> Option<String> {
        let body = json!({ "fields": {
            "project": { "key": self.options.project },
            "issuetype": { "name": self.options.issue_type.as_deref().unwrap_or("Incident") },
            "summary": "deskgate probe: test issue, safe to delete",
        }});
        match self.probe.http.send_json(Method::POST, &format!("{}/issue", self.api), &body).await {
            Ok(a) if a.ok() => a.body.get("key").and_then(Value::as_str).map(str::to_owned),
            Ok(a) => {
                report.fail(
                    "write",
                    format!("a test issue cannot be created: {}", a.summary()),
                    "give the integration user Create Issues in the project",
                );
                None
            }
            Err(e) => {
                report.fail("write", e, "check the endpoint and network");
                None
            }
        }
    }

    fn judge_workflow(&self, mapped: &[String], graph: &Graph, sources: &[String], report: &mut Report) {
        let unreached = graph.unreached(mapped);
        let fix_dead_end = "add the missing transitions to the project's workflow (Project settings → Workflows), \
                            or map those canonical statuses (mappings/jira.toml) to statuses the workflow reaches";
        let certain: Vec<String> = unreached
            .iter()
            .filter(|u| u.certain)
            .map(|u| {
                let out: Vec<&str> = graph.transitions(&u.from).iter().map(|(_, t)| t.as_str()).collect();
                let out = if out.is_empty() {
                    "no transition out".to_owned()
                } else {
                    format!("transitions to {}", out.join(", "))
                };
                format!("{} cannot reach {} ({out})", u.from, u.to.join(", "))
            })
            .collect();
        let read = if sources.is_empty() {
            "no issue read".to_owned()
        } else {
            format!("transitions read from {}", sources.join(", "))
        };
        if !certain.is_empty() {
            report.fail("workflow", format!("{}; {read}", certain.join("; ")), fix_dead_end);
            return;
        }
        let unread: Vec<&String> = mapped.iter().filter(|m| !graph.is_explored(m)).collect();
        if unreached.is_empty() && unread.is_empty() {
            report.pass("workflow", format!("each of {} mapped statuses reaches every other; {read}", mapped.len()));
        } else {
            let names: Vec<&str> = unread.iter().map(|s| s.as_str()).collect();
            report.warn(
                "workflow",
                format!("not proven: no issue found in {} to read its transitions; {read}", names.join(", ")),
                "run deskgate probe --write (creates a test issue, walks it and cancels it), or check the workflow by hand",
            );
        }
    }

    async fn change_capture(&self, report: &mut Report) {
        let suffix = self.probe.push_path();
        let mode = match self.options.webhook_verify {
            WebhookVerify::Signature => "signed webhooks",
            WebhookVerify::Reread => "webhooks read back (reread)",
        };
        let fix = format!(
            "in Jira (System → WebHooks) add a webhook for issue and comment events to {}",
            self.probe.push_url()
        );
        match self.probe.http.get("/rest/webhooks/1.0/webhook").await {
            Ok(a) if a.ok() => {
                let hooks: Vec<&Value> = a.body.as_array().into_iter().flatten().collect();
                let ours = hooks.iter().find(|h| {
                    h.get("url").and_then(Value::as_str).is_some_and(|u| u.trim_end_matches('/').ends_with(&suffix))
                });
                match ours {
                    Some(h) if h.get("enabled").and_then(Value::as_bool) == Some(false) => report.fail(
                        "change-capture",
                        format!("the webhook to …{suffix} is disabled"),
                        "enable it in Jira (System → WebHooks)",
                    ),
                    Some(_) => report.pass("change-capture", format!("{mode}: a webhook posts to …{suffix}")),
                    None => report.fail(
                        "change-capture",
                        format!("{mode}: none of {} webhooks posts to …{suffix}", hooks.len()),
                        fix,
                    ),
                }
            }
            Ok(a) => report.warn(
                "change-capture",
                format!("{mode}: the webhooks cannot be listed ({}; Jira administrators only)", a.summary()),
                format!("check by hand: {fix}"),
            ),
            Err(e) => report.warn("change-capture", e, format!("check by hand: {fix}")),
        }
    }
}
