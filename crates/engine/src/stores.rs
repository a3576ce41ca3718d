//! The stores a query reads: the one store of a single-store engine, or the
//! shards an instance of a sharded group holds now, read as one.
//!
//! A sharded group keeps each person, account, opportunity and conversion, with
//! its events and touch rows, on exactly one shard (a hand-over deletes what
//! it moves), so the shards read as one are their union in key order. Only
//! campaigns live on every shard: their events go to all of them, and each
//! shard counts the touches, members and sourced leads of the people it holds,
//! so a campaign read across shards is one view with the counters summed
//! ([`ShardedView::combine`]). A conversion a hand-over left behind as a
//! retracted copy gives way to the live one.
//!
//! Each shard is read as it stands at the moment of the read; a report over
//! several shards sees each one's last commit, not one instant of all of them.
//!
//! ```
//! use std::sync::Arc;
//! use touchline_engine::{HeldShards, Stores};
//! use touchline_projection::PersonView;
//! use touchline_store::Store;
//!
//! let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
//! let held = Arc::new(HeldShards::default());
//! for (shard, dir) in dirs.iter().enumerate() {
//!     held.hold(shard as u32, Arc::new(Store::open(dir.path()).unwrap()));
//! }
//! let stores = Stores::Shards(held);
//! assert!(stores.get::<PersonView>("nobody").unwrap().is_none());
//! ```

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::{Arc, RwLock, Weak};

use serde::de::DeserializeOwned;
use touchline_core::StreamKind;
use touchline_projection::{
    AccountView, CampaignView, ConversionView, OpportunityView, PersonView,
};
use touchline_store::{PartitionOffset, Result, Store, StoredEvent, Table};

/// A view as the shards hold it: the table it lives in, and how another
/// shard's copy of the same key folds into it.
pub trait ShardedView: DeserializeOwned {
    const TABLE: Table;

    /// Folds in `other`, another shard's copy of this key. Only campaigns and
    /// retracted conversions have copies; an entity's view lives on one shard.
    fn combine(&mut self, other: Self) {
        let _ = other;
    }
}

impl ShardedView for PersonView {
    const TABLE: Table = Table::Persons;
}

impl ShardedView for AccountView {
    const TABLE: Table = Table::Accounts;
}

impl ShardedView for OpportunityView {
    const TABLE: Table = Table::Opportunities;
}

impl ShardedView for ConversionView {
    const TABLE: Table = Table::Conversions;

    /// The live copy wins: the shard that left a group behind keeps its
    /// conversions only as retracted versions, if at all.
    fn combine(&mut self, other: Self) {
        if !self.is_live() && other.is_live() {
            *self = other;
        }
    }
}

impl ShardedView for CampaignView {
    const TABLE: Table = Table::Campaigns;

    /// Every shard receives a campaign's own events, so its description and
    /// costs are the same on each (the longer cost list wins while one shard
    /// lags); the counters of touches, members and sourced leads are each
    /// shard's people's, and add up.
    fn combine(&mut self, other: Self) {
        self.touches += other.touches;
        self.responses += other.responses;
        self.members += other.members;
        self.responders += other.responders;
        self.leads_sourced += other.leads_sourced;
        self.last_seq = self.last_seq.max(other.last_seq);
        if other.costs.len() > self.costs.len() {
            self.costs = other.costs;
            self.actual_cost = other.actual_cost;
        }
        if self.name.is_empty() {
            self.name = other.name;
            self.channel = other.channel;
            self.medium = other.medium;
            self.source = other.source;
            self.ad_code = other.ad_code;
            self.campaign_type = other.campaign_type;
            self.parent_campaign_id = other.parent_campaign_id;
            self.starts_at = other.starts_at;
            self.ends_at = other.ends_at;
            self.planned_cost = other.planned_cost;
        }
    }
}

/// The shards an instance holds, kept by the loop that runs them and read by
/// the API. A shard released while a reader still has its store open is
/// reclaimed, not opened a second time (RocksDB allows one open per path).
#[derive(Debug, Default)]
pub struct HeldShards {
    /// The group's number of shards; 0 when not told.
    count: u32,
    state: RwLock<Held>,
}

#[derive(Debug, Default)]
struct Held {
    open: BTreeMap<u32, Arc<Store>>,
    released: BTreeMap<u32, Weak<Store>>,
}

impl HeldShards {
    /// Holds none yet of a group's `count` shards.
    pub fn new(count: u32) -> Self {
        HeldShards {
            count,
            state: RwLock::default(),
        }
    }

    /// The group's number of shards (0 when not told): what an answer over
    /// fewer than that many misses.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// The numbers of the shards held now, in order.
    pub fn held(&self) -> Vec<u32> {
        let held = self.state.read().unwrap_or_else(|e| e.into_inner());
        held.open.keys().copied().collect()
    }

    /// `shard` is this instance's from now on, in `store`.
    pub fn hold(&self, shard: u32, store: Arc<Store>) {
        let mut held = self.state.write().unwrap_or_else(|e| e.into_inner());
        held.released.remove(&shard);
        held.open.insert(shard, store);
    }

    /// `shard` is no longer this instance's: readers stop seeing it.
    pub fn release(&self, shard: u32) {
        let mut held = self.state.write().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = held.open.remove(&shard) {
            held.released.insert(shard, Arc::downgrade(&store));
        }
        held.released.retain(|_, weak| weak.strong_count() > 0);
    }

    /// The store of a released `shard` that a reader still has open, to be
    /// held again instead of opened anew.
    pub fn reclaim(&self, shard: u32) -> Option<Arc<Store>> {
        let held = self.state.read().unwrap_or_else(|e| e.into_inner());
        held.released.get(&shard).and_then(Weak::upgrade)
    }

    /// The shards held now, in shard order.
    pub fn shards(&self) -> Vec<(u32, Arc<Store>)> {
        let held = self.state.read().unwrap_or_else(|e| e.into_inner());
        held.open
            .iter()
            .map(|(shard, store)| (*shard, store.clone()))
            .collect()
    }
}

/// What a query reads.
#[derive(Debug, Clone)]
pub enum Stores {
    /// A single-store engine's store.
    One(Arc<Store>),
    /// The shards this instance of a sharded group holds.
    Shards(Arc<HeldShards>),
}

/// Views a merged scan reads from one shard at a time.
const PAGE: usize = 1024;

impl Stores {
    /// The store of a single-store engine; `None` for a sharded instance.
    pub fn single(&self) -> Option<&Arc<Store>> {
        match self {
            Stores::One(store) => Some(store),
            Stores::Shards(_) => None,
        }
    }

    fn all(&self) -> Vec<Arc<Store>> {
        match self {
            Stores::One(store) => vec![store.clone()],
            Stores::Shards(held) => held.shards().into_iter().map(|(_, s)| s).collect(),
        }
    }

    pub fn get<T: ShardedView>(&self, key: &str) -> Result<Option<T>> {
        if let Stores::One(store) = self {
            return store.get(T::TABLE, key);
        }
        let mut found: Option<T> = None;
        for store in self.all() {
            if let Some(view) = store.get::<T>(T::TABLE, key)? {
                match &mut found {
                    Some(first) => first.combine(view),
                    None => found = Some(view),
                }
            }
        }
        Ok(found)
    }

    /// Many views at once, in the order of `keys`.
    pub fn get_many<T: ShardedView>(&self, keys: &[&str]) -> Result<Vec<Option<T>>> {
        if let Stores::One(store) = self {
            return store.get_many(T::TABLE, keys);
        }
        let mut out: Vec<Option<T>> = keys.iter().map(|_| None).collect();
        for store in self.all() {
            for (slot, view) in out.iter_mut().zip(store.get_many::<T>(T::TABLE, keys)?) {
                match (slot.as_mut(), view) {
                    (Some(first), Some(view)) => first.combine(view),
                    (None, view) => *slot = view,
                    (Some(_), None) => {}
                }
            }
        }
        Ok(out)
    }

    /// Calls `visit` for every view of `T`'s table, in key order.
    pub fn for_each<T: ShardedView>(&self, mut visit: impl FnMut(&str, T)) -> Result<()> {
        match self {
            Stores::One(store) => store.for_each(T::TABLE, visit),
            Stores::Shards(_) => merged(&self.all(), "", None, usize::MAX, |key, view, _| {
                visit(key, view)
            }),
        }
    }

    /// Views whose key starts with `prefix`, in key order, after `after`
    /// (exclusive) when given, at most `limit`.
    pub fn scan<T: ShardedView>(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, T)>> {
        if let Stores::One(store) = self {
            return store.scan(T::TABLE, prefix, after, limit);
        }
        let mut out = Vec::new();
        merged(&self.all(), prefix, after, limit, |key, view, _| {
            out.push((key.to_owned(), view))
        })?;
        Ok(out)
    }

    /// The touches a person keeps, in attribution order: its rows, on the
    /// shard the person lives on.
    pub fn touches<T: DeserializeOwned>(&self, person_id: &str) -> Result<Vec<T>> {
        for store in self.all() {
            let touches = store.touches(person_id)?;
            if !touches.is_empty() {
                return Ok(touches);
            }
        }
        Ok(Vec::new())
    }

    /// A person and its touch rows, read together from one snapshot of the
    /// shard it lives on.
    pub fn person_with_touches<V: DeserializeOwned, T: DeserializeOwned>(
        &self,
        person_id: &str,
    ) -> Result<Option<(V, Vec<T>)>> {
        for store in self.all() {
            if let Some(found) = store.person_with_touches(person_id)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Calls `visit` for every person with its touch rows, in key order.
    pub fn for_each_person_with_touches<T: DeserializeOwned>(
        &self,
        mut visit: impl FnMut(&str, PersonView, Vec<T>),
    ) -> Result<()> {
        let stores = match self {
            Stores::One(store) => return store.for_each_person_with_touches(visit),
            Stores::Shards(_) => self.all(),
        };
        let mut failed = None;
        merged(
            &stores,
            "",
            None,
            usize::MAX,
            |key, person: PersonView, shard| {
                if failed.is_some() {
                    return;
                }
                match stores[shard].touches(key) {
                    Ok(touches) => visit(key, person, touches),
                    Err(e) => failed = Some(e),
                }
            },
        )?;
        failed.map_or(Ok(()), Err)
    }

    /// The events of one stream, from `from_seq` on, at most `limit`: the
    /// shard's that holds the stream (a campaign's events are the same on
    /// every shard).
    pub fn stream(
        &self,
        kind: StreamKind,
        id: &str,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        for store in self.all() {
            if store.stream(kind, id, 0, 1)?.is_empty() {
                continue;
            }
            return store.stream(kind, id, from_seq, limit);
        }
        Ok(Vec::new())
    }

    /// Engine metadata: what every shard's engine wrote alike (the
    /// attribution configuration), from the first that has it.
    pub fn meta_bytes(&self, key: &str) -> Result<Option<Vec<u8>>> {
        for store in self.all() {
            if let Some(bytes) = store.meta_bytes(key)? {
                return Ok(Some(bytes));
            }
        }
        Ok(None)
    }

    /// The input offsets every store covers.
    pub fn offsets(&self) -> Result<Vec<PartitionOffset>> {
        let mut out = Vec::new();
        for store in self.all() {
            out.extend(store.offsets()?);
        }
        Ok(out)
    }

    /// The events the stores' logs hold, counted as log positions: the one
    /// store's next sequence, or the sum of the shards'.
    pub fn next_seq(&self) -> Result<u64> {
        let mut sum = 0u64;
        for store in self.all() {
            sum = sum.saturating_add(store.next_seq()?);
        }
        Ok(sum)
    }

    /// Where each shard's store stood, by shard: changes with any commit,
    /// one that moves a group away included. Empty for a single store.
    pub fn shard_positions(&self) -> Vec<(u32, u64)> {
        match self {
            Stores::One(_) => Vec::new(),
            Stores::Shards(held) => held
                .shards()
                .into_iter()
                .map(|(shard, store)| (shard, store.write_sequence()))
                .collect(),
        }
    }
}

/// One shard's next views in a merged scan.
struct Cursor<T> {
    page: VecDeque<(String, T)>,
    after: Option<String>,
    done: bool,
}

/// Visits the views under `prefix` of every store in key order, after
/// `after`, at most `limit` keys; copies of one key on several stores are
/// combined into one, visited with the index of the store of the first.
fn merged<T: ShardedView>(
    stores: &[Arc<Store>],
    prefix: &str,
    after: Option<&str>,
    limit: usize,
    mut visit: impl FnMut(&str, T, usize),
) -> Result<()> {
    let page = PAGE.min(limit.max(1));
    let mut cursors: Vec<Cursor<T>> = stores
        .iter()
        .map(|_| Cursor {
            page: VecDeque::new(),
            after: after.map(str::to_owned),
            done: false,
        })
        .collect();
    let refill = |cursor: &mut Cursor<T>, store: &Store| -> Result<()> {
        if cursor.page.is_empty() && !cursor.done {
            let next = store.scan::<T>(T::TABLE, prefix, cursor.after.as_deref(), page)?;
            cursor.done = next.len() < page;
            cursor.after = next.last().map(|(key, _)| key.clone());
            cursor.page.extend(next);
        }
        Ok(())
    };
    let mut heads = BinaryHeap::new();
    for (i, cursor) in cursors.iter_mut().enumerate() {
        refill(cursor, &stores[i])?;
        if let Some((key, _)) = cursor.page.front() {
            heads.push(Reverse((key.clone(), i)));
        }
    }
    let mut visited = 0;
    while visited < limit {
        let Some(Reverse((key, first))) = heads.pop() else {
            break;
        };
        let take = |i: usize,
                    cursors: &mut Vec<Cursor<T>>,
                    heads: &mut BinaryHeap<Reverse<(String, usize)>>|
         -> Result<T> {
            let (_, view) = cursors[i]
                .page
                .pop_front()
                .expect("a head names a cursor's first view");
            refill(&mut cursors[i], &stores[i])?;
            if let Some((next, _)) = cursors[i].page.front() {
                heads.push(Reverse((next.clone(), i)));
            }
            Ok(view)
        };
        let mut view = take(first, &mut cursors, &mut heads)?;
        while let Some(Reverse((next, i))) = heads.peek()
            && *next == key
        {
            let i = *i;
            heads.pop();
            view.combine(take(i, &mut cursors, &mut heads)?);
        }
        visit(&key, view, first);
        visited += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
