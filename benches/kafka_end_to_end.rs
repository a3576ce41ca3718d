//! End to end on the local Kafka broker: produce a realistic backlog, then run the
//! engine (consume, decode, dedupe, append, project, attribute, offsets, one
//! fsync per batch, and the publisher draining the outbox to Kafka) until it has
//! caught up. Then a paced stream measures the latency from an event's Kafka
//! timestamp to the commit that makes it visible in the views. The catch-up from
//! an empty store is also how a store without state restores (from the input's
//! beginning), so it prints the restore time per million events.
//!
//!     bash deploy/kafka.sh start
//!     cargo bench --bench kafka_end_to_end
//!
//! Environment (defaults in brackets): `TOUCHLINE_BENCH_EVENTS` [5000000],
//! `TOUCHLINE_BENCH_LATENCY_RATE` events/s [20000], `TOUCHLINE_BENCH_LATENCY_SECONDS`
//! [10], `TOUCHLINE_BENCH_BATCH` messages per batch [20000], `TOUCHLINE_BENCH_MODELS`
//! comma-separated models [all ten],
//! `TOUCHLINE_TEST_KAFKA_BROKERS` [127.0.0.1:9092], `TOUCHLINE_BENCH_DIR` for the store.

#![allow(clippy::unwrap_used)]

#[path = "support.rs"]
mod support;

#[global_allocator]
static ALLOCATOR: touchline_alloc::Allocator = touchline_alloc::Allocator;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use touchline_attribution::Model;
use touchline_core::Envelope;
use touchline_datagen::{DatasetConfig, Generator};
use touchline_engine::{Engine, EngineConfig};
use touchline_kafka::{Ingest, KafkaConfig, Publisher, TopicSpec};
use touchline_proto::WireFormat;
use touchline_store::Store;

const PARTITIONS: i32 = 4;

fn main() {
    touchline_alloc::tune();
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let total: u64 = support::env_or("TOUCHLINE_BENCH_EVENTS", 5_000_000);
    let rate: u64 = support::env_or("TOUCHLINE_BENCH_LATENCY_RATE", 20_000);
    let latency_seconds: u64 = support::env_or("TOUCHLINE_BENCH_LATENCY_SECONDS", 10);
    let batch: usize = support::env_or("TOUCHLINE_BENCH_BATCH", 20_000);
    let brokers = support::brokers();
    let base = support::bench_dir();
    let run = support::run_name("bench");
    let events_topic = format!("{run}.events");
    let attribution_topic = format!("{run}.attribution");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(create_topics(&brokers, &events_topic, &attribution_topic));

    // Phase 1: the backlog.
    let producer = producer(&brokers);
    let started = Instant::now();
    let accounts = (total / 12 + 1) as usize;
    let produced = produce(
        &producer,
        &events_topic,
        Generator::new(DatasetConfig {
            accounts,
            ..DatasetConfig::default()
        })
        .take(total as usize),
        None,
    );
    println!(
        "produced {produced} events to {events_topic} in {:.1} s ({:.0} events/s)",
        started.elapsed().as_secs_f64(),
        produced as f64 / started.elapsed().as_secs_f64()
    );

    // Phase 2: catch up.
    support::reset_peak_rss();
    let dir = tempfile::tempdir_in(&base).unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let models: Vec<Model> = std::env::var("TOUCHLINE_BENCH_MODELS").map_or_else(
        |_| Model::ALL.to_vec(),
        |list| {
            list.split(',')
                .map(|m| Model::parse(m.trim()).unwrap_or_else(|| panic!("unknown model {m:?}")))
                .collect()
        },
    );
    println!(
        "models: {}",
        models
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let engine = Engine::open(
        store.clone(),
        EngineConfig {
            models,
            ..EngineConfig::default()
        },
    )
    .unwrap();
    let metrics = engine.metrics().clone();
    let config = KafkaConfig {
        brokers: brokers.clone(),
        group_id: format!("{run}.group"),
        topics: vec![TopicSpec {
            name: events_topic.clone(),
            format: WireFormat::Protobuf,
        }],
        attribution_topic: attribution_topic.clone(),
        batch_max_messages: batch,
        ..KafkaConfig::default()
    };
    let consumed = Arc::new(AtomicU64::new(0));
    let first_commit: Arc<Mutex<Option<Instant>>> = Arc::default();
    let measuring = Arc::new(AtomicBool::new(false));
    let latencies: Arc<Mutex<Vec<i64>>> = Arc::default();
    let shutdown = Arc::new(AtomicBool::new(false));
    let ingest = {
        let consumed = consumed.clone();
        let first_commit = first_commit.clone();
        let measuring = measuring.clone();
        let latencies = latencies.clone();
        Ingest::new(engine, config.clone(), shutdown.clone())
            .unwrap()
            .on_commit(move |report| {
                first_commit
                    .lock()
                    .unwrap()
                    .get_or_insert_with(Instant::now);
                consumed.fetch_add(report.messages as u64, Ordering::Relaxed);
                if measuring.load(Ordering::Relaxed) {
                    let mut l = latencies.lock().unwrap();
                    l.extend(
                        report
                            .message_timestamps_ms
                            .iter()
                            .map(|ts| report.committed_at_ms - ts),
                    );
                }
            })
    };
    let broker_before = support::broker_cpu_seconds();
    let started = Instant::now();
    let ingest = std::thread::Builder::new()
        .name("ingest".into())
        .spawn(move || ingest.run().unwrap())
        .unwrap();
    let publisher = Publisher::new(store.clone(), &config, metrics.clone()).unwrap();
    let publishing = runtime.spawn(publisher.run(shutdown.clone()));
    while consumed.load(Ordering::Relaxed) < produced {
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = started.elapsed().as_secs_f64();
    let from_first = first_commit
        .lock()
        .unwrap()
        .map_or(elapsed, |t| t.elapsed().as_secs_f64());
    let snapshot = metrics.snapshot();
    println!(
        "caught up: {produced} events in {elapsed:.1} s = {:.0} events/s end to end \
         ({:.0} events/s from the first commit; the rest is joining the group)",
        produced as f64 / elapsed,
        produced as f64 / from_first
    );
    // A shard assigned without state restores by reading its input from the
    // beginning (the store's offsets are the only start point): that is this
    // catch-up, from an empty store.
    println!(
        "  restore from the input (a fresh store, from offset 0): {:.1} s per million events",
        elapsed * 1e6 / produced as f64
    );
    println!(
        "  appended {}, duplicates {}, batches {}, credit-set versions {}, published so far {}",
        snapshot.events_appended,
        snapshot.duplicates,
        snapshot.batches,
        snapshot.attribution_versions,
        snapshot.published
    );
    println!(
        "  peak RSS during catch-up: {:.0} MiB",
        support::peak_rss_mib()
    );
    if let (Some(before), Some(after)) = (broker_before, support::broker_cpu_seconds()) {
        println!(
            "  Kafka broker CPU during catch-up: {:.1} s (of {elapsed:.1} s wall, 2 cores)",
            after - before
        );
    }
    let cpu: Vec<String> = support::cpu_by_thread()
        .iter()
        .map(|(n, s)| format!("{n} {s:.1} s"))
        .collect();
    println!(
        "  CPU by thread of this process (main includes producing): {}",
        cpu.join(", ")
    );

    // Phase 3: latency under a paced stream.
    measuring.store(true, Ordering::Relaxed);
    let paced = rate * latency_seconds;
    let target = produced + paced;
    let generator = Generator::new(DatasetConfig {
        accounts: (paced / 12 + 1) as usize,
        id_prefix: "paced-".into(),
        seed: 99,
        ..DatasetConfig::default()
    });
    produce(
        &producer,
        &events_topic,
        generator.take(paced as usize),
        Some(rate),
    );
    while consumed.load(Ordering::Relaxed) < target {
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut latencies = std::mem::take(&mut *latencies.lock().unwrap());
    latencies.sort_unstable();
    println!(
        "latency, Kafka timestamp to visible in the views, at {rate} events/s for {latency_seconds} s: \
         p50 {} ms, p99 {} ms, max {} ms ({} samples)",
        support::quantile(&latencies, 0.50),
        support::quantile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0),
        latencies.len()
    );
    println!("peak RSS: {:.0} MiB", support::peak_rss_mib());
    shutdown.store(true, Ordering::Relaxed);
    ingest.join().unwrap();
    runtime.block_on(publishing).unwrap();
}

async fn create_topics(brokers: &str, events: &str, attribution: &str) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .unwrap();
    let topics = [
        NewTopic::new(events, PARTITIONS, TopicReplication::Fixed(1)),
        NewTopic::new(attribution, PARTITIONS, TopicReplication::Fixed(1))
            .set("cleanup.policy", "compact"),
    ];
    for result in admin
        .create_topics(&topics, &AdminOptions::new())
        .await
        .expect("Kafka reachable (bash deploy/kafka.sh start)")
    {
        result.unwrap();
    }
}

fn producer(brokers: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "20")
        .set("batch.size", "1000000")
        .set("compression.type", "lz4")
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .unwrap()
}

/// Produces every event, keyed by its first stream (the person, mostly); with a
/// `rate`, paced to that many events per second.
fn produce(
    producer: &BaseProducer,
    topic: &str,
    events: impl Iterator<Item = Envelope>,
    rate: Option<u64>,
) -> u64 {
    let started = Instant::now();
    let mut sent = 0u64;
    for envelope in events {
        if let Some(rate) = rate {
            let due = Duration::from_secs_f64(sent as f64 / rate as f64);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let key = envelope
            .event
            .streams()
            .next()
            .map(|s| s.id.to_owned())
            .unwrap_or_default();
        let payload = touchline_proto::encode(WireFormat::Protobuf, &envelope);
        let mut record = BaseRecord::<str, [u8]>::to(topic)
            .key(&key)
            .payload(&payload);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    producer.poll(Duration::from_millis(5));
                    record = back;
                }
            }
        }
        sent += 1;
        if sent.is_multiple_of(1024) {
            producer.poll(Duration::ZERO);
        }
    }
    producer.flush(Duration::from_secs(120)).unwrap();
    sent
}
