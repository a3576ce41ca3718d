use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::error::KafkaError as ClientError;
use rdkafka::message::Message;
use rdkafka::statistics::Statistics;
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use touchline_engine::{Batch, Durable, Engine, MessageSource, Metrics, PartitionStatistics};
use touchline_store::{PartitionOffset, Store};
use tracing::{debug, error, info, warn};

use crate::dead_letter::{DeadLetter, DeadLetters, Sent, Source};
use crate::decode::{self, Received};
use crate::repeated::Repeated;
use crate::topics::{TopicId, Topics};
use crate::{KafkaConfig, KafkaError};

/// A value per input partition, looked up for every message polled: hashed
/// with hashbrown's default (foldhash), not std's SipHash.
type PartitionMap<V> = hashbrown::HashMap<(TopicId, i32), V>;

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
    topics: Topics,
    /// Threads decoding a batch together.
    decode_threads: usize,
    shutdown: Arc<AtomicBool>,
    observer: Option<Observer>,
    /// Dead letters sent truncated, since the store was created.
    truncated_total: u64,
    /// Consumer errors seen and not yet logged, by code.
    repeated: Repeated,
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
    metrics: Arc<Metrics>,
    /// The input topics: statistics of others (none today) are not ours.
    topics: Vec<String>,
    /// The last detail librdkafka gave per error code ("Decompression (codec
    /// 0x4) of message at 3 of 187 bytes failed: ..."): the error the loop
    /// polls carries the code only.
    reasons: Mutex<HashMap<String, String>>,
}

impl ClientContext for IngestContext {
    /// librdkafka reports each consumer error here too, with its detail, just
    /// before the loop polls it. The default logs every one at ERROR (the
    /// flood of a stalled partition); the loop counts and logs it once per
    /// interval, with this detail.
    fn error(&self, error: ClientError, reason: &str) {
        debug!(error = %error, reason, "kafka client error");
        self.reasons
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(error_code(&error), reason.to_owned());
    }

    /// librdkafka's statistics (every `kafka.statistics_interval_ms`, served
    /// by the ingest loop's poll): high watermarks for the lag, fetch queues
    /// for stall detection.
    fn stats(&self, statistics: Statistics) {
        let rows = statistics_rows(&statistics, &self.topics);
        let before = self.metrics.partitions().coverage();
        let stalled_now = self.metrics.partitions().statistics(&rows);
        let coverage = self.metrics.partitions().coverage();
        if coverage != before && coverage.complete == Some(false) {
            warn!(
                assigned = coverage.assigned_partitions,
                input = coverage.input_partitions,
                "this instance consumes only some of the input partitions (another instance of the group holds the rest): its reports and lookups cover the events of its partitions only, since instances do not share state yet (README, Scaling out; GET /v1/status, coverage)"
            );
        }
        for stalled in stalled_now {
            error!(
                topic = %stalled.topic, partition = stalled.partition,
                offset = stalled.stall.offset, error = %stalled.stall.error,
                "partition stalled: a record batch at this offset cannot be decoded; the consumer retries it and does not skip it (GET /v1/status, /readyz fails)"
            );
        }
    }
}

/// The partitions of `topics` in librdkafka's statistics.
fn statistics_rows(statistics: &Statistics, topics: &[String]) -> Vec<PartitionStatistics> {
    let mut rows = Vec::new();
    for (name, topic) in &statistics.topics {
        if !topics.contains(name) {
            continue;
        }
        for (id, p) in &topic.partitions {
            // librdkafka lists an internal partition -1 (unassigned messages).
            if *id < 0 {
                continue;
            }
            rows.push(PartitionStatistics {
                topic: name.clone(),
                partition: *id,
                high_watermark: p.hi_offset,
                app_offset: p.app_offset,
                low_watermark: p.lo_offset,
                fetch_queue: p.fetchq_cnt,
            });
        }
    }
    rows
}

/// librdkafka's name for an error's code (`NotImplemented`, `AllBrokersDown`),
/// the `code` label of `touchline_consumer_errors_total`.
fn error_code(error: &ClientError) -> String {
    error
        .rdkafka_error_code()
        .map_or_else(|| "other".to_owned(), |c| format!("{c:?}"))
}

/// Whether a consumer error means a record batch the client cannot decode:
/// a codec it was built without (`NotImplemented`: "Decompression (codec
/// 0x4) ... Not implemented"), or a corrupt or unreadable batch. librdkafka
/// fetches the same batch again and again, so the partition stalls.
fn undecodable(error: &ClientError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::NotImplemented
                | RDKafkaErrorCode::BadCompression
                | RDKafkaErrorCode::BadMessage
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::UnsupportedCompressionType
        )
    )
}

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
                        // Without stored offsets every partition is read from its
                        // beginning: event-id dedupe keeps that correct, only slower.
                        error!(error = %e, "cannot read stored offsets; reading every partition from its beginning");
                        HashMap::new()
                    }
                };
                let partitions: Vec<(String, i32)> = tpl
                    .elements()
                    .iter()
                    .map(|e| (e.topic().to_owned(), e.partition()))
                    .collect();
                // The store's offsets are the truth; Kafka's committed ones are
                // only progress for monitoring. A partition the store holds
                // nothing of is read from its beginning, never from the group's
                // committed offset: that offset may be another store's progress
                // (a lost disk, a new machine, another instance of the group),
                // and starting there would skip history silently.
                let mut from_beginning = Vec::new();
                for (topic, partition) in &partitions {
                    let start = match stored.get(&(topic.clone(), *partition)) {
                        Some(&next) => Offset::Offset(next),
                        None => {
                            from_beginning.push((topic.clone(), *partition));
                            Offset::Beginning
                        }
                    };
                    if let Err(e) = tpl.set_partition_offset(topic, *partition, start) {
                        error!(%topic, partition, error = %e, "cannot set start offset");
                    }
                }
                info!(
                    ?partitions,
                    ?from_beginning,
                    "partitions assigned; resuming from stored offsets, and from the beginning where the store has none"
                );
                self.assigned.fetch_add(partitions.len(), Ordering::Relaxed);
                self.metrics.rebalance("assigned");
                let with_offsets: Vec<(String, i32, Option<i64>)> = partitions
                    .iter()
                    .map(|(t, p)| (t.clone(), *p, stored.get(&(t.clone(), *p)).copied()))
                    .collect();
                self.metrics.partitions().assigned(&with_offsets);
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
                self.metrics.rebalance("revoked");
                self.metrics.partitions().revoked(&partitions);
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
                self.metrics.rebalance("error");
                self.metrics.partitions().revoked_all();
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
    /// The batch's span: its numbers, and the commit latency once durable.
    span: tracing::Span,
    submitted: Instant,
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
        // Raised, not added to: the counter is the store's total, whoever loads it.
        Metrics::raise_to(&engine.metrics().dead_letters_truncated, truncated_total);
        let repeated = Repeated::new(Duration::from_millis(config.error_log_interval_ms));
        let topics = Topics::new(config.topics.iter().map(|t| (t.name.as_str(), t.format)));
        let decode_threads = match config.decode_threads {
            0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            n => n,
        };
        Ok(Ingest {
            engine,
            config,
            topics,
            decode_threads,
            shutdown,
            observer: None,
            truncated_total,
            repeated,
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
        let metrics = self.engine.metrics().clone();
        metrics.partitions().attach();
        let context = IngestContext {
            store: self.engine.store().clone(),
            revoked: Mutex::new(Vec::new()),
            assigned: AtomicUsize::new(0),
            metrics: metrics.clone(),
            topics: self.config.topics.iter().map(|t| t.name.clone()).collect(),
            reasons: Mutex::new(HashMap::new()),
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
            .set(
                "statistics.interval.ms",
                self.config.statistics_interval_ms.to_string(),
            )
            .create_with_context(context)?;
        let dead_letters = DeadLetters::new(&self.config)?;
        let topics: Vec<&str> = self.config.topics.iter().map(|t| t.name.as_str()).collect();
        consumer.subscribe(&topics)?;
        info!(?topics, group = %self.config.group_id, "consuming");

        // Offsets below these were applied already (belt and braces for the seek).
        let mut applied: PartitionMap<i64> = PartitionMap::default();
        for o in self.engine.offsets()? {
            applied.insert((self.topics.id(&o.topic), o.partition), o.next_offset);
        }
        let max_wait = Duration::from_millis(self.config.batch_max_wait_ms);
        // The batch handed to the engine's writer and not yet durable.
        let mut pending: Option<Submitted> = None;
        loop {
            let stopping = self.shutdown.load(Ordering::Relaxed);
            let mut events = Vec::new();
            let mut dead = Vec::new();
            let mut received: Vec<Received> = Vec::new();
            let mut next_offsets: PartitionMap<i64> = PartitionMap::default();
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
                        let reason = consumer
                            .context()
                            .reasons
                            .lock()
                            .map(|r| r.get(&error_code(&e)).cloned())
                            .unwrap_or_default();
                        self.consumer_error(&metrics, &e, reason.as_deref());
                        continue;
                    }
                };
                let topic_id = self.topics.id(message.topic());
                let topic = self.topics.name(topic_id).clone();
                let partition = message.partition();
                let offset = message.offset();
                let key = (topic_id, partition);
                if applied.get(&key).is_some_and(|&next| offset < next) {
                    debug!(%topic, partition, offset, "skipping an offset the log already covers");
                    continue;
                }
                if offset > 0 && !applied.contains_key(&key) && !next_offsets.contains_key(&key) {
                    // Read from the beginning for want of state, yet the first
                    // message is not at 0: retention deleted events this store
                    // never saw. Nothing can bring them back; say so.
                    error!(
                        %topic, partition, first_offset = offset,
                        "history gap: this store starts the partition without state, and offsets before {offset} are gone from Kafka; their events are missing from every view"
                    );
                    Metrics::add(&metrics.history_gaps, 1);
                }
                deadline.get_or_insert_with(|| Instant::now() + max_wait);
                messages += 1;
                // Max, not last: after a revoke and re-assign within the batch, a
                // partition is re-read from its stored offset, and messages polled
                // before are still in the batch.
                match next_offsets.entry(key) {
                    hashbrown::hash_map::Entry::Occupied(mut next) => {
                        let next = next.get_mut();
                        *next = (*next).max(offset + 1);
                    }
                    hashbrown::hash_map::Entry::Vacant(next) => {
                        next.insert(offset + 1);
                        // Once per partition and batch: a message came, so
                        // the partition is not stalled.
                        if let Some(stall) = metrics.partitions().consumed(&topic, partition) {
                            info!(
                                %topic, partition, offset, stalled_at = stall.offset,
                                errors = stall.errors,
                                "partition resumed after a stall"
                            );
                        }
                    }
                }
                if let Some(ts) = message.timestamp().to_millis() {
                    timestamps.push(ts);
                }
                let format = self.topics.format(topic_id);
                let payload = message.payload().unwrap_or_default();
                let source = Source {
                    topic,
                    partition,
                    offset,
                };
                match decode::precheck(payload, self.config.max_message_bytes) {
                    Ok(()) => received.push(Received {
                        source,
                        key: message.key().map(<[u8]>::to_vec),
                        payload: payload.to_vec(),
                        format,
                    }),
                    Err((code, reason)) => dead.push(DeadLetter::new(
                        source,
                        message.key(),
                        payload,
                        code,
                        &reason,
                        self.config.dead_letter_max_payload_bytes,
                    )),
                }
            }
            let decoded = decode::decode_all_to_log(
                &received,
                self.config.json_unknown_fields,
                self.decode_threads,
            );
            for (message, decoded) in received.drain(..).zip(decoded) {
                let Source {
                    topic,
                    partition,
                    offset,
                } = message.source;
                match decoded {
                    Ok(decoded) => events.push((topic, partition, offset, decoded)),
                    Err((code, reason)) => dead.push(DeadLetter::new(
                        Source {
                            topic,
                            partition,
                            offset,
                        },
                        message.key.as_deref(),
                        &message.payload,
                        code,
                        &reason,
                        self.config.dead_letter_max_payload_bytes,
                    )),
                }
            }

            // Messages of partitions revoked meanwhile belong to their new owner now.
            let revoked: Vec<(String, i32)> = context_revoked(&consumer);
            if !revoked.is_empty() {
                let is_revoked = |topic: &str, partition: i32| {
                    revoked.iter().any(|(t, p)| t == topic && *p == partition)
                };
                events.retain(|(t, p, _, _)| !is_revoked(t, *p));
                dead.retain(|d| !is_revoked(&d.source.topic, d.source.partition));
                next_offsets.retain(|(t, p), _| !is_revoked(self.topics.name(*t), *p));
            }

            if !next_offsets.is_empty() {
                let span = tracing::info_span!(
                    "batch",
                    messages,
                    events = events.len(),
                    dead_lettered = dead.len(),
                    appended = tracing::field::Empty,
                    duplicates = tracing::field::Empty,
                    conflicting = tracing::field::Empty,
                    prepare_ms = tracing::field::Empty,
                    commit_ms = tracing::field::Empty,
                );
                let entered = span.enter();
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
                        topic: self.topics.name(*topic).to_string(),
                        partition: *partition,
                        next_offset: *next,
                    })
                    .collect();
                let mut sources = Vec::with_capacity(events.len());
                let mut envelopes = Vec::with_capacity(events.len());
                let mut stored = Vec::with_capacity(events.len());
                for (topic, partition, offset, decoded) in events {
                    // The engine's own copy, its one allocation of the name.
                    sources.push(MessageSource {
                        topic: topic.to_string(),
                        partition,
                        offset,
                    });
                    envelopes.push(decoded.envelope);
                    stored.push(decoded.stored);
                }
                let batch = Batch {
                    events: envelopes,
                    sources,
                    offsets: offsets.clone(),
                    dead_lettered: dead.len() as u64,
                    meta: Vec::new(),
                    stored,
                };
                let submitted = Instant::now();
                let (outcome, previous) = self.engine.submit(batch)?;
                span.record("appended", outcome.appended);
                span.record("duplicates", outcome.duplicates);
                span.record("conflicting", outcome.conflicting.len());
                // Preparing, and waiting for the batch ahead to be durable.
                span.record("prepare_ms", submitted.elapsed().as_millis() as u64);
                drop(entered);
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
                    span,
                    submitted,
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
        let committed: Vec<(String, i32, i64)> = submitted
            .offsets
            .iter()
            .map(|o| (o.topic.clone(), o.partition, o.next_offset))
            .collect();
        self.engine.metrics().partitions().committed(&committed);
        let span = &submitted.span;
        span.record(
            "commit_ms",
            submitted.submitted.elapsed().as_millis() as u64,
        );
        span.in_scope(|| debug!("batch committed"));
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
        let sent = producer.send_all(dead, &self.shutdown);
        if matches!(sent, Sent::All { .. }) {
            for letter in dead.iter() {
                self.engine.metrics().dead_letter(letter.code(), 1);
            }
        }
        match sent {
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

impl Ingest {
    /// Counts a consumer error, and logs it once per
    /// `kafka.error_log_interval_ms` with how often it occurred.
    fn consumer_error(&mut self, metrics: &Metrics, e: &ClientError, reason: Option<&str>) {
        let code = error_code(e);
        let error = match reason {
            Some(reason) => format!("{e}: {reason}"),
            None => e.to_string(),
        };
        metrics
            .consumer_errors
            .get_or_create(&touchline_engine::CodeLabels { code: code.clone() })
            .inc();
        let undecodable = undecodable(e);
        if undecodable {
            metrics.partitions().undecodable(&error);
        }
        let Some(count) = self.repeated.occurred(&code) else {
            return;
        };
        let interval_s = self.repeated.interval.as_secs();
        if undecodable {
            let stalled: Vec<String> = metrics
                .partitions()
                .status()
                .stalled
                .iter()
                .map(|s| format!("{} [{}] at offset {}", s.topic, s.partition, s.stall.offset))
                .collect();
            error!(
                error,
                code,
                count,
                interval_s,
                ?stalled,
                "a record batch cannot be decoded (a codec this build lacks, or a corrupt batch); its partition does not advance until the client can decode it"
            );
        } else {
            warn!(error, code, count, interval_s, "consumer error");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_a_missing_codec_gives_is_undecodable_and_a_broker_outage_is_not() {
        // What rdkafka hands the loop for "Decompression (codec 0x4) ... Not implemented".
        let zstd = ClientError::MessageConsumption(RDKafkaErrorCode::NotImplemented);
        assert!(undecodable(&zstd));
        assert!(undecodable(&ClientError::MessageConsumption(
            RDKafkaErrorCode::BadCompression
        )));
        assert!(!undecodable(&ClientError::MessageConsumption(
            RDKafkaErrorCode::BrokerTransportFailure
        )));
        assert!(!undecodable(&ClientError::Canceled));
    }

    #[test]
    fn a_repeated_error_is_logged_once_per_interval_with_its_count() {
        let mut quiet = Repeated::new(Duration::from_secs(3_600));
        assert_eq!(quiet.occurred("NotImplemented"), Some(1));
        for _ in 0..100 {
            assert_eq!(quiet.occurred("NotImplemented"), None);
        }
        // Another code is another line.
        assert_eq!(quiet.occurred("AllBrokersDown"), Some(1));
        let mut every = Repeated::new(Duration::ZERO);
        assert_eq!(every.occurred("x"), Some(1));
        assert_eq!(every.occurred("x"), Some(1));
    }

    #[test]
    fn statistics_of_the_input_topics_feed_the_stall_detection() {
        let json = r#"{"name":"c","client_id":"c","type":"consumer","ts":1,"time":1,"age":1,
            "replyq":0,"msg_cnt":0,"msg_size":0,"msg_max":0,"msg_size_max":0,"simple_cnt":0,
            "metadata_cache_cnt":0,"tx":0,"tx_bytes":0,"rx":0,"rx_bytes":0,"txmsgs":0,
            "txmsg_bytes":0,"rxmsgs":0,"rxmsg_bytes":0,"brokers":{},
            "topics":{"in":{"topic":"in","age":1,"metadata_age":1,"batchsize":{"min":0,"max":0,"avg":0,"sum":0,"stddev":0,"p50":0,"p75":0,"p90":0,"p95":0,"p99":0,"p99_99":0,"outofrange":0,"hdrsize":0,"cnt":0},
              "batchcnt":{"min":0,"max":0,"avg":0,"sum":0,"stddev":0,"p50":0,"p75":0,"p90":0,"p95":0,"p99":0,"p99_99":0,"outofrange":0,"hdrsize":0,"cnt":0},
              "partitions":{"0":{"partition":0,"broker":1,"leader":1,"desired":true,"unknown":false,
                "msgq_cnt":0,"msgq_bytes":0,"xmit_msgq_cnt":0,"xmit_msgq_bytes":0,"fetchq_cnt":0,
                "fetchq_size":0,"fetch_state":"active","query_offset":0,"next_offset":3,"app_offset":3,
                "stored_offset":-1001,"committed_offset":3,"eof_offset":-1001,"lo_offset":0,
                "hi_offset":15016,"ls_offset":15016,"consumer_lag":15013,"consumer_lag_stored":-1,
                "txmsgs":0,"txbytes":0,"rxmsgs":3,"rxbytes":10,"msgs":3,"rx_ver_drops":0,
                "msgs_inflight":0,"next_ack_seq":0,"next_err_seq":0,"acked_msgid":0},
               "-1":{"partition":-1,"broker":-1,"leader":-1,"desired":false,"unknown":false,
                "msgq_cnt":0,"msgq_bytes":0,"xmit_msgq_cnt":0,"xmit_msgq_bytes":0,"fetchq_cnt":0,
                "fetchq_size":0,"fetch_state":"none","query_offset":0,"next_offset":0,"app_offset":-1001,
                "stored_offset":-1001,"committed_offset":-1001,"eof_offset":-1001,"lo_offset":-1001,
                "hi_offset":-1001,"ls_offset":-1001,"consumer_lag":-1,"consumer_lag_stored":-1,
                "txmsgs":0,"txbytes":0,"rxmsgs":0,"rxbytes":0,"msgs":0,"rx_ver_drops":0,
                "msgs_inflight":0,"next_ack_seq":0,"next_err_seq":0,"acked_msgid":0}}}}}"#;
        let statistics: Statistics = match serde_json::from_str(json) {
            Ok(s) => s,
            Err(e) => panic!("statistics JSON: {e}"),
        };
        let rows = statistics_rows(&statistics, &["in".to_owned()]);
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!((rows[0].high_watermark, rows[0].app_offset), (15_016, 3));
        assert!(statistics_rows(&statistics, &["other".to_owned()]).is_empty());

        // The partition stored at offset 3, the error rdkafka gives for zstd
        // without the codec, then the statistics: stalled at 3.
        let metrics = Metrics::default();
        metrics.partitions().attach();
        metrics.partitions().assigned(&[("in".into(), 0, Some(3))]);
        let zstd = ClientError::MessageConsumption(RDKafkaErrorCode::NotImplemented);
        let mut ingest_errors = Repeated::new(Duration::from_secs(3_600));
        for _ in 0..5 {
            if undecodable(&zstd) {
                metrics.partitions().undecodable(&zstd.to_string());
            }
            ingest_errors.occurred("NotImplemented");
        }
        let stalled = metrics.partitions().statistics(&rows);
        assert_eq!(stalled.len(), 1);
        assert_eq!(stalled[0].stall.offset, 3);
        assert_eq!(stalled[0].stall.errors, 5);
        assert!(
            stalled[0].stall.error.contains("NotImplemented"),
            "{:?}",
            stalled[0]
        );
        assert_eq!(metrics.partitions().status().lag_total, Some(15_013));
        assert!(!metrics.partitions().readiness(1_000_000).ready);
    }
}
