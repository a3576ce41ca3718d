//! The touches behind a conversion: one rule, used by the per-conversion
//! models (`apply`) and by the data-driven ones (`data_driven`), so the two can
//! never disagree about whose touches count.
//!
//! A lead conversion draws on its person's touches. An opportunity conversion
//! draws on its contacts (the primary contact and every contact with a role)
//! and, with `opportunity_touches = "account_contacts"`, on every contact of
//! its account too. A touch counts once, however many of those people share it.

use hashbrown::HashSet;
use touchline_attribution::{OpportunityTouches, TouchPoint};
use touchline_projection::{AccountView, OpportunityView, PersonView, TouchEntry};

/// Whether an opportunity's account must be read to know its people.
pub(crate) fn needs_account(mode: OpportunityTouches) -> bool {
    mode == OpportunityTouches::AccountContacts
}

/// The ids of the people whose touches an opportunity's conversions draw on,
/// each once, its own contacts first. `account` is read only when
/// [`needs_account`] says so; pass `None` otherwise.
pub(crate) fn opportunity_people(
    opportunity: &OpportunityView,
    account: Option<&AccountView>,
    mode: OpportunityTouches,
) -> Vec<String> {
    let mut seen: HashSet<&str> = HashSet::new();
    let account_contacts = account
        .filter(|_| needs_account(mode))
        .map(|a| a.contact_ids.as_slice())
        .unwrap_or_default();
    opportunity
        .contact_ids
        .iter()
        .chain(account_contacts)
        .filter(|id| seen.insert(id.as_str()))
        .cloned()
        .collect()
}

/// Gathers the touches of the people behind one conversion, each touch once
/// (by event id), in the order the people are added.
#[derive(Debug, Default)]
pub(crate) struct Touches {
    seen: HashSet<String>,
    points: Vec<TouchPoint>,
}

impl Touches {
    /// Adds one person's touches (its rows, in attribution order).
    pub(crate) fn add(&mut self, rows: &[TouchEntry]) {
        for touch in rows {
            if !self.seen.contains(touch.event_id.as_str()) {
                self.seen.insert(touch.event_id.clone());
                self.points.push(touch.to_touch_point());
            }
        }
    }

    pub(crate) fn into_points(self) -> Vec<TouchPoint> {
        self.points
    }
}

/// The lead-creation milestone of an opportunity's conversions: the earliest
/// lead creation among the people behind it (the W-shaped and full-path
/// models key on it), for both `apply`'s re-attribution and what-if.
pub(crate) fn earliest_lead_created<'p>(
    people: impl IntoIterator<Item = &'p PersonView>,
) -> Option<touchline_core::Timestamp> {
    people.into_iter().filter_map(|p| p.lead_created_at).min()
}
