//! The startup check: can this configuration talk to the cluster at all?
//!
//! librdkafka never gives up on a broker: a wrong password or a certificate it
//! cannot verify is retried forever, one log line each time, while the process
//! looks alive. [`check_connection`] asks the brokers for the input topics'
//! metadata with the same client properties every other client gets, and turns
//! an authentication or TLS failure (reported through the client's error
//! callback) into one error that names the cause, so `touchline run` stops at
//! once with it. Brokers that are merely unreachable are not an error here: the
//! clients retry them, as before.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::ClientContext;
use rdkafka::error::{KafkaError as RdKafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, NoCustomPartitioner, Producer, ProducerContext};
use tracing::{info, warn};

use crate::{KafkaConfig, KafkaError};

/// How long the check waits for the brokers before it lets the clients retry
/// on their own.
const CHECK_TIMEOUT: Duration = Duration::from_secs(15);
/// One metadata request's wait; the error callback is read between them.
const ATTEMPT: Duration = Duration::from_millis(500);
/// How long each turn serves the client's queued events (logs, errors).
const SERVE: Duration = Duration::from_millis(100);

/// Checks that the brokers accept this configuration's credentials and
/// certificates: fetches the metadata of the topics it reads and writes, and
/// fails with a message naming the cause on an authentication or TLS failure,
/// an invalid client property, or a topic the user may not describe. Unreachable brokers
/// are logged and let through after a while (the clients keep retrying).
pub fn check_connection(config: &KafkaConfig) -> Result<(), KafkaError> {
    check_connection_within(config, CHECK_TIMEOUT)
}

/// [`check_connection`] with a chosen wait for unreachable brokers.
pub fn check_connection_within(config: &KafkaConfig, timeout: Duration) -> Result<(), KafkaError> {
    let who = Credentials::of(config);
    let producer: BaseProducer<Errors> = config
        .client()
        .create_with_context(Errors::default())
        .map_err(|e| {
            KafkaError::Config(format!(
                "kafka.client_properties: the Kafka client refused them: {e}"
            ))
        })?;
    let deadline = Instant::now() + timeout;
    let mut last: String;
    // Once the brokers answered, the credentials are good: no more waiting.
    let mut answered = false;
    // Input topics first: they are what the user must be allowed to read.
    let topics = config.topics.iter().map(|t| t.name.as_str()).chain([
        config.dead_letter_topic.as_str(),
        config.attribution_topic.as_str(),
        config.alerts_topic.as_str(),
    ]);
    let inputs: Vec<&str> = config.topics.iter().map(|t| t.name.as_str()).collect();
    let mut input_partitions: Vec<(&str, usize)> = Vec::new();
    for topic in topics {
        loop {
            // Serves the error callback. Not Duration::ZERO: a poll then takes
            // one event, and the client's log lines queue ahead of its errors.
            producer.poll(if answered { Duration::ZERO } else { SERVE });
            if let Some(error) = producer.context().fatal(&who) {
                return Err(error);
            }
            match producer.client().fetch_metadata(Some(topic), ATTEMPT) {
                Ok(metadata) => {
                    if let Some(t) = metadata.topics().iter().find(|t| t.name() == topic) {
                        match t.error().map(RDKafkaErrorCode::from) {
                            None if inputs.contains(&topic) => {
                                input_partitions.push((topic, t.partitions().len()));
                            }
                            None => {}
                            Some(RDKafkaErrorCode::TopicAuthorizationFailed) => {
                                return Err(KafkaError::Config(format!(
                                    "not authorized to describe topic {topic} ({}): grant the user Describe and Read on the input topics, Describe and Write on the dead-letter, attribution and alerts topics",
                                    who.describe()
                                )));
                            }
                            Some(code) => {
                                warn!(%topic, error = %code, "topic not usable yet");
                            }
                        }
                    }
                    answered = true;
                    break;
                }
                Err(e) => {
                    if let Some(error) = classify(&e.to_string(), error_code(&e), &who) {
                        return Err(error);
                    }
                    last = e.to_string();
                }
            }
            if Instant::now() >= deadline {
                producer.poll(SERVE);
                if let Some(error) = producer.context().fatal(&who) {
                    return Err(error);
                }
                let seen = producer.context().last().unwrap_or(last);
                warn!(
                    brokers = %config.brokers,
                    error = %seen,
                    "the brokers did not answer within {}s; going on, the clients keep retrying",
                    timeout.as_secs()
                );
                return Ok(());
            }
        }
    }
    if input_partitions
        .windows(2)
        .any(|pair| pair[0].1 != pair[1].1)
    {
        warn!(
            ?input_partitions,
            "the input topics have different partition counts: a subject's events on two topics land on different partitions, so they are not co-partitioned"
        );
    }
    info!(brokers = %config.brokers, "{}: the brokers accepted the connection", who.describe());
    Ok(())
}

/// What the configuration connects as, for messages.
#[derive(Debug)]
struct Credentials {
    protocol: String,
    mechanism: String,
    user: String,
    brokers: String,
}

impl Credentials {
    fn of(config: &KafkaConfig) -> Credentials {
        let get = |key: &str| {
            config
                .client_properties
                .get(key)
                .cloned()
                .unwrap_or_default()
        };
        let protocol = get("security.protocol");
        let mechanism = get("sasl.mechanism");
        let mechanism = match (mechanism.is_empty(), get("sasl.mechanisms")) {
            (true, m) if !m.is_empty() => m,
            (true, _) => "GSSAPI".into(),
            (false, _) => mechanism,
        };
        Credentials {
            protocol: if protocol.is_empty() {
                "plaintext".into()
            } else {
                protocol
            },
            mechanism,
            user: get("sasl.username"),
            brokers: config.brokers.clone(),
        }
    }

    fn describe(&self) -> String {
        if self.protocol.to_ascii_lowercase().starts_with("sasl") {
            if self.user.is_empty() {
                format!("SASL {} over {}", self.mechanism, self.protocol)
            } else {
                format!(
                    "SASL {} user {} over {}",
                    self.mechanism, self.user, self.protocol
                )
            }
        } else {
            self.protocol.clone()
        }
    }
}

fn error_code(e: &RdKafkaError) -> Option<RDKafkaErrorCode> {
    e.rdkafka_error_code()
}

/// An authentication or TLS failure as the error to stop with; anything else
/// (a broker down, a timeout) is left to the clients' retries.
fn classify(reason: &str, code: Option<RDKafkaErrorCode>, who: &Credentials) -> Option<KafkaError> {
    let lower = reason.to_ascii_lowercase();
    let auth = code == Some(RDKafkaErrorCode::Authentication)
        || code == Some(RDKafkaErrorCode::SaslAuthenticationFailed)
        || lower.contains("sasl authentication error")
        || lower.contains("authentication failed");
    let tls = code == Some(RDKafkaErrorCode::SSL)
        || lower.contains("ssl handshake failed")
        || lower.contains("certificate verify failed")
        || lower.contains("bad certificate")
        || lower.contains("certificate required");
    let message = if auth {
        format!(
            "authentication failed ({}) at {}: {reason}",
            who.describe(),
            who.brokers
        )
    } else if lower.contains("certificate verify failed") {
        format!(
            "TLS handshake failed: certificate verify failed (is ssl.ca.location the CA that signed the broker's certificate, and does the certificate name the broker's host?) at {}: {reason}",
            who.brokers
        )
    } else if lower.contains("bad certificate")
        || lower.contains("certificate required")
        || lower.contains("unknown ca")
    {
        format!(
            "TLS handshake failed: the broker refused the client certificate (mutual TLS needs ssl.certificate.location and ssl.key.location with a certificate signed by a CA the broker trusts) at {}: {reason}",
            who.brokers
        )
    } else if tls {
        format!("TLS handshake failed at {}: {reason}", who.brokers)
    } else {
        return None;
    };
    Some(KafkaError::Config(message))
}

/// Errors the client reported through its error callback.
#[derive(Debug, Default)]
struct Errors {
    seen: Mutex<Vec<(Option<RDKafkaErrorCode>, String)>>,
}

impl Errors {
    fn fatal(&self, who: &Credentials) -> Option<KafkaError> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.iter()
            .find_map(|(code, reason)| classify(reason, *code, who))
    }

    fn last(&self) -> Option<String> {
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.last().map(|(_, reason)| reason.clone())
    }
}

impl ClientContext for Errors {
    fn error(&self, error: RdKafkaError, reason: &str) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: a retry loop reports the same failure over and over.
        if seen.len() < 64 {
            seen.push((error.rdkafka_error_code(), reason.to_owned()));
        }
    }
}

impl ProducerContext<NoCustomPartitioner> for Errors {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(props: &[(&str, &str)]) -> Credentials {
        let mut config = KafkaConfig::default();
        for (k, v) in props {
            config.client_properties.insert((*k).into(), (*v).into());
        }
        Credentials::of(&config)
    }

    #[test]
    fn failures_name_their_cause() {
        let scram = who(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "SCRAM-SHA-512"),
            ("sasl.username", "alice"),
        ]);
        let e = classify(
            "sasl_ssl://b:9096/bootstrap: SASL authentication error: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
            Some(RDKafkaErrorCode::Authentication),
            &scram,
        )
        .expect("fatal")
        .to_string();
        assert!(
            e.contains("authentication failed (SASL SCRAM-SHA-512 user alice over SASL_SSL)"),
            "{e}"
        );
        let tls = who(&[("security.protocol", "SSL")]);
        let e = classify(
            "ssl://b:9094/bootstrap: SSL handshake failed: error:0A000086:SSL routines::certificate verify failed: broker certificate could not be verified",
            Some(RDKafkaErrorCode::SSL),
            &tls,
        )
        .expect("fatal")
        .to_string();
        assert!(
            e.contains(
                "TLS handshake failed: certificate verify failed (is ssl.ca.location the CA"
            ),
            "{e}"
        );
        let e = classify(
            "ssl://b:9095/bootstrap: Receive failed: error:0A000412:SSL routines::sslv3 alert bad certificate: SSL alert number 42",
            None,
            &tls,
        )
        .expect("fatal")
        .to_string();
        assert!(e.contains("refused the client certificate"), "{e}");
        assert!(
            classify(
                "Connect to ipv4#127.0.0.1:1 failed: Connection refused",
                Some(RDKafkaErrorCode::BrokerTransportFailure),
                &tls
            )
            .is_none()
        );
    }
}
