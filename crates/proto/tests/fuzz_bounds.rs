//! The bounds of issue 8 over whatever `decode` accepts. Validation in
//! `touchline-core` is about to enforce them; until it does, the tests marked
//! `// needs core bounds (issue 8)` fail (the corpus's `bounds/` holds inputs
//! accepted today that the bounds refuse).
//!
//! An accepted envelope has:
//! - every timestamp (occurred_at, recorded_at, a campaign's starts_at and
//!   ends_at, a follow-up's next_due_at, an opportunity's expected_close_at) in
//!   1970-01-01T00:00:00.000Z ..= 9999-12-31T23:59:59.999Z, its `Display` RFC 3339
//!   that `Timestamp::parse_rfc3339` reads back to the same instant (so its JSON
//!   form decodes again);
//! - every `amount_minor` within ±10^15;
//! - every id at most 256 bytes without control characters, names and labels at
//!   most 1024 bytes, free text at most 4096 bytes (the classes: `common::visit`).

mod common;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use prost::Message as _;
use serde_json::Value;
use touchline_core::{Envelope, Timestamp};
use touchline_proto::{DecodeError, WireFormat, decode, encode_protobuf};

/// 9999-12-31T23:59:59.999Z.
const MAX_MS: i64 = 253_402_300_799_999;
const MAX_AMOUNT: u64 = 1_000_000_000_000_000;

fn excerpt(envelope: &Envelope) -> String {
    let text = format!("{envelope:?}");
    if text.len() <= 2000 {
        return text;
    }
    let mut end = 2000;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &text[..end], text.len())
}

/// The bounds, for an envelope `decode` accepted.
fn check_bounds(envelope: &Envelope) -> Result<(), TestCaseError> {
    let mut problems = Vec::new();
    visit(&mut envelope.clone(), &mut |field| match field {
        Field::Str { name, kind, value } => {
            if kind != Kind::Currency && value.len() > kind.max_len() {
                problems.push(format!(
                    "{name} is {} bytes, more than {} ({kind:?})",
                    value.len(),
                    kind.max_len()
                ));
            }
            if kind == Kind::Id && value.chars().any(char::is_control) {
                problems.push(format!("{name} = {value:?} has control characters"));
            }
        }
        Field::Time { name, value } => {
            if !(0..=MAX_MS).contains(&value.as_millis()) {
                problems.push(format!("{name} = {value} is outside 1970 ..= 9999"));
            } else if Timestamp::parse_rfc3339(&value.to_string()) != Some(*value) {
                problems.push(format!("{name} = {value} does not read back"));
            }
        }
        Field::Amount { name, value, .. } => {
            if value.unsigned_abs() > MAX_AMOUNT {
                problems.push(format!("{name} = {value} is beyond ±10^15"));
            }
        }
        Field::Percent { .. } => {}
    });
    prop_assert!(
        problems.is_empty(),
        "accepted out of bounds: {:?} in {}",
        problems,
        excerpt(envelope)
    );
    Ok(())
}

/// Whatever `decode` accepts is within bounds, and its JSON form decodes to the
/// same envelope (in `fuzz.rs` this is checked only where the timestamps are
/// representable; here for everything).
fn check(format: WireFormat, bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(envelope) = decode(format, bytes) {
        check_bounds(&envelope)?;
        check_json_round_trip(&envelope)?;
    }
    Ok(())
}

// ------------------------------------------------------------------- corpus

// needs core bounds (issue 8)
#[test]
fn corpus_bounds_files_are_refused() {
    let mut accepted = Vec::new();
    for file in corpus()
        .iter()
        .filter(|f| f.expect == Expect::RefusedByBounds)
    {
        match decode(file.format, &file.bytes) {
            Ok(_) => accepted.push(file.name.clone()),
            Err(e) => assert_eq!(e.code(), "invalid", "{}: {e}", file.name),
        }
    }
    assert!(
        accepted.is_empty(),
        "accepted beyond the bounds: {accepted:#?}"
    );
}

// needs core bounds (issue 8)
#[test]
fn everything_the_corpus_gets_accepted_is_within_bounds() {
    let mut failures = Vec::new();
    for file in corpus() {
        for format in [WireFormat::Json, WireFormat::Protobuf] {
            if let Err(e) = check(format, &file.bytes) {
                failures.push(format!("{} as {format:?}: {e}", file.name));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

// ------------------------------------------------------ every field's edges

/// Where a field lives in the JSON form: its name as a JSON pointer.
fn pointer(name: &str) -> String {
    format!("/{}", name.replace('.', "/"))
}

/// Decodes an envelope in both formats. In JSON, timestamps listed in `millis`
/// are written as epoch milliseconds (out of range, their RFC 3339 form would
/// not parse, and the JSON would be refused before validation).
fn decode_both(
    envelope: &Envelope,
    millis: &[&str],
) -> [(WireFormat, Result<Envelope, DecodeError>); 2] {
    let mut json = serde_json::to_value(envelope).expect("an envelope is JSON");
    for name in millis {
        let ms = timestamps(envelope)
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t.as_millis());
        if let (Some(slot), Some(ms)) = (json.pointer_mut(&pointer(name)), ms) {
            *slot = Value::from(ms);
        }
    }
    let json = serde_json::to_vec(&json).expect("JSON");
    [
        (
            WireFormat::Protobuf,
            decode(WireFormat::Protobuf, &encode_protobuf(envelope)),
        ),
        (WireFormat::Json, decode(WireFormat::Json, &json)),
    ]
}

/// The accepted corpus events, one per type at least, every field set.
fn ok_envelopes() -> Vec<(String, Envelope)> {
    corpus()
        .iter()
        .filter(|f| f.expect == Expect::Accepted && f.format == WireFormat::Protobuf)
        .filter_map(|f| Some((f.name.clone(), decode(f.format, &f.bytes).ok()?)))
        .collect()
}

/// Sets the `target`-th field of `envelope` (in `visit` order).
fn with_field(envelope: &Envelope, target: usize, set: &mut dyn FnMut(Field<'_>)) -> Envelope {
    let mut changed = envelope.clone();
    let mut at = 0;
    visit(&mut changed, &mut |field| {
        if at == target {
            set(field);
        }
        at += 1;
    });
    changed
}

fn field_count(envelope: &Envelope) -> usize {
    let mut count = 0;
    visit(&mut envelope.clone(), &mut |_| count += 1);
    count
}

/// What a field may be set to at its bound (accepted) and past it (refused).
enum Edge {
    Text(String),
    Millis(i64),
    Amount(i64),
}

fn edges(field: &Field<'_>) -> (Vec<Edge>, Vec<Edge>) {
    match field {
        Field::Str { kind, .. } if *kind == Kind::Currency => (vec![], vec![]),
        Field::Str { kind, .. } => {
            let max = kind.max_len();
            let mut inside = vec![Edge::Text("a".repeat(max)), Edge::Text("é".repeat(max / 2))];
            let mut outside = vec![
                Edge::Text("a".repeat(max + 1)),
                Edge::Text(format!("{}a", "é".repeat(max / 2))),
                Edge::Text("a".repeat(1 << 20)),
            ];
            if *kind == Kind::Id {
                inside.push(Edge::Text("日本🦀-é".into()));
                for bad in [
                    "a\u{7}b",
                    "a\nb",
                    "\u{0}",
                    "\u{1b}[31m",
                    "a\u{7f}",
                    "\u{85}",
                    "\u{9f}x",
                ] {
                    outside.push(Edge::Text(bad.into()));
                }
            }
            (inside, outside)
        }
        // Timestamps at their bounds are set all together (below): one alone
        // could put a campaign's end before its start.
        Field::Time { .. } => (
            vec![],
            [MAX_MS + 1, -1, i64::MIN, i64::MAX, 8_210_266_876_799_999]
                .map(Edge::Millis)
                .into(),
        ),
        Field::Amount { signed, .. } => {
            let limit = MAX_AMOUNT as i64;
            let mut inside = vec![Edge::Amount(limit)];
            let mut outside = vec![Edge::Amount(limit + 1), Edge::Amount(i64::MAX)];
            if *signed {
                inside.push(Edge::Amount(-limit));
                outside.extend([Edge::Amount(-limit - 1), Edge::Amount(i64::MIN)]);
            }
            (inside, outside)
        }
        Field::Percent { .. } => (vec![], vec![]),
    }
}

/// The edges of the `target`-th field of `envelope`.
fn edges_of(envelope: &Envelope, target: usize) -> (Vec<Edge>, Vec<Edge>) {
    let mut out = (vec![], vec![]);
    let mut at = 0;
    visit(&mut envelope.clone(), &mut |field| {
        if at == target {
            out = edges(&field);
        }
        at += 1;
    });
    out
}

fn set_edge(edge: &Edge) -> impl FnMut(Field<'_>) + '_ {
    move |field| match (field, edge) {
        (Field::Str { value, .. }, Edge::Text(text)) => *value = text.clone(),
        (Field::Time { value, .. }, Edge::Millis(ms)) => *value = Timestamp::from_millis(*ms),
        (Field::Amount { value, .. }, Edge::Amount(amount)) => *value = *amount,
        _ => {}
    }
}

fn name_of(envelope: &Envelope, target: usize) -> &'static str {
    let mut name = "";
    let mut at = 0;
    visit(&mut envelope.clone(), &mut |field| {
        if at == target {
            name = match field {
                Field::Str { name, .. }
                | Field::Time { name, .. }
                | Field::Amount { name, .. }
                | Field::Percent { name, .. } => name,
            };
        }
        at += 1;
    });
    name
}

/// Every bounded field of every event type, set to its bound, is accepted by
/// both decoders. Passes today; it must go on passing once the bounds are in
/// (an off-by-one there refuses good events).
#[test]
fn every_field_at_its_bound_is_accepted() {
    let mut failures = Vec::new();
    for (file, envelope) in ok_envelopes() {
        for target in 0..field_count(&envelope) {
            let name = name_of(&envelope, target);
            let (inside, _) = edges_of(&envelope, target);
            for edge in &inside {
                let changed = with_field(&envelope, target, &mut set_edge(edge));
                for (format, outcome) in decode_both(&changed, &[]) {
                    if let Err(e) = outcome {
                        failures.push(format!("{file}: {name} at its bound, {format:?}: {e}"));
                    }
                }
            }
        }
        // Every timestamp at the latest instant, then at the earliest (the epoch;
        // occurred_at must be after it).
        for (latest, label) in [(true, "9999-12-31T23:59:59.999Z"), (false, "the epoch")] {
            let mut changed = envelope.clone();
            visit(&mut changed, &mut |field| {
                if let Field::Time { name, value } = field {
                    *value = Timestamp::from_millis(match (latest, name) {
                        (true, _) => MAX_MS,
                        (false, "occurred_at") => 1,
                        (false, _) => 0,
                    });
                }
            });
            for (format, outcome) in decode_both(&changed, &[]) {
                match outcome {
                    Ok(back) => {
                        if let Err(e) = check_bounds(&back) {
                            failures
                                .push(format!("{file}: timestamps at {label}, {format:?}: {e}"));
                        }
                    }
                    Err(e) => {
                        failures.push(format!("{file}: timestamps at {label}, {format:?}: {e}"))
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Every bounded field of every event type, set past its bound, is refused by
/// both decoders as invalid, naming the field.
// needs core bounds (issue 8)
#[test]
fn every_field_past_its_bound_is_refused() {
    let mut failures = Vec::new();
    for (file, envelope) in ok_envelopes() {
        for target in 0..field_count(&envelope) {
            let name = name_of(&envelope, target);
            let (_, outside) = edges_of(&envelope, target);
            for edge in &outside {
                let mut changed = with_field(&envelope, target, &mut set_edge(edge));
                // A start past the bound alone, not also after the end.
                if name == "payload.starts_at"
                    && let touchline_core::Event::CampaignUpserted(c) = &mut changed.event
                {
                    c.ends_at = None;
                }
                let shown = match edge {
                    Edge::Text(t) if t.len() > 40 => format!("{} bytes", t.len()),
                    Edge::Text(t) => format!("{t:?}"),
                    Edge::Millis(v) | Edge::Amount(v) => v.to_string(),
                };
                for (format, outcome) in decode_both(&changed, &[name]) {
                    match outcome {
                        Ok(_) => {
                            failures.push(format!("{file}: {name} = {shown} accepted ({format:?})"))
                        }
                        Err(DecodeError::Invalid(invalid)) => {
                            let related = name.starts_with(invalid.field.as_str())
                                || invalid.field.starts_with(name)
                                // A start past the end is about both.
                                || (name.ends_with("_at") && invalid.field.ends_with("ends_at"));
                            if !related {
                                failures.push(format!(
                                    "{file}: {name} = {shown} refused for another field ({format:?}): {invalid}"
                                ));
                            }
                        }
                        Err(e) => failures.push(format!(
                            "{file}: {name} = {shown} refused as {} ({format:?}): {e}",
                            e.code()
                        )),
                    }
                }
            }
        }
    }
    // Grouped by field: one line each, with a count and the first case.
    let mut by_field: std::collections::BTreeMap<&str, (usize, &str)> = Default::default();
    for failure in &failures {
        let field = failure
            .split(": ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or("?");
        by_field.entry(field).or_insert((0, failure)).0 += 1;
    }
    let summary: Vec<String> = by_field
        .iter()
        .map(|(field, (n, first))| format!("{field}: {n} cases, e.g. {first}"))
        .collect();
    assert!(
        failures.is_empty(),
        "{} failures: {summary:#?}",
        failures.len()
    );
}

// -------------------------------------------------------------- properties

proptest! {
    #![proptest_config(config(8192))]

    // needs core bounds (issue 8)
    #[test]
    fn accepted_bytes_are_within_bounds(bytes in arb_bytes()) {
        check(WireFormat::Protobuf, &bytes.0)?;
        check(WireFormat::Json, &bytes.0)?;
    }

    // needs core bounds (issue 8)
    #[test]
    fn accepted_json_is_within_bounds(json in arb_envelope_json()) {
        check(WireFormat::Json, &json.0)?;
    }

    // needs core bounds (issue 8)
    #[test]
    fn accepted_protobuf_is_within_bounds(message in arb_proto_envelope()) {
        check(WireFormat::Protobuf, &message.encode_to_vec())?;
    }

    // needs core bounds (issue 8)
    #[test]
    fn accepted_events_are_within_bounds_in_both_formats(envelope in arb_domain_envelope()) {
        check(WireFormat::Protobuf, &encode_protobuf(&envelope))?;
        // In JSON, timestamps as milliseconds: their text may not parse out of range.
        let mut json = serde_json::to_value(&envelope).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (name, t) in timestamps(&envelope) {
            if let Some(slot) = json.pointer_mut(&pointer(name)) {
                *slot = Value::from(t.as_millis());
            }
        }
        check(WireFormat::Json, &serde_json::to_vec(&json).unwrap_or_default())?;
    }
}
