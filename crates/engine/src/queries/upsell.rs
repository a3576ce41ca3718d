use super::*;

/// A customer account whose people opened support cases after buying: an upsell
/// signal (R17).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpsellSignal {
    pub account_id: String,
    pub name: String,
    /// The first won deal's close.
    pub customer_since: Timestamp,
    /// Support-case touches of the account's contacts after that.
    pub support_cases: usize,
    pub last_case_at: Timestamp,
}

impl Queries {
    /// Customer accounts with post-sale support activity, most cases first.
    pub fn upsell_signals(&self) -> Result<Vec<UpsellSignal>, EngineError> {
        let mut first_win: BTreeMap<String, Timestamp> = BTreeMap::new();
        self.stores.for_each(|_, o: OpportunityView| {
            if let Some(closed) = o.closed.as_ref().filter(|c| c.won) {
                let entry = first_win
                    .entry(o.account_id.clone())
                    .or_insert(closed.closed_at);
                *entry = (*entry).min(closed.closed_at);
            }
        })?;
        let mut customers = Vec::new();
        for (account_id, since) in first_win {
            let Some(account) = self
                .stores
                .get::<touchline_projection::AccountView>(&account_id)?
            else {
                continue;
            };
            let mut cases: Vec<Timestamp> = Vec::new();
            for contact in &account.contact_ids {
                if self.person(contact)?.is_some() {
                    cases.extend(
                        self.person_touches(contact)?
                            .iter()
                            .filter(|t| t.touch_type == touchline_core::TouchType::SupportCase)
                            .map(|t| t.occurred_at),
                    );
                }
            }
            customers.push(SupportedCustomer {
                account_id,
                name: account.name,
                since,
                cases,
            });
        }
        Ok(upsell_signals(customers))
    }
}

/// A customer account as the upsell signal reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SupportedCustomer {
    pub account_id: String,
    pub name: String,
    /// The first won deal's close.
    pub since: Timestamp,
    /// When its contacts' support cases were opened, at any time.
    pub cases: Vec<Timestamp>,
}

/// The customers with support cases after they bought, most cases first,
/// then by account id.
pub(crate) fn upsell_signals(customers: Vec<SupportedCustomer>) -> Vec<UpsellSignal> {
    let mut signals: Vec<UpsellSignal> = customers
        .into_iter()
        .filter_map(|c| {
            let after: Vec<Timestamp> = c.cases.into_iter().filter(|t| *t > c.since).collect();
            let last = after.iter().max().copied()?;
            Some(UpsellSignal {
                name: c.name,
                customer_since: c.since,
                support_cases: after.len(),
                last_case_at: last,
                account_id: c.account_id,
            })
        })
        .collect();
    signals.sort_by(|a, b| {
        b.support_cases
            .cmp(&a.support_cases)
            .then(a.account_id.cmp(&b.account_id))
    });
    signals
}
