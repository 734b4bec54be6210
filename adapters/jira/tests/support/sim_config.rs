//! The adapter's configuration against a Jira simulator, for the adapter's tests.

use std::time::Duration;

use deskgate_jira::{ApiVersion, Auth, JiraConfig};
use deskgate_sim::jira::JiraSim;
use url::Url;

/// Project DRIFT at `sim` through API `version`, as the simulator's API user.
pub fn config_for(sim: &JiraSim, version: ApiVersion) -> JiraConfig {
    let c = sim.config();
    let auth = Auth::Basic { email: c.email.clone(), api_token: c.api_token.clone() };
    let mut config = JiraConfig::new(Url::parse(&sim.base_url()).unwrap(), version, auth, "DRIFT");
    // These simulators index at once (no lag), so no create needs to wait.
    config.search_consistency = Duration::ZERO;
    config
}
