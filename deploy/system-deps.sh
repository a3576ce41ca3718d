#!/usr/bin/env bash
# Installs what the build needs from the system, once per machine:
# - g++: RocksDB's C++, compiled from librocksdb-sys's bundled sources (once
#   per profile, 13-14 minutes on 2 cores; see ARCHITECTURE.md, "Build cost");
# - libclang-dev: bindgen for librocksdb-sys;
# - kcat: a Kafka command-line client for looking at topics;
# - libssl-dev, pkg-config: OpenSSL for librdkafka's TLS and SASL (SCRAM,
#   PLAIN and OAUTHBEARER are librdkafka's own; only GSSAPI/Kerberos would need
#   cyrus-sasl, which we do not build); zstd is built from source by zstd-sys,
#   gzip uses zlib (zlib1g-dev), snappy and lz4 are in librdkafka;
# - openssl: the test broker's CA and certificates (deploy/kafka.sh);
# - chromium, chromium-driver: the headless browser and its WebDriver server
#   that the dashboard's browser tests drive (tests/dashboard.rs).
# protoc is not needed: the build uses the vendored one from protoc-bin-vendored.
# librdkafka is built from its bundled sources by rdkafka-sys (needs only gcc/make).
set -euo pipefail

packages=(g++ libclang-dev kcat libssl-dev pkg-config zlib1g-dev openssl chromium chromium-driver)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "system-deps: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Rust components the checks use.
for component in clippy rustfmt; do
  rustup component list --installed 2>/dev/null | grep -q "^$component" || rustup component add "$component"
done
