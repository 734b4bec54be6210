//! The deployment files in deploy/ agree with each other and with the gateway:
//! probes and health checks hit /healthz and /readyz on the port the configuration
//! listens on, every secret the configurations reference is provided, the data
//! directory is the volume, and the configurations load.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use deskgate::config::{Config, MapEnv, StoreConfig};
use serde_yaml::Value;

fn deploy(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy").join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(deploy(path)).unwrap_or_else(|e| panic!("deploy/{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&read(path)).unwrap_or_else(|e| panic!("deploy/{path}: {e}"))
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("expected a string, got {v:?}"))
}

/// The port of `gateway.listen` in a configuration text.
fn listen_port(toml_text: &str) -> u16 {
    let table: toml::Table = toml_text.parse().unwrap();
    let listen = table["gateway"]["listen"].as_str().unwrap();
    listen.rsplit(':').next().unwrap().parse().unwrap()
}

fn data_dir(toml_text: &str) -> String {
    let table: toml::Table = toml_text.parse().unwrap();
    table["gateway"]["data_dir"].as_str().unwrap().to_owned()
}

/// Every `{ env = "NAME" }` a configuration references.
fn env_refs(toml_text: &str) -> BTreeSet<String> {
    toml_text.split("env = \"").skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect()
}

/// Every `{ file = "PATH" }` a configuration references outside comments.
fn file_refs(toml_text: &str) -> BTreeSet<String> {
    toml_text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split("file = \"").skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()))
        .collect()
}

fn env_with(names: &BTreeSet<String>) -> MapEnv {
    names.iter().fold(MapEnv::new(false), |env, n| env.with(n, "a-test-value"))
}

#[test]
fn the_dockerfile_builds_in_stages_runs_unprivileged_and_checks_healthz_on_the_exposed_port() {
    let docker = read("Dockerfile");
    assert!(docker.contains("FROM rust:1-bookworm AS builder"));
    assert!(docker.contains("FROM debian:bookworm-slim"));
    assert!(docker.contains("ca-certificates"));
    assert!(docker.contains("VOLUME [\"/data\"]"));
    assert!(docker.contains("DESKGATE_GATEWAY__DATA_DIR=/data"));
    let user = docker.lines().find_map(|l| l.strip_prefix("USER ")).expect("a USER line");
    assert!(!user.starts_with('0') && !user.starts_with("root"), "runs as {user}");
    let listen = docker.split("DESKGATE_GATEWAY__LISTEN=").nth(1).unwrap().split_whitespace().next().unwrap();
    let port = listen.rsplit(':').next().unwrap();
    assert!(docker.contains(&format!("EXPOSE {port}\n")), "EXPOSE matches the listen port {port}");
    let health = docker.split("HEALTHCHECK").nth(1).unwrap().split("\n\n").next().unwrap();
    assert!(health.contains(&format!("127.0.0.1:{port}/healthz")), "{health}");
    assert!(docker.contains("COPY deploy/gateway.toml deploy/contacts.toml /etc/deskgate/"));
    assert!(docker.contains("DESKGATE_CONFIG=/etc/deskgate/gateway.toml"));
}

#[test]
fn compose_runs_the_gateway_next_to_the_simulators_it_is_configured_for() {
    let compose = yaml("docker-compose.yml");
    let gw = &compose["services"]["deskgate"];
    let sim = &compose["services"]["sim"];
    let config_text = read("compose/gateway.toml");
    let port = listen_port(&config_text);

    // The configuration the gateway is started with is the compose one, mounted.
    let args: Vec<&str> = gw["command"].as_sequence().unwrap().iter().map(str_of).collect();
    assert_eq!(args[0], "serve");
    let config_at = args[args.iter().position(|a| *a == "--config").unwrap() + 1];
    let volumes: Vec<&str> = gw["volumes"].as_sequence().unwrap().iter().map(str_of).collect();
    assert!(volumes.iter().any(|v| v.starts_with("./compose/gateway.toml:") && v.contains(config_at)), "{volumes:?}");
    assert!(volumes.iter().any(|v| v.ends_with(&format!(":{}", data_dir(&config_text)))), "{volumes:?}");

    let health: Vec<&str> = gw["healthcheck"]["test"].as_sequence().unwrap().iter().map(str_of).collect();
    assert!(health.iter().any(|a| *a == format!("http://127.0.0.1:{port}/healthz")), "{health:?}");
    let published: Vec<&str> = gw["ports"].as_sequence().unwrap().iter().map(str_of).collect();
    assert!(published.iter().any(|p| p.ends_with(&format!(":{port}"))), "{published:?}");

    // The simulators share the gateway's loopback and serve the gateway's own
    // configuration: every desk calls a simulator on the port it names (what
    // `deskgate sim --config` does with it is tested in sim_cli).
    assert_eq!(str_of(&sim["network_mode"]), "service:deskgate");
    let sim_args: Vec<&str> = sim["command"].as_sequence().unwrap().iter().map(str_of).collect();
    assert_eq!(sim_args[0], "sim");
    let sim_config = sim_args[sim_args.iter().position(|a| *a == "--config").expect("sim --config") + 1];
    assert_eq!(sim_config, config_at, "the sim serves the gateway's configuration");
    let sim_volumes: Vec<&str> = sim["volumes"].as_sequence().unwrap().iter().map(str_of).collect();
    assert!(sim_volumes.contains(&format!("./compose/gateway.toml:{sim_config}:ro").as_str()), "{sim_volumes:?}");
    let table: toml::Table = config_text.parse().unwrap();
    for (desk, d) in table["desks"].as_table().unwrap() {
        let Some(endpoint) = d.get("endpoint").and_then(|e| e.as_str()) else { continue };
        let url = url::Url::parse(endpoint).unwrap();
        assert_eq!(url.host_str(), Some("127.0.0.1"), "{desk}");
        assert_ne!(url.port(), None, "{desk} names the simulator's port");
    }
    // The simulated Jiras sign their webhooks with the secrets the gateway checks.
    let sim_env = sim["environment"].as_mapping().expect("the sim service has an environment");
    for (k, v) in sim_env {
        assert_eq!(gw["environment"][k], *v, "{}", str_of(k));
    }
    for desk in table["desks"].as_table().unwrap().values() {
        let Some(name) = desk.get("jira").and_then(|j| j["webhook_secret"].get("env")).and_then(|e| e.as_str()) else {
            continue;
        };
        assert!(sim_env.contains_key(name), "the sim service does not set {name}");
    }

    // Every secret the configuration references is in the environment, and it loads.
    let environment = gw["environment"].as_mapping().unwrap();
    let mut env = MapEnv::new(false);
    for (k, v) in environment {
        let value = str_of(v);
        // ${NAME:-default} takes its default here.
        let value = value.split(":-").nth(1).map_or(value, |d| d.trim_end_matches('}'));
        env = env.with(str_of(k), value);
    }
    for name in env_refs(&config_text) {
        assert!(env.vars.contains_key(&name), "compose does not set {name}");
    }
    let config = Config::from_toml(&config_text, &deploy(""), &env).unwrap_or_else(|p| panic!("{p:?}"));
    assert_eq!(config.gateway.listen.port(), port);
}

#[test]
fn the_kubernetes_statefulset_probes_mounts_and_secrets_match_its_configuration() {
    let config_map = yaml("k8s/configmap.yaml");
    assert_eq!(str_of(&config_map["kind"]), "ConfigMap");
    let config_text = str_of(&config_map["data"]["gateway.toml"]).to_owned();
    let port = listen_port(&config_text);

    let set = yaml("k8s/statefulset.yaml");
    assert_eq!(str_of(&set["kind"]), "StatefulSet");
    assert_eq!(set["spec"]["replicas"].as_u64(), Some(1), "sled is a single-writer store");
    let pod = &set["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    let container = &pod["containers"][0];
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(container["securityContext"]["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(container["ports"][0]["containerPort"].as_u64(), Some(u64::from(port)));
    for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
        let get = &container[probe]["httpGet"];
        assert_eq!(str_of(&get["path"]), path, "{probe}");
        assert_eq!(get["port"].as_u64(), Some(u64::from(port)), "{probe}");
    }

    // The data directory is the volume claim; the configuration is the ConfigMap.
    let mounts = container["volumeMounts"].as_sequence().unwrap();
    let mount_of =
        |name: &str| mounts.iter().find(|m| str_of(&m["name"]) == name).map(|m| str_of(&m["mountPath"]).to_owned());
    let claim = str_of(&set["spec"]["volumeClaimTemplates"][0]["metadata"]["name"]);
    assert_eq!(mount_of(claim).as_deref(), Some(data_dir(&config_text).as_str()));
    let volumes = pod["volumes"].as_sequence().unwrap();
    let config_volume = volumes.iter().find(|v| v["configMap"]["name"] == config_map["metadata"]["name"]).unwrap();
    let config_dir = mount_of(str_of(&config_volume["name"])).unwrap();
    let args: Vec<&str> = container["args"].as_sequence().unwrap().iter().map(str_of).collect();
    let config_at = args[args.iter().position(|a| *a == "--config").unwrap() + 1];
    assert_eq!(config_at, format!("{config_dir}/gateway.toml"));

    // Every secret the configuration references comes from the Secret, by env.
    let env: BTreeSet<String> = container["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter(|e| e["valueFrom"]["secretKeyRef"]["name"].as_str() == Some("deskgate-secrets"))
        .map(|e| str_of(&e["name"]).to_owned())
        .collect();
    let refs = env_refs(&config_text);
    assert_eq!(env, refs);
    let example = yaml("k8s/secret.example.yaml");
    let keys: BTreeSet<&str> = example["stringData"].as_mapping().unwrap().keys().map(str_of).collect();
    for e in container["env"].as_sequence().unwrap().iter().filter(|e| e["value"].is_null()) {
        let key = str_of(&e["valueFrom"]["secretKeyRef"]["key"]);
        assert!(keys.contains(key), "secret.example.yaml lacks {key}");
    }
    // With the container's plain settings, as the pod starts it.
    let settings =
        container["env"].as_sequence().unwrap().iter().filter_map(|e| Some((str_of(&e["name"]), e["value"].as_str()?)));
    let env = settings.fold(env_with(&refs), |env, (name, value)| env.with(name, value));
    let config =
        Config::from_toml(&config_text, Path::new("/etc/deskgate/k8s"), &env).unwrap_or_else(|p| panic!("{p:?}"));

    // The page cache fits in the memory limit with room for the rest of the process:
    // a cache the limit cannot hold gets the pod killed once the store outgrows it
    // (the limit was 512 MiB beside sled's default 1024 MiB cache).
    let StoreConfig::Sled { path, cache_mb } = &config.gateway.store else { panic!("the StatefulSet runs sled") };
    assert_eq!(path, Path::new(&data_dir(&config_text)));
    let limit = str_of(&container["resources"]["limits"]["memory"]);
    let limit_mib: u64 = limit.strip_suffix("Mi").and_then(|n| n.parse().ok()).expect("a limit in Mi");
    assert!(limit_mib >= cache_mb + 256, "memory limit {limit} leaves under 256 MiB beside a {cache_mb} MiB cache");

    let service = yaml("k8s/service.yaml");
    assert_eq!(service["spec"]["ports"][0]["targetPort"].as_u64(), Some(u64::from(port)));
    let kustomization = yaml("k8s/kustomization.yaml");
    let resources: Vec<&str> = kustomization["resources"].as_sequence().unwrap().iter().map(str_of).collect();
    for r in &resources {
        assert!(deploy(&format!("k8s/{r}")).exists(), "{r}");
    }
}

#[test]
fn the_systemd_unit_is_sandboxed_and_hands_every_secret_over_as_a_credential() {
    let unit = read("systemd/deskgate.service");
    let directive = |name: &str| -> Vec<String> {
        unit.lines().filter_map(|l| l.strip_prefix(&format!("{name}="))).map(str::to_owned).collect()
    };
    let exec = directive("ExecStart");
    assert_eq!(exec.len(), 1);
    assert!(exec[0].contains(" serve --config /etc/deskgate/gateway.toml"), "{exec:?}");
    for (key, value) in [
        ("DynamicUser", "yes"),
        ("ProtectSystem", "strict"),
        ("StateDirectory", "deskgate"),
        ("NoNewPrivileges", "yes"),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "yes"),
        ("CapabilityBoundingSet", ""),
        ("SystemCallFilter", "@system-service"),
    ] {
        assert!(directive(key).iter().any(|v| v == value), "{key}={value}");
    }
    assert!(directive("RestrictAddressFamilies").iter().any(|v| v.contains("AF_INET")));

    let config_text = read("systemd/gateway.toml");
    assert_eq!(data_dir(&config_text), "/var/lib/deskgate", "the state directory");
    assert!(env_refs(&config_text).is_empty(), "secrets are credentials here, not environment variables");
    let credentials: BTreeSet<String> =
        directive("LoadCredential").iter().map(|c| c.split(':').next().unwrap().to_owned()).collect();
    let refs = file_refs(&config_text);
    assert!(!refs.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let mut text = config_text.clone();
    for r in &refs {
        let name = r.strip_prefix("/run/credentials/deskgate.service/").unwrap_or_else(|| panic!("{r}"));
        assert!(credentials.contains(name), "no LoadCredential={name}:…");
        std::fs::write(dir.path().join(name), "a-test-value").unwrap();
    }
    text = text.replace("/run/credentials/deskgate.service/", &format!("{}/", dir.path().display()));
    Config::from_toml(&text, Path::new("/etc/deskgate"), &MapEnv::new(false)).unwrap_or_else(|p| panic!("{p:?}"));
}

#[test]
fn every_shipped_jira_desk_authenticates_its_webhooks_with_a_secret() {
    let configs = [
        ("gateway.toml", read("gateway.toml")),
        ("compose/gateway.toml", read("compose/gateway.toml")),
        ("k8s/configmap.yaml", str_of(&yaml("k8s/configmap.yaml")["data"]["gateway.toml"]).to_owned()),
        ("systemd/gateway.toml", read("systemd/gateway.toml")),
    ];
    for (name, text) in configs {
        let table: toml::Table = text.parse().unwrap();
        let mut jira_desks = 0;
        for (desk, d) in table["desks"].as_table().unwrap() {
            if d["system"].as_str() != Some("jira") {
                continue;
            }
            jira_desks += 1;
            let secret = d.get("jira").and_then(|j| j.get("webhook_secret"));
            assert!(secret.is_some(), "{name}: desk {desk} takes webhooks without a webhook_secret");
        }
        assert!(jira_desks > 0, "{name} has Jira desks");
    }
    // The shipped file passes check-config with every secret it references set.
    let text = read("gateway.toml");
    let config = Config::from_toml(&text, &deploy(""), &env_with(&env_refs(&text))).unwrap_or_else(|p| panic!("{p:?}"));
    for id in ["region-m", "drift"] {
        let desk = config.desks.values().find(|d| d.id.as_str() == id).unwrap();
        assert!(desk.jira_webhook_secret().is_some(), "{id}");
    }
}

#[test]
fn the_healthdata_federation_passes_check_config_and_its_mappings_and_contacts_load() {
    let text = read("healthdata/gateway.toml");
    let config = Config::from_toml(&text, &deploy("healthdata"), &env_with(&env_refs(&text)))
        .unwrap_or_else(|p| panic!("{p:?}"));
    let profile = config.gateway.process.as_ref().expect("[gateway.process]");
    assert_eq!(profile.name, "healthdata");
    assert_eq!(config.national_desk().map(|d| d.system.as_str()), Some("servicenow"));
    // The process profile's ServiceNow rows validate for every desk, and the
    // escalation ruleset sweeps without a gap.
    deskgate::startup::load_mappings(&config).unwrap_or_else(|e| panic!("{e}"));
    let clock: std::sync::Arc<dyn deskgate::clock::Clock> = std::sync::Arc::new(deskgate::clock::SystemClock);
    let engine = deskgate::startup::load_escalation(&config, clock).unwrap_or_else(|e| panic!("{e}"));
    assert!(engine.is_some(), "the contacts file is loaded");
}
