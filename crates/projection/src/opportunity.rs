use serde::{Deserialize, Serialize};
use touchline_core::{Envelope, Event, Money, Timestamp};

use crate::stamp::{Stamp, insert_sorted, newer};

/// A stage an event set, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageChange {
    pub stage: String,
    pub at: Timestamp,
    pub seq: u64,
    /// The event that set it: with `at`, its place in the history.
    pub event_id: String,
}

impl StageChange {
    fn stamp(&self) -> (Timestamp, &str) {
        (self.at, &self.event_id)
    }
}

/// The events that set an opportunity's current values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetBy {
    pub stage: Option<Stamp>,
    pub amount: Option<Stamp>,
    pub probability: Option<Stamp>,
    pub expected_close: Option<Stamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRole {
    pub person_id: String,
    pub role: String,
    /// The event that named it.
    pub set: Stamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedInfo {
    pub won: bool,
    pub amount: Money,
    pub closed_at: Timestamp,
    pub partner_id: String,
}

/// An opportunity: its amount, stage history and the people behind it.
///
/// Its stage, amount, probability and expected close are those of the latest
/// event that set them (by time, then event id; [`SetBy`]), and it is closed
/// when the latest event setting its stage closed it: a stage change after
/// the close reopens the deal, one from before it that arrives late does not.
/// So the view does not depend on the order events arrive in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpportunityView {
    pub opportunity_id: String,
    pub account_id: String,
    pub name: String,
    /// `None` until `OpportunityCreated` arrives (a contact role may come first).
    pub created_at: Option<Timestamp>,
    pub stage: String,
    /// Every stage an event set, in time order (then event id);
    /// [`OpportunityView::stage_changes`] leaves out repeats.
    pub stage_history: Vec<StageChange>,
    pub amount: Option<Money>,
    pub probability_pct: u32,
    pub expected_close_at: Option<Timestamp>,
    pub primary_contact_id: String,
    /// The primary contact and every contact with a role, in id order.
    pub contact_ids: Vec<String>,
    /// The role each contact plays on the deal (decision maker, influencer, ...),
    /// as the CRM last named it, in person id order; the primary contact is
    /// `primary` unless named.
    pub contact_roles: Vec<ContactRole>,
    pub owner_id: String,
    pub partner_id: String,
    pub closed: Option<ClosedInfo>,
    /// Payments for this deal from accounting, in time order (R3).
    pub transactions: Vec<crate::TransactionEntry>,
    pub set_by: SetBy,
    pub last_seq: u64,
}

impl OpportunityView {
    pub fn new(opportunity_id: &str) -> Self {
        OpportunityView {
            opportunity_id: opportunity_id.to_owned(),
            account_id: String::new(),
            name: String::new(),
            created_at: None,
            stage: String::new(),
            stage_history: Vec::new(),
            amount: None,
            probability_pct: 0,
            expected_close_at: None,
            primary_contact_id: String::new(),
            contact_ids: Vec::new(),
            contact_roles: Vec::new(),
            owner_id: String::new(),
            partner_id: String::new(),
            closed: None,
            transactions: Vec::new(),
            set_by: SetBy::default(),
            last_seq: 0,
        }
    }

    fn add_contact(&mut self, person_id: &str) {
        insert_sorted(&mut self.contact_ids, person_id);
    }

    /// Every change of stage in time order: skips, reversals and reopenings
    /// stay visible; an event naming the stage the deal is already in is not
    /// a change.
    pub fn stage_changes(&self) -> impl Iterator<Item = &StageChange> {
        let mut previous: Option<&str> = None;
        self.stage_history.iter().filter(move |change| {
            let repeat = previous == Some(change.stage.as_str());
            previous = Some(&change.stage);
            !repeat
        })
    }

    /// Records the stage an event set, in time order; it is the current
    /// stage if no later event set one.
    fn set_stage(&mut self, stage: &str, envelope: &Envelope, seq: u64) -> bool {
        let change = StageChange {
            stage: stage.to_owned(),
            at: envelope.occurred_at,
            seq,
            event_id: envelope.event_id.clone(),
        };
        let position = self
            .stage_history
            .partition_point(|c| c.stamp() < change.stamp());
        if self
            .stage_history
            .get(position)
            .is_some_and(|c| c.stamp() == change.stamp())
        {
            // The same event again (a replayed hand-over): nothing new.
            return false;
        }
        self.stage_history.insert(position, change);
        if !newer(&mut self.set_by.stage, envelope) {
            return false;
        }
        stage.clone_into(&mut self.stage);
        true
    }

    fn set_probability(&mut self, pct: u32, envelope: &Envelope) {
        if newer(&mut self.set_by.probability, envelope) {
            self.probability_pct = pct;
        }
    }

    fn set_amount(&mut self, amount: &Money, envelope: &Envelope) {
        if newer(&mut self.set_by.amount, envelope) {
            self.amount = Some(amount.clone());
        }
    }

    fn set_expected_close(&mut self, at: Option<Timestamp>, envelope: &Envelope) {
        if at.is_some() && newer(&mut self.set_by.expected_close, envelope) {
            self.expected_close_at = at;
        }
    }

    /// Names the role a contact plays: an explicit role replaces `primary`,
    /// and of two explicit ones the later (by time, then event id) holds.
    fn set_role(&mut self, person_id: &str, role: &str, stamp: &Stamp) {
        if person_id.is_empty() || role.is_empty() {
            return;
        }
        match self
            .contact_roles
            .binary_search_by(|r| r.person_id.as_str().cmp(person_id))
        {
            Ok(i) => {
                let existing = &mut self.contact_roles[i];
                let explicit = |r: &str| r != "primary";
                let replaces = match (explicit(&existing.role), explicit(role)) {
                    (false, true) => true,
                    (true, false) => false,
                    _ => *stamp > existing.set,
                };
                if replaces {
                    role.clone_into(&mut existing.role);
                    existing.set = stamp.clone();
                }
            }
            Err(i) => self.contact_roles.insert(
                i,
                ContactRole {
                    person_id: person_id.to_owned(),
                    role: role.to_owned(),
                    set: stamp.clone(),
                },
            ),
        }
    }

    /// Replaces a merged person id by the survivor's (R10).
    pub fn replace_contact(&mut self, merged: &str, surviving: &str) {
        if merged == surviving {
            return;
        }
        if self.primary_contact_id == merged {
            surviving.clone_into(&mut self.primary_contact_id);
        }
        self.contact_ids.retain(|c| c != merged);
        self.add_contact(surviving);
        if let Some(at) = self
            .contact_roles
            .iter()
            .position(|r| r.person_id == merged)
        {
            // The merged record's role counts as the survivor's, by the rule
            // that holds for a role named after the merge: an explicit role
            // replaces `primary`, and the later of two explicit ones holds.
            let ContactRole { role, set, .. } = self.contact_roles.remove(at);
            self.set_role(surviving, &role, &set);
        }
    }

    pub fn apply(&mut self, seq: u64, envelope: &Envelope) {
        let at = envelope.occurred_at;
        match &envelope.event {
            Event::OpportunityCreated(e) if e.opportunity_id == self.opportunity_id => {
                self.created_at = Some(self.created_at.map_or(at, |c| c.min(at)));
                e.account_id.clone_into(&mut self.account_id);
                if self.name.is_empty() {
                    e.name.clone_into(&mut self.name);
                }
                // Updates may have arrived first (another topic, another
                // partition): the creation's values hold where none is later.
                self.set_amount(&e.amount, envelope);
                self.set_probability(e.probability_pct, envelope);
                if self.set_stage(&e.stage, envelope, seq) {
                    self.closed = None;
                }
                self.set_expected_close(e.expected_close_at, envelope);
                e.primary_contact_id
                    .clone_into(&mut self.primary_contact_id);
                self.add_contact(&e.primary_contact_id);
                self.set_role(&e.primary_contact_id, "primary", &Stamp::of(envelope));
                e.owner_id.clone_into(&mut self.owner_id);
                e.partner_id.clone_into(&mut self.partner_id);
            }
            Event::OpportunityUpdated(e) if e.opportunity_id == self.opportunity_id => {
                // A stage change after the close reopens the deal; one that
                // happened before it joins the history only.
                if let Some(stage) = &e.stage
                    && self.set_stage(stage, envelope, seq)
                {
                    self.closed = None;
                }
                if let Some(amount) = &e.amount {
                    self.set_amount(amount, envelope);
                }
                if let Some(pct) = e.probability_pct {
                    self.set_probability(pct, envelope);
                }
                self.set_expected_close(e.expected_close_at, envelope);
            }
            Event::OpportunityContactRoleAdded(e) if e.opportunity_id == self.opportunity_id => {
                self.add_contact(&e.person_id);
                self.set_role(&e.person_id, &e.role, &Stamp::of(envelope));
            }
            Event::OpportunityClosed(e) if e.opportunity_id == self.opportunity_id => {
                let stage = if e.won { "closed_won" } else { "closed_lost" };
                if self.set_stage(stage, envelope, seq) {
                    self.closed = Some(ClosedInfo {
                        won: e.won,
                        amount: e.amount.clone(),
                        closed_at: at,
                        partner_id: e.partner_id.clone(),
                    });
                }
                self.set_probability(if e.won { 100 } else { 0 }, envelope);
            }
            Event::TransactionRecorded(e) if e.opportunity_id == self.opportunity_id => {
                let entry = crate::TransactionEntry {
                    transaction_id: e.transaction_id.clone(),
                    opportunity_id: e.opportunity_id.clone(),
                    amount: e.amount.clone(),
                    at,
                    description: e.description.clone(),
                    event_id: envelope.event_id.clone(),
                };
                crate::account::insert_transaction(&mut self.transactions, entry);
            }
            Event::LeadConverted(e) if e.opportunity_id == self.opportunity_id => {
                self.add_contact(&e.person_id);
                if self.account_id.is_empty() {
                    e.account_id.clone_into(&mut self.account_id);
                }
            }
            _ => return,
        }
        self.last_seq = self.last_seq.max(seq);
    }
}
