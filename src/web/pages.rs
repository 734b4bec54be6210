//! The pages, rendered on the server (maud escapes every value). No script and no
//! inline style: the Content-Security-Policy allows neither.

use maud::{DOCTYPE, Markup, html};

use super::form::{APPLICATION, FIELDS, Problem, ReportForm};
use super::session::Session;
use super::text::{Lang, Text};
use crate::config::web::Application;
use crate::model::{Incident, Status};

/// The page frame: language switch, who is signed in, and the body.
pub fn layout(lang: Lang, title: &str, session: Option<&Session>, path: &str, body: Markup) -> Markup {
    let t = lang.t();
    let other = match lang {
        Lang::Da => "en",
        Lang::En => "da",
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – deskgate" }
                link rel="stylesheet" href="/web/style.css";
            }
            body {
                header {
                    nav {
                        a id="lang" href={ (path) (sep) "lang=" (other) } hreflang=(other) { (t.other_lang) }
                        @if let Some(s) = session {
                            " · " a href={ "/report?lang=" (lang.code()) } { (t.new_report) }
                            " · " a id="mine" href={ "/report/mine?lang=" (lang.code()) } { (t.my_reports) }
                            " · " span id="who" { (t.signed_in_as) " " (s.name) " (" (s.desk) ")" }
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                button id="sign-out" type="submit" { (t.sign_out) }
                            }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

fn problem_text(t: &Text, p: Problem) -> &'static str {
    match p {
        Problem::Required => t.err_required,
        Problem::PatientData => t.err_patient,
        Problem::OneSentence => t.err_one_sentence,
        Problem::Choice => t.err_choice,
        Problem::TooMany => t.err_too_many,
        Problem::TooLarge => t.err_too_large,
        Problem::NotImage => t.err_not_image,
    }
}

fn label_of(t: &Text, field: &str) -> &'static str {
    match field {
        "urgency" => t.urgency,
        "problem_type" => t.problem_type,
        "project" => t.project,
        "application" => t.application,
        "subject" => t.subject,
        "description" => t.description,
        _ => t.screenshots,
    }
}

/// What the report form shows besides the values typed.
pub struct FormPage<'a> {
    pub services: &'a [String],
    /// The problem type "Application"'s projects and applications (none: no such type).
    pub applications: &'a [Application],
    pub max_files: usize,
    pub max_bytes: u64,
    pub problems: &'a [(&'static str, Problem)],
}

/// The report form, with each problem next to its field and the box of what is
/// missing. A field refused for patient data is shown empty.
pub fn report_form(lang: Lang, f: &ReportForm, page: &FormPage<'_>, csrf: &str) -> Markup {
    let t = lang.t();
    let problem = |field: &str| page.problems.iter().find(|(f, _)| *f == field).map(|(_, p)| *p);
    let value =
        |field: &str, v: &str| if problem(field) == Some(Problem::PatientData) { String::new() } else { v.to_owned() };
    let error = |field: &str| {
        html! {
            @if let Some(p) = problem(field) {
                p.error id={ "error-" (field) } role="alert" { (problem_text(t, p)) }
            }
        }
    };
    let described = |field: &str| {
        if problem(field).is_some() { format!("help-{field} error-{field}") } else { format!("help-{field}") }
    };
    let missing: Vec<&str> = FIELDS
        .iter()
        .copied()
        .filter(|field| match *field {
            "project" => f.problem_type == APPLICATION && f.project.trim().is_empty(),
            "application" => f.problem_type == APPLICATION && f.application.trim().is_empty(),
            "urgency" => f.urgency.is_empty(),
            "problem_type" => f.problem_type.is_empty(),
            "subject" => f.subject.trim().is_empty() || problem("subject") == Some(Problem::PatientData),
            _ => f.description.trim().is_empty() || problem("description") == Some(Problem::PatientData),
        })
        .collect();
    // Desk limits are set in bytes; shown in MiB, as file managers show sizes.
    let size = format!("{} MB", page.max_bytes.div_ceil(1 << 20));
    let files_help = t.screenshots_help.replace("{n}", &page.max_files.to_string()).replace("{size}", &size);
    let mut projects: Vec<&str> = Vec::new();
    for a in page.applications {
        if !projects.contains(&a.project.as_str()) {
            projects.push(&a.project);
        }
    }
    html! {
        p { (t.report_intro) }
        section id="required" aria-live="polite" {
            @if missing.is_empty() {
                p { (t.required_ok) }
            } @else {
                p { (t.required_box) }
                ul { @for m in &missing { li { a href={ "#" (m) } { (label_of(t, m)) } } } }
            }
        }
        form method="post" action={ "/report?lang=" (lang.code()) } enctype="multipart/form-data" novalidate {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="form_id" value=(f.form_id);
            div.field {
                label for="urgency" { (t.urgency) " *" }
                p.help id="help-urgency" { (t.urgency_help) }
                select id="urgency" name="urgency" aria-describedby=(described("urgency")) {
                    option value="" { (t.choose) }
                    @for (v, label) in [("high", t.urgency_high), ("medium", t.urgency_medium), ("low", t.urgency_low)] {
                        option value=(v) selected[f.urgency == v] { (label) }
                    }
                }
                (error("urgency"))
            }
            div.field {
                label for="problem_type" { (t.problem_type) " *" }
                p.help id="help-problem_type" { (t.problem_type_help) }
                select id="problem_type" name="problem_type" aria-describedby=(described("problem_type")) {
                    option value="" { (t.choose) }
                    @for s in page.services { option value=(s) selected[f.problem_type == *s] { (s) } }
                    @if !page.applications.is_empty() {
                        option value=(APPLICATION) selected[f.problem_type == APPLICATION] { (t.application_type) }
                    }
                }
                (error("problem_type"))
            }
            @if !page.applications.is_empty() {
                // Shown by the stylesheet only while "Application" is chosen (no script).
                div.field.when-application {
                    label for="project" { (t.project) }
                    p.help id="help-project" { (t.project_help) }
                    select id="project" name="project" aria-describedby=(described("project")) {
                        option value="" { (t.choose) }
                        @for p in &projects { option value=(p) selected[f.project == *p] { (p) } }
                    }
                    (error("project"))
                }
                div.field.when-application {
                    label for="application" { (t.application) }
                    p.help id="help-application" { (t.application_help) }
                    select id="application" name="application" aria-describedby=(described("application")) {
                        option value="" { (t.choose) }
                        @for p in &projects {
                            optgroup label=(p) {
                                @for a in page.applications.iter().filter(|a| a.project == *p) {
                                    option value=(a.application)
                                        selected[f.project == *p && f.application == a.application] { (a.application) }
                                }
                            }
                        }
                    }
                    (error("application"))
                }
            }
            div.field {
                label for="subject" { (t.subject) " *" }
                p.help id="help-subject" { (t.subject_help) }
                input id="subject" name="subject" maxlength="160" value=(value("subject", &f.subject))
                    aria-describedby=(described("subject"));
                (error("subject"))
            }
            div.field {
                label for="description" { (t.description) " *" }
                p.help id="help-description" { (t.description_help) }
                textarea id="description" name="description" rows="8" aria-describedby=(described("description")) {
                    (value("description", &f.description))
                }
                (error("description"))
            }
            div.field {
                label for="screenshots" { (t.screenshots) }
                p.help id="help-screenshots" { (files_help) " " strong { (t.no_patient_data) } }
                input id="screenshots" name="screenshots" type="file" multiple accept="image/png,image/jpeg,image/gif,image/webp"
                    aria-describedby=(described("screenshots"));
                (error("screenshots"))
            }
            button id="send" type="submit" { (t.submit) }
        }
    }
}

/// The confirmation: the incident's number, and for an urgent report the phone call.
pub fn confirmation(lang: Lang, incident: &Incident, phone: Option<&str>) -> Markup {
    let t = lang.t();
    html! {
        p { (t.your_number) ": " strong id="incident-number" { (incident.id) } }
        @if incident.urgency == Some(crate::model::Level::High) {
            @if let Some(phone) = phone {
                p id="urgent" role="alert" { (t.urgent_call) " " a href={ "tel:" (phone.replace(' ', "")) } { (phone) } "." }
            }
        }
        (details(lang, incident))
    }
}

/// One report as its reporter may see it: the summary and the status timeline.
pub fn details(lang: Lang, incident: &Incident) -> Markup {
    let t = lang.t();
    html! {
        dl {
            dt { (t.subject) } dd id="subject" { (incident.title.as_str()) }
            dt { (t.problem_type) } dd { (incident.service) }
            dt { (t.status) } dd id="status" { (t.status_name(incident.status)) }
            dt { (t.reported) } dd { (incident.created_at) }
        }
        h2 { (t.timeline) }
        ol id="timeline" {
            li { (incident.created_at) ": " (t.reported) }
            @for h in incident.history.iter().filter(|h| h.field == "status") {
                li { (h.at) ": " (t.status_text(h.from.as_deref())) " → " (t.status_text(h.to.as_deref())) }
            }
        }
    }
}

/// The reporter's reports, with a status filter (a plain GET form).
pub fn mine(lang: Lang, incidents: &[Incident], status: Option<Status>) -> Markup {
    let t = lang.t();
    let statuses = Status::ALL;
    html! {
        form method="get" action="/report/mine" {
            input type="hidden" name="lang" value=(lang.code());
            label for="status" { (t.status) }
            select id="status" name="status" {
                option value="" { (t.all) }
                @for s in statuses { option value=(s) selected[status == Some(s)] { (t.status_name(s)) } }
            }
            button type="submit" { (t.filter) }
        }
        @if incidents.is_empty() {
            p { (t.none_yet) }
        } @else {
            table id="reports" {
                thead { tr { th { "#" } th { (t.subject) } th { (t.status) } th { (t.reported) } } }
                tbody {
                    @for i in incidents {
                        tr {
                            td { a href={ "/report/" (i.id) "?lang=" (lang.code()) } { (i.id) } }
                            td { (i.title.as_str()) } td { (t.status_name(i.status)) } td { (i.created_at) }
                        }
                    }
                }
            }
        }
    }
}

/// A sign-in choice per desk that signs people in.
pub fn sign_in(lang: Lang, desks: &[(String, String)], failed: bool) -> Markup {
    let t = lang.t();
    html! {
        @if failed { p.error role="alert" { (t.sign_in_failed) } }
        p { (t.sign_in_intro) }
        ul { @for (id, name) in desks { li { a href={ "/login/" (id) } { (t.sign_in) ": " (name) } } } }
    }
}

/// A plain message page (not found, forbidden).
pub fn message(text: &str) -> Markup {
    html! { p id="message" { (text) } }
}

/// The stylesheet, served from `/web/style.css` (no inline style under the CSP).
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:48rem;margin:1rem auto;padding:0 1rem;line-height:1.5}\
label{display:block;font-weight:600;margin-top:1rem}input,select,textarea{width:100%;padding:.4rem;font:inherit}\
input[type=file]{padding:0}.help{margin:.1rem 0;color:#444;font-size:.9rem}.error{color:#a00;font-weight:600}\
#required{border:2px solid #a60;padding:.5rem 1rem;margin:1rem 0}form.inline{display:inline}\
nav form.inline button{font:inherit}button#send{margin-top:1.5rem;padding:.6rem 1.2rem;font:inherit}\
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ccc;padding:.3rem;text-align:left}\
@supports selector(:has(*)){form:not(:has(#problem_type option[value=application]:checked)) .when-application{display:none}}";
