//! The instances of a sharded group as each knows the others: who holds
//! which shards and where its API answers. The Kafka edge keeps it from the
//! group's compacted members topic; the API's peer client reads it to find
//! the instance a shard's reads go to.
//!
//! ```
//! use touchline_engine::{Member, Members};
//!
//! let members = Members::default();
//! let member = |id: &str, shards: Vec<u32>| Member {
//!     instance_id: id.into(),
//!     api: format!("http://{id}:8080"),
//!     shards,
//! };
//! members.record("a", Some(member("a", vec![0, 1])), 10);
//! // b took shard 1 over and said so later: the later claim wins.
//! members.record("b", Some(member("b", vec![1, 2])), 11);
//! assert_eq!(members.holder(1, "me").map(|m| m.instance_id), Some("b".into()));
//! assert_eq!(members.shards_except("a"), vec![1, 2]);
//! ```

use std::collections::BTreeMap;
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

/// One instance as it announces itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub instance_id: String,
    /// Where its API answers, as the other instances reach it.
    pub api: String,
    /// The shards it holds, in order.
    pub shards: Vec<u32>,
}

/// The group's members, each with the position of its latest announcement.
#[derive(Debug, Default)]
pub struct Members {
    known: RwLock<BTreeMap<String, (u64, Member)>>,
}

impl Members {
    /// `instance_id` announced `member` (or left: `None`) at `position`, a
    /// point in one total order of announcements (the members topic's
    /// offsets).
    pub fn record(&self, instance_id: &str, member: Option<Member>, position: u64) {
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        match member {
            Some(member) => {
                known.insert(instance_id.to_owned(), (position, member));
            }
            None => {
                known.remove(instance_id);
            }
        }
    }

    /// The instance other than `except` that claimed `shard` last: while a
    /// shard moves, its old holder's announcement is the older one.
    pub fn holder(&self, shard: u32, except: &str) -> Option<Member> {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        known
            .values()
            .filter(|(_, m)| m.instance_id != except && m.shards.contains(&shard))
            .max_by_key(|(position, _)| *position)
            .map(|(_, m)| m.clone())
    }

    /// Every shard some instance other than `except` holds, in order.
    pub fn shards_except(&self, except: &str) -> Vec<u32> {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        let mut shards: Vec<u32> = known
            .values()
            .filter(|(_, m)| m.instance_id != except)
            .flat_map(|(_, m)| m.shards.iter().copied())
            .collect();
        shards.sort_unstable();
        shards.dedup();
        shards
    }

    /// Every member known, by instance id.
    pub fn all(&self) -> Vec<Member> {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        known.values().map(|(_, m)| m.clone()).collect()
    }
}
