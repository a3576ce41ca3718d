//! Issue 11, every codec in and out: input compressed with none, gzip, snappy,
//! lz4 and zstd is consumed (one zstd message once stalled a partition for
//! good: "Decompression (codec 0x4) … Not implemented"), and what touchline
//! writes reads back: dead letters and commands in the codec under test
//! (`compression.type` in `kafka.client_properties` reaches the dead-letter and
//! command producers), credit sets in the publisher's lz4.
//!
//! The input topics are created with `compression.type` set to the codec, so
//! the broker stores (and touchline fetches) batches in that codec whatever
//! the producer did; the producer compresses with it too.
//!
//! Needs a broker on `TOUCHLINE_TEST_KAFKA_BROKERS` (default 127.0.0.1:9092).

#![allow(clippy::unwrap_used)]

mod clients;
mod support;

use clients::*;
use support::Topics;

/// `codec` as librdkafka's producer and as the topic's `compression.type`.
async fn in_and_out(codec: &str, topic_codec: &str) {
    let topics = Topics::unique(&format!("codec-{codec}"));
    create_topics(&topics, &[("compression.type", topic_codec)]).await;
    let compressed = props(&[("compression.type", codec)]);
    let trip = round_trip(&topics, &support::brokers(), &compressed, &compressed).await;
    assert!(!trip.credit_sets.is_empty());
    assert!(
        !trip.log.contains("Decompression") && !trip.log.contains("Not implemented"),
        "{}",
        trip.log
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uncompressed_input_is_consumed_and_output_reads_back() {
    in_and_out("none", "uncompressed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_input_is_consumed_and_output_reads_back() {
    in_and_out("gzip", "gzip").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snappy_input_is_consumed_and_output_reads_back() {
    in_and_out("snappy", "snappy").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lz4_input_is_consumed_and_output_reads_back() {
    in_and_out("lz4", "lz4").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_input_is_consumed_and_output_reads_back() {
    in_and_out("zstd", "zstd").await;
}
