//! One conversion's version history: what its credits were after each event
//! that moved them, when that event was recorded, and why it moved them
//! (a late touch, a merge, a value change, a contact joining the deal).
//!
//! The store keeps only each model's current version, so the past is rebuilt,
//! as [`crate::as_of`] rebuilds it, by the engine itself: the events the
//! conversion draws on are found through the log's stream index (the subject's
//! stream; an opportunity's contacts; in account mode its account and the
//! account's contacts; and every person merged into one of those, however
//! long the chain), and applied in log order, one event per batch, to a fresh
//! engine with the stored configuration over a scratch store. After each event
//! the scratch conversion is read; every event after which a model's version
//! rose is a step. Because it is the same engine over the same events in the
//! same order, the last step is the stored answer (checked on every call:
//! [`ConversionHistory::matches_stored`]).
//!
//! The live engine folds a batch of events at once, so two steps recorded in
//! one live batch were published as one version: a step's `version` is the
//! replay's, and the stored version can be lower than the number of steps.
//!
//! Bounded: a conversion drawing on more than [`MAX_HISTORY_EVENTS`] events is
//! refused ([`HistoryError::TooLarge`]) instead of replayed.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::Serialize;
use touchline_attribution::{ConversionKind, Credit, Model, OpportunityTouches, Unattributed};
use touchline_core::{Envelope, Event, Money, StreamKind, Timestamp};
use touchline_projection::ConversionView;
use touchline_store::{Store, Table};

use crate::as_of::MoveReason;
use crate::{Batch, Engine, EngineConfig, EngineError, Queries};

/// The most events one history replays.
pub const MAX_HISTORY_EVENTS: usize = 2_000;

/// Why a history cannot be given.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] touchline_store::StoreError),
    #[error(
        "conversion id {0:?} must look like <conversion point>:<id>, e.g. opportunity_won:opp-7"
    )]
    BadId(String),
    #[error(
        "conversion {conversion_id} draws on more than {limit} events (its people, deal and merges); its history is not rebuilt"
    )]
    TooLarge { conversion_id: String, limit: usize },
}

/// A conversion's versions over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversionHistory {
    pub conversion_id: String,
    /// The events of the log the history was rebuilt from.
    pub events_read: usize,
    /// Oldest first.
    pub steps: Vec<HistoryStep>,
    /// The version each model publishes now, as stored.
    pub stored: Vec<StoredVersion>,
    /// Whether the last step's credits equal the stored credits under every
    /// model (and both agree whether the conversion stands).
    pub matches_stored: bool,
}

/// The version a model publishes now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredVersion {
    pub model: Model,
    pub version: u64,
    /// The last event of the batch that made it.
    pub as_of_seq: u64,
}

/// The conversion after one event that moved it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryStep {
    /// The event's position in the log.
    pub seq: u64,
    pub event_id: String,
    pub event_type: &'static str,
    /// When the source recorded the event: when the move became knowable.
    pub recorded_at: Timestamp,
    /// When what the event describes happened.
    pub event_occurred_at: Timestamp,
    pub reasons: Vec<MoveReason>,
    /// Whether the conversion stands after the step (`false`: retracted).
    pub live: bool,
    /// The conversion's time and value after the step.
    pub occurred_at: Option<Timestamp>,
    pub value: Option<Money>,
    /// Every model whose credits moved, with its credits after the step.
    pub models: Vec<StepModel>,
}

/// One model's credit set after a step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepModel {
    pub model: Model,
    /// The replay's version (see the module's note on batches).
    pub version: u64,
    pub credits: Vec<Credit>,
    pub unattributed: Option<Unattributed>,
}

/// Rebuilds the history of `conversion_id` in a scratch engine from `pool`.
/// `None` when the store has never had that conversion.
pub fn conversion_history(
    queries: &Queries,
    conversion_id: &str,
    pool: &ScratchPool,
) -> Result<Option<ConversionHistory>, HistoryError> {
    let (kind, subject) = conversion_id
        .split_once(':')
        .filter(|(_, s)| !s.is_empty())
        .and_then(|(k, s)| Some((ConversionKind::parse(k)?, s)))
        .ok_or_else(|| HistoryError::BadId(conversion_id.to_owned()))?;
    let store = queries.store();
    let Some(stored) = store.get::<ConversionView>(Table::Conversions, conversion_id)? else {
        return Ok(None);
    };
    let config = EngineConfig {
        models: queries.configured_models()?.unwrap_or_default(),
        settings: queries.configured_settings()?.unwrap_or_default(),
        // Routing decisions are in the log already.
        routing: Default::default(),
    };
    let account_mode = config.settings.opportunity_touches == OpportunityTouches::AccountContacts;
    let events = inputs(store, conversion_id, kind, subject, account_mode)?;
    let events_read = events.len();

    let mut scratch = pool.take(config)?;
    let engine = &mut scratch.engine;
    let mut before: Option<ConversionView> = None;
    let mut steps = Vec::new();
    for (seq, envelope) in events {
        engine.apply(Batch {
            events: vec![envelope.clone()],
            ..Batch::default()
        })?;
        let after: Option<ConversionView> =
            engine.store().get(Table::Conversions, conversion_id)?;
        if let Some(step) = step(seq, &envelope, before.as_ref(), after.as_ref()) {
            steps.push(step);
        }
        before = after;
    }
    let matches_stored = answers(before.as_ref()) == answers(Some(&stored));
    pool.retire(scratch);
    Ok(Some(ConversionHistory {
        conversion_id: conversion_id.to_owned(),
        events_read,
        steps,
        stored: stored
            .results
            .iter()
            .map(|r| StoredVersion {
                model: r.model,
                version: r.version,
                as_of_seq: r.as_of_seq,
            })
            .collect(),
        matches_stored,
    }))
}

/// Scratch engines opened before the requests that use them: creating a
/// RocksDB store costs tens of milliseconds (hundreds where every file
/// creation is fsynced to a disk), which would otherwise be most of a
/// history's time. One engine is kept ready; a request takes it, waits for
/// the one being opened (at most [`REFILL_WAIT`]), or opens one itself (also
/// when the stored configuration changed), and a background thread removes
/// the used one and opens the next. Clones share the pool.
#[derive(Debug, Clone)]
pub struct ScratchPool {
    inner: Arc<PoolInner>,
}

/// How long a request waits for the scratch engine being opened before it
/// opens its own.
pub const REFILL_WAIT: Duration = Duration::from_millis(250);

#[derive(Debug)]
struct PoolInner {
    parent: PathBuf,
    slot: Mutex<Slot>,
    refilled: Condvar,
}

#[derive(Debug, Default)]
struct Slot {
    ready: Option<Scratch>,
    /// A background thread is opening the next one.
    refilling: bool,
}

/// An engine over an empty store in a directory of its own, removed on drop.
#[derive(Debug)]
pub struct Scratch {
    // Dropped first: the engine closes its store before the directory goes.
    engine: Engine,
    config: EngineConfig,
    _dir: tempfile::TempDir,
}

impl Scratch {
    fn open(parent: &Path, config: EngineConfig) -> Result<Self, HistoryError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{SCRATCH_PREFIX}{}-", std::process::id()))
            .tempdir_in(parent)
            .map_err(|source| touchline_store::StoreError::Io {
                operation: "create a scratch directory in",
                path: parent.to_owned(),
                source,
            })?;
        let engine = Engine::open(Arc::new(Store::open(dir.path())?), config.clone())?;
        Ok(Scratch {
            engine,
            config,
            _dir: dir,
        })
    }
}

/// A scratch directory's name: this prefix, the process id, a dash, a random tail.
const SCRATCH_PREFIX: &str = "touchline-history-";

/// Removes the scratch directories under `parent` that processes which are no
/// longer running left behind (killed before they could remove them). Only
/// where `/proc` says which processes run; elsewhere nothing is removed.
fn sweep_orphans(parent: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(SCRATCH_PREFIX))
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl ScratchPool {
    /// Scratch stores under `parent`; removes what dead processes left there.
    pub fn new(parent: impl Into<PathBuf>) -> Self {
        let parent = parent.into();
        sweep_orphans(&parent);
        ScratchPool {
            inner: Arc::new(PoolInner {
                parent,
                slot: Mutex::new(Slot::default()),
                refilled: Condvar::new(),
            }),
        }
    }

    /// Scratch stores in memory where the system has a RAM file system
    /// (`/dev/shm`), else in the temporary directory. A scratch store is
    /// thrown away after one request, so its fsyncs buy nothing; on a RAM
    /// file system they cost nothing.
    pub fn in_memory_or_temp() -> Self {
        let shm = Path::new("/dev/shm");
        let writable = shm.is_dir()
            && tempfile::Builder::new()
                .prefix("touchline-probe-")
                .tempdir_in(shm)
                .is_ok();
        Self::new(if writable {
            shm.to_owned()
        } else {
            std::env::temp_dir()
        })
    }

    /// Where the scratch stores go.
    pub fn parent(&self) -> &Path {
        &self.inner.parent
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        // A panic while holding it leaves at worst no ready engine.
        self.inner.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(&self, config: EngineConfig) -> Result<Scratch, HistoryError> {
        let deadline = Instant::now() + REFILL_WAIT;
        let mut slot = self.slot();
        while slot.ready.is_none() && slot.refilling {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            slot = self
                .inner
                .refilled
                .wait_timeout(slot, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let ready = slot.ready.take();
        drop(slot);
        match ready {
            Some(scratch) if scratch.config == config => Ok(scratch),
            stale => {
                if let Some(stale) = stale {
                    self.retire_later(stale, config.clone());
                }
                Scratch::open(&self.inner.parent, config)
            }
        }
    }

    /// Removes a used scratch engine and opens the next, off the caller's thread.
    fn retire(&self, used: Scratch) {
        let config = used.config.clone();
        self.retire_later(used, config);
    }

    /// Drops `used` and, unless another thread is at it, opens the next
    /// scratch engine under `config`.
    fn retire_later(&self, used: Scratch, config: EngineConfig) {
        let refill = {
            let mut slot = self.slot();
            !std::mem::replace(&mut slot.refilling, true)
        };
        let pool = self.clone();
        let spawned = std::thread::Builder::new()
            .name("history-scratch".into())
            .spawn(move || {
                drop(used);
                if !refill {
                    return;
                }
                let next = Scratch::open(&pool.inner.parent, config);
                let mut slot = pool.slot();
                match next {
                    Ok(next) => slot.ready = Some(next),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot open the next history scratch store")
                    }
                }
                slot.refilling = false;
                drop(slot);
                pool.inner.refilled.notify_all();
            });
        if spawned.is_err() && refill {
            self.slot().refilling = false;
            self.inner.refilled.notify_all();
        }
    }
}

/// Every model's answer, in the view's order; none for a retracted conversion.
fn answers(view: Option<&ConversionView>) -> Vec<(Model, &touchline_attribution::Attribution)> {
    view.map(|v| {
        v.results
            .iter()
            .map(|r| (r.model, &r.attribution))
            .collect()
    })
    .unwrap_or_default()
}

/// Every event the conversion draws on, by log position: the closure of its
/// subject's stream under the links a fold follows.
fn inputs(
    store: &Store,
    conversion_id: &str,
    kind: ConversionKind,
    subject: &str,
    account_mode: bool,
) -> Result<BTreeMap<u64, Envelope>, HistoryError> {
    let start = if kind.is_person() {
        StreamKind::Person
    } else {
        StreamKind::Opportunity
    };
    let mut queue = VecDeque::from([(start, subject.to_owned())]);
    let mut seen: HashSet<(StreamKind, String)> = queue.iter().cloned().collect();
    let mut events = BTreeMap::new();
    while let Some((from, id)) = queue.pop_front() {
        for stored in store.stream(from, &id, 0, MAX_HISTORY_EVENTS + 1)? {
            for link in stored.envelope.event.streams() {
                // A person's merges; a deal's contacts (and in account mode its
                // account and the account's contacts).
                let follow = match (from, link.kind) {
                    (_, StreamKind::Person) => true,
                    (StreamKind::Opportunity, StreamKind::Account) => account_mode,
                    _ => false,
                };
                let key = (link.kind, link.id.to_owned());
                if follow && !seen.contains(&key) {
                    seen.insert(key.clone());
                    queue.push_back(key);
                }
            }
            events.insert(stored.seq, stored.envelope);
            if events.len() > MAX_HISTORY_EVENTS {
                return Err(HistoryError::TooLarge {
                    conversion_id: conversion_id.to_owned(),
                    limit: MAX_HISTORY_EVENTS,
                });
            }
        }
    }
    Ok(events)
}

/// The step `envelope` made, if it moved a model's credits or the
/// conversion's standing.
fn step(
    seq: u64,
    envelope: &Envelope,
    before: Option<&ConversionView>,
    after: Option<&ConversionView>,
) -> Option<HistoryStep> {
    let was = before.filter(|v| v.is_live());
    let is = after.filter(|v| v.is_live());
    let models: Vec<StepModel> = is
        .map(|now| {
            now.results
                .iter()
                .filter(|r| {
                    was.and_then(|w| w.result(r.model))
                        .is_none_or(|old| old.version != r.version)
                })
                .map(|r| StepModel {
                    model: r.model,
                    version: r.version,
                    credits: r.attribution.credits.clone(),
                    unattributed: r.attribution.unattributed,
                })
                .collect()
        })
        .unwrap_or_default();
    let reasons = match (was, is) {
        (None, None) => return None,
        (Some(_), None) => vec![MoveReason::Retracted],
        (None, Some(_)) => vec![MoveReason::NewConversion],
        (Some(_), Some(_)) if models.is_empty() => return None,
        (Some(old), Some(now)) => reasons(envelope, old, now),
    };
    let conversion = is.map(|v| &v.conversion);
    Some(HistoryStep {
        seq,
        event_id: envelope.event_id.clone(),
        event_type: envelope.event.type_name(),
        recorded_at: envelope.recorded_at,
        event_occurred_at: envelope.occurred_at,
        reasons,
        live: is.is_some(),
        occurred_at: conversion.map(|c| c.occurred_at),
        value: conversion.and_then(|c| c.value.clone()),
        models,
    })
}

/// Why a standing conversion's credits moved on `envelope`.
fn reasons(envelope: &Envelope, old: &ConversionView, now: &ConversionView) -> Vec<MoveReason> {
    let (old, now) = (&old.conversion, &now.conversion);
    let mut reasons = Vec::new();
    if old.value != now.value || old.occurred_at != now.occurred_at {
        reasons.push(MoveReason::ValueChanged);
    }
    match &envelope.event {
        Event::TouchRecorded(_) => reasons.push(MoveReason::LateTouch),
        Event::PersonsMerged(_) => reasons.push(MoveReason::Merge),
        Event::OpportunityContactRoleAdded(_)
        | Event::LeadConverted(_)
        | Event::OpportunityCreated(_) => reasons.push(MoveReason::ContactAdded),
        _ => {}
    }
    if reasons.is_empty() && old.milestones != now.milestones {
        reasons.push(MoveReason::MilestoneChanged);
    }
    if reasons.is_empty() {
        reasons.push(MoveReason::Recomputed);
    }
    reasons
}
