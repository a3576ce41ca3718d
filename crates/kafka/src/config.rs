use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use serde::{Deserialize, Serialize};
use touchline_proto::WireFormat;

/// An input topic and how its messages are encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSpec {
    pub name: String,
    pub format: WireFormat,
}

/// Everything the Kafka edge needs. Deserializes from the `[kafka]` table of the
/// config file; see the README for every key and its environment variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// `host:port[,host:port...]`.
    pub brokers: String,
    pub group_id: String,
    pub topics: Vec<TopicSpec>,
    pub dead_letter_topic: String,
    pub attribution_topic: String,
    /// Rep alerts: activity on accounts with open pipeline (R18), keyed by account.
    pub alerts_topic: String,
    /// Where commands from the API (e.g. re-routing a lead) are produced as
    /// events; must be one of `topics` so that they come back through ingest.
    /// Empty: the first JSON input topic.
    pub commands_topic: String,
    /// A batch closes at this many messages...
    pub batch_max_messages: usize,
    /// ...or this long after its first message, whichever comes first.
    pub batch_max_wait_ms: u64,
    /// Static group membership (`group.instance.id`): a restarted instance with
    /// the same id takes its partitions back at once instead of waiting out the
    /// session timeout. Give each instance its own, stable id.
    pub instance_id: Option<String>,
    /// How long the group waits for a silent member before reassigning its partitions.
    pub session_timeout_ms: u32,
    /// Extra librdkafka properties for every client (e.g. `security.protocol`).
    pub client_properties: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: "127.0.0.1:9092".into(),
            group_id: "touchline".into(),
            topics: vec![
                TopicSpec {
                    name: "touchline.events.v1".into(),
                    format: WireFormat::Protobuf,
                },
                TopicSpec {
                    name: "touchline.events.json.v1".into(),
                    format: WireFormat::Json,
                },
            ],
            dead_letter_topic: "touchline.deadletter.v1".into(),
            attribution_topic: "touchline.attribution.v1".into(),
            alerts_topic: "touchline.alerts.v1".into(),
            commands_topic: String::new(),
            batch_max_messages: 20_000,
            batch_max_wait_ms: 50,
            instance_id: None,
            session_timeout_ms: 45_000,
            client_properties: BTreeMap::new(),
        }
    }
}

impl KafkaConfig {
    pub fn validate(&self) -> Result<(), crate::KafkaError> {
        let fail = |m: &str| Err(crate::KafkaError::Config(m.to_owned()));
        if self.brokers.trim().is_empty() {
            return fail("kafka.brokers is empty");
        }
        if self.group_id.trim().is_empty() {
            return fail("kafka.group_id is empty");
        }
        if self.topics.is_empty() {
            return fail("kafka.topics lists no input topic");
        }
        if self.batch_max_messages == 0 {
            return fail("kafka.batch_max_messages must be at least 1");
        }
        // The publisher sends both from one outbox in order: a topic it cannot
        // write would hold up the other.
        for (key, topic) in [
            ("kafka.attribution_topic", &self.attribution_topic),
            ("kafka.alerts_topic", &self.alerts_topic),
            ("kafka.dead_letter_topic", &self.dead_letter_topic),
        ] {
            if topic.trim().is_empty() {
                return Err(crate::KafkaError::Config(format!("{key} is empty")));
            }
        }
        if !self.commands_topic.is_empty()
            && !self.topics.iter().any(|t| t.name == self.commands_topic)
        {
            return fail(
                "kafka.commands_topic must be one of kafka.topics, or events it carries would never reach the log",
            );
        }
        Ok(())
    }

    /// The input topic commands are produced to, and its format.
    pub fn command_topic(&self) -> Option<&TopicSpec> {
        if self.commands_topic.is_empty() {
            self.topics
                .iter()
                .find(|t| t.format == WireFormat::Json)
                .or(self.topics.first())
        } else {
            self.topics.iter().find(|t| t.name == self.commands_topic)
        }
    }

    pub(crate) fn client(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.client_properties {
            config.set(key, value);
        }
        config
    }
}
