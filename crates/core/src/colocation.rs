//! The partitioning contract: which state must meet on one shard, and which
//! shard that is.
//!
//! Attribution joins a conversion with every touch of the people behind it: an
//! opportunity's contacts (or, in account mode, every contact of its account),
//! and a person's merged duplicates. Account views join an account's contacts,
//! deals and transactions. So the people, accounts and opportunities one event
//! names are *linked*, and linked entities form a *group* (a connected
//! component) whose state lives on one shard. Campaigns link nothing: every
//! shard keeps every campaign's metadata, and a campaign's counters are the sum
//! of every shard's.
//!
//! A group's *key* is its least member (accounts first, then opportunities,
//! then people; then by id), so a group's key, and
//! the shard it names, depend only on which links exist, never on the order they
//! arrived in. When a link joins two groups, the one with the greater key moves
//! to the other's shard: [`Directory::link`] reports each such [`Join`].
//!
//! A shard is a partition of a topic keyed by [`Entity::partition_key`], placed
//! by Kafka's own partitioner ([`kafka_partition`]), so touchline and any Kafka
//! client agree on where a key lives.
//!
//! ```
//! use touchline_core::colocation::{Directory, Entity};
//! use touchline_core::StreamKind;
//!
//! let mut directory = Directory::default();
//! let ann = Entity::new(StreamKind::Person, "ann");
//! let deal = Entity::new(StreamKind::Opportunity, "deal-1");
//! let acme = Entity::new(StreamKind::Account, "acme");
//! // ann is a contact of deal-1, deal-1 belongs to acme.
//! let join = directory.link(&deal, &ann).unwrap();
//! assert_eq!((join.key.id.as_str(), join.absorbed.id.as_str()), ("deal-1", "ann"));
//! directory.link(&deal, &acme);
//! // One group, keyed by its least member, whatever the order of the links:
//! // an account before a deal before a person.
//! assert_eq!(directory.key(&ann), acme);
//! assert_eq!(directory.key(&Entity::new(StreamKind::Person, "bob")).id, "bob");
//! ```

use std::collections::HashMap;

use crate::{Event, StreamKind, StreamRef};

/// A person, account or opportunity: something a group is made of.
///
/// Ordered accounts first, then opportunities, then people (then by id): a
/// group's key is its least member, so a B2B group is keyed by an account and
/// keeps its key, and its shard, as its people join one by one; only the
/// joining person's own small history moves.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Entity {
    pub kind: StreamKind,
    pub id: String,
}

/// Where a kind sorts among group members.
fn rank(kind: StreamKind) -> u8 {
    match kind {
        StreamKind::Account => 0,
        StreamKind::Opportunity => 1,
        StreamKind::Person => 2,
        StreamKind::Campaign => 3,
    }
}

impl Ord for Entity {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (rank(self.kind), &self.id).cmp(&(rank(other.kind), &other.id))
    }
}

impl PartialOrd for Entity {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Entity {
    pub fn new(kind: StreamKind, id: impl Into<String>) -> Self {
        Entity {
            kind,
            id: id.into(),
        }
    }

    fn of(stream: StreamRef<'_>) -> Self {
        Entity::new(stream.kind, stream.id)
    }

    /// The key a group keyed by this entity has on a partitioned topic:
    /// `person:ann`, `account:acme`. Kinds are spelled out so that a person and
    /// an account with the same id stay apart.
    pub fn partition_key(&self) -> String {
        format!("{}:{}", self.kind.name(), self.id)
    }
}

impl Event {
    /// The streams of this event whose state must meet on one shard: every
    /// person, account and opportunity it names. Campaigns are left out, since
    /// every shard has them all.
    pub fn colocated(&self) -> impl Iterator<Item = StreamRef<'_>> {
        self.streams().filter(|s| s.kind != StreamKind::Campaign)
    }

    /// The member of the group this event's state belongs to, once its own
    /// links are made: its first co-located stream; `None` for a campaign's
    /// own event.
    pub fn group_member(&self) -> Option<Entity> {
        self.colocated().next().map(Entity::of)
    }

    /// [`Event::colocated`] as entities, sorted, each once.
    pub fn colocated_entities(&self) -> Vec<Entity> {
        let mut named: Vec<Entity> = self.colocated().map(Entity::of).collect();
        named.sort();
        named.dedup();
        named
    }
}

/// Two groups became one: `absorbed` (the greater key) now belongs to `key`'s
/// group, and its state moves to `key`'s shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Join {
    pub key: Entity,
    pub absorbed: Entity,
}

/// Where an event goes among `shards`, and what moves first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The shard of the event's group; `None` for a campaign's event, which
    /// every shard receives.
    pub shard: Option<u32>,
    /// The group the event belongs to, once its links are made.
    pub key: Option<Entity>,
    /// Shards holding history of a group this event joined into `key`'s:
    /// every event there naming a member of the group is sent to `shard`
    /// before this one. Ascending, without `shard` itself.
    pub moves_from: Vec<u32>,
}

/// Which group every linked entity belongs to: a union-find whose roots are
/// each group's least member. An entity never linked is a group of its own
/// and takes no room.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    parent: HashMap<Entity, Entity>,
}

impl Directory {
    /// The key of `entity`'s group.
    pub fn key(&self, entity: &Entity) -> Entity {
        let mut at = entity;
        while let Some(up) = self.parent.get(at) {
            at = up;
        }
        at.clone()
    }

    /// The key of the group an event's state belongs to, once its own links
    /// are made; `None` for an event with no person, account or opportunity
    /// (a campaign's), which every shard receives.
    pub fn key_of_event(&self, event: &Event) -> Option<Entity> {
        event.group_member().map(|member| self.key(&member))
    }

    /// Links `a` and `b`; the join, if they were in different groups.
    pub fn link(&mut self, a: &Entity, b: &Entity) -> Option<Join> {
        let root_a = self.find_compressing(a);
        let root_b = self.find_compressing(b);
        if root_a == root_b {
            return None;
        }
        let (key, absorbed) = if root_a < root_b {
            (root_a, root_b)
        } else {
            (root_b, root_a)
        };
        self.parent.insert(absorbed.clone(), key.clone());
        Some(Join { key, absorbed })
    }

    /// Makes every link `event` implies; the joins, in the order they happened.
    pub fn link_event(&mut self, event: &Event) -> Vec<Join> {
        let mut streams = event.colocated();
        let Some(first) = streams.next().map(Entity::of) else {
            return Vec::new();
        };
        streams
            .filter_map(|other| self.link(&first, &Entity::of(other)))
            .collect()
    }

    /// Every entity in the group keyed by `key`, `key` included.
    pub fn members(&self, key: &Entity) -> Vec<Entity> {
        let mut members: Vec<Entity> = self
            .parent
            .keys()
            .filter(|e| self.key(e) == *key)
            .cloned()
            .collect();
        members.push(key.clone());
        members.sort();
        members
    }

    /// Makes the links `event` implies and says where it goes among
    /// `shards`, and which shards' history of its group must move there.
    pub fn route(&mut self, event: &Event, shards: u32) -> Route {
        let joins = self.link_event(event);
        let Some(key) = self.key_of_event(event) else {
            return Route {
                shard: None,
                key: None,
                moves_from: Vec::new(),
            };
        };
        let to = shard_of(&key, shards);
        let mut moves_from: Vec<u32> = joins
            .iter()
            .flat_map(|j| [shard_of(&j.absorbed, shards), shard_of(&j.key, shards)])
            .filter(|&from| from != to)
            .collect();
        moves_from.sort_unstable();
        moves_from.dedup();
        Route {
            shard: Some(to),
            key: Some(key),
            moves_from,
        }
    }

    /// How many entities have been linked to another.
    pub fn linked(&self) -> usize {
        self.parent.len()
    }

    fn find_compressing(&mut self, entity: &Entity) -> Entity {
        let root = self.key(entity);
        // Point every entity on the path straight at the root, so later finds
        // take one step.
        let mut at = entity.clone();
        while let Some(up) = self.parent.get(&at).cloned() {
            if up != root {
                self.parent.insert(at, root.clone());
            }
            at = up;
        }
        root
    }
}

/// The shard of `shards` a group keyed by `key` lives on.
pub fn shard_of(key: &Entity, shards: u32) -> u32 {
    kafka_partition(key.partition_key().as_bytes(), shards)
}

/// The partition Kafka's default partitioner (the Java client's, librdkafka's
/// `murmur2_random`) gives a record with this key among `partitions`.
pub fn kafka_partition(key: &[u8], partitions: u32) -> u32 {
    debug_assert!(partitions > 0, "a topic has at least one partition");
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

/// MurmurHash2, 32-bit, with the seed Kafka uses.
fn murmur2(data: &[u8]) -> u32 {
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = 0x9747_b28c ^ data.len() as u32;
    let mut chunks = data.chunks_exact(4);
    for chunk in &mut chunks {
        let mut k = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M) ^ k;
    }
    let tail = chunks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if let Some(&first) = tail.first() {
        h ^= u32::from(first);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h
}

#[cfg(test)]
mod tests;
