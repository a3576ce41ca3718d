use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

/// Counters shared by the ingest loop, the publisher and the API. Totals since
/// the store was created, except where noted.
#[derive(Debug, Default)]
pub struct Metrics {
    pub events_appended: AtomicU64,
    pub duplicates: AtomicU64,
    pub dead_lettered: AtomicU64,
    /// Since this process started.
    pub batches: AtomicU64,
    /// Credit-set versions queued for publishing.
    pub attribution_versions: AtomicU64,
    /// Messages delivered to the attribution topic since this process started;
    /// a version superseded within the same outbox page is not sent.
    pub published: AtomicU64,
    /// Publish attempts that failed and will be retried, since this process started.
    pub publish_failures: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MetricsSnapshot {
    pub events_appended: u64,
    pub duplicates: u64,
    pub dead_lettered: u64,
    pub batches: u64,
    pub attribution_versions: u64,
    pub published: u64,
    pub publish_failures: u64,
}

impl Metrics {
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            events_appended: self.events_appended.load(Relaxed),
            duplicates: self.duplicates.load(Relaxed),
            dead_lettered: self.dead_lettered.load(Relaxed),
            batches: self.batches.load(Relaxed),
            attribution_versions: self.attribution_versions.load(Relaxed),
            published: self.published.load(Relaxed),
            publish_failures: self.publish_failures.load(Relaxed),
        }
    }

    /// The Prometheus text exposition of the counters.
    pub fn prometheus(&self) -> String {
        let s = self.snapshot();
        let rows: [(&str, &str, u64); 7] = [
            (
                "touchline_events_appended_total",
                "Events appended to the log.",
                s.events_appended,
            ),
            (
                "touchline_duplicates_total",
                "Events skipped because their id was already in the log.",
                s.duplicates,
            ),
            (
                "touchline_dead_lettered_total",
                "Messages sent to the dead-letter topic.",
                s.dead_lettered,
            ),
            (
                "touchline_batches_total",
                "Batches committed by this process.",
                s.batches,
            ),
            (
                "touchline_attribution_versions_total",
                "Credit-set versions queued for publishing.",
                s.attribution_versions,
            ),
            (
                "touchline_published_total",
                "Attribution messages delivered by this process.",
                s.published,
            ),
            (
                "touchline_publish_failures_total",
                "Failed publish attempts (retried).",
                s.publish_failures,
            ),
        ];
        let mut out = String::new();
        for (name, help, value) in rows {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
            ));
        }
        out
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }
}
