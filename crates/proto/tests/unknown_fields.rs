//! A strict JSON contract: a field the contract does not have is refused,
//! naming it, unless the topic is configured to ignore unknown fields.

#![allow(clippy::unwrap_used)]

#[allow(unused_imports)]
mod common;

use proptest::prelude::*;
use serde_json::Value;
use touchline_proto::{DecodeError, UnknownFields, WireFormat, decode_with};

const CAMPAIGN: &str = r#"{"event_id":"c-1","occurred_at":"2026-01-01T00:00:00Z","recorded_at":"2026-01-01T00:00:00Z",
  "payload":{"type":"campaign_upserted","campaign_id":"cmp-1","name":"Spring","campaign_type":"webinar",
             "starts_at":"2026-03-01T00:00:00Z"EXTRA}}"#;

fn campaign(extra: &str) -> Vec<u8> {
    CAMPAIGN.replace("EXTRA", extra).into_bytes()
}

fn refused(bytes: &[u8]) -> String {
    match decode_with(WireFormat::Json, bytes, UnknownFields::Refuse) {
        Err(DecodeError::UnknownField { path }) => path,
        other => panic!("not refused for an unknown field: {other:?}"),
    }
}

#[test]
fn misspelled_fields_are_refused_by_name() {
    assert!(decode_with(WireFormat::Json, &campaign(""), UnknownFields::Refuse).is_ok());
    // The three misspellings a user once sent, each silently dropped then.
    assert_eq!(
        refused(&campaign(r#","ends_at_ms":1775000000000"#)),
        "payload.ends_at_ms"
    );
    assert_eq!(
        refused(&campaign(r#","planned_cost_minor":500000"#)),
        "payload.planned_cost_minor"
    );
    assert_eq!(
        refused(&campaign(
            r#","plannedCost":{"amount_minor":1,"currency":"EUR"}"#
        )),
        "payload.plannedCost"
    );
    // Inside a nested object, and on the envelope.
    assert_eq!(
        refused(&campaign(
            r#","planned_cost":{"amount_minor":1,"currency":"EUR","amount":1}"#
        )),
        "payload.planned_cost.amount"
    );
    let envelope = CAMPAIGN
        .replace("EXTRA", "")
        .replacen('{', r#"{"trace_id":"x","#, 1);
    assert_eq!(refused(envelope.as_bytes()), "trace_id");
    let error = decode_with(
        WireFormat::Json,
        &campaign(r#","ends_at_ms":1"#),
        UnknownFields::Refuse,
    )
    .unwrap_err();
    assert_eq!(error.code(), "unknown_field");
    assert!(
        error
            .to_string()
            .starts_with("unknown field `payload.ends_at_ms`"),
        "{error}"
    );
}

#[test]
fn ignoring_unknown_fields_is_a_choice_and_protobuf_keeps_its_own_rules() {
    let extra = campaign(r#","ends_at_ms":1775000000000"#);
    let envelope = decode_with(WireFormat::Json, &extra, UnknownFields::Ignore).unwrap();
    assert_eq!(
        envelope,
        decode_with(WireFormat::Json, &campaign(""), UnknownFields::Refuse).unwrap()
    );
    // Protobuf skips unknown fields by design (forward compatibility).
    let mut bytes = touchline_proto::encode_protobuf(&envelope);
    bytes.extend_from_slice(&[0xf8, 0x07, 0x01]); // field 127, varint 1
    assert!(decode_with(WireFormat::Protobuf, &bytes, UnknownFields::Refuse).is_ok());
}

/// The dotted paths of every object in `value`, the root first.
fn object_paths(value: &Value, at: &str, out: &mut Vec<String>) {
    if let Value::Object(map) = value {
        out.push(at.to_owned());
        for (key, child) in map {
            let path = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            object_paths(child, &path, out);
        }
    }
}

fn object_at<'v>(value: &'v mut Value, path: &str) -> &'v mut serde_json::Map<String, Value> {
    let mut value = value;
    if !path.is_empty() {
        for key in path.split('.') {
            value = value.get_mut(key).unwrap();
        }
    }
    value.as_object_mut().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_048))]

    /// Every field the encoder writes, of any event type, is one the contract
    /// has; one more key in any object of the message is refused, by its path.
    #[test]
    fn every_written_field_is_known_and_any_other_is_named(
        envelope in common::arb_domain_envelope().prop_filter("a valid event", |e| e.validate().is_ok()),
        place in any::<prop::sample::Index>(),
        name in "[a-z][a-z_]{0,11}",
    ) {
        let json = touchline_proto::encode_json(&envelope);
        prop_assert!(decode_with(WireFormat::Json, &json, UnknownFields::Refuse).is_ok());
        let mut value: Value = serde_json::from_slice(&json).unwrap();
        let mut objects = Vec::new();
        object_paths(&value, "", &mut objects);
        let at = place.get(&objects).clone();
        let key = format!("x_{name}");
        object_at(&mut value, &at).insert(key.clone(), Value::from(1));
        let expected = if at.is_empty() { key } else { format!("{at}.{key}") };
        prop_assert_eq!(refused(&serde_json::to_vec(&value).unwrap()), expected);
    }
}
