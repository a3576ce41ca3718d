//! `touchline run`: the production job against Kafka.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use touchline_engine::{Engine, EngineConfig, Queries};
use touchline_kafka::{Ingest, Publisher};
use touchline_store::Store;
use tracing::{error, info};

use crate::config::Config;

pub fn run(config_path: Option<&Path>) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    if let Some(parent) = config.store.path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("store.path: cannot create {}", parent.display()))?;
    }
    let store = Arc::new(Store::open(&config.store.path)?);
    let engine = Engine::open(
        store.clone(),
        EngineConfig {
            models: config.attribution.models.clone(),
        },
    )?;
    let metrics = engine.metrics().clone();
    let queries = Queries::new(store.clone());
    let shutdown = Arc::new(AtomicBool::new(false));
    info!(store = %config.store.path.display(), brokers = %config.kafka.brokers, "starting");

    let ingest = Ingest::new(engine, config.kafka.clone(), shutdown.clone())?;
    let ingest_shutdown = shutdown.clone();
    let ingest_thread = std::thread::Builder::new()
        .name("ingest".into())
        .spawn(move || {
            let result = ingest.run();
            // Whatever ended the loop ends the process: the API must not serve
            // stale data pretending to be live.
            ingest_shutdown.store(true, Ordering::Relaxed);
            result
        })
        .context("cannot start the ingest thread")?;

    let runtime = tokio::runtime::Runtime::new()?;
    let served = runtime.block_on(async {
        let publisher = Publisher::new(store.clone(), &config.kafka, metrics.clone())?;
        let publishing = tokio::spawn(publisher.run(shutdown.clone()));
        let listener = tokio::net::TcpListener::bind(config.http.listen)
            .await
            .with_context(|| format!("http.listen {}: cannot bind", config.http.listen))?;
        info!(listen = %config.http.listen, "serving the API");
        let app = touchline_api::router(queries, metrics.clone());
        let signal_shutdown = shutdown.clone();
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    _ = terminate() => break,
                    _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                        if signal_shutdown.load(Ordering::Relaxed) { break; }
                    }
                }
            }
            info!("shutting down");
            signal_shutdown.store(true, Ordering::Relaxed);
        });
        server.await?;
        publishing.await?;
        anyhow::Ok(())
    });
    shutdown.store(true, Ordering::Relaxed);
    let ingest_result = ingest_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the ingest thread panicked"))?;
    if let Err(e) = &ingest_result {
        error!(error = %e, "ingest failed");
    }
    served?;
    ingest_result.context("ingest failed")?;
    info!("stopped cleanly");
    Ok(())
}

#[cfg(unix)]
async fn terminate() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut signal) => {
            signal.recv().await;
        }
        Err(_) => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
async fn terminate() {
    std::future::pending::<()>().await
}
