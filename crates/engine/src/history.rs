//! One conversion's version history: what its credits were after each event
//! that moved them, when that event was recorded, and why it moved them
//! (a late touch, a merge, a value change, a contact joining the deal).
//!
//! The store keeps only each model's current version, so the past is rebuilt,
//! as [`crate::as_of`] rebuilds it, by the engine itself: the events the
//! conversion draws on are found through the log's stream index (the subject's
//! stream; an opportunity's contacts; in account mode its account and the
//! account's contacts; and every person merged into one of those, however
//! long the chain), and applied in log order, one event per batch, to the
//! engine's fold in memory ([`crate::InMemoryEngine`]) with the stored
//! configuration. After each event the conversion is read; every event after
//! which a model's version rose is a step. Because it is the same fold over
//! the same events in the same order, the last step is the stored answer
//! (checked on every call: [`ConversionHistory::matches_stored`]).
//!
//! The live engine folds a batch of events at once, so two steps recorded in
//! one live batch were published as one version: a step's `version` is the
//! replay's, and the stored version can be lower than the number of steps.
//!
//! Bounded: a conversion drawing on more than [`MAX_HISTORY_EVENTS`] events is
//! refused ([`HistoryError::TooLarge`]) instead of replayed.

use std::collections::{BTreeMap, HashSet, VecDeque};

use crate::stores::Stores;
use serde::Serialize;
use touchline_attribution::{ConversionKind, Credit, Model, OpportunityTouches, Unattributed};
use touchline_core::{Envelope, Event, Money, StreamKind, Timestamp};
use touchline_projection::ConversionView;

use crate::as_of::MoveReason;
use crate::{EngineConfig, EngineError, InMemoryEngine, Queries};

/// The most events one history replays.
pub const MAX_HISTORY_EVENTS: usize = 10_000;

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

/// Rebuilds the history of `conversion_id` from the log, in memory. `None`
/// when the store has never had that conversion.
pub fn conversion_history(
    queries: &Queries,
    conversion_id: &str,
) -> Result<Option<ConversionHistory>, HistoryError> {
    let (kind, subject) = conversion_id
        .split_once(':')
        .filter(|(_, s)| !s.is_empty())
        .and_then(|(k, s)| Some((ConversionKind::parse(k)?, s)))
        .ok_or_else(|| HistoryError::BadId(conversion_id.to_owned()))?;
    let store = queries.stores();
    let Some(stored) = store.get::<ConversionView>(conversion_id)? else {
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

    let mut engine = InMemoryEngine::new(config);
    let mut before: Option<ConversionView> = None;
    let mut steps = Vec::new();
    for (seq, envelope) in events {
        engine.apply(seq, &envelope);
        let after = engine.conversion(conversion_id);
        if let Some(step) = step(seq, &envelope, before.as_ref(), after) {
            steps.push(step);
        }
        before = after.cloned();
    }
    let matches_stored = answers(before.as_ref()) == answers(Some(&stored));
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
    store: &Stores,
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
