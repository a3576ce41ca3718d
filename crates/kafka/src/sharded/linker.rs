//! The directory's shell: the links topic's one partition, read as the group
//! `<kafka.group_id>.links`, so exactly one instance runs the directory and
//! another takes over when it leaves. Its state is the topic: before deciding
//! the record at offset `n`, the directory must have decided every record
//! before it, so whenever the next record is not the one it expects (first
//! start, a partition given back after another instance had it) it reads the
//! topic again from the beginning up to `n`, deciding silently.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use touchline_shards::Linker;
use tracing::{info, warn};

use super::Internal;
use super::send::{Outbound, Sender};
use crate::{KafkaConfig, KafkaError};

pub(crate) fn run(
    config: &KafkaConfig,
    internal: &Internal,
    shutdown: &AtomicBool,
) -> Result<(), KafkaError> {
    let consumer: BaseConsumer = config
        .client()
        .set("group.id", format!("{}.links", config.group_id))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", config.session_timeout_ms.to_string())
        .set(
            "group.instance.id",
            config.instance_id.as_deref().unwrap_or_default(),
        )
        .create()?;
    consumer.subscribe(&[&internal.links_topic])?;
    let sender = Sender::new(config)?;
    // The directory as of the offset it expects next.
    let mut linker: Option<(Linker, i64)> = None;
    while !shutdown.load(Ordering::Relaxed) {
        let mut batch = Vec::new();
        while batch.len() < config.batch_max_messages {
            let timeout = if batch.is_empty() {
                Duration::from_millis(200)
            } else {
                Duration::ZERO
            };
            match consumer.poll(timeout) {
                Some(Ok(message)) => batch.push((
                    message.offset(),
                    message.payload().unwrap_or_default().to_vec(),
                )),
                Some(Err(e)) => warn!(error = %e, "directory: consumer error"),
                None => break,
            }
        }
        let Some(&(first, _)) = batch.first() else {
            continue;
        };
        let (directory, expected) = match linker.take() {
            Some((directory, expected)) if expected == first => (directory, expected),
            _ => (rebuild(config, internal, first, shutdown)?, first),
        };
        let mut directory = directory;
        let mut records = Vec::new();
        let mut next = expected;
        for (offset, payload) in batch {
            next = offset + 1;
            match touchline_proto::decode_stored(&payload) {
                Ok(envelope) => {
                    records.extend(directory.decide(offset as u64, envelope, internal.shards))
                }
                // Only the router writes this topic, with what it decoded.
                Err(e) => {
                    warn!(offset, error = %e, "directory: a links record is not an event; skipped")
                }
            }
        }
        let encoded: Vec<(i32, Vec<u8>)> = records
            .iter()
            .map(|(shard, record)| (*shard as i32, record.encode()))
            .collect();
        let outbound: Vec<Outbound<'_>> = encoded
            .iter()
            .map(|(shard, value)| Outbound {
                topic: &internal.shards_topic,
                partition: *shard,
                key: None,
                value,
            })
            .collect();
        if let Err(e) = sender.send_all(&outbound, shutdown) {
            // Decided again after reading the batch again: the same records.
            warn!(error = %e, "directory: records not acknowledged; deciding again");
            super::router::seek_back(&consumer);
            continue;
        }
        let mut offsets = TopicPartitionList::new();
        offsets.add_partition_offset(&internal.links_topic, 0, Offset::Offset(next))?;
        consumer.commit(&offsets, CommitMode::Sync)?;
        linker = Some((directory, next));
    }
    Ok(())
}

/// The directory as it was before offset `until`: every record before it
/// decided again, its records thrown away (they were sent when first decided).
fn rebuild(
    config: &KafkaConfig,
    internal: &Internal,
    until: i64,
    shutdown: &AtomicBool,
) -> Result<Linker, KafkaError> {
    let mut linker = Linker::default();
    if until <= 0 {
        return Ok(linker);
    }
    let reader: BaseConsumer = config
        .client()
        .set("group.id", format!("{}.links.rebuild", config.group_id))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(&internal.links_topic, 0, Offset::Beginning)?;
    reader.assign(&assignment)?;
    let mut at = 0;
    while at < until && !shutdown.load(Ordering::Relaxed) {
        let Some(polled) = reader.poll(Duration::from_millis(500)) else {
            continue;
        };
        let message = polled?;
        if message.offset() >= until {
            break;
        }
        at = message.offset() + 1;
        if let Ok(envelope) = touchline_proto::decode_stored(message.payload().unwrap_or_default())
        {
            linker.decide(message.offset() as u64, envelope, internal.shards);
        }
    }
    info!(
        until,
        linked = linker.linked(),
        "directory rebuilt from the links topic"
    );
    Ok(linker)
}
