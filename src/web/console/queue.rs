//! `GET /console/queue`: the deliveries waiting in the outbox, by lane (incident,
//! desk) in lane order, and the dead letters with what the remote answered; `POST
//! /console/queue/replay`: a dead letter put back in its lane. The national desk
//! sees every lane and alone replays (the API's rule, decided by the gateway); a
//! supplier sees its own lanes.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Operator, Section, page};
use crate::gateway::{GatewayError, RequestContext};
use crate::http::AppState;
use crate::model::Role;
use crate::outbox::{DeadLetter, OutboxItem};
use crate::web::signed_in::CsrfChecked;
use crate::web::text::phrases;

/// The most waiting deliveries and dead letters shown.
const SHOWN: usize = 500;
/// The most characters of a remote's answer shown.
const ANSWER_SHOWN: usize = 600;

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/queue", get(show)).route("/console/queue/replay", post(replay))
}

async fn show(State(state): State<AppState>, who: Operator) -> Response {
    let read = async {
        let waiting = state.gateway.outbox(&who.desk, SHOWN).await?;
        let dead = state.gateway.dead_letters(&who.desk, SHOWN).await?;
        Ok::<_, GatewayError>((waiting, dead))
    };
    let (waiting, dead) = match read.await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "the console's queue could not be read");
            return who.message(StatusCode::SERVICE_UNAVAILABLE, super::incidents::words(who.lang).unavailable);
        }
    };
    let w = words(who.lang);
    let code = who.lang.code();
    let mut lanes: BTreeMap<(String, String), Vec<OutboxItem>> = BTreeMap::new();
    for item in waiting {
        lanes.entry((item.incident.to_string(), item.desk.to_string())).or_default().push(item);
    }
    let body = html! {
        h2 { (w.waiting) }
        @if lanes.is_empty() { p id="no-waiting" { (w.none) } }
        @for ((incident, desk), items) in &lanes {
            section.lane {
                h3 { a href={ "/console/incidents/" (incident) "?lang=" (code) } { (incident) } " → " (desk) }
                (waiting_table(&who, items))
            }
        }
        h2 { (w.dead) }
        @if dead.is_empty() { p id="no-dead" { (w.none) } } @else {
            (dead_table(&who, &dead, &format!("/console/queue?lang={code}")))
        }
    };
    page(&who, StatusCode::OK, Section::Queue, w.title, "/console/queue", body)
}

/// Deliveries waiting, in lane order.
pub(super) fn waiting_table(who: &Operator, items: &[OutboxItem]) -> Markup {
    let w = words(who.lang);
    html! {
        @if !items.is_empty() {
            table.waiting {
                thead { tr { th { "#" } th { (w.desk) } th { (w.action) } th { (w.attempts) } th { (w.next_try) } th { (w.last_error) } } }
                tbody {
                    @for i in items {
                        tr {
                            td { (i.seq) } td { (i.desk) } td { (i.action.describe()) } td { (i.attempts) }
                            td { (i.not_before) } td { @if let Some(e) = &i.last_error { (e) } }
                        }
                    }
                }
            }
        }
    }
}

/// Dead letters with the remote's answer and, for the national desk, a Replay
/// button that comes back to `back`.
pub(super) fn dead_table(who: &Operator, dead: &[DeadLetter], back: &str) -> Markup {
    let w = words(who.lang);
    let replays = who.role() == Role::National;
    html! {
        @if !dead.is_empty() {
            table id="dead-letters" {
                thead { tr {
                    th { "#" } th { (w.incident) } th { (w.desk) } th { (w.action) } th { (w.failed) }
                    th { (w.remote_status) } th { (w.remote_answer) } @if replays { th {} }
                } }
                tbody {
                    @for d in dead {
                        tr.dead id={ "dead-" (d.item.seq) } {
                            td { (d.item.seq) } td { (d.item.incident) } td { (d.item.desk) }
                            td { (d.item.action.describe()) } td { (d.failed_at) ": " (d.error) }
                            td { @if let Some(s) = d.remote_status { (s) } }
                            td { @if let Some(b) = &d.remote_body { code { (b.chars().take(ANSWER_SHOWN).collect::<String>()) } } }
                            @if replays {
                                td {
                                    form.inline method="post" action={ "/console/queue/replay?lang=" (who.lang.code()) } {
                                        input type="hidden" name="csrf" value=(who.session.csrf);
                                        input type="hidden" name="seq" value=(d.item.seq);
                                        input type="hidden" name="back" value=(back);
                                        button id={ "replay-" (d.item.seq) } type="submit" { (w.replay) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct ReplayForm {
    seq: u64,
    #[serde(default)]
    back: String,
}

async fn replay(State(state): State<AppState>, ctx: RequestContext, form: CsrfChecked<ReplayForm>) -> Response {
    let CsrfChecked { who, form } = form;
    // Whether this desk may replay is the gateway's to say, as for the API.
    let who = Operator(who);
    match state.gateway.replay_dead_letter(&who.desk, form.seq, &ctx).await {
        Ok(_) => {
            // Back to the page the button was on, never elsewhere.
            let back = if form.back.starts_with("/console") && !form.back.starts_with("//") {
                form.back
            } else {
                "/console/queue".to_owned()
            };
            Redirect::to(&back).into_response()
        }
        Err(GatewayError::NotFound(_)) => who.not_found(),
        Err(GatewayError::Model(_)) => who.message(StatusCode::FORBIDDEN, words(who.lang).national_only),
        Err(e) => {
            tracing::warn!(error = %e, "a dead letter could not be replayed");
            who.message(StatusCode::SERVICE_UNAVAILABLE, super::incidents::words(who.lang).unavailable)
        }
    }
}

phrases! {
    struct Words, fn words {
        title = "Kø", "Queue";
        waiting = "Venter på levering", "Waiting for delivery";
        dead = "Fejlede leverancer", "Dead letters";
        none = "Ingen.", "None.";
        incident = "Hændelse", "Incident";
        desk = "Servicedesk", "Desk";
        action = "Handling", "Action";
        attempts = "Forsøg", "Attempts";
        next_try = "Næste forsøg", "Next try";
        last_error = "Seneste fejl", "Last error";
        failed = "Fejlede", "Failed";
        remote_status = "Svarstatus", "Remote status";
        remote_answer = "Svar", "Remote answer";
        replay = "Send igen", "Replay";
        national_only =
            "Kun den nationale servicedesk sender fejlede leverancer igen.",
            "Only the national service desk replays dead letters.";
    }
}
