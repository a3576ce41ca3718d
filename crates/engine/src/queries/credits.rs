//! The rows the credit reports read out of stored conversions, and their pure
//! aggregation into credit per campaign ([`campaign_credits`]): the scan
//! ([`Queries::campaign_credits_in`]) feeds [`CreditTotals`] one conversion at
//! a time, so no report holds more than its totals.

use super::*;

/// One credit of a stored conversion under one model: what the credit
/// reports sum, borrowed from the view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CreditRow<'v> {
    pub campaign_id: &'v str,
    /// The currency of the conversion's value; `None` for conversions without one.
    pub currency: Option<&'v str>,
    pub model: Model,
    pub weight: f64,
    pub amount_minor: Option<i64>,
}

/// Every credit of `view` under every model it is attributed under.
pub(crate) fn credit_rows(view: &ConversionView) -> impl Iterator<Item = CreditRow<'_>> {
    let currency = view.conversion.value.as_ref().map(|m| m.currency.as_str());
    view.results.iter().flat_map(move |result| {
        result
            .attribution
            .credits
            .iter()
            .map(move |credit| CreditRow {
                campaign_id: &credit.campaign_id,
                currency,
                model: result.model,
                weight: credit.weight,
                amount_minor: credit.amount_minor,
            })
    })
}

/// What credit rows are labelled and grouped with: a campaign's name, channel
/// and source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CampaignLabel {
    /// The campaign's name, else its id.
    pub name: String,
    pub channel: String,
    pub source: String,
}

/// Labels by campaign id; a campaign without a view (and `(no touch)`) has
/// none, and shows as its id with no channel or source.
pub(crate) type CampaignLabels = BTreeMap<String, CampaignLabel>;

impl Queries {
    /// The labels of the campaigns `ids`, read one by one (a report credits
    /// few campaigns next to its conversions).
    pub(crate) fn campaign_labels<'i>(
        &self,
        ids: impl IntoIterator<Item = &'i str>,
    ) -> Result<CampaignLabels, EngineError> {
        let mut labels = CampaignLabels::new();
        for id in ids {
            if id == NO_TOUCH || labels.contains_key(id) {
                continue;
            }
            if let Some(view) = self.campaign(id)? {
                labels.insert(
                    id.to_owned(),
                    CampaignLabel {
                        name: view.display_name().to_owned(),
                        channel: view.channel,
                        source: view.source,
                    },
                );
            }
        }
        Ok(labels)
    }
}

/// Credit summed per campaign and currency: fractional conversions and value.
#[derive(Debug, Default)]
pub(crate) struct CreditTotals {
    totals: BTreeMap<CampaignCurrency, (f64, MinorTotal)>,
}

impl<'v> Extend<CreditRow<'v>> for CreditTotals {
    fn extend<I: IntoIterator<Item = CreditRow<'v>>>(&mut self, rows: I) {
        for row in rows {
            let entry = self
                .totals
                .entry((row.campaign_id.to_owned(), row.currency.map(str::to_owned)))
                .or_default();
            entry.0 += row.weight;
            entry.1 += MinorTotal::from(row.amount_minor.unwrap_or(0));
        }
    }
}

impl CreditTotals {
    /// The campaigns credited so far.
    pub fn campaign_ids(&self) -> impl Iterator<Item = &str> {
        self.totals.keys().map(|(id, _)| id.as_str())
    }

    /// One row per campaign and currency, by value, then conversions,
    /// descending, then campaign id.
    pub fn into_rows(self, labels: &CampaignLabels) -> Vec<CampaignCredit> {
        let mut rows: Vec<CampaignCredit> = self
            .totals
            .into_iter()
            .map(|((campaign_id, currency), (conversions, value_minor))| {
                let label = labels.get(&campaign_id);
                CampaignCredit {
                    campaign_name: label.map_or_else(|| campaign_id.clone(), |l| l.name.clone()),
                    channel: label.map(|l| l.channel.clone()).unwrap_or_default(),
                    campaign_id,
                    conversions: credit_total(conversions),
                    value_minor,
                    currency,
                }
            })
            .collect();
        rows.sort_by(CampaignCredit::report_order);
        rows
    }
}

impl CampaignCredit {
    /// The order of the credit reports: value, then conversions, highest
    /// first; then campaign and currency.
    pub(crate) fn report_order(a: &Self, b: &Self) -> std::cmp::Ordering {
        b.value_minor
            .cmp(&a.value_minor)
            .then(b.conversions.total_cmp(&a.conversions))
            .then(a.campaign_id.cmp(&b.campaign_id))
            .then(a.currency.cmp(&b.currency))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// Owned [`CreditRow`] fields, which test inputs borrow rows from.
    pub(crate) struct Credit {
        campaign_id: String,
        currency: Option<String>,
        model: Model,
        weight: f64,
        amount_minor: Option<i64>,
    }

    impl Credit {
        pub(crate) fn row(&self) -> CreditRow<'_> {
            CreditRow {
                campaign_id: &self.campaign_id,
                currency: self.currency.as_deref(),
                model: self.model,
                weight: self.weight,
                amount_minor: self.amount_minor,
            }
        }
    }

    /// Reads `input`: one line a credit, `<campaign> <model> <weight>
    /// <amount minor> <currency>` (`-` for a conversion without a value), or a
    /// campaign's label, `label <campaign> <name> <channel|-> <source|->`;
    /// `no-touch` is the campaign of unattributed conversions.
    pub(crate) fn read(input: &str) -> (Vec<Credit>, CampaignLabels) {
        let (mut credits, mut labels) = (Vec::new(), CampaignLabels::new());
        for line in input.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w[0] == "label" {
                let text = |t: &str| {
                    if t == "-" {
                        String::new()
                    } else {
                        t.to_owned()
                    }
                };
                labels.insert(
                    w[1].into(),
                    CampaignLabel {
                        name: w[2].into(),
                        channel: text(w[3]),
                        source: text(w[4]),
                    },
                );
                continue;
            }
            credits.push(Credit {
                campaign_id: if w[0] == "no-touch" { NO_TOUCH } else { w[0] }.into(),
                model: Model::parse(w[1]).unwrap(),
                weight: w[2].parse().unwrap(),
                amount_minor: w[3].parse().ok(),
                currency: w.get(4).map(|c| (*c).to_owned()),
            });
        }
        (credits, labels)
    }

    /// The `linear` credits of `input` (as [`read`] reads it) summed per
    /// campaign; the rows, one a line.
    fn check(input: &str, expect: Expect) {
        let (credits, labels) = read(input);
        let mut totals = CreditTotals::default();
        totals.extend(
            credits
                .iter()
                .map(Credit::row)
                .filter(|c| c.model == Model::Linear),
        );
        let text: Vec<String> = totals
            .into_rows(&labels)
            .iter()
            .map(|r| {
                format!(
                    "{} {:?} channel={:?} conversions={} value={} {}",
                    r.campaign_id,
                    r.campaign_name,
                    r.channel,
                    r.conversions,
                    r.value_minor,
                    r.currency.as_deref().unwrap_or("-")
                )
            })
            .collect();
        expect.assert_eq(&text.join("\n"));
    }

    #[test]
    fn credits_summed_per_campaign_and_currency_by_value_then_conversions() {
        check(
            "
            label search Google-Ads paid_search google
            label mail Newsletter email -
            search linear 0.1 1000 EUR
            search linear 0.2 2000 EUR
            search linear 0.7 700 USD
            search first_touch 1 10000 EUR
            mail linear 0.1 5000 EUR
            mail linear 0.2 -
            gone linear 0.5 -
            gone linear 0.25 -
            no-touch linear 1 -
            ",
            expect![[r#"
                mail "Newsletter" channel="email" conversions=0.1 value=5000 EUR
                search "Google-Ads" channel="paid_search" conversions=0.3 value=3000 EUR
                search "Google-Ads" channel="paid_search" conversions=0.7 value=700 USD
                (no touch) "(no touch)" channel="" conversions=1 value=0 -
                gone "gone" channel="" conversions=0.75 value=0 -
                mail "Newsletter" channel="email" conversions=0.2 value=0 -"#]],
        );
    }
}
