use super::*;

/// A contact on an account record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContactSummary {
    pub person_id: String,
    pub name: String,
    pub email: String,
    pub kind: touchline_projection::PersonKind,
    pub touches: usize,
    pub lead_created_at: Option<Timestamp>,
}

/// One record of an account (R9): who, which deals, what was paid, what happened.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountRecord {
    pub account: touchline_projection::AccountView,
    pub contacts: Vec<ContactSummary>,
    pub opportunities: Vec<OpportunityView>,
    /// Transactions per currency, in minor units.
    pub revenue: Vec<MoneyTotal>,
    /// The account's latest events from the log, newest last.
    pub history: Vec<touchline_store::StoredEvent>,
    /// When the account first won a deal.
    pub customer_since: Option<Timestamp>,
    /// Contacts whose lead was created after that: a customer cycling back
    /// into the funnel for another product (R9).
    pub returning_leads: Vec<String>,
}

impl Queries {
    pub fn account_record(
        &self,
        account_id: &str,
        history: usize,
    ) -> Result<Option<AccountRecord>, EngineError> {
        let Some(account) = self
            .stores
            .get::<touchline_projection::AccountView>(account_id)?
        else {
            return Ok(None);
        };
        let mut contacts = Vec::new();
        for id in &account.contact_ids {
            if let Some(p) = self.person(id)? {
                contacts.push(ContactSummary {
                    name: p.display_name(),
                    email: p.email.clone(),
                    kind: p.kind,
                    touches: p.touch_count() as usize,
                    lead_created_at: p.lead_created_at,
                    person_id: p.person_id,
                });
            }
        }
        let mut opportunities = Vec::new();
        for id in &account.opportunity_ids {
            opportunities.extend(self.opportunity(id)?);
        }
        // The newest `history` events by time (then event id), whatever order
        // they arrived in: the stream is in log order, so read it all, sort
        // and keep the tail (an account's stream is short next to the log).
        let mut events = self
            .stores
            .stream(StreamKind::Account, account_id, 0, usize::MAX)?;
        events.sort_by(|a, b| {
            (a.envelope.occurred_at, &a.envelope.event_id)
                .cmp(&(b.envelope.occurred_at, &b.envelope.event_id))
        });
        let skip = events.len().saturating_sub(history);
        let history = events.split_off(skip);
        Ok(Some(account_record(
            account,
            contacts,
            opportunities,
            history,
        )))
    }
}

/// The record of `account`: its revenue per currency, when it first won a
/// deal, and the contacts whose lead came after that.
pub(crate) fn account_record(
    account: touchline_projection::AccountView,
    contacts: Vec<ContactSummary>,
    opportunities: Vec<OpportunityView>,
    history: Vec<touchline_store::StoredEvent>,
) -> AccountRecord {
    let mut revenue: Vec<MoneyTotal> = Vec::new();
    for t in &account.transactions {
        MoneyTotal::add_to(&mut revenue, &t.amount);
    }
    let customer_since = opportunities
        .iter()
        .filter_map(|o| o.closed.as_ref().filter(|c| c.won).map(|c| c.closed_at))
        .min();
    let returning_leads = contacts
        .iter()
        .filter(|c| {
            customer_since.is_some_and(|since| c.lead_created_at.is_some_and(|at| at > since))
        })
        .map(|c| c.person_id.clone())
        .collect();
    AccountRecord {
        account,
        contacts,
        opportunities,
        revenue,
        history,
        customer_since,
        returning_leads,
    }
}
