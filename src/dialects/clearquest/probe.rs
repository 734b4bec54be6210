//! `deskgate probe` for a ClearQuest desk: the credentials and the record type's
//! query capability (one page of one record from `…/record-type/{dbid}/query`,
//! as the poller reads it). Service discovery checks belong here too.

use crate::probe::{DeskProbe, Probe, ProbeFuture, Report};

pub struct ClearquestProbe;

impl DeskProbe for ClearquestProbe {
    fn checks<'a>(&'a self, probe: &'a Probe<'a>, report: &'a mut Report) -> ProbeFuture<'a> {
        Box::pin(async move {
            let Some(options) = probe.desk.clearquest.as_ref() else {
                report.fail("config", "the desk has no clearquest options", format!("set {}", probe.key("clearquest")));
                return;
            };
            let dbid = options.record_type_dbid.as_deref().unwrap_or("16777224");
            let path = format!(
                "/cqweb/oslc/repo/{}/db/{}/record-type/{dbid}/query?oslc.pageSize=1&oslc.select=dcterms:identifier",
                options.repo, options.db
            );
            let headers = [("OSLC-Core-Version", "2.0"), ("Accept", "application/rdf+xml")];
            let answer = match probe.http.send(reqwest::Method::GET, &path, None, &headers).await {
                Ok(a) => a,
                Err(e) => {
                    report.fail("endpoint", e, format!("check {}", probe.key("endpoint")));
                    return;
                }
            };
            match answer.status {
                200..=299 => {
                    report.pass("auth", "the credentials are accepted");
                    report.pass("record-type", format!("the query of record type {dbid} answers"));
                }
                401 | 403 => report.fail(
                    "auth",
                    format!("the credentials are refused (HTTP {})", answer.status),
                    format!("check {}", probe.key("credentials")),
                ),
                status => report.fail(
                    "record-type",
                    format!("{} answers HTTP {status}", probe.http.url(path.split('?').next().unwrap_or_default())),
                    format!(
                        "check {}, {} and {} (and that {} is the server's base URL)",
                        probe.key("clearquest.repo"),
                        probe.key("clearquest.db"),
                        probe.key("clearquest.record_type_dbid"),
                        probe.key("endpoint")
                    ),
                ),
            }
        })
    }
}
