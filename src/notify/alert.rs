//! Carrying out the Mitz process's notices ([`Action::Alert`](crate::outbox::Action::Alert)):
//! the security officer, the Mitz service desk and the service level manager by mail
//! or text, and the assignee desk's contact by mail. The text names the incident
//! (number, title, service, priority, the parties) and where to read it; never its
//! description or notes, which stay in deskgate.

use deskgate_adapter::AdapterError;

use super::Notifier;
use crate::model::Incident;
use crate::outbox::{Alert, AlertTo};

impl Notifier {
    /// Tell `to` of `alert` about `incident`, by text when `sms`, else by mail.
    pub async fn alert(&self, alert: Alert, to: AlertTo, sms: bool, incident: &Incident) -> Result<(), AdapterError> {
        let (name, email, number) = self.alert_recipient(to, incident)?;
        let reference = format!("{}.{}.{}", incident.id, alert_slug(alert), to.as_str());
        let (subject, body) = self.alert_text(alert, &name, incident);
        if sms {
            let number =
                number.ok_or_else(|| AdapterError::permanent(format!("the {} has no sms number", to.as_str())))?;
            return self.send_text(&number, &subject, &reference).await;
        }
        let email =
            email.ok_or_else(|| AdapterError::permanent(format!("the {} has no e-mail address", to.as_str())))?;
        self.mail(&[email], &subject, body, format!("<{reference}@deskgate>")).await
    }

    /// Name, e-mail and number of `to`, as configured now.
    fn alert_recipient(
        &self,
        to: AlertTo,
        incident: &Incident,
    ) -> Result<(String, Option<String>, Option<String>), AdapterError> {
        let missing = || AdapterError::permanent("the Mitz process is not configured ([gateway.mitz])");
        let person = |p: &crate::config::Person| (p.name.clone(), p.email.clone(), p.sms.clone());
        let m = self.config.gateway.mitz.as_ref();
        Ok(match to {
            AlertTo::SecurityOfficer => person(&m.ok_or_else(missing)?.security_officer),
            AlertTo::ServiceDesk => person(&m.ok_or_else(missing)?.service_desk),
            AlertTo::ServiceLevelManager => person(&m.ok_or_else(missing)?.service_level_manager),
            AlertTo::Assignee => {
                let desk = incident.assignee.as_ref().and_then(|a| self.config.desk(a));
                let contact = desk.and_then(|d| d.contact.as_ref()).ok_or_else(|| {
                    AdapterError::permanent(format!(
                        "{} has no assignee with a contact (desks.<id>.contact)",
                        incident.id
                    ))
                })?;
                (contact.name.clone(), contact.email.clone(), None)
            }
        })
    }

    fn alert_text(&self, alert: Alert, name: &str, i: &Incident) -> (String, String) {
        let priority = i.priority.map_or("no priority", |p| p.as_str());
        let subject = match alert {
            Alert::Security => {
                format!("[deskgate] Information-security incident {} ({priority}): {}", i.id, i.title.as_str())
            }
            Alert::Calamity => format!("[deskgate] Calamity {} ({priority}): {}", i.id, i.title.as_str()),
            Alert::RcaDue => format!(
                "[deskgate] Root-cause analysis of {} due {}: {}",
                i.id,
                i.rca.as_ref().map(|r| r.due.to_string()).unwrap_or_default(),
                i.title.as_str()
            ),
        };
        let why = match alert {
            Alert::Security => "It was classified as an information-security incident, which is always reported to you, whatever its priority or the hour. You determine its impact and next steps, and whether it is handled outside the reporting system. Its description and notes are kept internal: local desks see only what they wrote themselves.".to_owned(),
            Alert::Calamity => {
                let criteria: Vec<String> = i.calamity.criteria.iter().map(|c| format!("{c:?}")).collect();
                let how = if i.calamity.declared { "declared a calamity by the national desk".to_owned() } else { String::new() };
                let met = if criteria.is_empty() { String::new() } else { format!("criteria met: {}", criteria.join(", ")) };
                format!("It is a calamity ({}), which is always reported to the Mitz service desk and the service level manager.", [how, met].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("; "))
            }
            Alert::RcaDue => "A root-cause analysis is owed for this incident and is due soon. Deliver it to the national desk and mark it delivered (rca_delivered).".to_owned(),
        };
        let body = format!(
            "{name}: {why}\n\n{}Priority:   {priority}\nReported by: {}\nAssigned to: {}\n\nRead it at {}/api/v1/incidents/{}\n",
            super::facts(i),
            i.origin.desk,
            i.assignee.as_ref().map_or("(nobody yet)", |a| a.as_str()),
            self.config.gateway.public_base(None),
            i.id,
        );
        (subject, body)
    }
}

fn alert_slug(alert: Alert) -> &'static str {
    match alert {
        Alert::Security => "security",
        Alert::Calamity => "calamity",
        Alert::RcaDue => "rca",
    }
}
