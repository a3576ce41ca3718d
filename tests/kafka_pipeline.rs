//! The pipeline end to end on a real Kafka broker: events in (protobuf and JSON),
//! log, views, attribution published to a compacted topic, dead letters, and a
//! kill -9 in the middle of the stream.
//!
//! Needs a broker on `TOUCHLINE_TEST_KAFKA_BROKERS` (default 127.0.0.1:9092);
//! `deploy/test.sh` starts one.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use support::*;
use touchline_attribution::Model;
use touchline_core::*;
use touchline_datagen::{DatasetConfig, Generator};
use touchline_engine::{
    ActivityAlert, AttributionMessage, Engine, EngineConfig, Metrics, PublishedAttribution, Queries,
};
use touchline_fixtures::{LeadFixture, envelope};
use touchline_kafka::{Ingest, Publisher};
use touchline_projection::ConversionView;
use touchline_store::{Store, Table};

fn dataset(accounts: usize, prefix: &str) -> Vec<Envelope> {
    Generator::new(DatasetConfig {
        accounts,
        seed: 7,
        id_prefix: prefix.to_owned(),
        ..DatasetConfig::default()
    })
    .collect()
}

fn distinct_ids(events: &[Envelope]) -> usize {
    events
        .iter()
        .map(|e| e.event_id.as_str())
        .collect::<HashSet<_>>()
        .len()
}

/// An engine consuming and publishing inside this test process.
struct InProcess {
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    shutdown: Arc<AtomicBool>,
    ingest: Option<std::thread::JoinHandle<Engine>>,
    publishing: Option<tokio::task::JoinHandle<()>>,
}

impl InProcess {
    fn start(dir: &std::path::Path, topics: &Topics) -> InProcess {
        let store = Arc::new(Store::open(dir).unwrap());
        let engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
        let metrics = engine.metrics().clone();
        let shutdown = Arc::new(AtomicBool::new(false));
        let config = topics.kafka_config();
        let ingest = Ingest::new(engine, config.clone(), shutdown.clone()).unwrap();
        let ingest = std::thread::spawn(move || ingest.run().expect("ingest runs"));
        let publisher = Publisher::new(store.clone(), &config, metrics.clone()).unwrap();
        let publishing = tokio::spawn(publisher.run(shutdown.clone()));
        InProcess {
            store,
            metrics,
            shutdown,
            ingest: Some(ingest),
            publishing: Some(publishing),
        }
    }

    fn wait_for_appended(&self, n: u64) {
        eventually(&format!("{n} events appended"), || {
            self.metrics.events_appended.get() >= n
        });
    }

    async fn stop(mut self) {
        self.shutdown.store(true, Ordering::Relaxed);
        if let Some(ingest) = self.ingest.take() {
            ingest.join().unwrap();
        }
        if let Some(publishing) = self.publishing.take() {
            publishing.await.unwrap();
        }
    }
}

/// What a consumer of the compacted attribution topic ends up with: the highest
/// version per key, tombstones removing keys.
fn rebuild_from_topic(topic: &str) -> HashMap<String, PublishedAttribution> {
    let mut state: HashMap<String, PublishedAttribution> = HashMap::new();
    for message in read_all(topic) {
        let key = message.key.expect("attribution messages are keyed");
        match message.payload {
            None => {
                state.remove(&key);
            }
            Some(bytes) => {
                let value: PublishedAttribution =
                    serde_json::from_slice(&bytes).expect("JSON attribution message");
                assert_eq!(
                    key,
                    format!("{}/{}", value.model.name(), value.conversion.id)
                );
                if state
                    .get(&key)
                    .is_none_or(|old| old.version < value.version)
                {
                    state.insert(key, value);
                }
            }
        }
    }
    state
}

/// The topic, read from the start, equals the store's current credit sets.
fn assert_topic_matches_store(topic: &str, store: &Store) {
    let published = rebuild_from_topic(topic);
    let mut expected = 0;
    store
        .for_each(Table::Conversions, |id, view: ConversionView| {
            for result in &view.results {
                expected += 1;
                let key = format!("{}/{id}", result.model.name());
                let message = published
                    .get(&key)
                    .unwrap_or_else(|| panic!("{key} was never published"));
                let stored = AttributionMessage::of(&view, result.model).expect("a result");
                assert_eq!(message.version, result.version, "{key}");
                assert_eq!(message.credits, stored.credits, "{key}");
                assert_eq!(message.conversion, stored.conversion, "{key}");
            }
        })
        .unwrap();
    assert_eq!(
        published.len(),
        expected,
        "the topic holds exactly the current credit sets"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protobuf_and_json_events_reach_the_log_the_views_and_the_attribution_topic() {
    let topics = Topics::unique("pipeline");
    topics.create().await;
    let events = dataset(120, "pl-");
    let distinct = distinct_ids(&events) as u64;
    produce(&producer(), &topics, &events, 5).await;

    let dir = tempfile::tempdir().unwrap();
    let engine = InProcess::start(dir.path(), &topics);
    engine.wait_for_appended(distinct);
    eventually("the outbox drained to Kafka", || {
        engine.store.outbox(1).unwrap().is_empty()
    });
    let store = engine.store.clone();
    let metrics = engine.metrics.clone();
    engine.stop().await;

    // The log holds every event once; retries were counted, not appended.
    let logged = store.events(0, usize::MAX).unwrap();
    assert_eq!(logged.len() as u64, distinct);
    assert_eq!(
        metrics.snapshot().duplicates,
        events.len() as u64 - distinct
    );
    let produced: HashMap<&str, &Envelope> =
        events.iter().map(|e| (e.event_id.as_str(), e)).collect();
    for stored in &logged {
        assert_eq!(
            &&stored.envelope,
            produced.get(stored.envelope.event_id.as_str()).unwrap()
        );
    }

    // The lead projection: source at first contact and touch history in order.
    let queries = Queries::new(store.clone());
    let (person_id, lead) = events
        .iter()
        .find_map(|e| match &e.event {
            Event::LeadCreated(l) if l.source.is_some() => Some((l.person_id.clone(), l)),
            _ => None,
        })
        .unwrap();
    let person = queries.person(&person_id).unwrap().unwrap();
    assert_eq!(person.source, lead.source);
    let mut expected_touches: Vec<(Timestamp, &str)> = events
        .iter()
        .filter_map(|e| match &e.event {
            Event::TouchRecorded(t) if t.person_id == person_id => {
                Some((e.occurred_at, e.event_id.as_str()))
            }
            _ => None,
        })
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    expected_touches.sort();
    let rows = queries.person_touches(&person_id).unwrap();
    let touches: Vec<(Timestamp, &str)> = rows
        .iter()
        .map(|t| (t.occurred_at, t.event_id.as_str()))
        .collect();
    assert_eq!(touches, expected_touches);
    let conversion = queries
        .conversion(&format!("lead_created:{person_id}"))
        .unwrap()
        .unwrap();
    let first = &conversion
        .result(Model::FirstTouch)
        .unwrap()
        .attribution
        .credits[0];
    assert_eq!(first.touch_event_id.as_deref(), Some(expected_touches[0].1));

    // The offsets stored with the log are the ends of the input topics.
    let ends =
        touchline_kafka::high_watermarks(&topics.kafka_config(), &[&topics.protobuf, &topics.json])
            .unwrap();
    let mut stored = store.offsets().unwrap();
    stored.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    let mut ends: Vec<_> = ends.into_iter().filter(|o| o.next_offset > 0).collect();
    ends.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    assert_eq!(stored, ends);

    // A consumer reading the compacted topic from the start has the current state.
    assert_topic_matches_store(&topics.attribution, &store);

    // R18: rep alerts, one per touch and account with open pipeline, keyed by
    // the account, naming the open deals and the reps who own them.
    let alerts = read_all(&topics.alerts);
    assert!(!alerts.is_empty(), "the dataset has activity on open deals");
    let mut alert_ids = HashSet::new();
    for message in &alerts {
        let alert: ActivityAlert =
            serde_json::from_slice(message.payload.as_deref().unwrap()).unwrap();
        assert_eq!(message.key.as_deref(), Some(alert.account_id.as_str()));
        assert!(alert_ids.insert(alert.alert_id.clone()), "each alert once");
        assert!(!alert.open_opportunities.is_empty());
        assert!(!alert.rep_ids.is_empty());
        let touch_id = alert.alert_id.rsplit_once('/').unwrap().0;
        let touch = produced
            .get(touch_id)
            .expect("the touch is an event we sent");
        assert!(matches!(touch.event, Event::TouchRecorded(_)));
        // Every deal named was open when the touch was applied: opened earlier in
        // the log, closed (if ever) later.
        for deal in &alert.open_opportunities {
            let opened = logged.iter().position(|e| {
                matches!(&e.envelope.event, Event::OpportunityCreated(o) if o.opportunity_id == deal.opportunity_id)
            });
            assert!(opened.is_some_and(|at| (logged[at].seq) < alert.seq));
            let closed = logged.iter().find(|e| {
                matches!(&e.envelope.event, Event::OpportunityClosed(c) if c.opportunity_id == deal.opportunity_id)
            });
            assert!(closed.is_none_or(|c| c.seq > alert.seq));
        }
    }
}

/// A fresh store joining a group whose offsets Kafka has committed (a lost
/// disk, a new machine, a second instance) reads every partition from its
/// beginning. Starting from the group's committed offsets would skip the whole
/// history, silently.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_store_in_a_group_with_committed_offsets_reads_from_the_beginning() {
    let topics = Topics::unique("fresh-store");
    topics.create().await;
    let events = dataset(30, "fs-");
    let distinct = distinct_ids(&events) as u64;
    produce(&producer(), &topics, &events, 4).await;

    let first = tempfile::tempdir().unwrap();
    let engine = InProcess::start(first.path(), &topics);
    engine.wait_for_appended(distinct);
    eventually("the group's progress is committed to Kafka", || {
        committed_total(&topics) == events.len() as i64
    });
    let conversions = |store: &Store| {
        let mut ids = Vec::new();
        store
            .for_each(Table::Conversions, |id, _: ConversionView| {
                ids.push(id.to_owned())
            })
            .unwrap();
        ids
    };
    let before = conversions(&engine.store);
    engine.stop().await;

    let second = tempfile::tempdir().unwrap();
    let engine = InProcess::start(second.path(), &topics);
    engine.wait_for_appended(distinct);
    let store = engine.store.clone();
    engine.stop().await;
    assert_eq!(store.events(0, usize::MAX).unwrap().len() as u64, distinct);
    assert_eq!(conversions(&store), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_is_dead_lettered_and_the_engine_keeps_going() {
    let topics = Topics::unique("deadletter");
    topics.create().await;
    let events = dataset(10, "dl-");
    let distinct = distinct_ids(&events) as u64;
    let (before, after) = events.split_at(events.len() / 2);
    let producer = producer();
    let dir = tempfile::tempdir().unwrap();
    let engine = InProcess::start(dir.path(), &topics);

    produce(&producer, &topics, before, 0).await;
    produce_raw(
        &producer,
        &topics.protobuf,
        "junk-key",
        b"\xff\xfe not protobuf at all",
    )
    .await;
    let bad_currency = br#"{"event_id":"bad-1","occurred_at":"2026-02-01T10:00:00Z","recorded_at":"2026-02-01T10:00:00Z",
        "payload":{"type":"opportunity_closed","opportunity_id":"o","won":true,"amount":{"amount_minor":5,"currency":"euro"}}}"#;
    produce_raw(&producer, &topics.json, "o", bad_currency).await;
    produce(&producer, &topics, after, 0).await;

    engine.wait_for_appended(distinct);
    eventually("two dead letters counted", || {
        engine.metrics.dead_lettered.get() == 2
    });
    let store = engine.store.clone();
    engine.stop().await;
    assert_eq!(store.events(0, usize::MAX).unwrap().len() as u64, distinct);

    let dead = read_all(&topics.dead_letter);
    assert_eq!(dead.len(), 2, "{dead:?}");
    let junk = dead
        .iter()
        .find(|m| m.key.as_deref() == Some("junk-key"))
        .unwrap();
    assert_eq!(junk.headers["touchline.dlq.source.topic"], topics.protobuf);
    assert_eq!(junk.headers["touchline.dlq.error"], "protobuf_decode");
    assert!(junk.headers.contains_key("touchline.dlq.source.partition"));
    assert!(junk.headers.contains_key("touchline.dlq.source.offset"));
    assert_eq!(
        junk.payload.as_deref(),
        Some(&b"\xff\xfe not protobuf at all"[..])
    );
    let currency = dead.iter().find(|m| m.key.as_deref() == Some("o")).unwrap();
    assert_eq!(currency.headers["touchline.dlq.source.topic"], topics.json);
    assert_eq!(currency.headers["touchline.dlq.error"], "invalid");
    // The only message on the JSON topic.
    assert_eq!(currency.headers["touchline.dlq.source.offset"], "0");
    assert!(
        currency.headers["touchline.dlq.reason"].contains("payload.amount.currency"),
        "{:?}",
        currency.headers
    );
    // Reopened, the count is still there: it is committed with the batch.
    drop(store);
    let reopened = Engine::open(
        Arc::new(Store::open(dir.path()).unwrap()),
        EngineConfig::default(),
    )
    .unwrap();
    assert_eq!(reopened.metrics().snapshot().dead_lettered, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_engine_mid_stream_loses_and_duplicates_nothing() {
    let topics = Topics::unique("kill9");
    topics.create().await;
    let events = dataset(400, "k9-");
    let distinct = distinct_ids(&events) as u64;
    let retries = events.len() as u64 - distinct;
    let thirds: Vec<&[Envelope]> = events.chunks(events.len().div_ceil(3)).collect();
    let producer = producer();
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("store");

    let engine = Touchline::start(&store_path, None, &topics.env());
    produce(&producer, &topics, thirds[0], 4).await;
    eventually("the engine is busy", || engine.appended() > 0);
    // Kill while the second third streams in: wherever the kill lands, the
    // outcome below must be exact.
    let streaming = {
        let producer = producer.clone();
        let topics = topics.clone();
        let chunk = thirds[1].to_vec();
        tokio::spawn(async move { produce(&producer, &topics, &chunk, 4).await })
    };
    engine.kill_9();
    streaming.await.unwrap();

    let engine = Touchline::start(&store_path, None, &topics.env());
    produce(&producer, &topics, thirds[2], 4).await;
    let seen = engine.appended();
    engine.kill_9();
    let engine = Touchline::start(&store_path, None, &topics.env());
    assert!(engine.appended() >= seen, "a restart never goes back");
    eventually("every event appended after two kill -9", || {
        engine.appended() >= distinct
    });
    engine.terminate();

    let store = Store::open(&store_path).unwrap();
    let logged = store.events(0, usize::MAX).unwrap();
    let ids: HashSet<&str> = logged
        .iter()
        .map(|e| e.envelope.event_id.as_str())
        .collect();
    assert_eq!(
        logged.len() as u64,
        distinct,
        "nothing lost, nothing appended twice"
    );
    assert_eq!(ids.len() as u64, distinct);
    // Only the producer retries inside the data were duplicates: no message was
    // re-delivered across the kills, because the offsets commit with the log.
    assert_eq!(store.meta_u64("duplicates").unwrap(), Some(retries));
    assert!(
        store.outbox(1).unwrap().is_empty(),
        "a clean stop publishes everything"
    );
    assert_topic_matches_store(&topics.attribution, &store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r20_a_lead_rerouted_through_the_api_reaches_the_log_through_kafka() {
    let topics = Topics::unique("reroute");
    topics.create().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = Touchline::start(&dir.path().join("store"), None, &topics.env());
    let lead = Envelope {
        source_system: "crm".into(),
        ..envelope(
            "rr-lead-1",
            1_767_225_600_000,
            touchline_fixtures::lead("rr-p1")
                .with_email("rr@example.com")
                .owned_by("partner-acme"),
        )
    };
    produce(&producer(), &topics, &[lead], 0).await;
    let person = |engine: &Touchline| -> Option<serde_json::Value> {
        let (code, body) = http_get(&engine.http, "/v1/persons/rr-p1")?;
        (code == 200).then(|| serde_json::from_str(&body).unwrap())
    };
    eventually("the lead is in the view", || person(&engine).is_some());

    let route = r#"{"owner_id":"rep-kim","owner_kind":"internal","reason":"no follow-up in 24 h"}"#;
    let (code, _) =
        http_request(&engine.http, "POST", "/v1/leads/rr-p1/route", None, route).unwrap();
    assert_eq!(code, 401, "no token, no re-routing");
    let (code, body) = http_request(
        &engine.http,
        "POST",
        "/v1/leads/rr-p1/route",
        Some(TEST_TOKEN),
        route,
    )
    .unwrap();
    assert_eq!(code, 202, "{body}");
    let accepted: serde_json::Value = serde_json::from_str(&body).unwrap();

    // The command went to Kafka and came back through ingest into the log.
    eventually("the lead has its new owner", || {
        person(&engine).is_some_and(|p| p["owner_id"] == "rep-kim")
    });
    let person = person(&engine).unwrap();
    assert_eq!(person["routing"][0]["reason"], "no follow-up in 24 h");
    assert_eq!(person["routing"][0]["event_id"], accepted["event_id"]);
    let on_topic = read_all(&topics.json);
    assert_eq!(on_topic.len(), 1);
    let event: Envelope = serde_json::from_slice(on_topic[0].payload.as_deref().unwrap()).unwrap();
    assert!(matches!(event.event, Event::LeadRouted(ref r) if r.owner_id == "rep-kim"));
    assert_eq!(on_topic[0].key.as_deref(), Some("rr-p1"));
    engine.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r16_an_import_into_a_running_engine_goes_through_kafka_once() {
    let topics = Topics::unique("import");
    topics.create().await;
    let dir = tempfile::tempdir().unwrap();
    let engine = Touchline::start(&dir.path().join("store"), None, &topics.env());
    let file = dir.path().join("legacy.csv");
    std::fs::write(
        &file,
        "lead_id,created_at,lead_source\nim-1,2019-03-01,Customer Referral\nim-2,2019-04-01,Trade Show\nim-3,not a date,Web\n",
    )
    .unwrap();
    let import = || {
        Command::new(env!("CARGO_BIN_EXE_touchline"))
            .args(["import", "--via-kafka", file.to_str().unwrap()])
            .envs(topics.env())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let first = import();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let out = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        out.contains("2 leads from 2 sources; 6 events produced"),
        "{out}"
    );
    assert!(String::from_utf8_lossy(&first.stderr).contains("line 4: lead im-3"));
    eventually("the imported leads are in the log", || {
        engine.appended() >= 6
    });
    let (code, body) = http_get(&engine.http, "/v1/persons/im-1").unwrap();
    assert_eq!(code, 200, "{body}");
    let person: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        person["touches"][0]["campaign_id"],
        "legacy-customer-referral"
    );
    assert_eq!(
        person["touches"][0]["occurred_at"],
        "2019-03-01T00:00:00.000Z"
    );

    // Again: the same six events reach the engine and are counted duplicates.
    let second = import();
    assert!(second.status.success());
    eventually("the repeat is seen", || {
        engine
            .status()
            .and_then(|s| s["metrics"]["duplicates"].as_u64())
            .is_some_and(|d| d >= 6)
    });
    assert_eq!(engine.appended(), 6);
    engine.terminate();
}
