use serde::{Deserialize, Serialize};
use touchline_core::{Envelope, Event};

use crate::stamp::{Stamp, insert_sorted, newer};

/// An account: its name and owner, and the people and opportunities tied to it.
/// Opportunities attributed over "every contact of the account" read it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AccountView {
    pub account_id: String,
    pub name: String,
    pub industry: String,
    pub owner_id: String,
    /// The `AccountUpserted` the name, industry and owner are from: the
    /// latest (by time, then event id), in whatever order they arrive.
    pub upserted: Option<Stamp>,
    /// In id order, as are the opportunities.
    pub contact_ids: Vec<String>,
    pub opportunity_ids: Vec<String>,
    /// Transactions from accounting, in time order (R3).
    pub transactions: Vec<TransactionEntry>,
    /// The rep alerts raised for this account (R18), oldest first: the latest
    /// [`MAX_RECENT_ALERTS`]; every one also went to the alerts topic.
    pub recent_alerts: Vec<AlertEntry>,
    pub last_seq: u64,
}

/// How many rep alerts an account keeps; older ones are dropped from the view
/// (the alerts topic has them all).
pub const MAX_RECENT_ALERTS: usize = 50;

/// A rep alert (R18) as the account keeps it: a contact showed activity
/// while the account had open pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEntry {
    /// `<touch event id>/<account id>`, the published alert's id.
    pub alert_id: String,
    pub person_id: String,
    pub person_name: String,
    pub campaign_id: String,
    pub touch_type: touchline_core::TouchType,
    pub topic: String,
    pub occurred_at: touchline_core::Timestamp,
    /// Who was told: the open deals' owners, else the account owner.
    pub rep_ids: Vec<String>,
    /// The deals that were open.
    pub open_opportunity_ids: Vec<String>,
    /// The log position of the touch.
    pub seq: u64,
}

/// One accounting transaction on the account (R3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionEntry {
    pub transaction_id: String,
    /// The opportunity it pays for, if any.
    pub opportunity_id: String,
    pub amount: touchline_core::Money,
    pub at: touchline_core::Timestamp,
    pub description: String,
    /// The event that recorded it: a later one for the same transaction id
    /// corrects it.
    pub event_id: String,
}

impl AccountView {
    pub fn new(account_id: &str) -> Self {
        AccountView {
            account_id: account_id.to_owned(),
            ..AccountView::default()
        }
    }

    pub fn add_contact(&mut self, person_id: &str) {
        insert_sorted(&mut self.contact_ids, person_id);
    }

    pub fn add_opportunity(&mut self, opportunity_id: &str) {
        insert_sorted(&mut self.opportunity_ids, opportunity_id);
    }

    /// Keeps an alert raised for this account, dropping the oldest beyond
    /// [`MAX_RECENT_ALERTS`].
    pub fn record_alert(&mut self, alert: AlertEntry) {
        self.recent_alerts.push(alert);
        if self.recent_alerts.len() > MAX_RECENT_ALERTS {
            let excess = self.recent_alerts.len() - MAX_RECENT_ALERTS;
            self.recent_alerts.drain(..excess);
        }
    }

    /// Replaces a merged person id by the survivor's (R10).
    pub fn replace_contact(&mut self, merged: &str, surviving: &str) {
        self.contact_ids.retain(|c| c != merged);
        self.add_contact(surviving);
    }

    /// The caller routes: events about this account, or naming it.
    pub fn apply(&mut self, seq: u64, envelope: &Envelope) {
        match &envelope.event {
            Event::AccountUpserted(e) if newer(&mut self.upserted, envelope) => {
                e.name.clone_into(&mut self.name);
                e.industry.clone_into(&mut self.industry);
                e.owner_id.clone_into(&mut self.owner_id);
            }
            Event::LeadCreated(e) => self.add_contact(&e.person_id),
            Event::LeadConverted(e) => {
                self.add_contact(&e.person_id);
                self.add_opportunity(&e.opportunity_id);
            }
            Event::OpportunityCreated(e) => {
                self.add_contact(&e.primary_contact_id);
                self.add_opportunity(&e.opportunity_id);
            }
            Event::TransactionRecorded(e) => {
                let entry = TransactionEntry {
                    transaction_id: e.transaction_id.clone(),
                    opportunity_id: e.opportunity_id.clone(),
                    amount: e.amount.clone(),
                    at: envelope.occurred_at,
                    description: e.description.clone(),
                    event_id: envelope.event_id.clone(),
                };
                insert_transaction(&mut self.transactions, entry);
                self.add_opportunity(&e.opportunity_id);
            }
            _ => return,
        }
        self.last_seq = self.last_seq.max(seq);
    }
}

/// Inserts in time order (then transaction id). A transaction id is booked
/// once: a later record of it (by time, then event id) is a correction and
/// replaces the earlier, in whatever order they arrive.
pub(crate) fn insert_transaction(
    transactions: &mut Vec<TransactionEntry>,
    entry: TransactionEntry,
) {
    if let Some(i) = transactions
        .iter()
        .position(|t| t.transaction_id == entry.transaction_id)
    {
        let here = &transactions[i];
        if (here.at, here.event_id.as_str()) >= (entry.at, entry.event_id.as_str()) {
            return;
        }
        transactions.remove(i);
    }
    let key = (entry.at, entry.transaction_id.as_str());
    let at = transactions.partition_point(|t| (t.at, t.transaction_id.as_str()) <= key);
    transactions.insert(at, entry);
}
