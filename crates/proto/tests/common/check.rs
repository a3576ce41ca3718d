//! The invariants: what a refusal looks like, what an accepted envelope satisfies.

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use touchline_core::{Envelope, Timestamp};
use touchline_proto::{DecodeError, WireFormat, decode, decode_stored, encode_protobuf};

use super::{Field, Kind, timestamps, visit};

/// The codes `DecodeError::code` may return (README: `touchline.dlq.error`).
pub const CODES: [&str; 4] = ["protobuf_decode", "json_decode", "contract", "invalid"];

/// What every refusal must look like: a non-empty reason, a stable code that
/// belongs to the decoder that refused, and text that starts as its code says.
pub fn check_error(format: WireFormat, error: &DecodeError) -> Result<(), TestCaseError> {
    let reason = error.to_string();
    let code = error.code();
    prop_assert!(!reason.trim().is_empty(), "empty reason for {error:?}");
    prop_assert!(CODES.contains(&code), "unknown code {code}");
    match (format, error) {
        (WireFormat::Protobuf, DecodeError::Protobuf(_)) => {
            prop_assert_eq!(code, "protobuf_decode");
            prop_assert!(reason.starts_with("protobuf decode failed: "), "{}", reason);
        }
        (WireFormat::Json, DecodeError::Json(_)) => {
            prop_assert_eq!(code, "json_decode");
            prop_assert!(reason.starts_with("json decode failed: "), "{}", reason);
        }
        (WireFormat::Protobuf, DecodeError::Contract { field, problem }) => {
            prop_assert_eq!(code, "contract");
            prop_assert!(!field.is_empty() && !problem.is_empty(), "{}", reason);
        }
        (_, DecodeError::Invalid(invalid)) => {
            prop_assert_eq!(code, "invalid");
            prop_assert!(
                !invalid.field.is_empty() && !invalid.problem.is_empty(),
                "{}",
                reason
            );
            prop_assert!(reason.starts_with("invalid event: "), "{}", reason);
        }
        (format, error) => prop_assert!(false, "{format:?} decoder returned {error:?}"),
    }
    Ok(())
}

/// Timestamps whose `Display` reads back: what JSON can carry. Outside this
/// range (years before 0 or after 9999, or outside chrono's range) the JSON
/// form of an accepted envelope does not decode again; the bounds of issue 8
/// refuse such envelopes (`fuzz_bounds.rs`).
pub fn json_representable(t: Timestamp) -> bool {
    Timestamp::parse_rfc3339(&t.to_string()) == Some(t)
}

/// Decodes `bytes` as `format` and checks the outcome: deterministic, a refusal
/// well formed, an envelope consistent (see [`check_accepted`]).
pub fn check_decode(format: WireFormat, bytes: &[u8]) -> Result<Option<Envelope>, TestCaseError> {
    let first = decode(format, bytes);
    let again = decode(format, bytes);
    prop_assert_eq!(
        first.as_ref().map_err(ToString::to_string),
        again.as_ref().map_err(ToString::to_string),
        "decoding is not deterministic"
    );
    match first {
        Ok(envelope) => {
            check_accepted(&envelope)?;
            Ok(Some(envelope))
        }
        Err(error) => {
            check_error(format, &error)?;
            Ok(None)
        }
    }
}

/// The invariants later stages rely on, for an envelope `decode` accepted:
/// it validates; its protobuf (the log's format) decodes to the same envelope,
/// validated or as stored; its JSON decodes to the same envelope; currencies are
/// ISO-shaped and probabilities at most 100.
pub fn check_accepted(envelope: &Envelope) -> Result<(), TestCaseError> {
    prop_assert_eq!(envelope.validate(), Ok(()));

    let pb = encode_protobuf(envelope);
    let back = decode(WireFormat::Protobuf, &pb).map_err(|e| e.to_string());
    prop_assert_eq!(back.as_ref(), Ok(envelope), "protobuf round trip");
    let stored = decode_stored(&pb).map_err(|e| e.to_string());
    prop_assert_eq!(stored.as_ref(), Ok(envelope), "decode_stored round trip");

    if timestamps(envelope)
        .into_iter()
        .all(|(_, t)| json_representable(t))
    {
        check_json_round_trip(envelope)?;
    }

    let mut problems = Vec::new();
    visit(&mut envelope.clone(), &mut |field| match field {
        Field::Str {
            name,
            kind: Kind::Currency,
            value,
        } if value.len() != 3 || !value.bytes().all(|b| b.is_ascii_uppercase()) => {
            problems.push(format!("{name} = {value:?} is not ISO-shaped"))
        }
        Field::Percent { name, value } if *value > 100 => {
            problems.push(format!("{name} = {value} is above 100"))
        }
        _ => {}
    });
    prop_assert!(problems.is_empty(), "{problems:?}");
    Ok(())
}

pub fn check_json_round_trip(envelope: &Envelope) -> Result<(), TestCaseError> {
    let json = serde_json::to_vec(envelope).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        &touchline_proto::encode_json(envelope),
        &json,
        "encode_json is serde_json"
    );
    let back = decode(WireFormat::Json, &json).map_err(|e| e.to_string());
    prop_assert_eq!(
        back.as_ref(),
        Ok(envelope),
        "JSON round trip of {}",
        String::from_utf8_lossy(&json)
    );
    Ok(())
}
