//! The corpus in `tests/corpus/`: reading it, and making its generated part.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use prost::Message as _;
use serde_json::Value;
use touchline_core::{Envelope, Event};
use touchline_proto::{WireFormat, encode_protobuf, v1};

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
        provenance: None,
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
        "bad/touch_provenance_origin_unspecified.pb".into(),
        with_payload(P::TouchRecorded(v1::TouchRecorded {
            provenance: Some(v1::TouchProvenance {
                origin: v1::TouchOrigin::Unspecified as i32,
                source: "crm".into(),
            }),
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
