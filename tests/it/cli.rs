//! The binary's commands: `check-config` and `token`.

use crate::kit;

use std::process::Command;

use deskgate::auth::Authenticator;
use deskgate::config::{Config, MapEnv};

fn deskgate() -> Command {
    kit::binary::command()
}

/// Every `env = "…"` the shipped configuration references.
fn shipped_secret_names() -> Vec<String> {
    let text = std::fs::read_to_string("deploy/gateway.toml").unwrap();
    text.split("env = \"").skip(1).map(|rest| rest.split('"').next().unwrap().to_owned()).collect()
}

#[test]
fn check_config_names_every_missing_secret_and_passes_once_they_are_set() {
    let out = deskgate().args(["check-config", "deploy/gateway.toml"]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("desks.region-h.auth.secret: environment variable DESKGATE_SECRET_REGION_H_JWT is not set"),
        "{stderr}"
    );
    assert!(stderr.contains("desks.sds.credentials.password"), "{stderr}");

    let mut cmd = deskgate();
    cmd.args(["check-config", "deploy/gateway.toml"]);
    for name in shipped_secret_names() {
        cmd.env(name, "a-value-that-must-not-be-printed");
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("6 desks"), "{stdout}");
    assert!(!stdout.contains("a-value-that-must-not-be-printed"));
}

#[test]
fn check_config_reports_all_problems_of_a_broken_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.toml");
    std::fs::write(
        &file,
        r#"
[gateway]
listen = "everywhere"

[desks.sds]
name = "National"
role = "national"
system = "clearquest"
colour = "red"

[desks.Bad_Id]
name = "x"
role = "local"
system = "native"

[desks.fmk]
name = "FMK"
role = "supplier"
system = "remedy"
"#,
    )
    .unwrap();
    let out = deskgate().args(["check-config", file.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    for expected in ["gateway.listen", "desks.sds", "colour", "desks.Bad_Id", "desks.fmk.system", "remedy"] {
        assert!(stderr.contains(expected), "missing {expected:?} in:\n{stderr}");
    }
}

#[test]
fn token_mints_a_token_the_gateway_accepts_and_refuses_asymmetric_desks() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gateway.toml");
    std::fs::write(&file, kit::config_text(&dir.path().join("data"), 1 << 20)).unwrap();
    let mut cmd = deskgate();
    cmd.args(["token", "--desk", "region-h", "--ttl", "15m", "--config", file.to_str().unwrap()]);
    for (k, v) in kit::env().vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let config = Config::load(&file, &kit::env()).unwrap();
    let auth = Authenticator::new(&config);
    let who = auth.authenticate(Some(&format!("Bearer {token}"))).unwrap();
    assert_eq!(who.desk.as_str(), "region-h");

    let mut cmd = deskgate();
    cmd.args(["token", "--desk", "pharmacy", "--config", file.to_str().unwrap()]);
    for (k, v) in kit::env().vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("RS256"));
    let _ = MapEnv::new(false);
}
