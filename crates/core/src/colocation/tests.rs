use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::{LeadConverted, OpportunityContactRoleAdded, PersonsMerged, TouchRecorded};

fn person(id: &str) -> Entity {
    Entity::new(StreamKind::Person, id)
}

/// Kafka's own vectors (`UtilsTest.testMurmur2`), as unsigned.
#[test]
fn murmur2_is_kafkas() {
    let cases: [(&str, i32); 6] = [
        ("21", -973_932_308),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        (
            "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        ("abc", 479_470_107),
    ];
    for (key, want) in cases {
        assert_eq!(murmur2(key.as_bytes()), want as u32, "{key}");
    }
}

#[test]
fn partitions_are_the_positive_hash_modulo_the_count() {
    // -973932308 & 0x7fffffff = 1173551340.
    assert_eq!(kafka_partition(b"21", 7), 1_173_551_340 % 7);
    for n in 1..9 {
        assert!(kafka_partition(b"foobar", n) < n);
    }
}

#[test]
fn an_events_people_accounts_and_deals_meet_and_its_campaign_does_not() {
    let converted = Event::LeadConverted(LeadConverted {
        person_id: "ann".into(),
        account_id: "acme".into(),
        opportunity_id: "deal".into(),
    });
    let names = |e: &Event| {
        e.colocated()
            .map(|s| format!("{}:{}", s.kind.name(), s.id))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(&converted),
        ["person:ann", "account:acme", "opportunity:deal"]
    );
    let touch = Event::TouchRecorded(TouchRecorded {
        person_id: "ann".into(),
        campaign_id: "webinar".into(),
        touch_type: crate::TouchType::WebinarAttended,
        status: crate::TouchStatus::Responded,
        asset: String::new(),
        topic: String::new(),
        provenance: None,
    });
    assert_eq!(names(&touch), ["person:ann"]);

    let mut directory = Directory::default();
    assert!(directory.link_event(&touch).is_empty());
    let joins = directory.link_event(&converted);
    assert_eq!(joins.len(), 2);
    let acme = Entity::new(StreamKind::Account, "acme");
    // Accounts sort first: the account keys the group.
    assert_eq!(joins.last().map(|j| &j.key), Some(&acme));
    assert_eq!(directory.key_of_event(&touch), Some(acme.clone()));
    assert_eq!(
        directory.members(&acme),
        [
            acme.clone(),
            Entity::new(StreamKind::Opportunity, "deal"),
            person("ann"),
        ]
    );
}

#[test]
fn a_merge_across_accounts_joins_both_accounts() {
    let mut directory = Directory::default();
    let contact = |person: &str, opportunity: &str| {
        Event::OpportunityContactRoleAdded(OpportunityContactRoleAdded {
            opportunity_id: opportunity.into(),
            person_id: person.into(),
            ..OpportunityContactRoleAdded::default()
        })
    };
    directory.link_event(&contact("zed", "deal-z"));
    directory.link_event(&contact("yan", "deal-y"));
    assert_ne!(
        directory.key(&Entity::new(StreamKind::Opportunity, "deal-z")),
        directory.key(&Entity::new(StreamKind::Opportunity, "deal-y"))
    );
    let joins = directory.link_event(&Event::PersonsMerged(PersonsMerged {
        surviving_person_id: "zed".into(),
        merged_person_id: "yan".into(),
        ..PersonsMerged::default()
    }));
    assert_eq!(
        joins,
        [Join {
            key: Entity::new(StreamKind::Opportunity, "deal-y"),
            absorbed: Entity::new(StreamKind::Opportunity, "deal-z")
        }]
    );
    assert_eq!(
        directory.key(&person("zed")),
        Entity::new(StreamKind::Opportunity, "deal-y")
    );
}

#[test]
fn a_route_names_the_shards_whose_history_moves() {
    let mut directory = Directory::default();
    let cost = Event::CampaignCostRecorded(crate::CampaignCostRecorded {
        campaign_id: "webinar".into(),
        ..crate::CampaignCostRecorded::default()
    });
    let every = directory.route(&cost, 4);
    assert_eq!((every.shard, every.key), (None, None));
    // Find two people on different shards of four, then merge them.
    let on = |id: &str| shard_of(&person(id), 4);
    let other = (0..100)
        .map(|n| format!("p{n}"))
        .find(|id| on(id) != on("ann"))
        .expect("some id hashes elsewhere");
    let merged = Event::PersonsMerged(PersonsMerged {
        surviving_person_id: other.clone(),
        merged_person_id: "ann".into(),
        ..PersonsMerged::default()
    });
    let route = directory.route(&merged, 4);
    let key = person("ann").min(person(&other));
    let (to, from) = if key.id == "ann" {
        (on("ann"), on(&other))
    } else {
        (on(&other), on("ann"))
    };
    assert_eq!(route.shard, Some(to));
    assert_eq!(route.key, Some(key));
    assert_eq!(route.moves_from, [from]);
    // Linked already: nothing moves again.
    assert!(directory.route(&merged, 4).moves_from.is_empty());
}

/// Connected components by search, each named by its least member.
fn reference_keys(edges: &[(Entity, Entity)]) -> BTreeMap<Entity, Entity> {
    let mut neighbours: BTreeMap<&Entity, BTreeSet<&Entity>> = BTreeMap::new();
    for (a, b) in edges {
        neighbours.entry(a).or_default().insert(b);
        neighbours.entry(b).or_default().insert(a);
    }
    let mut keys = BTreeMap::new();
    for &start in neighbours.keys() {
        if keys.contains_key(start) {
            continue;
        }
        let mut seen = BTreeSet::from([start]);
        let mut todo = vec![start];
        while let Some(at) = todo.pop() {
            for &next in &neighbours[at] {
                if seen.insert(next) {
                    todo.push(next);
                }
            }
        }
        let least = (*seen.first().expect("the start")).clone();
        for member in seen {
            keys.insert(member.clone(), least.clone());
        }
    }
    keys
}

fn entity() -> impl Strategy<Value = Entity> {
    let kind = prop_oneof![
        Just(StreamKind::Person),
        Just(StreamKind::Account),
        Just(StreamKind::Opportunity)
    ];
    (kind, 0..12u8).prop_map(|(kind, n)| Entity::new(kind, format!("e{n}")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Groups and their keys depend on the links, not on their order, and the
    /// joins reported, replayed as moves, leave every group's state on its
    /// key's shard.
    #[test]
    fn keys_depend_only_on_the_links(
        edges in proptest::collection::vec((entity(), entity()), 0..30),
        order in any::<u64>(),
        shards in 1u32..5,
    ) {
        let want = reference_keys(&edges);
        let mut shuffled = edges.clone();
        // A deterministic shuffle from the drawn seed.
        let mut seed = order | 1;
        for i in (1..shuffled.len()).rev() {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
            shuffled.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        let mut directory = Directory::default();
        // Where each entity's state is: its own shard until a join moves it.
        let mut placed: BTreeMap<Entity, u32> = BTreeMap::new();
        for (a, b) in &shuffled {
            for e in [a, b] {
                let key = directory.key(e);
                placed.entry(e.clone()).or_insert_with(|| shard_of(&key, shards));
            }
            if let Some(join) = directory.link(a, b) {
                let to = shard_of(&join.key, shards);
                for member in directory.members(&join.key) {
                    placed.insert(member, to);
                }
            }
        }
        for (entity, key) in &want {
            prop_assert_eq!(&directory.key(entity), key);
            prop_assert_eq!(placed[entity], shard_of(key, shards));
        }
    }
}
