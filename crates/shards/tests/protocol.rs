//! The shard protocol over simulated topics: events in any order, through the
//! router, the directory and the shards, with records delivered in any
//! interleaving (each partition in order), shards and the directory crashing
//! and reading again from their last commit, and records sent twice. Once
//! every topic is drained, the shards together hold what one engine over all
//! the events holds: the same credits for every conversion under every model,
//! each view on its group's shard only, and campaign counters that add up.

use std::collections::BTreeMap;
use std::sync::Arc;

use proptest::prelude::*;
use touchline_attribution::{AttributionSettings, Model, OpportunityTouches};
use touchline_core::colocation::{Directory, Entity, shard_of};
use touchline_core::{Envelope, StreamKind};
use touchline_datagen::{DatasetConfig, Generator};
use touchline_engine::{Batch, Engine, EngineConfig};
use touchline_fixtures::cross_shard_world;
use touchline_projection::{
    AccountView, CampaignView, ConversionView, OpportunityView, PersonView,
};
use touchline_shards::{Destination, Linker, ShardRecord, ShardTask, destination};
use touchline_store::{Store, Table};

const TOPIC: &str = "sim-shards";

/// A small deterministic generator for the schedule.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: usize) -> usize {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % sides.max(1)
    }
}

struct Sim {
    config: EngineConfig,
    shards: u32,
    dirs: Vec<tempfile::TempDir>,
    tasks: Vec<Option<ShardTask>>,
    /// The shards topic, one record list per partition.
    partitions: Vec<Vec<Vec<u8>>>,
    /// The links topic.
    links: Vec<Envelope>,
    linker: Linker,
    /// The links offset the directory has decided through, and the one it
    /// committed (it restarts from there).
    linker_next: usize,
    linker_committed: usize,
    input: Vec<Envelope>,
    routed: usize,
    crashes: usize,
    duplicates: usize,
    hand_overs: usize,
    /// The highest version each credit set had reached where it left a shard.
    moved_versions: BTreeMap<String, u64>,
}

impl Sim {
    fn new(input: Vec<Envelope>, shards: u32, config: EngineConfig) -> Self {
        let dirs: Vec<_> = (0..shards)
            .map(|_| tempfile::tempdir().expect("the simulation"))
            .collect();
        let mut sim = Sim {
            config,
            shards,
            tasks: Vec::new(),
            dirs,
            partitions: vec![Vec::new(); shards as usize],
            links: Vec::new(),
            linker: Linker::default(),
            linker_next: 0,
            linker_committed: 0,
            input,
            routed: 0,
            crashes: 0,
            duplicates: 0,
            hand_overs: 0,
            moved_versions: BTreeMap::new(),
        };
        sim.tasks = (0..shards).map(|s| Some(sim.open(s))).collect();
        sim
    }

    fn open(&self, shard: u32) -> ShardTask {
        let store =
            Arc::new(Store::open(self.dirs[shard as usize].path()).expect("the simulation"));
        let engine = Engine::open(store, self.config.clone()).expect("the simulation");
        ShardTask::new(engine, TOPIC, shard, self.shards).expect("the simulation")
    }

    fn task(&mut self, shard: usize) -> &mut ShardTask {
        self.tasks[shard].as_mut().expect("the simulation")
    }

    fn produce(&mut self, shard: u32, record: &ShardRecord) {
        self.hand_overs += usize::from(matches!(record, ShardRecord::HandOver { .. }));
        self.partitions[shard as usize].push(record.encode());
    }

    /// The router takes the next input event.
    fn route(&mut self) -> bool {
        let Some(envelope) = self.input.get(self.routed).cloned() else {
            return false;
        };
        self.routed += 1;
        match destination(&envelope.event, self.shards) {
            Destination::Links => self.links.push(envelope),
            Destination::Shard(shard) => self.produce(shard, &ShardRecord::Routed(envelope, None)),
            Destination::EveryShard => {
                for shard in 0..self.shards {
                    self.produce(shard, &ShardRecord::Routed(envelope.clone(), None));
                }
            }
        }
        true
    }

    /// The directory decides the next link event.
    fn decide(&mut self, commit: bool) -> bool {
        let Some(envelope) = self.links.get(self.linker_next).cloned() else {
            return false;
        };
        let out = self
            .linker
            .decide(self.linker_next as u64, envelope, self.shards);
        for (shard, record) in out {
            self.produce(shard, &record);
        }
        self.linker_next += 1;
        if commit {
            self.linker_committed = self.linker_next;
        }
        true
    }

    /// The directory's instance dies: another reads the links topic again,
    /// deciding silently up to the committed offset, and goes on from there.
    fn crash_directory(&mut self) {
        let mut linker = Linker::default();
        for (offset, envelope) in self.links[..self.linker_committed].iter().enumerate() {
            linker.decide(offset as u64, envelope.clone(), self.shards);
        }
        self.duplicates += self.linker_next - self.linker_committed;
        self.linker = linker;
        self.linker_next = self.linker_committed;
        self.crashes += 1;
    }

    /// Shard `shard` reads up to `count` records of its partition; `settle`:
    /// then waits for its commit to be on disk (else the next steps run
    /// while it is written, as in the runner).
    fn receive(&mut self, shard: usize, count: usize, settle: bool) -> bool {
        let from = self.task(shard).next_offset() as usize;
        let to = from.saturating_add(count).min(self.partitions[shard].len());
        if from >= to {
            if settle {
                self.task(shard).durable().expect("the simulation");
            }
            return false;
        }
        let records: Vec<(i64, ShardRecord)> = (from..to)
            .map(|offset| {
                let record =
                    ShardRecord::decode(&self.partitions[shard][offset]).expect("the simulation");
                (offset as i64, record)
            })
            .collect();
        self.task(shard).receive(records).expect("the simulation");
        if settle {
            self.task(shard).durable().expect("the simulation");
        }
        true
    }

    /// Shard `shard` sends what it queued for others; `trim` false plays a
    /// crash before the trim, so the records go again.
    fn send(&mut self, shard: usize, trim: bool) -> bool {
        let outgoing = self
            .task(shard)
            .outgoing(usize::MAX)
            .expect("the simulation");
        if outgoing.is_empty() {
            return false;
        }
        for out in &outgoing {
            if let ShardRecord::Handed(handed) =
                ShardRecord::decode(&out.record).expect("the simulation")
            {
                for moved in &handed.handover.conversions {
                    for (model, version) in &moved.versions {
                        let key = format!("{}/{}", model.name(), moved.id);
                        let top = self.moved_versions.entry(key).or_default();
                        *top = (*top).max(*version);
                    }
                }
            }
            self.partitions[out.shard as usize].push(out.record.clone());
        }
        if trim {
            let seqs: Vec<u64> = outgoing.iter().map(|o| o.seq).collect();
            self.task(shard).sent(&seqs).expect("the simulation");
        } else {
            self.duplicates += outgoing.len();
            self.crash(shard);
        }
        true
    }

    fn crash(&mut self, shard: usize) {
        self.tasks[shard] = None;
        self.tasks[shard] = Some(self.open(shard as u32));
        self.crashes += 1;
    }

    /// Random steps, then everything drained in turn.
    fn run(&mut self, dice: &mut Dice, faults: bool) {
        let shards = self.shards as usize;
        for _ in 0..self.input.len() * 4 {
            match dice.roll(10) {
                0..=3 => {
                    self.route();
                }
                4 => {
                    let commit = !faults || dice.roll(3) > 0;
                    self.decide(commit);
                }
                5..=6 => {
                    let shard = dice.roll(shards);
                    let count = 1 + dice.roll(6);
                    let settle = dice.roll(2) == 0;
                    self.receive(shard, count, settle);
                }
                7 => {
                    let shard = dice.roll(shards);
                    let trim = !faults || dice.roll(4) > 0;
                    self.send(shard, trim);
                }
                8 if faults => {
                    let shard = dice.roll(shards);
                    self.crash(shard);
                }
                9 if faults => self.crash_directory(),
                _ => {}
            }
        }
        for round in 0.. {
            assert!(
                round < 1_000,
                "the topics do not drain: {:?}",
                self.partitions.iter().map(Vec::len).collect::<Vec<_>>()
            );
            let mut moved = false;
            while self.route() {
                moved = true;
            }
            while self.decide(true) {
                moved = true;
            }
            for shard in 0..shards {
                moved |= self.receive(shard, usize::MAX, true);
                moved |= self.send(shard, true);
            }
            if !moved {
                break;
            }
        }
    }

    fn stores(&self) -> Vec<Arc<Store>> {
        self.tasks
            .iter()
            .map(|t| t.as_ref().expect("the simulation").store().clone())
            .collect()
    }
}

/// Each live conversion's credits under every model, versions aside, and
/// every campaign's counters summed, over `stores`.
fn outcome(stores: &[Arc<Store>]) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut sums: BTreeMap<String, [u64; 5]> = BTreeMap::new();
    for store in stores {
        store
            .for_each(Table::Conversions, |key, view: ConversionView| {
                if !view.is_live() {
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
            .expect("the simulation");
        store
            .for_each(Table::Campaigns, |id, v: CampaignView| {
                let sum = sums.entry(format!("campaign:{id}")).or_default();
                let counts = [
                    v.touches,
                    v.responses,
                    v.members,
                    v.responders,
                    v.leads_sourced,
                ];
                for (total, n) in sum.iter_mut().zip(counts) {
                    *total += n;
                }
            })
            .expect("the simulation");
    }
    out.extend(sums.into_iter().map(|(k, v)| (k, format!("{v:?}"))));
    out
}

fn single(events: &[Envelope], config: &EngineConfig) -> BTreeMap<String, String> {
    let dir = tempfile::tempdir().expect("the simulation");
    let store = Arc::new(Store::open(dir.path()).expect("the simulation"));
    let mut engine = Engine::open(store.clone(), config.clone()).expect("the simulation");
    for chunk in events.chunks(500) {
        engine
            .apply(Batch {
                events: chunk.to_vec(),
                ..Batch::default()
            })
            .expect("the simulation");
    }
    outcome(&[store])
}

/// Every person, account and opportunity lives on its group's shard only,
/// and nothing waits: no link event held, no record unsent.
fn assert_settled(sim: &Sim, events: &[Envelope]) {
    let mut directory = Directory::default();
    for envelope in events {
        directory.link_event(&envelope.event);
    }
    for (shard, store) in sim.stores().iter().enumerate() {
        let mut ids: Vec<(StreamKind, String)> = Vec::new();
        store
            .for_each(Table::Persons, |id, _: PersonView| {
                ids.push((StreamKind::Person, id.into()))
            })
            .expect("the simulation");
        store
            .for_each(Table::Accounts, |id, _: AccountView| {
                ids.push((StreamKind::Account, id.into()))
            })
            .expect("the simulation");
        store
            .for_each(Table::Opportunities, |id, _: OpportunityView| {
                ids.push((StreamKind::Opportunity, id.into()))
            })
            .expect("the simulation");
        for (kind, id) in ids {
            let home = shard_of(&directory.key(&Entity::new(kind, &id)), sim.shards);
            assert_eq!(
                home as usize, shard,
                "{kind:?} {id} is on another group's shard"
            );
        }
        // A moved credit set's versions go on above those it reached before.
        store
            .for_each(Table::Conversions, |id, view: ConversionView| {
                for result in &view.results {
                    let key = format!("{}/{id}", result.model.name());
                    if let Some(left) = sim.moved_versions.get(&key) {
                        assert!(
                            result.version > *left,
                            "{key}: {left} then {}",
                            result.version
                        );
                    }
                }
            })
            .expect("the simulation");
        for held in ["shards/pending/", "shards/waiting/", "shards/holding/"] {
            assert!(
                store
                    .extensions(held, None, 10)
                    .expect("the simulation")
                    .is_empty(),
                "shard {shard} holds link events ({held})"
            );
        }
        assert!(
            store
                .extensions("shards/out/", None, 10)
                .expect("the simulation")
                .is_empty(),
            "shard {shard} has records unsent"
        );
    }
}

fn config(account_mode: bool) -> EngineConfig {
    EngineConfig {
        models: Model::ALL.to_vec(),
        settings: AttributionSettings {
            opportunity_touches: if account_mode {
                OpportunityTouches::AccountContacts
            } else {
                OpportunityTouches::ContactRoles
            },
            ..AttributionSettings::default()
        },
        ..EngineConfig::default()
    }
}

/// Runs the events through `shards` simulated shards and compares with one
/// engine; returns the run's hand-overs, crashes and records sent twice.
fn check(
    events: Vec<Envelope>,
    shards: u32,
    seed: u64,
    faults: bool,
    account_mode: bool,
) -> (usize, usize, usize) {
    let config = config(account_mode);
    let want = single(&events, &config);
    let mut sim = Sim::new(events.clone(), shards, config);
    sim.run(&mut Dice(seed | 1), faults);
    assert_settled(&sim, &events);
    let got = outcome(&sim.stores());
    let keys = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        keys(&got),
        keys(&want),
        "the conversions and campaigns differ"
    );
    for (key, value) in &want {
        assert_eq!(&got[key], value, "{key}");
    }
    (sim.hand_overs, sim.crashes, sim.duplicates)
}

#[test]
fn the_worlds_links_meet_through_the_topics_on_every_shard_count() {
    for shards in 1..=4 {
        for account_mode in [false, true] {
            let (hand_overs, ..) = check(
                cross_shard_world(),
                shards,
                7 + u64::from(shards),
                false,
                account_mode,
            );
            assert_eq!(
                hand_overs > 0,
                shards > 1,
                "{shards} shards: {hand_overs} hand-overs"
            );
        }
    }
}

#[test]
fn crashes_and_records_sent_twice_change_nothing() {
    let (mut crashes, mut duplicates) = (0, 0);
    for seed in 1..6 {
        let (_, c, d) = check(cross_shard_world(), 3, seed * 7919, true, seed % 2 == 0);
        crashes += c;
        duplicates += d;
    }
    assert!(
        crashes > 0 && duplicates > 0,
        "{crashes} crashes, {duplicates} sent twice"
    );
}

#[test]
fn a_generated_history_settles_over_three_shards_with_one_engines_credits() {
    let events: Vec<Envelope> = Generator::new(DatasetConfig {
        accounts: 60,
        seed: 5,
        ..DatasetConfig::default()
    })
    .collect();
    let (hand_overs, crashes, _) = check(events, 3, 99, true, true);
    assert!(hand_overs > 0 && crashes > 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn any_order_any_interleaving_any_shard_count(
        order in Just((0..cross_shard_world().len()).collect::<Vec<usize>>()).prop_shuffle(),
        shards in 1u32..5,
        seed in any::<u64>(),
        faults in any::<bool>(),
        account_mode in any::<bool>(),
    ) {
        let world = cross_shard_world();
        let events: Vec<Envelope> = order.iter().map(|&i| world[i].clone()).collect();
        check(events, shards, seed, faults, account_mode);
    }
}
