//! Helpers of the security and codec tests: Kafka clients with extra
//! librdkafka properties (TLS, SASL, compression), and `touchline run` with
//! those properties in its config file's `[kafka.client_properties]`.
//!
//! Goes with `tests/support` (`mod support;` first), which it builds on.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use touchline_core::*;
use touchline_fixtures::TouchFixture;

pub use crate::support::Touchline;
use crate::support::{ReadMessage, Topics, at, free_port};

/// librdkafka properties, as `[kafka.client_properties]` holds them.
pub type Props = Vec<(String, String)>;

pub fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn client(brokers: &str, props: &Props) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    for (k, v) in props {
        config.set(k, v);
    }
    config
}

pub fn producer(brokers: &str, props: &Props) -> FutureProducer {
    client(brokers, props)
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .expect("producer")
}

pub async fn send(producer: &FutureProducer, topic: &str, key: &str, payload: &[u8]) {
    producer
        .send(
            FutureRecord::to(topic).key(key).payload(payload),
            Duration::from_secs(60),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("delivered");
}

/// Reads a topic from the beginning to its current end through `brokers`.
pub fn read_all(brokers: &str, props: &Props, topic: &str) -> Vec<ReadMessage> {
    crate::support::read_all_with(client(brokers, props), topic)
}

/// A web visit by `person` in `campaign` (`touch-<person>`) at `at(0)`, from
/// the web site.
pub fn touch(person: &str, campaign: &str) -> Envelope {
    Envelope {
        source_system: "web".into(),
        ..touchline_fixtures::envelope(
            format!("touch-{person}"),
            at(0).as_millis(),
            touchline_fixtures::touch(person, campaign).of_type(TouchType::WebVisit),
        )
    }
}

/// A lead after its touch: a conversion, so credit sets are published.
pub fn lead(person: &str) -> Envelope {
    crate::support::lead(person, 1_000)
}

/// Writes a config file whose `[kafka.client_properties]` are `props`.
pub fn config_file(dir: &Path, props: &Props) -> PathBuf {
    let mut text = String::from("[kafka.client_properties]\n");
    for (k, v) in props {
        text.push_str(&format!("{} = {}\n", toml_string(k), toml_string(v)));
    }
    let path = dir.join(format!("touchline-{}.toml", free_port()));
    std::fs::write(&path, text).unwrap();
    path
}

fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// The environment of a `touchline run` on `topics` through `brokers`.
pub fn env(topics: &Topics, brokers: &str) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = topics
        .env()
        .into_iter()
        .filter(|(k, _)| k != "TOUCHLINE_KAFKA_BROKERS")
        .collect();
    env.push(("TOUCHLINE_KAFKA_BROKERS".into(), brokers.into()));
    env
}

/// Creates the test's topics through the plaintext listener; `input_configs`
/// are set on both input topics (e.g. `compression.type`).
pub async fn create_topics(topics: &Topics, input_configs: &[(&str, &str)]) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", crate::support::brokers())
        .create()
        .unwrap();
    let mut new = Vec::new();
    for (name, partitions, input) in [
        (&topics.protobuf, 2, true),
        (&topics.json, 1, true),
        (&topics.dead_letter, 1, false),
        (&topics.attribution, 2, false),
        (&topics.alerts, 1, false),
    ] {
        let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
        if name == &topics.attribution {
            topic = topic.set("cleanup.policy", "compact");
        }
        if input {
            for (k, v) in input_configs {
                topic = topic.set(k, v);
            }
        }
        new.push(topic);
    }
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    for result in admin
        .create_topics(&new, &options)
        .await
        .expect("create topics (is Kafka running? bash deploy/kafka.sh start)")
    {
        result.expect("topic created");
    }
}

/// What [`round_trip`] read back.
#[derive(Debug)]
pub struct RoundTrip {
    pub dead_letters: Vec<ReadMessage>,
    pub credit_sets: Vec<ReadMessage>,
    pub log: String,
}

/// The whole way through one listener: produces a touch (protobuf), a
/// malformed message and a lead (JSON) with `producer_props`, runs `touchline
/// run` with `touchline_props` through `brokers`, re-routes the lead through
/// the API (the command producer), and reads the dead-letter and attribution
/// topics back. Checks the log holds both events and the command's, the
/// dead-letter topic the malformed message, and the attribution topic a credit
/// set per model crediting the touch.
pub async fn round_trip(
    topics: &Topics,
    brokers: &str,
    producer_props: &Props,
    touchline_props: &Props,
) -> RoundTrip {
    use touchline_proto::WireFormat;
    let person = "sec-p1";
    let campaign = "campaign-secured";
    let source = producer(brokers, producer_props);
    let touch = touch(person, campaign);
    send(
        &source,
        &topics.protobuf,
        person,
        &touchline_proto::encode(WireFormat::Protobuf, &touch),
    )
    .await;
    send(&source, &topics.protobuf, "junk", b"\xff\xfe not protobuf").await;
    send(
        &source,
        &topics.json,
        person,
        &touchline_proto::encode(WireFormat::Json, &lead(person)),
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path(), touchline_props);
    let mut engine = Touchline::start(
        &dir.path().join("store"),
        Some(&config),
        &env(topics, brokers),
    );
    engine.wait_for("both events appended and the junk dead-lettered", |t| {
        t.metric("events_appended") >= 2 && t.metric("dead_lettered") == 1
    });

    // The API's command producer, through the same listener and back.
    let route = r#"{"owner_id":"rep-kim","owner_kind":"internal","reason":"secured"}"#;
    let (code, body) = crate::support::http_request(
        &engine.http,
        "POST",
        &format!("/v1/leads/{person}/route"),
        Some(crate::support::TEST_TOKEN),
        route,
    )
    .unwrap();
    assert_eq!(code, 202, "{body}");
    engine.wait_for("the re-routing came back through Kafka", |t| {
        t.get(&format!("/v1/persons/{person}"))
            .is_some_and(|p| p["owner_id"] == "rep-kim")
    });
    engine.wait_for("every credit set published", |t| {
        let versions = t.metric("attribution_versions");
        versions > 0 && t.metric("published") >= versions
    });
    let published = engine.metric("published");
    let log = engine.terminate();

    let dead_letters = read_all(brokers, producer_props, &topics.dead_letter);
    assert_eq!(dead_letters.len(), 1, "{dead_letters:?}");
    let letter = &dead_letters[0];
    assert_eq!(letter.key.as_deref(), Some("junk"));
    assert_eq!(letter.headers["touchline.dlq.error"], "protobuf_decode");
    assert_eq!(
        letter.headers["touchline.dlq.source.topic"],
        topics.protobuf
    );
    assert_eq!(
        letter.payload.as_deref(),
        Some(&b"\xff\xfe not protobuf"[..])
    );

    let credit_sets = read_all(brokers, producer_props, &topics.attribution);
    assert_eq!(credit_sets.len() as u64, published, "{credit_sets:?}");
    // The touch and the lead come through different topics, so the lead may
    // be credited to "(no touch)" first and to the touch in a later version:
    // what a consumer of the compacted topic holds, the newest version of
    // each key, credits the touch.
    let mut newest: std::collections::BTreeMap<String, touchline_engine::PublishedAttribution> =
        std::collections::BTreeMap::new();
    for message in &credit_sets {
        let key = message.key.as_deref().unwrap();
        assert!(key.ends_with(&format!("/lead_created:{person}")), "{key}");
        let value: touchline_engine::PublishedAttribution =
            serde_json::from_slice(message.payload.as_deref().unwrap()).unwrap();
        if newest.get(key).is_none_or(|v| v.version < value.version) {
            newest.insert(key.to_owned(), value);
        }
    }
    assert!(!newest.is_empty());
    for (key, value) in &newest {
        assert_eq!(value.credits.len(), 1, "{key}: {:?}", value.credits);
        assert_eq!(value.credits[0].campaign_id, campaign, "{key}");
        assert_eq!(
            value.credits[0].touch_event_id.as_deref(),
            Some(touch.event_id.as_str())
        );
    }
    RoundTrip {
        dead_letters,
        credit_sets,
        log,
    }
}
