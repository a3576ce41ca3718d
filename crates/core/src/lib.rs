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
//!         asset: String::new(), topic: String::new(), provenance: None,
//!     }),
//! };
//! assert!(envelope.validate().is_ok());
//! let streams: Vec<_> = envelope.event.streams().collect();
//! assert_eq!(streams.len(), 2); // the person and the campaign
//! ```

pub mod colocation;
mod event;
pub mod normalize;
mod time;
mod validate;

pub use event::*;

/// Event ids of events the engine derives itself (a routing decision) start
/// with this; an incoming event may not, so the two can never collide.
pub const DERIVED_EVENT_PREFIX: &str = "touchline:";

/// The id of an event touchline derives from another: `touchline:<kind>:<base>`,
/// readable while it fits in [`MAX_ID_LEN`] bytes. A longer one keeps a prefix of
/// the base and ends in the SHA-256 of the whole, so every derived id fits and
/// distinct bases give distinct ids.
///
/// ```
/// use touchline_core::{derived_event_id, MAX_ID_LEN};
/// assert_eq!(derived_event_id("routed", "evt-1"), "touchline:routed:evt-1");
/// let long = "x".repeat(MAX_ID_LEN);
/// let id = derived_event_id("routed", &long);
/// assert_eq!(id.len(), MAX_ID_LEN);
/// assert_ne!(id, derived_event_id("routed", &format!("{long}y")));
/// ```
pub fn derived_event_id(kind: &str, base: &str) -> String {
    bounded_id(format!("{DERIVED_EVENT_PREFIX}{kind}:{base}"))
}

/// `readable` if it fits in [`MAX_ID_LEN`] bytes; else a prefix of it, `~` and
/// the SHA-256 of the whole, so distinct inputs keep distinct ids that fit.
pub fn bounded_id(readable: String) -> String {
    if readable.len() <= MAX_ID_LEN {
        return readable;
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(readable.as_bytes());
    let hash: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    // `~` then 64 hex digits; the rest is the readable id cut at a char boundary.
    let keep = MAX_ID_LEN - 1 - hash.len();
    let mut cut = keep.min(readable.len());
    while !readable.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}~{hash}", &readable[..cut])
}
pub use time::Timestamp;
pub use validate::{InvalidEvent, MAX_AMOUNT_MINOR, MAX_ID_LEN, MAX_NOTE_LEN, MAX_TEXT_LEN};
