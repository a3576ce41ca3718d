//! The input partitions as the consumer sees them: assignment, lag, stalled
//! partitions and readiness. Fed by the Kafka edge, read by `/v1/status`,
//! `/readyz` and `/metrics` (a [`Collector`] encodes them at scrape time).

use std::collections::BTreeMap;
use std::sync::Mutex;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use serde::Serialize;
use touchline_core::Timestamp;

/// Where an input partition stands, as the consumer sees it.
#[derive(Debug, Clone, Default)]
struct PartitionState {
    assigned: bool,
    /// The next offset the engine needs (durable), once known.
    next_offset: Option<i64>,
    /// librdkafka's last known high watermark (from its statistics).
    high_watermark: Option<i64>,
    /// A message of this partition reached the loop since the last statistics.
    progressed: bool,
    /// Undecodable-batch errors put down to this partition.
    undecodable_errors: u64,
    stall: Option<Stall>,
}

/// A partition the consumer cannot get past.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stall {
    /// The offset it is stuck at: the next one the engine needs.
    pub offset: i64,
    pub error: String,
    pub since: Timestamp,
    /// Consumer errors since it stalled.
    pub errors: u64,
}

/// One partition's numbers from librdkafka's statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionStatistics {
    pub topic: String,
    pub partition: i32,
    /// Negative: not known yet.
    pub high_watermark: i64,
    /// Offset of the last message handed to the application plus one; negative
    /// when none was.
    pub app_offset: i64,
    pub low_watermark: i64,
    /// Messages fetched and waiting in the client's queue.
    pub fetch_queue: i64,
}

#[derive(Debug, Default)]
struct PartitionsInner {
    /// A Kafka consumer feeds this engine (false in the demo).
    attached: bool,
    partitions: BTreeMap<(String, i32), PartitionState>,
    /// Every partition of the input topics, assigned here or not, as the
    /// client's last statistics listed them.
    input: std::collections::BTreeSet<(String, i32)>,
    /// Undecodable-batch errors since the last statistics, and the last text.
    undecodable_pending: u64,
    last_undecodable: String,
}

/// The input partitions: assignment, lag, stalls. Fed by the Kafka edge,
/// read by `/v1/status`, `/readyz` and `/metrics`.
///
/// Why lag and stalls come from librdkafka's statistics: they carry each
/// partition's high watermark from the fetch responses the client makes
/// anyway (no extra request, nothing blocks the ingest loop), and its fetch
/// queue. A consumer error for an undecodable record batch (a codec the client
/// lacks, a corrupt batch) names no partition once rdkafka turns it into a
/// `KafkaError` (the code only), so the partition is found by elimination at
/// the next statistics: an assigned partition behind its high watermark that
/// delivered nothing and has nothing queued while such errors keep coming is
/// stalled. It stays stalled until a message of it arrives, or it is revoked.
#[derive(Debug, Default)]
pub struct Partitions {
    inner: Mutex<PartitionsInner>,
}

/// A partition in `/v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionStatus {
    pub topic: String,
    pub partition: i32,
    pub next_offset: Option<i64>,
    pub high_watermark: Option<i64>,
    /// High watermark minus next offset; `None` until both are known.
    pub lag: Option<u64>,
    pub stalled: Option<Stall>,
}

/// A stalled partition in `/v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StalledPartition {
    pub topic: String,
    pub partition: i32,
    #[serde(flatten)]
    pub stall: Stall,
}

/// The consumer's side of `/v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsumerStatus {
    /// False when nothing consumes Kafka (the demo).
    pub attached: bool,
    /// Total lag of the assigned partitions; `None` while one is not known.
    pub lag_total: Option<u64>,
    pub partitions: Vec<PartitionStatus>,
    pub stalled: Vec<StalledPartition>,
}

/// How much of the input this instance consumes. Several instances in one
/// group split the partitions, and state is not shared between them yet, so
/// an instance that holds some of them answers for those events only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Partitions of the input topics; `null` until the client's statistics
    /// listed them, and without a consumer (the demo).
    pub input_partitions: Option<usize>,
    /// Of those, the ones assigned to this instance.
    pub assigned_partitions: usize,
    /// Every input partition is this instance's, so its reports cover every
    /// event; `null` while not known.
    pub complete: Option<bool>,
}

/// Whether the instance is ready, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub ready: bool,
    /// Caught up: every assigned partition's lag is known and within the bound.
    pub caught_up: bool,
    pub reasons: Vec<String>,
}

impl PartitionState {
    fn lag(&self) -> Option<u64> {
        Some(
            self.high_watermark?
                .saturating_sub(self.next_offset?)
                .max(0) as u64,
        )
    }
}

impl Partitions {
    fn lock(&self) -> std::sync::MutexGuard<'_, PartitionsInner> {
        // The state is plain numbers: a panic elsewhere cannot leave it torn.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A Kafka consumer feeds this engine: readiness now depends on it.
    pub fn attach(&self) {
        self.lock().attached = true;
    }

    /// Partitions assigned, with the next offset the store holds for each.
    pub fn assigned(&self, partitions: &[(String, i32, Option<i64>)]) {
        let mut inner = self.lock();
        for (topic, partition, next) in partitions {
            let state = inner
                .partitions
                .entry((topic.clone(), *partition))
                .or_default();
            state.assigned = true;
            if next.is_some() {
                state.next_offset = *next;
            }
        }
    }

    /// Partitions revoked: no longer ours, so neither lagging nor stalled here.
    pub fn revoked(&self, partitions: &[(String, i32)]) {
        let mut inner = self.lock();
        for key in partitions {
            inner.partitions.remove(key);
        }
    }

    /// Every partition revoked (a failed rebalance dropped the assignment).
    pub fn revoked_all(&self) {
        self.lock().partitions.clear();
    }

    /// A message of the partition reached the loop: it is not stalled.
    /// Returns the stall it ended, if any.
    pub fn consumed(&self, topic: &str, partition: i32) -> Option<Stall> {
        let mut inner = self.lock();
        let state = inner.partitions.get_mut(&(topic.to_owned(), partition))?;
        state.progressed = true;
        state.stall.take()
    }

    /// The engine made these offsets durable.
    pub fn committed(&self, offsets: &[(String, i32, i64)]) {
        let mut inner = self.lock();
        for (topic, partition, next) in offsets {
            if let Some(state) = inner.partitions.get_mut(&(topic.clone(), *partition)) {
                state.next_offset = Some(state.next_offset.map_or(*next, |n| n.max(*next)));
            }
        }
    }

    /// The consumer reported an error that means a record batch could not be
    /// decoded; [`Partitions::statistics`] puts it down to a partition.
    pub fn undecodable(&self, error: &str) {
        let mut inner = self.lock();
        inner.undecodable_pending += 1;
        inner.last_undecodable = error.to_owned();
    }

    /// librdkafka's statistics arrived: update high watermarks and find
    /// stalled partitions. Returns the partitions that stalled just now.
    pub fn statistics(&self, rows: &[PartitionStatistics]) -> Vec<StalledPartition> {
        let mut inner = self.lock();
        let pending = std::mem::take(&mut inner.undecodable_pending);
        let error = inner.last_undecodable.clone();
        let mut stalled_now = Vec::new();
        let mut stats: BTreeMap<(&str, i32), &PartitionStatistics> = BTreeMap::new();
        for row in rows {
            stats.insert((row.topic.as_str(), row.partition), row);
        }
        if !rows.is_empty() {
            inner.input = rows
                .iter()
                .map(|r| (r.topic.clone(), r.partition))
                .collect();
        }
        for ((topic, partition), state) in inner.partitions.iter_mut() {
            let Some(row) = stats.get(&(topic.as_str(), *partition)) else {
                continue;
            };
            if row.high_watermark >= 0 {
                state.high_watermark = Some(row.high_watermark);
            }
            if state.next_offset.is_none() {
                // Nothing stored yet: the client's position, else the start.
                state.next_offset = [row.app_offset, row.low_watermark]
                    .into_iter()
                    .find(|o| *o >= 0);
            }
            let progressed = std::mem::take(&mut state.progressed);
            let behind = state.lag().is_some_and(|lag| lag > 0);
            if pending > 0 && state.assigned && behind && !progressed && row.fetch_queue <= 0 {
                state.undecodable_errors += pending;
                match &mut state.stall {
                    Some(stall) => stall.errors += pending,
                    None => {
                        let stall = Stall {
                            offset: state.next_offset.unwrap_or_default(),
                            error: error.clone(),
                            since: Timestamp::now(),
                            errors: pending,
                        };
                        state.stall = Some(stall.clone());
                        stalled_now.push(StalledPartition {
                            topic: topic.clone(),
                            partition: *partition,
                            stall,
                        });
                    }
                }
            }
        }
        stalled_now
    }

    pub fn status(&self) -> ConsumerStatus {
        let inner = self.lock();
        let mut lag_total = Some(0u64);
        let mut partitions = Vec::new();
        let mut stalled = Vec::new();
        for ((topic, partition), state) in inner.partitions.iter().filter(|(_, s)| s.assigned) {
            let lag = state.lag();
            lag_total = lag_total.zip(lag).map(|(t, l)| t + l);
            if let Some(stall) = &state.stall {
                stalled.push(StalledPartition {
                    topic: topic.clone(),
                    partition: *partition,
                    stall: stall.clone(),
                });
            }
            partitions.push(PartitionStatus {
                topic: topic.clone(),
                partition: *partition,
                next_offset: state.next_offset,
                high_watermark: state.high_watermark,
                lag,
                stalled: state.stall.clone(),
            });
        }
        ConsumerStatus {
            attached: inner.attached,
            lag_total: if partitions.is_empty() {
                None
            } else {
                lag_total
            },
            partitions,
            stalled,
        }
    }

    /// How much of the input this instance consumes (see [`Coverage`]).
    pub fn coverage(&self) -> Coverage {
        let inner = self.lock();
        let assigned = inner.partitions.values().filter(|s| s.assigned).count();
        if !inner.attached {
            return Coverage {
                input_partitions: None,
                assigned_partitions: assigned,
                complete: Some(true),
            };
        }
        if inner.input.is_empty() {
            return Coverage {
                input_partitions: None,
                assigned_partitions: assigned,
                complete: None,
            };
        }
        let complete = inner.input.iter().all(|key| {
            inner
                .partitions
                .get(key)
                .is_some_and(|state| state.assigned)
        });
        Coverage {
            input_partitions: Some(inner.input.len()),
            assigned_partitions: assigned,
            complete: Some(complete),
        }
    }

    /// Ready: a partition is assigned, every assigned partition is caught up
    /// within `max_lag`, and none is stalled. Without a consumer (the demo)
    /// the engine is ready once it is open.
    pub fn readiness(&self, max_lag: u64) -> Readiness {
        let status = self.status();
        if !status.attached {
            return Readiness {
                ready: true,
                caught_up: true,
                reasons: Vec::new(),
            };
        }
        let mut reasons = Vec::new();
        let mut caught_up = !status.partitions.is_empty();
        if status.partitions.is_empty() {
            reasons.push("no partition is assigned".to_owned());
        }
        for p in &status.partitions {
            let name = format!("{} [{}]", p.topic, p.partition);
            match p.lag {
                None => {
                    caught_up = false;
                    reasons.push(format!("{name}: lag not known yet"));
                }
                Some(lag) if lag > max_lag => {
                    caught_up = false;
                    reasons.push(format!(
                        "{name}: {lag} messages behind, more than {max_lag}"
                    ));
                }
                Some(_) => {}
            }
        }
        for s in &status.stalled {
            reasons.push(format!(
                "{} [{}]: stalled at offset {} since {} ({} errors): {}",
                s.topic, s.partition, s.stall.offset, s.stall.since, s.stall.errors, s.stall.error
            ));
        }
        Readiness {
            ready: reasons.is_empty(),
            caught_up,
            reasons,
        }
    }
}

/// Exposes the partitions at scrape time.
impl Collector for Partitions {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let status = self.status();
        let inner_errors: Vec<((String, i32), u64)> = self
            .lock()
            .partitions
            .iter()
            .map(|(k, s)| (k.clone(), s.undecodable_errors))
            .collect();
        let labels = |topic: &str, partition: i32| {
            vec![
                ("topic".to_owned(), topic.to_owned()),
                ("partition".to_owned(), partition.to_string()),
            ]
        };
        let gauge = ConstGauge::new(status.partitions.len() as i64);
        gauge.encode(encoder.encode_descriptor(
            "touchline_assigned_partitions",
            "Input partitions assigned to this instance.",
            None,
            gauge.metric_type(),
        )?)?;
        let mut family = encoder.encode_descriptor(
            "touchline_consumer_lag",
            "Messages behind: the partition's high watermark minus the next offset the engine needs.",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for p in &status.partitions {
            if let Some(lag) = p.lag {
                let labels = labels(&p.topic, p.partition);
                ConstGauge::new(lag as i64).encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "touchline_partition_stalled",
            "1 while the consumer cannot get past a record batch of the partition.",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for p in &status.partitions {
            let labels = labels(&p.topic, p.partition);
            ConstGauge::new(i64::from(p.stalled.is_some()))
                .encode(family.encode_family(&labels)?)?;
        }
        let gauge = ConstGauge::new(status.stalled.len() as i64);
        gauge.encode(encoder.encode_descriptor(
            "touchline_stalled_partitions",
            "Partitions the consumer cannot get past.",
            None,
            gauge.metric_type(),
        )?)?;
        let mut family = encoder.encode_descriptor(
            "touchline_partition_undecodable_errors",
            "Undecodable record batch errors put down to the partition.",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for ((topic, partition), errors) in &inner_errors {
            let labels = labels(topic, *partition);
            ConstCounter::new(*errors).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Metrics;

    fn row(partition: i32, hw: i64, fetch_queue: i64) -> PartitionStatistics {
        PartitionStatistics {
            topic: "t".into(),
            partition,
            high_watermark: hw,
            app_offset: -1001,
            low_watermark: 0,
            fetch_queue,
        }
    }

    #[test]
    fn a_partition_behind_that_delivers_nothing_while_batches_fail_to_decode_is_stalled() {
        let p = Partitions::default();
        p.attach();
        p.assigned(&[("t".into(), 0, Some(3)), ("t".into(), 1, Some(10))]);
        // Both behind; partition 1 delivers, partition 0 does not.
        p.consumed("t", 1);
        p.undecodable("Message consumption error: NotImplemented (Local: Not implemented)");
        p.undecodable("Message consumption error: NotImplemented (Local: Not implemented)");
        let stalled = p.statistics(&[row(0, 15_016, 0), row(1, 20, 0)]);
        assert_eq!(stalled.len(), 1, "{stalled:?}");
        assert_eq!((stalled[0].partition, stalled[0].stall.offset), (0, 3));
        assert_eq!(stalled[0].stall.errors, 2);
        let status = p.status();
        assert_eq!(status.lag_total, Some(15_013 + 10));
        assert_eq!(status.stalled.len(), 1);
        let ready = p.readiness(1_000_000);
        assert!(!ready.ready && ready.caught_up, "{ready:?}");
        assert!(
            ready.reasons[0].contains("t [0]: stalled at offset 3"),
            "{ready:?}"
        );
        // More errors add to the same stall, not a new one.
        p.undecodable("again");
        p.consumed("t", 1);
        assert!(p.statistics(&[row(0, 15_016, 0), row(1, 20, 0)]).is_empty());
        assert_eq!(p.status().stalled[0].stall.errors, 3);
        let text = {
            let m = Metrics::default();
            m.partitions().attach();
            m.partitions().assigned(&[("t".into(), 0, Some(3))]);
            m.partitions().undecodable("x");
            m.partitions().statistics(&[row(0, 5, 0)]);
            m.prometheus()
        };
        assert!(
            text.contains("touchline_partition_stalled{topic=\"t\",partition=\"0\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("touchline_consumer_lag{topic=\"t\",partition=\"0\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("touchline_stalled_partitions 1\n"), "{text}");
        // A message of the partition ends the stall.
        assert!(p.consumed("t", 0).is_some());
        assert!(p.status().stalled.is_empty());
    }

    #[test]
    fn an_instance_that_holds_some_of_the_input_partitions_says_so() {
        let p = Partitions::default();
        assert_eq!(p.coverage().complete, Some(true), "no consumer: the demo");
        p.attach();
        p.assigned(&[("t".into(), 0, None), ("t".into(), 1, None)]);
        assert_eq!(p.coverage().complete, None, "the input is not known yet");
        p.statistics(&[row(0, 5, 0), row(1, 5, 0), row(2, 5, 0), row(3, 5, 0)]);
        let expected = Coverage {
            input_partitions: Some(4),
            assigned_partitions: 2,
            complete: Some(false),
        };
        assert_eq!(p.coverage(), expected);
        // The other instance left: every partition is this one's.
        p.assigned(&[("t".into(), 2, None), ("t".into(), 3, None)]);
        assert_eq!(p.coverage().complete, Some(true));
        p.revoked(&[("t".into(), 3)]);
        assert_eq!(p.coverage().complete, Some(false));
    }

    #[test]
    fn no_errors_no_stall_and_readiness_follows_lag() {
        let p = Partitions::default();
        p.attach();
        assert!(!p.readiness(10).ready, "nothing assigned");
        p.assigned(&[("t".into(), 0, None)]);
        assert!(!p.readiness(10).ready, "lag not known");
        // A partition behind with nothing queued but no decode errors: slow, not stalled.
        assert!(p.statistics(&[row(0, 50, 0)]).is_empty());
        let ready = p.readiness(10);
        assert!(!ready.ready && !ready.caught_up, "{ready:?}");
        p.committed(&[("t".into(), 0, 45)]);
        assert!(p.readiness(10).ready);
        assert_eq!(p.status().lag_total, Some(5));
        // Fetched messages waiting in the client's queue are not a stall.
        p.undecodable("x");
        assert!(p.statistics(&[row(0, 50, 3)]).is_empty());
        p.revoked(&[("t".into(), 0)]);
        assert!(!p.readiness(10).ready);
        assert!(
            Partitions::default().readiness(0).ready,
            "no consumer: ready"
        );
    }
}
