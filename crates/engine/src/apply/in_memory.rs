//! The engine's fold in memory, with no store: the same pure fold over a
//! world that starts empty, one event at a time. For answers that replay a
//! few events (a conversion's history) in microseconds instead of opening a
//! scratch store.

use super::batch_state::{BatchState, Snapshot};
use super::fold::fold_batch;
use super::*;

/// The views a sequence of events folds into, kept in memory.
pub struct InMemoryEngine {
    state: BatchState,
    config: EngineConfig,
}

impl std::fmt::Debug for InMemoryEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryEngine")
            .field("conversions", &self.state.conversions.loaded.len())
            .finish_non_exhaustive()
    }
}

impl InMemoryEngine {
    pub fn new(config: EngineConfig) -> Self {
        let account_touches =
            config.settings.opportunity_touches == OpportunityTouches::AccountContacts;
        InMemoryEngine {
            state: BatchState::complete(Snapshot::default(), account_touches),
            config,
        }
    }

    /// Folds one event as a batch of its own, at log position `seq`: its
    /// views, and every conversion it touches re-attributed. Decisions the
    /// engine takes (routing, alerts) are not published anywhere.
    pub fn apply(&mut self, seq: u64, envelope: &Envelope) {
        self.state.dirty_conversions.clear();
        fold_batch(&mut self.state, &[envelope], &self.config, seq);
    }

    /// A conversion as the events folded so far define it.
    pub fn conversion(&self, conversion_id: &str) -> Option<&ConversionView> {
        self.state.conversions.peek(conversion_id)
    }
}
