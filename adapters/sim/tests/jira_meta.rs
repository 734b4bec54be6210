//! The Jira simulator's create metadata, webhook list and editable workflow, as an
//! integrator's tooling reads them before go-live.

use deskgate_sim::jira::{JiraSim, JiraSimConfig};
use serde_json::{Value, json};

async fn get(sim: &JiraSim, path: &str) -> (u16, Value) {
    let c = sim.config();
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{}{path}", sim.base_url()))
        .basic_auth(&c.email, Some(&c.api_token))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn create_metadata_pages_in_each_products_shape_and_names_an_unknown_project() {
    let dc = JiraSim::spawn(JiraSimConfig::default()).await.unwrap();
    let (status, types) = get(&dc, "/rest/api/2/issue/createmeta/DRIFT/issuetypes").await;
    assert_eq!(status, 200);
    assert_eq!(types["values"][0]["name"], "Incident");
    assert_eq!(types["isLast"], true);
    let id = types["values"][0]["id"].as_str().unwrap().to_owned();
    let (_, fields) = get(&dc, &format!("/rest/api/2/issue/createmeta/DRIFT/issuetypes/{id}")).await;
    let ids: Vec<&str> = fields["values"].as_array().unwrap().iter().filter_map(|f| f["fieldId"].as_str()).collect();
    assert!(ids.contains(&"summary") && ids.contains(&"customfield_10042"), "{ids:?}");
    let (status, body) = get(&dc, "/rest/api/2/issue/createmeta/NOPE/issuetypes").await;
    assert_eq!((status, body["errorMessages"][0].as_str()), (404, Some("No project could be found with key 'NOPE'.")));

    let cloud = JiraSim::spawn(JiraSimConfig::cloud()).await.unwrap();
    let (_, types) = get(&cloud, "/rest/api/3/issue/createmeta/DRIFT/issuetypes").await;
    assert_eq!(types["issueTypes"][0]["name"], "Incident");
    let (_, fields) = get(&cloud, &format!("/rest/api/3/issue/createmeta/DRIFT/issuetypes/{id}")).await;
    assert!(fields["fields"].as_array().is_some_and(|f| !f.is_empty()), "{fields}");
}

#[tokio::test]
async fn a_removed_transition_is_neither_offered_nor_taken() {
    let sim =
        JiraSim::spawn(JiraSimConfig { removed_transitions: vec!["Reopen Issue".into()], ..JiraSimConfig::default() })
            .await
            .unwrap();
    let key = sim.create_as_user(json!({ "summary": "s" })).unwrap();
    sim.transition_as_user(&key, "In Progress").unwrap();
    sim.transition_as_user(&key, "Done").unwrap();
    let (_, offered) = get(&sim, &format!("/rest/api/2/issue/{key}/transitions")).await;
    let names: Vec<&str> =
        offered["transitions"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["Close Issue"]);
    assert!(sim.transition_as_user(&key, "Reopened").is_err());
    let (_, hooks) = get(&sim, "/rest/webhooks/1.0/webhook").await;
    assert_eq!(hooks, json!([]), "no webhook configured");
}
