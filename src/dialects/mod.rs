//! The dialects deskgate speaks: per system, how its desks are read and written.
//!
//! Owns the mapping sources of the mapped systems (`mappings/<system>.toml`, compiled
//! in) and the per-desk mappings built from them.

use crate::config::Config;
use crate::mapping::{Mappings, SystemKind};

/// The shipped mapping files, compiled in.
const MAPPING_SOURCES: [(&str, &str); 3] = [
    ("mappings/servicenow.toml", include_str!("../../mappings/servicenow.toml")),
    ("mappings/jira.toml", include_str!("../../mappings/jira.toml")),
    ("mappings/clearquest.toml", include_str!("../../mappings/clearquest.toml")),
];

/// The mappings of every desk that speaks a mapped system, validated: a status or
/// priority that cannot be reached both ways is refused with file and key.
pub fn mappings(config: &Config) -> Result<Mappings, String> {
    let desks: Vec<_> = config
        .desks
        .values()
        .filter_map(|d| d.system.as_str().parse::<SystemKind>().ok().map(|s| (d.id.clone(), s)))
        .collect();
    Mappings::from_sources(MAPPING_SOURCES, &desks).map_err(|p| p.to_string())
}
