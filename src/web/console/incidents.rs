//! `GET /console`: the incidents the desk sees, newest change first, with filters
//! (status, priority, service, desk, assignee) and a search by number, a desk's
//! ticket or title. Every listing is the store's indexed query (status, service,
//! party desk, updated time); what no index holds (the assignee, a filter on top of
//! a supplier's own view, a title) is checked over a bounded number of candidates,
//! and the page says when it stopped early.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;

use super::{Operator, Section, page};
use crate::gateway::GatewayError;
use crate::http::AppState;
use crate::model::{DeskId, Incident, IncidentId, Priority, Role, Service, Status, TicketId};
use crate::store::{ListCursor, ListOrder, ListQuery, OrderBy, Viewer, sequence_of};
use crate::web::text::phrases;

/// Incidents on one page.
const PAGE: usize = 50;
/// The most candidates read for one page when a filter is checked in memory.
const CANDIDATES: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new().route("/console", get(list))
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Filters {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    desk: String,
    #[serde(default)]
    assignee: String,
    /// Continue after this incident (its id and change time, `id@millis`).
    #[serde(default)]
    after: String,
}

/// The filters as the store's types; a value that does not parse is no filter.
struct Parsed {
    status: Option<Status>,
    priority: Option<Priority>,
    service: Option<Service>,
    desk: Option<DeskId>,
    assignee: Option<DeskId>,
    cursor: Option<ListCursor>,
}

fn some(v: &str) -> Option<&str> {
    Some(v.trim()).filter(|v| !v.is_empty())
}

impl Filters {
    fn parse(&self) -> Parsed {
        let cursor = some(&self.after).and_then(|a| {
            let (id, ms) = a.split_once('@')?;
            let updated_at = jiff::Timestamp::from_millisecond(ms.parse().ok()?).ok()?;
            Some(ListCursor { id: id.parse().ok()?, updated_at })
        });
        Parsed {
            status: some(&self.status).and_then(|v| v.parse().ok()),
            priority: some(&self.priority).and_then(|v| v.parse().ok()),
            service: some(&self.service).and_then(|v| v.parse().ok()),
            desk: some(&self.desk).and_then(|v| v.parse().ok()),
            assignee: some(&self.assignee).and_then(|v| v.parse().ok()),
            cursor,
        }
    }

    /// This page's query string with `after` replaced.
    fn with_after(&self, after: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("q", &self.q),
            ("status", &self.status),
            ("priority", &self.priority),
            ("service", &self.service),
            ("desk", &self.desk),
            ("assignee", &self.assignee),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if !after.is_empty() {
            q.append_pair("after", after);
        }
        q.finish()
    }
}

impl Parsed {
    /// What the store's query cannot say: checked on each candidate.
    fn keeps(&self, i: &Incident) -> bool {
        self.desk.as_ref().is_none_or(|d| i.has_party(d))
            && self.assignee.as_ref().is_none_or(|a| i.assignee.as_ref() == Some(a))
    }
}

/// One page of the listing and where the next starts.
struct Listing {
    incidents: Vec<Incident>,
    next: Option<ListCursor>,
    /// Stopped after [`CANDIDATES`] without filling the page.
    cut: bool,
}

async fn page_of(state: &AppState, who: &Operator, p: &Parsed) -> Result<Listing, GatewayError> {
    // A national desk's desk (or assignee) filter is the party-desk index.
    let viewer = match (who.role(), &p.desk, &p.assignee) {
        (Role::National, Some(d), _) | (Role::National, None, Some(d)) => Viewer::PartyTo(d.clone()),
        _ => Viewer::Everything,
    };
    let chunk = PAGE + 1;
    let mut query = ListQuery {
        status: p.status,
        priority: p.priority,
        service: p.service.clone(),
        viewer,
        order: ListOrder::descending(OrderBy::Updated),
        cursor: p.cursor.clone(),
        ..ListQuery::all(chunk)
    };
    let mut found = Vec::new();
    let mut read = 0;
    loop {
        let batch = state.gateway.browse(&who.desk, &query).await?;
        let last = batch.last().map(ListCursor::of);
        let exhausted = batch.len() < chunk;
        read += batch.len();
        for i in batch {
            if found.len() == PAGE {
                // There is one more: the page ends at the one before.
                let next = found.last().map(ListCursor::of);
                return Ok(Listing { incidents: found, next, cut: false });
            }
            if p.keeps(&i) {
                found.push(i);
            }
        }
        if exhausted {
            return Ok(Listing { incidents: found, next: None, cut: false });
        }
        if read >= CANDIDATES {
            return Ok(Listing { incidents: found, next: last, cut: true });
        }
        query.cursor = last;
    }
}

/// The incidents search text `q` names: an incident id or number (the sequence
/// index), a desk's ticket (the reference index, each desk), else a title or a
/// ticket's display id among the most recently changed [`CANDIDATES`].
async fn search(state: &AppState, who: &Operator, q: &str, p: &Parsed) -> Result<Listing, GatewayError> {
    let mut query =
        ListQuery { status: p.status, priority: p.priority, service: p.service.clone(), ..ListQuery::all(PAGE) };
    let sequence = q.parse::<IncidentId>().ok().and_then(|id| sequence_of(&id)).or_else(|| q.parse::<u64>().ok());
    let mut found: Vec<Incident> = Vec::new();
    if let Some(n) = sequence {
        query.sequence = Some(n);
        found = state.gateway.browse(&who.desk, &query).await?;
        query.sequence = None;
    }
    if found.is_empty() {
        if let Ok(ticket) = q.parse::<TicketId>() {
            for desk in state.gateway.config().desks.keys() {
                query.reference = Some((desk.clone(), ticket.clone()));
                for i in state.gateway.browse(&who.desk, &query).await? {
                    if !found.iter().any(|f| f.id == i.id) {
                        found.push(i);
                    }
                }
            }
            query.reference = None;
        }
    }
    let mut cut = false;
    if found.is_empty() {
        let needle = q.to_lowercase();
        query.order = ListOrder::descending(OrderBy::Updated);
        query.limit = CANDIDATES;
        let recent = state.gateway.browse(&who.desk, &query).await?;
        cut = recent.len() == CANDIDATES;
        found = recent
            .into_iter()
            .filter(|i| {
                i.title.as_str().to_lowercase().contains(&needle)
                    || i.refs.iter().any(|r| r.display_id.eq_ignore_ascii_case(q))
            })
            .take(PAGE)
            .collect();
    }
    found.retain(|i| p.keeps(i));
    Ok(Listing { incidents: found, next: None, cut })
}

async fn list(State(state): State<AppState>, who: Operator, Query(f): Query<Filters>) -> Response {
    let p = f.parse();
    let listing = match some(&f.q) {
        Some(q) => search(&state, &who, q, &p).await,
        None => page_of(&state, &who, &p).await,
    };
    let listing = match listing {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "the console's incident list could not be read");
            return who.message(StatusCode::SERVICE_UNAVAILABLE, words(who.lang).unavailable);
        }
    };
    let path = format!("/console?{}", f.with_after(&f.after));
    let body = body(&state, &who, &f, &listing);
    page(&who, StatusCode::OK, Section::Incidents, who.t().nav_incidents, &path, body)
}

fn body(state: &AppState, who: &Operator, f: &Filters, l: &Listing) -> Markup {
    let w = words(who.lang);
    let code = who.lang.code();
    let config = state.gateway.config();
    let mut services: Vec<String> = config
        .desks
        .values()
        .flat_map(|d| d.services.iter().filter(|s| *s != "*").map(|s| s.to_ascii_uppercase()))
        .collect();
    services.sort();
    services.dedup();
    let desks: Vec<(String, String)> = config.desks.values().map(|d| (d.id.to_string(), d.name.clone())).collect();
    let suppliers: Vec<(String, String)> = config
        .desks
        .values()
        .filter(|d| d.role == Role::Supplier)
        .map(|d| (d.id.to_string(), d.name.clone()))
        .collect();
    let select = |id: &'static str, label: &'static str, current: &str, options: Vec<(String, String)>| {
        html! {
            div {
                label for=(id) { (label) }
                select id=(id) name=(id) {
                    option value="" { (w.all) }
                    @for (v, text) in &options { option value=(v) selected[current == v] { (text) } }
                }
            }
        }
    };
    let pairs = |v: Vec<String>| v.into_iter().map(|s| (s.clone(), s)).collect::<Vec<_>>();
    html! {
        form.filters method="get" action="/console" role="search" {
            input type="hidden" name="lang" value=(code);
            div {
                label for="q" { (w.search) }
                input id="q" name="q" value=(f.q) placeholder=(w.search_hint);
            }
            (select("status", w.status, &f.status, pairs(crate::model::Status::ALL.iter().map(ToString::to_string).collect())))
            (select("priority", w.priority, &f.priority, pairs(Priority::ALL.iter().map(ToString::to_string).collect())))
            (select("service", w.service, &f.service, pairs(services)))
            (select("desk", w.desk, &f.desk, desks))
            (select("assignee", w.assignee, &f.assignee, suppliers))
            div { button id="filter" type="submit" { (w.show) } }
        }
        @if l.incidents.is_empty() {
            p id="none" { (w.none) }
        } @else {
            table id="incidents" {
                thead { tr {
                    th { "#" } th { (w.title) } th { (w.status) } th { (w.priority) } th { (w.service) }
                    th { (w.reported_by) } th { (w.assignee) } th { (w.changed) }
                } }
                tbody {
                    @for i in &l.incidents {
                        tr {
                            td { a href={ "/console/incidents/" (i.id) "?lang=" (code) } { (i.id) } }
                            td { (i.title.as_str()) }
                            td { (i.status) }
                            td { @if let Some(p) = i.priority { (p) } }
                            td { (i.service) }
                            td { (i.origin.desk) }
                            td { @if let Some(a) = &i.assignee { (a) } }
                            td { (i.updated_at) }
                        }
                    }
                }
            }
        }
        @if l.cut { p id="cut" { (w.cut) } }
        @if let Some(next) = &l.next {
            p { a id="next" rel="next" href={ "/console?lang=" (code) "&" (f.with_after(&format!("{}@{}", next.id, next.updated_at.as_millisecond()))) } { (w.next) } }
        }
    }
}

phrases! {
    /// The incident list's words.
    pub struct Words, pub fn words {
        search = "Søg", "Search";
        search_hint = "Nummer, sagsnummer eller titel", "Number, ticket or title";
        all = "Alle", "All";
        status = "Status", "Status";
        priority = "Prioritet", "Priority";
        service = "Tjeneste", "Service";
        desk = "Servicedesk", "Desk";
        assignee = "Tildelt", "Assignee";
        show = "Vis", "Show";
        none = "Ingen hændelser.", "No incidents.";
        title = "Titel", "Title";
        reported_by = "Meldt af", "Reported by";
        changed = "Ændret", "Changed";
        next = "Næste side", "Next page";
        cut =
            "Der er læst mange hændelser uden at finde flere: gå videre med Næste side, eller gør søgningen smallere.",
            "Many incidents were read without finding more: go on with Next page, or narrow the search.";
        unavailable =
            "Hændelserne kan ikke læses lige nu. Prøv igen om lidt.",
            "The incidents cannot be read just now. Try again shortly.";
    }
}
