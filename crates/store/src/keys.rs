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

/// `person_id, 0x00`: every touch row of one person starts with it (ids hold
/// no control characters, so one person's rows never run into another's).
pub(crate) fn touch_prefix(person_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(person_id.len() + 1);
    key.extend_from_slice(person_id.as_bytes());
    key.push(0);
    key
}

/// `person_id, 0x00, occurred_at, 0x00, event_id`, the time as a big-endian
/// i64 with its sign bit flipped: byte order is attribution order (time, then
/// event id), so a prefix scan yields a person's touches in that order.
pub(crate) fn touch_key(person_id: &str, occurred_at_ms: i64, event_id: &str) -> Vec<u8> {
    let mut key = touch_prefix(person_id);
    key.reserve(event_id.len() + 9);
    key.extend_from_slice(&((occurred_at_ms as u64) ^ (1 << 63)).to_be_bytes());
    key.push(0);
    key.extend_from_slice(event_id.as_bytes());
    key
}

/// The person a touch row belongs to: its key up to the first 0x00.
pub(crate) fn touch_person(key: &[u8]) -> &[u8] {
    let end = key.iter().position(|b| *b == 0).unwrap_or(key.len());
    &key[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touch_keys_sort_in_attribution_order_within_a_person() {
        let mut keys = vec![
            touch_key("p", 5, "b"),
            touch_key("p", -3, "z"),
            touch_key("p", 5, "a"),
            touch_key("p", i64::MIN, "a"),
            touch_key("p", 1 << 40, "a"),
        ];
        keys.sort();
        let order: Vec<Vec<u8>> = [
            (i64::MIN, "a"),
            (-3, "z"),
            (5, "a"),
            (5, "b"),
            (1 << 40, "a"),
        ]
        .iter()
        .map(|(at, id)| touch_key("p", *at, id))
        .collect();
        assert_eq!(keys, order);
        // A person whose id extends another's sorts after all of the other's rows.
        assert!(touch_key("pa", i64::MIN, "") > touch_key("p", i64::MAX, "zzz"));
        assert_eq!(touch_person(&touch_key("pa", 1, "x")), b"pa");
    }
}
