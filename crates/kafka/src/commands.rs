use std::time::Duration;

use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use touchline_core::Envelope;
use touchline_engine::EventSink;

use crate::{KafkaConfig, KafkaError, TopicSpec};

/// Produces events made through the API (e.g. a re-routed lead) to an input
/// topic, so that they reach the log through ingest like every other event.
pub struct CommandProducer {
    producer: BaseProducer,
    topic: TopicSpec,
}

impl std::fmt::Debug for CommandProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandProducer")
            .field("topic", &self.topic.name)
            .finish_non_exhaustive()
    }
}

impl CommandProducer {
    pub fn new(config: &KafkaConfig) -> Result<Self, KafkaError> {
        let topic = config
            .command_topic()
            .cloned()
            .ok_or_else(|| KafkaError::Config("kafka.topics lists no input topic".into()))?;
        let producer: BaseProducer = config
            .client()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .create()?;
        Ok(CommandProducer { producer, topic })
    }
}

impl EventSink for CommandProducer {
    fn submit(&self, envelope: Envelope) -> Result<(), String> {
        envelope.validate().map_err(|e| e.to_string())?;
        let bytes = touchline_proto::encode(self.topic.format, &envelope);
        // Keyed by the subject, so its events keep their order on one partition.
        let key = envelope
            .event
            .streams()
            .next()
            .map_or(envelope.event_id.as_str(), |s| s.id)
            .to_owned();
        self.producer
            .send(BaseRecord::to(&self.topic.name).key(&key).payload(&bytes))
            .map_err(|(e, _)| format!("cannot queue the event for {}: {e}", self.topic.name))?;
        // Accepted means acknowledged by the broker: wait for it.
        self.producer
            .flush(Duration::from_secs(10))
            .map_err(|e| format!("{} did not acknowledge the event: {e}", self.topic.name))
    }
}
