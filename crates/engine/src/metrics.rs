use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use serde::Serialize;

/// Counters shared by the ingest loop, the publisher and the API. Totals since
/// the store was created (they survive restarts), except `publish_failures`,
/// which counts this process's failed attempts.
#[derive(Debug, Default)]
pub struct Metrics {
    pub events_appended: AtomicU64,
    /// True retries: the same event id with the same content, skipped silently.
    pub duplicates: AtomicU64,
    /// The same event id with different content: skipped and dead-lettered
    /// with reason `conflicting_duplicate`.
    pub conflicting_duplicates: AtomicU64,
    pub dead_lettered: AtomicU64,
    /// Dead letters whose original payload was too large to carry and went out
    /// cut short or as a reference (source coordinates and reason only).
    pub dead_letters_truncated: AtomicU64,
    pub batches: AtomicU64,
    /// Credit-set versions queued for publishing.
    pub attribution_versions: AtomicU64,
    /// Messages delivered to the attribution and alerts topics; a version
    /// superseded within the same outbox page is not sent.
    pub published: AtomicU64,
    /// Outbox records Kafka refused for good (e.g. too large), set aside in the
    /// store with their reason instead of blocking the rest.
    pub publish_parked: AtomicU64,
    /// Publish attempts that failed and will be retried, since this process started.
    pub publish_failures: AtomicU64,
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

impl Metrics {
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            events_appended: self.events_appended.load(Relaxed),
            duplicates: self.duplicates.load(Relaxed),
            conflicting_duplicates: self.conflicting_duplicates.load(Relaxed),
            dead_lettered: self.dead_lettered.load(Relaxed),
            dead_letters_truncated: self.dead_letters_truncated.load(Relaxed),
            batches: self.batches.load(Relaxed),
            attribution_versions: self.attribution_versions.load(Relaxed),
            published: self.published.load(Relaxed),
            publish_parked: self.publish_parked.load(Relaxed),
            publish_failures: self.publish_failures.load(Relaxed),
        }
    }

    /// The Prometheus text exposition of the counters.
    pub fn prometheus(&self) -> String {
        let s = self.snapshot();
        let rows: [(&str, &str, u64); 10] = [
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
                "touchline_conflicting_duplicates_total",
                "Events whose id was in the log with different content (dead-lettered).",
                s.conflicting_duplicates,
            ),
            (
                "touchline_dead_lettered_total",
                "Messages sent to the dead-letter topic.",
                s.dead_lettered,
            ),
            (
                "touchline_dead_letters_truncated_total",
                "Dead letters sent cut short or as a reference because the original was too large.",
                s.dead_letters_truncated,
            ),
            ("touchline_batches_total", "Batches committed.", s.batches),
            (
                "touchline_attribution_versions_total",
                "Credit-set versions queued for publishing.",
                s.attribution_versions,
            ),
            (
                "touchline_published_total",
                "Attribution and alert messages delivered.",
                s.published,
            ),
            (
                "touchline_publish_parked_total",
                "Outbox records Kafka refused for good, set aside in the store.",
                s.publish_parked,
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

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }
}
