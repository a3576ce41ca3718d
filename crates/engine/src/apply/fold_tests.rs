//! The pure fold, tested without RocksDB, and the loader that feeds it.

use std::fmt::Write as _;

use expect_test::{Expect, expect};
use touchline_attribution::Model;
use touchline_proto::{WireFormat, decode};
use touchline_store::Store;

use super::batch_state::{BatchState, Snapshot};
use super::fold::fold_batch;
use super::load::Wants;
use super::{Batch, Engine, EngineConfig};

/// Every view the fold changed, as JSON, in table and key order.
fn changed_views(state: &BatchState) -> Vec<String> {
    fn table<T: serde::Serialize>(views: &super::batch_state::Views<T>, out: &mut Vec<String>) {
        let mut keys: Vec<&String> = views.changed.iter().collect();
        keys.sort();
        for key in keys {
            let view = views.loaded.get(key).and_then(Option::as_ref);
            out.push(format!("{key}: {}", serde_json::to_string(&view).unwrap()));
        }
    }
    let mut out = Vec::new();
    table(&state.accounts, &mut out);
    table(&state.persons, &mut out);
    table(&state.opportunities, &mut out);
    table(&state.campaigns, &mut out);
    table(&state.conversions, &mut out);
    // The touch rows written and deleted, whether the histories were read or
    // only appended to.
    let mut rows: Vec<String> = Vec::new();
    for (person, history) in &state.touches.histories {
        let (puts, deletes) = history.changes();
        rows.extend(puts.iter().map(|t| format!("{person}: put {}", t.event_id)));
        rows.extend(
            deletes
                .iter()
                .map(|(_, id)| format!("{person}: delete {id}")),
        );
    }
    rows.sort();
    out.extend(rows);
    out
}

/// `at offset-in-days payload`, one event per line; ids are `e-<line>`.
fn events(script: &str) -> Vec<touchline_core::Envelope> {
    let day = 86_400_000i64;
    let start = 1_767_225_600_000i64; // 2026-01-01
    script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| {
            let (days, payload) = line.split_once(' ').expect("`days payload`");
            let days: i64 = days.parse().expect("days");
            let at = touchline_core::Timestamp::from_millis(start + days * day);
            let json = format!(
                r#"{{"event_id":"e-{i:02}","occurred_at":"{at}","recorded_at":"{at}","source_system":"test","payload":{payload}}}"#
            );
            decode(WireFormat::Json, json.as_bytes()).expect(&json)
        })
        .collect()
}

/// Folds the events over an empty world and shows every live conversion's
/// first-touch, last-touch and linear credits, and each campaign's counts.
fn check(script: &str, expect: Expect) {
    let events = events(script);
    let fresh: Vec<&touchline_core::Envelope> = events.iter().collect();
    let config = EngineConfig {
        models: vec![Model::FirstTouch, Model::LastTouch, Model::Linear],
        ..EngineConfig::default()
    };
    let mut state = BatchState::complete(Snapshot::default(), false);
    let folded = fold_batch(&mut state, &fresh, &config, 0);
    assert!(
        state.missing().is_empty(),
        "a complete world misses nothing"
    );
    let mut out = String::new();
    let mut conversions: Vec<_> = state.conversions.loaded.iter().collect();
    conversions.sort_by(|a, b| a.0.cmp(b.0));
    for (id, view) in conversions {
        let Some(view) = view else { continue };
        for result in &view.results {
            let credits: Vec<String> = result
                .attribution
                .credits
                .iter()
                .map(|c| match c.amount_minor {
                    Some(amount) => format!("{} {amount}", c.campaign_id),
                    None => format!("{} {:.3}", c.campaign_id, c.weight),
                })
                .collect();
            writeln!(out, "{id} {:?}: {}", result.model, credits.join(", ")).unwrap();
        }
    }
    let mut campaigns: Vec<_> = state.campaigns.loaded.iter().collect();
    campaigns.sort_by(|a, b| a.0.cmp(b.0));
    for (id, view) in campaigns {
        let Some(view) = view else { continue };
        writeln!(
            out,
            "campaign {id}: members {}, responders {}, leads sourced {}",
            view.members, view.responders, view.leads_sourced
        )
        .unwrap();
    }
    writeln!(
        out,
        "logged {}, outbox {}",
        folded.logged.len(),
        folded.alerts.len() + folded.attribution.len()
    )
    .unwrap();
    expect.assert_eq(&out);
}

const TOUCH: &str = r#"{"type":"touch_recorded","touch_type":"email_click","status":"responded""#;

#[test]
fn a_deal_draws_on_every_contact_and_a_merge_folds_the_duplicate_in() {
    check(
        &format!(
            r#"
            0 {TOUCH},"person_id":"p-1","campaign_id":"c-ad"}}
            1 {{"type":"lead_created","person_id":"p-1","source":{{"campaign_id":"c-ad"}}}}
            2 {TOUCH},"person_id":"p-2","campaign_id":"c-web"}}
            3 {TOUCH},"person_id":"p-1b","campaign_id":"c-web"}}
            4 {{"type":"opportunity_created","opportunity_id":"o-1","account_id":"a-1","stage":"new","amount":{{"amount_minor":10001,"currency":"EUR"}},"primary_contact_id":"p-1"}}
            5 {{"type":"opportunity_contact_role_added","opportunity_id":"o-1","person_id":"p-2"}}
            6 {{"type":"persons_merged","surviving_person_id":"p-1","merged_person_id":"p-1b"}}
            7 {{"type":"opportunity_closed","opportunity_id":"o-1","won":true,"amount":{{"amount_minor":30000,"currency":"EUR"}}}}
            "#
        ),
        expect![[r#"
            lead_created:p-1 FirstTouch: c-ad 1.000
            lead_created:p-1 LastTouch: c-ad 1.000
            lead_created:p-1 Linear: c-ad 1.000
            opportunity_created:o-1 FirstTouch: c-ad 10001
            opportunity_created:o-1 LastTouch: c-web 10001
            opportunity_created:o-1 Linear: c-ad 3334, c-web 3334, c-web 3333
            opportunity_won:o-1 FirstTouch: c-ad 30000
            opportunity_won:o-1 LastTouch: c-web 30000
            opportunity_won:o-1 Linear: c-ad 10000, c-web 10000, c-web 10000
            campaign c-ad: members 1, responders 1, leads sourced 1
            campaign c-web: members 2, responders 2, leads sourced 0
            logged 8, outbox 9
        "#]],
    );
}

#[test]
fn touches_arriving_before_their_lead_still_count_for_it() {
    check(
        &format!(
            r#"
            3 {{"type":"lead_created","person_id":"p-1"}}
            1 {TOUCH},"person_id":"p-1","campaign_id":"c-late"}}
            0 {TOUCH},"person_id":"p-1","campaign_id":"c-early"}}
            5 {TOUCH},"person_id":"p-1","campaign_id":"c-after"}}
            "#
        ),
        expect![[r#"
            lead_created:p-1 FirstTouch: c-early 1.000
            lead_created:p-1 LastTouch: c-late 1.000
            lead_created:p-1 Linear: c-early 0.500, c-late 0.500
            campaign c-after: members 1, responders 1, leads sourced 0
            campaign c-early: members 1, responders 1, leads sourced 0
            campaign c-late: members 1, responders 1, leads sourced 0
            logged 4, outbox 3
        "#]],
    );
}

fn generated(accounts: usize) -> Vec<touchline_core::Envelope> {
    touchline_datagen::Generator::new(touchline_datagen::DatasetConfig {
        accounts,
        ..touchline_datagen::DatasetConfig::default()
    })
    .collect()
}

/// The loader foresees every view the fold reads on a realistic data set, in
/// both modes of whose touches a deal draws on, so no batch folds twice.
#[test]
fn the_loader_foresees_what_the_fold_reads() {
    let events = generated(150);
    for mode in [
        touchline_attribution::OpportunityTouches::ContactRoles,
        touchline_attribution::OpportunityTouches::AccountContacts,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Store::open(dir.path()).unwrap());
        let mut config = EngineConfig::default();
        config.settings.opportunity_touches = mode;
        let mut engine = Engine::open(store, config).unwrap();
        for chunk in events.chunks(97) {
            let (_, _) = engine
                .submit(Batch {
                    events: chunk.to_vec(),
                    ..Batch::default()
                })
                .unwrap();
        }
        engine.flush().unwrap();
        assert_eq!(engine.metrics().fold_reloads.get(), 0, "{mode:?}");
    }
}

/// A fold whose loader foresaw nothing reads every view as missing, is run
/// again until it misses none, and then gives exactly what a fully loaded fold
/// gives.
#[test]
fn a_fold_that_misses_views_runs_again_and_agrees() {
    let events = generated(60);
    let (history, batch) = events.split_at(events.len() * 3 / 4);
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path()).unwrap());
    let mut engine = Engine::open(store, EngineConfig::default()).unwrap();
    engine
        .apply(Batch {
            events: history.to_vec(),
            ..Batch::default()
        })
        .unwrap();
    let fresh: Vec<&touchline_core::Envelope> = batch.iter().collect();
    let config = engine.config.clone();
    let first_seq = engine.next_seq;
    let fold = |wants: Wants| {
        let (state, folded) = engine
            .fold_durable(wants, |state| {
                let folded = fold_batch(state, &fresh, &config, first_seq);
                (folded.logged.len(), folded.alerts, folded.attribution)
            })
            .unwrap();
        (changed_views(&state), folded)
    };
    let reloads = || engine.metrics().fold_reloads.get();
    let foreseen = fold(Wants::of_events(fresh.iter().copied()));
    assert_eq!(reloads(), 0);
    assert!(
        foreseen.0.iter().any(|line| line.contains(": put ")),
        "the batch writes touch rows"
    );
    let blind = fold(Wants::default());
    assert!(reloads() > 0, "a blind loader makes the fold ask for more");
    assert_eq!(blind, foreseen);
}
