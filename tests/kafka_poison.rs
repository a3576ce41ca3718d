//! Issue 8 at the Kafka edge: no single message may stop touchline. Each test
//! runs `touchline run` against a real broker and feeds it what once stopped
//! it: a 1 MB and a 10 MB invalid message (ingest exited, on every restart), a
//! credit set too large for the attribution topic (publishing stalled behind
//! it), a restart (the `published` counter reset), a kill -9 without an
//! instance id (the restart waited out the dead member's session).
//!
//! Needs a broker on `TOUCHLINE_TEST_KAFKA_BROKERS` (default 127.0.0.1:9092);
//! `deploy/test.sh` starts one. Topics with special limits are made here.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::*;
use touchline_core::*;
use touchline_engine::PublishedAttribution;
use touchline_fixtures::TouchFixture;
use touchline_projection::ConversionView;
use touchline_proto::WireFormat;
use touchline_store::{Store, Table};

/// The size that stopped ingest: a JSON event whose `event_id` is 1 MB.
const ONE_MB_MESSAGE: usize = 1_000_235;
const TEN_MB_MESSAGE: usize = 10_000_000;
const DEAD_LETTER_CAP: usize = 64 << 10;

/// Creates the test's topics but those `missing`; `limits` sets
/// `max.message.bytes` per topic.
async fn create_topics(topics: &Topics, limits: &[(&str, usize)], missing: &[&str]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .unwrap();
    let limits: HashMap<&str, String> = limits.iter().map(|(t, n)| (*t, n.to_string())).collect();
    let specs = [
        (&topics.protobuf, 2, false),
        (&topics.json, 1, false),
        (&topics.dead_letter, 1, false),
        (&topics.attribution, 2, true),
        (&topics.alerts, 1, false),
    ];
    let new: Vec<NewTopic<'_>> = specs
        .iter()
        .filter(|(name, _, _)| !missing.contains(&name.as_str()))
        .map(|(name, partitions, compact)| {
            let mut topic = NewTopic::new(name, *partitions, TopicReplication::Fixed(1));
            if *compact {
                topic = topic.set("cleanup.policy", "compact");
            }
            if let Some(limit) = limits.get(name.as_str()) {
                topic = topic.set("max.message.bytes", limit);
            }
            topic
        })
        .collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin
        .create_topics(&new, &options)
        .await
        .expect("create topics (is Kafka running? bash deploy/kafka.sh start)")
    {
        result.expect("topic created");
    }
}

/// A producer that may send messages of up to 16 MB (librdkafka's default
/// stops at 1 MB, below what these tests need to send).
fn large_producer() -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("message.max.bytes", "16000000")
        .create()
        .unwrap()
}

async fn send(producer: &FutureProducer, topic: &str, key: &str, payload: &[u8]) {
    producer
        .send(
            FutureRecord::to(topic).key(key).payload(payload),
            Duration::from_secs(60),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("delivered");
}

/// `person`'s `n`th web visit (`touch-<person>-<n>`, campaign
/// `campaign-<n>`) at `at(ms)`, from the web site.
fn touch(person: &str, n: usize, ms: i64) -> Envelope {
    Envelope {
        source_system: "web".into(),
        ..touchline_fixtures::envelope(
            format!("touch-{person}-{n}"),
            at(ms).as_millis(),
            touchline_fixtures::touch(person, format!("campaign-{n:05}"))
                .of_type(TouchType::WebVisit),
        )
    }
}

/// A lead with `touches` touches before it.
fn lead_with_touches(person: &str, touches: usize) -> Vec<Envelope> {
    let mut events: Vec<Envelope> = (0..touches)
        .map(|n| touch(person, n, n as i64 * 1_000))
        .collect();
    events.push(lead(person, touches as i64 * 1_000 + 1));
    events
}

/// A JSON event of exactly `size` bytes whose `event_id` is nearly all of it:
/// valid JSON, invalid event.
fn invalid_event_of(size: usize) -> Vec<u8> {
    let template = touchline_proto::encode(WireFormat::Json, &lead("huge", 0));
    let text = String::from_utf8(template).unwrap();
    let id = "lead-huge";
    let padding = size - (text.len() - id.len());
    let bytes = text.replacen(id, &"x".repeat(padding), 1).into_bytes();
    assert_eq!(bytes.len(), size);
    bytes
}

/// The environment of a `touchline run` on `topics`, without the instance id
/// the shared helper sets (membership is under test here).
fn env_without_instance_id(topics: &Topics) -> Vec<(String, String)> {
    topics
        .env()
        .into_iter()
        .filter(|(name, _)| name != "TOUCHLINE_KAFKA_INSTANCE_ID")
        .collect()
}

fn find<'m>(messages: &'m [ReadMessage], key: &str) -> &'m ReadMessage {
    messages
        .iter()
        .find(|m| m.key.as_deref() == Some(key))
        .unwrap_or_else(|| panic!("no message keyed {key} in {} messages", messages.len()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_and_ten_megabyte_invalid_messages_are_dead_lettered_cut_and_ingest_goes_on() {
    let topics = Topics::unique("poison-dlq");
    // The JSON topic and the dead-letter topic keep Kafka's default limits
    // (about 1 MB); the protobuf topic takes the 10 MB message.
    create_topics(&topics, &[(&topics.protobuf, 16_000_000)], &[]).await;
    let producer = large_producer();
    let one_mb = invalid_event_of(ONE_MB_MESSAGE);
    let ten_mb = vec![0xa5u8; TEN_MB_MESSAGE];
    produce(&producer, &topics, &[lead("before", 0)], 0).await;
    send(&producer, &topics.json, "one-mb", &one_mb).await;
    send(&producer, &topics.protobuf, "ten-mb", &ten_mb).await;
    produce(&producer, &topics, &[lead("after", 1)], 0).await;

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut engine = Touchline::start(&store, None, &topics.env());
    engine.wait_for(
        "both dead letters counted and the later event appended",
        |t| t.metric("dead_lettered") == 2 && t.get("/v1/persons/after").is_some(),
    );
    assert_eq!(engine.metric("events_appended"), 2);
    assert_eq!(engine.metric("dead_letters_truncated"), 2);

    let dead = read_all(&topics.dead_letter);
    assert_eq!(dead.len(), 2, "{dead:?}");
    let letter = find(&dead, "one-mb");
    assert_eq!(letter.headers["touchline.dlq.error"], "invalid");
    assert!(
        letter.headers["touchline.dlq.reason"].contains("event_id"),
        "{:?}",
        letter.headers["touchline.dlq.reason"]
    );
    assert_eq!(letter.headers["touchline.dlq.truncated"], "true");
    assert_eq!(
        letter.headers["touchline.dlq.original.size"],
        ONE_MB_MESSAGE.to_string()
    );
    assert_eq!(letter.headers["touchline.dlq.source.topic"], topics.json);
    assert_eq!(letter.headers["touchline.dlq.source.partition"], "0");
    assert_eq!(letter.headers["touchline.dlq.source.offset"], "0");
    assert_eq!(
        letter.payload.as_deref(),
        Some(&one_mb[..DEAD_LETTER_CAP]),
        "the start of the original"
    );

    let letter = find(&dead, "ten-mb");
    assert_eq!(letter.headers["touchline.dlq.error"], "too_large");
    assert!(
        letter.headers["touchline.dlq.reason"].contains("kafka.max_message_bytes"),
        "{:?}",
        letter.headers
    );
    assert_eq!(letter.headers["touchline.dlq.truncated"], "true");
    assert_eq!(
        letter.headers["touchline.dlq.original.size"],
        TEN_MB_MESSAGE.to_string()
    );
    assert_eq!(
        letter.headers["touchline.dlq.source.topic"],
        topics.protobuf
    );
    let on_topic = read_all(&topics.protobuf);
    let source = find(&on_topic, "ten-mb");
    assert_eq!(
        letter.headers["touchline.dlq.source.partition"],
        source.partition.to_string()
    );
    assert_eq!(
        letter.headers["touchline.dlq.source.offset"],
        source.offset.to_string()
    );
    assert_eq!(letter.payload.as_ref().map(Vec::len), Some(DEAD_LETTER_CAP));
    engine.terminate();

    // A restart neither exits nor dead-letters again; the counts persist and
    // new events flow.
    let mut engine = Touchline::start(&store, None, &topics.env());
    assert_eq!(engine.metric("dead_lettered"), 2);
    assert_eq!(engine.metric("dead_letters_truncated"), 2);
    produce(&producer, &topics, &[lead("later", 2)], 0).await;
    engine.wait_for("an event after the restart appended", |t| {
        t.get("/v1/persons/later").is_some()
    });
    engine.terminate();
    assert_eq!(read_all(&topics.dead_letter).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_the_topic_refuses_goes_as_a_reference() {
    let topics = Topics::unique("poison-dlq-ref");
    // Far below the dead letter's payload: Kafka refuses it with the payload,
    // not without.
    create_topics(&topics, &[(&topics.dead_letter, 2_048)], &[]).await;
    let producer = producer();
    let junk = vec![0xffu8; 5_000];
    produce_raw(&producer, &topics.protobuf, "junk", &junk).await;
    produce(&producer, &topics, &[lead("after", 1)], 0).await;

    let dir = tempfile::tempdir().unwrap();
    let mut engine = Touchline::start(&dir.path().join("store"), None, &topics.env());
    engine.wait_for(
        "the dead letter counted and the later event appended",
        |t| t.metric("dead_lettered") == 1 && t.get("/v1/persons/after").is_some(),
    );
    assert_eq!(engine.metric("dead_letters_truncated"), 1);
    engine.terminate();

    let dead = read_all(&topics.dead_letter);
    assert_eq!(dead.len(), 1, "{dead:?}");
    let letter = &dead[0];
    assert_eq!(letter.key.as_deref(), Some("junk"));
    assert_eq!(letter.payload, None, "a reference carries no payload");
    assert_eq!(letter.headers["touchline.dlq.truncated"], "reference");
    assert_eq!(letter.headers["touchline.dlq.original.size"], "5000");
    assert_eq!(letter.headers["touchline.dlq.error"], "protobuf_decode");
    assert_eq!(
        letter.headers["touchline.dlq.source.topic"],
        topics.protobuf
    );
    assert!(
        letter
            .headers
            .contains_key("touchline.dlq.source.partition")
    );
    assert!(letter.headers.contains_key("touchline.dlq.source.offset"));
    assert!(
        letter.headers["touchline.dlq.refused"].contains("MessageSizeTooLarge"),
        "{:?}",
        letter.headers
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_dead_letter_topic_holds_the_batch_back_and_loses_nothing() {
    let topics = Topics::unique("poison-dlq-down");
    create_topics(&topics, &[], &[&topics.dead_letter]).await;
    let producer = producer();
    // One key, one partition: the event cannot overtake the dead letter.
    produce_raw(
        &producer,
        &topics.protobuf,
        "after",
        b"\xff\xfe not protobuf",
    )
    .await;
    produce(&producer, &topics, &[lead("after", 1)], 0).await;

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut engine = Touchline::start(&store, None, &topics.env());
    engine.wait_for("the batch held back", |t| {
        t.log().contains("dead-letter topic unavailable")
    });
    assert_eq!(engine.metric("events_appended"), 0);
    assert_eq!(engine.metric("dead_lettered"), 0);
    // Stopping while held back exits cleanly and commits nothing.
    let log = engine.terminate();
    assert!(log.contains("read again on the next start"), "{log}");

    create_topics(
        &topics,
        &[],
        &[
            &topics.protobuf,
            &topics.json,
            &topics.attribution,
            &topics.alerts,
        ],
    )
    .await;
    let mut engine = Touchline::start(&store, None, &topics.env());
    engine.wait_for(
        "the dead letter sent and the event behind it appended",
        |t| t.metric("dead_lettered") == 1 && t.get("/v1/persons/after").is_some(),
    );
    engine.terminate();
    let dead = read_all(&topics.dead_letter);
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].headers["touchline.dlq.error"], "protobuf_decode");
    assert_eq!(dead[0].headers["touchline.dlq.source.offset"], "0");
}

/// The highest version per key on a compacted topic, as a consumer keeps it.
fn current_versions(topic: &str) -> HashMap<String, u64> {
    let mut state = HashMap::new();
    for message in read_all(topic) {
        let key = message.key.unwrap();
        match message.payload {
            None => {
                state.remove(&key);
            }
            Some(bytes) => {
                let value: PublishedAttribution = serde_json::from_slice(&bytes).unwrap();
                let version = state.entry(key).or_insert(value.version);
                *version = (*version).max(value.version);
            }
        }
    }
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credit_set_too_large_for_the_topic_is_parked_and_everything_else_is_published() {
    let topics = Topics::unique("poison-publish");
    // A credit set over a few hundred touches is larger than this even
    // compressed; one over a handful is not.
    const TOPIC_LIMIT: usize = 16 << 10;
    create_topics(&topics, &[(&topics.attribution, TOPIC_LIMIT)], &[]).await;
    let producer = producer();
    let mut events = lead_with_touches("before", 3);
    events.extend(lead_with_touches("big", 2_000));
    for person in ["after-1", "after-2", "after-3"] {
        events.extend(lead_with_touches(person, 3));
    }
    produce(&producer, &topics, &events, 0).await;

    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("store");
    let mut engine = Touchline::start(&store_path, None, &topics.env());
    engine.wait_for("every event appended", |t| {
        t.metric("events_appended") == events.len() as u64
    });
    engine.wait_for("a credit set parked", |t| t.metric("publish_parked") > 0);
    let published = |persons: &[&str]| {
        let versions = current_versions(&topics.attribution);
        persons
            .iter()
            .all(|p| versions.contains_key(&format!("linear/lead_created:{p}")))
    };
    eventually("the leads after the big one are published", || {
        published(&["before", "after-1", "after-2", "after-3"])
    });

    // Listed by the API with why, and counted in the status.
    let parked = engine.get("/v1/publishing/parked").unwrap();
    let parked = parked["parked"].as_array().unwrap().clone();
    assert_eq!(parked.len() as u64, engine.metric("publish_parked"));
    for record in &parked {
        let key = record["key"].as_str().unwrap();
        assert!(key.ends_with("/lead_created:big"), "{record}");
        assert_eq!(record["topic"], topics.attribution.as_str());
        assert!(
            record["size"].as_u64().unwrap() > TOPIC_LIMIT as u64,
            "{record}"
        );
        assert!(
            record["reason"]
                .as_str()
                .unwrap()
                .contains("MessageSizeTooLarge"),
            "{record}"
        );
        assert!(record["parked_at"].is_string(), "{record}");
        assert_eq!(record["own_value"], false);
    }
    let parked_keys: Vec<&str> = parked.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert!(parked_keys.contains(&"linear/lead_created:big"));
    let (code, _) = http_request(
        &engine.http,
        "GET",
        "/v1/publishing/parked?limit=1001",
        Some(TEST_TOKEN),
        "",
    )
    .unwrap();
    assert_eq!(code, 400);

    // More credit sets after the parking still flow.
    produce(&producer, &topics, &lead_with_touches("later", 2), 0).await;
    eventually("a credit set made after the parking is published", || {
        published(&["later"])
    });
    // SIGTERM drains the outbox before the process exits 0.
    produce(&producer, &topics, &lead_with_touches("last", 2), 0).await;
    let total = events.len() as u64 + 6;
    engine.wait_for("every event appended", |t| {
        t.metric("events_appended") == total
    });
    engine.terminate();

    let store = Store::open(&store_path).unwrap();
    assert_eq!(store.outbox_len().unwrap(), 0, "SIGTERM drained the outbox");
    let stored_parked: Vec<String> = store
        .parked(None, 1_000)
        .unwrap()
        .into_iter()
        .map(|p| p.key)
        .collect();
    assert_eq!(stored_parked, parked_keys);
    // The topic holds the current version of every credit set but the parked.
    let on_topic = current_versions(&topics.attribution);
    let mut expected = 0;
    store
        .for_each(Table::Conversions, |id, view: ConversionView| {
            for result in &view.results {
                let key = format!("{}/{id}", result.model.name());
                if stored_parked.contains(&key) {
                    assert!(!on_topic.contains_key(&key), "{key} was parked");
                } else {
                    expected += 1;
                    assert_eq!(on_topic.get(&key), Some(&result.version), "{key}");
                }
            }
        })
        .unwrap();
    assert_eq!(on_topic.len(), expected);
    assert!(on_topic.contains_key("first_touch/lead_created:big"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_and_batches_survive_a_restart() {
    let topics = Topics::unique("poison-counters");
    create_topics(&topics, &[], &[]).await;
    let producer = producer();
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("store");
    let mut engine = Touchline::start(&store_path, None, &topics.env());
    let events = lead_with_touches("first", 3);
    produce(&producer, &topics, &events, 0).await;
    engine.wait_for("every event appended", |t| {
        t.metric("events_appended") == events.len() as u64
    });
    // Stopping commits no batch (nothing new was read) but may publish.
    let batches = engine.metric("batches");
    engine.terminate();
    // Every message delivered is counted once.
    let published = read_all(&topics.attribution).len() as u64;
    assert!(published >= 10 && batches > 0, "{published} {batches}");

    let mut engine = Touchline::start(&store_path, None, &topics.env());
    assert_eq!(engine.metric("published"), published);
    assert_eq!(engine.metric("batches"), batches);
    let prometheus = http_get(&engine.http, "/metrics").unwrap().1;
    assert!(
        prometheus.contains(&format!("touchline_published_total {published}\n")),
        "{prometheus}"
    );
    produce(&producer, &topics, &lead_with_touches("second", 1), 0).await;
    engine.wait_for("the counters move on from where they were", |t| {
        t.metric("published") > published && t.metric("batches") > batches
    });
    let batches = engine.metric("batches");
    engine.terminate();
    let store = Store::open(&store_path).unwrap();
    assert_eq!(store.outbox_len().unwrap(), 0);
    assert_eq!(
        store.meta_u64("published").unwrap(),
        Some(read_all(&topics.attribution).len() as u64)
    );
    assert_eq!(store.meta_u64("batches").unwrap(), Some(batches));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_instance_id_one_is_generated_once_and_a_kill_9_restart_resumes_at_once() {
    let topics = Topics::unique("poison-member");
    create_topics(&topics, &[], &[]).await;
    let producer = producer();
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("store");
    let mut env = env_without_instance_id(&topics);
    // Longer than PATIENCE: without static membership the restart below would
    // wait this long for the killed member's partitions, and time out.
    env.push((
        "TOUCHLINE_KAFKA_SESSION_TIMEOUT_MS".into(),
        touchline_kafka::MAX_SESSION_TIMEOUT_MS.to_string(),
    ));
    assert!(
        Duration::from_millis(touchline_kafka::MAX_SESSION_TIMEOUT_MS.into()) > PATIENCE,
        "the restart test needs a session longer than its patience"
    );

    let mut engine = Touchline::start(&store_path, None, &env);
    produce(&producer, &topics, &[lead("one", 0)], 0).await;
    engine.wait_for("the first event appended", |t| {
        t.metric("events_appended") == 1
    });
    let first_log = engine.log();
    engine.kill_9();

    let mut engine = Touchline::start(&store_path, None, &env);
    produce(&producer, &topics, &[lead("two", 1)], 0).await;
    engine.wait_for("an event after the kill -9 appended", |t| {
        t.metric("events_appended") == 2
    });
    let log = engine.terminate();
    let id = {
        let store = Store::open(&store_path).unwrap();
        String::from_utf8(store.meta_bytes("kafka_instance_id").unwrap().unwrap()).unwrap()
    };
    assert!(id.starts_with("touchline-"), "{id}");
    assert!(
        first_log.contains(&format!("instance_id={id}")) && first_log.contains("generated"),
        "{first_log}"
    );
    assert!(
        log.contains(&format!("instance_id={id}")) && log.contains("stored"),
        "{log}"
    );

    // A configured id wins, and the stored one stays for when it is removed.
    let mut configured = env.clone();
    configured.push((
        "TOUCHLINE_KAFKA_INSTANCE_ID".into(),
        format!("{}-explicit", topics.group),
    ));
    let log = Touchline::start(&store_path, None, &configured).terminate();
    assert!(
        log.contains(&format!("instance_id={}-explicit", topics.group)),
        "{log}"
    );
    let store = Store::open(&store_path).unwrap();
    assert_eq!(
        store.meta_bytes("kafka_instance_id").unwrap(),
        Some(id.into_bytes())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflicting_duplicate_is_dead_lettered_and_a_retry_is_not() {
    let topics = Topics::unique("poison-conflict");
    create_topics(&topics, &[], &[]).await;
    let producer = large_producer();
    let original = touch("p-1", 1, 0);
    let mut other = original.clone();
    if let Event::TouchRecorded(t) = &mut other.event {
        t.campaign_id = "campaign-other".into();
    }
    // Protobuf topic, partition by key: offsets 0, 1 and 2 of one partition.
    produce(
        &producer,
        &topics,
        &[original.clone(), original.clone(), other.clone()],
        0,
    )
    .await;
    produce(&producer, &topics, &[lead("after", 1)], 0).await;

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut engine = Touchline::start(&store, None, &topics.env());
    engine.wait_for("the later event appended", |t| {
        t.get("/v1/persons/after").is_some()
    });
    engine.wait_for("the conflict dead-lettered", |_| {
        !read_all(&topics.dead_letter).is_empty()
    });
    assert_eq!(engine.metric("duplicates"), 1, "the retry stays silent");
    assert_eq!(engine.metric("conflicting_duplicates"), 1);
    assert_eq!(engine.metric("dead_lettered"), 1);
    let dead = read_all(&topics.dead_letter);
    assert_eq!(dead.len(), 1, "{dead:?}");
    let letter = find(&dead, &original.event_id);
    assert_eq!(
        letter.headers["touchline.dlq.error"],
        "conflicting_duplicate"
    );
    assert!(
        letter.headers["touchline.dlq.reason"].starts_with("conflicting_duplicate: "),
        "{:?}",
        letter.headers
    );
    // Whether the first copy was logged in an earlier batch or the same one
    // depends on how the poll cut the batches; either way it is named.
    match letter.headers.get("touchline.dlq.logged.seq") {
        Some(seq) => assert_eq!(seq, "0"),
        None => assert!(
            letter.headers["touchline.dlq.reason"].contains("earlier in the same batch"),
            "{:?}",
            letter.headers
        ),
    }
    let on_topic = read_all(&topics.protobuf);
    let source = on_topic
        .iter()
        .filter(|m| m.key.as_deref() == Some("p-1"))
        .nth(2)
        .expect("the third message of p-1");
    assert_eq!(
        letter.headers["touchline.dlq.source.topic"],
        topics.protobuf
    );
    assert_eq!(
        letter.headers["touchline.dlq.source.partition"],
        source.partition.to_string()
    );
    assert_eq!(
        letter.headers["touchline.dlq.source.offset"],
        source.offset.to_string()
    );
    // The dead letter is the skipped copy; the log kept the first.
    let skipped: Envelope = serde_json::from_slice(letter.payload.as_deref().unwrap()).unwrap();
    assert_eq!(skipped, other);
    let person = engine.get("/v1/persons/p-1").unwrap();
    assert_eq!(person["touches"][0]["campaign_id"], "campaign-00001");
    engine.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_field_the_contract_does_not_have_is_dead_lettered_by_name() {
    let topics = Topics::unique("poison-unknown-field");
    create_topics(&topics, &[], &[]).await;
    let producer = large_producer();
    let misspelled = br#"{"event_id":"cmp-1","occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00Z","payload":{"type":"campaign_upserted","campaign_id":"cmp-1","name":"Spring","campaign_type":"webinar","starts_at":"2026-03-01T00:00:00Z","planned_cost_minor":500000}}"#;
    send(&producer, &topics.json, "cmp-1", misspelled).await;
    produce(&producer, &topics, &[lead("after", 1)], 0).await;

    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut engine = Touchline::start(&store, None, &topics.env());
    engine.wait_for("the dead letter and the later event", |t| {
        t.metric("dead_lettered") == 1 && t.get("/v1/persons/after").is_some()
    });
    let dead = read_all(&topics.dead_letter);
    let letter = find(&dead, "cmp-1");
    assert_eq!(letter.headers["touchline.dlq.error"], "unknown_field");
    assert!(
        letter.headers["touchline.dlq.reason"].contains("`payload.planned_cost_minor`"),
        "{:?}",
        letter.headers
    );
    engine.terminate();

    // A topic configured to ignore unknown fields takes the campaign.
    let topics = Topics::unique("poison-unknown-ignored");
    create_topics(&topics, &[], &[]).await;
    send(&producer, &topics.json, "cmp-1", misspelled).await;
    let mut env = topics.env();
    env.push((
        "TOUCHLINE_KAFKA_JSON_UNKNOWN_FIELDS".into(),
        "ignore".into(),
    ));
    let store = dir.path().join("store-ignoring");
    let mut engine = Touchline::start(&store, None, &env);
    engine.wait_for("the campaign appended", |t| {
        t.metric("events_appended") == 1
    });
    assert_eq!(engine.metric("dead_lettered"), 0);
    engine.terminate();
}
