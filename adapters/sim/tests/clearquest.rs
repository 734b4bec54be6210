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
        let c = self.sim.config();
        self.http
            .request(method, self.url(path))
            .basic_auth(&c.user, Some(&c.password))
            .header("OSLC-Core-Version", "2.0")
            .header("Accept", "application/rdf+xml")
    }

    fn factory(&self) -> String {
        let c = self.sim.config();
        format!("/cqweb/oslc/repo/{}/db/{}/record-type/{}", c.repo, c.db, c.record_type_dbid)
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
    let put = c
        .request(reqwest::Method::PUT, &format!("{path}?oslc.properties=cq:Headline"))
        .body(record(&[("cq:Headline", "x")]))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::PRECONDITION_REQUIRED);

    let put = c
        .request(reqwest::Method::PUT, &format!("{path}?oslc.properties=cq:Headline"))
        .header("If-Match", &etag)
        .body(record(&[("cq:Headline", "changed")]))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::OK);
    let new_etag = put.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let rec = c.sim.record("SAMPL00000001").unwrap();
    assert_eq!(rec.get("Headline"), Some("changed"));
    assert_eq!(rec.get("Severity"), Some("2-Major"), "unlisted fields are kept");

    // The old ETag is now stale.
    let stale = c
        .request(reqwest::Method::PUT, &format!("{path}?oslc.properties=cq:Headline"))
        .header("If-Match", &etag)
        .body(record(&[("cq:Headline", "lost")]))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);
    assert!(error_message(stale).await.contains("stale"));
}

#[tokio::test]
async fn actions_follow_the_state_machine() {
    let c = Client::new().await;
    let id = c.sim.create_as_user("alice", [("Headline", "x")]);
    let path = c.sim.record_path(&id).unwrap();
    let etag = c.sim.record(&id).unwrap().etag();
    let close = c
        .request(reqwest::Method::PUT, &format!("{path}?rcm.action=Close&oslc.properties="))
        .header("If-Match", &etag)
        .body(record(&[]))
        .send()
        .await
        .unwrap();
    assert_eq!(close.status(), StatusCode::BAD_REQUEST);
    assert!(error_message(close).await.contains("not available"));

    let assign = c
        .request(reqwest::Method::PUT, &format!("{path}?rcm.action=Assign&oslc.properties=cq:Owner"))
        .header("If-Match", &etag)
        .body(record(&[("cq:Owner", "bob")]))
        .send()
        .await
        .unwrap();
    assert_eq!(assign.status(), StatusCode::OK);
    assert_eq!(c.sim.record(&id).unwrap().state, "Assigned");

    // The state itself is not a writable field.
    let etag = c.sim.record(&id).unwrap().etag();
    let direct = c
        .request(reqwest::Method::PUT, &format!("{path}?oslc.properties=cq:State"))
        .header("If-Match", &etag)
        .body(record(&[("cq:State", "Closed")]))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::BAD_REQUEST);
    assert!(c.sim.action_as_user(&id, "Close", [("a", "b")]).is_err());
}

#[tokio::test]
async fn bad_requests_are_refused() {
    let c = Client::new().await;
    let no_auth =
        c.http.get(c.url(&format!("{}/query", c.factory()))).header("OSLC-Core-Version", "2.0").send().await.unwrap();
    assert_eq!(no_auth.status(), StatusCode::UNAUTHORIZED);
    assert!(no_auth.headers().contains_key("www-authenticate"));

    let no_version = c
        .http
        .get(c.url(&format!("{}/query", c.factory())))
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

    let bad_where = c
        .request(reqwest::Method::GET, &format!("{}/query", c.factory()))
        .query(&[("oslc.where", "cq:State ~ 1")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_where.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn queries_filter_select_order_and_page() {
    let c = Client::new().await;
    for (headline, severity) in [("a", "1"), ("b", "2"), ("c", "1")] {
        c.sim.create_as_user("alice", [("Headline", headline), ("Severity", severity)]);
    }
    let answer = c
        .request(reqwest::Method::GET, &format!("{}/query", c.factory()))
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
        .request(reqwest::Method::GET, &format!("{}/query", c.factory()))
        .query(&[("oslc.paging", "true"), ("oslc.pageSize", "2")])
        .send()
        .await
        .unwrap();
    let page = oslc::parse_query(&answer.bytes().await.unwrap(), Limits::default()).unwrap();
    assert_eq!(page.records.len(), 2);
    assert!(page.records.iter().all(|r| r.props.is_empty() && r.about.is_some()));
    let next = page.next_page.unwrap();
    let answer = c
        .http
        .get(&next)
        .basic_auth(&c.sim.config().user, Some(&c.sim.config().password))
        .header("OSLC-Core-Version", "2.0")
        .send()
        .await
        .unwrap();
    let page = oslc::parse_query(&answer.bytes().await.unwrap(), Limits::default()).unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.next_page, None);

    // Atom, on request.
    let answer = c
        .http
        .get(c.url(&format!("{}/query", c.factory())))
        .basic_auth(&c.sim.config().user, Some(&c.sim.config().password))
        .header("OSLC-Core-Version", "2.0")
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
    assert!(text.contains("/query\""));
    let other_db = c.request(reqwest::Method::GET, "/cqweb/oslc/repo/7.0.0/db/OTHER/services").send().await.unwrap();
    assert_eq!(other_db.status(), StatusCode::NOT_FOUND);
}
