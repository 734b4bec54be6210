//! The ClearQuest dialect: ClearQuest does not push and deskgate offers it no API of
//! its own; its desks are written through the OSLC adapter and read by polling.

pub mod adapter;
mod detected;
pub mod interval;
pub mod options;
pub mod poll;
pub mod probe;

use std::sync::Arc;

use deskgate_adapter::Adapter;

use super::{Dialect, DialectId};
use crate::config::Desk;
use crate::mapping::MappingSource;

pub struct Clearquest;

/// ClearQuest's vocabulary: `mappings/clearquest.toml`, whose status field is `State`.
pub const MAPPING: MappingSource =
    crate::mapping::mapping_source!(DialectId::Clearquest, "clearquest.toml", status "State", priority "Priority");

impl Dialect for Clearquest {
    fn id(&self) -> DialectId {
        DialectId::Clearquest
    }

    fn mapping(&self) -> Option<&'static MappingSource> {
        Some(&MAPPING)
    }

    fn adapter(&self, desk: &Desk, endpoint: &url::Url) -> Option<Result<Arc<dyn Adapter>, String>> {
        Some(adapter::build(desk, endpoint.as_str()))
    }

    fn probe(&self) -> Option<&'static dyn crate::probe::DeskProbe> {
        Some(&probe::ClearquestProbe)
    }

    fn polled(&self) -> bool {
        true
    }

    fn deferral_field(&self, desk: &Desk) -> Option<String> {
        let field = desk.clearquest()?.deferred_until_field.as_ref()?;
        Some(if field.contains(':') { field.clone() } else { format!("cq:{field}") })
    }
}
