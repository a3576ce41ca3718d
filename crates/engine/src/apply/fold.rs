//! The pure core of a batch: its new events folded over loaded views, the
//! decisions they raise, and the conversions they touched re-attributed
//! (those whose answer they may change: `unchanged`). No
//! I/O and no error: what the fold reads was loaded before (`load`), and what
//! it produces is written after, in one commit.

use super::batch_state::BatchState;
use super::unchanged::{Change, answer_may_change};
use super::*;

/// An entry the batch appends to the log, in sequence order.
#[derive(Debug)]
pub(super) enum Logged<'e> {
    /// An event from the source.
    Input(&'e Envelope),
    /// A decision the engine took (a lead routed), logged so that a replay
    /// folds it rather than deciding again.
    Decided(Box<Envelope>),
}

impl Logged<'_> {
    pub(super) fn envelope(&self) -> &Envelope {
        match self {
            Logged::Input(envelope) => envelope,
            Logged::Decided(envelope) => envelope,
        }
    }
}

/// What folding a batch produced, besides the views it changed.
#[derive(Debug)]
pub(super) struct Folded<'e> {
    /// The log entries, numbered from the batch's first sequence number.
    pub(super) logged: Vec<Logged<'e>>,
    /// Rep alerts (R18) the touches raised.
    pub(super) alerts: Vec<OutboxRecord>,
    /// Changed credit sets and tombstones.
    pub(super) attribution: Vec<OutboxRecord>,
}

/// Folds a batch's new events, numbered from `first_seq`, into `state`.
pub(super) fn fold_batch<'e>(
    state: &mut BatchState,
    fresh: &[&'e Envelope],
    config: &EngineConfig,
    first_seq: u64,
) -> Folded<'e> {
    let mut logged = Vec::with_capacity(fresh.len());
    let mut alerts = Vec::new();
    let mut seq = first_seq;
    // The routings the batch carries itself: a group handed over brings the
    // decisions made where it was, after the leads they route.
    let mut carried: Option<HashSet<&str>> = None;
    for &envelope in fresh {
        state.project(seq, envelope);
        if matches!(envelope.event, Event::TouchRecorded(_)) {
            alerts.extend(state.activity_alerts(seq, envelope));
        }
        logged.push(Logged::Input(envelope));
        seq += 1;
        if let Some(routed) = state.route_new_lead(envelope, &config.routing) {
            let carried = carried.get_or_insert_with(|| {
                fresh
                    .iter()
                    .filter(|e| matches!(e.event, Event::LeadRouted(_)))
                    .map(|e| e.event_id.as_str())
                    .collect()
            });
            if carried.contains(routed.event_id.as_str()) {
                continue;
            }
            state.project(seq, &routed);
            logged.push(Logged::Decided(Box::new(routed)));
            seq += 1;
        }
    }
    let attribution = state.reattribute_dirty(config, seq.saturating_sub(1));
    Folded {
        logged,
        alerts,
        attribution,
    }
}

impl BatchState {
    /// Re-attributes every conversion the fold marked whose answer the batch
    /// may have changed (`unchanged::answer_may_change`), in id order;
    /// returns the outbox records of the credit sets that changed.
    pub(super) fn reattribute_dirty(
        &mut self,
        config: &EngineConfig,
        as_of_seq: u64,
    ) -> Vec<OutboxRecord> {
        let mut dirty: Vec<(String, Change)> = self
            .dirty_conversions
            .iter()
            .map(|(id, change)| (id.clone(), *change))
            .collect();
        dirty.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut records = Vec::new();
        for (conversion_id, change) in &dirty {
            if answer_may_change(self.conversions.get(conversion_id), *change, &config.models) {
                records.extend(self.reattribute(conversion_id, config, as_of_seq));
            } else {
                self.unchanged += 1;
            }
        }
        records
    }
}

/// The bytes the source gave for `envelope`, one of `events` (each taken
/// once); `None` when it gave none.
pub(super) fn stored_bytes(
    events: &[Envelope],
    stored: &mut [Vec<u8>],
    envelope: &Envelope,
) -> Option<Vec<u8>> {
    // Which of `events` it is, by address: the fold hands the batch's own
    // events back by reference.
    let size = std::mem::size_of::<Envelope>().max(1);
    let at = (envelope as *const Envelope as usize).checked_sub(events.as_ptr() as usize)? / size;
    let bytes = stored.get_mut(at)?;
    if !std::ptr::eq(events.get(at)?, envelope) || bytes.is_empty() {
        return None;
    }
    Some(std::mem::take(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bytes_given_for_an_event_of_the_batch_are_taken_once_by_its_address() {
        let events: Vec<Envelope> = (0..3)
            .map(|i| {
                touchline_fixtures::envelope(
                    format!("e-{i}"),
                    1_000,
                    touchline_fixtures::touch("p", "c"),
                )
            })
            .collect();
        let mut stored = vec![b"zero".to_vec(), Vec::new(), b"two".to_vec()];
        assert_eq!(
            stored_bytes(&events, &mut stored, &events[2]),
            Some(b"two".to_vec())
        );
        assert_eq!(
            stored_bytes(&events, &mut stored, &events[2]),
            None,
            "taken once"
        );
        assert_eq!(
            stored_bytes(&events, &mut stored, &events[1]),
            None,
            "none given"
        );
        // An equal event elsewhere in memory is not one of the batch's.
        let copy = events[0].clone();
        assert_eq!(stored_bytes(&events, &mut stored, &copy), None);
        assert_eq!(
            stored_bytes(&events, &mut stored, &events[0]),
            Some(b"zero".to_vec())
        );
        // No bytes given at all: the engine encodes.
        assert_eq!(stored_bytes(&events, &mut [], &events[0]), None);
    }
}
