//! The engine's contract: batches in, one atomic commit each; the same input gives
//! the same state however it is batched or interrupted.

mod common;

use common::state::*;

use std::sync::Arc;

use touchline_attribution::{ConversionKind, Model, NO_TOUCH};
use touchline_core::*;
use touchline_engine::{Batch, Engine, EngineConfig, PublishedAttribution, Queries};
use touchline_fixtures::*;
use touchline_projection::ConversionView;
use touchline_store::{PartitionOffset, Store, Table};

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

fn outbox_messages(store: &Store) -> Vec<(String, Option<PublishedAttribution>)> {
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
            envelope("t2", 200, touch("p", "webinar")),
            envelope("l", 300, lead("p")),
        ]))
        .expect("apply");
    engine
        .store()
        .remove_outbox_through(u64::MAX - 1)
        .expect("trim");
    // Recorded now, happened before everything else.
    engine
        .apply(batch(vec![envelope("t1", 100, touch("p", "tradeshow"))]))
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
                envelope("a1", 100, touch("alice", "search")),
                envelope("b1", 50, touch("bob", "tradeshow")),
                envelope("a2", 400, touch("alice", "webinar")),
                envelope(
                    "o",
                    300,
                    opportunity("opp", "acc", 12_345_67).with_contact("alice"),
                ),
                envelope("role", 310, contact_role("opp", "bob", "decision maker")),
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
            events: vec![envelope("l", 300, lead("p"))],
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
                envelope("t1", 100, touch("dup", "tradeshow")),
                envelope("l-dup", 150, lead("dup")),
                envelope("t2", 200, touch("main", "webinar")),
                envelope("l-main", 250, lead("main")),
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
                    PersonsMerged {
                        reason: "same e-mail".into(),
                        ..merge("main", "dup")
                    },
                ),
                // Later events naming the merged id land on the survivor.
                envelope("t3", 50, touch("dup", "referral")),
            ],
            ..Batch::default()
        })
        .expect("apply");
    let main = queries.person("main").expect("query").expect("exists");
    let main_touches = queries.person_touches("main").expect("query");
    let campaigns: Vec<_> = main_touches
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
                events: vec![envelope("t1", 100, touch("p", "c"))],
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
            events: vec![
                envelope("a", 1, touch("p", "c")),
                envelope("b", 2, touch("p", "c")),
            ],
            ..Batch::default()
        })
        .expect("submit");
    let (second, durable) = engine
        .submit(Batch {
            events: vec![
                envelope("b", 2, touch("p", "c")),
                envelope("c", 3, touch("p", "c")),
            ],
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
    assert_eq!(queries.person_touches("p").expect("query").len(), 3);
    assert_eq!(engine.metrics().snapshot().events_appended, 3);
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
            envelope("t1", 100, touch("p", "search")),
            envelope("l", 150, lead("p")),
            envelope("t2", 200, touch("p", "webinar")),
            envelope(
                "q",
                250,
                LeadUpdated {
                    status: Some(LeadStatus::Qualified),
                    ..lead_updated("p")
                },
            ),
            envelope(
                "o",
                300,
                opportunity("opp", "acc", 10_000_00).with_contact("p"),
            ),
            envelope("t3", 350, touch("p", "demo")),
            envelope("won", 400, won("opp", 12_500_00)),
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
            OpportunityUpdated {
                probability_pct: Some(60),
                ..stage("opp", "negotiation")
            },
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
            touchline_fixtures::won("opp", 13_000_00),
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
                events: vec![
                    envelope("t1", 100, touch("p", "search")),
                    envelope("l", 150, lead("p")),
                ],
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
    // Scanned at the booth, typed in later.
    let late = envelope("t1", 100, touch("p", "tradeshow")).recorded_at_ms(1_000);
    let later_lead = envelope("l2", 2_000, lead("q")).recorded_at_ms(2_000);
    engine
        .apply(Batch {
            events: vec![
                envelope("t2", 200, touch("p", "webinar")),
                envelope("l", 300, lead("p")),
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
