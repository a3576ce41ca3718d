//! Decoding JSON envelopes: touchline's one-pass decoder against serde's
//! derived one, over the events the other benchmarks generate (the same
//! `Generator` as `kafka_end_to_end` and the Kafka Streams side by side),
//! one thread, no I/O. Prints messages/s of each and the ratio, best of
//! three rounds each, rounds alternated.
//!
//!     cargo bench --bench json_decode
//!     TOUCHLINE_BENCH_EVENTS=200000 cargo bench --bench json_decode

#![allow(clippy::unwrap_used)]

#[global_allocator]
static ALLOCATOR: touchline_alloc::Allocator = touchline_alloc::Allocator;

use std::hint::black_box;
use std::time::Instant;

use touchline_core::Envelope;
use touchline_datagen::{DatasetConfig, Generator};

fn main() {
    touchline_alloc::tune();
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let events: usize = std::env::var("TOUCHLINE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let generator = Generator::new(DatasetConfig {
        accounts: events / 12 + 1,
        ..DatasetConfig::default()
    });
    let messages: Vec<Vec<u8>> = generator
        .take(events)
        .map(|e| touchline_proto::encode_json(&e))
        .collect();
    let bytes: usize = messages.iter().map(Vec::len).sum();
    println!(
        "{} JSON messages, {:.1} bytes on average",
        messages.len(),
        bytes as f64 / messages.len() as f64
    );
    let time = |decode: &dyn Fn(&[u8]) -> Envelope| {
        let started = Instant::now();
        for message in &messages {
            black_box(decode(message));
        }
        started.elapsed().as_secs_f64()
    };
    let one_pass = |m: &[u8]| touchline_proto::decode_json_envelope(m).unwrap();
    let derived = |m: &[u8]| serde_json::from_slice::<Envelope>(m).unwrap();
    let (mut best_one_pass, mut best_derived) = (f64::MAX, f64::MAX);
    for _ in 0..3 {
        best_derived = best_derived.min(time(&derived));
        best_one_pass = best_one_pass.min(time(&one_pass));
    }
    let rate = |s: f64| messages.len() as f64 / s;
    println!(
        "serde derived: {:.0} messages/s ({:.2} µs each)",
        rate(best_derived),
        best_derived * 1e6 / messages.len() as f64
    );
    println!(
        "one pass:      {:.0} messages/s ({:.2} µs each)",
        rate(best_one_pass),
        best_one_pass * 1e6 / messages.len() as f64
    );
    println!("one pass / derived: {:.2}x", best_derived / best_one_pass);
}
