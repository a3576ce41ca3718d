//! The client side of `POST /v1/internal/shards/{shard}/read`: how an
//! instance of a sharded group reads the shards the others hold, found in
//! the group's [`Members`] as the members topic announces them.
//!
//! Reads are plain blocking HTTP (the engine reads on blocking threads),
//! bounded by a timeout; a peer that does not answer, or no longer holds the
//! shard, fails the read with [`StoreError::Remote`], which the API answers
//! with 503 and `Retry-After`: the shard is moving, or its holder is down
//! until Kafka gives its shards to another.

use std::sync::Arc;
use std::time::Duration;

use touchline_engine::{Members, Peers, ShardAnswer, ShardRead};
use touchline_store::{Result, StoreError};

use crate::peer_reads::SHARD_ANSWER;

/// How long one read of another instance may take.
pub const PEER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer read from another instance.
const MAX_ANSWER_BYTES: u64 = 512 * 1024 * 1024;

/// Reads the shards the other members hold.
#[derive(Debug)]
pub struct PeerClient {
    members: Arc<Members>,
    /// This instance: never asked.
    instance_id: String,
    /// The bearer token sent along, when the peers' API needs one.
    token: Option<String>,
    agent: ureq::Agent,
}

impl PeerClient {
    pub fn new(members: Arc<Members>, instance_id: String, token: Option<String>) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(PEER_READ_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        PeerClient {
            members,
            instance_id,
            token,
            agent,
        }
    }
}

impl Peers for PeerClient {
    fn shards_elsewhere(&self, held: &[u32]) -> Vec<u32> {
        let mut shards = self.members.shards_except(&self.instance_id);
        shards.retain(|shard| !held.contains(shard));
        shards
    }

    fn read(&self, shard: u32, read: &ShardRead) -> Result<ShardAnswer> {
        let failed = |detail: String| StoreError::Remote { shard, detail };
        let member = self
            .members
            .holder(shard, &self.instance_id)
            .ok_or_else(|| failed("no other instance holds it now".into()))?;
        let url = format!(
            "{}/v1/internal/shards/{shard}/read",
            member.api.trim_end_matches('/')
        );
        let body = serde_json::to_vec(read).map_err(|e| failed(e.to_string()))?;
        let mut request = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json")
            .header("Accept", SHARD_ANSWER);
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request
            .send(&body[..])
            .map_err(|e| failed(format!("{} at {url}: {e}", member.instance_id)))?;
        let status = response.status();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()
            .map_err(|e| failed(format!("{} at {url}: {e}", member.instance_id)))?;
        if status != 200 {
            return Err(failed(format!(
                "{} at {url}: {status} {}",
                member.instance_id,
                String::from_utf8_lossy(&bytes)
            )));
        }
        postcard::from_bytes(&bytes).map_err(|e| {
            failed(format!(
                "{} at {url}: not a shard answer: {e}",
                member.instance_id
            ))
        })
    }
}
