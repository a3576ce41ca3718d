//! Shared helpers of the integration tests: a real Kafka broker (started by
//! `deploy/kafka.sh`), unique topics per test, producing and reading back.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use touchline_core::Envelope;
use touchline_kafka::{KafkaConfig, TopicSpec};
use touchline_proto::WireFormat;

mod touchline;
// Not every test binary runs `touchline run` as a child.
#[allow(unused_imports)]
pub use touchline::{Touchline, binary};

/// Generous upper bound for "eventually"; only hit when something is broken.
pub const PATIENCE: Duration = Duration::from_secs(180);

pub fn brokers() -> String {
    std::env::var("TOUCHLINE_TEST_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// Topic names unique to one test run, so tests never see each other's data.
#[derive(Debug, Clone)]
pub struct Topics {
    pub protobuf: String,
    pub json: String,
    pub dead_letter: String,
    pub attribution: String,
    pub alerts: String,
    pub group: String,
}

impl Topics {
    pub fn unique(test: &str) -> Topics {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let run = format!("{test}.{}.{nanos}", std::process::id());
        Topics {
            protobuf: format!("it.{run}.events"),
            json: format!("it.{run}.events-json"),
            dead_letter: format!("it.{run}.deadletter"),
            attribution: format!("it.{run}.attribution"),
            alerts: format!("it.{run}.alerts"),
            group: format!("it.{run}.group"),
        }
    }

    pub fn kafka_config(&self) -> KafkaConfig {
        KafkaConfig {
            brokers: brokers(),
            group_id: self.group.clone(),
            topics: vec![
                TopicSpec {
                    name: self.protobuf.clone(),
                    format: WireFormat::Protobuf,
                },
                TopicSpec {
                    name: self.json.clone(),
                    format: WireFormat::Json,
                },
            ],
            dead_letter_topic: self.dead_letter.clone(),
            attribution_topic: self.attribution.clone(),
            alerts_topic: self.alerts.clone(),
            batch_max_messages: 2_000,
            batch_max_wait_ms: 20,
            session_timeout_ms: 10_000,
            ..KafkaConfig::default()
        }
    }

    /// Environment for a `touchline run` child process.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("TOUCHLINE_KAFKA_BROKERS".into(), brokers()),
            ("TOUCHLINE_KAFKA_GROUP_ID".into(), self.group.clone()),
            (
                "TOUCHLINE_KAFKA_TOPICS".into(),
                format!("{}:protobuf,{}:json", self.protobuf, self.json),
            ),
            (
                "TOUCHLINE_KAFKA_DEAD_LETTER_TOPIC".into(),
                self.dead_letter.clone(),
            ),
            (
                "TOUCHLINE_KAFKA_ATTRIBUTION_TOPIC".into(),
                self.attribution.clone(),
            ),
            ("TOUCHLINE_KAFKA_ALERTS_TOPIC".into(), self.alerts.clone()),
            ("TOUCHLINE_KAFKA_BATCH_MAX_MESSAGES".into(), "1000".into()),
            // A restart after kill -9 reclaims the partitions without waiting out
            // the dead member's session.
            (
                "TOUCHLINE_KAFKA_INSTANCE_ID".into(),
                format!("{}-instance", self.group),
            ),
            ("TOUCHLINE_KAFKA_SESSION_TIMEOUT_MS".into(), "10000".into()),
        ]
    }

    pub async fn create(&self) {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", brokers())
            .create()
            .expect("admin client");
        let topics = [
            NewTopic::new(&self.protobuf, 3, TopicReplication::Fixed(1)),
            NewTopic::new(&self.json, 1, TopicReplication::Fixed(1)),
            NewTopic::new(&self.dead_letter, 1, TopicReplication::Fixed(1)),
            NewTopic::new(&self.attribution, 2, TopicReplication::Fixed(1))
                .set("cleanup.policy", "compact"),
            NewTopic::new(&self.alerts, 1, TopicReplication::Fixed(1)),
        ];
        let results = admin
            .create_topics(
                &topics,
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30))),
            )
            .await
            .expect("create topics (is Kafka running? bash deploy/kafka.sh start)");
        for result in results {
            result.expect("topic created");
        }
    }
}

pub fn producer() -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        // As touchline's own producers and the Java client partition.
        .set("partitioner", "murmur2_random")
        .create()
        .expect("producer")
}

/// The partition key of the contract (what a real source uses).
pub fn key_of(envelope: &Envelope) -> String {
    envelope.partition_key().to_owned()
}

/// Produces every event: one in `json_every` as JSON to the JSON topic, the rest
/// as protobuf.
pub async fn produce(
    producer: &FutureProducer,
    topics: &Topics,
    events: &[Envelope],
    json_every: usize,
) {
    let mut deliveries = Vec::with_capacity(events.len());
    for (i, envelope) in events.iter().enumerate() {
        let (topic, format) = if json_every > 0 && i % json_every == json_every - 1 {
            (&topics.json, WireFormat::Json)
        } else {
            (&topics.protobuf, WireFormat::Protobuf)
        };
        let bytes = touchline_proto::encode(format, envelope);
        let key = key_of(envelope);
        let record = FutureRecord::to(topic).key(&key).payload(&bytes);
        deliveries.push(
            producer
                .send_result(record)
                .map_err(|(e, _)| e)
                .expect("queue"),
        );
    }
    for delivery in deliveries {
        delivery.await.expect("delivery future").expect("delivered");
    }
}

pub async fn produce_raw(producer: &FutureProducer, topic: &str, key: &str, payload: &[u8]) {
    producer
        .send(
            FutureRecord::to(topic).key(key).payload(payload),
            Duration::from_secs(30),
        )
        .await
        .expect("delivered");
}

/// One message read back, with its headers.
#[derive(Debug, Clone)]
pub struct ReadMessage {
    pub key: Option<String>,
    pub payload: Option<Vec<u8>>,
    pub headers: HashMap<String, String>,
    pub partition: i32,
    pub offset: i64,
}

/// Reads a topic from the beginning up to its current end.
pub fn read_all(topic: &str) -> Vec<ReadMessage> {
    let mut client = ClientConfig::new();
    client.set("bootstrap.servers", brokers());
    read_all_with(client, topic)
}

/// Reads a topic from the beginning up to its current end through `client`
/// (its brokers and security settings).
pub fn read_all_with(mut client: ClientConfig, topic: &str) -> Vec<ReadMessage> {
    let consumer: BaseConsumer = client
        .set("group.id", format!("reader-{topic}"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(30))
        .expect("metadata");
    let mut tpl = TopicPartitionList::new();
    let mut ends = HashMap::new();
    for p in metadata.topics()[0].partitions() {
        let (_, high) = consumer
            .fetch_watermarks(topic, p.id(), Duration::from_secs(30))
            .expect("watermarks");
        if high > 0 {
            tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
                .expect("tpl");
            ends.insert(p.id(), high);
        }
    }
    if ends.is_empty() {
        return Vec::new();
    }
    consumer.assign(&tpl).expect("assign");
    let mut out = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    let mut done: HashMap<i32, bool> = HashMap::new();
    while done.len() < ends.len() {
        assert!(
            Instant::now() < deadline,
            "reading {topic} did not reach its end"
        );
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.expect("message");
        let mut headers = HashMap::new();
        if let Some(h) = message.headers() {
            for header in h.iter() {
                headers.insert(
                    header.key.to_owned(),
                    String::from_utf8_lossy(header.value.unwrap_or_default()).into_owned(),
                );
            }
        }
        out.push(ReadMessage {
            key: message
                .key()
                .map(|k| String::from_utf8_lossy(k).into_owned()),
            payload: message.payload().map(<[u8]>::to_vec),
            headers,
            partition: message.partition(),
            offset: message.offset(),
        });
        if message.offset() + 1 >= ends[&message.partition()] {
            done.insert(message.partition(), true);
        }
    }
    out
}

/// Waits until `condition` holds, failing with `what` after [`PATIENCE`].
pub fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The admin token the tests' `touchline run` is configured with (as its
/// SHA-256 in [`TEST_TOKEN_SHA256`]); an open API ignores it.
pub const TEST_TOKEN: &str = "touchline-test-admin";
pub const TEST_TOKEN_SHA256: &str =
    "cb61995c9bf1a55af17cfe3c6b8ab6316b7a6dd091c2461cf119927f91debb59";

/// A bare HTTP/1.1 GET with the test token; returns status and body.
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    http_request(addr, "GET", path, Some(TEST_TOKEN), "")
}

/// A bare HTTP/1.1 request with a JSON body and, if given, a bearer token.
pub fn http_request(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Option<(u16, String)> {
    http_exchange(addr, method, path, token, body).map(|(status, _, body)| (status, body))
}

/// The value of header `name` (lower case) of a GET's answer.
pub fn http_get_header(addr: &str, path: &str, name: &str) -> Option<String> {
    let (_, head, _) = http_exchange(addr, "GET", path, Some(TEST_TOKEN), "")?;
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

/// A bare HTTP/1.1 exchange: the status, the head and the body.
fn http_exchange(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> Option<(u16, String, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n")),
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_owned(), b.to_owned()))
        .unwrap_or_default();
    // axum answers small bodies with Content-Length, so no chunked decoding is needed.
    Some((status, head, body))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The sum over the input topics' partitions of the group's committed offsets:
/// how many input messages Kafka records the group as past.
pub fn committed_total(topics: &Topics) -> i64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", &topics.group)
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for topic in [&topics.protobuf, &topics.json] {
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("metadata");
        for partition in metadata.topics()[0].partitions() {
            tpl.add_partition(topic, partition.id());
        }
    }
    consumer
        .committed_offsets(tpl, Duration::from_secs(10))
        .expect("committed offsets")
        .elements()
        .iter()
        .map(|e| match e.offset() {
            Offset::Offset(o) => o,
            _ => 0,
        })
        .sum()
}

/// 2026-01-01 plus `ms`: the instants of the Kafka tests' events.
pub fn at(ms: i64) -> touchline_core::Timestamp {
    touchline_core::Timestamp::from_millis(1_767_225_600_000 + ms)
}

/// A lead `person` (`lead-<person>`, `<person>@example.com`, owned by
/// `rep-1`) created at `at(ms)`, from the CRM. The Kafka tests' clock and
/// source system, over the fixtures' lead.
pub fn lead(person: &str, ms: i64) -> Envelope {
    use touchline_fixtures::LeadFixture;
    Envelope {
        source_system: "crm".into(),
        ..touchline_fixtures::envelope(
            format!("lead-{person}"),
            at(ms).as_millis(),
            touchline_fixtures::lead(person)
                .with_email(format!("{person}@example.com"))
                .owned_by("rep-1"),
        )
    }
}
