//! The Jira simulator speaks Jira: status codes, error shapes, workflow rules.

use deskgate_sim::jira::{JiraSim, JiraSimConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Client {
    http: reqwest::Client,
    base: String,
    email: String,
    token: String,
}

impl Client {
    fn new(sim: &JiraSim) -> Self {
        Self {
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            base: sim.base_url(),
            email: sim.config().email.clone(),
            token: sim.config().api_token.clone(),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut request =
            self.http.request(method, format!("{}{path}", self.base)).basic_auth(&self.email, Some(&self.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }
}

async fn sim() -> (JiraSim, Client) {
    sim_with(JiraSimConfig::default()).await
}

async fn sim_with(config: JiraSimConfig) -> (JiraSim, Client) {
    let sim = JiraSim::spawn(config).await.unwrap();
    let client = Client::new(&sim);
    (sim, client)
}

async fn create(client: &Client, summary: &str) -> Value {
    let (status, body) = client
        .post(
            "/rest/api/2/issue",
            json!({"fields": {"project": {"key": "DRIFT"}, "issuetype": {"name": "Incident"}, "summary": summary}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

#[tokio::test]
async fn server_info_and_metadata_answer_like_jira() {
    let (sim, client) = sim().await;
    // serverInfo is anonymous, as in Jira; clients read versionNumbers and deploymentType.
    let info: Value =
        reqwest::get(format!("{}/rest/api/2/serverInfo", sim.base_url())).await.unwrap().json().await.unwrap();
    assert_eq!(info["versionNumbers"], json!([9, 12, 2]));
    assert_eq!(info["deploymentType"], "Server");
    assert_eq!(info["baseUrl"], sim.base_url());

    let (status, me) = client.get("/rest/api/2/myself").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["emailAddress"], sim.config().email);
    let (cloud, cloud_client) = sim_with(JiraSimConfig::cloud()).await;
    let (status, me) = cloud_client.get("/rest/api/3/myself").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["emailAddress"], cloud.config().email);
    let (_, priorities) = client.get("/rest/api/2/priority").await;
    let names: Vec<_> = priorities.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Highest", "High", "Medium", "Low", "Lowest"]);
    let (_, fields) = client.get("/rest/api/2/field").await;
    let custom = fields.as_array().unwrap().iter().find(|f| f["id"] == "customfield_10042").unwrap();
    assert_eq!(custom["clauseNames"][0], "cf[10042]");
    assert_eq!(client.get("/rest/api/4/myself").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn one_instance_hosts_several_projects_each_with_its_own_keys() {
    let config = JiraSimConfig { projects: vec!["RMSD".to_owned(), "DRIFT".to_owned()], ..JiraSimConfig::default() };
    let (sim, client) = sim_with(config).await;
    let (status, listed) = client.get("/rest/api/2/project").await;
    assert_eq!(status, StatusCode::OK);
    let keys: Vec<_> = listed.as_array().unwrap().iter().map(|p| p["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["RMSD", "DRIFT"]);

    // Each project by key or id, with its issue types; an unknown one is Jira's 404.
    let (status, drift) = client.get("/rest/api/2/project/drift").await;
    assert_eq!(status, StatusCode::OK, "{drift}");
    assert_eq!(drift["key"], "DRIFT");
    let by_id = client.get(&format!("/rest/api/2/project/{}", drift["id"].as_str().unwrap())).await.1;
    assert_eq!(by_id["key"], "DRIFT");
    assert!(drift["issueTypes"].as_array().unwrap().iter().any(|t| t["name"] == "Incident"), "{drift}");
    let (status, missing) = client.get("/rest/api/2/project/NOPE").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(missing["errorMessages"][0], "No project could be found with key 'NOPE'.");

    // Keys count per project; a search in one project finds only its issues.
    let mut keys = Vec::new();
    for project in ["RMSD", "DRIFT", "RMSD"] {
        let fields = json!({"project": {"key": project}, "issuetype": {"name": "Incident"}, "summary": project});
        let (status, body) = client.post("/rest/api/2/issue", json!({ "fields": fields })).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        keys.push(body["key"].as_str().unwrap().to_owned());
    }
    assert_eq!(keys, ["RMSD-1", "DRIFT-1", "RMSD-2"]);
    let (_, hits) = client.get("/rest/api/2/search?jql=project%20%3D%20RMSD").await;
    let mut found: Vec<_> = hits["issues"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
    found.sort();
    assert_eq!(found, ["RMSD-1", "RMSD-2"]);
    assert_eq!(sim.issue("DRIFT-1").unwrap().project, "DRIFT");
}

#[tokio::test]
async fn bad_credentials_get_401() {
    let (sim, client) = sim().await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{}/rest/api/2/myself", sim.base_url());
    for request in
        [http.get(&url), http.get(&url).basic_auth(&client.email, Some("wrong")), http.get(&url).bearer_auth("wrong")]
    {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.unwrap();
        assert!(body["errorMessages"][0].as_str().unwrap().contains("not authenticated"));
    }
    let ok = http.get(&url).bearer_auth(&sim.config().bearer_token).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
}

#[tokio::test]
async fn create_answers_id_key_self_and_validates_fields() {
    let (sim, client) = sim().await;
    let created = create(&client, "first").await;
    assert_eq!(created["id"], "10000");
    assert_eq!(created["key"], "DRIFT-1");
    assert_eq!(created["self"], format!("{}/rest/api/2/issue/10000", sim.base_url()));
    assert_eq!(create(&client, "second").await["key"], "DRIFT-2");

    let (status, body) =
        client.post("/rest/api/2/issue", json!({"fields": {"project": {"key": "NOPE"}, "foo": 1}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errors"]["project"], "valid project is required");
    assert_eq!(body["errors"]["issuetype"], "issue type is required");
    assert_eq!(body["errors"]["summary"], "You must specify a summary of the issue.");
    assert_eq!(body["errors"]["foo"], "Field 'foo' cannot be set. It is not on the appropriate screen, or unknown.");
    assert!(body["errorMessages"].as_array().unwrap().is_empty());

    // v3 (Cloud) wants ADF for descriptions.
    let (cloud, cloud_client) = sim_with(JiraSimConfig::cloud()).await;
    let (status, body) = cloud_client
        .post(
            "/rest/api/3/issue",
            json!({"fields": {"project": {"key": "DRIFT"}, "issuetype": {"name": "Task"}, "summary": "s", "description": "plain"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["description"].as_str().unwrap().contains("Atlassian Document"));
    assert_eq!(sim.count(), 2);
    assert_eq!(cloud.count(), 0);
}

#[tokio::test]
async fn get_and_put_issue() {
    let (sim, client) = sim().await;
    create(&client, "first").await;
    let (status, issue) = client.get("/rest/api/2/issue/DRIFT-1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(issue["fields"]["status"]["name"], "Open");
    assert_eq!(issue["fields"]["status"]["statusCategory"]["key"], "new");
    assert_eq!(issue["fields"]["priority"]["name"], "Medium");
    let created = issue["fields"]["created"].as_str().unwrap();
    assert!(created.ends_with("+0000") && created.len() == 28, "{created}");
    assert_eq!(client.get("/rest/api/2/issue/10000").await.1["key"], "DRIFT-1");
    let (_, only) = client.get("/rest/api/2/issue/DRIFT-1?fields=summary").await;
    assert_eq!(only["fields"].as_object().unwrap().len(), 1);

    let (status, _) = client
        .put(
            "/rest/api/2/issue/DRIFT-1",
            json!({"fields": {"priority": {"name": "High"}}, "update": {"labels": [{"add": "fmk"}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let issue = sim.issue("DRIFT-1").unwrap();
    assert_eq!((issue.priority.as_str(), issue.labels.clone()), ("High", vec!["fmk".to_owned()]));

    let (status, body) =
        client.put("/rest/api/2/issue/DRIFT-1", json!({"fields": {"status": {"name": "Closed"}}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["status"].as_str().unwrap().contains("cannot be set"));

    let (status, body) = client.get("/rest/api/2/issue/DRIFT-99").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["errorMessages"][0], "Issue does not exist or you do not have permission to see it.");
}

#[tokio::test]
async fn transitions_follow_the_workflow() {
    let (sim, client) = sim().await;
    create(&client, "first").await;
    let (_, available) = client.get("/rest/api/2/issue/DRIFT-1/transitions").await;
    let targets: Vec<_> =
        available["transitions"].as_array().unwrap().iter().map(|t| t["to"]["name"].as_str().unwrap()).collect();
    assert_eq!(targets, ["In Progress", "Waiting for customer", "Pending", "Resolved", "Won't Do"]);

    // Close Issue (81) is not available from Open.
    let (status, body) =
        client.post("/rest/api/2/issue/DRIFT-1/transitions", json!({"transition": {"id": "81"}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errorMessages"][0], "Transition id '81' is not valid for this issue.");

    for id in ["11", "61", "81"] {
        let (status, body) =
            client.post("/rest/api/2/issue/DRIFT-1/transitions", json!({"transition": {"id": id}})).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{id}: {body}");
    }
    let issue = sim.issue("DRIFT-1").unwrap();
    assert_eq!((issue.status.as_str(), issue.resolution.as_deref()), ("Closed", Some("Done")));
    sim.transition_as_user("DRIFT-1", "Reopened").unwrap();
    assert_eq!(sim.issue("DRIFT-1").unwrap().resolution, None);
    assert!(sim.transition_as_user("DRIFT-1", "Closed").is_err());
}

/// Transition `id` of DRIFT-1 with the resolution `resolution`: the answer.
async fn resolve_with(client: &Client, id: &str, resolution: &str) -> (StatusCode, Value) {
    let body = json!({"transition": {"id": id}, "fields": {"resolution": {"name": resolution}}});
    client.post("/rest/api/2/issue/DRIFT-1/transitions", body).await
}

#[tokio::test]
async fn each_transition_takes_only_the_fields_on_its_screen() {
    let (sim, client) = sim().await;
    create(&client, "first").await;
    let (_, plain) = client.get("/rest/api/2/issue/DRIFT-1/transitions").await;
    assert!(plain["transitions"].as_array().unwrap().iter().all(|t| t.get("fields").is_none()), "{plain}");
    let (_, expanded) = client.get("/rest/api/2/issue/DRIFT-1/transitions?expand=transitions.fields").await;
    let by_name =
        |name: &str| expanded["transitions"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap().clone();
    let resolve = by_name("Resolve Issue");
    assert_eq!(resolve["hasScreen"], true);
    assert_eq!(resolve["fields"]["resolution"]["required"], true);
    assert_eq!(resolve["fields"]["resolution"]["operations"], json!(["set"]));
    assert!(resolve["fields"]["resolution"]["allowedValues"].as_array().unwrap().iter().any(|v| v["name"] == "Done"));
    let wont_do = by_name("Won't Do");
    assert_eq!(wont_do["hasScreen"], false);
    assert_eq!(wont_do["fields"], json!({}));

    // A resolution on a transition without it on its screen: 400, and nothing changes.
    let (status, body) = resolve_with(&client, "101", "Won't Do").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({"errorMessages": [], "errors": {
            "resolution": "Field 'resolution' cannot be set. It is not on the appropriate screen, or unknown."
        }})
    );
    assert_eq!(sim.issue("DRIFT-1").unwrap().status, "Open");
    let (status, _) = resolve_with(&client, "61", "Fixed").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let issue = sim.issue("DRIFT-1").unwrap();
    assert_eq!((issue.status.as_str(), issue.resolution.as_deref()), ("Resolved", Some("Fixed")));

    let (status, body) = client.get("/rest/api/2/status/Pending%20Release").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["statusCategory"]["key"], "indeterminate");
    assert_eq!(client.get("/rest/api/2/status/Triage").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn service_management_comments_say_whether_they_are_internal() {
    let jsm = JiraSim::spawn(JiraSimConfig { service_management: true, ..JiraSimConfig::default() }).await.unwrap();
    let client = Client::new(&jsm);
    create(&client, "first").await;
    jsm.service_desk_comment_as_user("DRIFT-1", "Agents only: DB failover", false).unwrap();
    jsm.service_desk_comment_as_user("DRIFT-1", "We are on it", true).unwrap();
    let (_, page) = client.get("/rest/api/2/issue/DRIFT-1/comment").await;
    let comments = page["comments"].as_array().unwrap();
    assert_eq!(comments[0]["jsdPublic"], false);
    assert!(comments[0].get("visibility").is_none(), "an internal JSM comment has no visibility");
    assert_eq!(comments[1]["jsdPublic"], true);

    // Without Service Management the property changes nothing, as in Jira.
    let (plain, client) = sim().await;
    create(&client, "first").await;
    plain.service_desk_comment_as_user("DRIFT-1", "Agents only", false).unwrap();
    let (_, page) = client.get("/rest/api/2/issue/DRIFT-1/comment").await;
    assert!(page["comments"][0].get("jsdPublic").is_none(), "{page}");
}

#[tokio::test]
async fn comments_and_remote_links() {
    // v2 and v3 side by side: a Cloud site.
    let (sim, client) = sim_with(JiraSimConfig::cloud()).await;
    create(&client, "first").await;
    let (status, comment) = client
        .post(
            "/rest/api/3/issue/DRIFT-1/comment",
            json!({"body": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": "hello"}]}]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(comment["body"]["type"], "doc");
    let (status, body) = client
        .post(
            "/rest/api/2/issue/DRIFT-1/comment",
            json!({"body": "x", "visibility": {"type": "role", "value": "Nobody"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, page) = client.get("/rest/api/2/issue/DRIFT-1/comment").await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["comments"][0]["body"], "hello");

    let link = json!({"globalId": "g-1", "object": {"url": "https://x/1", "title": "X-1"}});
    let (status, first) = client.post("/rest/api/2/issue/DRIFT-1/remotelink", link.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, again) = client.post("/rest/api/2/issue/DRIFT-1/remotelink", link).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first["id"], again["id"]);
    let (_, links) = client.get("/rest/api/2/issue/DRIFT-1/remotelink").await;
    assert_eq!(links.as_array().unwrap().len(), 1);
    let (status, body) = client.post("/rest/api/2/issue/DRIFT-1/remotelink", json!({"object": {}})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errors"]["url"].is_string());
    assert_eq!(sim.remote_links("DRIFT-1").len(), 1);

    create(&client, "problem").await;
    // An issue link of a known type, then of one Jira does not have.
    for (link_type, status) in [("Relates", StatusCode::CREATED), ("Nope", StatusCode::NOT_FOUND)] {
        let link =
            json!({"type": {"name": link_type}, "inwardIssue": {"key": "DRIFT-1"}, "outwardIssue": {"key": "DRIFT-2"}});
        assert_eq!(client.post("/rest/api/2/issueLink", link).await.0, status, "{link_type}");
    }
}

#[tokio::test]
async fn search_pages_and_refuses_bad_jql() {
    let (sim, client) = sim().await;
    for i in 0..5 {
        create(&client, &format!("issue {i}")).await;
    }
    sim.set_priority_as_user("DRIFT-3", "Highest").unwrap();
    let (status, page) = client
        .post(
            "/rest/api/2/search",
            json!({"jql": "project = DRIFT ORDER BY key ASC", "startAt": 1, "maxResults": 2, "fields": ["summary"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (page["total"].as_u64(), page["startAt"].as_u64(), page["maxResults"].as_u64()),
        (Some(5), Some(1), Some(2))
    );
    let keys: Vec<_> = page["issues"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["DRIFT-2", "DRIFT-3"]);

    let (_, hits) = client.get("/rest/api/2/search?jql=priority%20%3D%20Highest").await;
    assert_eq!(hits["total"], 1);
    assert_eq!(hits["issues"][0]["key"], "DRIFT-3");

    let (status, body) = client.get("/rest/api/2/search?jql=project%20%3D").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["errorMessages"][0].as_str().unwrap().starts_with("Error in the JQL Query"));
    let (status, body) = client.post("/rest/api/2/search", json!({"jql": "nosuchfield = 1"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["errorMessages"][0],
        "Field 'nosuchfield' does not exist or you do not have permission to view it."
    );
}

#[tokio::test]
async fn faults_apply_to_jira_routes() {
    let (sim, client) = sim().await;
    let (status, _) = client.post("/_sim/faults", json!([{"kind": "rate_limited", "retry_after_secs": 3}])).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let response = client.http.get(format!("{}/rest/api/2/myself", sim.base_url())).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "3");
    assert_eq!(client.get("/rest/api/2/myself").await.0, StatusCode::OK);
}

#[tokio::test]
async fn cloud_searches_with_cursor_pages_and_the_legacy_search_is_gone() {
    let (sim, client) = sim_with(JiraSimConfig::cloud()).await;
    for i in 0..5 {
        create(&client, &format!("issue {i}")).await;
    }
    for v in ["2", "3"] {
        let (status, body) = client.get(&format!("/rest/api/{v}/search?jql=project%20%3D%20DRIFT")).await;
        assert_eq!(status, StatusCode::GONE, "GET v{v}");
        assert!(body["errorMessages"][0].as_str().unwrap().contains("/rest/api/3/search/jql"), "{body}");
        let (status, _) = client.post(&format!("/rest/api/{v}/search"), json!({"jql": "project = DRIFT"})).await;
        assert_eq!(status, StatusCode::GONE, "POST v{v}");
    }
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..5 {
        let mut body = json!({"jql": "project = DRIFT ORDER BY key ASC", "maxResults": 2, "fields": ["summary"]});
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let (status, page) = client.post("/rest/api/3/search/jql", body).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.get("total").is_none() && page.get("startAt").is_none(), "{page}");
        keys.extend(page["issues"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap().to_owned()));
        token = page["nextPageToken"].as_str().map(str::to_owned);
        assert_eq!(page["isLast"].as_bool(), Some(token.is_none()), "{page}");
        if token.is_none() {
            break;
        }
    }
    assert_eq!(keys, ["DRIFT-1", "DRIFT-2", "DRIFT-3", "DRIFT-4", "DRIFT-5"]);
    // Without `fields` only ids come back; GET takes the same parameters.
    let (status, page) = client.get("/rest/api/2/search/jql?jql=summary%20~%20%22issue%203%22").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["issues"], json!([{"id": "10003"}]));
    let (status, _) = client.post("/rest/api/3/search/jql", json!({"jql": ""})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = client.post("/rest/api/3/search/jql", json!({"jql": "project = DRIFT", "startAt": 2})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let info: Value =
        reqwest::get(format!("{}/rest/api/3/serverInfo", sim.base_url())).await.unwrap().json().await.unwrap();
    assert_eq!(info["deploymentType"], "Cloud");
    // Users by accountId only.
    let (_, issue) = client.get("/rest/api/3/issue/DRIFT-1").await;
    let reporter = &issue["fields"]["reporter"];
    assert_eq!(reporter["accountId"], sim.config().api_user.account_id);
    assert!(reporter.get("name").is_none() && reporter.get("key").is_none(), "{reporter}");
    let (by_name, by_id) = (assign_operator(&sim, "name"), assign_operator(&sim, "accountId"));
    assert_eq!(client.put("/rest/api/3/issue/DRIFT-1", by_name).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(client.put("/rest/api/3/issue/DRIFT-1", by_id).await.0, StatusCode::NO_CONTENT);
}

/// An edit assigning the simulator's operator, named by `by` (`name`, as Data Center
/// names users, or `accountId`, as Cloud does).
fn assign_operator(sim: &JiraSim, by: &str) -> Value {
    let operator = &sim.config().operator;
    let named = if by == "name" { &operator.name } else { &operator.account_id };
    json!({"fields": {"assignee": {by: named}}})
}

#[tokio::test]
async fn data_center_has_no_v3_and_no_enhanced_search() {
    let (sim, client) = sim().await;
    create(&client, "first").await;
    let v3 = json!({"fields": {"project": {"key": "DRIFT"}, "issuetype": {"name": "Task"}, "summary": "s"}});
    assert_eq!(client.post("/rest/api/3/issue", v3).await.0, StatusCode::NOT_FOUND);
    assert_eq!(client.get("/rest/api/3/issue/DRIFT-1").await.0, StatusCode::NOT_FOUND);
    assert_eq!(sim.count(), 1);
    for path in ["/rest/api/2/search/jql", "/rest/api/3/search/jql"] {
        assert_eq!(client.post(path, json!({"jql": "project = DRIFT"})).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, page) = client.post("/rest/api/2/search", json!({"jql": "project = DRIFT"})).await;
    assert_eq!((status, page["total"].as_u64()), (StatusCode::OK, Some(1)));
    // Users by name and key.
    let reporter = &page["issues"][0]["fields"]["reporter"];
    assert_eq!(reporter["name"], sim.config().api_user.name);
    assert!(reporter.get("accountId").is_none(), "{reporter}");
    let (by_name, by_id) = (assign_operator(&sim, "name"), assign_operator(&sim, "accountId"));
    assert_eq!(client.put("/rest/api/2/issue/DRIFT-1", by_id).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(client.put("/rest/api/2/issue/DRIFT-1", by_name).await.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn cloud_search_lags_behind_writes_except_for_reconciled_issues() {
    let (sim, client) = sim_with(JiraSimConfig::cloud()).await;
    // Set over the operator API, as a test against a running simulator would.
    let lag = client.call(reqwest::Method::PUT, "/_sim/jira/index-lag", Some(json!({"millis": 400}))).await;
    assert_eq!(lag.0, StatusCode::NO_CONTENT);
    let created = create(&client, "fresh").await;
    let id: u64 = created["id"].as_str().unwrap().parse().unwrap();
    let search = |extra: Value| {
        let mut body = json!({"jql": "project = DRIFT AND summary ~ fresh", "fields": ["summary"]});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        client.post("/rest/api/3/search/jql", body)
    };
    assert_eq!(search(json!({})).await.1["issues"], json!([]), "not indexed yet");
    let (_, reconciled) = search(json!({"reconcileIssues": [id]})).await;
    assert_eq!(reconciled["issues"][0]["key"], "DRIFT-1");
    // The issue itself reads back at once.
    assert_eq!(client.get("/rest/api/3/issue/DRIFT-1").await.0, StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    assert_eq!(search(json!({})).await.1["issues"][0]["key"], "DRIFT-1");

    // An edit is found as the old version until it is indexed.
    client.put("/rest/api/3/issue/DRIFT-1", json!({"fields": {"summary": "renamed"}})).await;
    let renamed = json!({"jql": "project = DRIFT AND summary ~ renamed", "fields": ["summary"]});
    assert_eq!(client.post("/rest/api/3/search/jql", renamed.clone()).await.1["issues"], json!([]));
    assert_eq!(search(json!({})).await.1["issues"][0]["fields"]["summary"], "fresh");
    tokio::time::sleep(std::time::Duration::from_millis(450)).await;
    assert_eq!(client.post("/rest/api/3/search/jql", renamed).await.1["issues"][0]["key"], "DRIFT-1");
    assert_eq!(sim.count(), 1);
}

#[tokio::test]
async fn a_lost_answer_still_applies_the_change() {
    let (sim, client) = sim_with(JiraSimConfig::cloud()).await;
    let rule = json!({"method": "POST", "path_suffix": "/issue", "count": 1});
    let lose = client.call(reqwest::Method::POST, "/_sim/jira/lose-responses", Some(rule)).await;
    assert_eq!(lose.0, StatusCode::NO_CONTENT);
    let body = json!({"fields": {"project": {"key": "DRIFT"}, "issuetype": {"name": "Task"}, "summary": "s"}});
    let answer = client
        .http
        .post(format!("{}/rest/api/2/issue", client.base))
        .basic_auth(&client.email, Some(&client.token))
        .json(&body)
        .send()
        .await;
    let read = match answer {
        Ok(response) => response.bytes().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert!(read.is_err(), "the answer must break off");
    assert_eq!(sim.count(), 1, "the create was applied");
    // Only the next one was lost.
    assert_eq!(client.post("/rest/api/2/issue", body).await.0, StatusCode::CREATED);
    assert_eq!(sim.count(), 2);
}
