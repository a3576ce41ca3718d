use std::sync::Arc;

use hashbrown::{HashMap, HashSet};
use serde::{Serialize, de::DeserializeOwned};
use touchline_attribution::{
    AttributionSettings, Conversion, ConversionKind, Milestones, Model, OpportunityTouches,
    TouchPoint, attribute_all,
};
use touchline_core::{Envelope, Event, LeadRouted, LeadSource, TouchStatus};
use touchline_projection::{
    AccountView, CampaignView, ConversionView, OpportunityView, PersonView, RoutingRules,
};
use touchline_store::{Commit, OutboxDeadLetter, OutboxRecord, PartitionOffset, Store, Table};

use crate::EngineError;
use crate::message::{ActivityAlert, OpenOpportunity, attribution_key};
use crate::metrics::Metrics;

mod batch_state;
mod decisions;
mod reattribute;

use batch_state::BatchState;

const META_NEXT_SEQ: &str = "next_seq";
const META_NEXT_OUTBOX: &str = "next_outbox_id";
const META_DUPLICATES: &str = "duplicates";
const META_DEAD_LETTERED: &str = "dead_lettered";
const META_BATCHES: &str = "batches";
const META_CONFLICTING: &str = "conflicting_duplicates";
const META_VERSIONS: &str = "attribution_versions";
pub(crate) const META_CONFIG: &str = "attribution_config";

/// A touch recorded more than this long after it happened is history being
/// filled in (a backfill, a late sync), not new activity: it raises no alert.
const ALERT_MAX_LATENESS_MS: i64 = touchline_projection::HISTORY_AFTER_MS;

#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// The models computed for every conversion.
    pub models: Vec<Model>,
    /// Model parameters, lookback windows and the touch filter.
    pub settings: AttributionSettings,
    /// Who a new lead without an owner goes to (R20).
    pub routing: RoutingRules,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            models: Model::ALL.to_vec(),
            settings: AttributionSettings::default(),
            routing: RoutingRules::default(),
        }
    }
}

/// What a source hands the engine: decoded, validated events in source order, the
/// offsets they (and any dead-lettered messages among them) advance to, and how
/// many messages were dead-lettered.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub events: Vec<Envelope>,
    /// Where each event came from, in the order of `events`; empty when the
    /// source has no coordinates (the demo, an import). Dead letters the engine
    /// finds name it.
    pub sources: Vec<MessageSource>,
    pub offsets: Vec<PartitionOffset>,
    pub dead_lettered: u64,
}

/// A message's place in its input topic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageSource {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchOutcome {
    pub appended: usize,
    /// True retries: ids already in the log (or earlier in the batch) with the
    /// same content.
    pub duplicates: usize,
    /// Ids already in the log with different content; skipped like duplicates
    /// (the first copy stays), counted apart and reported here.
    pub conflicting: Vec<ConflictingDuplicate>,
    /// Sequence number of the first appended event, if any.
    pub first_seq: Option<u64>,
    /// Credit-set versions queued for publishing.
    pub attribution_versions: usize,
}

/// An event whose id the log holds already with different content. The logged
/// copy stays (the first to arrive wins, as for any duplicate); this one is
/// skipped, counted in `conflicting_duplicates` and reported.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictingDuplicate {
    /// The copy that was skipped.
    pub envelope: Envelope,
    /// Where the kept copy is in the log, if it was there before this batch.
    pub logged_seq: Option<u64>,
    /// Where the skipped copy came from, if the source said.
    pub source: Option<MessageSource>,
}

impl ConflictingDuplicate {
    /// The dead letter it becomes: the skipped copy as JSON, with the reason
    /// and its source in the `touchline.dlq.*` headers of every dead letter.
    fn dead_letter(&self) -> OutboxRecord {
        let id = &self.envelope.event_id;
        let kept = self.logged_seq.map_or_else(
            || "earlier in the same batch".to_owned(),
            |s| format!("at log position {s}"),
        );
        let mut headers = vec![
            (
                "touchline.dlq.reason".to_owned(),
                format!(
                    "conflicting_duplicate: an event with id {id:?} and other content is in the log ({kept}); this copy was skipped"
                ),
            ),
            (
                "touchline.dlq.error".to_owned(),
                "conflicting_duplicate".to_owned(),
            ),
        ];
        if let Some(source) = &self.source {
            headers.extend([
                (
                    "touchline.dlq.source.topic".to_owned(),
                    source.topic.clone(),
                ),
                (
                    "touchline.dlq.source.partition".to_owned(),
                    source.partition.to_string(),
                ),
                (
                    "touchline.dlq.source.offset".to_owned(),
                    source.offset.to_string(),
                ),
            ]);
        }
        if let Some(seq) = self.logged_seq {
            headers.push(("touchline.dlq.logged.seq".to_owned(), seq.to_string()));
        }
        // Plain data with string keys: serializing cannot fail.
        let value = serde_json::to_vec(&self.envelope).unwrap_or_default();
        OutboxRecord::dead_letter(id.clone(), OutboxDeadLetter { value, headers })
    }
}

impl Eq for ConflictingDuplicate {}

/// Whether two events with one id are the same event. `recorded_at` may differ:
/// a re-run import or a source re-sending its history records the same event
/// again, later.
pub(crate) fn same_event(a: &Envelope, b: &Envelope) -> bool {
    a.occurred_at == b.occurred_at && a.source_system == b.source_system && a.event == b.event
}

/// A batch made durable by the writer thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Durable {
    /// Wall-clock time (ms since the epoch) right after the fsync returned: from
    /// then on the batch is visible to readers.
    pub committed_at_ms: i64,
}

/// What the writer thread is handed: one commit and the counters it moves.
struct WriteJob {
    commit: Commit,
    /// When preparing the batch started, for the commit latency.
    started: std::time::Instant,
    recorded_at_ms: Vec<i64>,
    next_outbox_id: u64,
    appended: u64,
    duplicates: u64,
    conflicting: u64,
    dead_lettered: u64,
    versions: u64,
}

/// The views and event ids of the batch whose write may still be in flight;
/// the next batch reads through it, so it sees that batch's effects before they
/// are durable.
#[derive(Default)]
struct Overlay {
    accounts: HashMap<String, Option<AccountView>>,
    persons: HashMap<String, Option<PersonView>>,
    opportunities: HashMap<String, Option<OpportunityView>>,
    campaigns: HashMap<String, Option<CampaignView>>,
    conversions: HashMap<String, Option<ConversionView>>,
    event_ids: HashSet<String>,
}

/// The engine. Preparing a batch (dedupe, folds, attribution) runs on the
/// caller's thread; writing it (one `WriteBatch`, one fsync) runs on a writer
/// thread, so batch N+1 is prepared while batch N is written. At most one batch
/// is in flight. [`Engine::apply`] waits for durability; [`Engine::submit`]
/// returns as soon as the previous batch is durable.
pub struct Engine {
    store: Arc<Store>,
    config: EngineConfig,
    metrics: Arc<Metrics>,
    next_seq: u64,
    next_outbox_id: u64,
    duplicates: u64,
    conflicting: u64,
    dead_lettered: u64,
    versions: u64,
    batches: u64,
    overlay: Overlay,
    jobs: Option<std::sync::mpsc::SyncSender<WriteJob>>,
    done: std::sync::mpsc::Receiver<Result<Durable, touchline_store::StoreError>>,
    in_flight: bool,
    poisoned: Option<String>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("next_seq", &self.next_seq)
            .field("in_flight", &self.in_flight)
            .finish_non_exhaustive()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // Let the writer finish what it holds, then stop it.
        self.jobs.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Engine {
    /// Opens the engine on a store, picking up where the last commit left off.
    pub fn open(store: Arc<Store>, config: EngineConfig) -> Result<Self, EngineError> {
        let meta = |key| store.meta_u64(key).map(Option::unwrap_or_default);
        let metrics = Arc::new(Metrics::default());
        let (jobs, job_rx) = std::sync::mpsc::sync_channel::<WriteJob>(1);
        let (done_tx, done) = std::sync::mpsc::channel();
        let writer = {
            let store = store.clone();
            let metrics = metrics.clone();
            std::thread::Builder::new()
                .name("store-writer".into())
                .spawn(move || {
                    for job in job_rx {
                        let writing = std::time::Instant::now();
                        let result = store.write(job.commit).map(|()| {
                            let m = &metrics;
                            m.batch_written(&crate::metrics::BatchTimings {
                                appended: job.appended,
                                conflicting: job.conflicting,
                                write: writing.elapsed(),
                                commit: job.started.elapsed(),
                                recorded_at_ms: job.recorded_at_ms,
                                next_outbox_id: job.next_outbox_id,
                            });
                            Metrics::add(&m.events_appended, job.appended);
                            Metrics::add(&m.duplicates, job.duplicates);
                            Metrics::add(&m.conflicting_duplicates, job.conflicting);
                            Metrics::add(&m.dead_lettered, job.dead_lettered);
                            Metrics::add(&m.attribution_versions, job.versions);
                            Metrics::add(&m.batches, 1);
                            Durable {
                                committed_at_ms: touchline_core::Timestamp::now().as_millis(),
                            }
                        });
                        if done_tx.send(result).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| EngineError::Writer(e.to_string()))?
        };
        let engine = Engine {
            next_seq: meta(META_NEXT_SEQ)?,
            next_outbox_id: meta(META_NEXT_OUTBOX)?,
            duplicates: meta(META_DUPLICATES)?,
            conflicting: meta(META_CONFLICTING)?,
            dead_lettered: meta(META_DEAD_LETTERED)?,
            versions: meta(META_VERSIONS)?,
            batches: meta(META_BATCHES)?,
            metrics,
            config,
            store,
            overlay: Overlay::default(),
            jobs: Some(jobs),
            done,
            in_flight: false,
            poisoned: None,
            writer: Some(writer),
        };
        let m = &engine.metrics;
        Metrics::add(&m.events_appended, engine.next_seq);
        Metrics::add(&m.duplicates, engine.duplicates);
        Metrics::add(&m.conflicting_duplicates, engine.conflicting);
        Metrics::add(&m.dead_lettered, engine.dead_lettered);
        Metrics::add(&m.attribution_versions, engine.versions);
        Metrics::add(&m.batches, engine.batches);
        m.outbox_next_id
            .store(engine.next_outbox_id, std::sync::atomic::Ordering::Relaxed);
        let mut engine = engine;
        engine.reattribute_if_config_changed()?;
        Ok(engine)
    }

    fn account_touches(&self) -> bool {
        self.config.settings.opportunity_touches == OpportunityTouches::AccountContacts
    }

    /// The attribution configuration as stored with the results it produced
    /// (read back by [`crate::Queries::configured_models`]).
    fn config_fingerprint(&self) -> Vec<u8> {
        // Plain data with string keys: serializing cannot fail.
        serde_json::to_vec(&(&self.config.models, &self.config.settings)).unwrap_or_default()
    }

    /// When models or their settings changed since the store was last written,
    /// recomputes every conversion from the views (which the log determines), so
    /// that results and published credit sets follow the new configuration.
    fn reattribute_if_config_changed(&mut self) -> Result<(), EngineError> {
        let fingerprint = self.config_fingerprint();
        let stored = self.store.meta_bytes(META_CONFIG)?;
        if stored.as_deref() == Some(fingerprint.as_slice()) {
            return Ok(());
        }
        if stored.is_some() || self.next_seq > 0 {
            tracing::info!("attribution configuration changed: recomputing every conversion");
            let recomputed = self.reattribute_all()?;
            tracing::info!(conversions = recomputed, "recomputed");
        }
        let mut commit = self.store.commit();
        commit.set_meta_bytes(META_CONFIG, &fingerprint);
        self.store.write(commit)?;
        Ok(())
    }

    /// Rebuilds every view from the log (`touchline replay`): clears the views,
    /// folds every event again in log order, re-attributes, and queues every
    /// credit set for publishing with versions above all earlier ones. Calls
    /// `progress(done, total)` after each chunk.
    pub fn rebuild(&mut self, mut progress: impl FnMut(u64, u64)) -> Result<(), EngineError> {
        self.flush()?;
        self.overlay = Overlay::default();
        self.store.clear_views()?;
        let floor = self.versions;
        let total = self.next_seq;
        let mut from = 0u64;
        loop {
            let page = self.store.events(from, 10_000)?;
            let Some(last) = page.last() else { break };
            let last_seq = last.seq;
            from = last_seq + 1;
            let store = self.store.clone();
            let mut state = BatchState::new(&store, Overlay::default(), self.account_touches());
            state.version_floor = floor;
            for event in &page {
                state.project(event.seq, &event.envelope)?;
            }
            self.commit_recomputed(&store, &mut state, last_seq)?;
            progress(from.min(total), total);
        }
        Ok(())
    }

    /// Re-attributes the conversions `state` marked, queues the changed credit
    /// sets, and writes the views and counters in one synchronous commit (outside
    /// the pipelined path: nothing is in flight when this runs).
    fn commit_recomputed(
        &mut self,
        store: &Store,
        state: &mut BatchState<'_>,
        as_of_seq: u64,
    ) -> Result<(), EngineError> {
        let mut commit = store.commit();
        let mut dirty: Vec<String> = state.dirty_conversions.iter().cloned().collect();
        dirty.sort_unstable();
        let mut versions = 0u64;
        for conversion_id in dirty {
            for record in state.reattribute(&conversion_id, &self.config, as_of_seq)? {
                commit.outbox(self.next_outbox_id, &record)?;
                self.next_outbox_id += 1;
                versions += 1;
            }
        }
        state.write_views(&mut commit)?;
        self.versions += versions;
        commit.set_meta_u64(META_NEXT_OUTBOX, self.next_outbox_id);
        commit.set_meta_u64(META_VERSIONS, self.versions);
        store.write(commit)?;
        Metrics::add(&self.metrics.attribution_versions, versions);
        self.metrics
            .outbox_next_id
            .store(self.next_outbox_id, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Re-attributes every conversion (lead, qualified lead, opportunity, won
    /// deal) in chunks, one commit each; returns how many subjects were visited.
    pub fn reattribute_all(&mut self) -> Result<usize, EngineError> {
        self.flush()?;
        // Everything is durable now; the overlay would shadow what is written below.
        self.overlay = Overlay::default();
        let mut visited = 0;
        for (table, person) in [(Table::Persons, true), (Table::Opportunities, false)] {
            let mut after: Option<String> = None;
            loop {
                let keys: Vec<String> = if person {
                    self.store
                        .scan::<PersonView>(table, "", after.as_deref(), 2_000)?
                        .into_iter()
                        .map(|(k, _)| k)
                        .collect()
                } else {
                    self.store
                        .scan::<OpportunityView>(table, "", after.as_deref(), 2_000)?
                        .into_iter()
                        .map(|(k, _)| k)
                        .collect()
                };
                let Some(last) = keys.last().cloned() else {
                    break;
                };
                after = Some(last);
                visited += keys.len();
                let store = self.store.clone();
                let mut state = BatchState::new(&store, Overlay::default(), self.account_touches());
                for key in &keys {
                    if person {
                        state.mark(ConversionKind::LeadCreated, key);
                        state.mark(ConversionKind::LeadQualified, key);
                    } else {
                        state.mark(ConversionKind::OpportunityCreated, key);
                        state.mark(ConversionKind::OpportunityWon, key);
                    }
                }
                let as_of = self.next_seq.saturating_sub(1);
                self.commit_recomputed(&store, &mut state, as_of)?;
            }
        }
        Ok(visited)
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The offsets the log covers; a source resumes from these.
    pub fn offsets(&self) -> Result<Vec<PartitionOffset>, EngineError> {
        Ok(self.store.offsets()?)
    }

    /// Applies one batch in one atomic, fsynced commit and returns when it is
    /// durable.
    pub fn apply(&mut self, batch: Batch) -> Result<BatchOutcome, EngineError> {
        let (outcome, _) = self.submit(batch)?;
        self.flush()?;
        Ok(outcome)
    }

    /// Waits until the batch in flight, if any, is durable.
    pub fn flush(&mut self) -> Result<Option<Durable>, EngineError> {
        if let Some(reason) = &self.poisoned {
            return Err(EngineError::Poisoned(reason.clone()));
        }
        if !self.in_flight {
            return Ok(None);
        }
        self.in_flight = false;
        let result = self
            .done
            .recv()
            .map_err(|_| EngineError::Writer("the writer thread stopped".into()))
            .and_then(|r| r.map_err(EngineError::from));
        match result {
            Ok(durable) => Ok(Some(durable)),
            Err(e) => {
                // Memory is ahead of the store now; only reopening is safe.
                self.poisoned = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// Prepares one batch and hands its commit to the writer thread. Returns the
    /// batch's outcome and, if a previous batch was in flight, its durability:
    /// the previous batch is durable when this returns, this one is not yet.
    pub fn submit(&mut self, batch: Batch) -> Result<(BatchOutcome, Option<Durable>), EngineError> {
        if let Some(reason) = &self.poisoned {
            return Err(EngineError::Poisoned(reason.clone()));
        }
        let started = std::time::Instant::now();
        let Batch {
            events,
            sources,
            offsets,
            dead_lettered,
        } = batch;
        let source_of = |i: usize| sources.get(i).cloned();
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        // An id of the batch in flight: wait for it to be durable, so that every
        // known id can be compared with its logged copy below. Retries that
        // close together are rare, so this costs nothing in the common case.
        let mut previous = None;
        if ids.iter().any(|id| self.overlay.event_ids.contains(*id)) {
            previous = self.flush()?;
        }
        let known = self.store.known_event_ids(&ids)?;
        let mut seen_in_batch: HashMap<&str, &Envelope> = HashMap::with_capacity(events.len());
        let mut fresh = Vec::with_capacity(events.len());
        let mut duplicates = 0usize;
        let mut conflicting = Vec::new();
        for (i, (envelope, known)) in events.iter().zip(known).enumerate() {
            let id = envelope.event_id.as_str();
            if known {
                let logged_seq = self.store.seq_of_event(id)?;
                let logged = match logged_seq {
                    Some(seq) => self.store.event(seq)?.map(|e| e.envelope),
                    None => None,
                };
                if logged.is_some_and(|logged| !same_event(&logged, envelope)) {
                    conflicting.push(ConflictingDuplicate {
                        envelope: envelope.clone(),
                        logged_seq,
                        source: source_of(i),
                    });
                } else {
                    duplicates += 1;
                }
            } else if let Some(first) = seen_in_batch.get(id) {
                if same_event(first, envelope) {
                    duplicates += 1;
                } else {
                    conflicting.push(ConflictingDuplicate {
                        envelope: envelope.clone(),
                        logged_seq: None,
                        source: source_of(i),
                    });
                }
            } else {
                seen_in_batch.insert(id, envelope);
                fresh.push(envelope);
            }
        }
        for c in &conflicting {
            tracing::warn!(
                event_id = %c.envelope.event_id,
                logged_seq = ?c.logged_seq,
                "conflicting duplicate: an event with this id and different content is in the log; skipped"
            );
        }

        // From here on the overlay is taken: an error must poison the engine, or the
        // next batch would read the store under a write still in flight.
        macro_rules! or_poison {
            ($result:expr) => {
                match $result {
                    Ok(value) => value,
                    Err(e) => {
                        let e: EngineError = e.into();
                        self.poisoned = Some(e.to_string());
                        return Err(e);
                    }
                }
            };
        }
        let overlay = std::mem::take(&mut self.overlay);
        let store = self.store.clone();
        let mut state = BatchState::new(&store, overlay, self.account_touches());
        let mut commit = store.commit();
        let first_seq = (!fresh.is_empty()).then_some(self.next_seq);
        let mut seq = self.next_seq;
        let mut event_ids: HashSet<String> = HashSet::with_capacity(fresh.len());
        let mut alerts = Vec::new();
        for envelope in &fresh {
            commit.append(seq, envelope);
            or_poison!(state.project(seq, envelope));
            event_ids.insert(envelope.event_id.clone());
            if matches!(envelope.event, Event::TouchRecorded(_)) {
                alerts.extend(or_poison!(state.activity_alerts(seq, envelope)));
            }
            seq += 1;
            // A decision the engine makes goes into the log as an event of its
            // own, so a replay repeats it rather than deciding again.
            if let Some(routed) = or_poison!(state.route_new_lead(envelope, &self.config.routing)) {
                commit.append(seq, &routed);
                or_poison!(state.project(seq, &routed));
                event_ids.insert(routed.event_id);
                seq += 1;
            }
        }
        let last_seq = seq.saturating_sub(1);

        let mut outbox_id = self.next_outbox_id;
        // A conflicting duplicate goes to the dead-letter topic through the
        // outbox: written in this batch, so it is never lost, whatever crashes.
        for conflict in &conflicting {
            or_poison!(commit.outbox(outbox_id, &conflict.dead_letter()));
            outbox_id += 1;
        }
        for alert in &alerts {
            or_poison!(commit.outbox(outbox_id, alert));
            outbox_id += 1;
        }
        let mut versions = 0usize;
        let mut dirty: Vec<String> = state.dirty_conversions.iter().cloned().collect();
        dirty.sort_unstable();
        for conversion_id in dirty {
            for record in or_poison!(state.reattribute(&conversion_id, &self.config, last_seq)) {
                or_poison!(commit.outbox(outbox_id, &record));
                outbox_id += 1;
                versions += 1;
            }
        }
        or_poison!(state.write_views(&mut commit));

        for offset in &offsets {
            commit.set_offset(&offset.topic, offset.partition, offset.next_offset);
        }
        let total_duplicates = self.duplicates + duplicates as u64;
        let total_conflicting = self.conflicting + conflicting.len() as u64;
        // Conflicting duplicates are dead letters too, sent through the outbox.
        let dead_lettered = dead_lettered + conflicting.len() as u64;
        let total_dead = self.dead_lettered + dead_lettered;
        let total_versions = self.versions + versions as u64;
        commit.set_meta_u64(META_NEXT_SEQ, seq);
        commit.set_meta_u64(META_NEXT_OUTBOX, outbox_id);
        commit.set_meta_u64(META_DUPLICATES, total_duplicates);
        commit.set_meta_u64(META_CONFLICTING, total_conflicting);
        commit.set_meta_u64(META_DEAD_LETTERED, total_dead);
        commit.set_meta_u64(META_VERSIONS, total_versions);
        commit.set_meta_u64(META_BATCHES, self.batches + 1);

        self.metrics
            .batch_prepare_seconds
            .observe(started.elapsed().as_secs_f64());
        // The previous batch must be durable before this one goes to the writer,
        // so that at most one batch is ever ahead of the store.
        if let Some(durable) = self.flush()? {
            previous = Some(durable);
        }
        let appended = (seq - self.next_seq) as usize;
        let job = WriteJob {
            commit,
            started,
            recorded_at_ms: fresh.iter().map(|e| e.recorded_at.as_millis()).collect(),
            next_outbox_id: outbox_id,
            appended: appended as u64,
            duplicates: duplicates as u64,
            conflicting: conflicting.len() as u64,
            dead_lettered,
            versions: versions as u64,
        };
        self.jobs
            .as_ref()
            .ok_or_else(|| EngineError::Writer("the engine is shutting down".into()))?
            .send(job)
            .map_err(|_| EngineError::Writer("the writer thread stopped".into()))?;
        self.in_flight = true;
        self.overlay = state.into_overlay(event_ids);
        self.next_seq = seq;
        self.next_outbox_id = outbox_id;
        self.duplicates = total_duplicates;
        self.conflicting = total_conflicting;
        self.dead_lettered = total_dead;
        self.versions = total_versions;
        self.batches += 1;
        Ok((
            BatchOutcome {
                appended,
                duplicates,
                conflicting,
                first_seq,
                attribution_versions: versions,
            },
            previous,
        ))
    }
}
