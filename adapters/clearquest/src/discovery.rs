//! Finding where a user database takes new records and answers queries, the way OSLC
//! clients do rather than by building URLs: the root catalog (`/cqweb/oslc`) lists
//! repository catalogs, a repository catalog lists one service provider per user
//! database, and the provider's services announce a creation factory and a query
//! capability per record type (with the record type's resource shape).
//!
//! [`ClearQuestAdapter::discover`] walks that chain once and caches the result; the
//! adapter walks it again when an announced URL answers 404 (a server upgrade or a
//! moved database). [`describe`] is the same walk plus the record type's shape, as a
//! report a diagnostic command can print. Every URL followed must be on the
//! configured origin.

use std::fmt;
use std::sync::Arc;

use deskgate_adapter::AdapterError;
use reqwest::Method;

use crate::client::{ClearQuestAdapter, ClearQuestConfig, ConfigError};
use crate::oslc::{self, Description};

/// Most catalog documents one discovery reads (root, repository, nested catalogs).
const MAX_CATALOGS: usize = 8;

/// What discovery found for the configured database and record type. Paths are on
/// the configured origin and keep the query string the server announced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovered {
    /// The root catalog read first.
    pub catalog: String,
    /// The user database's service provider.
    pub service_provider: String,
    pub service_provider_title: Option<String>,
    /// Where new records of the record type are POSTed.
    pub creation_factory: String,
    /// Where records of the record type are queried.
    pub query_capability: String,
    /// The record type's resource shape, when announced.
    pub resource_shape: Option<String>,
}

/// One property of a record type's resource shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeProperty {
    /// Prefixed name (`cq:Headline`), from `oslc:propertyDefinition` or `oslc:name`.
    pub name: String,
    pub read_only: bool,
    /// `oslc:occurs`, short form (`Exactly-one`, `Zero-or-one`, …).
    pub occurs: Option<String>,
    /// `oslc:valueType`, short form (`string`, `XMLLiteral`, …).
    pub value_type: Option<String>,
}

/// [`Discovered`] plus the record type and its shape: what a diagnostic reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveryReport {
    pub record_type: String,
    pub discovered: Discovered,
    /// The shape's properties; empty when the provider announces no shape.
    pub properties: Vec<ShapeProperty>,
}

impl fmt::Display for DiscoveryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.discovered;
        writeln!(f, "catalog:            {}", d.catalog)?;
        writeln!(
            f,
            "service provider:   {}{}",
            d.service_provider,
            d.service_provider_title.as_deref().map(|t| format!(" ({t})")).unwrap_or_default()
        )?;
        writeln!(f, "record type:        {}", self.record_type)?;
        writeln!(f, "creation factory:   {}", d.creation_factory)?;
        writeln!(f, "query capability:   {}", d.query_capability)?;
        writeln!(f, "resource shape:     {}", d.resource_shape.as_deref().unwrap_or("(none announced)"))?;
        for p in &self.properties {
            writeln!(
                f,
                "  {} {}{}{}",
                p.name,
                p.occurs.as_deref().unwrap_or("?"),
                p.value_type.as_deref().map(|t| format!(" {t}")).unwrap_or_default(),
                if p.read_only { " read-only" } else { "" }
            )?;
        }
        Ok(())
    }
}

/// Discover what `config` names and read its record type's shape. For diagnostics:
/// the adapter itself reads no shape.
pub async fn describe(config: ClearQuestConfig) -> Result<DiscoveryReport, DescribeError> {
    let adapter = ClearQuestAdapter::new(config).map_err(DescribeError::Config)?;
    adapter.describe().await.map_err(DescribeError::Remote)
}

/// Why [`describe`] found nothing.
#[derive(Debug, thiserror::Error)]
pub enum DescribeError {
    #[error(transparent)]
    Config(ConfigError),
    #[error(transparent)]
    Remote(AdapterError),
}

fn short(uri: &str) -> String {
    uri.rsplit(['#', '/']).next().unwrap_or(uri).to_owned()
}

/// A catalog's entries: (URI, title) of service providers and of nested catalogs.
struct Entries {
    providers: Vec<(String, Option<String>)>,
    catalogs: Vec<(String, Option<String>)>,
}

fn title_of(descs: &[Description], uri: &str) -> Option<String> {
    descs
        .iter()
        .find(|d| d.about.as_deref() == Some(uri))
        .and_then(|d| d.first("dcterms:title"))
        .map(|t| t.trim().to_owned())
}

fn entries(descs: &[Description]) -> Entries {
    let mut out = Entries { providers: Vec::new(), catalogs: Vec::new() };
    for d in descs.iter().filter(|d| d.is_oslc("ServiceProviderCatalog")) {
        for uri in d.values("oslc:serviceProvider") {
            out.providers.push((uri.to_owned(), title_of(descs, uri)));
        }
        for uri in d.values("oslc:serviceProviderCatalog") {
            if d.about.as_deref() != Some(uri) {
                out.catalogs.push((uri.to_owned(), title_of(descs, uri)));
            }
        }
    }
    out
}

impl ClearQuestAdapter {
    /// The root catalog: `{prefix}/cqweb/oslc`.
    fn catalog_path(&self) -> String {
        format!("{}/cqweb/oslc", self.prefix())
    }

    async fn read_descriptions(&self, path: &str) -> Result<Vec<Description>, AdapterError> {
        let answer = self.send(Method::GET, path, &[], None, None).await?;
        oslc::parse_descriptions(&answer.body, self.config().limits).map_err(|e| AdapterError::Permanent {
            message: format!("ClearQuest's description at {path} is unreadable: {e}"),
            status: None,
            body: None,
        })
    }

    fn is_repo(&self, path: &str, title: Option<&str>) -> bool {
        path.trim_end_matches('/').ends_with(&format!("/repo/{}", self.config().repo))
            || title == Some(&self.config().repo)
    }

    fn is_db(&self, path: &str, title: Option<&str>, in_repo: bool) -> bool {
        let c = self.config();
        path.trim_end_matches('/').ends_with(&format!("/repo/{}/db/{}", c.repo, c.db))
            || (in_repo && title == Some(c.db.as_str()))
    }

    /// Walk root catalog → repository catalog → service provider (bounded, same
    /// origin only) to the configured user database's provider.
    async fn find_provider(&self) -> Result<(String, Option<String>), AdapterError> {
        let root = self.catalog_path();
        let mut queue = vec![(root.clone(), false)];
        let mut read = 0;
        let mut seen_dbs = Vec::new();
        while let Some((path, in_repo)) = queue.pop() {
            read += 1;
            if read > MAX_CATALOGS {
                break;
            }
            let descs = self.read_descriptions(&path).await?;
            let found = entries(&descs);
            for (uri, title) in &found.providers {
                let own = self.own_path(uri)?;
                if self.is_db(&own, title.as_deref(), in_repo) {
                    return Ok((own, title.clone()));
                }
                seen_dbs.push(title.clone().unwrap_or_else(|| own.clone()));
            }
            for (uri, title) in found.catalogs.iter().rev() {
                let own = self.own_path(uri)?;
                let repo = in_repo || self.is_repo(&own, title.as_deref());
                // Only the configured repository's catalogs are worth reading.
                if repo || !in_repo && found.providers.is_empty() && title.is_none() {
                    queue.push((own, repo));
                }
            }
        }
        let c = self.config();
        Err(AdapterError::permanent(format!(
            "ClearQuest's catalog {root} lists no service provider for user database {} in repository {} (found: {})",
            c.db,
            c.repo,
            if seen_dbs.is_empty() { "none".to_owned() } else { seen_dbs.join(", ") }
        )))
    }

    /// Whether a creation factory or query capability serves the configured record type.
    fn serves_record_type(&self, d: &Description) -> bool {
        let c = self.config();
        d.first("dcterms:title").map(str::trim) == Some(c.record_type.as_str())
            || d.values("oslc:resourceType").any(|t| {
                let t = t.trim_end_matches('/');
                t.ends_with(&format!("/record-type/{}", c.record_type_dbid))
                    || short(t) == c.record_type && !t.starts_with(oslc::NS_OSLC_CM)
            })
    }

    /// Walk the catalogs to the service provider and pick the record type's creation
    /// factory and query capability.
    pub async fn discover_now(&self) -> Result<Discovered, AdapterError> {
        let (provider, title) = self.find_provider().await?;
        let descs = self.read_descriptions(&provider).await?;
        let record_type = &self.config().record_type;
        let factory = descs.iter().filter(|d| d.is_oslc("CreationFactory")).find(|d| self.serves_record_type(d));
        let query = descs.iter().filter(|d| d.is_oslc("QueryCapability")).find(|d| self.serves_record_type(d));
        let missing = |what: &str| {
            AdapterError::permanent(format!(
                "ClearQuest's service provider {provider} announces no {what} for record type {record_type}"
            ))
        };
        let factory = factory.ok_or_else(|| missing("creation factory"))?;
        let query = query.ok_or_else(|| missing("query capability"))?;
        let creation = factory.first("oslc:creation").ok_or_else(|| missing("oslc:creation URL"))?;
        let query_base = query.first("oslc:queryBase").ok_or_else(|| missing("oslc:queryBase URL"))?;
        let shape = factory.first("oslc:resourceShape").or_else(|| query.first("oslc:resourceShape"));
        Ok(Discovered {
            catalog: self.catalog_path(),
            service_provider: provider.clone(),
            service_provider_title: title,
            creation_factory: self.own_path(creation)?,
            query_capability: self.own_path(query_base)?,
            resource_shape: shape.map(|s| self.own_path(s)).transpose()?,
        })
    }

    /// What discovery found, from the cache or by walking the catalogs.
    pub async fn discover(&self) -> Result<Arc<Discovered>, AdapterError> {
        if let Some(found) = self.cached() {
            return Ok(found);
        }
        let found = Arc::new(self.discover_now().await?);
        tracing::debug!(provider = %found.service_provider, factory = %found.creation_factory, query = %found.query_capability, "discovered ClearQuest services");
        self.cache(Some(found.clone()));
        Ok(found)
    }

    /// Forget what discovery found: the next call walks the catalogs again.
    pub fn forget_discovery(&self) {
        self.cache(None);
    }

    /// Discovery plus the record type's shape, for diagnostics.
    pub async fn describe(&self) -> Result<DiscoveryReport, AdapterError> {
        let discovered = self.discover_now().await?;
        let mut properties = Vec::new();
        if let Some(shape) = &discovered.resource_shape {
            let descs = self.read_descriptions(shape).await?;
            for d in descs.iter().filter(|d| d.is_oslc("Property")) {
                let name = d
                    .first("oslc:propertyDefinition")
                    .map(|uri| match uri.strip_prefix(oslc::NS_CQ) {
                        Some(local) => format!("cq:{local}"),
                        None => uri.to_owned(),
                    })
                    .or_else(|| d.first("oslc:name").map(|n| n.trim().to_owned()))
                    .unwrap_or_default();
                properties.push(ShapeProperty {
                    name,
                    read_only: d.first("oslc:readOnly").is_some_and(|v| v.trim() == "true"),
                    occurs: d.first("oslc:occurs").map(short),
                    value_type: d.first("oslc:valueType").map(short),
                });
            }
        }
        Ok(DiscoveryReport { record_type: self.config().record_type.clone(), discovered, properties })
    }
}
