//! A person's touches are rows of their own (`person_touches`): the history
//! limit keeps the same touches as when the history was one list, whatever the
//! arrival order, the batching and whether the rows were read; a merge moves
//! the rows to the survivor; a replay writes the same rows.

use std::sync::Arc;

use touchline_attribution::Model;
use touchline_core::*;
use touchline_engine::{Batch, Engine, EngineConfig, Queries};
use touchline_fixtures::{envelope, lead, merge, touch};
use touchline_projection::{EARLIEST_TOUCHES_KEPT, MAX_TOUCH_HISTORY, TouchEntry};
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

fn batch(events: Vec<Envelope>) -> Batch {
    Batch {
        events,
        ..Batch::default()
    }
}

/// The order a small linear congruential generator shuffles `0..n` into:
/// the same every run.
fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut state = seed;
    for i in (1..n).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        order.swap(i, (state >> 33) as usize % (i + 1));
    }
    order
}

fn ids(rows: &[TouchEntry]) -> Vec<String> {
    rows.iter().map(|t| t.event_id.clone()).collect()
}

#[test]
fn a_history_past_the_limit_keeps_the_same_touches_whatever_the_order_and_batching() {
    let extra = 300;
    let total = MAX_TOUCH_HISTORY + extra;
    // Every third touch shares its time with the one before: event ids break the tie.
    let touches: Vec<Envelope> = (0..total)
        .map(|i| {
            let at = 1_000 + (i - i % 3 / 2) as i64;
            envelope(format!("t{i:05}"), at, touch("bot", format!("c{}", i % 11)))
        })
        .collect();
    // What one list kept: the earliest and the latest in attribution order.
    let mut order: Vec<(Timestamp, String)> = touches
        .iter()
        .map(|e| (e.occurred_at, e.event_id.clone()))
        .collect();
    order.sort();
    let latest = MAX_TOUCH_HISTORY - EARLIEST_TOUCHES_KEPT;
    let expected: Vec<String> = order[..EARLIEST_TOUCHES_KEPT]
        .iter()
        .chain(&order[total - latest..])
        .map(|(_, id)| id.clone())
        .collect();

    // (arrival order, batch size, whether the bot is a lead, whose rows every
    // batch then reads, and whether batches are pipelined)
    let runs = [
        ((0..total).collect::<Vec<_>>(), 2_000, false, false),
        (shuffled(total, 7), 997, false, true),
        (shuffled(total, 11), 3_001, true, true),
        ((0..total).rev().collect(), 4_000, true, false),
    ];
    for (run, (arrival, size, as_lead, pipelined)) in runs.into_iter().enumerate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut engine, queries) = open(dir.path());
        if as_lead {
            engine
                .apply(batch(vec![envelope("lead", 100_000_000, lead("bot"))]))
                .expect("lead");
        }
        for chunk in arrival.chunks(size) {
            let events = chunk.iter().map(|&i| touches[i].clone()).collect();
            if pipelined {
                engine.submit(batch(events)).expect("submit");
            } else {
                engine.apply(batch(events)).expect("apply");
            }
        }
        engine.flush().expect("flush");
        let rows = queries.person_touches("bot").expect("rows");
        assert_eq!(ids(&rows), expected, "run {run}: the rows kept");
        let bot = queries.person("bot").expect("query").expect("bot");
        assert_eq!(bot.touches_kept, MAX_TOUCH_HISTORY as u64, "run {run}");
        assert_eq!(bot.touches_set_aside, extra as u64, "run {run}");
        assert_eq!(bot.first_touch(), rows.first(), "run {run}");
        assert_eq!(bot.last_touch(), rows.last(), "run {run}");
        assert_eq!(bot.campaigns.len(), 11, "run {run}: membership counts all");
        if as_lead {
            // The lead's credits were computed over the rows kept.
            let conversion = queries
                .conversion("lead_created:bot")
                .expect("query")
                .expect("conversion");
            let credited = |model| {
                conversion
                    .result(model)
                    .expect("a result")
                    .attribution
                    .credits
                    .first()
                    .and_then(|c| c.touch_event_id.clone())
            };
            assert_eq!(credited(Model::FirstTouch).as_ref(), expected.first());
            assert_eq!(credited(Model::LastTouch).as_ref(), expected.last());
        }
        // A replay from the log writes the same rows.
        engine.rebuild(|_, _| {}).expect("rebuild");
        let replayed = queries.person_touches("bot").expect("rows");
        assert_eq!(replayed, rows, "run {run}: replayed rows");
        let view = queries.person("bot").expect("query").expect("bot");
        assert_eq!(view.touch_count(), total as u64, "run {run}");
    }
}

#[test]
fn a_merge_moves_the_rows_to_the_survivor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut engine, queries) = open(dir.path());
    engine
        .apply(batch(vec![
            envelope("l-ann", 100, lead("ann")),
            envelope("t1", 10, touch("ann", "search")),
            envelope("t2", 30, touch("ann", "webinar")),
        ]))
        .expect("ann");
    // The duplicate's touches are still being written when the merge is folded.
    engine
        .submit(batch(vec![
            envelope("t3", 20, touch("dup", "email")),
            envelope("t4", 5, touch("dup", "fair")),
        ]))
        .expect("dup");
    engine
        .submit(batch(vec![envelope("m", 200, merge("ann", "dup"))]))
        .expect("merge");
    engine.flush().expect("flush");

    let survivor = queries.person_touches("ann").expect("rows");
    assert_eq!(ids(&survivor), ["t4", "t1", "t3", "t2"]);
    assert!(queries.person_touches("dup").expect("rows").is_empty());
    let ann = queries.person("ann").expect("query").expect("ann");
    assert_eq!((ann.touches_kept, ann.touch_count()), (4, 4));
    assert_eq!(ann.first_touch().map(|t| t.event_id.as_str()), Some("t4"));
    assert_eq!(ann.last_touch().map(|t| t.event_id.as_str()), Some("t2"));
    let dup = queries.person("dup").expect("query").expect("dup");
    assert_eq!(dup.merged_into.as_deref(), Some("ann"));
    assert_eq!((dup.touches_kept, dup.touch_count()), (0, 0));
    assert_eq!(dup.first_touch(), None);

    // The survivor's lead is credited with the touches it absorbed.
    let conversion = queries
        .conversion("lead_created:ann")
        .expect("query")
        .expect("conversion");
    let first = &conversion
        .result(Model::FirstTouch)
        .expect("first touch")
        .attribution
        .credits[0];
    assert_eq!(first.touch_event_id.as_deref(), Some("t4"));

    // A later touch naming the merged id is a row of the survivor.
    engine
        .apply(batch(vec![envelope("t5", 40, touch("dup", "ads"))]))
        .expect("late touch");
    assert_eq!(
        ids(&queries.person_touches("ann").expect("rows")),
        ["t4", "t1", "t3", "t2", "t5"]
    );
    assert!(queries.person_touches("dup").expect("rows").is_empty());

    // A replay folds the merge again and writes the same rows.
    let before = queries.person_touches("ann").expect("rows");
    engine.rebuild(|_, _| {}).expect("rebuild");
    assert_eq!(queries.person_touches("ann").expect("rows"), before);
    assert!(queries.person_touches("dup").expect("rows").is_empty());
}
