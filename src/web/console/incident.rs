//! `GET /console/incidents/{id}`: one incident as the desk sees it through the API —
//! its facts, every cross-reference as a link to the remote ticket (the dialect
//! says where its tool shows a ticket), the timeline of changes, the notes
//! (internal ones marked), the escalations and the deliveries on the lanes the desk
//! sees. Not found for an incident the desk is not party to.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};

use super::{Operator, Section, page, queue};
use crate::dialects;
use crate::gateway::{GatewayError, IncidentView};
use crate::http::AppState;
use crate::model::{IncidentId, Ref, Visibility};
use crate::web::text::phrases;

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/incidents/{id}", get(show))
}

async fn show(State(state): State<AppState>, who: Operator, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<IncidentId>() else { return who.not_found() };
    let view = match state.gateway.incident_view(&who.desk, &id).await {
        Ok(v) => v,
        Err(GatewayError::NotFound(_)) => return who.not_found(),
        Err(e) => {
            tracing::warn!(error = %e, "an incident could not be read for the console");
            return who.message(StatusCode::SERVICE_UNAVAILABLE, super::incidents::words(who.lang).unavailable);
        }
    };
    let path = format!("/console/incidents/{id}");
    let title = format!("{} – {}", view.incident.id, view.incident.title.as_str());
    page(&who, StatusCode::OK, Section::Incidents, &title, &path, body(&state, &who, &view))
}

/// Where a person opens the desk's ticket, as the desk's dialect says.
fn link_of(state: &AppState, r: &Ref) -> Option<String> {
    let endpoint = state.gateway.desk(&r.desk).and_then(|d| d.endpoint.as_ref());
    dialects::get(r.system).browse_url(endpoint, r).filter(|u| u.starts_with("https://") || u.starts_with("http://"))
}

fn body(state: &AppState, who: &Operator, v: &IncidentView) -> Markup {
    let w = words(who.lang);
    let i = &v.incident;
    let code = who.lang.code();
    html! {
        dl.facts id="facts" {
            dt { (w.status) } dd id="status" { (i.status) }
            dt { (w.priority) } dd id="priority" { @if let Some(p) = i.priority { (p) } @else { "–" } }
            dt { (w.service) } dd { (i.service) }
            dt { (w.reported_by) } dd id="origin" { (i.origin.desk) " (" (i.origin.ticket) ")" }
            dt { (w.assignee) } dd id="assignee" { @if let Some(a) = &i.assignee { (a) } @else { "–" } }
            dt { (w.created) } dd { (i.created_at) }
            dt { (w.changed) } dd { (i.updated_at) }
        }
        p id="description" { (i.description.as_str()) }
        h2 { (w.refs) }
        @if i.refs.is_empty() { p { (w.none) } } @else {
            table id="refs" {
                thead { tr { th { (w.desk) } th { (w.system) } th { (w.ticket) } } }
                tbody {
                    @for r in &i.refs {
                        tr {
                            td { (r.desk) } td { (r.system) }
                            td {
                                @if let Some(url) = link_of(state, r) {
                                    a.ref id={ "ref-" (r.desk) } href=(url) rel="noreferrer" { (r.display_id) }
                                } @else {
                                    span id={ "ref-" (r.desk) } { (r.display_id) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (w.timeline) }
        ol id="timeline" {
            li { (i.created_at) ": " (w.created) " (" (i.origin.desk) ")" }
            @for h in &i.history {
                li { (h.at) ": " (h.field) " " (h.from.as_deref().unwrap_or("–")) " → " (h.to.as_deref().unwrap_or("–")) " (" (h.actor) ")" }
            }
        }
        h2 { (w.notes) }
        @if i.notes.is_empty() { p { (w.none) } } @else {
            ul id="notes" {
                @for n in &i.notes {
                    @let internal = n.visibility == Visibility::Internal;
                    li.internal[internal] {
                        (n.at) " · " (n.author_desk)
                        @if internal { " · " strong.internal-mark { (w.internal) } }
                        p { (n.body.as_str()) }
                    }
                }
            }
        }
        h2 { (w.escalations) }
        @if v.escalations.is_empty() { p { (w.none) } } @else {
            table id="escalations" {
                thead { tr { th { "#" } th { (w.priority) } th { (w.state) } th { (w.deadline) } } }
                tbody {
                    @for e in &v.escalations {
                        tr {
                            td { (e.id) } td { (e.priority) } td { (format!("{:?}", e.state)) }
                            td { @if let Some(d) = e.deadline { (d) } }
                        }
                    }
                }
            }
        }
        h2 { (w.deliveries) }
        @if v.waiting.is_empty() && v.dead.is_empty() { p { (w.none) } } @else {
            (queue::waiting_table(who, &v.waiting))
            (queue::dead_table(who, &v.dead, &format!("/console/incidents/{}?lang={code}", i.id)))
        }
    }
}

phrases! {
    struct Words, fn words {
        status = "Status", "Status";
        priority = "Prioritet", "Priority";
        service = "Tjeneste", "Service";
        reported_by = "Meldt af", "Reported by";
        assignee = "Tildelt", "Assignee";
        created = "Oprettet", "Created";
        changed = "Ændret", "Changed";
        refs = "Sager hos servicedeskene", "Tickets at the desks";
        desk = "Servicedesk", "Desk";
        system = "System", "System";
        ticket = "Sag", "Ticket";
        timeline = "Forløb", "Timeline";
        notes = "Noter", "Notes";
        internal = "intern", "internal";
        escalations = "Eskaleringer", "Escalations";
        state = "Tilstand", "State";
        deadline = "Frist", "Deadline";
        deliveries = "Leverancer", "Deliveries";
        none = "Ingen.", "None.";
    }
}
