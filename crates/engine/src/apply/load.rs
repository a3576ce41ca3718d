//! Loading what a fold reads, before it runs: the views a batch's events name,
//! then, round by round, the views those lead to (the survivor of a merge, a
//! person's deals and accounts, a deal's contacts), one multi-get per table
//! and round. The fold then reads nothing else.
//!
//! The rules here foresee what the fold reads; they do not decide what it
//! computes. Should the fold read a view they missed, it says so
//! ([`BatchState::missing`]), the view is loaded and the fold runs again from
//! the same start, so a gap here costs time, never correctness.

use touchline_core::Timestamp;

use super::batch_state::{Missing, Snapshot};
use super::touch_rows::fetch_rows;
use super::unchanged::{Change, answer_may_change};
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
    /// A person whose touch rows the fold reads if it re-attributes a
    /// conversion they count in (decided once every view is loaded).
    Feeder,
}

// Every want has a bit of a `u16`.
const _: () = assert!((Want::Feeder as u16) < 16);

impl Want {
    /// This want's bit in a set of wants.
    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// What a fold is about to read.
#[derive(Debug, Default)]
pub(super) struct Wants {
    items: Vec<(Want, String)>,
    /// Touch events per person id named, to foresee a history reaching its limit.
    touches: HashMap<String, u64>,
    /// The earliest touch the events record per person id.
    earliest_touch: HashMap<String, Timestamp>,
    /// What events other than touches name and may change the conversions
    /// of: their conversions are foreseen re-attributed.
    changed: Changed,
}

/// Subjects named by events that change more than touches, by table.
#[derive(Debug, Default)]
struct Changed {
    persons: HashSet<String>,
    opportunities: HashSet<String>,
    accounts: HashSet<String>,
}

impl Changed {
    fn add(set: &mut HashSet<String>, key: &str) {
        if !key.is_empty() {
            set.insert(key.to_owned());
        }
    }
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

    /// A person whose conversions are re-attributed.
    pub(super) fn subject(&mut self, person_id: &str) {
        Changed::add(&mut self.changed.persons, person_id);
        self.want(Want::Subject, person_id);
    }

    /// A deal whose conversions are re-attributed.
    pub(super) fn opportunity(&mut self, opportunity_id: &str) {
        Changed::add(&mut self.changed.opportunities, opportunity_id);
        self.want(Want::Opportunity, opportunity_id);
    }

    fn event(&mut self, envelope: &Envelope) {
        self.changes(envelope);
        match &envelope.event {
            Event::CampaignUpserted(e) => self.want(Want::Campaign, &e.campaign_id),
            Event::CampaignCostRecorded(e) => self.want(Want::Campaign, &e.campaign_id),
            Event::LeadCreated(e) => {
                // A lead's conversions draw on its touches.
                self.want(Want::Rows, &e.person_id);
                self.want(Want::Subject, &e.person_id);
                self.want(Want::Account, &e.account_id);
                if let Some(source) = &e.source {
                    self.want(Want::Campaign, &source.campaign_id);
                }
            }
            Event::LeadUpdated(e) => {
                if e.status == Some(touchline_core::LeadStatus::Qualified) {
                    self.want(Want::Rows, &e.person_id);
                }
                self.want(Want::Subject, &e.person_id);
            }
            Event::LeadRouted(e) => self.want(Want::Subject, &e.person_id),
            Event::FollowUpLogged(e) => self.want(Want::Subject, &e.person_id),
            Event::LeadConverted(e) => {
                self.want(Want::Rows, &e.person_id);
                self.want(Want::Subject, &e.person_id);
                self.want(Want::Account, &e.account_id);
                self.want(Want::Opportunity, &e.opportunity_id);
            }
            Event::TouchRecorded(e) => {
                *self.touches.entry_ref(e.person_id.as_str()).or_default() += 1;
                let earliest = self
                    .earliest_touch
                    .entry_ref(e.person_id.as_str())
                    .or_insert(envelope.occurred_at);
                *earliest = (*earliest).min(envelope.occurred_at);
                self.want(Want::Subject, &e.person_id);
                self.want(Want::Campaign, &e.campaign_id);
            }
            Event::OpportunityCreated(e) => {
                self.want(Want::Opportunity, &e.opportunity_id);
                self.want(Want::Account, &e.account_id);
                self.want(Want::Rows, &e.primary_contact_id);
                self.want(Want::Subject, &e.primary_contact_id);
            }
            Event::OpportunityUpdated(e) => self.want(Want::Opportunity, &e.opportunity_id),
            Event::OpportunityClosed(e) => self.want(Want::Opportunity, &e.opportunity_id),
            Event::OpportunityContactRoleAdded(e) => {
                self.want(Want::Rows, &e.person_id);
                self.want(Want::Subject, &e.person_id);
                self.want(Want::Opportunity, &e.opportunity_id);
            }
            Event::PersonsMerged(e) => {
                self.want(Want::Merging, &e.surviving_person_id);
                self.want(Want::Merging, &e.merged_person_id);
            }
            Event::AccountUpserted(e) => self.want(Want::Account, &e.account_id),
            Event::TransactionRecorded(e) => {
                self.want(Want::Account, &e.account_id);
                self.want(Want::Opportunity, &e.opportunity_id);
            }
        }
    }

    /// Records what an event other than a touch names whose conversions it
    /// marks (see `BatchState::project`); the rest only leads to views.
    fn changes(&mut self, envelope: &Envelope) {
        let c = &mut self.changed;
        match &envelope.event {
            Event::LeadCreated(e) => {
                Changed::add(&mut c.persons, &e.person_id);
                Changed::add(&mut c.accounts, &e.account_id);
            }
            Event::LeadUpdated(e) => {
                if e.status == Some(touchline_core::LeadStatus::Qualified) {
                    Changed::add(&mut c.persons, &e.person_id);
                }
            }
            Event::LeadConverted(e) => {
                Changed::add(&mut c.persons, &e.person_id);
                Changed::add(&mut c.accounts, &e.account_id);
                Changed::add(&mut c.opportunities, &e.opportunity_id);
            }
            Event::OpportunityCreated(e) => {
                Changed::add(&mut c.persons, &e.primary_contact_id);
                Changed::add(&mut c.accounts, &e.account_id);
                Changed::add(&mut c.opportunities, &e.opportunity_id);
            }
            Event::OpportunityUpdated(e) => Changed::add(&mut c.opportunities, &e.opportunity_id),
            Event::OpportunityClosed(e) => Changed::add(&mut c.opportunities, &e.opportunity_id),
            Event::OpportunityContactRoleAdded(e) => {
                Changed::add(&mut c.persons, &e.person_id);
                Changed::add(&mut c.opportunities, &e.opportunity_id);
            }
            Event::PersonsMerged(e) => {
                Changed::add(&mut c.persons, &e.surviving_person_id);
                Changed::add(&mut c.persons, &e.merged_person_id);
            }
            Event::CampaignUpserted(_)
            | Event::CampaignCostRecorded(_)
            | Event::LeadRouted(_)
            | Event::FollowUpLogged(_)
            | Event::TouchRecorded(_)
            | Event::AccountUpserted(_)
            | Event::TransactionRecorded(_) => {}
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

/// Loads everything `wants` leads to, round by round, into `snapshot`; then
/// the touch rows the fold will read, in one pass (rows lead to no view).
pub(super) fn load(
    source: &mut Source<'_>,
    wants: &Wants,
    account_touches: bool,
    models: &[Model],
    snapshot: &mut Snapshot,
) -> Result<(), EngineError> {
    // The wants followed per key, as bits: looked up by `&str`, so a key is
    // copied once, when first followed.
    let mut followed: HashMap<String, u16> = HashMap::new();
    let mut pending: Vec<(Want, String)> = wants.items.clone();
    // Merging people's rows move; `Rows` are read; feeders' maybe.
    let mut rows: Vec<String> = Vec::new();
    let mut feeders: Vec<String> = Vec::new();
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
            &keys(&[
                Want::Subject,
                Want::Merging,
                Want::Contact,
                Want::Rows,
                Want::Feeder,
            ]),
        )?;
        rows.extend(
            keys(&[Want::Merging, Want::Rows])
                .into_iter()
                .map(str::to_owned),
        );
        feeders.extend(
            keys(&[Want::Contact, Want::Feeder])
                .into_iter()
                .map(str::to_owned),
        );
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
        let was_followed = |followed: &HashMap<String, u16>, want: Want, key: &str| {
            followed.get(key).is_some_and(|bits| bits & want.bit() != 0)
        };
        for (want, key) in std::mem::take(&mut pending) {
            if was_followed(&followed, want, &key) {
                continue;
            }
            follow(want, &key, snapshot, account_touches, wants, &mut next);
            *followed.entry(key).or_default() |= want.bit();
        }
        pending = next
            .items
            .into_iter()
            .filter(|(want, key)| !was_followed(&followed, *want, key))
            .collect();
    }
    let foresight = Foresight::new(snapshot, wants, account_touches, models);
    let read: HashSet<&str> = rows.iter().map(String::as_str).collect();
    let feeding: Vec<&str> = feeders
        .iter()
        .map(String::as_str)
        .filter(|key| !read.contains(key) && foresight.rows_read(key))
        .collect();
    let keys: Vec<&str> = rows.iter().map(String::as_str).chain(feeding).collect();
    fetch_rows(
        source.store,
        &mut source.ahead.touches,
        &snapshot.persons,
        &mut snapshot.touches,
        &keys,
    )?;
    Ok(())
}

/// What the loader foresees of the fold's marks, to read the touch rows of a
/// person only when a conversion they count in is re-attributed. A guess
/// that falls short costs a second fold (the fold reports the rows it
/// needed), never a wrong answer.
struct Foresight<'a> {
    snapshot: &'a Snapshot,
    account_touches: bool,
    models: &'a [Model],
    /// What the batch changes per person (survivors of merges).
    persons: HashMap<String, Change>,
    opportunities: HashSet<String>,
    accounts: &'a HashSet<String>,
}

impl<'a> Foresight<'a> {
    fn new(
        snapshot: &'a Snapshot,
        wants: &'a Wants,
        account_touches: bool,
        models: &'a [Model],
    ) -> Self {
        let mut persons: HashMap<String, Change> = HashMap::new();
        let mut note = |person: String, change: Change| {
            persons
                .entry(person)
                .and_modify(|was| *was = was.and(change))
                .or_insert(change);
        };
        for person in &wants.changed.persons {
            note(person.clone(), Change::Inputs);
            note(survivor(snapshot, person), Change::Inputs);
        }
        for (person, at) in &wants.earliest_touch {
            let id = survivor(snapshot, person);
            // A history past its limit sets a touch aside, of a time the
            // loader does not know.
            let at_limit = snapshot
                .persons
                .get(&id)
                .and_then(Option::as_ref)
                .is_some_and(|view| at_limit(view, wants.touches.get(person).copied()));
            note(
                id,
                if at_limit {
                    Change::Inputs
                } else {
                    Change::TouchesFrom(*at)
                },
            );
        }
        Foresight {
            snapshot,
            account_touches,
            models,
            persons,
            opportunities: wants.changed.opportunities.clone(),
            accounts: &wants.changed.accounts,
        }
    }

    /// Whether the fold will read the rows of `person_id`: whether a
    /// conversion they count in is foreseen re-attributed.
    fn rows_read(&self, person_id: &str) -> bool {
        let Some(Some(person)) = self.snapshot.persons.get(person_id) else {
            // No view: no rows to read, and reading none is free.
            return true;
        };
        let own = self.persons.get(person_id).copied();
        let mut conversions: Vec<(String, Option<Change>)> = Vec::new();
        if person.lead_created_at.is_some() {
            conversions.push((ConversionKind::LeadCreated.conversion_id(person_id), own));
        }
        if person.qualified_at.is_some() {
            conversions.push((ConversionKind::LeadQualified.conversion_id(person_id), own));
        }
        let mut opportunities: Vec<&String> = person.opportunity_ids.iter().collect();
        if self.account_touches {
            for account in &person.accounts {
                if let Some(Some(account)) = self.snapshot.accounts.get(account) {
                    opportunities.extend(&account.opportunity_ids);
                }
            }
        }
        for opportunity in opportunities {
            let change = self.opportunity_change(opportunity);
            for kind in [
                ConversionKind::OpportunityCreated,
                ConversionKind::OpportunityWon,
            ] {
                conversions.push((kind.conversion_id(opportunity), change));
            }
        }
        conversions.iter().any(|(id, change)| {
            change.is_some_and(|change| {
                let stored = self.snapshot.conversions.get(id).and_then(Option::as_ref);
                answer_may_change(stored, change, self.models)
            })
        })
    }

    /// What the batch changes about a deal's conversions: its own events, its
    /// account's (in account mode), and those of the people it draws on.
    fn opportunity_change(&self, opportunity_id: &str) -> Option<Change> {
        if self.opportunities.contains(opportunity_id) {
            return Some(Change::Inputs);
        }
        let Some(Some(opportunity)) = self.snapshot.opportunities.get(opportunity_id) else {
            return Some(Change::Inputs);
        };
        let mut people: Vec<&String> = opportunity.contact_ids.iter().collect();
        if self.account_touches {
            if self.accounts.contains(&opportunity.account_id) {
                return Some(Change::Inputs);
            }
            match self.snapshot.accounts.get(&opportunity.account_id) {
                Some(Some(account)) => people.extend(&account.contact_ids),
                Some(None) => {}
                None => return Some(Change::Inputs),
            }
        }
        people
            .into_iter()
            .filter_map(|p| self.persons.get(&survivor(self.snapshot, p)).copied())
            .reduce(Change::and)
    }
}

/// Where `person_id` was merged to, as far as the loaded views tell.
fn survivor(snapshot: &Snapshot, person_id: &str) -> String {
    let mut id = person_id;
    for _ in 0..snapshot.persons.len() {
        match snapshot
            .persons
            .get(id)
            .and_then(Option::as_ref)
            .and_then(|p| p.merged_into.as_deref())
        {
            Some(next) => id = next,
            None => break,
        }
    }
    id.to_owned()
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
            if at_limit(person, wants.touches.get(key).copied()) {
                next.want(Want::Rows, key);
            } else if converts(person, account_touches) {
                next.want(Want::Feeder, key);
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
        Want::Listed | Want::Campaign | Want::Conversion | Want::Rows | Want::Feeder => {}
    }
}

/// Whether `person` counts in a conversion: then the fold reads its rows
/// if it re-attributes one.
fn converts(person: &PersonView, account_touches: bool) -> bool {
    person.lead_created_at.is_some()
        || person.qualified_at.is_some()
        || !person.opportunity_ids.is_empty()
        || (account_touches && !person.accounts.is_empty())
}

/// Whether `touches` more touches take the history of `person` past its
/// limit: then the fold reads its rows to set one aside.
fn at_limit(person: &PersonView, touches: Option<u64>) -> bool {
    person.touches_kept + touches.unwrap_or(0) > touchline_projection::MAX_TOUCH_HISTORY as u64
}
