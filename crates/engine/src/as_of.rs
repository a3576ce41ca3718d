//! "As of": what we would have said at a past instant, from the events recorded
//! by then, and which conversions have moved since, and why.
//!
//! The log is immutable, so the past is rebuilt, not remembered: every event
//! whose `recorded_at` is at or before the instant is applied, in log order, to a
//! scratch store by the same engine with the same configuration. Comparing its
//! conversions with the live ones shows what moved.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use touchline_attribution::{ConversionKind, Credit, Model};
use touchline_core::Timestamp;
use touchline_projection::{ConversionView, PersonView};
use touchline_store::{Store, Table};

use crate::{Batch, Engine, EngineConfig, EngineError, Queries};

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
    /// The conversion's value changed (an amount update, a different close).
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

/// Rebuilds the state as of `at` into `scratch` (an empty directory).
pub fn rebuild_as_of(
    source: &Store,
    at: Timestamp,
    config: EngineConfig,
    scratch: &Path,
) -> Result<Queries, EngineError> {
    let store = Arc::new(Store::open(scratch)?);
    // Routing decisions are in the log already; feeding it again must not
    // decide them again.
    let config = EngineConfig {
        routing: Default::default(),
        ..config
    };
    let mut engine = Engine::open(store.clone(), config)?;
    let mut from = 0u64;
    loop {
        let page = source.events(from, 10_000)?;
        let Some(last) = page.last() else { break };
        from = last.seq + 1;
        let events = page
            .into_iter()
            .filter(|e| e.envelope.recorded_at <= at)
            .map(|e| e.envelope)
            .collect();
        engine.submit(Batch {
            events,
            ..Batch::default()
        })?;
    }
    engine.flush()?;
    Ok(Queries::new(store))
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
    let mut then_views = std::collections::BTreeMap::new();
    then.store()
        .for_each(Table::Conversions, |id, view: ConversionView| {
            if view.conversion.kind == kind && view.is_live() {
                then_views.insert(id.to_owned(), view);
            }
        })?;
    let mut now_views = std::collections::BTreeMap::new();
    now.store()
        .for_each(Table::Conversions, |id, view: ConversionView| {
            if view.conversion.kind == kind && view.is_live() {
                now_views.insert(id.to_owned(), view);
            }
        })?;
    let ids: std::collections::BTreeSet<&String> =
        then_views.keys().chain(now_views.keys()).collect();
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
        let mut reasons = Vec::new();
        match (before, after) {
            (None, Some(_)) => reasons.push(MoveReason::NewConversion),
            (Some(_), None) => reasons.push(MoveReason::Retracted),
            (Some(b), Some(a)) => {
                if b.conversion.value != a.conversion.value {
                    reasons.push(MoveReason::ValueChanged);
                }
                let people = subject_people(now, &a.conversion.subject_id, kind)?;
                let mut late = false;
                let mut merged = false;
                for person in &people {
                    late |= person
                        .touches
                        .iter()
                        .any(|t| t.recorded_at > at && t.occurred_at <= a.conversion.occurred_at);
                    let before_merges = then
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
                if reasons.is_empty() {
                    reasons.push(MoveReason::ModelChange);
                }
            }
            (None, None) => {}
        }
        moved.push(Moved {
            conversion_id: id.clone(),
            model,
            then: then_credits,
            now: now_credits,
            reasons,
        });
    }
    Ok(moved)
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
