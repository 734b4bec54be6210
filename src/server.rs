//! Accepting connections and serving the router on them, over plain TCP or TLS.
//!
//! Owns what bounds a connection's hold on the gateway (`[gateway.http]`):
//! - at most `max_connections` served at once; beyond it the gateway stops
//!   accepting, so further connections wait in the listen queue;
//! - a request's headers (and, over TLS, the handshake) must arrive within
//!   `header_read_timeout_secs`, else the connection is closed (HTTP/1; hyper has
//!   no such timer for HTTP/2, whose connections the idle timeout bounds);
//! - a connection with no request in flight for `idle_timeout_secs` is closed
//!   (HTTP/1 and HTTP/2). Hyper also runs the header timeout while an HTTP/1
//!   connection waits for its next request, so an idle HTTP/1 connection is closed
//!   after the shorter of the two;
//! - a request's body must have arrived `body_timeout_secs` after its headers
//!   (a deadline, not a gap between chunks), else reading it fails
//!   ([`BodyDeadline`]; the JSON extractor answers 408).
//!
//! Every request carries the peer's address (`ConnectInfo<SocketAddr>`) and, over
//! TLS, the client certificate it presented ([`crate::tls::ClientCertificate`]).
//! On shutdown the gateway stops accepting and connections finish what is in flight.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tower::Service;

use crate::config::HttpSettings;
use crate::tls::ClientCertificate;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serve `app` on `listener` (over TLS with `tls`) until `shutdown` completes;
/// connections in flight finish first.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    http: &HttpSettings,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let settings = Settings {
        header: Duration::from_secs(http.header_read_timeout_secs),
        idle: Duration::from_secs(http.idle_timeout_secs),
        body: Duration::from_secs(http.body_timeout_secs),
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(settings.header);
    builder.http2().timer(TokioTimer::new());
    let slots = Arc::new(Semaphore::new(http.max_connections.max(1)));
    // Connections watch `stop`; each holds a clone of `alive` until it ends.
    let (stop, stopped) = watch::channel(false);
    let (alive, mut all_ended) = mpsc::channel::<()>(1);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Over the cap nothing is accepted: further connections wait in the queue.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let connection =
            Connection { app: app.clone(), builder: builder.clone(), remote, settings, stopped: stopped.clone() };
        let tls = tls.clone();
        let alive = alive.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let _alive = alive;
            match tls {
                None => connection.run(tcp, None).await,
                Some(acceptor) => {
                    let stream = match tokio::time::timeout(settings.header, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            tracing::debug!(%remote, error = %e, "TLS handshake refused");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%remote, "TLS handshake timed out");
                            return;
                        }
                    };
                    let peer =
                        stream.get_ref().1.peer_certificates().and_then(|c| c.first()).map(ClientCertificate::of);
                    connection.run(stream, peer).await;
                }
            }
        });
    }
    drop(listener);
    let _ = stop.send(true);
    drop(alive);
    // `None` once every connection has ended and dropped its sender.
    let _ = all_ended.recv().await;
    Ok(())
}

#[derive(Clone, Copy)]
struct Settings {
    header: Duration,
    idle: Duration,
    body: Duration,
}

struct Connection {
    app: Router,
    builder: auto::Builder<TokioExecutor>,
    remote: SocketAddr,
    settings: Settings,
    stopped: watch::Receiver<bool>,
}

impl Connection {
    async fn run<I>(self, io: I, peer: Option<ClientCertificate>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Connection { app, builder, remote, settings, mut stopped } = self;
        let activity = Arc::new(Activity::new());
        let seen = activity.clone();
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let busy = seen.begin();
            let deadline = BodyDeadline::default();
            let mut request = request.map(|b| Body::new(DeadlineBody::new(b, settings.body, deadline.clone())));
            let extensions = request.extensions_mut();
            extensions.insert(ConnectInfo(remote));
            extensions.insert(deadline);
            if let Some(peer) = &peer {
                extensions.insert(peer.clone());
            }
            let mut app = app.clone();
            async move {
                let response = app.call(request).await;
                drop(busy);
                response
            }
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service).into_owned();
        let mut connection = std::pin::pin!(connection);
        let mut closing = false;
        loop {
            tokio::select! {
                ended = connection.as_mut() => {
                    if let Err(e) = ended {
                        tracing::debug!(%remote, error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = stopped.changed(), if !closing => {
                    closing = true;
                    connection.as_mut().graceful_shutdown();
                }
                () = tokio::time::sleep_until(activity.idle_until(settings.idle)), if !closing => {
                    if activity.idle_for() >= settings.idle {
                        tracing::debug!(%remote, "closing an idle connection");
                        closing = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}

/// Requests in flight on a connection and when the last one ended.
struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
}

impl Activity {
    fn new() -> Self {
        Self { in_flight: AtomicUsize::new(0), last: Mutex::new(Instant::now()) }
    }

    fn begin(self: &Arc<Self>) -> Busy {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    fn idle_for(&self) -> Duration {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return Duration::ZERO;
        }
        self.last.lock().elapsed()
    }

    /// When the connection will have been idle for `idle`, as far as is known now.
    fn idle_until(&self, idle: Duration) -> Instant {
        if self.in_flight.load(Ordering::SeqCst) > 0 {
            return Instant::now() + idle;
        }
        *self.last.lock() + idle
    }
}

/// A request in flight; dropping it (the response is ready, or the request was
/// abandoned) marks the connection active now.
struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        *self.0.last.lock() = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Set when a request's body did not arrive by its deadline, so the extractor
/// reading it can answer 408 rather than "unreadable".
#[derive(Clone, Debug, Default)]
pub struct BodyDeadline(Arc<AtomicBool>);

impl BodyDeadline {
    pub fn expired(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// The error a body past its deadline fails with.
#[derive(Debug)]
pub struct BodyTimedOut;

impl std::fmt::Display for BodyTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyTimedOut {}

/// A body that fails once its deadline (set when the headers arrived) has passed.
struct DeadlineBody<B> {
    inner: B,
    deadline: Pin<Box<Sleep>>,
    expired: BodyDeadline,
}

impl<B> DeadlineBody<B> {
    fn new(inner: B, within: Duration, expired: BodyDeadline) -> Self {
        Self { inner, deadline: Box::pin(tokio::time::sleep(within)), expired }
    }
}

impl<B> hyper::body::Body for DeadlineBody<B>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            this.expired.0.store(true, Ordering::SeqCst);
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Serve `app` over TLS on `listener` until `shutdown` completes; connections in
/// flight finish first. The peer certificate, if any, is put into each request's
/// extensions as a [`ClientCertificate`]. Connections are bounded as
/// this module describes; the handshake must finish within the header timeout.
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    tls: &crate::tls::TlsSettings,
    http: &HttpSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls.server_config());
    serve(listener, app, http, Some(acceptor), shutdown).await
}
