//! The operator console: the national desk's and the suppliers' view of the
//! federation, signed in through their desk's provider like the report form.
//! Each page owns its routes (`routes()` in its module), merged here:
//!
//! - `GET /console` — the incidents, with filters and search ([`incidents`]);
//!   `GET /console/incidents/{id}` — one incident ([`incident`]).
//! - `GET /console/queue` — the outbox by lane and the dead letters, `POST
//!   /console/queue/replay` — a dead letter replayed ([`queue`]).
//! - `/console/escalations`, `/console/oncall`, `/console/desks` — [`escalations`],
//!   [`oncall`], [`desks`].
//!
//! A person sees what their desk sees through the API: a supplier only its own
//! incidents and deliveries; only the national desk replays. The frame and the
//! navigation are [`layout`]; the shared words are [`text`], a page's own words
//! live next to the page.

mod desks;
mod escalations;
mod incident;
mod incidents;
mod oncall;
mod queue;
mod text;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

use super::signed_in::SignedIn;
use crate::http::AppState;
use crate::model::Role;
pub use text::Text;

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/web/console.css", get(style))
        .merge(incidents::routes())
        .merge(incident::routes())
        .merge(queue::routes())
        .merge(escalations::routes())
        .merge(oncall::routes())
        .merge(desks::routes())
}

/// A person of the national desk or of a supplier: the console's users. A local
/// desk's person is refused (their page is the report form).
#[derive(Clone, Debug)]
pub struct Operator(pub SignedIn);

impl Operator {
    /// The console's words in this person's language.
    pub fn t(&self) -> &'static Text {
        text::of(self.0.lang)
    }
}

impl std::ops::Deref for Operator {
    type Target = SignedIn;
    fn deref(&self) -> &SignedIn {
        &self.0
    }
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let who = SignedIn::from_request_parts(parts, state).await?;
        if who.role() == Role::Local {
            return Err(who.message(StatusCode::FORBIDDEN, text::of(who.lang).local_desk));
        }
        Ok(Operator(who))
    }
}

/// The console's sections, in the navigation's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    Incidents,
    Queue,
    Escalations,
    OnCall,
    Desks,
}

impl Section {
    pub const ALL: [Section; 5] =
        [Section::Incidents, Section::Queue, Section::Escalations, Section::OnCall, Section::Desks];

    pub fn path(self) -> &'static str {
        match self {
            Section::Incidents => "/console",
            Section::Queue => "/console/queue",
            Section::Escalations => "/console/escalations",
            Section::OnCall => "/console/oncall",
            Section::Desks => "/console/desks",
        }
    }

    fn label(self, t: &Text) -> &'static str {
        match self {
            Section::Incidents => t.nav_incidents,
            Section::Queue => t.nav_queue,
            Section::Escalations => t.nav_escalations,
            Section::OnCall => t.nav_oncall,
            Section::Desks => t.nav_desks,
        }
    }

    fn id(self) -> &'static str {
        match self {
            Section::Incidents => "nav-incidents",
            Section::Queue => "nav-queue",
            Section::Escalations => "nav-escalations",
            Section::OnCall => "nav-oncall",
            Section::Desks => "nav-desks",
        }
    }
}

/// A console page: `path` is the page's own path and query (for the language
/// switch), `section` the navigation entry it belongs to.
pub fn page(who: &Operator, status: StatusCode, section: Section, title: &str, path: &str, body: Markup) -> Response {
    (status, layout(who, section, title, path, body)).into_response()
}

/// The console's frame: navigation, language switch, who is signed in, sign-out.
pub fn layout(who: &Operator, section: Section, title: &str, path: &str, body: Markup) -> Markup {
    let lang = who.lang;
    let t = who.t();
    let (other, other_name) = match lang.code() {
        "da" => ("en", "English"),
        _ => ("da", "Dansk"),
    };
    let sep = if path.contains('?') { '&' } else { '?' };
    let code = lang.code();
    let s = &who.session;
    html! {
        (DOCTYPE)
        html lang=(code) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – " (t.console) " – deskgate" }
                link rel="stylesheet" href="/web/style.css";
                link rel="stylesheet" href="/web/console.css";
            }
            body.console {
                header {
                    nav aria-label=(t.console) {
                        strong { (t.console) }
                        @for entry in Section::ALL {
                            " · "
                            @if entry == section {
                                a id=(entry.id()) href={ (entry.path()) "?lang=" (code) } aria-current="page" { (entry.label(t)) }
                            } @else {
                                a id=(entry.id()) href={ (entry.path()) "?lang=" (code) } { (entry.label(t)) }
                            }
                        }
                    }
                    nav.account {
                        a id="lang" href={ (path) (sep) "lang=" (other) } hreflang=(other) { (other_name) }
                        " · " span id="who" { (lang.t().signed_in_as) " " (s.name) " (" (s.desk) ")" }
                        form.inline method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button id="sign-out" type="submit" { (lang.t().sign_out) }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

async fn style() -> Response {
    let mut r = STYLE.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    r
}

/// The console's additions to the pages' stylesheet: wide tables, marked rows.
const STYLE: &str = "body.console{max-width:80rem}nav.account{margin-top:.3rem;font-size:.9rem}\
nav a[aria-current=page]{font-weight:700}form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}\
form.filters label{margin-top:0}form.filters input,form.filters select{width:auto}\
.internal{background:#fff4d6}.dead{background:#fde8e8}td form.inline button{font:inherit}\
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.facts dt{font-weight:600}";
