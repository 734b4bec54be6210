//! Every test desk's identity in one table: issuer, subject, and the key its tokens
//! are signed with. Configurations take their `auth` tables from here and tests their
//! tokens, so the two cannot drift apart.

use deskgate::auth::{Claims, sign};
use deskgate::config::MapEnv;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

pub const AUDIENCE: &str = "deskgate";

pub enum Key {
    /// A shared secret, given to the gateway in environment variable `env`.
    Hs256 {
        env: &'static str,
        secret: &'static str,
    },
    /// Key pairs under tests/fixtures/keys.
    Rs256 {
        private: &'static str,
        public: &'static str,
    },
    Es256 {
        private: &'static str,
        public: &'static str,
    },
}

pub struct DeskIdentity {
    /// The desk id, which is also the token's subject.
    pub desk: &'static str,
    pub issuer: &'static str,
    pub key: Key,
}

/// A desk whose tokens are signed with a shared secret.
const fn shared_secret(
    desk: &'static str,
    issuer: &'static str,
    env: &'static str,
    secret: &'static str,
) -> DeskIdentity {
    DeskIdentity { desk, issuer, key: Key::Hs256 { env, secret } }
}

pub const DESKS: &[DeskIdentity] = &[
    shared_secret("region-h", "idp.regionh", "T_REGION_H", "region-h-test-secret"),
    shared_secret("region-m", "idp.rm", "T_REGION_M", "region-m-test-secret"),
    DeskIdentity {
        desk: "pharmacy",
        issuer: "idp.pharmacy",
        key: Key::Rs256 { private: "keys/pharmacy-rs256.key.pem", public: "keys/pharmacy-rs256.pub.pem" },
    },
    DeskIdentity {
        desk: "gp",
        issuer: "idp.gp",
        key: Key::Es256 { private: "keys/gp-es256.key.pem", public: "keys/gp-es256.pub.pem" },
    },
    // Desks some tests add to the standard federation, sharing a secret variable.
    shared_secret("region-n", "idp.rn", "T_REGION_M", "region-m-test-secret"),
    shared_secret("region-s", "idp.rsd", "T_REGION_H", "region-h-test-secret"),
    shared_secret("sds", "idp.sds", "T_SDS", "sds-test-secret"),
    shared_secret("fmk", "idp.fmk", "T_FMK", "fmk-test-secret"),
    shared_secret("drift", "idp.drift", "T_DRIFT", "drift-test-secret"),
    shared_secret("nsp-app", "idp.nspapp", "T_DRIFT", "drift-test-secret"),
    // A component supplier some process tests add.
    shared_secret("sosi", "idp.sosi", "T_SOSI", "sosi-test-secret"),
];

/// Secrets the federation's configurations name besides the desks' token secrets:
/// the gateway's credentials at the simulators.
pub const CREDENTIALS: &[(&str, &str)] = &[
    ("T_SN_PASSWORD", "integration-password"),
    ("T_CQ_PASSWORD", "deskgate-secret"),
    ("T_JIRA_TOKEN", "jira-personal-access-token"),
];

pub fn identity(desk: &str) -> &'static DeskIdentity {
    DESKS.iter().find(|d| d.desk == desk).unwrap_or_else(|| panic!("no test desk {desk}"))
}

/// The desk's `auth` table.
pub fn auth(desk: &str) -> toml::Value {
    let d = identity(desk);
    super::config::auth_table(&d.key, d.issuer)
}

/// The environment the gateway reads the desks' secrets from (nothing inherited).
pub fn env() -> MapEnv {
    let mut env = MapEnv::new(false);
    for d in DESKS {
        if let Key::Hs256 { env: name, secret } = d.key {
            env = env.with(name, secret);
        }
    }
    env
}

/// [`env`] plus the credentials at the simulators.
pub fn federation_env() -> MapEnv {
    CREDENTIALS.iter().fold(env(), |env, &(k, v)| env.with(k, v))
}

pub fn now() -> u64 {
    jiff::Timestamp::now().as_second() as u64
}

/// Claims of a desk token, valid for an hour.
pub fn claims(issuer: &str, subject: &str) -> Claims {
    Claims {
        iss: issuer.into(),
        sub: subject.into(),
        aud: AUDIENCE.into(),
        exp: now() + 3600,
        nbf: Some(now() - 5),
        iat: Some(now()),
        role: Some("desk".into()),
        org: None,
    }
}

/// A valid token of `desk`, signed with its key.
pub fn token(desk: &str) -> String {
    signed_as(desk, &desk_claims(desk))
}

/// The claims of `desk`'s tokens (its issuer, subject the desk), for a test to change.
pub fn desk_claims(desk: &str) -> Claims {
    let d = identity(desk);
    claims(d.issuer, d.desk)
}

/// `claims` signed with `desk`'s key.
pub fn signed_as(desk: &str, claims: &Claims) -> String {
    signed(claims, &identity(desk).key)
}

/// `claims` signed with `key`.
pub fn signed(claims: &Claims, key: &Key) -> String {
    match key {
        Key::Hs256 { secret, .. } => hs256(claims, secret),
        Key::Rs256 { private, .. } => pem_signed(claims, Algorithm::RS256, private),
        Key::Es256 { private, .. } => pem_signed(claims, Algorithm::ES256, private),
    }
}

pub fn hs256(claims: &Claims, secret: &str) -> String {
    sign(claims, Algorithm::HS256, secret.as_bytes()).unwrap()
}

pub fn rs256(claims: &Claims) -> String {
    signed(claims, &identity("pharmacy").key)
}

pub fn es256(claims: &Claims) -> String {
    signed(claims, &identity("gp").key)
}

fn pem_signed(claims: &Claims, algorithm: Algorithm, private: &str) -> String {
    let pem = std::fs::read(super::fixture(private)).unwrap();
    let key = match algorithm {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem),
        _ => EncodingKey::from_ec_pem(&pem),
    };
    jsonwebtoken::encode(&Header::new(algorithm), claims, &key.unwrap()).unwrap()
}
