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
    out.sort_by(|a, b| {
        b.value_minor
            .cmp(&a.value_minor)
            .then(b.conversions.total_cmp(&a.conversions))
            .then(a.group.cmp(&b.group))
    });
    out
}
