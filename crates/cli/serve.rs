//! Serving the API: plain HTTP, or HTTPS with rustls when `http.tls` names a
//! certificate and key.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;

use crate::config::TlsFiles;

/// A server's TLS set up before anything starts, so a missing or bad
/// certificate or key is a startup error naming the file.
pub async fn load_tls(files: &TlsFiles) -> anyhow::Result<RustlsConfig> {
    // One process-wide provider; a second install (tests, demo) is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    RustlsConfig::from_pem_file(&files.cert, &files.key)
        .await
        .with_context(|| {
            format!(
                "http.tls: cannot use the certificate {} with the key {} (PEM files, the key matching the certificate)",
                files.cert.display(),
                files.key.display()
            )
        })
}

/// Serves `app` on `listener` until `shutdown` completes, then lets requests
/// in flight finish (up to 10 s under TLS).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    tls: Option<RustlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let Some(tls) = tls else {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await?;
        return Ok(());
    };
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopping.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    axum_server::from_tcp_rustls(listener.into_std()?, tls)?
        .handle(handle)
        .serve(app.into_make_service())
        .await?;
    Ok(())
}
