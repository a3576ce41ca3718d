use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use touchline_engine::Metrics;
use touchline_store::Store;
use tracing::{info, warn};

use crate::{KafkaConfig, KafkaError};

/// Drains the outbox to the attribution topic, in order.
pub struct Publisher {
    store: Arc<Store>,
    producer: FutureProducer,
    topic: String,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

const PAGE: usize = 5_000;

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
            metrics,
        })
    }

    /// Publishes one page of the outbox; returns how many records went out.
    pub async fn publish_page(&self) -> Result<usize, KafkaError> {
        let page = self.store.outbox(PAGE)?;
        let Some(&(last_id, _)) = page.last() else {
            return Ok(0);
        };
        let mut deliveries = Vec::with_capacity(page.len());
        for (_, record) in &page {
            let mut message = FutureRecord::<str, [u8]>::to(&self.topic).key(&record.key);
            if let Some(value) = &record.value {
                message = message.payload(value.as_slice());
            }
            deliveries.push(self.producer.send(message, Duration::from_secs(30)));
        }
        let mut failed = None;
        for delivery in deliveries {
            if let Err((e, _)) = delivery.await {
                failed = Some(e);
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
            .fetch_add(page.len() as u64, Ordering::Relaxed);
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
