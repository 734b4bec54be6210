//! Loading a ruleset: read the file, build the typed model, and refuse it unless the
//! sweep proves every escalating instant covered. Owns the order of those steps only.

use std::path::Path;

use jiff::Timestamp;

use super::rules::{self, LoadError, Ruleset};
use super::sweep;

impl Ruleset {
    /// Read, validate and sweep the ruleset at `path`. `now` picks the sample year:
    /// the sweep covers the 366 local days starting on the date of `now`.
    pub fn load(path: &Path, now: Timestamp) -> Result<Ruleset, LoadError> {
        let file = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|source| LoadError::Read { file: file.clone(), source })?;
        Ruleset::from_toml(&src, &file, now)
    }

    /// Like [`Ruleset::load`] for text already in memory; `file` names it in errors.
    pub fn from_toml(src: &str, file: &str, now: Timestamp) -> Result<Ruleset, LoadError> {
        let mut ruleset = rules::parse(src, file)?;
        let start = now.to_zoned(ruleset.zone().clone()).date();
        let findings = sweep::sweep(&ruleset, start, sweep::SAMPLE_DAYS);
        let (gaps, others): (Vec<_>, Vec<_>) = findings.into_iter().partition(|f| f.kind.is_error());
        if !gaps.is_empty() {
            return Err(LoadError::Gaps { file: file.to_string(), gaps, others });
        }
        ruleset.set_warnings(others);
        Ok(ruleset)
    }
}
