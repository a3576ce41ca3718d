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
mod json;
mod parallel;
mod unknown_fields;

pub use json::decode_envelope as decode_json_envelope;
pub use parallel::{decode_all, decode_stored_all, decode_to_log_all};
use prost::Message as _;
use serde::{Deserialize, Serialize};
use touchline_core::{Envelope, InvalidEvent};
pub use unknown_fields::UnknownFields;
use unknown_fields::first_unknown_field;

/// The prost-generated types of `touchline.v1`.
#[allow(missing_debug_implementations, clippy::all)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/touchline.v1.rs"));
}

/// The prost-generated types of `touchline.shards.v1`: the records of the
/// internal topics between the instances of one group.
#[allow(missing_debug_implementations, clippy::all)]
pub mod shards {
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/touchline.shards.v1.rs"));
    }
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

/// Decodes and validates one message; JSON fields the contract does not have
/// are handled as `unknown` says.
pub fn decode_with(
    format: WireFormat,
    bytes: &[u8],
    unknown: UnknownFields,
) -> Result<Envelope, DecodeError> {
    Ok(decode_received(format, bytes, unknown)?.envelope)
}

/// Decodes and validates one message, ignoring JSON fields the contract does
/// not have (see [`decode_with`]).
pub fn decode(format: WireFormat, bytes: &[u8]) -> Result<Envelope, DecodeError> {
    Ok(decode_received(format, bytes, UnknownFields::Ignore)?.envelope)
}

/// A message decoded and validated, and whether the log may store it as it
/// came.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub envelope: Envelope,
    /// The bytes received are protobuf holding nothing but `envelope`: no
    /// field the contract lacks, none twice, no default spelled out. They are
    /// then the log's encoding of `envelope` (field order aside), and the log
    /// stores them as they are instead of encoding the event again. JSON, and
    /// protobuf with anything more, is encoded by the log: a field this
    /// version does not know must not reach the log unvalidated, where a
    /// later version reading it back would take it for validated.
    pub storable_as_received: bool,
}

/// As [`decode_with`], also saying whether the log may store the bytes as
/// they came ([`Decoded::storable_as_received`]).
pub fn decode_received(
    format: WireFormat,
    bytes: &[u8],
    unknown: UnknownFields,
) -> Result<Decoded, DecodeError> {
    let (envelope, storable_as_received) = match format {
        WireFormat::Protobuf => {
            let message = v1::Envelope::decode(bytes)?;
            // The contract has no repeated fields, so the canonical encoding is
            // the shortest of a value: any unknown field, field given twice or
            // default spelled out makes the bytes longer than it.
            let canonical = message.encoded_len() == bytes.len();
            (convert::envelope_from_proto(message)?, canonical)
        }
        WireFormat::Json => {
            let mut envelope = json::decode_envelope(bytes)?;
            convert::as_protobuf_carries_it(&mut envelope);
            (envelope, false)
        }
    };
    envelope.validate()?;
    if format == WireFormat::Json
        && unknown == UnknownFields::Refuse
        && let Some(path) = first_unknown_field(bytes, &envelope)
    {
        return Err(DecodeError::UnknownField { path });
    }
    Ok(Decoded {
        envelope,
        storable_as_received,
    })
}

/// An event decoded from a message, with the bytes the log stores for it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToLog {
    pub envelope: Envelope,
    /// The message itself when it is storable as received
    /// ([`Decoded::storable_as_received`]), else `envelope` encoded: either
    /// way what [`decode_stored`] reads back as `envelope`.
    pub stored: Vec<u8>,
}

/// As [`decode_received`], with the bytes the log stores: the work of
/// encoding them done where the decoding is (on a batch's decoding threads),
/// and none of it for protobuf storable as received.
pub fn decode_to_log(
    format: WireFormat,
    bytes: &[u8],
    unknown: UnknownFields,
) -> Result<ToLog, DecodeError> {
    let Decoded {
        envelope,
        storable_as_received,
    } = decode_received(format, bytes, unknown)?;
    let stored = if storable_as_received {
        bytes.to_vec()
    } else {
        encode_protobuf(&envelope)
    };
    Ok(ToLog { envelope, stored })
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
