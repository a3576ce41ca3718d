//! Partitioned state: the same backlog caught up with 1, 2 and 4 shards
//! (`kafka.shards`) on one instance, then with the largest shard count on
//! two instances of one group, each run a fresh group with fresh stores,
//! printing events/s, the scale factor against one shard, the CPU per event
//! of this process and of the local broker, and how busy the machine's cores
//! were over the run (every process, from `/proc/stat`). A run is over
//! when the router, the directory and every shard have committed the end of
//! their topics twice in a row. Then an instance with empty stores joins
//! the last group alone and restores every shard from the shards topic:
//! printed as seconds per million input events.
//!
//!     bash deploy/kafka.sh start
//!     cargo bench --bench kafka_sharded
//!
//! Environment: `TOUCHLINE_BENCH_EVENTS` [300000], `TOUCHLINE_BENCH_SHARDS`
//! [1,2,4], `TOUCHLINE_BENCH_INSTANCES` [2] (0: no multi-instance run),
//! `TOUCHLINE_TEST_KAFKA_BROKERS` [127.0.0.1:9092], `TOUCHLINE_BENCH_DIR`
//! for the stores.

#![allow(clippy::unwrap_used)]

#[path = "support.rs"]
mod support;

#[global_allocator]
static ALLOCATOR: touchline_alloc::Allocator = touchline_alloc::Allocator;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use touchline_attribution::Model;
use touchline_datagen::{DatasetConfig, Generator};
use touchline_engine::{EngineConfig, HeldShards, Metrics};
use touchline_kafka::sharded::Sharded;
use touchline_kafka::{KafkaConfig, TopicSpec};
use touchline_proto::WireFormat;

fn main() {
    touchline_alloc::tune();
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let total: u64 = support::env_or("TOUCHLINE_BENCH_EVENTS", 300_000);
    let counts: Vec<u32> = std::env::var("TOUCHLINE_BENCH_SHARDS")
        .unwrap_or_else(|_| "1,2,4".into())
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let brokers = support::brokers();
    let base = support::bench_dir();
    let run = support::run_name("bench-sharded");
    let events_topic = format!("{run}.events");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(create_topic(&brokers, &events_topic, 4, false));
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("linger.ms", "20")
        .set("compression.type", "lz4")
        .create()
        .unwrap();
    let mut produced = 0u64;
    for envelope in Generator::new(DatasetConfig {
        accounts: (total / 12 + 1) as usize,
        ..DatasetConfig::default()
    })
    .take(total as usize)
    {
        let bytes = touchline_proto::encode_protobuf(&envelope);
        let key = envelope.partition_key().to_owned();
        let mut record = BaseRecord::to(&events_topic).key(&key).payload(&bytes);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(5));
                    record = back;
                }
            }
        }
        produced += 1;
    }
    producer.flush(Duration::from_secs(60)).unwrap();
    println!("produced {produced} events to {events_topic}");

    let instances: usize = support::env_or("TOUCHLINE_BENCH_INSTANCES", 2);
    let mut runs: Vec<(u32, usize)> = counts.iter().map(|&c| (c, 1)).collect();
    if let Some(&largest) = counts.iter().max()
        && instances > 1
    {
        runs.push((largest, instances));
    }
    let mut first: Option<f64> = None;
    let mut last: Option<KafkaConfig> = None;
    for (shards, instances) in runs {
        let group = format!("{run}.s{shards}.i{instances}");
        let attribution = format!("{group}.attribution");
        runtime.block_on(create_topic(&brokers, &attribution, 2, true));
        let config = KafkaConfig {
            brokers: brokers.clone(),
            group_id: group.clone(),
            topics: vec![TopicSpec {
                name: events_topic.clone(),
                format: WireFormat::Protobuf,
            }],
            attribution_topic: attribution,
            dead_letter_topic: format!("{group}.dlq"),
            batch_max_messages: 5_000,
            shards,
            ..KafkaConfig::default()
        };
        let dirs: Vec<tempfile::TempDir> = (0..instances)
            .map(|_| tempfile::tempdir_in(&base).unwrap())
            .collect();
        let started = Instant::now();
        let cpu_before = support::process_cpu_seconds();
        let broker_before = support::broker_cpu_seconds();
        let machine_before = support::machine_cpu_seconds();
        let running: Vec<Instance> = dirs
            .iter()
            .map(|d| Instance::start(&config, d.path()))
            .collect();
        let groups = [
            (group.clone(), vec![events_topic.clone()]),
            (format!("{group}.links"), vec![format!("{group}.links")]),
            (format!("{group}.shards"), vec![format!("{group}.shards")]),
        ];
        let mut settled = 0;
        while settled < 2 {
            std::thread::sleep(Duration::from_millis(500));
            if groups
                .iter()
                .all(|(g, topics)| lag(&brokers, g, topics) == Some(0))
            {
                settled += 1;
            } else {
                settled = 0;
            }
        }
        let elapsed = started.elapsed().as_secs_f64() - 0.5;
        // Read before the instances stop: their shutdown is not the run's.
        let cpu = support::process_cpu_seconds() - cpu_before;
        let broker = support::broker_cpu_seconds()
            .zip(broker_before)
            .map(|(after, before)| after - before);
        let machine_after = support::machine_cpu_seconds();
        for instance in running {
            instance.stop();
        }
        let rate = produced as f64 / elapsed;
        let factor = first.map_or(1.0, |one| rate / one);
        first.get_or_insert(rate);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let busy = machine_after.0 - machine_before.0;
        let wall = (machine_after.1 - machine_before.1) / cores as f64;
        let broker = broker.map_or_else(
            || "the broker's CPU unknown".to_owned(),
            |b| format!("the broker {:.1} µs", b * 1e6 / produced as f64),
        );
        println!(
            "{shards} shard(s), {instances} instance(s): {produced} events in {elapsed:.1} s = {rate:.0} events/s, \
             {factor:.2}x one shard on one instance; CPU per event: touchline {:.1} µs, {broker}; \
             the machine's {cores} cores {:.0}% busy",
            cpu * 1e6 / produced as f64,
            100.0 * busy / (wall * cores as f64).max(f64::EPSILON),
        );
        last = Some(config);
    }
    if let Some(config) = last {
        restore(&config, &base, produced);
    }
}

/// One instance of a group, running in this process.
struct Instance {
    shutdown: Arc<AtomicBool>,
    running: std::thread::JoinHandle<()>,
    held: Arc<HeldShards>,
}

impl Instance {
    fn start(config: &KafkaConfig, root: &std::path::Path) -> Instance {
        let shutdown = Arc::new(AtomicBool::new(false));
        let held = Arc::new(HeldShards::new(config.shards));
        let sharded = Sharded {
            config: config.clone(),
            engine: EngineConfig {
                models: vec![Model::FirstTouch, Model::LastTouch],
                ..EngineConfig::default()
            },
            root: root.to_owned(),
            metrics: Arc::new(Metrics::default()),
            membership: touchline_kafka::sharded::Membership {
                api: None,
                held: held.clone(),
                members: Default::default(),
            },
        };
        let stop = shutdown.clone();
        let running = std::thread::spawn(move || sharded.run(stop).unwrap());
        Instance {
            shutdown,
            running,
            held,
        }
    }

    fn stop(self) {
        self.shutdown.store(true, Ordering::Relaxed);
        self.running.join().unwrap();
    }
}

/// An instance with empty stores joins `config`'s group alone: the time
/// until every shard's store covers its partition of the shards topic to
/// the end, per million of the group's `events`.
fn restore(config: &KafkaConfig, base: &std::path::Path, events: u64) {
    let shards_topic = format!("{}.shards", config.group_id);
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &config.brokers)
        .create()
        .unwrap();
    let ends: Vec<i64> = (0..config.shards as i32)
        .map(|p| {
            reader
                .fetch_watermarks(&shards_topic, p, Duration::from_secs(10))
                .unwrap()
                .1
        })
        .collect();
    let records: i64 = ends.iter().sum();
    let dir = tempfile::tempdir_in(base).unwrap();
    let joined = Instant::now();
    let instance = Instance::start(config, dir.path());
    // The stopped instances were static members: their shards come to this
    // one when their sessions end. The restore is timed from then.
    let mut started: Option<Instant> = None;
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let held = instance.held.shards();
        if started.is_none() && held.len() == config.shards as usize {
            started = Some(Instant::now());
        }
        let covered = held
            .iter()
            .filter(|(shard, store)| {
                let end = ends[*shard as usize];
                end == 0
                    || store.offsets().unwrap().iter().any(|o| {
                        o.topic == shards_topic
                            && o.partition == *shard as i32
                            && o.next_offset >= end
                    })
            })
            .count();
        if covered == config.shards as usize {
            break;
        }
    }
    let assigned = started.map_or(0.0, |s| (s - joined).as_secs_f64());
    let elapsed = started.map_or(0.0, |s| s.elapsed().as_secs_f64());
    instance.stop();
    let per_million = elapsed / (events as f64 / 1e6);
    println!(
        "restore: a new instance with empty stores got all {} shards after {assigned:.1} s \
         (the stopped members' sessions) and restored them ({records} shard records, {events} \
         input events) in {elapsed:.1} s = {per_million:.1} s per million events",
        config.shards
    );
}

/// The group's lag over `topics`: end offsets minus committed ones; `None`
/// while the group has committed nothing for a partition that has data.
fn lag(brokers: &str, group: &str, topics: &[String]) -> Option<i64> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .create()
        .ok()?;
    let mut total = 0;
    for topic in topics {
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .ok()?;
        let partitions = metadata.topics().first()?.partitions().len() as i32;
        let mut list = rdkafka::TopicPartitionList::new();
        for p in 0..partitions {
            list.add_partition(topic, p);
        }
        let committed = consumer
            .committed_offsets(list, Duration::from_secs(10))
            .ok()?;
        for p in 0..partitions {
            let (_, end) = consumer
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .ok()?;
            let done = match committed.find_partition(topic, p)?.offset() {
                rdkafka::Offset::Offset(o) => o,
                _ if end == 0 => 0,
                _ => return None,
            };
            total += end - done;
        }
    }
    Some(total)
}

async fn create_topic(brokers: &str, topic: &str, partitions: i32, compact: bool) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let mut new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    if compact {
        new = new.set("cleanup.policy", "compact");
    }
    admin
        .create_topics([&new], &AdminOptions::new())
        .await
        .unwrap();
}
