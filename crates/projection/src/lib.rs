//! Read models (views) and the pure folds that keep them.
//!
//! A view is plain data. Each fold takes a view and one event and changes the
//! view; none of them does I/O or can fail. The engine loads the views an event
//! touches, calls the folds, and writes the views back in the same RocksDB
//! WriteBatch as the event itself.
//!
//! Folds tolerate any arrival order across streams: a touch may come before its
//! lead, a contact role before its opportunity. Whatever arrives first creates
//! the view; what arrives later fills it in.
//!
//! ```
//! use touchline_core::{Envelope, Event, Timestamp, TouchRecorded, TouchStatus, TouchType};
//! use touchline_projection::PersonView;
//!
//! let mut person = PersonView::new("p-1");
//! let touch = |id: &str, at: i64| Envelope {
//!     event_id: id.into(),
//!     occurred_at: Timestamp::from_millis(at),
//!     recorded_at: Timestamp::from_millis(at),
//!     source_system: "web".into(),
//!     event: Event::TouchRecorded(TouchRecorded {
//!         person_id: "p-1".into(),
//!         campaign_id: format!("c-{at}"),
//!         touch_type: TouchType::WebVisit,
//!         status: TouchStatus::Responded,
//!         asset: String::new(),
//!         topic: String::new(),
//!         provenance: None,
//!     }),
//! };
//! person.apply(2, &touch("late", 200));
//! person.apply(3, &touch("early", 100)); // recorded later, happened earlier
//! assert_eq!(person.first_touch().unwrap().campaign_id, "c-100");
//! assert_eq!(person.last_touch().unwrap().campaign_id, "c-200");
//! ```

mod account;
mod campaign;
mod conversion;
mod opportunity;
mod person;
mod routing;

pub use account::{AccountView, AlertEntry, MAX_RECENT_ALERTS, TransactionEntry};
pub use campaign::{CampaignView, DatedCost};
pub use conversion::{ConversionView, ModelResult};
pub use opportunity::{ClosedInfo, ContactRole, OpportunityView, StageChange};
pub use person::{
    ConversionInfo, EARLIEST_TOUCHES_KEPT, FollowUpEntry, HISTORY_AFTER_MS, MAX_TOUCH_HISTORY,
    PersonKind, PersonView, RoutingEntry, TouchEntry,
};
pub use routing::{RoutingRule, RoutingRules};
