//! What the fuzz suites share: the corpus, the generators and the invariants.
//!
//! `fuzz.rs` asserts what touchline guarantees today; `fuzz_bounds.rs` asserts
//! the bounds of issue 8 that validation in `touchline-core` is about to enforce.
//! Each test binary uses a part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use prost::Message as _;
use serde_json::Value;
use touchline_core::{Envelope, Event, Timestamp};
use touchline_proto::{DecodeError, WireFormat, decode, decode_stored, encode_protobuf, v1};

// ------------------------------------------------------------------ running

/// Cases per property: `TOUCHLINE_FUZZ_CASES` or `PROPTEST_CASES` when set (for
/// long runs), else the property's own default, chosen so that the suite stays
/// well under a minute in a debug build on two cores.
pub fn cases(default: u32) -> u32 {
    ["TOUCHLINE_FUZZ_CASES", "PROPTEST_CASES"]
        .iter()
        .find_map(|var| std::env::var(var).ok()?.trim().parse().ok())
        .unwrap_or(default)
}

pub fn config(default_cases: u32) -> ProptestConfig {
    let cases = cases(default_cases);
    ProptestConfig {
        cases,
        // Rejects (a generated message without a domain form) grow with the
        // cases; proptest's fixed limits would end a long run.
        max_local_rejects: cases.saturating_mul(4).max(65_536),
        max_global_rejects: cases.max(1024),
        // Inputs are large and shrinking re-decodes them; this is plenty to get
        // a readable counterexample.
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    }
}

// ------------------------------------------------------------------- corpus

/// What a corpus file is expected to do, by its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// `ok/`: decodes, in its own format.
    Accepted,
    /// `bad/`: refused, in its own format.
    Refused,
    /// `bounds/`: accepted until `touchline-core` enforces the bounds of issue 8,
    /// refused after.
    RefusedByBounds,
}

#[derive(Debug)]
pub struct CorpusFile {
    /// Relative to the corpus directory, e.g. `ok/lead_created.json`.
    pub name: String,
    pub expect: Expect,
    pub format: WireFormat,
    pub bytes: Vec<u8>,
}

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

pub fn format_of(name: &str) -> Option<WireFormat> {
    if name.ends_with(".json") {
        Some(WireFormat::Json)
    } else if name.ends_with(".pb") {
        Some(WireFormat::Protobuf)
    } else {
        None
    }
}

/// Every `.json` and `.pb` file of the corpus, read once per test binary.
pub fn corpus() -> &'static [CorpusFile] {
    static CORPUS: OnceLock<Vec<CorpusFile>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut files = Vec::new();
        for (dir, expect) in [
            ("ok", Expect::Accepted),
            ("bad", Expect::Refused),
            ("bounds", Expect::RefusedByBounds),
        ] {
            let mut names: Vec<String> = std::fs::read_dir(corpus_dir().join(dir))
                .unwrap_or_else(|e| panic!("corpus/{dir}: {e}"))
                .map(|entry| {
                    let entry = entry.expect("a readable corpus directory");
                    entry.file_name().to_string_lossy().into_owned()
                })
                .collect();
            names.sort();
            for name in names {
                let Some(format) = format_of(&name) else {
                    continue;
                };
                let path = corpus_dir().join(dir).join(&name);
                let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
                files.push(CorpusFile {
                    name: format!("{dir}/{name}"),
                    expect,
                    format,
                    bytes,
                });
            }
        }
        assert!(
            files.len() > 30,
            "the corpus is missing: {:?}",
            corpus_dir()
        );
        files
    })
}

/// Seeds for mutation: corpus files small enough to mutate many times per second
/// (the megabyte ones are replayed as they are, not mutated).
pub fn byte_seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        corpus()
            .iter()
            .filter(|f| f.bytes.len() <= 16 * 1024)
            .map(|f| f.bytes.clone())
            .collect()
    })
}

/// The JSON seeds for structural mutation: every accepted JSON of the corpus.
pub fn json_seeds() -> &'static [Value] {
    static SEEDS: OnceLock<Vec<Value>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        corpus()
            .iter()
            .filter(|f| {
                f.expect != Expect::Refused
                    && f.format == WireFormat::Json
                    && f.bytes.len() <= 16 * 1024
            })
            .filter_map(|f| serde_json::from_slice(&f.bytes).ok())
            .collect()
    })
}

/// Every object key that appears in the accepted JSON seeds: renames and
/// insertions use the real vocabulary, so they produce near misses.
pub fn json_keys() -> &'static [String] {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    KEYS.get_or_init(|| {
        fn walk(v: &Value, out: &mut std::collections::BTreeSet<String>) {
            match v {
                Value::Object(map) => {
                    for (k, v) in map {
                        out.insert(k.clone());
                        walk(v, out);
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let mut keys = std::collections::BTreeSet::new();
        json_seeds().iter().for_each(|v| walk(v, &mut keys));
        keys.into_iter().collect()
    })
}

/// Every leaf value of the accepted JSON seeds (a value from one field put into
/// another is a classic near miss: an id where a timestamp belongs).
pub fn json_leaves() -> &'static [Value] {
    static LEAVES: OnceLock<Vec<Value>> = OnceLock::new();
    LEAVES.get_or_init(|| {
        fn walk(v: &Value, out: &mut Vec<Value>) {
            match v {
                Value::Object(map) => map.values().for_each(|v| walk(v, out)),
                Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
                leaf => out.push(leaf.clone()),
            }
        }
        let mut leaves = Vec::new();
        json_seeds().iter().for_each(|v| walk(v, &mut leaves));
        leaves
    })
}

/// The JSON `type` tag of every event, indexed by [`event_index`].
pub const EVENT_TYPES: [&str; 15] = [
    "campaign_upserted",
    "campaign_cost_recorded",
    "lead_created",
    "lead_updated",
    "lead_converted",
    "follow_up_logged",
    "touch_recorded",
    "opportunity_created",
    "opportunity_updated",
    "opportunity_contact_role_added",
    "opportunity_closed",
    "account_upserted",
    "transaction_recorded",
    "persons_merged",
    "lead_routed",
];

/// The position of an event's variant in [`EVENT_TYPES`]. The match has no
/// wildcard, so a new event type does not compile until the corpus knows it.
pub fn event_index(event: &Event) -> usize {
    match event {
        Event::CampaignUpserted(_) => 0,
        Event::CampaignCostRecorded(_) => 1,
        Event::LeadCreated(_) => 2,
        Event::LeadUpdated(_) => 3,
        Event::LeadConverted(_) => 4,
        Event::FollowUpLogged(_) => 5,
        Event::TouchRecorded(_) => 6,
        Event::OpportunityCreated(_) => 7,
        Event::OpportunityUpdated(_) => 8,
        Event::OpportunityContactRoleAdded(_) => 9,
        Event::OpportunityClosed(_) => 10,
        Event::AccountUpserted(_) => 11,
        Event::TransactionRecorded(_) => 12,
        Event::PersonsMerged(_) => 13,
        Event::LeadRouted(_) => 14,
    }
}

// ---------------------------------------------------------- generated files

/// The corpus files made by code rather than by hand: the megabyte and deeply
/// nested inputs, the binary ones, and a `.pb` twin of every hand-written JSON
/// event that parses into an `Envelope` (valid or not), so both decoders see
/// the same events. `write_corpus` writes them, `corpus_is_current` checks them.
pub fn generated_corpus() -> BTreeMap<String, Vec<u8>> {
    let mut out: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let read = |name: &str| -> Vec<u8> {
        std::fs::read(corpus_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let ok_json = |name: &str| -> Value {
        serde_json::from_slice(&read(&format!("ok/{name}.json"))).expect("an ok JSON seed")
    };
    let to_bytes = |v: &Value| -> Vec<u8> {
        let mut bytes = serde_json::to_vec(v).expect("JSON");
        bytes.push(b'\n');
        bytes
    };

    // --- generated JSON
    let mut huge_id = ok_json("lead_created");
    huge_id["event_id"] = Value::String("x".repeat(1 << 20));
    out.insert("bad/event_id_1mb.json".into(), to_bytes(&huge_id));

    let mut huge_name = ok_json("campaign_upserted");
    huge_name["payload"]["name"] = Value::String("n".repeat(1 << 20));
    out.insert("bounds/name_1mb.json".into(), to_bytes(&huge_name));

    let deep = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    // Inside the payload, the internally tagged enum buffers the value: serde_json's
    // recursion limit (128) refuses it.
    let lead = String::from_utf8(to_bytes(&ok_json("lead_created"))).expect("UTF-8");
    out.insert(
        "bad/payload_deeply_nested.json".into(),
        lead.replacen(
            "\"payload\":{",
            &format!("\"payload\":{{\"extra\":{},", deep(100_000)),
            1,
        )
        .into_bytes(),
    );
    // An unknown top-level field is skipped without recursion, whatever its depth.
    out.insert(
        "ok/unknown_field_deeply_nested.json".into(),
        lead.replacen("{", &format!("{{\"extra\":{},", deep(100_000)), 1)
            .into_bytes(),
    );
    out.insert(
        "bad/deeply_nested_arrays.json".into(),
        "[".repeat(100_000).into_bytes(),
    );
    out.insert(
        "bad/deeply_nested_objects.json".into(),
        "{\"a\":".repeat(50_000).into_bytes(),
    );
    let mut bom = vec![0xef, 0xbb, 0xbf];
    bom.extend_from_slice(lead.as_bytes());
    out.insert("bad/byte_order_mark.json".into(), bom);
    out.insert(
        "bad/invalid_utf8.json".into(),
        lead.replacen("evt-lead-1", "evt-\u{1}-1", 1)
            .into_bytes()
            .into_iter()
            .map(|b| if b == 1 { 0xff } else { b })
            .collect(),
    );
    out.insert("bad/empty.json".into(), Vec::new());

    // --- a protobuf twin of every JSON file that parses into an Envelope
    let mut twins = Vec::new();
    for dir in ["ok", "bad", "bounds"] {
        let mut names: Vec<String> = std::fs::read_dir(corpus_dir().join(dir))
            .expect("corpus directory")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .map(|n| format!("{dir}/{n}"))
            .collect();
        names.sort();
        twins.extend(names);
    }
    let generated_json: Vec<(String, Vec<u8>)> =
        out.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for name in twins {
        let bytes = match out.get(&name) {
            Some(bytes) => bytes.clone(),
            None => read(&name),
        };
        if let Ok(envelope) = serde_json::from_slice::<Envelope>(&bytes) {
            out.insert(name.replace(".json", ".pb"), encode_protobuf(&envelope));
        }
    }
    for (name, bytes) in generated_json {
        if let Ok(envelope) = serde_json::from_slice::<Envelope>(&bytes) {
            out.insert(name.replace(".json", ".pb"), encode_protobuf(&envelope));
        }
    }

    // --- protobuf-only inputs
    let lead_pb = |f: &dyn Fn(&mut v1::Envelope)| -> Vec<u8> {
        let envelope: Envelope =
            serde_json::from_slice(&read("ok/lead_created.json")).expect("ok lead");
        let mut message = v1::Envelope::decode(encode_protobuf(&envelope).as_slice())
            .expect("own encoding decodes");
        f(&mut message);
        message.encode_to_vec()
    };
    let with_payload = |payload: v1::envelope::Payload| {
        lead_pb(&move |m: &mut v1::Envelope| m.payload = Some(payload.clone()))
    };
    let touch = v1::TouchRecorded {
        person_id: "p-1".into(),
        campaign_id: "webinar-q1".into(),
        touch_type: v1::TouchType::FormFill as i32,
        status: v1::TouchStatus::Responded as i32,
        asset: String::new(),
        topic: String::new(),
    };
    use v1::envelope::Payload as P;
    out.insert(
        "ok/lead_routed_owner_kind_unspecified.pb".into(),
        with_payload(P::LeadRouted(v1::LeadRouted {
            person_id: "p-1".into(),
            owner_id: "rep-7".into(),
            owner_kind: v1::OwnerKind::Unspecified as i32,
            rule: String::new(),
            reason: String::new(),
        })),
    );
    let mut unknown_fields = lead_pb(&|_| {});
    // field 100 varint 7; field 101 length-delimited "hi"; field 102 fixed64; a group.
    unknown_fields.extend([0xa0, 0x06, 0x07]);
    unknown_fields.extend([0xaa, 0x06, 0x02, b'h', b'i']);
    unknown_fields.extend([0xb1, 0x06, 1, 2, 3, 4, 5, 6, 7, 8]);
    unknown_fields.extend([0xbb, 0x06, 0x08, 0x01, 0xbc, 0x06]);
    out.insert("ok/unknown_fields.pb".into(), unknown_fields);
    out.insert("bad/empty.pb".into(), Vec::new());
    out.insert(
        "bad/no_payload.pb".into(),
        lead_pb(&|m: &mut v1::Envelope| m.payload = None),
    );
    let whole = lead_pb(&|_| {});
    out.insert("bad/truncated.pb".into(), whole[..whole.len() / 2].to_vec());
    out.insert(
        "bad/truncated_one_byte_short.pb".into(),
        whole[..whole.len() - 1].to_vec(),
    );
    // event_id "evt-\xff-1": not UTF-8.
    let mut bad_utf8 = vec![0x0a, 7];
    bad_utf8.extend_from_slice(b"evt-\xff-1");
    bad_utf8.extend_from_slice(&whole);
    out.insert("bad/event_id_invalid_utf8.pb".into(), bad_utf8);
    out.insert(
        "bad/touch_type_unknown_value.pb".into(),
        with_payload(P::TouchRecorded(v1::TouchRecorded {
            touch_type: 99,
            ..touch.clone()
        })),
    );
    out.insert(
        "bad/touch_type_unspecified.pb".into(),
        with_payload(P::TouchRecorded(v1::TouchRecorded {
            touch_type: 0,
            ..touch.clone()
        })),
    );
    out.insert(
        "bad/touch_status_negative.pb".into(),
        with_payload(P::TouchRecorded(v1::TouchRecorded {
            status: -1,
            ..touch.clone()
        })),
    );
    out.insert(
        "bad/lead_status_unknown_value.pb".into(),
        with_payload(P::LeadUpdated(v1::LeadUpdated {
            person_id: "p-1".into(),
            owner_id: None,
            status: i32::MAX,
            qualification: None,
        })),
    );
    out.insert(
        "bad/owner_kind_unknown_value.pb".into(),
        with_payload(P::LeadRouted(v1::LeadRouted {
            person_id: "p-1".into(),
            owner_id: "rep-7".into(),
            owner_kind: 3,
            rule: String::new(),
            reason: String::new(),
        })),
    );
    out.insert(
        "bad/opportunity_closed_without_amount.pb".into(),
        with_payload(P::OpportunityClosed(v1::OpportunityClosed {
            opportunity_id: "opp-1".into(),
            won: true,
            amount: None,
            partner_id: String::new(),
        })),
    );
    out.insert(
        "bad/cost_without_money.pb".into(),
        with_payload(P::CampaignCostRecorded(v1::CampaignCostRecorded {
            campaign_id: "webinar-q1".into(),
            cost: None,
            description: String::new(),
        })),
    );
    // 100,000 nested groups of an unknown field: prost's recursion limit.
    out.insert("bad/nested_groups.pb".into(), [0xfb, 0x01].repeat(100_000));
    // event_id (field 1) sent as a varint.
    out.insert("bad/wrong_wire_type.pb".into(), vec![0x08, 0x01]);
    // occurred_at_ms as an 11-byte varint.
    out.insert(
        "bad/overlong_varint.pb".into(),
        vec![
            0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ],
    );
    // event_id claims 2^31 bytes.
    out.insert(
        "bad/length_past_end.pb".into(),
        vec![0x0a, 0x80, 0x80, 0x80, 0x80, 0x08, b'x'],
    );
    out
}

// -------------------------------------------------------------- invariants

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

// ------------------------------------------------------------ field visitor

/// The bound class of a string field (issue 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Identifiers: at most 256 bytes, no control characters.
    Id,
    /// Names, codes and labels: at most 1024 bytes.
    Short,
    /// Free text (descriptions, outcomes, reasons): at most 4096 bytes.
    Long,
    /// ISO 4217, validated as three upper-case letters.
    Currency,
}

impl Kind {
    pub fn max_len(self) -> usize {
        match self {
            Kind::Id => 256,
            Kind::Short => 1024,
            Kind::Long => 4096,
            Kind::Currency => 3,
        }
    }
}

/// One field of an envelope, named as `InvalidEvent::field` names it.
#[derive(Debug)]
pub enum Field<'a> {
    Str {
        name: &'static str,
        kind: Kind,
        value: &'a mut String,
    },
    Time {
        name: &'static str,
        value: &'a mut Timestamp,
    },
    Amount {
        name: &'static str,
        /// Whether validation allows it below zero (refunds, credit notes).
        signed: bool,
        value: &'a mut i64,
    },
    Percent {
        name: &'static str,
        value: &'a mut u32,
    },
}

/// Calls `f` with every string, timestamp, amount and probability of an
/// envelope (optional ones when present). The structs are destructured without
/// `..`, so a field added to the vocabulary does not compile until it is
/// classified here.
pub fn visit(envelope: &mut Envelope, f: &mut dyn FnMut(Field<'_>)) {
    use Kind::*;
    macro_rules! s {
        ($name:literal, $kind:expr, $value:expr) => {
            f(Field::Str {
                name: $name,
                kind: $kind,
                value: $value,
            })
        };
    }
    macro_rules! t {
        ($name:literal, $value:expr) => {
            f(Field::Time {
                name: $name,
                value: $value,
            })
        };
    }
    macro_rules! money {
        ($name:literal, $currency:literal, $signed:expr, $m:expr) => {{
            let touchline_core::Money {
                amount_minor,
                currency,
            } = $m;
            f(Field::Amount {
                name: $name,
                signed: $signed,
                value: amount_minor,
            });
            s!($currency, Currency, currency);
        }};
    }
    let Envelope {
        event_id,
        occurred_at,
        recorded_at,
        source_system,
        event,
    } = envelope;
    s!("event_id", Id, event_id);
    t!("occurred_at", occurred_at);
    t!("recorded_at", recorded_at);
    s!("source_system", Id, source_system);
    match event {
        Event::CampaignUpserted(touchline_core::CampaignUpserted {
            campaign_id,
            name,
            channel,
            medium,
            source,
            ad_code,
            campaign_type: _,
            parent_campaign_id,
            starts_at,
            ends_at,
            planned_cost,
        }) => {
            s!("payload.campaign_id", Id, campaign_id);
            s!("payload.name", Short, name);
            s!("payload.channel", Short, channel);
            s!("payload.medium", Short, medium);
            s!("payload.source", Short, source);
            s!("payload.ad_code", Short, ad_code);
            s!("payload.parent_campaign_id", Id, parent_campaign_id);
            t!("payload.starts_at", starts_at);
            if let Some(ends_at) = ends_at {
                t!("payload.ends_at", ends_at);
            }
            if let Some(cost) = planned_cost {
                money!(
                    "payload.planned_cost.amount_minor",
                    "payload.planned_cost.currency",
                    false,
                    cost
                );
            }
        }
        Event::CampaignCostRecorded(touchline_core::CampaignCostRecorded {
            campaign_id,
            cost,
            description,
        }) => {
            s!("payload.campaign_id", Id, campaign_id);
            money!(
                "payload.cost.amount_minor",
                "payload.cost.currency",
                true,
                cost
            );
            s!("payload.description", Long, description);
        }
        Event::LeadCreated(touchline_core::LeadCreated {
            person_id,
            email,
            phone,
            first_name,
            last_name,
            company,
            account_id,
            source,
            owner_id,
        }) => {
            s!("payload.person_id", Id, person_id);
            s!("payload.email", Short, email);
            s!("payload.phone", Short, phone);
            s!("payload.first_name", Short, first_name);
            s!("payload.last_name", Short, last_name);
            s!("payload.company", Short, company);
            s!("payload.account_id", Id, account_id);
            if let Some(touchline_core::LeadSource {
                campaign_id,
                ad_code,
                medium,
                source,
            }) = source
            {
                s!("payload.source.campaign_id", Id, campaign_id);
                s!("payload.source.ad_code", Short, ad_code);
                s!("payload.source.medium", Short, medium);
                s!("payload.source.source", Short, source);
            }
            s!("payload.owner_id", Id, owner_id);
        }
        Event::LeadUpdated(touchline_core::LeadUpdated {
            person_id,
            owner_id,
            status: _,
            qualification: _,
        }) => {
            s!("payload.person_id", Id, person_id);
            if let Some(owner_id) = owner_id {
                s!("payload.owner_id", Id, owner_id);
            }
        }
        Event::LeadConverted(touchline_core::LeadConverted {
            person_id,
            account_id,
            opportunity_id,
        }) => {
            s!("payload.person_id", Id, person_id);
            s!("payload.account_id", Id, account_id);
            s!("payload.opportunity_id", Id, opportunity_id);
        }
        Event::FollowUpLogged(touchline_core::FollowUpLogged {
            person_id,
            method: _,
            outcome,
            next_due_at,
            owner_id,
        }) => {
            s!("payload.person_id", Id, person_id);
            s!("payload.outcome", Long, outcome);
            if let Some(next_due_at) = next_due_at {
                t!("payload.next_due_at", next_due_at);
            }
            s!("payload.owner_id", Id, owner_id);
        }
        Event::TouchRecorded(touchline_core::TouchRecorded {
            person_id,
            campaign_id,
            touch_type: _,
            status: _,
            asset,
            topic,
        }) => {
            s!("payload.person_id", Id, person_id);
            s!("payload.campaign_id", Id, campaign_id);
            s!("payload.asset", Short, asset);
            s!("payload.topic", Short, topic);
        }
        Event::OpportunityCreated(touchline_core::OpportunityCreated {
            opportunity_id,
            account_id,
            name,
            stage,
            amount,
            probability_pct,
            expected_close_at,
            primary_contact_id,
            owner_id,
            partner_id,
        }) => {
            s!("payload.opportunity_id", Id, opportunity_id);
            s!("payload.account_id", Id, account_id);
            s!("payload.name", Short, name);
            s!("payload.stage", Short, stage);
            money!(
                "payload.amount.amount_minor",
                "payload.amount.currency",
                false,
                amount
            );
            f(Field::Percent {
                name: "payload.probability_pct",
                value: probability_pct,
            });
            if let Some(expected_close_at) = expected_close_at {
                t!("payload.expected_close_at", expected_close_at);
            }
            s!("payload.primary_contact_id", Id, primary_contact_id);
            s!("payload.owner_id", Id, owner_id);
            s!("payload.partner_id", Id, partner_id);
        }
        Event::OpportunityUpdated(touchline_core::OpportunityUpdated {
            opportunity_id,
            stage,
            amount,
            probability_pct,
            expected_close_at,
        }) => {
            s!("payload.opportunity_id", Id, opportunity_id);
            if let Some(stage) = stage {
                s!("payload.stage", Short, stage);
            }
            if let Some(amount) = amount {
                money!(
                    "payload.amount.amount_minor",
                    "payload.amount.currency",
                    false,
                    amount
                );
            }
            if let Some(probability_pct) = probability_pct {
                f(Field::Percent {
                    name: "payload.probability_pct",
                    value: probability_pct,
                });
            }
            if let Some(expected_close_at) = expected_close_at {
                t!("payload.expected_close_at", expected_close_at);
            }
        }
        Event::OpportunityContactRoleAdded(touchline_core::OpportunityContactRoleAdded {
            opportunity_id,
            person_id,
            role,
        }) => {
            s!("payload.opportunity_id", Id, opportunity_id);
            s!("payload.person_id", Id, person_id);
            s!("payload.role", Short, role);
        }
        Event::OpportunityClosed(touchline_core::OpportunityClosed {
            opportunity_id,
            won: _,
            amount,
            partner_id,
        }) => {
            s!("payload.opportunity_id", Id, opportunity_id);
            money!(
                "payload.amount.amount_minor",
                "payload.amount.currency",
                false,
                amount
            );
            s!("payload.partner_id", Id, partner_id);
        }
        Event::AccountUpserted(touchline_core::AccountUpserted {
            account_id,
            name,
            industry,
            owner_id,
            parent_account_id,
        }) => {
            s!("payload.account_id", Id, account_id);
            s!("payload.name", Short, name);
            s!("payload.industry", Short, industry);
            s!("payload.owner_id", Id, owner_id);
            s!("payload.parent_account_id", Id, parent_account_id);
        }
        Event::TransactionRecorded(touchline_core::TransactionRecorded {
            transaction_id,
            account_id,
            opportunity_id,
            amount,
            description,
        }) => {
            s!("payload.transaction_id", Id, transaction_id);
            s!("payload.account_id", Id, account_id);
            s!("payload.opportunity_id", Id, opportunity_id);
            money!(
                "payload.amount.amount_minor",
                "payload.amount.currency",
                true,
                amount
            );
            s!("payload.description", Long, description);
        }
        Event::PersonsMerged(touchline_core::PersonsMerged {
            surviving_person_id,
            merged_person_id,
            reason,
        }) => {
            s!("payload.surviving_person_id", Id, surviving_person_id);
            s!("payload.merged_person_id", Id, merged_person_id);
            s!("payload.reason", Long, reason);
        }
        Event::LeadRouted(touchline_core::LeadRouted {
            person_id,
            owner_id,
            owner_kind: _,
            rule,
            reason,
        }) => {
            s!("payload.person_id", Id, person_id);
            s!("payload.owner_id", Id, owner_id);
            s!("payload.rule", Short, rule);
            s!("payload.reason", Long, reason);
        }
    }
}

/// Every timestamp of an envelope that is set, with its name.
pub fn timestamps(envelope: &Envelope) -> Vec<(&'static str, Timestamp)> {
    let mut out = Vec::new();
    visit(&mut envelope.clone(), &mut |field| {
        if let Field::Time { name, value } = field {
            out.push((name, *value));
        }
    });
    out
}

// -------------------------------------------------------------- generators

/// Edge values of a signed 64-bit field: the type's ends, the bounds of issue 8
/// and what lies just outside them, and chrono's own range.
pub const EDGE_I64: [i64; 20] = [
    i64::MIN,
    i64::MIN + 1,
    -8_334_601_228_800_001, // just before chrono's earliest instant (year -262143)
    -62_167_219_200_001,    // 0000-01-01T00:00:00Z minus 1 ms
    -62_167_219_200_000,    // 0000-01-01T00:00:00Z
    -1_000_000_000_000_001,
    -1_000_000_000_000_000,
    -1,
    0,
    1,
    1_000_000_000_000_000,
    1_000_000_000_000_001,
    1_772_357_400_000,     // 2026-03-01T09:30:00Z
    253_402_300_799_999,   // 9999-12-31T23:59:59.999Z
    253_402_300_800_000,   // 10000-01-01T00:00:00Z
    8_210_266_876_799_999, // chrono's latest instant (year 262142)
    8_210_266_876_800_000,
    i64::MAX / 2,
    i64::MAX - 1,
    i64::MAX,
];

pub fn arb_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => prop::sample::select(EDGE_I64.to_vec()),
        3 => 0i64..4_102_444_800_000, // 1970 ..= 2100
        2 => any::<i64>(),
    ]
}

/// Strings that break things: empty, at and past every length bound (in ASCII
/// and in multi-byte characters that straddle the bound), control characters
/// (C0, DEL, C1), invisible and bidirectional unicode, and arbitrary chars.
pub fn arb_nasty_string() -> impl Strategy<Value = String> {
    let fixed: Vec<String> = vec![
        String::new(),
        " ".into(),
        "x".repeat(255),
        "x".repeat(256),
        "x".repeat(257),
        "é".repeat(128),                   // 256 bytes
        "é".repeat(129),                   // 258 bytes
        "🦀".repeat(64),                   // 256 bytes
        "a".to_owned() + &"🦀".repeat(64), // 257 bytes, the cut inside a char
        "x".repeat(1024),
        "x".repeat(1025),
        "x".repeat(4096),
        "x".repeat(4097),
        "x".repeat(70_000),
        "\u{0}".into(),
        "a\u{0}b".into(),
        "line\nbreak".into(),
        "tab\there".into(),
        "\r\n".into(),
        "\u{7}".into(),
        "\u{1b}[31mred".into(),
        "\u{7f}".into(),
        "\u{85}".into(),
        "\u{9f}".into(),
        "\u{2028}\u{2029}".into(),
        "\u{202e}rtl".into(),
        "\u{200b}".into(),
        "\u{feff}".into(),
        "\u{fffd}".into(),
        "a\u{301}".into(),
        "日本語".into(),
        "🦀".into(),
        "touchline:routed:evt-1".into(),
        "touchline:".into(),
        "EUR".into(),
        "eur".into(),
        "EURO".into(),
        "ÜSD".into(),
        "E\u{0}R".into(),
        "2026-03-01T09:30:00Z".into(),
        "null".into(),
        "\"".into(),
        "\\".into(),
    ];
    prop_oneof![
        3 => prop::sample::select(fixed),
        2 => prop::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter),
        1 => ("[a-z]{1,4}", 0usize..600).prop_map(|(unit, n)| unit.repeat(n)),
    ]
}

/// Mostly the kind of id a real producer sends, sometimes a nasty one.
pub fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z][a-z0-9-]{0,11}",
        1 => Just(String::new()),
        2 => arb_nasty_string(),
    ]
}

pub fn arb_currency() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["EUR", "USD", "GBP", "JPY"]).prop_map(String::from),
        1 => arb_nasty_string(),
    ]
}

pub fn arb_money() -> impl Strategy<Value = v1::Money> {
    (
        prop_oneof![3 => 0i64..100_000_000, 2 => arb_i64()],
        arb_currency(),
    )
        .prop_map(|(amount_minor, currency)| v1::Money {
            amount_minor,
            currency,
        })
}

/// An enum field: mostly a known value, sometimes 0 (UNSPECIFIED), one past the
/// end, negative or huge.
pub fn arb_enum(known: i32) -> impl Strategy<Value = i32> {
    prop_oneof![
        6 => 1..=known,
        1 => Just(0),
        1 => prop::sample::select(vec![known + 1, -1, i32::MIN, i32::MAX]),
    ]
}

pub fn arb_percent() -> impl Strategy<Value = u32> {
    prop_oneof![
        4 => 0u32..=100,
        1 => prop::sample::select(vec![101, 1000, u32::MAX]),
    ]
}

fn arb_ts() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => 1_600_000_000_000i64..1_900_000_000_000,
        2 => arb_i64(),
    ]
}

/// A structurally valid protobuf envelope of any event type, with field values
/// from the generators above (so mostly plausible, sometimes at an edge).
pub fn arb_proto_envelope() -> impl Strategy<Value = v1::Envelope> {
    use v1::envelope::Payload as P;
    let s = arb_string;
    let payload = prop_oneof![
        (
            (s(), s(), s(), s(), s(), s()),
            (arb_enum(12), s(), arb_ts(), prop::option::of(arb_ts())),
            prop::option::of(arb_money()),
        )
            .prop_map(
                |(
                    (campaign_id, name, channel, medium, source, ad_code),
                    (r#type, parent_campaign_id, starts_at_ms, ends_at_ms),
                    planned_cost,
                )| P::CampaignUpserted(v1::CampaignUpserted {
                    campaign_id,
                    name,
                    channel,
                    medium,
                    source,
                    ad_code,
                    r#type,
                    parent_campaign_id,
                    starts_at_ms,
                    ends_at_ms,
                    planned_cost,
                })
            ),
        (s(), prop::option::of(arb_money()), s()).prop_map(|(campaign_id, cost, description)| {
            P::CampaignCostRecorded(v1::CampaignCostRecorded {
                campaign_id,
                cost,
                description,
            })
        }),
        (
            (s(), s(), s(), s(), s(), s()),
            (s(), prop::option::of((s(), s(), s(), s())), s()),
        )
            .prop_map(
                |(
                    (person_id, email, phone, first_name, last_name, company),
                    (account_id, source, owner_id),
                )| {
                    P::LeadCreated(v1::LeadCreated {
                        person_id,
                        email,
                        phone,
                        first_name,
                        last_name,
                        company,
                        account_id,
                        source: source.map(|(campaign_id, ad_code, medium, source)| {
                            v1::LeadSource {
                                campaign_id,
                                ad_code,
                                medium,
                                source,
                            }
                        }),
                        owner_id,
                    })
                }
            ),
        (
            s(),
            prop::option::of(s()),
            prop_oneof![Just(0), arb_enum(5)],
            prop::option::of((
                prop::option::of(any::<bool>()),
                prop::option::of(any::<bool>()),
                prop::option::of(any::<bool>())
            )),
        )
            .prop_map(|(person_id, owner_id, status, qualification)| {
                P::LeadUpdated(v1::LeadUpdated {
                    person_id,
                    owner_id,
                    status,
                    qualification: qualification.map(|(need, budget, authority)| {
                        v1::Qualification {
                            need,
                            budget,
                            authority,
                        }
                    }),
                })
            }),
        (s(), s(), s()).prop_map(|(person_id, account_id, opportunity_id)| {
            P::LeadConverted(v1::LeadConverted {
                person_id,
                account_id,
                opportunity_id,
            })
        }),
        (s(), arb_enum(4), s(), prop::option::of(arb_ts()), s()).prop_map(
            |(person_id, method, outcome, next_due_at_ms, owner_id)| {
                P::FollowUpLogged(v1::FollowUpLogged {
                    person_id,
                    method,
                    outcome,
                    next_due_at_ms,
                    owner_id,
                })
            }
        ),
        (s(), s(), arb_enum(15), arb_enum(2), s(), s()).prop_map(
            |(person_id, campaign_id, touch_type, status, asset, topic)| {
                P::TouchRecorded(v1::TouchRecorded {
                    person_id,
                    campaign_id,
                    touch_type,
                    status,
                    asset,
                    topic,
                })
            }
        ),
        (
            (s(), s(), s(), s(), prop::option::of(arb_money())),
            (
                arb_percent(),
                prop_oneof![Just(0i64), arb_ts()],
                s(),
                s(),
                s()
            ),
        )
            .prop_map(
                |(
                    (opportunity_id, account_id, name, stage, amount),
                    (
                        probability_pct,
                        expected_close_at_ms,
                        primary_contact_id,
                        owner_id,
                        partner_id,
                    ),
                )| {
                    P::OpportunityCreated(v1::OpportunityCreated {
                        opportunity_id,
                        account_id,
                        name,
                        stage,
                        amount,
                        probability_pct,
                        expected_close_at_ms,
                        primary_contact_id,
                        owner_id,
                        partner_id,
                    })
                }
            ),
        (
            s(),
            prop::option::of(s()),
            prop::option::of(arb_money()),
            prop::option::of(arb_percent()),
            prop::option::of(prop_oneof![Just(0i64), arb_ts()]),
        )
            .prop_map(
                |(opportunity_id, stage, amount, probability_pct, expected_close_at_ms)| {
                    P::OpportunityUpdated(v1::OpportunityUpdated {
                        opportunity_id,
                        stage,
                        amount,
                        probability_pct,
                        expected_close_at_ms,
                    })
                }
            ),
        (s(), s(), s()).prop_map(|(opportunity_id, person_id, role)| {
            P::OpportunityContactRoleAdded(v1::OpportunityContactRoleAdded {
                opportunity_id,
                person_id,
                role,
            })
        }),
        (s(), any::<bool>(), prop::option::of(arb_money()), s()).prop_map(
            |(opportunity_id, won, amount, partner_id)| {
                P::OpportunityClosed(v1::OpportunityClosed {
                    opportunity_id,
                    won,
                    amount,
                    partner_id,
                })
            }
        ),
        (s(), s(), s(), s(), s()).prop_map(
            |(account_id, name, industry, owner_id, parent_account_id)| {
                P::AccountUpserted(v1::AccountUpserted {
                    account_id,
                    name,
                    industry,
                    owner_id,
                    parent_account_id,
                })
            }
        ),
        (s(), s(), s(), prop::option::of(arb_money()), s()).prop_map(
            |(transaction_id, account_id, opportunity_id, amount, description)| {
                P::TransactionRecorded(v1::TransactionRecorded {
                    transaction_id,
                    account_id,
                    opportunity_id,
                    amount,
                    description,
                })
            }
        ),
        (s(), s(), s()).prop_map(|(surviving_person_id, merged_person_id, reason)| {
            P::PersonsMerged(v1::PersonsMerged {
                surviving_person_id,
                merged_person_id,
                reason,
            })
        }),
        (s(), s(), arb_enum(2), s(), s()).prop_map(
            |(person_id, owner_id, owner_kind, rule, reason)| {
                P::LeadRouted(v1::LeadRouted {
                    person_id,
                    owner_id,
                    owner_kind,
                    rule,
                    reason,
                })
            }
        ),
    ];
    (
        s(),
        arb_ts(),
        arb_ts(),
        s(),
        prop_oneof![20 => payload.prop_map(Some), 1 => Just(None)],
    )
        .prop_map(
            |(event_id, occurred_at_ms, recorded_at_ms, source_system, payload)| v1::Envelope {
                event_id,
                occurred_at_ms,
                recorded_at_ms,
                source_system,
                payload,
            },
        )
}

// ----------------------------------------------------------- byte mutation

/// Generated bytes that print readably in a failure: as text, escaped, cut
/// after 4000 bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Input(pub Vec<u8>);

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = &self.0[..self.0.len().min(4000)];
        write!(f, "{} bytes: b\"{}\"", self.0.len(), shown.escape_ascii())?;
        if shown.len() < self.0.len() {
            f.write_str("...")?;
        }
        Ok(())
    }
}

/// One edit of a byte string; positions are drawn relative to its length.
#[derive(Debug, Clone)]
pub enum ByteEdit {
    FlipBit(Index, u8),
    Set(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Truncate(Index),
    /// Copies a slice of another seed into this one.
    Splice(Index, Index, Index, usize),
    /// Repeats a slice of itself in place.
    Repeat(Index, usize, usize),
}

/// Bytes that mean something to one of the decoders: JSON punctuation, varint
/// continuation, the wire types, UTF-8 lead bytes.
const MAGIC_BYTES: [u8; 20] = [
    0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0xc0, 0xed, 0xf4, b'"', b'\\', b'{', b'}', b'[', b']',
    b':', b',', b'0', b'-', b'e',
];

fn arb_byte() -> impl Strategy<Value = u8> {
    prop_oneof![prop::sample::select(MAGIC_BYTES.to_vec()), any::<u8>()]
}

pub fn arb_byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        3 => (any::<Index>(), 0u8..8).prop_map(|(i, bit)| ByteEdit::FlipBit(i, bit)),
        3 => (any::<Index>(), arb_byte()).prop_map(|(i, b)| ByteEdit::Set(i, b)),
        2 => (any::<Index>(), prop::collection::vec(arb_byte(), 1..8))
            .prop_map(|(i, bytes)| ByteEdit::Insert(i, bytes)),
        2 => (any::<Index>(), 1usize..32).prop_map(|(i, n)| ByteEdit::Delete(i, n)),
        1 => any::<Index>().prop_map(ByteEdit::Truncate),
        1 => (any::<Index>(), any::<Index>(), any::<Index>(), 1usize..64)
            .prop_map(|(at, seed, from, n)| ByteEdit::Splice(at, seed, from, n)),
        1 => (any::<Index>(), 1usize..16, 2usize..64)
            .prop_map(|(i, n, times)| ByteEdit::Repeat(i, n, times)),
    ]
}

pub fn apply_byte_edit(bytes: &mut Vec<u8>, edit: &ByteEdit) {
    let pos = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
    match edit {
        ByteEdit::FlipBit(i, bit) if !bytes.is_empty() => {
            let at = i.index(bytes.len());
            bytes[at] ^= 1 << bit;
        }
        ByteEdit::Set(i, b) if !bytes.is_empty() => {
            let at = i.index(bytes.len());
            bytes[at] = *b;
        }
        ByteEdit::Insert(i, new) => {
            let at = pos(i, bytes.len());
            bytes.splice(at..at, new.iter().copied());
        }
        ByteEdit::Delete(i, n) if !bytes.is_empty() => {
            let at = i.index(bytes.len());
            let end = (at + n).min(bytes.len());
            bytes.drain(at..end);
        }
        ByteEdit::Truncate(i) => {
            let at = pos(i, bytes.len());
            bytes.truncate(at);
        }
        ByteEdit::Splice(at, seed, from, n) => {
            let seeds = byte_seeds();
            let other = &seeds[seed.index(seeds.len())];
            if !other.is_empty() {
                let start = from.index(other.len());
                let end = (start + n).min(other.len());
                let at = pos(at, bytes.len());
                bytes.splice(at..at, other[start..end].iter().copied());
            }
        }
        ByteEdit::Repeat(i, n, times) if !bytes.is_empty() => {
            let at = i.index(bytes.len());
            let end = (at + n).min(bytes.len());
            let chunk = bytes[at..end].to_vec();
            let copies: Vec<u8> = chunk.repeat(*times);
            bytes.splice(end..end, copies);
        }
        _ => {}
    }
}

/// Arbitrary bytes: pure noise, or a corpus file (either format) with a few
/// edits, which gets much deeper into both decoders than noise does.
pub fn arb_bytes() -> impl Strategy<Value = Input> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..256),
        4 => (any::<Index>(), prop::collection::vec(arb_byte_edit(), 1..6)).prop_map(
            |(seed, edits)| {
                let seeds = byte_seeds();
                let mut bytes = seeds[seed.index(seeds.len())].clone();
                for edit in &edits {
                    apply_byte_edit(&mut bytes, edit);
                }
                bytes
            }
        ),
    ]
    .prop_map(Input)
}

// ----------------------------------------------------------- JSON mutation

/// JSON literals a `serde_json::Value` cannot hold (numbers past f64 and u64,
/// lone surrogates, bare words); planted as marker strings and substituted in
/// the text.
pub fn raw_literals() -> &'static [String] {
    static RAW: OnceLock<Vec<String>> = OnceLock::new();
    RAW.get_or_init(|| {
        let digits400 = format!("1{}", "0".repeat(399));
        vec![
            digits400.clone(),
            format!("-{digits400}"),
            format!("0.{digits400}"),
            format!("{digits400}e-399"),
            "1e400".into(),
            "-1e400".into(),
            "1e-400".into(),
            "9223372036854775808".into(),
            "-9223372036854775809".into(),
            "18446744073709551616".into(),
            "1770000000000.0".into(),
            "1.77e12".into(),
            "-0".into(),
            "1E+2".into(),
            "\"\\ud800\"".into(),
            "\"\\udc00\\ud800\"".into(),
            "\"\\u0000\"".into(),
            "NaN".into(),
            "Infinity".into(),
            "tru".into(),
            "01".into(),
            "[".repeat(127) + &"]".repeat(127),
            "[".repeat(129) + &"]".repeat(129),
            "{\"a\":".repeat(130) + "0" + &"}".repeat(130),
        ]
    })
}

const RAW_MARKER: &str = "\u{1}raw-literal:";

/// Values to put where a field was: every JSON type, extreme numbers, floats,
/// timestamps written as text in every way, enum spellings, garbage.
pub fn arb_json_value() -> impl Strategy<Value = Value> {
    use serde_json::json;
    let fixed: Vec<Value> = vec![
        Value::Null,
        json!(true),
        json!(false),
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(-1),
        json!(0),
        json!(1),
        json!(100),
        json!(101),
        json!(1_000_000_000_000_000i64),
        json!(1_000_000_000_000_001i64),
        json!(-1_000_000_000_000_001i64),
        json!(253_402_300_799_999i64),
        json!(253_402_300_800_000i64),
        json!(8_210_266_876_800_000i64),
        json!(0.5),
        json!(-0.0),
        json!(1e300),
        json!(9.3e18),
        json!(1.0),
        json!(f64::MIN_POSITIVE),
        json!(1_772_357_400_000.0),
        json!("2026-03-01"),
        json!("2026-03-01T09:30:00.123456789Z"),
        json!("2026-03-01T09:30:00+14:00"),
        json!("2026-03-01T09:30:00-23:59"),
        json!("2026-03-01 09:30:00Z"),
        json!("2026-03-01t09:30:00z"),
        json!("2026-03-01T09:30:00"),
        json!("1970-01-01T00:00:00Z"),
        json!("1970-01-01T00:00:00.001Z"),
        json!("1969-12-31T23:59:59.999Z"),
        json!("0000-01-01T00:00:00Z"),
        json!("0001-01-01T00:00:00+01:00"),
        json!("9999-12-31T23:59:59.999Z"),
        json!("9999-12-31T23:59:59.999-01:00"),
        json!("+10000-01-01T00:00:00Z"),
        json!("+262143-12-31T23:59:59Z"),
        json!("2016-12-31T23:59:60Z"),
        json!("+10000-01-01"),
        json!("-0001-01-01"),
        json!("+262142-12-31"),
        json!("0000-01-01"),
        json!("1969-12-31"),
        json!("9999-12-31"),
        json!("2026-02-30"),
        json!("2026-13-01"),
        json!("yesterday"),
        json!("@9223372036854775807ms"),
        json!("1770000000000"),
        json!("form_fill"),
        json!("FormFill"),
        json!("FORM_FILL"),
        json!("TOUCH_TYPE_FORM_FILL"),
        json!("responded"),
        json!("email"),
        json!("partner"),
        json!("internal"),
        json!("qualified"),
        json!("call"),
        json!("webinar"),
        json!([]),
        json!({}),
        json!([1, 2, 3]),
        json!(["lead_created"]),
        json!({"amount_minor": 100, "currency": "EUR"}),
        json!({"amount_minor": i64::MAX, "currency": "EUR"}),
        json!({"amount_minor": i64::MIN, "currency": "USD"}),
        json!({"amount_minor": 1.5, "currency": "EUR"}),
        json!({"amount_minor": "100", "currency": "EUR"}),
        json!({"need": "yes"}),
        json!({"type": "lead_created", "person_id": "p-1"}),
        json!({"a": {"b": [null, {"c": []}]}}),
    ];
    let raw = (0..raw_literals().len())
        .map(|i| Value::String(format!("{RAW_MARKER}{i}")))
        .collect::<Vec<_>>();
    prop_oneof![
        6 => prop::sample::select(fixed),
        3 => arb_nasty_string().prop_map(Value::String),
        2 => prop::sample::select(raw),
        2 => any::<Index>().prop_map(|i| {
            let leaves = json_leaves();
            leaves[i.index(leaves.len())].clone()
        }),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        1 => (1usize..140).prop_map(|depth| {
            let mut v = Value::Null;
            for _ in 0..depth {
                v = Value::Array(vec![v]);
            }
            v
        }),
    ]
}

pub fn arb_json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<Index>().prop_map(|i| {
            let keys = json_keys();
            keys[i.index(keys.len())].clone()
        }),
        1 => prop::sample::select(vec![
            "", "type", "Type", "TYPE", "event_id ", "eventId", "payload", "\u{0}", "__proto__",
        ])
        .prop_map(String::from),
        1 => "[a-z_]{1,12}",
    ]
}

pub fn arb_type_tag() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::sample::select(EVENT_TYPES.to_vec()).prop_map(Value::from),
        1 => prop::sample::select(vec![
            "", "LeadCreated", "lead-created", "LEAD_CREATED", "lead_teleported", " lead_created",
            "lead_created\u{0}", "leadcreated", "Touch_Recorded", "lead_created ",
        ])
        .prop_map(Value::from),
        1 => arb_json_value(),
    ]
}

/// One structural edit of a JSON document.
#[derive(Debug, Clone)]
pub enum JsonEdit {
    /// Drops the node at a position (a field or an array item).
    Remove(Index),
    /// Renames the key of the node at a position.
    Rename(Index, String),
    /// Replaces the node at a position.
    Replace(Index, Value),
    /// Adds a key to the object at a position (or to its parent object).
    Insert(Index, String, Value),
    /// Sets `payload.type`.
    Retag(Value),
    /// Takes the payload of another seed, keeping this one's `type` tag.
    SwapPayload(Index),
}

pub fn arb_json_edit() -> impl Strategy<Value = JsonEdit> {
    prop_oneof![
        3 => any::<Index>().prop_map(JsonEdit::Remove),
        2 => (any::<Index>(), arb_json_key()).prop_map(|(i, k)| JsonEdit::Rename(i, k)),
        6 => (any::<Index>(), arb_json_value()).prop_map(|(i, v)| JsonEdit::Replace(i, v)),
        2 => (any::<Index>(), arb_json_key(), arb_json_value())
            .prop_map(|(i, k, v)| JsonEdit::Insert(i, k, v)),
        2 => arb_type_tag().prop_map(JsonEdit::Retag),
        1 => any::<Index>().prop_map(JsonEdit::SwapPayload),
    ]
}

/// A path to a node: object keys and array positions.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Item(usize),
}

fn paths(value: &Value, prefix: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                prefix.push(Step::Key(k.clone()));
                out.push(prefix.clone());
                paths(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            // Deeply nested arrays from the generators would make this quadratic.
            for (i, v) in items.iter().enumerate().take(8) {
                prefix.push(Step::Item(i));
                out.push(prefix.clone());
                if prefix.len() < 16 {
                    paths(v, prefix, out);
                }
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn parent_mut<'a>(root: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut node = root;
    for step in &path[..path.len().saturating_sub(1)] {
        node = match (step, node) {
            (Step::Key(k), Value::Object(map)) => map.get_mut(k)?,
            (Step::Item(i), Value::Array(items)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

pub fn apply_json_edit(root: &mut Value, edit: &JsonEdit) {
    let mut all = Vec::new();
    paths(root, &mut Vec::new(), &mut all);
    let pick = |i: &Index| (!all.is_empty()).then(|| all[i.index(all.len())].clone());
    match edit {
        JsonEdit::Remove(i) => {
            if let Some(path) = pick(i)
                && let Some(parent) = parent_mut(root, &path)
            {
                match (path.last(), parent) {
                    (Some(Step::Key(k)), Value::Object(map)) => {
                        map.shift_remove(k);
                    }
                    (Some(Step::Item(n)), Value::Array(items)) if *n < items.len() => {
                        items.remove(*n);
                    }
                    _ => {}
                }
            }
        }
        JsonEdit::Rename(i, new) => {
            if let Some(path) = pick(i)
                && let Some(Value::Object(map)) = parent_mut(root, &path)
                && let Some(Step::Key(k)) = path.last()
                && let Some(v) = map.shift_remove(k)
            {
                map.insert(new.clone(), v);
            }
        }
        JsonEdit::Replace(i, new) => {
            if let Some(path) = pick(i)
                && let Some(parent) = parent_mut(root, &path)
            {
                match (path.last(), parent) {
                    (Some(Step::Key(k)), Value::Object(map)) => {
                        map.insert(k.clone(), new.clone());
                    }
                    (Some(Step::Item(n)), Value::Array(items)) if *n < items.len() => {
                        items[*n] = new.clone();
                    }
                    _ => {}
                }
            } else {
                *root = new.clone();
            }
        }
        JsonEdit::Insert(i, key, new) => {
            let target = match pick(i) {
                Some(mut path) => {
                    path.push(Step::Item(usize::MAX));
                    let node = parent_mut(root, &path);
                    match node {
                        Some(Value::Object(map)) => Some(map),
                        _ => None,
                    }
                }
                None => None,
            };
            match target {
                Some(map) => {
                    map.insert(key.clone(), new.clone());
                }
                None => {
                    if let Value::Object(map) = root {
                        map.insert(key.clone(), new.clone());
                    }
                }
            }
        }
        JsonEdit::Retag(tag) => {
            if let Some(Value::Object(payload)) = root.get_mut("payload") {
                payload.insert("type".into(), tag.clone());
            }
        }
        JsonEdit::SwapPayload(i) => {
            let seeds = json_seeds();
            let mut other = seeds[i.index(seeds.len())]["payload"].clone();
            if let (Some(tag), Value::Object(map)) =
                (root["payload"].get("type").cloned(), &mut other)
            {
                map.insert("type".into(), tag);
            }
            if let Value::Object(map) = root {
                map.insert("payload".into(), other);
            }
        }
    }
}

/// One edit of the JSON text, for what a `Value` cannot express.
#[derive(Debug, Clone)]
pub enum TextEdit {
    None,
    /// A key repeated: `{"k":v,` inserted after the n-th `{`.
    DuplicateKey(Index, String, Value),
    /// The whole document inside `n` arrays.
    Wrap(usize),
    /// A byte-level edit on top.
    Bytes(ByteEdit),
}

pub fn arb_text_edit() -> impl Strategy<Value = TextEdit> {
    prop_oneof![
        8 => Just(TextEdit::None),
        2 => (any::<Index>(), arb_json_key(), arb_json_value())
            .prop_map(|(i, k, v)| TextEdit::DuplicateKey(i, k, v)),
        1 => prop::sample::select(vec![1usize, 127, 128, 129, 5000]).prop_map(TextEdit::Wrap),
        2 => arb_byte_edit().prop_map(TextEdit::Bytes),
    ]
}

fn render(value: &Value) -> String {
    let mut text = serde_json::to_string(value).unwrap_or_default();
    if text.contains("\\u0001raw-literal:") {
        for (i, raw) in raw_literals().iter().enumerate().rev() {
            text = text.replace(&format!("\"\\u0001raw-literal:{i}\""), raw);
        }
    }
    text
}

pub fn apply_text_edit(text: String, edit: &TextEdit) -> Vec<u8> {
    match edit {
        TextEdit::None => text.into_bytes(),
        TextEdit::DuplicateKey(i, key, value) => {
            let opens: Vec<usize> = text.match_indices('{').map(|(at, _)| at).collect();
            if opens.is_empty() {
                return text.into_bytes();
            }
            let at = opens[i.index(opens.len())] + 1;
            let pair = format!(
                "{}:{},",
                serde_json::to_string(key).unwrap_or_default(),
                render(value)
            );
            let mut text = text;
            text.insert_str(at, &pair);
            text.into_bytes()
        }
        TextEdit::Wrap(n) => format!("{}{text}{}", "[".repeat(*n), "]".repeat(*n)).into_bytes(),
        TextEdit::Bytes(edit) => {
            let mut bytes = text.into_bytes();
            apply_byte_edit(&mut bytes, edit);
            bytes
        }
    }
}

/// JSON shaped like an envelope: an accepted corpus event with a few structural
/// edits (fields dropped, renamed, retyped, added; wrong or unknown type tags;
/// payloads of another type) and sometimes a textual one (duplicate keys, deep
/// nesting, bytes).
pub fn arb_envelope_json() -> impl Strategy<Value = Input> {
    (
        any::<Index>(),
        prop::collection::vec(arb_json_edit(), 0..6),
        arb_text_edit(),
    )
        .prop_map(|(seed, edits, text_edit)| {
            let seeds = json_seeds();
            let mut value = seeds[seed.index(seeds.len())].clone();
            for edit in &edits {
                apply_json_edit(&mut value, edit);
            }
            Input(apply_text_edit(render(&value), &text_edit))
        })
}

/// A domain envelope of any shape: the domain form of a protobuf message, or a
/// corpus event with one field set to a generated value (this reaches values
/// protobuf cannot carry, such as a close date at the epoch).
pub fn arb_domain_envelope() -> impl Strategy<Value = Envelope> {
    prop_oneof![
        arb_proto_envelope().prop_filter_map("no domain form", |m| domain_of(&m)),
        (
            any::<Index>(),
            any::<Index>(),
            arb_i64(),
            arb_string(),
            arb_percent()
        )
            .prop_map(|(seed, field, number, text, pct)| {
                let seeds: Vec<&CorpusFile> = corpus()
                    .iter()
                    .filter(|f| f.expect == Expect::Accepted && f.format == WireFormat::Protobuf)
                    .collect();
                let mut envelope =
                    decode(WireFormat::Protobuf, &seeds[seed.index(seeds.len())].bytes)
                        .expect("an ok seed");
                let mut count = 0;
                visit(&mut envelope, &mut |_| count += 1);
                let target = field.index(count);
                let mut at = 0;
                visit(&mut envelope, &mut |f| {
                    if at == target {
                        match f {
                            Field::Str { value, .. } => *value = text.clone(),
                            Field::Time { value, .. } => {
                                *value = touchline_core::Timestamp::from_millis(number)
                            }
                            Field::Amount { value, .. } => *value = number,
                            Field::Percent { value, .. } => *value = pct,
                        }
                    }
                    at += 1;
                });
                envelope
            }),
    ]
}

/// How deeply a JSON value nests.
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// The decoded domain form of a protobuf message, bypassing validation: what a
/// producer meant, to compare how both decoders judge it.
pub fn domain_of(message: &v1::Envelope) -> Option<Envelope> {
    decode_stored(&message.encode_to_vec()).ok()
}
