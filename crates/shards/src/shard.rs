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
    next_offset: Option<i64>,
    /// The offset the last commit wrote.
    written: Option<i64>,
    /// Commits were made that are not yet on disk.
    unsynced: bool,
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
        Ok(ShardTask {
            engine,
            state,
            shard,
            shards,
            topic: topic.to_owned(),
            events: Vec::new(),
            next_offset: None,
            written: None,
            unsynced: false,
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

    /// The offset of this shard's partition to read next: where the last
    /// commit left off, or 0 for a shard with no state (which restores by
    /// reading its partition from the beginning).
    pub fn next_offset(&self) -> Result<i64, ShardError> {
        // The last synced commit wrote it: no read needed (the runner asks
        // for every message it polls).
        if let (false, Some(written)) = (self.unsynced, self.written) {
            return Ok(written);
        }
        Ok(self
            .engine
            .offsets()?
            .into_iter()
            .find(|o| o.topic == self.topic && o.partition == self.shard as i32)
            .map_or(0, |o| o.next_offset))
    }

    /// Folds, forwards and hands over what `records` (offset, record; in
    /// partition order) say, and returns when all of it is durable.
    pub fn receive(&mut self, records: Vec<(i64, ShardRecord)>) -> Result<(), ShardError> {
        for (offset, record) in records {
            self.one(record)?;
            self.next_offset = Some(offset + 1);
        }
        // The commits made on the way were not waited for: this one is, and
        // makes them durable with it (the write-ahead log is in order).
        self.unsynced = true;
        self.write_synced()
    }

    fn one(&mut self, record: ShardRecord) -> Result<(), ShardError> {
        match record {
            ShardRecord::Floor(floor) => {
                // The records before it were given versions under the old floor.
                self.write()?;
                self.engine.raise_version_floor(floor)?;
            }
            ShardRecord::Routed(envelope, key) => {
                let named = named(&envelope);
                match self.moved(&named, key.as_ref())? {
                    Some(to) => {
                        let record = ShardRecord::Routed(envelope, Some(to.clone()));
                        self.forward(&to, &record)
                    }
                    None => self.events.push(envelope),
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
                            self.events.push(link.envelope);
                        } else {
                            self.state.hold(&link);
                        }
                    }
                }
            }
            ShardRecord::HandOver { id, members, to } => {
                if !self.state.ran(id)? {
                    self.hand_over(id, members, to)?;
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
                None => self.take_over(handed)?,
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
        self.state.send(shard, &record.encode());
    }

    fn hand_over(&mut self, id: u64, members: Vec<Entity>, to: Entity) -> Result<(), ShardError> {
        // The records before this one land first: they may be the group's.
        self.write()?;
        let leaving: Vec<Link> = self.state.holding(&members)?;
        let mut pending = Vec::new();
        for link in &leaving {
            self.state.release(&link.envelope.event_id)?;
            pending.push(Link {
                envelope: link.envelope.clone(),
                waits: self.state.still_waiting(&link.waits)?,
                key: to.clone(),
            });
        }
        for member in &members {
            self.state.point(member, &to);
        }
        self.state.mark_ran(id);
        let shard = shard_of(&to, self.shards);
        let state = &mut self.state;
        self.unsynced = true;
        self.engine.hand_over_with(&members, |handover| {
            for part in parts(id, &members, &to, handover, pending) {
                state.send(shard, &ShardRecord::Handed(part).encode());
            }
            state.take_writes()
        })?;
        Ok(())
    }

    fn take_over(&mut self, handed: Handed) -> Result<(), ShardError> {
        self.write()?;
        let Handed {
            id,
            last,
            handover,
            pending,
            ..
        } = handed;
        if last {
            self.state.mark_arrived(id);
        }
        let mut events = Vec::new();
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
        let batch = Batch {
            events,
            offsets: self.offsets(),
            meta: self.state.take_writes(),
            ..Batch::default()
        };
        self.engine.take_over_unsynced(handover, batch)?;
        self.written = self.next_offset;
        self.unsynced = true;
        Ok(())
    }

    fn offsets(&self) -> Vec<PartitionOffset> {
        self.next_offset
            .map(|next_offset| PartitionOffset {
                topic: self.topic.clone(),
                partition: self.shard as i32,
                next_offset,
            })
            .into_iter()
            .collect()
    }

    /// Writes what the records read so far make, with the offset after
    /// them, without waiting for the disk (see [`ShardTask::receive`]).
    fn write(&mut self) -> Result<(), ShardError> {
        if self.events.is_empty() && self.state.is_clean() && self.next_offset == self.written {
            return Ok(());
        }
        let batch = self.take_batch();
        self.engine.apply_unsynced(batch)?;
        self.written = self.next_offset;
        self.unsynced = true;
        Ok(())
    }

    /// The events read so far, the offset after them and the state changes,
    /// as one batch.
    fn take_batch(&mut self) -> Batch {
        Batch {
            events: std::mem::take(&mut self.events),
            offsets: self.offsets(),
            meta: self.state.take_writes(),
            ..Batch::default()
        }
    }

    /// Writes what is left, synced, so that every commit before it is on disk.
    fn write_synced(&mut self) -> Result<(), ShardError> {
        if !self.unsynced
            && self.events.is_empty()
            && self.state.is_clean()
            && self.next_offset == self.written
        {
            return Ok(());
        }
        let batch = self.take_batch();
        self.engine.apply(batch)?;
        self.written = self.next_offset;
        self.unsynced = false;
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
        self.store().write(commit)?;
        Ok(())
    }
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
