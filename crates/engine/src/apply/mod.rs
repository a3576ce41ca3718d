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
mod fold;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod fold_tests;
mod handover;
mod in_memory;
mod load;
mod reattribute;
mod rebuild;
mod touch_rows;
mod unchanged;
mod writer;

use batch_state::{BatchState, Snapshot};
use fold::{Logged, fold_batch, stored_bytes};
pub use handover::{Handover, MovedConversion};
pub use in_memory::InMemoryEngine;
use load::{Source, Wants, load};
pub use rebuild::REBUILD_IN_MEMORY_EVENTS;
pub use writer::Durable;
use writer::{WriteJob, Writer};

const META_NEXT_SEQ: &str = "next_seq";
const META_NEXT_OUTBOX: &str = "next_outbox_id";
const META_DUPLICATES: &str = "duplicates";
const META_DEAD_LETTERED: &str = "dead_lettered";
const META_BATCHES: &str = "batches";
const META_CONFLICTING: &str = "conflicting_duplicates";
const META_VERSIONS: &str = "attribution_versions";
/// Every credit-set version given from now on is above this (see
/// [`Engine::raise_version_floor`]).
const META_VERSION_FLOOR: &str = "version_floor";
/// The highest version given to a credit set.
const META_MAX_VERSION: &str = "max_version";
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
    /// The caller's own durable state, written in the batch's commit: what a
    /// shard runtime must change exactly when these events and offsets land
    /// (its forwarding pointers, its records for other shards).
    pub meta: Vec<MetaWrite>,
    /// The bytes the log stores for each event, in the order of `events`, as
    /// [`touchline_proto::decode_to_log`] gives them, so that the engine's
    /// thread does not encode them; empty: the engine encodes each event.
    pub stored: Vec<Vec<u8>>,
}

/// A key of the caller's own state to set (`Some`) or delete (`None`) in a
/// batch's commit: a store extension key (`Store::extension`), apart from
/// every key the engine writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaWrite {
    pub key: String,
    pub value: Option<Vec<u8>>,
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
/// Writes the caller's extension state of a batch into its commit.
pub(crate) fn write_meta(commit: &mut Commit, meta: &[MetaWrite]) {
    for write in meta {
        match &write.value {
            Some(value) => commit.set_extension(&write.key, value),
            None => commit.delete_extension(&write.key),
        }
    }
}

pub(crate) fn same_event(a: &Envelope, b: &Envelope) -> bool {
    a.occurred_at == b.occurred_at && a.source_system == b.source_system && a.event == b.event
}

/// The views and event ids of the batch whose write may still be in flight;
/// the next batch reads through it, so it sees that batch's effects before they
/// are durable.
#[derive(Default)]
struct Overlay {
    views: Snapshot,
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
    version_floor: u64,
    /// The floor the last commit wrote.
    floor_written: u64,
    max_version: u64,
    overlay: Overlay,
    writer: Writer,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("next_seq", &self.next_seq)
            .field("in_flight", &self.writer.in_flight)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Opens the engine on a store, picking up where the last commit left off.
    pub fn open(store: Arc<Store>, config: EngineConfig) -> Result<Self, EngineError> {
        let meta = |key| store.meta_u64(key).map(Option::unwrap_or_default);
        let metrics = Arc::new(Metrics::default());
        let writer = Writer::start(store.clone(), metrics.clone())?;
        let engine = Engine {
            next_seq: meta(META_NEXT_SEQ)?,
            next_outbox_id: meta(META_NEXT_OUTBOX)?,
            duplicates: meta(META_DUPLICATES)?,
            conflicting: meta(META_CONFLICTING)?,
            dead_lettered: meta(META_DEAD_LETTERED)?,
            versions: meta(META_VERSIONS)?,
            batches: meta(META_BATCHES)?,
            version_floor: meta(META_VERSION_FLOOR)?,
            floor_written: meta(META_VERSION_FLOOR)?,
            max_version: meta(META_MAX_VERSION)?,
            metrics,
            config,
            store,
            overlay: Overlay::default(),
            writer,
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

    /// Loads what `fold` reads from the store (nothing may be in flight), runs
    /// it, and runs it again over more views for as long as it read one that
    /// was not loaded.
    fn fold_durable<R>(
        &self,
        mut wants: Wants,
        mut fold: impl FnMut(&mut BatchState) -> R,
    ) -> Result<(BatchState, R), EngineError> {
        let account_touches = self.account_touches();
        loop {
            let mut snapshot = Snapshot::default();
            let mut nothing_ahead = Snapshot::default();
            let mut source = Source {
                store: &self.store,
                ahead: &mut nothing_ahead,
            };
            load(
                &mut source,
                &wants,
                account_touches,
                &self.config.models,
                &mut snapshot,
            )?;
            let mut state = BatchState::new(snapshot, account_touches);
            let result = fold(&mut state);
            let missing = state.missing();
            if missing.is_empty() {
                Metrics::add(&self.metrics.conversions_unchanged, state.unchanged);
                return Ok((state, result));
            }
            Metrics::add(&self.metrics.fold_reloads, 1);
            wants.extend_missing(missing);
        }
    }

    /// Queues the recomputed credit sets and writes the views and counters in
    /// one synchronous commit (outside the pipelined path: nothing is in flight
    /// when this runs).
    fn commit_recomputed(
        &mut self,
        state: &BatchState,
        attribution: &[OutboxRecord],
    ) -> Result<(), EngineError> {
        let mut commit = self.store.commit();
        self.queue_recomputed(&mut commit, attribution)?;
        state.write_views(&mut commit)?;
        self.store.write(commit)?;
        Ok(())
    }

    /// Puts recomputed credit sets in the outbox, with the counters that
    /// number them.
    fn queue_recomputed(
        &mut self,
        commit: &mut Commit,
        attribution: &[OutboxRecord],
    ) -> Result<(), EngineError> {
        for record in attribution {
            commit.outbox(self.next_outbox_id, record)?;
            self.next_outbox_id += 1;
        }
        let versions = attribution.len() as u64;
        self.versions += versions;
        commit.set_meta_u64(META_NEXT_OUTBOX, self.next_outbox_id);
        commit.set_meta_u64(META_VERSIONS, self.versions);
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
                let mut wants = Wants::default();
                for key in &keys {
                    if person {
                        wants.subject(key);
                    } else {
                        wants.opportunity(key);
                    }
                }
                let as_of = self.next_seq.saturating_sub(1);
                let config = &self.config;
                let (state, attribution) = self.fold_durable(wants, |state| {
                    for key in &keys {
                        if person {
                            state.mark(ConversionKind::LeadCreated, key);
                            state.mark(ConversionKind::LeadQualified, key);
                        } else {
                            state.mark(ConversionKind::OpportunityCreated, key);
                            state.mark(ConversionKind::OpportunityWon, key);
                        }
                    }
                    state.reattribute_dirty(config, as_of)
                })?;
                self.commit_recomputed(&state, &attribution)?;
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

    /// The highest version any credit set of this store was given.
    pub fn max_version(&self) -> u64 {
        self.max_version
    }

    /// Every credit-set version given from now on is above `floor`. A store
    /// that rebuilt its state by reading its input again (a shard restored
    /// on another instance) raises it to the highest version an earlier
    /// owner may have published, so that consumers, who keep the highest
    /// version of each key, never keep an older answer. It holds for the
    /// next batch prepared, and every commit writes it: the commit that
    /// writes the offset past what raised it writes the floor too.
    pub fn raise_version_floor(&mut self, floor: u64) {
        self.version_floor = self.version_floor.max(floor);
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
        self.writer.flush()
    }

    /// Prepares one batch and hands its commit to the writer thread. Returns the
    /// batch's outcome and, if a previous batch was in flight, its durability:
    /// the previous batch is durable when this returns, this one is not yet.
    ///
    /// Preparing is the functional core between two pieces of I/O: load every
    /// view the batch reads (`load`), fold in memory (`fold_batch`, which cannot
    /// fail), then write one commit.
    pub fn submit(&mut self, batch: Batch) -> Result<(BatchOutcome, Option<Durable>), EngineError> {
        self.submit_inner(batch, true, |_| Vec::new())
    }

    /// [`Engine::submit`], synced or not (an unsynced commit is durable with
    /// the next synced one), with extension writes `with` decides once the
    /// batch is folded, from the highest credit-set version given so far
    /// (a shard queues its version floor record in the commit that gives
    /// the versions).
    pub fn submit_with(
        &mut self,
        batch: Batch,
        synced: bool,
        with: impl FnOnce(u64) -> Vec<MetaWrite>,
    ) -> Result<(BatchOutcome, Option<Durable>), EngineError> {
        self.submit_inner(batch, synced, with)
    }

    /// [`Engine::apply`] without waiting for the disk: the batch is written
    /// (later batches read it) and becomes durable with the next synced
    /// commit. For a caller that makes several commits for one unit of work
    /// and syncs the last (a shard receiving records).
    pub fn apply_unsynced(&mut self, batch: Batch) -> Result<BatchOutcome, EngineError> {
        let (outcome, _) = self.submit_inner(batch, false, |_| Vec::new())?;
        self.flush()?;
        Ok(outcome)
    }

    fn submit_inner(
        &mut self,
        batch: Batch,
        synced: bool,
        with: impl FnOnce(u64) -> Vec<MetaWrite>,
    ) -> Result<(BatchOutcome, Option<Durable>), EngineError> {
        self.writer.check()?;
        let started = std::time::Instant::now();
        let Batch {
            events,
            sources,
            offsets,
            dead_lettered,
            meta,
            mut stored,
        } = batch;
        let mut previous = None;
        let Deduped {
            fresh,
            duplicates,
            conflicting,
        } = self.dedupe(&events, &sources, &mut previous)?;

        // From here on the overlay is taken: an error must poison the engine, or the
        // next batch would read the store under a write still in flight.
        macro_rules! or_poison {
            ($result:expr) => {
                match $result {
                    Ok(value) => value,
                    Err(e) => {
                        let e: EngineError = e.into();
                        self.writer.poisoned = Some(e.to_string());
                        return Err(e);
                    }
                }
            };
        }
        let account_touches = self.account_touches();
        let mut ahead = std::mem::take(&mut self.overlay).views;
        let mut wants = Wants::of_events(fresh.iter().copied());
        let (state, folded) = loop {
            let mut snapshot = Snapshot::default();
            let mut source = Source {
                store: &self.store,
                ahead: &mut ahead,
            };
            or_poison!(load(
                &mut source,
                &wants,
                account_touches,
                &self.config.models,
                &mut snapshot
            ));
            let mut state = BatchState::new(snapshot, account_touches);
            state.version_floor = self.version_floor;
            let folded = fold_batch(&mut state, &fresh, &self.config, self.next_seq);
            let missing = state.missing();
            if missing.is_empty() {
                Metrics::add(&self.metrics.conversions_unchanged, state.unchanged);
                break (state, folded);
            }
            // The loader did not foresee a view the fold read. Load it and fold
            // again; the batch ahead must be durable first, since its overlay
            // was handed to the attempt just thrown away.
            Metrics::add(&self.metrics.fold_reloads, 1);
            if let Some(durable) = self.writer.flush()? {
                previous = Some(durable);
            }
            ahead = Snapshot::default();
            wants.extend_missing(missing);
        };

        let mut commit = self.store.commit();
        let mut seq = self.next_seq;
        let mut event_ids: HashSet<String> = HashSet::with_capacity(folded.logged.len());
        for logged in &folded.logged {
            match logged {
                Logged::Input(envelope) => match stored_bytes(&events, &mut stored, envelope) {
                    Some(bytes) => commit.append_stored(seq, envelope, bytes),
                    None => commit.append(seq, envelope),
                },
                Logged::Decided(envelope) => commit.append(seq, envelope),
            }
            event_ids.insert(logged.envelope().event_id.clone());
            seq += 1;
        }
        let first_seq = (!fresh.is_empty()).then_some(self.next_seq);

        let mut outbox_id = self.next_outbox_id;
        // A conflicting duplicate goes to the dead-letter topic through the
        // outbox: written in this batch, so it is never lost, whatever crashes.
        let dead_letters: Vec<OutboxRecord> = conflicting
            .iter()
            .map(ConflictingDuplicate::dead_letter)
            .collect();
        for record in dead_letters
            .iter()
            .chain(&folded.alerts)
            .chain(&folded.attribution)
        {
            or_poison!(commit.outbox(outbox_id, record));
            outbox_id += 1;
        }
        let versions = folded.attribution.len();
        or_poison!(state.write_views(&mut commit));

        for offset in &offsets {
            commit.set_offset(&offset.topic, offset.partition, offset.next_offset);
        }
        write_meta(&mut commit, &meta);
        let total_duplicates = self.duplicates + duplicates as u64;
        let total_conflicting = self.conflicting + conflicting.len() as u64;
        // Conflicting duplicates are dead letters too, sent through the outbox.
        let dead_lettered = dead_lettered + conflicting.len() as u64;
        let total_dead = self.dead_lettered + dead_lettered;
        let total_versions = self.versions + versions as u64;
        // Only the counters that moved: a shard makes many small commits, and
        // every key written is a memtable insert.
        let max_version = self.max_version.max(state.max_version);
        for (key, now, was) in [
            (META_NEXT_SEQ, seq, self.next_seq),
            (META_NEXT_OUTBOX, outbox_id, self.next_outbox_id),
            (META_DUPLICATES, total_duplicates, self.duplicates),
            (META_CONFLICTING, total_conflicting, self.conflicting),
            (META_DEAD_LETTERED, total_dead, self.dead_lettered),
            (META_VERSIONS, total_versions, self.versions),
            (META_MAX_VERSION, max_version, self.max_version),
            (META_VERSION_FLOOR, self.version_floor, self.floor_written),
        ] {
            if now != was {
                commit.set_meta_u64(key, now);
            }
        }
        commit.set_meta_u64(META_BATCHES, self.batches + 1);
        write_meta(&mut commit, &with(max_version));

        self.metrics
            .batch_prepare_seconds
            .observe(started.elapsed().as_secs_f64());
        // The previous batch must be durable before this one goes to the writer,
        // so that at most one batch is ever ahead of the store.
        if let Some(durable) = self.writer.flush()? {
            previous = Some(durable);
        }
        let appended = (seq - self.next_seq) as usize;
        let job = WriteJob {
            commit,
            synced,
            started,
            recorded_at_ms: fresh.iter().map(|e| e.recorded_at.as_millis()).collect(),
            next_outbox_id: outbox_id,
            appended: appended as u64,
            duplicates: duplicates as u64,
            conflicting: conflicting.len() as u64,
            dead_lettered,
            versions: versions as u64,
        };
        self.writer.send(job)?;
        self.overlay = state.into_overlay(event_ids);
        self.next_seq = seq;
        self.next_outbox_id = outbox_id;
        self.duplicates = total_duplicates;
        self.conflicting = total_conflicting;
        self.dead_lettered = total_dead;
        self.versions = total_versions;
        self.batches += 1;
        self.max_version = max_version;
        self.floor_written = self.version_floor;
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

    /// Splits a batch into the events new to the log, true retries, and
    /// conflicting duplicates (an id the log or the batch holds already with
    /// other content).
    fn dedupe<'e>(
        &mut self,
        events: &'e [Envelope],
        sources: &[MessageSource],
        previous: &mut Option<Durable>,
    ) -> Result<Deduped<'e>, EngineError> {
        let source_of = |i: usize| sources.get(i).cloned();
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        // An id of the batch in flight: wait for it to be durable, so that every
        // known id can be compared with its logged copy below. Retries that
        // close together are rare, so this costs nothing in the common case.
        if ids.iter().any(|id| self.overlay.event_ids.contains(*id)) {
            *previous = self.flush()?;
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
        Ok(Deduped {
            fresh,
            duplicates,
            conflicting,
        })
    }
}

/// A batch after dedupe.
struct Deduped<'e> {
    fresh: Vec<&'e Envelope>,
    duplicates: usize,
    conflicting: Vec<ConflictingDuplicate>,
}
