//! The engine alone, without Kafka: decode + dedupe + append + project +
//! attribute + offsets, one fsynced WriteBatch per batch. Prints events/s per
//! batch size, so the cost of the engine can be told apart from Kafka's.
//!
//!     cargo bench --bench engine_apply
//!     TOUCHLINE_BENCH_ACCOUNTS=100000 cargo bench --bench engine_apply
//!
//! `TOUCHLINE_BENCH_DIR` chooses where the temporary stores go (default: the
//! system temp dir); put it on the disk you will run on, since fsync cost is
//! the disk's.

#![allow(clippy::unwrap_used)]

#[path = "support.rs"]
mod support;

#[global_allocator]
static ALLOCATOR: touchline_alloc::Allocator = touchline_alloc::Allocator;

use std::sync::Arc;
use std::time::Instant;

use touchline_datagen::{DatasetConfig, Generator};
use touchline_engine::{Batch, Engine, EngineConfig};
use touchline_proto::WireFormat;
use touchline_store::{PartitionOffset, Store};

fn main() {
    touchline_alloc::tune();
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for the list of tests; there are none.
    }
    let accounts: usize = support::env_or("TOUCHLINE_BENCH_ACCOUNTS", 40_000);
    let base = support::bench_dir();
    let events: Vec<_> = Generator::new(DatasetConfig {
        accounts,
        ..DatasetConfig::default()
    })
    .collect();
    // What arrives from Kafka: encoded bytes, decoded in the loop like ingest does.
    let messages: Vec<Vec<u8>> = events
        .iter()
        .map(|e| touchline_proto::encode(WireFormat::Protobuf, e))
        .collect();
    println!(
        "engine_apply: {} events from {accounts} accounts",
        messages.len()
    );
    println!(
        "{:>10}  {:>12}  {:>10}  {:>12}",
        "batch", "events/s", "seconds", "peak RSS MiB"
    );
    for batch_size in [1_000usize, 5_000, 20_000] {
        let dir = tempfile::tempdir_in(&base).unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let mut engine = Engine::open(store, EngineConfig::default()).unwrap();
        let started = Instant::now();
        let mut offset = 0i64;
        for chunk in messages.chunks(batch_size) {
            let events = chunk
                .iter()
                .map(|bytes| touchline_proto::decode(WireFormat::Protobuf, bytes).unwrap())
                .collect();
            offset += chunk.len() as i64;
            engine
                .submit(Batch {
                    events,
                    offsets: vec![PartitionOffset {
                        topic: "bench".into(),
                        partition: 0,
                        next_offset: offset,
                    }],
                    dead_lettered: 0,
                    ..Batch::default()
                })
                .unwrap();
        }
        engine.flush().unwrap();
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{batch_size:>10}  {:>12.0}  {seconds:>10.2}  {:>12.0}",
            messages.len() as f64 / seconds,
            support::peak_rss_mib()
        );
    }
}
