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
        self.compare_models_counting(kind, range, campaign, None)
    }

    /// [`Queries::compare_models`], the credits counting synthesized touches
    /// as `choice` says (`crate::synthesized`).
    pub fn compare_models_counting(
        &self,
        kind: ConversionKind,
        range: TimeRange,
        campaign: Option<&str>,
        choice: Option<touchline_attribution::SynthesizedTouches>,
    ) -> Result<Vec<ModelComparison>, EngineError> {
        let mut totals = ModelTotals::default();
        self.for_each_conversion_counting(kind, range, choice, |view| {
            totals.extend(
                credit_rows(view).filter(|c| campaign.is_none_or(|id| id == c.campaign_id)),
            );
        })?;
        let labels = self.campaign_labels(totals.campaign_ids())?;
        Ok(totals.into_rows(&labels))
    }
}

/// Credit summed per campaign, currency and model: the aggregation of
/// [`Queries::compare_models`], fed one conversion's credits at a time.
#[derive(Debug, Default)]
pub(crate) struct ModelTotals {
    totals: BTreeMap<CampaignCurrency, BTreeMap<Model, (f64, MinorTotal)>>,
}

impl<'v> Extend<CreditRow<'v>> for ModelTotals {
    fn extend<I: IntoIterator<Item = CreditRow<'v>>>(&mut self, rows: I) {
        for row in rows {
            let entry = self
                .totals
                .entry((row.campaign_id.to_owned(), row.currency.map(str::to_owned)))
                .or_default()
                .entry(row.model)
                .or_default();
            entry.0 += row.weight;
            entry.1 += MinorTotal::from(row.amount_minor.unwrap_or(0));
        }
    }
}

impl ModelTotals {
    pub fn campaign_ids(&self) -> impl Iterator<Item = &str> {
        self.totals.keys().map(|(id, _)| id.as_str())
    }

    /// One row per campaign and currency in that order, its models in model order.
    pub fn into_rows(self, labels: &CampaignLabels) -> Vec<ModelComparison> {
        self.totals
            .into_iter()
            .map(|((campaign_id, currency), per_model)| {
                let label = labels.get(&campaign_id);
                ModelComparison {
                    campaign_name: label.map_or_else(|| campaign_id.clone(), |l| l.name.clone()),
                    channel: label.map(|l| l.channel.clone()).unwrap_or_default(),
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
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::queries::credits::tests::{Credit, read};

    /// Every credit of `input` (as [`read`] reads it) summed per campaign,
    /// currency and model; the campaigns, one a line, their models beside.
    fn check(input: &str, expect: Expect) {
        let (credits, labels) = read(input);
        let mut totals = ModelTotals::default();
        totals.extend(credits.iter().map(Credit::row));
        let text: Vec<String> = totals
            .into_rows(&labels)
            .iter()
            .map(|r| {
                let models: Vec<String> = r
                    .models
                    .iter()
                    .map(|m| format!("{}={}/{}", m.model.name(), m.conversions, m.value_minor))
                    .collect();
                format!(
                    "{} {:?} {} {}",
                    r.campaign_id,
                    r.campaign_name,
                    r.currency.as_deref().unwrap_or("-"),
                    models.join(" ")
                )
            })
            .collect();
        expect.assert_eq(&text.join("\n"));
    }

    #[test]
    fn each_campaign_and_currency_gets_its_credit_under_every_model_in_model_order() {
        check(
            "
            label search Google-Ads paid_search google
            search time_decay 0.7 7000 EUR
            search first_touch 1 10000 EUR
            search linear 0.5 5000 EUR
            search linear 0.5 300 USD
            search linear 0.1 1000 EUR
            mail last_touch 1 -
            mail linear 0.3 -
            mail linear 0.6 -
            ",
            expect![[r#"
                mail "mail" - last_touch=1/0 linear=0.9/0
                search "Google-Ads" EUR first_touch=1/10000 linear=0.6/6000 time_decay=0.7/7000
                search "Google-Ads" USD linear=0.5/300"#]],
        );
    }
}
