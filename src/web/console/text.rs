//! The console's shared words (frame, navigation), in Danish and English. A page's
//! own words live in the page's module, chosen by the same [`Lang`].

use crate::web::text::phrases;

phrases! {
    /// The console's words shared by every page.
    pub struct Text, pub fn of {
        console = "Konsol", "Console";
        nav_incidents = "Hændelser", "Incidents";
        nav_queue = "Kø", "Queue";
        nav_escalations = "Eskaleringer", "Escalations";
        nav_oncall = "Vagt", "On call";
        nav_desks = "Servicedesks", "Desks";
        local_desk =
            "Konsollen er for den nationale servicedesk og leverandørerne. Meld fejl under Ny fejlmelding.",
            "The console is for the national service desk and the suppliers. Report problems under New report.";
    }
}
