//! Single inputs that must neither stop the engine nor corrupt a number
//! (issue 8): long merge chains, conflicting duplicates, totals beyond `i64`.

use std::sync::Arc;

use touchline_attribution::{ConversionKind, Model};
use touchline_core::*;
use touchline_engine::{Batch, Engine, EngineConfig, PipelineConfig, Queries};
use touchline_fixtures::{
    EnvelopeFixture, OpportunityFixture, at, envelope, merge, opportunity, touch,
};
use touchline_store::Store;

fn open(dir: &std::path::Path) -> (Engine, Queries) {
    let store = Arc::new(Store::open(dir).expect("open store"));
    let config = EngineConfig {
        models: vec![Model::FirstTouch, Model::LastTouch],
        ..EngineConfig::default()
    };
    let engine = Engine::open(store.clone(), config).expect("open engine");
    (engine, Queries::new(store))
}

fn apply(engine: &mut Engine, events: Vec<Envelope>) -> touchline_engine::BatchOutcome {
    engine
        .apply(Batch {
            events,
            ..Batch::default()
        })
        .expect("apply")
}

#[test]
fn a_merge_chain_of_any_length_resolves_to_the_survivor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, queries) = open(dir.path());
    // p0 into p1, p1 into p2, ... p39 into p40: each merge names the previous
    // survivor, so the chain is 40 hops long from p0.
    let mut events = vec![envelope("t-first", 10, touch("p0", "webinar"))];
    for i in 0..40 {
        events.push(envelope(
            format!("m{i}"),
            100 + i,
            merge(format!("p{}", i + 1), format!("p{i}")),
        ));
    }
    // One batch per event: nothing is resolved in memory along the way.
    for event in events {
        apply(&mut engine, vec![event]);
    }
    apply(
        &mut engine,
        vec![envelope("t-late", 500, touch("p0", "tradeshow"))],
    );
    let survivor = queries.person_touches("p40").expect("query");
    let campaigns: Vec<&str> = survivor.iter().map(|t| t.campaign_id.as_str()).collect();
    assert_eq!(campaigns, ["webinar", "tradeshow"]);
    for i in 0..40 {
        let view = queries
            .person(&format!("p{i}"))
            .expect("query")
            .expect("kept");
        assert!(view.merged_into.is_some(), "p{i} is not merged");
        let rows = queries.person_touches(&format!("p{i}")).expect("query");
        assert!(
            !rows.iter().any(|t| t.campaign_id == "tradeshow"),
            "the late touch landed on p{i}, not on the survivor"
        );
    }
    // Readers follow the chain to its end too: p1 is still 39 hops away.
    let from_p1 = queries
        .surviving_person("p1")
        .expect("query")
        .expect("known");
    assert_eq!(from_p1.person_id, "p40");
    // The lookup that walked the chain pointed p0 straight at the survivor.
    let p0 = queries.person("p0").expect("query").expect("kept");
    assert_eq!(p0.merged_into.as_deref(), Some("p40"));
}

#[test]
fn a_conflicting_duplicate_is_counted_apart_from_a_retry() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, queries) = open(dir.path());
    let original = envelope("e1", 100, touch("p1", "webinar"));
    assert_eq!(apply(&mut engine, vec![original.clone()]).appended, 1);

    // A producer retry, and a re-sent copy recorded later: the same event.
    let recorded_later = original.clone().recorded_at_ms(9_000);
    let retries = apply(&mut engine, vec![original.clone(), recorded_later]);
    assert_eq!((retries.appended, retries.duplicates), (0, 2));
    assert!(retries.conflicting.is_empty());

    // The same id with other content: skipped, reported with the logged copy.
    let other = envelope("e1", 100, touch("p1", "tradeshow"));
    let outcome = apply(&mut engine, vec![other.clone()]);
    assert_eq!((outcome.appended, outcome.duplicates), (0, 0));
    assert_eq!(outcome.conflicting.len(), 1);
    assert_eq!(outcome.conflicting[0].envelope, other);
    assert_eq!(outcome.conflicting[0].logged_seq, Some(0));

    // Within one batch the first copy is kept, whatever the later one says.
    let twins = apply(
        &mut engine,
        vec![
            envelope("e2", 200, touch("p1", "search")),
            envelope("e2", 200, touch("p1", "ads")),
        ],
    );
    assert_eq!((twins.appended, twins.conflicting.len()), (1, 1));

    let p1 = queries.person_touches("p1").expect("query");
    let campaigns: Vec<&str> = p1.iter().map(|t| t.campaign_id.as_str()).collect();
    assert_eq!(campaigns, ["webinar", "search"]);
    let metrics = engine.metrics().snapshot();
    assert_eq!((metrics.duplicates, metrics.conflicting_duplicates), (2, 2));

    assert_eq!(metrics.batches, 4);
    // Each conflict waits in the outbox as a dead letter, written with its batch.
    let letters: Vec<_> = engine
        .store()
        .outbox(1_000)
        .expect("outbox")
        .into_iter()
        .filter_map(|(_, r)| r.dead_letter.map(|d| (r.key, d)))
        .collect();
    assert_eq!(letters.len(), 2);
    assert_eq!(letters[0].0, "e1");
    assert!(
        letters[0]
            .1
            .headers
            .contains(&("touchline.dlq.error".into(), "conflicting_duplicate".into()))
    );
    let skipped: Envelope = serde_json::from_slice(&letters[0].1.value).expect("json");
    assert_eq!(skipped, other);

    // The counters survive a restart, the batch count too.
    drop((engine, queries));
    let (engine, _) = open(dir.path());
    let metrics = engine.metrics().snapshot();
    assert_eq!((metrics.duplicates, metrics.conflicting_duplicates), (2, 2));
    assert_eq!(metrics.batches, 4);
}

#[test]
fn a_conflict_with_the_batch_in_flight_is_found_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, _) = open(dir.path());
    // `submit` leaves the first batch in flight while the second is prepared.
    let (_, previous) = engine
        .submit(Batch {
            events: vec![envelope("e1", 100, touch("p1", "webinar"))],
            ..Batch::default()
        })
        .expect("submit");
    assert!(previous.is_none());
    let (outcome, previous) = engine
        .submit(Batch {
            events: vec![
                envelope("e1", 100, touch("p1", "tradeshow")),
                envelope("e1", 100, touch("p1", "webinar")),
            ],
            ..Batch::default()
        })
        .expect("submit");
    assert!(
        previous.is_some(),
        "the first batch's durability is reported"
    );
    assert_eq!((outcome.duplicates, outcome.conflicting.len()), (1, 1));
    engine.flush().expect("flush");
}

#[test]
fn totals_beyond_i64_do_not_wrap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, queries) = open(dir.path());
    // 10,000 open deals at the largest accepted amount: 10^19 minor units in
    // all, above i64::MAX (about 9.22 × 10^18).
    let deals = 10_000i64;
    let mut events = vec![envelope("t", 1, touch("p", "webinar"))];
    for i in 0..deals {
        events.push(envelope(
            format!("o{i}"),
            10 + i,
            OpportunityCreated {
                stage: "negotiation".into(),
                probability_pct: 100,
                expected_close_at: Some(at(1_000)),
                ..opportunity(format!("opp{i}"), "acc", MAX_AMOUNT_MINOR).with_contact("p")
            },
        ));
    }
    for chunk in events.chunks(2_500) {
        apply(&mut engine, chunk.to_vec());
    }
    let expected = i128::from(deals) * i128::from(MAX_AMOUNT_MINOR);
    assert!(expected > i128::from(i64::MAX));
    let forecast = queries
        .forecast(&PipelineConfig::default())
        .expect("forecast");
    let pipeline: i128 = forecast.months.iter().map(|m| m.pipeline_minor).sum();
    let weighted: i128 = forecast.months.iter().map(|m| m.weighted_minor).sum();
    let per_deal: i128 = forecast
        .deals
        .iter()
        .map(|d| i128::from(d.weighted_minor))
        .sum();
    assert_eq!(pipeline, expected);
    assert_eq!(weighted, per_deal);
    let credited = queries
        .campaign_credits(Model::FirstTouch, ConversionKind::OpportunityCreated)
        .expect("credits");
    assert_eq!(credited.len(), 1);
    assert_eq!(credited[0].value_minor, expected);
    // JSON carries the exact integer.
    let json = serde_json::to_string(&credited[0]).expect("json");
    assert!(
        json.contains("\"value_minor\":10000000000000000000"),
        "{json}"
    );
}

#[test]
fn a_person_past_the_history_limit_keeps_the_earliest_and_latest_touches() {
    use touchline_projection::{EARLIEST_TOUCHES_KEPT, MAX_TOUCH_HISTORY};
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, queries) = open(dir.path());
    let extra = 50;
    let total = MAX_TOUCH_HISTORY + extra;
    // A bot: many touches on two campaigns, and one campaign only in the middle
    // of its history, where touches are set aside.
    let middle = EARLIEST_TOUCHES_KEPT..EARLIEST_TOUCHES_KEPT + extra;
    let events: Vec<Envelope> = (0..total)
        .map(|i| {
            let campaign = if middle.contains(&i) {
                "middle-campaign"
            } else if i % 2 == 0 {
                "web"
            } else {
                "ads"
            };
            envelope(format!("t{i}"), 1_000 + i as i64, touch("bot", campaign))
        })
        .collect();
    for chunk in events.chunks(2_000) {
        apply(&mut engine, chunk.to_vec());
    }
    let bot = queries.person("bot").expect("query").expect("exists");
    let rows = queries.person_touches("bot").expect("query");
    assert_eq!(rows.len(), MAX_TOUCH_HISTORY);
    assert_eq!(bot.touches_kept, MAX_TOUCH_HISTORY as u64);
    assert_eq!(bot.touches_set_aside, extra as u64);
    assert_eq!(bot.touch_count(), total as u64);
    let ids: Vec<&str> = rows.iter().map(|t| t.event_id.as_str()).collect();
    assert_eq!(ids.first(), Some(&"t0"));
    assert_eq!(ids.last(), Some(&format!("t{}", total - 1).as_str()));
    assert!(!rows.iter().any(|t| t.campaign_id == "middle-campaign"));
    // Every touch is in the log, and campaign counts include the set-aside ones.
    assert_eq!(engine.metrics().snapshot().events_appended, total as u64);
    let set_aside = queries
        .campaign("middle-campaign")
        .expect("query")
        .expect("exists");
    assert_eq!((set_aside.touches, set_aside.members), (extra as u64, 1));
    // A touch earlier than every kept one becomes the first touch.
    apply(
        &mut engine,
        vec![envelope("t-early", 1, touch("bot", "referral"))],
    );
    let bot = queries.person("bot").expect("query").expect("exists");
    let rows = queries.person_touches("bot").expect("query");
    assert_eq!(rows.first().map(|t| t.event_id.as_str()), Some("t-early"));
    assert_eq!(bot.first_touch(), rows.first());
    assert_eq!(rows.len(), MAX_TOUCH_HISTORY);
    assert_eq!(bot.touches_set_aside, extra as u64 + 1);
}
