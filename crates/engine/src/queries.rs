use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use touchline_attribution::{ConversionKind, Model, NO_TOUCH};
use touchline_core::{StreamKind, Timestamp};
use touchline_projection::{CampaignView, ConversionView, OpportunityView, PersonView};
use touchline_store::{PartitionOffset, Store, StoredEvent, Table};

use crate::EngineError;

/// Read access to what the engine wrote. Safe to use from any thread while the
/// engine runs: each read sees the last committed batch.
#[derive(Debug, Clone)]
pub struct Queries {
    store: Arc<Store>,
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
    pub value_minor: i64,
    /// The currency of `value_minor`; a campaign with deals in two currencies has two rows.
    pub currency: Option<String>,
}

impl Queries {
    pub fn new(store: Arc<Store>) -> Self {
        Queries { store }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn person(&self, id: &str) -> Result<Option<PersonView>, EngineError> {
        Ok(self.store.get(Table::Persons, id)?)
    }

    pub fn opportunity(&self, id: &str) -> Result<Option<OpportunityView>, EngineError> {
        Ok(self.store.get(Table::Opportunities, id)?)
    }

    pub fn campaign(&self, id: &str) -> Result<Option<CampaignView>, EngineError> {
        Ok(self.store.get(Table::Campaigns, id)?)
    }

    pub fn conversion(&self, id: &str) -> Result<Option<ConversionView>, EngineError> {
        Ok(self.store.get(Table::Conversions, id)?)
    }

    pub fn campaigns(&self) -> Result<Vec<CampaignView>, EngineError> {
        let mut out = Vec::new();
        self.store
            .for_each(Table::Campaigns, |_, view: CampaignView| out.push(view))?;
        Ok(out)
    }

    pub fn stream(
        &self,
        kind: StreamKind,
        id: &str,
        from_seq: u64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, EngineError> {
        Ok(self.store.stream(kind, id, from_seq, limit)?)
    }

    pub fn offsets(&self) -> Result<Vec<PartitionOffset>, EngineError> {
        Ok(self.store.offsets()?)
    }

    /// Every conversion of `kind` whose time lies in `range`, in id order.
    fn for_each_conversion(
        &self,
        kind: ConversionKind,
        range: TimeRange,
        mut visit: impl FnMut(&ConversionView),
    ) -> Result<(), EngineError> {
        let prefix = format!("{}:", kind.name());
        let mut after: Option<String> = None;
        loop {
            let page = self.store.scan::<ConversionView>(
                Table::Conversions,
                &prefix,
                after.as_deref(),
                4096,
            )?;
            let Some((last_key, _)) = page.last() else {
                break;
            };
            after = Some(last_key.clone());
            for (_, view) in &page {
                if range.contains(view.conversion.occurred_at) {
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
        let mut totals: BTreeMap<(String, Option<String>), (f64, i64)> = BTreeMap::new();
        self.for_each_conversion(kind, range, |view| {
            let currency = view.conversion.value.as_ref().map(|m| m.currency.clone());
            let Some(result) = view.result(model) else {
                return;
            };
            for credit in &result.attribution.credits {
                let entry = totals
                    .entry((credit.campaign_id.clone(), currency.clone()))
                    .or_default();
                entry.0 += credit.weight;
                entry.1 += credit.amount_minor.unwrap_or(0);
            }
        })?;
        let mut rows = Vec::with_capacity(totals.len());
        for ((campaign_id, currency), (conversions, value_minor)) in totals {
            let campaign = if campaign_id == NO_TOUCH {
                None
            } else {
                self.campaign(&campaign_id)?
            };
            rows.push(CampaignCredit {
                campaign_name: campaign
                    .as_ref()
                    .map_or(campaign_id.clone(), |c| c.display_name().to_owned()),
                channel: campaign.map(|c| c.channel).unwrap_or_default(),
                campaign_id,
                conversions,
                value_minor,
                currency,
            });
        }
        rows.sort_by(|a, b| {
            b.value_minor
                .cmp(&a.value_minor)
                .then(b.conversions.total_cmp(&a.conversions))
                .then(a.campaign_id.cmp(&b.campaign_id))
        });
        Ok(rows)
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

/// One campaign's credit under every model, side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelComparison {
    pub campaign_id: String,
    pub campaign_name: String,
    pub channel: String,
    pub currency: Option<String>,
    /// One entry per configured model, in model order.
    pub models: Vec<ModelCredit>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelCredit {
    pub model: Model,
    pub conversions: f64,
    pub value_minor: i64,
}

impl Queries {
    /// Credit per campaign under every model for the conversions of `kind` in
    /// `range` (the "what-if" view), optionally for one campaign only.
    pub fn compare_models(
        &self,
        kind: ConversionKind,
        range: TimeRange,
        campaign: Option<&str>,
    ) -> Result<Vec<ModelComparison>, EngineError> {
        let mut totals: BTreeMap<CampaignCurrency, BTreeMap<Model, (f64, i64)>> = BTreeMap::new();
        self.for_each_conversion(kind, range, |view| {
            let currency = view.conversion.value.as_ref().map(|m| m.currency.clone());
            for result in &view.results {
                for credit in &result.attribution.credits {
                    if campaign.is_some_and(|c| c != credit.campaign_id) {
                        continue;
                    }
                    let entry = totals
                        .entry((credit.campaign_id.clone(), currency.clone()))
                        .or_default()
                        .entry(result.model)
                        .or_default();
                    entry.0 += credit.weight;
                    entry.1 += credit.amount_minor.unwrap_or(0);
                }
            }
        })?;
        let mut rows = Vec::with_capacity(totals.len());
        for ((campaign_id, currency), per_model) in totals {
            let view = if campaign_id == NO_TOUCH {
                None
            } else {
                self.campaign(&campaign_id)?
            };
            rows.push(ModelComparison {
                campaign_name: view
                    .as_ref()
                    .map_or(campaign_id.clone(), |c| c.display_name().to_owned()),
                channel: view.map(|c| c.channel).unwrap_or_default(),
                campaign_id,
                currency,
                models: per_model
                    .into_iter()
                    .map(|(model, (conversions, value_minor))| ModelCredit {
                        model,
                        conversions,
                        value_minor,
                    })
                    .collect(),
            });
        }
        Ok(rows)
    }
}
