//! Which Kafka errors refuse one message for good, as opposed to a broker or
//! network that is unavailable for now.
//!
//! The distinction decides what the edge does: a refused message is set aside
//! (a dead letter goes out as a reference, a credit set is parked) so the rest
//! flows; an unavailable broker holds everything back and is retried, since
//! nothing about the message is wrong.

use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

/// Whether `error` refuses this message whatever the retries: it is too large
/// for the client or the topic, or the broker found the record itself invalid.
pub(crate) fn refused_for_good(error: &KafkaError) -> bool {
    match error {
        KafkaError::MessageProduction(code) => matches!(
            code,
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::MessageBatchTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::InvalidRecord
                | RDKafkaErrorCode::InvalidTimestamp
                | RDKafkaErrorCode::PolicyViolation
        ),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_and_record_errors_are_for_good_unavailability_is_not() {
        let production = KafkaError::MessageProduction;
        for code in [
            RDKafkaErrorCode::MessageSizeTooLarge,
            RDKafkaErrorCode::MessageBatchTooLarge,
            RDKafkaErrorCode::InvalidRecord,
            RDKafkaErrorCode::InvalidMessage,
        ] {
            assert!(refused_for_good(&production(code)), "{code:?}");
        }
        for code in [
            RDKafkaErrorCode::MessageTimedOut,
            RDKafkaErrorCode::QueueFull,
            RDKafkaErrorCode::BrokerNotAvailable,
            RDKafkaErrorCode::NotLeaderForPartition,
            RDKafkaErrorCode::UnknownTopicOrPartition,
            RDKafkaErrorCode::TopicAuthorizationFailed,
            RDKafkaErrorCode::NotEnoughReplicas,
            RDKafkaErrorCode::Fatal,
        ] {
            assert!(!refused_for_good(&production(code)), "{code:?}");
        }
        assert!(!refused_for_good(&KafkaError::Canceled));
    }
}
