//! The directory: the one task that decides, in the links topic's order,
//! which groups an event joins, where the joined group lives, and which
//! shards must hand their part of it over first.
//!
//! The links topic has one partition, so every instance that ever runs the
//! directory sees the same links in the same order and decides the same: the
//! directory's state is the topic itself, rebuilt by reading it again. Kafka's
//! group assignment picks the instance that runs it.

use hashbrown::HashMap;
use touchline_core::Envelope;
use touchline_core::colocation::{Directory, Entity, shard_of};

use crate::record::{Link, ShardRecord};

/// Events naming more entities than this are split over hand-over ids that
/// would collide; no event of touchline's contracts comes near (an
/// opportunity's contacts are bounded by the event size limit).
pub const MAX_GROUPS_JOINED: usize = 1 << 16;

/// The directory task's state: every link made so far, and the members of
/// each group that has more than one.
#[derive(Debug, Default)]
pub struct Linker {
    directory: Directory,
    /// Members of each group with links, by key; an entity never linked is a
    /// group of its own and has no entry.
    members: HashMap<Entity, Vec<Entity>>,
}

impl Linker {
    /// Decides the event at `offset` of the links topic: the hand-overs it
    /// causes, each to the shard holding a joined group, and the event itself
    /// for the shard of the group it makes, waiting for those hand-overs.
    pub fn decide(
        &mut self,
        offset: u64,
        envelope: Envelope,
        shards: u32,
    ) -> Vec<(u32, ShardRecord)> {
        let named = envelope.event.colocated_entities();
        let mut before: Vec<Entity> = named.iter().map(|e| self.directory.key(e)).collect();
        before.sort();
        before.dedup();
        self.directory.link_event(&envelope.event);
        let Some(key) = named.first().map(|e| self.directory.key(e)) else {
            // Names nothing: every shard's, as the router would have sent it.
            return (0..shards)
                .map(|shard| (shard, ShardRecord::Routed(envelope.clone(), None)))
                .collect();
        };
        let to = shard_of(&key, shards);
        let mut out = Vec::new();
        let mut waits = Vec::new();
        let mut joined = self
            .members
            .remove(&key)
            .unwrap_or_else(|| vec![key.clone()]);
        for (index, root) in before.iter().filter(|r| **r != key).enumerate() {
            let members = self
                .members
                .remove(root)
                .unwrap_or_else(|| vec![root.clone()]);
            let from = shard_of(root, shards);
            if from != to {
                let id = (offset << 16) | (index as u64 % MAX_GROUPS_JOINED as u64);
                out.push((
                    from,
                    ShardRecord::HandOver {
                        id,
                        members: members.clone(),
                        to: key.clone(),
                    },
                ));
                waits.push(id);
            }
            joined.extend(members);
        }
        joined.sort();
        joined.dedup();
        if joined.len() > 1 {
            self.members.insert(key.clone(), joined);
        }
        out.push((
            to,
            ShardRecord::Link(Link {
                envelope,
                waits,
                key,
            }),
        ));
        out
    }

    /// How many entities are in groups of more than one.
    pub fn linked(&self) -> usize {
        self.directory.linked()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use touchline_core::StreamKind;
    use touchline_fixtures::*;

    fn shard(kind: StreamKind, id: &str, shards: u32) -> u32 {
        shard_of(&Entity::new(kind, id), shards)
    }

    #[test]
    fn a_link_hands_the_greater_group_over_and_waits_for_it() {
        let shards = 64;
        let mut linker = Linker::default();
        // ann (person) and deal-1 (opportunity): the deal keys the group.
        let role =
            |id: &str, person: &str| envelope(id, 0, contact_role("deal-1", person, "technical"));
        let out = linker.decide(7, role("r1", "ann"), shards);
        let ann = Entity::new(StreamKind::Person, "ann");
        let deal = Entity::new(StreamKind::Opportunity, "deal-1");
        let to = shard(StreamKind::Opportunity, "deal-1", shards);
        let from = shard(StreamKind::Person, "ann", shards);
        assert_ne!(to, from, "the test needs two shards");
        assert_eq!(
            out[0],
            (
                from,
                ShardRecord::HandOver {
                    id: 7 << 16,
                    members: vec![ann.clone()],
                    to: deal.clone()
                }
            )
        );
        let (at, ShardRecord::Link(link)) = &out[1] else {
            panic!("the event follows: {out:?}");
        };
        assert_eq!((*at, link.waits.clone()), (to, vec![7 << 16]));
        // Linked again: nothing moves, nothing to wait for.
        let again = linker.decide(8, role("r2", "ann"), shards);
        assert!(
            matches!(&again[..], [(s, ShardRecord::Link(l))] if *s == to && l.waits.is_empty())
        );
        // A second person joins: only their own history moves, the deal's
        // group keeps its key and its shard.
        let out = linker.decide(9, role("r3", "aaron"), shards);
        let aaron = Entity::new(StreamKind::Person, "aaron");
        let (at, ShardRecord::Link(link)) = out.last().expect("the event") else {
            panic!("the event comes last: {out:?}");
        };
        assert_eq!((*at, &link.key), (to, &deal));
        if shard(StreamKind::Person, "aaron", shards) != to {
            assert!(matches!(
                &out[0],
                (_, ShardRecord::HandOver { members, to: key, .. }) if *members == [aaron.clone()] && *key == deal
            ));
        }
        assert_eq!(linker.linked(), 2);
    }
}
