//! The drill-downs: a campaign's influence agrees with the model comparison,
//! and a conversion's history ends in its stored credits and names why it
//! moved.

use std::sync::Arc;

use touchline_attribution::{ConversionKind, Model, OpportunityTouches};
use touchline_core::*;
use touchline_datagen::{DatasetConfig, Generator};
use touchline_engine::as_of::MoveReason;
use touchline_engine::history::{HistoryError, MAX_HISTORY_EVENTS, conversion_history};
use touchline_engine::{
    Batch, Engine, EngineConfig, InfluenceQuery, InfluenceSort, Queries, TimeRange,
};
use touchline_fixtures::{
    EnvelopeFixture, OpportunityFixture, envelope, eur, lead, merge, opportunity, touch,
};
use touchline_projection::ConversionView;
use touchline_store::Store;

fn generated(dir: &std::path::Path, accounts: usize, config: EngineConfig) -> (Engine, Queries) {
    let store = Arc::new(Store::open(dir).expect("open store"));
    let mut engine = Engine::open(store.clone(), config).expect("open engine");
    let events: Vec<Envelope> = Generator::new(DatasetConfig {
        accounts,
        ..DatasetConfig::default()
    })
    .collect();
    for chunk in events.chunks(64) {
        engine
            .apply(Batch {
                events: chunk.to_vec(),
                ..Batch::default()
            })
            .expect("apply");
    }
    (engine, Queries::new(store))
}

#[test]
fn a_campaigns_influence_adds_up_to_its_column_of_the_model_comparison() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_engine, queries) = generated(dir.path(), 40, EngineConfig::default());
    let range = TimeRange {
        from: Some(Timestamp::parse_lenient("2026-03-01").expect("date")),
        to: None,
    };
    for kind in ConversionKind::ALL {
        let compare = queries.compare_models(kind, range, None).expect("compare");
        assert!(!compare.is_empty(), "{kind:?}: the data has conversions");
        for row in compare.iter().filter(|r| r.campaign_id != "(no touch)") {
            let rows = queries
                .campaign_influence(&InfluenceQuery {
                    campaign_id: row.campaign_id.clone(),
                    kind,
                    range,
                    currency: row.currency.clone(),
                    sort: InfluenceSort::Value,
                })
                .expect("influence");
            for expected in &row.models {
                let (weight, amount) = rows
                    .iter()
                    .flat_map(|r| r.models.iter().filter(|m| m.model == expected.model))
                    .fold((0.0, 0i128), |(w, a), m| {
                        (w + m.weight, a + m.amount_minor.unwrap_or(0))
                    });
                assert!(
                    (weight - expected.conversions).abs() < 1e-6,
                    "{kind:?} {} {:?}: {weight} vs {}",
                    row.campaign_id,
                    expected.model,
                    expected.conversions
                );
                assert_eq!(amount, expected.value_minor, "{kind:?} {}", row.campaign_id);
            }
            // Every row is in the period and credited by some model, largest value first.
            assert!(rows.iter().all(|r| range.contains(r.occurred_at)));
            assert!(rows.iter().all(|r| r.models.iter().any(|m| m.weight > 0.0)));
            assert!(
                rows.windows(2)
                    .all(|w| w[0].value_minor >= w[1].value_minor)
            );
        }
    }
}

#[test]
fn influence_sorts_by_one_models_credit_or_by_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_engine, queries) = generated(dir.path(), 30, EngineConfig::default());
    let compare = queries
        .compare_models(
            ConversionKind::OpportunityCreated,
            TimeRange::default(),
            None,
        )
        .expect("compare");
    let campaign = &compare[0].campaign_id;
    let query = |sort| InfluenceQuery {
        campaign_id: campaign.clone(),
        kind: ConversionKind::OpportunityCreated,
        range: TimeRange::default(),
        currency: None,
        sort,
    };
    let by_credit = queries
        .campaign_influence(&query(InfluenceSort::Credit(Model::FirstTouch)))
        .expect("influence");
    let first = |r: &touchline_engine::Influenced| {
        r.models
            .iter()
            .find(|m| m.model == Model::FirstTouch)
            .and_then(|m| m.amount_minor)
    };
    assert!(by_credit.windows(2).all(|w| first(&w[0]) >= first(&w[1])));
    let recent = queries
        .campaign_influence(&query(InfluenceSort::Recent))
        .expect("influence");
    assert!(
        recent
            .windows(2)
            .all(|w| w[0].occurred_at >= w[1].occurred_at)
    );
    assert_eq!(recent.len(), by_credit.len());
}

/// Every conversion's replayed history ends in what the store holds.
fn histories_end_in_the_stored_credits(config: EngineConfig) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_engine, queries) = generated(dir.path(), 12, config);
    let mut ids = Vec::new();
    queries
        .stores()
        .for_each(|id, _: ConversionView| ids.push(id.to_owned()))
        .expect("scan");
    assert!(ids.len() > 20, "{} conversions", ids.len());
    for id in ids.iter().step_by(3) {
        let history = conversion_history(&queries, id)
            .expect("history")
            .expect("known");
        assert!(history.matches_stored, "{id}: {history:#?}");
        assert!(!history.steps.is_empty(), "{id}");
        assert_eq!(
            history.steps[0].reasons,
            [MoveReason::NewConversion],
            "{id}"
        );
        assert!(history.steps.windows(2).all(|w| w[0].seq < w[1].seq));
    }
}

#[test]
fn every_history_ends_in_the_stored_credits() {
    histories_end_in_the_stored_credits(EngineConfig::default());
}

#[test]
fn every_history_ends_in_the_stored_credits_in_account_mode() {
    let mut config = EngineConfig::default();
    config.settings.opportunity_touches = OpportunityTouches::AccountContacts;
    histories_end_in_the_stored_credits(config);
}

#[test]
fn a_history_names_the_late_touch_the_merge_and_the_value_change() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("open store"));
    let config = EngineConfig {
        models: vec![Model::FirstTouch, Model::LastTouch],
        ..EngineConfig::default()
    };
    let mut engine = Engine::open(store.clone(), config).expect("open engine");
    let queries = Queries::new(store);
    let late = envelope("t-late", 100, touch("p", "tradeshow")).recorded_at_ms(5_000);
    let deal = envelope(
        "o",
        400,
        opportunity("opp", "acc", 10_000).with_contact("p"),
    );
    let bigger = envelope(
        "o-up",
        6_000,
        OpportunityUpdated {
            opportunity_id: "opp".into(),
            amount: Some(eur(25_000)),
            ..Default::default()
        },
    );
    let merge = envelope(
        "m",
        7_000,
        PersonsMerged {
            reason: "same e-mail".into(),
            ..merge("p", "d")
        },
    );
    // One live batch: the engine publishes it as one version per model.
    engine
        .apply(Batch {
            events: vec![
                envelope("t-web", 200, touch("p", "webinar")),
                envelope("l", 300, lead("p")),
                deal,
                envelope("t-dup", 50, touch("d", "ads")),
                late,
                bigger,
                merge,
            ],
            ..Batch::default()
        })
        .expect("apply");
    let history = conversion_history(&queries, "opportunity_created:opp")
        .expect("history")
        .expect("known");
    assert!(history.matches_stored);
    let steps: Vec<(&str, Vec<MoveReason>)> = history
        .steps
        .iter()
        .map(|s| (s.event_id.as_str(), s.reasons.clone()))
        .collect();
    assert_eq!(
        steps,
        [
            ("o", vec![MoveReason::NewConversion]),
            ("t-late", vec![MoveReason::LateTouch]),
            ("o-up", vec![MoveReason::ValueChanged]),
            ("m", vec![MoveReason::Merge]),
        ]
    );
    // The late touch moved first touch only; the value moved both.
    let moved =
        |i: usize| -> Vec<Model> { history.steps[i].models.iter().map(|m| m.model).collect() };
    assert_eq!(moved(1), [Model::FirstTouch]);
    assert_eq!(moved(2), [Model::FirstTouch, Model::LastTouch]);
    assert_eq!(history.steps[2].value, Some(Money::new(25_000, "EUR")));
    assert_eq!(history.steps[3].models[0].credits[0].campaign_id, "ads");
    // Stored: one batch, one version each.
    assert!(history.stored.iter().all(|s| s.version == 1));

    let unknown = conversion_history(&queries, "lead_created:nobody").expect("ok");
    assert!(unknown.is_none());
    assert!(matches!(
        conversion_history(&queries, "bogus"),
        Err(HistoryError::BadId(_))
    ));
}

#[test]
fn a_history_beyond_the_limit_is_refused_not_replayed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("open store"));
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).expect("open engine");
    let mut events = vec![envelope("l", 10, lead("p"))];
    events
        .extend((0..=MAX_HISTORY_EVENTS).map(|i| envelope(format!("t-{i}"), 1, touch("p", "web"))));
    engine
        .apply(Batch {
            events,
            ..Batch::default()
        })
        .expect("apply");
    let refused = conversion_history(&Queries::new(store), "lead_created:p");
    assert!(
        matches!(refused, Err(HistoryError::TooLarge { limit, .. }) if limit == MAX_HISTORY_EVENTS),
        "{refused:?}"
    );
}
