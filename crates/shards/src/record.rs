//! The records of the shards topic, as Rust values, and their wire form
//! (`proto/touchline/shards/v1/shards.proto`).

use prost::Message as _;
use touchline_attribution::Model;
use touchline_core::colocation::Entity;
use touchline_core::{Envelope, StreamKind, Timestamp};
use touchline_engine::{Handover, MovedConversion};
use touchline_proto::shards::v1 as wire;

use crate::ShardError;

/// What a shard receives.
#[derive(Debug, Clone, PartialEq)]
pub enum ShardRecord {
    /// An event naming at most one person, account or opportunity, and the
    /// key of its group once a shard forwarded it.
    Routed(Envelope, Option<Entity>),
    /// An event that links groups, applied once the hand-overs it waits for
    /// have arrived.
    Link(Link),
    /// Hand the group of `members` over to the shard of `to`.
    HandOver {
        id: u64,
        members: Vec<Entity>,
        to: Entity,
    },
    /// One part of a group handed over.
    Handed(Handed),
    /// The highest credit-set version the shard has given, sent to its own
    /// partition before it publishes them.
    Floor(u64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub envelope: Envelope,
    pub waits: Vec<u64>,
    /// The group the event makes.
    pub key: Entity,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Handed {
    pub id: u64,
    pub part: u32,
    pub last: bool,
    pub members: Vec<Entity>,
    /// The key of the group they join.
    pub to: Entity,
    pub handover: Handover,
    pub pending: Vec<Link>,
}

impl ShardRecord {
    pub fn encode(&self) -> Vec<u8> {
        let record = match self {
            ShardRecord::Floor(floor) => wire::shard_record::Record::Floor(*floor),
            ShardRecord::Routed(envelope, to) => wire::shard_record::Record::Routed(wire::Routed {
                envelope: touchline_proto::encode_protobuf(envelope),
                to: to.as_ref().map(entity_to_wire),
            }),
            ShardRecord::Link(link) => wire::shard_record::Record::Link(link_to_wire(link)),
            ShardRecord::HandOver { id, members, to } => {
                wire::shard_record::Record::HandOver(wire::HandOver {
                    id: *id,
                    members: members.iter().map(entity_to_wire).collect(),
                    to: Some(entity_to_wire(to)),
                })
            }
            ShardRecord::Handed(handed) => wire::shard_record::Record::Handed(wire::Handed {
                id: handed.id,
                part: handed.part,
                last: handed.last,
                members: handed.members.iter().map(entity_to_wire).collect(),
                to: Some(entity_to_wire(&handed.to)),
                events: handed
                    .handover
                    .events
                    .iter()
                    .map(touchline_proto::encode_protobuf)
                    .collect(),
                conversions: handed
                    .handover
                    .conversions
                    .iter()
                    .map(|c| wire::MovedConversion {
                        id: c.id.clone(),
                        occurred_at_ms: c.occurred_at.as_millis(),
                        versions: c
                            .versions
                            .iter()
                            .map(|(model, version)| wire::ModelVersion {
                                model: model.name().to_owned(),
                                version: *version,
                            })
                            .collect(),
                    })
                    .collect(),
                pending: handed.pending.iter().map(link_to_wire).collect(),
            }),
        };
        wire::ShardRecord {
            record: Some(record),
        }
        .encode_to_vec()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ShardError> {
        let record = wire::ShardRecord::decode(bytes)
            .map_err(|e| ShardError::Malformed(e.to_string()))?
            .record
            .ok_or_else(|| ShardError::Malformed("a shard record without a record".into()))?;
        Ok(match record {
            wire::shard_record::Record::Floor(floor) => ShardRecord::Floor(floor),
            wire::shard_record::Record::Routed(routed) => ShardRecord::Routed(
                envelope_from_wire(&routed.envelope)?,
                routed.to.map(entity_from_wire).transpose()?,
            ),
            wire::shard_record::Record::Link(link) => ShardRecord::Link(link_from_wire(link)?),
            wire::shard_record::Record::HandOver(hand_over) => ShardRecord::HandOver {
                id: hand_over.id,
                members: entities_from_wire(hand_over.members)?,
                to: required(hand_over.to, "a hand-over without `to`")?,
            },
            wire::shard_record::Record::Handed(handed) => {
                let events = handed
                    .events
                    .iter()
                    .map(|bytes| envelope_from_wire(bytes))
                    .collect::<Result<_, _>>()?;
                let conversions = handed
                    .conversions
                    .into_iter()
                    .map(|c| {
                        let versions = c
                            .versions
                            .into_iter()
                            .map(|v| {
                                let model = Model::parse(&v.model).ok_or_else(|| {
                                    ShardError::Malformed(format!("unknown model {:?}", v.model))
                                })?;
                                Ok((model, v.version))
                            })
                            .collect::<Result<_, ShardError>>()?;
                        Ok(MovedConversion {
                            id: c.id,
                            occurred_at: Timestamp::from_millis(c.occurred_at_ms),
                            versions,
                        })
                    })
                    .collect::<Result<_, ShardError>>()?;
                ShardRecord::Handed(Handed {
                    id: handed.id,
                    part: handed.part,
                    last: handed.last,
                    members: entities_from_wire(handed.members)?,
                    to: required(handed.to, "a hand-over part without `to`")?,
                    handover: Handover {
                        events,
                        conversions,
                    },
                    pending: handed
                        .pending
                        .into_iter()
                        .map(link_from_wire)
                        .collect::<Result<_, _>>()?,
                })
            }
        })
    }
}

fn link_to_wire(link: &Link) -> wire::Link {
    wire::Link {
        envelope: touchline_proto::encode_protobuf(&link.envelope),
        waits: link.waits.clone(),
        key: Some(entity_to_wire(&link.key)),
    }
}

fn link_from_wire(link: wire::Link) -> Result<Link, ShardError> {
    Ok(Link {
        envelope: envelope_from_wire(&link.envelope)?,
        waits: link.waits,
        key: required(link.key, "a link without its key")?,
    })
}

fn required(entity: Option<wire::Entity>, missing: &str) -> Result<Entity, ShardError> {
    entity_from_wire(entity.ok_or_else(|| ShardError::Malformed(missing.into()))?)
}

fn envelope_from_wire(bytes: &[u8]) -> Result<Envelope, ShardError> {
    touchline_proto::decode_stored(bytes).map_err(|e| ShardError::Malformed(e.to_string()))
}

pub(crate) fn entity_to_wire(entity: &Entity) -> wire::Entity {
    wire::Entity {
        kind: entity.kind.name().to_owned(),
        id: entity.id.clone(),
    }
}

fn entity_from_wire(entity: wire::Entity) -> Result<Entity, ShardError> {
    let kind = StreamKind::parse(&entity.kind)
        .filter(|k| *k != StreamKind::Campaign)
        .ok_or_else(|| ShardError::Malformed(format!("not a group member: {:?}", entity.kind)))?;
    Ok(Entity::new(kind, entity.id))
}

fn entities_from_wire(entities: Vec<wire::Entity>) -> Result<Vec<Entity>, ShardError> {
    entities.into_iter().map(entity_from_wire).collect()
}

pub(crate) fn encode_entity(entity: &Entity) -> Vec<u8> {
    entity_to_wire(entity).encode_to_vec()
}

pub(crate) fn decode_entity(bytes: &[u8]) -> Result<Entity, ShardError> {
    entity_from_wire(wire::Entity::decode(bytes).map_err(|e| ShardError::Malformed(e.to_string()))?)
}

pub(crate) fn encode_link(link: &Link) -> Vec<u8> {
    link_to_wire(link).encode_to_vec()
}

pub(crate) fn decode_link(bytes: &[u8]) -> Result<Link, ShardError> {
    link_from_wire(wire::Link::decode(bytes).map_err(|e| ShardError::Malformed(e.to_string()))?)
}
