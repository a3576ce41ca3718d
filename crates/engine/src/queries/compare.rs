use super::*;

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
                        conversions: credit_total(conversions),
                        value_minor,
                    })
                    .collect(),
            });
        }
        Ok(rows)
    }
}
