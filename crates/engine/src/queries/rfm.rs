use super::*;

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
