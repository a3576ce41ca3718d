//! Partitioned state: the engine as a Kafka consumer group of instances,
//! each shard's state on the instance that owns its partition.
//!
//! The contract is `touchline_core::colocation`: the people, accounts and
//! opportunities one event names are linked, linked entities form a group,
//! and a group's state lives on the shard of its key. This crate is the
//! functional core that keeps that true while events arrive in any order
//! and groups join:
//!
//! - the **router** ([`destination`]) sends an event naming one entity to that
//!   entity's home shard, an event naming none to every shard, and an event
//!   that links entities to the directory's one-partition links topic;
//! - the **directory** ([`Linker`]) decides links in that topic's order: the
//!   joined group's shard gets the event, and every shard holding a part of
//!   the group gets a hand-over command first;
//! - a **shard** ([`ShardTask`]) folds its partition's records into an engine
//!   of its own; on a hand-over it gives the group away in one commit,
//!   leaving pointers behind, and forwards whatever later arrives for it;
//!   a link event waits until the hand-overs it needs have arrived.
//!
//! Kafka carries everything between them; the Kafka shell lives in
//! `touchline-kafka`.
//!
//! ```
//! use touchline_shards::{Destination, destination};
//! use touchline_core::{Event, TouchRecorded, TouchStatus, TouchType};
//!
//! let touch = Event::TouchRecorded(TouchRecorded {
//!     person_id: "ann".into(),
//!     campaign_id: "search".into(),
//!     touch_type: TouchType::EmailClick,
//!     status: TouchStatus::Responded,
//!     asset: String::new(),
//!     topic: String::new(),
//!     provenance: None,
//! });
//! assert!(matches!(destination(&touch, 12), Destination::Shard(_)));
//! ```

mod directory;
mod record;
mod route;
mod shard;
mod state;

pub use directory::{Linker, MAX_GROUPS_JOINED};
pub use record::{Handed, Link, ShardRecord};
pub use route::{Destination, destination};
pub use shard::{EVENTS_PER_PART, Outgoing, ShardTask};

/// Errors of the shard runtime's core.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    #[error(transparent)]
    Engine(#[from] touchline_engine::EngineError),
    #[error(transparent)]
    Store(#[from] touchline_store::StoreError),
    #[error("malformed shard record: {0}")]
    Malformed(String),
}
