//! Attribution models: how one conversion's value is shared among the touches
//! before it.
//!
//! Everything here is a pure function of its arguments: no I/O, no clock, no
//! randomness. The same touches and conversion give the same credits, bit for bit,
//! whatever order the touches arrived in and however the events were batched.
//!
//! ```
//! use touchline_attribution::{attribute, Conversion, ConversionKind, Model, TouchPoint};
//! use touchline_core::{Money, Timestamp, TouchStatus, TouchType};
//!
//! let touch = |id: &str, at: i64, campaign: &str| TouchPoint {
//!     event_id: id.into(),
//!     occurred_at: Timestamp::from_millis(at),
//!     campaign_id: campaign.into(),
//!     touch_type: TouchType::AdClick,
//!     status: TouchStatus::Responded,
//! };
//! let touches = [touch("t2", 20, "webinar"), touch("t1", 10, "search-ads"), touch("t3", 99, "late")];
//! let conversion = Conversion {
//!     id: "opportunity_created:o-1".into(),
//!     kind: ConversionKind::OpportunityCreated,
//!     subject_id: "o-1".into(),
//!     occurred_at: Timestamp::from_millis(50),
//!     value: Some(Money::new(10_000, "EUR")),
//! };
//! let first = attribute(Model::FirstTouch, &conversion, &touches);
//! assert_eq!(first.credits[0].campaign_id, "search-ads");
//! assert_eq!(first.credits[0].amount_minor, Some(10_000));
//! let last = attribute(Model::LastTouch, &conversion, &touches);
//! assert_eq!(last.credits[0].campaign_id, "webinar"); // t3 came after the conversion
//! ```
//!
//! # Edge cases, decided once
//! - **Order.** Touches are ordered by `occurred_at`, then by `event_id` (byte
//!   order). Two touches at the same instant therefore always rank the same way,
//!   whatever order they arrived in.
//! - **Eligibility.** A touch counts when `occurred_at <= conversion.occurred_at`: a
//!   form fill that creates a lead in the same instant is that lead's touch. Touches
//!   after the conversion are excluded.
//! - **No eligible touch.** The whole value goes to the [`NO_TOUCH`] bucket with an
//!   [`Unattributed`] reason; a conversion is never dropped.
//! - **Repeated campaigns.** Credits are per touch; a campaign touched twice gets
//!   two credit lines. Reports sum by campaign.

mod apportion;

pub use apportion::apportion;

use serde::{Deserialize, Serialize};
use touchline_core::{Money, Timestamp, TouchStatus, TouchType};

/// The campaign id credited when a conversion has no eligible touch.
pub const NO_TOUCH: &str = "(no touch)";

/// What counts as a conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversionKind {
    /// A lead was created; value 1 lead.
    LeadCreated,
    /// An opportunity was created; value its amount (pipeline).
    OpportunityCreated,
}

impl ConversionKind {
    pub const ALL: [ConversionKind; 2] = [
        ConversionKind::LeadCreated,
        ConversionKind::OpportunityCreated,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ConversionKind::LeadCreated => "lead_created",
            ConversionKind::OpportunityCreated => "opportunity_created",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == text)
    }

    /// The conversion id for a subject: `lead_created:<person>`, `opportunity_created:<opportunity>`.
    pub fn conversion_id(self, subject_id: &str) -> String {
        format!("{}:{subject_id}", self.name())
    }
}

/// An attribution model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// All credit to the earliest eligible touch.
    FirstTouch,
    /// All credit to the latest eligible touch (the last one at or before the conversion).
    LastTouch,
}

impl Model {
    pub const ALL: [Model; 2] = [Model::FirstTouch, Model::LastTouch];

    pub fn name(self) -> &'static str {
        match self {
            Model::FirstTouch => "first_touch",
            Model::LastTouch => "last_touch",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == text)
    }

    /// The weight of each touch, for touches already in attribution order.
    /// Weights are non-negative and sum to 1; `touches` must not be empty.
    pub fn weights(self, touches: &[TouchPoint]) -> Vec<f64> {
        let mut weights = vec![0.0; touches.len()];
        match self {
            Model::FirstTouch => weights[0] = 1.0,
            Model::LastTouch => weights[touches.len() - 1] = 1.0,
        }
        weights
    }
}

/// One touch as attribution sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouchPoint {
    pub event_id: String,
    pub occurred_at: Timestamp,
    pub campaign_id: String,
    pub touch_type: TouchType,
    pub status: TouchStatus,
}

impl TouchPoint {
    /// The attribution order: time, then event id.
    pub fn order_key(&self) -> (Timestamp, &str) {
        (self.occurred_at, &self.event_id)
    }
}

/// One conversion to attribute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversion {
    pub id: String,
    pub kind: ConversionKind,
    pub subject_id: String,
    pub occurred_at: Timestamp,
    /// `None` for count conversions (a lead); the amount for pipeline and revenue.
    pub value: Option<Money>,
}

/// Why a conversion's value went to [`NO_TOUCH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unattributed {
    /// The subject has no touches at all.
    NoTouches,
    /// Every touch came after the conversion.
    AllAfterConversion,
}

/// One credit line: a share of a conversion given to one touch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credit {
    pub campaign_id: String,
    /// `None` for the [`NO_TOUCH`] bucket.
    pub touch_event_id: Option<String>,
    pub touch_occurred_at: Option<Timestamp>,
    /// Share of the conversion, in `[0, 1]`; a conversion's weights sum to 1.
    pub weight: f64,
    /// Share of the value in minor units; a conversion's amounts sum exactly to its value.
    pub amount_minor: Option<i64>,
}

/// A model's answer for one conversion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    pub credits: Vec<Credit>,
    pub unattributed: Option<Unattributed>,
}

/// The touches eligible for a conversion, in attribution order.
pub fn eligible_touches<'t>(
    conversion: &Conversion,
    touches: &'t [TouchPoint],
) -> Vec<&'t TouchPoint> {
    let mut eligible: Vec<&TouchPoint> = touches
        .iter()
        .filter(|t| t.occurred_at <= conversion.occurred_at)
        .collect();
    eligible.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    eligible
}

/// Shares one conversion among its touches with `model`. Touches may come in any
/// order and may include touches after the conversion (they are excluded).
pub fn attribute(model: Model, conversion: &Conversion, touches: &[TouchPoint]) -> Attribution {
    let eligible = eligible_touches(conversion, touches);
    let value = conversion.value.as_ref().map(|m| m.amount_minor);
    if eligible.is_empty() {
        let reason = if touches.is_empty() {
            Unattributed::NoTouches
        } else {
            Unattributed::AllAfterConversion
        };
        return Attribution {
            credits: vec![Credit {
                campaign_id: NO_TOUCH.to_owned(),
                touch_event_id: None,
                touch_occurred_at: None,
                weight: 1.0,
                amount_minor: value,
            }],
            unattributed: Some(reason),
        };
    }
    let ordered: Vec<TouchPoint> = eligible.into_iter().cloned().collect();
    let weights = model.weights(&ordered);
    let amounts = value.map(|total| apportion(total, &weights));
    let credits = ordered
        .into_iter()
        .zip(weights)
        .enumerate()
        .filter(|(_, (_, weight))| *weight > 0.0)
        .map(|(i, (touch, weight))| Credit {
            campaign_id: touch.campaign_id,
            touch_event_id: Some(touch.event_id),
            touch_occurred_at: Some(touch.occurred_at),
            weight,
            amount_minor: amounts.as_ref().map(|a| a[i]),
        })
        .collect();
    Attribution {
        credits,
        unattributed: None,
    }
}

#[cfg(test)]
mod tests;
