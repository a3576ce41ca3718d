//! The generators: plausible and nasty values, protobuf messages, byte and JSON
//! mutations of the corpus, domain envelopes.

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use prost::Message as _;
use serde_json::Value;
use touchline_core::Envelope;
use touchline_proto::{WireFormat, decode, decode_stored, v1};

use super::{
    CorpusFile, EVENT_TYPES, Expect, Field, byte_seeds, corpus, json_keys, json_leaves, json_seeds,
    visit,
};

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

/// The node holding the one at `path` (the root for a top-level field).
fn parent_mut<'a>(root: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    node_mut(root, &path[..path.len().saturating_sub(1)])
}

fn node_mut<'a>(root: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut node = root;
    for step in path {
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
            let at = pick(i).unwrap_or_default();
            let object_at = matches!(node_mut(root, &at), Some(Value::Object(_)));
            // Into the object at that position, else into the one holding it.
            let target = if object_at {
                node_mut(root, &at)
            } else {
                parent_mut(root, &at)
            };
            if let Some(Value::Object(map)) = target {
                map.insert(key.clone(), new.clone());
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
