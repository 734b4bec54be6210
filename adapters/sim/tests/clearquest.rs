//! The ClearQuest simulator spoken to over raw HTTP: the protocol rules it enforces.

use deskgate_clearquest::oslc::{self, CqRecord, Limits};
use deskgate_sim::clearquest::{ClearQuestSim, ClearQuestSimConfig};
use reqwest::StatusCode;

struct Client {
    sim: ClearQuestSim,
    http: reqwest::Client,
}

impl Client {
    async fn new() -> Self {
        Self { sim: ClearQuestSim::spawn(ClearQuestSimConfig::default()).await.unwrap(), http: reqwest::Client::new() }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url())
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.signed(self.http.request(method, self.url(path))).header("Accept", "application/rdf+xml")
    }

    /// A GET of a whole URL (a next page the simulator announced), signed in, with no
    /// `Accept` of its own.
    fn get_url(&self, url: &str) -> reqwest::RequestBuilder {
        self.signed(self.http.get(url))
    }

    fn signed(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let c = self.sim.config();
        request.basic_auth(&c.user, Some(&c.password)).header("OSLC-Core-Version", "2.0")
    }

    /// PUT `fields` to `target` (a record's path and query), with `If-Match: etag`
    /// when given.
    async fn put(&self, target: &str, etag: Option<&str>, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut put = self.request(reqwest::Method::PUT, target);
        if let Some(etag) = etag {
            put = put.header("If-Match", etag);
        }
        put.body(record(fields)).send().await.unwrap()
    }

    /// Action `action` on the record at `path`, setting `fields` (and naming them in
    /// `oslc.properties`).
    async fn act(&self, path: &str, etag: &str, action: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let properties: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
        let target = format!("{path}?rcm.action={action}&oslc.properties={}", properties.join(","));
        self.put(&target, Some(etag), fields).await
    }

    /// A record alice submitted: its id, its path and its ETag.
    fn new_record(&self) -> (String, String, String) {
        let id = self.sim.create_as_user("alice", [("Headline", "x")]);
        let path = self.sim.record_path(&id).unwrap();
        let etag = self.sim.record(&id).unwrap().etag();
        (id, path, etag)
    }

    /// The creation factory the service provider announces.
    fn factory(&self) -> String {
        self.sim.creation_path()
    }

    /// The query capability the service provider announces.
    fn query(&self) -> String {
        self.sim.query_path()
    }
}

fn record(fields: &[(&str, &str)]) -> String {
    let mut r = CqRecord::default();
    for (k, v) in fields {
        r.set(*k, *v);
    }
    oslc::write_record(&r).unwrap()
}

async fn error_message(response: reqwest::Response) -> String {
    let body = response.bytes().await.unwrap();
    oslc::parse_error(&body).unwrap().message
}

#[tokio::test]
async fn create_read_modify_with_etags() {
    let c = Client::new().await;
    let created = c
        .request(reqwest::Method::POST, &c.factory())
        .body(record(&[("cq:Headline", "hello"), ("cq:Severity", "2-Major")]))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["OSLC-Core-Version"], "2.0");
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let path = location.strip_prefix(c.sim.base_url()).unwrap().to_owned();
    assert!(path.ends_with("/record/16777224-33554433"), "{path}");

    let read = c.request(reqwest::Method::GET, &path).send().await.unwrap();
    let etag = read.headers()["etag"].to_str().unwrap().to_owned();
    let body = read.bytes().await.unwrap();
    let rec = oslc::parse_record(&body, Limits::default()).unwrap();
    assert_eq!(rec.get("cq:id"), Some("SAMPL00000001"));
    assert_eq!(rec.get("cq:State"), Some("Submitted"));
    assert_eq!(rec.get("dcterms:title"), Some("hello"));

    // No If-Match: refused.
    let put = c.put(&format!("{path}?oslc.properties=cq:Headline"), None, &[("cq:Headline", "x")]).await;
    assert_eq!(put.status(), StatusCode::PRECONDITION_REQUIRED);

    let put = c.put(&format!("{path}?oslc.properties=cq:Headline"), Some(&etag), &[("cq:Headline", "changed")]).await;
    assert_eq!(put.status(), StatusCode::OK);
    let new_etag = put.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let rec = c.sim.record("SAMPL00000001").unwrap();
    assert_eq!(rec.get("Headline"), Some("changed"));
    assert_eq!(rec.get("Severity"), Some("2-Major"), "unlisted fields are kept");

    // The old ETag is now stale.
    let stale = c.put(&format!("{path}?oslc.properties=cq:Headline"), Some(&etag), &[("cq:Headline", "lost")]).await;
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    assert!(error_message(stale).await.contains("stale"));
}

#[tokio::test]
async fn actions_follow_the_state_machine() {
    let c = Client::new().await;
    let (id, path, etag) = c.new_record();
    let close = c.act(&path, &etag, "Close", &[]).await;
    assert_eq!(close.status(), StatusCode::BAD_REQUEST);
    assert!(error_message(close).await.contains("not available"));

    let assign = c.act(&path, &etag, "Assign", &[("cq:Owner", "bob")]).await;
    assert_eq!(assign.status(), StatusCode::OK);
    assert_eq!(c.sim.record(&id).unwrap().state, "Assigned");

    // The state itself is not a writable field.
    let etag = c.sim.record(&id).unwrap().etag();
    let direct = c.put(&format!("{path}?oslc.properties=cq:State"), Some(&etag), &[("cq:State", "Closed")]).await;
    assert_eq!(direct.status(), StatusCode::BAD_REQUEST);
    assert!(c.sim.action_as_user(&id, "Close", [("a", "b")]).is_err());
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let c = Client::new().await;
    let no_auth = c.http.get(c.url(&c.query())).header("OSLC-Core-Version", "2.0").send().await.unwrap();
    assert_eq!(no_auth.status(), StatusCode::UNAUTHORIZED);
    assert!(no_auth.headers().contains_key("www-authenticate"));

    let no_version = c
        .http
        .get(c.url(&c.query()))
        .basic_auth(&c.sim.config().user, Some(&c.sim.config().password))
        .send()
        .await
        .unwrap();
    assert_eq!(no_version.status(), StatusCode::BAD_REQUEST);

    let doctype = c
        .request(reqwest::Method::POST, &c.factory())
        .body("<!DOCTYPE x [<!ENTITY a \"b\">]><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/>")
        .send()
        .await
        .unwrap();
    assert_eq!(doctype.status(), StatusCode::BAD_REQUEST);
    assert!(error_message(doctype).await.contains("DOCTYPE"));

    let malformed = c.request(reqwest::Method::POST, &c.factory()).body("<rdf:RDF").send().await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);

    let no_headline =
        c.request(reqwest::Method::POST, &c.factory()).body(record(&[("cq:Severity", "1")])).send().await.unwrap();
    assert_eq!(no_headline.status(), StatusCode::BAD_REQUEST);
    assert_eq!(c.sim.count(), 0);

    let bad_where =
        c.request(reqwest::Method::GET, &c.query()).query(&[("oslc.where", "cq:State ~ 1")]).send().await.unwrap();
    assert_eq!(bad_where.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn queries_filter_select_order_and_page() {
    let c = Client::new().await;
    for (headline, severity) in [("a", "1"), ("b", "2"), ("c", "1")] {
        c.sim.create_as_user("alice", [("Headline", headline), ("Severity", severity)]);
    }
    let answer = c
        .request(reqwest::Method::GET, &c.query())
        .query(&[("oslc.where", "cq:Severity=\"1\""), ("oslc.select", "cq:Headline"), ("oslc.orderBy", "-cq:Headline")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let page = oslc::parse_query(&answer.bytes().await.unwrap(), Limits::default()).unwrap();
    let headlines: Vec<_> = page.records.iter().map(|r| r.get("cq:Headline").unwrap()).collect();
    assert_eq!(headlines, ["c", "a"]);
    assert!(page.records.iter().all(|r| r.get("cq:Severity").is_none()), "only selected properties");
    assert_eq!(page.total_count, Some(2));

    // Paging, and members without properties when nothing is selected.
    let answer = c
        .request(reqwest::Method::GET, &c.query())
        .query(&[("oslc.paging", "true"), ("oslc.pageSize", "2")])
        .send()
        .await
        .unwrap();
    let page = oslc::parse_query(&answer.bytes().await.unwrap(), Limits::default()).unwrap();
    assert_eq!(page.records.len(), 2);
    assert!(page.records.iter().all(|r| r.props.is_empty() && r.about.is_some()));
    let next = page.next_page.unwrap();
    let answer = c.get_url(&next).send().await.unwrap();
    let page = oslc::parse_query(&answer.bytes().await.unwrap(), Limits::default()).unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.next_page, None);

    // Atom, on request.
    let answer = c
        .get_url(&c.url(&c.query()))
        .header("Accept", "application/atom+xml")
        .query(&[("oslc.select", "*")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["content-type"], "application/atom+xml");
    let page = oslc::parse_query(&answer.bytes().await.unwrap(), Limits::default()).unwrap();
    assert_eq!(page.records.len(), 3);
    assert_eq!(page.records[0].get("cq:Headline"), Some("a"));
}

#[tokio::test]
async fn service_provider_lists_the_factory_and_query() {
    let c = Client::new().await;
    let answer = c.request(reqwest::Method::GET, "/cqweb/oslc/repo/7.0.0/db/SAMPL/services").send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let text = answer.text().await.unwrap();
    assert!(text.contains(&format!("{}{}\"", c.sim.base_url(), c.factory())));
    assert!(text.contains(&format!("{}{}\"", c.sim.base_url(), c.query())));
    let other_db = c.request(reqwest::Method::GET, "/cqweb/oslc/repo/7.0.0/db/OTHER/services").send().await.unwrap();
    assert_eq!(other_db.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_catalogs_lead_to_each_database_and_the_old_built_urls_are_gone() {
    let sim =
        ClearQuestSim::spawn(ClearQuestSimConfig { more_dbs: vec!["FMK".into()], ..Default::default() }).await.unwrap();
    let c = Client { sim, http: reqwest::Client::new() };
    let root = c.request(reqwest::Method::GET, "/cqweb/oslc").send().await.unwrap();
    assert_eq!(root.status(), StatusCode::OK);
    let root = oslc::parse_descriptions(&root.bytes().await.unwrap(), Limits::default()).unwrap();
    let repo = root.iter().find(|d| d.is_oslc("ServiceProviderCatalog") && d.top_level).unwrap();
    let repo_uri = repo.first("oslc:serviceProviderCatalog").unwrap().to_owned();
    assert!(repo_uri.ends_with("/cqweb/oslc/repo/7.0.0"), "{repo_uri}");

    let repo = c.http.get(&repo_uri).basic_auth("deskgate", Some("deskgate-secret")).header("OSLC-Core-Version", "2.0");
    let repo = oslc::parse_descriptions(&repo.send().await.unwrap().bytes().await.unwrap(), Limits::default()).unwrap();
    let providers: Vec<&str> = repo.iter().flat_map(|d| d.values("oslc:serviceProvider")).collect();
    assert_eq!(providers.len(), 2);
    assert!(providers[0].ends_with("/db/SAMPL") && providers[1].ends_with("/db/FMK"), "{providers:?}");

    let provider = c.request(reqwest::Method::GET, "/cqweb/oslc/repo/7.0.0/db/FMK").send().await.unwrap();
    let provider = oslc::parse_descriptions(&provider.bytes().await.unwrap(), Limits::default()).unwrap();
    let factory = provider.iter().find(|d| d.is_oslc("CreationFactory")).unwrap();
    assert!(factory.first("oslc:creation").unwrap().ends_with("/db/FMK/record?rcm.type=Defect"));
    let query = provider.iter().find(|d| d.is_oslc("QueryCapability")).unwrap();
    assert!(query.first("oslc:queryBase").unwrap().ends_with("/db/FMK/simpleQuery/16777224"));

    // What clients used to build is not served.
    let built = c
        .request(reqwest::Method::POST, "/cqweb/oslc/repo/7.0.0/db/SAMPL/record-type/16777224")
        .body(record(&[("cq:Headline", "x")]))
        .send()
        .await
        .unwrap();
    assert!(built.status().is_client_error(), "{}", built.status());
    let built = c.request(reqwest::Method::GET, "/cqweb/oslc/repo/7.0.0/db/SAMPL/record-type/16777224/query");
    assert_eq!(built.send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(c.sim.count(), 0);
}

#[tokio::test]
async fn each_database_keeps_its_own_records() {
    let sim = ClearQuestSim::spawn(ClearQuestSimConfig::serving("SDS", &["FMK"])).await.unwrap();
    let c = Client { sim, http: reqwest::Client::new() };
    let fmk_factory = "/cqweb/oslc/repo/7.0.0/db/FMK/record?rcm.type=Defect";
    let created =
        c.request(reqwest::Method::POST, fmk_factory).body(record(&[("cq:Headline", "fmk")])).send().await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert!(created.headers()["location"].to_str().unwrap().contains("/db/FMK/record/"));
    c.sim.create_as_user("alice", [("Headline", "sds")]);
    assert_eq!(c.sim.count(), 1);
    let fmk = c.sim.database("FMK").unwrap();
    assert_eq!(fmk.count(), 1);
    assert_eq!(fmk.records()[0].display_id, "FMK00000001");
    assert_eq!(c.sim.records()[0].display_id, "SDS00000001");
    assert!(c.sim.database("OTHER").is_none());
    let query = c.request(reqwest::Method::GET, "/cqweb/oslc/repo/7.0.0/db/FMK/simpleQuery/16777224");
    let page = oslc::parse_query(
        &query.query(&[("oslc.select", "*")]).send().await.unwrap().bytes().await.unwrap(),
        Limits::default(),
    )
    .unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].get("cq:Headline"), Some("fmk"));
}

#[tokio::test]
async fn notes_go_through_the_entry_field_and_long_values_are_truncated() {
    let c = Client::new().await;
    let (id, path, etag) = c.new_record();
    let direct = c
        .put(&format!("{path}?oslc.properties=cq:Notes_Log"), Some(&etag), &[("cq:Notes_Log", "rewritten history")])
        .await;
    assert_eq!(direct.status(), StatusCode::BAD_REQUEST);
    assert!(error_message(direct).await.contains("read-only"));

    let long = "y".repeat(2500);
    let entry =
        c.put(&format!("{path}?oslc.properties=cq:Note_Entry"), Some(&etag), &[("cq:Note_Entry", long.as_str())]).await;
    assert_eq!(entry.status(), StatusCode::OK, "silently, as ClearQuest");
    let stored = c.sim.record(&id).unwrap();
    assert_eq!(stored.get("Note_Entry"), None, "the entry field is not kept");
    let log = stored.get("Notes_Log").unwrap();
    assert!(log.starts_with("==== State: Submitted by: deskgate on "), "{log}");
    assert_eq!(log.lines().nth(1).unwrap(), "y".repeat(2000), "cut at max.multiline.text.length");
}

#[tokio::test]
async fn actions_need_their_required_fields_and_the_schema_is_data() {
    let c = Client::new().await;
    let (id, path, etag) = c.new_record();
    let assign = c.act(&path, &etag, "Assign", &[]).await;
    assert_eq!(assign.status(), StatusCode::BAD_REQUEST);
    assert!(error_message(assign).await.contains("Owner is mandatory"));
    assert_eq!(c.sim.record(&id).unwrap().state, "Submitted", "nothing changed");

    // The simulator runs the table of the shipped mapping file, or another one.
    let shipped = deskgate_clearquest::Schema::from_toml(include_str!("../../../mappings/clearquest.toml")).unwrap();
    let mut schema = shipped.clone();
    schema.actions.retain(|a| a.action != "Assign");
    schema.actions.push(deskgate_clearquest::StateAction::new("Triage", &["Submitted"], "Assigned"));
    let sim = ClearQuestSim::spawn(ClearQuestSimConfig { schema, ..Default::default() }).await.unwrap();
    let id = sim.create_as_user("alice", [("Headline", "x")]);
    assert!(sim.action_as_user(&id, "Assign", [("Owner", "bob")]).unwrap_err().contains("Unknown action"));
    sim.action_as_user(&id, "Triage", [("Headline", "y")]).unwrap();
    assert_eq!(sim.record(&id).unwrap().state, "Assigned");
}

/// The `cq:id` of every record matching `filter`.
async fn matching(c: &Client, filter: &str) -> Vec<String> {
    let answer = c
        .request(reqwest::Method::GET, &c.query())
        .query(&[("oslc.where", filter), ("oslc.select", "cq:id")])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK, "{filter}");
    let page = oslc::parse_query(&answer.bytes().await.unwrap(), Limits::default()).unwrap();
    page.records.iter().map(|r| r.get("cq:id").unwrap().to_owned()).collect()
}

/// A query matches what the provider presents, computed or kept: the state, the
/// display id, the title mirroring the headline, the history's times, the fields.
#[tokio::test]
async fn queries_match_computed_properties_as_presented() {
    let c = Client::new().await;
    let first = c.sim.create_as_user("alice", [("Headline", "disk full"), ("Severity", "1")]);
    let second = c.sim.create_as_user("alice", [("Headline", "printer jam"), ("Severity", "2")]);
    c.sim.action_as_user(&first, "Assign", [("Owner", "bob")]).unwrap();
    assert_eq!(matching(&c, r#"cq:State="Assigned""#).await, [first.as_str()]);
    assert_eq!(matching(&c, r#"oslc_cm:status="Submitted""#).await, [second.as_str()]);
    assert_eq!(matching(&c, &format!(r#"cq:id="{second}""#)).await, [second.as_str()]);
    assert_eq!(matching(&c, r#"dcterms:title="disk full""#).await, [first.as_str()]);
    assert_eq!(matching(&c, r#"cq:Severity="2" and cq:Submitter="alice""#).await, [second.as_str()]);
    let since = |at: &str| format!(r#"cq:history{{cq:action_timestamp>="{at}"^^xsd:dateTime}}"#);
    assert_eq!(matching(&c, &since("2000-01-01T00:00:00Z")).await, [first.clone(), second.clone()]);
    assert!(matching(&c, &since("2999-01-01T00:00:00Z")).await.is_empty());
    assert!(matching(&c, r#"cq:Owner="nobody""#).await.is_empty());
}
