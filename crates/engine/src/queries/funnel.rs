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
                    converted_to_contact: converted,
                    contact_rate: Ratio::of(converted as f64, new_leads as f64),
                    became_customers: customers,
                    customer_rate: Ratio::of(customers as f64, new_leads as f64),
                    mean_days_to_first_win: (!days.is_empty())
                        .then(|| days.iter().sum::<f64>() / days.len() as f64),
                },
            )
            .collect())
    }
}
