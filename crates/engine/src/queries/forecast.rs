//! The weighted pipeline forecast (R5): open deals by month of expected
//! close. The scan reads open deals into [`OpenDeal`] rows; [`forecast`]
//! weights and sums them.

use super::*;
use crate::PipelineConfig;

/// Expected cash per month of expected close (R5), per currency.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastRow {
    /// `YYYY-MM` of the expected close, or `(no date)`.
    pub month: String,
    pub currency: String,
    pub opportunities: usize,
    /// Sum of open amounts.
    pub pipeline_minor: MinorTotal,
    /// Sum of amount × probability, rounded to the minor unit per deal.
    pub weighted_minor: MinorTotal,
}

/// One open deal as the forecast counts it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ForecastDeal {
    pub opportunity_id: String,
    pub name: String,
    pub stage: String,
    pub probability_pct: u32,
    pub expected_close_at: Option<Timestamp>,
    pub amount: touchline_core::Money,
    pub weighted_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Forecast {
    pub months: Vec<ForecastRow>,
    pub deals: Vec<ForecastDeal>,
}

/// An open deal as the forecast reads it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OpenDeal {
    pub opportunity_id: String,
    pub name: String,
    pub stage: String,
    /// The deal's own probability, used when the pipeline does not list its stage.
    pub probability_pct: u32,
    pub expected_close_at: Option<Timestamp>,
    pub amount: touchline_core::Money,
}

impl Queries {
    /// The weighted forecast of open deals by month of expected close (R5).
    pub fn forecast(&self, pipeline: &PipelineConfig) -> Result<Forecast, EngineError> {
        let mut deals = Vec::new();
        self.stores.for_each(|_, o: OpportunityView| {
            let (Some(amount), None, Some(_)) = (o.amount, &o.closed, o.created_at) else {
                return;
            };
            deals.push(OpenDeal {
                opportunity_id: o.opportunity_id,
                name: o.name,
                stage: o.stage,
                probability_pct: o.probability_pct,
                expected_close_at: o.expected_close_at,
                amount,
            });
        })?;
        Ok(forecast(deals, pipeline))
    }
}

/// Each deal weighted by its stage's probability in `pipeline` (else its own),
/// rounded to the minor unit per deal; the sums per month of expected close
/// and currency; the deals by expected close, then id.
pub(crate) fn forecast(deals: Vec<OpenDeal>, pipeline: &PipelineConfig) -> Forecast {
    let mut deals: Vec<ForecastDeal> = deals
        .into_iter()
        .map(|d| {
            let probability_pct = pipeline.stage_probability_pct(&d.stage, d.probability_pct);
            // |amount| ≤ 10^15 and probability ≤ 100: the product fits in i64.
            let weighted_minor = (d.amount.amount_minor * i64::from(probability_pct) + 50) / 100;
            ForecastDeal {
                probability_pct,
                expected_close_at: d.expected_close_at,
                weighted_minor,
                amount: d.amount,
                stage: d.stage,
                name: d.name,
                opportunity_id: d.opportunity_id,
            }
        })
        .collect();
    let mut months: BTreeMap<(String, String), ForecastRow> = BTreeMap::new();
    for d in &deals {
        let month = d
            .expected_close_at
            .map_or_else(|| "(no date)".to_owned(), Timestamp::year_month);
        let row = months
            .entry((month.clone(), d.amount.currency.clone()))
            .or_insert_with(|| ForecastRow {
                month,
                currency: d.amount.currency.clone(),
                opportunities: 0,
                pipeline_minor: 0,
                weighted_minor: 0,
            });
        row.opportunities += 1;
        row.pipeline_minor += MinorTotal::from(d.amount.amount_minor);
        row.weighted_minor += MinorTotal::from(d.weighted_minor);
    }
    deals.sort_by(|a, b| {
        a.expected_close_at
            .cmp(&b.expected_close_at)
            .then(a.opportunity_id.cmp(&b.opportunity_id))
    });
    Forecast {
        months: months.into_values().collect(),
        deals,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// `input`: one open deal a line, `<id> <stage> <own pct> <amount minor>
    /// <currency> <expected close YYYY-MM-DD | ->`, under the default
    /// pipeline; the months, then the deals.
    fn check(input: &str, expect: Expect) {
        let deals = input
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|line| {
                let w: Vec<&str> = line.split_whitespace().collect();
                OpenDeal {
                    opportunity_id: w[0].into(),
                    name: w[0].into(),
                    stage: w[1].into(),
                    probability_pct: w[2].parse().unwrap(),
                    amount: touchline_core::Money::new(w[3].parse().unwrap(), w[4]),
                    expected_close_at: Timestamp::parse_lenient(w[5]),
                }
            })
            .collect();
        let forecast = forecast(deals, &PipelineConfig::default());
        let mut text: Vec<String> = forecast
            .months
            .iter()
            .map(|m| {
                format!(
                    "{} {} deals={} pipeline={} weighted={}",
                    m.month, m.currency, m.opportunities, m.pipeline_minor, m.weighted_minor
                )
            })
            .collect();
        text.extend(forecast.deals.iter().map(|d| {
            format!(
                "{} {} {}% {} -> {}",
                d.opportunity_id,
                d.stage,
                d.probability_pct,
                d.amount.amount_minor,
                d.weighted_minor
            )
        }));
        expect.assert_eq(&text.join("\n"));
    }

    #[test]
    fn deals_weighted_by_stage_and_summed_per_month_and_currency() {
        check(
            "
            opp-3 Proposal 5 10001 EUR 2026-04-15
            opp-1 negotiation 50 99 EUR 2026-04-01
            opp-2 custom-stage 45 1000 EUR 2026-04-30
            opp-4 custom-stage 150 2000 USD 2026-04-20
            opp-5 qualification 20 250 EUR -
            ",
            expect![[r#"
                (no date) EUR deals=1 pipeline=250 weighted=50
                2026-04 EUR deals=3 pipeline=11100 weighted=6530
                2026-04 USD deals=1 pipeline=2000 weighted=2000
                opp-5 qualification 20% 250 -> 50
                opp-1 negotiation 80% 99 -> 79
                opp-3 Proposal 60% 10001 -> 6001
                opp-4 custom-stage 100% 2000 -> 2000
                opp-2 custom-stage 45% 1000 -> 450"#]],
        );
    }
}
