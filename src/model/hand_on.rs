//! Handing an incident on between suppliers (process steps 5b and 6): the assigned
//! supplier (the operations supplier) hands an application issue to the application
//! supplier, which becomes the assignee; the assigned supplier involves a component
//! supplier, which becomes a party (it gets a copy) without being the assignee.
//! Which desks may do either to whom is configuration, checked by the gateway; the
//! rules here are those of the incident itself.

use jiff::Timestamp;

use super::{Actor, DeskId, HistoryEntry, Incident, ModelError, Role};

impl Incident {
    /// `actor`, the assigned supplier, hands the incident to `to`. On error nothing
    /// changes; handing it to the supplier that has it changes nothing.
    pub fn hand_on(&mut self, actor: &Actor, to: &DeskId, now: Timestamp) -> Result<bool, ModelError> {
        self.check_assigned_supplier(actor)?;
        if &actor.desk == to {
            return Ok(false);
        }
        self.involved.retain(|d| d != to);
        self.assignee = Some(to.clone());
        self.record_hand_on(actor, "assignee", Some(actor.desk.to_string()), Some(to.to_string()), now);
        Ok(true)
    }

    /// `actor`, the assigned supplier, involves `desk`: a party with a copy, not the
    /// assignee. Involving it again, or the assignee itself, changes nothing.
    pub fn involve(&mut self, actor: &Actor, desk: &DeskId, now: Timestamp) -> Result<bool, ModelError> {
        self.check_assigned_supplier(actor)?;
        if self.assignee.as_ref() == Some(desk) || self.involved.contains(desk) {
            return Ok(false);
        }
        self.involved.push(desk.clone());
        self.record_hand_on(actor, "involved", None, Some(desk.to_string()), now);
        Ok(true)
    }

    fn check_assigned_supplier(&self, actor: &Actor) -> Result<(), ModelError> {
        if actor.role != Role::Supplier || self.assignee.as_ref() != Some(&actor.desk) {
            return Err(ModelError::Forbidden(format!(
                "only the supplier {} is assigned to may hand it on or involve another supplier",
                self.id
            )));
        }
        if self.status.is_terminal() {
            return Err(ModelError::Conflict(format!("{} is {}: it is no longer handed on", self.id, self.status)));
        }
        Ok(())
    }

    fn record_hand_on(&mut self, actor: &Actor, field: &str, from: Option<String>, to: Option<String>, now: Timestamp) {
        self.history.push(HistoryEntry { at: now, actor: actor.desk.clone(), field: field.into(), from, to });
        self.updated_at = now;
        self.version += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::testing::{desk, incident};
    use crate::model::{DialectId, Status};

    fn supplier(id: &str) -> Actor {
        Actor { desk: desk(id), role: Role::Supplier }
    }

    #[test]
    fn only_the_assigned_supplier_hands_on_and_the_history_says_so() {
        let mut i = incident("region-h", DialectId::Servicenow, "SN-1");
        i.assignee = Some(desk("drift"));
        assert!(matches!(
            i.hand_on(&supplier("fmk"), &desk("sosi"), Timestamp::UNIX_EPOCH),
            Err(ModelError::Forbidden(_))
        ));
        let national = Actor { desk: desk("sds"), role: Role::National };
        assert!(i.involve(&national, &desk("sosi"), Timestamp::UNIX_EPOCH).is_err(), "the national desk assigns");
        assert_eq!(i.assignee, Some(desk("drift")), "a refusal changes nothing");

        assert!(i.involve(&supplier("drift"), &desk("sosi"), Timestamp::UNIX_EPOCH).unwrap());
        assert!(!i.involve(&supplier("drift"), &desk("sosi"), Timestamp::UNIX_EPOCH).unwrap(), "once");
        assert!(i.hand_on(&supplier("drift"), &desk("fmk"), Timestamp::UNIX_EPOCH).unwrap());
        assert_eq!((i.assignee.clone(), i.involved.clone()), (Some(desk("fmk")), vec![desk("sosi")]));
        assert!(i.has_party(&desk("sosi")) && !i.has_party(&desk("drift")));
        let last = i.history.last().unwrap();
        assert_eq!((last.field.as_str(), last.to.as_deref()), ("assignee", Some("fmk")));

        i.status = Status::Closed;
        assert!(matches!(
            i.hand_on(&supplier("fmk"), &desk("drift"), Timestamp::UNIX_EPOCH),
            Err(ModelError::Conflict(_))
        ));
    }
}
