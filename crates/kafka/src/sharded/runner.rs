//! The shards' shell: the shards topic, read as the group
//! `<kafka.group_id>.shards`; each assigned partition is a shard with a store
//! of its own under the store path (`shard-<n>`). Before a shard consumes, the
//! consumer is moved to the offset its store covers, which is 0 for a store
//! that has nothing: a shard with no state restores by reading its partition
//! from the beginning, never from the group's committed offset. Shards of one
//! batch fold in parallel, one thread each, every shard's records, views and
//! offset in its own commits; then each sends what it queued for other
//! shards, and publishes its credits.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::Offset;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use touchline_engine::{Engine, EngineConfig, Metrics};
use touchline_shards::{ShardRecord, ShardTask};
use touchline_store::Store;
use tracing::{info, warn};

use super::Internal;
use super::send::{Outbound, Sender};
use crate::{KafkaConfig, KafkaError, Publisher};

/// A shard this instance owns, and its publisher.
struct Slot {
    task: ShardTask,
    publisher: Publisher,
}

/// The directory of shard `shard`'s store under `root`.
pub fn shard_store_path(root: &Path, shard: u32) -> PathBuf {
    root.join(format!("shard-{shard}"))
}

pub(crate) fn run(
    config: &KafkaConfig,
    internal: &Internal,
    engine_config: &EngineConfig,
    root: &Path,
    shutdown: &AtomicBool,
) -> Result<(), KafkaError> {
    let consumer: BaseConsumer = config
        .client()
        .set("group.id", format!("{}.shards", config.group_id))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", config.session_timeout_ms.to_string())
        .create()?;
    consumer.subscribe(&[&internal.shards_topic])?;
    let sender = Sender::new(config)?;
    let publishing = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| KafkaError::Config(format!("cannot start the publishers' runtime: {e}")))?;
    let mut slots: BTreeMap<i32, Slot> = BTreeMap::new();
    let max_wait = Duration::from_millis(config.batch_max_wait_ms);
    while !shutdown.load(Ordering::Relaxed) {
        let started = Instant::now();
        let mut batches: BTreeMap<i32, Vec<(i64, Vec<u8>)>> = BTreeMap::new();
        // Partitions moved to another offset this round: their later messages
        // in the batch are from before the move.
        let mut moved: HashSet<i32> = HashSet::new();
        let mut count = 0;
        while count < config.batch_max_messages {
            let left = max_wait.saturating_sub(started.elapsed());
            if left.is_zero() && count > 0 {
                break;
            }
            let Some(polled) = consumer.poll(left.max(Duration::from_millis(20))) else {
                break;
            };
            let message = match polled {
                Ok(message) => message,
                Err(e) => {
                    warn!(error = %e, "shards: consumer error");
                    continue;
                }
            };
            let partition = message.partition();
            if moved.contains(&partition) {
                continue;
            }
            let slot = match slots.entry(partition) {
                std::collections::btree_map::Entry::Occupied(slot) => slot.into_mut(),
                std::collections::btree_map::Entry::Vacant(vacant) => {
                    vacant.insert(open(config, internal, engine_config, root, partition)?)
                }
            };
            let queued = batches.get(&partition).map_or(0, Vec::len) as i64;
            let expected = slot.task.next_offset().map_err(shard_error)? + queued;
            if message.offset() != expected {
                // Ahead: the group's offset is not this store's; behind: read
                // twice after a move. Either way, read from the store's.
                if message.offset() > expected {
                    consumer.seek(
                        &internal.shards_topic,
                        partition,
                        Offset::Offset(expected),
                        Duration::from_secs(10),
                    )?;
                    moved.insert(partition);
                }
                continue;
            }
            batches.entry(partition).or_default().push((
                message.offset(),
                message.payload().unwrap_or_default().to_vec(),
            ));
            count += 1;
        }
        fold(&mut slots, batches)?;
        for slot in slots.values_mut() {
            send_outgoing(&sender, internal, slot, shutdown)?;
            publishing.block_on(async {
                for _ in 0..64 {
                    match slot.publisher.publish_page().await {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e) => {
                            warn!(error = %e, "shards: publishing failed; retrying");
                            break;
                        }
                    }
                }
            });
        }
        drop_revoked(&consumer, internal, &mut slots);
    }
    // Whatever is queued goes out now, or after the next start.
    for slot in slots.values_mut() {
        let _ = send_outgoing(&sender, internal, slot, shutdown);
        let _ = publishing.block_on(slot.publisher.publish_page());
    }
    Ok(())
}

fn shard_error(e: touchline_shards::ShardError) -> KafkaError {
    match e {
        touchline_shards::ShardError::Engine(e) => KafkaError::Engine(e),
        touchline_shards::ShardError::Store(e) => KafkaError::Store(e),
        other => KafkaError::Config(other.to_string()),
    }
}

fn open(
    config: &KafkaConfig,
    internal: &Internal,
    engine_config: &EngineConfig,
    root: &Path,
    partition: i32,
) -> Result<Slot, KafkaError> {
    let shard = partition as u32;
    let store = Arc::new(Store::open(&shard_store_path(root, shard))?);
    let engine = Engine::open(store.clone(), engine_config.clone())?;
    let metrics: Arc<Metrics> = engine.metrics().clone();
    let task = ShardTask::new(engine, &internal.shards_topic, shard, internal.shards)
        .map_err(shard_error)?;
    let publisher = Publisher::new(store, config, metrics)?;
    info!(
        shard,
        next_offset = task.next_offset().map_err(shard_error)?,
        "shard opened"
    );
    Ok(Slot { task, publisher })
}

/// Each shard's records, decoded and folded, the shards in parallel.
fn fold(
    slots: &mut BTreeMap<i32, Slot>,
    mut batches: BTreeMap<i32, Vec<(i64, Vec<u8>)>>,
) -> Result<(), KafkaError> {
    let results: Vec<Result<(), KafkaError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = slots
            .iter_mut()
            .filter_map(|(partition, slot)| {
                let records = batches.remove(partition)?;
                Some(scope.spawn(move || {
                    let mut decoded = Vec::with_capacity(records.len());
                    for (offset, bytes) in records {
                        match ShardRecord::decode(&bytes) {
                            Ok(record) => decoded.push((offset, record)),
                            Err(e) => {
                                warn!(offset, error = %e, "shards: a record is not a shard record; skipped")
                            }
                        }
                    }
                    slot.task.receive(decoded).map_err(shard_error)
                }))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(KafkaError::Config("a shard thread panicked".into())))
            })
            .collect()
    });
    results.into_iter().collect()
}

fn send_outgoing(
    sender: &Sender,
    internal: &Internal,
    slot: &mut Slot,
    shutdown: &AtomicBool,
) -> Result<(), KafkaError> {
    loop {
        let outgoing = slot.task.outgoing(5_000).map_err(shard_error)?;
        if outgoing.is_empty() {
            return Ok(());
        }
        let outbound: Vec<Outbound<'_>> = outgoing
            .iter()
            .map(|o| Outbound {
                topic: &internal.shards_topic,
                partition: o.shard as i32,
                key: None,
                value: &o.record,
            })
            .collect();
        if let Err(e) = sender.send_all(&outbound, shutdown) {
            warn!(error = %e, "shards: records for other shards not acknowledged; sending again later");
            return Ok(());
        }
        let seqs: Vec<u64> = outgoing.iter().map(|o| o.seq).collect();
        slot.task.sent(&seqs).map_err(shard_error)?;
    }
}

/// Closes the shards no longer assigned here: their stores stay, and a shard
/// given back later goes on from its store's offset.
fn drop_revoked(consumer: &BaseConsumer, internal: &Internal, slots: &mut BTreeMap<i32, Slot>) {
    let Ok(assignment) = consumer.assignment() else {
        return;
    };
    let assigned: HashSet<i32> = assignment
        .elements_for_topic(&internal.shards_topic)
        .iter()
        .map(|e| e.partition())
        .collect();
    slots.retain(|partition, _| {
        let keep = assigned.contains(partition);
        if !keep {
            info!(shard = partition, "shard revoked; closed");
        }
        keep
    });
}
