//! `touchline replay`: every view rebuilt from the log. The log's pages are
//! read and decoded on a thread of their own while the page before is folded
//! (reading was a fifth of a replay's time); the first pages fold in memory
//! over an empty world, the rest over views loaded back.

use super::*;

/// Events per page of a rebuild: large, since a page costs one write and
/// one load of the views it reads, and nothing waits for it to be durable.
pub(super) const REBUILD_PAGE: usize = 50_000;

/// Events a rebuild folds in memory before it writes them out and goes on
/// page by page. A million takes about 1 GB; more saves little (measured on
/// 2.3M events: 8.7 s with a million, 9.7 s and 2.6 GB with all of them, 9.3 s
/// page by page), since every page's loads hit views written moments before.
pub const REBUILD_IN_MEMORY_EVENTS: usize = 1_000_000;

/// Folds a logged event again in a rebuild. Alerts were published when they
/// were raised: a rebuild only records them on their accounts again, as live
/// did; a routing decision is in the log as an event of its own.
fn fold_again(state: &mut BatchState, seq: u64, envelope: &Envelope) {
    state.project(seq, envelope);
    if matches!(envelope.event, Event::TouchRecorded(_)) {
        state.activity_alerts(seq, envelope);
    }
}

/// Runs `fold` over the log's pages from its start, each read and decoded on
/// another thread while `fold` works on the one before.
fn read_ahead<R>(
    store: &Arc<Store>,
    fold: impl FnOnce(
        &mut dyn Iterator<
            Item = Result<Vec<touchline_store::StoredEvent>, touchline_store::StoreError>,
        >,
    ) -> R,
) -> R {
    std::thread::scope(|scope| {
        // One page ahead: enough to overlap, and bounded memory.
        let (sender, pages) = std::sync::mpsc::sync_channel(1);
        let store = store.clone();
        scope.spawn(move || {
            let mut from = 0u64;
            loop {
                let page = store.events(from, REBUILD_PAGE);
                let next = match &page {
                    Ok(events) => events.last().map(|e| e.seq + 1),
                    Err(_) => None,
                };
                // The folding side gone (it stopped on an error) ends this too.
                if sender.send(page).is_err() {
                    return;
                }
                match next {
                    Some(seq) => from = seq,
                    None => return,
                }
            }
        });
        fold(&mut pages.into_iter())
    })
}

impl Engine {
    /// Rebuilds every view from the log (`touchline replay`): clears the views,
    /// folds every event again in log order, re-attributes, and queues every
    /// credit set for publishing with versions above all earlier ones. Calls
    /// `progress(done, total)` after each page of events.
    ///
    /// The log's first [`REBUILD_IN_MEMORY_EVENTS`] are folded in memory over
    /// a world that starts empty (the views were cleared, so nothing needs
    /// loading), each conversion is attributed once at the end, and the world
    /// is written in pages. Any further events are folded page by page over
    /// views loaded from the store.
    ///
    /// Pages are written without fsync and the store is marked as being
    /// rebuilt until the last, synced write: a crash in between leaves a store
    /// that refuses to open until it is replayed again.
    pub fn rebuild(&mut self, progress: impl FnMut(u64, u64)) -> Result<(), EngineError> {
        self.rebuild_folding_in_memory(REBUILD_IN_MEMORY_EVENTS, progress)
    }

    /// [`Engine::rebuild`], folding the first `in_memory_events` (rounded up
    /// to a page) in memory.
    pub fn rebuild_folding_in_memory(
        &mut self,
        in_memory_events: usize,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<(), EngineError> {
        self.flush()?;
        self.overlay = Overlay::default();
        self.store.begin_rebuild()?;
        let floor = self.versions;
        let total = self.next_seq;
        let mut world = Some(BatchState::complete(
            Snapshot::default(),
            self.account_touches(),
        ));
        if let Some(world) = &mut world {
            world.version_floor = floor;
        }
        let mut in_memory = 0usize;
        let store = self.store.clone();
        read_ahead(&store, |pages| {
            for page in pages {
                let page = page?;
                let Some(last) = page.last() else { break };
                let last_seq = last.seq;
                if let Some(state) = &mut world {
                    for event in &page {
                        fold_again(state, event.seq, &event.envelope);
                    }
                    in_memory += page.len();
                    if in_memory >= in_memory_events
                        && let Some(full) = world.take()
                    {
                        self.commit_rebuilt_world(full, last_seq)?;
                    }
                } else {
                    let wants = Wants::of_events(page.iter().map(|e| &e.envelope));
                    let config = &self.config;
                    let (state, attribution) = self.fold_durable(wants, |state| {
                        state.version_floor = floor;
                        for event in &page {
                            fold_again(state, event.seq, &event.envelope);
                        }
                        state.reattribute_dirty(config, last_seq)
                    })?;
                    self.commit_recomputed(&state, &attribution, Durability::Later)?;
                }
                progress((last_seq + 1).min(total), total);
            }
            Ok::<(), EngineError>(())
        })?;
        if let Some(state) = world
            && in_memory > 0
        {
            self.commit_rebuilt_world(state, self.next_seq.saturating_sub(1))?;
        }
        let mut done = self.store.commit();
        done.end_rebuild();
        self.store.write(done)?;
        Ok(())
    }

    /// Attributes every conversion of a world rebuilt in memory, once, as of
    /// `last_seq`, and writes its credit sets and views in unsynced pages (a
    /// rebuild is atomic through its marker, not through one batch).
    fn commit_rebuilt_world(
        &mut self,
        mut world: BatchState,
        last_seq: u64,
    ) -> Result<(), EngineError> {
        let attribution = world.reattribute_dirty(&self.config, last_seq);
        for records in attribution.chunks(REBUILD_PAGE) {
            let mut commit = self.store.commit();
            self.queue_recomputed(&mut commit, records)?;
            self.store.write_unsynced(commit)?;
        }
        let store = &self.store;
        let mut commit = store.commit();
        world.write_views_paged(&mut commit, REBUILD_PAGE, |full| {
            store.write_unsynced(std::mem::replace(full, store.commit()))?;
            Ok(())
        })?;
        store.write_unsynced(commit)?;
        Ok(())
    }
}
