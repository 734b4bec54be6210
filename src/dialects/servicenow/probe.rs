//! `deskgate probe` for a ServiceNow desk: the endpoint, credentials and table (one
//! Table API read), the configured correlation and link fields (`sys_dictionary`,
//! else a record's fields), the mapped states (`sys_choice`; with `--write` a test
//! record set to each mapped state in turn, then cancelled: the Table API sets
//! states directly, so what a workflow refuses shows up as a refused write), and the
//! business rule that pushes changes (`sys_script`).

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::options::ServiceNowOptions;
use crate::config::Credentials;
use crate::model::Status;
use crate::probe::http::HttpAuth;
use crate::probe::{DeskProbe, Probe, ProbeFuture, Report};

pub struct ServicenowProbe;

impl DeskProbe for ServicenowProbe {
    fn checks<'a>(&'a self, probe: &'a Probe<'a>, report: &'a mut Report) -> ProbeFuture<'a> {
        Box::pin(async move {
            let options = probe.desk.servicenow().cloned().unwrap_or_default();
            let sn = Sn { probe, options };
            sn.run(report).await;
        })
    }
}

struct Sn<'a> {
    probe: &'a Probe<'a>,
    options: ServiceNowOptions,
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn result_list(body: &Value) -> Option<&Vec<Value>> {
    body.get("result").and_then(Value::as_array)
}

impl Sn<'_> {
    fn table(&self) -> &str {
        self.options.table.as_deref().unwrap_or("incident")
    }

    fn fields(&self) -> [(&'static str, String); 2] {
        [
            ("correlation_field", self.options.correlation_field.clone().unwrap_or_else(|| "correlation_id".into())),
            ("link_field", self.options.link_field.clone().unwrap_or_else(|| "u_deskgate_links".into())),
        ]
    }

    async fn run(&self, report: &mut Report) {
        if !self.oauth(report).await {
            return;
        }
        let Some(sample) = self.read_table(report).await else { return };
        let written = if self.probe.write { self.walk(report).await } else { None };
        self.check_fields(sample.as_ref().or(written.as_ref()), report).await;
        if !self.probe.write {
            self.check_states(report).await;
        }
        self.change_capture(report).await;
    }

    /// An OAuth desk's token, from `/oauth_token.do`; other credentials are sent as they are.
    async fn oauth(&self, report: &mut Report) -> bool {
        let form: Vec<(&str, &str)> = match &self.probe.desk.credentials {
            Some(Credentials::OauthPassword { client_id, client_secret, username, password }) => vec![
                ("grant_type", "password"),
                ("client_id", client_id),
                ("client_secret", client_secret.expose()),
                ("username", username),
                ("password", password.expose()),
            ],
            Some(Credentials::OauthClientCredentials { client_id, client_secret }) => vec![
                ("grant_type", "client_credentials"),
                ("client_id", client_id),
                ("client_secret", client_secret.expose()),
            ],
            _ => return true,
        };
        let fix = format!("check {} and the OAuth application in ServiceNow", self.probe.key("credentials"));
        match self.probe.http.post_form("/oauth_token.do", &form).await {
            Ok(a) if a.ok() => match a.body.get("access_token").and_then(Value::as_str) {
                Some(token) => {
                    self.probe.http.set_auth(HttpAuth::Bearer(token.to_owned()));
                    true
                }
                None => {
                    report.fail("auth", "the OAuth answer has no access_token", fix);
                    false
                }
            },
            Ok(a) => {
                report.fail("auth", format!("the OAuth token request is refused: HTTP {}", a.status), fix);
                false
            }
            Err(e) => {
                report.fail("endpoint", e, format!("check {}", self.probe.key("endpoint")));
                false
            }
        }
    }

    /// One record of the table (or none when it is empty): endpoint, auth, table.
    async fn read_table(&self, report: &mut Report) -> Option<Option<Map<String, Value>>> {
        let table = self.table();
        let path = format!("/api/now/table/{}?sysparm_limit=1", enc(table));
        let answer = match self.probe.http.get(&path).await {
            Ok(a) => a,
            Err(e) => {
                report.fail("endpoint", e, format!("check {}", self.probe.key("endpoint")));
                return None;
            }
        };
        let servicenow_shaped = answer.body.get("error").is_some() || answer.body.get("result").is_some();
        if !servicenow_shaped {
            report.fail(
                "endpoint",
                format!(
                    "no ServiceNow Table API at {}: HTTP {}",
                    self.probe.http.url("/api/now/table/…"),
                    answer.status
                ),
                format!(
                    "set {} to the instance's base URL, e.g. https://example.service-now.com",
                    self.probe.key("endpoint")
                ),
            );
            return None;
        }
        report.pass("endpoint", format!("ServiceNow Table API at {}", self.probe.http.url("/api/now")));
        if answer.status == 401 {
            report.fail(
                "auth",
                format!("the credentials are refused: {}", answer.summary()),
                format!("check {}", self.probe.key("credentials")),
            );
            return None;
        }
        report.pass("auth", "the credentials are accepted");
        match result_list(&answer.body) {
            Some(records) if answer.ok() => {
                report.pass("table", format!("{table} is readable ({} record read)", records.len()));
                Some(records.first().and_then(Value::as_object).cloned())
            }
            _ => {
                report.fail(
                    "table",
                    format!("table {table:?} cannot be read: {}", answer.summary()),
                    format!(
                        "set {} to the incident table, or grant the integration user read on it",
                        self.probe.key("servicenow.table")
                    ),
                );
                None
            }
        }
    }

    async fn check_fields(&self, sample: Option<&Map<String, Value>>, report: &mut Report) {
        let table = self.table();
        let names: Vec<String> = self.fields().iter().map(|(_, f)| f.clone()).collect();
        let query = format!("name={table}^elementIN{}", names.join(","));
        let path = format!("/api/now/table/sys_dictionary?sysparm_query={}&sysparm_fields=element", enc(&query));
        let dictionary: Option<Vec<String>> = match self.probe.http.get(&path).await {
            Ok(a) if a.ok() => result_list(&a.body).map(|list| {
                list.iter().filter_map(|r| r.get("element").and_then(Value::as_str).map(str::to_owned)).collect()
            }),
            _ => None,
        };
        let (known, source): (Vec<String>, &str) = match (dictionary, sample) {
            (Some(d), _) => (d, "sys_dictionary"),
            (None, Some(record)) => (record.keys().cloned().collect(), "a record's fields"),
            (None, None) => {
                report.warn(
                    "fields",
                    format!("sys_dictionary is not readable and {table} has no record to read fields from"),
                    "run deskgate probe --write, or grant the integration user read on sys_dictionary",
                );
                return;
            }
        };
        for (key, field) in self.fields() {
            let name = format!("field {key}");
            if known.iter().any(|k| k == &field) {
                report.pass(&name, format!("{table}.{field} exists ({source})"));
            } else {
                report.fail(
                    &name,
                    format!("{table} has no field {field} ({source})"),
                    format!(
                        "create the field {field} on {table}, or set {} to the field's name",
                        self.probe.key(&format!("servicenow.{key}"))
                    ),
                );
            }
        }
    }

    /// Read-only: every mapped state is a choice of the table's `state`.
    async fn check_states(&self, report: &mut Report) {
        let table = self.table();
        let query = format!("name={table}^element=state^inactive=false");
        let path = format!("/api/now/table/sys_choice?sysparm_query={}&sysparm_fields=value", enc(&query));
        let mapped = self.probe.mapped_statuses();
        let choices: Vec<String> = match self.probe.http.get(&path).await {
            Ok(a) if a.ok() => result_list(&a.body)
                .into_iter()
                .flatten()
                .filter_map(|r| r.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect(),
            _ => {
                report.warn(
                    "workflow",
                    format!("sys_choice is not readable: the {} mapped states are not proven", mapped.len()),
                    "run deskgate probe --write (a test record set to each mapped state, then cancelled)",
                );
                return;
            }
        };
        let missing: Vec<&str> = mapped.iter().filter(|(_, v)| !choices.contains(v)).map(|(_, v)| v.as_str()).collect();
        if missing.is_empty() {
            report.pass("workflow", format!("every mapped state is a choice of {table}.state"));
        } else {
            report.fail(
                "workflow",
                format!("{table}.state has no choice {}", missing.join(", ")),
                "map those canonical statuses (mappings/servicenow.toml, or the desk's overrides) to states the table has",
            );
        }
    }

    /// `--write`: a test record set to each mapped state in canonical order, then
    /// cancelled. Its fields, as created, are returned for the field check.
    async fn walk(&self, report: &mut Report) -> Option<Map<String, Value>> {
        let table = self.table();
        let create = json!({ "short_description": "deskgate probe: test record, safe to delete" });
        let path = format!("/api/now/table/{}", enc(table));
        let record = match self.probe.http.send_json(Method::POST, &path, &create).await {
            Ok(a) if a.ok() => a.body.get("result").and_then(Value::as_object).cloned(),
            Ok(a) => {
                report.fail(
                    "write",
                    format!("a test record cannot be created: {}", a.summary()),
                    format!("grant the integration user create on {table}"),
                );
                return None;
            }
            Err(e) => {
                report.fail("write", e, "check the endpoint and network");
                return None;
            }
        }?;
        let sys_id = record.get("sys_id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let number = record.get("number").and_then(Value::as_str).unwrap_or(&sys_id).to_owned();
        let order = Status::ALL.iter().filter(|s| **s != Status::Cancelled).chain([&Status::Cancelled]);
        let mut trail: Vec<String> = Vec::new();
        for status in order {
            let outbound = self.probe.mapping.status_fields(*status, Some("deskgate probe"), false);
            let Some(fields) = outbound.fields() else { continue };
            let Some(state) = fields.status.clone() else { continue };
            let mut body = Map::new();
            body.insert("state".into(), json!(state));
            for (k, v) in &fields.extra {
                body.insert(k.clone(), json!(v));
            }
            let path = format!("/api/now/table/{}/{}", enc(table), enc(&sys_id));
            match self.probe.http.send_json(Method::PATCH, &path, &Value::Object(body)).await {
                Ok(a) if a.ok() => trail.push(format!("{state} ({})", status.as_str())),
                Ok(a) => {
                    report.fail(
                        "workflow",
                        format!(
                            "{number} cannot be set to state {state} ({}) after {}: {}",
                            status.as_str(),
                            trail.join(" → "),
                            a.summary()
                        ),
                        "allow the integration user that state change (State Flows, business rules, data policies), \
                         or map the status (mappings/servicenow.toml) to a state the instance accepts",
                    );
                    return Some(record);
                }
                Err(e) => {
                    report.fail("workflow", e, "check the endpoint and network");
                    return Some(record);
                }
            }
        }
        report.pass("workflow", format!("test record {number} set to every mapped state: {}", trail.join(" → ")));
        report.pass("write", format!("test record {number} created, walked and cancelled"));
        Some(record)
    }

    async fn change_capture(&self, report: &mut Report) {
        let table = self.table();
        let suffix = self.probe.push_path();
        let fix = format!(
            "add an async business rule on {table} (after insert/update) that posts the record to {} with the desk's token",
            self.probe.push_url()
        );
        let query = format!("collection={table}^active=true^scriptLIKE{suffix}");
        let path =
            format!("/api/now/table/sys_script?sysparm_query={}&sysparm_fields=name&sysparm_limit=1", enc(&query));
        match self.probe.http.get(&path).await {
            Ok(a) if a.ok() => match result_list(&a.body).and_then(|l| l.first()) {
                Some(rule) => report.pass(
                    "change-capture",
                    format!(
                        "push: business rule {:?} posts to …{suffix}",
                        rule.get("name").and_then(Value::as_str).unwrap_or("?")
                    ),
                ),
                None => report.fail(
                    "change-capture",
                    format!("push: no active business rule on {table} posts to …{suffix}"),
                    fix,
                ),
            },
            Ok(a) => report.warn(
                "change-capture",
                format!("push: the business rules (sys_script) cannot be read ({})", a.summary()),
                format!("check by hand: {fix}"),
            ),
            Err(e) => report.warn("change-capture", e, format!("check by hand: {fix}")),
        }
    }
}
