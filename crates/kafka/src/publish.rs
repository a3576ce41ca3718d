use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rdkafka::error::KafkaError as KafkaClientError;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use touchline_core::Timestamp;
use touchline_engine::Metrics;
use touchline_store::{OutboxRecord, ParkedRecord, PublishedPage, Store};
use tracing::{error, info, warn};

use crate::refusal::refused_for_good;
use crate::{KafkaConfig, KafkaError};

/// Meta keys of the publisher's counters, totals since the store was created,
/// written with the outbox trim they count.
const META_PUBLISHED: &str = "published";
const META_PUBLISH_PARKED: &str = "publish_parked";

/// Drains the outbox, in order: attribution keys to the attribution topic,
/// alerts to the alerts topic, dead letters the engine found (conflicting
/// duplicates) to the dead-letter topic. A record Kafka refuses for good is parked in the
/// store (listed by `GET /v1/publishing/parked`) so the rest keeps flowing.
pub struct Publisher {
    store: Arc<Store>,
    producer: FutureProducer,
    topic: String,
    alerts_topic: String,
    dead_letter_topic: String,
    metrics: Arc<Metrics>,
    drain_timeout: Duration,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

const PAGE: usize = 20_000;

/// A page of the outbox with every message's value rendered, ready to
/// deliver ([`Publisher::render_page`], [`Publisher::deliver`]).
#[derive(Debug)]
pub struct Page {
    records: Vec<(u64, OutboxRecord)>,
    /// The messages: which record each publishes, where, and its value.
    messages: Vec<Rendered>,
}

#[derive(Debug)]
struct Rendered {
    /// Index in `records`: the newest of its key in the page.
    record: usize,
    target: Target,
    /// `None`: a tombstone.
    value: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy)]
enum Target {
    Attribution,
    Alerts,
    DeadLetters,
}

/// One message of a page.
struct Item<'p> {
    /// The outbox record it publishes (the newest of its key in the page).
    outbox_id: u64,
    topic: &'p str,
    key: &'p str,
    /// `None`: a tombstone.
    value: Option<Vec<u8>>,
    /// The message carries its own value (an alert, a dead letter) rather than
    /// a state rendered from the views.
    own_value: bool,
    headers: Option<&'p [(String, String)]>,
}

/// What became of one message.
enum Outcome {
    Delivered,
    /// Refused for good. `alone`: the refusal concerns this message only (the
    /// client's own size check); otherwise the batch it travelled in was
    /// refused, which may be another message's fault.
    Refused {
        error: KafkaClientError,
        alone: bool,
    },
}

impl Publisher {
    pub fn new(
        store: Arc<Store>,
        config: &KafkaConfig,
        metrics: Arc<Metrics>,
    ) -> Result<Self, KafkaError> {
        let mut client = config.client();
        // lz4 unless the operator chose a codec in kafka.client_properties.
        if !config.client_properties.contains_key("compression.type") {
            client.set("compression.type", "lz4");
        }
        let producer: FutureProducer = client
            // Idempotence keeps per-key order across retries: versions never swap.
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            // Above librdkafka's 1 MB default: the topic's max.message.bytes
            // applies to the compressed batch, so a credit set larger than it
            // uncompressed may still fit; the broker decides, and a refusal parks.
            .set(
                "message.max.bytes",
                config.publish_max_message_bytes.to_string(),
            )
            .create()?;
        // fetch_max, not add: these are the store's totals, whoever loads them.
        let published = store.meta_u64(META_PUBLISHED)?.unwrap_or_default();
        let parked = store.meta_u64(META_PUBLISH_PARKED)?.unwrap_or_default();
        Metrics::raise_to(&metrics.published, published);
        Metrics::raise_to(&metrics.publish_parked, parked);
        Ok(Publisher {
            store,
            producer,
            topic: config.attribution_topic.clone(),
            alerts_topic: config.alerts_topic.clone(),
            dead_letter_topic: config.dead_letter_topic.clone(),
            metrics,
            drain_timeout: Duration::from_millis(config.shutdown_drain_timeout_ms),
        })
    }

    /// Publishes one page of the outbox; returns how many records it took off
    /// the outbox (delivered, superseded or parked).
    pub async fn publish_page(&self) -> Result<usize, KafkaError> {
        match self.render_page()? {
            Some(page) => self.deliver(page).await,
            None => Ok(0),
        }
    }

    /// Reads the next page of the outbox and renders each message's value:
    /// each credit set as its view in the store has it now. `None` when the
    /// outbox is empty. A caller that must send something first that every
    /// view rendered depends on (a shard's version floor) sends it between
    /// this and [`Publisher::deliver`].
    pub fn render_page(&self) -> Result<Option<Page>, KafkaError> {
        let records = self.store.outbox(PAGE)?;
        if records.is_empty() {
            self.metrics.outbox_published_through(None);
            return Ok(None);
        }
        // Values are full states, so of several versions of one key in a page
        // only the newest needs to go out.
        let mut newest: HashMap<&str, usize> = HashMap::with_capacity(records.len());
        for (i, (_, record)) in records.iter().enumerate() {
            if record.is_attribution() {
                newest.insert(record.key.as_str(), i);
            }
        }
        // Render each key's current value (or tombstone) from the views; alerts
        // and dead letters go as they are, every one.
        let mut messages = Vec::with_capacity(newest.len());
        let mut renderer = touchline_engine::AttributionRenderer::new(&self.store);
        for (i, (_, record)) in records.iter().enumerate() {
            let (target, value) = if let Some(alert) = &record.alert {
                (Target::Alerts, Some(alert.clone()))
            } else if let Some(letter) = &record.dead_letter {
                (Target::DeadLetters, Some(letter.value.clone()))
            } else if newest.get(record.key.as_str()) == Some(&i) {
                // Handed to another shard, which publishes it.
                if renderer.moved_away(&record.key)? {
                    continue;
                }
                (Target::Attribution, renderer.render(&record.key)?)
            } else {
                continue;
            };
            messages.push(Rendered {
                record: i,
                target,
                value,
            });
        }
        Ok(Some(Page { records, messages }))
    }

    /// Delivers a page [`Publisher::render_page`] rendered and takes it off
    /// the outbox; returns how many records that was.
    pub async fn deliver(&self, page: Page) -> Result<usize, KafkaError> {
        let started = Instant::now();
        let Page { records, messages } = page;
        let Some(&(last_id, _)) = records.last() else {
            return Ok(0);
        };
        let items: Vec<Item<'_>> = messages
            .into_iter()
            .map(|message| {
                let (outbox_id, record) = &records[message.record];
                let topic = match message.target {
                    Target::Attribution => self.topic.as_str(),
                    Target::Alerts => self.alerts_topic.as_str(),
                    Target::DeadLetters => self.dead_letter_topic.as_str(),
                };
                Item {
                    outbox_id: *outbox_id,
                    topic,
                    key: record.key.as_str(),
                    value: message.value,
                    own_value: !record.is_attribution(),
                    headers: record.dead_letter.as_ref().map(|l| l.headers.as_slice()),
                }
            })
            .collect();

        let mut outcomes = self.send_together(&items).await?;
        // A refused batch may have been refused for one large message in it:
        // each message of it goes again on its own, so that only the ones
        // Kafka refuses alone are parked. (An alert sent again can land after
        // a later alert of its account; alerts carry their log position.)
        for (item, outcome) in items.iter().zip(outcomes.iter_mut()) {
            if matches!(outcome, Outcome::Refused { alone: false, .. }) {
                *outcome = self.send_alone(item).await?;
            }
        }

        let mut delivered = 0u64;
        let mut parked = Vec::new();
        for (item, outcome) in items.iter().zip(outcomes) {
            match outcome {
                Outcome::Delivered => delivered += 1,
                Outcome::Refused { error, .. } => {
                    let size = item.value.as_ref().map_or(0, Vec::len);
                    error!(
                        key = item.key, topic = item.topic, size, reason = %error,
                        "Kafka refused a message for good; parked it (GET /v1/publishing/parked) and went on"
                    );
                    parked.push(ParkedRecord {
                        id: item.outbox_id,
                        key: item.key.to_owned(),
                        topic: item.topic.to_owned(),
                        size: size as u64,
                        reason: error.to_string(),
                        parked_at_ms: Timestamp::now().as_millis(),
                        value: item.own_value.then(|| item.value.clone()).flatten(),
                    });
                }
            }
        }
        let published = self.metrics.published.get() + delivered;
        let parked_total = self.metrics.publish_parked.get() + parked.len() as u64;
        let parked_now = parked.len() as u64;
        self.store.finish_page(&PublishedPage {
            through: last_id,
            parked,
            counters: vec![
                (META_PUBLISHED, published),
                (META_PUBLISH_PARKED, parked_total),
            ],
        })?;
        Metrics::add(&self.metrics.published, delivered);
        Metrics::add(&self.metrics.publish_parked, parked_now);
        self.metrics
            .publish_seconds
            .observe(started.elapsed().as_secs_f64());
        self.metrics.outbox_published_through(Some(last_id));
        Ok(records.len())
    }

    /// Enqueues every item (librdkafka batches them), then waits for every
    /// acknowledgement; awaiting each send in turn would cost a round trip per
    /// message. Any failure other than a refusal for good fails the page.
    async fn send_together(&self, items: &[Item<'_>]) -> Result<Vec<Outcome>, KafkaError> {
        let mut deliveries: Vec<Option<DeliveryFuture>> = Vec::with_capacity(items.len());
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            match self.enqueue(item).await {
                Ok(delivery) => {
                    deliveries.push(Some(delivery));
                    outcomes.push(Outcome::Delivered);
                }
                Err(error) if refused_for_good(&error) => {
                    deliveries.push(None);
                    outcomes.push(Outcome::Refused { error, alone: true });
                }
                Err(e) => return Err(self.failed(e)),
            }
        }
        let mut transient = None;
        for (delivery, outcome) in deliveries.into_iter().zip(outcomes.iter_mut()) {
            let Some(delivery) = delivery else { continue };
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((error, _))) if refused_for_good(&error) => {
                    *outcome = Outcome::Refused {
                        error,
                        alone: false,
                    };
                }
                Ok(Err((e, _))) => transient = Some(e),
                Err(_) => transient = Some(KafkaClientError::Canceled),
            }
        }
        match transient {
            Some(e) => Err(self.failed(e)),
            None => Ok(outcomes),
        }
    }

    /// Sends one item with nothing else in flight, so it travels alone.
    async fn send_alone(&self, item: &Item<'_>) -> Result<Outcome, KafkaError> {
        let delivery = match self.enqueue(item).await {
            Ok(delivery) => delivery,
            Err(error) if refused_for_good(&error) => {
                return Ok(Outcome::Refused { error, alone: true });
            }
            Err(e) => return Err(self.failed(e)),
        };
        match delivery.await {
            Ok(Ok(_)) => Ok(Outcome::Delivered),
            Ok(Err((error, _))) if refused_for_good(&error) => {
                Ok(Outcome::Refused { error, alone: true })
            }
            Ok(Err((e, _))) => Err(self.failed(e)),
            Err(_) => Err(self.failed(KafkaClientError::Canceled)),
        }
    }

    /// Hands one message to the producer, waiting while its queue is full.
    async fn enqueue(&self, item: &Item<'_>) -> Result<DeliveryFuture, KafkaClientError> {
        let mut message = FutureRecord::<str, [u8]>::to(item.topic).key(item.key);
        if let Some(value) = &item.value {
            message = message.payload(value.as_slice());
        }
        if let Some(headers) = item.headers {
            let mut owned = rdkafka::message::OwnedHeaders::new_with_capacity(headers.len());
            for (key, value) in headers {
                owned = owned.insert(rdkafka::message::Header {
                    key,
                    value: Some(value.as_str()),
                });
            }
            message = message.headers(owned);
        }
        loop {
            match self.producer.send_result(message) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaClientError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    message = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    fn failed(&self, e: KafkaClientError) -> KafkaError {
        Metrics::add(&self.metrics.publish_failures, 1);
        e.into()
    }

    /// Publishes until `shutdown` is set, then drains the outbox for up to
    /// `kafka.shutdown_drain_timeout_ms`.
    pub async fn run(self, shutdown: Arc<AtomicBool>) {
        info!(topic = %self.topic, "publishing attribution");
        let stopped = async {
            while !shutdown.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::pin!(stopped);
        loop {
            // A page waiting on an unavailable broker must not delay the
            // shutdown drain, which is bounded; dropping the page is safe,
            // since the trim is its last step.
            let published = tokio::select! {
                result = self.publish_page() => result,
                () = &mut stopped => break,
            };
            let pause = match published {
                Ok(0) => Duration::from_millis(50),
                Ok(_) => Duration::ZERO,
                Err(e) => {
                    warn!(error = %e, "publishing failed; retrying");
                    Duration::from_millis(500)
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = &mut stopped => break,
            }
        }
        self.drain().await;
        info!("publisher stopped");
    }

    /// Publishes what the outbox holds, bounded by the drain timeout; what is
    /// left stays in the outbox for the next start.
    async fn drain(&self) {
        let started = Instant::now();
        let deadline = started + self.drain_timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            // A page cut short by the timeout is published again next start:
            // the trim is the page's last step.
            match tokio::time::timeout(left, self.publish_page()).await {
                Ok(Ok(0)) => {
                    info!(
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "outbox drained"
                    );
                    return;
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    warn!(error = %e, "publishing failed while draining; retrying");
                    tokio::time::sleep(left.min(Duration::from_millis(500))).await;
                }
                Err(_) => break,
            }
        }
        let timeout_ms = self.drain_timeout.as_millis() as u64;
        match self.store.outbox_len() {
            Ok(remaining) => warn!(
                remaining,
                timeout_ms,
                "the outbox did not drain within kafka.shutdown_drain_timeout_ms; the remaining records are published on the next start"
            ),
            Err(e) => {
                warn!(error = %e, timeout_ms, "the outbox did not drain; cannot count what remains")
            }
        }
    }
}
