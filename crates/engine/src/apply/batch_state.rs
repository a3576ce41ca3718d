//! The views one batch reads and changes, and the folds that change them.

use touchline_projection::TouchHistory;

use super::touch_rows::TouchRows;
use super::unchanged::{Change, touch_change};
use super::*;

/// The views one batch reads and changes. They are loaded before the fold
/// (see `load`), folded in memory, and written back once at the end: a person
/// touched by a thousand events in a batch is read and written once. The fold
/// reads nothing else, so it cannot fail.
pub(super) struct BatchState {
    pub(super) accounts: Views<AccountView>,
    pub(super) persons: Views<PersonView>,
    pub(super) opportunities: Views<OpportunityView>,
    pub(super) campaigns: Views<CampaignView>,
    pub(super) conversions: Views<ConversionView>,
    /// The people's touch rows, read or appended to.
    pub(super) touches: TouchRows,
    /// The conversions the fold marked, with what it changed about each
    /// (`unchanged` decides which of them to re-attribute).
    pub(super) dirty_conversions: HashMap<String, Change>,
    /// Marked conversions left as they were (see `unchanged`).
    pub(super) unchanged: u64,
    /// Opportunities draw on every contact of their account, not only their own.
    pub(super) account_touches: bool,
    /// New credit sets start above this version (raised by a rebuild, so that
    /// versions never go back for consumers of the compacted topic).
    pub(super) version_floor: u64,
    /// The highest version this fold gave a credit set.
    pub(super) max_version: u64,
}

/// The views of every table loaded for one fold; `None` marks a key known to
/// be absent.
#[derive(Default)]
pub(super) struct Snapshot {
    pub(super) accounts: HashMap<String, Option<AccountView>>,
    pub(super) persons: HashMap<String, Option<PersonView>>,
    pub(super) opportunities: HashMap<String, Option<OpportunityView>>,
    pub(super) campaigns: HashMap<String, Option<CampaignView>>,
    pub(super) conversions: HashMap<String, Option<ConversionView>>,
    /// Touch histories by person: read by the loader, or (in an overlay) what
    /// the batch ahead read or appended.
    pub(super) touches: HashMap<String, TouchHistory>,
}

/// The keys a fold read that were not loaded, per table: the loader fetches
/// them and the fold runs again.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Missing {
    pub(super) accounts: Vec<String>,
    pub(super) persons: Vec<String>,
    pub(super) opportunities: Vec<String>,
    pub(super) campaigns: Vec<String>,
    pub(super) conversions: Vec<String>,
    /// People whose touch rows were needed unread.
    pub(super) touch_rows: Vec<String>,
}

impl Missing {
    pub(super) fn is_empty(&self) -> bool {
        self.touch_rows.is_empty()
            && self.accounts.is_empty()
            && self.persons.is_empty()
            && self.opportunities.is_empty()
            && self.campaigns.is_empty()
            && self.conversions.is_empty()
    }
}

/// A table's views for one fold. Changed keys are tracked so only they are
/// written.
pub(super) struct Views<T> {
    pub(super) table: Table,
    pub(super) loaded: HashMap<String, Option<T>>,
    pub(super) changed: HashSet<String>,
    /// Keys read that were not loaded. The fold treats them as absent and goes
    /// on; its result is then thrown away and the fold runs again with them.
    missing: HashSet<String>,
    /// Every key not loaded is known to be absent (a fold over an empty world).
    complete: bool,
}

impl<T: Serialize> Views<T> {
    pub(super) fn new(table: Table, loaded: HashMap<String, Option<T>>, complete: bool) -> Self {
        Views {
            table,
            loaded,
            changed: HashSet::new(),
            missing: HashSet::new(),
            complete,
        }
    }

    pub(super) fn get(&mut self, key: &str) -> Option<&T> {
        if !self.loaded.contains_key(key) {
            if !self.complete {
                self.missing.insert(key.to_owned());
            }
            self.loaded.insert(key.to_owned(), None);
        }
        self.loaded.get(key).and_then(Option::as_ref)
    }

    /// A view already read in this fold (through [`Views::get`]).
    pub(super) fn peek(&self, key: &str) -> Option<&T> {
        self.loaded.get(key).and_then(Option::as_ref)
    }

    pub(super) fn get_mut_or(&mut self, key: &str, new: impl FnOnce() -> T) -> &mut T {
        self.get(key);
        self.changed.insert(key.to_owned());
        let slot = self.loaded.entry_ref(key).or_insert(None);
        slot.get_or_insert_with(new)
    }

    /// The view if it exists, marked as changed.
    pub(super) fn get_existing_mut(&mut self, key: &str) -> Option<&mut T> {
        self.get(key)?;
        self.changed.insert(key.to_owned());
        self.loaded.get_mut(key).and_then(Option::as_mut)
    }

    fn missing(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.missing.iter().cloned().collect();
        keys.sort_unstable();
        keys
    }

    pub(super) fn write(&self, commit: &mut Commit) -> Result<(), EngineError> {
        for key in &self.changed {
            self.write_one(key, commit)?;
        }
        Ok(())
    }

    fn write_one(&self, key: &str, commit: &mut Commit) -> Result<(), EngineError> {
        match self.loaded.get(key).and_then(Option::as_ref) {
            Some(view) => commit.put_view(self.table, key, view)?,
            None => commit.delete(self.table, key),
        }
        Ok(())
    }

    /// Like [`Views::write`], handing `commit` to `full` whenever it holds
    /// `page` operations.
    fn write_paged(
        &self,
        commit: &mut Commit,
        page: usize,
        full: &mut impl FnMut(&mut Commit) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        for key in &self.changed {
            self.write_one(key, commit)?;
            if commit.len() >= page {
                full(commit)?;
            }
        }
        Ok(())
    }
}

impl<T> Views<T> {
    /// Takes in the views of another fold; where both hold a view of one
    /// key, `both` combines them.
    pub(super) fn absorb(&mut self, other: Views<T>, mut both: impl FnMut(&mut T, &T)) {
        for (key, theirs) in other.loaded {
            match self.loaded.get_mut(&key) {
                Some(Some(mine)) => {
                    if let Some(theirs) = &theirs {
                        both(mine, theirs);
                    }
                }
                Some(slot) => *slot = theirs,
                None => {
                    self.loaded.insert(key, theirs);
                }
            }
        }
        self.changed.extend(other.changed);
    }
}

impl BatchState {
    /// Takes the campaigns out, leaving none: a world folded apart from
    /// others over its own co-location groups writes everything else itself,
    /// while campaigns, which every world folds, add up first.
    pub(super) fn take_campaigns(&mut self) -> Views<CampaignView> {
        let empty = Views::new(Table::Campaigns, HashMap::new(), true);
        std::mem::replace(&mut self.campaigns, empty)
    }

    /// A fold over loaded views; any other key read is reported by
    /// [`BatchState::missing`].
    pub(super) fn new(snapshot: Snapshot, account_touches: bool) -> Self {
        Self::with(snapshot, account_touches, false)
    }

    /// A fold over a world that holds nothing but `snapshot` (in memory, or
    /// a test): a key not in it is absent, never missing.
    pub(super) fn complete(snapshot: Snapshot, account_touches: bool) -> Self {
        Self::with(snapshot, account_touches, true)
    }

    fn with(snapshot: Snapshot, account_touches: bool, complete: bool) -> Self {
        let absent = snapshot
            .persons
            .iter()
            .filter(|(_, view)| view.is_none())
            .map(|(key, _)| key.as_str());
        let touches = TouchRows::new(snapshot.touches, absent, complete);
        BatchState {
            touches,
            accounts: Views::new(Table::Accounts, snapshot.accounts, complete),
            persons: Views::new(Table::Persons, snapshot.persons, complete),
            opportunities: Views::new(Table::Opportunities, snapshot.opportunities, complete),
            campaigns: Views::new(Table::Campaigns, snapshot.campaigns, complete),
            conversions: Views::new(Table::Conversions, snapshot.conversions, complete),
            dirty_conversions: HashMap::new(),
            unchanged: 0,
            account_touches,
            version_floor: 0,
            max_version: 0,
        }
    }

    /// The keys this fold read without them being loaded; when there are any,
    /// its result is not to be used.
    pub(super) fn missing(&self) -> Missing {
        Missing {
            accounts: self.accounts.missing(),
            persons: self.persons.missing(),
            opportunities: self.opportunities.missing(),
            campaigns: self.campaigns.missing(),
            conversions: self.conversions.missing(),
            touch_rows: self.touches.missing(),
        }
    }

    /// What the next batch must read through while this one is being written.
    pub(super) fn into_overlay(self, event_ids: HashSet<String>) -> Overlay {
        Overlay {
            views: Snapshot {
                accounts: self.accounts.loaded,
                persons: self.persons.loaded,
                opportunities: self.opportunities.loaded,
                campaigns: self.campaigns.loaded,
                conversions: self.conversions.loaded,
                touches: self.touches.histories,
            },
            event_ids,
        }
    }

    /// The id events about `person_id` now go to: the survivor of any merges,
    /// however long the chain. Every record passed on the way is pointed straight
    /// at the survivor (path compression), so the next lookup takes one hop.
    ///
    /// A merge links one survivor to another (both resolved first), so pointers
    /// form a forest and the walk ends; the visited set only guards against a
    /// store edited by hand.
    pub(super) fn resolve(&mut self, person_id: &str) -> String {
        let mut id = person_id.to_owned();
        let mut path: Vec<String> = Vec::new();
        let mut visited: HashSet<String> = HashSet::new();
        while let Some(next) = self.persons.get(&id).and_then(|p| p.merged_into.clone()) {
            if !visited.insert(id.clone()) {
                tracing::error!(person_id, "merge pointers form a cycle; stopping at {id}");
                break;
            }
            path.push(std::mem::replace(&mut id, next));
        }
        // The last record on the path points at the survivor already.
        path.pop();
        for hop in path {
            if let Some(view) = self.persons.get_existing_mut(&hop) {
                view.merged_into = Some(id.clone());
            }
        }
        id
    }

    pub(super) fn person_mut(&mut self, person_id: &str) -> &mut PersonView {
        self.persons
            .get_mut_or(person_id, || PersonView::new(person_id))
    }

    pub(super) fn opportunity_mut(&mut self, id: &str) -> &mut OpportunityView {
        self.opportunities
            .get_mut_or(id, || OpportunityView::new(id))
    }

    pub(super) fn account_mut(&mut self, id: &str) -> &mut AccountView {
        self.accounts.get_mut_or(id, || AccountView::new(id))
    }

    /// Records that `person` is a contact of `account`, on both sides.
    pub(super) fn join_account(&mut self, account: &str, person: &str) {
        if account.is_empty() {
            return;
        }
        self.account_mut(account).add_contact(person);
        self.person_mut(person).add_account(account);
    }

    pub(super) fn campaign_mut(&mut self, id: &str) -> &mut CampaignView {
        self.campaigns.get_mut_or(id, || CampaignView::new(id))
    }

    pub(super) fn mark(&mut self, kind: ConversionKind, subject_id: &str) {
        self.mark_as(kind, subject_id, Change::Inputs);
    }

    fn mark_as(&mut self, kind: ConversionKind, subject_id: &str, change: Change) {
        self.dirty_conversions
            .entry(kind.conversion_id(subject_id))
            .and_modify(|was| *was = was.and(change))
            .or_insert(change);
    }

    /// Marks every conversion whose touches include this person's.
    pub(super) fn mark_person_conversions(&mut self, person_id: &str) {
        self.mark_person_conversions_as(person_id, Change::Inputs);
    }

    /// [`BatchState::mark_person_conversions`], for `change`.
    fn mark_person_conversions_as(&mut self, person_id: &str, change: Change) {
        let Some(person) = self.persons.get(person_id) else {
            return;
        };
        let lead = person.lead_created_at.is_some();
        let qualified = person.qualified_at.is_some();
        let mut opportunities = person.opportunity_ids.clone();
        let accounts = person.accounts.clone();
        if self.account_touches {
            for account_id in &accounts {
                if let Some(account) = self.accounts.get(account_id) {
                    opportunities.extend(account.opportunity_ids.iter().cloned());
                }
            }
        }
        if lead {
            self.mark_as(ConversionKind::LeadCreated, person_id, change);
        }
        if qualified {
            self.mark_as(ConversionKind::LeadQualified, person_id, change);
        }
        for opportunity in opportunities {
            self.mark_opportunity_as(&opportunity, change);
        }
    }

    /// Marks the opportunity's conversions: created, and won if it was.
    pub(super) fn mark_opportunity(&mut self, opportunity_id: &str) {
        self.mark_opportunity_as(opportunity_id, Change::Inputs);
    }

    fn mark_opportunity_as(&mut self, opportunity_id: &str, change: Change) {
        self.mark_as(ConversionKind::OpportunityCreated, opportunity_id, change);
        let won = self
            .opportunities
            .get(opportunity_id)
            .is_some_and(|o| o.closed.as_ref().is_some_and(|c| c.won));
        let has_won_conversion = self
            .conversions
            .get(&ConversionKind::OpportunityWon.conversion_id(opportunity_id))
            .is_some();
        if won || has_won_conversion {
            self.mark_as(ConversionKind::OpportunityWon, opportunity_id, change);
        }
    }

    /// Folds one event into every view it concerns and marks the conversions it
    /// may change.
    pub(super) fn project(&mut self, seq: u64, envelope: &Envelope) {
        match &envelope.event {
            Event::CampaignUpserted(e) => self.campaign_mut(&e.campaign_id).apply(seq, envelope),
            Event::CampaignCostRecorded(e) => {
                self.campaign_mut(&e.campaign_id).apply(seq, envelope)
            }
            Event::LeadCreated(e) => {
                let person = self.resolve(&e.person_id);
                let view = self.person_mut(&person);
                let before = sourced_by(view);
                view.apply(seq, envelope);
                let after = sourced_by(view);
                self.move_sourced(before, after);
                if !e.account_id.is_empty() {
                    self.join_account(&e.account_id, &person);
                }
                // The creation is a milestone of every conversion the person is
                // behind, whatever arrived before it (a qualification, a deal).
                self.mark_person_conversions(&person);
            }
            Event::LeadUpdated(e) => {
                let person = self.resolve(&e.person_id);
                self.person_mut(&person).apply(seq, envelope);
                if e.status == Some(touchline_core::LeadStatus::Qualified) {
                    self.mark(ConversionKind::LeadQualified, &person);
                }
            }
            Event::LeadConverted(e) => {
                let person = self.resolve(&e.person_id);
                self.person_mut(&person).apply(seq, envelope);
                self.join_account(&e.account_id, &person);
                self.account_mut(&e.account_id)
                    .add_opportunity(&e.opportunity_id);
                if !e.opportunity_id.is_empty() {
                    let opportunity = self.opportunity_mut(&e.opportunity_id);
                    opportunity.apply(seq, envelope);
                    opportunity.replace_contact(&e.person_id, &person);
                    self.mark_opportunity(&e.opportunity_id);
                }
                self.mark_person_conversions(&person);
            }
            Event::TouchRecorded(e) => {
                let person = self.resolve(&e.person_id);
                let view = self
                    .persons
                    .get_mut_or(&person, || PersonView::new(&person));
                let new_member = !view.in_campaign(&e.campaign_id, false);
                let new_responder =
                    e.status == TouchStatus::Responded && !view.in_campaign(&e.campaign_id, true);
                let history = self.touches.history_mut(&person);
                let set_aside = view.touches_set_aside;
                let unread = view.apply_with(seq, envelope, history).is_err();
                let change = touch_change(
                    envelope.occurred_at,
                    view.touches_set_aside > set_aside,
                    history,
                );
                if unread {
                    self.touches.missed(&person);
                }
                let campaign = self.campaign_mut(&e.campaign_id);
                campaign.apply(seq, envelope);
                campaign.members += u64::from(new_member);
                campaign.responders += u64::from(new_responder);
                self.mark_person_conversions_as(&person, change);
            }
            Event::LeadRouted(e) => {
                let person = self.resolve(&e.person_id);
                self.person_mut(&person).apply(seq, envelope);
            }
            Event::OpportunityCreated(e) => {
                self.opportunity_mut(&e.opportunity_id).apply(seq, envelope);
                self.account_mut(&e.account_id)
                    .add_opportunity(&e.opportunity_id);
                if !e.primary_contact_id.is_empty() {
                    let person = self.resolve(&e.primary_contact_id);
                    self.person_mut(&person).apply(seq, envelope);
                    self.opportunity_mut(&e.opportunity_id)
                        .replace_contact(&e.primary_contact_id, &person);
                    self.join_account(&e.account_id, &person);
                }
                self.mark_opportunity(&e.opportunity_id);
            }
            Event::OpportunityUpdated(e) => {
                self.opportunity_mut(&e.opportunity_id).apply(seq, envelope);
                // An amount changes the pipeline; a stage change may reopen a won deal.
                if e.amount.is_some() || e.stage.is_some() {
                    self.mark_opportunity(&e.opportunity_id);
                }
            }
            Event::OpportunityContactRoleAdded(e) => {
                let person = self.resolve(&e.person_id);
                self.person_mut(&person).apply(seq, envelope);
                let opportunity = self.opportunity_mut(&e.opportunity_id);
                opportunity.apply(seq, envelope);
                opportunity.replace_contact(&e.person_id, &person);
                self.mark_opportunity(&e.opportunity_id);
            }
            Event::OpportunityClosed(e) => {
                self.opportunity_mut(&e.opportunity_id).apply(seq, envelope);
                self.mark_opportunity(&e.opportunity_id);
            }
            Event::PersonsMerged(e) => self.merge(seq, &e.surviving_person_id, &e.merged_person_id),
            Event::AccountUpserted(e) => self.account_mut(&e.account_id).apply(seq, envelope),
            // In the log and its stream indexes; their views come with later read models.
            Event::FollowUpLogged(e) => {
                let person = self.resolve(&e.person_id);
                self.person_mut(&person).apply(seq, envelope);
            }
            Event::TransactionRecorded(e) => {
                self.account_mut(&e.account_id).apply(seq, envelope);
                if !e.opportunity_id.is_empty() {
                    self.opportunity_mut(&e.opportunity_id).apply(seq, envelope);
                }
            }
        }
    }

    pub(super) fn merge(&mut self, seq: u64, surviving: &str, merged: &str) {
        let surviving = self.resolve(surviving);
        let merged = self.resolve(merged);
        if surviving == merged {
            return;
        }
        let absorbed = self.person_mut(&merged).clone();
        // The merged record's rows move to the survivor.
        let moved = if absorbed.touches_kept == 0 {
            Vec::new()
        } else if self.touches.require(&merged) {
            self.touches
                .history_mut(&merged)
                .take_all()
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        // Campaigns both records belong to now count one member, not two.
        let survivor = self
            .persons
            .get_mut_or(&surviving, || PersonView::new(&surviving));
        let shared = survivor.shared_campaigns(&absorbed);
        let sourced_before = sourced_by(survivor);
        let history = self.touches.history_mut(&surviving);
        if survivor.absorb(seq, &absorbed, moved, history).is_err() {
            self.touches.missed(&surviving);
        }
        let sourced_after = sourced_by(survivor);
        // Two sourced leads are one now: the survivor's source counts, once.
        self.move_sourced(sourced_before, sourced_after);
        self.move_sourced(sourced_by(&absorbed), None);
        for (campaign, both_responded) in shared {
            let view = self.campaign_mut(&campaign);
            view.members = view.members.saturating_sub(1);
            view.responders = view.responders.saturating_sub(u64::from(both_responded));
        }
        self.person_mut(&merged).merged_away(seq, &surviving);
        for account in &absorbed.accounts {
            self.account_mut(account)
                .replace_contact(&merged, &surviving);
        }
        for opportunity in &absorbed.opportunity_ids {
            self.opportunity_mut(opportunity)
                .replace_contact(&merged, &surviving);
        }
        // The merged record's lead conversions fold into the survivor's.
        self.mark(ConversionKind::LeadCreated, &merged);
        self.mark(ConversionKind::LeadQualified, &merged);
        self.mark_person_conversions(&surviving);
    }

    /// Moves one sourced lead from one campaign's count to another's.
    pub(super) fn move_sourced(&mut self, from: Option<String>, to: Option<String>) {
        if from == to {
            return;
        }
        if let Some(campaign) = from {
            let view = self.campaign_mut(&campaign);
            view.leads_sourced = view.leads_sourced.saturating_sub(1);
        }
        if let Some(campaign) = to {
            self.campaign_mut(&campaign).leads_sourced += 1;
        }
    }

    pub(super) fn write_views(&self, commit: &mut Commit) -> Result<(), EngineError> {
        self.accounts.write(commit)?;
        self.persons.write(commit)?;
        self.opportunities.write(commit)?;
        self.campaigns.write(commit)?;
        self.conversions.write(commit)?;
        self.touches.write(commit)?;
        Ok(())
    }

    /// Like [`BatchState::write_views`] for a state too large for one batch (a
    /// rebuild's world in memory): `full` is handed `commit` whenever it holds
    /// `page` operations, and writes and empties it.
    pub(super) fn write_views_paged(
        &self,
        commit: &mut Commit,
        page: usize,
        mut full: impl FnMut(&mut Commit) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        self.accounts.write_paged(commit, page, &mut full)?;
        self.persons.write_paged(commit, page, &mut full)?;
        self.opportunities.write_paged(commit, page, &mut full)?;
        self.campaigns.write_paged(commit, page, &mut full)?;
        self.conversions.write_paged(commit, page, &mut full)?;
        self.touches.write_paged(commit, page, &mut full)?;
        Ok(())
    }
}

/// The campaign a person counts as a sourced lead for: its own source, while it
/// is a lead that was not merged away.
pub(super) fn sourced_by(person: &PersonView) -> Option<String> {
    if person.lead_created_at.is_none() || person.merged_into.is_some() {
        return None;
    }
    person
        .source
        .as_ref()
        .filter(|s| !s.campaign_id.is_empty())
        .map(|s| s.campaign_id.clone())
}
