//! `touchline run`: the production job against Kafka.
//!
//! Three parts: the ingest thread (blocking consume → apply loop), the publisher
//! task (outbox → attribution topic) and the HTTP API. SIGTERM or Ctrl-C stops
//! them in order: the API stops accepting, ingest commits its last batch, the
//! publisher drains the outbox (for up to `kafka.shutdown_drain_timeout_ms`;
//! what remains is logged and goes out on the next start), and the process
//! exits 0. If ingest fails, the process stops and exits non-zero; a supervisor
//! restarts it from the stored offsets.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use touchline_engine::{Engine, Queries};
use touchline_kafka::{Ingest, Publisher};
use touchline_store::Store;
use tracing::{error, info};

use crate::config::Config;

pub fn run(config_path: Option<&Path>) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    if config.kafka.shards > 0 {
        return run_sharded(config);
    }
    let Startup {
        access,
        runtime,
        tls,
    } = startup(&config)?;
    if let Some(parent) = config.store.path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("store.path: cannot create {}", parent.display()))?;
    }
    let store = Arc::new(Store::open(&config.store.path)?);
    let engine = Engine::open(store.clone(), config.engine())?;
    let metrics = engine.metrics().clone();
    let queries = Queries::new(store.clone());
    let stop_ingest = Arc::new(AtomicBool::new(false));
    let stop_publishing = Arc::new(AtomicBool::new(false));
    info!(store = %config.store.path.display(), brokers = %config.kafka.brokers, "starting");

    let ingest = Ingest::new(engine, config.kafka.clone(), stop_ingest.clone())?;
    let ingest_stopped = stop_ingest.clone();
    let ingest_thread = std::thread::Builder::new()
        .name("ingest".into())
        .spawn(move || {
            let result = ingest.run();
            // Whatever ended the loop ends the process: the API must not serve
            // stale data as if it were live.
            ingest_stopped.store(true, Ordering::Relaxed);
            result
        })
        .context("cannot start the ingest thread")?;

    runtime.block_on(async {
        let publisher = Publisher::new(store.clone(), &config.kafka, metrics.clone())?;
        let publishing = tokio::spawn(publisher.run(stop_publishing.clone()));
        let app = api(&config, access, queries, metrics.clone())?;
        serve_api(&config, app, metrics.clone(), tls, stop_ingest.clone()).await?;
        stop_ingest.store(true, Ordering::Relaxed);
        let ingest_result = tokio::task::spawn_blocking(move || ingest_thread.join())
            .await?
            .map_err(|_| anyhow::anyhow!("the ingest thread panicked"))?;
        // Ingest has committed its last batch, so the outbox holds everything
        // there is to publish; the publisher drains it (bounded) and stops.
        stop_publishing.store(true, Ordering::Relaxed);
        publishing.await?;
        if let Err(e) = &ingest_result {
            error!(error = %e, "ingest failed");
        }
        ingest_result.context("ingest failed")?;
        info!("stopped cleanly");
        anyhow::Ok(())
    })
}

/// What either mode checks and loads before anything starts.
struct Startup {
    access: touchline_api::Access,
    runtime: tokio::runtime::Runtime,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
}

fn startup(config: &Config) -> anyhow::Result<Startup> {
    // An API nobody may call is a mistake.
    let access = config.access.access()?;
    // A wrong password or an untrusted certificate stops here, named, instead
    // of being retried in the log for ever.
    touchline_kafka::check_connection(&config.kafka)?;
    let runtime = tokio::runtime::Runtime::new()?;
    // A missing or mismatched certificate stops here too, before consuming.
    let tls = match &config.http.tls {
        Some(files) => Some(runtime.block_on(crate::serve::load_tls(files))?),
        None => None,
    };
    Ok(Startup {
        access,
        runtime,
        tls,
    })
}

/// The query API and the dashboard over `queries`, as the configuration says.
fn api(
    config: &Config,
    access: touchline_api::Access,
    queries: Queries,
    metrics: Arc<touchline_engine::Metrics>,
) -> anyhow::Result<axum::Router> {
    Ok(touchline_api::router_with_limits(
        queries,
        metrics,
        touchline_api::ApiOptions {
            settings: config.attribution.settings(),
            scoring: config.scoring.clone(),
            access,
            routing: config.routing.clone(),
            pipeline: config.pipeline.clone(),
            commands: Some(Arc::new(touchline_kafka::CommandProducer::new(
                &config.kafka,
            )?)),
            ready_max_lag: config.http.ready_max_lag,
        },
        config.http.limits()?,
    )
    .merge(touchline_dashboard::router()))
}

/// Serves `app` on `http.listen` (and the probes on `http.metrics_listen`)
/// until SIGTERM, Ctrl-C or `stop`. Both ports are bound before anything is
/// served: a taken port is a startup error.
async fn serve_api(
    config: &Config,
    app: axum::Router,
    metrics: Arc<touchline_engine::Metrics>,
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("http.listen {}: cannot bind", config.http.listen))?;
    info!(listen = %config.http.listen, https = tls.is_some(), "serving the API");
    let metrics_listener = match config.http.metrics_listen {
        Some(addr) => Some((
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("http.metrics_listen {addr}: cannot bind"))?,
            addr,
        )),
        None => None,
    };
    // The metrics listener answers until the process ends: a scraper and the
    // probes see the shutdown through.
    if let Some((listener, addr)) = metrics_listener {
        info!(listen = %addr, "serving /metrics, /healthz and /readyz without a token");
        let app = touchline_api::metrics_router(metrics, config.http.ready_max_lag);
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    crate::serve::serve(listener, app, tls, shutdown_signal(stop)).await
}

/// `touchline run` with `kafka.shards` set: one instance of a sharded group
/// (`touchline_kafka::sharded`): the router, the directory and the shards it
/// is assigned, each shard a store under `store.path`. The query API and the
/// dashboard answer over the shards held here, read as one store.
fn run_sharded(config: Config) -> anyhow::Result<()> {
    let Startup {
        access,
        runtime,
        tls,
    } = startup(&config)?;
    std::fs::create_dir_all(&config.store.path)
        .with_context(|| format!("store.path: cannot create {}", config.store.path.display()))?;
    let metrics = Arc::new(touchline_engine::Metrics::default());
    let held = Arc::new(touchline_engine::HeldShards::new(config.kafka.shards));
    let shutdown = Arc::new(AtomicBool::new(false));
    info!(
        root = %config.store.path.display(),
        shards = config.kafka.shards,
        brokers = %config.kafka.brokers,
        "starting one instance of a sharded group"
    );
    // The instance id is settled here, before the loops, so that the peer
    // client and the members topic know this instance by the same one.
    let instance_id = touchline_kafka::sharded::instance_id(&config.kafka, &config.store.path)?;
    let kafka = touchline_kafka::KafkaConfig {
        instance_id: Some(instance_id.clone()),
        ..config.kafka.clone()
    };
    let members = Arc::new(touchline_engine::Members::default());
    let advertised = config.http.advertised()?;
    if advertised.is_none() {
        tracing::warn!(listen = %config.http.listen, "no http.advertised_url: the other instances cannot read the shards held here, and answer without them");
    }
    held.set_peers(Arc::new(touchline_api::PeerClient::new(
        members.clone(),
        instance_id,
        config.http.peer_token.clone(),
    )));
    let sharded = touchline_kafka::sharded::Sharded {
        config: kafka,
        engine: config.engine(),
        root: config.store.path.clone(),
        metrics: metrics.clone(),
        membership: touchline_kafka::sharded::Membership {
            api: advertised,
            held: held.clone(),
            members,
        },
    };
    let stop = shutdown.clone();
    let running = std::thread::Builder::new()
        .name("sharded".into())
        .spawn(move || {
            let result = sharded.run(stop.clone());
            stop.store(true, Ordering::Relaxed);
            result
        })
        .context("cannot start the sharded loops")?;
    runtime.block_on(async {
        let app = api(&config, access, Queries::sharded(held), metrics.clone())?;
        serve_api(&config, app, metrics, tls, shutdown.clone()).await
    })?;
    shutdown.store(true, Ordering::Relaxed);
    running
        .join()
        .map_err(|_| anyhow::anyhow!("the sharded loops panicked"))?
        .context("the sharded group instance failed")?;
    info!("stopped cleanly");
    Ok(())
}

/// `touchline replay`: rebuilds the views from the log, with a progress bar.
pub fn replay(
    config_path: Option<&Path>,
    in_memory_events: usize,
    threads: Option<usize>,
) -> anyhow::Result<()> {
    let config = Config::load(config_path)?;
    let path = &config.store.path;
    if !path.exists() {
        anyhow::bail!("store.path {}: no store there", path.display());
    }
    let store = Arc::new(Store::open_for_replay(path).with_context(|| {
        format!(
            "store.path {}: cannot open the store (is an engine running on it?)",
            path.display()
        )
    })?);
    let mut engine = Engine::open(store, config.engine())?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} events ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let before = engine.metrics().snapshot().attribution_versions;
    let threads =
        threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    engine.rebuild_in_groups(in_memory_events, threads, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    let snapshot = engine.metrics().snapshot();
    println!(
        "replayed {} events into fresh views; {} credit sets queued for publishing (next `touchline run` sends them)",
        snapshot.events_appended,
        snapshot.attribution_versions - before
    );
    Ok(())
}

/// Resolves on SIGTERM, Ctrl-C, or when ingest stopped on its own; then tells
/// ingest to stop. The signal listeners are installed once, so no signal that
/// arrives while the loop turns is lost.
async fn shutdown_signal(stop: Arc<AtomicBool>) {
    #[cfg(unix)]
    let mut sigterm =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        #[cfg(unix)]
        let terminated = async {
            match sigterm.as_mut() {
                Some(signal) => {
                    signal.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminated = std::future::pending::<()>();
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = terminated => break,
            _ = tick.tick() => {
                if stop.load(Ordering::Relaxed) { break; }
            }
        }
    }
    info!("shutting down");
    stop.store(true, Ordering::Relaxed);
}
