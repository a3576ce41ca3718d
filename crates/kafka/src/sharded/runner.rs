//! The shards' shell: the shards topic, read as the group
//! `<kafka.group_id>.shards`; each assigned partition is a shard with a store
//! of its own under the store path (`shard-<n>`) and a worker thread of its
//! own ([`super::worker`]). Before a shard consumes, the consumer is moved to
//! the offset its store covers, which is 0 for a store that has nothing: a
//! shard with no state restores by reading its partition from the beginning,
//! never from the group's committed offset. This loop only polls: it queues
//! each shard's records for its worker, which folds them (every shard's
//! records, views and offset in its own commits), sends what it queued for
//! other shards and publishes its credits. A shard whose worker has a full
//! inbox is paused until it has caught up.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::Offset;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::message::Message;
use touchline_engine::{Engine, EngineConfig, HeldShards, Metrics};
use touchline_shards::ShardTask;
use touchline_store::Store;
use tracing::{info, warn};

use super::Internal;
use super::worker::{Offer, Pace, Slot, Stop, Worker, shard_error};
use crate::{KafkaConfig, KafkaError, Publisher};

/// The consumer's rebalance handling. A partition assigned here starts at the
/// offset its shard's store covers (0 for a store with nothing: a restore),
/// never at the group's committed offset. A partition revoked stops its
/// worker there and then, inside the rebalance: the round in flight is
/// written before another instance may take the partition.
struct Rebalancing {
    root: PathBuf,
    topic: String,
    /// The workers of the shards open here.
    workers: Mutex<BTreeMap<i32, Worker>>,
    /// Assigned since the loop last looked: opened at once, so a shard
    /// restoring has its store before its first record.
    assigned: Mutex<HashSet<i32>>,
    held: Arc<HeldShards>,
}

impl Rebalancing {
    fn workers(&self) -> MutexGuard<'_, BTreeMap<i32, Worker>> {
        self.workers.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Where shard `partition` starts: what its open store folded, else what
    /// its store on disk covers, else 0.
    fn start(&self, partition: i32) -> i64 {
        if let Some(worker) = self.workers().get(&partition) {
            return worker.folded();
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

    /// Stops the workers of `partitions` (their rounds in flight written)
    /// and releases their shards.
    fn revoke(&self, partitions: &[i32]) {
        let stopping: Vec<(i32, Worker)> = {
            let mut workers = self.workers();
            partitions
                .iter()
                .filter_map(|p| workers.remove(p).map(|w| (*p, w)))
                .collect()
        };
        for (partition, worker) in stopping {
            if let Err(e) = worker.stop(Stop::Revoked) {
                warn!(shard = partition, error = %e, "shard revoked; its last round failed, and its next owner reads it again");
            }
            self.held.release(partition as u32);
            info!(shard = partition, "shard revoked; closed");
        }
        if let Ok(mut assigned) = self.assigned.lock() {
            assigned.retain(|p| !partitions.contains(p));
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
                info!(
                    ?partitions,
                    "shards assigned; each starts where its store is"
                );
                consumer.incremental_assign(tpl)
            }
            RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                self.revoke(&partitions);
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
        workers: Default::default(),
        assigned: Default::default(),
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
    let result = poll_loop(
        &consumer,
        config,
        internal,
        engine_config,
        root,
        held,
        shutdown,
    );
    // The workers stop before the consumer leaves the group: each writes its
    // round in flight and, unless the loop failed, publishes what is queued.
    let workers = std::mem::take(&mut *consumer.context().workers());
    for (partition, worker) in workers {
        let how = if result.is_ok() {
            Stop::Shutdown
        } else {
            Stop::Revoked
        };
        if let Err(e) = worker.stop(how) {
            warn!(shard = partition, error = %e, "shards: a worker failed while stopping");
        }
    }
    result
}

/// Polls the shards topic and queues each shard's records for its worker,
/// a round (up to `kafka.batch_max_messages` records or
/// `kafka.batch_max_wait_ms`) at a time.
#[allow(clippy::too_many_arguments)]
/// How many records a shard's worker may have queued before its partition
/// is paused, and how few before it is resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InboxLimits {
    pause_at: usize,
    resume_at: usize,
}

/// What the poll loop does with a shard's partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Pause,
    Resume,
}

impl InboxLimits {
    /// Four rounds of `round` records to pause, two to resume. Pausing drops
    /// what librdkafka fetched ahead for the partition, so it resumes while
    /// the worker still has rounds to fold during the refetch (resuming at
    /// one round left it idle for a fetch after every round).
    fn for_round(round: usize) -> Self {
        InboxLimits {
            pause_at: round.saturating_mul(4),
            resume_at: round.saturating_mul(2),
        }
    }

    /// The change for a partition `paused` or not whose worker has `queued`
    /// records waiting, if any: between the limits nothing changes, so a
    /// partition does not flap.
    fn flow(self, paused: bool, queued: usize) -> Option<Flow> {
        if !paused && queued >= self.pause_at {
            Some(Flow::Pause)
        } else if paused && queued <= self.resume_at {
            Some(Flow::Resume)
        } else {
            None
        }
    }
}

fn poll_loop(
    consumer: &BaseConsumer<Rebalancing>,
    config: &KafkaConfig,
    internal: &Internal,
    engine_config: &EngineConfig,
    root: &Path,
    held: &Arc<HeldShards>,
    shutdown: &AtomicBool,
) -> Result<(), KafkaError> {
    let max_wait = Duration::from_millis(config.batch_max_wait_ms);
    let pace = Pace {
        round: config.batch_max_messages,
        idle: max_wait,
    };
    let inbox = InboxLimits::for_round(config.batch_max_messages);
    let start_worker = |partition: i32| -> Result<Worker, KafkaError> {
        let slot = open(
            consumer,
            config,
            internal,
            engine_config,
            root,
            held,
            partition,
        )?;
        Worker::start(partition, slot, config, internal, pace.clone())
    };
    let mut committed: BTreeMap<i32, i64> = BTreeMap::new();
    while !shutdown.load(Ordering::Relaxed) {
        let started = Instant::now();
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
            // Opened without the lock held, then kept.
            let missing = !consumer.context().workers().contains_key(&partition);
            if missing {
                let worker = start_worker(partition)?;
                consumer.context().workers().insert(partition, worker);
            }
            let offer = consumer
                .context()
                .workers()
                .get_mut(&partition)
                .map(|w| w.offer(message.offset(), message.payload().unwrap_or_default()));
            match offer {
                Some(Offer::Taken) => count += 1,
                Some(Offer::SeekTo(offset)) => consumer.seek(
                    &internal.shards_topic,
                    partition,
                    Offset::Offset(offset),
                    Duration::from_secs(10),
                )?,
                Some(Offer::Skipped) | None => {}
            }
        }
        // Assigned: opened now, so a shard restoring has its store at once.
        let assigned: Vec<i32> = consumer
            .context()
            .assigned
            .lock()
            .map(|mut a| a.drain().collect())
            .unwrap_or_default();
        for partition in assigned {
            // Opened without the lock held, then kept.
            let missing = !consumer.context().workers().contains_key(&partition);
            if missing {
                let worker = start_worker(partition)?;
                consumer.context().workers().insert(partition, worker);
            }
        }
        let mut pause = rdkafka::TopicPartitionList::new();
        let mut resume = rdkafka::TopicPartitionList::new();
        let mut progress = rdkafka::TopicPartitionList::new();
        let mut failed = None;
        {
            let mut workers = consumer.context().workers();
            for (&partition, worker) in workers.iter_mut() {
                match inbox.flow(worker.paused, worker.queue()) {
                    Some(Flow::Pause) => {
                        worker.paused = true;
                        pause.add_partition(&internal.shards_topic, partition);
                    }
                    Some(Flow::Resume) => {
                        worker.paused = false;
                        resume.add_partition(&internal.shards_topic, partition);
                    }
                    None => {}
                }
                let folded = worker.folded();
                if committed.get(&partition) != Some(&folded) {
                    committed.insert(partition, folded);
                    progress.add_partition_offset(
                        &internal.shards_topic,
                        partition,
                        Offset::Offset(folded),
                    )?;
                }
                if worker.ended() && failed.is_none() {
                    failed = Some(partition);
                }
            }
            if let Some(partition) = failed
                && let Some(worker) = workers.remove(&partition)
            {
                drop(workers);
                held.release(partition as u32);
                // An ended worker returns what stopped it.
                worker.stop(Stop::Revoked)?;
                return Err(KafkaError::Config(format!(
                    "shard {partition}'s worker ended"
                )));
            }
        }
        if pause.count() > 0 {
            consumer.pause(&pause)?;
        }
        if resume.count() > 0 {
            consumer.resume(&resume)?;
        }
        // Progress for lag tools only: a shard starts from its store's offset.
        if progress.count() > 0 {
            let _ = consumer.commit(&progress, rdkafka::consumer::CommitMode::Async);
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_pauses_at_four_rounds_queued_and_resumes_at_two() {
        let inbox = InboxLimits::for_round(20_000);
        assert_eq!(inbox.flow(false, 79_999), None);
        assert_eq!(inbox.flow(false, 80_000), Some(Flow::Pause));
        // Paused, it stays so while the worker has more than two rounds.
        assert_eq!(inbox.flow(true, 80_000), None);
        assert_eq!(inbox.flow(true, 40_001), None);
        assert_eq!(inbox.flow(true, 40_000), Some(Flow::Resume));
        // Running, it goes on below the pause limit, however little is queued.
        assert_eq!(inbox.flow(false, 0), None);
        assert_eq!(inbox.flow(false, 40_000), None);
    }

    #[test]
    fn the_limits_of_a_huge_round_saturate_instead_of_wrapping() {
        let inbox = InboxLimits::for_round(usize::MAX / 2);
        assert_eq!(inbox.pause_at, usize::MAX);
        assert_eq!(inbox.flow(false, usize::MAX - 1), None);
        assert_eq!(inbox.flow(true, usize::MAX - 1), Some(Flow::Resume));
    }
}
