//! Leadership among replicas: a session advisory lock, held on a connection of its
//! own for as long as that connection lives. When the leader dies its connection
//! closes and PostgreSQL lets go of the lock; another replica, trying every
//! [`RETRY`], takes it over.
//!
//! Honest about the network: the leader asks its connection a cheap question every
//! quarter of the [`silence`] bound, each answer due within half of it; when one does
//! not come it stops leading at once and drops the connection, and tries again only
//! through a fresh one. The database, for its part, ends a session that stays silent
//! for the bound (`idle_session_timeout`, TCP user timeout and keepalives), and so
//! lets go of a cut-off leader's lock after it has stopped leading.

use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tokio::sync::watch;

use crate::store::Leadership;

/// The advisory lock's key: "deskgate" in ASCII, the same in every replica.
const LOCK_KEY: i64 = 0x6465_736b_6761_7465;
/// How often a replica that does not lead tries to.
pub const RETRY: Duration = Duration::from_millis(1_000);

/// How long the database keeps the session of a replica it hears nothing from:
/// half the delivery lease, between 2 and 10 seconds. Another replica leads at most
/// this plus [`RETRY`] after a leader is cut off.
pub fn silence(lease: Duration) -> Duration {
    (lease / 2).clamp(Duration::from_secs(2), Duration::from_secs(10))
}

/// The bounds every connection of a replica gets, for `lease`: the server drops a
/// peer that stops answering (TCP user timeout, keepalives) within [`silence`], and
/// ends a transaction left idle for a lease (its row locks with it).
pub(super) fn bounded(options: PgConnectOptions, lease: Duration) -> PgConnectOptions {
    let silent = silence(lease);
    let secs = silent.as_secs().max(1);
    options.options([
        ("tcp_user_timeout", silent.as_millis().to_string()),
        ("tcp_keepalives_idle", "1".to_owned()),
        ("tcp_keepalives_interval", "1".to_owned()),
        ("tcp_keepalives_count", secs.to_string()),
        ("idle_in_transaction_session_timeout", lease.as_millis().max(1_000).to_string()),
    ])
}

/// Start trying to lead; stops (and lets go) when `stop`'s sender is dropped.
pub(super) fn start(options: PgConnectOptions, lease: Duration, mut stop: watch::Receiver<()>) -> Leadership {
    let (leading, leadership) = Leadership::channel();
    // The lock's session is never idle longer than a check apart: silence means the
    // leader is gone.
    let options = options.options([("idle_session_timeout", silence(lease).as_millis().to_string())]);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = lead_once(&options, silence(lease), &leading) => {}
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

/// Lead while the lock is held; returns when it is not (or no longer) held, or
/// when the database does not answer within the bounds of `silent`.
async fn lead_once(options: &PgConnectOptions, silent: Duration, leading: &watch::Sender<bool>) {
    // A connection to a database out of reach hangs for minutes without a bound.
    let mut conn = match tokio::time::timeout(silent, PgConnection::connect_with(options)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "leadership: cannot reach the database");
            return;
        }
        Err(_) => {
            tracing::warn!("leadership: the database did not answer in time");
            return;
        }
    };
    let lock = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(LOCK_KEY).fetch_one(&mut conn);
    if !matches!(tokio::time::timeout(silent, lock).await, Ok(Ok(true))) {
        return;
    }
    tracing::info!("leading: this replica polls desks and watches escalations");
    leading.send_replace(true);
    // A check and its answer take at most three quarters of the bound: this replica
    // stops leading before the database lets another one lead.
    let (every, answer_within) = (silent / 4, silent / 2);
    loop {
        tokio::time::sleep(every).await;
        match tokio::time::timeout(answer_within, sqlx::query("SELECT 1").execute(&mut conn)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                leading.send_replace(false);
                tracing::warn!(error = %e, "leadership lost: the connection holding the lock failed");
                return;
            }
            Err(_) => {
                leading.send_replace(false);
                tracing::warn!(
                    within_ms = answer_within.as_millis() as u64,
                    "leadership lost: the database did not answer the leader's check in time"
                );
                return;
            }
        }
    }
}
