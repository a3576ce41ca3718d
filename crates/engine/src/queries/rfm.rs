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

/// A won deal as RFM counts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Win {
    pub account_id: String,
    pub closed_at: Timestamp,
    pub amount_minor: i64,
}

/// A customer account's name and the source of its earliest lead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Customer {
    pub name: String,
    /// `None` when no contact has a lead with a source.
    pub source: Option<String>,
}

impl Queries {
    /// RFM per customer account and per source, as of `at` (won deals closed at
    /// or before `at` count).
    pub fn rfm(&self, at: Timestamp) -> Result<RfmReport, EngineError> {
        let mut wins = Vec::new();
        self.stores.for_each(|_, o: OpportunityView| {
            if let Some(closed) = o.closed.as_ref().filter(|c| c.won && c.closed_at <= at) {
                wins.push(Win {
                    closed_at: closed.closed_at,
                    amount_minor: closed.amount.amount_minor,
                    account_id: o.account_id,
                });
            }
        })?;
        let mut customers: BTreeMap<String, Customer> = BTreeMap::new();
        for win in &wins {
            if !customers.contains_key(&win.account_id) {
                let customer = self.customer(&win.account_id)?;
                customers.insert(win.account_id.clone(), customer);
            }
        }
        Ok(rfm(wins, &customers, at))
    }

    /// The account's name and the source at first contact of its earliest lead.
    fn customer(&self, account_id: &str) -> Result<Customer, EngineError> {
        let account: Option<touchline_projection::AccountView> = self.stores.get(account_id)?;
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
        Ok(Customer {
            name: account.map(|a| a.name).unwrap_or_default(),
            source: earliest.map(|(_, s)| s),
        })
    }
}

/// Recency (days from the last win to `at`), frequency and monetary value per
/// account in account order, and their means and sums per source.
pub(crate) fn rfm(
    wins: Vec<Win>,
    customers: &BTreeMap<String, Customer>,
    at: Timestamp,
) -> RfmReport {
    let mut per_account: BTreeMap<String, (Timestamp, usize, MinorTotal)> = BTreeMap::new();
    for win in wins {
        let entry = per_account
            .entry(win.account_id)
            .or_insert((win.closed_at, 0, 0));
        entry.0 = entry.0.max(win.closed_at);
        entry.1 += 1;
        entry.2 += MinorTotal::from(win.amount_minor);
    }
    let customers: Vec<CustomerRfm> = per_account
        .into_iter()
        .map(|(account_id, (last, frequency, monetary_minor))| {
            let customer = customers.get(&account_id);
            CustomerRfm {
                name: customer.map(|c| c.name.clone()).unwrap_or_default(),
                source: customer
                    .and_then(|c| c.source.clone())
                    .unwrap_or_else(|| "(unknown)".to_owned()),
                recency_days: (at.as_millis() - last.as_millis()) as f64 / 86_400_000.0,
                frequency,
                monetary_minor,
                account_id,
            }
        })
        .collect();
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
    RfmReport {
        customers,
        by_source,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use expect_test::expect;

    use super::*;

    #[test]
    fn recency_frequency_and_money_per_customer_and_source() {
        let day = |d: &str| Timestamp::parse_lenient(d).unwrap();
        let win = |account: &str, at: &str, amount_minor| Win {
            account_id: account.into(),
            closed_at: day(at),
            amount_minor,
        };
        let customer = |name: &str, source: Option<&str>| Customer {
            name: name.into(),
            source: source.map(str::to_owned),
        };
        let customers = [
            ("acc-a".to_owned(), customer("A", Some("google"))),
            ("acc-b".to_owned(), customer("B", Some("google"))),
            ("acc-c".to_owned(), customer("C", None)),
        ]
        .into_iter()
        .collect();
        let report = rfm(
            vec![
                win("acc-a", "2026-03-01", 1_000),
                win("acc-b", "2026-03-21", 500),
                win("acc-a", "2026-03-11", 2_000),
                win("acc-c", "2026-03-31", 50),
            ],
            &customers,
            day("2026-03-31"),
        );
        let mut text: Vec<String> = report
            .customers
            .iter()
            .map(|c| {
                format!(
                    "{} {} {} recency={} frequency={} monetary={}",
                    c.account_id, c.name, c.source, c.recency_days, c.frequency, c.monetary_minor
                )
            })
            .collect();
        text.extend(report.by_source.iter().map(|s| {
            format!(
                "{} customers={} recency={} frequency={} monetary={}",
                s.source, s.customers, s.mean_recency_days, s.mean_frequency, s.monetary_minor
            )
        }));
        expect![[r#"
            acc-a A google recency=20 frequency=2 monetary=3000
            acc-b B google recency=10 frequency=1 monetary=500
            acc-c C (unknown) recency=0 frequency=1 monetary=50
            (unknown) customers=1 recency=0 frequency=1 monetary=50
            google customers=2 recency=15 frequency=1.5 monetary=3500"#]]
        .assert_eq(&text.join("\n"));
    }
}
