use super::*;

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
        let (rows, labels) = self.campaign_credits_labelled(model, kind, range)?;
        Ok(group_credits(rows, &labels, by))
    }
}

/// Campaign credit rows summed per group of `by` and currency, by value, then
/// conversions, descending, then group.
pub(crate) fn group_credits(
    rows: Vec<CampaignCredit>,
    labels: &CampaignLabels,
    by: GroupBy,
) -> Vec<GroupCredit> {
    let mut groups: BTreeMap<(String, Option<String>), GroupCredit> = BTreeMap::new();
    for row in rows {
        let key = if row.campaign_id == NO_TOUCH {
            NO_TOUCH.to_owned()
        } else {
            let label = labels.get(&row.campaign_id);
            let value = match by {
                GroupBy::Campaign => row.campaign_id.clone(),
                GroupBy::Channel => label.map(|l| l.channel.clone()).unwrap_or_default(),
                GroupBy::Source => label.map(|l| l.source.clone()).unwrap_or_default(),
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
    let mut out: Vec<GroupCredit> = groups
        .into_values()
        .map(|g| GroupCredit {
            conversions: credit_total(g.conversions),
            ..g
        })
        .collect();
    out.sort_by(GroupCredit::report_order);
    out
}

impl GroupCredit {
    /// The order of the credit reports: value, then conversions, highest
    /// first; then group and currency.
    pub(crate) fn report_order(a: &Self, b: &Self) -> std::cmp::Ordering {
        b.value_minor
            .cmp(&a.value_minor)
            .then(b.conversions.total_cmp(&a.conversions))
            .then(a.group.cmp(&b.group))
            .then(a.currency.cmp(&b.currency))
    }
}

#[cfg(test)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;
    use crate::queries::credits::tests::{Credit, read};

    /// The `linear` credits of `input` (as [`read`] reads it) per campaign,
    /// then grouped by `by`; the groups, one a line.
    fn check(input: &str, by: GroupBy, expect: Expect) {
        let (credits, labels) = read(input);
        let mut totals = CreditTotals::default();
        totals.extend(
            credits
                .iter()
                .map(Credit::row)
                .filter(|c| c.model == Model::Linear),
        );
        let text: Vec<String> = group_credits(totals.into_rows(&labels), &labels, by)
            .iter()
            .map(|g| {
                format!(
                    "{} campaigns={} conversions={} value={} {}",
                    g.group,
                    g.campaigns,
                    g.conversions,
                    g.value_minor,
                    g.currency.as_deref().unwrap_or("-")
                )
            })
            .collect();
        expect.assert_eq(&text.join("\n"));
    }

    const CREDITS: &str = "
        label search Google-Ads paid_search google
        label display Google-Display paid_search google
        label social LinkedIn paid_social linkedin
        label mail Newsletter email -
        search linear 0.5 5000 EUR
        display linear 0.25 2500 EUR
        display linear 0.5 300 USD
        social linear 0.1 100 EUR
        social linear 0.2 200 EUR
        mail linear 1 -
        unlabelled linear 0.5 -
        no-touch linear 2 -
    ";

    #[test]
    fn credits_by_channel_sum_the_campaigns_of_a_channel_per_currency() {
        check(
            CREDITS,
            GroupBy::Channel,
            expect![[r#"
            paid_search campaigns=2 conversions=0.75 value=7500 EUR
            paid_search campaigns=1 conversions=0.5 value=300 USD
            paid_social campaigns=1 conversions=0.3 value=300 EUR
            (no touch) campaigns=1 conversions=2 value=0 -
            email campaigns=1 conversions=1 value=0 -
            (none) campaigns=1 conversions=0.5 value=0 -"#]],
        );
    }

    #[test]
    fn credits_by_source_put_campaigns_without_one_under_none() {
        check(
            CREDITS,
            GroupBy::Source,
            expect![[r#"
            google campaigns=2 conversions=0.75 value=7500 EUR
            google campaigns=1 conversions=0.5 value=300 USD
            linkedin campaigns=1 conversions=0.3 value=300 EUR
            (no touch) campaigns=1 conversions=2 value=0 -
            (none) campaigns=2 conversions=1.5 value=0 -"#]],
        );
    }

    #[test]
    fn credits_by_campaign_are_the_campaign_rows() {
        check(
            CREDITS,
            GroupBy::Campaign,
            expect![[r#"
            search campaigns=1 conversions=0.5 value=5000 EUR
            display campaigns=1 conversions=0.25 value=2500 EUR
            display campaigns=1 conversions=0.5 value=300 USD
            social campaigns=1 conversions=0.3 value=300 EUR
            (no touch) campaigns=1 conversions=2 value=0 -
            mail campaigns=1 conversions=1 value=0 -
            unlabelled campaigns=1 conversions=0.5 value=0 -"#]],
        );
    }
}
