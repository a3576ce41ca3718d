//! JSON mutations of the corpus: structural edits of accepted events (fields
//! dropped, renamed, retyped; wrong type tags), textual ones (duplicate keys,
//! deep nesting, raw literals), and envelope-shaped JSON built from them.

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;

use super::*;

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

/// How deeply a JSON value nests.
pub fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
