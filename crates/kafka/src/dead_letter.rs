//! Dead letters: what a message that did not become an event turns into, and
//! the producer that gets every one acknowledged.
//!
//! A dead letter is never lost and never stops ingest. Its payload is the
//! original cut to `kafka.dead_letter_max_payload_bytes` (headers
//! `touchline.dlq.truncated: true` and `touchline.dlq.original.size`); if Kafka
//! still refuses it for good, it goes again as a reference only (no payload,
//! `touchline.dlq.truncated: reference`, `touchline.dlq.refused` with Kafka's
//! error), which the source coordinates make enough to find the original. Only
//! a dead-letter topic that is unavailable, or refuses even references, holds
//! the batch back, retried until it accepts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::error::KafkaError as ClientError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use tracing::{error, warn};

use crate::refusal::refused_for_good;
use crate::{KafkaConfig, KafkaError};

/// Keys longer than this are cut: a key only routes and identifies.
pub(crate) const MAX_KEY_BYTES: usize = 4 << 10;
/// Reasons and Kafka errors longer than this are cut: a decoder's message may
/// quote the offending value, which can be as large as the message.
pub(crate) const MAX_TEXT_BYTES: usize = 1 << 10;

/// Where a message came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    /// Shared with every message of the topic (see `ingest::Topics`).
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
}

/// A message that did not become an event, with why; holds at most the
/// configured share of the original, so a batch of huge messages stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeadLetter {
    pub source: Source,
    key: Option<Vec<u8>>,
    key_size: usize,
    payload: Vec<u8>,
    payload_size: usize,
    code: &'static str,
    reason: String,
    /// Kafka refused the letter with its payload for good: it goes as a
    /// reference, and this is why.
    refused: Option<String>,
}

impl DeadLetter {
    pub(crate) fn new(
        source: Source,
        key: Option<&[u8]>,
        payload: &[u8],
        code: &'static str,
        reason: &str,
        max_payload: usize,
    ) -> Self {
        DeadLetter {
            source,
            key: key.map(|k| k[..k.len().min(MAX_KEY_BYTES)].to_vec()),
            key_size: key.map_or(0, <[u8]>::len),
            payload: payload[..payload.len().min(max_payload)].to_vec(),
            payload_size: payload.len(),
            code,
            reason: cap_text(reason, MAX_TEXT_BYTES),
            refused: None,
        }
    }

    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    pub(crate) fn reason(&self) -> &str {
        &self.reason
    }

    pub(crate) fn key(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }

    /// The payload as it goes out: `None` for a reference.
    pub(crate) fn payload(&self) -> Option<&[u8]> {
        (self.refused.is_none() && !self.payload.is_empty()).then_some(self.payload.as_slice())
    }

    /// Whether it goes out with less than the original: cut, or as a reference.
    pub(crate) fn truncated(&self) -> bool {
        self.payload().map_or(0, <[u8]>::len) < self.payload_size || self.key_size > MAX_KEY_BYTES
    }

    pub(crate) fn headers(&self) -> OwnedHeaders {
        let partition = self.source.partition.to_string();
        let offset = self.source.offset.to_string();
        let mut headers: Vec<(&str, String)> = vec![
            ("touchline.dlq.reason", self.reason.clone()),
            ("touchline.dlq.error", self.code.to_owned()),
            ("touchline.dlq.source.topic", self.source.topic.to_string()),
            ("touchline.dlq.source.partition", partition),
            ("touchline.dlq.source.offset", offset),
        ];
        let carried = self.payload().map_or(0, <[u8]>::len);
        if carried < self.payload_size {
            let how = if carried == 0 { "reference" } else { "true" };
            headers.push(("touchline.dlq.truncated", how.to_owned()));
            headers.push(("touchline.dlq.original.size", self.payload_size.to_string()));
        }
        if self.key_size > MAX_KEY_BYTES {
            headers.push(("touchline.dlq.original.key.size", self.key_size.to_string()));
        }
        if let Some(refused) = &self.refused {
            headers.push(("touchline.dlq.refused", refused.clone()));
        }
        headers
            .iter()
            .fold(OwnedHeaders::new(), |all, (key, value)| {
                all.insert(Header {
                    key,
                    value: Some(value.as_str()),
                })
            })
    }
}

/// `text` with control characters escaped (a reason may quote the input, and
/// a header or log line must not carry a raw newline or escape sequence), cut
/// to at most `max` bytes on a character boundary, marked with `…`.
pub(crate) fn cap_text(text: &str, max: usize) -> String {
    let escaped: String;
    let text = if text.chars().any(char::is_control) {
        escaped = text
            .chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().collect()
                } else {
                    c.to_string()
                }
            })
            .collect();
        escaped.as_str()
    } else {
        text
    };
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// How sending a batch's dead letters ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sent {
    /// Kafka acknowledged every one; this many went out truncated.
    All { truncated: usize },
    /// Shutdown was asked while the topic held some back: the batch must not be
    /// committed (it is read again on the next start).
    Stopped,
}

/// Delivery reports by the letter's index in its batch.
#[derive(Default)]
struct Reports {
    results: Mutex<Vec<(usize, Option<ClientError>)>>,
}

impl ClientContext for Reports {}

impl ProducerContext for Reports {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        let error = result.as_ref().err().map(|(e, _)| e.clone());
        if let Ok(mut results) = self.results.lock() {
            results.push((index, error));
        }
    }
}

/// The dead-letter producer.
pub(crate) struct DeadLetters {
    producer: BaseProducer<Reports>,
    topic: String,
}

/// Retries of an unavailable dead-letter topic back off up to this.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// On shutdown, how long acknowledgements still due are waited for before the
/// batch is given up (it is read again on the next start).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl DeadLetters {
    pub(crate) fn new(config: &KafkaConfig) -> Result<Self, KafkaError> {
        let producer = config
            .client()
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set(
                "message.max.bytes",
                crate::config::dead_letter_producer_bytes(config.dead_letter_max_payload_bytes)
                    .to_string(),
            )
            // A round ends within this, so an unavailable topic is reported,
            // and shutdown honoured, well before librdkafka's default 5 minutes.
            .set("message.timeout.ms", "30000")
            .create_with_context(Reports::default())?;
        Ok(DeadLetters {
            producer,
            topic: config.dead_letter_topic.clone(),
        })
    }

    /// Sends every letter and returns once Kafka acknowledged each. A letter
    /// refused for good goes again as a reference; an unavailable topic is
    /// retried with backoff until it accepts or `shutdown` is set.
    pub(crate) fn send_all(&self, letters: &mut [DeadLetter], shutdown: &AtomicBool) -> Sent {
        let mut pending: Vec<usize> = (0..letters.len()).collect();
        let mut backoff = Duration::from_millis(100);
        while !pending.is_empty() {
            let Some(failed) = self.round(letters, &pending, shutdown) else {
                return Sent::Stopped;
            };
            let mut hold_back = None;
            pending = failed
                .into_iter()
                .map(|(i, e)| {
                    let letter = &mut letters[i];
                    if refused_for_good(&e) && letter.payload().is_some() {
                        warn!(
                            source_topic = %letter.source.topic, partition = letter.source.partition,
                            offset = letter.source.offset, error = %e,
                            "the dead-letter topic refused a dead letter; sending it as a reference"
                        );
                        letter.refused = Some(cap_text(&e.to_string(), MAX_TEXT_BYTES));
                    } else {
                        hold_back = Some(e);
                    }
                    i
                })
                .collect();
            let Some(e) = hold_back else { continue };
            if refused_for_good(&e) {
                error!(topic = %self.topic, error = %e, "the dead-letter topic refuses even a reference (no payload); check its configuration; retrying");
            } else {
                warn!(topic = %self.topic, error = %e, pending = pending.len(), "dead-letter topic unavailable; holding the batch back and retrying");
            }
            if !sleep_unless(shutdown, backoff) {
                return Sent::Stopped;
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        Sent::All {
            truncated: letters.iter().filter(|l| l.truncated()).count(),
        }
    }

    /// Produces the letters at `indices` and waits for each one's report;
    /// returns those that failed, with why, or `None` if shutdown came and
    /// reports were still missing after [`SHUTDOWN_GRACE`].
    fn round(
        &self,
        letters: &[DeadLetter],
        indices: &[usize],
        shutdown: &AtomicBool,
    ) -> Option<Vec<(usize, ClientError)>> {
        let mut failed = Vec::new();
        let mut in_flight = 0usize;
        for &i in indices {
            let letter = &letters[i];
            let mut record: BaseRecord<'_, [u8], [u8], usize> =
                BaseRecord::with_opaque_to(&self.topic, i).headers(letter.headers());
            if let Some(payload) = letter.payload() {
                record = record.payload(payload);
            }
            if let Some(key) = letter.key() {
                record = record.key(key);
            }
            loop {
                match self.producer.send(record) {
                    Ok(()) => {
                        in_flight += 1;
                        break;
                    }
                    Err((ClientError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                        self.producer.poll(Duration::from_millis(50));
                        record = back;
                    }
                    Err((e, _)) => {
                        failed.push((i, e));
                        break;
                    }
                }
            }
        }
        // Every produced message gets exactly one report, within message.timeout.ms.
        let mut reported = 0usize;
        let mut give_up_at = None;
        while reported < in_flight {
            if shutdown.load(Ordering::Relaxed) {
                let at = *give_up_at.get_or_insert_with(|| Instant::now() + SHUTDOWN_GRACE);
                if Instant::now() >= at {
                    return None;
                }
            }
            self.producer.poll(Duration::from_millis(100));
            let results = self
                .producer
                .context()
                .results
                .lock()
                .map(|mut r| std::mem::take(&mut *r))
                .unwrap_or_default();
            reported += results.len();
            failed.extend(results.into_iter().filter_map(|(i, e)| Some((i, e?))));
        }
        Some(failed)
    }
}

/// Sleeps `duration` in short steps; `false` if `shutdown` was set meanwhile.
fn sleep_unless(shutdown: &AtomicBool, duration: Duration) -> bool {
    let until = Instant::now() + duration;
    loop {
        if shutdown.load(Ordering::Relaxed) {
            return false;
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use rdkafka::message::Headers;

    use super::*;

    fn source() -> Source {
        Source {
            topic: "events".into(),
            partition: 2,
            offset: 41,
        }
    }

    fn headers(letter: &DeadLetter) -> HashMap<String, String> {
        let headers = letter.headers();
        headers
            .iter()
            .map(|h| {
                (
                    h.key.to_owned(),
                    String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn a_small_message_goes_whole_with_its_reason_and_coordinates() {
        let letter = DeadLetter::new(source(), Some(b"k"), b"junk", "json_decode", "bad", 64);
        assert_eq!(letter.payload(), Some(&b"junk"[..]));
        assert!(!letter.truncated());
        let h = headers(&letter);
        assert_eq!(h["touchline.dlq.reason"], "bad");
        assert_eq!(h["touchline.dlq.error"], "json_decode");
        assert_eq!(h["touchline.dlq.source.topic"], "events");
        assert_eq!(h["touchline.dlq.source.partition"], "2");
        assert_eq!(h["touchline.dlq.source.offset"], "41");
        assert!(!h.contains_key("touchline.dlq.truncated"));
        assert_eq!(h.len(), 5);
    }

    #[test]
    fn a_large_message_is_cut_and_says_so() {
        let original = vec![b'x'; 1_000_235];
        let key = vec![b'k'; MAX_KEY_BYTES + 1];
        let letter = DeadLetter::new(
            source(),
            Some(&key),
            &original,
            "too_large",
            &"why ".repeat(1_000),
            64 << 10,
        );
        assert_eq!(letter.payload().map(<[u8]>::len), Some(64 << 10));
        assert_eq!(letter.key().map(<[u8]>::len), Some(MAX_KEY_BYTES));
        assert!(letter.truncated());
        let h = headers(&letter);
        assert_eq!(h["touchline.dlq.truncated"], "true");
        assert_eq!(h["touchline.dlq.original.size"], "1000235");
        assert_eq!(
            h["touchline.dlq.original.key.size"],
            (MAX_KEY_BYTES + 1).to_string()
        );
        assert!(h["touchline.dlq.reason"].len() <= MAX_TEXT_BYTES);
        assert!(h["touchline.dlq.reason"].ends_with('…'));
    }

    #[test]
    fn a_refused_letter_goes_as_a_reference() {
        let mut letter = DeadLetter::new(source(), None, b"payload", "invalid", "bad", 64);
        letter.refused = Some("Broker: Message size too large".into());
        assert_eq!(letter.payload(), None);
        assert!(letter.truncated());
        let h = headers(&letter);
        assert_eq!(h["touchline.dlq.truncated"], "reference");
        assert_eq!(h["touchline.dlq.original.size"], "7");
        assert_eq!(h["touchline.dlq.refused"], "Broker: Message size too large");
        // References only, by configuration.
        let letter = DeadLetter::new(source(), None, b"payload", "invalid", "bad", 0);
        assert_eq!(letter.payload(), None);
        assert_eq!(headers(&letter)["touchline.dlq.truncated"], "reference");
        // An empty message is not truncated: there was nothing to carry.
        let empty = DeadLetter::new(source(), None, b"", "empty", "no payload", 0);
        assert!(!empty.truncated());
    }

    #[test]
    fn text_is_cut_on_a_character_boundary() {
        assert_eq!(cap_text("short", 10), "short");
        assert_eq!(
            cap_text("unknown variant `x\n\u{1b}[31m`", 100),
            "unknown variant `x\\n\\u{1b}[31m`"
        );
        let cut = cap_text(&"é".repeat(100), 11);
        assert!(cut.len() <= 11, "{cut}");
        assert!(cut.ends_with('…'));
        assert!(cut.starts_with("éééé"));
    }
}
