#!/usr/bin/env bash
# Runs every check and test, on a fresh machine too: installs the system
# packages, fetches and starts Apache Kafka (KRaft) for the integration tests,
# then fmt, clippy and the whole test suite. Stops Kafka on exit if it started it.
#
# The cargo target directory lives outside the clone (CARGO_TARGET_DIR, default
# ~/.cache/touchline/target), so a fresh clone on a machine that built once
# rebuilds in seconds. One profile (dev) is built.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash deploy/system-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/touchline/target}"

started_kafka=""
if [ -z "${TOUCHLINE_TEST_KAFKA_BROKERS:-}" ]; then
  # Every test makes topics of its own; a broker that kept them across runs
  # would load thousands of partitions at start. So a broker this script starts
  # begins from empty storage (a running one is reused as it is).
  if ! bash deploy/kafka.sh status >/dev/null; then
    bash deploy/kafka.sh reset
    started_kafka=1
  fi
  # Also makes sure a running broker has the topics and listeners.
  bash deploy/kafka.sh start
fi
cleanup() { [ -n "$started_kafka" ] && bash deploy/kafka.sh stop || true; }
trap cleanup EXIT

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
