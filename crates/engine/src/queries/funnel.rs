use super::*;

/// One row of the funnel (R13): leads created in a month from a source, how many
/// of them became contacts and customers, and how long becoming a customer took.
/// Both counts are over the row's `new_leads`, so each rate is its count over
/// `new_leads`; they count different things (a lead can be on a won deal by a
/// contact role without a `lead_converted`), so neither bounds the other.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelRow {
    /// `YYYY-MM` of lead creation.
    pub month: String,
    /// The lead's source at first contact: the campaign's `source` (e.g. `google`),
    /// else the campaign id, else `(unknown)`.
    pub source: String,
    pub new_leads: usize,
    /// Of those, leads converted to a contact (a `lead_converted` event).
    pub converted_to_contact: usize,
    /// converted_to_contact / new_leads.
    pub contact_rate: Ratio,
    /// Of those, leads that are a contact of a won deal, directly or through a
    /// partner (R22): customers.
    pub became_customers: usize,
    /// became_customers / new_leads: the conversion rate of R13.
    pub customer_rate: Ratio,
    /// Mean days from lead creation to the lead's first won deal, over
    /// `became_customers`; `None` when none did.
    pub mean_days_to_first_win: Option<f64>,
}

/// A lead as the funnel counts it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FunnelLead {
    pub created_at: Timestamp,
    /// As [`FunnelRow::source`] names it.
    pub source: String,
    /// Whether a `lead_converted` made it a contact.
    pub converted: bool,
    /// The close of the first won deal it is a contact of.
    pub first_win: Option<Timestamp>,
}

impl Queries {
    /// New leads per month and source, conversion to customers, and time to convert.
    pub fn funnel(&self, range: TimeRange) -> Result<Vec<FunnelRow>, EngineError> {
        let mut sources: hashbrown::HashMap<String, String> = hashbrown::HashMap::new();
        self.stores
            .for_each(|id, c: touchline_projection::CampaignView| {
                if !c.source.is_empty() {
                    sources.insert(id.to_owned(), c.source);
                }
            })?;
        let mut won_at: hashbrown::HashMap<String, Timestamp> = hashbrown::HashMap::new();
        self.stores.for_each(|id, o: OpportunityView| {
            if let Some(closed) = o.closed.filter(|c| c.won) {
                won_at.insert(id.to_owned(), closed.closed_at);
            }
        })?;
        let mut funnel = Funnel::default();
        self.stores.for_each(|_, p: PersonView| {
            let Some(created_at) = p.lead_created_at else {
                return;
            };
            if p.merged_into.is_some() || !range.contains(created_at) {
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
            funnel.extend([FunnelLead {
                created_at,
                source,
                converted: p.converted.is_some(),
                first_win: p
                    .opportunity_ids
                    .iter()
                    .filter_map(|o| won_at.get(o))
                    .min()
                    .copied(),
            }]);
        })?;
        Ok(funnel.into_rows())
    }
}

/// New leads, converted, customers, and days to the first win of each customer.
type FunnelCounts = (usize, usize, usize, Vec<f64>);

/// Leads counted per month of creation and source; the aggregation of
/// [`Queries::funnel`], fed one lead at a time.
#[derive(Debug, Default)]
pub(crate) struct Funnel {
    rows: BTreeMap<(String, String), FunnelCounts>,
}

impl Extend<FunnelLead> for Funnel {
    fn extend<I: IntoIterator<Item = FunnelLead>>(&mut self, leads: I) {
        for lead in leads {
            let entry = self
                .rows
                .entry((lead.created_at.year_month(), lead.source))
                .or_default();
            entry.0 += 1;
            if lead.converted {
                entry.1 += 1;
            }
            if let Some(won) = lead.first_win {
                entry.2 += 1;
                entry
                    .3
                    .push((won.as_millis() - lead.created_at.as_millis()) as f64 / 86_400_000.0);
            }
        }
    }
}

impl Funnel {
    /// One row per month and source, in that order.
    pub fn into_rows(self) -> Vec<FunnelRow> {
        self.rows
            .into_iter()
            .map(
                |((month, source), (new_leads, converted, customers, days))| FunnelRow {
                    month,
                    source,
                    new_leads,
                    converted_to_contact: converted,
                    contact_rate: Ratio::of(converted as f64, new_leads as f64),
                    became_customers: customers,
                    customer_rate: Ratio::of(customers as f64, new_leads as f64),
                    mean_days_to_first_win: (!days.is_empty())
                        .then(|| days.iter().sum::<f64>() / days.len() as f64),
                },
            )
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use expect_test::{Expect, expect};

    use super::*;

    /// `input`: one lead a line, `<created YYYY-MM-DD> <source> [converted]
    /// [won=<YYYY-MM-DD>]`; the funnel's rows, one a line.
    fn check(input: &str, expect: Expect) {
        let day = |text: &str| Timestamp::parse_lenient(text).unwrap();
        let mut funnel = Funnel::default();
        funnel.extend(
            input
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(|line| {
                    let words: Vec<&str> = line.split_whitespace().collect();
                    FunnelLead {
                        created_at: day(words[0]),
                        source: words[1].into(),
                        converted: words.contains(&"converted"),
                        first_win: words.iter().find_map(|w| w.strip_prefix("won=")).map(day),
                    }
                }),
        );
        let text: Vec<String> = funnel
            .into_rows()
            .iter()
            .map(|r| {
                format!(
                    "{} {} new={} contacts={} contact_rate={} customers={} customer_rate={} \
                     days_to_first_win={:?}",
                    r.month,
                    r.source,
                    r.new_leads,
                    r.converted_to_contact,
                    serde_json::to_string(&r.contact_rate).unwrap(),
                    r.became_customers,
                    serde_json::to_string(&r.customer_rate).unwrap(),
                    r.mean_days_to_first_win,
                )
            })
            .collect();
        expect.assert_eq(&text.join("\n"));
    }

    #[test]
    fn counts_rates_and_days_per_month_and_source() {
        check(
            "
            2026-03-02 google converted won=2026-03-12
            2026-03-20 google converted
            2026-03-31 google won=2026-04-30
            2026-03-05 linkedin
            2026-04-01 google
            ",
            expect![[r#"
                2026-03 google new=3 contacts=2 contact_rate=0.6666666666666666 customers=2 customer_rate=0.6666666666666666 days_to_first_win=Some(20.0)
                2026-03 linkedin new=1 contacts=0 contact_rate=0.0 customers=0 customer_rate=0.0 days_to_first_win=None
                2026-04 google new=1 contacts=0 contact_rate=0.0 customers=0 customer_rate=0.0 days_to_first_win=None"#]],
        );
    }
}
