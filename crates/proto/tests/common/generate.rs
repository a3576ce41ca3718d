//! The generators: plausible and nasty values, protobuf messages, domain
//! envelopes (the mutations of the corpus are in `mutate_bytes` and
//! `mutate_json`).

use proptest::prelude::*;
use proptest::sample::Index;
use prost::Message as _;
use touchline_core::Envelope;
use touchline_proto::{WireFormat, decode, decode_stored, v1};

use super::{CorpusFile, Expect, Field, corpus, visit};

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
        (
            (s(), s(), arb_enum(15), arb_enum(2), s(), s()),
            prop::option::of((arb_enum(2), s())),
        )
            .prop_map(
                |((person_id, campaign_id, touch_type, status, asset, topic), provenance)| {
                    P::TouchRecorded(v1::TouchRecorded {
                        person_id,
                        campaign_id,
                        touch_type,
                        status,
                        asset,
                        topic,
                        provenance: provenance
                            .map(|(origin, source)| v1::TouchProvenance { origin, source }),
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

/// The decoded domain form of a protobuf message, bypassing validation: what a
/// producer meant, to compare how both decoders judge it.
pub fn domain_of(message: &v1::Envelope) -> Option<Envelope> {
    decode_stored(&message.encode_to_vec()).ok()
}
