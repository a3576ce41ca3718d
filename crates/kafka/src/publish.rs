use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::error::KafkaError as KafkaClientError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use touchline_engine::Metrics;
use touchline_store::Store;
use tracing::{info, warn};

use crate::{KafkaConfig, KafkaError};

/// Drains the outbox, in order: attribution keys to the attribution topic,
/// alerts to the alerts topic.
pub struct Publisher {
    store: Arc<Store>,
    producer: FutureProducer,
    topic: String,
    alerts_topic: String,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

const PAGE: usize = 20_000;

impl Publisher {
    pub fn new(
        store: Arc<Store>,
        config: &KafkaConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, KafkaError> {
        let producer: FutureProducer = config
            .client()
            // Idempotence keeps per-key order across retries: versions never swap.
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", "lz4")
            .set("linger.ms", "5")
            .create()?;
        Ok(Publisher {
            store,
            producer,
            topic: config.attribution_topic.clone(),
            alerts_topic: config.alerts_topic.clone(),
            metrics,
        })
    }

    /// Publishes one page of the outbox; returns how many records went out.
    pub async fn publish_page(&self) -> Result<usize, KafkaError> {
        let page = self.store.outbox(PAGE)?;
        let Some(&(last_id, _)) = page.last() else {
            return Ok(0);
        };
        // Enqueue the whole page first (librdkafka batches it), then wait for the
        // acknowledgements; awaiting each send in turn would cost a round trip
        // per message.
        // Values are full states, so of several versions of one key in a page
        // only the newest needs to go out.
        let mut newest: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::with_capacity(page.len());
        for (i, (_, record)) in page.iter().enumerate() {
            if record.alert.is_none() {
                newest.insert(record.key.as_str(), i);
            }
        }
        // Render each key's current value (or tombstone) from the views; alerts
        // go as they are, every one.
        let mut rendered = Vec::with_capacity(newest.len());
        let mut renderer = touchline_engine::AttributionRenderer::new(&self.store);
        for (i, (_, record)) in page.iter().enumerate() {
            if let Some(alert) = &record.alert {
                rendered.push((&self.alerts_topic, record.key.as_str(), Some(alert.clone())));
            } else if newest.get(record.key.as_str()) == Some(&i) {
                let value = renderer.render(&record.key)?;
                rendered.push((&self.topic, record.key.as_str(), value));
            }
        }
        let mut deliveries = Vec::with_capacity(rendered.len());
        for (topic, key, value) in &rendered {
            let mut message = FutureRecord::<str, [u8]>::to(topic).key(key);
            if let Some(value) = value {
                message = message.payload(value.as_slice());
            }
            loop {
                match self.producer.send_result(message) {
                    Ok(delivery) => {
                        deliveries.push(delivery);
                        break;
                    }
                    Err((
                        KafkaClientError::MessageProduction(RDKafkaErrorCode::QueueFull),
                        back,
                    )) => {
                        message = back;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err((e, _)) => {
                        self.metrics
                            .publish_failures
                            .fetch_add(1, Ordering::Relaxed);
                        return Err(e.into());
                    }
                }
            }
        }
        let deliveries_len = deliveries.len();
        let mut failed = None;
        for delivery in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => failed = Some(e),
                Err(_) => failed = Some(KafkaClientError::Canceled),
            }
        }
        if let Some(e) = failed {
            self.metrics
                .publish_failures
                .fetch_add(1, Ordering::Relaxed);
            return Err(e.into());
        }
        self.store.remove_outbox_through(last_id)?;
        self.metrics
            .published
            .fetch_add(deliveries_len as u64, Ordering::Relaxed);
        Ok(page.len())
    }

    /// Publishes until `shutdown` is set and the outbox is empty.
    pub async fn run(self, shutdown: Arc<AtomicBool>) {
        info!(topic = %self.topic, "publishing attribution");
        loop {
            match self.publish_page().await {
                Ok(0) => {
                    if shutdown.load(Ordering::Relaxed) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(_) => {}
                Err(e) => {
                    warn!(error = %e, "publishing failed; retrying");
                    if shutdown.load(Ordering::Relaxed) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
        info!("publisher stopped");
    }
}
