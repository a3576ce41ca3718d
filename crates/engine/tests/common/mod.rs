//! Builders the engine's tests share.

#![allow(dead_code)]

pub mod state;

use touchline_core::*;

/// An envelope at `ms` (occurred and recorded), from source `test`.
pub fn envelope(id: &str, ms: i64, event: Event) -> Envelope {
    Envelope {
        event_id: id.into(),
        occurred_at: Timestamp::from_millis(ms),
        recorded_at: Timestamp::from_millis(ms),
        source_system: "test".into(),
        event,
    }
}

/// A responded e-mail click by `person` in `campaign`.
pub fn touch(id: &str, ms: i64, person: &str, campaign: &str) -> Envelope {
    envelope(
        id,
        ms,
        Event::TouchRecorded(TouchRecorded {
            person_id: person.into(),
            campaign_id: campaign.into(),
            touch_type: TouchType::EmailClick,
            status: TouchStatus::Responded,
            asset: String::new(),
            topic: String::new(),
        }),
    )
}

/// An instant `ms` after the epoch.
pub fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

/// A lead `person` created at `ms`, with nothing else known.
pub fn lead(id: &str, ms: i64, person: &str) -> Envelope {
    envelope(
        id,
        ms,
        Event::LeadCreated(LeadCreated {
            person_id: person.into(),
            email: String::new(),
            phone: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            company: String::new(),
            account_id: String::new(),
            source: None,
            owner_id: String::new(),
        }),
    )
}

/// Opportunity `opp` of account `acc`, created at `ms` with `contact` as its
/// primary contact.
pub fn opportunity(id: &str, ms: i64, opp: &str, contact: &str, amount: i64) -> Envelope {
    envelope(
        id,
        ms,
        Event::OpportunityCreated(OpportunityCreated {
            opportunity_id: opp.into(),
            account_id: "acc".into(),
            name: String::new(),
            stage: "qualification".into(),
            amount: Money::new(amount, "EUR"),
            probability_pct: 20,
            expected_close_at: None,
            primary_contact_id: contact.into(),
            owner_id: String::new(),
            partner_id: String::new(),
        }),
    )
}
