//! The dialects deskgate speaks, one folder each: `native/`, `servicenow/`, `jira/`,
//! `clearquest/`. A dialect owns its desk options (`options.rs`), its inbound router
//! and error shape (`api.rs`, `mod.rs`), its change capture (`webhook.rs` for a tool
//! that pushes, `poll.rs` for one that is polled) and how its adapter is built
//! (`adapter.rs`). The list of dialects is `for_each_dialect!` in `crate::model::dialect`; code
//! outside a dialect's folder asks [`get`] for the dialect of a desk's `system` and
//! never matches on a system name.

use std::sync::Arc;

use axum::Router;
use deskgate_adapter::Adapter;

use crate::config::{Config, Desk, Problem};
use crate::gateway::adapters::Adapters;
use crate::http::AppState;
use crate::mapping::{MappingSource, Mappings};

pub mod capture;
pub mod openapi;
pub mod options;

use crate::model::dialect::for_each_dialect;
pub use crate::model::dialect::{DialectId, UnknownDialect};

/// What a dialect provides. Every method has a default, so a dialect implements only
/// what its system has.
pub trait Dialect: Sync {
    fn id(&self) -> DialectId;

    /// The desk's own API and its pushed change capture, answering errors in this
    /// dialect's shape. Merged into the one application router.
    fn router(&self) -> Router<AppState> {
        Router::new()
    }

    /// The outbound adapter of a desk deskgate delivers to; `None` when deskgate does
    /// not call desks of this dialect.
    fn adapter(&self, _desk: &Desk, _endpoint: &url::Url) -> Option<Result<Arc<dyn Adapter>, String>> {
        None
    }

    /// Whether desks of this dialect are read by polling (their tools do not push).
    fn polled(&self) -> bool {
        false
    }

    /// The mapping between the canonical model and this dialect's vocabulary; `None`
    /// for a dialect that speaks the canonical model.
    fn mapping(&self) -> Option<&'static MappingSource> {
        None
    }

    /// The checks `deskgate probe` runs against a desk's endpoint (`<name>/probe.rs`);
    /// `None` for a dialect deskgate does not call.
    fn probe(&self) -> Option<&'static dyn crate::probe::DeskProbe> {
        None
    }

    /// The routes this dialect serves that `/openapi.json` describes by rows
    /// (`<name>/openapi.rs`); `None` when utoipa's annotations describe them all.
    fn openapi(&self) -> Option<openapi::Described> {
        None
    }

    /// The field of the desk's tickets that shows until when a report is deferred
    /// (process step 3); `None`: a note says it instead.
    fn deferral_field(&self, _desk: &Desk) -> Option<String> {
        None
    }

    /// The fields of a new copy that carry the incident's category, where the tool
    /// has such a field; none for a disruption (the tool's own category stands).
    fn category_fields(&self, _category: crate::model::Category) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Where a person opens the desk's ticket `r` in the tool (`endpoint` being the
    /// desk's); by default the address the tool gave for it, if any.
    fn browse_url(&self, _endpoint: Option<&url::Url>, r: &crate::model::Ref) -> Option<String> {
        r.url.clone()
    }
}

macro_rules! registry {
    ($($module:ident: $variant:ident,)*) => {
        $(pub mod $module;)*

        /// The dialect `id` names.
        pub fn get(id: DialectId) -> &'static dyn Dialect {
            match id {
                $(DialectId::$variant => &$module::$variant,)*
            }
        }
    };
}
for_each_dialect!(registry);

/// Every dialect, in the order of the list.
pub fn all() -> impl Iterator<Item = &'static dyn Dialect> {
    DialectId::ALL.iter().map(|id| get(*id))
}

/// Every dialect's inbound routes, merged.
pub fn routers() -> Router<AppState> {
    all().fold(Router::new(), |router, d| router.merge(d.router()))
}

/// An adapter for every desk with an endpoint whose dialect deskgate calls. Every
/// problem is reported, with the desk's key path.
pub fn adapters(config: &Config) -> Result<Adapters, Vec<Problem>> {
    let mut adapters = Adapters::default();
    let mut problems = Vec::new();
    for desk in config.desks.values() {
        let Some(endpoint) = &desk.endpoint else { continue };
        match get(desk.system).adapter(desk, endpoint) {
            None => {}
            Some(Ok(adapter)) => adapters.insert(desk.id.clone(), adapter),
            Some(Err(message)) => problems.push(Problem { path: format!("desks.{}", desk.id), message }),
        }
    }
    if problems.is_empty() { Ok(adapters) } else { Err(problems) }
}

/// A connection timeout from a desk's `timeout_secs`, at least a second.
pub(crate) fn timeout(secs: Option<u64>, default: u64) -> std::time::Duration {
    std::time::Duration::from_secs(secs.unwrap_or(default).max(1))
}

/// The mappings of every desk that speaks a mapped system, from the mapping files
/// compiled into each dialect, validated: a status or priority that cannot be
/// reached both ways is refused with file and key.
pub fn mappings(config: &Config) -> Result<Mappings, String> {
    let systems: Vec<&'static MappingSource> = all().filter_map(|d| d.mapping()).collect();
    let desks: Vec<_> =
        config.desks.values().filter_map(|d| get(d.system).mapping().map(|s| (d.id.clone(), s))).collect();
    // The process profile's rows (`[profiles.<name>]`) apply to every desk of the system.
    let profile = config.gateway.process.as_ref().map(|p| p.name.as_str());
    let of = |s: &MappingSource| -> Vec<_> {
        desks.iter().filter(|(_, d)| d.system == s.system).map(|(id, _)| id.clone()).collect()
    };
    let names: Vec<(String, String)> = systems
        .iter()
        .map(|s| (format!("mappings/{}", s.file), crate::mapping::profile::overlay(s.text, profile, &of(s))))
        .collect();
    let sources: Vec<(&str, &str)> = names.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    Mappings::from_sources(&sources, &systems, &desks).map_err(|p| p.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dialect's mapping is named after it and says what the system calls its
    /// fields; the shipped files are compiled in.
    #[test]
    fn each_mapped_dialect_names_its_mapping_after_itself() {
        let mapped: Vec<_> = all().filter_map(|d| d.mapping().map(|m| (d.id(), m))).collect();
        for (id, m) in &mapped {
            assert_eq!(m.system, id.as_str());
            assert_eq!(m.file, format!("{}.toml", id.as_str()));
            assert!(!m.text.is_empty(), "{id}");
        }
        let fields = |id: DialectId| get(id).mapping().map(|m| (m.status_field, m.priority_field));
        assert_eq!(fields(DialectId::Servicenow), Some(("state", "priority")));
        assert_eq!(fields(DialectId::Jira), Some(("status", "priority")));
        assert_eq!(fields(DialectId::Clearquest), Some(("State", "Priority")));
        assert_eq!(fields(DialectId::Native), None, "native speaks the canonical model");
    }

    /// A person opens a ServiceNow incident by its sys_id inside the instance's
    /// frame, a Jira issue by its key, and any other ticket at the address its tool
    /// gave (a ClearQuest record's URI); without an endpoint or address, nowhere.
    #[test]
    fn each_dialect_says_where_a_person_opens_a_ticket() {
        let desk: crate::model::DeskId = "d".parse().unwrap();
        let r = |system: DialectId, remote: &str, display: &str| {
            crate::model::Ref::new(desk.clone(), system, remote.parse().unwrap(), display)
        };
        let endpoint = url::Url::parse("https://desk.example/base/").unwrap();
        let at = |system, remote, display| get(system).browse_url(Some(&endpoint), &r(system, remote, display));
        assert_eq!(
            at(DialectId::Servicenow, "0123abcd", "INC0010001").as_deref(),
            Some("https://desk.example/base/nav_to.do?uri=incident.do?sys_id=0123abcd")
        );
        assert_eq!(at(DialectId::Jira, "10042", "SUP-42").as_deref(), Some("https://desk.example/base/browse/SUP-42"));
        let record = r(DialectId::Clearquest, "33554433", "SDS00000001")
            .with_url(Some("https://cq.example/cqweb/oslc/repo/r/db/SDS/record/16777224-33554433".into()));
        assert_eq!(
            get(DialectId::Clearquest).browse_url(Some(&endpoint), &record).as_deref(),
            Some("https://cq.example/cqweb/oslc/repo/r/db/SDS/record/16777224-33554433")
        );
        assert_eq!(get(DialectId::Clearquest).browse_url(Some(&endpoint), &r(DialectId::Clearquest, "1", "S1")), None);
        assert_eq!(get(DialectId::Jira).browse_url(None, &r(DialectId::Jira, "1", "SUP-1")), None);
    }
}
