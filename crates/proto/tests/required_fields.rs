//! JSON missing a required field is refused, whatever `Default` the domain
//! types derive: `Default` is for code that builds events (the test fixtures),
//! never a fallback of the decoder. Each required field, the envelope's and
//! every payload's (and the amount's inside it), is taken out of the corpus
//! event of its type in turn, and decoding must fail naming it.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use serde_json::Value;
use touchline_proto::{DecodeError, WireFormat, decode};

/// The contract: per event type, the payload fields JSON must carry, as paths
/// inside the payload (`amount.currency`: the amount's currency).
const REQUIRED: &[(&str, &[&str])] = &[
    (
        "campaign_upserted",
        &["campaign_id", "name", "campaign_type", "starts_at"],
    ),
    (
        "campaign_cost_recorded",
        &["campaign_id", "cost", "cost.amount_minor", "cost.currency"],
    ),
    ("lead_created", &["person_id", "source.campaign_id"]),
    ("lead_updated", &["person_id"]),
    ("lead_converted", &["person_id", "account_id"]),
    ("follow_up_logged", &["person_id", "method"]),
    (
        "touch_recorded",
        &["person_id", "campaign_id", "touch_type", "status"],
    ),
    (
        "opportunity_created",
        &[
            "opportunity_id",
            "account_id",
            "stage",
            "amount",
            "amount.amount_minor",
            "amount.currency",
        ],
    ),
    ("opportunity_updated", &["opportunity_id"]),
    (
        "opportunity_contact_role_added",
        &["opportunity_id", "person_id"],
    ),
    (
        "opportunity_closed",
        &[
            "opportunity_id",
            "won",
            "amount",
            "amount.amount_minor",
            "amount.currency",
        ],
    ),
    ("account_upserted", &["account_id", "name"]),
    (
        "transaction_recorded",
        &[
            "transaction_id",
            "account_id",
            "amount",
            "amount.amount_minor",
            "amount.currency",
        ],
    ),
    (
        "persons_merged",
        &["surviving_person_id", "merged_person_id"],
    ),
    ("lead_routed", &["person_id", "owner_id"]),
];

/// The envelope's required fields.
const ENVELOPE_REQUIRED: &[&str] = &["event_id", "occurred_at", "recorded_at", "payload"];

fn corpus_event(event_type: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus/ok")
        .join(format!("{event_type}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn schema() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../proto/touchline/v1/events.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `value` without the field at `path` (dot-separated), which must be there.
fn without(mut value: Value, path: &str) -> Value {
    let mut parts: Vec<&str> = path.split('.').collect();
    let last = parts.pop().unwrap();
    let mut object = &mut value;
    for part in parts {
        object = object.get_mut(part).unwrap();
    }
    let removed = object.as_object_mut().unwrap().remove(last);
    assert!(removed.is_some(), "the corpus event has no {path}");
    value
}

fn assert_refused_as_missing(json: &Value, field: &str, what: &str) {
    let bytes = serde_json::to_vec(json).unwrap();
    match decode(WireFormat::Json, &bytes) {
        Err(DecodeError::Json(error)) => assert!(
            error
                .to_string()
                .contains(&format!("missing field `{field}`")),
            "{what}: {error}"
        ),
        Err(other) => panic!("{what}: refused, but not as a missing field: {other}"),
        Ok(envelope) => panic!("{what}: accepted without it: {envelope:?}"),
    }
}

#[test]
fn every_required_payload_field_is_refused_when_missing() {
    for (event_type, fields) in REQUIRED {
        let event = corpus_event(event_type);
        let bytes = serde_json::to_vec(&event).unwrap();
        assert!(
            decode(WireFormat::Json, &bytes).is_ok(),
            "{event_type} as is"
        );
        for path in *fields {
            let field = path.rsplit('.').next().unwrap();
            let json = without(event.clone(), &format!("payload.{path}"));
            assert_refused_as_missing(&json, field, &format!("{event_type} without {path}"));
        }
    }
}

#[test]
fn every_required_envelope_field_is_refused_when_missing() {
    let event = corpus_event("lead_created");
    for field in ENVELOPE_REQUIRED {
        assert_refused_as_missing(
            &without(event.clone(), field),
            field,
            &format!("an envelope without {field}"),
        );
    }
}

/// The table above is the schema's `required`, so the two cannot drift: a type
/// that stopped requiring a field (a `#[serde(default)]` on it) shows here.
#[test]
fn the_table_is_the_schemas_required_fields() {
    let schema = schema();
    let required = |definition: &str| -> Vec<String> {
        let list = &schema["$defs"][definition]["required"];
        list.as_array()
            .unwrap_or_else(|| panic!("{definition} requires nothing"))
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect()
    };
    let top: Vec<String> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(top, ENVELOPE_REQUIRED);
    let definitions: Vec<(String, String)> = schema["$defs"]["Event"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|variant| {
            let name = variant["properties"]["type"]["const"].as_str().unwrap();
            let reference = variant["$ref"].as_str().unwrap();
            (
                name.to_owned(),
                reference.trim_start_matches("#/$defs/").to_owned(),
            )
        })
        .collect();
    assert_eq!(definitions.len(), REQUIRED.len(), "one row per event type");
    for (event_type, definition) in definitions {
        let (_, fields) = REQUIRED
            .iter()
            .find(|(t, _)| *t == event_type)
            .unwrap_or_else(|| panic!("no row for {event_type}"));
        // The payload's own fields; nested ones are the schema's Money and
        // LeadSource, checked below.
        let own: Vec<&str> = fields
            .iter()
            .copied()
            .filter(|f| !f.contains('.'))
            .collect();
        assert_eq!(required(&definition), own, "{event_type}");
    }
    assert_eq!(required("Money"), ["amount_minor", "currency"]);
    assert_eq!(required("LeadSource"), ["campaign_id"]);
}
