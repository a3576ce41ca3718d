//! Issue 11, operability: what an operator and their machines see. In
//! process: `/healthz`, `/readyz`, `/v1/status` and `/metrics` on a stalled
//! partition (the state the Kafka edge records, injected), tokens, the
//! metrics listener. Against the broker: `touchline run` with the metrics
//! listener and JSON logs: lag, caught up, dead letters by reason, rebalances,
//! batch and request metrics, and a zstd record batch this build cannot
//! decode, which must stall its partition visibly, not silently.
//!
//! The Kafka tests need a broker on `TOUCHLINE_TEST_KAFKA_BROKERS` (default
//! 127.0.0.1:9092); the zstd message is produced with Kafka's console
//! producer through `deploy/kafka.sh run-class` (its jars and Java).

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use rdkafka::ClientConfig;
use rdkafka::producer::BaseProducer;
use serde_json::Value;
use support::*;
use touchline_api::{Access, ApiOptions, Role, TokenConfig, access::token_digest_hex};
use touchline_core::*;
use touchline_engine::{Engine, EngineConfig, Metrics, PartitionStatistics, Queries};
use touchline_proto::WireFormat;
use touchline_store::Store;
use tower::ServiceExt;

const ANALYST_TOKEN: &str = "analyst-secret";

async fn call(app: &axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::builder().uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// An API with an analyst token over an empty store, and its metrics.
fn api() -> (axum::Router, Arc<Metrics>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    let metrics = engine.metrics().clone();
    let access = Access::from_tokens(&[TokenConfig {
        name: "analyst".into(),
        role: Role::Analyst,
        sha256: token_digest_hex(ANALYST_TOKEN),
    }])
    .unwrap();
    let app = touchline_api::router_with(
        Queries::new(store),
        metrics.clone(),
        ApiOptions {
            access,
            ready_max_lag: Some(100),
            ..ApiOptions::default()
        },
    );
    (app, metrics, dir)
}

fn stats(topic: &str, partition: i32, high_watermark: i64) -> PartitionStatistics {
    PartitionStatistics {
        topic: topic.into(),
        partition,
        high_watermark,
        app_offset: -1001,
        low_watermark: 0,
        fetch_queue: 0,
    }
}

#[tokio::test]
async fn a_stalled_partition_fails_readyz_and_shows_in_status_and_metrics() {
    let (app, metrics, _dir) = api();
    // No consumer (the demo): live and ready, no token needed.
    assert_eq!(call(&app, "/healthz", None).await.0, StatusCode::OK);
    let (status, body) = call(&app, "/readyz", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // What the Kafka edge records: two partitions assigned from stored
    // offsets; partition 1 delivers, partition 0 errs the way rdkafka does
    // for a zstd batch in a build without zstd, then the statistics arrive.
    let partitions = metrics.partitions();
    partitions.attach();
    partitions.assigned(&[("in".into(), 0, Some(3)), ("in".into(), 1, Some(40))]);
    let (status, body) = call(&app, "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "lag not known yet");
    assert!(body.contains("lag not known yet"), "{body}");
    partitions.consumed("in", 1);
    for _ in 0..4 {
        partitions
            .undecodable("Message consumption error: NotImplemented (Local: Not implemented)");
    }
    let stalled = partitions.statistics(&[stats("in", 0, 15_016), stats("in", 1, 50)]);
    assert_eq!(stalled.len(), 1);

    let (status, body) = call(&app, "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let ready = json(&body);
    assert_eq!(ready["ready"], false);
    let reasons = ready["reasons"].to_string();
    assert!(reasons.contains("in [0]: stalled at offset 3"), "{reasons}");
    assert!(
        reasons.contains("15013 messages behind, more than 100"),
        "{reasons}"
    );

    let (status, body) = call(&app, "/v1/status", Some(ANALYST_TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let status = json(&body);
    assert_eq!(status["lag"], 15_013 + 10);
    assert_eq!(status["caught_up"], false);
    assert_eq!(status["ready"], false);
    assert_eq!(status["ready_max_lag"], 100);
    let stalled = &status["stalled_partitions"][0];
    assert_eq!(
        (&stalled["topic"], &stalled["partition"], &stalled["offset"]),
        (&Value::from("in"), &Value::from(0), &Value::from(3))
    );
    assert_eq!(stalled["errors"], 4);
    assert!(
        stalled["error"]
            .as_str()
            .unwrap()
            .contains("NotImplemented"),
        "{stalled}"
    );
    assert!(
        stalled["since"].as_str().unwrap().ends_with('Z'),
        "{stalled}"
    );
    assert_eq!(status["partitions"][1]["lag"], 10);
    assert_eq!(status["partitions"][1]["stalled"], Value::Null);

    // /metrics needs a token on the API listener.
    assert_eq!(
        call(&app, "/metrics", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, text) = call(&app, "/metrics", Some(ANALYST_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    for line in [
        "touchline_partition_stalled{topic=\"in\",partition=\"0\"} 1\n",
        "touchline_partition_stalled{topic=\"in\",partition=\"1\"} 0\n",
        "touchline_stalled_partitions 1\n",
        "touchline_consumer_lag{topic=\"in\",partition=\"0\"} 15013\n",
        "touchline_assigned_partitions 2\n",
        "touchline_partition_undecodable_errors_total{topic=\"in\",partition=\"0\"} 4\n",
        // The requests above, by route pattern and status.
        "touchline_http_requests_total{route=\"/readyz\",method=\"GET\",status=\"503\"} 2\n",
        "touchline_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"401\"} 1\n",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }

    // The partition delivers again (a codec upgrade, a fixed topic): ready.
    partitions.consumed("in", 0);
    partitions.committed(&[("in".into(), 0, 15_000), ("in".into(), 1, 50)]);
    let (status, body) = call(&app, "/readyz", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(json(&body)["caught_up"], true);
}

#[tokio::test]
async fn the_metrics_listener_serves_metrics_and_probes_without_a_token_and_nothing_else() {
    let (_, metrics, _dir) = api();
    Metrics::add(&metrics.events_appended, 3);
    let app = touchline_api::metrics_router(metrics.clone(), Some(5));
    let (status, text) = call(&app, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("touchline_events_appended_total 3\n"),
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert_eq!(call(&app, "/healthz", None).await.0, StatusCode::OK);
    assert_eq!(call(&app, "/readyz", None).await.0, StatusCode::OK);
    metrics.partitions().attach();
    let (status, body) = call(&app, "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("no partition is assigned"), "{body}");
    // Data stays behind the token-checked listener.
    let (status, _) = call(&app, "/v1/status", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&app, "/v1/persons/p-1", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The line of `text` (Prometheus exposition) for this series, parsed.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_exposes_lag_dead_letters_rebalances_batches_and_requests_and_logs_json() {
    let topics = Topics::unique("ops-metrics");
    topics.create().await;
    let producer = producer();
    let events: Vec<Envelope> = (0..6).map(|i| lead(&format!("p{i}"), i)).collect();
    produce(&producer, &topics, &events, 3).await;
    produce_raw(&producer, &topics.json, "bad", b"{not json").await;

    let dir = tempfile::tempdir().unwrap();
    let mut engine =
        Touchline::start_with_metrics(&dir.path().join("store"), &operations_env(&topics));
    // Lag comes from librdkafka's statistics, which lag behind the batches by
    // up to a statistics interval: wait for it too.
    engine.wait_for("every event appended, no lag and ready", |t| {
        t.status().is_some_and(|s| {
            s["metrics"]["events_appended"] == 6 && s["lag"] == 0 && s["ready"] == true
        })
    });
    let status = engine.status().unwrap();
    assert_eq!(status["lag"], 0, "{status}");
    assert_eq!(status["caught_up"], true);
    assert_eq!(status["stalled_partitions"], Value::Array(vec![]));
    // Three protobuf partitions and one JSON partition are assigned.
    assert_eq!(
        status["partitions"].as_array().unwrap().len(),
        4,
        "{status}"
    );
    assert_eq!(
        status["coverage"],
        serde_json::json!({"input_partitions": 4, "assigned_partitions": 4, "complete": true}),
        "{status}"
    );
    let (code, body) = engine.scrape("/readyz");
    assert_eq!(code, 200, "{body}");
    assert_eq!(engine.scrape("/healthz").0, 200);

    engine.wait_for("the outbox published", |t| {
        let text = t.scrape("/metrics").1;
        sample(&text, "touchline_outbox_depth") == Some(0.0)
            && sample(&text, "touchline_publish_seconds_count").is_some_and(|n| n >= 1.0)
    });
    let (code, text) = engine.scrape("/metrics");
    assert_eq!(code, 200);
    let json_partition = format!("{{topic=\"{}\",partition=\"0\"}}", topics.json);
    assert_eq!(
        sample(&text, &format!("touchline_consumer_lag{json_partition}")),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "touchline_dead_letters_total{reason=\"json_decode\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "touchline_events_appended_total"), Some(6.0));
    assert!(
        sample(&text, "touchline_rebalances_total{kind=\"assigned\"}").is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert_eq!(sample(&text, "touchline_assigned_partitions"), Some(4.0));
    assert_eq!(sample(&text, "touchline_stalled_partitions"), Some(0.0));
    // Every appended event's age was measured, in batches that were timed.
    assert_eq!(
        sample(&text, "touchline_event_age_at_commit_seconds_count"),
        Some(6.0),
        "{text}"
    );
    let batches = sample(&text, "touchline_batch_write_seconds_count").unwrap();
    assert!(batches >= 1.0, "{text}");
    assert_eq!(
        sample(&text, "touchline_batch_commit_seconds_count"),
        Some(batches)
    );
    assert_eq!(sample(&text, "touchline_batch_events_sum"), Some(6.0));
    assert!(sample(&text, "touchline_batch_prepare_seconds_count").is_some_and(|n| n >= batches));
    // The status requests above, by route pattern.
    assert!(
        sample(
            &text,
            "touchline_http_requests_total{route=\"/v1/status\",method=\"GET\",status=\"200\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{text}"
    );
    assert!(
        text.contains("touchline_http_request_seconds_bucket{"),
        "{text}"
    );
    // Without a token, /metrics on the API listener is refused.
    let (code, _) = http_request(&engine.http, "GET", "/metrics", None, "").unwrap();
    assert_eq!(code, 401);
    let (code, _) = http_get(&engine.http, "/v1/persons/p1").unwrap();
    assert_eq!(code, 200);

    let log = engine.terminate();
    // JSON logs: every line an object; the access log names the route
    // pattern, not the path; batches log inside their span.
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!lines.is_empty());
    let access = lines
        .iter()
        .find(|l| l["target"] == "touchline::access" && l["span"]["route"] == "/v1/persons/{id}")
        .unwrap_or_else(|| panic!("no access log line for /v1/persons/{{id}}\n{log}"));
    assert_eq!(access["fields"]["status"], 200);
    assert_eq!(access["span"]["method"], "GET");
    assert!(access["fields"]["latency_ms"].is_number(), "{access}");
    let dead_letter = lines
        .iter()
        .find(|l| l["fields"]["message"] == "dead-lettering a message")
        .unwrap_or_else(|| panic!("no dead-letter line\n{log}"));
    assert_eq!(dead_letter["span"]["name"], "batch", "{dead_letter}");
    assert!(dead_letter["span"]["messages"].is_number(), "{dead_letter}");
}

/// Whether this build's librdkafka has zstd (wt-sec's issue 11 work adds it).
fn build_has_zstd() -> bool {
    ClientConfig::new()
        .set("compression.codec", "zstd")
        .create::<BaseProducer>()
        .is_ok()
}

/// Produces one message in a zstd-compressed record batch with Kafka's own
/// console producer (the Java client always has zstd; kcat and this build's
/// librdkafka may not): the input that once stalled a partition for good.
fn produce_zstd(topic: &str, key: &str, payload: &[u8]) {
    use std::io::Write;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kafka.sh");
    let mut producer = Command::new("bash")
        .arg(script)
        .args([
            "run-class",
            "org.apache.kafka.tools.ConsoleProducer",
            "--bootstrap-server",
            &brokers(),
            "--topic",
            topic,
            "--compression-codec",
            "zstd",
            "--property",
            "parse.key=true",
            "--property",
            "key.separator=\t",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("deploy/kafka.sh run-class");
    let mut stdin = producer.stdin.take().unwrap();
    stdin.write_all(key.as_bytes()).unwrap();
    stdin.write_all(b"\t").unwrap();
    stdin.write_all(payload).unwrap();
    stdin.write_all(b"\n").unwrap();
    // End of input: the producer flushes (acks) and exits.
    drop(stdin);
    let out = producer.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "console producer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zstd_batch_the_build_cannot_decode_stalls_its_partition_visibly_not_silently() {
    let topics = Topics::unique("ops-zstd");
    topics.create().await;
    let producer = producer();
    // The JSON topic has one partition: before, the zstd batch, after.
    produce(&producer, &topics, &[lead("before", 0)], 1).await;
    let zstd_event = touchline_proto::encode(WireFormat::Json, &lead("zstd", 1));
    produce_zstd(&topics.json, "zstd", &zstd_event);
    produce(&producer, &topics, &[lead("after", 2)], 1).await;

    let dir = tempfile::tempdir().unwrap();
    let mut engine =
        Touchline::start_with_metrics(&dir.path().join("store"), &operations_env(&topics));
    if build_has_zstd() {
        // The codec is there: the batch decodes and nothing stalls. The
        // detection itself is proven by the in-process tests above and the
        // unit tests of the bookkeeping (crates/engine partitions, ingest).
        engine.wait_for("all three appended and ready", |t| {
            t.status()
                .is_some_and(|s| s["metrics"]["events_appended"] == 3 && s["ready"] == true)
        });
        assert_eq!(engine.scrape("/readyz").0, 200);
        engine.terminate();
        return;
    }
    engine.wait_for("the JSON partition reported stalled at offset 1", |t| {
        t.status().is_some_and(|s| {
            s["stalled_partitions"]
                .as_array()
                .is_some_and(|a| a.iter().any(|p| p["topic"] == topics.json.as_str()))
        })
    });
    let status = engine.status().unwrap();
    let stalled = &status["stalled_partitions"][0];
    assert_eq!(stalled["partition"], 0, "{status}");
    assert_eq!(stalled["offset"], 1, "{status}");
    assert!(
        stalled["error"]
            .as_str()
            .unwrap()
            .contains("NotImplemented"),
        "{stalled}"
    );
    // librdkafka's detail names the codec and the offset.
    assert!(
        stalled["error"]
            .as_str()
            .unwrap()
            .contains("Decompression (codec 0x4) of message at 1"),
        "{stalled}"
    );
    // Nothing past it is applied (the default does not skip), and it shows.
    assert_eq!(status["metrics"]["events_appended"], 1, "{status}");
    assert_eq!(status["ready"], false);
    let json_partition = format!("{{topic=\"{}\",partition=\"0\"}}", topics.json);
    let mut errors = 0.0;
    engine.wait_for("several consumer errors counted", |t| {
        let (code, body) = t.scrape("/readyz");
        let text = t.scrape("/metrics").1;
        errors = sample(
            &text,
            "touchline_consumer_errors_total{code=\"NotImplemented\"}",
        )
        .unwrap_or_default();
        code == 503
            && body.contains("stalled at offset 1")
            && errors >= 4.0
            && sample(
                &text,
                &format!("touchline_partition_stalled{json_partition}"),
            ) == Some(1.0)
            && sample(&text, &format!("touchline_consumer_lag{json_partition}")) == Some(2.0)
    });
    let log = engine.terminate();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let message = |l: &Value| {
        l["fields"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let stall_lines = lines
        .iter()
        .filter(|l| message(l).starts_with("partition stalled"))
        .count();
    assert_eq!(stall_lines, 1, "the stall is logged once\n{log}");
    let error_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| message(l).starts_with("a record batch cannot be decoded"))
        .collect();
    // Once per 30 s with a count, not per occurrence.
    assert!(!error_lines.is_empty(), "{log}");
    assert!(
        (error_lines.len() as f64) < errors,
        "{} lines for {errors} errors\n{log}",
        error_lines.len()
    );
    assert_eq!(error_lines[0]["fields"]["count"], 1);
}

/// The environment of a `touchline run` whose lag and logs are under test:
/// statistics every 200 ms, logs as JSON lines.
fn operations_env(topics: &Topics) -> Vec<(String, String)> {
    let mut env = topics.env();
    env.push((
        "TOUCHLINE_KAFKA_STATISTICS_INTERVAL_MS".into(),
        "200".into(),
    ));
    env.push(("TOUCHLINE_LOG_FORMAT".into(), "json".into()));
    env
}

/// Two instances in one group split the input partitions and do not share
/// state yet, so each says that its answers cover only its partitions; once
/// the other leaves, the one left covers every partition again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_holds_some_of_the_partitions_says_its_answers_are_partial() {
    let topics = Topics::unique("ops-coverage");
    topics.create().await;
    let events: Vec<Envelope> = (0..8).map(|i| lead(&format!("p{i}"), i)).collect();
    produce(&producer(), &topics, &events, 3).await;
    let coverage = |t: &Touchline| t.status().map(|s| s["coverage"].clone());
    let dir = tempfile::tempdir().unwrap();
    let mut first = Touchline::start(&dir.path().join("a"), None, &operations_env(&topics));
    first.wait_for("every partition is the first instance's", |t| {
        coverage(t).is_some_and(|c| c["complete"] == true && c["assigned_partitions"] == 4)
    });
    let mut env = operations_env(&topics);
    env.retain(|(name, _)| name != "TOUCHLINE_KAFKA_INSTANCE_ID");
    env.push((
        "TOUCHLINE_KAFKA_INSTANCE_ID".into(),
        format!("{}-second", topics.group),
    ));
    let mut second = Touchline::start(&dir.path().join("b"), None, &env);
    second.wait_for("the second instance holds some partitions", |t| {
        coverage(t).is_some_and(|c| c["complete"] == false && c["assigned_partitions"] != 0)
    });
    first.wait_for("the first instance holds the others", |t| {
        coverage(t).is_some_and(|c| c["complete"] == false && c["input_partitions"] == 4)
    });
    let logs = second.terminate();
    assert!(
        logs.contains("consumes only some of the input partitions"),
        "the instance warned: {logs}"
    );
    first.wait_for("every partition is the first instance's again", |t| {
        coverage(t).is_some_and(|c| c["complete"] == true && c["assigned_partitions"] == 4)
    });
}
