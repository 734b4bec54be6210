//! Building and running the gateway from a configuration.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::api::{self, AppState};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::dialects::clearquest::poll::Poller;
use crate::escalation::{Engine, LoadError, Ruleset};
use crate::gateway::Gateway;
use crate::gateway::adapters::Adapters;
use crate::mapping::Mappings;
use crate::notify::{Notifier, Watch};
use crate::store::{Store, StoreError};
use crate::sync::deliver::{Dispatcher, RetryPolicy, STOP_GRACE};

/// A gateway listening on its socket, not yet serving.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    dispatcher: Arc<Dispatcher>,
    poller: Arc<Poller>,
    watch: Arc<Watch>,
}

impl Application {
    /// Open the store and bind the listener (port 0 picks a free port).
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let store = crate::store::connect(&config.gateway.store).await?;
        Self::build_with(config, store, Arc::new(SystemClock)).await
    }

    pub async fn build_with(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let (listener, config, escalation, mappings) = prepare(config, &clock).await?;
        let adapters = Arc::new(crate::dialects::adapters(&config).map_err(StartupError::Adapters)?);
        Self::assemble(listener, config, store, clock, escalation, mappings, adapters)
    }

    /// Build with the given adapters (tests and the demo point desks at simulators).
    pub async fn build_with_adapters(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        adapters: Adapters,
    ) -> Result<Self, StartupError> {
        let (listener, config, escalation, mappings) = prepare(config, &clock).await?;
        Self::assemble(listener, config, store, clock, escalation, mappings, Arc::new(adapters))
    }

    fn assemble(
        listener: TcpListener,
        config: Arc<Config>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        escalation: Option<Arc<Engine>>,
        mappings: Arc<Mappings>,
        adapters: Arc<Adapters>,
    ) -> Result<Self, StartupError> {
        if let Some(problem) = Notifier::problem(&config) {
            return Err(StartupError::Smtp(problem));
        }
        let mut gateway = Gateway::new(config.clone(), store.clone(), clock.clone()).with_mappings(mappings.clone());
        if let Some(engine) = &escalation {
            gateway = gateway.with_escalation(engine.clone());
        }
        let every = Duration::from_millis(config.gateway.escalation.check_ms);
        let (watch_store, watch_clock) = (store.clone(), clock.clone());
        let delivery = config.gateway.delivery.clone();
        let mut dispatcher = Dispatcher::new(config, store, adapters.clone(), mappings, clock, gateway.outbox_signal());
        dispatcher.policy = RetryPolicy {
            base: Duration::from_millis(delivery.retry_base_ms),
            max_delay: Duration::from_millis(delivery.retry_max_ms.max(delivery.retry_base_ms)),
            max_attempts: delivery.max_attempts,
            waiting: Duration::from_millis(delivery.retry_base_ms.clamp(20, 1_000)),
        };
        dispatcher.concurrency = delivery.concurrency;
        let dispatcher = Arc::new(dispatcher);
        // One set of limiters: the console shows the outbound waits the workers saw.
        let rate_limits = dispatcher.rate_limits.clone();
        let gateway = Arc::new(gateway);
        let watch = Arc::new(Watch {
            store: watch_store,
            clock: watch_clock,
            wake: gateway.outbox_signal(),
            every,
            deferrals: Some(gateway.clone()),
            reminders: Some(gateway.clone()),
        });
        // Webhooks of a desk with `webhook_verify = "reread"` read the issue back through it.
        let state = AppState { gateway: gateway.clone(), escalation, rate_limits, adapters: adapters.clone() };
        let poller = Arc::new(Poller::new(gateway, adapters).with_outbound(dispatcher.rate_limits.clone()));
        Ok(Self { listener, state, dispatcher, poller, watch })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn gateway(&self) -> Arc<Gateway> {
        self.state.gateway.clone()
    }

    /// The escalation engine, when `gateway.contacts` names a ruleset.
    pub fn escalation(&self) -> Option<Arc<Engine>> {
        self.state.escalation.clone()
    }

    /// The task that re-escalates unacknowledged escalations; tests run its
    /// [`Watch::step`] after moving their clock.
    pub fn escalation_watch(&self) -> Arc<Watch> {
        self.watch.clone()
    }

    /// The ClearQuest poller; tests run its [`Poller::poll`] when they turned the
    /// polling interval off.
    pub fn poller(&self) -> Arc<Poller> {
        self.poller.clone()
    }

    /// `https` when `[gateway.tls]` is configured, else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.state.gateway.config().gateway.tls.is_some() { "https" } else { "http" }
    }

    /// Serve until `shutdown` completes. From that moment no delivery starts and
    /// polling stops; requests in flight get [`SHUTDOWN_GRACE`] and deliveries under
    /// way [`STOP_GRACE`] (at the same time), then the store is flushed: all within
    /// [`SHUTDOWN_BUDGET`], however the remote desks behave.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let tls = self.state.gateway.config().gateway.tls.clone();
        let http = self.state.gateway.config().gateway.http.clone();
        let store = self.state.gateway.clone();
        let app = api::app(self.state);
        // Delivery, polling and the escalation watch stop at the signal, not after the
        // last request: what the last requests accept waits durably in the outbox, and
        // nothing reaches out to a remote desk once the process has been told to go.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let stop = Arc::new(stop);
        let signalled = Arc::new(OnceLock::<Instant>::new());
        let shutdown = {
            let (stop, signalled) = (stop.clone(), signalled.clone());
            async move {
                shutdown.await;
                let _ = signalled.set(Instant::now());
                stop.send_replace(true);
            }
        };
        // Requests in flight get SHUTDOWN_GRACE to finish once shutdown begins.
        let grace_over = {
            let mut stopped = stopped.clone();
            async move {
                if stopped.wait_for(|s| *s).await.is_err() {
                    std::future::pending::<()>().await;
                }
                tokio::time::sleep(SHUTDOWN_GRACE).await
            }
        };
        // Polling and the escalation watch run on the one replica that leads.
        let leadership = self.watch.store.leadership();
        let polling = tokio::spawn(self.poller.clone().run_led(stopped.clone(), leadership.clone()));
        let watching = tokio::spawn(self.watch.clone().run_led(stopped.clone(), leadership));
        let every = Duration::from_millis(store.config().gateway.escalation.check_ms);
        let closing = tokio::spawn(store.clone().run_auto_close(every, stopped.clone()));
        let delivery = tokio::spawn(self.dispatcher.clone().run(stopped));
        let serve = async {
            match tls {
                Some(tls) => crate::server::serve_tls(self.listener, app, &tls, &http, shutdown).await,
                None => crate::server::serve(self.listener, app, &http, None, shutdown).await,
            }
        };
        let served = tokio::select! {
            served = serve => served,
            () = grace_over => {
                tracing::warn!(grace_secs = SHUTDOWN_GRACE.as_secs(), "requests still open after the grace period are cut off");
                Ok(())
            }
        };
        // The server may also have stopped on its own (an error): stop the rest too.
        let began = *signalled.get_or_init(Instant::now);
        stop.send_replace(true);
        let background = [polling, watching, closing, delivery];
        let aborts: Vec<_> = background.iter().map(tokio::task::JoinHandle::abort_handle).collect();
        let joined = async {
            for task in background {
                let _ = task.await;
            }
        };
        // Delivery gives up on its own after STOP_GRACE; this is the backstop.
        if tokio::time::timeout_at(began + (SHUTDOWN_BUDGET - FLUSH_GRACE), joined).await.is_err() {
            tracing::warn!("delivery or polling still running at the shutdown deadline; stopped");
            aborts.iter().for_each(tokio::task::AbortHandle::abort);
        }
        // Every write was durable before it was answered; this last flush covers
        // anything the store keeps outside its group commit.
        match tokio::time::timeout(FLUSH_GRACE, store.flush()).await {
            Ok(Ok(())) => tracing::info!("stopped: store flushed"),
            Ok(Err(e)) => tracing::error!(error = %e, "flushing the store at shutdown failed"),
            Err(_) => tracing::error!(
                grace_secs = FLUSH_GRACE.as_secs(),
                "flushing the store at shutdown did not finish in time; every answered write was already durable"
            ),
        }
        served
    }
}

/// The whole shutdown, from the signal to the exit: below the 30 s systemd and
/// Kubernetes give a service between SIGTERM and SIGKILL.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(25);

/// How long requests in flight may take to finish once shutdown begins.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// How long the final store flush may take (the rest of [`SHUTDOWN_BUDGET`]).
pub const FLUSH_GRACE: Duration = Duration::from_secs(3);

// Requests and deliveries end before the flush's share of the budget begins.
const _: () = assert!(
    SHUTDOWN_GRACE.as_secs() + FLUSH_GRACE.as_secs() < SHUTDOWN_BUDGET.as_secs()
        && STOP_GRACE.as_secs() + FLUSH_GRACE.as_secs() < SHUTDOWN_BUDGET.as_secs()
);

/// What every build does before its adapters: metrics, the escalation ruleset, the
/// listener and the mappings, in that order.
async fn prepare(
    config: Config,
    clock: &Arc<dyn Clock>,
) -> Result<(TcpListener, Arc<Config>, Option<Arc<Engine>>, Arc<Mappings>), StartupError> {
    api::ops::prometheus();
    // Before binding: a ruleset with gaps must stop start-up, not the first P1.
    let escalation = load_escalation(&config, clock.clone())?;
    let listener =
        TcpListener::bind(config.gateway.listen).await.map_err(|e| StartupError::Bind(config.gateway.listen, e))?;
    let config = Arc::new(config);
    let mappings = Arc::new(load_mappings(&config)?);
    Ok((listener, config, escalation, mappings))
}

/// Load the escalation ruleset named by `gateway.contacts`, swept from the clock's
/// now; its warnings (overlaps, unused rules) are logged. `None` without the key.
pub fn load_escalation(config: &Config, clock: Arc<dyn Clock>) -> Result<Option<Arc<Engine>>, StartupError> {
    let Some(path) = &config.gateway.contacts else { return Ok(None) };
    let ruleset = Ruleset::load(path, clock.now()).map_err(|e| StartupError::Contacts(Box::new(e)))?;
    for warning in ruleset.warnings() {
        tracing::warn!(file = %ruleset.file(), %warning, "escalation ruleset");
    }
    tracing::info!(file = %ruleset.file(), version = %ruleset.version(), "escalation contacts loaded");
    let unreachable = undeliverable_contacts(config, &ruleset);
    if !unreachable.is_empty() {
        if config.gateway.escalation.undeliverable != "warn" {
            return Err(StartupError::Undeliverable(unreachable.join("; ")));
        }
        for contact in &unreachable {
            tracing::warn!(file = %ruleset.file(), %contact, "ESCALATIONS WILL NOT REACH THIS CONTACT");
        }
    }
    Ok(Some(Arc::new(Engine::new(Arc::new(ruleset), clock))))
}

/// The contacts of `ruleset` that this configuration cannot deliver to.
pub fn undeliverable_contacts(config: &Config, ruleset: &Ruleset) -> Vec<String> {
    crate::gateway::notifications::undeliverable(config, ruleset.contacts())
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    /// The loader's message names the file and, for gaps, an example local time.
    #[error("gateway.contacts: {0}")]
    Contacts(Box<LoadError>),
    #[error("mappings: {0}")]
    Mappings(String),
    #[error("{0}")]
    Smtp(String),
    #[error(
        "gateway.contacts: {0} (configure the channel, or set gateway.escalation.undeliverable = \"warn\" to start anyway)"
    )]
    Undeliverable(String),
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Adapters(Vec<crate::config::Problem>),
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
    tracing::info!("shutting down: no new deliveries; finishing in-flight requests");
}

/// The mappings of every desk that speaks a mapped system, validated: a status or
/// priority that cannot be reached both ways stops start-up with file and key.
pub fn load_mappings(config: &Config) -> Result<Mappings, StartupError> {
    crate::dialects::mappings(config).map_err(StartupError::Mappings)
}
