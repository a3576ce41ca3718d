//! The members topic (`<group_id>.members`, one partition, compacted): each
//! instance announces the shards it holds and where its API answers, keyed
//! by its instance id, whenever what it holds changes; and reads every
//! announcement into [`Members`], which the API's peer client asks where a
//! shard's reads go. The topic's offsets order the announcements: while a
//! shard moves, the later claim is the new holder's. A stopping instance
//! announces that it holds nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use touchline_engine::{HeldShards, Member, Members};
use tracing::{info, warn};

use super::Internal;
use super::send::{Outbound, Sender};
use crate::{KafkaConfig, KafkaError};

/// What one instance announces and keeps.
#[derive(Debug)]
pub struct Membership {
    /// Where this instance's API answers for the others; `None`: it does
    /// not announce itself (it still reads the others).
    pub api: Option<String>,
    /// The shards held here, as the runner keeps them.
    pub held: Arc<HeldShards>,
    /// The group's members, as the topic says.
    pub members: Arc<Members>,
}

pub(crate) fn run(
    config: &KafkaConfig,
    internal: &Internal,
    membership: &Membership,
    shutdown: &AtomicBool,
) -> Result<(), KafkaError> {
    let instance_id = config.instance_id.clone().unwrap_or_default();
    let reader: BaseConsumer = config
        .client()
        .set("group.id", format!("{}.members", config.group_id))
        .set("enable.auto.commit", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(&internal.members_topic, 0, Offset::Beginning)?;
    reader.assign(&assignment)?;
    let sender = Sender::new(config)?;
    let announce = |shards: Vec<u32>, shutdown: &AtomicBool| -> Result<(), KafkaError> {
        let Some(api) = &membership.api else {
            return Ok(());
        };
        let member = Member {
            instance_id: instance_id.clone(),
            api: api.clone(),
            shards,
        };
        let value = serde_json::to_vec(&member)
            .map_err(|e| KafkaError::Config(format!("cannot encode the member record: {e}")))?;
        sender.send_all(
            &[Outbound {
                topic: &internal.members_topic,
                partition: 0,
                key: Some(instance_id.as_bytes()),
                value: &value,
            }],
            shutdown,
        )
    };
    let mut announced: Option<Vec<u32>> = None;
    while !shutdown.load(Ordering::Relaxed) {
        let held = membership.held.held();
        if announced.as_ref() != Some(&held) {
            match announce(held.clone(), shutdown) {
                Ok(()) => {
                    info!(shards = ?held, "announced the shards held here");
                    announced = Some(held);
                }
                Err(e) => warn!(error = %e, "cannot announce the shards held here; trying again"),
            }
        }
        // Announcements are read as they come; the wait bounds how late a
        // change of what is held here is announced.
        while let Some(polled) = reader.poll(Duration::from_millis(250)) {
            let message = match polled {
                Ok(message) => message,
                Err(e) => {
                    warn!(error = %e, "members: consumer error");
                    break;
                }
            };
            let Some(key) = message.key().map(String::from_utf8_lossy) else {
                continue;
            };
            let member = match message.payload() {
                None => None,
                Some(bytes) => match serde_json::from_slice::<Member>(bytes) {
                    Ok(member) => Some(member),
                    Err(e) => {
                        warn!(instance = %key, error = %e, "members: not a member record; skipped");
                        continue;
                    }
                },
            };
            membership
                .members
                .record(&key, member, message.offset() as u64);
        }
    }
    // Nothing is held here any more: the others stop asking at once.
    let done = AtomicBool::new(false);
    if let Err(e) = announce(Vec::new(), &done) {
        warn!(error = %e, "cannot announce that this instance holds nothing now");
    }
    Ok(())
}
