use serde::{Deserialize, Serialize};
use touchline_core::{Envelope, Event, Money, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageChange {
    pub stage: String,
    pub at: Timestamp,
    pub seq: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRole {
    pub person_id: String,
    pub role: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosedInfo {
    pub won: bool,
    pub amount: Money,
    pub closed_at: Timestamp,
    pub partner_id: String,
}

/// An opportunity: its amount, stage history and the people behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpportunityView {
    pub opportunity_id: String,
    pub account_id: String,
    pub name: String,
    /// `None` until `OpportunityCreated` arrives (a contact role may come first).
    pub created_at: Option<Timestamp>,
    pub stage: String,
    /// Every stage change in log order; skips, reversals and reopenings stay visible.
    pub stage_history: Vec<StageChange>,
    pub amount: Option<Money>,
    pub probability_pct: u32,
    pub expected_close_at: Option<Timestamp>,
    pub primary_contact_id: String,
    /// The primary contact and every contact with a role, without repeats.
    pub contact_ids: Vec<String>,
    /// The role each contact plays on the deal (decision maker, influencer, ...),
    /// as the CRM last named it; the primary contact is `primary` unless named.
    pub contact_roles: Vec<ContactRole>,
    pub owner_id: String,
    pub partner_id: String,
    pub closed: Option<ClosedInfo>,
    /// Payments for this deal from accounting, in time order (R3).
    pub transactions: Vec<crate::TransactionEntry>,
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
            last_seq: 0,
        }
    }

    fn add_contact(&mut self, person_id: &str) {
        if !person_id.is_empty() && !self.contact_ids.iter().any(|c| c == person_id) {
            self.contact_ids.push(person_id.to_owned());
        }
    }

    fn set_stage(&mut self, stage: &str, at: Timestamp, seq: u64) {
        if self.stage != stage {
            stage.clone_into(&mut self.stage);
            self.stage_history.push(StageChange {
                stage: stage.to_owned(),
                at,
                seq,
            });
        }
    }

    /// Names the role a contact plays; an explicit role replaces `primary`.
    fn set_role(&mut self, person_id: &str, role: &str) {
        if person_id.is_empty() || role.is_empty() {
            return;
        }
        match self
            .contact_roles
            .iter_mut()
            .find(|r| r.person_id == person_id)
        {
            Some(existing) if role != "primary" || existing.role == "primary" => {
                role.clone_into(&mut existing.role)
            }
            Some(_) => {}
            None => self.contact_roles.push(ContactRole {
                person_id: person_id.to_owned(),
                role: role.to_owned(),
            }),
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
            let role = self.contact_roles.remove(at).role;
            // The survivor keeps its own role; it takes the merged record's only
            // if it had none (or was just the primary contact).
            let mine = self.contact_roles.iter().find(|r| r.person_id == surviving);
            if mine.is_none_or(|r| r.role == "primary") {
                self.set_role(surviving, &role);
            }
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
                // Updates may have arrived first (another topic, another partition):
                // creation fills in only what they have not set.
                if self.amount.is_none() {
                    self.amount = Some(e.amount.clone());
                }
                if self.stage_history.is_empty() {
                    self.probability_pct = e.probability_pct;
                    self.set_stage(&e.stage, at, seq);
                }
                if self.expected_close_at.is_none() {
                    self.expected_close_at = e.expected_close_at;
                }
                e.primary_contact_id
                    .clone_into(&mut self.primary_contact_id);
                self.add_contact(&e.primary_contact_id);
                self.set_role(&e.primary_contact_id, "primary");
                e.owner_id.clone_into(&mut self.owner_id);
                e.partner_id.clone_into(&mut self.partner_id);
            }
            Event::OpportunityUpdated(e) if e.opportunity_id == self.opportunity_id => {
                if let Some(stage) = &e.stage {
                    // A stage change after the close reopens the deal; one that
                    // happened before it but arrives late does not.
                    match &self.closed {
                        Some(closed) if at <= closed.closed_at => {
                            // Recorded late: history keeps it, in time order.
                            let change = StageChange {
                                stage: stage.clone(),
                                at,
                                seq,
                            };
                            let position = self
                                .stage_history
                                .partition_point(|c| (c.at, c.seq) <= (at, seq));
                            self.stage_history.insert(position, change);
                        }
                        _ => {
                            self.closed = None;
                            self.set_stage(stage, at, seq);
                        }
                    }
                }
                if let Some(amount) = &e.amount {
                    self.amount = Some(amount.clone());
                }
                if let Some(pct) = e.probability_pct {
                    self.probability_pct = pct;
                }
                if e.expected_close_at.is_some() {
                    self.expected_close_at = e.expected_close_at;
                }
            }
            Event::OpportunityContactRoleAdded(e) if e.opportunity_id == self.opportunity_id => {
                self.add_contact(&e.person_id);
                self.set_role(&e.person_id, &e.role);
            }
            Event::OpportunityClosed(e) if e.opportunity_id == self.opportunity_id => {
                self.closed = Some(ClosedInfo {
                    won: e.won,
                    amount: e.amount.clone(),
                    closed_at: at,
                    partner_id: e.partner_id.clone(),
                });
                self.set_stage(if e.won { "closed_won" } else { "closed_lost" }, at, seq);
                self.probability_pct = if e.won { 100 } else { 0 };
            }
            Event::TransactionRecorded(e) if e.opportunity_id == self.opportunity_id => {
                let entry = crate::TransactionEntry {
                    transaction_id: e.transaction_id.clone(),
                    opportunity_id: e.opportunity_id.clone(),
                    amount: e.amount.clone(),
                    at,
                    description: e.description.clone(),
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
