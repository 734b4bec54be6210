//! The console's escalations: the open ones (waiting, or exhausted without an
//! answer) with their incident, level in the chain, who was notified when, and the
//! deadline in the ruleset's zone; an Acknowledge button on each. The button posts
//! with the session's CSRF token to the same use case as the API's `…/ack` and the
//! CLI: the same visibility (a supplier sees and takes only its incidents'
//! escalations), the same conflict when someone was first, the same audit entry.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use jiff::{Timestamp, tz::TimeZone};
use maud::html;
use serde::Deserialize;

use super::{Operator, Section, page};
use crate::escalation::{Escalation, EscalationState};
use crate::gateway::{GatewayError, RequestContext};
use crate::http::AppState;
use crate::model::Role;
use crate::web::signed_in::SignedIn;
use crate::web::text::phrases;

/// The most escalations the page lists.
const LIMIT: usize = 500;

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/escalations", get(show)).route("/console/escalations/{id}/ack", post(acknowledge))
}

phrases! {
    struct Words, fn words {
        intro =
            "Åbne eskaleringer: hvem er kontaktet, og hvornår fristen for at kvittere udløber.",
            "Open escalations: who was contacted, and when the time to acknowledge runs out.";
        none = "Ingen åbne eskaleringer.", "No open escalations.";
        incident = "Hændelse", "Incident";
        level = "Niveau", "Level";
        of = "af", "of";
        notified = "Kontaktet", "Notified";
        deadline = "Frist", "Deadline";
        state = "Tilstand", "State";
        acknowledge = "Kvittér", "Acknowledge";
        acknowledged = "Eskaleringen er kvitteret:", "Escalation acknowledged:";
        exhausted = "Kæden er opbrugt uden kvittering", "Chain exhausted without an acknowledgement";
        waiting = "Venter på kvittering", "Waiting for an acknowledgement";
        unavailable =
            "Eskaleringerne kan ikke læses lige nu. Prøv igen om lidt.",
            "The escalations cannot be read just now. Try again in a moment.";
    }
}

#[derive(Debug, Default, Deserialize)]
struct ShowQuery {
    acked: Option<String>,
}

/// A time in the zone the escalation was decided in.
fn local(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone()).strftime("%a %Y-%m-%d %H:%M %Z").to_string()
}

/// Still calls for someone: waiting, or exhausted and never answered.
fn is_open(e: &Escalation) -> bool {
    e.state.is_waiting() || e.state == EscalationState::Exhausted
}

async fn show(State(state): State<AppState>, who: Operator, Query(q): Query<ShowQuery>) -> Response {
    let t = who.t();
    let w = words(who.lang);
    let code = who.lang.code();
    let list = match state.gateway.escalations(&who.desk, LIMIT).await {
        Ok(list) => list,
        Err(e) => {
            tracing::error!(error = %e, "listing escalations for the console failed");
            return who.message(StatusCode::SERVICE_UNAVAILABLE, w.unavailable);
        }
    };
    let open: Vec<&Escalation> = list.iter().filter(|e| is_open(e)).collect();
    let acked = q.acked.as_deref().and_then(|id| list.iter().find(|e| e.id == id));
    let csrf = &who.session.csrf;
    let body = html! {
        p { (w.intro) }
        @if let Some(e) = acked {
            p.notice id="acked" role="status" {
                (w.acknowledged) " " (e.id) " (" (e.incident_id) ")"
                @if let Some(a) = &e.acknowledged { " – " (a.by) ", " (local(a.at, e.decision.local.time_zone())) }
            }
        }
        @if open.is_empty() {
            p id="no-escalations" { (w.none) }
        } @else {
            table id="escalations" {
                thead { tr {
                    th { (w.incident) } th { (w.level) } th { (w.notified) } th { (w.deadline) } th { (w.state) } th {}
                } }
                tbody {
                    @for e in &open {
                        @let zone = e.decision.local.time_zone();
                        tr id={ "escalation-" (e.id) } {
                            td {
                                a href={ "/console/incidents/" (e.incident_id) "?lang=" (code) } { (e.incident_id) }
                                br; (e.service) " " (e.priority)
                            }
                            td.level { (e.attempts.len()) " " (w.of) " " (1 + e.decision.chain.len()) }
                            td {
                                ul.attempts {
                                    @for a in &e.attempts {
                                        li { (a.contact.name) " (" (a.contact.role) ") – " (local(a.notified_at, zone)) }
                                    }
                                }
                            }
                            td.deadline { @if let Some(d) = e.deadline { (local(d, zone)) } }
                            td { @if e.state == EscalationState::Exhausted { (w.exhausted) } @else { (w.waiting) } }
                            td {
                                form.inline method="post" action={ "/console/escalations/" (e.id) "/ack?lang=" (code) } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button id={ "ack-" (e.id) } type="submit" { (w.acknowledge) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(&who, StatusCode::OK, Section::Escalations, t.nav_escalations, "/console/escalations", body)
}

/// The button's form: only the session's CSRF token.
#[derive(Debug, Deserialize)]
struct AckForm {
    csrf: Option<String>,
}

async fn acknowledge(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ctx: RequestContext,
    who: SignedIn,
    Form(form): Form<AckForm>,
) -> Response {
    if let Err(refused) = who.check_csrf(form.csrf.as_deref()) {
        return *refused;
    }
    if who.role() == Role::Local {
        return who.message(StatusCode::FORBIDDEN, super::text::of(who.lang).local_desk);
    }
    match state.gateway.acknowledge(&who.desk, &id, &ctx).await {
        Ok(e) => {
            let to = format!("/console/escalations?lang={}&acked={}", who.lang.code(), urlencoding(&e.id));
            Redirect::to(&to).into_response()
        }
        Err(GatewayError::NotFound(_)) => who.message(StatusCode::NOT_FOUND, who.lang.t().not_found),
        // Someone was first, or the escalation ended: the message names who and when.
        Err(GatewayError::Model(e)) => who.message(StatusCode::CONFLICT, &e.to_string()),
        Err(e) => {
            tracing::error!(error = %e, escalation = %id, "acknowledging from the console failed");
            who.message(StatusCode::SERVICE_UNAVAILABLE, words(who.lang).unavailable)
        }
    }
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
