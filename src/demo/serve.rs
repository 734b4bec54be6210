//! `deskgate demo --serve`: after the scenario the federation stays up for people to
//! try — the gateway with its intake form and operator console, the desks' tools, and
//! an OpenID provider simulator for each desk whose people sign in (a local desk, the
//! national desk, a supplier), each with one demo user — until Ctrl-C.
//!
//! Every port is a free one, printed. Each desk gets its own provider (issuer): desks
//! sharing an issuer would share the verification of their API tokens too, which the
//! scenario's tokens must not.

use std::io::Write;

use deskgate_sim::idp::{IdpClient, IdpConfig, IdpSim, IdpUser};

use crate::config::Config;

/// The desks whose people sign in during the demo: desk, user name, the person.
const PEOPLE: [(&str, &str, &str); 4] = [
    ("region-h", "region-h-reporter", "Reporter at Region Hovedstaden"),
    ("portal", "portal-reporter", "Reporter at the municipal and GP portal"),
    ("sds", "sds-operator", "Operator at the national service desk"),
    ("fmk", "fmk-supplier", "Incident manager at the FMK supplier"),
];

/// The client id the gateway has at every demo provider.
const CLIENT_ID: &str = "deskgate";

struct Person {
    desk: &'static str,
    login: &'static str,
    name: &'static str,
    /// A fresh one per run: the providers answer on loopback only, but no demo
    /// password should work twice.
    password: String,
    idp: IdpSim,
}

/// The running providers, one per desk of [`PEOPLE`].
pub(super) struct Providers {
    people: Vec<Person>,
}

impl Providers {
    /// Start the providers; the gateway's client is registered once its address is
    /// known ([`Providers::register`]).
    pub(super) async fn start() -> Result<Self, String> {
        let mut people = Vec::new();
        for (desk, login, name) in PEOPLE {
            let password = hex::encode(rand::random::<[u8; 6]>());
            let users =
                vec![IdpUser { login: login.into(), name: name.into(), desk: desk.into(), password: password.clone() }];
            let idp = IdpSim::spawn(IdpConfig { users, ..IdpConfig::default() })
                .await
                .map_err(|e| format!("identity provider for {desk}: {e}"))?;
            people.push(Person { desk, login, name, password, idp });
        }
        Ok(Self { people })
    }

    /// The configuration `text` with every desk of [`PEOPLE`] signing people in at its
    /// provider (`auth.issuer`, `auth.oidc_client_id`, `auth.oidc_client_secret` by an
    /// environment reference the demo fills in), and without `gateway.public_url`: the
    /// gateway's address is the free port it binds.
    pub(super) fn configure(&self, text: &str) -> Result<String, String> {
        let mut root: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
        if let Some(toml::Value::Table(gateway)) = root.get_mut("gateway") {
            gateway.remove("public_url");
        }
        for p in &self.people {
            let auth = root
                .get_mut("desks")
                .and_then(|d| d.get_mut(p.desk))
                .and_then(|d| d.get_mut("auth"))
                .and_then(toml::Value::as_table_mut)
                .ok_or_else(|| format!("the demo configuration has no desks.{}.auth", p.desk))?;
            auth.insert("issuer".into(), p.idp.issuer().into());
            if !auth.contains_key("oidc_client_id") {
                let env = format!("DESKGATE_SECRET_{}_OIDC", p.desk.to_ascii_uppercase().replace('-', "_"));
                auth.insert("oidc_client_id".into(), CLIENT_ID.into());
                let mut secret = toml::Table::new();
                secret.insert("env".into(), env.into());
                auth.insert("oidc_client_secret".into(), secret.into());
            }
        }
        toml::to_string(&root).map_err(|e| e.to_string())
    }

    /// Register the gateway at every provider, with its client secret of `config`
    /// and its callback at `base` (and at `localhost`, for a browser that uses it).
    pub(super) fn register(&self, config: &Config, base: &str) {
        let localhost = base.replace("127.0.0.1", "localhost");
        for p in &self.people {
            let client = config
                .desks
                .values()
                .find(|d| d.id.as_str() == p.desk)
                .and_then(|d| d.auth.as_ref())
                .and_then(|a| a.oidc.as_ref());
            if let Some(client) = client {
                p.idp.add_client(IdpClient {
                    id: client.client_id.clone(),
                    secret: client.client_secret.expose().to_owned(),
                    redirect_uris: vec![format!("{base}/auth/callback"), format!("{localhost}/auth/callback")],
                });
            }
        }
    }

    /// Print where to go and who to sign in as, then wait for Ctrl-C (or SIGTERM).
    pub(super) async fn serve(&self, base: &str) {
        println!("\nserving until Ctrl-C:");
        println!("   intake form       {base}/report");
        println!("   operator console  {base}/console");
        println!("   sign in           {base}/login");
        println!("   demo users (their desk's OpenID provider simulator; passwords are new each run):");
        for p in &self.people {
            println!("   {:<9} user {} / {}  ({}) at {}", p.desk, p.login, p.password, p.name, p.idp.issuer());
        }
        println!("Ctrl-C stops the gateway, the simulators and the identity providers.");
        crate::startup::shutdown_signal().await;
        // Whoever read the banner may be gone by now: a closed stdout is no failure.
        let _ = writeln!(std::io::stdout(), "stopped.");
    }
}
