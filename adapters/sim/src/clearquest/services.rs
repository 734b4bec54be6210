//! The discovery documents, in RDF/XML as ClearQuest writes them: the root service
//! provider catalog, the repository's catalog (one service provider per user
//! database), each database's service provider with the record type's creation
//! factory and query capability, and the record type's resource shape.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use deskgate_clearquest::oslc::{self, NS_CQ, NS_DCTERMS, NS_OSLC, NS_OSLC_CM, NS_RDF};

use super::Shared;
use super::http::{base_of, oslc_error, rdf, wrong_db, wrong_record_type};

fn esc(text: &str) -> String {
    let mut s = String::new();
    oslc::escape(&mut s, text, true);
    s
}

fn document(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rdf:RDF xmlns:rdf=\"{NS_RDF}\" xmlns:dcterms=\"{NS_DCTERMS}\" \
         xmlns:oslc=\"{NS_OSLC}\" xmlns:cq=\"{NS_CQ}\">\n{body}</rdf:RDF>\n"
    )
}

/// `GET /cqweb/oslc`: the repositories.
pub(super) async fn root_catalog(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let base = base_of(&headers);
    let repo = &shared.config.repo;
    let about = esc(&format!("{base}/cqweb/oslc"));
    let sub = esc(&format!("{base}/cqweb/oslc/repo/{repo}"));
    let body = format!(
        "  <oslc:ServiceProviderCatalog rdf:about=\"{about}\">\n    <dcterms:title>ClearQuest repositories</dcterms:title>\n    \
         <oslc:domain rdf:resource=\"{NS_OSLC_CM}\"/>\n    <oslc:serviceProviderCatalog>\n      \
         <oslc:ServiceProviderCatalog rdf:about=\"{sub}\">\n        <dcterms:title>{}</dcterms:title>\n      \
         </oslc:ServiceProviderCatalog>\n    </oslc:serviceProviderCatalog>\n  </oslc:ServiceProviderCatalog>\n",
        esc(repo)
    );
    rdf(StatusCode::OK, None, document(&body))
}

/// `GET /cqweb/oslc/repo/{repo}`: one service provider per user database.
pub(super) async fn repo_catalog(
    State(shared): State<Shared>,
    Path(repo): Path<String>,
    headers: HeaderMap,
) -> Response {
    if repo != shared.config.repo {
        return oslc_error(StatusCode::NOT_FOUND, &format!("No repository {repo}."));
    }
    let base = base_of(&headers);
    let about = esc(&format!("{base}/cqweb/oslc/repo/{repo}"));
    let mut providers = String::new();
    for db in shared.config.databases() {
        providers.push_str(&format!(
            "    <oslc:serviceProvider>\n      <oslc:ServiceProvider rdf:about=\"{}\">\n        \
             <dcterms:title>{}</dcterms:title>\n      </oslc:ServiceProvider>\n    </oslc:serviceProvider>\n",
            esc(&format!("{base}{}", shared.db_path(db))),
            esc(db)
        ));
    }
    let body = format!(
        "  <oslc:ServiceProviderCatalog rdf:about=\"{about}\">\n    <dcterms:title>{}</dcterms:title>\n    \
         <oslc:domain rdf:resource=\"{NS_OSLC_CM}\"/>\n{providers}  </oslc:ServiceProviderCatalog>\n",
        esc(&repo)
    );
    rdf(StatusCode::OK, None, document(&body))
}

/// `GET /cqweb/oslc/repo/{repo}/db/{db}`: the record type's creation factory and
/// query capability, at the URLs this simulator serves them.
pub(super) async fn service_provider(
    State(shared): State<Shared>,
    Path((repo, db)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = wrong_db(&shared, &repo, &db) {
        return r;
    }
    let base = base_of(&headers);
    let at = |path: String| esc(&format!("{base}{path}"));
    let c = &shared.config;
    let (title, shape) = (esc(&c.record_type), at(shared.shape_path(&db)));
    let types = format!(
        "<oslc:resourceType rdf:resource=\"{NS_OSLC_CM}ChangeRequest\"/>\n            \
         <oslc:resourceType rdf:resource=\"{shape}\"/>"
    );
    // The creation factory and the query capability differ only in their names and URL.
    let capability = |property: &str, class: &str, link: &str, url: &str| {
        format!(
            r#"        <oslc:{property}>
          <oslc:{class}>
            <dcterms:title>{title}</dcterms:title>
            <oslc:{link} rdf:resource="{url}"/>
            {types}
            <oslc:resourceShape rdf:resource="{shape}"/>
          </oslc:{class}>
        </oslc:{property}>
"#
        )
    };
    let body = format!(
        r#"  <oslc:ServiceProvider rdf:about="{about}">
    <dcterms:title>{db_title}</dcterms:title>
    <oslc:service>
      <oslc:Service>
        <oslc:domain rdf:resource="{NS_OSLC_CM}"/>
{factory}{query}      </oslc:Service>
    </oslc:service>
  </oslc:ServiceProvider>
"#,
        about = at(shared.db_path(&db)),
        db_title = esc(&db),
        factory = capability("creationFactory", "CreationFactory", "creation", &at(shared.creation_path(&db))),
        query = capability("queryCapability", "QueryCapability", "queryBase", &at(shared.query_path(&db))),
    );
    rdf(StatusCode::OK, None, document(&body))
}

/// The record type's fields: name, occurs, value type, read-only. The stock Defect
/// fields, plus the ones a site adds in ClearQuest Designer for deskgate and its
/// process (`deskgate_*`, `Deferred_Until`, `ParentIncident`); the OSLC resource shape
/// lists a site's own fields like the stock ones.
const FIELDS: &[(&str, &str, &str, bool)] = &[
    ("id", "Exactly-one", "string", true),
    ("State", "Exactly-one", "string", true),
    ("Submitter", "Exactly-one", "string", true),
    ("Headline", "Exactly-one", "string", false),
    ("Description", "Zero-or-one", "XMLLiteral", false),
    ("Priority", "Zero-or-one", "string", false),
    ("Severity", "Zero-or-one", "string", false),
    ("Owner", "Zero-or-one", "string", false),
    ("Resolution", "Zero-or-one", "string", false),
    ("HoldReason", "Zero-or-one", "string", false),
    ("Notes_Log", "Zero-or-one", "XMLLiteral", true),
    ("Note_Entry", "Zero-or-one", "XMLLiteral", false),
    ("deskgate_Incident", "Zero-or-one", "string", false),
    // Until when a report is deferred to the national desk's next working start.
    ("Deferred_Until", "Zero-or-one", "dateTime", false),
    ("deskgate_Links", "Zero-or-one", "XMLLiteral", false),
    // The national desk's reference to the incident a record is a further report of
    // (NSP step 3): a record id or a deskgate incident id, typed by a person.
    ("ParentIncident", "Zero-or-one", "string", false),
    // The record's history (each action with its time), which change capture reads.
    ("history", "Zero-or-many", "LocalResource", true),
];

/// `GET …/record-type/{typeDbid}`: the record type's resource shape.
pub(super) async fn shape(
    State(shared): State<Shared>,
    Path((repo, db, rtype)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = wrong_record_type(&shared, &repo, &db, &rtype) {
        return r;
    }
    let base = base_of(&headers);
    let xsd = "http://www.w3.org/2001/XMLSchema#";
    let mut props = String::new();
    for (name, occurs, value_type, read_only) in FIELDS {
        let type_ns = if *value_type == "XMLLiteral" { NS_RDF } else { xsd };
        props.push_str(&format!(
            "    <oslc:property>\n      <oslc:Property>\n        <oslc:name>{name}</oslc:name>\n        \
             <oslc:propertyDefinition rdf:resource=\"{NS_CQ}{name}\"/>\n        \
             <oslc:occurs rdf:resource=\"{NS_OSLC}{occurs}\"/>\n        \
             <oslc:valueType rdf:resource=\"{type_ns}{value_type}\"/>\n        \
             <oslc:readOnly>{read_only}</oslc:readOnly>\n      </oslc:Property>\n    </oslc:property>\n"
        ));
    }
    let body = format!(
        "  <oslc:ResourceShape rdf:about=\"{}\">\n    <dcterms:title>{}</dcterms:title>\n{props}  </oslc:ResourceShape>\n",
        esc(&format!("{base}{}", shared.shape_path(&db))),
        esc(&shared.config.record_type)
    );
    rdf(StatusCode::OK, None, document(&body))
}
