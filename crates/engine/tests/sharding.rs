//! The partitioning contract (`touchline_core::colocation`) is enough for
//! attribution: with each group's events on its shard's own engine, and every
//! campaign's on every shard, each conversion gets the credits one engine over
//! everything gives. That holds for any number of shards, any arrival order and
//! any batching, and for groups that join mid-stream: a joined group's history
//! is sent again to its new shard, where it arrives late and out of order.
//!
//! The shards here are engines in one process, and a move is
//! `Engine::hand_over` on the shard a group leaves and `Engine::take_over` on
//! the shard it joins. Every view then lives on exactly one shard, campaign
//! counters add up across shards, no conversion is live twice, and a moved
//! credit set's versions go on above those it reached before. This checks
//! the contract, the fold and the hand-over, not the Kafka transport.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use touchline_attribution::{ConversionKind, OpportunityTouches};
use touchline_core::StreamKind;
use touchline_core::colocation::{Entity, kafka_partition, shard_of};
use touchline_core::*;
use touchline_datagen::{DatasetConfig, Generator};
use touchline_engine::EngineConfig;
use touchline_fixtures::*;
use touchline_projection::{
    AccountView, CampaignView, ConversionView, OpportunityView, PersonView, TouchEntry,
};
use touchline_store::{Store, Table};

mod common;
use common::shards::{HAND_OVERS, Routed, Shard, config, route};

/// Each live conversion's credits under every model, versions aside, from
/// the stores given, keeping only the conversions `keep` accepts.
fn credits(
    stores: &[(usize, &Store)],
    keep: impl Fn(usize, &str) -> bool,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for &(shard, store) in stores {
        store
            .for_each(Table::Conversions, |key, view: ConversionView| {
                if !view.is_live() || !keep(shard, key) {
                    return;
                }
                let results: Vec<_> = view
                    .results
                    .iter()
                    .map(|r| (r.model, r.attribution.clone()))
                    .collect();
                let previous =
                    out.insert(key.to_owned(), format!("{:?} {results:?}", view.conversion));
                assert!(previous.is_none(), "{key} is live on two shards");
            })
            .expect("conversions");
    }
    out
}

/// The entity a conversion is about: its person or its opportunity.
fn subject(conversion_id: &str) -> Entity {
    let (kind, subject) = conversion_id.split_once(':').expect("kind:subject");
    let kind = ConversionKind::parse(kind).expect("a conversion kind");
    let stream = if kind.is_person() {
        StreamKind::Person
    } else {
        StreamKind::Opportunity
    };
    Entity::new(stream, subject)
}

/// Moved credit sets whose versions were checked to go on.
static VERSIONS_CHECKED: AtomicU64 = AtomicU64::new(0);

fn single(events: &[Envelope], config: &EngineConfig) -> BTreeMap<String, String> {
    let mut shard = Shard::open(config);
    for envelope in events {
        shard.send(envelope.clone(), 1_000);
    }
    shard.flush();
    let stores = [(0, shard.store.as_ref())];
    let mut out = credits(&stores, |_, _| true);
    out.extend(campaign_counters(&stores));
    out.extend(touch_rows(&stores));
    out.extend(views(&stores));
    out
}

/// Every person, account and opportunity view, log positions aside, as
/// `person:<id>` (and so on) entries beside the credits: on whichever shard
/// it lives and in whatever order its events arrived, a view is the one one
/// engine keeps.
fn views(stores: &[(usize, &Store)]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, store) in stores {
        store
            .for_each(Table::Persons, |id, mut v: PersonView| {
                v.last_seq = 0;
                for touch in v.earliest_touch.iter_mut().chain(&mut v.latest_touch) {
                    touch.seq = 0;
                }
                out.insert(format!("person:{id}"), format!("{v:?}"));
            })
            .expect("persons");
        store
            .for_each(Table::Opportunities, |id, mut v: OpportunityView| {
                v.last_seq = 0;
                v.stage_history.iter_mut().for_each(|c| c.seq = 0);
                out.insert(format!("opportunity:{id}"), format!("{v:?}"));
            })
            .expect("opportunities");
        store
            .for_each(Table::Accounts, |id, mut v: AccountView| {
                v.last_seq = 0;
                // Rep alerts are decisions taken as touches arrive, from what
                // is known then (R18), not a fold of the history.
                v.recent_alerts.clear();
                out.insert(format!("account:{id}"), format!("{v:?}"));
            })
            .expect("accounts");
    }
    out
}

/// Every person's touch rows, as `touches:<id>` entries beside the credits:
/// on whichever shard a person lives, its rows are the ones one engine keeps.
fn touch_rows(stores: &[(usize, &Store)]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, store) in stores {
        store
            .for_each_person_with_touches(|id, _: PersonView, rows: Vec<TouchEntry>| {
                let rows: Vec<&str> = rows.iter().map(|t| t.event_id.as_str()).collect();
                out.insert(format!("touches:{id}"), rows.join(","));
            })
            .expect("touch rows");
    }
    out
}

/// `events` in arrival order over `count` shards, as the contract routes them.
fn sharded(
    events: &[Envelope],
    count: u32,
    batch: usize,
    config: &EngineConfig,
) -> BTreeMap<String, String> {
    let Routed {
        shards,
        directory,
        published,
    } = route(events, count, batch, config);
    let stores: Vec<(usize, &Store)> = shards
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s.store.as_ref()))
        .collect();
    // Every person, account and opportunity lives on its group's shard only.
    for (shard, store) in &stores {
        let mut ids: Vec<(StreamKind, String)> = Vec::new();
        store
            .for_each(Table::Persons, |id, _: PersonView| {
                ids.push((StreamKind::Person, id.to_owned()))
            })
            .expect("persons");
        store
            .for_each(Table::Accounts, |id, _: AccountView| {
                ids.push((StreamKind::Account, id.to_owned()))
            })
            .expect("accounts");
        store
            .for_each(Table::Opportunities, |id, _: OpportunityView| {
                ids.push((StreamKind::Opportunity, id.to_owned()))
            })
            .expect("opportunities");
        for (kind, id) in ids {
            let home = shard_of(&directory.key(&Entity::new(kind, &id)), count);
            assert_eq!(
                home as usize, *shard,
                "{kind:?} {id} is on another group's shard"
            );
        }
        // A credit set of a group that left, still in the outbox here,
        // publishes nothing here: its conversion has no view here.
        let mut renderer = touchline_engine::AttributionRenderer::new(store);
        for (_, record) in store.outbox(usize::MAX).expect("outbox") {
            if let Some((_, conversion)) = record
                .key
                .split_once('/')
                .filter(|_| record.is_attribution())
            {
                let home = shard_of(&directory.key(&subject(conversion)), count);
                if home as usize != *shard {
                    assert!(
                        renderer.moved_away(&record.key).expect("render"),
                        "{} would be published on another shard",
                        record.key
                    );
                }
            }
        }
    }
    // Versions go on where a moved credit set left off: a consumer never sees
    // one go back.
    for (_, store) in &stores {
        store
            .for_each(Table::Conversions, |id, view: ConversionView| {
                for result in &view.results {
                    let key = format!("{}/{id}", result.model.name());
                    if let Some(left) = published.get(&key) {
                        assert!(
                            result.version > *left,
                            "{key}: {left} then {}",
                            result.version
                        );
                        VERSIONS_CHECKED.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
            .expect("conversions");
    }
    let mut out = credits(&stores, |shard, key| {
        let home = shard_of(&directory.key(&subject(key)), count) as usize;
        assert_eq!(home, shard, "{key} is live on another group's shard");
        true
    });
    out.extend(campaign_counters(&stores));
    out.extend(touch_rows(&stores));
    out.extend(views(&stores));
    out
}

/// Every campaign's counters summed over the shards, as `campaign:<id>`
/// entries beside the credits.
fn campaign_counters(stores: &[(usize, &Store)]) -> BTreeMap<String, String> {
    let mut sums: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    for (_, store) in stores {
        store
            .for_each(Table::Campaigns, |id, v: CampaignView| {
                let sum = sums.entry(format!("campaign:{id}")).or_default();
                for (total, n) in sum.iter_mut().zip([
                    v.touches,
                    v.responses,
                    v.members,
                    v.responders,
                    v.leads_sourced,
                ]) {
                    *total += n;
                }
            })
            .expect("campaigns");
    }
    sums.into_iter()
        .map(|(k, [t, r, m, rs, l])| {
            (
                k,
                format!(
                    "touches {t}, responses {r}, members {m}, responders {rs}, leads sourced {l}"
                ),
            )
        })
        .collect()
}

/// The first difference between two runs' credits, named.
fn difference(want: &BTreeMap<String, String>, got: &BTreeMap<String, String>) -> Option<String> {
    let keys = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    if keys(got) != keys(want) {
        return Some(format!(
            "the conversions differ: want {:?}, got {:?}",
            keys(want),
            keys(got)
        ));
    }
    want.iter()
        .find(|(key, credits)| got[*key] != **credits)
        .map(|(key, credits)| format!("{key}: want {credits}\n got {}", got[key]))
}

fn assert_same(want: &BTreeMap<String, String>, got: &BTreeMap<String, String>, what: &str) {
    if let Some(difference) = difference(want, got) {
        panic!("{what}: {difference}");
    }
}

#[test]
fn the_worlds_cross_shard_links_meet_on_every_shard_count() {
    for touches in [
        OpportunityTouches::ContactRoles,
        OpportunityTouches::AccountContacts,
    ] {
        let config = config(touches);
        let want = single(&cross_shard_world(), &config);
        assert!(want.len() >= 9 + 4, "the world converts: {:?}", want.keys());
        for count in 1..=4 {
            let got = sharded(&cross_shard_world(), count, 3, &config);
            assert_same(&want, &got, &format!("{touches:?}, {count} shards"));
        }
    }
    assert!(HAND_OVERS.load(Ordering::Relaxed) > 0, "some group moved");
    assert!(
        VERSIONS_CHECKED.load(Ordering::Relaxed) > 0,
        "some credit set moved"
    );
}

/// The harness can tell: keyed by each event's subject alone, as Kafka
/// input often is, the shards' credits are not one engine's.
#[test]
fn keying_by_subject_alone_gives_other_credits() {
    let config = config(OpportunityTouches::ContactRoles);
    let want = single(&cross_shard_world(), &config);
    let mut shards: Vec<Shard> = (0..2).map(|_| Shard::open(&config)).collect();
    for envelope in cross_shard_world() {
        let shard = kafka_partition(envelope.partition_key().as_bytes(), 2);
        shards[shard as usize].send(envelope, 1_000);
    }
    for shard in &mut shards {
        shard.flush();
    }
    let stores: Vec<(usize, &Store)> = shards
        .iter()
        .enumerate()
        .map(|(i, s)| (i, s.store.as_ref()))
        .collect();
    let mut got = BTreeMap::new();
    for (shard, store) in stores {
        got.extend(credits(&[(shard, store)], |_, _| true));
    }
    let want: BTreeMap<String, String> = want
        .into_iter()
        .filter(|(k, _)| !k.starts_with("campaign:"))
        .collect();
    assert!(difference(&want, &got).is_some());
}

#[test]
fn a_generated_history_splits_over_shards_with_the_same_credits() {
    let events: Vec<Envelope> = Generator::new(DatasetConfig {
        accounts: 120,
        seed: 11,
        ..DatasetConfig::default()
    })
    .collect();
    let config = config(OpportunityTouches::AccountContacts);
    let want = single(&events, &config);
    for count in [2, 3] {
        let got = sharded(&events, count, 200, &config);
        assert_same(&want, &got, &format!("{count} shards"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_arrival_order_and_shard_count_gives_the_same_credits(
        order in Just((0..cross_shard_world().len()).collect::<Vec<usize>>()).prop_shuffle(),
        count in 1u32..5,
        batch in 1usize..6,
        account_mode in any::<bool>(),
    ) {
        let config = config(if account_mode {
            OpportunityTouches::AccountContacts
        } else {
            OpportunityTouches::ContactRoles
        });
        let want = single(&cross_shard_world(), &config);
        let events = cross_shard_world();
        let shuffled: Vec<Envelope> = order.iter().map(|&i| events[i].clone()).collect();
        let got = sharded(&shuffled, count, batch, &config);
        let difference = difference(&want, &got);
        prop_assert!(difference.is_none(), "{}", difference.unwrap_or_default());
    }
}

/// A lead routed where it was created keeps that one routing when its group
/// moves: the shard it joins folds the decision the group carries and takes
/// none of its own.
#[test]
fn a_moved_lead_keeps_its_one_routing() {
    let config = EngineConfig {
        routing: touchline_projection::RoutingRules {
            rules: vec![touchline_projection::RoutingRule::to(
                "desk",
                "inside-sales",
                OwnerKind::Internal,
            )],
            ..touchline_projection::RoutingRules::default()
        },
        ..config(OpportunityTouches::ContactRoles)
    };
    let mut from = Shard::open(&config);
    from.send(envelope("t", 10, touch("ann", "web")), 1);
    from.send(envelope("lead", 20, lead("ann")), 1);
    from.flush();
    let handover = from
        .engine
        .hand_over(&[Entity::new(StreamKind::Person, "ann")])
        .expect("hand over");
    let mut to = Shard::open(&config);
    to.engine
        .take_over(handover, touchline_engine::Batch::default())
        .expect("take over");
    let ann: PersonView = to
        .store
        .get(Table::Persons, "ann")
        .expect("read")
        .expect("ann moved");
    let routings: Vec<&str> = ann.routing.iter().map(|r| r.event_id.as_str()).collect();
    assert_eq!(routings, ["touchline:routed:lead"]);
    assert_eq!(ann.owner_id, "inside-sales");
    let logged: Vec<String> = to
        .store
        .events(0, 100)
        .expect("log")
        .into_iter()
        .map(|e| e.envelope.event_id)
        .collect();
    assert_eq!(logged, ["t", "lead", "touchline:routed:lead"]);
}
