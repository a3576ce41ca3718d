//! Shards in one process: an engine each, fed as the partitioning contract
//! routes a stream of events, groups handed over as links join them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use touchline_attribution::{AttributionSettings, Model, OpportunityTouches};
use touchline_core::colocation::Directory;
use touchline_core::{Envelope, StreamKind};
use touchline_engine::{Batch, Engine, EngineConfig};
use touchline_projection::TouchEntry;
use touchline_store::Store;

/// An engine of its own, and every event it was sent.
pub struct Shard {
    _dir: tempfile::TempDir,
    pub store: Arc<Store>,
    pub engine: Engine,
    pending: Vec<Envelope>,
}

impl Shard {
    pub fn open(config: &EngineConfig) -> Shard {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(dir.path()).expect("open store"));
        let engine = Engine::open(store.clone(), config.clone()).expect("open engine");
        Shard {
            _dir: dir,
            store,
            engine,
            pending: Vec::new(),
        }
    }

    pub fn send(&mut self, envelope: Envelope, batch: usize) {
        self.pending.push(envelope);
        if self.pending.len() >= batch {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let events = std::mem::take(&mut self.pending);
        self.engine
            .apply(Batch {
                events,
                ..Batch::default()
            })
            .expect("apply");
    }
}

/// Every model, opportunities drawing their touches as `touches` says.
pub fn config(touches: OpportunityTouches) -> EngineConfig {
    EngineConfig {
        models: Model::ALL.to_vec(),
        settings: AttributionSettings {
            opportunity_touches: touches,
            ..AttributionSettings::default()
        },
        ..EngineConfig::default()
    }
}

/// Hand-overs done by every sharded run so far, so a test can tell that its
/// groups did move.
pub static HAND_OVERS: AtomicU64 = AtomicU64::new(0);

/// What a sharded run leaves.
pub struct Routed {
    pub shards: Vec<Shard>,
    pub directory: Directory,
    /// The highest version each moved credit set had reached where it left.
    pub published: BTreeMap<String, u64>,
}

/// `events` in arrival order over `count` shards, as the contract routes
/// them, each shard applying `batch` events at a time.
pub fn route(events: &[Envelope], count: u32, batch: usize, config: &EngineConfig) -> Routed {
    let mut shards: Vec<Shard> = (0..count).map(|_| Shard::open(config)).collect();
    let mut directory = Directory::default();
    // The highest version each moved credit set had reached where it left.
    let mut published: BTreeMap<String, u64> = BTreeMap::new();
    for envelope in events {
        let route = directory.route(&envelope.event, count);
        let Some((to, key)) = route.shard.zip(route.key) else {
            for shard in &mut shards {
                shard.send(envelope.clone(), batch);
            }
            continue;
        };
        // Every group this event joined moves, history and all, to the shard
        // of the group they make.
        let members = directory.members(&key);
        for from in route.moves_from {
            let shard = &mut shards[from as usize];
            shard.flush();
            let handover = shard.engine.hand_over(&members).expect("hand over");
            // The group's people leave no touch row behind.
            for member in members.iter().filter(|m| m.kind == StreamKind::Person) {
                let left: Vec<TouchEntry> = shard.store.touches(&member.id).expect("rows");
                assert!(left.is_empty(), "{} left touch rows behind", member.id);
            }
            HAND_OVERS.fetch_add(u64::from(!handover.is_empty()), Ordering::Relaxed);
            for moved in &handover.conversions {
                for (model, version) in &moved.versions {
                    let key = format!("{}/{}", model.name(), moved.id);
                    let top = published.entry(key).or_default();
                    *top = (*top).max(*version);
                }
            }
            let shard = &mut shards[to as usize];
            shard.flush();
            shard
                .engine
                .take_over(handover, Batch::default())
                .expect("take over");
        }
        shards[to as usize].send(envelope.clone(), batch);
    }
    for shard in &mut shards {
        shard.flush();
    }
    Routed {
        shards,
        directory,
        published,
    }
}
