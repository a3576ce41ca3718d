//! The JSON Schema of the JSON event form, `proto/touchline/v1/events.schema.json`,
//! is derived from the types the decoder reads, kept current by a test, and
//! holds for every event the decoder accepts.
//!
//! After changing an event type: `TOUCHLINE_UPDATE_SCHEMA=1 cargo test -p
//! touchline-proto --test json_schema`.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use serde_json::Value;
use touchline_core::Envelope;
use touchline_proto::WireFormat;

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto/touchline/v1/events.schema.json")
}

fn generated() -> String {
    let mut schema = schemars::schema_for!(Envelope);
    schema.insert(
        "$id".into(),
        "https://touchline.dev/schemas/touchline/v1/events.schema.json".into(),
    );
    schema.insert(
        "description".into(),
        "One touchline event in its JSON form, as topics configured `json` carry it: the envelope and one payload tagged by `type`. Generated from the types the decoder reads; validation bounds (README, \"Limits\") apply on top.".into(),
    );
    serde_json::to_string_pretty(&schema).unwrap() + "\n"
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(schema_path()).unwrap();
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn the_schema_in_proto_is_current() {
    let generated = generated();
    if std::env::var_os("TOUCHLINE_UPDATE_SCHEMA").is_some() {
        std::fs::write(schema_path(), &generated).unwrap();
    }
    let stored = std::fs::read_to_string(schema_path()).unwrap_or_default();
    assert!(
        stored == generated,
        "proto/touchline/v1/events.schema.json is out of date: run TOUCHLINE_UPDATE_SCHEMA=1 cargo test -p touchline-proto --test json_schema"
    );
}

#[test]
fn every_event_the_decoder_accepts_fits_the_schema() {
    let validator = validator();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/ok");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let envelope = touchline_proto::decode(WireFormat::Json, &bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // As sent (unless nested deeper than a JSON value may be, which the
        // decoder skips in unknown fields), and as touchline writes it back.
        let mut values = vec![("as written", serde_json::to_value(&envelope).unwrap())];
        if let Ok(sent) = serde_json::from_slice::<Value>(&bytes) {
            values.push(("as sent", sent));
        }
        for (what, value) in &values {
            let errors: Vec<String> = validator
                .iter_errors(value)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{} {what}: {errors:?}", path.display());
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} corpus events");
}

#[test]
fn the_schema_refuses_what_has_the_wrong_shape() {
    let validator = validator();
    let base: Value = serde_json::from_str(
        r#"{"event_id":"e-1","occurred_at":"2026-03-02T09:30:00Z","recorded_at":1772443805000,
            "payload":{"type":"touch_recorded","person_id":"p-1","campaign_id":"c-1",
                       "touch_type":"web_visit","status":"sent"}}"#,
    )
    .unwrap();
    assert!(validator.is_valid(&base));
    let mut synthesized = base.clone();
    synthesized["payload"]["provenance"] =
        serde_json::json!({"origin": "synthesized", "source": "legacy lead_source field"});
    assert!(validator.is_valid(&synthesized));
    let with = |pointer: &str, value: Option<Value>| {
        let mut v = base.clone();
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        let object = v.pointer_mut(parent).unwrap().as_object_mut().unwrap();
        match value {
            Some(value) => object.insert(key.to_owned(), value),
            None => object.remove(key),
        };
        v
    };
    for (what, value) in [
        ("no event id", with("/event_id", None)),
        (
            "an unknown event type",
            with("/payload/type", Some("touch_deleted".into())),
        ),
        (
            "an unknown touch type",
            with("/payload/touch_type", Some("fax".into())),
        ),
        ("no person", with("/payload/person_id", None)),
        (
            "a time as a list",
            with("/occurred_at", Some(Value::Array(vec![]))),
        ),
        (
            "a provenance of no origin",
            with(
                "/payload/provenance",
                Some(serde_json::json!({"source": "crm"})),
            ),
        ),
        (
            "a provenance of an unknown origin",
            with(
                "/payload/provenance",
                Some(serde_json::json!({"origin": "imported", "source": "crm"})),
            ),
        ),
    ] {
        assert!(!validator.is_valid(&value), "{what} passed");
        assert!(
            touchline_proto::decode(WireFormat::Json, value.to_string().as_bytes()).is_err(),
            "{what} decoded"
        );
    }
}
