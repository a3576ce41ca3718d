//! What operators and their machines call: liveness, readiness, metrics, and
//! the access log and request metrics every route passes through.
//!
//! `/healthz` answers while the process serves; `/readyz` while it is also
//! ready ([`touchline_engine::Partitions::readiness`]: a partition assigned,
//! every assigned partition within `http.ready_max_lag` of its high
//! watermark, none stalled). Both need no token, on the API's listener as on
//! the metrics listener ([`metrics_router`]), which serves `/metrics` too,
//! without a token, for a Prometheus scraper.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use touchline_engine::{Metrics, Readiness};

/// `http.ready_max_lag` when not configured: how many messages an instance
/// may be behind on one partition and still take traffic.
pub const DEFAULT_READY_MAX_LAG: u64 = 10_000;

/// What the health, readiness and metrics routes need.
#[derive(Clone, Debug)]
pub struct Probe {
    pub metrics: Arc<Metrics>,
    pub ready_max_lag: u64,
}

pub(crate) async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

#[derive(Serialize)]
struct ReadyBody {
    #[serde(flatten)]
    readiness: Readiness,
    ready_max_lag: u64,
    lag_total: Option<u64>,
}

/// 200 when ready, 503 with the reasons when not.
pub(crate) async fn readyz(State(probe): State<Probe>) -> Response {
    let readiness = probe.metrics.partitions().readiness(probe.ready_max_lag);
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let lag_total = probe.metrics.partitions().status().lag_total;
    (
        status,
        Json(ReadyBody {
            readiness,
            ready_max_lag: probe.ready_max_lag,
            lag_total,
        }),
    )
        .into_response()
}

pub(crate) async fn prometheus(State(probe): State<Probe>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            touchline_engine::OPENMETRICS_CONTENT_TYPE,
        )],
        probe.metrics.prometheus(),
    )
        .into_response()
}

/// The metrics listener's routes (`http.metrics_listen`): `/metrics`,
/// `/healthz` and `/readyz`, no token, nothing else. Bind it where only the
/// scraper and the orchestrator reach.
pub fn metrics_router(metrics: Arc<Metrics>, ready_max_lag: Option<u64>) -> axum::Router {
    let probe = Probe {
        metrics: metrics.clone(),
        ready_max_lag: ready_max_lag.unwrap_or(DEFAULT_READY_MAX_LAG),
    };
    axum::Router::new()
        .route("/metrics", get(prometheus))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route_layer(axum::middleware::from_fn_with_state(metrics, observe))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                Json(serde_json::json!({
                    "error": "the metrics listener serves /metrics, /healthz and /readyz only"
                })),
            )
        })
        .with_state(probe)
}

/// The access log and the request metrics: one span per request (method and
/// route pattern, so handler logs carry them), one log line when it is
/// answered, counted by route, method and status, timed by route and method.
/// The route is the matched pattern: raw paths carry ids and would make one
/// series per record.
pub(crate) async fn observe(
    State(metrics): State<Arc<Metrics>>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = matched.map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let span = tracing::info_span!("http_request", %method, %route);
    let response = {
        use tracing::Instrument;
        next.run(request).instrument(span.clone()).await
    };
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    metrics.http_request(&route, &method, status, elapsed);
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| {
        // Probes and scrapes come every few seconds and say nothing new:
        // at debug, so the access log shows what people and programs asked.
        if matches!(
            route.as_str(),
            "/healthz" | "/readyz" | "/metrics" | "/v1/health"
        ) {
            tracing::debug!(target: "touchline::access", status, latency_ms, "request");
        } else {
            tracing::info!(target: "touchline::access", status, latency_ms, "request");
        }
    });
    response
}
