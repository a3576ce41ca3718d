//! A replay rebuilds from the log exactly the state live ingest built.

mod common;

use common::state::*;
use touchline_attribution::Model;
use touchline_projection::ConversionView;
use touchline_store::Table;

#[test]
fn replay_rebuilds_exactly_the_live_state_from_the_log_for_100k_events() {
    // The whole log fits in memory: one world, each conversion attributed once.
    replays_exactly(touchline_engine::REBUILD_IN_MEMORY_EVENTS, 1);
}

#[test]
fn a_replay_folded_on_three_threads_by_group_rebuilds_the_same_state() {
    // Three worlds, each folding its own co-location groups, joined.
    replays_exactly(touchline_engine::REBUILD_IN_MEMORY_EVENTS, 3);
}

#[test]
fn a_replay_that_outgrows_memory_folds_its_groups_in_rounds_to_the_same_state() {
    // Three rounds or more, each reading the whole log for its groups, on
    // two threads.
    replays_exactly(40_000, 2);
}

fn replays_exactly(in_memory_events: usize, folds: usize) {
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
        .rebuild_in_groups(in_memory_events, folds, |done, total| {
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
