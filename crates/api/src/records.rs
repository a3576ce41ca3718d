//! What `GET /v1/opportunities/{id}`, `GET /v1/campaigns` and
//! `GET /v1/accounts/{id}` answer: boundary types of the API's own, with
//! exactly the fields of the OpenAPI `OpportunityView`, `CampaignView`,
//! `AccountView` and `AccountBody` schemas, borrowed from the stored views,
//! their nested entries too ([`crate::entries`]). A field the engine adds to
//! a view for its own use stays out of the answer until it is documented here.

use serde::Serialize;
use touchline_core::{CampaignType, Money, MoneyTotal, Timestamp};
use touchline_engine::{AccountRecord, ContactSummary};
use touchline_projection::{AccountView, CampaignView, OpportunityView};

use crate::entries::{
    AlertEntry, ClosedInfo, ContactRole, DatedCost, StageChange, TransactionEntry, all,
};
use crate::persons::EventBody;

/// An opportunity: its amount, stage history and the people behind it.
#[derive(Serialize)]
pub(crate) struct Opportunity<'v> {
    opportunity_id: &'v str,
    account_id: &'v str,
    name: &'v str,
    created_at: Option<Timestamp>,
    stage: &'v str,
    stage_history: Vec<StageChange<'v>>,
    amount: Option<&'v Money>,
    probability_pct: u32,
    expected_close_at: Option<Timestamp>,
    primary_contact_id: &'v str,
    contact_ids: &'v [String],
    contact_roles: Vec<ContactRole<'v>>,
    owner_id: &'v str,
    partner_id: &'v str,
    closed: Option<ClosedInfo<'v>>,
    transactions: Vec<TransactionEntry<'v>>,
    last_seq: u64,
}

impl<'v> Opportunity<'v> {
    pub(crate) fn of(view: &'v OpportunityView) -> Self {
        Opportunity {
            opportunity_id: &view.opportunity_id,
            account_id: &view.account_id,
            name: &view.name,
            created_at: view.created_at,
            stage: &view.stage,
            stage_history: view.stage_changes().map(StageChange::of).collect(),
            amount: view.amount.as_ref(),
            probability_pct: view.probability_pct,
            expected_close_at: view.expected_close_at,
            primary_contact_id: &view.primary_contact_id,
            contact_ids: &view.contact_ids,
            contact_roles: all(&view.contact_roles, ContactRole::of),
            owner_id: &view.owner_id,
            partner_id: &view.partner_id,
            closed: view.closed.as_ref().map(ClosedInfo::of),
            transactions: all(&view.transactions, TransactionEntry::of),
            last_seq: view.last_seq,
        }
    }
}

/// A campaign with its running counts and costs.
#[derive(Serialize)]
pub(crate) struct Campaign<'v> {
    campaign_id: &'v str,
    name: &'v str,
    channel: &'v str,
    medium: &'v str,
    source: &'v str,
    ad_code: &'v str,
    campaign_type: Option<CampaignType>,
    parent_campaign_id: &'v str,
    starts_at: Option<Timestamp>,
    ends_at: Option<Timestamp>,
    planned_cost: Option<&'v Money>,
    actual_cost: &'v [MoneyTotal],
    costs: Vec<DatedCost<'v>>,
    touches: u64,
    responses: u64,
    members: u64,
    responders: u64,
    leads_sourced: u64,
    last_seq: u64,
}

impl<'v> Campaign<'v> {
    pub(crate) fn of(view: &'v CampaignView) -> Self {
        Campaign {
            campaign_id: &view.campaign_id,
            name: &view.name,
            channel: &view.channel,
            medium: &view.medium,
            source: &view.source,
            ad_code: &view.ad_code,
            campaign_type: view.campaign_type,
            parent_campaign_id: &view.parent_campaign_id,
            starts_at: view.starts_at,
            ends_at: view.ends_at,
            planned_cost: view.planned_cost.as_ref(),
            actual_cost: &view.actual_cost,
            costs: all(&view.costs, DatedCost::of),
            touches: view.touches,
            responses: view.responses,
            members: view.members,
            responders: view.responders,
            leads_sourced: view.leads_sourced,
            last_seq: view.last_seq,
        }
    }
}

/// An account as its record shows it.
#[derive(Serialize)]
pub(crate) struct Account<'v> {
    account_id: &'v str,
    name: &'v str,
    industry: &'v str,
    owner_id: &'v str,
    contact_ids: &'v [String],
    opportunity_ids: &'v [String],
    transactions: Vec<TransactionEntry<'v>>,
    recent_alerts: Vec<AlertEntry<'v>>,
    last_seq: u64,
}

impl<'v> Account<'v> {
    fn of(view: &'v AccountView) -> Self {
        Account {
            account_id: &view.account_id,
            name: &view.name,
            industry: &view.industry,
            owner_id: &view.owner_id,
            contact_ids: &view.contact_ids,
            opportunity_ids: &view.opportunity_ids,
            transactions: all(&view.transactions, TransactionEntry::of),
            recent_alerts: all(&view.recent_alerts, AlertEntry::of),
            last_seq: view.last_seq,
        }
    }
}

/// `GET /v1/accounts/{id}`: the account with its contacts, deals, revenue
/// and latest events (the OpenAPI `AccountBody`).
#[derive(Serialize)]
pub(crate) struct AccountBody<'v> {
    account: Account<'v>,
    contacts: &'v [ContactSummary],
    opportunities: Vec<Opportunity<'v>>,
    revenue: &'v [MoneyTotal],
    /// When the account first won a deal.
    customer_since: Option<Timestamp>,
    /// Contacts whose lead came after that: a customer back for another product.
    returning_leads: &'v [String],
    history: Vec<EventBody<'v>>,
}

impl<'v> AccountBody<'v> {
    pub(crate) fn of(record: &'v AccountRecord) -> Self {
        AccountBody {
            account: Account::of(&record.account),
            contacts: &record.contacts,
            opportunities: record.opportunities.iter().map(Opportunity::of).collect(),
            revenue: &record.revenue,
            customer_since: record.customer_since,
            returning_leads: &record.returning_leads,
            history: record.history.iter().map(EventBody::of).collect(),
        }
    }
}

#[cfg(test)]
#[path = "records_tests.rs"]
mod tests;
