//! Kafka at the edge: the ingest loop that feeds the engine, the dead-letter
//! producer, and the publisher that drains the outbox to the attribution topic.
//!
//! This is the only crate that knows rdkafka.
//!
//! # Exactly-once effect
//! The consumer never trusts Kafka's committed offsets for correctness. On every
//! partition assignment it seeks to the offsets stored in RocksDB, which were
//! written in the same `WriteBatch` as the events they cover. After each commit it
//! also commits those offsets to Kafka, asynchronously, only so that lag tools see
//! progress. A message below the stored offset (should a seek ever be missed) is
//! skipped, and event ids are deduplicated by the engine in any case.
//!
//! # Dead letters
//! A message that cannot be decoded, fails validation or is larger than
//! `kafka.max_message_bytes` (checked before decoding) is produced to the
//! dead-letter topic with headers `touchline.dlq.reason`, `touchline.dlq.error`,
//! `touchline.dlq.source.topic`, `touchline.dlq.source.partition` and
//! `touchline.dlq.source.offset`, and is counted. Its offset is committed with the
//! batch only after the dead-letter topic acknowledged it, so a crash can repeat a
//! dead letter but never lose one. No single message can stop ingest: a payload
//! above `kafka.dead_letter_max_payload_bytes` is cut to it
//! (`touchline.dlq.truncated`, `touchline.dlq.original.size`), and a letter Kafka
//! still refuses goes as a reference with no payload; only an unavailable
//! dead-letter topic holds the batch back, retried (see `dead_letter`).
//!
//! # Publishing
//! [`Publisher`] reads the outbox in order, produces each record (idempotent
//! producer, `acks=all`) keyed by `<model>/<conversion id>`, and trims the outbox
//! once Kafka acknowledged. Values are JSON [`AttributionMessage`]s carrying a
//! version; tombstones retract a conversion. A crash may publish a version twice,
//! never skip one Kafka accepts. A record Kafka refuses for good (too large for
//! the topic, invalid) is parked in the store with its reason, in the write that
//! trims the outbox, so the records behind it flow; an unavailable broker is
//! retried. On
//! shutdown the publisher drains the outbox for up to
//! `kafka.shutdown_drain_timeout_ms`.
//!
//! # Group membership
//! Static by default: without `kafka.instance_id`, an id generated on the first
//! start is kept in the store and used as `group.instance.id` on every start, so
//! a restart after a crash takes its partitions back at once.
//!
//! [`AttributionMessage`]: touchline_engine::AttributionMessage

mod commands;
mod config;
mod connect;
mod dead_letter;
mod decode;
mod ingest;
mod membership;
mod publish;
mod refusal;
mod repeated;
pub mod sharded;
mod topics;

pub use commands::CommandProducer;
pub use config::{KafkaConfig, MAX_SESSION_TIMEOUT_MS, MIN_SESSION_TIMEOUT_MS, TopicSpec};
pub use connect::{check_connection, check_connection_within};
pub use ingest::{BatchReport, Ingest, high_watermarks};
pub use publish::Publisher;

/// Errors at the Kafka edge.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("kafka client error: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    #[error(transparent)]
    Engine(#[from] touchline_engine::EngineError),
    #[error(transparent)]
    Store(#[from] touchline_store::StoreError),
    #[error("invalid kafka configuration: {0}")]
    Config(String),
    #[error("{topic} did not acknowledge every event: {detail}")]
    NotAcknowledged { topic: String, detail: String },
}
