//! Handing a group over to another shard (`touchline_core::colocation`): its
//! events leave this shard's log with everything folded from them, in one
//! commit, and go to the shard the group now lives on, with the versions its
//! credit sets reached, so that the versions published for them only go up.

use std::collections::BTreeMap;

use touchline_attribution::ConversionKind;
use touchline_core::StreamKind;
use touchline_core::colocation::Entity;
use touchline_projection::{CampaignView, PersonView, TouchEntry};

use super::batch_state::sourced_by;
use super::*;

/// What a group leaves behind in one campaign's counters on the shard it
/// leaves: the shard it joins counts the same again when its events arrive.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct CampaignShare {
    touches: u64,
    responses: u64,
    members: u64,
    responders: u64,
    leads_sourced: u64,
}

/// Each campaign's share of a group: its touch events, and the memberships
/// and sourced leads of its people that were not merged into another.
fn campaign_shares<'a>(
    people: impl IntoIterator<Item = &'a PersonView>,
    events: &[Envelope],
) -> BTreeMap<String, CampaignShare> {
    let mut shares: BTreeMap<String, CampaignShare> = BTreeMap::new();
    for envelope in events {
        if let Event::TouchRecorded(touch) = &envelope.event {
            let share = shares.entry(touch.campaign_id.clone()).or_default();
            share.touches += 1;
            share.responses += u64::from(touch.status == TouchStatus::Responded);
        }
    }
    for person in people {
        if person.merged_into.is_some() {
            continue;
        }
        for (campaign, responded) in &person.campaigns {
            let share = shares.entry(campaign.clone()).or_default();
            share.members += 1;
            share.responders += u64::from(*responded);
        }
        if let Some(campaign) = sourced_by(person) {
            shares.entry(campaign).or_default().leads_sourced += 1;
        }
    }
    shares
}

impl CampaignShare {
    fn add(&mut self, other: &CampaignShare) {
        self.touches += other.touches;
        self.responses += other.responses;
        self.members += other.members;
        self.responders += other.responders;
        self.leads_sourced += other.leads_sourced;
    }
}

fn subtract(view: &mut CampaignView, share: &CampaignShare) {
    view.touches = view.touches.saturating_sub(share.touches);
    view.responses = view.responses.saturating_sub(share.responses);
    view.members = view.members.saturating_sub(share.members);
    view.responders = view.responders.saturating_sub(share.responders);
    view.leads_sourced = view.leads_sourced.saturating_sub(share.leads_sourced);
}

/// The conversions a group member can be the subject of.
fn conversion_ids(member: &Entity) -> Vec<String> {
    let person = member.kind == StreamKind::Person;
    if !person && member.kind != StreamKind::Opportunity {
        return Vec::new();
    }
    ConversionKind::ALL
        .into_iter()
        .filter(|kind| kind.is_person() == person)
        .map(|kind| kind.conversion_id(&member.id))
        .collect()
}

/// A group on its way from one shard to another: its events in log order, and
/// its conversions retracted, remembering the last version of each model's
/// credit set. [`Engine::take_over`] on the shard it joins receives it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Handover {
    pub events: Vec<Envelope>,
    pub conversions: Vec<MovedConversion>,
}

/// A conversion of a group that moves: retracted where it leaves, with the
/// last version each model's credit set reached there, so that the shard it
/// joins publishes versions above them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedConversion {
    pub id: String,
    pub occurred_at: touchline_core::Timestamp,
    pub versions: Vec<(Model, u64)>,
}

impl MovedConversion {
    fn of(id: String, mut view: ConversionView) -> Self {
        view.retire_all();
        MovedConversion {
            id,
            occurred_at: view.conversion.occurred_at,
            versions: view.retired,
        }
    }

    /// The retracted view the shard it joins keeps until the conversion is
    /// attributed there; `None` for an id that names no conversion kind.
    fn into_view(self) -> Option<ConversionView> {
        let (kind, subject) = self.id.split_once(':')?;
        let kind = ConversionKind::parse(kind)?;
        let mut view = ConversionView::new(touchline_attribution::Conversion {
            id: self.id.clone(),
            kind,
            subject_id: subject.to_owned(),
            occurred_at: self.occurred_at,
            value: None,
            milestones: Default::default(),
        });
        view.retired = self.versions;
        Some(view)
    }
}

impl Handover {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty() && self.conversions.is_empty()
    }
}

impl Engine {
    /// Removes the group made of `members` from this shard and returns it for
    /// the shard it moves to ([`Engine::take_over`]): the events leave the
    /// log, their ids and stream indexes; the group's people (with their
    /// touch rows), accounts, opportunities and conversions leave the views, along with credit sets
    /// not yet published; every campaign's counters give back the group's
    /// share. All of it is one commit. Nothing is published: the shard the
    /// group joins attributes its conversions and publishes them.
    ///
    /// Campaign metadata stays (every shard has every campaign's), and so do
    /// the engine's cumulative counters.
    pub fn hand_over(&mut self, members: &[Entity]) -> Result<Handover, EngineError> {
        let mut handed = self.hand_over_inner(&[members], |_| Vec::new(), true)?;
        Ok(handed.pop().unwrap_or_default())
    }

    /// [`Engine::hand_over`] of several groups at once, in one commit, with
    /// the caller's own state written in it: `with` sees the groups leaving
    /// (in the order given) and says what to write (a shard runtime's
    /// records carrying them to their new shards, its forwarding pointers),
    /// so that no group is ever gone from here without them. The groups
    /// must be disjoint.
    ///
    /// The commit is not waited for on disk: it is durable with the engine's
    /// next synced commit, which a shard makes before anything it did is
    /// sent or published (a crash before loses the whole commit, and the
    /// hand-overs are read and made again).
    pub fn hand_over_many_with(
        &mut self,
        groups: &[&[Entity]],
        with: impl FnOnce(&[Handover]) -> Vec<MetaWrite>,
    ) -> Result<Vec<Handover>, EngineError> {
        self.hand_over_inner(groups, with, false)
    }

    fn hand_over_inner(
        &mut self,
        groups: &[&[Entity]],
        with: impl FnOnce(&[Handover]) -> Vec<MetaWrite>,
        synced: bool,
    ) -> Result<Vec<Handover>, EngineError> {
        self.flush()?;
        self.writer.check()?;
        // The overlay may hold views this removes.
        self.overlay = Overlay::default();

        let mut commit = self.store.commit();
        let mut handovers = Vec::with_capacity(groups.len());
        // Summed over the groups: each campaign's view is read and written once.
        let mut shares: BTreeMap<String, CampaignShare> = BTreeMap::new();
        for members in groups {
            let handover = self.remove_group(members, &mut commit, &mut shares)?;
            handovers.push(handover);
        }
        // The groups' credit sets still in the outbox stay there: with their
        // conversions gone from this shard they publish nothing here
        // (`AttributionRenderer::moved_away`), and the shard each group joins
        // publishes them. Finding them would read the whole outbox.
        for (campaign, share) in &shares {
            if let Some(mut view) = self.store.get::<CampaignView>(Table::Campaigns, campaign)? {
                subtract(&mut view, share);
                commit.put_view(Table::Campaigns, campaign, &view)?;
            }
        }
        if self.version_floor != self.floor_written {
            commit.set_meta_u64(super::META_VERSION_FLOOR, self.version_floor);
        }
        write_meta(&mut commit, &with(&handovers));
        if synced {
            self.store.write(commit)?;
        } else {
            self.store.write_unsynced(commit)?;
        }
        self.floor_written = self.version_floor;
        Ok(handovers)
    }

    /// Puts the removal of the group of `members` into `commit`, adds its
    /// campaign shares to `shares`, and returns it as it leaves.
    fn remove_group(
        &self,
        members: &[Entity],
        commit: &mut Commit,
        shares: &mut BTreeMap<String, CampaignShare>,
    ) -> Result<Handover, EngineError> {
        let mut events: BTreeMap<u64, Envelope> = BTreeMap::new();
        for member in members {
            for stored in self.store.stream(member.kind, &member.id, 0, usize::MAX)? {
                events.entry(stored.seq).or_insert(stored.envelope);
            }
        }
        let mut people = Vec::new();
        for member in members.iter().filter(|m| m.kind == StreamKind::Person) {
            if let Some(person) = self.store.get::<PersonView>(Table::Persons, &member.id)? {
                people.push(person);
            }
        }
        let logged: Vec<Envelope> = events.values().cloned().collect();
        for (campaign, share) in campaign_shares(&people, &logged) {
            shares.entry(campaign).or_default().add(&share);
        }
        for (seq, envelope) in &events {
            commit.remove(*seq, envelope);
        }
        let mut leaving = Vec::new();
        for member in members {
            let table = match member.kind {
                StreamKind::Person => Table::Persons,
                StreamKind::Account => Table::Accounts,
                StreamKind::Opportunity => Table::Opportunities,
                StreamKind::Campaign => continue,
            };
            commit.delete(table, &member.id);
            if member.kind == StreamKind::Person {
                // The person's touch rows leave with its view.
                for touch in self.store.touches::<TouchEntry>(&member.id)? {
                    commit.delete_touch(&member.id, touch.occurred_at, &touch.event_id);
                }
            }
            for conversion in conversion_ids(member) {
                if let Some(view) = self
                    .store
                    .get::<ConversionView>(Table::Conversions, &conversion)?
                {
                    leaving.push(MovedConversion::of(conversion.clone(), view));
                }
                commit.delete(Table::Conversions, &conversion);
            }
        }
        Ok(Handover {
            events: logged,
            conversions: leaving,
        })
    }

    /// Receives a group another shard handed over: its conversions first, as
    /// retracted views that remember their versions (so the credit sets this
    /// shard computes for them continue above what the other shard
    /// published), then its events, as one batch that dedupes and folds them
    /// as any other. A conversion this shard already holds keeps its own
    /// results; only the remembered versions of models it has no result for
    /// are raised.
    ///
    /// `batch` rides along: its events are folded with the group's, and its
    /// offsets and extension state are written in the same commit. Receiving
    /// the same hand-over twice changes nothing the first did not.
    pub fn take_over(
        &mut self,
        handover: Handover,
        batch: Batch,
    ) -> Result<BatchOutcome, EngineError> {
        self.take_over_inner(vec![handover], batch, true)
    }

    /// [`Engine::take_over`] of several hand-overs (or parts of one) at
    /// once, in order, with their events folded as one batch; durable with
    /// the next synced commit (see [`Engine::apply_unsynced`]).
    pub fn take_over_many_unsynced(
        &mut self,
        handovers: Vec<Handover>,
        batch: Batch,
    ) -> Result<BatchOutcome, EngineError> {
        self.take_over_inner(handovers, batch, false)
    }

    fn take_over_inner(
        &mut self,
        handovers: Vec<Handover>,
        mut batch: Batch,
        synced: bool,
    ) -> Result<BatchOutcome, EngineError> {
        self.flush()?;
        self.writer.check()?;
        self.overlay = Overlay::default();
        let mut commit = self.store.commit();
        // What this writes, for a conversion that arrives twice.
        let mut written: HashMap<String, ConversionView> = HashMap::new();
        let mut events = Vec::new();
        let mut arriving_all = Vec::new();
        for handover in handovers {
            events.extend(handover.events);
            arriving_all.extend(handover.conversions);
        }
        for arriving in arriving_all {
            let key = arriving.id.clone();
            let here = match written.remove(&key) {
                Some(view) => Some(view),
                None => self.store.get::<ConversionView>(Table::Conversions, &key)?,
            };
            let view = match here {
                None => match arriving.into_view() {
                    Some(view) => view,
                    None => continue,
                },
                Some(mut here) => {
                    for (model, version) in &arriving.versions {
                        if here.result(*model).is_some() {
                            continue;
                        }
                        match here.retired.iter_mut().find(|(m, _)| m == model) {
                            Some((_, kept)) => *kept = (*kept).max(*version),
                            None => here.retired.push((*model, *version)),
                        }
                    }
                    here
                }
            };
            commit.put_view(Table::Conversions, &key, &view)?;
            written.insert(key, view);
        }
        // Durable with the batch below, which is synced.
        if !commit.is_empty() {
            self.store.write_unsynced(commit)?;
        }
        events.append(&mut batch.events);
        // Sources name the batch's own events, which now come after the group's.
        if !batch.sources.is_empty() {
            let mut sources = vec![MessageSource::default(); events.len() - batch.sources.len()];
            sources.append(&mut batch.sources);
            batch.sources = sources;
        }
        batch.events = events;
        if synced {
            self.apply(batch)
        } else {
            self.apply_unsynced(batch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, campaigns: &[(&str, bool)]) -> PersonView {
        let mut view = PersonView::new(id);
        view.campaigns = campaigns
            .iter()
            .map(|(c, r)| ((*c).to_owned(), *r))
            .collect();
        view
    }

    #[test]
    fn a_groups_share_counts_its_touches_and_its_surviving_members() {
        let touch = |id: &str, campaign: &str, status| Envelope {
            event_id: id.into(),
            occurred_at: touchline_core::Timestamp::from_millis(0),
            recorded_at: touchline_core::Timestamp::from_millis(0),
            source_system: "test".into(),
            event: Event::TouchRecorded(touchline_core::TouchRecorded {
                person_id: "ann".into(),
                campaign_id: campaign.into(),
                touch_type: touchline_core::TouchType::EmailClick,
                status,
                asset: String::new(),
                topic: String::new(),
                provenance: None,
            }),
        };
        let ann = person("ann", &[("web", true), ("mail", false)]);
        let mut dup = person("ann-dup", &[("web", true)]);
        dup.merged_into = Some("ann".into());
        let events = [
            touch("t1", "web", TouchStatus::Responded),
            touch("t2", "web", TouchStatus::Sent),
            touch("t3", "mail", TouchStatus::Sent),
        ];
        let shares = campaign_shares([&ann, &dup], &events);
        assert_eq!(
            shares["web"],
            CampaignShare {
                touches: 2,
                responses: 1,
                members: 1,
                responders: 1,
                leads_sourced: 0
            }
        );
        assert_eq!((shares["mail"].members, shares["mail"].responders), (1, 0));
    }
}
