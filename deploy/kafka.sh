#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) for local use
# and integration tests. Needs only Java 17+ and Maven: the broker classpath is
# resolved from Maven Central (deploy/kafka/pom.xml) because release tarballs
# are not reachable from every machine we run on.
#
#   deploy/kafka.sh fetch          resolve + cache the jars (idempotent)
#   deploy/kafka.sh start          fetch, format storage once, start, create topics
#   deploy/kafka.sh stop           SIGTERM, wait, SIGKILL as a last resort
#   deploy/kafka.sh restart
#   deploy/kafka.sh status         exit 0 if running, 3 if not
#   deploy/kafka.sh create-topics  create the topics below if missing
#   deploy/kafka.sh list-topics
#   deploy/kafka.sh logs           tail the broker log
#   deploy/kafka.sh reset          delete the data dir (all topics/messages); must be stopped
#   deploy/kafka.sh run-class CLASS [ARGS...]   run a Kafka tool on the classpath,
#       e.g. run-class org.apache.kafka.tools.consumer.ConsoleConsumer \
#              --bootstrap-server 127.0.0.1:9092 --topic t --from-beginning
#
# Environment:
#   TOUCHLINE_CACHE                   jar cache root     (~/.cache/touchline)
#   TOUCHLINE_KAFKA_DIR               data dir           (~/.cache/touchline/kafka-data)
#   TOUCHLINE_KAFKA_PORT              client port        (9092)
#   TOUCHLINE_KAFKA_CONTROLLER_PORT   KRaft controller   (9093)
#   TOUCHLINE_KAFKA_SSL_PORT          TLS, server certificate only   (client port + 2: 9094)
#   TOUCHLINE_KAFKA_MTLS_PORT         mutual TLS, client certificate required (client port + 3: 9095)
#   TOUCHLINE_KAFKA_SASL_SSL_PORT     SASL_SSL: PLAIN, SCRAM-SHA-256/512, OAUTHBEARER (client port + 4: 9096)
#   TOUCHLINE_KAFKA_HEAP              broker heap flags  (-Xmx1G -Xms512m)
#   TOUCHLINE_KAFKA_START_TIMEOUT     seconds            (90)
#   TOUCHLINE_KAFKA_STOP_TIMEOUT      seconds            (60)
#
# Secured listeners (besides PLAINTEXT, which everything else uses): `start`
# makes a test CA, a broker certificate (SAN 127.0.0.1, localhost) and a client
# certificate for mutual TLS in $TOUCHLINE_KAFKA_DIR/tls once, with openssl:
#   ca.pem                      the CA: ssl.ca.location for every TLS listener
#   client.pem, client.key      the client certificate: ssl.certificate.location
#                               and ssl.key.location on the mutual-TLS listener
# SASL users (on the SASL_SSL listener): touchline / touchline-secret for PLAIN
# (JAAS), SCRAM-SHA-256 and SCRAM-SHA-512 (created with kafka-configs after the
# first start, so data dirs formatted before them work too); OAUTHBEARER takes
# librdkafka's unsecured JWT (the broker's unsecured validator; tests only).
set -euo pipefail

# Topics created by `start` / `create-topics`: NAME:PARTITIONS[:KEY=VALUE,...]
TOPICS=(
  "touchline.events.v1:4"
  "touchline.events.json.v1:4"
  "touchline.deadletter.v1:1"
    "touchline.attribution.v1:4:cleanup.policy=compact"
  "touchline.alerts.v1:4"
)

KAFKA_VERSION=4.1.1

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CONF_DIR="$SCRIPT_DIR/kafka"
POM="$CONF_DIR/pom.xml"
BROKER_LOG4J="$CONF_DIR/log4j2.xml"
TOOLS_LOG4J="$CONF_DIR/tools-log4j2.xml"

CACHE_ROOT="${TOUCHLINE_CACHE:-$HOME/.cache/touchline}"
LIBS_DIR="$CACHE_ROOT/kafka-$KAFKA_VERSION/libs"
DATA_DIR="$(realpath -m "${TOUCHLINE_KAFKA_DIR:-$HOME/.cache/touchline/kafka-data}")"
HOST=127.0.0.1
PORT="${TOUCHLINE_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${TOUCHLINE_KAFKA_CONTROLLER_PORT:-9093}"
SSL_PORT="${TOUCHLINE_KAFKA_SSL_PORT:-$((PORT + 2))}"
MTLS_PORT="${TOUCHLINE_KAFKA_MTLS_PORT:-$((PORT + 3))}"
SASL_SSL_PORT="${TOUCHLINE_KAFKA_SASL_SSL_PORT:-$((PORT + 4))}"
BOOTSTRAP="$HOST:$PORT"
SASL_USER=touchline
SASL_PASSWORD=touchline-secret
HEAP_OPTS="${TOUCHLINE_KAFKA_HEAP:--Xmx1G -Xms512m}"
START_TIMEOUT="${TOUCHLINE_KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${TOUCHLINE_KAFKA_STOP_TIMEOUT:-60}"

PROPS="$DATA_DIR/server.properties"
LOG_DIRS="$DATA_DIR/logs"
PID_FILE="$DATA_DIR/kafka.pid"
OUT_FILE="$DATA_DIR/kafka.out"     # JVM stdout/stderr (crashes, GC, early errors)
SERVER_LOG="$DATA_DIR/server.log"  # log4j2 output, see deploy/kafka/log4j2.xml
TLS_DIR="$DATA_DIR/tls"            # CA, broker and client certificates (make_tls)
# Written once the SCRAM users exist; in the log dir, so `reset` drops it too.
SCRAM_STAMP="$LOG_DIRS/.touchline-scram-users"
# The broker keystore's password (a test CA's key: nothing to protect).
STORE_PASSWORD=touchline-test

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { printf 'kafka.sh: error: %s\n' "$*" >&2; exit 1; }

java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null; then
    command -v java
  else
    die "java not found (Kafka $KAFKA_VERSION needs Java 17+; apt-get install openjdk-17-jre-headless)"
  fi
}

check_java() {
  local ver major
  ver="$("$(java_bin)" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
  major="${ver%%.*}"
  [[ "$major" =~ ^[0-9]+$ && "$major" -ge 17 ]] \
    || die "Kafka $KAFKA_VERSION needs Java 17+, found '${ver:-unknown}' ($(java_bin))"
}

# Short-lived tool JVMs: small heap, C1 only, quiet logging -> faster startup.
run_class() {
  "$(java_bin)" -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$TOOLS_LOG4J" \
    -cp "$LIBS_DIR/*" "$@"
}

port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}

# Prints the broker pid if the pid file points at a live broker of ours;
# clears a stale pid file (e.g. after a reboot or a kill -9).
broker_pid() {
  local pid
  [[ -f "$PID_FILE" ]] || return 1
  pid="$(<"$PID_FILE")"
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
    # Guard against pid reuse: it must be our broker, not any process.
    local cmdline
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    if [[ "$cmdline" == *"kafka.Kafka $PROPS"* ]]; then
      echo "$pid"
      return 0
    fi
  fi
  rm -f "$PID_FILE"
  return 1
}

# Serialise start/stop/reset on one data dir: parallel test jobs must not race.
take_lock() {
  mkdir -p "$DATA_DIR"
  exec 9>"$DATA_DIR/.lock"
  flock -w 300 9 || die "timed out waiting for the lock on $DATA_DIR/.lock"
}

cmd_fetch() {
  local stamp="$LIBS_DIR/.complete" key tmp
  # Keyed by version and pom contents, so editing the pom re-resolves.
  key="$KAFKA_VERSION $(sha256sum "$POM" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(<"$stamp")" == "$key" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  check_java
  # The jar cache is shared by all data dirs, so it has its own lock; re-check
  # once we hold it, another process may have just filled the cache.
  mkdir -p "$(dirname "$LIBS_DIR")"
  exec 8>"$(dirname "$LIBS_DIR")/.fetch.lock"
  flock -w 600 8 || die "timed out waiting for another fetch into $LIBS_DIR"
  if [[ -f "$stamp" && "$(<"$stamp")" == "$key" ]]; then
    exec 8>&-
    return 0
  fi
  log "resolving Kafka $KAFKA_VERSION classpath from Maven Central into $LIBS_DIR"
  tmp="$(mktemp -d "$LIBS_DIR.tmp.XXXXXX")"
  # Output kept for failures only (-q still prints stray ANSI resets).
  if ! mvn -q -B -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$tmp" >"$tmp.mvn.log" 2>&1; then
    cat "$tmp.mvn.log" >&2
    rm -rf "$tmp" "$tmp.mvn.log"
    die "mvn could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (see output above)"
  fi
  rm -f "$tmp.mvn.log"
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" && -f "$tmp/kafka-tools-$KAFKA_VERSION.jar" ]] \
    || { rm -rf "$tmp"; die "Kafka jars missing after mvn copy-dependencies"; }
  echo "$key" >"$tmp/.complete"
  # Swap in whole so an interrupted fetch never leaves a half classpath.
  rm -rf "$LIBS_DIR"
  mv "$tmp" "$LIBS_DIR"
  exec 8>&-
  log "cached $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars"
}

write_props() {
  local out="${1:-$PROPS}"
  # Regenerated on every start so port changes apply; static voters (rather
  # than a formatted dynamic quorum) keep old data dirs valid across them.
  cat >"$out" <<EOF
# Generated by deploy/kafka.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,SSL://$HOST:$SSL_PORT,MTLS://$HOST:$MTLS_PORT,SASL_SSL://$HOST:$SASL_SSL_PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT,SSL://$HOST:$SSL_PORT,MTLS://$HOST:$MTLS_PORT,SASL_SSL://$HOST:$SASL_SSL_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,MTLS:SSL,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
# TLS on SSL, MTLS and SASL_SSL: the broker's certificate, signed by tls/ca.pem.
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS_DIR/broker.p12
ssl.keystore.password=$STORE_PASSWORD
ssl.key.password=$STORE_PASSWORD
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
ssl.client.auth=none
# MTLS: a client certificate signed by tls/ca.pem is required.
listener.name.mtls.ssl.client.auth=required
# SASL_SSL: PLAIN users in JAAS, SCRAM users in the cluster metadata
# (kafka-configs), OAUTHBEARER with unsecured JWTs (tests only).
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USER="$SASL_PASSWORD";
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="$SASL_USER";
listener.name.sasl_ssl.oauthbearer.sasl.server.callback.handler.class=org.apache.kafka.common.security.oauthbearer.internals.unsecured.OAuthBearerUnsecuredValidatorCallbackHandler
log.dirs=$LOG_DIRS
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.network.threads=2
num.io.threads=4
EOF
}

# A test CA, the broker's certificate and a client certificate, made once per
# data dir (kept across restarts and resets). Plain PEM files without
# passwords, except the broker's PKCS12 keystore, which Java wants.
make_tls() {
  [[ -f "$TLS_DIR/.complete" ]] && return 0
  command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"
  log "making a test CA and certificates in $TLS_DIR"
  rm -rf "$TLS_DIR"
  mkdir -p "$TLS_DIR"
  (
    cd "$TLS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
      -subj "/CN=touchline test CA" -keyout ca.key -out ca.pem \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
      -keyout broker.key -out broker.csr
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -days 3650 -sha256 -extfile broker.ext -out broker.pem
    openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem \
      -name broker -passout "pass:$STORE_PASSWORD" -out broker.p12
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=touchline-client" \
      -keyout client.key -out client.csr
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -days 3650 -sha256 -extfile client.ext -out client.pem
    rm -f ./*.csr ./*.ext
  ) >"$TLS_DIR.log" 2>&1 || { cat "$TLS_DIR.log" >&2; die "openssl could not make the test certificates"; }
  rm -f "$TLS_DIR.log"
  touch "$TLS_DIR/.complete"
}

# SCRAM credentials live in the cluster metadata: added through the admin API
# once the broker runs (so a data dir formatted before they existed gets them
# too), then remembered by a stamp in the log dir.
add_scram_users() {
  [[ -f "$SCRAM_STAMP" ]] && return 0
  local out mechanism
  # One mechanism per request: KRaft refuses two changes to one user in one.
  for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do
    out="$(run_class kafka.admin.ConfigCommand --bootstrap-server "$BOOTSTRAP" --alter \
          --entity-type users --entity-name "$SASL_USER" \
          --add-config "$mechanism=[password=$SASL_PASSWORD]" 2>&1)" \
      || { echo "$out" >&2; die "could not add the $mechanism user $SASL_USER"; }
  done
  touch "$SCRAM_STAMP"
  log "SCRAM-SHA-256 and SCRAM-SHA-512 user $SASL_USER added"
}

format_storage() {
  [[ -f "$LOG_DIRS/meta.properties" ]] && return 0
  local cluster_id
  cluster_id="$(run_class kafka.tools.StorageTool random-uuid)" \
    || die "kafka.tools.StorageTool random-uuid failed"
  log "formatting KRaft storage in $LOG_DIRS (cluster id $cluster_id)"
  run_class kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" >&2 \
    || die "kafka.tools.StorageTool format failed"
}

# Tail of what this start wrote ($1 = server.log size before it), so a JVM
# that died early doesn't show the previous run's log as if it were current.
show_log_tail() {
  if [[ -s "$OUT_FILE" ]]; then
    printf -- '--- last lines of %s ---\n' "$OUT_FILE" >&2
    tail -n 40 "$OUT_FILE" >&2
  fi
  if [[ -f "$SERVER_LOG" ]] && (($(stat -c %s "$SERVER_LOG") > $1)); then
    printf -- '--- last lines of %s ---\n' "$SERVER_LOG" >&2
    tail -c +"$(($1 + 1))" "$SERVER_LOG" | tail -n 40 >&2
  fi
}

cmd_start() {
  take_lock
  cmd_fetch
  check_java
  local pid stale=""
  if pid="$(broker_pid)"; then
    log "already running (pid $pid) on $BOOTSTRAP"
    # A broker started by an older version of this script lacks listeners
    # (TLS, SASL) the tests expect; say so rather than restart it under
    # whoever else is using it.
    local wanted
    wanted="$(mktemp)"
    write_props "$wanted"
    if ! cmp -s "$wanted" "$PROPS" || [[ ! -f "$TLS_DIR/.complete" ]]; then
      log "warning: the running broker's configuration is out of date (e.g. no TLS/SASL listeners); '$0 restart' applies it"
      stale=1
    fi
    rm -f "$wanted"
  else
    local p
    for p in "$PORT" "$CONTROLLER_PORT" "$SSL_PORT" "$MTLS_PORT" "$SASL_SSL_PORT"; do
      ! port_open "$p" \
        || die "port $HOST:$p is already in use by a process not started from $DATA_DIR"
    done
    mkdir -p "$DATA_DIR" "$LOG_DIRS"
    make_tls
    write_props
    format_storage

    # Only look at log lines written by this start when waiting for readiness.
    local log_offset=0 started=$SECONDS
    [[ -f "$SERVER_LOG" ]] && log_offset="$(stat -c %s "$SERVER_LOG")"
    : >"$OUT_FILE"
    # setsid: the broker outlives the calling shell/CI step and its Ctrl-C.
    # 8>&- 9>&-: it must not inherit (and so hold forever) the lock fds.
    # shellcheck disable=SC2086  # HEAP_OPTS is a list of flags
    (cd "$DATA_DIR" && exec setsid nohup "$(java_bin)" $HEAP_OPTS \
        -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dkafka.logs.dir="$DATA_DIR" -Dlog4j2.configurationFile="$BROKER_LOG4J" \
        -cp "$LIBS_DIR/*" kafka.Kafka "$PROPS" \
        >>"$OUT_FILE" 2>&1 </dev/null 8>&- 9>&-) &
    pid=$!
    echo "$pid" >"$PID_FILE"
    log "starting broker (pid $pid), logs in $SERVER_LOG"

    # Ready = the broker logged startup completion AND the client port
    # accepts connections (the socket is bound well before requests are served).
    local deadline=$((SECONDS + START_TIMEOUT))
    # (Process substitution, not a pipe: grep -q closing early would make
    # tail die of SIGPIPE and pipefail turn a match into a failure.)
    until grep -q 'Kafka Server started' \
            < <(tail -c +"$((log_offset + 1))" "$SERVER_LOG" 2>/dev/null) \
          && port_open "$PORT"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        rm -f "$PID_FILE"
        show_log_tail "$log_offset"
        die "broker exited during startup"
      fi
      if ((SECONDS >= deadline)); then
        show_log_tail "$log_offset"
        die "broker not ready after ${START_TIMEOUT}s (still running as pid $pid; '$0 stop' to kill it)"
      fi
      sleep 0.5
    done
    log "broker ready on $BOOTSTRAP after $((SECONDS - started))s"
  fi
  add_scram_users
  create_topics
  [[ -n "$stale" ]] || log "secured listeners: SSL $HOST:$SSL_PORT, mutual TLS $HOST:$MTLS_PORT, SASL_SSL $HOST:$SASL_SSL_PORT (CA $TLS_DIR/ca.pem)"
}

cmd_stop() {
  take_lock
  local pid
  if ! pid="$(broker_pid)"; then
    log "not running"
    return 0
  fi
  log "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after ${STOP_TIMEOUT}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_reset() {
  take_lock
  if broker_pid >/dev/null; then
    die "broker is running; '$0 stop' first"
  fi
  # Only delete something that looks like our data dir (a typo'd
  # TOUCHLINE_KAFKA_DIR must not wipe an unrelated directory).
  if [[ -f "$PROPS" || -f "$LOG_DIRS/meta.properties" ]]; then
    rm -rf "$LOG_DIRS" "$PROPS" "$OUT_FILE" "$SERVER_LOG" "$SERVER_LOG".* "$PID_FILE"
    log "wiped $DATA_DIR; next start formats fresh storage"
  else
    log "nothing to reset in $DATA_DIR"
  fi
}

cmd_status() {
  local pid
  if pid="$(broker_pid)"; then
    echo "running (pid $pid), bootstrap $BOOTSTRAP (SSL :$SSL_PORT, mutual TLS :$MTLS_PORT, SASL_SSL :$SASL_SSL_PORT), data $DATA_DIR"
    return 0
  fi
  if port_open "$PORT"; then
    echo "not running from $DATA_DIR, but something else listens on $BOOTSTRAP"
  else
    echo "not running (bootstrap would be $BOOTSTRAP)"
  fi
  return 3
}

require_fetched() {
  [[ -f "$LIBS_DIR/.complete" ]] || die "Kafka jars not fetched yet; run '$0 fetch' or '$0 start'"
}

require_reachable() {
  require_fetched
  port_open "$PORT" || die "no broker listening on $BOOTSTRAP; run '$0 start'"
}

list_topics() {
  run_class org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --list
}

create_topics() {
  require_reachable
  local existing spec name partitions configs cfg created=0
  # One JVM to list, then one per missing topic: a warm start stays quick.
  existing="$(list_topics)" || die "could not list topics on $BOOTSTRAP"
  for spec in "${TOPICS[@]}"; do
    IFS=: read -r name partitions configs <<<"$spec"
    if grep -qxF "$name" <<<"$existing"; then
      continue
    fi
    local args=(--bootstrap-server "$BOOTSTRAP" --create --if-not-exists
                --topic "$name" --partitions "$partitions" --replication-factor 1)
    if [[ -n "$configs" ]]; then
      IFS=, read -ra cfgs <<<"$configs"
      for cfg in "${cfgs[@]}"; do args+=(--config "$cfg"); done
    fi
    local out
    out="$(run_class org.apache.kafka.tools.TopicCommand "${args[@]}" 2>&1)" \
      || { echo "$out" >&2; die "could not create topic $name"; }
    # Drop TopicCommand's boilerplate warning about '.' vs '_' in names.
    grep -v "^WARNING: Due to limitations in metric names" <<<"$out" >&2 || true
    created=$((created + 1))
  done
  log "topics ready (${#TOPICS[@]} configured, $created created)"
}

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit "${1:-2}"
}

main() {
  local cmd="${1:-}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    fetch)         cmd_fetch ;;
    start)         cmd_start ;;
    stop)          cmd_stop ;;
    restart)       cmd_stop; cmd_start ;;
    status)        cmd_status ;;
    create-topics) create_topics ;;
    list-topics)   require_reachable; list_topics ;;
    reset)         cmd_reset ;;
    logs)          tail -n "${1:-100}" "$SERVER_LOG" ;;
    run-class)     [[ $# -gt 0 ]] || usage; require_fetched; run_class "$@" ;;
    -h|--help|help) usage 0 ;;
    *)             usage ;;
  esac
}

main "$@"
