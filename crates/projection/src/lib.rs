//! Read models (views) and the pure folds that keep them.
//!
//! A view is plain data. Each fold takes a view and one event and changes the
//! view; none of them does I/O. The engine loads the views an event touches,
//! calls the folds, and writes the views back in the same RocksDB WriteBatch as
//! the event itself.
//!
//! A person's touches are not in its view: each kept touch is a row of its
//! own ([`TouchHistory`]), written once when folded and deleted only when it
//! leaves (set aside past the limit, moved by a merge). A fold that needs the
//! rows (attribution, a merge, the limit) and was not given them says so
//! ([`RowsNotRead`]), and the engine reads them and folds again.
//!
//! Folds tolerate any arrival order across streams: a touch may come before its
//! lead, a contact role before its opportunity. Whatever arrives first creates
//! the view; what arrives later fills it in.
//!
//! ```
//! use touchline_core::{Envelope, Event, Timestamp, TouchRecorded, TouchStatus, TouchType};
//! use touchline_projection::{PersonView, TouchHistory};
//!
//! let mut person = PersonView::new("p-1");
//! // The person's kept touches, rows of their own in the store (none yet).
//! let mut history = TouchHistory::read(Vec::new());
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
//! person.apply_with(2, &touch("late", 200), &mut history).unwrap();
//! // Recorded later, happened earlier.
//! person.apply_with(3, &touch("early", 100), &mut history).unwrap();
//! assert_eq!(person.first_touch().unwrap().campaign_id, "c-100");
//! assert_eq!(person.last_touch().unwrap().campaign_id, "c-200");
//! let rows = history.rows().unwrap();
//! assert_eq!(rows.iter().map(|t| t.event_id.as_str()).collect::<Vec<_>>(), ["early", "late"]);
//! ```

mod account;
mod campaign;
mod conversion;
mod opportunity;
mod person;
mod routing;
mod stamp;
mod touch_history;

pub use account::{AccountView, AlertEntry, MAX_RECENT_ALERTS, TransactionEntry};
pub use campaign::{CampaignView, DatedCost};
pub use conversion::{ConversionView, ModelResult};
pub use opportunity::{ClosedInfo, ContactRole, OpportunityView, SetBy, StageChange};
pub use person::{
    ConversionInfo, EARLIEST_TOUCHES_KEPT, FollowUpEntry, HISTORY_AFTER_MS, IdentitySet,
    MAX_TOUCH_HISTORY, PersonKind, PersonView, QualificationSet, RoutingEntry, TouchEntry,
};
pub use routing::{RoutingRule, RoutingRules};
pub use stamp::Stamp;
pub use touch_history::{RowsNotRead, TouchHistory, TouchKey};
