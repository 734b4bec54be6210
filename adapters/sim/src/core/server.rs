//! The loopback HTTP server a simulator runs on: bound to `127.0.0.1:0` before the
//! simulator builds its routes (some write their own address into links), served on a
//! task, and stopped gracefully when the simulator is dropped — the listener closes and
//! open connections finish their request and close.

use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A listener on `127.0.0.1:0`, not serving yet.
pub(crate) struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
}

impl Bound {
    pub(crate) async fn loopback() -> std::io::Result<Bound> {
        Bound::on(std::net::Ipv4Addr::LOCALHOST.into()).await
    }

    /// A listener on `ip:0`: a simulator reachable from elsewhere than this host's
    /// loopback (a network namespace on a veth pair).
    pub(crate) async fn on(ip: std::net::IpAddr) -> std::io::Result<Bound> {
        let listener = TcpListener::bind((ip, 0)).await?;
        let addr = listener.local_addr()?;
        Ok(Bound { listener, addr })
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serve `router` until the returned server is dropped. `name` goes into the log
    /// line should the server fail.
    pub(crate) fn serve(self, name: &'static str, router: Router) -> SimServer {
        let (stop, stopped) = oneshot::channel::<()>();
        let Bound { listener, addr } = self;
        let task = tokio::spawn(async move {
            let shutdown = async {
                // Dropping the sender counts as the signal too.
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
                tracing::warn!(simulator = name, error = %e, "simulator stopped");
            }
        });
        SimServer { addr, stop: Some(stop), _task: task }
    }
}

/// A running simulator server. Dropping it stops the server.
pub(crate) struct SimServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    _task: JoinHandle<()>,
}

impl SimServer {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::routing::get;

    use super::*;

    #[tokio::test]
    async fn dropping_the_server_closes_its_connections_too() {
        let bound = Bound::loopback().await.unwrap();
        let server = bound.serve("test", Router::new().route("/", get(|| async { "up" })));
        let url = format!("{}/", server.base_url());
        // One client, so the second request would reuse the kept-alive connection.
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        assert_eq!(client.get(&url).send().await.unwrap().text().await.unwrap(), "up");
        drop(server);
        let mut refused = false;
        for _ in 0..100 {
            if client.get(&url).send().await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(refused, "a stopped simulator still answered on a kept-alive connection");
    }
}
