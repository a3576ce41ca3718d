//! The domain of touchline: events, their validation and the streams they belong to.
//!
//! Everything here is plain data and pure functions. Nothing does I/O, and nothing
//! fails on valid input: [`Envelope::validate`] is the one gate, and code past it may
//! rely on what it checked.
//!
//! ```
//! use touchline_core::{Envelope, Event, TouchRecorded, TouchStatus, TouchType, Timestamp};
//!
//! let envelope = Envelope {
//!     event_id: "evt-1".into(),
//!     occurred_at: Timestamp::from_millis(1_700_000_000_000),
//!     recorded_at: Timestamp::from_millis(1_700_000_000_500),
//!     source_system: "marketo".into(),
//!     event: Event::TouchRecorded(TouchRecorded {
//!         person_id: "person-1".into(),
//!         campaign_id: "webinar-q3".into(),
//!         touch_type: TouchType::WebinarAttended,
//!         status: TouchStatus::Responded,
//!         asset: String::new(), topic: String::new(),
//!     }),
//! };
//! assert!(envelope.validate().is_ok());
//! let streams: Vec<_> = envelope.event.streams().collect();
//! assert_eq!(streams.len(), 2); // the person and the campaign
//! ```

mod event;
pub mod normalize;
mod time;
mod validate;

pub use event::*;

/// Event ids of events the engine derives itself (a routing decision) start
/// with this; an incoming event may not, so the two can never collide.
pub const DERIVED_EVENT_PREFIX: &str = "touchline:";
pub use time::Timestamp;
pub use validate::InvalidEvent;
