//! Key encodings. Big-endian integers so that byte order is numeric order.

use touchline_core::StreamKind;

pub(crate) fn u64_key(value: u64) -> [u8; 8] {
    value.to_be_bytes()
}

pub(crate) fn decode_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// `tag, id, 0x00`; the sequence number follows. Ids never hold control
/// characters (validation refuses them), so 0x00 cannot occur inside an id and one
/// id is never a prefix of another's stream.
pub(crate) fn stream_prefix(kind: StreamKind, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.len() + 10);
    key.push(kind.tag());
    key.extend_from_slice(id.as_bytes());
    key.push(0);
    key
}

/// `topic, 0x00, partition (i32 big-endian)`.
pub(crate) fn offset_key(topic: &str, partition: i32) -> Vec<u8> {
    let mut key = Vec::with_capacity(topic.len() + 5);
    key.extend_from_slice(topic.as_bytes());
    key.push(0);
    key.extend_from_slice(&partition.to_be_bytes());
    key
}

pub(crate) fn decode_offset_key(key: &[u8]) -> Option<(String, i32)> {
    let split = key.len().checked_sub(5)?;
    if key[split] != 0 {
        return None;
    }
    let topic = String::from_utf8(key[..split].to_vec()).ok()?;
    let partition = i32::from_be_bytes(key[split + 1..].try_into().ok()?);
    Some((topic, partition))
}
