//! A desk's part in the incident process beyond its system: the number reporters of
//! urgent cases must also phone (`urgent_phone`, on the national desk, step 3), and
//! which suppliers a supplier may hand an incident on to or involve
//! (`hand_on = { to = […], involve = […] }`, steps 5b and 6).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Desk, Problem};
use crate::model::{DeskId, Role};

/// `hand_on = { to = ["…"], involve = ["…"] }` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HandOnFile {
    #[serde(default)]
    to: Vec<String>,
    #[serde(default)]
    involve: Vec<String>,
}

/// What a desk may do in the process, resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeskProcess {
    /// The number a reporter of an urgent (P1/P2) case must also phone; set on the
    /// national desk.
    pub urgent_phone: Option<String>,
    /// Suppliers this supplier may hand an incident on to (it stops being assignee).
    pub hand_on_to: Vec<DeskId>,
    /// Suppliers this supplier may involve (they get a copy, it stays assignee).
    pub involve: Vec<DeskId>,
}

pub(super) fn resolve(
    urgent_phone: Option<String>,
    hand_on: Option<HandOnFile>,
    path: &str,
    problems: &mut Vec<Problem>,
) -> DeskProcess {
    if let Some(phone) = &urgent_phone {
        let digits = phone.chars().filter(char::is_ascii_digit).count();
        let allowed = phone.chars().all(|c| c.is_ascii_digit() || c == ' ' || c == '+' || c == '-');
        if !allowed || !(6..=15).contains(&digits) {
            problems.push(Problem {
                path: format!("{path}.urgent_phone"),
                message: format!("expected a phone number such as \"+45 33143900\", got {phone:?}"),
            });
        }
    }
    let hand_on = hand_on.unwrap_or_default();
    let mut ids = |list: Vec<String>, key: &str| -> Vec<DeskId> {
        let mut out = Vec::new();
        for (n, id) in list.into_iter().enumerate() {
            match id.parse::<DeskId>() {
                Ok(d) => out.push(d),
                Err(_) => problems.push(Problem {
                    path: format!("{path}.hand_on.{key}[{n}]"),
                    message: format!("expected a desk id, got {id:?}"),
                }),
            }
        }
        out
    };
    let hand_on_to = ids(hand_on.to, "to");
    let involve = ids(hand_on.involve, "involve");
    DeskProcess { urgent_phone, hand_on_to, involve }
}

/// Across desks: only a supplier hands on, and only to other supplier desks.
pub(super) fn check(desks: &BTreeMap<DeskId, Desk>, problems: &mut Vec<Problem>) {
    for desk in desks.values() {
        let lists = [("to", &desk.process.hand_on_to), ("involve", &desk.process.involve)];
        for (key, list) in lists {
            if !list.is_empty() && desk.role != Role::Supplier {
                problems.push(Problem {
                    path: format!("desks.{}.hand_on.{key}", desk.id),
                    message: "only a supplier desk hands incidents on or involves other suppliers".into(),
                });
                continue;
            }
            for (n, other) in list.iter().enumerate() {
                let supplier = desks.get(other).is_some_and(|d| d.role == Role::Supplier && d.id != desk.id);
                if !supplier {
                    problems.push(Problem {
                        path: format!("desks.{}.hand_on.{key}[{n}]", desk.id),
                        message: format!("expected the id of another supplier desk, got {other:?}"),
                    });
                }
            }
        }
        if desk.process.urgent_phone.is_some() && desk.role != Role::National {
            problems.push(Problem {
                path: format!("desks.{}.urgent_phone", desk.id),
                message: "the number for urgent cases is the national desk's; set it there".into(),
            });
        }
    }
}
