use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::message::Message;
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use touchline_engine::{Batch, Durable, Engine, MessageSource, Metrics};
use touchline_proto::WireFormat;
use touchline_store::{PartitionOffset, Store};
use tracing::{debug, error, info, warn};

use crate::dead_letter::{DeadLetter, DeadLetters, Sent, Source};
use crate::{KafkaConfig, KafkaError};

/// Meta key of the dead letters sent truncated, a total since the store was
/// created like the engine's counters.
const META_DEAD_LETTERS_TRUNCATED: &str = "dead_letters_truncated";

/// What the ingest loop reports after each committed batch; benchmarks and tests
/// use it to measure latency without timing anything themselves.
#[derive(Debug, Clone)]
pub struct BatchReport {
    pub messages: usize,
    pub appended: usize,
    pub duplicates: usize,
    pub dead_lettered: usize,
    /// Kafka timestamps (ms) of the batch's messages.
    pub message_timestamps_ms: Vec<i64>,
    /// Wall-clock time (ms since the epoch) right after the commit was durable.
    pub committed_at_ms: i64,
}

type Observer = Box<dyn FnMut(&BatchReport) + Send>;

/// The consume → decode → validate → apply loop.
pub struct Ingest {
    engine: Engine,
    config: KafkaConfig,
    formats: HashMap<String, WireFormat>,
    shutdown: Arc<AtomicBool>,
    observer: Option<Observer>,
    /// Dead letters sent truncated, since the store was created.
    truncated_total: u64,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Seeks every newly assigned partition to the offset stored in RocksDB, and
/// remembers revoked partitions so the loop can drop their unprocessed messages.
struct IngestContext {
    store: Arc<Store>,
    revoked: Mutex<Vec<(String, i32)>>,
    assigned: AtomicUsize,
}

impl ClientContext for IngestContext {}

impl ConsumerContext for IngestContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        let cooperative = matches!(
            consumer.rebalance_protocol(),
            RebalanceProtocol::Cooperative
        );
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let stored: HashMap<(String, i32), i64> = match self.store.offsets() {
                    Ok(offsets) => offsets
                        .into_iter()
                        .map(|o| ((o.topic, o.partition), o.next_offset))
                        .collect(),
                    Err(e) => {
                        // Without stored offsets we resume from Kafka's committed
                        // offsets, which trail the store; event-id dedupe keeps that
                        // correct, only slower.
                        error!(error = %e, "cannot read stored offsets; starting from Kafka's");
                        HashMap::new()
                    }
                };
                let partitions: Vec<(String, i32)> = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect();
                for (topic, partition) in &partitions {
                    if let Some(&next) = stored.get(&(topic.clone(), *partition))
                        && let Err(e) =
                            tpl.set_partition_offset(topic, *partition, Offset::Offset(next))
                    {
                        error!(%topic, partition, error = %e, "cannot set start offset");
                    }
                }
                info!(
                    ?partitions,
                    "partitions assigned; resuming from stored offsets"
                );
                self.assigned.fetch_add(partitions.len(), Ordering::Relaxed);
                // A partition revoked and given back within one batch window is ours
                // again: its messages, old and re-read, stay in the batch.
                if let Ok(mut revoked) = self.revoked.lock() {
                    revoked.retain(|p| !partitions.contains(p));
                }
                let result = if cooperative {
                    consumer.incremental_assign(tpl)
                } else {
                    consumer.assign(tpl)
                };
                if let Err(e) = result {
                    error!(error = %e, "assign failed");
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let partitions: Vec<(String, i32)> = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect();
                info!(?partitions, "partitions revoked");
                if let Ok(mut revoked) = self.revoked.lock() {
                    revoked.extend(partitions);
                }
                let result = if cooperative {
                    consumer.incremental_unassign(tpl)
                } else {
                    consumer.unassign()
                };
                if let Err(e) = result {
                    error!(error = %e, "unassign failed");
                }
            }
            other => {
                error!(error = ?other, "rebalance error; dropping the assignment");
                if let Err(e) = consumer.unassign() {
                    error!(error = %e, "unassign failed");
                }
            }
        }
    }
}

/// A batch handed to the engine, waiting to become durable.
struct Submitted {
    offsets: Vec<PartitionOffset>,
    report: BatchReport,
}

impl Ingest {
    pub fn new(
        engine: Engine,
        config: KafkaConfig,
        shutdown: Arc<AtomicBool>,
    ) -> Result<Self, KafkaError> {
        config.validate()?;
        let truncated_total = engine
            .store()
            .meta_u64(META_DEAD_LETTERS_TRUNCATED)?
            .unwrap_or_default();
        // fetch_max, not add: the counter is the store's total, whoever loads it.
        engine
            .metrics()
            .dead_letters_truncated
            .fetch_max(truncated_total, Ordering::Relaxed);
        let formats = config
            .topics
            .iter()
            .map(|t| (t.name.clone(), t.format))
            .collect();
        Ok(Ingest {
            engine,
            config,
            formats,
            shutdown,
            observer: None,
            truncated_total,
        })
    }

    /// Called after every committed batch.
    pub fn on_commit(mut self, observer: impl FnMut(&BatchReport) + Send + 'static) -> Self {
        self.observer = Some(Box::new(observer));
        self
    }

    /// Runs until the shutdown flag is set, then commits what it holds and returns
    /// the engine. Blocking: run it on its own thread.
    pub fn run(mut self) -> Result<Engine, KafkaError> {
        let context = IngestContext {
            store: self.engine.store().clone(),
            revoked: Mutex::new(Vec::new()),
            assigned: AtomicUsize::new(0),
        };
        let membership = crate::membership::instance_id(&self.config, self.engine.store())?;
        info!(
            instance_id = %membership.id,
            origin = membership.origin,
            "static group membership"
        );
        let mut client = self.config.client();
        client.set("group.instance.id", &membership.id);
        let consumer: BaseConsumer<IngestContext> = client
            .set("group.id", &self.config.group_id)
            .set(
                "session.timeout.ms",
                self.config.session_timeout_ms.to_string(),
            )
            .set("partition.assignment.strategy", "cooperative-sticky")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .set("fetch.wait.max.ms", "100")
            .create_with_context(context)?;
        let dead_letters = DeadLetters::new(&self.config)?;
        let topics: Vec<&str> = self.config.topics.iter().map(|t| t.name.as_str()).collect();
        consumer.subscribe(&topics)?;
        info!(?topics, group = %self.config.group_id, "consuming");

        // Offsets below these were applied already (belt and braces for the seek).
        let mut applied: HashMap<(String, i32), i64> = self
            .engine
            .offsets()?
            .into_iter()
            .map(|o| ((o.topic, o.partition), o.next_offset))
            .collect();
        let max_wait = Duration::from_millis(self.config.batch_max_wait_ms);
        // The batch handed to the engine's writer and not yet durable.
        let mut pending: Option<Submitted> = None;
        loop {
            let stopping = self.shutdown.load(Ordering::Relaxed);
            let mut events = Vec::new();
            let mut dead = Vec::new();
            let mut next_offsets: HashMap<(String, i32), i64> = HashMap::new();
            let mut timestamps = Vec::new();
            let mut messages = 0usize;
            let mut deadline: Option<Instant> = None;
            while !stopping && messages < self.config.batch_max_messages {
                let timeout = match deadline {
                    Some(d) => d.saturating_duration_since(Instant::now()),
                    None => Duration::from_millis(100),
                };
                if deadline.is_some() && timeout.is_zero() {
                    break;
                }
                let Some(polled) = consumer.poll(timeout) else {
                    // Nothing new: stop waiting if asked to, or if a batch in
                    // flight should be made visible now rather than with the next.
                    if deadline.is_none()
                        && (pending.is_some() || self.shutdown.load(Ordering::Relaxed))
                    {
                        break;
                    }
                    continue;
                };
                let message = match polled {
                    Ok(m) => m,
                    Err(e) => {
                        warn!(error = %e, "consumer error");
                        continue;
                    }
                };
                let topic = message.topic().to_owned();
                let partition = message.partition();
                let offset = message.offset();
                if applied
                    .get(&(topic.clone(), partition))
                    .is_some_and(|&next| offset < next)
                {
                    debug!(%topic, partition, offset, "skipping an offset the log already covers");
                    continue;
                }
                deadline.get_or_insert_with(|| Instant::now() + max_wait);
                messages += 1;
                // Max, not last: after a revoke and re-assign within the batch, a
                // partition is re-read from its stored offset, and messages polled
                // before are still in the batch.
                next_offsets
                    .entry((topic.clone(), partition))
                    .and_modify(|next| *next = (*next).max(offset + 1))
                    .or_insert(offset + 1);
                if let Some(ts) = message.timestamp().to_millis() {
                    timestamps.push(ts);
                }
                let format = self
                    .formats
                    .get(&topic)
                    .copied()
                    .unwrap_or(WireFormat::Protobuf);
                let payload = message.payload().unwrap_or_default();
                let decoded = if payload.is_empty() {
                    Err(("empty", "the message has no payload".to_owned()))
                } else if payload.len() > self.config.max_message_bytes {
                    // Checked before decoding: a decoder given 10 MB of JSON
                    // spends the time and memory the limit is there to bound.
                    Err((
                        "too_large",
                        format!(
                            "the message is {} bytes, more than kafka.max_message_bytes ({})",
                            payload.len(),
                            self.config.max_message_bytes
                        ),
                    ))
                } else {
                    touchline_proto::decode(format, payload).map_err(|e| (e.code(), e.to_string()))
                };
                match decoded {
                    Ok(envelope) => events.push((topic, partition, offset, envelope)),
                    Err((code, reason)) => dead.push(DeadLetter::new(
                        Source {
                            topic,
                            partition,
                            offset,
                        },
                        message.key(),
                        payload,
                        code,
                        &reason,
                        self.config.dead_letter_max_payload_bytes,
                    )),
                }
            }

            // Messages of partitions revoked meanwhile belong to their new owner now.
            let revoked: Vec<(String, i32)> = context_revoked(&consumer);
            if !revoked.is_empty() {
                events.retain(|(t, p, _, _)| !revoked.iter().any(|(rt, rp)| rt == t && rp == p));
                dead.retain(|d| {
                    !revoked
                        .iter()
                        .any(|(rt, rp)| *rt == d.source.topic && *rp == d.source.partition)
                });
                next_offsets.retain(|key, _| !revoked.contains(key));
            }

            if !next_offsets.is_empty() {
                if !self.send_dead_letters(&dead_letters, &mut dead)? {
                    // Not committed: the whole batch is read again on the next start.
                    warn!(
                        messages,
                        "stopping while the dead-letter topic holds the batch back; it is read again on the next start"
                    );
                    break;
                }
                let offsets: Vec<PartitionOffset> = next_offsets
                    .iter()
                    .map(|((topic, partition), next)| PartitionOffset {
                        topic: topic.clone(),
                        partition: *partition,
                        next_offset: *next,
                    })
                    .collect();
                let (sources, events): (Vec<MessageSource>, Vec<_>) = events
                    .into_iter()
                    .map(|(topic, partition, offset, envelope)| {
                        let source = MessageSource {
                            topic,
                            partition,
                            offset,
                        };
                        (source, envelope)
                    })
                    .unzip();
                let batch = Batch {
                    events,
                    sources,
                    offsets: offsets.clone(),
                    dead_lettered: dead.len() as u64,
                };
                let (outcome, previous) = self.engine.submit(batch)?;
                applied.extend(next_offsets);
                if let Some(durable) = previous {
                    self.finish(&consumer, pending.take(), durable);
                }
                pending = Some(Submitted {
                    offsets,
                    report: BatchReport {
                        messages,
                        appended: outcome.appended,
                        duplicates: outcome.duplicates,
                        dead_lettered: dead.len(),
                        message_timestamps_ms: timestamps,
                        committed_at_ms: 0,
                    },
                });
            } else if let Some(durable) = self.engine.flush()? {
                // Idle: make the batch in flight visible without waiting for the next.
                self.finish(&consumer, pending.take(), durable);
            }
            if stopping {
                break;
            }
        }
        if let Some(durable) = self.engine.flush()? {
            self.finish(&consumer, pending.take(), durable);
        }
        info!("ingest stopped");
        Ok(self.engine)
    }

    /// A submitted batch became durable: commit its offsets to Kafka as progress
    /// and tell the observer.
    fn finish(
        &mut self,
        consumer: &BaseConsumer<IngestContext>,
        submitted: Option<Submitted>,
        durable: Durable,
    ) {
        let Some(mut submitted) = submitted else {
            return;
        };
        // Progress for lag tools only; RocksDB holds the truth. Only partitions
        // still ours: committing for one given away could move its new owner's
        // committed offset back.
        let assigned: Vec<(String, i32)> = consumer
            .assignment()
            .map(|tpl| {
                tpl.elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect()
            })
            .unwrap_or_default();
        let mut tpl = TopicPartitionList::new();
        for o in submitted.offsets.iter().filter(|o| {
            assigned
                .iter()
                .any(|(t, p)| *t == o.topic && *p == o.partition)
        }) {
            if let Err(e) =
                tpl.add_partition_offset(&o.topic, o.partition, Offset::Offset(o.next_offset))
            {
                warn!(error = %e, "cannot build the progress commit");
            }
        }
        if let Err(e) = consumer.commit(&tpl, CommitMode::Async) {
            debug!(error = %e, "progress commit to Kafka failed (harmless)");
        }
        if let Some(observer) = self.observer.as_mut() {
            submitted.report.committed_at_ms = durable.committed_at_ms;
            observer(&submitted.report);
        }
    }

    /// Gets the batch's dead letters acknowledged (see [`DeadLetters::send_all`])
    /// and counts those sent truncated. `false` if shutdown came first: the
    /// batch must then not be committed.
    fn send_dead_letters(
        &mut self,
        producer: &DeadLetters,
        dead: &mut [DeadLetter],
    ) -> Result<bool, KafkaError> {
        for letter in dead.iter() {
            warn!(
                source_topic = %letter.source.topic, partition = letter.source.partition,
                offset = letter.source.offset, error = letter.code(), reason = %letter.reason(),
                "dead-lettering a message"
            );
        }
        if dead.is_empty() {
            return Ok(true);
        }
        match producer.send_all(dead, &self.shutdown) {
            Sent::Stopped => Ok(false),
            Sent::All { truncated: 0 } => Ok(true),
            Sent::All { truncated } => {
                // Its own small write, before the batch's: a crash in between
                // re-sends the letters and counts them again, as the topic
                // then holds them twice (dead letters are at least once).
                self.truncated_total += truncated as u64;
                let store = self.engine.store();
                let mut commit = store.commit();
                commit.set_meta_u64(META_DEAD_LETTERS_TRUNCATED, self.truncated_total);
                store.write(commit)?;
                Metrics::add(
                    &self.engine.metrics().dead_letters_truncated,
                    truncated as u64,
                );
                Ok(true)
            }
        }
    }
}

fn context_revoked(consumer: &BaseConsumer<IngestContext>) -> Vec<(String, i32)> {
    consumer
        .context()
        .revoked
        .lock()
        .map(|mut r| std::mem::take(&mut *r))
        .unwrap_or_default()
}

/// The high watermark (next offset to be written) of every partition of `topics`.
pub fn high_watermarks(
    config: &KafkaConfig,
    topics: &[&str],
) -> Result<Vec<PartitionOffset>, KafkaError> {
    let consumer: BaseConsumer = config.client().create()?;
    let timeout = Duration::from_secs(10);
    let mut out = Vec::new();
    for topic in topics {
        let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
        for t in metadata.topics() {
            if let Some(e) = t.error() {
                return Err(KafkaError::Config(format!("topic {topic}: {e:?}")));
            }
            for p in t.partitions() {
                let (_, high) = consumer.fetch_watermarks(topic, p.id(), timeout)?;
                out.push(PartitionOffset {
                    topic: (*topic).to_owned(),
                    partition: p.id(),
                    next_offset: high,
                });
            }
        }
    }
    Ok(out)
}
