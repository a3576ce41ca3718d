//! The shard's own state beside the engine's views, kept in the store's
//! extension keys and written in the same commits as the engine's: where
//! groups that left went, which hand-overs ran and arrived, link events
//! waiting, and records for other shards not yet sent.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use hashbrown::HashMap;
use touchline_core::colocation::Entity;
use touchline_engine::MetaWrite;
use touchline_store::Store;

use crate::ShardError;
use crate::record::{Link, decode_entity, decode_link, encode_entity, encode_link};

/// The people, accounts and opportunities a link event names.
fn named(link: &Link) -> Vec<Entity> {
    link.envelope.event.colocated_entities()
}

const POINTER: &str = "shards/pointer/";
const RAN: &str = "shards/ran/";
const ARRIVED: &str = "shards/arrived/";
const PENDING: &str = "shards/pending/";
/// `<hand-over id>/<event id>`: a held link waits for that hand-over.
const WAITING: &str = "shards/waiting/";
/// `<entity>/<event id>`: a held link names that entity.
const HOLDING: &str = "shards/holding/";
pub(crate) const OUT: &str = "shards/out/";
const NEXT_OUT: &str = "shards/next_out";
const FLOOR_SENT: &str = "shards/floor_sent";

fn pointer_key(entity: &Entity) -> String {
    format!("{POINTER}{}", entity.partition_key())
}

fn id_key(prefix: &str, id: u64) -> String {
    format!("{prefix}{id:020}")
}

pub(crate) fn out_key(seq: u64) -> String {
    id_key(OUT, seq)
}

/// The state as the store has it, with the writes of the batch being put
/// together on top: read through this, write into it, then take its writes
/// into the batch's commit.
#[derive(Debug)]
pub(crate) struct State {
    store: Arc<Store>,
    writes: BTreeMap<String, Option<Vec<u8>>>,
    order: Vec<String>,
    /// The writes of the last two commits taken, newest last: the engine
    /// writes a commit while the next is prepared, so the store may not
    /// have them yet. (Before the one taken before them was handed to the
    /// engine, the one before that was written.) Records for other shards
    /// are left out: they are read from the store alone, once written.
    ahead: VecDeque<BTreeMap<String, Option<Vec<u8>>>>,
    next_out: u64,
}

/// A counter kept as 8 big-endian bytes; 0 when never written.
fn counter(bytes: Option<Vec<u8>>, what: &str) -> Result<u64, ShardError> {
    match bytes {
        None => Ok(0),
        Some(bytes) => bytes
            .as_slice()
            .try_into()
            .map(u64::from_be_bytes)
            .map_err(|_| ShardError::Malformed(format!("{what} is not 8 bytes"))),
    }
}

impl State {
    pub(crate) fn open(store: Arc<Store>) -> Result<Self, ShardError> {
        let next_out = counter(store.extension(NEXT_OUT)?, "next_out")?;
        Ok(State {
            store,
            writes: BTreeMap::new(),
            order: Vec::new(),
            ahead: VecDeque::new(),
            next_out,
        })
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ShardError> {
        let newest = std::iter::once(&self.writes).chain(self.ahead.iter().rev());
        for writes in newest {
            if let Some(value) = writes.get(key) {
                return Ok(value.clone());
            }
        }
        Ok(self.store.extension(key)?)
    }

    fn set(&mut self, key: String, value: Option<Vec<u8>>) {
        if self.writes.insert(key.clone(), value).is_none() {
            self.order.push(key);
        }
    }

    /// Where `entity`'s group went, if it left this shard.
    pub(crate) fn pointer(&self, entity: &Entity) -> Result<Option<Entity>, ShardError> {
        self.get(&pointer_key(entity))?
            .map(|bytes| decode_entity(&bytes))
            .transpose()
    }

    pub(crate) fn point(&mut self, entity: &Entity, to: &Entity) {
        self.set(pointer_key(entity), Some(encode_entity(to)));
    }

    pub(crate) fn unpoint(&mut self, entity: &Entity) {
        self.set(pointer_key(entity), None);
    }

    pub(crate) fn ran(&self, id: u64) -> Result<bool, ShardError> {
        Ok(self.get(&id_key(RAN, id))?.is_some())
    }

    pub(crate) fn mark_ran(&mut self, id: u64) {
        self.set(id_key(RAN, id), Some(Vec::new()));
    }

    pub(crate) fn arrived(&self, id: u64) -> Result<bool, ShardError> {
        Ok(self.get(&id_key(ARRIVED, id))?.is_some())
    }

    pub(crate) fn mark_arrived(&mut self, id: u64) {
        self.set(id_key(ARRIVED, id), Some(Vec::new()));
    }

    /// `waits` without the hand-overs that already arrived here.
    pub(crate) fn still_waiting(&self, waits: &[u64]) -> Result<Vec<u64>, ShardError> {
        let mut left = Vec::new();
        for &id in waits {
            if !self.arrived(id)? {
                left.push(id);
            }
        }
        Ok(left)
    }

    /// Holds `link` until the hand-overs it waits for arrive, indexed by
    /// each of them and by each entity it names, so that neither an arrival
    /// nor a hand-over reads every held link.
    pub(crate) fn hold(&mut self, link: &Link) {
        let id = &link.envelope.event_id;
        if let Some(old) = self.held(id).ok().flatten() {
            self.unindex(&old);
        }
        self.set(format!("{PENDING}{id}"), Some(encode_link(link)));
        for wait in &link.waits {
            self.set(format!("{WAITING}{wait:020}/{id}"), Some(Vec::new()));
        }
        for entity in named(link) {
            self.set(
                format!("{HOLDING}{}/{id}", entity.partition_key()),
                Some(Vec::new()),
            );
        }
    }

    /// Stops holding the link of `event_id`, if held.
    pub(crate) fn release(&mut self, event_id: &str) -> Result<(), ShardError> {
        if let Some(link) = self.held(event_id)? {
            self.unindex(&link);
        }
        self.set(format!("{PENDING}{event_id}"), None);
        Ok(())
    }

    fn unindex(&mut self, link: &Link) {
        let id = &link.envelope.event_id;
        for wait in &link.waits {
            self.set(format!("{WAITING}{wait:020}/{id}"), None);
        }
        for entity in named(link) {
            self.set(format!("{HOLDING}{}/{id}", entity.partition_key()), None);
        }
    }

    fn held(&self, event_id: &str) -> Result<Option<Link>, ShardError> {
        self.get(&format!("{PENDING}{event_id}"))?
            .map(|bytes| decode_link(&bytes))
            .transpose()
    }

    /// Keys under `prefix` (the prefix cut off), this batch's writes included.
    fn keys_under(&self, prefix: &str) -> Result<Vec<String>, ShardError> {
        let mut keys: HashMap<String, bool> = self
            .store
            .extensions(prefix, None, usize::MAX)?
            .into_iter()
            .map(|(key, _)| (key, true))
            .collect();
        // Key order: only the keys under the prefix are walked.
        for writes in self.ahead.iter().chain(std::iter::once(&self.writes)) {
            let under = writes
                .range::<str, _>((
                    std::ops::Bound::Included(prefix),
                    std::ops::Bound::Unbounded,
                ))
                .map_while(|(key, value)| Some((key.strip_prefix(prefix)?, value)));
            for (rest, value) in under {
                keys.insert(rest.to_owned(), value.is_some());
            }
        }
        let mut keys: Vec<String> = keys
            .into_iter()
            .filter_map(|(key, live)| live.then_some(key))
            .collect();
        keys.sort();
        Ok(keys)
    }

    fn links_of(&self, event_ids: Vec<String>) -> Result<Vec<Link>, ShardError> {
        let mut links = Vec::new();
        for id in event_ids {
            if let Some(link) = self.held(&id)? {
                links.push(link);
            }
        }
        Ok(links)
    }

    /// The held links waiting for hand-over `id`.
    pub(crate) fn waiting_on(&self, id: u64) -> Result<Vec<Link>, ShardError> {
        self.links_of(self.keys_under(&format!("{WAITING}{id:020}/"))?)
    }

    /// The held links naming any of `members`, each once.
    pub(crate) fn holding(&self, members: &[Entity]) -> Result<Vec<Link>, ShardError> {
        let mut ids = Vec::new();
        for member in members {
            ids.extend(self.keys_under(&format!("{HOLDING}{}/", member.partition_key()))?);
        }
        ids.sort();
        ids.dedup();
        self.links_of(ids)
    }

    /// The highest version a floor record was queued for.
    pub(crate) fn floor_sent(&self) -> Result<u64, ShardError> {
        counter(self.get(FLOOR_SENT)?, "floor_sent")
    }

    pub(crate) fn set_floor_sent(&mut self, floor: u64) {
        self.set(FLOOR_SENT.to_owned(), Some(floor.to_be_bytes().to_vec()));
    }

    /// Queues `record` (encoded) for `shard`.
    pub(crate) fn send(&mut self, shard: u32, record: &[u8]) {
        let mut value = Vec::with_capacity(4 + record.len());
        value.extend_from_slice(&shard.to_be_bytes());
        value.extend_from_slice(record);
        let key = out_key(self.next_out);
        self.set(key, Some(value));
        self.next_out += 1;
        self.set(
            NEXT_OUT.to_owned(),
            Some(self.next_out.to_be_bytes().to_vec()),
        );
    }

    /// The writes put together so far, in the order made, for one commit;
    /// reads see the store again afterwards.
    pub(crate) fn take_writes(&mut self) -> Vec<MetaWrite> {
        let order = std::mem::take(&mut self.order);
        let mut writes = std::mem::take(&mut self.writes);
        let mut ahead = BTreeMap::new();
        let taken = order
            .into_iter()
            .filter_map(|key| {
                let value = writes.remove(&key)?;
                if !key.starts_with(OUT) {
                    ahead.insert(key.clone(), value.clone());
                }
                Some(MetaWrite { key, value })
            })
            .collect();
        if self.ahead.len() == 2 {
            self.ahead.pop_front();
        }
        self.ahead.push_back(ahead);
        taken
    }

    pub(crate) fn is_clean(&self) -> bool {
        self.writes.is_empty()
    }
}
