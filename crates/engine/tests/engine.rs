//! The engine's contract: batches in, one atomic commit each; the same input gives
//! the same state however it is batched or interrupted.

mod common;

use common::{envelope, touch};

use std::sync::Arc;

use touchline_attribution::{ConversionKind, Model, NO_TOUCH};
use touchline_core::*;
use touchline_datagen::{DatasetConfig, Generator};
use touchline_engine::{AttributionMessage, Batch, Engine, EngineConfig, Queries};
use touchline_projection::{
    AccountView, CampaignView, ConversionView, OpportunityView, PersonView, RoutingRule,
    RoutingRules,
};
use touchline_store::{PartitionOffset, Store, Table};

/// Every model, and routing rules for the generator's leads without an owner.
fn config() -> EngineConfig {
    let rule = |name: &str, owner: &str, kind: OwnerKind, mediums: &[&str]| RoutingRule {
        mediums: mediums.iter().map(|m| (*m).to_owned()).collect(),
        ..RoutingRule::to(name, owner, kind)
    };
    EngineConfig {
        routing: RoutingRules {
            rules: vec![
                rule("partners", "partner-acme", OwnerKind::Partner, &["partner"]),
                rule("rest", "inside-sales", OwnerKind::Internal, &[]),
            ],
            ..RoutingRules::default()
        },
        ..EngineConfig::default()
    }
}

fn open(dir: &std::path::Path) -> (Engine, Queries) {
    let store = Arc::new(Store::open(dir).expect("open store"));
    let engine = Engine::open(store.clone(), config()).expect("open engine");
    (engine, Queries::new(store))
}

/// An engine computing only first and last touch, for tests about versions.
fn open_first_last(dir: &std::path::Path) -> (Engine, Queries) {
    let store = Arc::new(Store::open(dir).expect("open store"));
    let config = EngineConfig {
        models: vec![Model::FirstTouch, Model::LastTouch],
        ..EngineConfig::default()
    };
    let engine = Engine::open(store.clone(), config).expect("open engine");
    (engine, Queries::new(store))
}

fn dataset(accounts: usize) -> Vec<Envelope> {
    Generator::new(DatasetConfig {
        accounts,
        ..DatasetConfig::default()
    })
    .collect()
}

fn apply_in_batches(engine: &mut Engine, events: &[Envelope], size: usize) {
    for chunk in events.chunks(size) {
        engine
            .apply(Batch {
                events: chunk.to_vec(),
                ..Batch::default()
            })
            .expect("apply");
    }
}

/// Everything a user can see, minus versions (which count publications and so
/// depend on batching by design): people, conversions, and the opportunity,
/// campaign and account views.
type Snapshot = (
    Vec<(String, PersonView)>,
    Vec<(String, String)>,
    Vec<(String, String)>,
);

fn snapshot(store: &Store) -> Snapshot {
    let mut persons = Vec::new();
    store
        .for_each(Table::Persons, |k, mut v: PersonView| {
            // Log positions are equal too, but say so explicitly: only content counts.
            v.last_seq = 0;
            persons.push((k.to_owned(), v));
        })
        .expect("persons");
    let mut others = Vec::new();
    store
        .for_each(Table::Opportunities, |k, mut v: OpportunityView| {
            v.last_seq = 0;
            others.push((format!("opportunity/{k}"), format!("{v:?}")));
        })
        .expect("opportunities");
    store
        .for_each(Table::Campaigns, |k, mut v: CampaignView| {
            v.last_seq = 0;
            others.push((format!("campaign/{k}"), format!("{v:?}")));
        })
        .expect("campaigns");
    store
        .for_each(Table::Accounts, |k, mut v: AccountView| {
            v.last_seq = 0;
            others.push((format!("account/{k}"), format!("{v:?}")));
        })
        .expect("accounts");
    let mut conversions = Vec::new();
    store
        .for_each(Table::Conversions, |k, v: ConversionView| {
            let credits: Vec<_> = v
                .results
                .iter()
                .map(|r| (r.model, r.attribution.clone()))
                .collect();
            conversions.push((k.to_owned(), format!("{:?} {credits:?}", v.conversion)));
        })
        .expect("conversions");
    (persons, conversions, others)
}

/// The rep alerts waiting in the outbox, in order.
fn alerts(store: &Store) -> Vec<String> {
    store
        .outbox(usize::MAX)
        .expect("outbox")
        .into_iter()
        .filter_map(|(_, r)| r.alert)
        .map(|v| String::from_utf8(v).expect("utf-8"))
        .collect()
}

#[test]
fn state_does_not_depend_on_batch_boundaries() {
    let events = dataset(150);
    let mut snapshots = Vec::new();
    let mut alert_lists = Vec::new();
    for size in [1, 7, 10_000] {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut engine, _) = open(dir.path());
        apply_in_batches(&mut engine, &events, size);
        snapshots.push(snapshot(engine.store()));
        alert_lists.push(alerts(engine.store()));
    }
    assert_eq!(alert_lists[0], alert_lists[1]);
    assert_eq!(alert_lists[0], alert_lists[2]);
    assert!(!snapshots[0].0.is_empty() && !snapshots[0].1.is_empty());
    for i in 1..snapshots.len() {
        for (a, b) in snapshots[0].1.iter().zip(&snapshots[i].1) {
            assert_eq!(a, b, "batch variant {i}: first differing conversion");
        }
        assert_eq!(
            snapshots[0].1.len(),
            snapshots[i].1.len(),
            "batch variant {i}: conversion count"
        );
    }
    assert_eq!(snapshots[0], snapshots[1]);
    assert_eq!(snapshots[0], snapshots[2]);
}

#[test]
fn stopping_and_reopening_mid_stream_ends_in_the_same_state() {
    let events = dataset(120);
    let straight = tempfile::tempdir().expect("tempdir");
    {
        let (mut engine, _) = open(straight.path());
        apply_in_batches(&mut engine, &events, 64);
    }
    let interrupted = tempfile::tempdir().expect("tempdir");
    let half = events.len() / 2;
    {
        let (mut engine, _) = open(interrupted.path());
        apply_in_batches(&mut engine, &events[..half], 64);
    }
    {
        // Restart, and the source re-delivers a little of what was already applied.
        let (mut engine, _) = open(interrupted.path());
        apply_in_batches(&mut engine, &events[half - 10..], 64);
        assert_eq!(
            engine.metrics().snapshot().duplicates,
            10 + count_retries(&events)
        );
    }
    let a = Store::open(straight.path()).expect("open");
    let b = Store::open(interrupted.path()).expect("open");
    assert_eq!(snapshot(&a), snapshot(&b));
    assert_eq!(
        a.meta_u64("next_seq").expect("meta"),
        b.meta_u64("next_seq").expect("meta")
    );
}

/// The generator re-delivers a few events on purpose (producer retries).
fn count_retries(events: &[Envelope]) -> u64 {
    let mut seen = std::collections::HashSet::new();
    events.iter().filter(|e| !seen.insert(&e.event_id)).count() as u64
}

fn at(ms: i64) -> Timestamp {
    Timestamp::from_millis(ms)
}

fn lead(id: &str, ms: i64, person: &str) -> Envelope {
    envelope(
        id,
        ms,
        Event::LeadCreated(LeadCreated {
            person_id: person.into(),
            email: String::new(),
            phone: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            company: String::new(),
            account_id: String::new(),
            source: None,
            owner_id: String::new(),
        }),
    )
}

fn opportunity(id: &str, ms: i64, opp: &str, contact: &str, amount: i64) -> Envelope {
    envelope(
        id,
        ms,
        Event::OpportunityCreated(OpportunityCreated {
            opportunity_id: opp.into(),
            account_id: "acc".into(),
            name: String::new(),
            stage: "qualification".into(),
            amount: Money::new(amount, "EUR"),
            probability_pct: 20,
            expected_close_at: None,
            primary_contact_id: contact.into(),
            owner_id: String::new(),
            partner_id: String::new(),
        }),
    )
}

fn outbox_messages(store: &Store) -> Vec<(String, Option<AttributionMessage>)> {
    store
        .outbox(10_000)
        .expect("outbox")
        .into_iter()
        .map(|(_, r)| {
            let value = touchline_engine::render_attribution(store, &r.key)
                .expect("render")
                .map(|v| serde_json::from_slice(&v).expect("json message"));
            (r.key, value)
        })
        .collect()
}

#[test]
fn a_late_touch_publishes_a_new_version_of_first_touch_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, queries) = open_first_last(dir.path());
    let batch = |events| Batch {
        events,
        ..Batch::default()
    };
    engine
        .apply(batch(vec![
            touch("t2", 200, "p", "webinar"),
            lead("l", 300, "p"),
        ]))
        .expect("apply");
    engine
        .store()
        .remove_outbox_through(u64::MAX - 1)
        .expect("trim");
    // Recorded now, happened before everything else.
    engine
        .apply(batch(vec![touch("t1", 100, "p", "tradeshow")]))
        .expect("apply");
    let published = outbox_messages(engine.store());
    assert_eq!(published.len(), 1, "{published:?}");
    let (key, message) = &published[0];
    assert_eq!(key, "first_touch/lead_created:p");
    let message = message.as_ref().expect("not a tombstone");
    assert_eq!(message.version, 2);
    assert_eq!(message.credits[0].campaign_id, "tradeshow");
    let view = queries
        .conversion("lead_created:p")
        .expect("query")
        .expect("exists");
    assert_eq!(view.result(Model::LastTouch).map(|r| r.version), Some(1));
}

#[test]
fn opportunity_pipeline_is_credited_from_every_contact_in_exact_cents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, queries) = open(dir.path());
    engine
        .apply(Batch {
            events: vec![
                touch("a1", 100, "alice", "search"),
                touch("b1", 50, "bob", "tradeshow"),
                touch("a2", 400, "alice", "webinar"),
                opportunity("o", 300, "opp", "alice", 12_345_67),
                envelope(
                    "role",
                    310,
                    Event::OpportunityContactRoleAdded(OpportunityContactRoleAdded {
                        opportunity_id: "opp".into(),
                        person_id: "bob".into(),
                        role: "decision maker".into(),
                    }),
                ),
            ],
            ..Batch::default()
        })
        .expect("apply");
    let view = queries
        .conversion("opportunity_created:opp")
        .expect("query")
        .expect("exists");
    let first = &view
        .result(Model::FirstTouch)
        .expect("first")
        .attribution
        .credits;
    assert_eq!(
        (first[0].campaign_id.as_str(), first[0].amount_minor),
        ("tradeshow", Some(12_345_67))
    );
    // a2 (400) is after the opportunity (300): the last touch is a1.
    let last = &view
        .result(Model::LastTouch)
        .expect("last")
        .attribution
        .credits;
    assert_eq!(last[0].campaign_id, "search");
    let report = queries
        .campaign_credits(Model::FirstTouch, ConversionKind::OpportunityCreated)
        .expect("report");
    assert_eq!(report[0].campaign_id, "tradeshow");
    assert_eq!(report[0].value_minor, 12_345_67);
}

#[test]
fn a_conversion_without_touches_is_credited_to_no_touch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, queries) = open(dir.path());
    engine
        .apply(Batch {
            events: vec![lead("l", 300, "p")],
            ..Batch::default()
        })
        .expect("apply");
    let report = queries
        .campaign_credits(Model::LastTouch, ConversionKind::LeadCreated)
        .expect("report");
    assert_eq!(report.len(), 1);
    assert_eq!(report[0].campaign_id, NO_TOUCH);
    assert_eq!(report[0].conversions, 1.0);
    let unattributed = queries
        .unattributed(
            Model::LastTouch,
            ConversionKind::LeadCreated,
            Default::default(),
        )
        .expect("report");
    assert_eq!(unattributed.len(), 1);
    assert_eq!(
        unattributed[0].reason,
        touchline_attribution::Unattributed::NoTouches
    );
    assert_eq!(
        (
            unattributed[0].conversions,
            unattributed[0].examples.clone()
        ),
        (1, vec!["lead_created:p".to_owned()])
    );
}

#[test]
fn a_merge_moves_history_to_the_survivor_and_retracts_the_duplicate_lead() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, queries) = open_first_last(dir.path());
    engine
        .apply(Batch {
            events: vec![
                touch("t1", 100, "dup", "tradeshow"),
                lead("l-dup", 150, "dup"),
                touch("t2", 200, "main", "webinar"),
                lead("l-main", 250, "main"),
            ],
            ..Batch::default()
        })
        .expect("apply");
    engine
        .store()
        .remove_outbox_through(u64::MAX - 1)
        .expect("trim");
    engine
        .apply(Batch {
            events: vec![
                envelope(
                    "m",
                    300,
                    Event::PersonsMerged(PersonsMerged {
                        surviving_person_id: "main".into(),
                        merged_person_id: "dup".into(),
                        reason: "same e-mail".into(),
                    }),
                ),
                // Later events naming the merged id land on the survivor.
                touch("t3", 50, "dup", "referral"),
            ],
            ..Batch::default()
        })
        .expect("apply");
    let main = queries.person("main").expect("query").expect("exists");
    let campaigns: Vec<_> = main
        .touches
        .iter()
        .map(|t| t.campaign_id.as_str())
        .collect();
    assert_eq!(campaigns, ["referral", "tradeshow", "webinar"]);
    assert_eq!(
        main.lead_created_at,
        Some(at(150)),
        "earliest creation wins"
    );
    assert_eq!(
        queries
            .person("dup")
            .expect("query")
            .expect("kept")
            .merged_into
            .as_deref(),
        Some("main")
    );
    assert!(
        queries
            .conversion("lead_created:dup")
            .expect("query")
            .is_none()
    );
    let published = outbox_messages(engine.store());
    let tombstones: Vec<_> = published
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        tombstones,
        [
            "first_touch/lead_created:dup",
            "last_touch/lead_created:dup"
        ]
    );
    let first = queries
        .conversion("lead_created:main")
        .expect("query")
        .expect("exists");
    assert_eq!(
        first
            .result(Model::FirstTouch)
            .expect("first")
            .attribution
            .credits[0]
            .campaign_id,
        "referral"
    );
}

#[test]
fn offsets_commit_with_the_batch_and_dead_letters_are_counted() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (mut engine, _) = open(dir.path());
        engine
            .apply(Batch {
                events: vec![touch("t1", 100, "p", "c")],
                offsets: vec![PartitionOffset {
                    topic: "in".into(),
                    partition: 2,
                    next_offset: 11,
                }],
                dead_lettered: 3,
                ..Batch::default()
            })
            .expect("apply");
    }
    let (engine, _) = open(dir.path());
    assert_eq!(
        engine.offsets().expect("offsets"),
        vec![PartitionOffset {
            topic: "in".into(),
            partition: 2,
            next_offset: 11
        }]
    );
    let metrics = engine.metrics().snapshot();
    assert_eq!((metrics.events_appended, metrics.dead_lettered), (1, 3));
}

#[test]
fn pipelined_submits_end_in_the_same_state_as_waiting_for_each_batch() {
    let events = dataset(150);
    let waited = tempfile::tempdir().expect("tempdir");
    {
        let (mut engine, _) = open(waited.path());
        apply_in_batches(&mut engine, &events, 50);
    }
    let pipelined = tempfile::tempdir().expect("tempdir");
    {
        let (mut engine, _) = open(pipelined.path());
        for chunk in events.chunks(50) {
            // Each submit reads through the previous batch, which may still be in flight.
            engine
                .submit(Batch {
                    events: chunk.to_vec(),
                    ..Batch::default()
                })
                .expect("submit");
        }
        engine.flush().expect("flush");
    }
    let a = Store::open(waited.path()).expect("open");
    let b = Store::open(pipelined.path()).expect("open");
    assert_eq!(snapshot(&a), snapshot(&b));
}

#[test]
fn an_event_repeated_while_its_batch_is_in_flight_is_a_duplicate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, queries) = open(dir.path());
    let (first, _) = engine
        .submit(Batch {
            events: vec![touch("a", 1, "p", "c"), touch("b", 2, "p", "c")],
            ..Batch::default()
        })
        .expect("submit");
    let (second, durable) = engine
        .submit(Batch {
            events: vec![touch("b", 2, "p", "c"), touch("c", 3, "p", "c")],
            ..Batch::default()
        })
        .expect("submit");
    assert!(
        durable.is_some(),
        "the first batch is durable once the second is submitted"
    );
    assert_eq!(
        (first.appended, second.appended, second.duplicates),
        (2, 1, 1)
    );
    engine.flush().expect("flush");
    assert_eq!(
        queries
            .person("p")
            .expect("query")
            .expect("exists")
            .touches
            .len(),
        3
    );
    assert_eq!(engine.metrics().snapshot().events_appended, 3);
}

fn status(id: &str, ms: i64, person: &str, status: LeadStatus) -> Envelope {
    envelope(
        id,
        ms,
        Event::LeadUpdated(LeadUpdated {
            person_id: person.into(),
            owner_id: None,
            status: Some(status),
            qualification: None,
        }),
    )
}

#[test]
fn qualified_leads_and_won_deals_are_conversions_and_a_reopened_deal_is_retracted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, queries) = open_first_last(dir.path());
    let batch = |events| Batch {
        events,
        ..Batch::default()
    };
    engine
        .apply(batch(vec![
            touch("t1", 100, "p", "search"),
            lead("l", 150, "p"),
            touch("t2", 200, "p", "webinar"),
            status("q", 250, "p", LeadStatus::Qualified),
            opportunity("o", 300, "opp", "p", 10_000_00),
            touch("t3", 350, "p", "demo"),
            envelope(
                "won",
                400,
                Event::OpportunityClosed(OpportunityClosed {
                    opportunity_id: "opp".into(),
                    won: true,
                    amount: Money::new(12_500_00, "EUR"),
                    partner_id: String::new(),
                }),
            ),
        ]))
        .expect("apply");
    let qualified = queries
        .conversion("lead_qualified:p")
        .expect("query")
        .expect("exists");
    assert_eq!(qualified.conversion.occurred_at, at(250));
    assert_eq!(
        qualified
            .result(Model::LastTouch)
            .expect("last")
            .attribution
            .credits[0]
            .campaign_id,
        "webinar"
    );
    let won = queries
        .conversion("opportunity_won:opp")
        .expect("query")
        .expect("exists");
    // Revenue is the closed amount, not the pipeline amount.
    let last = &won
        .result(Model::LastTouch)
        .expect("last")
        .attribution
        .credits[0];
    assert_eq!(
        (last.campaign_id.as_str(), last.amount_minor),
        ("demo", Some(12_500_00))
    );
    assert_eq!(won.conversion.milestones.closed_won, Some(at(400)));
    let report = queries
        .campaign_credits(Model::FirstTouch, ConversionKind::OpportunityWon)
        .expect("report");
    assert_eq!(
        (report[0].campaign_id.as_str(), report[0].value_minor),
        ("search", 12_500_00)
    );

    // Reopened: the deal is no longer won, so its revenue credit is retracted.
    engine
        .store()
        .remove_outbox_through(u64::MAX - 1)
        .expect("trim");
    engine
        .apply(batch(vec![envelope(
            "reopen",
            500,
            Event::OpportunityUpdated(OpportunityUpdated {
                opportunity_id: "opp".into(),
                stage: Some("negotiation".into()),
                amount: None,
                probability_pct: Some(60),
                expected_close_at: None,
            }),
        )]))
        .expect("apply");
    assert!(
        queries
            .conversion("opportunity_won:opp")
            .expect("query")
            .is_none()
    );
    let tombstones: Vec<_> = outbox_messages(engine.store())
        .into_iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        tombstones,
        [
            "first_touch/opportunity_won:opp",
            "last_touch/opportunity_won:opp"
        ]
    );
    // Won again: the credit set comes back above its last version, never at 1,
    // so a consumer keeping the highest version takes it.
    engine
        .apply(batch(vec![envelope(
            "won-again",
            600,
            Event::OpportunityClosed(OpportunityClosed {
                opportunity_id: "opp".into(),
                won: true,
                amount: Money::new(13_000_00, "EUR"),
                partner_id: String::new(),
            }),
        )]))
        .expect("apply");
    let won = queries
        .conversion("opportunity_won:opp")
        .expect("query")
        .expect("won again");
    assert_eq!(won.result(Model::FirstTouch).map(|r| r.version), Some(2));
}

#[test]
fn dropping_a_model_from_the_config_retracts_its_credit_sets() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (mut engine, _) = open(dir.path());
        engine
            .apply(Batch {
                events: vec![touch("t1", 100, "p", "search"), lead("l", 150, "p")],
                ..Batch::default()
            })
            .expect("apply");
        engine
            .store()
            .remove_outbox_through(u64::MAX - 1)
            .expect("trim");
    }
    // Reopening with fewer models recomputes at once, without waiting for an event.
    let (engine, queries) = open_first_last(dir.path());
    let view = queries
        .conversion("lead_created:p")
        .expect("query")
        .expect("exists");
    assert_eq!(
        view.results.iter().map(|r| r.model).collect::<Vec<_>>(),
        [Model::FirstTouch, Model::LastTouch]
    );
    let retracted: Vec<String> = outbox_messages(engine.store())
        .into_iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k)
        .collect();
    assert_eq!(retracted.len(), Model::ALL.len() - 2, "{retracted:?}");
    assert!(retracted.contains(&"linear/lead_created:p".to_owned()));
}

#[test]
fn changing_the_model_config_and_restarting_recomputes_every_conversion() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let (mut engine, _) = open_first_last(dir.path());
        apply_in_batches(&mut engine, &dataset(40), 500);
    }
    let store = Arc::new(Store::open(dir.path()).expect("open store"));
    let slow_decay = EngineConfig {
        settings: touchline_attribution::AttributionSettings {
            params: touchline_attribution::ModelParams {
                time_decay_half_life_days: 30.0,
                ..Default::default()
            },
            ..Default::default()
        },
        ..EngineConfig::default()
    };
    let engine = Engine::open(store.clone(), slow_decay.clone()).expect("reopen with every model");
    let queries = Queries::new(store.clone());
    let mut leads = 0;
    store
        .for_each(Table::Conversions, |_, view: ConversionView| {
            assert_eq!(
                view.results.len(),
                Model::ALL.len(),
                "{}",
                view.conversion.id
            );
            leads += 1;
        })
        .expect("conversions");
    assert!(leads > 40);
    // Every recomputed credit set was queued for publishing.
    assert!(
        engine.metrics().snapshot().attribution_versions >= (leads * Model::ALL.len()) as u64 / 2
    );
    drop(engine);
    // The same configuration again: nothing to do, versions stay.
    let before = queries
        .campaign_credits(Model::TimeDecay, ConversionKind::LeadCreated)
        .expect("report");
    let versions = store.meta_u64("attribution_versions").expect("meta");
    let engine = Engine::open(store.clone(), slow_decay).expect("reopen unchanged");
    assert_eq!(
        store.meta_u64("attribution_versions").expect("meta"),
        versions
    );
    assert_eq!(
        queries
            .campaign_credits(Model::TimeDecay, ConversionKind::LeadCreated)
            .expect("report"),
        before
    );
    drop(engine);
}

#[test]
fn as_of_rebuilds_the_past_and_names_what_moved_since() {
    use touchline_engine::as_of::{MoveReason, moved_since, rebuild_as_of};
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, now) = open_first_last(dir.path());
    let mut late = touch("t1", 100, "p", "tradeshow");
    late.recorded_at = at(1_000); // scanned at the booth, typed in later
    let mut later_lead = lead("l2", 2_000, "q");
    later_lead.recorded_at = at(2_000);
    engine
        .apply(Batch {
            events: vec![
                touch("t2", 200, "p", "webinar"),
                lead("l", 300, "p"),
                late,
                later_lead,
            ],
            ..Batch::default()
        })
        .expect("apply");
    let config = EngineConfig {
        models: vec![Model::FirstTouch, Model::LastTouch],
        ..EngineConfig::default()
    };
    let scratch = tempfile::tempdir().expect("tempdir");
    let then = rebuild_as_of(engine.store(), at(500), config, scratch.path()).expect("as of");
    let said_then = then
        .conversion("lead_created:p")
        .expect("query")
        .expect("existed then");
    assert_eq!(
        said_then
            .result(Model::FirstTouch)
            .expect("first")
            .attribution
            .credits[0]
            .campaign_id,
        "webinar"
    );
    let moved = moved_since(
        &then,
        &now,
        Model::FirstTouch,
        ConversionKind::LeadCreated,
        at(500),
    )
    .expect("diff");
    let summary: Vec<(&str, Vec<MoveReason>)> = moved
        .iter()
        .map(|m| (m.conversion_id.as_str(), m.reasons.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            ("lead_created:p", vec![MoveReason::LateTouch]),
            ("lead_created:q", vec![MoveReason::NewConversion])
        ]
    );
    // Last touch did not move for p: the late touch came first, not last.
    let last = moved_since(
        &then,
        &now,
        Model::LastTouch,
        ConversionKind::LeadCreated,
        at(500),
    )
    .expect("diff");
    assert_eq!(
        last.iter()
            .map(|m| m.conversion_id.as_str())
            .collect::<Vec<_>>(),
        ["lead_created:q"]
    );
}

#[test]
fn b2b_opportunities_can_draw_on_every_contact_of_the_account() {
    let events = || {
        let mut lead_in_account = lead("l-carol", 50, "carol");
        if let Event::LeadCreated(l) = &mut lead_in_account.event {
            l.account_id = "acc".into();
        }
        vec![
            touch("c1", 10, "carol", "events"), // carol works at the account but has no role
            lead_in_account,
            touch("a1", 100, "alice", "search"),
            opportunity("o", 300, "opp", "alice", 100_00),
        ]
    };
    let first_touch = |config: EngineConfig| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(dir.path()).expect("open"));
        let mut engine = Engine::open(store.clone(), config).expect("engine");
        engine
            .apply(Batch {
                events: events(),
                ..Batch::default()
            })
            .expect("apply");
        let view = Queries::new(store)
            .conversion("opportunity_created:opp")
            .expect("query")
            .expect("exists");
        view.result(Model::FirstTouch)
            .expect("first")
            .attribution
            .credits[0]
            .campaign_id
            .clone()
    };
    assert_eq!(
        first_touch(EngineConfig::default()),
        "search",
        "contact roles only: alice"
    );
    let account_wide = EngineConfig {
        settings: touchline_attribution::AttributionSettings {
            opportunity_touches: touchline_attribution::OpportunityTouches::AccountContacts,
            ..Default::default()
        },
        ..EngineConfig::default()
    };
    assert_eq!(
        first_touch(account_wide),
        "events",
        "every contact of the account: carol first"
    );
}

mod batching {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

        /// Any split of the stream into batches, pipelined or not, ends in the same
        /// views and credits.
        #[test]
        fn any_batching_gives_the_same_attribution(cuts in prop::collection::vec(1usize..120, 1..40), pipelined in any::<bool>()) {
            let events = dataset(25);
            let reference = tempfile::tempdir().expect("tempdir");
            {
                let (mut engine, _) = open(reference.path());
                apply_in_batches(&mut engine, &events, events.len());
            }
            let split = tempfile::tempdir().expect("tempdir");
            {
                let (mut engine, _) = open(split.path());
                let mut rest = &events[..];
                for cut in cuts.iter().cycle() {
                    if rest.is_empty() {
                        break;
                    }
                    let (batch, tail) = rest.split_at((*cut).min(rest.len()));
                    let batch = Batch { events: batch.to_vec(), ..Batch::default() };
                    if pipelined {
                        engine.submit(batch).expect("submit");
                    } else {
                        engine.apply(batch).expect("apply");
                    }
                    rest = tail;
                }
                engine.flush().expect("flush");
            }
                        let a = Store::open(reference.path()).expect("open");
            let b = Store::open(split.path()).expect("open");
            prop_assert_eq!(snapshot(&a), snapshot(&b));
            prop_assert_eq!(alerts(&a), alerts(&b));
        }
    }
}

#[test]
fn account_wide_attribution_follows_a_touch_that_arrives_in_a_later_batch() {
    let account_wide = || EngineConfig {
        settings: touchline_attribution::AttributionSettings {
            opportunity_touches: touchline_attribution::OpportunityTouches::AccountContacts,
            ..Default::default()
        },
        ..EngineConfig::default()
    };
    let events = [
        opportunity("o1", 100, "opp-1", "carol", 100_00), // carol joins the account here
        opportunity("o2", 300, "opp-2", "alice", 100_00),
        touch("a1", 200, "alice", "search"),
        touch("c1", 150, "carol", "events"), // recorded last, happened first
    ];
    let first_touch_of_opp2 = |cut: usize| {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(dir.path()).expect("open"));
        let mut engine = Engine::open(store.clone(), account_wide()).expect("engine");
        for chunk in [&events[..cut], &events[cut..]] {
            engine
                .apply(Batch {
                    events: chunk.to_vec(),
                    ..Batch::default()
                })
                .expect("apply");
        }
        let view = Queries::new(store)
            .conversion("opportunity_created:opp-2")
            .expect("query")
            .expect("exists");
        view.result(Model::FirstTouch)
            .expect("first")
            .attribution
            .credits[0]
            .campaign_id
            .clone()
    };
    for cut in 0..=events.len() {
        assert_eq!(first_touch_of_opp2(cut), "events", "cut after {cut} events");
    }
}

#[test]
fn a_stage_change_from_before_the_close_that_arrives_late_does_not_reopen_the_deal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, queries) = open_first_last(dir.path());
    engine
        .apply(Batch {
            events: vec![
                touch("t", 100, "p", "search"),
                opportunity("o", 200, "opp", "p", 10_00),
                envelope(
                    "won",
                    400,
                    Event::OpportunityClosed(OpportunityClosed {
                        opportunity_id: "opp".into(),
                        won: true,
                        amount: Money::new(10_00, "EUR"),
                        partner_id: String::new(),
                    }),
                ),
                envelope(
                    "late-stage",
                    300,
                    Event::OpportunityUpdated(OpportunityUpdated {
                        opportunity_id: "opp".into(),
                        stage: Some("proposal".into()),
                        amount: None,
                        probability_pct: None,
                        expected_close_at: None,
                    }),
                ),
            ],
            ..Batch::default()
        })
        .expect("apply");
    let opp = queries.opportunity("opp").expect("query").expect("exists");
    assert!(opp.closed.as_ref().is_some_and(|c| c.won), "still won");
    let stages: Vec<&str> = opp.stage_history.iter().map(|c| c.stage.as_str()).collect();
    assert_eq!(
        stages,
        ["qualification", "proposal", "closed_won"],
        "history in time order"
    );
    assert!(
        queries
            .conversion("opportunity_won:opp")
            .expect("query")
            .is_some()
    );
}

#[test]
fn replay_rebuilds_exactly_the_live_state_from_the_log_for_100k_events() {
    let events = dataset(6_700);
    assert!(events.len() >= 100_000, "{} events", events.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, queries) = open(dir.path());
    apply_in_batches(&mut engine, &events, 5_000);
    let live = snapshot(engine.store());
    // The history exercises routing and rep alerts, which a replay must repeat
    // from the log, not decide again.
    assert!(live.0.iter().any(|(_, p)| !p.routing.is_empty()));
    assert!(!alerts(engine.store()).is_empty());
    // Each account keeps the alerts it published, the latest 50.
    let mut published: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for alert in alerts(engine.store()) {
        let alert: touchline_engine::ActivityAlert = serde_json::from_str(&alert).expect("alert");
        published
            .entry(alert.account_id.clone())
            .or_default()
            .push(alert.alert_id);
    }
    for (account_id, ids) in &published {
        let account: touchline_projection::AccountView = engine
            .store()
            .get(Table::Accounts, account_id)
            .expect("read")
            .expect("the account");
        let kept: Vec<&String> = account.recent_alerts.iter().map(|a| &a.alert_id).collect();
        let latest: Vec<&String> = ids.iter().skip(ids.len().saturating_sub(50)).collect();
        assert_eq!(kept, latest, "{account_id}");
    }
    let versions_before: Vec<(String, u64)> = {
        let mut v = Vec::new();
        engine
            .store()
            .for_each(Table::Conversions, |id, view: ConversionView| {
                for r in &view.results {
                    v.push((format!("{}/{id}", r.model.name()), r.version));
                }
            })
            .expect("conversions");
        v
    };
    let mut calls = 0;
    engine
        .rebuild(|done, total| {
            calls += 1;
            assert!(done <= total);
        })
        .expect("rebuild");
    assert!(calls >= 2, "progress reported per page (50,000 events)");
    assert_eq!(
        snapshot(engine.store()),
        live,
        "replayed views equal live views exactly"
    );
    // Versions only move up, so consumers keeping the highest take the rebuilt sets.
    for (key, before) in versions_before.iter().step_by(97) {
        let (model, id) = key.split_once('/').expect("key");
        let view = queries.conversion(id).expect("query").expect("still there");
        let after = view
            .result(Model::parse(model).expect("model"))
            .expect("result")
            .version;
        assert!(after > *before, "{key}: {before} -> {after}");
    }
}
