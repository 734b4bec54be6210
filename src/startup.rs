//! Building and running the gateway from a configuration.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::{self, AppState};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::gateway::Gateway;
use crate::store::{SledStore, Store, StoreError};

/// A gateway listening on its socket, not yet serving.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Open the store and bind the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let store = SledStore::open(&config.gateway.data_dir)?;
        Self::build_with(config, Arc::new(store), Arc::new(SystemClock)).await
    }

    pub async fn build_with(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        api::ops::prometheus();
        let listener =
            TcpListener::bind(config.gateway.listen).await.map_err(|e| StartupError::Bind(config.gateway.listen, e))?;
        let gateway = Arc::new(Gateway::new(Arc::new(config), store, clock));
        Ok(Self { listener, state: AppState { gateway } })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn gateway(&self) -> Arc<Gateway> {
        self.state.gateway.clone()
    }

    /// Serve until `shutdown` completes; in-flight requests finish first.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = api::app(self.state);
        axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing in-flight requests");
}
