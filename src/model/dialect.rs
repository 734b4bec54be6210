//! The dialect identity: which system a desk runs (`system = "…"` in its
//! configuration, `Ref.system` on an incident). Names only, so the domain and
//! configuration can hold it; what each dialect does is in its folder,
//! `crate::dialects::<name>`.

use std::fmt;
use std::str::FromStr;

/// The one list of dialects, as `module: Variant`. A new dialect is one line here
/// plus its folder `src/dialects/<module>/`, whose `mod.rs` has a unit struct named
/// `Variant` implementing `crate::dialects::Dialect`.
macro_rules! for_each_dialect {
    ($then:ident) => {
        $then! {
            native: Native,
            servicenow: Servicenow,
            jira: Jira,
            clearquest: Clearquest,
        }
    };
}
pub(crate) use for_each_dialect;

macro_rules! define_ids {
    ($($module:ident: $variant:ident,)*) => {
        /// The ticketing system a desk runs; its router, adapter and mapping are found by it.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Deserialize, serde::Serialize, utoipa::ToSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum DialectId {
            $($variant,)*
        }

        impl DialectId {
            /// Every dialect, in the order of the list.
            pub const ALL: &[DialectId] = &[$(DialectId::$variant,)*];

            /// The name used in configuration, refs and mapping files.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(DialectId::$variant => stringify!($module),)*
                }
            }
        }
    };
}
for_each_dialect!(define_ids);

impl fmt::Display for DialectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is no dialect; the message lists the known ones.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown system {name:?}; known systems: {known}", name = .0, known = known())]
pub struct UnknownDialect(pub String);

fn known() -> String {
    DialectId::ALL.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(", ")
}

impl FromStr for DialectId {
    type Err = UnknownDialect;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DialectId::ALL.iter().copied().find(|d| d.as_str() == s).ok_or_else(|| UnknownDialect(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for d in DialectId::ALL {
            assert_eq!(d.as_str().parse::<DialectId>(), Ok(*d));
            let json = serde_json::to_string(d).unwrap();
            assert_eq!(json, format!("\"{}\"", d.as_str()));
        }
        let err = "tmf".parse::<DialectId>().unwrap_err().to_string();
        assert!(err.contains("native, servicenow, jira, clearquest"), "{err}");
    }
}
