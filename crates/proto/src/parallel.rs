//! Decoding many messages on several threads at once, for Kafka batches and
//! `touchline ingest` alike. Each message is independent and decoding is
//! pure, so the records are split into contiguous chunks, decoded in parallel
//! and put back in order: the results are exactly one thread's.

use touchline_core::Envelope;

use crate::{DecodeError, UnknownFields, WireFormat, decode_with};

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
    let one = |record: &T| {
        let (format, bytes) = bytes_of(record);
        decode_with(format, bytes, unknown)
    };
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
        let mut decoded: Vec<_> = first.iter().map(one).collect();
        for other in others {
            match other.join() {
                Ok(part) => decoded.extend(part),
                // Decoding does not panic (fuzzed); if it ever did, the caller
                // fails as it would have decoding alone.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        decoded
    })
}
