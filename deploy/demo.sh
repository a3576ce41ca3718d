#!/usr/bin/env bash
# The main job on the embedded default, no Kafka: generates a seeded dataset,
# pushes it through the pipeline from an in-process source, prints the report
# and serves the API on 127.0.0.1:8080. Arguments go to `touchline demo`
# (try --help, --accounts, --seed, --no-serve).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash deploy/system-deps.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/touchline/target}"
exec cargo run --release --locked --bin touchline -- demo "$@"
