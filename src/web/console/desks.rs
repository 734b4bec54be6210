//! The console's desks page: each desk's connection health as this process saw it
//! (the last call that succeeded, the last failures with time, status and a short
//! text — never what the remote said), whether it is rate-limited (its own
//! `Retry-After`, or waiting for its outbound budget) and, for a polled desk, the
//! poll's watermark from the store. The national desk sees every desk; a supplier
//! its own.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use deskgate_adapter::poll::PollState;
use jiff::{Timestamp, tz::TimeZone};
use maud::{Markup, html};

use super::{Operator, Section, page};
use crate::config::Desk;
use crate::gateway::health::Health;
use crate::http::AppState;
use crate::model::Role;
use crate::web::text::phrases;

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/desks", get(show))
}

phrases! {
    struct Words, fn words {
        intro =
            "Forbindelsen til hver servicedesks system, som denne gateway har set den siden start.",
            "The connection to each desk's tool, as this gateway saw it since it started.";
        system = "System", "System";
        last_success = "Seneste vellykkede kald", "Last successful call";
        never = "endnu ingen", "none yet";
        calls = "Kald", "Calls";
        failures = "fejl", "failed";
        limited = "Begrænsning", "Rate limit";
        retry_after = "desken har bedt om pause (Retry-After) til", "the desk asked to wait (Retry-After) until";
        budget_wait = "venter på udgående kvote til", "waiting for the outbound budget until";
        not_limited = "ingen", "none";
        budget = "Udgående kvote", "Outbound budget";
        per_minute = "pr. minut", "a minute";
        burst = "ad gangen", "at once";
        watermark = "Poll-vandmærke", "Poll watermark";
        not_polled = "polles ikke", "not polled";
        no_poll_yet = "endnu ikke pollet", "not polled yet";
        errors = "Seneste fejl", "Recent errors";
        no_errors = "Ingen fejl.", "No errors.";
        time = "Tid", "Time";
        operation = "Handling", "Operation";
        status = "Status", "Status";
        text = "Tekst", "Text";
    }
}

async fn show(State(state): State<AppState>, who: Operator) -> Response {
    let t = who.t();
    let w = words(who.lang);
    let config = state.gateway.config();
    // Times in the contact rules' zone when there are rules, else UTC.
    let zone = state.escalation.as_ref().map_or(TimeZone::UTC, |e| e.ruleset().zone().clone());
    let now = Timestamp::now();
    let mut sections = Vec::new();
    for desk in config.desks.values().filter(|d| (who.role() == Role::National) || d.id == who.desk.desk) {
        let health = state.adapters.health().of(&desk.id);
        let watermark =
            if crate::dialects::get(desk.system).polled() { Some(watermark(&state, desk).await) } else { None };
        let budget_until = state.rate_limits.outbound_limited_until(&desk.id);
        sections.push(section(w, desk, &health, budget_until, watermark, &zone, now, config));
    }
    let body = html! { p { (w.intro) } @for s in sections { (s) } };
    page(&who, StatusCode::OK, Section::Desks, t.nav_desks, "/console/desks", body)
}

/// The poll's watermark as stored (`None` inside: not polled yet).
async fn watermark(state: &AppState, desk: &Desk) -> Option<Timestamp> {
    let stored = state.gateway.cursor(&crate::gateway::health::poll_cursor(&desk.id)).await.ok()??;
    serde_json::from_str::<PollState>(&stored).ok()?.watermark
}

fn local(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M:%S %Z").to_string()
}

#[allow(clippy::too_many_arguments)]
fn section(
    w: &Words,
    desk: &Desk,
    health: &Health,
    budget_until: Option<Timestamp>,
    watermark: Option<Option<Timestamp>>,
    zone: &TimeZone,
    now: Timestamp,
    config: &crate::config::Config,
) -> Markup {
    let limit = config.gateway.rate_limit.with(&desk.rate_limit);
    let retry_after = health.retry_after_until.filter(|_| health.limited_at(now));
    html! {
        section.desk id={ "desk-" (desk.id) } {
            h2 { (desk.name) " (" (desk.id) ")" }
            dl.facts {
                dt { (w.system) } dd { (desk.system) }
                dt { (w.last_success) }
                dd id={ "last-success-" (desk.id) } {
                    @match health.last_success { Some(at) => (local(at, zone)), None => (w.never) }
                }
                dt { (w.calls) } dd { (health.calls) " (" (health.failures) " " (w.failures) ")" }
                dt { (w.limited) }
                dd id={ "limited-" (desk.id) } {
                    @if let Some(until) = retry_after { (w.retry_after) " " (local(until, zone)) br; }
                    @if let Some(until) = budget_until { (w.budget_wait) " " (local(until, zone)) }
                    @if retry_after.is_none() && budget_until.is_none() { (w.not_limited) }
                }
                dt { (w.budget) }
                dd { (limit.outbound_per_minute) " " (w.per_minute) ", " (limit.outbound_burst) " " (w.burst) }
                dt { (w.watermark) }
                dd id={ "watermark-" (desk.id) } {
                    @match watermark {
                        None => (w.not_polled),
                        Some(None) => (w.no_poll_yet),
                        Some(Some(at)) => (local(at, zone)),
                    }
                }
            }
            h3 { (w.errors) }
            @if health.recent_errors.is_empty() {
                p { (w.no_errors) }
            } @else {
                table id={ "errors-" (desk.id) } {
                    thead { tr { th { (w.time) } th { (w.operation) } th { (w.status) } th { (w.text) } } }
                    tbody {
                        @for e in &health.recent_errors {
                            tr.dead {
                                td { (local(e.at, zone)) } td { (e.operation) }
                                td { @if let Some(s) = e.status { (s) } @else { "–" } } td { (e.text) }
                            }
                        }
                    }
                }
            }
        }
    }
}
