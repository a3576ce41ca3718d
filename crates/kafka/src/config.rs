use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use serde::{Deserialize, Serialize};
use touchline_proto::WireFormat;

/// An input topic and how its messages are encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSpec {
    pub name: String,
    pub format: WireFormat,
}

/// Everything the Kafka edge needs. Deserializes from the `[kafka]` table of the
/// config file; see the README for every key and its environment variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// `host:port[,host:port...]`.
    pub brokers: String,
    pub group_id: String,
    pub topics: Vec<TopicSpec>,
    pub dead_letter_topic: String,
    pub attribution_topic: String,
    /// Rep alerts: activity on accounts with open pipeline (R18), keyed by account.
    pub alerts_topic: String,
    /// Where commands from the API (e.g. re-routing a lead) are produced as
    /// events; must be one of `topics` so that they come back through ingest.
    /// Empty: the first JSON input topic.
    pub commands_topic: String,
    /// A batch closes at this many messages...
    pub batch_max_messages: usize,
    /// ...or this long after its first message, whichever comes first.
    pub batch_max_wait_ms: u64,
    /// Threads that decode a batch's messages together (the ingest thread is
    /// one of them); `0`: one per core.
    pub decode_threads: usize,
    /// Static group membership (`group.instance.id`): a restarted instance with
    /// the same id takes its partitions back at once instead of waiting out the
    /// session timeout. Unset: an id is generated once
    /// (`touchline-<host>-<random>`), kept in the store and used on every start.
    pub instance_id: Option<String>,
    /// How long the group waits for a silent member before reassigning its
    /// partitions. With static membership a restart does not wait for it; it
    /// is how long an instance that stops or crashes and does not come back
    /// holds its partitions (a static member does not leave on close). Between [`MIN_SESSION_TIMEOUT_MS`] and [`MAX_SESSION_TIMEOUT_MS`].
    pub session_timeout_ms: u32,
    /// Input messages with a larger payload are dead-lettered (`too_large`)
    /// without being decoded.
    pub max_message_bytes: usize,
    /// The most of an original message a dead letter carries: a larger one is
    /// cut to this size, with headers saying so. 0 sends references only.
    pub dead_letter_max_payload_bytes: usize,
    /// Credit sets and alerts larger than this (before compression) are parked
    /// without being sent; below it, the topic's `max.message.bytes` (applied to
    /// the compressed batch) decides, and a refusal parks the message too.
    pub publish_max_message_bytes: usize,
    /// How long a clean shutdown keeps publishing the outbox before it gives up;
    /// what is left goes out on the next start.
    pub shutdown_drain_timeout_ms: u64,
    /// How often librdkafka reports its statistics, which carry each
    /// partition's high watermark: lag and stalled partitions are this fresh.
    pub statistics_interval_ms: u64,
    /// A consumer error that repeats is logged once per this interval, with
    /// how often it occurred.
    pub error_log_interval_ms: u64,
    /// What a JSON input topic does with a field the contract does not have:
    /// `refuse` (dead-letter it as `unknown_field`, naming the field) or
    /// `ignore` (for producers that add fields before touchline knows them).
    pub json_unknown_fields: touchline_proto::UnknownFields,
    /// Extra librdkafka properties for every client (e.g. `security.protocol`).
    pub client_properties: BTreeMap<String, String>,
    /// Partitioned state: the number of shards (partitions of the internal
    /// shards topic), fixed for the group's life; 0 runs one store without
    /// internal topics.
    pub shards: u32,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: "127.0.0.1:9092".into(),
            group_id: "touchline".into(),
            topics: vec![
                TopicSpec {
                    name: "touchline.events.v1".into(),
                    format: WireFormat::Protobuf,
                },
                TopicSpec {
                    name: "touchline.events.json.v1".into(),
                    format: WireFormat::Json,
                },
            ],
            dead_letter_topic: "touchline.deadletter.v1".into(),
            attribution_topic: "touchline.attribution.v1".into(),
            alerts_topic: "touchline.alerts.v1".into(),
            commands_topic: String::new(),
            batch_max_messages: 20_000,
            batch_max_wait_ms: 50,
            decode_threads: 0,
            instance_id: None,
            session_timeout_ms: 45_000,
            max_message_bytes: 1 << 20,
            dead_letter_max_payload_bytes: 64 << 10,
            publish_max_message_bytes: 8 << 20,
            shutdown_drain_timeout_ms: 20_000,
            statistics_interval_ms: 5_000,
            error_log_interval_ms: 30_000,
            json_unknown_fields: touchline_proto::UnknownFields::Refuse,
            client_properties: BTreeMap::new(),
            shards: 0,
        }
    }
}

/// Kafka brokers refuse a shorter session by default (`group.min.session.timeout.ms`).
pub const MIN_SESSION_TIMEOUT_MS: u32 = 6_000;

/// The most shards a group can have: each is a store and a partition.
pub const MAX_SHARDS: u32 = 1_024;
/// Longer, a crashed instance's partitions idle that long before another member
/// takes them; with static membership a restart never needs more.
pub const MAX_SESSION_TIMEOUT_MS: u32 = 300_000;
/// Statistics more often than every 100 ms cost more than they tell; less
/// often than every 10 minutes, lag and stalls are too stale to act on.
const STATISTICS_INTERVAL_MS: std::ops::RangeInclusive<u64> = 100..=600_000;
/// librdkafka's bounds for a producer's `message.max.bytes`.
const PRODUCER_MESSAGE_BYTES: std::ops::RangeInclusive<usize> = 1_000..=1_000_000_000;

impl KafkaConfig {
    pub fn validate(&self) -> Result<(), crate::KafkaError> {
        let fail = |m: &str| Err(crate::KafkaError::Config(m.to_owned()));
        if self.brokers.trim().is_empty() {
            return fail("kafka.brokers is empty");
        }
        if self.group_id.trim().is_empty() {
            return fail("kafka.group_id is empty");
        }
        if self.topics.is_empty() {
            return fail("kafka.topics lists no input topic");
        }
        if self.shards > MAX_SHARDS {
            return Err(crate::KafkaError::Config(format!(
                "kafka.shards must be at most {MAX_SHARDS}, got {}",
                self.shards
            )));
        }
        if self.batch_max_messages == 0 {
            return fail("kafka.batch_max_messages must be at least 1");
        }
        if self
            .instance_id
            .as_deref()
            .is_some_and(|id| id.trim().is_empty())
        {
            return fail("kafka.instance_id is empty; leave it out to have one generated");
        }
        if !(MIN_SESSION_TIMEOUT_MS..=MAX_SESSION_TIMEOUT_MS).contains(&self.session_timeout_ms) {
            return Err(crate::KafkaError::Config(format!(
                "kafka.session_timeout_ms must be between {MIN_SESSION_TIMEOUT_MS} and {MAX_SESSION_TIMEOUT_MS}, got {}",
                self.session_timeout_ms
            )));
        }
        if self.max_message_bytes == 0 {
            return fail("kafka.max_message_bytes must be at least 1");
        }
        if !STATISTICS_INTERVAL_MS.contains(&self.statistics_interval_ms) {
            return Err(crate::KafkaError::Config(format!(
                "kafka.statistics_interval_ms must be between {} and {} (lag and stalled partitions depend on it), got {}",
                STATISTICS_INTERVAL_MS.start(),
                STATISTICS_INTERVAL_MS.end(),
                self.statistics_interval_ms
            )));
        }
        for (key, value) in [
            (
                "kafka.publish_max_message_bytes",
                self.publish_max_message_bytes,
            ),
            (
                "kafka.dead_letter_max_payload_bytes plus headers",
                dead_letter_producer_bytes(self.dead_letter_max_payload_bytes),
            ),
        ] {
            if !PRODUCER_MESSAGE_BYTES.contains(&value) {
                return Err(crate::KafkaError::Config(format!(
                    "{key} must be between {} and {} bytes, got {value}",
                    PRODUCER_MESSAGE_BYTES.start(),
                    PRODUCER_MESSAGE_BYTES.end()
                )));
            }
        }
        // The publisher sends both from one outbox in order: a topic it cannot
        // write would hold up the other.
        for (key, topic) in [
            ("kafka.attribution_topic", &self.attribution_topic),
            ("kafka.alerts_topic", &self.alerts_topic),
            ("kafka.dead_letter_topic", &self.dead_letter_topic),
        ] {
            if topic.trim().is_empty() {
                return Err(crate::KafkaError::Config(format!("{key} is empty")));
            }
        }
        if !self.commands_topic.is_empty()
            && !self.topics.iter().any(|t| t.name == self.commands_topic)
        {
            return fail(
                "kafka.commands_topic must be one of kafka.topics, or events it carries would never reach the log",
            );
        }
        Ok(())
    }

    /// The input topic commands are produced to, and its format.
    pub fn command_topic(&self) -> Option<&TopicSpec> {
        if self.commands_topic.is_empty() {
            self.topics
                .iter()
                .find(|t| t.format == WireFormat::Json)
                .or(self.topics.first())
        } else {
            self.topics.iter().find(|t| t.name == self.commands_topic)
        }
    }

    pub(crate) fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.client_properties {
            config.set(key, value);
        }
        config
    }
}

/// Headroom of a dead letter beyond its payload: key (capped), reason
/// (capped) and coordinates.
pub(crate) const DEAD_LETTER_OVERHEAD_BYTES: usize = 16 << 10;

/// The dead-letter producer's `message.max.bytes`: its largest record fits,
/// and never less than librdkafka's default.
pub(crate) fn dead_letter_producer_bytes(max_payload: usize) -> usize {
    max_payload
        .saturating_add(DEAD_LETTER_OVERHEAD_BYTES)
        .max(1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_out_of_range_are_refused_by_name() {
        let check = |change: fn(&mut KafkaConfig)| {
            let mut config = KafkaConfig::default();
            change(&mut config);
            config.validate().map_err(|e| e.to_string())
        };
        assert!(check(|_| {}).is_ok());
        type Change = fn(&mut KafkaConfig);
        let cases: [(Change, &str); 6] = [
            (
                |c| c.statistics_interval_ms = 0,
                "kafka.statistics_interval_ms",
            ),
            (|c| c.session_timeout_ms = 1_000, "kafka.session_timeout_ms"),
            (
                |c| c.session_timeout_ms = 3_600_000,
                "kafka.session_timeout_ms",
            ),
            (|c| c.max_message_bytes = 0, "kafka.max_message_bytes"),
            (
                |c| c.publish_max_message_bytes = 10,
                "kafka.publish_max_message_bytes",
            ),
            (|c| c.instance_id = Some(" ".into()), "kafka.instance_id"),
        ];
        for (change, key) in cases {
            let err = check(change).expect_err(key);
            assert!(err.contains(key), "{err}");
        }
        // References only is a valid choice.
        assert!(check(|c| c.dead_letter_max_payload_bytes = 0).is_ok());
        assert!(check(|c| c.dead_letter_max_payload_bytes = usize::MAX).is_err());
    }
}
