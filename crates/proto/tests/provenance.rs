//! A touch's provenance (R16) in both wire forms: absent means recorded, as
//! every touch was before the field existed; a synthesized touch names what it
//! was made from; protobuf stays compatible both ways.

#![allow(clippy::unwrap_used)]

use prost::Message as _;
use touchline_core::{Event, TouchOrigin, TouchProvenance};
use touchline_proto::{WireFormat, decode, encode_protobuf, v1};

const SYNTHESIZED: &str = r#"{"event_id":"import/touch/L-1/legacy-web","occurred_at":"2019-03-01",
  "recorded_at":"2026-03-01T09:30:01Z","source_system":"touchline.import",
  "payload":{"type":"touch_recorded","person_id":"L-1","campaign_id":"legacy-web",
             "touch_type":"form_fill","status":"responded",
             "provenance":{"origin":"synthesized","source":"legacy lead_source field"}}}"#;

const PLAIN: &str = r#"{"event_id":"e-1","occurred_at":"2026-03-01T09:30:00Z",
  "recorded_at":"2026-03-01T09:30:01Z",
  "payload":{"type":"touch_recorded","person_id":"p-1","campaign_id":"c-1",
             "touch_type":"web_visit","status":"sent"}}"#;

fn provenance(format: WireFormat, bytes: &[u8]) -> Option<TouchProvenance> {
    let Event::TouchRecorded(touch) = decode(format, bytes).unwrap().event else {
        panic!("a touch")
    };
    touch.provenance
}

#[test]
fn json_and_protobuf_carry_a_synthesized_touch_alike() {
    let expected = Some(TouchProvenance::synthesized("legacy lead_source field"));
    assert_eq!(
        provenance(WireFormat::Json, SYNTHESIZED.as_bytes()),
        expected
    );
    let envelope = decode(WireFormat::Json, SYNTHESIZED.as_bytes()).unwrap();
    let bytes = encode_protobuf(&envelope);
    assert_eq!(provenance(WireFormat::Protobuf, &bytes), expected);
    // Field 7 of TouchRecorded, a message: origin 2 (SYNTHESIZED) and the source.
    let message = v1::Envelope::decode(bytes.as_slice()).unwrap();
    let Some(v1::envelope::Payload::TouchRecorded(touch)) = message.payload else {
        panic!("a touch")
    };
    let wire = touch.provenance.unwrap();
    assert_eq!(wire.origin, v1::TouchOrigin::Synthesized as i32);
    assert_eq!(wire.source, "legacy lead_source field");
    // And written back as JSON, it says the same.
    let json = serde_json::to_value(&envelope).unwrap();
    assert_eq!(
        json["payload"]["provenance"],
        serde_json::json!({"origin": "synthesized", "source": "legacy lead_source field"})
    );
}

#[test]
fn a_touch_without_provenance_is_recorded_and_encodes_as_before() {
    assert_eq!(provenance(WireFormat::Json, PLAIN.as_bytes()), None);
    let envelope = decode(WireFormat::Json, PLAIN.as_bytes()).unwrap();
    let Event::TouchRecorded(touch) = &envelope.event else {
        panic!("a touch")
    };
    assert_eq!(touch.provenance().origin, TouchOrigin::Recorded);
    // No field 7 on the wire: a reader built before provenance existed reads
    // the same bytes it always did, and the JSON form gains no key.
    let bytes = encode_protobuf(&envelope);
    let message = v1::Envelope::decode(bytes.as_slice()).unwrap();
    let Some(v1::envelope::Payload::TouchRecorded(wire)) = &message.payload else {
        panic!("a touch")
    };
    assert!(wire.provenance.is_none());
    let mut without = wire.clone();
    without.provenance = None;
    assert_eq!(wire.encode_to_vec(), without.encode_to_vec());
    assert!(
        serde_json::to_value(&envelope).unwrap()["payload"]
            .get("provenance")
            .is_none()
    );
    assert_eq!(provenance(WireFormat::Protobuf, &bytes), None);
}

#[test]
fn a_provenance_must_say_its_origin_and_a_synthesized_one_its_source() {
    let refusal = |format: WireFormat, bytes: &[u8]| decode(format, bytes).unwrap_err().to_string();
    let no_source = SYNTHESIZED.replace(r#","source":"legacy lead_source field""#, "");
    assert_eq!(
        refusal(WireFormat::Json, no_source.as_bytes()),
        "invalid event: payload.provenance.source: is required for a synthesized touch (say what it was made from)"
    );
    let unknown = SYNTHESIZED.replace(r#""origin":"synthesized""#, r#""origin":"imported""#);
    assert!(
        refusal(WireFormat::Json, unknown.as_bytes()).contains("unknown variant `imported`"),
        "{}",
        refusal(WireFormat::Json, unknown.as_bytes())
    );
    let mut message = v1::Envelope::decode(
        encode_protobuf(&decode(WireFormat::Json, SYNTHESIZED.as_bytes()).unwrap()).as_slice(),
    )
    .unwrap();
    if let Some(v1::envelope::Payload::TouchRecorded(touch)) = &mut message.payload {
        touch.provenance.as_mut().unwrap().origin = v1::TouchOrigin::Unspecified as i32;
    }
    assert_eq!(
        refusal(WireFormat::Protobuf, &message.encode_to_vec()),
        "payload.provenance.origin: is required (UNSPECIFIED is not a value)"
    );
}
