//! What one request may cost: how many expensive requests run at once, how
//! large a request body may be.
//!
//! A report or a scan reads every view of a table on the blocking pool; a few
//! dozen at once kept a two-core host saturated for minutes while cheap
//! lookups waited behind them. So expensive requests take a permit from an
//! [`ExpensiveGate`] and, when none is free, get 503 with `Retry-After` at once
//! rather than queueing: a client retries later, the host keeps answering
//! health checks, status, metrics and single-record lookups.

use std::num::NonZeroUsize;
use std::sync::Arc;

use axum::extract::{MatchedPath, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Largest request body by default: a re-routing is an id and a short reason.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024;

/// Seconds a refused expensive request is told to wait before trying again.
pub const RETRY_AFTER_SECS: u64 = 1;

/// The least default of expensive requests at once: two dashboard pages'
/// worth, whatever the cores.
pub const MIN_DEFAULT_EXPENSIVE: usize = 10;

/// The API's bounds on a single request.
#[derive(Debug, Clone)]
pub struct ApiLimits {
    /// Permits for expensive requests ([`Cost::Expensive`], and any `format=csv`).
    pub expensive: ExpensiveGate,
    /// Largest request body accepted, in bytes; a larger one gets 413.
    pub max_body_bytes: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            expensive: ExpensiveGate::new(ExpensiveGate::default_size()),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// At most `size` expensive requests at once. Clones share the permits.
#[derive(Debug, Clone)]
pub struct ExpensiveGate {
    permits: Arc<Semaphore>,
    size: usize,
}

/// One running expensive request; dropping it frees the permit.
#[derive(Debug)]
pub struct ExpensivePermit {
    _permit: OwnedSemaphorePermit,
}

impl ExpensiveGate {
    pub fn new(size: NonZeroUsize) -> Self {
        ExpensiveGate {
            permits: Arc::new(Semaphore::new(size.get())),
            size: size.get(),
        }
    }

    /// Twice the cores the process may use, and at least
    /// [`MIN_DEFAULT_EXPENSIVE`]: reports are CPU-bound, and twice keeps the
    /// cores busy while one waits on disk; but one dashboard page alone asks
    /// for up to five reports at once, so a smaller gate would refuse a
    /// single user's page on a small machine.
    pub fn default_size() -> NonZeroUsize {
        let twice = std::thread::available_parallelism().map_or(0, |n| n.get().saturating_mul(2));
        NonZeroUsize::new(twice.max(MIN_DEFAULT_EXPENSIVE)).unwrap_or(NonZeroUsize::MIN)
    }

    /// How many expensive requests may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Permits free right now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// A permit if one is free; never waits.
    pub fn try_acquire(&self) -> Option<ExpensivePermit> {
        self.permits
            .clone()
            .try_acquire_owned()
            .ok()
            .map(|permit| ExpensivePermit { _permit: permit })
    }
}

/// What a route costs to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cost {
    /// Health and the API description: never limited, so probes always answer.
    Free,
    /// One record by its key, status and metrics: limited only as CSV exports.
    Cheap,
    /// Reports and list scans: read a whole table (or several).
    Expensive,
}

impl Cost {
    /// The cost of a route by its path pattern, as the route table states it
    /// ([`crate::routes::ROUTES`]). A path missing there is expensive: limiting
    /// a cheap route by mistake costs less than the reverse.
    pub fn of(path: &str) -> Cost {
        crate::routes::cost_of(path).unwrap_or(Cost::Expensive)
    }

    pub fn name(self) -> &'static str {
        match self {
            Cost::Free => "free",
            Cost::Cheap => "cheap",
            Cost::Expensive => "expensive",
        }
    }
}

fn wants_csv(request: &Request) -> bool {
    Query::<std::collections::HashMap<String, String>>::try_from_uri(request.uri())
        .is_ok_and(|Query(params)| params.get("format").is_some_and(|f| f == "csv"))
}

/// Runs an expensive request under a permit, or answers 503 at once.
pub(crate) async fn limit_expensive(
    State(gate): State<ExpensiveGate>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let cost = matched
        .as_ref()
        .map_or(Cost::Expensive, |m| Cost::of(m.as_str()));
    let limited = match cost {
        Cost::Free => false,
        Cost::Cheap => wants_csv(&request),
        Cost::Expensive => true,
    };
    if !limited {
        return next.run(request).await;
    }
    let Some(permit) = gate.try_acquire() else {
        tracing::debug!(
            path = matched.as_ref().map(MatchedPath::as_str),
            "expensive request refused: no permit free"
        );
        return busy(gate.size());
    };
    // On its own task, so that the permit is held until the work is done even
    // when the caller hangs up: dropping the request future would not stop the
    // blocking read it started, and the bound is on work, not on connections.
    let task = tokio::spawn(async move {
        let response = next.run(request).await;
        drop(permit);
        response
    });
    match task.await {
        Ok(response) => response,
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({ "error": format!("request task failed: {e}") })),
        )
            .into_response(),
    }
}

fn busy(size: usize) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, RETRY_AFTER_SECS.to_string())],
        axum::Json(serde_json::json!({
            "error": format!(
                "busy: {size} expensive requests (reports, list scans, CSV exports) are \
                 running, the most this instance runs at once; retry after {RETRY_AFTER_SECS} s"
            )
        })),
    )
        .into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn probes_and_lookups_are_not_expensive_reports_and_scans_are() {
        for path in ["/v1/health", "/healthz", "/readyz", "/openapi.json"] {
            assert_eq!(Cost::of(path), Cost::Free, "{path}");
        }
        for path in [
            "/v1/status",
            "/metrics",
            "/v1/persons/{id}",
            "/v1/leads/{id}",
        ] {
            assert_eq!(Cost::of(path), Cost::Cheap, "{path}");
        }
        for path in [
            "/v1/reports/attribution",
            "/v1/reports/data-driven",
            "/v1/reports/compare",
            "/v1/campaigns",
            "/v1/leads",
            "/v1/people/duplicates",
            "/v1/not-yet-classified",
        ] {
            assert_eq!(Cost::of(path), Cost::Expensive, "{path}");
        }
    }

    #[test]
    fn permits_are_shared_by_clones_and_freed_on_drop() {
        let gate = ExpensiveGate::new(NonZeroUsize::new(2).unwrap());
        let other = gate.clone();
        let a = gate.try_acquire().unwrap();
        let _b = other.try_acquire().unwrap();
        assert!(gate.try_acquire().is_none());
        drop(a);
        assert_eq!(other.available(), 1);
        assert!(ExpensiveGate::default_size().get() >= MIN_DEFAULT_EXPENSIVE);
    }
}
