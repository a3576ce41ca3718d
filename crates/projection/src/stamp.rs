//! Which event last set a value: the rule that makes a fold's "latest wins"
//! independent of the order events arrive in.

use serde::{Deserialize, Serialize};
use touchline_core::{Envelope, Timestamp};

/// Which event last set a field: its time, then its id. The latest event wins
/// whatever order events arrive in, so every shard, replay and arrival order
/// ends in the same view.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stamp {
    pub at: Timestamp,
    pub event_id: String,
}

impl Stamp {
    pub fn of(envelope: &Envelope) -> Self {
        Stamp {
            at: envelope.occurred_at,
            event_id: envelope.event_id.clone(),
        }
    }
}

/// A [`Stamp`] borrowed from an event or another stamp: compared without
/// allocating, copied only when it wins.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StampRef<'a> {
    at: Timestamp,
    event_id: &'a str,
}

impl<'a> From<&'a Envelope> for StampRef<'a> {
    fn from(envelope: &'a Envelope) -> Self {
        StampRef {
            at: envelope.occurred_at,
            event_id: &envelope.event_id,
        }
    }
}

impl<'a> From<&'a Stamp> for StampRef<'a> {
    fn from(stamp: &'a Stamp) -> Self {
        StampRef {
            at: stamp.at,
            event_id: &stamp.event_id,
        }
    }
}

impl StampRef<'_> {
    fn cmp_to(self, set: &Stamp) -> std::cmp::Ordering {
        (self.at, self.event_id).cmp(&(set.at, set.event_id.as_str()))
    }

    fn to_owned(self) -> Stamp {
        Stamp {
            at: self.at,
            event_id: self.event_id.to_owned(),
        }
    }
}

/// Whether `stamp` is later than what set `slot`; if so, it does now.
pub(crate) fn newer<'a>(slot: &mut Option<Stamp>, stamp: impl Into<StampRef<'a>>) -> bool {
    let stamp = stamp.into();
    if slot.as_ref().is_some_and(|set| stamp.cmp_to(set).is_le()) {
        return false;
    }
    *slot = Some(stamp.to_owned());
    true
}

/// Whether `stamp` is earlier than what set `slot`; if so, it does now.
pub(crate) fn earlier<'a>(slot: &mut Option<Stamp>, stamp: impl Into<StampRef<'a>>) -> bool {
    let stamp = stamp.into();
    if slot.as_ref().is_some_and(|set| stamp.cmp_to(set).is_ge()) {
        return false;
    }
    *slot = Some(stamp.to_owned());
    true
}

/// Adds `id` to a set kept as a sorted list, so that its order is the same
/// whatever order ids arrive in.
pub(crate) fn insert_sorted(ids: &mut Vec<String>, id: &str) {
    if id.is_empty() {
        return;
    }
    if let Err(at) = ids.binary_search_by(|probe| probe.as_str().cmp(id)) {
        ids.insert(at, id.to_owned());
    }
}
