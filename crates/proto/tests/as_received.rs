//! Which received messages the log may store as they came: protobuf that
//! holds nothing but the event, and never JSON.

#![allow(clippy::unwrap_used)]

use touchline_proto::{UnknownFields, WireFormat, decode_received, encode_json, encode_protobuf};

const CAMPAIGN: &[u8] = br#"{"event_id":"c-1","occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00Z",
  "payload":{"type":"campaign_upserted","campaign_id":"cmp-1","name":"Spring","campaign_type":"webinar",
             "starts_at":"2026-03-01T00:00:00Z"}}"#;

fn storable(format: WireFormat, bytes: &[u8]) -> bool {
    decode_received(format, bytes, UnknownFields::Ignore)
        .unwrap()
        .storable_as_received
}

#[test]
fn canonical_protobuf_is_stored_as_received_and_decodes_to_the_same_event() {
    let envelope = touchline_proto::decode(WireFormat::Json, CAMPAIGN).unwrap();
    let bytes = encode_protobuf(&envelope);
    let decoded = decode_received(WireFormat::Protobuf, &bytes, UnknownFields::Refuse).unwrap();
    assert!(decoded.storable_as_received);
    assert_eq!(decoded.envelope, envelope);
    assert_eq!(touchline_proto::decode_stored(&bytes).unwrap(), envelope);
}

#[test]
fn protobuf_with_more_than_the_event_and_json_are_encoded_by_the_log() {
    let envelope = touchline_proto::decode(WireFormat::Json, CAMPAIGN).unwrap();
    let bytes = encode_protobuf(&envelope);
    // An unknown field (127, varint 1): a newer producer's, never validated.
    let mut unknown = bytes.clone();
    unknown.extend_from_slice(&[0xf8, 0x07, 0x01]);
    assert!(!storable(WireFormat::Protobuf, &unknown));
    // A field given twice (the last wins): the event holds one.
    let mut twice = bytes.clone();
    twice.extend_from_slice(&[0x0a, 0x03, b'c', b'-', b'1']);
    assert!(!storable(WireFormat::Protobuf, &twice));
    // A default spelled out (source_system = "").
    let mut default = bytes.clone();
    default.extend_from_slice(&[0x22, 0x00]);
    assert!(!storable(WireFormat::Protobuf, &default));
    for variant in [&unknown, &twice, &default] {
        let decoded =
            decode_received(WireFormat::Protobuf, variant, UnknownFields::Ignore).unwrap();
        assert_eq!(decoded.envelope, envelope);
    }
    assert!(!storable(WireFormat::Json, &encode_json(&envelope)));
}

#[test]
fn the_bytes_to_log_are_the_message_when_storable_else_the_event_encoded() {
    use touchline_proto::decode_to_log;
    let envelope = touchline_proto::decode(WireFormat::Json, CAMPAIGN).unwrap();
    let canonical = encode_protobuf(&envelope);
    let to_log = decode_to_log(WireFormat::Protobuf, &canonical, UnknownFields::Refuse).unwrap();
    assert_eq!(to_log.envelope, envelope);
    assert_eq!(to_log.stored, canonical);
    let mut unknown = canonical.clone();
    unknown.extend_from_slice(&[0xf8, 0x07, 0x01]);
    let json = encode_json(&envelope);
    for (format, bytes) in [(WireFormat::Protobuf, &unknown), (WireFormat::Json, &json)] {
        let to_log = decode_to_log(format, bytes, UnknownFields::Ignore).unwrap();
        assert_eq!(to_log.envelope, envelope);
        // Encoded again: nothing the contract lacks reaches the log.
        assert_eq!(to_log.stored, canonical, "{format:?}");
        assert_eq!(
            touchline_proto::decode_stored(&to_log.stored).unwrap(),
            envelope
        );
    }
}
