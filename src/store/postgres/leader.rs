//! Leadership among replicas: a session advisory lock, held on a connection of its
//! own for as long as that connection lives. When the leader dies its connection
//! closes and PostgreSQL lets go of the lock; another replica, trying every
//! [`RETRY`], takes it over. A leader that loses its connection stops leading at
//! its next check (within [`CHECK`]).

use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tokio::sync::watch;

use crate::store::Leadership;

/// The advisory lock's key: "deskgate" in ASCII, the same in every replica.
const LOCK_KEY: i64 = 0x6465_736b_6761_7465;
/// How often a replica that does not lead tries to.
pub const RETRY: Duration = Duration::from_millis(1_000);
/// How often the leader checks that its connection (and so its lock) is alive.
pub const CHECK: Duration = Duration::from_millis(500);

/// Start trying to lead; stops (and lets go) when `stop`'s sender is dropped.
pub(super) fn start(options: PgConnectOptions, mut stop: watch::Receiver<()>) -> Leadership {
    let (leading, leadership) = Leadership::channel();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = lead_once(&options, &leading) => {}
                _ = stop.changed() => break,
            }
            leading.send_replace(false);
            tokio::select! {
                () = tokio::time::sleep(RETRY) => {}
                _ = stop.changed() => break,
            }
        }
        leading.send_replace(false);
    });
    leadership
}

/// Lead while the lock is held; returns when it is not (or no longer) held.
async fn lead_once(options: &PgConnectOptions, leading: &watch::Sender<bool>) {
    let mut conn = match PgConnection::connect_with(options).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "leadership: cannot reach the database");
            return;
        }
    };
    let got: Result<bool, _> =
        sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(LOCK_KEY).fetch_one(&mut conn).await;
    if !matches!(got, Ok(true)) {
        return;
    }
    tracing::info!("leading: this replica polls desks and watches escalations");
    leading.send_replace(true);
    loop {
        tokio::time::sleep(CHECK).await;
        if sqlx::query("SELECT 1").execute(&mut conn).await.is_err() {
            tracing::warn!("leadership lost: the connection holding the lock failed");
            return;
        }
    }
}
