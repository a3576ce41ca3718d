//! Read models for the API and the CLI: one module per report, each an
//! `impl Queries` with its answer's types.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use touchline_attribution::{ConversionKind, Model, NO_TOUCH};
use touchline_core::{StreamKind, Timestamp};
use touchline_projection::{CampaignView, ConversionView, OpportunityView, PersonView};
use touchline_store::{PartitionOffset, Store, StoredEvent};

use crate::stores::Stores;

use crate::EngineError;

mod account;
mod campaigns;
mod compare;
mod credits;
mod credits_by;
mod duplicates;
mod follow_ups;
mod forecast;
mod funnel;
mod influence;
mod interest;
mod literature;
mod overdue;
mod priority;
mod ratio;
mod rfm;
mod scores;
mod signals;
mod upsell;

pub use account::{AccountRecord, ContactSummary};
pub use campaigns::{CampaignPerformance, UnattributedRow};
pub(crate) use campaigns::{CampaignRow, CreditedCampaigns, performance};
pub use compare::{ModelComparison, ModelCredit};
pub use credits_by::{GroupBy, GroupCredit};
pub use duplicates::DuplicateGroup;
pub use follow_ups::{DueFollowUp, SpeedToLead};
pub use forecast::{Forecast, ForecastDeal, ForecastRow};
pub use funnel::FunnelRow;
pub use influence::{InfluenceCredit, InfluenceQuery, InfluenceSort, Influenced};
pub use interest::InterestRow;
pub use literature::LiteratureRow;
pub use overdue::OverdueLead;
pub use priority::PrioritisedLead;
pub use ratio::{MinorRatio, Ratio};
pub use rfm::{CustomerRfm, RfmReport, SourceRfm};
pub use scores::{LeadScore, ScoringConfig};
pub use signals::{Indicator, OpportunitySignals, indicator_colour};
pub use upsell::UpsellSignal;

pub use touchline_core::{MinorTotal, MoneyTotal};

use credits::{CampaignLabels, CreditRow, CreditTotals, credit_rows};

/// A sum of credit weights (fractional conversions) as reports give it:
/// rounded to 9 decimals, which is far finer than any share means and drops
/// the float noise of long sums (975.6500000000098), and never `-0.0`.
pub(crate) fn credit_total(sum: f64) -> f64 {
    (sum * 1e9).round() / 1e9 + 0.0
}

/// Read access to what the engine wrote. Safe to use from any thread while the
/// engine runs: each read sees the last committed batch.
#[derive(Debug, Clone)]
pub struct Queries {
    stores: Stores,
    /// The what-if journey caches, shared by every clone.
    what_if: Arc<crate::what_if::WhatIfCache>,
}

/// Credit per campaign for one model and conversion kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignCredit {
    pub campaign_id: String,
    pub campaign_name: String,
    pub channel: String,
    /// Fractional conversions credited (sum of weights).
    pub conversions: f64,
    /// Value credited in minor units, for conversions that carry a value.
    pub value_minor: MinorTotal,
    /// The currency of `value_minor`; a campaign with deals in two currencies has two rows.
    pub currency: Option<String>,
}

impl Queries {
    pub fn new(store: Arc<Store>) -> Self {
        Queries {
            stores: Stores::One(store),
            what_if: Arc::default(),
        }
    }

    /// Reads the shards an instance of a sharded group holds, as one store
    /// (see [`crate::stores`]).
    pub fn sharded(held: Arc<crate::HeldShards>) -> Self {
        Queries {
            stores: Stores::Shards(held),
            what_if: Arc::default(),
        }
    }

    pub(crate) fn what_if_cache(&self) -> &crate::what_if::WhatIfCache {
        &self.what_if
    }

    /// What this reads: one store, or the shards held here.
    pub fn stores(&self) -> &Stores {
        &self.stores
    }

    /// The store of a single-store engine; `None` on a sharded instance,
    /// where what is kept per store (the outbox, a backup) is each shard's.
    pub fn single_store(&self) -> Option<&Arc<Store>> {
        self.stores.single()
    }

    pub fn person(&self, id: &str) -> Result<Option<PersonView>, EngineError> {
        Ok(self.stores.get(id)?)
    }

    /// A person and the touches it keeps (its rows, in attribution order),
    /// read together from one snapshot.
    pub fn person_with_touches(
        &self,
        id: &str,
    ) -> Result<Option<(PersonView, Vec<touchline_projection::TouchEntry>)>, EngineError> {
        Ok(self.stores.person_with_touches(id)?)
    }

    /// The touches a person keeps, in attribution order: its rows.
    pub fn person_touches(
        &self,
        id: &str,
    ) -> Result<Vec<touchline_projection::TouchEntry>, EngineError> {
        Ok(self.stores.touches(id)?)
    }

    pub fn account(
        &self,
        id: &str,
    ) -> Result<Option<touchline_projection::AccountView>, EngineError> {
        Ok(self.stores.get(id)?)
    }

    pub fn opportunity(&self, id: &str) -> Result<Option<OpportunityView>, EngineError> {
        Ok(self.stores.get(id)?)
    }

    pub fn campaign(&self, id: &str) -> Result<Option<CampaignView>, EngineError> {
        Ok(self.stores.get(id)?)
    }

    /// The models the engine that wrote this store computes: what every stored
    /// credit set was computed under. `None` for a store no engine has opened.
    pub fn configured_models(&self) -> Result<Option<Vec<Model>>, EngineError> {
        let Some(bytes) = self.stores.meta_bytes(crate::apply::META_CONFIG)? else {
            return Ok(None);
        };
        let (models, _): (Vec<Model>, serde::de::IgnoredAny) = serde_json::from_slice(&bytes)
            .map_err(|e| {
                EngineError::from(touchline_store::StoreError::Corrupt {
                    what: "attribution configuration",
                    key: crate::apply::META_CONFIG.into(),
                    detail: e.to_string(),
                })
            })?;
        Ok(Some(models))
    }

    /// The attribution settings every stored credit set was computed under;
    /// `None` for a store no engine has opened.
    pub fn configured_settings(
        &self,
    ) -> Result<Option<touchline_attribution::AttributionSettings>, EngineError> {
        let Some(bytes) = self.stores.meta_bytes(crate::apply::META_CONFIG)? else {
            return Ok(None);
        };
        let (_, settings): (
            serde::de::IgnoredAny,
            touchline_attribution::AttributionSettings,
        ) = serde_json::from_slice(&bytes).map_err(|e| {
            EngineError::from(touchline_store::StoreError::Corrupt {
                what: "attribution configuration",
                key: crate::apply::META_CONFIG.into(),
                detail: e.to_string(),
            })
        })?;
        Ok(Some(settings))
    }

    /// The record events about `id` go to now: `id`'s own, or the survivor of
    /// the merges it went through, however many. `None` for an unknown id.
    pub fn surviving_person(&self, id: &str) -> Result<Option<PersonView>, EngineError> {
        let Some(mut view) = self.person(id)? else {
            return Ok(None);
        };
        // Merges link survivors, so the pointers form a forest; the visited set
        // only guards against a store edited by hand.
        let mut visited = std::collections::HashSet::new();
        while let Some(next) = view.merged_into.clone() {
            if !visited.insert(next.clone()) {
                break;
            }
            match self.person(&next)? {
                Some(survivor) => view = survivor,
                None => break,
            }
        }
        Ok(Some(view))
    }

    /// A conversion that currently stands (a retracted one is `None`).
    pub fn conversion(&self, id: &str) -> Result<Option<ConversionView>, EngineError> {
        Ok(self
            .stores
            .get::<ConversionView>(id)?
            .filter(ConversionView::is_live))
    }

    /// The source at first contact (R1): the lead's own; else the earliest
    /// touch's campaign with its ad code, medium and source.
    pub fn source_at_first_contact(
        &self,
        person: &PersonView,
    ) -> Result<Option<touchline_core::LeadSource>, EngineError> {
        if person.source.is_some() {
            return Ok(person.source.clone());
        }
        let Some(mut source) = person.source_at_first_contact() else {
            return Ok(None);
        };
        if let Some(campaign) = self.campaign(&source.campaign_id)? {
            source.ad_code = campaign.ad_code;
            source.medium = campaign.medium;
            source.source = campaign.source;
        }
        Ok(Some(source))
    }

    /// Accounting transactions on deals, in `currency` and `range`, split per
    /// campaign by the deal's credits under `model` (R3).
    pub fn booked_by_campaign(
        &self,
        model: Model,
        range: TimeRange,
        currency: &str,
    ) -> Result<BTreeMap<String, MinorTotal>, EngineError> {
        self.booked_by_campaign_counting(model, range, currency, None)
    }

    /// [`Queries::booked_by_campaign`], the deals' credits counting
    /// synthesized touches as `choice` says ([`Queries::conversion_counting`]).
    pub fn booked_by_campaign_counting(
        &self,
        model: Model,
        range: TimeRange,
        currency: &str,
        choice: Option<touchline_attribution::SynthesizedTouches>,
    ) -> Result<BTreeMap<String, MinorTotal>, EngineError> {
        let mut transactions = Vec::new();
        self.stores
            .for_each(|_, a: touchline_projection::AccountView| {
                transactions.extend(a.transactions.into_iter().filter(|t| {
                    !t.opportunity_id.is_empty()
                        && t.amount.currency == currency
                        && range.contains(t.at)
                }));
            })?;
        let mut bookings = Vec::with_capacity(transactions.len());
        for t in transactions {
            let mut credits = None;
            for kind in [
                ConversionKind::OpportunityWon,
                ConversionKind::OpportunityCreated,
            ] {
                if let Some(view) =
                    self.conversion_counting(&kind.conversion_id(&t.opportunity_id), choice)?
                    && let Some(result) = view.result(model)
                {
                    credits = Some(result.attribution.credits.clone());
                    break;
                }
            }
            bookings.push(campaigns::Booking {
                amount_minor: t.amount.amount_minor,
                credits: credits
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| (c.campaign_id, c.weight))
                    .collect(),
            });
        }
        Ok(campaigns::book(bookings))
    }

    pub fn campaigns(&self) -> Result<Vec<CampaignView>, EngineError> {
        let mut out = Vec::new();
        self.stores
            .for_each(|_, view: CampaignView| out.push(view))?;
        Ok(out)
    }

    pub fn stream(
        &self,
        kind: StreamKind,
        id: &str,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, EngineError> {
        Ok(self.stores.stream(kind, id, from_seq, limit)?)
    }

    pub fn offsets(&self) -> Result<Vec<PartitionOffset>, EngineError> {
        Ok(self.stores.offsets()?)
    }

    /// Every conversion of `kind` whose time lies in `range`, in id order.
    pub(crate) fn for_each_conversion(
        &self,
        kind: ConversionKind,
        range: TimeRange,
        mut visit: impl FnMut(&ConversionView),
    ) -> Result<(), EngineError> {
        let prefix = format!("{}:", kind.name());
        let mut after: Option<String> = None;
        loop {
            let page = self
                .stores
                .scan::<ConversionView>(&prefix, after.as_deref(), 4096)?;
            let Some((last_key, _)) = page.last() else {
                break;
            };
            after = Some(last_key.clone());
            for (_, view) in &page {
                if view.is_live() && range.contains(view.conversion.occurred_at) {
                    visit(view);
                }
            }
        }
        Ok(())
    }

    /// Sums every conversion of `kind` by credited campaign under `model`, sorted by
    /// value, then conversions, descending. Conversions with no eligible touch appear
    /// under the `(no touch)` campaign.
    pub fn campaign_credits(
        &self,
        model: Model,
        kind: ConversionKind,
    ) -> Result<Vec<CampaignCredit>, EngineError> {
        self.campaign_credits_in(model, kind, TimeRange::default())
    }

    /// [`Queries::campaign_credits`] for conversions within `range`.
    pub fn campaign_credits_in(
        &self,
        model: Model,
        kind: ConversionKind,
        range: TimeRange,
    ) -> Result<Vec<CampaignCredit>, EngineError> {
        Ok(self.campaign_credits_labelled(model, kind, range)?.0)
    }

    /// [`Queries::campaign_credits_in`] with the labels of the credited campaigns.
    fn campaign_credits_labelled(
        &self,
        model: Model,
        kind: ConversionKind,
        range: TimeRange,
    ) -> Result<(Vec<CampaignCredit>, CampaignLabels), EngineError> {
        let mut totals = CreditTotals::default();
        self.for_each_conversion(kind, range, |view| {
            totals.extend(credit_rows(view).filter(|c| c.model == model));
        })?;
        let labels = self.campaign_labels(totals.campaign_ids())?;
        Ok((totals.into_rows(&labels), labels))
    }
}

/// A campaign id and the currency of the values credited to it.
type CampaignCurrency = (String, Option<String>);

/// A half-open interval of conversion times; `None` ends are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeRange {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl TimeRange {
    pub fn contains(&self, at: Timestamp) -> bool {
        self.from.is_none_or(|from| at >= from) && self.to.is_none_or(|to| at < to)
    }
}
