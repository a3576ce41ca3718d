//! Decoding many messages on several threads at once, for Kafka batches and
//! `touchline ingest` alike. Each message is independent and decoding is
//! pure, so the records are split into contiguous chunks, decoded in parallel
//! and put back in order: the results are exactly one thread's.

use touchline_core::Envelope;

use crate::{DecodeError, ToLog, UnknownFields, WireFormat, decode_to_log, decode_with};

/// Below this many records they are decoded on the calling thread alone:
/// starting threads would cost more than it saves.
const PARALLEL_FROM: usize = 256;

/// Decodes every record, in order, on up to `threads` threads (the caller's
/// among them); `bytes_of` says where a record's bytes are and in which
/// format.
pub fn decode_all<T: Sync>(
    records: &[T],
    unknown: UnknownFields,
    threads: usize,
    bytes_of: impl Fn(&T) -> (WireFormat, &[u8]) + Sync,
) -> Vec<Result<Envelope, DecodeError>> {
    map_in_order(records, threads, |record| {
        let (format, bytes) = bytes_of(record);
        decode_with(format, bytes, unknown)
    })
}

/// As [`decode_all`], each event with the bytes the log stores for it
/// ([`decode_to_log`]).
pub fn decode_to_log_all<T: Sync>(
    records: &[T],
    unknown: UnknownFields,
    threads: usize,
    bytes_of: impl Fn(&T) -> (WireFormat, &[u8]) + Sync,
) -> Vec<Result<ToLog, DecodeError>> {
    map_in_order(records, threads, |record| {
        let (format, bytes) = bytes_of(record);
        decode_to_log(format, bytes, unknown)
    })
}

/// Decodes events as the log stores them ([`crate::decode_stored`]: no
/// validation, which they passed on the way in), in order, on up to
/// `threads` threads.
pub fn decode_stored_all<T: Sync>(
    records: &[T],
    threads: usize,
    bytes_of: impl Fn(&T) -> &[u8] + Sync,
) -> Vec<Result<Envelope, DecodeError>> {
    map_in_order(records, threads, |record| {
        crate::decode_stored(bytes_of(record))
    })
}

/// `one` over every record, in order, split in contiguous chunks over up to
/// `threads` threads (the caller's among them).
fn map_in_order<T: Sync, R: Send>(
    records: &[T],
    threads: usize,
    one: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if threads < 2 || records.len() < PARALLEL_FROM {
        return records.iter().map(one).collect();
    }
    let chunk = records.len().div_ceil(threads);
    let mut chunks = records.chunks(chunk);
    let first = chunks.next().unwrap_or_default();
    let one = &one;
    std::thread::scope(|scope| {
        let others: Vec<_> = chunks
            .map(|c| scope.spawn(move || c.iter().map(one).collect::<Vec<_>>()))
            .collect();
        let mut done: Vec<R> = first.iter().map(one).collect();
        for other in others {
            match other.join() {
                Ok(part) => done.extend(part),
                // Decoding does not panic (fuzzed); if it ever did, the caller
                // fails as it would have decoding alone.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        done
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_threads_decode_what_one_thread_decodes_in_the_same_order() {
        let records: Vec<Vec<u8>> = (0..1_000)
            .map(|i| {
                if i % 7 == 3 {
                    b"{not json".to_vec()
                } else {
                    format!(
                        r#"{{"event_id":"e-{i}","occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00Z","payload":{{"type":"touch_recorded","person_id":"p-{i}","campaign_id":"c","touch_type":"email_click","status":"responded"}}}}"#
                    )
                    .into_bytes()
                }
            })
            .collect();
        let decode = |threads| -> Vec<Result<Envelope, String>> {
            decode_all(&records, UnknownFields::Refuse, threads, |r| {
                (WireFormat::Json, r.as_slice())
            })
            .into_iter()
            .map(|d| d.map_err(|e| e.to_string()))
            .collect()
        };
        let alone = decode(1);
        assert_eq!(alone.iter().filter(|d| d.is_err()).count(), 143);
        assert_eq!(
            alone[11].as_ref().map(|e| e.event_id.as_str()).ok(),
            Some("e-11")
        );
        for threads in [2, 3, 8] {
            assert_eq!(decode(threads), alone, "{threads} threads");
        }
    }
}
