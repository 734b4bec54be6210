//! The console's shared words (frame, navigation), in Danish and English. A page's
//! own words live in the page's module, chosen by the same [`Lang`].

use crate::web::text::Lang;

/// The console's words shared by every page.
pub struct Text {
    pub console: &'static str,
    pub nav_incidents: &'static str,
    pub nav_queue: &'static str,
    pub nav_escalations: &'static str,
    pub nav_oncall: &'static str,
    pub nav_desks: &'static str,
    pub local_desk: &'static str,
}

pub fn of(lang: Lang) -> &'static Text {
    lang.pick(&DA, &EN)
}

pub static DA: Text = Text {
    console: "Konsol",
    nav_incidents: "Hændelser",
    nav_queue: "Kø",
    nav_escalations: "Eskaleringer",
    nav_oncall: "Vagt",
    nav_desks: "Servicedesks",
    local_desk: "Konsollen er for den nationale servicedesk og leverandørerne. Meld fejl under Ny fejlmelding.",
};

pub static EN: Text = Text {
    console: "Console",
    nav_incidents: "Incidents",
    nav_queue: "Queue",
    nav_escalations: "Escalations",
    nav_oncall: "On call",
    nav_desks: "Desks",
    local_desk: "The console is for the national service desk and the suppliers. Report problems under New report.",
};
