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

use rdkafka::ClientContext;
use rdkafka::Offset;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::message::Message;
use touchline_engine::{Engine, EngineConfig, HeldShards, Metrics};
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
    /// The partition's end when the shard opened: it publishes once it has
    /// read that far, so a restoring shard never publishes an answer older
    /// than one its earlier owner published.
    caught_up_at: i64,
}

/// The consumer's rebalance handling. A partition assigned here starts at the
/// offset its shard's store covers (0 for a store with nothing: a restore),
/// never at the group's committed offset. A partition revoked inside a poll
/// is noted: the batch being gathered must not fold or publish it, since
/// another instance owns it from now on.
struct Rebalancing {
    root: PathBuf,
    topic: String,
    /// Next offsets of the shards open here, kept by the loop.
    open: std::sync::Mutex<std::collections::HashMap<i32, i64>>,
    assigned: std::sync::Mutex<HashSet<i32>>,
    revoked: std::sync::Mutex<HashSet<i32>>,
    held: Arc<HeldShards>,
}

impl Rebalancing {
    /// Where shard `partition` starts: its open store's offset, else what its
    /// store on disk covers, else 0.
    fn start(&self, partition: i32) -> i64 {
        if let Some(next) = self
            .open
            .lock()
            .ok()
            .and_then(|o| o.get(&partition).copied())
        {
            return next;
        }
        let path = shard_store_path(&self.root, partition as u32);
        if !path.exists() {
            return 0;
        }
        // Still open for a query since it was released here: read it there.
        let offsets = match self.held.reclaim(partition as u32) {
            Some(store) => store.offsets(),
            None => Store::open(&path).and_then(|store| store.offsets()),
        };
        match offsets {
            Ok(offsets) => offsets
                .iter()
                .find(|o| o.topic == self.topic && o.partition == partition)
                .map_or(0, |o| o.next_offset),
            Err(e) => {
                warn!(shard = partition, error = %e, "cannot read the shard's offset; reading from the beginning");
                0
            }
        }
    }
}

impl ClientContext for Rebalancing {}

impl ConsumerContext for Rebalancing {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: rdkafka::types::RDKafkaRespErr,
        tpl: &mut rdkafka::TopicPartitionList,
    ) {
        use rdkafka::types::RDKafkaRespErr::{
            RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS,
        };
        let partitions: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
        let result = match err {
            RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                for &partition in &partitions {
                    let start = Offset::Offset(self.start(partition));
                    if let Err(e) = tpl.set_partition_offset(&self.topic, partition, start) {
                        warn!(shard = partition, error = %e, "cannot set the shard's start offset");
                    }
                }
                if let Ok(mut assigned) = self.assigned.lock() {
                    assigned.extend(&partitions);
                }
                if let Ok(mut revoked) = self.revoked.lock() {
                    revoked.retain(|p| !partitions.contains(p));
                }
                info!(
                    ?partitions,
                    "shards assigned; each starts where its store is"
                );
                consumer.incremental_assign(tpl)
            }
            RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                if let Ok(mut revoked) = self.revoked.lock() {
                    revoked.extend(&partitions);
                }
                if let Ok(mut assigned) = self.assigned.lock() {
                    assigned.retain(|p| !partitions.contains(p));
                }
                info!(?partitions, "shards revoked");
                consumer.incremental_unassign(tpl)
            }
            other => {
                warn!(error = ?other, "shards: rebalance error");
                Ok(())
            }
        };
        if let Err(e) = result {
            warn!(error = %e, "shards: (un)assigning failed");
        }
    }
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
    held: &Arc<HeldShards>,
    shutdown: &AtomicBool,
) -> Result<(), KafkaError> {
    let context = Rebalancing {
        held: held.clone(),
        root: root.to_owned(),
        topic: internal.shards_topic.clone(),
        open: Default::default(),
        assigned: Default::default(),
        revoked: Default::default(),
    };
    let consumer: BaseConsumer<Rebalancing> = config
        .client()
        .set("group.id", format!("{}.shards", config.group_id))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", config.session_timeout_ms.to_string())
        .set(
            "group.instance.id",
            config.instance_id.as_deref().unwrap_or_default(),
        )
        // A moved partition is revoked from its owner before another gets it.
        .set("partition.assignment.strategy", "cooperative-sticky")
        .create_with_context(context)?;
    consumer.subscribe(&[&internal.shards_topic])?;
    let sender = Sender::new(config)?;
    let publishing = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| KafkaError::Config(format!("cannot start the publishers' runtime: {e}")))?;
    let open_slot = |partition| {
        open(
            &consumer,
            config,
            internal,
            engine_config,
            root,
            held,
            partition,
        )
    };
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
                    vacant.insert(open_slot(partition)?)
                }
            };
            let queued = batches.get(&partition).map_or(0, Vec::len) as i64;
            let expected = slot.task.next_offset() + queued;
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
        // Revoked while the batch was gathered: another instance reads these
        // from the offset their last commit wrote.
        let revoked: Vec<i32> = consumer
            .context()
            .revoked
            .lock()
            .map(|mut r| r.drain().collect())
            .unwrap_or_default();
        for partition in revoked {
            batches.remove(&partition);
            held.release(partition as u32);
            if slots.remove(&partition).is_some() {
                info!(shard = partition, "shard revoked; closed");
            }
        }
        // Assigned: opened now, so a shard restoring has its store at once.
        let assigned: Vec<i32> = consumer
            .context()
            .assigned
            .lock()
            .map(|a| a.iter().copied().collect())
            .unwrap_or_default();
        for partition in assigned {
            if let std::collections::btree_map::Entry::Vacant(vacant) = slots.entry(partition) {
                vacant.insert(open_slot(partition)?);
            }
        }
        let folded: Vec<i32> = batches.keys().copied().collect();
        fold(&mut slots, batches)?;
        // Progress for lag tools only: a shard starts from its store's offset.
        let mut progress = rdkafka::TopicPartitionList::new();
        for partition in folded {
            if let Some(slot) = slots.get(&partition) {
                let next = slot.task.next_offset();
                progress.add_partition_offset(
                    &internal.shards_topic,
                    partition,
                    Offset::Offset(next),
                )?;
            }
        }
        if progress.count() > 0 {
            let _ = consumer.commit(&progress, rdkafka::consumer::CommitMode::Async);
        }
        if let Ok(mut open) = consumer.context().open.lock() {
            open.clear();
            for (partition, slot) in &slots {
                open.insert(*partition, slot.task.next_offset());
            }
        }
        // The commits just submitted are written meanwhile; what the store
        // shows of them is durable (see `ShardTask::receive`).
        for slot in slots.values_mut() {
            publish(&sender, internal, slot, &publishing, shutdown)?;
        }
    }
    // Whatever is queued goes out now, or after the next start.
    for slot in slots.values_mut() {
        if let Err(e) = slot.task.durable() {
            warn!(error = %e, "shards: the last commit failed; it is read again on the next start");
            continue;
        }
        let _ = publish(&sender, internal, slot, &publishing, shutdown);
    }
    Ok(())
}

/// Sends what a shard queued for other shards and publishes its outbox, a
/// page at a time. Each page is rendered before the queue is read: every
/// commit whose views the page shows queued its floor record then, so the
/// floor is in the shard's partition before any version above the last
/// floor there is published. A restoring shard only sends, until it has
/// read as far as its partition reached when it opened.
fn publish(
    sender: &Sender,
    internal: &Internal,
    slot: &mut Slot,
    publishing: &tokio::runtime::Runtime,
    shutdown: &AtomicBool,
) -> Result<(), KafkaError> {
    let caught_up = slot.task.next_offset() >= slot.caught_up_at;
    for _ in 0..64 {
        let page = if caught_up {
            match slot.publisher.render_page() {
                Ok(page) => page,
                Err(e) => {
                    warn!(error = %e, "shards: cannot read the outbox; publishing later");
                    None
                }
            }
        } else {
            None
        };
        if !send_outgoing(sender, internal, slot, shutdown)? {
            return Ok(());
        }
        let Some(page) = page else {
            return Ok(());
        };
        match publishing.block_on(slot.publisher.deliver(page)) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) => {
                warn!(error = %e, "shards: publishing failed; retrying");
                return Ok(());
            }
        }
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

/// Opens shard `partition`'s slot: its store and engine, to publish once it
/// has read as far as its partition reaches now.
#[allow(clippy::too_many_arguments)]
fn open(
    consumer: &BaseConsumer<Rebalancing>,
    config: &KafkaConfig,
    internal: &Internal,
    engine_config: &EngineConfig,
    root: &Path,
    held: &HeldShards,
    partition: i32,
) -> Result<Slot, KafkaError> {
    let (_, end) =
        consumer.fetch_watermarks(&internal.shards_topic, partition, Duration::from_secs(30))?;
    let shard = partition as u32;
    // A query may still read the store this shard had here before.
    let store = match held.reclaim(shard) {
        Some(store) => store,
        None => Arc::new(Store::open(&shard_store_path(root, shard))?),
    };
    held.hold(shard, store.clone());
    let engine = Engine::open(store.clone(), engine_config.clone())?;
    let metrics: Arc<Metrics> = engine.metrics().clone();
    let mut task = ShardTask::new(engine, &internal.shards_topic, shard, internal.shards)
        .map_err(shard_error)?;
    // Versions given before a crash may not have their floor queued yet.
    task.checkpoint_floor().map_err(shard_error)?;
    let publisher = Publisher::new(store, config, metrics)?;
    info!(shard, next_offset = task.next_offset(), "shard opened");
    Ok(Slot {
        task,
        publisher,
        caught_up_at: end,
    })
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

/// Sends everything the shard queued for other shards; false when Kafka
/// did not acknowledge it all (it goes again later).
fn send_outgoing(
    sender: &Sender,
    internal: &Internal,
    slot: &mut Slot,
    shutdown: &AtomicBool,
) -> Result<bool, KafkaError> {
    loop {
        let outgoing = slot.task.outgoing(5_000).map_err(shard_error)?;
        if outgoing.is_empty() {
            return Ok(true);
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
            return Ok(false);
        }
        let seqs: Vec<u64> = outgoing.iter().map(|o| o.seq).collect();
        slot.task.sent(&seqs).map_err(shard_error)?;
    }
}
