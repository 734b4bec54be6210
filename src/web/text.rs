//! The web pages' words, in Danish and English: the language from `?lang=`, else
//! the browser's `Accept-Language`, else Danish (the portal's first audience).

use axum::http::{HeaderMap, header};

use crate::model::Status;

/// A page's phrases, each one's Danish and English side by side. Declares the struct
/// `$name` (a field a phrase), its two tables `DA` and `EN`, and `$pick`, which
/// chooses one by [`Lang`]. A phrase is `name = "dansk", "English";`, or, when it is
/// not one string, `name: Type = dansk, english;`.
macro_rules! phrases {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident, $pick_vis:vis fn $pick:ident {
            $( $(#[$field_meta:meta])* $field:ident $(: $ty:ty)? = $da:expr, $en:expr; )*
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $(#[$field_meta])* pub $field: $crate::web::text::phrases!(@type $($ty)?), )*
        }

        $vis static DA: $name = $name { $( $field: $da, )* };
        $vis static EN: $name = $name { $( $field: $en, )* };

        $pick_vis fn $pick(lang: $crate::web::text::Lang) -> &'static $name {
            lang.pick(&DA, &EN)
        }
    };
    (@type) => { &'static str };
    (@type $ty:ty) => { $ty };
}
pub(crate) use phrases;

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
        text(self)
    }
}

phrases! {
    /// Every phrase the pages show.
    pub struct Text, fn text {
        other_lang = "English", "Dansk";
        sign_in = "Log ind", "Sign in";
        sign_in_intro =
            "Log ind med din arbejdsplads' login for at melde en fejl.",
            "Sign in with your workplace account to report a problem.";
        sign_out = "Log ud", "Sign out";
        signed_in_as = "Logget ind som", "Signed in as";
        report_title = "Meld en fejl", "Report a problem";
        report_intro =
            "Felter mærket * skal udfyldes. Skriv aldrig CPR-numre eller andre patientoplysninger.",
            "Fields marked * are required. Never write CPR numbers or other patient data.";
        urgency = "Hastegrad", "Urgency";
        urgency_help =
            "Høj: mange brugere eller patientbehandling er ramt nu.",
            "High: many users, or patient care, affected now.";
        urgency_high = "Høj", "High";
        urgency_medium = "Middel", "Medium";
        urgency_low = "Lav", "Low";
        choose = "Vælg …", "Choose …";
        problem_type = "Problemtype", "Problem type";
        problem_type_help =
            "Den tjeneste, der fejler; vælg Applikation for et projekts applikation.",
            "The service that fails; choose Application for a project's application.";
        application_type = "Applikation", "Application";
        project = "Projektnavn", "Project name";
        project_help = "Projektet, som applikationen hører til.", "The project the application belongs to.";
        application = "Applikation", "Application";
        application_help = "Den applikation i projektet, der fejler.", "The project's application that fails.";
        subject = "Emne", "Subject";
        subject_help = "Én sætning, der siger hvad der er galt.", "One sentence saying what is wrong.";
        description = "Beskrivelse", "Description";
        description_help =
            "Hvad gjorde du, hvad skete der, hvad forventede du? Hvornår startede det, og hvor mange er ramt?",
            "What did you do, what happened, what did you expect? When did it start, and how many are affected?";
        screenshots = "Skærmbilleder", "Screenshots";
        screenshots_help = "Op til {n} billeder, hver højst {size}.", "Up to {n} images, each at most {size}.";
        no_patient_data = "Skærmbilleder må ikke vise patientoplysninger.", "Screenshots must not show patient data.";
        submit = "Send fejlmelding", "Send report";
        required_box = "Mangler før du kan sende:", "Missing before you can send:";
        required_ok = "Alle krævede oplysninger er udfyldt.", "All required information is filled in.";
        err_required = "Skal udfyldes.", "Required.";
        err_patient =
            "Feltet ser ud til at indeholde patientoplysninger (f.eks. et CPR-nummer). Fjern dem og skriv teksten igen.",
            "This field seems to contain patient data (e.g. a CPR number). Remove it and write the text again.";
        err_one_sentence =
            "Skriv emnet som én kort sætning (højst 160 tegn, én linje).",
            "Write the subject as one short sentence (at most 160 characters, one line).";
        err_too_many = "For mange filer.", "Too many files.";
        err_too_large = "En fil er større end grænsen.", "A file is larger than the limit.";
        err_not_image = "Kun billeder (PNG, JPEG, GIF, WebP).", "Images only (PNG, JPEG, GIF, WebP).";
        err_choice = "Vælg en af mulighederne.", "Choose one of the options.";
        received = "Tak – fejlmeldingen er modtaget", "Thank you – your report has been received";
        your_number = "Dit sagsnummer", "Your incident number";
        urgent_call =
            "Fejlen er akut: ring også til den nationale servicedesk på",
            "This is urgent: also phone the national service desk on";
        my_reports = "Mine fejlmeldinger", "My reports";
        new_report = "Ny fejlmelding", "New report";
        status = "Status", "Status";
        all = "Alle", "All";
        filter = "Vis", "Show";
        none_yet = "Ingen fejlmeldinger.", "No reports.";
        timeline = "Forløb", "Timeline";
        reported = "Meldt", "Reported";
        not_found = "Siden findes ikke.", "There is no such page.";
        forbidden_csrf =
            "Formularen er udløbet eller kom ikke fra denne side. Hent siden igen og prøv en gang til.",
            "The form has expired or did not come from this site. Reload the page and try again.";
        sign_in_failed = "Login mislykkedes. Prøv igen.", "Sign-in failed. Please try again.";
        /// Each status's name, in the order of `Status::ALL`.
        statuses: [&'static str; Status::ALL.len()] =
            ["Ny", "Tildelt", "Under behandling", "Afventer oplysninger", "På hold", "Afventer udrulning", "Løst", "Lukket", "Annulleret"],
            ["New", "Assigned", "In progress", "Awaiting information", "On hold", "Pending release", "Resolved", "Closed", "Cancelled"];
    }
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
