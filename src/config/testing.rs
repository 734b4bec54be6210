//! Desks for the unit tests that load a configuration: the national desk and
//! Region H as most of them need them, and the secrets those desks sign with.

use super::MapEnv;

/// A `[gateway]` on a loopback port of the system's choosing; more gateway keys
/// may follow.
pub(crate) const GATEWAY: &str = "[gateway]\nlisten = \"127.0.0.1:0\"\n";

/// The national desk on deskgate's own API, signing with `T_SDS`.
pub(crate) const NATIONAL: &str = r#"
[desks.sds]
name = "National Service Desk"
role = "national"
system = "native"
auth = { issuer = "sds", algorithm = "HS256", secret = { env = "T_SDS" } }
"#;

/// The national desk on a ClearQuest (nobody answers at its endpoint), signing with
/// `T_SDS`.
pub(crate) const NATIONAL_ON_CLEARQUEST: &str = r#"
[desks.sds]
name = "National Service Desk"
role = "national"
system = "clearquest"
endpoint = "http://127.0.0.1:9"
clearquest = { repo = "7.0.0", db = "SDS" }
auth = { issuer = "sds", algorithm = "HS256", secret = { env = "T_SDS" } }
"#;

/// Region H, the local desk of Rigshospitalet, on `system`, signing with `T_RH`.
pub(crate) fn region_h(system: &str) -> String {
    format!(
        r#"
[desks.region-h]
name = "Region H"
role = "local"
system = "{system}"
organisations = ["rigshospitalet"]
auth = {{ issuer = "region-h", algorithm = "HS256", secret = {{ env = "T_RH" }} }}
"#
    )
}

/// The secrets of `T_SDS` and `T_RH`.
pub(crate) fn env() -> MapEnv {
    MapEnv::new(false).with("T_SDS", "sds-secret").with("T_RH", "rh-secret")
}
