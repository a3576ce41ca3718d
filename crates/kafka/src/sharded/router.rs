//! The router: the input topics, read as the group `kafka.group_id`, each
//! event sent on to its first stop (`touchline_shards::destination`). It keeps
//! no state: input offsets are committed to Kafka once every record they
//! produced, and every dead letter, is acknowledged, so a crash sends some
//! records twice (the shards dedupe event ids) and loses none.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use touchline_engine::Metrics;
use touchline_shards::{Destination, ShardRecord, destination};
use tracing::{info, warn};

use super::Internal;
use super::send::{Outbound, Sender};
use crate::dead_letter::{DeadLetter, DeadLetters, Sent, Source};
use crate::decode::{Received, decode_all, precheck};
use crate::{KafkaConfig, KafkaError};

/// A record to send: the shard's partition (`None`: the links topic), the
/// value, the key.
type Routed = (Option<i32>, Vec<u8>, Option<Vec<u8>>);

pub(crate) fn run(
    config: &KafkaConfig,
    internal: &Internal,
    metrics: &Metrics,
    shutdown: &AtomicBool,
) -> Result<(), KafkaError> {
    let consumer: BaseConsumer = config
        .client()
        .set("group.id", &config.group_id)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", config.session_timeout_ms.to_string())
        .set(
            "group.instance.id",
            config.instance_id.as_deref().unwrap_or_default(),
        )
        .create()?;
    let names: Vec<&str> = config.topics.iter().map(|t| t.name.as_str()).collect();
    consumer.subscribe(&names)?;
    let formats: HashMap<&str, (Arc<str>, touchline_proto::WireFormat)> = config
        .topics
        .iter()
        .map(|t| (t.name.as_str(), (Arc::from(t.name.as_str()), t.format)))
        .collect();
    let sender = Sender::new(config)?;
    let dead_letters = DeadLetters::new(config)?;
    let max_wait = Duration::from_millis(config.batch_max_wait_ms);
    info!(topics = ?names, shards = internal.shards, "router started");
    while !shutdown.load(Ordering::Relaxed) {
        let started = Instant::now();
        let mut received = Vec::new();
        let mut letters = Vec::new();
        let mut next: HashMap<(Arc<str>, i32), i64> = HashMap::new();
        while received.len() + letters.len() < config.batch_max_messages {
            let left = max_wait.saturating_sub(started.elapsed());
            if left.is_zero() && !(received.is_empty() && letters.is_empty()) {
                break;
            }
            let Some(polled) = consumer.poll(left.max(Duration::from_millis(50))) else {
                if !(received.is_empty() && letters.is_empty()) || shutdown.load(Ordering::Relaxed)
                {
                    break;
                }
                continue;
            };
            let message = match polled {
                Ok(message) => message,
                Err(e) => {
                    warn!(error = %e, "router: consumer error");
                    continue;
                }
            };
            let Some((topic, format)) = formats.get(message.topic()).cloned() else {
                continue;
            };
            let source = Source {
                topic: topic.clone(),
                partition: message.partition(),
                offset: message.offset(),
            };
            next.insert((topic, message.partition()), message.offset() + 1);
            let payload = message.payload().unwrap_or_default();
            match precheck(payload, config.max_message_bytes) {
                Ok(()) => received.push(Received {
                    source,
                    key: message.key().map(<[u8]>::to_vec),
                    payload: payload.to_vec(),
                    format,
                }),
                Err((code, reason)) => letters.push(DeadLetter::new(
                    source,
                    message.key(),
                    payload,
                    code,
                    &reason,
                    config.dead_letter_max_payload_bytes,
                )),
            }
        }
        if next.is_empty() {
            continue;
        }
        let decoded = decode_all(&received, config.json_unknown_fields, config.decode_threads);
        let mut values: Vec<Routed> = Vec::new();
        for (message, result) in received.iter().zip(decoded) {
            match result {
                Ok(envelope) => match destination(&envelope.event, internal.shards) {
                    Destination::Links => values.push((
                        None,
                        touchline_proto::encode_protobuf(&envelope),
                        Some(envelope.event_id.into_bytes()),
                    )),
                    Destination::Shard(shard) => values.push((
                        Some(shard as i32),
                        ShardRecord::Routed(envelope, None).encode(),
                        None,
                    )),
                    Destination::EveryShard => {
                        let record = ShardRecord::Routed(envelope, None).encode();
                        for shard in 0..internal.shards {
                            values.push((Some(shard as i32), record.clone(), None));
                        }
                    }
                },
                Err((code, reason)) => letters.push(DeadLetter::new(
                    message.source.clone(),
                    message.key.as_deref(),
                    &message.payload,
                    code,
                    &reason,
                    config.dead_letter_max_payload_bytes,
                )),
            }
        }
        let outbound: Vec<Outbound<'_>> = values
            .iter()
            .map(|(shard, value, key)| match shard {
                Some(shard) => Outbound {
                    topic: &internal.shards_topic,
                    partition: *shard,
                    key: None,
                    value,
                },
                None => Outbound {
                    topic: &internal.links_topic,
                    partition: 0,
                    key: key.as_deref(),
                    value,
                },
            })
            .collect();
        // Not acknowledged: nothing is committed, and the batch is read again.
        if let Err(e) = sender.send_all(&outbound, shutdown) {
            warn!(error = %e, "router: records not acknowledged; reading the batch again");
            seek_back(&consumer);
            continue;
        }
        if !letters.is_empty() {
            match dead_letters.send_all(&mut letters, shutdown) {
                Sent::All { .. } => {
                    touchline_engine::Metrics::add(&metrics.dead_lettered, letters.len() as u64)
                }
                Sent::Stopped => break,
            }
        }
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), offset) in &next {
            offsets.add_partition_offset(topic, *partition, Offset::Offset(*offset))?;
        }
        consumer.commit(&offsets, CommitMode::Sync)?;
    }
    Ok(())
}

/// After a failed send the consumer reads the batch again, from the offsets
/// committed last.
pub(crate) fn seek_back(consumer: &BaseConsumer) {
    if let Ok(assignment) = consumer.assignment()
        && let Ok(committed) = consumer.committed_offsets(assignment, Duration::from_secs(10))
    {
        for element in committed.elements() {
            let offset = match element.offset() {
                Offset::Offset(o) => Offset::Offset(o),
                _ => Offset::Beginning,
            };
            let _ = consumer.seek(
                element.topic(),
                element.partition(),
                offset,
                Duration::from_secs(10),
            );
        }
    }
}
