//! Tokens whose signature has been verified: a desk sends the same token on every
//! request until it renews it, and checking its signature (and decoding it twice)
//! was the largest cost of authenticating a request.
//!
//! Only a token that authenticated a registered desk is kept, by its exact text, so
//! a hit is the same bytes the desk's key verified; what depends on the time (`exp`,
//! `nbf`, the desk's maximum lifetime) is checked again on every hit, as the full
//! path checks it. The desks and their keys are fixed for an [`Authenticator`]'s
//! life, so a verdict cannot go stale. At most [`CAPACITY`] tokens are kept.
//!
//! [`Authenticator`]: super::Authenticator

use parking_lot::Mutex;
use std::collections::HashMap;

use super::{AuthError, Claims, DeskPrincipal, within_lifetime};

/// The most tokens kept: a few per desk, however many desks.
pub(super) const CAPACITY: usize = 1024;

/// What a verified token established.
#[derive(Clone)]
pub(super) struct Verdict {
    pub(super) principal: DeskPrincipal,
    pub(super) claims: Claims,
    pub(super) max_lifetime_secs: u64,
}

impl Verdict {
    pub(super) fn new(principal: DeskPrincipal, claims: &Claims, max_lifetime_secs: u64) -> Self {
        Verdict { principal, claims: claims.clone(), max_lifetime_secs }
    }

    /// The checks of the full path that depend on `now`, with its messages.
    fn still_valid(&self, leeway: u64, now: u64) -> Result<(), AuthError> {
        if self.claims.exp < now.saturating_sub(leeway) {
            return Err(AuthError::Invalid("the token has expired".into()));
        }
        if self.claims.nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(AuthError::Invalid("the token is not valid yet (nbf)".into()));
        }
        within_lifetime(&self.claims, self.max_lifetime_secs, leeway, now)
    }
}

#[derive(Default)]
pub(super) struct Verified {
    tokens: Mutex<HashMap<String, Verdict>>,
}

impl Verified {
    /// The desk `token` authenticates at `now`, if it was verified before: `None`
    /// when it was not, an error when it no longer holds.
    pub(super) fn check(&self, token: &str, leeway: u64, now: u64) -> Option<Result<DeskPrincipal, AuthError>> {
        let mut tokens = self.tokens.lock();
        let verdict = tokens.get(token)?;
        Some(match verdict.still_valid(leeway, now) {
            Ok(()) => Ok(verdict.principal.clone()),
            Err(e) => {
                tokens.remove(token);
                Err(e)
            }
        })
    }

    /// Keep `token`'s verdict; when full, the expired ones go first, else all.
    pub(super) fn keep(&self, token: &str, verdict: Verdict, leeway: u64, now: u64) {
        let mut tokens = self.tokens.lock();
        if tokens.len() >= CAPACITY {
            tokens.retain(|_, v| v.still_valid(leeway, now).is_ok());
            if tokens.len() >= CAPACITY {
                tokens.clear();
            }
        }
        tokens.insert(token.to_owned(), verdict);
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.tokens.lock().len()
    }
}
