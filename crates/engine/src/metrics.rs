//! What an operator measures: the counters `/v1/status` shows, and every metric
//! `/metrics` exposes, through `prometheus-client` (OpenMetrics text).
//!
//! One [`Metrics`] per process, shared by the engine (batches, commits, event
//! age), the Kafka edge (lag, rebalances, consumer errors, stalled partitions,
//! publishing, dead letters) and the API (requests). The engine fills in only
//! what it measures itself; the label sets are plain strings, so this module
//! knows neither Kafka nor HTTP.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde::Serialize;
use touchline_core::Timestamp;

use crate::partitions::Partitions;

/// The content type of [`Metrics::prometheus`].
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A dead letter's `touchline.dlq.error` code.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

/// `assigned`, `revoked` or `error` (a rebalance that failed and dropped the
/// assignment).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RebalanceLabels {
    pub kind: String,
}

/// A consumer error's code (librdkafka's name for it).
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    pub code: String,
}

/// An HTTP request: the matched route pattern (never the raw path, whose ids
/// would make one series per record), the method and the status.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub method: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Latency buckets: 0.5 ms to about 33 s.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 17))
}

/// Shared by the ingest loop, the publisher and the API. Counters are totals
/// since the store was created (they survive restarts), except
/// `publish_failures` and everything that only `/metrics` shows, which count
/// since this process started.
#[derive(Debug)]
pub struct Metrics {
    pub events_appended: Counter,
    /// True retries: the same event id with the same content, skipped silently.
    pub duplicates: Counter,
    /// The same event id with different content: skipped and dead-lettered
    /// with reason `conflicting_duplicate`.
    pub conflicting_duplicates: Counter,
    pub dead_lettered: Counter,
    /// Dead letters whose original payload was too large to carry and went out
    /// cut short or as a reference (source coordinates and reason only).
    pub dead_letters_truncated: Counter,
    pub batches: Counter,
    /// Credit-set versions queued for publishing.
    pub attribution_versions: Counter,
    /// Messages delivered to the attribution and alerts topics; a version
    /// superseded within the same outbox page is not sent.
    pub published: Counter,
    /// Outbox records Kafka refused for good (e.g. too large), set aside in the
    /// store with their reason instead of blocking the rest.
    pub publish_parked: Counter,
    /// Publish attempts that failed and will be retried, since this process started.
    pub publish_failures: Counter,
    /// Folds that read a view the loader had not foreseen and ran again with
    /// it, since this process started (a cost, never a wrong result).
    pub fold_reloads: Counter,
    /// Conversions a batch marked but left as they were, since nothing it
    /// changed could move their answer (only touches after them).
    pub conversions_unchanged: Counter,
    /// Partitions started without state whose first message was past offset
    /// 0: events deleted by retention before this store saw them.
    pub history_gaps: Counter,

    /// Events appended per committed batch.
    pub batch_events: Histogram,
    /// Preparing a batch on the caller's thread: dedupe, folds, attribution.
    pub batch_prepare_seconds: Histogram,
    /// The writer's `store.write`: one WriteBatch and its fsync.
    pub batch_write_seconds: Histogram,
    /// From the start of preparing a batch until it is durable (prepare, wait
    /// for the batch ahead of it, write).
    pub batch_commit_seconds: Histogram,
    /// Per appended event, when its batch became durable: now minus `recorded_at`.
    pub event_age_seconds: Histogram,
    /// Outbox records not yet published (set by the publisher).
    pub outbox_depth: Gauge,
    /// The next outbox id the engine will write, durable; with the publisher's
    /// trim point it gives the depth without scanning the outbox.
    pub outbox_next_id: AtomicU64,
    /// One outbox page: from reading it to Kafka's last acknowledgement.
    pub publish_seconds: Histogram,
    /// Dead letters sent by this process, by `touchline.dlq.error` code.
    pub dead_letters: Family<ReasonLabels, Counter>,
    pub rebalances: Family<RebalanceLabels, Counter>,
    /// Every error the consumer reported, by code.
    pub consumer_errors: Family<CodeLabels, Counter>,
    pub http_requests: Family<RequestLabels, Counter>,
    pub http_request_seconds: HistogramFamily<RouteLabels>,
    partitions: std::sync::Arc<Partitions>,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::default();
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let histogram = |registry: &mut Registry, name: &str, help: &str, h: Histogram| {
            registry.register(name, help, h.clone());
            h
        };
        let r = &mut registry;
        // Registered without `_total`: the encoder appends it, so the names
        // dashboards know (`touchline_events_appended_total`) stay.
        let events_appended = counter(
            r,
            "touchline_events_appended",
            "Events appended to the log.",
        );
        let duplicates = counter(
            r,
            "touchline_duplicates",
            "Events skipped because their id was already in the log.",
        );
        let conflicting_duplicates = counter(
            r,
            "touchline_conflicting_duplicates",
            "Events whose id was in the log with different content (dead-lettered).",
        );
        let dead_lettered = counter(
            r,
            "touchline_dead_lettered",
            "Messages sent to the dead-letter topic.",
        );
        let dead_letters_truncated = counter(
            r,
            "touchline_dead_letters_truncated",
            "Dead letters sent cut short or as a reference because the original was too large.",
        );
        let batches = counter(r, "touchline_batches", "Batches committed.");
        let attribution_versions = counter(
            r,
            "touchline_attribution_versions",
            "Credit-set versions queued for publishing.",
        );
        let published = counter(
            r,
            "touchline_published",
            "Attribution and alert messages delivered.",
        );
        let publish_parked = counter(
            r,
            "touchline_publish_parked",
            "Outbox records Kafka refused for good, set aside in the store.",
        );
        let publish_failures = counter(
            r,
            "touchline_publish_failures",
            "Failed publish attempts (retried).",
        );
        let fold_reloads = counter(
            r,
            "touchline_fold_reloads",
            "Batch folds that read a view the loader had not foreseen and ran again with it.",
        );
        let conversions_unchanged = counter(
            r,
            "touchline_conversions_unchanged",
            "Conversions a batch left un-re-attributed: it changed only touches after them.",
        );
        let history_gaps = counter(
            r,
            "touchline_history_gaps",
            "Partitions started without state whose earliest message was past offset 0 (events lost to retention).",
        );
        let batch_events = histogram(
            r,
            "touchline_batch_events",
            "Events appended per committed batch.",
            Histogram::new(exponential_buckets(1.0, 4.0, 9)),
        );
        let batch_prepare_seconds = histogram(
            r,
            "touchline_batch_prepare_seconds",
            "Time preparing a batch: dedupe, folds, attribution.",
            latency_buckets(),
        );
        let batch_write_seconds = histogram(
            r,
            "touchline_batch_write_seconds",
            "Time writing a batch: one RocksDB WriteBatch and its fsync.",
            latency_buckets(),
        );
        let batch_commit_seconds = histogram(
            r,
            "touchline_batch_commit_seconds",
            "Time from the start of preparing a batch until it is durable.",
            latency_buckets(),
        );
        let event_age_seconds = histogram(
            r,
            "touchline_event_age_at_commit_seconds",
            "Per appended event, its commit time minus its recorded_at.",
            // 10 ms to about 2 years: backfills are old, live events young.
            Histogram::new(exponential_buckets(0.01, 4.0, 17)),
        );
        let outbox_depth = Gauge::default();
        r.register(
            "touchline_outbox_depth",
            "Outbox records waiting to be published.",
            outbox_depth.clone(),
        );
        let publish_seconds = histogram(
            r,
            "touchline_publish_seconds",
            "Time publishing one outbox page, until Kafka acknowledged it.",
            latency_buckets(),
        );
        let dead_letters = Family::<ReasonLabels, Counter>::default();
        r.register(
            "touchline_dead_letters",
            "Dead letters sent by this process, by reason code (touchline.dlq.error).",
            dead_letters.clone(),
        );
        let rebalances = Family::<RebalanceLabels, Counter>::default();
        r.register(
            "touchline_rebalances",
            "Consumer group rebalance callbacks, by kind: assigned, revoked, error.",
            rebalances.clone(),
        );
        let consumer_errors = Family::<CodeLabels, Counter>::default();
        r.register(
            "touchline_consumer_errors",
            "Errors the Kafka consumer reported, by code.",
            consumer_errors.clone(),
        );
        let http_requests = Family::<RequestLabels, Counter>::default();
        r.register(
            "touchline_http_requests",
            "HTTP requests answered, by route pattern, method and status.",
            http_requests.clone(),
        );
        let http_request_seconds: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(latency_buckets);
        r.register(
            "touchline_http_request_seconds",
            "HTTP request latency, by route pattern and method.",
            http_request_seconds.clone(),
        );
        let partitions = std::sync::Arc::new(Partitions::default());
        r.register_collector(Box::new(partitions.clone()));
        Metrics {
            events_appended,
            duplicates,
            conflicting_duplicates,
            dead_lettered,
            dead_letters_truncated,
            batches,
            attribution_versions,
            published,
            publish_parked,
            publish_failures,
            fold_reloads,
            conversions_unchanged,
            history_gaps,
            batch_events,
            batch_prepare_seconds,
            batch_write_seconds,
            batch_commit_seconds,
            event_age_seconds,
            outbox_depth,
            outbox_next_id: AtomicU64::new(0),
            publish_seconds,
            dead_letters,
            rebalances,
            consumer_errors,
            http_requests,
            http_request_seconds,
            partitions,
            registry,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MetricsSnapshot {
    pub events_appended: u64,
    pub duplicates: u64,
    pub conflicting_duplicates: u64,
    pub dead_lettered: u64,
    pub dead_letters_truncated: u64,
    pub batches: u64,
    pub attribution_versions: u64,
    pub published: u64,
    pub publish_parked: u64,
    pub publish_failures: u64,
}

/// What the writer measured of one durable batch.
#[derive(Debug, Clone, Default)]
pub struct BatchTimings {
    pub appended: u64,
    pub conflicting: u64,
    pub write: Duration,
    /// Since the batch started being prepared.
    pub commit: Duration,
    /// `recorded_at` of every appended event, ms since the epoch.
    pub recorded_at_ms: Vec<i64>,
    pub next_outbox_id: u64,
}

impl Metrics {
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            events_appended: self.events_appended.get(),
            duplicates: self.duplicates.get(),
            conflicting_duplicates: self.conflicting_duplicates.get(),
            dead_lettered: self.dead_lettered.get(),
            dead_letters_truncated: self.dead_letters_truncated.get(),
            batches: self.batches.get(),
            attribution_versions: self.attribution_versions.get(),
            published: self.published.get(),
            publish_parked: self.publish_parked.get(),
            publish_failures: self.publish_failures.get(),
        }
    }

    /// Every metric in the OpenMetrics text format ([`OPENMETRICS_CONTENT_TYPE`]).
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; our collector does not either.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        out
    }

    pub fn add(counter: &Counter, n: u64) {
        counter.inc_by(n);
    }

    /// Raises a counter to a total loaded from the store (whoever loads it
    /// first, the counter never goes back).
    pub fn raise_to(counter: &Counter, total: u64) {
        counter.inner().fetch_max(total, Relaxed);
    }

    /// The partitions a Kafka consumer feeds this engine from: lag, stalls,
    /// readiness.
    pub fn partitions(&self) -> &Partitions {
        &self.partitions
    }

    /// A batch became durable (called by the writer thread).
    pub fn batch_written(&self, t: &BatchTimings) {
        self.batch_events.observe(t.appended as f64);
        self.batch_write_seconds.observe(t.write.as_secs_f64());
        self.batch_commit_seconds.observe(t.commit.as_secs_f64());
        let now = Timestamp::now().as_millis();
        for recorded in &t.recorded_at_ms {
            // A producer's clock ahead of ours makes a negative age: count it as 0.
            self.event_age_seconds
                .observe((now - recorded).max(0) as f64 / 1000.0);
        }
        if t.conflicting > 0 {
            self.dead_letter("conflicting_duplicate", t.conflicting);
        }
        self.outbox_next_id.fetch_max(t.next_outbox_id, Relaxed);
    }

    /// `n` dead letters with this `touchline.dlq.error` code were sent (or,
    /// for conflicting duplicates, queued in the outbox with their batch).
    pub fn dead_letter(&self, reason: &str, n: u64) {
        self.dead_letters
            .get_or_create(&ReasonLabels {
                reason: reason.to_owned(),
            })
            .inc_by(n);
    }

    pub fn rebalance(&self, kind: &str) {
        self.rebalances
            .get_or_create(&RebalanceLabels {
                kind: kind.to_owned(),
            })
            .inc();
    }

    pub fn http_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                method: method.to_owned(),
                status,
            })
            .inc();
        self.http_request_seconds
            .get_or_create(&RouteLabels {
                route: route.to_owned(),
                method: method.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// The publisher trimmed the outbox through `last_id`: what the engine
    /// wrote beyond it is still to publish.
    pub fn outbox_published_through(&self, last_id: Option<u64>) {
        let next = self.outbox_next_id.load(Relaxed);
        let depth = match last_id {
            Some(last) => next.saturating_sub(last + 1),
            None => 0,
        };
        self.outbox_depth.set(depth as i64);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn existing_counter_names_stay_and_new_families_show() {
        let m = Metrics::default();
        Metrics::add(&m.events_appended, 5);
        m.dead_letter("json_decode", 2);
        m.http_request("/v1/persons/{id}", "GET", 404, Duration::from_millis(3));
        m.batch_written(&BatchTimings {
            appended: 5,
            recorded_at_ms: vec![Timestamp::now().as_millis() - 2_000],
            ..BatchTimings::default()
        });
        let text = m.prometheus();
        for line in [
            "touchline_events_appended_total 5\n",
            "touchline_dead_letters_total{reason=\"json_decode\"} 2\n",
            "touchline_http_requests_total{route=\"/v1/persons/{id}\",method=\"GET\",status=\"404\"} 1\n",
            "touchline_batch_events_count 1\n",
            "touchline_event_age_at_commit_seconds_count 1\n",
            "touchline_assigned_partitions 0\n",
            "# EOF\n",
        ] {
            assert!(text.contains(line), "{line:?} missing from\n{text}");
        }
    }
}
