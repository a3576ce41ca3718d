//! Loading what a fold reads, before it runs: the views a batch's events name,
//! then, round by round, the views those lead to (the survivor of a merge, a
//! person's deals and accounts, a deal's contacts), one multi-get per table
//! and round. The fold then reads nothing else.
//!
//! The rules here foresee what the fold reads; they do not decide what it
//! computes. Should the fold read a view they missed, it says so
//! ([`BatchState::missing`]), the view is loaded and the fold runs again from
//! the same start, so a gap here costs time, never correctness.

use super::batch_state::{Missing, Snapshot};
use super::touch_rows::fetch_rows;
use super::*;

/// Why a view is wanted, which decides what else it leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Want {
    /// A person an event is about: its merges, conversions, deals, accounts
    /// and the campaigns its source counts for.
    Subject,
    /// A person in a merge: as a subject, and every campaign it is in.
    Merging,
    /// A person whose touches a deal draws on: where it was merged to.
    Contact,
    /// A deal whose conversions may be recomputed: its conversions, contacts
    /// and (in account mode) account.
    Opportunity,
    /// A deal an account lists (an alert asks whether it is open).
    Listed,
    Account,
    Campaign,
    Conversion,
    /// A person whose touch rows the fold reads (its view too).
    Rows,
}

/// What a fold is about to read.
#[derive(Debug, Default)]
pub(super) struct Wants {
    items: Vec<(Want, String)>,
    /// Touch events per person id named, to foresee a history reaching its limit.
    touches: HashMap<String, u64>,
}

impl Wants {
    /// The views the events name.
    pub(super) fn of_events<'e>(events: impl IntoIterator<Item = &'e Envelope>) -> Self {
        let mut wants = Wants::default();
        for envelope in events {
            wants.event(envelope);
        }
        wants
    }

    fn want(&mut self, want: Want, key: &str) {
        if !key.is_empty() {
            self.items.push((want, key.to_owned()));
        }
    }

    pub(super) fn subject(&mut self, person_id: &str) {
        self.want(Want::Subject, person_id);
    }

    pub(super) fn opportunity(&mut self, opportunity_id: &str) {
        self.want(Want::Opportunity, opportunity_id);
    }

    fn event(&mut self, envelope: &Envelope) {
        match &envelope.event {
            Event::CampaignUpserted(e) => self.want(Want::Campaign, &e.campaign_id),
            Event::CampaignCostRecorded(e) => self.want(Want::Campaign, &e.campaign_id),
            Event::LeadCreated(e) => {
                // A lead's conversions draw on its touches.
                self.want(Want::Rows, &e.person_id);
                self.subject(&e.person_id);
                self.want(Want::Account, &e.account_id);
                if let Some(source) = &e.source {
                    self.want(Want::Campaign, &source.campaign_id);
                }
            }
            Event::LeadUpdated(e) => {
                if e.status == Some(touchline_core::LeadStatus::Qualified) {
                    self.want(Want::Rows, &e.person_id);
                }
                self.subject(&e.person_id);
            }
            Event::LeadRouted(e) => self.subject(&e.person_id),
            Event::FollowUpLogged(e) => self.subject(&e.person_id),
            Event::LeadConverted(e) => {
                self.want(Want::Rows, &e.person_id);
                self.subject(&e.person_id);
                self.want(Want::Account, &e.account_id);
                self.opportunity(&e.opportunity_id);
            }
            Event::TouchRecorded(e) => {
                *self.touches.entry_ref(e.person_id.as_str()).or_default() += 1;
                self.subject(&e.person_id);
                self.want(Want::Campaign, &e.campaign_id);
            }
            Event::OpportunityCreated(e) => {
                self.opportunity(&e.opportunity_id);
                self.want(Want::Account, &e.account_id);
                self.want(Want::Rows, &e.primary_contact_id);
                self.subject(&e.primary_contact_id);
            }
            Event::OpportunityUpdated(e) => self.opportunity(&e.opportunity_id),
            Event::OpportunityClosed(e) => self.opportunity(&e.opportunity_id),
            Event::OpportunityContactRoleAdded(e) => {
                self.want(Want::Rows, &e.person_id);
                self.subject(&e.person_id);
                self.opportunity(&e.opportunity_id);
            }
            Event::PersonsMerged(e) => {
                self.want(Want::Merging, &e.surviving_person_id);
                self.want(Want::Merging, &e.merged_person_id);
            }
            Event::AccountUpserted(e) => self.want(Want::Account, &e.account_id),
            Event::TransactionRecorded(e) => {
                self.want(Want::Account, &e.account_id);
                self.opportunity(&e.opportunity_id);
            }
        }
    }

    /// What a fold read without it being loaded.
    pub(super) fn extend_missing(&mut self, missing: Missing) {
        let Missing {
            accounts,
            persons,
            opportunities,
            campaigns,
            conversions,
            touch_rows,
        } = missing;
        for (want, keys) in [
            (Want::Account, accounts),
            (Want::Subject, persons),
            (Want::Opportunity, opportunities),
            (Want::Campaign, campaigns),
            (Want::Conversion, conversions),
            (Want::Rows, touch_rows),
        ] {
            for key in keys {
                self.items.push((want, key));
            }
        }
    }
}

/// Where views come from: the batch ahead (maybe not durable yet), then the store.
pub(super) struct Source<'a> {
    pub(super) store: &'a Store,
    pub(super) ahead: &'a mut Snapshot,
}

/// Fetches the keys of one table that `snapshot` lacks: from the batch ahead
/// when it holds them, the rest with one multi-get.
fn fetch<T: DeserializeOwned>(
    store: &Store,
    table: Table,
    ahead: &mut HashMap<String, Option<T>>,
    into: &mut HashMap<String, Option<T>>,
    keys: &[&str],
) -> Result<(), EngineError> {
    let mut from_store: Vec<&str> = Vec::new();
    for &key in keys {
        if into.contains_key(key) {
            continue;
        }
        match ahead.remove(key) {
            Some(view) => {
                into.insert(key.to_owned(), view);
            }
            None => from_store.push(key),
        }
    }
    from_store.sort_unstable();
    from_store.dedup();
    if from_store.is_empty() {
        return Ok(());
    }
    for (key, view) in from_store
        .iter()
        .zip(store.get_many::<T>(table, &from_store)?)
    {
        into.insert((*key).to_owned(), view);
    }
    Ok(())
}

/// Loads everything `wants` leads to, round by round, into `snapshot`.
pub(super) fn load(
    source: &mut Source<'_>,
    wants: &Wants,
    account_touches: bool,
    snapshot: &mut Snapshot,
) -> Result<(), EngineError> {
    let mut followed: HashSet<(Want, String)> = HashSet::new();
    let mut pending: Vec<(Want, String)> = wants.items.clone();
    while !pending.is_empty() {
        let keys = |of: &[Want]| -> Vec<&str> {
            pending
                .iter()
                .filter(|(w, _)| of.contains(w))
                .map(|(_, k)| k.as_str())
                .collect()
        };
        let (store, ahead) = (source.store, &mut *source.ahead);
        fetch(
            store,
            Table::Persons,
            &mut ahead.persons,
            &mut snapshot.persons,
            &keys(&[Want::Subject, Want::Merging, Want::Contact, Want::Rows]),
        )?;
        // Merging people's rows move; contacts' are attributed.
        fetch_rows(
            store,
            &mut ahead.touches,
            &snapshot.persons,
            &mut snapshot.touches,
            &keys(&[Want::Merging, Want::Contact, Want::Rows]),
        )?;
        fetch(
            store,
            Table::Opportunities,
            &mut ahead.opportunities,
            &mut snapshot.opportunities,
            &keys(&[Want::Opportunity, Want::Listed]),
        )?;
        fetch(
            store,
            Table::Accounts,
            &mut ahead.accounts,
            &mut snapshot.accounts,
            &keys(&[Want::Account]),
        )?;
        fetch(
            store,
            Table::Campaigns,
            &mut ahead.campaigns,
            &mut snapshot.campaigns,
            &keys(&[Want::Campaign]),
        )?;
        fetch(
            store,
            Table::Conversions,
            &mut ahead.conversions,
            &mut snapshot.conversions,
            &keys(&[Want::Conversion]),
        )?;
        let mut next = Wants::default();
        for (want, key) in std::mem::take(&mut pending) {
            if followed.contains(&(want, key.clone())) {
                continue;
            }
            follow(want, &key, snapshot, account_touches, wants, &mut next);
            followed.insert((want, key));
        }
        pending = next
            .items
            .into_iter()
            .filter(|item| !followed.contains(item))
            .collect();
    }
    Ok(())
}

/// What a loaded view leads to.
fn follow(
    want: Want,
    key: &str,
    snapshot: &Snapshot,
    account_touches: bool,
    wants: &Wants,
    next: &mut Wants,
) {
    match want {
        Want::Subject | Want::Merging => {
            for kind in [ConversionKind::LeadCreated, ConversionKind::LeadQualified] {
                next.want(Want::Conversion, &kind.conversion_id(key));
            }
            let Some(Some(person)) = snapshot.persons.get(key) else {
                return;
            };
            if needs_rows(person, account_touches, wants.touches.get(key).copied()) {
                next.want(Want::Rows, key);
            }
            if let Some(survivor) = &person.merged_into {
                next.want(want, survivor);
            }
            for opportunity in &person.opportunity_ids {
                next.opportunity(opportunity);
            }
            for account in person.accounts.iter().chain([&person.account_id]) {
                next.want(Want::Account, account);
            }
            if let Some(source) = &person.source {
                next.want(Want::Campaign, &source.campaign_id);
            }
            if let Some(first) = person.source_at_first_contact() {
                next.want(Want::Campaign, &first.campaign_id);
            }
            if want == Want::Merging {
                for campaign in person.campaigns.keys() {
                    next.want(Want::Campaign, campaign);
                }
            }
        }
        Want::Contact => {
            if let Some(Some(person)) = snapshot.persons.get(key)
                && let Some(survivor) = &person.merged_into
            {
                next.want(Want::Contact, survivor);
            }
        }
        Want::Opportunity => {
            for kind in [
                ConversionKind::OpportunityCreated,
                ConversionKind::OpportunityWon,
            ] {
                next.want(Want::Conversion, &kind.conversion_id(key));
            }
            let Some(Some(opportunity)) = snapshot.opportunities.get(key) else {
                return;
            };
            for contact in &opportunity.contact_ids {
                next.want(Want::Contact, contact);
            }
            if account_touches {
                next.want(Want::Account, &opportunity.account_id);
            }
        }
        Want::Account => {
            let Some(Some(account)) = snapshot.accounts.get(key) else {
                return;
            };
            let deals = if account_touches {
                Want::Opportunity
            } else {
                Want::Listed
            };
            for opportunity in &account.opportunity_ids {
                next.want(deals, opportunity);
            }
            if account_touches {
                for contact in &account.contact_ids {
                    next.want(Want::Contact, contact);
                }
            }
        }
        Want::Listed | Want::Campaign | Want::Conversion | Want::Rows => {}
    }
}

/// Whether a fold over events about `person` (`touches` of them touches)
/// reads its rows: when it re-attributes a conversion the person's touches
/// count in, or when its history reaches the limit. Otherwise its touches are
/// only appended.
fn needs_rows(person: &PersonView, account_touches: bool, touches: Option<u64>) -> bool {
    let converts = person.lead_created_at.is_some()
        || person.qualified_at.is_some()
        || !person.opportunity_ids.is_empty()
        || (account_touches && !person.accounts.is_empty());
    let at_limit =
        person.touches_kept + touches.unwrap_or(0) > touchline_projection::MAX_TOUCH_HISTORY as u64;
    converts || at_limit
}
