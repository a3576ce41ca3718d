//! Decoding JSON into an [`Envelope`] in one pass.
//!
//! [`Event`] is an internally tagged enum (`"type"` inside the payload).
//! serde's derived decoder for such an enum cannot know the variant before it
//! has seen the tag, so it first buffers the whole payload into a tree of its
//! own and then decodes the variant from that tree: every payload is walked
//! twice and allocated once more than it needs. Producers (touchline's own
//! encoder among them, since serde writes the tag first) put `"type"` first,
//! and then the variant is known before any of its fields: this decoder reads
//! the tag and hands the rest of the object straight to the variant's own
//! derived decoder.
//!
//! It is a fast path, not a second contract: whenever it cannot decode a
//! message (the tag is not first, or the message is wrong in any way) the
//! derived decoder decodes it instead, so what is accepted, what it decodes
//! to, and every refusal's text are the derived decoder's
//! (`tests/fuzz.rs` checks both agree on generated and mutated messages).
//! One difference is by design, in the values of fields the contract does
//! not have: the derived decoder reads them into its buffer, so it refuses a
//! number there past f64's range or a lone surrogate, and its buffer counts
//! against serde_json's nesting limit (128) about twice per level. Here they
//! are skipped and nesting counts once, so such a message decodes, and the
//! unknown-fields check refuses it by default, naming the field.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use touchline_core::{Envelope, Event, Timestamp};

/// Decodes `bytes` as the JSON form of an [`Envelope`] as
/// `serde_json::from_slice::<Envelope>` does (but for the values of fields
/// the contract does not have, see the module's note), faster when the
/// payload's `"type"` is its first field.
pub fn decode_envelope(bytes: &[u8]) -> Result<Envelope, serde_json::Error> {
    match serde_json::from_slice::<Wire>(bytes) {
        Ok(wire) => Ok(Envelope {
            event_id: wire.event_id,
            occurred_at: wire.occurred_at,
            recorded_at: wire.recorded_at,
            source_system: wire.source_system,
            event: wire.payload.0,
        }),
        Err(_) => serde_json::from_slice::<Envelope>(bytes),
    }
}

/// [`Envelope`]'s JSON shape, with the payload decoded by [`TagFirst`].
#[derive(Deserialize)]
struct Wire {
    event_id: String,
    occurred_at: Timestamp,
    recorded_at: Timestamp,
    #[serde(default)]
    source_system: String,
    payload: TagFirst,
}

/// An [`Event`] whose object begins with its `"type"`.
struct TagFirst(Event);

impl<'de> Deserialize<'de> for TagFirst {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(TagFirstVisitor)
    }
}

struct TagFirstVisitor;

/// A string, borrowed from the input where it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// Decodes the rest of the payload's object as the variant's struct and
/// wraps it in its [`Event`] variant; one arm per variant, named by its tag.
macro_rules! variants {
    ($tag:expr, $map:expr, { $($name:literal => $variant:ident,)* }) => {
        match $tag {
            $($name => Deserialize::deserialize(MapAccessDeserializer::new(NoSecondTag($map)))
                .map(Event::$variant),)*
            // An unknown type: the derived decoder names the types it knows.
            _ => Err(de::Error::custom("unknown event type")),
        }
    };
}

impl<'de> Visitor<'de> for TagFirstVisitor {
    type Value = TagFirst;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an event object whose first field is its \"type\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        match map.next_key::<Text<'de>>()? {
            Some(key) if key.0 == "type" => {}
            // Not tag first: left to the derived decoder.
            _ => {
                return Err(de::Error::custom(
                    "the payload's first field is not its type",
                ));
            }
        }
        let tag: Text<'de> = map.next_value()?;
        let event = variants!(tag.0.as_ref(), map, {
            "campaign_upserted" => CampaignUpserted,
            "campaign_cost_recorded" => CampaignCostRecorded,
            "lead_created" => LeadCreated,
            "lead_updated" => LeadUpdated,
            "lead_converted" => LeadConverted,
            "follow_up_logged" => FollowUpLogged,
            "touch_recorded" => TouchRecorded,
            "opportunity_created" => OpportunityCreated,
            "opportunity_updated" => OpportunityUpdated,
            "opportunity_contact_role_added" => OpportunityContactRoleAdded,
            "opportunity_closed" => OpportunityClosed,
            "account_upserted" => AccountUpserted,
            "transaction_recorded" => TransactionRecorded,
            "persons_merged" => PersonsMerged,
            "lead_routed" => LeadRouted,
        })?;
        Ok(TagFirst(event))
    }
}

/// The payload's fields after its tag. A variant's struct would ignore a
/// second `"type"` as a field it does not have; the derived decoder refuses
/// it, and so does this.
struct NoSecondTag<A>(A);

impl<'de, A: MapAccess<'de>> MapAccess<'de> for NoSecondTag<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(Text(key)) = self.0.next_key::<Text<'de>>()? else {
            return Ok(None);
        };
        if key == "type" {
            return Err(de::Error::duplicate_field("type"));
        }
        match key {
            Cow::Borrowed(key) => seed.deserialize(BorrowedStrDeserializer::new(key)),
            Cow::Owned(key) => seed.deserialize(StringDeserializer::new(key)),
        }
        .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TOUCH: &str = r#"{"event_id":"e-1","occurred_at":"2026-03-01T09:30:00Z","recorded_at":"2026-03-01T09:30:01Z","payload":{"type":"touch_recorded","person_id":"p-1","campaign_id":"c-1","touch_type":"form_fill","status":"responded"}}"#;

    fn derived(json: &str) -> Result<Envelope, String> {
        serde_json::from_str::<Envelope>(json).map_err(|e| e.to_string())
    }

    fn fast(json: &str) -> Result<Envelope, String> {
        decode_envelope(json.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn a_tag_first_payload_decodes_on_the_fast_path_to_what_the_derived_decoder_gives() {
        assert!(serde_json::from_str::<Wire>(TOUCH).is_ok());
        assert_eq!(fast(TOUCH), derived(TOUCH));
    }

    #[test]
    fn a_payload_with_its_tag_last_is_decoded_by_the_derived_decoder() {
        let json = TOUCH.replace(
            r#"{"type":"touch_recorded","person_id":"p-1","#,
            r#"{"person_id":"p-1","type":"touch_recorded","#,
        );
        assert!(serde_json::from_str::<Wire>(&json).is_err());
        assert_eq!(fast(&json), derived(&json));
        assert!(fast(&json).is_ok());
    }

    #[test]
    fn refusals_are_the_derived_decoders_word_for_word() {
        for json in [
            TOUCH.replace("touch_recorded", "touch_imagined"),
            TOUCH.replace(r#""person_id":"p-1","#, ""),
            TOUCH.replace(r#""status":"responded""#, r#""status":7"#),
            TOUCH.replace(r#""type":"touch_recorded","#, ""),
            TOUCH.replace(
                r#""campaign_id":"c-1","#,
                r#""campaign_id":"c-1","campaign_id":"c-2","#,
            ),
            TOUCH.replace(
                r#""status":"responded""#,
                r#""status":"responded","type":"lead_created""#,
            ),
        ] {
            let refusal = fast(&json).unwrap_err();
            assert_eq!(Err(refusal), derived(&json), "{json}");
        }
    }

    /// The fast path's tag table is written by hand beside
    /// `Event::type_name`: a type missing from it would still decode, on
    /// the slow path. The corpus has a valid message of every event type
    /// (`corpus_has_every_event_type_in_both_formats`); each, written with
    /// its tag first as serde writes it, must take the fast path.
    #[test]
    fn every_event_type_in_the_corpus_takes_the_fast_path() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus/ok");
        let mut types = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let envelope: Envelope = serde_json::from_slice(&std::fs::read(&path).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let tag_first = serde_json::to_string(&envelope).unwrap();
            if let Err(e) = serde_json::from_str::<Wire>(&tag_first) {
                panic!("{} is not on the fast path: {e}", path.display());
            }
            assert_eq!(fast(&tag_first), Ok(envelope.clone()), "{}", path.display());
            types.insert(envelope.event.type_name());
        }
        // As many as `EVENT_TYPES` in tests/common/corpus.rs, whose
        // exhaustive match fails to compile when a variant is added.
        assert_eq!(types.len(), 15, "event types in the corpus: {types:?}");
    }

    #[test]
    fn an_escaped_tag_is_read_as_its_text() {
        let json = TOUCH.replace("\"touch_recorded\"", r#""touch\u005frecorded""#);
        assert_eq!(fast(&json), derived(&json));
        assert!(fast(&json).is_ok());
    }
}
