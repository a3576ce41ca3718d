//! Partitioned state on Kafka (`kafka.shards` > 0): the engine as a consumer
//! group of instances, each shard's state on the instance Kafka assigns its
//! partition to. Three loops run on every instance, each a consumer group of
//! its own, so Kafka decides who runs what and moves it when instances come
//! and go:
//!
//! - the **router** ([`router`]) reads the input topics and sends each event
//!   to its first stop;
//! - the **directory** ([`linker`]) reads the one-partition links topic and
//!   decides where linked groups live;
//! - the **shards** ([`runner`]) read the shards topic, one store and one
//!   worker thread ([`worker`]) per shard.
//!
//! A fourth ([`members`]) announces on `<group_id>.members` which shards the
//! instance holds and where its API answers, and reads the others'
//! announcements, so that a query on any instance reads every shard.
//!
//! The internal topics are `<group_id>.links` (one partition) and
//! `<group_id>.shards` (`kafka.shards` partitions), created on start with
//! unlimited retention: they are what a shard restores from; and
//! `<group_id>.members` (one partition, compacted).

mod linker;
mod members;
mod router;
mod runner;
mod send;
mod worker;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use touchline_engine::{EngineConfig, Metrics};
use tracing::error;

pub use members::Membership;
pub use runner::shard_store_path;

use crate::{KafkaConfig, KafkaError};

/// The internal topics of a group, and its shard count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Internal {
    pub shards: u32,
    pub links_topic: String,
    pub shards_topic: String,
    pub members_topic: String,
}

impl Internal {
    pub fn of(config: &KafkaConfig) -> Self {
        Internal {
            shards: config.shards,
            links_topic: format!("{}.links", config.group_id),
            shards_topic: format!("{}.shards", config.group_id),
            members_topic: format!("{}.members", config.group_id),
        }
    }
}

/// Creates the internal topics if they do not exist: the links topic with one
/// partition, the shards topic with one per shard, both kept for ever. An
/// existing shards topic with another partition count is refused: shards
/// are placed by that count.
pub fn create_internal_topics(config: &KafkaConfig) -> Result<Internal, KafkaError> {
    let internal = Internal::of(config);
    let admin: AdminClient<DefaultClientContext> = config.client().create()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| KafkaError::Config(format!("cannot start a runtime: {e}")))?;
    let forever = [("retention.ms", "-1"), ("retention.bytes", "-1")];
    let links = forever.iter().fold(
        NewTopic::new(&internal.links_topic, 1, TopicReplication::Fixed(-1)),
        |t, (k, v)| t.set(k, v),
    );
    let shards = forever.iter().fold(
        NewTopic::new(
            &internal.shards_topic,
            internal.shards as i32,
            TopicReplication::Fixed(-1),
        ),
        |t, (k, v)| t.set(k, v),
    );
    let members = NewTopic::new(&internal.members_topic, 1, TopicReplication::Fixed(-1))
        .set("cleanup.policy", "compact");
    let results = runtime.block_on(admin.create_topics(
        [&links, &shards, &members],
        &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
    ))?;
    for result in results {
        if let Err((topic, code)) = result
            && code != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists
        {
            return Err(KafkaError::Config(format!(
                "cannot create the internal topic {topic}: {code}"
            )));
        }
    }
    // A topic just created (here or by another instance starting) may not
    // be in the metadata yet: ask again until it is, for a while.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let partitions = loop {
        let metadata = admin
            .inner()
            .fetch_metadata(Some(&internal.shards_topic), Duration::from_secs(30))?;
        let partitions = metadata
            .topics()
            .first()
            .map_or(0, |t| t.partitions().len() as u32);
        if partitions > 0 || std::time::Instant::now() >= deadline {
            break partitions;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    if partitions != internal.shards {
        return Err(KafkaError::Config(format!(
            "kafka.shards is {}, but {} has {partitions} partitions; shards are placed by that count, so it cannot change",
            internal.shards, internal.shards_topic
        )));
    }
    Ok(internal)
}

/// The instance id of the instance whose stores are under `root`:
/// `kafka.instance_id`, else the one generated on its first start and kept
/// in `<root>/instance_id`.
pub fn instance_id(config: &KafkaConfig, root: &std::path::Path) -> Result<String, KafkaError> {
    std::fs::create_dir_all(root)
        .map_err(|e| KafkaError::Config(format!("cannot create {}: {e}", root.display())))?;
    Ok(crate::membership::instance_id_in_file(config, &root.join("instance_id"))?.id)
}

/// One instance of a sharded group: its four loops, each on a thread.
#[derive(Debug)]
pub struct Sharded {
    pub config: KafkaConfig,
    pub engine: EngineConfig,
    /// Where the shards' stores go (`shard-<n>` under it).
    pub root: PathBuf,
    pub metrics: Arc<Metrics>,
    /// What this instance announces and learns of the others (the shards
    /// it holds are `membership.held`, for the query API).
    pub membership: Membership,
}

impl Sharded {
    /// Runs until `shutdown` is set or a loop fails; a failure stops the
    /// others and is returned.
    pub fn run(self, shutdown: Arc<AtomicBool>) -> Result<(), KafkaError> {
        let internal = create_internal_topics(&self.config)?;
        std::fs::create_dir_all(&self.root).map_err(|e| {
            KafkaError::Config(format!("cannot create {}: {e}", self.root.display()))
        })?;
        // Static membership, as in single-store mode: a restarted instance
        // takes its partitions back at once, in each of the three groups.
        let membership =
            crate::membership::instance_id_in_file(&self.config, &self.root.join("instance_id"))?;
        tracing::info!(instance_id = %membership.id, origin = membership.origin, "group membership");
        let config = KafkaConfig {
            instance_id: Some(membership.id),
            ..self.config.clone()
        };
        let shutdown = &shutdown;
        let stop_all = |result: Result<(), KafkaError>| {
            if let Err(e) = &result {
                error!(error = %e, "a sharded loop failed; stopping");
                shutdown.store(true, Ordering::Relaxed);
            }
            result
        };
        let stop_all = &stop_all;
        let internal = &internal;
        let this = &Sharded { config, ..self };
        let results: Vec<Result<(), KafkaError>> = std::thread::scope(|scope| {
            let router = scope.spawn(move || {
                stop_all(router::run(&this.config, internal, &this.metrics, shutdown))
            });
            let linker =
                scope.spawn(move || stop_all(linker::run(&this.config, internal, shutdown)));
            let shards = scope.spawn(move || {
                stop_all(runner::run(
                    &this.config,
                    internal,
                    &this.engine,
                    &this.root,
                    &this.membership.held,
                    shutdown,
                ))
            });
            let members = scope.spawn(move || {
                stop_all(members::run(
                    &this.config,
                    internal,
                    &this.membership,
                    shutdown,
                ))
            });
            [router, linker, shards, members]
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(KafkaError::Config("a sharded loop panicked".into()))
                    })
                })
                .collect()
        });
        results.into_iter().collect()
    }
}
