//! A router of a test's own served on loopback, beside the simulators: a stub remote
//! that answers as a test needs (a rogue server, a webhook receiver, a moved host).

/// Serve `app` on `127.0.0.1:0` until the runtime ends: its base URL, `http://ip:port`.
pub async fn serve(app: axum::Router) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "loopback server stopped");
        }
    });
    Ok(format!("http://{addr}"))
}
