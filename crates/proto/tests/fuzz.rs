//! Fuzzing both decoders and validation (issue 8: no single message may stop
//! touchline or corrupt a number).
//!
//! Properties, each over generated inputs (proptest) and over the corpus in
//! `tests/corpus/` (`ok/` must decode, `bad/` must be refused, `bounds/` is for
//! `fuzz_bounds.rs`):
//!
//! - arbitrary bytes into both decoders never panic, and a refusal has a reason
//!   and a stable code that belongs to the decoder;
//! - JSON shaped like envelopes (corpus events with fields dropped, renamed,
//!   retyped, extreme, duplicated, nested, retagged) never panics;
//! - whatever `decode` accepts validates, and survives the round trips later
//!   stages rely on: protobuf (the log) and JSON;
//! - structurally valid protobuf messages decode or are refused by contract or
//!   validation (never as undecodable), exactly as validation judges them, and
//!   both decoders judge the same event the same way;
//! - unknown fields change nothing.
//!
//! Case counts: 16,384 per property for bytes and JSON, 8,192 for the others
//! (about 7 s for this file in a debug build on two cores).
//! `TOUCHLINE_FUZZ_CASES` (or `PROPTEST_CASES`) sets every property's count for
//! a long run, e.g. `TOUCHLINE_FUZZ_CASES=2000000 cargo test --release -p
//! touchline-proto --test fuzz` (about two minutes). Failures proptest finds
//! are saved in `fuzz.proptest-regressions` beside this file and replayed
//! first; keep them committed.

mod common;

use common::*;
use proptest::prelude::*;
use proptest::sample::Index;
use prost::Message as _;
use touchline_core::Envelope;
use touchline_proto::{WireFormat, decode, encode_protobuf, v1};

// ------------------------------------------------------------------- corpus

#[test]
fn corpus_has_every_event_type_in_both_formats() {
    let mut seen = [[false; 2]; EVENT_TYPES.len()];
    for file in corpus().iter().filter(|f| f.expect == Expect::Accepted) {
        let envelope = decode(file.format, &file.bytes)
            .unwrap_or_else(|e| panic!("{} is refused: {e}", file.name));
        let i = event_index(&envelope.event);
        assert_eq!(EVENT_TYPES[i], envelope.event.type_name());
        seen[i][usize::from(file.format == WireFormat::Protobuf)] = true;
        if file.name == format!("ok/{}.json", EVENT_TYPES[i]) {
            assert!(
                corpus()
                    .iter()
                    .any(|f| f.name == format!("ok/{}.pb", EVENT_TYPES[i])),
                "{} has no protobuf twin",
                file.name
            );
        }
    }
    for (i, formats) in seen.iter().enumerate() {
        assert_eq!(
            formats,
            &[true, true],
            "the corpus lacks a valid {} in JSON or protobuf",
            EVENT_TYPES[i]
        );
        for ext in ["json", "pb"] {
            let name = format!("ok/{}.{ext}", EVENT_TYPES[i]);
            assert!(corpus().iter().any(|f| f.name == name), "missing {name}");
        }
    }
}

#[test]
fn corpus_expectations_hold() {
    let mut failures = Vec::new();
    for file in corpus() {
        let outcome = decode(file.format, &file.bytes);
        match (file.expect, &outcome) {
            (Expect::Accepted, Err(e)) => failures.push(format!("{} is refused: {e}", file.name)),
            (Expect::Refused, Ok(_)) => failures.push(format!("{} is accepted", file.name)),
            _ => {}
        }
        if let Err(e) = check_decode(file.format, &file.bytes) {
            failures.push(format!("{}: {e}", file.name));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Every corpus file into the other decoder too: JSON as protobuf bytes and
/// protobuf as JSON text must be refused or accepted consistently, never panic.
#[test]
fn corpus_through_the_other_decoder() {
    let mut failures = Vec::new();
    for file in corpus() {
        let other = match file.format {
            WireFormat::Json => WireFormat::Protobuf,
            WireFormat::Protobuf => WireFormat::Json,
        };
        if let Err(e) = check_decode(other, &file.bytes) {
            failures.push(format!("{} as {other:?}: {e}", file.name));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Regression: `expected_close_at` at the epoch. Protobuf cannot carry it (0 is
/// "no date" in the non-optional field), so JSON reads it as no date as well and
/// both decoders give the same event, which the log then keeps as it was.
#[test]
fn a_close_date_at_the_epoch_is_no_close_date_in_both_formats() {
    for name in [
        "ok/opportunity_created_close_at_epoch",
        "ok/opportunity_created_close_at_zero_millis",
    ] {
        for (ext, format) in [("json", WireFormat::Json), ("pb", WireFormat::Protobuf)] {
            let file = corpus()
                .iter()
                .find(|f| f.name == format!("{name}.{ext}"))
                .unwrap_or_else(|| panic!("{name}.{ext} is missing"));
            let envelope = decode(format, &file.bytes).expect("accepted");
            let touchline_core::Event::OpportunityCreated(created) = &envelope.event else {
                panic!("{name} is not an opportunity_created");
            };
            assert_eq!(created.expected_close_at, None, "{name}.{ext}");
        }
    }
    // OpportunityUpdated's field is optional in protobuf: 0 is a date there.
    let file = corpus()
        .iter()
        .find(|f| f.name == "ok/opportunity_updated_close_at_zero_millis.pb")
        .expect("the protobuf twin");
    let envelope = decode(WireFormat::Protobuf, &file.bytes).expect("accepted");
    let touchline_core::Event::OpportunityUpdated(updated) = &envelope.event else {
        panic!("not an opportunity_updated");
    };
    assert_eq!(
        updated.expected_close_at,
        Some(touchline_core::Timestamp::from_millis(0))
    );
}

/// The generated part of the corpus (the `.pb` twins, the megabyte and deeply
/// nested inputs) is what `write_corpus` makes from the hand-written part.
#[test]
fn corpus_is_current() {
    let generated = generated_corpus();
    let mut stale = Vec::new();
    for (name, bytes) in &generated {
        match std::fs::read(corpus_dir().join(name)) {
            Ok(on_disk) if &on_disk == bytes => {}
            Ok(_) => stale.push(format!("{name} differs")),
            Err(_) => stale.push(format!("{name} is missing")),
        }
    }
    for file in corpus() {
        if file.format == WireFormat::Protobuf && !generated.contains_key(&file.name) {
            stale.push(format!("{} is made by nothing", file.name));
        }
    }
    assert!(
        stale.is_empty(),
        "run `cargo test -p touchline-proto --test fuzz write_corpus -- --ignored`: {stale:#?}"
    );
}

/// Regenerates the generated part of the corpus:
/// `cargo test -p touchline-proto --test fuzz write_corpus -- --ignored`.
#[test]
#[ignore = "writes tests/corpus; run by hand after editing the hand-written JSON"]
fn write_corpus() {
    for (name, bytes) in generated_corpus() {
        std::fs::write(corpus_dir().join(&name), bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn unknown_fields_change_nothing_in_the_corpus() {
    for file in corpus().iter().filter(|f| f.expect == Expect::Accepted) {
        let before = decode(file.format, &file.bytes).expect("accepted");
        let with_unknown = match file.format {
            WireFormat::Protobuf => {
                let mut bytes = file.bytes.clone();
                bytes.extend([0xa0, 0x06, 0x07]); // field 100, varint 7
                bytes
            }
            WireFormat::Json => {
                let mut value: serde_json::Value = match serde_json::from_slice(&file.bytes) {
                    Ok(value) => value,
                    Err(_) => continue, // the deeply nested one
                };
                value["x_unknown"] = serde_json::json!({"a": [1, 2]});
                value["payload"]["x_unknown"] = serde_json::json!(null);
                serde_json::to_vec(&value).expect("JSON")
            }
        };
        let after = decode(file.format, &with_unknown).map_err(|e| e.to_string());
        assert_eq!(after, Ok(before), "{}", file.name);
    }
}

// -------------------------------------------------------------- properties

/// A protobuf field no version of the schema uses, of any wire type.
fn arb_unknown_field() -> impl Strategy<Value = Vec<u8>> {
    (
        25u32..(1 << 29),
        prop_oneof![
            any::<u64>().prop_map(|v| (0u32, v.to_le_bytes().to_vec())),
            prop::collection::vec(any::<u8>(), 0..16).prop_map(|b| (2u32, b)),
            any::<u64>().prop_map(|v| (1u32, v.to_le_bytes().to_vec())),
            any::<u32>().prop_map(|v| (5u32, v.to_le_bytes().to_vec())),
        ],
    )
        .prop_map(|(tag, (wire, payload))| {
            let mut out = Vec::new();
            prost::encoding::encode_key(tag, wire_type(wire), &mut out);
            match wire {
                0 => prost::encoding::encode_varint(
                    u64::from_le_bytes(payload.try_into().unwrap_or_default()),
                    &mut out,
                ),
                2 => {
                    prost::encoding::encode_varint(payload.len() as u64, &mut out);
                    out.extend(payload);
                }
                _ => out.extend(payload),
            }
            out
        })
}

fn wire_type(raw: u32) -> prost::encoding::WireType {
    use prost::encoding::WireType;
    match raw {
        0 => WireType::Varint,
        1 => WireType::SixtyFourBit,
        2 => WireType::LengthDelimited,
        _ => WireType::ThirtyTwoBit,
    }
}

proptest! {
    #![proptest_config(config(16384))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in arb_bytes()) {
        check_decode(WireFormat::Protobuf, &bytes.0)?;
        check_decode(WireFormat::Json, &bytes.0)?;
    }

    #[test]
    fn envelope_shaped_json_never_panics(json in arb_envelope_json()) {
        check_decode(WireFormat::Json, &json.0)?;
        check_decode(WireFormat::Protobuf, &json.0)?;
    }

    /// The one-pass JSON decoder is a fast path of serde's derived one: the
    /// same events accepted, decoded the same, refused with the same words.
    #[test]
    fn the_one_pass_json_decoder_is_the_derived_decoder(json in arb_envelope_json()) {
        let one_pass = touchline_proto::decode_json_envelope(&json.0).map_err(|e| e.to_string());
        let derived = serde_json::from_slice::<Envelope>(&json.0).map_err(|e| e.to_string());
        match (&one_pass, &derived) {
            // The derived decoder buffers the whole payload, so it reads the
            // values of fields the contract does not have (refusing a number
            // past f64's range or a lone surrogate there), and its buffer
            // nests twice per level against serde_json's limit of 128. In
            // one pass such values are skipped, so such a message decodes;
            // with the default contract it is still refused (for the unknown
            // field, or by validation).
            (Ok(_), Err(_)) => {
                let strict = touchline_proto::decode_received(
                    WireFormat::Json,
                    &json.0,
                    touchline_proto::UnknownFields::Refuse,
                );
                prop_assert!(
                    strict.is_err(),
                    "decoded in one pass, refused by the derived decoder ({derived:?}), \
                     and accepted by the default contract"
                );
            }
            _ => prop_assert_eq!(one_pass, derived),
        }
    }
}

#[test]
fn every_corpus_message_decodes_alike_in_one_pass_and_derived() {
    let mut compared = 0;
    for file in corpus().iter().filter(|f| f.format == WireFormat::Json) {
        let one_pass =
            touchline_proto::decode_json_envelope(&file.bytes).map_err(|e| e.to_string());
        let derived = serde_json::from_slice::<Envelope>(&file.bytes).map_err(|e| e.to_string());
        assert_eq!(one_pass, derived, "{}", file.name);
        compared += 1;
    }
    assert!(compared > 20, "the corpus has {compared} JSON messages");
}

proptest! {
    #![proptest_config(config(8192))]

    /// A message prost encoded always parses: it is refused only by the contract
    /// (a missing payload or amount, an enum value outside the schema) or by
    /// validation, and then exactly as validation judges its domain form.
    #[test]
    fn protobuf_messages_decode_or_are_refused_by_contract_or_validation(
        message in arb_proto_envelope(),
        unknown in prop::option::of(arb_unknown_field()),
    ) {
        let mut bytes = message.encode_to_vec();
        let outcome = check_decode(WireFormat::Protobuf, &bytes)?;
        let error = decode(WireFormat::Protobuf, &bytes).err();
        prop_assert!(
            error.as_ref().is_none_or(|e| e.code() != "protobuf_decode"),
            "{error:?}"
        );
        match domain_of(&message) {
            None => prop_assert_eq!(error.map(|e| e.code()), Some("contract")),
            Some(domain) => match domain.validate() {
                Ok(()) => prop_assert_eq!(outcome.as_ref(), Some(&domain)),
                Err(invalid) => prop_assert_eq!(
                    error.map(|e| e.to_string()),
                    Some(format!("invalid event: {invalid}"))
                ),
            },
        }
        if let Some(unknown) = unknown {
            let before = decode(WireFormat::Protobuf, &bytes).map_err(|e| e.to_string());
            bytes.extend(unknown);
            let after = decode(WireFormat::Protobuf, &bytes).map_err(|e| e.to_string());
            prop_assert_eq!(after, before, "an unknown field changed the outcome");
        }
    }

    /// The same event judged by both decoders: the protobuf of a domain envelope
    /// and its JSON decode to the same envelope, or are refused for the same reason.
    #[test]
    fn both_decoders_judge_an_event_alike(envelope in arb_domain_envelope()) {
        let pb = encode_protobuf(&envelope);
        let json = serde_json::to_vec(&envelope).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let from_pb = check_decode(WireFormat::Protobuf, &pb)?;
        if timestamps(&envelope).into_iter().all(|(_, t)| json_representable(t)) {
            let from_json = check_decode(WireFormat::Json, &json)?;
            prop_assert_eq!(&from_pb, &from_json, "JSON: {}", String::from_utf8_lossy(&json));
            prop_assert_eq!(
                decode(WireFormat::Protobuf, &pb).map_err(|e| e.to_string()),
                decode(WireFormat::Json, &json).map_err(|e| e.to_string())
            );
        } else {
            // Out of the range JSON can carry (see fuzz_bounds.rs): never a panic.
            check_decode(WireFormat::Json, &json)?;
        }
    }

    /// Unknown JSON keys, at the top or in the payload, change nothing.
    #[test]
    fn unknown_json_keys_change_nothing(
        seed in any::<Index>(),
        edits in prop::collection::vec(arb_json_edit(), 0..3),
        key in "x_[a-z]{1,8}",
        value in arb_json_value(),
        in_payload in any::<bool>(),
    ) {
        // Past serde_json's recursion limit a value in the payload is refused
        // however unknown its key: that is the limit, not a change of meaning.
        let value = if depth(&value) < 100 { value } else { serde_json::Value::Null };
        let seeds = json_seeds();
        let mut doc = seeds[seed.index(seeds.len())].clone();
        for edit in &edits {
            apply_json_edit(&mut doc, edit);
        }
        let before = decode(WireFormat::Json, &serde_json::to_vec(&doc).unwrap_or_default());
        let target = if in_payload { doc.get_mut("payload") } else { Some(&mut doc) };
        if let Some(serde_json::Value::Object(map)) = target {
            map.insert(key, value);
        }
        let after = decode(WireFormat::Json, &serde_json::to_vec(&doc).unwrap_or_default());
        match (before, after) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
            // Positions in the reason move; the code may not.
            (Err(a), Err(b)) => prop_assert_eq!(a.code(), b.code()),
            (a, b) => prop_assert!(false, "before: {a:?}, after: {b:?}"),
        }
    }
}

/// The generators reach deep: a share of the generated inputs is accepted, so
/// the round-trip properties are not vacuous, and every event type is reached.
#[test]
fn generators_reach_accepted_envelopes_of_every_type() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = [0usize; EVENT_TYPES.len()];
    let (mut json_ok, mut pb_ok) = (0, 0);
    let (json_strategy, proto_strategy) = (arb_envelope_json(), arb_proto_envelope());
    for _ in 0..2000 {
        let json = json_strategy
            .new_tree(&mut runner)
            .expect("a value")
            .current();
        if let Ok(envelope) = decode(WireFormat::Json, &json.0) {
            json_ok += 1;
            seen[event_index(&envelope.event)] += 1;
        }
        let message: v1::Envelope = proto_strategy
            .new_tree(&mut runner)
            .expect("a value")
            .current();
        if let Ok(envelope) = decode(WireFormat::Protobuf, &message.encode_to_vec()) {
            pb_ok += 1;
            seen[event_index(&envelope.event)] += 1;
        }
    }
    println!("accepted of 2000: JSON {json_ok}, protobuf {pb_ok}; by type {seen:?}");
    // A floor, not a target: mutations that validation refuses (control
    // characters in names, values past a bound) are most of the JSON ones.
    assert!(
        json_ok > 100,
        "only {json_ok} of 2000 mutated JSON events decode"
    );
    assert!(pb_ok > 100, "only {pb_ok} of 2000 protobuf messages decode");
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
}
