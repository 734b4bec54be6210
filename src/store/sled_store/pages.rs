//! Pages of the operators' listings: a seek to the cursor in the tree's key order,
//! then at most `limit` matching entries (nothing before the cursor is read).

use serde::de::DeserializeOwned;

use super::{decode, io};
use crate::store::StoreError;

/// The entries of `tree` (keyed by big-endian sequence numbers) after `after`
/// that `keep` keeps, at most `limit`.
pub(super) fn page<T: DeserializeOwned>(
    tree: &sled::Tree,
    after: Option<u64>,
    limit: usize,
    keep: impl Fn(&T) -> bool,
) -> Result<Vec<T>, StoreError> {
    let entries = match after.map(|a| a.checked_add(1)) {
        None => tree.range::<&[u8], _>(..),
        Some(Some(start)) => tree.range(start.to_be_bytes()..),
        // Nothing comes after the last number.
        Some(None) => return Ok(Vec::new()),
    };
    let mut out = Vec::new();
    for entry in entries {
        if out.len() >= limit {
            break;
        }
        let value: T = decode(&entry.map_err(io)?.1)?;
        if keep(&value) {
            out.push(value);
        }
    }
    Ok(out)
}

/// The entries of `tree` (keyed by id) with an id after `after`.
pub(super) fn from_id(tree: &sled::Tree, after: Option<&str>) -> sled::Iter {
    match after {
        None => tree.iter(),
        Some(id) => {
            // The smallest key after `id`: `id` followed by a zero byte.
            let mut start = id.as_bytes().to_vec();
            start.push(0);
            tree.range(start..)
        }
    }
}
