//! The journey cache: every conversion of one kind with the touches behind
//! it, in columns, built from the views.
//!
//! Built once per conversion point and opportunity mode (contact roles or
//! account contacts) and kept while the store stands still: a [`Stamp`] of
//! the log's next sequence, the batch counter and the stored attribution
//! configuration says when it does not. The people behind a conversion are
//! found with [`crate::journey`], the rule the engine attributes with, so a
//! what-if sees exactly the touches the stored credits were computed from.
//!
//! Layout: conversions in the key order of the `conversions` table, each with
//! its time, value, currency (interned), milestones and a slice of the touch
//! columns. A conversion's touches are those at or before it (no parameter
//! can make a later touch count), in attribution order, each as its time, its
//! campaign (interned to a `u32`, 0 is [`NO_TOUCH`]), its status (sent
//! or responded) and its origin (recorded or synthesized). About 14 bytes a
//! touch.

use crate::stores::Stores;
use hashbrown::HashMap;
use touchline_attribution::{
    Conversion, ConversionKind, Milestones, NO_TOUCH, OpportunityTouches, TouchPoint,
};
use touchline_core::{Timestamp, TouchOrigin, TouchStatus};
use touchline_projection::{
    AccountView, CampaignView, ConversionView, OpportunityView, PersonView, TouchEntry,
};

use crate::{EngineError, Queries};

/// Where the store stood: a cache built at one stamp answers for it only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// One past the last event in the log: every view change comes with an
    /// appended event (a batch of duplicates or dead letters changes none).
    pub next_seq: u64,
    /// On a sharded instance, each shard held and where its store stood:
    /// another set of shards, or a group handed from one to another (which
    /// appends nothing on the shard it leaves), is another state.
    pub shards: Vec<(u32, u64)>,
    /// The stored models and settings: a new configuration recomputes every
    /// conversion without appending an event.
    pub config: Option<Vec<u8>>,
}

impl Stamp {
    pub(crate) fn read(stores: &Stores) -> Result<Stamp, EngineError> {
        Ok(Stamp {
            next_seq: stores.next_seq()?,
            shards: stores.shard_positions()?,
            config: stores.meta_bytes(crate::apply::META_CONFIG)?,
        })
    }
}

/// What a campaign index stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CampaignInfo {
    pub id: String,
    /// The display name; the id for a campaign known only from touches.
    pub name: String,
    pub channel: String,
    pub source: String,
}

/// Every conversion of one kind and its touches, in columns.
#[derive(Debug, Default)]
pub(crate) struct Journeys {
    pub kind: Option<ConversionKind>,
    pub campaigns: Vec<CampaignInfo>,
    /// Index 0 is "no value" (a lead conversion).
    pub currencies: Vec<Option<String>>,
    pub ids: Vec<String>,
    pub at: Vec<Timestamp>,
    pub value: Vec<Option<i64>>,
    pub currency: Vec<u32>,
    pub milestones: Vec<Milestones>,
    /// Conversion `i`'s touches are `start[i]..start[i + 1]`.
    pub start: Vec<usize>,
    pub touch_at: Vec<Timestamp>,
    pub touch_campaign: Vec<u32>,
    pub touch_status: Vec<TouchStatus>,
    /// Recorded or synthesized, for `synthesized_touches`.
    pub touch_origin: Vec<TouchOrigin>,
}

impl Journeys {
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    pub(crate) fn touches(&self, i: usize) -> std::ops::Range<usize> {
        self.start[i]..self.start[i + 1]
    }

    /// The bytes the columns hold (for the answer's cache figures).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.touch_at.capacity() * 8
            + self.touch_campaign.capacity() * 4
            + self.touch_status.capacity()
            + self.touch_origin.capacity()
            + self.start.capacity() * 8
            + self.at.capacity() * 8
            + self.value.capacity() * 16
            + self.currency.capacity() * 4
            + self.milestones.capacity() * std::mem::size_of::<Milestones>()
            + self.ids.iter().map(|id| id.capacity() + 24).sum::<usize>()
    }
}

/// Interns campaign ids and currencies while journeys are built.
struct Interner {
    campaigns: Vec<CampaignInfo>,
    campaign_index: HashMap<String, u32>,
    currencies: Vec<Option<String>>,
}

impl Interner {
    fn new(views: Vec<CampaignView>) -> Self {
        let mut interner = Interner {
            campaigns: Vec::with_capacity(views.len() + 1),
            campaign_index: HashMap::with_capacity(views.len() + 1),
            currencies: vec![None],
        };
        interner.add(CampaignInfo {
            id: NO_TOUCH.to_owned(),
            name: NO_TOUCH.to_owned(),
            channel: String::new(),
            source: String::new(),
        });
        for view in views {
            interner.add(CampaignInfo {
                name: view.display_name().to_owned(),
                id: view.campaign_id,
                channel: view.channel,
                source: view.source,
            });
        }
        interner
    }

    fn add(&mut self, info: CampaignInfo) -> u32 {
        let index = self.campaigns.len() as u32;
        self.campaign_index.insert(info.id.clone(), index);
        self.campaigns.push(info);
        index
    }

    fn campaign(&mut self, id: &str) -> u32 {
        if let Some(&index) = self.campaign_index.get(id) {
            return index;
        }
        self.add(CampaignInfo {
            id: id.to_owned(),
            name: id.to_owned(),
            channel: String::new(),
            source: String::new(),
        })
    }

    fn currency(&mut self, currency: Option<&str>) -> u32 {
        let Some(currency) = currency else { return 0 };
        match self
            .currencies
            .iter()
            .position(|c| c.as_deref() == Some(currency))
        {
            Some(i) => i as u32,
            None => {
                self.currencies.push(Some(currency.to_owned()));
                (self.currencies.len() - 1) as u32
            }
        }
    }
}

/// A conversion and the touches behind it, before interning.
pub(crate) type Gathered = (Conversion, Vec<TouchPoint>);

/// Views are read this many at a time (one multi-get per table).
pub(crate) const CHUNK: usize = 2048;

/// Builds the journeys of every live conversion of `kind`, the touches of an
/// opportunity's conversions drawn as `mode` says. `stored_mode` is the mode
/// the stored credits were computed under: in it, the stored conversion's
/// milestones are the engine's own; in the other, the lead-creation milestone
/// is worked out again for the other people.
pub(crate) fn build(
    queries: &Queries,
    kind: ConversionKind,
    mode: OpportunityTouches,
    stored_mode: OpportunityTouches,
) -> Result<Journeys, EngineError> {
    let store = queries.stores();
    let mut conversions: Vec<Conversion> = Vec::new();
    queries.for_each_conversion(
        kind,
        crate::TimeRange::default(),
        |view: &ConversionView| conversions.push(view.conversion.clone()),
    )?;
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8)
        .min(conversions.len().div_ceil(CHUNK).max(1));
    let per_thread = conversions.len().div_ceil(threads).max(1);
    let parts: Vec<Result<Vec<Gathered>, EngineError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = conversions
            .chunks(per_thread)
            .map(|part| {
                scope.spawn(move || {
                    let mut out = Vec::with_capacity(part.len());
                    for chunk in part.chunks(CHUNK) {
                        gather(
                            queries,
                            chunk,
                            mode,
                            stored_mode,
                            Cut::AtConversion,
                            &mut out,
                        )?;
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(EngineError::Writer(
                        "a what-if cache builder panicked".into(),
                    ))
                })
            })
            .collect()
    });
    let mut campaigns = Vec::new();
    store.for_each(|_, view: CampaignView| campaigns.push(view))?;
    let mut interner = Interner::new(campaigns);
    let mut journeys = Journeys {
        kind: Some(kind),
        start: vec![0],
        ..Journeys::default()
    };
    for part in parts {
        for (conversion, touches) in part? {
            journeys.ids.push(conversion.id);
            journeys.at.push(conversion.occurred_at);
            journeys
                .currency
                .push(interner.currency(conversion.value.as_ref().map(|m| m.currency.as_str())));
            journeys
                .value
                .push(conversion.value.as_ref().map(|m| m.amount_minor));
            journeys.milestones.push(conversion.milestones);
            for touch in &touches {
                journeys.touch_at.push(touch.occurred_at);
                journeys
                    .touch_campaign
                    .push(interner.campaign(&touch.campaign_id));
                journeys.touch_status.push(touch.status);
                journeys.touch_origin.push(touch.origin);
            }
            journeys.start.push(journeys.touch_at.len());
        }
    }
    journeys.campaigns = interner.campaigns;
    journeys.currencies = interner.currencies;
    Ok(journeys)
}

/// Which of a conversion's touches [`gather`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Those at or before it: all a credit can go to (the journeys).
    AtConversion,
    /// Every one, so that attributing them again tells "no touches" from
    /// "every touch after the conversion", as the engine does.
    Keep,
}

/// The touches behind each conversion of `chunk`, in attribution order, one
/// entry per conversion (none for a subject that is gone), cut as `cut` says.
pub(crate) fn gather(
    queries: &Queries,
    chunk: &[Conversion],
    mode: OpportunityTouches,
    stored_mode: OpportunityTouches,
    cut: Cut,
    out: &mut Vec<Gathered>,
) -> Result<(), EngineError> {
    let store = queries.stores();
    let subjects: Vec<&str> = chunk.iter().map(|c| c.subject_id.as_str()).collect();
    let finish = |conversion: &Conversion, mut touches: Vec<TouchPoint>| {
        if cut == Cut::AtConversion {
            touches.retain(|t| t.occurred_at <= conversion.occurred_at);
        }
        touches.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
        (conversion.clone(), touches)
    };
    if chunk.first().is_some_and(|c| c.kind.is_person()) {
        let persons: Vec<Option<PersonView>> = store.get_many(&subjects)?;
        for (conversion, person) in chunk.iter().zip(persons) {
            let touches = match person {
                Some(_) => store
                    .touches::<TouchEntry>(&conversion.subject_id)?
                    .iter()
                    .map(TouchEntry::to_touch_point)
                    .collect(),
                None => Vec::new(),
            };
            out.push(finish(conversion, touches));
        }
        return Ok(());
    }
    let opportunities: Vec<Option<OpportunityView>> = store.get_many(&subjects)?;
    let accounts: Vec<Option<AccountView>> = if crate::journey::needs_account(mode) {
        let ids: Vec<&str> = opportunities
            .iter()
            .map(|o| o.as_ref().map_or("", |o| o.account_id.as_str()))
            .collect();
        store.get_many(&ids)?
    } else {
        vec![None; opportunities.len()]
    };
    let people: Vec<Vec<String>> = opportunities
        .iter()
        .zip(&accounts)
        .map(|(opportunity, account)| {
            opportunity.as_ref().map_or_else(Vec::new, |o| {
                crate::journey::opportunity_people(o, account.as_ref(), mode)
            })
        })
        .collect();
    let ids: Vec<&str> = people.iter().flatten().map(String::as_str).collect();
    let mut persons: Vec<Option<PersonView>> = store.get_many(&ids)?;
    // A merged contact stands for the survivor its merges end at.
    for (person, id) in persons.iter_mut().zip(&ids) {
        if person.as_ref().is_some_and(|p| p.merged_into.is_some()) {
            *person = queries.surviving_person(id)?;
        }
    }
    let mut persons = persons.into_iter();
    for (conversion, contacts) in chunk.iter().zip(&people) {
        let behind: Vec<PersonView> = persons.by_ref().take(contacts.len()).flatten().collect();
        let mut touches = crate::journey::Touches::default();
        for person in &behind {
            touches.add(&store.touches::<TouchEntry>(&person.person_id)?);
        }
        let (mut conversion, touches) = finish(conversion, touches.into_points());
        if mode != stored_mode {
            conversion.milestones.lead_created = crate::journey::earliest_lead_created(&behind);
        }
        out.push((conversion, touches));
    }
    Ok(())
}
