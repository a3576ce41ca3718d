//! Attribution models: how one conversion's value is shared among the touches
//! before it.
//!
//! Everything here is a pure function of its arguments: no I/O, no clock, no
//! randomness. The same touches and conversion give the same credits, bit for bit,
//! whatever order the touches arrived in and however the events were batched.
//!
//! ```
//! use touchline_attribution::{attribute, AttributionSettings, Conversion, ConversionKind, Model, TouchPoint};
//! use touchline_core::{Money, Timestamp, TouchOrigin, TouchStatus, TouchType};
//!
//! let touch = |id: &str, at: i64, campaign: &str| TouchPoint {
//!     event_id: id.into(),
//!     occurred_at: Timestamp::from_millis(at),
//!     campaign_id: campaign.into(),
//!     touch_type: TouchType::AdClick,
//!     status: TouchStatus::Responded,
//!     origin: TouchOrigin::Recorded,
//! };
//! let touches = [touch("t2", 20, "webinar"), touch("t1", 10, "search-ads"), touch("t3", 99, "late")];
//! let conversion = Conversion {
//!     id: "opportunity_created:o-1".into(),
//!     kind: ConversionKind::OpportunityCreated,
//!     subject_id: "o-1".into(),
//!     occurred_at: Timestamp::from_millis(50),
//!     value: Some(Money::new(10_000, "EUR")),
//!     milestones: Default::default(),
//! };
//! let settings = AttributionSettings::default();
//! let first = attribute(Model::FirstTouch, &conversion, &touches, &settings);
//! assert_eq!(first.credits[0].campaign_id, "search-ads");
//! assert_eq!(first.credits[0].amount_minor, Some(10_000));
//! let last = attribute(Model::LastTouch, &conversion, &touches, &settings);
//! assert_eq!(last.credits[0].campaign_id, "webinar"); // t3 came after the conversion
//! let linear = attribute(Model::Linear, &conversion, &touches, &settings);
//! assert_eq!(linear.credits.iter().map(|c| c.amount_minor.unwrap()).collect::<Vec<_>>(), [5_000, 5_000]);
//! ```
//!
//! The models and their exact definitions are in [`Model`]'s module docs
//! (`models.rs`); the data-driven ones (Markov, Shapley) in [`data_driven`].
//!
//! # Edge cases, decided once
//! - **Order.** Touches are ordered by `occurred_at`, then by `event_id` (byte
//!   order). Two touches at the same instant therefore always rank the same way,
//!   whatever order they arrived in.
//! - **Eligibility.** A touch counts when `occurred_at <= conversion.occurred_at`: a
//!   form fill that creates a lead in the same instant is that lead's touch. Touches
//!   after the conversion are excluded, so are touches before the lookback window
//!   (`conversion − lookback_days`, inclusive), with the `responded` filter
//!   touches that were only sent, and with `synthesized_touches = "exclude"`
//!   touches synthesized from other data ([`SynthesizedTouches`]).
//! - **No eligible touch.** The whole value goes to the [`NO_TOUCH`] bucket with an
//!   [`Unattributed`] reason; a conversion is never dropped.
//! - **Repeated campaigns.** Credits are per touch; a campaign touched twice gets
//!   two credit lines. Reports sum by campaign.

mod apportion;
pub mod data_driven;
pub mod models;

pub use apportion::{Apportioner, apportion};
pub use models::{Model, ModelParams, PositionWeights, Timed};

use serde::{Deserialize, Serialize};
use touchline_core::{Money, Timestamp, TouchOrigin, TouchStatus, TouchType};

/// The campaign id credited when a conversion has no eligible touch.
pub const NO_TOUCH: &str = "(no touch)";

const DAY_MS: i64 = 86_400_000;

/// What counts as a conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversionKind {
    /// A lead was created; value 1 lead.
    LeadCreated,
    /// A lead was first marked qualified; value 1 qualified lead.
    LeadQualified,
    /// An opportunity was created; value its amount (pipeline).
    OpportunityCreated,
    /// An opportunity was closed won; value the closed amount (revenue).
    OpportunityWon,
}

impl ConversionKind {
    pub const ALL: [ConversionKind; 4] = [
        ConversionKind::LeadCreated,
        ConversionKind::LeadQualified,
        ConversionKind::OpportunityCreated,
        ConversionKind::OpportunityWon,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ConversionKind::LeadCreated => "lead_created",
            ConversionKind::LeadQualified => "lead_qualified",
            ConversionKind::OpportunityCreated => "opportunity_created",
            ConversionKind::OpportunityWon => "opportunity_won",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == text)
    }

    /// The conversion id for a subject: `lead_created:<person>`, `opportunity_won:<opportunity>`.
    pub fn conversion_id(self, subject_id: &str) -> String {
        // Built by hand: every event of a batch names a few, and `format!`
        // was 1.6% of the ingest thread (perf).
        let name = self.name();
        let mut id = String::with_capacity(name.len() + 1 + subject_id.len());
        id.push_str(name);
        id.push(':');
        id.push_str(subject_id);
        id
    }

    /// Whether the subject is a person (else an opportunity).
    pub fn is_person(self) -> bool {
        matches!(
            self,
            ConversionKind::LeadCreated | ConversionKind::LeadQualified
        )
    }
}

/// Which touches may be credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TouchFilter {
    /// Every touch, sent or responded.
    #[default]
    All,
    /// Only touches where the person responded (clicked, attended, filled in, ...).
    Responded,
}

impl TouchFilter {
    /// Whether a touch with `status` may be credited under this filter.
    pub fn admits(self, status: TouchStatus) -> bool {
        self == TouchFilter::All || status == TouchStatus::Responded
    }
}

/// Whether touches synthesized from other data (a backfill from a legacy
/// lead-source field, R16) may be credited. Recorded touches always may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SynthesizedTouches {
    /// Synthesized touches count like recorded ones.
    #[default]
    Include,
    /// Only recorded touches count.
    Exclude,
}

impl SynthesizedTouches {
    pub const ALL: [SynthesizedTouches; 2] =
        [SynthesizedTouches::Include, SynthesizedTouches::Exclude];

    pub fn name(self) -> &'static str {
        match self {
            SynthesizedTouches::Include => "include",
            SynthesizedTouches::Exclude => "exclude",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == text)
    }

    /// Whether a touch of `origin` may be credited under this choice.
    pub fn admits(self, origin: TouchOrigin) -> bool {
        self == SynthesizedTouches::Include || origin == TouchOrigin::Recorded
    }
}

/// Everything configurable about attribution.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttributionSettings {
    pub params: ModelParams,
    pub filter: TouchFilter,
    /// Lookback windows in days per conversion point; absent means unlimited.
    pub lookback_days: Lookback,
    /// Whose touches an opportunity's conversions draw on.
    pub opportunity_touches: OpportunityTouches,
    /// Whether synthesized touches may be credited.
    pub synthesized_touches: SynthesizedTouches,
    /// How the Markov model shares value (data-driven reports only; left out of
    /// the stored configuration when default, since it changes no credit set).
    #[serde(skip_serializing_if = "is_default")]
    pub markov_value: data_driven::MarkovValue,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl AttributionSettings {
    /// The earliest instant a touch may have to count for a conversion of
    /// `kind` at `at` (inclusive), or `None` without a lookback window.
    pub fn window_start(&self, kind: ConversionKind, at: Timestamp) -> Option<Timestamp> {
        self.lookback_days
            .days(kind)
            .map(|d| at.saturating_sub_millis(i64::from(d) * DAY_MS))
    }
}

/// B2B: whose touches count for an opportunity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpportunityTouches {
    /// The primary contact and every contact with a role on the opportunity.
    #[default]
    ContactRoles,
    /// Those, and every contact of the opportunity's account.
    AccountContacts,
}

/// Lookback window per conversion point, in days; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Lookback {
    pub lead_created: Option<u32>,
    pub lead_qualified: Option<u32>,
    pub opportunity_created: Option<u32>,
    pub opportunity_won: Option<u32>,
}

impl Lookback {
    pub fn days(&self, kind: ConversionKind) -> Option<u32> {
        match kind {
            ConversionKind::LeadCreated => self.lead_created,
            ConversionKind::LeadQualified => self.lead_qualified,
            ConversionKind::OpportunityCreated => self.opportunity_created,
            ConversionKind::OpportunityWon => self.opportunity_won,
        }
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
    /// Recorded, or synthesized from other data.
    pub origin: TouchOrigin,
}

impl TouchPoint {
    /// The attribution order: time, then event id.
    pub fn order_key(&self) -> (Timestamp, &str) {
        (self.occurred_at, &self.event_id)
    }
}

/// The moments the milestone models (W-shaped, full path) key on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Milestones {
    pub lead_created: Option<Timestamp>,
    pub opportunity_created: Option<Timestamp>,
    pub closed_won: Option<Timestamp>,
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
    #[serde(default)]
    pub milestones: Milestones,
}

/// Why a conversion's value went to [`NO_TOUCH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unattributed {
    /// The subject has no touches at all.
    NoTouches,
    /// Every touch came after the conversion.
    AllAfterConversion,
    /// Every touch before the conversion is older than the lookback window.
    AllOutsideWindow,
    /// Touches exist in the window, but none passes the touch filter (e.g. none
    /// responded, or all were synthesized and synthesized touches are excluded).
    NoneMatchFilter,
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

/// The touches eligible for a conversion, in attribution order, or why there are none.
pub fn eligible_touches<'t>(
    conversion: &Conversion,
    touches: &'t [TouchPoint],
    settings: &AttributionSettings,
) -> Result<Vec<&'t TouchPoint>, Unattributed> {
    if touches.is_empty() {
        return Err(Unattributed::NoTouches);
    }
    let before: Vec<&TouchPoint> = touches
        .iter()
        .filter(|t| t.occurred_at <= conversion.occurred_at)
        .collect();
    if before.is_empty() {
        return Err(Unattributed::AllAfterConversion);
    }
    let window_start = settings.window_start(conversion.kind, conversion.occurred_at);
    let in_window: Vec<&TouchPoint> = before
        .into_iter()
        .filter(|t| window_start.is_none_or(|start| t.occurred_at >= start))
        .collect();
    if in_window.is_empty() {
        return Err(Unattributed::AllOutsideWindow);
    }
    let mut eligible: Vec<&TouchPoint> = in_window
        .into_iter()
        .filter(|t| settings.filter.admits(t.status))
        .filter(|t| settings.synthesized_touches.admits(t.origin))
        .collect();
    if eligible.is_empty() {
        return Err(Unattributed::NoneMatchFilter);
    }
    eligible.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    Ok(eligible)
}

/// Shares one conversion among its touches with `model`. Touches may come in any
/// order and may include touches after the conversion or outside the window
/// (they are excluded).
pub fn attribute(
    model: Model,
    conversion: &Conversion,
    touches: &[TouchPoint],
    settings: &AttributionSettings,
) -> Attribution {
    attribute_all(&[model], conversion, touches, settings)
        .pop()
        .map(|(_, attribution)| attribution)
        .unwrap_or_else(|| unattributed(conversion, Unattributed::NoTouches))
}

/// [`attribute`] under every model of `models`, in that order: eligibility and
/// touch order are worked out once for all of them.
pub fn attribute_all(
    models: &[Model],
    conversion: &Conversion,
    touches: &[TouchPoint],
    settings: &AttributionSettings,
) -> Vec<(Model, Attribution)> {
    let ordered: Vec<&TouchPoint> = match eligible_touches(conversion, touches, settings) {
        Ok(eligible) => eligible,
        Err(reason) => {
            return models
                .iter()
                .map(|&m| (m, unattributed(conversion, reason)))
                .collect();
        }
    };
    let value = conversion.value.as_ref().map(|m| m.amount_minor);
    let mut weights = Vec::with_capacity(ordered.len());
    let mut amounts = Vec::with_capacity(ordered.len());
    let mut apportioner = Apportioner::default();
    models
        .iter()
        .map(|&model| {
            model.weights_into(
                &ordered,
                conversion.occurred_at,
                &conversion.milestones,
                &settings.params,
                &mut weights,
            );
            if let Some(total) = value {
                apportioner.split(total, &weights, &mut amounts);
            }
            let credits = ordered
                .iter()
                .zip(&weights)
                .enumerate()
                .filter(|(_, (_, weight))| **weight > 0.0)
                .map(|(i, (touch, &weight))| Credit {
                    campaign_id: touch.campaign_id.clone(),
                    touch_event_id: Some(touch.event_id.clone()),
                    touch_occurred_at: Some(touch.occurred_at),
                    weight,
                    amount_minor: value.map(|_| amounts[i]),
                })
                .collect();
            (
                model,
                Attribution {
                    credits,
                    unattributed: None,
                },
            )
        })
        .collect()
}

/// The whole value to [`NO_TOUCH`], with the reason.
fn unattributed(conversion: &Conversion, reason: Unattributed) -> Attribution {
    Attribution {
        credits: vec![Credit {
            campaign_id: NO_TOUCH.to_owned(),
            touch_event_id: None,
            touch_occurred_at: None,
            weight: 1.0,
            amount_minor: conversion.value.as_ref().map(|m| m.amount_minor),
        }],
        unattributed: Some(reason),
    }
}

#[cfg(test)]
mod tests;
