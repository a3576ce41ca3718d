//! A strict JSON contract: finding the first field of a message the contract
//! does not have, in one pass over the bytes that allocates nothing but the
//! answer.
//!
//! The fields the contract has come from its JSON Schema, derived (schemars)
//! from the same types the decoder reads, so the check and the decoder cannot
//! disagree about a field's name. The schema is turned into a tree of known
//! keys once per process.

use std::borrow::Cow;
use std::cell::RefCell;
// foldhash, not std's SipHash: every JSON message's keys are looked up here.
use hashbrown::HashMap;
use std::fmt;
use std::sync::LazyLock;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use touchline_core::Envelope;

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

/// The keys an object may have, and what each holds.
#[derive(Debug, Default)]
struct Fields(HashMap<String, Node>);

#[derive(Debug)]
enum Node {
    /// A string, number, boolean or null.
    Leaf,
    Object(Fields),
    Items(Box<Node>),
    /// The payload: its fields depend on its `type`.
    Tagged(HashMap<String, Fields>),
}

static ENVELOPE: LazyLock<Node> = LazyLock::new(|| {
    let schema = schemars::schema_for!(Envelope);
    let schema = schema.as_value();
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    node(schema, &defs)
});

/// The definition a `$ref` names, else the schema itself.
fn target<'s>(schema: &'s Value, defs: &'s serde_json::Map<String, Value>) -> Option<&'s Value> {
    let name = schema.get("$ref")?.as_str()?.strip_prefix("#/$defs/")?;
    defs.get(name)
}

/// The properties a schema lists, with those of the definition it refers to.
fn fields(schema: &Value, defs: &serde_json::Map<String, Value>) -> Fields {
    let mut fields = Fields::default();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (key, child) in properties {
            fields.0.insert(key.clone(), node(child, defs));
        }
    }
    if let Some(referred) = target(schema, defs) {
        fields.0.extend(fields_of(referred, defs).0);
    }
    fields
}

fn fields_of(schema: &Value, defs: &serde_json::Map<String, Value>) -> Fields {
    match node(schema, defs) {
        Node::Object(fields) => fields,
        _ => Fields::default(),
    }
}

/// The `type` constant of a tagged enum's branch.
fn tag(branch: &Value) -> Option<&str> {
    branch
        .get("properties")?
        .get("type")?
        .get("const")?
        .as_str()
}

fn node(schema: &Value, defs: &serde_json::Map<String, Value>) -> Node {
    if schema.get("properties").is_none()
        && let Some(referred) = target(schema, defs)
    {
        return node(referred, defs);
    }
    let branches = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array);
    if let Some(branches) = branches {
        if !branches.is_empty() && branches.iter().all(|b| tag(b).is_some()) {
            return Node::Tagged(
                branches
                    .iter()
                    .filter_map(|b| Some((tag(b)?.to_owned(), fields(b, defs))))
                    .collect(),
            );
        }
        // An option (`T` or null) or an untagged choice: any branch's keys.
        let mut merged: Option<Node> = None;
        for branch in branches {
            merged = Some(match (merged, node(branch, defs)) {
                (Some(Node::Object(mut a)), Node::Object(b)) => {
                    a.0.extend(b.0);
                    Node::Object(a)
                }
                (Some(Node::Object(a)), _) | (_, Node::Object(a)) => Node::Object(a),
                (Some(Node::Items(a)), _) | (_, Node::Items(a)) => Node::Items(a),
                (Some(Node::Tagged(a)), _) | (_, Node::Tagged(a)) => Node::Tagged(a),
                _ => Node::Leaf,
            });
        }
        return merged.unwrap_or(Node::Leaf);
    }
    if schema.get("properties").is_some() {
        return Node::Object(fields(schema, defs));
    }
    if let Some(items) = schema.get("items") {
        return Node::Items(Box::new(node(items, defs)));
    }
    Node::Leaf
}

/// The dotted path of the first field of `bytes` (JSON that decoded to
/// `envelope`) that the contract does not have, in document order.
pub(crate) fn first_unknown_field(bytes: &[u8], envelope: &Envelope) -> Option<String> {
    let found = RefCell::new(None);
    let walk = Walk {
        node: &ENVELOPE,
        at: &Path::Root,
        variant: envelope.event.type_name(),
        found: &found,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let result = walk.deserialize(&mut deserializer);
    match (found.into_inner(), result) {
        (Some(path), _) => Some(path),
        (None, Ok(())) => None,
        // The message decoded, so only an unknown field nested deeper than the
        // reader goes can fail here.
        (None, Err(_)) => Some("(a field nested too deep to read)".to_owned()),
    }
}

/// Where a value sits, built only when a path must be written out.
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(Path::Root, key) => f.write_str(key),
            Path::Key(parent, key) => write!(f, "{parent}.{key}"),
        }
    }
}

#[derive(Clone, Copy)]
struct Walk<'a> {
    node: &'a Node,
    at: &'a Path<'a>,
    /// The payload's `type`, from the decoded message.
    variant: &'a str,
    found: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.node {
            Node::Leaf => deserializer.deserialize_ignored_any(IgnoredAny).map(|_| ()),
            _ => deserializer.deserialize_any(self),
        }
    }
}

/// A key, borrowed from the input unless it holds escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let fields = match self.node {
            Node::Object(fields) => Some(fields),
            Node::Tagged(variants) => variants.get(self.variant),
            Node::Leaf | Node::Items(_) => None,
        };
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let tag = matches!(self.node, Node::Tagged(_)) && key == "type";
            match fields.and_then(|f| f.0.get(key.as_ref())) {
                _ if tag => {
                    map.next_value::<IgnoredAny>()?;
                }
                Some(child) => map.next_value_seed(Walk {
                    node: child,
                    at: &Path::Key(self.at, &key),
                    ..self
                })?,
                None => {
                    *self.found.borrow_mut() = Some(Path::Key(self.at, &key).to_string());
                    return Err(de::Error::custom("unknown field"));
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        static LEAF: Node = Node::Leaf;
        let item: &Node = match self.node {
            Node::Items(item) => item,
            _ => &LEAF,
        };
        while seq
            .next_element_seed(Walk { node: item, ..self })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        self.deserialize(deserializer)
    }
}
