//! The web pages' words, in Danish and English: the language from `?lang=`, else
//! the browser's `Accept-Language`, else Danish (the portal's first audience).

use axum::http::{HeaderMap, header};

use crate::model::Status;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Da,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Da => "da",
            Lang::En => "en",
        }
    }

    /// `?lang=` wins; then the first of `da`/`en` in `Accept-Language` by weight.
    pub fn choose(query: Option<&str>, headers: &HeaderMap) -> Lang {
        match query {
            Some("en") => return Lang::En,
            Some("da") => return Lang::Da,
            _ => {}
        }
        let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let mut best: Option<(f32, Lang)> = None;
        for part in accept.split(',') {
            let mut bits = part.trim().split(';');
            let tag = bits.next().unwrap_or_default().to_ascii_lowercase();
            let q = bits.find_map(|b| b.trim().strip_prefix("q=")).and_then(|q| q.parse().ok()).unwrap_or(1.0);
            let lang = match tag.split('-').next() {
                Some("da") => Lang::Da,
                Some("en") => Lang::En,
                _ => continue,
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Da, |(_, l)| l)
    }

    /// `da` or `en`, whichever is in this language: how every page picks its words.
    pub fn pick<T: ?Sized>(self, da: &'static T, en: &'static T) -> &'static T {
        match self {
            Lang::Da => da,
            Lang::En => en,
        }
    }

    pub fn t(self) -> &'static Text {
        self.pick(&DA, &EN)
    }
}

/// Every phrase the pages show.
pub struct Text {
    pub other_lang: &'static str,
    pub sign_in: &'static str,
    pub sign_in_intro: &'static str,
    pub sign_out: &'static str,
    pub signed_in_as: &'static str,
    pub report_title: &'static str,
    pub report_intro: &'static str,
    pub urgency: &'static str,
    pub urgency_help: &'static str,
    pub urgency_high: &'static str,
    pub urgency_medium: &'static str,
    pub urgency_low: &'static str,
    pub choose: &'static str,
    pub problem_type: &'static str,
    pub problem_type_help: &'static str,
    pub application_type: &'static str,
    pub project: &'static str,
    pub project_help: &'static str,
    pub application: &'static str,
    pub application_help: &'static str,
    pub subject: &'static str,
    pub subject_help: &'static str,
    pub description: &'static str,
    pub description_help: &'static str,
    pub screenshots: &'static str,
    pub screenshots_help: &'static str,
    pub no_patient_data: &'static str,
    pub submit: &'static str,
    pub required_box: &'static str,
    pub required_ok: &'static str,
    pub err_required: &'static str,
    pub err_patient: &'static str,
    pub err_one_sentence: &'static str,
    pub err_too_many: &'static str,
    pub err_too_large: &'static str,
    pub err_not_image: &'static str,
    pub err_choice: &'static str,
    pub received: &'static str,
    pub your_number: &'static str,
    pub urgent_call: &'static str,
    pub my_reports: &'static str,
    pub new_report: &'static str,
    pub status: &'static str,
    pub all: &'static str,
    pub filter: &'static str,
    pub none_yet: &'static str,
    pub timeline: &'static str,
    pub reported: &'static str,
    pub not_found: &'static str,
    pub forbidden_csrf: &'static str,
    pub sign_in_failed: &'static str,
    /// Each status's name, in the order of `Status::ALL`.
    pub statuses: [&'static str; Status::ALL.len()],
}

impl Text {
    pub fn status_name(&self, status: Status) -> &'static str {
        let i = Status::ALL.iter().position(|s| *s == status).unwrap_or_default();
        self.statuses[i]
    }

    /// A status as the history records it (its wire name), named in this language;
    /// anything else as it is.
    pub fn status_text<'a>(&self, text: Option<&'a str>) -> &'a str {
        match text.map(|t| t.parse::<Status>()) {
            Some(Ok(s)) => self.status_name(s),
            _ => text.unwrap_or_default(),
        }
    }
}

pub static DA: Text = Text {
    other_lang: "English",
    sign_in: "Log ind",
    sign_in_intro: "Log ind med din arbejdsplads' login for at melde en fejl.",
    sign_out: "Log ud",
    signed_in_as: "Logget ind som",
    report_title: "Meld en fejl",
    report_intro: "Felter mærket * skal udfyldes. Skriv aldrig CPR-numre eller andre patientoplysninger.",
    urgency: "Hastegrad",
    urgency_help: "Høj: mange brugere eller patientbehandling er ramt nu.",
    urgency_high: "Høj",
    urgency_medium: "Middel",
    urgency_low: "Lav",
    choose: "Vælg …",
    problem_type: "Problemtype",
    problem_type_help: "Den tjeneste, der fejler; vælg Applikation for et projekts applikation.",
    application_type: "Applikation",
    project: "Projektnavn",
    project_help: "Projektet, som applikationen hører til.",
    application: "Applikation",
    application_help: "Den applikation i projektet, der fejler.",
    subject: "Emne",
    subject_help: "Én sætning, der siger hvad der er galt.",
    description: "Beskrivelse",
    description_help: "Hvad gjorde du, hvad skete der, hvad forventede du? Hvornår startede det, og hvor mange er ramt?",
    screenshots: "Skærmbilleder",
    screenshots_help: "Op til {n} billeder, hver højst {size}.",
    no_patient_data: "Skærmbilleder må ikke vise patientoplysninger.",
    submit: "Send fejlmelding",
    required_box: "Mangler før du kan sende:",
    required_ok: "Alle krævede oplysninger er udfyldt.",
    err_required: "Skal udfyldes.",
    err_patient: "Feltet ser ud til at indeholde patientoplysninger (f.eks. et CPR-nummer). Fjern dem og skriv teksten igen.",
    err_one_sentence: "Skriv emnet som én kort sætning (højst 160 tegn, én linje).",
    err_too_many: "For mange filer.",
    err_too_large: "En fil er større end grænsen.",
    err_not_image: "Kun billeder (PNG, JPEG, GIF, WebP).",
    err_choice: "Vælg en af mulighederne.",
    received: "Tak – fejlmeldingen er modtaget",
    your_number: "Dit sagsnummer",
    urgent_call: "Fejlen er akut: ring også til den nationale servicedesk på",
    my_reports: "Mine fejlmeldinger",
    new_report: "Ny fejlmelding",
    status: "Status",
    all: "Alle",
    filter: "Vis",
    none_yet: "Ingen fejlmeldinger.",
    timeline: "Forløb",
    reported: "Meldt",
    not_found: "Siden findes ikke.",
    forbidden_csrf: "Formularen er udløbet eller kom ikke fra denne side. Hent siden igen og prøv en gang til.",
    sign_in_failed: "Login mislykkedes. Prøv igen.",
    statuses: [
        "Ny",
        "Tildelt",
        "Under behandling",
        "Afventer oplysninger",
        "På hold",
        "Afventer udrulning",
        "Løst",
        "Lukket",
        "Annulleret",
    ],
};

pub static EN: Text = Text {
    other_lang: "Dansk",
    sign_in: "Sign in",
    sign_in_intro: "Sign in with your workplace account to report a problem.",
    sign_out: "Sign out",
    signed_in_as: "Signed in as",
    report_title: "Report a problem",
    report_intro: "Fields marked * are required. Never write CPR numbers or other patient data.",
    urgency: "Urgency",
    urgency_help: "High: many users, or patient care, affected now.",
    urgency_high: "High",
    urgency_medium: "Medium",
    urgency_low: "Low",
    choose: "Choose …",
    problem_type: "Problem type",
    problem_type_help: "The service that fails; choose Application for a project's application.",
    application_type: "Application",
    project: "Project name",
    project_help: "The project the application belongs to.",
    application: "Application",
    application_help: "The project's application that fails.",
    subject: "Subject",
    subject_help: "One sentence saying what is wrong.",
    description: "Description",
    description_help: "What did you do, what happened, what did you expect? When did it start, and how many are affected?",
    screenshots: "Screenshots",
    screenshots_help: "Up to {n} images, each at most {size}.",
    no_patient_data: "Screenshots must not show patient data.",
    submit: "Send report",
    required_box: "Missing before you can send:",
    required_ok: "All required information is filled in.",
    err_required: "Required.",
    err_patient: "This field seems to contain patient data (e.g. a CPR number). Remove it and write the text again.",
    err_one_sentence: "Write the subject as one short sentence (at most 160 characters, one line).",
    err_too_many: "Too many files.",
    err_too_large: "A file is larger than the limit.",
    err_not_image: "Images only (PNG, JPEG, GIF, WebP).",
    err_choice: "Choose one of the options.",
    received: "Thank you – your report has been received",
    your_number: "Your incident number",
    urgent_call: "This is urgent: also phone the national service desk on",
    my_reports: "My reports",
    new_report: "New report",
    status: "Status",
    all: "All",
    filter: "Show",
    none_yet: "No reports.",
    timeline: "Timeline",
    reported: "Reported",
    not_found: "There is no such page.",
    forbidden_csrf: "The form has expired or did not come from this site. Reload the page and try again.",
    sign_in_failed: "Sign-in failed. Please try again.",
    statuses: [
        "New",
        "Assigned",
        "In progress",
        "Awaiting information",
        "On hold",
        "Pending release",
        "Resolved",
        "Closed",
        "Cancelled",
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn every_status_has_its_own_name_in_each_language() {
        for lang in [Lang::Da, Lang::En] {
            let t = lang.t();
            let names: std::collections::BTreeSet<_> = Status::ALL.iter().map(|s| t.status_name(*s)).collect();
            assert_eq!(names.len(), Status::ALL.len(), "{lang:?}: {names:?}");
            assert!(names.iter().all(|n| !n.is_empty() && !n.contains('_')), "{lang:?}: {names:?}");
        }
        assert_eq!(
            (DA.status_name(Status::InProgress), EN.status_name(Status::InProgress)),
            ("Under behandling", "In progress")
        );
        assert_eq!(DA.status_text(Some("resolved")), "Løst");
        assert_eq!(EN.status_text(Some("something else")), "something else");
    }

    #[test]
    fn the_query_wins_then_the_weighted_header_then_danish() {
        let mut h = HeaderMap::new();
        assert_eq!(Lang::choose(None, &h), Lang::Da);
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("da;q=0.5, en-GB;q=0.9"));
        assert_eq!(Lang::choose(None, &h), Lang::En);
        assert_eq!(Lang::choose(Some("da"), &h), Lang::Da);
    }
}
