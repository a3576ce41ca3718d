//! Turning a batch's messages into events: the checks made before decoding
//! (empty, too large), and decoding itself, on several threads at once
//! ([`touchline_proto::decode_all`]): the events and dead letters come out
//! exactly as one thread would make them.

use touchline_core::Envelope;
use touchline_proto::{ToLog, UnknownFields, WireFormat};

use crate::dead_letter::Source;

/// A message within bounds, copied out of the consumer's buffer to be decoded.
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) source: Source,
    pub(crate) key: Option<Vec<u8>>,
    pub(crate) payload: Vec<u8>,
    pub(crate) format: WireFormat,
}

/// Why a message is not an event: a stable code and the reason.
pub(crate) type Refusal = (&'static str, String);

/// Refuses a message that is empty or larger than `max_bytes` before it is
/// decoded: a decoder given 10 MB of JSON spends the time and memory the limit
/// is there to bound.
pub(crate) fn precheck(payload: &[u8], max_bytes: usize) -> Result<(), Refusal> {
    if payload.is_empty() {
        return Err(("empty", "the message has no payload".to_owned()));
    }
    if payload.len() > max_bytes {
        return Err((
            "too_large",
            format!(
                "the message is {} bytes, more than kafka.max_message_bytes ({max_bytes})",
                payload.len(),
            ),
        ));
    }
    Ok(())
}

/// Decodes every message, in order, on up to `threads` threads.
pub(crate) fn decode_all(
    received: &[Received],
    unknown: UnknownFields,
    threads: usize,
) -> Vec<Result<Envelope, Refusal>> {
    touchline_proto::decode_all(received, unknown, threads, |r| (r.format, &r.payload))
        .into_iter()
        .map(|decoded| decoded.map_err(refusal))
        .collect()
}

/// As [`decode_all`], each event with the bytes the log stores for it
/// (encoded on those threads, off the engine's).
pub(crate) fn decode_all_to_log(
    received: &[Received],
    unknown: UnknownFields,
    threads: usize,
) -> Vec<Result<ToLog, Refusal>> {
    touchline_proto::decode_to_log_all(received, unknown, threads, |r| (r.format, &r.payload))
        .into_iter()
        .map(|decoded| decoded.map_err(refusal))
        .collect()
}

fn refusal(e: touchline_proto::DecodeError) -> Refusal {
    (e.code(), e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn received(i: usize) -> Received {
        let payload = if i % 7 == 3 {
            b"{not json".to_vec()
        } else {
            format!(
                r#"{{"event_id":"e-{i}","occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00Z","payload":{{"type":"touch_recorded","person_id":"p-{i}","campaign_id":"c","touch_type":"email_click","status":"responded"}}}}"#
            )
            .into_bytes()
        };
        Received {
            source: Source {
                topic: "t".into(),
                partition: 0,
                offset: i as i64,
            },
            key: None,
            payload,
            format: WireFormat::Json,
        }
    }

    #[test]
    fn parallel_decoding_gives_what_one_thread_gives_in_the_same_order() {
        let batch: Vec<Received> = (0..1_000).map(received).collect();
        let alone = decode_all(&batch, UnknownFields::Refuse, 1);
        assert_eq!(alone.iter().filter(|d| d.is_err()).count(), 143);
        for threads in [2, 3, 8] {
            assert_eq!(decode_all(&batch, UnknownFields::Refuse, threads), alone);
        }
    }

    #[test]
    fn empty_and_oversized_messages_are_refused_before_decoding() {
        assert_eq!(precheck(b"", 10).unwrap_err().0, "empty");
        let refusal = precheck(&[b'x'; 11], 10).unwrap_err();
        assert_eq!(refusal.0, "too_large");
        assert!(refusal.1.contains("11 bytes"), "{}", refusal.1);
        assert!(precheck(b"x", 10).is_ok());
    }
}
