//! `touchline replay`: every view rebuilt from the log, in memory. The stream
//! index links the log's co-location groups and gives each event its part (a
//! group's key hashed over rounds × cores), decoding nothing; then the parts are
//! folded in rounds, each over every core: each round reads the log again
//! (on a thread of its own, decoding ahead of the folds only the events of
//! its parts) and hands each event to the fold of its part, which attributes
//! its conversions once when the log ends and writes its views in bulk. No
//! event is held after it is folded, and no view is read back from the store.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use touchline_core::StreamKind;
use touchline_core::colocation::{Directory, Entity, shard_of};
use touchline_store::{EventPage, StoreError, StoredEvent};

use super::batch_state::Views;

use super::*;

/// Events per page of a rebuild's reads of the log.
pub(super) const REBUILD_PAGE: usize = 50_000;

/// View rows per table file a rebuild writes in bulk: files of tens of
/// megabytes, few enough that ingesting them costs little.
const BULK_PAGE: usize = 200_000;

/// Events a rebuild folds in one round: the groups are split into rounds of
/// about this many events, each round's views held in memory until it ends.
/// A million events' views take about 0.5 GB (the DuckDB side by side's
/// 250,000 people).
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
/// thread, which decodes the events `keep` takes on up to `threads` threads
/// while `fold` works on the page before.
fn read_ahead<R>(
    store: &Arc<Store>,
    threads: usize,
    keep: impl Fn(u64) -> bool + Send,
    fold: impl FnOnce(&mut dyn Iterator<Item = Result<EventPage, StoreError>>) -> R,
) -> R {
    std::thread::scope(|scope| {
        // One page ahead: enough to overlap, and bounded memory.
        let (sender, pages) = sync_channel(1);
        let store = store.clone();
        scope.spawn(move || {
            let mut from = 0u64;
            loop {
                let page = store.events_decoded_on(from, REBUILD_PAGE, threads, &keep);
                let next = page.as_ref().ok().and_then(|page| page.next);
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

/// The part of a campaign's own events: every part has them.
const EVERY_PART: u32 = u32::MAX;

/// Where a rebuild folds each event: the part of its co-location group among
/// `parts`, by log position.
struct Plan {
    parts: u32,
    part_of: Vec<u32>,
}

impl Plan {
    /// One part, which takes every event: nothing to read for it.
    fn one() -> Self {
        Plan {
            parts: 1,
            part_of: Vec::new(),
        }
    }

    /// Links the log's groups (a link late in the log joins groups that
    /// would fold apart otherwise) from the stream index, without decoding
    /// an event, and gives each of the `events` the part its group's key
    /// hashes to among `parts`.
    fn read(store: &Store, events: u64, parts: u32) -> Result<Self, EngineError> {
        let mut directory = Directory::default();
        // Every person, account and deal of the log, once.
        let mut members: Vec<Entity> = Vec::new();
        // Each event's first member, as an index into `members`.
        let mut member_of: Vec<u32> = vec![EVERY_PART; events as usize];
        // A campaign's stream links nothing: every part folds its events.
        let linking = [
            StreamKind::Person,
            StreamKind::Account,
            StreamKind::Opportunity,
        ];
        store.for_each_stream_entry(&linking, |kind, id, seq| {
            // The index runs stream by stream.
            if members.last().is_none_or(|m| m.kind != kind || m.id != id) {
                members.push(Entity::new(kind, id));
            }
            let at = members.len() - 1;
            let Some(first) = member_of.get_mut(seq as usize) else {
                return;
            };
            if *first == EVERY_PART {
                *first = at as u32;
            } else {
                directory.link(&members[*first as usize], &members[at]);
            }
        })?;
        let part_of_member: Vec<u32> = members
            .iter()
            .map(|member| shard_of(&directory.key(member), parts))
            .collect();
        for part in &mut member_of {
            if *part != EVERY_PART {
                *part = part_of_member[*part as usize];
            }
        }
        Ok(Plan {
            parts,
            part_of: member_of,
        })
    }

    /// The part of the event at `seq`.
    fn part(&self, seq: u64) -> u32 {
        if self.parts == 1 {
            return 0;
        }
        self.part_of
            .get(seq as usize)
            .copied()
            .unwrap_or(EVERY_PART)
    }
}

/// What one fold of a round hands back: its campaigns (whose counters add up
/// across folds) and its credit sets to publish; its other views are written.
type Folded = Result<(Views<CampaignView>, Vec<OutboxRecord>), EngineError>;

impl Engine {
    /// Rebuilds every view from the log (`touchline replay`): clears the views,
    /// folds every event again in log order, re-attributes, and queues every
    /// credit set for publishing with versions above all earlier ones. Calls
    /// `progress(done, total)` after each page of events read (the log is read
    /// once per round).
    ///
    /// The co-location groups are folded in memory in rounds of about
    /// [`REBUILD_IN_MEMORY_EVENTS`] events, on every core; each conversion is
    /// attributed once, as of the end of the log.
    ///
    /// Views are written in bulk and the store is marked as being rebuilt
    /// until the last, synced write: a crash in between leaves a store that
    /// refuses to open until it is replayed again.
    pub fn rebuild(&mut self, progress: impl FnMut(u64, u64)) -> Result<(), EngineError> {
        self.rebuild_folding_in_memory(REBUILD_IN_MEMORY_EVENTS, progress)
    }

    /// [`Engine::rebuild`] in rounds of about `in_memory_events`, on every
    /// core.
    pub fn rebuild_folding_in_memory(
        &mut self,
        in_memory_events: usize,
        progress: impl FnMut(u64, u64),
    ) -> Result<(), EngineError> {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        self.rebuild_in_groups(in_memory_events, cores, progress)
    }

    /// [`Engine::rebuild_folding_in_memory`] with each round's groups folded
    /// on `folds` threads (`touchline_core::colocation`): the groups are cut
    /// into rounds × `folds` parts by their key, and each thread folds and
    /// attributes the groups of one part over a world of its own; the
    /// campaigns and credit sets of every world are then joined. The result
    /// depends neither on `folds` nor on the number of rounds.
    pub fn rebuild_in_groups(
        &mut self,
        in_memory_events: usize,
        folds: usize,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<(), EngineError> {
        self.flush()?;
        self.overlay = Overlay::default();
        self.store.begin_rebuild()?;
        let folds = folds.clamp(1, 64);
        let events = self.next_seq;
        let rounds = events.div_ceil(in_memory_events.max(1) as u64).max(1);
        // One world (one round on one thread) needs no plan.
        let parts = (rounds as usize)
            .saturating_mul(folds)
            .min(EVERY_PART as usize) as u32;
        let plan = if parts == 1 {
            Plan::one()
        } else {
            Plan::read(&self.store, events, parts)?
        };
        let mut campaigns: Option<Views<CampaignView>> = None;
        let mut attribution = Vec::new();
        for round in 0..rounds {
            let worlds = self.fold_round(&plan, round as u32, folds, |read| {
                progress(round * events + read, events * rounds);
            });
            for world in worlds {
                let (theirs, records) = world?;
                match &mut campaigns {
                    Some(mine) => mine.absorb(theirs, CampaignView::add_counters),
                    None => campaigns = Some(theirs),
                }
                attribution.extend(records);
            }
        }
        // In conversion order, as one world's attribution is, whatever the
        // parts.
        attribution.sort_by(|a, b| conversion_of(&a.key).cmp(conversion_of(&b.key)));
        for records in attribution.chunks(BULK_PAGE) {
            let mut commit = self.store.commit();
            self.queue_recomputed(&mut commit, records)?;
            // Outbox ids above every earlier one: the files land below the rest.
            self.store.write_bulk(commit)?;
        }
        if let Some(campaigns) = campaigns {
            let mut commit = self.store.commit();
            campaigns.write(&mut commit)?;
            self.store.write_unsynced(commit)?;
        }
        let mut done = self.store.commit();
        done.end_rebuild();
        self.store.write(done)?;
        Ok(())
    }

    /// Folds the groups of parts `round * folds ..` of the plan on `folds`
    /// threads, one part each, from one read of the log: every event of a
    /// part's group to its thread, a campaign's own events to every thread.
    /// Each thread attributes its world's conversions once, as of the end of
    /// the log, and writes its world's people, accounts, deals and
    /// conversions (no two worlds share one).
    fn fold_round(
        &self,
        plan: &Plan,
        round: u32,
        folds: usize,
        mut progress: impl FnMut(u64),
    ) -> Vec<Folded> {
        let account_touches = self.account_touches();
        let config = &self.config;
        let store = &self.store;
        let floor = self.versions;
        let last_seq = self.next_seq.saturating_sub(1);
        let first_part = round * folds as u32;
        std::thread::scope(|scope| {
            let mut senders: Vec<SyncSender<Vec<StoredEvent>>> = Vec::with_capacity(folds);
            let mut folding = Vec::with_capacity(folds);
            for _ in 0..folds {
                // Two pages ahead of each fold at most.
                let (sender, events) = sync_channel::<Vec<StoredEvent>>(2);
                senders.push(sender);
                folding.push(scope.spawn(move || {
                    fold_world(store, config, account_touches, floor, last_seq, events)
                }));
            }
            let in_round =
                |part: u32| part == EVERY_PART || part.wrapping_sub(first_part) < folds as u32;
            let keep = |seq: u64| in_round(plan.part(seq));
            let read = read_ahead(store, folds, keep, |pages| {
                for page in pages {
                    let page = page?;
                    let Some(next) = page.next else { break };
                    let shares = share_out(page.events, plan, first_part, folds);
                    for (sender, share) in senders.iter().zip(shares) {
                        // A fold gone stopped on an error, which its join returns.
                        let _ = sender.send(share);
                    }
                    progress(next);
                }
                Ok::<(), EngineError>(())
            });
            drop(senders);
            let worlds: Vec<Folded> = folding
                .into_iter()
                .map(|fold| fold.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect();
            match read {
                Ok(()) => worlds,
                Err(e) => vec![Err(e)],
            }
        })
    }
}

/// A page's events (the round's own) for each of the `folds` threads of the
/// round whose parts start at `first_part`: an event to the thread of its
/// part, a campaign's own events to every thread.
fn share_out(
    events: Vec<StoredEvent>,
    plan: &Plan,
    first_part: u32,
    folds: usize,
) -> Vec<Vec<StoredEvent>> {
    if folds == 1 {
        return vec![events];
    }
    let mut shares: Vec<Vec<StoredEvent>> = vec![Vec::new(); folds];
    for event in events {
        match plan.part(event.seq) {
            EVERY_PART => shares.iter_mut().for_each(|s| s.push(event.clone())),
            part => {
                if let Some(share) = shares.get_mut(part.wrapping_sub(first_part) as usize) {
                    share.push(event);
                }
            }
        }
    }
    shares
}

/// One fold of a round: the events it is sent, folded over a world that
/// starts empty; then its conversions attributed as of `last_seq` and its
/// views, but for the campaigns, written in bulk.
fn fold_world(
    store: &Store,
    config: &EngineConfig,
    account_touches: bool,
    floor: u64,
    last_seq: u64,
    events: Receiver<Vec<StoredEvent>>,
) -> Folded {
    let mut world = BatchState::complete(Snapshot::default(), account_touches);
    world.version_floor = floor;
    for share in events {
        for event in &share {
            fold_again(&mut world, event.seq, &event.envelope);
        }
    }
    let attribution = world.reattribute_dirty(config, last_seq);
    let campaigns = world.take_campaigns();
    write_views_in_bulk(store, &world)?;
    Ok((campaigns, attribution))
}

/// Writes a world rebuilt in memory in pages of sorted table files (a
/// rebuild is atomic through its marker, not through one batch).
fn write_views_in_bulk(store: &Store, world: &BatchState) -> Result<(), EngineError> {
    let mut commit = store.commit();
    world.write_views_paged(&mut commit, BULK_PAGE, |full| {
        store.write_bulk(std::mem::replace(full, store.commit()))?;
        Ok(())
    })?;
    store.write_bulk(commit)?;
    Ok(())
}

/// The conversion an attribution key (`model/conversion`) is about.
fn conversion_of(key: &str) -> &str {
    key.split_once('/')
        .map_or(key, |(_, conversion)| conversion)
}
