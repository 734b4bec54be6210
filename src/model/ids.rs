//! Identifier newtypes, parsed once at the edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ModelError;

/// What every id newtype has besides its own parsing rule (`FromStr`): `as_str`,
/// `TryFrom<String>` through that rule, `Into<String>` and `Display`.
macro_rules! string_id {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = ModelError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl From<$name> for String {
            fn from(d: $name) -> String {
                d.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

/// A registered desk's stable slug: `region-h`, `sds`, `fmk`.
///
/// Lowercase ASCII letters, digits and `-`, starting with a letter, at most 64 chars.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DeskId(String);

impl FromStr for DeskId {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(ModelError::invalid(
                "desk",
                "a desk id: lowercase letters, digits and '-', starting with a letter, at most 64 characters",
            ))
        }
    }
}

string_id!(DeskId);

/// The gateway's own incident id, `INC-2026-000042`; never reused.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IncidentId(String);

impl IncidentId {
    /// Build the id of the `seq`-th incident, created in `year`.
    pub fn new(year: i16, seq: u64) -> Self {
        Self(format!("INC-{year:04}-{seq:06}"))
    }
}

impl FromStr for IncidentId {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = (|| {
            let rest = s.strip_prefix("INC-")?;
            let (year, seq) = rest.split_once('-')?;
            let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
            (year.len() == 4 && digits(year) && seq.len() >= 6 && seq.len() <= 12 && digits(seq)).then_some(())
        })();
        match valid {
            Some(()) => Ok(Self(s.to_owned())),
            None => Err(ModelError::invalid("id", "an incident id like INC-2026-000042")),
        }
    }
}

string_id!(IncidentId);

/// A service an incident concerns: `FMK`, `NSP`, `SOSI`. Stored upper-case.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Service(String);

impl FromStr for Service {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        super::patient_data::check("service", t)?;
        let ok = !t.is_empty() && t.len() <= 32 && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(Self(t.to_ascii_uppercase()))
        } else {
            Err(ModelError::invalid(
                "service",
                "a service name such as FMK or NSP: letters, digits, '-' or '_', at most 32 characters",
            ))
        }
    }
}

string_id!(Service);

/// A ticket id at a desk, exactly as the desk names it (`INC0010001`, `DRIFT-42`,
/// a sys_id, a ClearQuest record URI). Non-empty, printable (no control, format or
/// bidi characters, no markup or quotes), at most 512 bytes, no patient data.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "String")]
pub struct TicketId(String);

impl<'de> Deserialize<'de> for TicketId {
    /// Stored ids were checked when they came in; reading them back does not re-check,
    /// so a stricter rule never makes a stored incident unreadable.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(TicketId)
    }
}

impl FromStr for TicketId {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        super::patient_data::check("ticket_id", s)?;
        // Record URIs need `/?&=%`, but markup and quotes have no place in any id.
        let printable = |c: char| {
            !c.is_control() && !super::patient_data::is_format(c) && !matches!(c, '<' | '>' | '"' | '\'' | '`')
        };
        if s.trim().is_empty() || s.len() > 512 || !s.chars().all(printable) {
            return Err(ModelError::invalid(
                "ticket_id",
                "the desk's own ticket id: 1 to 512 printable characters, without markup or quotes",
            ));
        }
        Ok(Self(s.to_owned()))
    }
}

string_id!(TicketId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desk_ids_are_slugs() {
        for ok in ["sds", "region-h", "fmk", "gp-1234"] {
            assert!(ok.parse::<DeskId>().is_ok(), "{ok}");
        }
        for bad in ["", "Region-H", "1region", "region h", "sds/../x", &"a".repeat(65)] {
            assert!(bad.parse::<DeskId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn incident_ids_have_year_and_sequence() {
        assert_eq!(IncidentId::new(2026, 42).as_str(), "INC-2026-000042");
        assert!("INC-2026-000042".parse::<IncidentId>().is_ok());
        for bad in ["INC-26-000042", "INC-2026-42", "inc-2026-000042", "INC-2026-00004x", ""] {
            assert!(bad.parse::<IncidentId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ticket_ids_refuse_patient_data_markup_and_invisible_characters() {
        for ok in ["INC0010001", "9d385017c611228701d22104cc95c371", "/cqweb/oslc/repo/x/record/16777224-33554474"] {
            assert!(ok.parse::<TicketId>().is_ok(), "{ok}");
        }
        for bad in ["<script>", "a\u{202e}b", "a\u{200b}", " ", "x\u{0}"] {
            assert_eq!(bad.parse::<TicketId>().unwrap_err().field(), Some("ticket_id"), "{bad:?}");
        }
        let err = "CPR-0102031047".parse::<TicketId>().unwrap_err();
        assert!(matches!(err, ModelError::PatientData { field: "ticket_id", .. }));
        // Stored ids are read back as they were stored.
        let stored: TicketId = serde_json::from_str("\"old 0102031047\"").unwrap();
        assert_eq!(stored.as_str(), "old 0102031047");
    }

    #[test]
    fn services_are_upper_cased() {
        assert_eq!("fmk".parse::<Service>().unwrap().as_str(), "FMK");
        assert!("F M K".parse::<Service>().is_err());
    }
}
