use crate::touch_history::{RowsNotRead, TouchHistory};
use serde::{Deserialize, Serialize};
use touchline_attribution::TouchPoint;
use touchline_core::{
    ContactMethod, Envelope, Event, LeadSource, LeadStatus, OwnerKind, Qualification, Timestamp,
    TouchProvenance, TouchStatus, TouchType,
};

use crate::stamp::{Stamp, StampRef, earlier, insert_sorted, newer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonKind {
    /// Seen only through touches so far (e.g. a web visitor identified by cookie).
    Prospect,
    Lead,
    Contact,
}

/// One touch in a person's history (R2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouchEntry {
    /// Position of the event in the log.
    pub seq: u64,
    pub event_id: String,
    pub campaign_id: String,
    pub touch_type: TouchType,
    pub status: TouchStatus,
    pub asset: String,
    /// The product or topic it was about.
    pub topic: String,
    /// The date of participation.
    pub occurred_at: Timestamp,
    /// When the source system recorded it.
    pub recorded_at: Timestamp,
    /// Recorded as it happened, or synthesized from other data (and from what).
    pub provenance: TouchProvenance,
}

impl TouchEntry {
    pub fn to_touch_point(&self) -> TouchPoint {
        TouchPoint {
            event_id: self.event_id.clone(),
            occurred_at: self.occurred_at,
            campaign_id: self.campaign_id.clone(),
            touch_type: self.touch_type,
            status: self.status,
            origin: self.provenance.origin,
        }
    }
}

/// One follow-up by a rep (R11, R12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpEntry {
    pub event_id: String,
    pub at: Timestamp,
    pub method: ContactMethod,
    pub outcome: String,
    pub next_due_at: Option<Timestamp>,
    pub owner_id: String,
}

/// One assignment of the lead to an owner (R20).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingEntry {
    pub event_id: String,
    pub at: Timestamp,
    pub owner_id: String,
    pub owner_kind: OwnerKind,
    /// The rule that chose the owner; empty when routed by hand.
    pub rule: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversionInfo {
    pub converted_at: Timestamp,
    pub account_id: String,
    pub opportunity_id: String,
}

/// A lead or contact: who they are, where they came from, and every touch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonView {
    pub person_id: String,
    pub kind: PersonKind,
    /// Normalised: trimmed, lower-case (R10).
    pub email: String,
    /// Normalised: `+` and digits (R10).
    pub phone: String,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub account_id: String,
    pub owner_id: String,
    /// Whether the owner is in the company or an external partner (R20).
    pub owner_kind: OwnerKind,
    /// Every routing of the lead, in time order (R20).
    pub routing: Vec<RoutingEntry>,
    /// When and by which event the owner was last set: an older owner change
    /// arriving later does not undo a newer one.
    pub owner_set: Option<Stamp>,
    /// When the lead was created; `None` while only touches are known.
    pub lead_created_at: Option<Timestamp>,
    /// When the lead's creation was recorded: long after `lead_created_at` means
    /// it came in as history (a backfill), not as a new lead.
    pub lead_recorded_at: Option<Timestamp>,
    /// The source at first contact (R1): from the lead's own record, else from the
    /// earliest touch.
    pub source: Option<LeadSource>,
    /// The lead creation `source` is from: the earliest that has one.
    pub source_set: Option<Stamp>,
    /// New once created; then the latest `LeadUpdated` status (by time, then
    /// event id), in whatever order they arrive.
    pub status: Option<LeadStatus>,
    pub status_set: Option<Stamp>,
    /// When the lead was first marked qualified (the lead-qualified conversion).
    pub qualified_at: Option<Timestamp>,
    pub qualification: Qualification,
    /// The events the qualification's answers are from: each the latest.
    pub qualification_set: QualificationSet,
    /// The lead creations the identity fields are from: each the earliest
    /// that names one.
    pub identity_set: IdentitySet,
    /// How many touches are kept, each a row of its own in the store (in
    /// attribution order: `occurred_at`, then `event_id`; R2, R7), read apart
    /// from this view ([`TouchHistory`]); at most [`MAX_TOUCH_HISTORY`]: the
    /// earliest and the latest.
    pub touches_kept: u64,
    /// The first kept touch in attribution order (it is never set aside).
    pub earliest_touch: Option<TouchEntry>,
    /// The last kept touch in attribution order (it is never set aside).
    pub latest_touch: Option<TouchEntry>,
    /// Touches beyond [`MAX_TOUCH_HISTORY`]: in the log and counted in their
    /// campaigns, but not kept and not attributed.
    pub touches_set_aside: u64,
    /// Every campaign this person has a touch in (set-aside touches included),
    /// and whether they responded in it: membership without a scan.
    pub campaigns: std::collections::BTreeMap<String, bool>,
    /// The latest conversion (by time, then event id).
    pub converted: Option<ConversionInfo>,
    pub converted_set: Option<Stamp>,
    /// The latest conversion naming an account, which `account_id` is then.
    pub account_set: Option<Stamp>,
    /// Every follow-up, in time order: how contact was made and what came of it
    /// (R11, R12).
    pub follow_ups: Vec<FollowUpEntry>,
    /// Opportunities this person is a contact of (primary or by role).
    pub opportunity_ids: Vec<String>,
    /// Every account this person is a contact of (B2B account-wide attribution).
    pub accounts: Vec<String>,
    /// Set when this record was merged into another; the survivor holds the history.
    pub merged_into: Option<String>,
    /// Records merged into this one.
    pub merged_from: Vec<String>,
    /// Log position of the last event applied.
    pub last_seq: u64,
}

impl PersonView {
    pub fn new(person_id: &str) -> Self {
        PersonView {
            person_id: person_id.to_owned(),
            kind: PersonKind::Prospect,
            email: String::new(),
            phone: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            company: String::new(),
            account_id: String::new(),
            owner_id: String::new(),
            owner_kind: OwnerKind::Internal,
            routing: Vec::new(),
            owner_set: None,
            lead_created_at: None,
            lead_recorded_at: None,
            source: None,
            source_set: None,
            status: None,
            status_set: None,
            qualified_at: None,
            qualification: Qualification::default(),
            qualification_set: QualificationSet::default(),
            identity_set: IdentitySet::default(),
            touches_kept: 0,
            earliest_touch: None,
            latest_touch: None,
            touches_set_aside: 0,
            campaigns: std::collections::BTreeMap::new(),
            converted: None,
            converted_set: None,
            account_set: None,
            follow_ups: Vec::new(),
            opportunity_ids: Vec::new(),
            accounts: Vec::new(),
            merged_into: None,
            merged_from: Vec::new(),
            last_seq: 0,
        }
    }

    /// Whether the lead was recorded so long after its creation (more than
    /// [`HISTORY_AFTER_MS`]) that it is history being filled in, not a new lead
    /// to route and follow up.
    pub fn arrived_as_history(&self) -> bool {
        match (self.lead_created_at, self.lead_recorded_at) {
            (Some(created), Some(recorded)) => {
                recorded.as_millis() - created.as_millis() > HISTORY_AFTER_MS
            }
            _ => false,
        }
    }

    /// Sets the owner if this change is later than the last one applied
    /// (time, then event id), so owner changes from any source and in any
    /// arrival order end in the same owner.
    fn set_owner<'a>(&mut self, from: impl Into<StampRef<'a>>, owner: &str, kind: OwnerKind) {
        if newer(&mut self.owner_set, from) {
            owner.clone_into(&mut self.owner_id);
            self.owner_kind = kind;
        }
    }

    /// First and last name, as one would address the person.
    /// First and last name, one space between, trimmed at both ends.
    pub fn display_name(&self) -> String {
        let joined = [self.first_name.as_str(), self.last_name.as_str()].join(" ");
        let trimmed = joined.trim();
        if trimmed.len() == joined.len() {
            joined
        } else {
            trimmed.to_owned()
        }
    }

    /// The first touch kept, in attribution order.
    pub fn first_touch(&self) -> Option<&TouchEntry> {
        self.earliest_touch.as_ref()
    }

    /// The last touch kept, in attribution order.
    pub fn last_touch(&self) -> Option<&TouchEntry> {
        self.latest_touch.as_ref()
    }

    /// The source at first contact: the lead's own, else the earliest touch's campaign.
    pub fn source_at_first_contact(&self) -> Option<LeadSource> {
        self.source.clone().or_else(|| {
            self.first_touch().map(|t| LeadSource {
                campaign_id: t.campaign_id.clone(),
                ..LeadSource::default()
            })
        })
    }

    /// When the next follow-up is due: the latest follow-up's `next_due_at`.
    pub fn next_follow_up_due(&self) -> Option<Timestamp> {
        self.follow_ups.last().and_then(|f| f.next_due_at)
    }

    /// Speed to lead (R21): from lead creation to the first follow-up at or after it.
    pub fn speed_to_lead_ms(&self) -> Option<i64> {
        let created = self.lead_created_at?;
        self.follow_ups
            .iter()
            .find(|f| f.at >= created)
            .map(|f| f.at.as_millis() - created.as_millis())
    }

    fn insert_follow_up(&mut self, entry: FollowUpEntry) {
        let key = (entry.at, entry.event_id.clone());
        if let Err(at) = self
            .follow_ups
            .binary_search_by(|f| (f.at, f.event_id.clone()).cmp(&key))
        {
            self.follow_ups.insert(at, entry);
        }
    }

    /// Every touch this person has, kept or set aside.
    pub fn touch_count(&self) -> u64 {
        self.touches_kept + self.touches_set_aside
    }

    /// Whether this person has a touch in `campaign_id` (responded, if asked).
    pub fn in_campaign(&self, campaign_id: &str, responded: bool) -> bool {
        self.campaigns
            .get(campaign_id)
            .is_some_and(|r| *r || !responded)
    }

    /// Inserts a touch into the person's `history` (its rows) in attribution
    /// order; a repeated event id is ignored when the rows were read. Past
    /// [`MAX_TOUCH_HISTORY`] the history keeps the [`EARLIEST_TOUCHES_KEPT`]
    /// earliest touches and the latest ones, and sets aside those in between.
    ///
    /// Whatever the arrival order, the touches kept are the same: the earliest
    /// and latest of a set with one more member are among the earliest and
    /// latest kept before, plus the newcomer.
    ///
    /// Below the limit an unread history is only appended to (the log holds
    /// each event once, so the touch is new); at the limit the rows must be
    /// read, else [`RowsNotRead`] and nothing is to be kept of this fold.
    pub fn insert_touch(
        &mut self,
        entry: TouchEntry,
        history: &mut TouchHistory,
    ) -> Result<(), RowsNotRead> {
        self.insert_touch_within(entry, history, MAX_TOUCH_HISTORY, EARLIEST_TOUCHES_KEPT)
    }

    fn insert_touch_within(
        &mut self,
        entry: TouchEntry,
        history: &mut TouchHistory,
        limit: usize,
        earliest: usize,
    ) -> Result<(), RowsNotRead> {
        debug_assert!(0 < earliest && earliest < limit);
        if !history.is_read() && self.touches_kept as usize >= limit {
            return Err(RowsNotRead);
        }
        *self.campaigns.entry(entry.campaign_id.clone()).or_default() |=
            entry.status == TouchStatus::Responded;
        let key = (entry.occurred_at, entry.event_id.as_str());
        let earlier = self
            .earliest_touch
            .as_ref()
            .is_none_or(|t| key < (t.occurred_at, t.event_id.as_str()));
        let later = self
            .latest_touch
            .as_ref()
            .is_none_or(|t| key > (t.occurred_at, t.event_id.as_str()));
        let (earlier, later) = (earlier.then(|| entry.clone()), later.then(|| entry.clone()));
        if !history.insert(entry) {
            return Ok(());
        }
        self.touches_kept += 1;
        if self.touches_kept as usize > limit {
            // One too many: the first touch past the earliest kept is neither
            // among the earliest nor among the latest (nor the first or last).
            history.remove_at(earliest)?;
            self.touches_kept -= 1;
            self.touches_set_aside += 1;
        }
        if let Some(first) = earlier {
            self.earliest_touch = Some(first);
        }
        if let Some(last) = later {
            self.latest_touch = Some(last);
        }
        if let Some(kept) = history.len() {
            debug_assert_eq!(kept as u64, self.touches_kept);
        }
        Ok(())
    }

    /// The touch a touch event records, if it is one.
    pub fn touch_entry(seq: u64, envelope: &Envelope) -> Option<TouchEntry> {
        let Event::TouchRecorded(e) = &envelope.event else {
            return None;
        };
        Some(TouchEntry {
            seq,
            event_id: envelope.event_id.clone(),
            campaign_id: e.campaign_id.clone(),
            touch_type: e.touch_type,
            status: e.status,
            asset: e.asset.clone(),
            topic: e.topic.clone(),
            occurred_at: envelope.occurred_at,
            recorded_at: envelope.recorded_at,
            provenance: e.provenance(),
        })
    }

    /// Applies a touch event to this person and its `history`
    /// ([`PersonView::insert_touch`]); any other event as [`PersonView::apply`].
    pub fn apply_with(
        &mut self,
        seq: u64,
        envelope: &Envelope,
        history: &mut TouchHistory,
    ) -> Result<(), RowsNotRead> {
        match Self::touch_entry(seq, envelope) {
            Some(entry) => {
                self.insert_touch(entry, history)?;
                self.last_seq = self.last_seq.max(seq);
            }
            None => self.apply(seq, envelope),
        }
        Ok(())
    }

    pub fn add_account(&mut self, account_id: &str) {
        insert_sorted(&mut self.accounts, account_id);
    }

    pub fn add_opportunity(&mut self, opportunity_id: &str) {
        insert_sorted(&mut self.opportunity_ids, opportunity_id);
    }

    /// Applies one event that concerns this person. The caller routes: after a
    /// merge, events that name the merged id are applied to the survivor's view.
    /// Events that carry nothing for a person leave the view unchanged, and so
    /// does a touch, which needs the person's rows: [`PersonView::apply_with`].
    pub fn apply(&mut self, seq: u64, envelope: &Envelope) {
        match &envelope.event {
            Event::LeadCreated(e) => {
                if self.kind == PersonKind::Prospect {
                    self.kind = PersonKind::Lead;
                }
                // A repeated creation keeps the earliest date (backfills may replay it).
                if self
                    .lead_created_at
                    .is_none_or(|at| envelope.occurred_at < at)
                {
                    self.lead_created_at = Some(envelope.occurred_at);
                    self.lead_recorded_at = Some(envelope.recorded_at);
                }
                if e.source.is_some() && earlier(&mut self.source_set, envelope) {
                    self.source = e.source.clone();
                }
                let set = &mut self.identity_set;
                let email = touchline_core::normalize::email(&e.email);
                fill_earliest(&mut self.email, &mut set.email, &email, envelope);
                let phone = touchline_core::normalize::phone(&e.phone);
                fill_earliest(&mut self.phone, &mut set.phone, &phone, envelope);
                fill_earliest(
                    &mut self.first_name,
                    &mut set.first_name,
                    &e.first_name,
                    envelope,
                );
                fill_earliest(
                    &mut self.last_name,
                    &mut set.last_name,
                    &e.last_name,
                    envelope,
                );
                fill_earliest(&mut self.company, &mut set.company, &e.company, envelope);
                // A conversion's account holds over the creation's.
                if !e.account_id.is_empty()
                    && earlier(&mut set.account, envelope)
                    && self.account_set.is_none()
                {
                    e.account_id.clone_into(&mut self.account_id);
                }
                if !e.owner_id.is_empty() {
                    self.set_owner(envelope, &e.owner_id, OwnerKind::Internal);
                }
                if self.status.is_none() {
                    self.status = Some(LeadStatus::New);
                }
            }
            Event::LeadUpdated(e) => {
                if let Some(owner) = &e.owner_id {
                    self.set_owner(envelope, owner, OwnerKind::Internal);
                }
                if let Some(status) = e.status {
                    if newer(&mut self.status_set, envelope) {
                        self.status = Some(status);
                    }
                    if status == LeadStatus::Qualified
                        && self.qualified_at.is_none_or(|at| envelope.occurred_at < at)
                    {
                        self.qualified_at = Some(envelope.occurred_at);
                    }
                }
                if let Some(q) = e.qualification {
                    let (mine, set) = (&mut self.qualification, &mut self.qualification_set);
                    answer_latest(&mut mine.need, &mut set.need, q.need, envelope);
                    answer_latest(&mut mine.budget, &mut set.budget, q.budget, envelope);
                    answer_latest(
                        &mut mine.authority,
                        &mut set.authority,
                        q.authority,
                        envelope,
                    );
                }
            }
            Event::LeadConverted(e) => {
                self.kind = PersonKind::Contact;
                if !e.account_id.is_empty() && newer(&mut self.account_set, envelope) {
                    self.account_id.clone_from(&e.account_id);
                }
                if newer(&mut self.converted_set, envelope) {
                    self.converted = Some(ConversionInfo {
                        converted_at: envelope.occurred_at,
                        account_id: e.account_id.clone(),
                        opportunity_id: e.opportunity_id.clone(),
                    });
                }
                if !e.opportunity_id.is_empty() {
                    self.add_opportunity(&e.opportunity_id);
                }
            }
            Event::FollowUpLogged(e) => {
                self.insert_follow_up(FollowUpEntry {
                    event_id: envelope.event_id.clone(),
                    at: envelope.occurred_at,
                    method: e.method,
                    outcome: e.outcome.clone(),
                    next_due_at: e.next_due_at,
                    owner_id: e.owner_id.clone(),
                });
            }
            Event::LeadRouted(e) => {
                let entry = RoutingEntry {
                    event_id: envelope.event_id.clone(),
                    at: envelope.occurred_at,
                    owner_id: e.owner_id.clone(),
                    owner_kind: e.owner_kind,
                    rule: e.rule.clone(),
                    reason: e.reason.clone(),
                };
                self.set_owner(envelope, &e.owner_id, e.owner_kind);
                let key = (entry.at, entry.event_id.as_str());
                let position = self
                    .routing
                    .partition_point(|r| (r.at, r.event_id.as_str()) < key);
                if self
                    .routing
                    .get(position)
                    .is_none_or(|r| r.event_id != entry.event_id)
                {
                    self.routing.insert(position, entry);
                }
            }
            Event::OpportunityCreated(e) => {
                self.add_opportunity(&e.opportunity_id);
            }
            Event::OpportunityContactRoleAdded(e) => {
                self.add_opportunity(&e.opportunity_id);
            }
            _ => return,
        }
        self.last_seq = self.last_seq.max(seq);
    }

    /// Campaigns both this person and `other` have touches in, in id order, and
    /// whether both responded in it: what a merge of the two counts once.
    pub fn shared_campaigns(&self, other: &PersonView) -> Vec<(String, bool)> {
        other
            .campaigns
            .iter()
            .filter_map(|(campaign, theirs)| {
                self.campaigns
                    .get(campaign)
                    .map(|responded| (campaign.clone(), *responded && *theirs))
            })
            .collect()
    }

    /// Folds `merged` (a duplicate record) into this surviving view (R10): its
    /// touches (`merged_rows`, into `history`, this view's rows), opportunities
    /// and any fields this view lacks. The earliest lead creation wins, with
    /// its source.
    pub fn absorb(
        &mut self,
        seq: u64,
        merged: &PersonView,
        merged_rows: Vec<TouchEntry>,
        history: &mut TouchHistory,
    ) -> Result<(), RowsNotRead> {
        for touch in merged_rows {
            self.insert_touch(touch, history)?;
        }
        self.touches_set_aside += merged.touches_set_aside;
        for (campaign, responded) in &merged.campaigns {
            *self.campaigns.entry(campaign.clone()).or_default() |= *responded;
        }
        for opportunity in &merged.opportunity_ids {
            self.add_opportunity(opportunity);
        }
        for follow_up in &merged.follow_ups {
            self.insert_follow_up(follow_up.clone());
        }
        for account in &merged.accounts {
            self.add_account(account);
        }
        for entry in &merged.routing {
            if !self.routing.iter().any(|r| r.event_id == entry.event_id) {
                let key = (entry.at, entry.event_id.as_str());
                let position = self
                    .routing
                    .partition_point(|r| (r.at, r.event_id.as_str()) <= key);
                self.routing.insert(position, entry.clone());
            }
        }
        if let Some(at) = merged.lead_created_at
            && self.lead_created_at.is_none_or(|mine| at < mine)
        {
            self.lead_created_at = Some(at);
            self.lead_recorded_at = merged.lead_recorded_at;
        }
        if let Some(set) = &merged.source_set
            && earlier(&mut self.source_set, set)
        {
            self.source.clone_from(&merged.source);
        }
        if self.kind == PersonKind::Prospect
            || (self.kind == PersonKind::Lead && merged.kind == PersonKind::Contact)
        {
            self.kind = merged.kind;
        }
        // Each value by the rule that holds for events arriving after the
        // merge, so that the survivor is the same whichever came first.
        let (set, theirs) = (&mut self.identity_set, &merged.identity_set);
        for (field, slot, value, from) in [
            (
                &mut self.email,
                &mut set.email,
                &merged.email,
                &theirs.email,
            ),
            (
                &mut self.phone,
                &mut set.phone,
                &merged.phone,
                &theirs.phone,
            ),
            (
                &mut self.first_name,
                &mut set.first_name,
                &merged.first_name,
                &theirs.first_name,
            ),
            (
                &mut self.last_name,
                &mut set.last_name,
                &merged.last_name,
                &theirs.last_name,
            ),
            (
                &mut self.company,
                &mut set.company,
                &merged.company,
                &theirs.company,
            ),
        ] {
            if let Some(from) = from {
                fill_earliest(field, slot, value, from);
            }
        }
        if let Some(from) = &theirs.account
            && earlier(&mut set.account, from)
            && self.account_set.is_none()
            && merged.account_set.is_none()
        {
            self.account_id.clone_from(&merged.account_id);
        }
        let (mine, set) = (&mut self.qualification, &mut self.qualification_set);
        let (answers, theirs) = (&merged.qualification, &merged.qualification_set);
        for (answer, slot, value, from) in [
            (&mut mine.need, &mut set.need, answers.need, &theirs.need),
            (
                &mut mine.budget,
                &mut set.budget,
                answers.budget,
                &theirs.budget,
            ),
            (
                &mut mine.authority,
                &mut set.authority,
                answers.authority,
                &theirs.authority,
            ),
        ] {
            if let Some(from) = from {
                answer_latest(answer, slot, value, from);
            }
        }
        // The latest owner change of either record holds, as it would had
        // the changes arrived after the merge.
        if let Some(set) = &merged.owner_set {
            self.set_owner(set, &merged.owner_id, merged.owner_kind);
        }
        if let Some(set) = &merged.converted_set
            && newer(&mut self.converted_set, set)
        {
            self.converted.clone_from(&merged.converted);
        }
        if let Some(set) = &merged.account_set
            && newer(&mut self.account_set, set)
        {
            self.account_id.clone_from(&merged.account_id);
        }
        match &merged.status_set {
            Some(set) if newer(&mut self.status_set, set) => self.status = merged.status,
            _ if self.status.is_none() => self.status = merged.status,
            _ => {}
        }
        if let Some(at) = merged.qualified_at
            && self.qualified_at.is_none_or(|mine| at < mine)
        {
            self.qualified_at = Some(at);
        }
        insert_sorted(&mut self.merged_from, &merged.person_id);
        self.last_seq = self.last_seq.max(seq);
        Ok(())
    }

    /// What is left of a record merged into `survivor`: its touches moved
    /// with their rows, it points at the survivor.
    /// Nothing else is kept: what the record had went to the survivor, and
    /// what arrives for it later goes there too, so the pointer is the same
    /// whichever of its events came before the merge.
    pub fn merged_away(&mut self, seq: u64, survivor: &str) {
        *self = PersonView {
            merged_into: Some(survivor.to_owned()),
            last_seq: seq,
            ..PersonView::new(&self.person_id)
        };
    }
}

/// The most touches one person's history keeps (R7 expects hundreds; bots send
/// thousands). It bounds the work and memory one person costs a batch. Beyond
/// it the person keeps the [`EARLIEST_TOUCHES_KEPT`] earliest touches (first
/// touch, source at first contact) and the latest ones (what precedes a
/// conversion now), and counts the rest in `touches_set_aside`; every touch
/// stays in the log and in campaign counts.
pub const MAX_TOUCH_HISTORY: usize = 10_000;

/// How many of the earliest touches a history past [`MAX_TOUCH_HISTORY`] keeps.
pub const EARLIEST_TOUCHES_KEPT: usize = 1_000;

/// A lead recorded more than this long after it was created arrived as history.
pub const HISTORY_AFTER_MS: i64 = 7 * 86_400_000;

/// The lead creations a person's identity fields are from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentitySet {
    pub email: Option<Stamp>,
    pub phone: Option<Stamp>,
    pub first_name: Option<Stamp>,
    pub last_name: Option<Stamp>,
    pub company: Option<Stamp>,
    pub account: Option<Stamp>,
}

/// The updates a lead's qualification answers are from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualificationSet {
    pub need: Option<Stamp>,
    pub budget: Option<Stamp>,
    pub authority: Option<Stamp>,
}

/// `value`, if it names one and comes from an earlier event than the one
/// `field` is from.
fn fill_earliest<'a>(
    field: &mut String,
    slot: &mut Option<Stamp>,
    value: &str,
    from: impl Into<StampRef<'a>>,
) {
    if !value.is_empty() && earlier(slot, from) {
        value.clone_into(field);
    }
}

/// `value`, if it gives an answer and comes from a later event than the one
/// `answer` is from.
fn answer_latest<'a>(
    answer: &mut Option<bool>,
    slot: &mut Option<Stamp>,
    value: Option<bool>,
    from: impl Into<StampRef<'a>>,
) {
    if value.is_some() && newer(slot, from) {
        *answer = value;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "person_tests.rs"]
mod tests;
