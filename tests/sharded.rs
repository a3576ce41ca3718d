//! Partitioned state on a real broker: instances of one consumer group, each
//! owning the shards Kafka assigns it, with events keyed any which way (by
//! event id here, so an opportunity's contacts and an account's people land
//! on any input partition), in random order, with cross-shard links. As
//! instances leave and join, the compacted attribution topic, read from the
//! start, equals what one engine over the same events computes, and the
//! shards' stores together hold one engine's credits, each view on its
//! group's shard.
//!
//! Needs a broker on `TOUCHLINE_TEST_KAFKA_BROKERS` (default 127.0.0.1:9092).

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use rdkafka::producer::FutureRecord;
use support::*;
use touchline_attribution::{AttributionSettings, ConversionKind, Model, OpportunityTouches};
use touchline_core::Envelope;
use touchline_datagen::{DatasetConfig, Generator};
use touchline_engine::{
    AttributionMessage, Batch, Engine, EngineConfig, HeldShards, Metrics, PublishedAttribution,
    Queries, TimeRange,
};
use touchline_fixtures::cross_shard_world;
use touchline_kafka::sharded::{Sharded, shard_store_path};
use touchline_projection::ConversionView;
use touchline_store::{Store, Table};

const SHARDS: u32 = 6;

struct Instance {
    root: PathBuf,
    shutdown: Arc<AtomicBool>,
    running: Option<JoinHandle<()>>,
}

impl Instance {
    fn start(root: &Path, topics: &Topics, engine: &EngineConfig) -> Instance {
        let shutdown = Arc::new(AtomicBool::new(false));
        let sharded = Sharded {
            config: touchline_kafka::KafkaConfig {
                shards: SHARDS,
                ..topics.kafka_config()
            },
            engine: engine.clone(),
            root: root.to_owned(),
            metrics: Arc::new(Metrics::default()),
            membership: touchline_kafka::sharded::Membership {
                api: None,
                held: Default::default(),
                members: Default::default(),
            },
        };
        let stop = shutdown.clone();
        let running = std::thread::spawn(move || sharded.run(stop).expect("the instance runs"));
        Instance {
            root: root.to_owned(),
            shutdown,
            running: Some(running),
        }
    }

    fn stop(mut self) -> PathBuf {
        self.shutdown.store(true, Ordering::Relaxed);
        if let Some(running) = self.running.take() {
            running.join().unwrap();
        }
        self.root.clone()
    }
}

fn engine_config() -> EngineConfig {
    EngineConfig {
        models: vec![
            Model::FirstTouch,
            Model::LastTouch,
            Model::Linear,
            Model::UShaped,
        ],
        settings: AttributionSettings {
            opportunity_touches: OpportunityTouches::AccountContacts,
            ..AttributionSettings::default()
        },
        ..EngineConfig::default()
    }
}

/// One engine's store after `events`.
fn single_store(events: &[Envelope], config: &EngineConfig) -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let mut engine = Engine::open(store.clone(), config.clone()).unwrap();
    engine
        .apply(Batch {
            events: events.to_vec(),
            ..Batch::default()
        })
        .unwrap();
    (dir, store)
}

/// One engine over `events`: each live credit set, by `<model>/<conversion>`.
fn single(events: &[Envelope], config: &EngineConfig) -> BTreeMap<String, String> {
    credits_of(&[single_store(events, config).1.as_ref()])
}

/// Reports a dashboard opens, as JSON, log positions aside.
fn reports(queries: &Queries, models: &[Model]) -> Vec<String> {
    let all = TimeRange::default();
    let mut campaigns = queries.campaigns().unwrap();
    for campaign in &mut campaigns {
        campaign.last_seq = 0;
    }
    let mut out = vec![
        format!("{campaigns:?}"),
        format!("{:?}", queries.funnel(all).unwrap()),
        format!("{:?}", queries.forecast(&Default::default()).unwrap()),
    ];
    for kind in ConversionKind::ALL {
        for &model in models {
            out.push(format!(
                "{:?}",
                queries.campaign_credits(model, kind).unwrap()
            ));
            out.push(format!(
                "{:?}",
                queries.unattributed(model, kind, all).unwrap()
            ));
        }
    }
    out
}

fn credits_of(stores: &[&Store]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for store in stores {
        store
            .for_each(Table::Conversions, |id, view: ConversionView| {
                for result in &view.results {
                    let message = AttributionMessage::of(&view, result.model).unwrap();
                    let key = format!("{}/{id}", result.model.name());
                    let value = format!("{:?} {:?}", message.conversion, message.credits);
                    assert!(
                        out.insert(key.clone(), value).is_none(),
                        "{key} on two shards"
                    );
                }
            })
            .unwrap();
    }
    out
}

/// What a consumer of the compacted topic holds: the highest version per
/// key, tombstones removing keys.
fn from_topic(topic: &str) -> BTreeMap<String, String> {
    let mut state: BTreeMap<String, PublishedAttribution> = BTreeMap::new();
    for message in read_all(topic) {
        let key = message.key.unwrap();
        match message.payload {
            None => {
                state.remove(&key);
            }
            Some(bytes) => {
                let value: PublishedAttribution = serde_json::from_slice(&bytes).unwrap();
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
        .into_iter()
        .map(|(k, v)| (k, format!("{:?} {:?}", v.conversion, v.credits)))
        .collect()
}

fn events() -> Vec<Envelope> {
    let mut events = cross_shard_world();
    events.extend(Generator::new(DatasetConfig {
        accounts: 30,
        seed: 3,
        ..DatasetConfig::default()
    }));
    // A fixed shuffle: any order is the point, a failure must repeat.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in (1..events.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        events.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    events
}

/// Keyed by event id: nothing about the input's keying may matter.
async fn produce_any_keying(topics: &Topics, events: &[Envelope]) {
    let producer = producer();
    let mut deliveries = Vec::new();
    for envelope in events {
        let bytes = touchline_proto::encode_protobuf(envelope);
        let record = FutureRecord::to(&topics.protobuf)
            .key(&envelope.event_id)
            .payload(&bytes);
        deliveries.push(producer.send_result(record).map_err(|(e, _)| e).unwrap());
    }
    for delivery in deliveries {
        delivery.await.unwrap().unwrap();
    }
}

fn assert_topic_settles(topics: &Topics, want: &BTreeMap<String, String>, what: &str) {
    let mut got = BTreeMap::new();
    let settled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        eventually(what, || {
            got = from_topic(&topics.attribution);
            got == *want
        })
    }));
    if settled.is_err() {
        let missing: Vec<_> = want
            .keys()
            .filter(|k| !got.contains_key(*k))
            .take(5)
            .collect();
        let extra: Vec<_> = got
            .keys()
            .filter(|k| !want.contains_key(*k))
            .take(5)
            .collect();
        let differ: Vec<_> = want
            .iter()
            .filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v))
            .map(|(k, _)| k)
            .take(5)
            .collect();
        if let Some(key) = differ.first() {
            eprintln!("WANT {key}: {}", want[*key]);
            eprintln!("TOPIC {key}: {}", got[*key]);
            for message in read_all(&topics.attribution) {
                if message.key.as_deref() == Some(key.as_str()) {
                    let v: Option<PublishedAttribution> =
                        message.payload.map(|b| serde_json::from_slice(&b).unwrap());
                    eprintln!(
                        "  p{} o{} v{:?} {:?}",
                        message.partition,
                        message.offset,
                        v.as_ref().map(|v| v.version),
                        v.map(|v| v.credits)
                    );
                }
            }
        }
        panic!("{what}: missing {missing:?}, extra {extra:?}, differing {differ:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_leaving_and_joining_give_one_engines_credits() {
    let topics = Topics::unique("sharded");
    topics.create().await;
    let config = engine_config();
    let events = events();
    let (first, second) = events.split_at(events.len() / 2);
    let roots: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();

    let a = Instance::start(roots[0].path(), &topics, &config);
    let b = Instance::start(roots[1].path(), &topics, &config);
    let c = Instance::start(roots[2].path(), &topics, &config);
    produce_any_keying(&topics, first).await;
    assert_topic_settles(
        &topics,
        &single(first, &config),
        "three instances, half the events",
    );

    // One leaves, a new one with an empty store joins: its shards restore
    // from the shards topic before they consume.
    let b_root = tokio::task::spawn_blocking(move || b.stop()).await.unwrap();
    let d = Instance::start(roots[3].path(), &topics, &config);
    let joined = roots[3].path().to_owned();
    eventually("the instance that joined restores shards", || {
        (0..SHARDS).any(|shard| shard_store_path(&joined, shard).exists())
    });
    produce_any_keying(&topics, second).await;
    let want = single(&events, &config);
    assert!(want.len() > 100, "the events convert: {}", want.len());
    assert_topic_settles(&topics, &want, "after one left and one joined, every event");

    let roots_after: Vec<PathBuf> =
        tokio::task::spawn_blocking(move || vec![a.stop(), c.stop(), d.stop(), b_root])
            .await
            .unwrap();
    // Each shard's last owner read its partition to the end: its store holds
    // the shard. Together they hold one engine's credits.
    let ends = partition_ends(&format!("{}.shards", topics.group));
    let mut stores = Vec::new();
    for shard in 0..SHARDS {
        let owner =
            roots_after
                .iter()
                .map(|root| shard_store_path(root, shard))
                .filter(|path| path.exists())
                .map(|path| Store::open(&path).unwrap())
                .find(|store| {
                    store.offsets().unwrap().iter().any(|o| {
                        o.partition == shard as i32 && o.next_offset == ends[&(shard as i32)]
                    })
                })
                .unwrap_or_else(|| panic!("no store read shard {shard} to its end"));
        stores.push(owner);
    }
    let refs: Vec<&Store> = stores.iter().collect();
    assert_eq!(credits_of(&refs), want);
    // The run did what it is about: groups moved between shards, and the
    // instance that joined owns shards it restored.
    let pointers: usize = stores
        .iter()
        .map(|s| {
            s.extensions("shards/pointer/", None, usize::MAX)
                .unwrap()
                .len()
        })
        .sum();
    assert!(pointers > 0, "no group moved");
    // Read as one, the shards report what one store does.
    let held = Arc::new(HeldShards::default());
    for (shard, store) in stores.into_iter().enumerate() {
        held.hold(shard as u32, Arc::new(store));
    }
    let (_one_dir, one) = single_store(&events, &config);
    assert_eq!(
        reports(&Queries::sharded(held), &config.models),
        reports(&Queries::new(one), &config.models)
    );
    assert!(
        (0..SHARDS).any(|shard| shard_store_path(&roots_after[2], shard).exists()),
        "the instance that joined owns no shard"
    );
}

/// `touchline run` in sharded mode, as a process of its own.
fn spawn_instance(root: &Path, topics: &Topics) -> Touchline {
    let mut env: Vec<(String, String)> = topics
        .env()
        .into_iter()
        .filter(|(k, _)| k != "TOUCHLINE_KAFKA_INSTANCE_ID")
        .collect();
    env.push(("TOUCHLINE_KAFKA_SHARDS".into(), SHARDS.to_string()));
    // The instances read each other's shards with the tests' admin token.
    env.push(("TOUCHLINE_HTTP_PEER_TOKEN".into(), TEST_TOKEN.into()));
    let mut instance = Touchline::spawn(root, None, &env);
    instance.wait_for("the probes answer", |t| {
        http_get(&t.http, "/healthz").is_some_and(|(code, _)| code == 200)
    });
    instance
}

/// kill -9 of one instance of two: the other takes its shards over (restoring
/// them), the killed one comes back on its stores and takes some back; no
/// credit is lost or left stale, as the attribution topic shows after each
/// step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_loses_and_duplicates_nothing() {
    let topics = Topics::unique("sharded-kill");
    topics.create().await;
    let config = EngineConfig::default();
    let events = events();
    let third = events.len() / 3;
    let roots: Vec<tempfile::TempDir> = (0..2).map(|_| tempfile::tempdir().unwrap()).collect();
    let root = |i: usize| roots[i].path().join("store");
    let survivor = spawn_instance(&root(0), &topics);
    let mut two = spawn_instance(&root(1), &topics);
    produce_any_keying(&topics, &events[..third]).await;
    assert_topic_settles(&topics, &single(&events[..third], &config), "two instances");
    assert_reports_settle(
        &[&survivor, &two],
        &events[..third],
        &config,
        "two instances",
    )
    .await;

    two.child.kill().unwrap();
    two.child.wait().unwrap();
    produce_any_keying(&topics, &events[third..2 * third]).await;
    assert_topic_settles(
        &topics,
        &single(&events[..2 * third], &config),
        "one instance left after kill -9",
    );
    // It holds every shard now, and its API answers as one store would.
    assert_reports_settle(&[&survivor], &events[..2 * third], &config, "the survivor").await;

    let two = spawn_instance(&root(1), &topics);
    produce_any_keying(&topics, &events[2 * third..]).await;
    assert_topic_settles(
        &topics,
        &single(&events, &config),
        "the killed instance back on its stores",
    );
    // Each holds some of the shards, and reads the rest from the other:
    // either answers for the whole group.
    let held = |instance: &Touchline| {
        http_get_header(&instance.http, "/v1/campaigns", touchline_api::SHARDS_HELD)
            .unwrap_or_default()
    };
    eventually("the two instances share the shards", || {
        [&survivor, &two].iter().all(|instance| {
            let held = held(instance);
            !held.is_empty() && held.split(',').count() < SHARDS as usize
        })
    });
    assert_reports_settle(&[&survivor, &two], &events, &config, "both instances").await;
    let all: Vec<String> = (0..SHARDS).map(|s| s.to_string()).collect();
    for instance in [&survivor, &two] {
        let read = http_get_header(&instance.http, "/v1/campaigns", touchline_api::SHARDS_READ);
        assert_eq!(read, Some(all.join(",")), "{}", instance.http);
    }
}

/// Until each instance's API answers [`REPORTS`] as one store's API over
/// `events` does, for a while.
async fn assert_reports_settle(
    instances: &[&Touchline],
    events: &[Envelope],
    config: &EngineConfig,
    what: &str,
) {
    let (_one_dir, one) = single_store(events, config);
    let mut want = Vec::new();
    for uri in REPORTS {
        want.push(api_answer(&one, uri).await);
    }
    for instance in instances {
        let mut got = Vec::new();
        let answers_alike = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            eventually(&format!("{what}: reports as one store's"), || {
                got = REPORTS
                    .iter()
                    .map(|uri| {
                        http_get(&instance.http, uri)
                            .filter(|(code, _)| *code == 200)
                            .map(|(_, body)| {
                                without_positions(serde_json::from_str(&body).unwrap())
                            })
                            .unwrap_or_default()
                    })
                    .collect();
                got == want
            })
        }));
        if answers_alike.is_err() {
            let (uri, (w, g)) = REPORTS
                .iter()
                .zip(want.iter().zip(&got))
                .find(|(_, (w, g))| w != g)
                .unwrap();
            panic!(
                "{what}, {}: {uri}: want {w}\n got {g}\n{}",
                instance.http,
                instance.log()
            );
        }
    }
}

/// Reports the dashboard's pages ask for.
const REPORTS: [&str; 10] = [
    "/v1/campaigns",
    "/v1/reports/what-if?conversion=opportunity_won&touches=account_contacts",
    "/v1/reports/data-driven?model=markov&conversion=lead_created",
    "/v1/reports/rfm?at=2030-01-01",
    "/v1/reports/attribution?model=w_shaped&conversion=opportunity_won",
    "/v1/reports/attribution?model=linear&conversion=lead_created&by=channel",
    "/v1/reports/compare?conversion=opportunity_created",
    "/v1/reports/campaigns?model=first_touch&currency=EUR",
    "/v1/reports/funnel",
    "/v1/reports/forecast",
];

/// `uri` answered by the API over `store`, log positions and versions aside.
async fn api_answer(store: &Arc<Store>, uri: &str) -> serde_json::Value {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let app = touchline_api::router(Queries::new(store.clone()), Arc::default());
    let response = app
        .oneshot(
            axum::http::Request::get(uri)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{uri}");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    without_positions(serde_json::from_slice(&bytes).unwrap())
}

/// A JSON answer without what numbers a store's own log and recomputations
/// (`seq`, `last_seq`, `version`, `as_of_seq`).
fn without_positions(mut value: serde_json::Value) -> serde_json::Value {
    fn strip(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                map.retain(|k, _| {
                    !matches!(k.as_str(), "seq" | "last_seq" | "version" | "as_of_seq")
                });
                map.values_mut().for_each(strip);
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut value);
    value
}

/// The end offset of every partition of `topic`.
fn partition_ends(topic: &str) -> std::collections::HashMap<i32, i64> {
    let mut ends = std::collections::HashMap::new();
    for message in read_all(topic) {
        let end = ends.entry(message.partition).or_insert(0);
        *end = (*end).max(message.offset + 1);
    }
    ends
}

/// An API over some of a group's shards says which it read; what is kept
/// per store (the outbox, a backup, the log an as-of rebuilds) is refused
/// with 409 naming why, never a 5xx.
#[tokio::test]
async fn a_sharded_instance_says_which_shards_it_answers_for() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let config = engine_config();
    let (_a_dir, a) = single_store(&events()[..40], &config);
    let (_b_dir, b) = single_store(&events()[40..80], &config);
    let held = Arc::new(HeldShards::new(4));
    held.hold(3, b);
    held.hold(1, a);
    let app = touchline_api::router(Queries::sharded(held.clone()), Arc::default());
    let call = |method: &str, uri: &str, body: &str| {
        let app = app.clone();
        let request = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_owned()))
            .unwrap();
        async move {
            let response = app.oneshot(request).await.unwrap();
            let held = response.headers()[touchline_api::SHARDS_HELD].clone();
            let total = response.headers()[touchline_api::SHARDS_TOTAL].clone();
            let status = response.status().as_u16();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (
                status,
                format!("{held:?} of {total:?}"),
                String::from_utf8_lossy(&bytes).into_owned(),
            )
        }
    };
    let (status, shards, _) = call("GET", "/v1/campaigns", "").await;
    assert_eq!((status, shards.as_str()), (200, "\"1,3\" of \"4\""));
    held.release(3);
    let (_, shards, _) = call("GET", "/v1/reports/funnel", "").await;
    assert_eq!(shards, "\"1\" of \"4\"");
    for (method, uri, body) in [
        ("GET", "/v1/reports/as-of?at=2026-01-01", ""),
        ("GET", "/v1/publishing/parked", ""),
        (
            "POST",
            "/v1/admin/backup",
            r#"{"dir": "/tmp/touchline-never-written"}"#,
        ),
    ] {
        let (status, _, answer) = call(method, uri, body).await;
        assert_eq!(status, 409, "{uri}: {answer}");
        assert!(answer.contains("sharded group"), "{uri}: {answer}");
    }
}
