use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use touchline_core::Envelope;
use touchline_engine::EventSink;

use crate::{KafkaConfig, KafkaError, TopicSpec};

/// Produces events made by touchline's users (a lead re-routed through the
/// API, a backfill) to an input topic, so that they reach the log through
/// ingest like every other event. `Ok` means Kafka acknowledged every one.
pub struct CommandProducer {
    producer: BaseProducer<DeliveryCheck>,
    topic: TopicSpec,
}

impl std::fmt::Debug for CommandProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandProducer")
            .field("topic", &self.topic.name)
            .finish_non_exhaustive()
    }
}

/// The outcome of one call's messages: the first delivery error, if any.
#[derive(Debug, Default)]
struct Deliveries {
    first_error: Mutex<Option<String>>,
}

impl Deliveries {
    fn error(&self) -> Option<String> {
        self.first_error.lock().ok().and_then(|e| e.clone())
    }
}

/// Routes each delivery report to the call that produced the message, so a
/// failure is reported to its caller and no other.
struct DeliveryCheck;

impl ClientContext for DeliveryCheck {}

impl ProducerContext for DeliveryCheck {
    type DeliveryOpaque = Arc<Deliveries>;

    fn delivery(&self, result: &DeliveryResult<'_>, deliveries: Arc<Deliveries>) {
        if let Err((e, _)) = result
            && let Ok(mut first) = deliveries.first_error.lock()
        {
            first.get_or_insert_with(|| e.to_string());
        }
    }
}

impl CommandProducer {
    pub fn new(config: &KafkaConfig) -> Result<Self, KafkaError> {
        let topic = config
            .command_topic()
            .cloned()
            .ok_or_else(|| KafkaError::Config("kafka.topics lists no input topic".into()))?;
        let producer: BaseProducer<DeliveryCheck> = config
            .client()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            // The Java client's partitioner: one key, one partition, whichever
            // client (touchline, Kafka Streams, Connect) produced it.
            .set("partitioner", "murmur2_random")
            .create_with_context(DeliveryCheck)?;
        Ok(CommandProducer { producer, topic })
    }

    /// The topic events go to.
    pub fn topic(&self) -> &str {
        &self.topic.name
    }

    /// Produces events in order (per subject, on one partition) and returns once
    /// Kafka acknowledged every one. `progress` is told how many are queued.
    pub fn produce_all(
        &self,
        events: &[Envelope],
        mut progress: impl FnMut(usize),
    ) -> Result<(), KafkaError> {
        let deliveries = Arc::new(Deliveries::default());
        for (i, envelope) in events.iter().enumerate() {
            let bytes = touchline_proto::encode(self.topic.format, envelope);
            let key = envelope.partition_key();
            let mut record = BaseRecord::with_opaque_to(&self.topic.name, deliveries.clone())
                .key(key)
                .payload(&bytes);
            loop {
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((
                        rdkafka::error::KafkaError::MessageProduction(
                            rdkafka::types::RDKafkaErrorCode::QueueFull,
                        ),
                        back,
                    )) => {
                        record = back;
                        self.producer.poll(Duration::from_millis(50));
                    }
                    Err((e, _)) => return Err(e.into()),
                }
            }
            if i % 1_000 == 999 {
                self.producer.poll(Duration::ZERO);
                progress(i + 1);
            }
        }
        self.producer.flush(Duration::from_secs(60))?;
        if let Some(error) = deliveries.error() {
            return Err(KafkaError::NotAcknowledged {
                topic: self.topic.name.clone(),
                detail: error,
            });
        }
        progress(events.len());
        Ok(())
    }
}

impl EventSink for CommandProducer {
    fn submit(&self, envelope: Envelope) -> Result<(), String> {
        envelope.validate().map_err(|e| e.to_string())?;
        self.produce_all(std::slice::from_ref(&envelope), |_| {})
            .map_err(|e| e.to_string())
    }
}
