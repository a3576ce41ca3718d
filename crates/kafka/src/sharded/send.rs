//! Sending records and waiting until Kafka acknowledged every one: the
//! router, the directory and the shards commit only what is acknowledged.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};

use crate::{KafkaConfig, KafkaError};

/// Counts acknowledgements and keeps the first failure.
#[derive(Default)]
pub(crate) struct Acks {
    delivered: AtomicUsize,
    failed: Mutex<Option<String>>,
}

impl ClientContext for Acks {}

impl ProducerContext for Acks {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                if let Ok(mut failed) = self.failed.lock() {
                    failed.get_or_insert_with(|| e.to_string());
                }
            }
        }
    }
}

/// One record to send: topic, partition, key, value.
pub(crate) struct Outbound<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub key: Option<&'a [u8]>,
    pub value: &'a [u8],
}

pub(crate) struct Sender {
    producer: BaseProducer<Acks>,
}

impl Sender {
    pub(crate) fn new(config: &KafkaConfig) -> Result<Self, KafkaError> {
        let producer = config
            .client()
            // Idempotence keeps each partition's records in the order sent,
            // across retries: a shard reads its records as they were queued.
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .set("message.timeout.ms", "60000")
            .create_with_context(Acks::default())?;
        Ok(Sender { producer })
    }

    /// Sends `records` and returns once Kafka acknowledged all of them; on a
    /// failure, the caller sends them all again (every receiver is idempotent).
    pub(crate) fn send_all(
        &self,
        records: &[Outbound<'_>],
        shutdown: &AtomicBool,
    ) -> Result<(), KafkaError> {
        if records.is_empty() {
            return Ok(());
        }
        let acks = self.producer.context();
        acks.delivered.store(0, Ordering::Relaxed);
        if let Ok(mut failed) = acks.failed.lock() {
            *failed = None;
        }
        for record in records {
            let mut base: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(record.topic)
                .partition(record.partition)
                .payload(record.value);
            if let Some(key) = record.key {
                base = base.key(key);
            }
            let mut pending = base;
            loop {
                match self.producer.send(pending) {
                    Ok(()) => break,
                    Err((e, back)) => {
                        if !matches!(
                            e.rdkafka_error_code(),
                            Some(rdkafka::types::RDKafkaErrorCode::QueueFull)
                        ) {
                            return Err(e.into());
                        }
                        self.producer.poll(Duration::from_millis(10));
                        pending = back;
                    }
                }
            }
        }
        loop {
            self.producer.poll(Duration::from_millis(5));
            if let Some(failed) = acks.failed.lock().ok().and_then(|f| f.clone()) {
                return Err(KafkaError::NotAcknowledged {
                    topic: records[0].topic.to_owned(),
                    detail: failed,
                });
            }
            if acks.delivered.load(Ordering::Relaxed) >= records.len() {
                return Ok(());
            }
            if shutdown.load(Ordering::Relaxed) && self.producer.in_flight_count() > 0 {
                // Let the last sends finish, bounded: what is not acknowledged
                // is sent again after the restart.
                self.producer.flush(Duration::from_secs(10))?;
                if acks.delivered.load(Ordering::Relaxed) >= records.len() {
                    return Ok(());
                }
                return Err(KafkaError::NotAcknowledged {
                    topic: records[0].topic.to_owned(),
                    detail: "stopping before every record was acknowledged".into(),
                });
            }
        }
    }
}
