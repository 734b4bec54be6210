//! The report pages. A report goes through the same submit use case as the API's
//! (idempotent by the form's own id, durable before the confirmation shows), then
//! its screenshots through the attachment use case, each within the desk's limit.
//!
//! A web report's ticket at its desk is `web-<reporter>-<form id>`, the reporter
//! being a hash of the person's subject at the provider: "my reports" are found by
//! it, and no name is put into what other desks see.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::form::{Problem, ReportForm, Upload};
use super::pages::{self, FormPage};
use super::session::{self, Session};
use super::signed_in::SignedIn;
use super::text::Lang;
use super::{MAX_SCREENSHOTS, message, page};
use crate::auth::DeskPrincipal;
use crate::gateway::{GatewayError, ListFilter, NewAttachment, RequestContext};
use crate::http::AppState;
use crate::model::{DialectId, IncidentId, Kind, NewIncident, Origin, Ref, Role, Status, TicketId};
use crate::store::CreateOutcome;

#[derive(Debug, Default, Deserialize)]
pub(super) struct PageQuery {
    status: Option<String>,
    new: Option<String>,
}

/// The signed-in person of a local desk; anyone else is refused (the form is a
/// local desk's).
fn local(who: SignedIn) -> Result<(Session, DeskPrincipal, Lang), Box<Response>> {
    if who.role() != Role::Local {
        return Err(Box::new(who.message(StatusCode::FORBIDDEN, who.lang.t().not_found)));
    }
    Ok((who.session, who.desk, who.lang))
}

/// The services a report may name: every supplier's, in order.
fn services(state: &AppState) -> Vec<String> {
    let mut all: Vec<String> = state
        .gateway
        .config()
        .desks
        .values()
        .filter(|d| d.role == Role::Supplier)
        .flat_map(|d| d.services.iter().filter(|s| *s != "*").map(|s| s.to_ascii_uppercase()))
        .collect();
    all.sort();
    all.dedup();
    all
}

/// The part of a ticket id that names its reporter.
fn reporter_tag(s: &Session) -> String {
    format!("web-{}-", &hex::encode(Sha256::digest(s.subject.as_bytes()))[..12])
}

fn form_page(
    state: &AppState,
    s: &Session,
    lang: Lang,
    f: &ReportForm,
    problems: &[(&'static str, Problem)],
) -> Response {
    let limit = state.gateway.desk(&s.desk).map_or(0, |d| d.attachment_max_bytes);
    let services = services(state);
    let config = state.gateway.config();
    let applications = &config.gateway.web.applications;
    let fp = FormPage { services: &services, applications, max_files: MAX_SCREENSHOTS, max_bytes: limit, problems };
    let status = if problems.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let body = pages::report_form(lang, f, &fp, &s.csrf);
    page(status, lang, lang.t().report_title, Some(s), "/report", body)
}

pub(super) async fn blank(State(state): State<AppState>, who: SignedIn) -> Response {
    let (s, _, lang) = match local(who) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let f = ReportForm { form_id: super::oidc::random(18), ..ReportForm::default() };
    form_page(&state, &s, lang, &f, &[])
}

/// The form's parts; a part that is not UTF-8 text reads as empty.
async fn read_form(mut multipart: Multipart) -> Result<ReportForm, String> {
    let mut f = ReportForm::default();
    while let Some(part) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = part.name().unwrap_or_default().to_owned();
        if name == "screenshots" {
            let file_name = part.file_name().unwrap_or("screenshot").to_owned();
            let content_type = part.content_type().map(str::to_owned);
            let content = part.bytes().await.map_err(|e| e.body_text())?;
            // A file input left empty is sent as one part without name or content.
            if !content.is_empty() {
                f.screenshots.push(Upload { file_name, content_type, content });
            }
            continue;
        }
        let text = part.text().await.unwrap_or_default();
        match name.as_str() {
            "urgency" => f.urgency = text,
            "problem_type" => f.problem_type = text,
            "project" => f.project = text,
            "application" => f.application = text,
            "subject" => f.subject = text,
            "description" => f.description = text,
            "form_id" => f.form_id = text,
            "csrf" => f.csrf = text,
            _ => {}
        }
    }
    Ok(f)
}

pub(super) async fn send(
    State(state): State<AppState>,
    who: SignedIn,
    ctx: RequestContext,
    multipart: Multipart,
) -> Response {
    let (s, who, lang) = match local(who) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let mut f = match read_form(multipart).await {
        Ok(f) => f,
        Err(e) => {
            tracing::info!(error = %e, "a report form could not be read");
            return message(StatusCode::BAD_REQUEST, lang, Some(&s), lang.t().err_too_large);
        }
    };
    // Before anything else is looked at: a form from elsewhere changes nothing.
    if !session::same(&f.csrf, &s.csrf) {
        return message(StatusCode::FORBIDDEN, lang, Some(&s), lang.t().forbidden_csrf);
    }
    if f.form_id.len() < 16 || !f.form_id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        f.form_id = super::oidc::random(18);
    }
    let limit = state.gateway.attachment_limit(&who);
    let valid =
        match f.check(&services(&state), &state.gateway.config().gateway.web.applications, MAX_SCREENSHOTS, limit) {
            Ok(v) => v,
            Err(problems) => {
                for (field, _) in problems.iter().filter(|(_, p)| *p == Problem::PatientData) {
                    let reason = format!("patient data in {field} (web form)");
                    state.gateway.audit_rejection(Some(&who.desk), None, &reason, &ctx).await;
                }
                return form_page(&state, &s, lang, &f, &problems);
            }
        };
    let ticket: TicketId = match format!("{}{}", reporter_tag(&s), f.form_id).parse() {
        Ok(t) => t,
        Err(_) => return message(StatusCode::BAD_REQUEST, lang, Some(&s), lang.t().err_choice),
    };
    let new = NewIncident {
        kind: Kind::Incident,
        title: valid.title,
        description: valid.description,
        service: valid.service,
        priority: None,
        urgency: Some(valid.urgency),
        impact: None,
        origin: Origin { desk: who.desk.clone(), ticket: ticket.clone() },
        origin_ref: Ref::new(who.desk.clone(), DialectId::Native, ticket.clone(), ticket.to_string()),
    };
    let idempotency = Some((f.form_id.clone(), f.fingerprint()));
    let incident = match state.gateway.submit(&who, new, idempotency, &ctx).await {
        Ok(CreateOutcome::Created(i) | CreateOutcome::Replayed(i)) => i,
        Err(e) => return failure(lang, &s, &e),
    };
    for shot in f.screenshots {
        let file = NewAttachment { file_name: shot.file_name, content_type: shot.content_type, content: shot.content };
        if let Err(e) = state.gateway.add_attachment(&who, &incident.id, file, &ctx).await {
            return failure(lang, &s, &e);
        }
    }
    Redirect::to(&format!("/report/{}?new=1&lang={}", incident.id, lang.code())).into_response()
}

fn failure(lang: Lang, s: &Session, e: &GatewayError) -> Response {
    tracing::warn!(error = %e, "a web report was not taken");
    let status = match e {
        GatewayError::NotFound(_) => StatusCode::NOT_FOUND,
        GatewayError::Model(_) => StatusCode::UNPROCESSABLE_ENTITY,
        GatewayError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    // The model's messages name the field, never the value.
    message(status, lang, Some(s), &e.to_string())
}

pub(super) async fn show(
    State(state): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let (s, who, lang) = match local(who) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let not_found = || message(StatusCode::NOT_FOUND, lang, Some(&s), lang.t().not_found);
    let Ok(id) = id.parse::<IncidentId>() else { return not_found() };
    let incident = match state.gateway.get(&who, &id).await {
        Ok(i) => i,
        Err(GatewayError::NotFound(_)) => return not_found(),
        Err(e) => return failure(lang, &s, &e),
    };
    let path = format!("/report/{}", incident.id);
    if q.new.is_some() {
        let config = state.gateway.config();
        let phone = config
            .desks
            .values()
            .find(|d| d.role == Role::National)
            .and_then(|d| d.contact.as_ref())
            .and_then(|c| c.phone.as_deref());
        page(StatusCode::OK, lang, lang.t().received, Some(&s), &path, pages::confirmation(lang, &incident, phone))
    } else {
        page(StatusCode::OK, lang, incident.title.as_str(), Some(&s), &path, pages::details(lang, &incident))
    }
}

pub(super) async fn mine(State(state): State<AppState>, who: SignedIn, Query(q): Query<PageQuery>) -> Response {
    let (s, who, lang) = match local(who) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let status = q.status.as_deref().filter(|v| !v.is_empty()).and_then(|v| v.parse::<Status>().ok());
    let filter = ListFilter { status, priority: None, service: None, after: None, limit: 200 };
    let incidents = match state.gateway.list(&who, &filter).await {
        Ok(list) => list,
        Err(e) => return failure(lang, &s, &e),
    };
    let tag = reporter_tag(&s);
    let mine: Vec<_> = incidents
        .into_iter()
        .filter(|i| i.origin.desk == s.desk && i.origin.ticket.as_str().starts_with(&tag))
        .collect();
    page(StatusCode::OK, lang, lang.t().my_reports, Some(&s), "/report/mine", pages::mine(lang, &mine, status))
}
