//! The replicated deployment (deploy/compose/replicated.yml, deploy/k8s/replicated/):
//! several replicas on one PostgreSQL database. The configurations they run load,
//! with the store the environment names, and every secret they reference is given.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use deskgate::config::{Config, MapEnv, StoreConfig};
use serde_yaml::Value;

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(path)
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(deploy(path)).unwrap_or_else(|e| panic!("deploy/{path}: {e}"));
    let mut v: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("deploy/{path}: {e}"));
    // Compose files share settings through YAML merge keys (`<<: *replica`).
    v.apply_merge().unwrap_or_else(|e| panic!("deploy/{path}: {e}"));
    v
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("expected a string, got {v:?}"))
}

/// Every `{ env = "NAME" }` a configuration references.
fn env_refs(toml_text: &str) -> BTreeSet<String> {
    toml_text.split("env = \"").skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect()
}

/// The configuration `text` as a replica with `vars` in its environment loads it.
fn load(text: &str, base: &str, vars: &[(String, String)]) -> Config {
    let env = vars.iter().fold(MapEnv::new(false), |env, (k, v)| env.with(k, v.clone()));
    Config::from_toml(text, Path::new(base), &env).unwrap_or_else(|p| panic!("{p:?}"))
}

fn postgres(config: &Config) -> &deskgate::config::PostgresConfig {
    match &config.gateway.store {
        StoreConfig::Postgres(pg) => pg,
        other => panic!("expected the PostgreSQL store, got {other:?}"),
    }
}

#[test]
fn compose_runs_two_replicas_on_one_postgres_database_next_to_the_simulators() {
    let compose = yaml("compose/replicated.yml");
    let services = &compose["services"];
    assert_eq!(str_of(&services["postgres"]["image"]).split(':').next(), Some("postgres"));
    let config_text = std::fs::read_to_string(deploy("compose/gateway.toml")).unwrap();
    let mut listens = BTreeSet::new();
    for name in ["deskgate-a", "deskgate-b"] {
        let replica = &services[name];
        assert_eq!(str_of(&replica["network_mode"]), "service:postgres", "{name}");
        let volumes: Vec<&str> = replica["volumes"].as_sequence().unwrap().iter().map(str_of).collect();
        assert!(volumes.iter().any(|v| v.starts_with("./gateway.toml:")), "{name}: {volumes:?}");
        let env: Vec<(String, String)> = replica["environment"]
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(k, v)| (str_of(k).to_owned(), str_of(v).to_owned()))
            .collect();
        let names: BTreeSet<String> = env.iter().map(|(k, _)| k.clone()).collect();
        for needed in env_refs(&config_text) {
            assert!(names.contains(&needed), "{name} does not set {needed}");
        }
        let config = load(&config_text, "/etc/deskgate", &env);
        let pg = postgres(&config);
        assert!(pg.url.starts_with("postgres://deskgate@127.0.0.1:5432/"), "{name}: {}", pg.url);
        assert!(pg.password.is_some(), "{name}: the password comes by reference");
        listens.insert(config.gateway.listen.port());
    }
    assert_eq!(listens.len(), 2, "the replicas share a network namespace: each its own port");
    let published: Vec<&str> = services["postgres"]["ports"].as_sequence().unwrap().iter().map(str_of).collect();
    for port in listens {
        assert!(published.iter().any(|p| p.ends_with(&format!(":{port}"))), "{port} not published: {published:?}");
    }
}

#[test]
fn kubernetes_runs_a_deployment_of_replicas_with_a_disruption_budget_on_the_shared_configuration() {
    let deployment = yaml("k8s/replicated/deployment.yaml");
    assert_eq!(str_of(&deployment["kind"]), "Deployment");
    assert!(deployment["spec"]["replicas"].as_u64().is_some_and(|n| n >= 2));
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let pdb = yaml("k8s/replicated/pdb.yaml");
    assert_eq!(str_of(&pdb["kind"]), "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"].as_u64(), Some(1));
    assert_eq!(&pdb["spec"]["selector"]["matchLabels"], labels, "the budget covers the replicas");
    let service = yaml("k8s/service.yaml");
    assert_eq!(&service["spec"]["selector"], labels, "the Service reaches the replicas");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"].as_bool(), Some(true));

    let config_map = yaml("k8s/configmap.yaml");
    let config_text = str_of(&config_map["data"]["gateway.toml"]).to_owned();
    let example = yaml("k8s/secret.example.yaml");
    let keys: BTreeSet<&str> = example["stringData"].as_mapping().unwrap().keys().map(str_of).collect();
    let mut env = Vec::new();
    for e in container["env"].as_sequence().unwrap() {
        let name = str_of(&e["name"]).to_owned();
        match e["value"].as_str() {
            Some(v) => env.push((name, v.to_owned())),
            None => {
                let key = str_of(&e["valueFrom"]["secretKeyRef"]["key"]);
                assert!(keys.contains(key), "secret.example.yaml lacks {key}");
                env.push((name, "a-test-value".to_owned()));
            }
        }
    }
    let names: BTreeSet<String> = env.iter().map(|(k, _)| k.clone()).collect();
    for needed in env_refs(&config_text) {
        assert!(names.contains(&needed), "the Deployment does not set {needed}");
    }
    let config = load(&config_text, "/etc/deskgate/k8s", &env);
    let pg = postgres(&config);
    assert!(pg.password.is_some());
    let kustomization = yaml("k8s/replicated/kustomization.yaml");
    for r in kustomization["resources"].as_sequence().unwrap() {
        assert!(deploy(&format!("k8s/replicated/{}", str_of(r))).exists(), "{r:?}");
    }
}
