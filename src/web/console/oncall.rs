//! The console's on-call page: who is contacted now for each service and priority
//! (the escalation engine's decision at the gateway's clock), and the week of each
//! service's contact rules as a grid of rule spans per day, in the ruleset's zone,
//! with holidays and DST changes marked. `?week=YYYY-MM-DD` moves to the week
//! holding that date; `?priority=P2` shows the P2 rules. A supplier sees the
//! services it serves; the national desk sees all.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use jiff::{ToSpan, civil::Date};
use maud::{Markup, html};
use serde::Deserialize;

use super::{Operator, Section, page};
use crate::escalation::Priority;
use crate::escalation::week::{WeekGrid, monday_of, on_call_now, week_grid};
use crate::http::AppState;
use crate::model::Role;
use crate::web::text::phrases;

pub fn routes() -> Router<AppState> {
    Router::new().route("/console/oncall", get(show))
}

/// The priorities that escalate, in the order shown.
const SHOWN: [Priority; 2] = [Priority::P1, Priority::P2];

phrases! {
    struct Words, fn words {
        now = "Vagt nu", "On call now";
        now_intro =
            "Hvem kontaktes nu ved en hændelse, efter kontaktreglerne.",
            "Who is contacted now for an incident, by the contact rules.";
        service = "Tjeneste", "Service";
        priority = "Prioritet", "Priority";
        contact = "Kontakt", "Contact";
        rule = "Regel", "Rule";
        week = "Uge", "Week";
        previous = "Forrige uge", "Previous week";
        next = "Næste uge", "Next week";
        zone = "Tidszone", "Time zone";
        no_rules =
            "Der er ingen kontaktregler (gateway.contacts er ikke sat).",
            "There are no contact rules (gateway.contacts is not set).";
        bad_week =
            "Feltet week skal være en dato på formen ÅÅÅÅ-MM-DD.",
            "The field week must be a date as YYYY-MM-DD.";
        bad_priority = "Feltet priority skal være P1 eller P2.", "The field priority must be P1 or P2.";
        clocks = "Uret stilles", "Clocks change";
        hours = "timer", "hours";
        days: [&'static str; 7] =
            ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"],
            ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
        nothing =
            "Du leverer ingen af de tjenester, reglerne nævner.",
            "You serve none of the services the rules name.";
    }
}

#[derive(Debug, Default, Deserialize)]
struct OnCallQuery {
    week: Option<String>,
    priority: Option<String>,
}

/// A service or priority as an element id (`now-FMK-P1`).
fn id_part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect()
}

async fn show(State(state): State<AppState>, who: Operator, Query(q): Query<OnCallQuery>) -> Response {
    let t = who.t();
    let w = words(who.lang);
    let Some(engine) = state.escalation.clone() else {
        return page(
            &who,
            StatusCode::OK,
            Section::OnCall,
            t.nav_oncall,
            "/console/oncall",
            html! { p { (w.no_rules) } },
        );
    };
    let ruleset = engine.ruleset();
    let now = engine.now();
    let today = now.to_zoned(ruleset.zone().clone()).date();
    let week = match q.week.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => today,
        Some(s) => match s.parse::<Date>() {
            Ok(d) => d,
            Err(_) => return who.message(StatusCode::BAD_REQUEST, w.bad_week),
        },
    };
    let priority = match q.priority.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Priority::P1,
        Some(s) => match s.parse::<Priority>() {
            Ok(p) if SHOWN.contains(&p) => p,
            _ => return who.message(StatusCode::BAD_REQUEST, w.bad_priority),
        },
    };
    // A supplier sees the services it serves; the national desk all of them.
    let config = state.gateway.config();
    let serves = |service: &str| {
        (who.role() == Role::National) || config.desks.get(&who.desk.desk).is_some_and(|d| d.serves(service))
    };
    let rows: Vec<_> = on_call_now(ruleset, &SHOWN, now).into_iter().filter(|r| serves(&r.service)).collect();
    let monday = monday_of(week);
    let grids: Vec<WeekGrid> =
        ruleset.services().iter().filter(|s| serves(s)).map(|s| week_grid(ruleset, s, priority, monday)).collect();
    let code = who.lang.code();
    let move_to = |d: Date| format!("/console/oncall?lang={code}&priority={priority}&week={d}");
    let previous = monday.checked_sub(7.days()).unwrap_or(monday);
    let next = monday.checked_add(7.days()).unwrap_or(monday);
    let body = html! {
        h2 { (w.now) }
        p { (w.now_intro) " " (w.zone) ": " (ruleset.zone_name()) ", "
            span id="now-local" { (now.to_zoned(ruleset.zone().clone()).strftime("%a %Y-%m-%d %H:%M %Z")) } }
        @if rows.is_empty() {
            p { (w.nothing) }
        } @else {
            table id="on-call-now" {
                thead { tr { th { (w.service) } th { (w.priority) } th { (w.contact) } th { (w.rule) } } }
                tbody {
                    @for r in &rows {
                        tr id={ "now-" (id_part(&r.service)) "-" (r.priority) } {
                            td { (r.service) } td { (r.priority) }
                            td.contact { (r.decision.contact.name) " (" (r.decision.contact.role) ")" }
                            td { code { (r.decision.rule) } }
                        }
                    }
                }
            }
        }
        h2 { (w.week) " " (monday.iso_week_date().week()) ", " (monday) " – " (next.yesterday().unwrap_or(next)) " (" (priority) ")" }
        nav.week {
            a id="week-previous" href=(move_to(previous)) { "← " (w.previous) }
            " · "
            a id="week-next" href=(move_to(next)) { (w.next) " →" }
            " · "
            @for p in SHOWN {
                @if p == priority { strong { (p) } } @else {
                    a id={ "priority-" (p) } href={ "/console/oncall?lang=" (code) "&priority=" (p) "&week=" (monday) } { (p) }
                }
                " "
            }
        }
        @for g in &grids { (grid(w, g)) }
    };
    let path = format!("/console/oncall?priority={priority}&week={monday}");
    page(&who, StatusCode::OK, Section::OnCall, t.nav_oncall, &path, body)
}

/// One service's week: a column per day, its rule spans top to bottom.
fn grid(w: &Words, g: &WeekGrid) -> Markup {
    html! {
        section.week id={ "week-" (id_part(&g.service)) } {
            h3 { (g.service) " " (g.priority) " (" (g.zone) ")" }
            table.week {
                thead { tr {
                    @for d in &g.days {
                        th id={ "day-" (id_part(&g.service)) "-" (d.date) } {
                            (w.days[d.date.weekday().to_monday_zero_offset() as usize]) br; (d.date)
                            @if let Some(h) = &d.holiday { br; span.holiday { (h) } }
                            @if let Some(c) = &d.dst {
                                br; span.dst { (w.clocks) " " (c.before) " → " (c.after) " (" (c.day_hours) " " (w.hours) ")" }
                            }
                        }
                    }
                } }
                tbody { tr {
                    @for d in &g.days {
                        td {
                            @for s in &d.spans {
                                div.span title=(s.rule) {
                                    span.time { (s.from) "–" (s.to) } " " (s.contact_name) " "
                                    small { code { (s.rule) } }
                                }
                            }
                        }
                    }
                } }
            }
        }
    }
}
