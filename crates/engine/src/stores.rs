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
//! The shards other instances of the group hold are read through [`Peers`]
//! (the API's peer client): one [`ShardRead`] at a time, answered from the
//! holder's store as stored bytes ([`ShardAnswer`]) and decoded here, so a
//! report over every shard of the group runs on any instance.
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
use serde::{Deserialize, Serialize};
use touchline_core::StreamKind;
use touchline_projection::{
    AccountView, CampaignView, ConversionView, OpportunityView, PersonView,
};
use touchline_store::{
    PartitionOffset, Result, Store, StoreError, StoredEvent, Table, decode_touch, decode_view,
};

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
    /// costs are the same on each once they caught up: while one lags, the
    /// latest description and the longer cost list win. The counters of
    /// touches, members and sourced leads are each shard's people's, and add
    /// up.
    fn combine(&mut self, other: Self) {
        self.add_counters(&other);
        if other.costs.len() > self.costs.len() {
            self.costs = other.costs;
            self.actual_cost = other.actual_cost;
        }
        if other.upserted > self.upserted {
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
            self.upserted = other.upserted;
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
    /// Reads the shards other instances hold, once they are known.
    peers: RwLock<Option<Arc<dyn Peers>>>,
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
            peers: RwLock::default(),
        }
    }

    /// From now on, reads cover the shards `peers` reach too.
    pub fn set_peers(&self, peers: Arc<dyn Peers>) {
        *self.peers.write().unwrap_or_else(|e| e.into_inner()) = Some(peers);
    }

    fn peers(&self) -> Option<Arc<dyn Peers>> {
        self.peers.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The store of `shard` when it is held here.
    pub fn store(&self, shard: u32) -> Option<Arc<Store>> {
        let held = self.state.read().unwrap_or_else(|e| e.into_inner());
        held.open.get(&shard).cloned()
    }

    /// The shards an answer reads: those held here, and those other
    /// instances hold as far as is known, in order.
    pub fn answering(&self) -> Vec<u32> {
        let mut shards = self.held();
        if let Some(peers) = self.peers() {
            shards.extend(peers.shards_elsewhere(&shards));
            shards.sort_unstable();
            shards.dedup();
        }
        shards
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

/// Reads the shards other instances of the group hold.
pub trait Peers: Send + Sync + std::fmt::Debug {
    /// The shards some other live instance holds, of those not in `held`.
    fn shards_elsewhere(&self, held: &[u32]) -> Vec<u32>;

    /// One read of `shard`, answered by the instance that holds it; a
    /// failure is [`StoreError::Remote`].
    fn read(&self, shard: u32, read: &ShardRead) -> Result<ShardAnswer>;
}

/// One read of a shard's store, as it goes to the instance holding it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "read", rename_all = "snake_case")]
pub enum ShardRead {
    /// Views by key.
    Get { table: Table, keys: Vec<String> },
    /// Views under a prefix in key order, after a key, at most `limit`.
    Scan {
        table: Table,
        prefix: String,
        after: Option<String>,
        limit: usize,
    },
    /// A person's touch rows.
    Touches { person_id: String },
    /// The events of one stream.
    Stream {
        kind: StreamKind,
        id: String,
        from_seq: u64,
        limit: usize,
    },
    /// Engine metadata.
    Meta { key: String },
    /// The input offsets the store covers.
    Offsets,
    /// Where the store stands.
    Position,
}

/// A shard's answer to a [`ShardRead`]: stored bytes, decoded by the reader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ShardAnswer {
    Views(Vec<Option<Vec<u8>>>),
    Rows(Vec<(String, Vec<u8>)>),
    Touches(Vec<Vec<u8>>),
    /// Log positions and protobuf envelopes.
    Events(Vec<(u64, Vec<u8>)>),
    Meta(Option<Vec<u8>>),
    Offsets(Vec<PartitionOffset>),
    Position {
        next_seq: u64,
        write_sequence: u64,
    },
}

/// Rows a scan answer carries at most, so no answer is unbounded.
pub const MAX_SCAN_ROWS: usize = 4096;
/// Keys one get carries at most.
pub const MAX_GET_KEYS: usize = 4096;

impl ShardRead {
    /// Answers this read from `store`, the shard held here. A scan or get
    /// asking for more than [`MAX_SCAN_ROWS`] or [`MAX_GET_KEYS`] is cut to
    /// that (the reader pages on).
    pub fn answer(&self, store: &Store) -> Result<ShardAnswer> {
        Ok(match self {
            ShardRead::Get { table, keys } => {
                let keys: Vec<&str> = keys.iter().take(MAX_GET_KEYS).map(String::as_str).collect();
                ShardAnswer::Views(store.get_many_raw(*table, &keys)?)
            }
            ShardRead::Scan {
                table,
                prefix,
                after,
                limit,
            } => ShardAnswer::Rows(store.scan_raw(
                *table,
                prefix,
                after.as_deref(),
                (*limit).min(MAX_SCAN_ROWS),
            )?),
            ShardRead::Touches { person_id } => ShardAnswer::Touches(store.touches_raw(person_id)?),
            ShardRead::Stream {
                kind,
                id,
                from_seq,
                limit,
            } => ShardAnswer::Events(
                store
                    .stream(*kind, id, *from_seq, (*limit).min(MAX_SCAN_ROWS))?
                    .into_iter()
                    .map(|e| (e.seq, touchline_proto::encode_protobuf(&e.envelope)))
                    .collect(),
            ),
            ShardRead::Meta { key } => ShardAnswer::Meta(store.meta_bytes(key)?),
            ShardRead::Offsets => ShardAnswer::Offsets(store.offsets()?),
            ShardRead::Position => ShardAnswer::Position {
                next_seq: store.next_seq()?,
                write_sequence: store.write_sequence(),
            },
        })
    }
}

/// Key bytes one get sends at most: well inside the smallest request body
/// an instance is likely configured to take (`http.max_body_bytes`).
const GET_KEY_BYTES: usize = 16 * 1024;

/// `keys` cut into gets of at most [`MAX_GET_KEYS`] keys and about
/// [`GET_KEY_BYTES`] of key bytes (a single longer key goes alone).
fn get_chunks<'k, 'a>(keys: &'k [&'a str]) -> Vec<&'k [&'a str]> {
    let mut chunks = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, key) in keys.iter().enumerate() {
        if i > start && (i - start >= MAX_GET_KEYS || bytes + key.len() > GET_KEY_BYTES) {
            chunks.push(&keys[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += key.len() + 3;
    }
    if start < keys.len() {
        chunks.push(&keys[start..]);
    }
    chunks
}

/// One shard as a query reads it: its store here, or another instance's.
#[derive(Debug, Clone)]
enum Reader {
    Local(Arc<Store>),
    Remote { shard: u32, peers: Arc<dyn Peers> },
}

fn unexpected(shard: u32, answer: &ShardAnswer) -> StoreError {
    StoreError::Remote {
        shard,
        detail: format!("answered {answer:?} to another read"),
    }
}

impl Reader {
    fn ask(&self, read: ShardRead) -> Result<(u32, ShardAnswer)> {
        match self {
            Reader::Remote { shard, peers } => Ok((*shard, peers.read(*shard, &read)?)),
            Reader::Local(store) => Ok((u32::MAX, read.answer(store)?)),
        }
    }

    fn get_many<T: DeserializeOwned>(&self, table: Table, keys: &[&str]) -> Result<Vec<Option<T>>> {
        if let Reader::Local(store) = self {
            return store.get_many(table, keys);
        }
        let mut out = Vec::with_capacity(keys.len());
        for chunk in get_chunks(keys) {
            let read = ShardRead::Get {
                table,
                keys: chunk.iter().map(|k| (*k).to_owned()).collect(),
            };
            match self.ask(read)? {
                (_, ShardAnswer::Views(views)) if views.len() == chunk.len() => {
                    for (bytes, key) in views.into_iter().zip(chunk) {
                        out.push(bytes.map(|b| decode_view(table, key, &b)).transpose()?);
                    }
                }
                (shard, other) => return Err(unexpected(shard, &other)),
            }
        }
        Ok(out)
    }

    fn scan<T: DeserializeOwned>(
        &self,
        table: Table,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, T)>> {
        if let Reader::Local(store) = self {
            return store.scan(table, prefix, after, limit);
        }
        let read = ShardRead::Scan {
            table,
            prefix: prefix.to_owned(),
            after: after.map(str::to_owned),
            limit,
        };
        match self.ask(read)? {
            (_, ShardAnswer::Rows(rows)) => rows
                .into_iter()
                .map(|(key, bytes)| {
                    let view = decode_view(table, &key, &bytes)?;
                    Ok((key, view))
                })
                .collect(),
            (shard, other) => Err(unexpected(shard, &other)),
        }
    }

    fn touches<T: DeserializeOwned>(&self, person_id: &str) -> Result<Vec<T>> {
        if let Reader::Local(store) = self {
            return store.touches(person_id);
        }
        let read = ShardRead::Touches {
            person_id: person_id.to_owned(),
        };
        match self.ask(read)? {
            (_, ShardAnswer::Touches(rows)) => rows
                .iter()
                .map(|bytes| decode_touch(person_id, bytes))
                .collect(),
            (shard, other) => Err(unexpected(shard, &other)),
        }
    }

    fn person_with_touches<V: DeserializeOwned, T: DeserializeOwned>(
        &self,
        person_id: &str,
    ) -> Result<Option<(V, Vec<T>)>> {
        if let Reader::Local(store) = self {
            return store.person_with_touches(person_id);
        }
        // Two reads of the other instance: the rows may be a commit later
        // than the view.
        let Some(person) = self
            .get_many::<V>(Table::Persons, &[person_id])?
            .pop()
            .flatten()
        else {
            return Ok(None);
        };
        Ok(Some((person, self.touches(person_id)?)))
    }

    fn stream(
        &self,
        kind: StreamKind,
        id: &str,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        if let Reader::Local(store) = self {
            return store.stream(kind, id, from_seq, limit);
        }
        let mut out = Vec::new();
        let mut from = from_seq;
        while out.len() < limit {
            let read = ShardRead::Stream {
                kind,
                id: id.to_owned(),
                from_seq: from,
                limit: limit - out.len(),
            };
            let events = match self.ask(read)? {
                (_, ShardAnswer::Events(events)) => events,
                (shard, other) => return Err(unexpected(shard, &other)),
            };
            let Some(&(last, _)) = events.last() else {
                break;
            };
            for (seq, bytes) in events {
                let envelope =
                    touchline_proto::decode_stored(&bytes).map_err(|e| StoreError::Corrupt {
                        what: "event",
                        key: seq.to_string(),
                        detail: e.to_string(),
                    })?;
                out.push(StoredEvent { seq, envelope });
            }
            from = last + 1;
        }
        Ok(out)
    }

    fn meta_bytes(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self.ask(ShardRead::Meta {
            key: key.to_owned(),
        })? {
            (_, ShardAnswer::Meta(bytes)) => Ok(bytes),
            (shard, other) => Err(unexpected(shard, &other)),
        }
    }

    fn offsets(&self) -> Result<Vec<PartitionOffset>> {
        match self.ask(ShardRead::Offsets)? {
            (_, ShardAnswer::Offsets(offsets)) => Ok(offsets),
            (shard, other) => Err(unexpected(shard, &other)),
        }
    }

    /// The next log position and the last write's sequence.
    fn position(&self) -> Result<(u64, u64)> {
        match self.ask(ShardRead::Position)? {
            (
                _,
                ShardAnswer::Position {
                    next_seq,
                    write_sequence,
                },
            ) => Ok((next_seq, write_sequence)),
            (shard, other) => Err(unexpected(shard, &other)),
        }
    }
}

/// What a query reads.
#[derive(Debug, Clone)]
pub enum Stores {
    /// A single-store engine's store.
    One(Arc<Store>),
    /// The shards of a sharded group: those this instance holds, and those
    /// its peers hold.
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

    /// Every shard's reader with its number, in shard order.
    fn readers(&self) -> Vec<(u32, Reader)> {
        let held = match self {
            Stores::One(store) => return vec![(0, Reader::Local(store.clone()))],
            Stores::Shards(held) => held,
        };
        let mut readers: Vec<(u32, Reader)> = held
            .shards()
            .into_iter()
            .map(|(shard, store)| (shard, Reader::Local(store)))
            .collect();
        if let Some(peers) = held.peers() {
            let here: Vec<u32> = readers.iter().map(|(shard, _)| *shard).collect();
            for shard in peers.shards_elsewhere(&here) {
                readers.push((
                    shard,
                    Reader::Remote {
                        shard,
                        peers: peers.clone(),
                    },
                ));
            }
            readers.sort_by_key(|(shard, _)| *shard);
        }
        readers
    }

    fn all(&self) -> Vec<Reader> {
        self.readers().into_iter().map(|(_, r)| r).collect()
    }

    pub fn get<T: ShardedView>(&self, key: &str) -> Result<Option<T>> {
        if let Stores::One(store) = self {
            return store.get(T::TABLE, key);
        }
        Ok(self.get_many::<T>(&[key])?.pop().flatten())
    }

    /// Many views at once, in the order of `keys`.
    pub fn get_many<T: ShardedView>(&self, keys: &[&str]) -> Result<Vec<Option<T>>> {
        if let Stores::One(store) = self {
            return store.get_many(T::TABLE, keys);
        }
        let mut out: Vec<Option<T>> = keys.iter().map(|_| None).collect();
        for reader in self.all() {
            for (slot, view) in out.iter_mut().zip(reader.get_many::<T>(T::TABLE, keys)?) {
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
        for reader in self.all() {
            let touches = reader.touches(person_id)?;
            if !touches.is_empty() {
                return Ok(touches);
            }
        }
        Ok(Vec::new())
    }

    /// A person and its touch rows, read together from one snapshot of the
    /// shard it lives on (two reads when that shard is another instance's).
    pub fn person_with_touches<V: DeserializeOwned, T: DeserializeOwned>(
        &self,
        person_id: &str,
    ) -> Result<Option<(V, Vec<T>)>> {
        for reader in self.all() {
            if let Some(found) = reader.person_with_touches(person_id)? {
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
        let readers = match self {
            Stores::One(store) => return store.for_each_person_with_touches(visit),
            Stores::Shards(_) => self.all(),
        };
        let mut failed = None;
        merged(
            &readers,
            "",
            None,
            usize::MAX,
            |key, person: PersonView, shard| {
                if failed.is_some() {
                    return;
                }
                match readers[shard].touches(key) {
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
        for reader in self.all() {
            if reader.stream(kind, id, 0, 1)?.is_empty() {
                continue;
            }
            return reader.stream(kind, id, from_seq, limit);
        }
        Ok(Vec::new())
    }

    /// Engine metadata: what every shard's engine wrote alike (the
    /// attribution configuration), from the first that has it.
    pub fn meta_bytes(&self, key: &str) -> Result<Option<Vec<u8>>> {
        if let Stores::One(store) = self {
            return store.meta_bytes(key);
        }
        for reader in self.all() {
            if let Some(bytes) = reader.meta_bytes(key)? {
                return Ok(Some(bytes));
            }
        }
        Ok(None)
    }

    /// The input offsets every store covers.
    pub fn offsets(&self) -> Result<Vec<PartitionOffset>> {
        if let Stores::One(store) = self {
            return store.offsets();
        }
        let mut out = Vec::new();
        for reader in self.all() {
            out.extend(reader.offsets()?);
        }
        Ok(out)
    }

    /// The events the stores' logs hold, counted as log positions: the one
    /// store's next sequence, or the sum of the shards'.
    pub fn next_seq(&self) -> Result<u64> {
        if let Stores::One(store) = self {
            return store.next_seq();
        }
        let mut sum = 0u64;
        for reader in self.all() {
            sum = sum.saturating_add(reader.position()?.0);
        }
        Ok(sum)
    }

    /// Where each shard's store stood, by shard: changes with any commit,
    /// one that moves a group away included. Empty for a single store.
    pub fn shard_positions(&self) -> Result<Vec<(u32, u64)>> {
        if let Stores::One(_) = self {
            return Ok(Vec::new());
        }
        self.readers()
            .into_iter()
            .map(|(shard, reader)| Ok((shard, reader.position()?.1)))
            .collect()
    }
}

/// One shard's next views in a merged scan.
struct Cursor<T> {
    page: VecDeque<(String, T)>,
    after: Option<String>,
    done: bool,
}

/// Visits the views under `prefix` of every reader in key order, after
/// `after`, at most `limit` keys; copies of one key on several shards are
/// combined into one, visited with the index of the reader of the first.
fn merged<T: ShardedView>(
    readers: &[Reader],
    prefix: &str,
    after: Option<&str>,
    limit: usize,
    mut visit: impl FnMut(&str, T, usize),
) -> Result<()> {
    let page = PAGE.min(limit.max(1));
    let mut cursors: Vec<Cursor<T>> = readers
        .iter()
        .map(|_| Cursor {
            page: VecDeque::new(),
            after: after.map(str::to_owned),
            done: false,
        })
        .collect();
    // A page shorter than asked is not the end: another instance may cut
    // its answers shorter. Only an empty page is.
    let refill = |cursor: &mut Cursor<T>, reader: &Reader| -> Result<()> {
        if cursor.page.is_empty() && !cursor.done {
            let next = reader.scan::<T>(T::TABLE, prefix, cursor.after.as_deref(), page)?;
            cursor.done = next.is_empty();
            if let Some((key, _)) = next.last() {
                cursor.after = Some(key.clone());
            }
            cursor.page.extend(next);
        }
        Ok(())
    };
    let mut heads = BinaryHeap::new();
    for (i, cursor) in cursors.iter_mut().enumerate() {
        refill(cursor, &readers[i])?;
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
            refill(&mut cursors[i], &readers[i])?;
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
