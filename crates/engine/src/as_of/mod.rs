//! "As of": what we would have said at a past instant, from the events recorded
//! by then, and which conversions have moved since, and why.
//!
//! The log is immutable, so the past is rebuilt, not remembered: every event
//! whose `recorded_at` is at or before the instant is applied, in log order, to a
//! scratch store by the same engine with the same configuration. Comparing its
//! conversions with the live ones shows what moved. The source store is only
//! read, so the live engine may go on ingesting meanwhile: the replay stops at
//! the log's end as it was when the rebuild began.
//!
//! [`report`] sums both sides per campaign, channel or source
//! ([`Queries::as_of_report`]); [`groups`] is its pure aggregation.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use touchline_attribution::{ConversionKind, Credit, Model};
use touchline_core::Timestamp;
use touchline_projection::{ConversionView, PersonView};
use touchline_store::Store;

use crate::{Batch, Engine, EngineConfig, EngineError, Queries};

pub mod groups;
pub mod report;

pub use groups::{AsOfRow, AsOfTotal, Credited, ReasonCounts};
pub use report::{AsOfMoved, AsOfReport, AsOfRequest};

/// The most events one bounded rebuild ([`rebuild_as_of_bounded`]) replays:
/// the events recorded by the instant, whatever the log holds after it.
/// About 30k events a second on two busy cores (451k in 15 s, 98 MB of
/// scratch store), so an answer stays well inside a client's timeout.
pub const MAX_AS_OF_EVENTS: usize = 500_000;

/// Events read from the source log, and handed to the scratch engine, at once.
const PAGE: usize = 10_000;

/// Why the past cannot be rebuilt.
#[derive(Debug, thiserror::Error)]
pub enum AsOfError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(
        "more than {limit} events were recorded by {at}; an as-of replays at most {limit} (ask for an earlier instant)"
    )]
    TooLarge { at: Timestamp, limit: usize },
    #[error(
        "an as-of rebuilds the past from one store's log, and this instance reads the shards of a sharded group (kafka.shards > 0), each with a log of its own: as_of is answered by single-store deployments only"
    )]
    Sharded,
}

impl From<touchline_store::StoreError> for AsOfError {
    fn from(e: touchline_store::StoreError) -> Self {
        AsOfError::Engine(e.into())
    }
}

/// What a rebuild read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Replayed {
    /// One past the last log position the rebuild read: events appended
    /// later are in neither side of the comparison's past.
    pub as_of_seq: u64,
    /// The events recorded by the instant, applied to the scratch store.
    pub events: usize,
}

/// Why a conversion's credits differ between then and now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveReason {
    /// The conversion had not happened (or was not recorded) yet.
    NewConversion,
    /// A touch before the conversion was recorded after the instant.
    LateTouch,
    /// A person behind the conversion was merged with a duplicate since.
    Merge,
    /// The conversion's value or time changed (an amount update, a different
    /// close).
    ValueChanged,
    /// The conversion was retracted since (merged away, deal reopened).
    Retracted,
    /// Same inputs, different answer: the model configuration changed.
    ModelChange,
    /// A person joined the deal (a contact role, a conversion to it), bringing
    /// their touches ([`crate::history`]).
    ContactAdded,
    /// A milestone the position models key on moved (a lead created, the deal
    /// created or won) without the conversion's own value or time moving.
    MilestoneChanged,
    /// Another input of the conversion changed; the step's event says which.
    /// In an as-of under an unchanged configuration: a move none of the
    /// other reasons explains.
    Recomputed,
}

/// One conversion whose credits under one model moved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Moved {
    pub conversion_id: String,
    pub model: Model,
    pub then: Option<Vec<Credit>>,
    pub now: Option<Vec<Credit>>,
    pub reasons: Vec<MoveReason>,
}

/// Rebuilds the state as of `at` into `scratch` (an empty directory), with
/// no bound on the events replayed.
pub fn rebuild_as_of(
    source: &Store,
    at: Timestamp,
    config: EngineConfig,
    scratch: &Path,
) -> Result<Queries, EngineError> {
    let until = source.next_seq()?;
    let store = Arc::new(Store::open(scratch)?);
    replay(source, at, until, config, store.clone())?;
    Ok(Queries::new(store))
}

/// [`rebuild_as_of`] from the events before log position `until` (the
/// source's `next_seq` when the caller began), refused with
/// [`AsOfError::TooLarge`] when more than `max_events` of them were recorded
/// by `at`. A log no longer than the bound is replayed at once; a longer one
/// is counted first (a read, no fold), so a refusal costs a read of the log,
/// never a replay.
pub fn rebuild_as_of_bounded(
    source: &Store,
    at: Timestamp,
    until: u64,
    config: EngineConfig,
    scratch: &Path,
    max_events: usize,
) -> Result<(Queries, Replayed), AsOfError> {
    if until > max_events as u64 && recorded_by(source, at, until, max_events)? > max_events {
        return Err(AsOfError::TooLarge {
            at,
            limit: max_events,
        });
    }
    let store = Arc::new(Store::open(scratch)?);
    let events = replay(source, at, until, config, store.clone())?;
    Ok((
        Queries::new(store),
        Replayed {
            as_of_seq: until,
            events,
        },
    ))
}

/// How many events before `until` were recorded by `at`, counting no
/// further than one past `enough`.
fn recorded_by(
    source: &Store,
    at: Timestamp,
    until: u64,
    enough: usize,
) -> Result<usize, EngineError> {
    let mut count = 0;
    let mut from = 0u64;
    while from < until && count <= enough {
        let page = source.events(from, PAGE)?;
        let Some(last) = page.last() else { break };
        from = last.seq + 1;
        count += page
            .iter()
            .filter(|e| e.seq < until && e.envelope.recorded_at <= at)
            .count();
    }
    Ok(count)
}

/// Applies the events before `until` recorded by `at`, in log order, to an
/// engine over `scratch`; returns how many.
fn replay(
    source: &Store,
    at: Timestamp,
    until: u64,
    config: EngineConfig,
    scratch: Arc<Store>,
) -> Result<usize, EngineError> {
    // Routing decisions are in the log already; feeding it again must not
    // decide them again.
    let config = EngineConfig {
        routing: Default::default(),
        ..config
    };
    let mut engine = Engine::open(scratch, config)?;
    let mut from = 0u64;
    let mut replayed = 0;
    while from < until {
        let page = source.events(from, PAGE)?;
        let Some(last) = page.last() else { break };
        from = last.seq + 1;
        let events: Vec<_> = page
            .into_iter()
            .filter(|e| e.seq < until && e.envelope.recorded_at <= at)
            .map(|e| e.envelope)
            .collect();
        replayed += events.len();
        engine.submit(Batch {
            events,
            ..Batch::default()
        })?;
    }
    engine.flush()?;
    Ok(replayed)
}

/// The conversions of `kind` whose credits under `model` differ between `then`
/// and `now`, with the reasons the logs and views give.
pub fn moved_since(
    then: &Queries,
    now: &Queries,
    model: Model,
    kind: ConversionKind,
    at: Timestamp,
) -> Result<Vec<Moved>, EngineError> {
    let live_of = |queries: &Queries| {
        let mut views = std::collections::BTreeMap::new();
        queries
            .stores()
            .for_each(|id, view: ConversionView| {
                if view.conversion.kind == kind && view.is_live() {
                    views.insert(id.to_owned(), view);
                }
            })
            .map(|()| views)
    };
    let (then_views, now_views) = (live_of(then)?, live_of(now)?);
    let ids: std::collections::BTreeSet<&String> =
        then_views.keys().chain(now_views.keys()).collect();
    let same_config = same_configuration(then, now)?;
    let mut moved = Vec::new();
    for id in ids {
        let before = then_views.get(id);
        let after = now_views.get(id);
        let credits = |v: Option<&ConversionView>| {
            v.and_then(|v| v.result(model))
                .map(|r| r.attribution.credits.clone())
        };
        let (then_credits, now_credits) = (credits(before), credits(after));
        if then_credits == now_credits {
            continue;
        }
        let sides = Sides {
            then,
            now,
            at,
            same_config,
        };
        moved.push(Moved {
            conversion_id: id.clone(),
            model,
            then: then_credits,
            now: now_credits,
            reasons: sides.reasons(before, after)?,
        });
    }
    Ok(moved)
}

/// Whether both stores' credits were computed under one attribution
/// configuration: then a move is the inputs', never the model's.
pub(crate) fn same_configuration(then: &Queries, now: &Queries) -> Result<bool, EngineError> {
    Ok(then.configured_models()? == now.configured_models()?
        && then.configured_settings()? == now.configured_settings()?)
}

/// The two states a move is explained from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sides<'a> {
    pub then: &'a Queries,
    pub now: &'a Queries,
    pub at: Timestamp,
    pub same_config: bool,
}

impl Sides<'_> {
    /// Why a conversion that stood as `before` then and stands as `after` now
    /// (either absent, not both) moved.
    pub(crate) fn reasons(
        &self,
        before: Option<&ConversionView>,
        after: Option<&ConversionView>,
    ) -> Result<Vec<MoveReason>, EngineError> {
        let (b, a) = match (before, after) {
            (None, None) => return Ok(Vec::new()),
            (None, Some(_)) => return Ok(vec![MoveReason::NewConversion]),
            (Some(_), None) => return Ok(vec![MoveReason::Retracted]),
            (Some(b), Some(a)) => (&b.conversion, &a.conversion),
        };
        let mut reasons = Vec::new();
        if b.value != a.value || b.occurred_at != a.occurred_at {
            reasons.push(MoveReason::ValueChanged);
        }
        let people = subject_people(self.now, &a.subject_id, a.kind)?;
        let mut late = false;
        let mut merged = false;
        for person in &people {
            late |= self
                .now
                .person_touches(&person.person_id)?
                .iter()
                .any(|t| t.recorded_at > self.at && t.occurred_at <= a.occurred_at);
            let before_merges = self
                .then
                .person(&person.person_id)?
                .map_or(0, |p| p.merged_from.len());
            merged |= person.merged_from.len() > before_merges;
        }
        if late {
            reasons.push(MoveReason::LateTouch);
        }
        if merged {
            reasons.push(MoveReason::Merge);
        }
        if !a.kind.is_person() && self.contact_added(&a.subject_id, &people)? {
            reasons.push(MoveReason::ContactAdded);
        }
        if reasons.is_empty() && b.milestones != a.milestones {
            reasons.push(MoveReason::MilestoneChanged);
        }
        if reasons.is_empty() {
            reasons.push(if self.same_config {
                MoveReason::Recomputed
            } else {
                MoveReason::ModelChange
            });
        }
        Ok(reasons)
    }

    /// Whether the deal has a contact now that it had not then, other than
    /// the survivor of a then-contact's merge (a merge, not a new person).
    fn contact_added(
        &self,
        opportunity: &str,
        people_now: &[PersonView],
    ) -> Result<bool, EngineError> {
        let then_contacts = self
            .then
            .opportunity(opportunity)?
            .map(|o| o.contact_ids)
            .unwrap_or_default();
        Ok(people_now.iter().any(|person| {
            !then_contacts.contains(&person.person_id)
                && !person.merged_from.iter().any(|m| then_contacts.contains(m))
        }))
    }
}

/// The people whose touches a conversion draws on, as they are now.
fn subject_people(
    now: &Queries,
    subject: &str,
    kind: ConversionKind,
) -> Result<Vec<PersonView>, EngineError> {
    if kind.is_person() {
        return Ok(now.person(subject)?.into_iter().collect());
    }
    let Some(opportunity) = now.opportunity(subject)? else {
        return Ok(Vec::new());
    };
    let mut people = Vec::new();
    for contact in &opportunity.contact_ids {
        if let Some(person) = now.person(contact)? {
            people.push(person);
        }
    }
    Ok(people)
}
