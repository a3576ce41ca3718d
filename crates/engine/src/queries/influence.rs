//! Campaign influence (Salesforce's view, for every model at once): the
//! conversions a campaign is credited in, each with what every configured
//! model gives the campaign there.
//!
//! Cost: one pass over the stored conversions of the conversion point in the
//! period (the pass every report of the point makes, with the same period
//! rule, [`TimeRange::contains`] on the conversion's time); nothing is read
//! per campaign. So a campaign's influence costs the same whether it touched
//! ten deals or ten thousand. An index of credited conversions per campaign,
//! written at apply time, would make it proportional to the campaign instead.

use super::*;

/// One conversion the campaign influenced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Influenced {
    pub conversion_id: String,
    pub conversion: ConversionKind,
    /// The person (lead conversions) or the opportunity (deal conversions).
    pub subject_id: String,
    pub occurred_at: Timestamp,
    /// The conversion's value in minor units; `None` for lead conversions.
    pub value_minor: Option<i64>,
    pub currency: Option<String>,
    /// One entry per model the conversion is attributed under, in model order;
    /// a model that gives the campaign nothing here has weight 0.
    pub models: Vec<InfluenceCredit>,
}

/// What one model gives the campaign at one conversion: the sum over the
/// campaign's touches there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InfluenceCredit {
    pub model: Model,
    /// Share of the conversion, in `[0, 1]`.
    pub weight: f64,
    /// Share of the value in minor units; `None` for conversions without a value.
    pub amount_minor: Option<MinorTotal>,
}

/// The order of the influence rows; every order ends with the conversion id,
/// so pages never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfluenceSort {
    /// The conversion's value, largest first (rows without a value last).
    Value,
    /// The amount, then the weight, one model gives the campaign, largest first.
    Credit(Model),
    /// The conversion's time, latest first.
    Recent,
}

impl InfluenceSort {
    /// The names the API takes for `sort` (`credit` needs a model).
    pub const NAMES: [&'static str; 3] = ["value", "credit", "recent"];
}

/// Which rows of a campaign's influence to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfluenceQuery {
    pub campaign_id: String,
    pub kind: ConversionKind,
    pub range: TimeRange,
    /// Only conversions valued in this currency.
    pub currency: Option<String>,
    pub sort: InfluenceSort,
}

impl Queries {
    /// Every conversion of the query's point in its period that at least one
    /// model credits the campaign in, with every model's credit to the
    /// campaign, in the query's order.
    pub fn campaign_influence(
        &self,
        query: &InfluenceQuery,
    ) -> Result<Vec<Influenced>, EngineError> {
        let mut rows = Vec::new();
        self.for_each_conversion(query.kind, query.range, |view| {
            rows.extend(influenced(
                view,
                &query.campaign_id,
                query.currency.as_deref(),
            ));
        })?;
        sort_influence(&mut rows, query.sort);
        Ok(rows)
    }
}

/// The conversion as the campaign's influence lists it, with every model's
/// credit to the campaign; `None` when no model credits the campaign there or
/// its value is not in `currency`.
pub(crate) fn influenced(
    view: &ConversionView,
    campaign: &str,
    currency: Option<&str>,
) -> Option<Influenced> {
    let value = view.conversion.value.as_ref();
    if currency.is_some_and(|c| value.is_none_or(|v| v.currency != c)) {
        return None;
    }
    let mut credited = false;
    let models = view
        .results
        .iter()
        .map(|result| {
            let mut weight = 0.0;
            let mut amount: MinorTotal = 0;
            for credit in &result.attribution.credits {
                if credit.campaign_id == campaign {
                    credited = true;
                    weight += credit.weight;
                    amount += MinorTotal::from(credit.amount_minor.unwrap_or(0));
                }
            }
            InfluenceCredit {
                model: result.model,
                weight: credit_total(weight),
                amount_minor: value.map(|_| amount),
            }
        })
        .collect();
    credited.then(|| Influenced {
        conversion_id: view.conversion.id.clone(),
        conversion: view.conversion.kind,
        subject_id: view.conversion.subject_id.clone(),
        occurred_at: view.conversion.occurred_at,
        value_minor: value.map(|v| v.amount_minor),
        currency: value.map(|v| v.currency.clone()),
        models,
    })
}

fn sort_influence(rows: &mut [Influenced], sort: InfluenceSort) {
    let credit = |row: &Influenced, model: Model| {
        row.models
            .iter()
            .find(|m| m.model == model)
            .map_or((None, 0.0), |m| (m.amount_minor, m.weight))
    };
    rows.sort_by(|a, b| {
        let order = match sort {
            InfluenceSort::Value => b.value_minor.cmp(&a.value_minor),
            InfluenceSort::Credit(model) => {
                let (a_amount, a_weight) = credit(a, model);
                let (b_amount, b_weight) = credit(b, model);
                b_amount.cmp(&a_amount).then(b_weight.total_cmp(&a_weight))
            }
            InfluenceSort::Recent => std::cmp::Ordering::Equal,
        };
        order
            .then(b.occurred_at.cmp(&a.occurred_at))
            .then(a.conversion_id.cmp(&b.conversion_id))
    });
}
