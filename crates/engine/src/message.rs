use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use touchline_attribution::{Conversion, ConversionKind, Credit, Model, Unattributed};
use touchline_core::{Money, Timestamp};
use touchline_projection::ConversionView;

/// The value published to the attribution topic, keyed by [`attribution_key`]:
/// the full current credit set of one model for one conversion. A consumer keeps
/// the highest version per key; on a compacted topic that is the current state.
///
/// A boundary type: its fields are the topic's contract (README,
/// "Attribution output") and change only with it, whatever the stored views
/// become. Rendered borrowing from the view; read back owned
/// ([`PublishedAttribution`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributionMessage<'a> {
    pub model: Model,
    pub conversion: PublishedConversion<'a>,
    pub version: u64,
    /// Log position of the last event that changed this credit set.
    pub as_of_seq: u64,
    pub credits: Vec<PublishedCredit<'a>>,
    pub unattributed: Option<Unattributed>,
}

/// An attribution value as a consumer holds it, owning its strings.
pub type PublishedAttribution = AttributionMessage<'static>;

/// The conversion a published credit set is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedConversion<'a> {
    pub id: Cow<'a, str>,
    pub kind: ConversionKind,
    pub subject_id: Cow<'a, str>,
    pub occurred_at: Timestamp,
    /// `None` for count conversions (a lead); the amount for pipeline and revenue.
    pub value: Option<Cow<'a, Money>>,
    /// Absent from values published before milestones were.
    #[serde(default)]
    pub milestones: PublishedMilestones,
}

/// When the conversion's journey passed the milestones position models key on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedMilestones {
    pub lead_created: Option<Timestamp>,
    pub opportunity_created: Option<Timestamp>,
    pub closed_won: Option<Timestamp>,
}

/// One credit line: a share of the conversion given to one touch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedCredit<'a> {
    pub campaign_id: Cow<'a, str>,
    /// `None` for the no-touch bucket.
    pub touch_event_id: Option<Cow<'a, str>>,
    pub touch_occurred_at: Option<Timestamp>,
    /// Share of the conversion, in `[0, 1]`; a conversion's weights sum to 1.
    pub weight: f64,
    /// Share of the value in minor units; a conversion's amounts sum exactly
    /// to its value.
    pub amount_minor: Option<i64>,
}

impl<'a> AttributionMessage<'a> {
    /// The value of `model`'s credit set in `view`, borrowing from it; `None`
    /// when the view has no result for the model (a tombstone).
    pub fn of(view: &'a ConversionView, model: Model) -> Option<Self> {
        let result = view.result(model)?;
        Some(AttributionMessage {
            model,
            conversion: PublishedConversion::of(&view.conversion),
            version: result.version,
            as_of_seq: result.as_of_seq,
            credits: result
                .attribution
                .credits
                .iter()
                .map(PublishedCredit::of)
                .collect(),
            unattributed: result.attribution.unattributed,
        })
    }

    /// The same value owning its strings.
    pub fn into_owned(self) -> PublishedAttribution {
        AttributionMessage {
            model: self.model,
            conversion: PublishedConversion {
                id: Cow::Owned(self.conversion.id.into_owned()),
                kind: self.conversion.kind,
                subject_id: Cow::Owned(self.conversion.subject_id.into_owned()),
                occurred_at: self.conversion.occurred_at,
                value: self.conversion.value.map(|v| Cow::Owned(v.into_owned())),
                milestones: self.conversion.milestones,
            },
            version: self.version,
            as_of_seq: self.as_of_seq,
            credits: self
                .credits
                .into_iter()
                .map(|c| PublishedCredit {
                    campaign_id: Cow::Owned(c.campaign_id.into_owned()),
                    touch_event_id: c.touch_event_id.map(|id| Cow::Owned(id.into_owned())),
                    touch_occurred_at: c.touch_occurred_at,
                    weight: c.weight,
                    amount_minor: c.amount_minor,
                })
                .collect(),
            unattributed: self.unattributed,
        }
    }
}

impl<'a> PublishedConversion<'a> {
    pub fn of(conversion: &'a Conversion) -> Self {
        let m = &conversion.milestones;
        PublishedConversion {
            id: Cow::Borrowed(&conversion.id),
            kind: conversion.kind,
            subject_id: Cow::Borrowed(&conversion.subject_id),
            occurred_at: conversion.occurred_at,
            value: conversion.value.as_ref().map(Cow::Borrowed),
            milestones: PublishedMilestones {
                lead_created: m.lead_created,
                opportunity_created: m.opportunity_created,
                closed_won: m.closed_won,
            },
        }
    }
}

impl<'a> PublishedCredit<'a> {
    pub fn of(credit: &'a Credit) -> Self {
        PublishedCredit {
            campaign_id: Cow::Borrowed(&credit.campaign_id),
            touch_event_id: credit.touch_event_id.as_deref().map(Cow::Borrowed),
            touch_occurred_at: credit.touch_occurred_at,
            weight: credit.weight,
            amount_minor: credit.amount_minor,
        }
    }
}

/// `<model>/<conversion id>`, e.g. `first_touch/lead_created:p-17`.
pub fn attribution_key(model: Model, conversion_id: &str) -> String {
    format!("{}/{conversion_id}", model.name())
}

/// The current value of an attribution key: the JSON [`AttributionMessage`], or
/// `None` (a tombstone) when the conversion or its model result no longer exists.
pub fn render_attribution(
    store: &touchline_store::Store,
    key: &str,
) -> Result<Option<Vec<u8>>, crate::EngineError> {
    AttributionRenderer::new(store).render(key)
}

/// Renders many attribution keys, reading each conversion view once: the keys
/// of one conversion (one per model) usually come together.
pub struct AttributionRenderer<'s> {
    store: &'s touchline_store::Store,
    views: std::collections::HashMap<String, Option<ConversionView>>,
}

impl std::fmt::Debug for AttributionRenderer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AttributionRenderer")
            .field("cached", &self.views.len())
            .finish_non_exhaustive()
    }
}

impl<'s> AttributionRenderer<'s> {
    pub fn new(store: &'s touchline_store::Store) -> Self {
        AttributionRenderer {
            store,
            views: std::collections::HashMap::new(),
        }
    }

    /// Whether `key`'s conversion has no view in this store at all: its
    /// group was handed to another shard (`Engine::hand_over`), which
    /// publishes its credit sets, so this store publishes nothing for it,
    /// not even a tombstone. (A retracted conversion keeps its view, and
    /// renders a tombstone.)
    pub fn moved_away(&mut self, key: &str) -> Result<bool, crate::EngineError> {
        let Some((_, conversion_id)) = key.split_once('/') else {
            return Ok(false);
        };
        Ok(self.view(conversion_id)?.is_none())
    }

    fn view(&mut self, conversion_id: &str) -> Result<Option<&ConversionView>, crate::EngineError> {
        if !self.views.contains_key(conversion_id) {
            let view = self
                .store
                .get(touchline_store::Table::Conversions, conversion_id)?;
            self.views.insert(conversion_id.to_owned(), view);
        }
        Ok(self.views.get(conversion_id).and_then(Option::as_ref))
    }

    /// As [`render_attribution`].
    pub fn render(&mut self, key: &str) -> Result<Option<Vec<u8>>, crate::EngineError> {
        let Some((model, conversion_id)) = key
            .split_once('/')
            .and_then(|(model, id)| Some((Model::parse(model)?, id)))
        else {
            return Ok(None);
        };
        Ok(self
            .view(conversion_id)?
            .and_then(|view| render(view, model)))
    }
}

fn render(view: &ConversionView, model: Model) -> Option<Vec<u8>> {
    let message = AttributionMessage::of(view, model)?;
    // Plain data with string keys: serializing cannot fail.
    Some(serde_json::to_vec(&message).unwrap_or_default())
}

/// The value published to the alerts topic, keyed by account id: a contact of
/// an account with open pipeline showed new activity (R18). `rep_ids` are the
/// owners of the open opportunities, else the account owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityAlert {
    /// `<touch event id>/<account id>`: the same alert delivered twice has one id.
    pub alert_id: String,
    pub account_id: String,
    pub account_name: String,
    pub rep_ids: Vec<String>,
    pub person_id: String,
    pub person_name: String,
    pub campaign_id: String,
    pub touch_type: touchline_core::TouchType,
    pub status: touchline_core::TouchStatus,
    pub topic: String,
    pub occurred_at: touchline_core::Timestamp,
    pub open_opportunities: Vec<OpenOpportunity>,
    /// Log position of the touch.
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenOpportunity {
    pub opportunity_id: String,
    pub name: String,
    pub stage: String,
    pub amount: Option<touchline_core::Money>,
    pub owner_id: String,
}

#[cfg(test)]
mod tests {
    use expect_test::expect;

    use super::*;

    fn won_deal() -> (Conversion, Vec<Credit>) {
        let at = Timestamp::from_millis(1_767_225_600_000);
        let conversion = Conversion {
            id: "opportunity_won:opp-1".into(),
            kind: ConversionKind::OpportunityWon,
            subject_id: "opp-1".into(),
            occurred_at: at,
            value: Some(Money {
                amount_minor: 100_000,
                currency: "EUR".into(),
            }),
            milestones: touchline_attribution::Milestones {
                lead_created: Some(Timestamp::from_millis(1_764_547_200_000)),
                opportunity_created: None,
                closed_won: Some(at),
            },
        };
        let credits = vec![
            Credit {
                campaign_id: "webinar".into(),
                touch_event_id: Some("t-1".into()),
                touch_occurred_at: Some(Timestamp::from_millis(1_765_000_000_000)),
                weight: 1.0,
                amount_minor: Some(100_000),
            },
            Credit {
                campaign_id: touchline_attribution::NO_TOUCH.into(),
                touch_event_id: None,
                touch_occurred_at: None,
                weight: 0.0,
                amount_minor: Some(0),
            },
        ];
        (conversion, credits)
    }

    #[test]
    fn the_published_value_is_the_topics_contract() {
        let (conversion, credits) = won_deal();
        let message = AttributionMessage {
            model: Model::LastTouch,
            conversion: PublishedConversion::of(&conversion),
            version: 7,
            as_of_seq: 42,
            credits: credits.iter().map(PublishedCredit::of).collect(),
            unattributed: None,
        };
        let json = serde_json::to_string_pretty(&message).expect("json");
        expect![[r#"
            {
              "model": "last_touch",
              "conversion": {
                "id": "opportunity_won:opp-1",
                "kind": "opportunity_won",
                "subject_id": "opp-1",
                "occurred_at": "2026-01-01T00:00:00.000Z",
                "value": {
                  "amount_minor": 100000,
                  "currency": "EUR"
                },
                "milestones": {
                  "lead_created": "2025-12-01T00:00:00.000Z",
                  "opportunity_created": null,
                  "closed_won": "2026-01-01T00:00:00.000Z"
                }
              },
              "version": 7,
              "as_of_seq": 42,
              "credits": [
                {
                  "campaign_id": "webinar",
                  "touch_event_id": "t-1",
                  "touch_occurred_at": "2025-12-06T05:46:40.000Z",
                  "weight": 1.0,
                  "amount_minor": 100000
                },
                {
                  "campaign_id": "(no touch)",
                  "touch_event_id": null,
                  "touch_occurred_at": null,
                  "weight": 0.0,
                  "amount_minor": 0
                }
              ],
              "unattributed": null
            }"#]]
        .assert_eq(&json);
        let read: PublishedAttribution = serde_json::from_str(&json).expect("read back");
        assert_eq!(read, message.into_owned());
    }

    #[test]
    fn a_value_published_before_milestones_still_reads() {
        let old = r#"{"model":"first_touch","conversion":{"id":"lead_created:p-1",
            "kind":"lead_created","subject_id":"p-1","occurred_at":"2026-01-01T00:00:00Z",
            "value":null},"version":1,"as_of_seq":3,"credits":[],"unattributed":"no_touches"}"#;
        let read: PublishedAttribution = serde_json::from_str(old).expect("read");
        assert_eq!(read.conversion.milestones, PublishedMilestones::default());
        assert_eq!(read.unattributed, Some(Unattributed::NoTouches));
    }
}
