//! `deskgate probe` for a ClearQuest desk: the credentials (the OSLC root), then
//! service discovery as the adapter does it — the catalogs, the database's service
//! provider, the record type's creation factory, query capability and shape — and
//! the fields the desk's options name (correlation, priority, note entry, change
//! capture) among the shape's properties.

use crate::probe::{DeskProbe, Probe, ProbeFuture, Report};

pub struct ClearquestProbe;

impl DeskProbe for ClearquestProbe {
    fn checks<'a>(&'a self, probe: &'a Probe<'a>, report: &'a mut Report) -> ProbeFuture<'a> {
        Box::pin(async move {
            if probe.desk.clearquest().is_none() {
                report.fail("config", "the desk has no clearquest options", format!("set {}", probe.key("clearquest")));
                return;
            }
            let headers = [("OSLC-Core-Version", "2.0"), ("Accept", "application/rdf+xml")];
            let answer = match probe.http.send(reqwest::Method::GET, "/cqweb/oslc", None, &headers).await {
                Ok(a) => a,
                Err(e) => {
                    report.fail("endpoint", e, format!("check {}", probe.key("endpoint")));
                    return;
                }
            };
            match answer.status {
                200..=299 => report.pass("auth", "the credentials are accepted at the OSLC root"),
                401 | 403 => {
                    report.fail(
                        "auth",
                        format!("the credentials are refused (HTTP {})", answer.status),
                        format!("check {}", probe.key("credentials")),
                    );
                    return;
                }
                status => {
                    report.fail(
                        "endpoint",
                        format!("{} answers HTTP {status}", probe.http.url("/cqweb/oslc")),
                        format!("check that {} is the server's base URL (in front of /cqweb)", probe.key("endpoint")),
                    );
                    return;
                }
            }
            let config = match super::adapter::config_of(probe.desk, probe.endpoint.as_str()) {
                Ok(c) => c,
                Err(e) => {
                    report.fail("config", e, format!("check {}", probe.key("clearquest")));
                    return;
                }
            };
            let fields = [
                ("correlation_field", config.correlation_field.clone()),
                ("priority_field", config.priority_field.clone()),
                ("note_entry_field", config.note_entry_field.clone()),
                ("modified_field", config.modified_field.clone()),
            ];
            let found = match deskgate_clearquest::describe(config).await {
                Ok(found) => found,
                Err(e) => {
                    report.fail(
                        "discovery",
                        e.to_string(),
                        format!(
                            "check {}, {} and {}: the server's catalogs must lead to that database's service provider",
                            probe.key("clearquest.repo"),
                            probe.key("clearquest.db"),
                            probe.key("clearquest.record_type_dbid"),
                        ),
                    );
                    return;
                }
            };
            let d = &found.discovered;
            report.pass("discovery", format!("service provider {}", d.service_provider));
            report.pass(
                "record-type",
                format!("{}: factory {}, query {}", found.record_type, d.creation_factory, d.query_capability),
            );
            if found.properties.is_empty() {
                report.warn(
                    "fields",
                    "the record type announces no resource shape: its fields cannot be checked",
                    "check by hand that the fields the desk's clearquest options name exist",
                );
                return;
            }
            for (key, field) in fields {
                // A scoped property (`cq:history{cq:action_timestamp}`) is checked by its first part.
                let name = field.split('{').next().unwrap_or(&field);
                if found.properties.iter().any(|p| p.name == name) {
                    report.pass(key, format!("{field} is a property of {}", found.record_type));
                } else {
                    report.fail(
                        key,
                        format!("{field} is not a property of {}", found.record_type),
                        format!(
                            "set {} to a field of the record type, or add the field to the schema",
                            probe.key(&format!("clearquest.{key}"))
                        ),
                    );
                }
            }
        })
    }
}
