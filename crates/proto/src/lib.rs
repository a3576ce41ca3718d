//! The wire formats of touchline events: protobuf (prost, generated from
//! `proto/touchline/v1`) and JSON (serde, the form of [`touchline_core::Envelope`]).
//!
//! Decoding always ends in a validated [`Envelope`], whichever format came in, so
//! the rest of the system sees one vocabulary. This crate does no I/O.
//!
//! ```
//! use touchline_proto::{decode, encode_protobuf, WireFormat};
//!
//! let json = br#"{"event_id":"e-1","occurred_at":"2026-03-01T09:30:00Z","recorded_at":"2026-03-01T09:30:01Z",
//!   "source_system":"web","payload":{"type":"touch_recorded","person_id":"p-1","campaign_id":"c-1",
//!   "touch_type":"form_fill","status":"responded"}}"#;
//! let envelope = decode(WireFormat::Json, json).unwrap();
//! let bytes = encode_protobuf(&envelope);
//! assert_eq!(decode(WireFormat::Protobuf, &bytes).unwrap(), envelope);
//! ```

mod convert;

use prost::Message as _;
use serde::{Deserialize, Serialize};
use touchline_core::{Envelope, InvalidEvent};

/// The prost-generated types of `touchline.v1`.
#[allow(missing_debug_implementations, clippy::all)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/touchline.v1.rs"));
}

/// How the messages of one topic are encoded; chosen per topic in config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireFormat {
    Protobuf,
    Json,
}

impl std::str::FromStr for WireFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "protobuf" | "proto" => Ok(WireFormat::Protobuf),
            "json" => Ok(WireFormat::Json),
            other => Err(format!(
                "unknown wire format {other:?}; expected \"protobuf\" or \"json\""
            )),
        }
    }
}

/// Why bytes did not become a valid event. `Display` is the dead-letter reason.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("protobuf decode failed: {0}")]
    Protobuf(#[from] prost::DecodeError),
    #[error("json decode failed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{field}: {problem}")]
    Contract {
        field: &'static str,
        problem: String,
    },
    #[error("invalid event: {0}")]
    Invalid(#[from] InvalidEvent),
    #[error(
        "unknown field `{path}`: the contract has no such field (kafka.json_unknown_fields = \"ignore\" accepts it)"
    )]
    UnknownField { path: String },
}

impl DecodeError {
    /// A short stable code for metrics and the `touchline.dlq.error` header.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Protobuf(_) => "protobuf_decode",
            DecodeError::Json(_) => "json_decode",
            DecodeError::Contract { .. } => "contract",
            DecodeError::Invalid(_) => "invalid",
            DecodeError::UnknownField { .. } => "unknown_field",
        }
    }
}

/// What the JSON decoder does with a field the contract does not have.
/// Protobuf keeps its own forward compatibility: unknown fields are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownFields {
    /// Refuse the message, naming the field (`ends_at_ms` for `ends_at`, a
    /// misspelling that would otherwise be dropped silently).
    #[default]
    Refuse,
    /// Ignore it: for producers that add fields before touchline knows them.
    Ignore,
}

impl std::str::FromStr for UnknownFields {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "refuse" => Ok(UnknownFields::Refuse),
            "ignore" => Ok(UnknownFields::Ignore),
            other => Err(format!("{other:?} is not \"refuse\" or \"ignore\"")),
        }
    }
}

/// Decodes and validates one message; JSON fields the contract does not have
/// are handled as `unknown` says.
pub fn decode_with(
    format: WireFormat,
    bytes: &[u8],
    unknown: UnknownFields,
) -> Result<Envelope, DecodeError> {
    let envelope = decode(format, bytes)?;
    if format == WireFormat::Json
        && unknown == UnknownFields::Refuse
        && let Some(path) = first_unknown_field(bytes, &envelope)
    {
        return Err(DecodeError::UnknownField { path });
    }
    Ok(envelope)
}

/// The dotted path of the first field of `bytes` (JSON that decoded to
/// `envelope`) that the contract does not have. Serializing an envelope
/// writes every field it has, so a key of the input missing from the output
/// is one the decoder dropped.
fn first_unknown_field(bytes: &[u8], envelope: &Envelope) -> Option<String> {
    fn walk(input: &serde_json::Value, known: &serde_json::Value, path: &str) -> Option<String> {
        let (serde_json::Value::Object(input), serde_json::Value::Object(known)) = (input, known)
        else {
            return None;
        };
        for (key, value) in input {
            let at = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            match known.get(key) {
                None => return Some(at),
                Some(known) => {
                    if let Some(found) = walk(value, known, &at) {
                        return Some(found);
                    }
                }
            }
        }
        None
    }
    // Deeper than a JSON value may nest: only an unknown field can hold that.
    let Ok(input) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Some("(a field nested too deep to read)".to_owned());
    };
    let known = serde_json::to_value(envelope).ok()?;
    walk(&input, &known, "")
}

/// Decodes and validates one message, ignoring JSON fields the contract does
/// not have (see [`decode_with`]).
pub fn decode(format: WireFormat, bytes: &[u8]) -> Result<Envelope, DecodeError> {
    let envelope = match format {
        WireFormat::Protobuf => convert::envelope_from_proto(v1::Envelope::decode(bytes)?)?,
        WireFormat::Json => {
            let mut envelope = serde_json::from_slice::<Envelope>(bytes)?;
            convert::as_protobuf_carries_it(&mut envelope);
            envelope
        }
    };
    envelope.validate()?;
    Ok(envelope)
}

/// Decodes protobuf bytes the engine wrote itself (the event log); no validation,
/// because only validated events are ever written.
pub fn decode_stored(bytes: &[u8]) -> Result<Envelope, DecodeError> {
    convert::envelope_from_proto(v1::Envelope::decode(bytes)?)
}

pub fn encode_protobuf(envelope: &Envelope) -> Vec<u8> {
    convert::envelope_to_proto(envelope).encode_to_vec()
}

pub fn encode_json(envelope: &Envelope) -> Vec<u8> {
    // Serializing plain data with string keys cannot fail.
    serde_json::to_vec(envelope).unwrap_or_default()
}

pub fn encode(format: WireFormat, envelope: &Envelope) -> Vec<u8> {
    match format {
        WireFormat::Protobuf => encode_protobuf(envelope),
        WireFormat::Json => encode_json(envelope),
    }
}
