//! One shard: an engine of its own over the groups that live here, fed the
//! records of its partition of the shards topic in order.
//!
//! Every record's effect is written with the partition offset after it, in the
//! engine's commits, so a shard restarted from its store goes on where it
//! stopped; a record read twice changes nothing twice (event ids are deduped,
//! hand-overs run and arrive once by id). Records for other shards are queued
//! in the same commits and sent afterwards ([`ShardTask::outgoing`]), so a crash
//! can send one twice, never lose one.

use std::sync::Arc;

use hashbrown::HashSet;

use touchline_core::Envelope;
use touchline_core::colocation::{Entity, shard_of};
use touchline_engine::{Batch, Engine, Handover};
use touchline_store::{PartitionOffset, Store};

use crate::ShardError;
use crate::record::{Handed, Link, ShardRecord};
use crate::state::{OUT, State, out_key};

/// Events per part of a group handed over: parts stay well under Kafka's
/// default message size limit for events of the contracts' sizes.
pub const EVENTS_PER_PART: usize = 500;

/// A record waiting to be sent to another shard's partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its place in this shard's queue; [`ShardTask::sent`] trims through it.
    pub seq: u64,
    pub shard: u32,
    /// A [`ShardRecord`], encoded.
    pub record: Vec<u8>,
}

/// The shard's engine and the state around it.
pub struct ShardTask {
    engine: Engine,
    state: State,
    shard: u32,
    shards: u32,
    topic: String,
    /// What the records read so far and not yet written make: events to fold.
    events: Vec<Envelope>,
    /// The people, accounts and opportunities those events name.
    pending_named: HashSet<Entity>,
    /// Hand-overs read and not yet made, in partition order.
    leaving: Vec<Leaving>,
    /// Records forwarded to where those groups go, sent after them.
    forwards: Vec<(u32, Vec<u8>)>,
    /// Parts of groups handed over to this shard, read and not yet taken
    /// over, in partition order.
    arriving: Vec<Handed>,
    /// The offset after the last record received.
    next_offset: i64,
    /// The offset the last commit submitted writes.
    written: i64,
    /// Unsynced commits were submitted since the last synced one.
    intermediate: bool,
}

impl std::fmt::Debug for ShardTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardTask")
            .field("shard", &self.shard)
            .field("shards", &self.shards)
            .field("topic", &self.topic)
            .finish()
    }
}

impl ShardTask {
    /// The task for `shard` of `shards`, reading partition `shard` of `topic`.
    pub fn new(engine: Engine, topic: &str, shard: u32, shards: u32) -> Result<Self, ShardError> {
        let state = State::open(engine.store().clone())?;
        let next_offset = engine
            .offsets()?
            .into_iter()
            .find(|o| o.topic == topic && o.partition == shard as i32)
            .map_or(0, |o| o.next_offset);
        Ok(ShardTask {
            engine,
            state,
            shard,
            shards,
            topic: topic.to_owned(),
            events: Vec::new(),
            pending_named: HashSet::new(),
            leaving: Vec::new(),
            forwards: Vec::new(),
            arriving: Vec::new(),
            next_offset,
            written: next_offset,
            intermediate: false,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn store(&self) -> &Arc<Store> {
        self.engine.store()
    }

    pub fn into_engine(self) -> Engine {
        self.engine
    }

    /// The offset of this shard's partition to read next: after the last
    /// record received, or where the store's last commit left off, which is
    /// 0 for a shard with no state (it restores by reading its partition
    /// from the beginning).
    pub fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Folds, forwards and hands over what `records` (offset, record; in
    /// partition order) say, and submits the commit that ends with the
    /// offset after them, without waiting for it: the engine writes it while
    /// the caller goes on, and it is durable when the next records are
    /// received or [`ShardTask::durable`] returns.
    ///
    /// Whatever a reader of the store sees of this is durable: the last
    /// commit is synced (RocksDB makes a synced write visible after its
    /// fsync), and when the records made commits of their own on the way
    /// (hand-overs, which are not synced), this waits for the last. So what
    /// [`ShardTask::outgoing`] and the publisher read may be sent at once.
    /// The commit also queues a floor record with the highest version given,
    /// for this shard's own partition, when that rose.
    pub fn receive(&mut self, records: Vec<(i64, ShardRecord)>) -> Result<(), ShardError> {
        if records.is_empty() {
            return Ok(());
        }
        for (offset, record) in records {
            self.one(record)?;
            self.next_offset = offset + 1;
        }
        self.take_over_deferred()?;
        self.hand_over_deferred()?;
        let floor_sent = self.state.floor_sent()?;
        let batch = Batch {
            events: self.take_events(),
            offsets: self.offsets(),
            ..Batch::default()
        };
        let (shard, state) = (self.shard, &mut self.state);
        self.engine.submit_with(batch, true, |top| {
            if top > floor_sent {
                state.send(shard, &ShardRecord::Floor(top).encode());
                state.set_floor_sent(top);
            }
            state.take_writes()
        })?;
        self.written = self.next_offset;
        if std::mem::take(&mut self.intermediate) {
            self.engine.flush()?;
        }
        Ok(())
    }

    /// Returns once every commit submitted is on disk.
    pub fn durable(&mut self) -> Result<(), ShardError> {
        self.engine.flush()?;
        Ok(())
    }

    fn one(&mut self, record: ShardRecord) -> Result<(), ShardError> {
        match record {
            // Raised for the records before it too: a floor only ever lifts
            // versions, and every owner that reads it raises it.
            ShardRecord::Floor(floor) => self.engine.raise_version_floor(floor),
            ShardRecord::Routed(envelope, key) => {
                let named = named(&envelope);
                match self.moved(&named, key.as_ref())? {
                    Some(to) => {
                        let record = ShardRecord::Routed(envelope, Some(to.clone()));
                        self.forward(&to, &record)
                    }
                    None => self.pend(envelope),
                }
            }
            ShardRecord::Link(link) => {
                let waits = self.state.still_waiting(&link.waits)?;
                let link = Link { waits, ..link };
                match self.moved(&named(&link.envelope), Some(&link.key))? {
                    Some(to) => {
                        let record = ShardRecord::Link(Link {
                            key: to.clone(),
                            ..link
                        });
                        self.forward(&to, &record)
                    }
                    None => {
                        // Behind the links of its group still held here: a
                        // part of the group is still on its way, and what this
                        // link changes must not be computed without it.
                        let mut waits = link.waits;
                        for held in self.state.holding(&named(&link.envelope))? {
                            waits.extend(self.state.still_waiting(&held.waits)?);
                        }
                        waits.sort_unstable();
                        waits.dedup();
                        let link = Link { waits, ..link };
                        if link.waits.is_empty() {
                            self.pend(link.envelope);
                        } else {
                            self.state.hold(&link);
                        }
                    }
                }
            }
            ShardRecord::HandOver { id, members, to } => {
                if !self.state.ran(id)? && !self.leaving.iter().any(|h| h.id == id) {
                    self.defer_hand_over(id, members, to)?;
                }
            }
            ShardRecord::Handed(handed) => match self.moved(&handed.members, Some(&handed.to))? {
                Some(to) => {
                    let record = ShardRecord::Handed(Handed {
                        to: to.clone(),
                        ..handed
                    });
                    self.forward(&to, &record)
                }
                // Taken over with the others of the round, before any
                // hand-over is made (`ShardTask::hand_over_deferred`).
                None => self.arriving.push(handed),
            },
        }
        Ok(())
    }

    /// Where the group of these entities went, if it left, for a record
    /// meant for the group keyed `key` (unknown from the router). A pointer
    /// to a key greater than `key` is older than the record: the group has
    /// come back since, and the pointer is dropped.
    fn moved(
        &mut self,
        named: &[Entity],
        key: Option<&Entity>,
    ) -> Result<Option<Entity>, ShardError> {
        let mut found = None;
        for entity in named {
            if let Some(leaving) = self.leaving.iter().find(|h| h.members.contains(entity)) {
                if key.is_none_or(|key| leaving.to <= *key) {
                    found.get_or_insert_with(|| leaving.to.clone());
                    continue;
                }
                // Older than the record: the hand-overs land first, and the
                // pointer is read as any other.
                self.hand_over_deferred()?;
            }
            let Some(to) = self.state.pointer(entity)? else {
                continue;
            };
            if key.is_some_and(|key| to > *key) {
                self.state.unpoint(entity);
            } else if found.is_none() {
                found = Some(to);
            }
        }
        Ok(found)
    }

    fn forward(&mut self, to: &Entity, record: &ShardRecord) {
        let shard = shard_of(to, self.shards);
        debug_assert_ne!(shard, self.shard, "a pointer names another shard");
        // A group noted to leave reaches its new shard before what follows it.
        if self.leaving.iter().any(|group| group.to == *to) {
            self.forwards.push((shard, record.encode()));
        } else {
            self.state.send(shard, &record.encode());
        }
    }

    /// Notes a hand-over, to be made with the others of the round in one
    /// commit ([`ShardTask::hand_over_deferred`]): until then, records
    /// naming the group are forwarded to its new shard as if it had left.
    fn defer_hand_over(
        &mut self,
        id: u64,
        members: Vec<Entity>,
        to: Entity,
    ) -> Result<(), ShardError> {
        // The records before this one that name the group land first: the
        // hand-over reads its history from the store. The others may wait
        // for the next commit: they read nothing the hand-over changes but
        // campaign counters, which are sums.
        if members.iter().any(|m| self.pending_named.contains(m)) {
            self.write()?;
        }
        // The groups of one commit are disjoint.
        if self
            .leaving
            .iter()
            .any(|group| group.members.iter().any(|m| members.contains(m)))
        {
            self.hand_over_deferred()?;
        }
        self.leaving.push(Leaving { id, members, to });
        Ok(())
    }

    /// Makes the hand-overs noted so far, in one commit with everything
    /// they queue for the shards the groups join, their forwarding pointers
    /// and the marks that they ran.
    fn hand_over_deferred(&mut self) -> Result<(), ShardError> {
        if self.leaving.is_empty() {
            return Ok(());
        }
        // What arrived before lands first: a take-over may release held
        // links naming a group that leaves, which then goes with them.
        self.take_over_deferred()?;
        let leaving = std::mem::take(&mut self.leaving);
        let mut pending: Vec<Vec<Link>> = Vec::with_capacity(leaving.len());
        for group in &leaving {
            let mut links = Vec::new();
            for link in self.state.holding(&group.members)? {
                self.state.release(&link.envelope.event_id)?;
                links.push(Link {
                    waits: self.state.still_waiting(&link.waits)?,
                    key: group.to.clone(),
                    envelope: link.envelope,
                });
            }
            pending.push(links);
            for member in &group.members {
                self.state.point(member, &group.to);
            }
            self.state.mark_ran(group.id);
        }
        let groups: Vec<&[Entity]> = leaving.iter().map(|g| g.members.as_slice()).collect();
        let forwards = std::mem::take(&mut self.forwards);
        let (state, shards) = (&mut self.state, self.shards);
        self.intermediate = true;
        self.engine.hand_over_many_with(&groups, |handovers| {
            for ((group, handover), links) in leaving.iter().zip(handovers).zip(pending) {
                let shard = shard_of(&group.to, shards);
                for part in parts(group.id, &group.members, &group.to, handover, links) {
                    state.send(shard, &ShardRecord::Handed(part).encode());
                }
            }
            for (shard, record) in &forwards {
                state.send(*shard, record);
            }
            state.take_writes()
        })?;
        Ok(())
    }

    /// Makes the take-overs noted so far, in order, and folds their groups
    /// with the events read so far as one batch, with the offset after them.
    fn take_over_deferred(&mut self) -> Result<(), ShardError> {
        if self.arriving.is_empty() {
            return Ok(());
        }
        // The records before fold with the groups, in their commit: folding
        // does not depend on how events are batched.
        let mut events = self.take_events();
        let mut handovers = Vec::with_capacity(self.arriving.len());
        for handed in std::mem::take(&mut self.arriving) {
            let Handed {
                id,
                last,
                handover,
                pending,
                ..
            } = handed;
            handovers.push(handover);
            if last {
                self.state.mark_arrived(id);
            }
            for link in pending {
                let waits = self.state.still_waiting(&link.waits)?;
                if waits.is_empty() {
                    events.push(link.envelope);
                } else {
                    self.state.hold(&Link { waits, ..link });
                }
            }
            if last {
                for link in self.state.waiting_on(id)? {
                    let waits = self.state.still_waiting(&link.waits)?;
                    if waits.is_empty() {
                        self.state.release(&link.envelope.event_id)?;
                        events.push(link.envelope);
                    } else {
                        self.state.hold(&Link { waits, ..link });
                    }
                }
            }
        }
        let batch = Batch {
            events,
            offsets: self.offsets(),
            meta: self.state.take_writes(),
            ..Batch::default()
        };
        self.engine.take_over_many_unsynced(handovers, batch)?;
        self.written = self.next_offset;
        self.intermediate = true;
        Ok(())
    }

    fn pend(&mut self, envelope: Envelope) {
        self.pending_named.extend(named(&envelope));
        self.events.push(envelope);
    }

    fn take_events(&mut self) -> Vec<Envelope> {
        self.pending_named.clear();
        std::mem::take(&mut self.events)
    }

    fn offsets(&self) -> Vec<PartitionOffset> {
        vec![PartitionOffset {
            topic: self.topic.clone(),
            partition: self.shard as i32,
            next_offset: self.next_offset,
        }]
    }

    /// Submits what the records read so far make, with the offset after
    /// them, unsynced: the last commit of [`ShardTask::receive`] makes it
    /// durable.
    fn write(&mut self) -> Result<(), ShardError> {
        if self.events.is_empty() && self.state.is_clean() && self.next_offset == self.written {
            return Ok(());
        }
        let batch = Batch {
            events: self.take_events(),
            offsets: self.offsets(),
            meta: self.state.take_writes(),
            ..Batch::default()
        };
        self.engine.submit_with(batch, false, |_| Vec::new())?;
        self.written = self.next_offset;
        self.intermediate = true;
        Ok(())
    }

    /// Queues a floor record for this shard's own partition when the engine
    /// has given versions above the last one queued, and writes it: call it
    /// after [`ShardTask::receive`] and before publishing, so that every
    /// version published is below a floor in the partition.
    pub fn checkpoint_floor(&mut self) -> Result<(), ShardError> {
        let top = self.engine.max_version();
        if top <= self.state.floor_sent()? {
            return Ok(());
        }
        self.state
            .send(self.shard, &ShardRecord::Floor(top).encode());
        self.state.set_floor_sent(top);
        self.engine.apply(Batch {
            meta: self.state.take_writes(),
            ..Batch::default()
        })?;
        Ok(())
    }

    /// The oldest `limit` records waiting to be sent to other shards.
    pub fn outgoing(&self, limit: usize) -> Result<Vec<Outgoing>, ShardError> {
        self.store()
            .extensions(OUT, None, limit)?
            .into_iter()
            .map(|(seq, value)| {
                let seq = seq
                    .parse()
                    .map_err(|_| ShardError::Malformed(format!("outgoing key {seq:?}")))?;
                let (shard, record) = value
                    .split_first_chunk::<4>()
                    .ok_or_else(|| ShardError::Malformed("outgoing record too short".into()))?;
                Ok(Outgoing {
                    seq,
                    shard: u32::from_be_bytes(*shard),
                    record: record.to_vec(),
                })
            })
            .collect()
    }

    /// Trims the queue of records for other shards through `seq`, once Kafka
    /// acknowledged them.
    pub fn sent(&mut self, through: &[u64]) -> Result<(), ShardError> {
        let mut commit = self.store().commit();
        for seq in through {
            commit.delete_extension(&out_key(*seq));
        }
        // Not synced: a trim lost sends the records again, and every record
        // is applied once by its id.
        self.store().write_unsynced(commit)?;
        Ok(())
    }
}

/// A group to hand over to the shard of `to`.
#[derive(Debug)]
struct Leaving {
    id: u64,
    members: Vec<Entity>,
    to: Entity,
}

/// The people, accounts and opportunities an event names, without repeats.
fn named(envelope: &Envelope) -> Vec<Entity> {
    envelope.event.colocated_entities()
}

/// A group handed over, cut into parts: the conversions and waiting links
/// with the first, events [`EVENTS_PER_PART`] at a time.
fn parts(
    id: u64,
    members: &[Entity],
    to: &Entity,
    handover: &Handover,
    pending: Vec<Link>,
) -> Vec<Handed> {
    let mut chunks: Vec<Vec<Envelope>> = handover
        .events
        .chunks(EVENTS_PER_PART)
        .map(<[Envelope]>::to_vec)
        .collect();
    if chunks.is_empty() {
        chunks.push(Vec::new());
    }
    let count = chunks.len();
    let mut pending = Some(pending);
    chunks
        .into_iter()
        .enumerate()
        .map(|(part, events)| Handed {
            id,
            part: part as u32,
            last: part + 1 == count,
            members: members.to_vec(),
            to: to.clone(),
            handover: Handover {
                events,
                conversions: if part == 0 {
                    handover.conversions.clone()
                } else {
                    Vec::new()
                },
            },
            pending: pending.take().unwrap_or_default(),
        })
        .collect()
}
