//! HTTPS and mutual TLS on the inbound side, with certificates made at test time.

use crate::kit;

use std::path::{Path, PathBuf};

use kit::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A certificate and its key, as PEM, plus the SHA-256 of its DER.
struct Issued {
    cert: String,
    key: String,
    sha256: String,
}

impl Issued {
    fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(format!("{}{}", self.cert, self.key).as_bytes()).unwrap()
    }
}

/// A certificate authority made for one test.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    cert: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap().pem();
        Ca { params, key, cert }
    }

    fn issue(&self, names: &[&str], purpose: ExtendedKeyUsagePurpose) -> Issued {
        let mut params = CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        params.distinguished_name.push(DnType::CommonName, names[0]);
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().unwrap();
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).unwrap();
        let sha256 = hex::encode(Sha256::digest(cert.der()));
        Issued { cert: cert.pem(), key: key.serialize_pem(), sha256 }
    }

    fn server(&self) -> Issued {
        self.issue(&["127.0.0.1", "localhost"], ExtendedKeyUsagePurpose::ServerAuth)
    }

    fn client(&self, desk: &str) -> Issued {
        self.issue(&[&format!("{desk}.desks.test")], ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// The PKI of one test, written to a temporary directory.
struct Pki {
    dir: tempfile::TempDir,
    ca: Ca,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca = Ca::new("deskgate test CA");
        let server = ca.server();
        std::fs::write(dir.path().join("ca.pem"), &ca.cert).unwrap();
        std::fs::write(dir.path().join("server.pem"), &server.cert).unwrap();
        std::fs::write(dir.path().join("server.key"), &server.key).unwrap();
        Pki { dir, ca }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `[gateway] tls = …`, requesting client certificates when `mtls`.
    fn tls_keys(&self, mtls: bool) -> String {
        let client_ca =
            if mtls { format!(", client_ca = \"{}\"", self.path("ca.pem").display()) } else { String::new() };
        format!(
            "tls = {{ cert = \"{}\", key = {{ file = \"{}\" }}{client_ca} }}",
            self.path("server.pem").display(),
            self.path("server.key").display()
        )
    }

    /// A client that trusts this PKI's CA, optionally presenting `identity`.
    fn client(&self, identity: Option<&Issued>) -> reqwest::Client {
        client_trusting(&self.ca.cert, identity)
    }
}

fn client_trusting(ca_pem: &str, identity: Option<&Issued>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap());
    if let Some(identity) = identity {
        builder = builder.identity(identity.identity());
    }
    builder.build().unwrap()
}

/// The test federation over HTTPS with `pki`'s server certificate, client
/// certificates requested when `mtls`; talked to by a client trusting `pki`'s CA.
async fn https(pki: &Pki, mtls: bool) -> TestGateway {
    TestGateway::start_edited(
        |c| {
            c.gateway_toml(&pki.tls_keys(mtls));
        },
        pki.client(None),
    )
    .await
}

#[tokio::test]
async fn https_serves_the_api_and_a_desk_submits_over_it() {
    let pki = Pki::new();
    let gw = https(&pki, false).await;
    assert!(gw.base.starts_with("https://127.0.0.1:"), "{}", gw.base);
    let health = gw.client.get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let created = gw.submit("region-h", &incident("INC0090001")).await;
    assert_eq!(created.status(), StatusCode::CREATED);

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new().get(gw.base.replace("https://", "http://") + "/healthz").send().await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

#[tokio::test]
async fn a_client_trusting_another_ca_refuses_the_gateway() {
    let pki = Pki::new();
    let gw = https(&pki, false).await;
    let stranger = Ca::new("some other CA");
    let refused = client_trusting(&stranger.cert, None).get(gw.url("/healthz")).send().await;
    let err = refused.expect_err("a certificate from an unknown CA must not be accepted");
    assert!(err.is_connect() || err.is_request(), "{err:?}");
}

#[tokio::test]
async fn a_client_certificate_from_an_unknown_ca_fails_the_handshake() {
    let pki = Pki::new();
    let gw = https(&pki, true).await;
    let forged = Ca::new("not the desks' CA").client("region-h");
    let refused = pki.client(Some(&forged)).get(gw.url("/healthz")).send().await;
    assert!(refused.is_err(), "a client certificate that does not chain to client_ca was accepted");
    // Without any client certificate the same endpoint answers: certificates are
    // requested, not required, at the TLS layer.
    assert_eq!(pki.client(None).get(gw.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
}

#[tokio::test]
async fn a_desk_pinned_to_its_certificate_needs_it_besides_its_token() {
    let pki = Pki::new();
    let region_h = pki.ca.client("region-h");
    let region_m = pki.ca.client("region-m");
    let pin = format!("client_cert_sha256 = \"{}\"", region_h.sha256);
    let edit = |c: &mut GatewayConfig| {
        c.gateway_toml(&pki.tls_keys(true)).desk_toml("region-h", &pin);
    };
    let gw = TestGateway::start_edited(edit, pki.client(None)).await;
    let submit = |client: reqwest::Client, ticket: &'static str| {
        let gw = &gw;
        async move {
            client
                .post(gw.url("/api/v1/incidents"))
                .bearer_auth(gw.token("region-h"))
                .json(&incident(ticket))
                .send()
                .await
                .unwrap()
        }
    };

    // A valid token without the certificate: refused, and nothing stored.
    let bare = submit(pki.client(None), "INC0091001").await;
    assert_eq!(bare.status(), StatusCode::UNAUTHORIZED);
    let body: Value = bare.json().await.unwrap();
    assert_eq!(body["error"]["code"], "client_certificate_required", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("region-h"), "{body}");

    // Another desk's certificate from the same CA is not region-h's.
    let wrong = submit(pki.client(Some(&region_m)), "INC0091002").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // With its own certificate, accepted.
    let ok = submit(pki.client(Some(&region_h)), "INC0091003").await;
    assert_eq!(ok.status(), StatusCode::CREATED);

    let ids: Vec<String> =
        gw.all_incidents().await.iter().map(|i| i["origin"]["ticket"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, ["INC0091003"]);
    let rejections: Vec<Value> =
        gw.audit().await.into_iter().filter(|e| e.to_string().contains("mutual TLS")).collect();
    assert_eq!(rejections.len(), 2, "{rejections:?}");
}

#[tokio::test]
async fn desks_without_a_pin_are_unaffected_by_mutual_tls() {
    let pki = Pki::new();
    let pin = format!("client_cert_sha256 = \"{}\"", pki.ca.client("region-h").sha256);
    let edit = |c: &mut GatewayConfig| {
        c.gateway_toml(&pki.tls_keys(true)).desk_toml("region-h", &pin);
    };
    let gw = TestGateway::start_edited(edit, pki.client(None)).await;
    let created = gw.submit("region-m", &incident("RM-1")).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(gw.get("sds", "/api/v1/incidents").await.status(), StatusCode::OK);
    // Presenting a certificate nobody pinned is harmless too.
    let with_cert = pki
        .client(Some(&pki.ca.client("drift")))
        .get(gw.url("/api/v1/incidents"))
        .bearer_auth(gw.token("drift"))
        .send()
        .await
        .unwrap();
    assert_eq!(with_cert.status(), StatusCode::OK);
}

fn problems_of(text: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let text = GatewayConfig::standard(&dir.path().join("store"), 1024 * 1024).gateway_toml(text).render();
    match deskgate::config::Config::from_toml(&text, Path::new("."), &env()) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn configuration_problems_name_their_key_and_never_the_key_material() {
    let pki = Pki::new();
    let other = pki.ca.server();
    std::fs::write(pki.path("other.key"), &other.key).unwrap();
    std::fs::write(pki.path("garbage.key"), "not a key at all").unwrap();
    let keys = |cert: &str, key: &str| {
        format!(
            "tls = {{ cert = \"{}\", key = {{ file = \"{}\" }} }}",
            pki.path(cert).display(),
            pki.path(key).display()
        )
    };

    assert_eq!(problems_of(&pki.tls_keys(true)), Vec::<String>::new());

    let missing = problems_of(&keys("missing.pem", "server.key")).join("\n");
    assert!(missing.contains("gateway.tls.cert: cannot read"), "{missing}");

    let mismatched = problems_of(&keys("server.pem", "other.key")).join("\n");
    assert!(mismatched.contains("gateway.tls.key: does not belong to the certificate"), "{mismatched}");
    assert!(!mismatched.contains("PRIVATE KEY"), "{mismatched}");

    let garbage = problems_of(&keys("server.pem", "garbage.key")).join("\n");
    assert!(garbage.contains("gateway.tls.key"), "{garbage}");
    assert!(!garbage.contains("not a key at all"), "{garbage}");

    let env_key = problems_of(&format!(
        "tls = {{ cert = \"{}\", key = {{ env = \"T_UNSET_TLS_KEY\" }} }}",
        pki.path("server.pem").display()
    ))
    .join("\n");
    assert!(env_key.contains("gateway.tls.key: environment variable T_UNSET_TLS_KEY is not set"), "{env_key}");
}

#[test]
fn a_pinned_desk_needs_client_certificates_to_be_requested() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let pin = format!("client_cert_sha256 = \"{}\"", "ab".repeat(32));
    let mut config = GatewayConfig::standard(&dir.path().join("store"), 1024 * 1024);
    config.gateway_toml(&pki.tls_keys(false)).desk_toml("region-h", &pin);
    let problems = config.load(&env()).unwrap_err();
    assert!(problems.iter().any(|p| p.path == "desks.region-h.client_cert_sha256"), "{problems:?}");

    let mut config = GatewayConfig::standard(&dir.path().join("store"), 1024 * 1024);
    config.desk_key("region-h", "client_cert_sha256", "12:34");
    let problems = config.load(&env()).unwrap_err();
    assert!(
        problems.iter().any(|p| p.path == "desks.region-h.client_cert_sha256" && p.message.contains("64 hex")),
        "{problems:?}"
    );
}

#[test]
fn check_config_reports_tls_problems_with_their_key_paths() {
    let pki = Pki::new();
    let other = pki.ca.server();
    std::fs::write(pki.path("other.key"), &other.key).unwrap();
    // Relative paths are taken from the configuration file's directory.
    let config = pki.path("gateway.toml");
    std::fs::write(
        &config,
        r#"
[gateway]
listen = "127.0.0.1:0"
tls = { cert = "server.pem", key = { file = "other.key" }, client_ca = "missing-ca.pem" }

[desks.sds]
name = "National Service Desk"
role = "national"
system = "native"
auth = { issuer = "idp.sds", algorithm = "HS256", secret = { env = "T_SDS_CHECK" } }
"#,
    )
    .unwrap();
    let out = kit::binary::command()
        .args(["check-config", config.to_str().unwrap()])
        .env("T_SDS_CHECK", "x")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("gateway.tls.key: does not belong to the certificate"), "{stderr}");
    assert!(stderr.contains("gateway.tls.client_ca: cannot read"), "{stderr}");
    assert!(!stderr.contains("PRIVATE KEY"), "{stderr}");
}
