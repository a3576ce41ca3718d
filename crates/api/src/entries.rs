//! The entries nested in the API's answers (stage changes, closes,
//! transactions, costs, alerts, contact roles, routings, follow-ups, touches
//! and conversions) as boundary types of their own: each has exactly the
//! fields of the OpenAPI schema of the same name, borrowed from the stored
//! entry. A field the projections add to a stored entry stays out of every
//! answer until it is documented and added here.

use serde::Serialize;
use touchline_core::{ContactMethod, Money, OwnerKind, Timestamp, TouchStatus, TouchType};
use touchline_projection as stored;

/// Each of `entries` as the API gives it.
pub(crate) fn all<'v, S, B>(entries: &'v [S], of: impl Fn(&'v S) -> B) -> Vec<B> {
    entries.iter().map(of).collect()
}

/// One stage change of a deal (the OpenAPI `StageChange`).
#[derive(Serialize)]
pub(crate) struct StageChange<'v> {
    stage: &'v str,
    at: Timestamp,
    seq: u64,
}

impl<'v> StageChange<'v> {
    pub(crate) fn of(entry: &'v stored::StageChange) -> Self {
        StageChange {
            stage: &entry.stage,
            at: entry.at,
            seq: entry.seq,
        }
    }
}

/// The role a contact plays on a deal (the OpenAPI `ContactRole`).
#[derive(Serialize)]
pub(crate) struct ContactRole<'v> {
    person_id: &'v str,
    role: &'v str,
}

impl<'v> ContactRole<'v> {
    pub(crate) fn of(entry: &'v stored::ContactRole) -> Self {
        ContactRole {
            person_id: &entry.person_id,
            role: &entry.role,
        }
    }
}

/// How a deal closed (the OpenAPI `ClosedInfo`).
#[derive(Serialize)]
pub(crate) struct ClosedInfo<'v> {
    won: bool,
    amount: &'v Money,
    closed_at: Timestamp,
    partner_id: &'v str,
}

impl<'v> ClosedInfo<'v> {
    pub(crate) fn of(entry: &'v stored::ClosedInfo) -> Self {
        ClosedInfo {
            won: entry.won,
            amount: &entry.amount,
            closed_at: entry.closed_at,
            partner_id: &entry.partner_id,
        }
    }
}

/// One accounting transaction (the OpenAPI `TransactionEntry`).
#[derive(Serialize)]
pub(crate) struct TransactionEntry<'v> {
    transaction_id: &'v str,
    opportunity_id: &'v str,
    amount: &'v Money,
    at: Timestamp,
    description: &'v str,
}

impl<'v> TransactionEntry<'v> {
    pub(crate) fn of(entry: &'v stored::TransactionEntry) -> Self {
        TransactionEntry {
            transaction_id: &entry.transaction_id,
            opportunity_id: &entry.opportunity_id,
            amount: &entry.amount,
            at: entry.at,
            description: &entry.description,
        }
    }
}

/// One recorded campaign cost with its date (the items of the OpenAPI
/// `CampaignView.costs`).
#[derive(Serialize)]
pub(crate) struct DatedCost<'v> {
    at: Timestamp,
    event_id: &'v str,
    cost: &'v Money,
}

impl<'v> DatedCost<'v> {
    pub(crate) fn of(entry: &'v stored::DatedCost) -> Self {
        DatedCost {
            at: entry.at,
            event_id: &entry.event_id,
            cost: &entry.cost,
        }
    }
}

/// One rep alert on an account (the items of the OpenAPI
/// `AccountView.recent_alerts`).
#[derive(Serialize)]
pub(crate) struct AlertEntry<'v> {
    alert_id: &'v str,
    person_id: &'v str,
    person_name: &'v str,
    campaign_id: &'v str,
    touch_type: TouchType,
    topic: &'v str,
    occurred_at: Timestamp,
    rep_ids: &'v [String],
    open_opportunity_ids: &'v [String],
    seq: u64,
}

impl<'v> AlertEntry<'v> {
    pub(crate) fn of(entry: &'v stored::AlertEntry) -> Self {
        AlertEntry {
            alert_id: &entry.alert_id,
            person_id: &entry.person_id,
            person_name: &entry.person_name,
            campaign_id: &entry.campaign_id,
            touch_type: entry.touch_type,
            topic: &entry.topic,
            occurred_at: entry.occurred_at,
            rep_ids: &entry.rep_ids,
            open_opportunity_ids: &entry.open_opportunity_ids,
            seq: entry.seq,
        }
    }
}

/// One assignment of a lead to an owner (the OpenAPI `RoutingEntry`).
#[derive(Serialize)]
pub(crate) struct RoutingEntry<'v> {
    event_id: &'v str,
    at: Timestamp,
    owner_id: &'v str,
    owner_kind: OwnerKind,
    rule: &'v str,
    reason: &'v str,
}

impl<'v> RoutingEntry<'v> {
    pub(crate) fn of(entry: &'v stored::RoutingEntry) -> Self {
        RoutingEntry {
            event_id: &entry.event_id,
            at: entry.at,
            owner_id: &entry.owner_id,
            owner_kind: entry.owner_kind,
            rule: &entry.rule,
            reason: &entry.reason,
        }
    }
}

/// One follow-up by a rep (the OpenAPI `FollowUpEntry`).
#[derive(Serialize)]
pub(crate) struct FollowUpEntry<'v> {
    event_id: &'v str,
    at: Timestamp,
    method: ContactMethod,
    outcome: &'v str,
    next_due_at: Option<Timestamp>,
    owner_id: &'v str,
}

impl<'v> FollowUpEntry<'v> {
    pub(crate) fn of(entry: &'v stored::FollowUpEntry) -> Self {
        FollowUpEntry {
            event_id: &entry.event_id,
            at: entry.at,
            method: entry.method,
            outcome: &entry.outcome,
            next_due_at: entry.next_due_at,
            owner_id: &entry.owner_id,
        }
    }
}

/// One touch in a person's history (the OpenAPI `TouchEntry`).
#[derive(Serialize)]
pub(crate) struct TouchEntry<'v> {
    seq: u64,
    event_id: &'v str,
    campaign_id: &'v str,
    touch_type: TouchType,
    status: TouchStatus,
    asset: &'v str,
    topic: &'v str,
    occurred_at: Timestamp,
    recorded_at: Timestamp,
    provenance: Provenance<'v>,
}

/// Where a touch comes from (the OpenAPI `TouchProvenance`).
#[derive(Serialize)]
pub(crate) struct Provenance<'v> {
    origin: touchline_core::TouchOrigin,
    source: &'v str,
}

impl<'v> TouchEntry<'v> {
    pub(crate) fn of(entry: &'v stored::TouchEntry) -> Self {
        TouchEntry {
            seq: entry.seq,
            event_id: &entry.event_id,
            campaign_id: &entry.campaign_id,
            touch_type: entry.touch_type,
            status: entry.status,
            asset: &entry.asset,
            topic: &entry.topic,
            occurred_at: entry.occurred_at,
            recorded_at: entry.recorded_at,
            provenance: Provenance {
                origin: entry.provenance.origin,
                source: &entry.provenance.source,
            },
        }
    }
}

/// When and into what a lead was converted (the OpenAPI `ConversionInfo`).
#[derive(Serialize)]
pub(crate) struct ConversionInfo<'v> {
    converted_at: Timestamp,
    account_id: &'v str,
    opportunity_id: &'v str,
}

impl<'v> ConversionInfo<'v> {
    pub(crate) fn of(entry: &'v stored::ConversionInfo) -> Self {
        ConversionInfo {
            converted_at: entry.converted_at,
            account_id: &entry.account_id,
            opportunity_id: &entry.opportunity_id,
        }
    }
}
