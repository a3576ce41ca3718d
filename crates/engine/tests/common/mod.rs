//! Builders the engine's tests share.

#![allow(dead_code)]

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
