//! `touchline replay`: every view rebuilt from the log. The log's pages are
//! read and decoded on a thread of their own while the page before is folded
//! (reading was a fifth of a replay's time); the first pages fold in memory
//! over an empty world, split by co-location group over every core, the rest
//! over views loaded back.

use touchline_core::colocation::{Directory, shard_of};
use touchline_store::StoredEvent;

use super::batch_state::Views;

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

/// Runs `fold` over the log's pages from its start, each read on another
/// thread and decoded there on up to `threads` threads while `fold` works on
/// the one before.
fn read_ahead<R>(
    store: &Arc<Store>,
    threads: usize,
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
                let page = store.events_decoded_on(from, REBUILD_PAGE, threads);
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
    /// to a page) in memory, on every core.
    pub fn rebuild_folding_in_memory(
        &mut self,
        in_memory_events: usize,
        progress: impl FnMut(u64, u64),
    ) -> Result<(), EngineError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        self.rebuild_in_groups(in_memory_events, cores, progress)
    }

    /// [`Engine::rebuild_folding_in_memory`] with the events folded in memory
    /// split over `folds` threads by co-location group
    /// (`touchline_core::colocation`): each thread folds and attributes the
    /// groups of its own, over a world of its own, and the worlds are then
    /// joined. The result does not depend on `folds`.
    pub fn rebuild_in_groups(
        &mut self,
        in_memory_events: usize,
        folds: usize,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<(), EngineError> {
        self.flush()?;
        self.overlay = Overlay::default();
        self.store.begin_rebuild()?;
        let floor = self.versions;
        let total = self.next_seq;
        // The events to fold in memory, until there are enough of them.
        let mut prefix: Option<Vec<StoredEvent>> = Some(Vec::new());
        let store = self.store.clone();
        read_ahead(&store, folds, |pages| {
            for page in pages {
                let page = page?;
                let Some(last) = page.last() else { break };
                let last_seq = last.seq;
                if let Some(events) = &mut prefix {
                    events.extend(page);
                    if events.len() >= in_memory_events
                        && let Some(events) = prefix.take()
                    {
                        self.commit_folded_in_groups(&events, folds, floor, last_seq)?;
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
        if let Some(events) = prefix
            && !events.is_empty()
        {
            self.commit_folded_in_groups(&events, folds, floor, self.next_seq.saturating_sub(1))?;
        }
        let mut done = self.store.commit();
        done.end_rebuild();
        self.store.write(done)?;
        Ok(())
    }

    /// Folds `events` over an empty world on `folds` threads, each the
    /// co-location groups `shard_of` gives it (and every campaign's own
    /// events), attributes each world's conversions once as of `last_seq`, and
    /// writes them: each thread its own world's people, accounts, deals and
    /// conversions (no two worlds share one), this thread the campaigns, whose
    /// counters add up across worlds, and the credit sets to publish.
    fn commit_folded_in_groups(
        &mut self,
        events: &[StoredEvent],
        folds: usize,
        floor: u64,
        last_seq: u64,
    ) -> Result<(), EngineError> {
        let parts = split_by_group(events, folds);
        let account_touches = self.account_touches();
        let config = &self.config;
        let store = &self.store;
        type Folded = Result<(Views<CampaignView>, Vec<OutboxRecord>), EngineError>;
        let worlds: Vec<Folded> = std::thread::scope(|scope| {
            let folding: Vec<_> = parts
                .iter()
                .map(|part| {
                    scope.spawn(move || {
                        let mut world = BatchState::complete(Snapshot::default(), account_touches);
                        world.version_floor = floor;
                        for event in part {
                            fold_again(&mut world, event.seq, &event.envelope);
                        }
                        let attribution = world.reattribute_dirty(config, last_seq);
                        let campaigns = world.take_campaigns();
                        write_views_unsynced(store, &world)?;
                        Ok((campaigns, attribution))
                    })
                })
                .collect();
            folding
                .into_iter()
                .map(|fold| fold.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        let mut campaigns: Option<Views<CampaignView>> = None;
        let mut attribution = Vec::new();
        for world in worlds {
            let (theirs, records) = world?;
            match &mut campaigns {
                Some(mine) => mine.absorb(theirs, CampaignView::add_counters),
                None => campaigns = Some(theirs),
            }
            attribution.extend(records);
        }
        // In conversion order, as one world's attribution is.
        attribution.sort_by(|a, b| conversion_of(&a.key).cmp(conversion_of(&b.key)));
        for records in attribution.chunks(REBUILD_PAGE) {
            let mut commit = self.store.commit();
            self.queue_recomputed(&mut commit, records)?;
            self.store.write_unsynced(commit)?;
        }
        if let Some(campaigns) = campaigns {
            let mut commit = self.store.commit();
            campaigns.write(&mut commit)?;
            self.store.write_unsynced(commit)?;
        }
        Ok(())
    }
}

/// Writes a world rebuilt in memory in unsynced pages (a rebuild is atomic
/// through its marker, not through one batch).
fn write_views_unsynced(store: &Store, world: &BatchState) -> Result<(), EngineError> {
    let mut commit = store.commit();
    world.write_views_paged(&mut commit, REBUILD_PAGE, |full| {
        store.write_unsynced(std::mem::replace(full, store.commit()))?;
        Ok(())
    })?;
    store.write_unsynced(commit)?;
    Ok(())
}

/// The conversion an attribution key (`model/conversion`) is about.
fn conversion_of(key: &str) -> &str {
    key.split_once('/')
        .map_or(key, |(_, conversion)| conversion)
}

/// `events` split over `folds` parts by co-location group, in log order in
/// each part; every campaign's own events are in every part.
fn split_by_group(events: &[StoredEvent], folds: usize) -> Vec<Vec<&StoredEvent>> {
    let folds = folds.clamp(1, 64);
    if folds == 1 {
        return vec![events.iter().collect()];
    }
    let mut directory = Directory::default();
    for event in events {
        directory.link_event(&event.envelope.event);
    }
    let mut parts: Vec<Vec<&StoredEvent>> = vec![Vec::new(); folds];
    for event in events {
        match directory.key_of_event(&event.envelope.event) {
            Some(key) => parts[shard_of(&key, folds as u32) as usize].push(event),
            None => parts.iter_mut().for_each(|part| part.push(event)),
        }
    }
    parts
}
