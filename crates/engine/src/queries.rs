use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use touchline_attribution::{ConversionKind, Model, NO_TOUCH};
use touchline_core::{StreamKind, Timestamp};
use touchline_projection::{CampaignView, ConversionView, OpportunityView, PersonView};
use touchline_store::{PartitionOffset, Store, StoredEvent, Table};

use crate::EngineError;

pub use touchline_core::{MinorTotal, MoneyTotal};

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
    pub value_minor: MinorTotal,
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

    pub fn account(
        &self,
        id: &str,
    ) -> Result<Option<touchline_projection::AccountView>, EngineError> {
        Ok(self.store.get(Table::Accounts, id)?)
    }

    pub fn opportunity(&self, id: &str) -> Result<Option<OpportunityView>, EngineError> {
        Ok(self.store.get(Table::Opportunities, id)?)
    }

    pub fn campaign(&self, id: &str) -> Result<Option<CampaignView>, EngineError> {
        Ok(self.store.get(Table::Campaigns, id)?)
    }

    /// The models the engine that wrote this store computes: what every stored
    /// credit set was computed under. `None` for a store no engine has opened.
    pub fn configured_models(&self) -> Result<Option<Vec<Model>>, EngineError> {
        let Some(bytes) = self.store.meta_bytes(crate::apply::META_CONFIG)? else {
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
            .store
            .get::<ConversionView>(Table::Conversions, id)?
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
        let mut transactions = Vec::new();
        self.store.for_each(
            Table::Accounts,
            |_, a: touchline_projection::AccountView| {
                transactions.extend(a.transactions.into_iter().filter(|t| {
                    !t.opportunity_id.is_empty()
                        && t.amount.currency == currency
                        && range.contains(t.at)
                }));
            },
        )?;
        let mut booked: BTreeMap<String, MinorTotal> = BTreeMap::new();
        for t in transactions {
            let mut credits = None;
            for kind in [
                ConversionKind::OpportunityWon,
                ConversionKind::OpportunityCreated,
            ] {
                if let Some(view) = self.conversion(&kind.conversion_id(&t.opportunity_id))?
                    && let Some(result) = view.result(model)
                {
                    credits = Some(result.attribution.credits.clone());
                    break;
                }
            }
            let credits = credits.unwrap_or_default();
            if credits.is_empty() {
                *booked.entry(NO_TOUCH.to_owned()).or_default() +=
                    MinorTotal::from(t.amount.amount_minor);
                continue;
            }
            let weights: Vec<f64> = credits.iter().map(|c| c.weight).collect();
            let parts = touchline_attribution::apportion(t.amount.amount_minor, &weights);
            for (credit, part) in credits.iter().zip(parts) {
                *booked.entry(credit.campaign_id.clone()).or_default() += MinorTotal::from(part);
            }
        }
        Ok(booked)
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
        let mut totals: BTreeMap<(String, Option<String>), (f64, MinorTotal)> = BTreeMap::new();
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
                entry.1 += MinorTotal::from(credit.amount_minor.unwrap_or(0));
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
    pub value_minor: MinorTotal,
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
        let mut totals: BTreeMap<CampaignCurrency, BTreeMap<Model, (f64, MinorTotal)>> =
            BTreeMap::new();
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
                    entry.1 += MinorTotal::from(credit.amount_minor.unwrap_or(0));
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

/// A ratio that is undefined when its denominator is zero (a campaign that cost
/// nothing has no ROI; it is not infinite and not an error), and unknown when
/// an operand is (a campaign whose cost nobody recorded).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Ratio {
    Value(f64),
    Undefined(Undefined),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Undefined {
    Undefined,
    Unknown,
}

impl Ratio {
    fn of(numerator: f64, denominator: f64) -> Ratio {
        if denominator == 0.0 {
            Ratio::Undefined(Undefined::Undefined)
        } else {
            Ratio::Value(numerator / denominator)
        }
    }
}

impl Ratio {
    const UNKNOWN: Ratio = Ratio::Undefined(Undefined::Unknown);

    /// `of`, or unknown when the numerator is.
    fn of_known(numerator: Option<f64>, denominator: f64) -> Ratio {
        numerator.map_or(Ratio::UNKNOWN, |n| Ratio::of(n, denominator))
    }
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ratio::Value(v) => write!(f, "{v:.2}"),
            Ratio::Undefined(Undefined::Undefined) => f.write_str("undefined"),
            Ratio::Undefined(Undefined::Unknown) => f.write_str("unknown"),
        }
    }
}

/// What a campaign cost and what it is credited with under one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignPerformance {
    pub campaign_id: String,
    pub campaign_name: String,
    pub channel: String,
    pub currency: String,
    /// The cost in the range under [`CampaignView::cost_in`]'s policy: costs
    /// recorded in it, else the planned cost spread over the run; `None` when
    /// unknown (a campaign with no record), and then ROI, ROAS and cost per
    /// lead and sale are `"unknown"`.
    pub cost_minor: Option<MinorTotal>,
    /// Distinct people touched by the campaign.
    pub members: u64,
    /// Distinct people who responded.
    pub responders: u64,
    /// responders / members.
    pub response_rate: Ratio,
    /// Leads whose source at creation is this campaign.
    pub leads_sourced: u64,
    /// Leads credited (lead_created, sum of weights).
    pub leads: f64,
    /// Won deals credited (opportunity_won, sum of weights).
    pub sales: f64,
    /// Revenue credited (opportunity_won), in `currency`.
    pub revenue_minor: MinorTotal,
    /// Cash booked by accounting (R3): each transaction on a deal, in `currency`
    /// and in the range, split by the deal's credits under the model (its won
    /// conversion, else its creation).
    pub booked_minor: MinorTotal,
    /// (revenue − cost) / cost.
    pub roi: Ratio,
    /// revenue / cost.
    pub roas: Ratio,
    /// cost / leads, in currency units.
    pub cost_per_lead: Ratio,
    /// cost / sales, in currency units.
    pub cost_per_sale: Ratio,
}

/// Why conversions went unattributed, counted, with a few examples each.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnattributedRow {
    pub reason: touchline_attribution::Unattributed,
    pub conversions: u64,
    pub examples: Vec<String>,
}

impl Queries {
    /// Cost, credited leads, sales and revenue, ROI, ROAS, cost per lead and per
    /// sale for every campaign, under `model`: conversions in `range` and the
    /// cost of `range` ([`CampaignView::cost_in`]), so a period means the same
    /// on both sides of every ratio. Only costs and revenue in `currency` count.
    pub fn campaign_performance(
        &self,
        model: Model,
        range: TimeRange,
        currency: &str,
    ) -> Result<Vec<CampaignPerformance>, EngineError> {
        let leads = self.campaign_credits_in(model, ConversionKind::LeadCreated, range)?;
        let won = self.campaign_credits_in(model, ConversionKind::OpportunityWon, range)?;
        let booked = self.booked_by_campaign(model, range, currency)?;
        let mut rows = Vec::new();
        for campaign in self.campaigns()? {
            let cost_minor = campaign.cost_in(currency, range.from, range.to);
            let lead_credit: f64 = leads
                .iter()
                .filter(|c| c.campaign_id == campaign.campaign_id)
                .map(|c| c.conversions)
                .sum();
            let (sales, revenue_minor) = won
                .iter()
                .filter(|c| {
                    c.campaign_id == campaign.campaign_id && c.currency.as_deref() == Some(currency)
                })
                .fold((0.0, 0 as MinorTotal), |(s, r), c| {
                    (s + c.conversions, r + c.value_minor)
                });
            let cost = cost_minor.map(|c| c as f64 / 100.0);
            let revenue = revenue_minor as f64 / 100.0;
            rows.push(CampaignPerformance {
                campaign_name: campaign.display_name().to_owned(),
                channel: campaign.channel.clone(),
                campaign_id: campaign.campaign_id.clone(),
                currency: currency.to_owned(),
                cost_minor,
                members: campaign.members,
                responders: campaign.responders,
                response_rate: Ratio::of(campaign.responders as f64, campaign.members as f64),
                leads_sourced: campaign.leads_sourced,
                leads: lead_credit,
                sales,
                revenue_minor,
                booked_minor: booked.get(&campaign.campaign_id).copied().unwrap_or(0),
                roi: cost.map_or(Ratio::UNKNOWN, |cost| Ratio::of(revenue - cost, cost)),
                roas: cost.map_or(Ratio::UNKNOWN, |cost| Ratio::of(revenue, cost)),
                cost_per_lead: Ratio::of_known(cost, lead_credit),
                cost_per_sale: Ratio::of_known(cost, sales),
            });
        }
        rows.sort_by(|a, b| {
            b.revenue_minor
                .cmp(&a.revenue_minor)
                .then(a.campaign_id.cmp(&b.campaign_id))
        });
        Ok(rows)
    }

    /// Conversions of `kind` that `model` credited to `(no touch)`, by reason.
    pub fn unattributed(
        &self,
        model: Model,
        kind: ConversionKind,
        range: TimeRange,
    ) -> Result<Vec<UnattributedRow>, EngineError> {
        let mut rows: Vec<UnattributedRow> = Vec::new();
        self.for_each_conversion(kind, range, |view| {
            let Some(reason) = view.result(model).and_then(|r| r.attribution.unattributed) else {
                return;
            };
            match rows.iter_mut().find(|r| r.reason == reason) {
                Some(row) => {
                    row.conversions += 1;
                    if row.examples.len() < 5 {
                        row.examples.push(view.conversion.id.clone());
                    }
                }
                None => rows.push(UnattributedRow {
                    reason,
                    conversions: 1,
                    examples: vec![view.conversion.id.clone()],
                }),
            }
        })?;
        Ok(rows)
    }
}

/// How credit rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    #[default]
    Campaign,
    /// The campaign's marketing channel (`paid_search`, `email`, ...).
    Channel,
    /// The campaign's source (`google`, `linkedin`, `newsletter`, ...).
    Source,
}

impl GroupBy {
    pub fn parse(text: &str) -> Option<GroupBy> {
        match text {
            "campaign" => Some(GroupBy::Campaign),
            "channel" => Some(GroupBy::Channel),
            "source" => Some(GroupBy::Source),
            _ => None,
        }
    }
}

/// Credit summed over a channel or source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupCredit {
    /// The channel or source; `(none)` for campaigns without one, `(no touch)`
    /// for unattributed conversions.
    pub group: String,
    pub campaigns: usize,
    pub conversions: f64,
    pub value_minor: MinorTotal,
    pub currency: Option<String>,
}

impl Queries {
    /// [`Queries::campaign_credits_in`] summed by channel or source.
    pub fn credits_by(
        &self,
        model: Model,
        kind: ConversionKind,
        range: TimeRange,
        by: GroupBy,
    ) -> Result<Vec<GroupCredit>, EngineError> {
        let rows = self.campaign_credits_in(model, kind, range)?;
        let mut groups: BTreeMap<(String, Option<String>), GroupCredit> = BTreeMap::new();
        for row in rows {
            let key = if row.campaign_id == NO_TOUCH {
                NO_TOUCH.to_owned()
            } else {
                let campaign = self.campaign(&row.campaign_id)?;
                let value = match by {
                    GroupBy::Campaign => row.campaign_id.clone(),
                    GroupBy::Channel => campaign.map(|c| c.channel).unwrap_or_default(),
                    GroupBy::Source => campaign.map(|c| c.source).unwrap_or_default(),
                };
                if value.is_empty() {
                    "(none)".to_owned()
                } else {
                    value
                }
            };
            let entry = groups
                .entry((key.clone(), row.currency.clone()))
                .or_insert_with(|| GroupCredit {
                    group: key,
                    campaigns: 0,
                    conversions: 0.0,
                    value_minor: 0,
                    currency: row.currency.clone(),
                });
            entry.campaigns += 1;
            entry.conversions += row.conversions;
            entry.value_minor += row.value_minor;
        }
        let mut out: Vec<GroupCredit> = groups.into_values().collect();
        out.sort_by(|a, b| {
            b.value_minor
                .cmp(&a.value_minor)
                .then(b.conversions.total_cmp(&a.conversions))
                .then(a.group.cmp(&b.group))
        });
        Ok(out)
    }
}

/// A lead whose next follow-up is due (R11), with what the last contact gave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DueFollowUp {
    pub person_id: String,
    pub name: String,
    pub company: String,
    pub owner_id: String,
    pub due_at: Timestamp,
    /// How long past due at the asked instant; 0 when due exactly then.
    pub overdue_ms: i64,
    pub follow_ups: usize,
    pub last_method: Option<touchline_core::ContactMethod>,
    pub last_outcome: Option<String>,
}

/// Time from lead creation to the first follow-up (R21).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpeedToLead {
    /// Owner, or `(all)`.
    pub group: String,
    pub leads: usize,
    /// Leads with a follow-up at or after their creation.
    pub followed_up: usize,
    pub median_minutes: Option<f64>,
    pub mean_minutes: Option<f64>,
}

impl Queries {
    /// Leads whose next follow-up is due at or before `at`, most overdue first,
    /// optionally for one owner.
    pub fn follow_ups_due(
        &self,
        at: Timestamp,
        owner: Option<&str>,
    ) -> Result<Vec<DueFollowUp>, EngineError> {
        let mut due = Vec::new();
        self.store.for_each(Table::Persons, |_, p: PersonView| {
            if p.merged_into.is_some() || owner.is_some_and(|o| o != p.owner_id) {
                return;
            }
            let Some(due_at) = p.next_follow_up_due().filter(|d| *d <= at) else {
                return;
            };
            let last = p.follow_ups.last();
            due.push(DueFollowUp {
                name: p.display_name(),
                company: p.company.clone(),
                owner_id: p.owner_id.clone(),
                due_at,
                overdue_ms: at.as_millis() - due_at.as_millis(),
                follow_ups: p.follow_ups.len(),
                last_method: last.map(|f| f.method),
                last_outcome: last.map(|f| f.outcome.clone()),
                person_id: p.person_id,
            });
        })?;
        due.sort_by(|a, b| a.due_at.cmp(&b.due_at).then(a.person_id.cmp(&b.person_id)));
        Ok(due)
    }

    /// Speed to lead for leads created in `range`: overall, then per owner.
    pub fn speed_to_lead(&self, range: TimeRange) -> Result<Vec<SpeedToLead>, EngineError> {
        let mut groups: BTreeMap<String, (usize, Vec<i64>)> = BTreeMap::new();
        self.store.for_each(Table::Persons, |_, p: PersonView| {
            let Some(created) = p.lead_created_at else {
                return;
            };
            if p.merged_into.is_some() || !range.contains(created) {
                return;
            }
            let speed = p.speed_to_lead_ms();
            for group in ["(all)".to_owned(), p.owner_id.clone()] {
                let entry = groups.entry(group).or_default();
                entry.0 += 1;
                entry.1.extend(speed);
            }
        })?;
        let mut rows: Vec<SpeedToLead> = groups
            .into_iter()
            .map(|(group, (leads, mut speeds))| {
                speeds.sort_unstable();
                let minutes = |ms: f64| ms / 60_000.0;
                let median = (!speeds.is_empty()).then(|| {
                    let mid = speeds.len() / 2;
                    if speeds.len() % 2 == 0 {
                        minutes((speeds[mid - 1] + speeds[mid]) as f64 / 2.0)
                    } else {
                        minutes(speeds[mid] as f64)
                    }
                });
                let mean = (!speeds.is_empty()).then(|| {
                    minutes(speeds.iter().map(|s| *s as f64).sum::<f64>() / speeds.len() as f64)
                });
                SpeedToLead {
                    group,
                    leads,
                    followed_up: speeds.len(),
                    median_minutes: median,
                    mean_minutes: mean,
                }
            })
            .collect();
        // "(all)" first, then owners by name.
        rows.sort_by(|a, b| {
            (a.group != "(all)")
                .cmp(&(b.group != "(all)"))
                .then(a.group.cmp(&b.group))
        });
        Ok(rows)
    }
}

/// One row of the funnel (R13): leads created in a month from a source, how many
/// became customers, and how long that took.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelRow {
    /// `YYYY-MM` of lead creation.
    pub month: String,
    /// The lead's source at first contact: the campaign's `source` (e.g. `google`),
    /// else the campaign id, else `(unknown)`.
    pub source: String,
    pub new_leads: usize,
    /// Leads converted to a contact (with an account, usually an opportunity).
    pub converted: usize,
    /// Leads whose deal closed won, directly or through a partner (R22).
    pub customers: usize,
    /// customers / new_leads.
    pub conversion_rate: Ratio,
    /// Mean days from lead creation to the first won deal, over customers.
    pub mean_days_to_convert: Option<f64>,
}

impl Queries {
    /// New leads per month and source, conversion to customers, and time to convert.
    pub fn funnel(&self, range: TimeRange) -> Result<Vec<FunnelRow>, EngineError> {
        let mut sources: hashbrown::HashMap<String, String> = hashbrown::HashMap::new();
        self.store.for_each(
            Table::Campaigns,
            |id, c: touchline_projection::CampaignView| {
                if !c.source.is_empty() {
                    sources.insert(id.to_owned(), c.source);
                }
            },
        )?;
        let mut won_at: hashbrown::HashMap<String, Timestamp> = hashbrown::HashMap::new();
        self.store
            .for_each(Table::Opportunities, |id, o: OpportunityView| {
                if let Some(closed) = o.closed.filter(|c| c.won) {
                    won_at.insert(id.to_owned(), closed.closed_at);
                }
            })?;
        // (month, source) → (new leads, converted, customers, days to convert each)
        type Counts = (usize, usize, usize, Vec<f64>);
        let mut rows: BTreeMap<(String, String), Counts> = BTreeMap::new();
        self.store.for_each(Table::Persons, |_, p: PersonView| {
            let Some(created) = p.lead_created_at else {
                return;
            };
            if p.merged_into.is_some() || !range.contains(created) {
                return;
            }
            let source = p
                .source_at_first_contact()
                .map(|s| {
                    if !s.source.is_empty() {
                        s.source
                    } else {
                        sources
                            .get(&s.campaign_id)
                            .cloned()
                            .unwrap_or(s.campaign_id)
                    }
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "(unknown)".to_owned());
            let first_win = p
                .opportunity_ids
                .iter()
                .filter_map(|o| won_at.get(o))
                .min()
                .copied();
            let entry = rows.entry((created.year_month(), source)).or_default();
            entry.0 += 1;
            if p.converted.is_some() {
                entry.1 += 1;
            }
            if let Some(won) = first_win {
                entry.2 += 1;
                entry
                    .3
                    .push((won.as_millis() - created.as_millis()) as f64 / 86_400_000.0);
            }
        })?;
        Ok(rows
            .into_iter()
            .map(
                |((month, source), (new_leads, converted, customers, days))| FunnelRow {
                    month,
                    source,
                    new_leads,
                    converted,
                    customers,
                    conversion_rate: Ratio::of(customers as f64, new_leads as f64),
                    mean_days_to_convert: (!days.is_empty())
                        .then(|| days.iter().sum::<f64>() / days.len() as f64),
                },
            )
            .collect())
    }
}

/// People who are likely the same (R10).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DuplicateGroup {
    /// `email` or `phone`.
    pub rule: &'static str,
    /// The shared normalised value.
    pub key: String,
    pub person_ids: Vec<String>,
}

impl Queries {
    /// Groups of people (not merged away) who share a normalised e-mail address,
    /// or a normalised phone number of at least 8 digits. The rule is deliberately
    /// plain: a match is a candidate for a `PersonsMerged` event, never merged
    /// silently.
    pub fn duplicate_candidates(&self) -> Result<Vec<DuplicateGroup>, EngineError> {
        let mut by_key: BTreeMap<(&'static str, String), Vec<String>> = BTreeMap::new();
        self.store.for_each(Table::Persons, |id, p: PersonView| {
            if p.merged_into.is_some() {
                return;
            }
            if !p.email.is_empty() {
                by_key
                    .entry(("email", p.email.clone()))
                    .or_default()
                    .push(id.to_owned());
            }
            if p.phone.chars().filter(char::is_ascii_digit).count() >= 8 {
                by_key
                    .entry(("phone", p.phone.clone()))
                    .or_default()
                    .push(id.to_owned());
            }
        })?;
        Ok(by_key
            .into_iter()
            .filter(|(_, ids)| ids.len() > 1)
            .map(|((rule, key), person_ids)| DuplicateGroup {
                rule,
                key,
                person_ids,
            })
            .collect())
    }
}

/// A lead in priority order (R23).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrioritisedLead {
    pub person_id: String,
    pub name: String,
    pub company: String,
    pub owner_id: String,
    pub status: Option<touchline_core::LeadStatus>,
    pub qualification: touchline_core::Qualification,
    /// Need, budget and authority answered yes, 0 to 3.
    pub qualification_score: u8,
    pub touches: usize,
    pub lead_created_at: Option<Timestamp>,
}

impl Queries {
    /// Open leads (not converted, not merged away) in priority order: more of
    /// need, budget and authority confirmed first; then status (qualified,
    /// working, new, nurturing, unqualified); then more touches; then older leads.
    pub fn prioritised_leads(
        &self,
        owner: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PrioritisedLead>, EngineError> {
        use touchline_core::LeadStatus;
        let status_rank = |s: Option<LeadStatus>| match s {
            Some(LeadStatus::Qualified) => 0,
            Some(LeadStatus::Working) => 1,
            Some(LeadStatus::New) | None => 2,
            Some(LeadStatus::Nurturing) => 3,
            Some(LeadStatus::Unqualified) => 4,
        };
        let mut leads = Vec::new();
        self.store.for_each(Table::Persons, |_, p: PersonView| {
            if p.lead_created_at.is_none()
                || p.merged_into.is_some()
                || p.converted.is_some()
                || owner.is_some_and(|o| o != p.owner_id)
            {
                return;
            }
            let q = p.qualification;
            let score = [q.need, q.budget, q.authority]
                .iter()
                .filter(|a| **a == Some(true))
                .count() as u8;
            leads.push(PrioritisedLead {
                name: p.display_name(),
                company: p.company.clone(),
                owner_id: p.owner_id.clone(),
                status: p.status,
                qualification: q,
                qualification_score: score,
                touches: p.touch_count() as usize,
                lead_created_at: p.lead_created_at,
                person_id: p.person_id,
            });
        })?;
        leads.sort_by(|a, b| {
            b.qualification_score
                .cmp(&a.qualification_score)
                .then(status_rank(a.status).cmp(&status_rank(b.status)))
                .then(b.touches.cmp(&a.touches))
                .then(a.lead_created_at.cmp(&b.lead_created_at))
                .then(a.person_id.cmp(&b.person_id))
        });
        leads.truncate(limit);
        Ok(leads)
    }
}

/// Literature fulfilment per asset (R8).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LiteratureRow {
    pub asset: String,
    /// People the material was sent to.
    pub sent_to: usize,
    /// Of those, people who responded to it.
    pub responded: usize,
    pub response_rate: Ratio,
    /// Won deals where a contact had been sent the material before the close.
    pub preceded_wins: usize,
    /// Their closed amounts, in minor units, summed as recorded (one currency
    /// is assumed; the campaign report splits by currency).
    pub preceded_revenue_minor: MinorTotal,
}

impl Queries {
    /// What material was sent to whom, how they responded, and which material
    /// came before purchases.
    pub fn literature(&self) -> Result<Vec<LiteratureRow>, EngineError> {
        use touchline_core::TouchType;
        // asset → (sent to, responded)
        let mut per_asset: BTreeMap<
            String,
            (hashbrown::HashSet<String>, hashbrown::HashSet<String>),
        > = BTreeMap::new();
        // person → (asset, sent at)
        let mut sent: hashbrown::HashMap<String, Vec<(String, Timestamp)>> =
            hashbrown::HashMap::new();
        self.store.for_each(Table::Persons, |_, p: PersonView| {
            if p.merged_into.is_some() {
                return;
            }
            for t in &p.touches {
                match t.touch_type {
                    TouchType::LiteratureSent => {
                        per_asset
                            .entry(t.asset.clone())
                            .or_default()
                            .0
                            .insert(p.person_id.clone());
                        sent.entry(p.person_id.clone())
                            .or_default()
                            .push((t.asset.clone(), t.occurred_at));
                    }
                    TouchType::LiteratureResponded => {
                        per_asset
                            .entry(t.asset.clone())
                            .or_default()
                            .1
                            .insert(p.person_id.clone());
                    }
                    _ => {}
                }
            }
        })?;
        let mut wins: BTreeMap<String, (usize, MinorTotal)> = BTreeMap::new();
        self.store
            .for_each(Table::Opportunities, |_, o: OpportunityView| {
                let Some(closed) = o.closed.as_ref().filter(|c| c.won) else {
                    return;
                };
                let mut assets: Vec<&String> = o
                    .contact_ids
                    .iter()
                    .filter_map(|c| sent.get(c))
                    .flatten()
                    .filter(|(_, at)| *at <= closed.closed_at)
                    .map(|(asset, _)| asset)
                    .collect();
                assets.sort();
                assets.dedup();
                for asset in assets {
                    let entry = wins.entry(asset.clone()).or_default();
                    entry.0 += 1;
                    entry.1 += MinorTotal::from(closed.amount.amount_minor);
                }
            })?;
        Ok(per_asset
            .into_iter()
            .map(|(asset, (sent_to, responded))| {
                let (preceded_wins, preceded_revenue_minor) =
                    wins.get(&asset).copied().unwrap_or_default();
                let responded_of_sent = responded.iter().filter(|p| sent_to.contains(*p)).count();
                LiteratureRow {
                    response_rate: Ratio::of(responded_of_sent as f64, sent_to.len() as f64),
                    sent_to: sent_to.len(),
                    responded: responded_of_sent,
                    preceded_wins,
                    preceded_revenue_minor,
                    asset,
                }
            })
            .collect())
    }
}

/// Behavioural lead scoring (R19): every touch adds its type's weight, decayed
/// by age with a half-life.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    /// A touch counts half as much after this many days.
    pub half_life_days: f64,
    /// Points per touch type; types not listed count 0.
    pub weights: BTreeMap<touchline_core::TouchType, f64>,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        use touchline_core::TouchType::*;
        let weights = [
            (EmailOpen, 1.0),
            (EmailClick, 3.0),
            (WebVisit, 2.0),
            (AdClick, 3.0),
            (FormFill, 10.0),
            (WebinarRegistered, 5.0),
            (WebinarAttended, 15.0),
            (Event, 15.0),
            (Meeting, 25.0),
            (Call, 10.0),
            (LiteratureResponded, 8.0),
            (Referral, 20.0),
            (SupportCase, 5.0),
        ]
        .into_iter()
        .collect();
        ScoringConfig {
            half_life_days: 30.0,
            weights,
        }
    }
}

/// A lead's behavioural score at an instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeadScore {
    pub person_id: String,
    pub owner_id: String,
    pub score: f64,
    /// Touches that counted (at or before the instant).
    pub touches: usize,
    pub last_touch_at: Option<Timestamp>,
}

impl ScoringConfig {
    /// The score of a person's touches at `at`; touches after `at` do not count.
    pub fn score(&self, person: &PersonView, at: Timestamp) -> (f64, usize) {
        let half_life_ms = (self.half_life_days * 86_400_000.0).max(1.0);
        person
            .touches
            .iter()
            .filter(|t| t.occurred_at <= at)
            .fold((0.0, 0), |(score, n), t| {
                let age = (at.as_millis() - t.occurred_at.as_millis()) as f64;
                let weight = self.weights.get(&t.touch_type).copied().unwrap_or(0.0);
                (
                    score + weight * (-(age / half_life_ms) * std::f64::consts::LN_2).exp(),
                    n + 1,
                )
            })
    }
}

impl Queries {
    /// Open leads by behavioural score at `at`, highest first, for prioritising
    /// and segmenting (R19).
    pub fn lead_scores(
        &self,
        scoring: &ScoringConfig,
        at: Timestamp,
        owner: Option<&str>,
        limit: usize,
    ) -> Result<Vec<LeadScore>, EngineError> {
        let mut scores = Vec::new();
        self.store.for_each(Table::Persons, |_, p: PersonView| {
            if p.lead_created_at.is_none()
                || p.merged_into.is_some()
                || owner.is_some_and(|o| o != p.owner_id)
            {
                return;
            }
            let (score, touches) = scoring.score(&p, at);
            scores.push(LeadScore {
                last_touch_at: p
                    .touches
                    .iter()
                    .rev()
                    .find(|t| t.occurred_at <= at)
                    .map(|t| t.occurred_at),
                owner_id: p.owner_id.clone(),
                person_id: p.person_id,
                score,
                touches,
            });
        })?;
        scores.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.person_id.cmp(&b.person_id))
        });
        scores.truncate(limit);
        Ok(scores)
    }
}

/// Recency, frequency and monetary value of one customer account (R4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerRfm {
    pub account_id: String,
    pub name: String,
    /// The source at first contact of the account's earliest lead.
    pub source: String,
    /// Days from the last won deal to the asked instant.
    pub recency_days: f64,
    /// Won deals.
    pub frequency: usize,
    /// Won amounts, in minor units.
    pub monetary_minor: MinorTotal,
}

/// RFM summed per source (R4): which sources bring the best customers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceRfm {
    pub source: String,
    pub customers: usize,
    pub mean_recency_days: f64,
    pub mean_frequency: f64,
    pub monetary_minor: MinorTotal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RfmReport {
    pub customers: Vec<CustomerRfm>,
    pub by_source: Vec<SourceRfm>,
}

impl Queries {
    /// RFM per customer account and per source, as of `at` (won deals closed at
    /// or before `at` count).
    pub fn rfm(&self, at: Timestamp) -> Result<RfmReport, EngineError> {
        let mut wins: BTreeMap<String, (Timestamp, usize, MinorTotal)> = BTreeMap::new();
        self.store
            .for_each(Table::Opportunities, |_, o: OpportunityView| {
                let Some(closed) = o.closed.as_ref().filter(|c| c.won && c.closed_at <= at) else {
                    return;
                };
                let entry = wins
                    .entry(o.account_id.clone())
                    .or_insert((closed.closed_at, 0, 0));
                entry.0 = entry.0.max(closed.closed_at);
                entry.1 += 1;
                entry.2 += MinorTotal::from(closed.amount.amount_minor);
            })?;
        let mut customers = Vec::with_capacity(wins.len());
        for (account_id, (last, frequency, monetary_minor)) in wins {
            let account: Option<touchline_projection::AccountView> =
                self.store.get(Table::Accounts, &account_id)?;
            let mut earliest: Option<(Timestamp, String)> = None;
            for contact in account
                .as_ref()
                .map(|a| a.contact_ids.clone())
                .unwrap_or_default()
            {
                let Some(person) = self.person(&contact)? else {
                    continue;
                };
                let (Some(created), Some(source)) =
                    (person.lead_created_at, person.source_at_first_contact())
                else {
                    continue;
                };
                let name = if source.source.is_empty() {
                    source.campaign_id
                } else {
                    source.source
                };
                if earliest.as_ref().is_none_or(|(t, _)| created < *t) {
                    earliest = Some((created, name));
                }
            }
            customers.push(CustomerRfm {
                name: account.map(|a| a.name).unwrap_or_default(),
                source: earliest.map_or_else(|| "(unknown)".to_owned(), |(_, s)| s),
                recency_days: (at.as_millis() - last.as_millis()) as f64 / 86_400_000.0,
                frequency,
                monetary_minor,
                account_id,
            });
        }
        let mut per_source: BTreeMap<String, Vec<&CustomerRfm>> = BTreeMap::new();
        for c in &customers {
            per_source.entry(c.source.clone()).or_default().push(c);
        }
        let by_source = per_source
            .into_iter()
            .map(|(source, cs)| {
                let n = cs.len() as f64;
                SourceRfm {
                    customers: cs.len(),
                    mean_recency_days: cs.iter().map(|c| c.recency_days).sum::<f64>() / n,
                    mean_frequency: cs.iter().map(|c| c.frequency as f64).sum::<f64>() / n,
                    monetary_minor: cs.iter().map(|c| c.monetary_minor).sum(),
                    source,
                }
            })
            .collect();
        Ok(RfmReport {
            customers,
            by_source,
        })
    }
}

/// A customer account whose people opened support cases after buying: an upsell
/// signal (R17).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpsellSignal {
    pub account_id: String,
    pub name: String,
    /// The first won deal's close.
    pub customer_since: Timestamp,
    /// Support-case touches of the account's contacts after that.
    pub support_cases: usize,
    pub last_case_at: Timestamp,
}

impl Queries {
    /// Customer accounts with post-sale support activity, most cases first.
    pub fn upsell_signals(&self) -> Result<Vec<UpsellSignal>, EngineError> {
        let mut first_win: BTreeMap<String, Timestamp> = BTreeMap::new();
        self.store
            .for_each(Table::Opportunities, |_, o: OpportunityView| {
                if let Some(closed) = o.closed.as_ref().filter(|c| c.won) {
                    let entry = first_win
                        .entry(o.account_id.clone())
                        .or_insert(closed.closed_at);
                    *entry = (*entry).min(closed.closed_at);
                }
            })?;
        let mut signals = Vec::new();
        for (account_id, since) in first_win {
            let Some(account) = self
                .store
                .get::<touchline_projection::AccountView>(Table::Accounts, &account_id)?
            else {
                continue;
            };
            let mut cases: Vec<Timestamp> = Vec::new();
            for contact in &account.contact_ids {
                if let Some(person) = self.person(contact)? {
                    cases.extend(
                        person
                            .touches
                            .iter()
                            .filter(|t| {
                                t.touch_type == touchline_core::TouchType::SupportCase
                                    && t.occurred_at > since
                            })
                            .map(|t| t.occurred_at),
                    );
                }
            }
            if let Some(last) = cases.iter().max().copied() {
                signals.push(UpsellSignal {
                    name: account.name.clone(),
                    customer_since: since,
                    support_cases: cases.len(),
                    last_case_at: last,
                    account_id,
                });
            }
        }
        signals.sort_by(|a, b| {
            b.support_cases
                .cmp(&a.support_cases)
                .then(a.account_id.cmp(&b.account_id))
        });
        Ok(signals)
    }
}

/// A contact on an account record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactSummary {
    pub person_id: String,
    pub name: String,
    pub email: String,
    pub kind: touchline_projection::PersonKind,
    pub touches: usize,
    pub lead_created_at: Option<Timestamp>,
}

/// One record of an account (R9): who, which deals, what was paid, what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRecord {
    pub account: touchline_projection::AccountView,
    pub contacts: Vec<ContactSummary>,
    pub opportunities: Vec<OpportunityView>,
    /// Transactions per currency, in minor units.
    pub revenue: Vec<MoneyTotal>,
    /// The account's latest events from the log, newest last.
    pub history: Vec<touchline_store::StoredEvent>,
    /// When the account first won a deal.
    pub customer_since: Option<Timestamp>,
    /// Contacts whose lead was created after that: a customer cycling back
    /// into the funnel for another product (R9).
    pub returning_leads: Vec<String>,
}

impl Queries {
    pub fn account_record(
        &self,
        account_id: &str,
        history: usize,
    ) -> Result<Option<AccountRecord>, EngineError> {
        let Some(account) = self
            .store
            .get::<touchline_projection::AccountView>(Table::Accounts, account_id)?
        else {
            return Ok(None);
        };
        let mut contacts = Vec::new();
        for id in &account.contact_ids {
            if let Some(p) = self.person(id)? {
                contacts.push(ContactSummary {
                    name: p.display_name(),
                    email: p.email.clone(),
                    kind: p.kind,
                    touches: p.touch_count() as usize,
                    lead_created_at: p.lead_created_at,
                    person_id: p.person_id,
                });
            }
        }
        let mut opportunities = Vec::new();
        for id in &account.opportunity_ids {
            opportunities.extend(self.opportunity(id)?);
        }
        let mut revenue: Vec<MoneyTotal> = Vec::new();
        for t in &account.transactions {
            MoneyTotal::add_to(&mut revenue, &t.amount);
        }
        // The newest `history` events: the stream is in log order, so read it all
        // and keep the tail (an account's stream is short next to the log).
        let mut events = self
            .store
            .stream(StreamKind::Account, account_id, 0, usize::MAX)?;
        let skip = events.len().saturating_sub(history);
        let history = events.split_off(skip);
        let customer_since = opportunities
            .iter()
            .filter_map(|o| o.closed.as_ref().filter(|c| c.won).map(|c| c.closed_at))
            .min();
        let returning_leads = contacts
            .iter()
            .filter(|c| {
                customer_since.is_some_and(|since| c.lead_created_at.is_some_and(|at| at > since))
            })
            .map(|c| c.person_id.clone())
            .collect();
        Ok(Some(AccountRecord {
            account,
            contacts,
            opportunities,
            revenue,
            history,
            customer_since,
            returning_leads,
        }))
    }
}
