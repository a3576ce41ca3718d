//! What-if attribution answers what the engine would have stored: under the
//! configured parameters it equals the stored credits to the minor unit, and
//! under other parameters it equals the credits of an engine configured with
//! them, on the same generated history.

mod common;

use std::sync::Arc;

use touchline_attribution::{
    AttributionSettings, ConversionKind, Lookback, Model, ModelParams, OpportunityTouches,
    PositionWeights, SynthesizedTouches, TouchFilter,
};
use touchline_core::Envelope;
use touchline_datagen::{DatasetConfig, Generator};
use touchline_engine::what_if::{MovedRequest, SettingsChange, WhatIfRequest};
use touchline_engine::{Batch, Engine, EngineConfig, GroupBy, Queries, TimeRange};
use touchline_store::Store;

fn dataset() -> Vec<Envelope> {
    Generator::new(DatasetConfig {
        accounts: 250,
        ..DatasetConfig::default()
    })
    .collect()
}

/// A store holding `events` attributed under `settings`, every model.
fn engine_with(events: &[Envelope], settings: AttributionSettings) -> (tempfile::TempDir, Queries) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("open store"));
    let config = EngineConfig {
        models: Model::ALL.to_vec(),
        settings,
        ..EngineConfig::default()
    };
    let mut engine = Engine::open(store.clone(), config).expect("open engine");
    for chunk in events.chunks(2_000) {
        engine
            .apply(Batch {
                events: chunk.to_vec(),
                ..Batch::default()
            })
            .expect("apply");
    }
    drop(engine);
    (dir, Queries::new(store))
}

fn ask(kind: ConversionKind, by: GroupBy, change: SettingsChange) -> WhatIfRequest {
    WhatIfRequest {
        models: Model::ALL.to_vec(),
        kind,
        range: TimeRange::default(),
        by,
        change,
        moved: None,
    }
}

/// `what_if` over `asked` equals the stored report of `stored`, for every
/// model and conversion point, per campaign and per channel: values exactly,
/// conversions (sums of weights) to 1e-6.
fn assert_same_as_stored(asked: &Queries, change: &SettingsChange, stored: &Queries) {
    for kind in ConversionKind::ALL {
        let answer = asked
            .what_if(&ask(kind, GroupBy::Campaign, change.clone()))
            .expect("what-if");
        assert!(answer.conversions > 0, "{kind:?}: no conversions");
        for model in Model::ALL {
            let expected = stored
                .campaign_credits_in(model, kind, TimeRange::default())
                .expect("stored credits");
            let got: Vec<_> = answer.rows.iter().filter(|r| r.model == model).collect();
            assert_eq!(got.len(), expected.len(), "{kind:?} {model:?}: rows");
            for (g, e) in got.iter().zip(&expected) {
                assert_eq!(
                    (&g.group, g.value_minor, &g.currency),
                    (&e.campaign_id, e.value_minor, &e.currency),
                    "{kind:?} {model:?}"
                );
                assert!(
                    (g.conversions - e.conversions).abs() < 1e-6,
                    "{kind:?} {model:?} {}: {} vs {}",
                    g.group,
                    g.conversions,
                    e.conversions
                );
                assert_eq!((&g.name, &g.channel), (&e.campaign_name, &e.channel));
            }
        }
        let by_channel = asked
            .what_if(&ask(kind, GroupBy::Channel, change.clone()))
            .expect("what-if by channel");
        for model in Model::ALL {
            let expected = stored
                .credits_by(model, kind, TimeRange::default(), GroupBy::Channel)
                .expect("stored by channel");
            let got: Vec<_> = by_channel
                .rows
                .iter()
                .filter(|r| r.model == model)
                .collect();
            assert_eq!(
                got.len(),
                expected.len(),
                "{kind:?} {model:?}: channel rows"
            );
            for (g, e) in got.iter().zip(&expected) {
                assert_eq!(
                    (&g.group, g.value_minor, &g.currency, g.campaigns),
                    (&e.group, e.value_minor, &e.currency, e.campaigns),
                    "{kind:?} {model:?}"
                );
            }
        }
    }
}

#[test]
fn the_configured_parameters_give_the_stored_credits_to_the_minor_unit() {
    let events = dataset();
    let (_dir, queries) = engine_with(&events, AttributionSettings::default());
    assert_same_as_stored(&queries, &SettingsChange::default(), &queries);
    // Nothing moves against the stored credits, and nothing was written.
    let before = queries.stores().next_seq().expect("seq");
    for kind in ConversionKind::ALL {
        let answer = queries
            .what_if(&WhatIfRequest {
                moved: Some(MovedRequest {
                    baseline: None,
                    limit: 10,
                }),
                ..ask(kind, GroupBy::Campaign, SettingsChange::default())
            })
            .expect("what-if");
        assert_eq!(answer.moved_totals.len(), Model::ALL.len());
        for total in &answer.moved_totals {
            assert_eq!(total.model, total.baseline);
            assert_eq!(total.conversions_moved, 0, "{kind:?} {:?}", total.model);
        }
        assert!(answer.moved.is_empty());
    }
    assert_eq!(queries.stores().next_seq().expect("seq"), before);
}

/// `events` with every third touch marked synthesized from a legacy field.
fn with_synthesized(mut events: Vec<Envelope>) -> Vec<Envelope> {
    let mut n = 0;
    for envelope in &mut events {
        if let touchline_core::Event::TouchRecorded(touch) = &mut envelope.event {
            n += 1;
            if n % 3 == 0 {
                touch.provenance = Some(touchline_core::TouchProvenance::synthesized(
                    "legacy lead_source field",
                ));
            }
        }
    }
    events
}

#[test]
fn other_parameters_give_what_an_engine_configured_with_them_stores() {
    let events = with_synthesized(dataset());
    let (_a, configured) = engine_with(&events, AttributionSettings::default());
    let other = AttributionSettings {
        params: ModelParams {
            time_decay_half_life_days: 2.5,
            custom: PositionWeights {
                first: 10.0,
                last: 70.0,
                rest: 20.0,
            },
        },
        filter: TouchFilter::Responded,
        lookback_days: Lookback {
            lead_created: Some(30),
            lead_qualified: Some(45),
            opportunity_created: Some(60),
            opportunity_won: Some(90),
        },
        opportunity_touches: OpportunityTouches::AccountContacts,
        synthesized_touches: SynthesizedTouches::Exclude,
        markov_value: Default::default(),
    };
    let (_b, reconfigured) = engine_with(&events, other.clone());
    for kind in ConversionKind::ALL {
        let change = SettingsChange {
            lookback_days: Some(other.lookback_days.days(kind)),
            half_life_days: Some(2.5),
            custom: Some(other.params.custom),
            filter: Some(TouchFilter::Responded),
            opportunity_touches: Some(OpportunityTouches::AccountContacts),
            synthesized_touches: Some(SynthesizedTouches::Exclude),
        };
        assert_eq!(
            change
                .apply(&AttributionSettings::default(), kind)
                .lookback_days
                .days(kind),
            other.lookback_days.days(kind)
        );
        let answer = configured
            .what_if(&ask(kind, GroupBy::Campaign, change.clone()))
            .expect("what-if");
        for model in Model::ALL {
            let expected = reconfigured
                .campaign_credits_in(model, kind, TimeRange::default())
                .expect("stored");
            let got: Vec<_> = answer.rows.iter().filter(|r| r.model == model).collect();
            let got: Vec<_> = got
                .iter()
                .map(|r| (r.group.clone(), r.value_minor, r.currency.clone()))
                .collect();
            let expected: Vec<_> = expected
                .iter()
                .map(|r| (r.campaign_id.clone(), r.value_minor, r.currency.clone()))
                .collect();
            assert_eq!(got, expected, "{kind:?} {model:?}");
        }
    }
    // And the other way round: the reconfigured store asked for the
    // defaults answers what the default store holds.
    let back = SettingsChange {
        lookback_days: None,
        half_life_days: Some(7.0),
        custom: Some(ModelParams::default().custom),
        filter: Some(TouchFilter::All),
        opportunity_touches: Some(OpportunityTouches::ContactRoles),
        synthesized_touches: Some(SynthesizedTouches::Include),
    };
    for kind in ConversionKind::ALL {
        let change = SettingsChange {
            lookback_days: Some(None),
            ..back.clone()
        };
        let answer = reconfigured
            .what_if(&ask(kind, GroupBy::Campaign, change))
            .expect("what-if");
        for model in Model::ALL {
            let expected = configured
                .campaign_credits_in(model, kind, TimeRange::default())
                .expect("stored");
            let got: Vec<_> = answer
                .rows
                .iter()
                .filter(|r| r.model == model)
                .map(|r| (r.group.clone(), r.value_minor))
                .collect();
            let expected: Vec<_> = expected
                .iter()
                .map(|r| (r.campaign_id.clone(), r.value_minor))
                .collect();
            assert_eq!(got, expected, "back: {kind:?} {model:?}");
        }
    }
}

#[test]
fn a_period_means_the_conversions_in_it_and_moves_are_listed() {
    let events = dataset();
    let (_dir, queries) = engine_with(&events, AttributionSettings::default());
    let at = |ms: i64| touchline_core::Timestamp::from_millis(ms);
    // 2026-03-01 .. 2026-06-01
    let range = TimeRange {
        from: Some(at(1_772_323_200_000)),
        to: Some(at(1_780_272_000_000)),
    };
    let answer = queries
        .what_if(&WhatIfRequest {
            range,
            models: vec![Model::Linear],
            ..ask(
                ConversionKind::OpportunityWon,
                GroupBy::Campaign,
                SettingsChange::default(),
            )
        })
        .expect("what-if");
    let expected = queries
        .campaign_credits_in(Model::Linear, ConversionKind::OpportunityWon, range)
        .expect("stored");
    let got: Vec<_> = answer
        .rows
        .iter()
        .map(|r| (r.group.clone(), r.value_minor))
        .collect();
    let want: Vec<_> = expected
        .iter()
        .map(|r| (r.campaign_id.clone(), r.value_minor))
        .collect();
    assert_eq!(got, want);
    assert!(answer.conversions > 0);

    // A shorter half-life moves time-decay credit towards the last touches.
    let moved = queries
        .what_if(&WhatIfRequest {
            models: vec![Model::TimeDecay],
            change: SettingsChange {
                half_life_days: Some(0.5),
                ..SettingsChange::default()
            },
            moved: Some(MovedRequest {
                baseline: None,
                limit: 5,
            }),
            ..ask(
                ConversionKind::OpportunityWon,
                GroupBy::Channel,
                SettingsChange::default(),
            )
        })
        .expect("what-if");
    let total = &moved.moved_totals[0];
    assert!(total.conversions_moved > 0);
    assert!(total.value_moved_minor > 0);
    assert_eq!(moved.moved.len(), 5);
    for pair in moved.moved.windows(2) {
        assert!(pair[0].moved_minor >= pair[1].moved_minor);
    }
    for m in &moved.moved {
        let then: i64 = m.then.iter().filter_map(|c| c.amount_minor).sum();
        let now: i64 = m.now.iter().filter_map(|c| c.amount_minor).sum();
        assert_eq!(then, now, "{}: a move keeps the value", m.conversion_id);
        assert_eq!(Some(then), m.value_minor);
    }
    // A baseline the engine does not compute is the caller's error.
    let (_d2, few) = {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(dir.path()).expect("open"));
        let mut engine = Engine::open(
            store.clone(),
            EngineConfig {
                models: vec![Model::FirstTouch],
                ..EngineConfig::default()
            },
        )
        .expect("engine");
        engine
            .apply(Batch {
                events: events[..500].to_vec(),
                ..Batch::default()
            })
            .expect("apply");
        drop(engine);
        (dir, Queries::new(store))
    };
    let refused = few.what_if(&WhatIfRequest {
        moved: Some(MovedRequest {
            baseline: Some(Model::Linear),
            limit: 5,
        }),
        ..ask(
            ConversionKind::LeadCreated,
            GroupBy::Campaign,
            SettingsChange::default(),
        )
    });
    let message = refused.expect_err("not computed").to_string();
    assert!(message.contains("\"linear\" is not computed"), "{message}");
}

#[test]
fn the_cache_follows_the_log() {
    let events = dataset();
    let half = events.len() / 2;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("open store"));
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).expect("engine");
    engine
        .apply(Batch {
            events: events[..half].to_vec(),
            ..Batch::default()
        })
        .expect("apply");
    let queries = Queries::new(store);
    let request = WhatIfRequest {
        models: vec![Model::LastTouch],
        ..ask(
            ConversionKind::LeadCreated,
            GroupBy::Campaign,
            SettingsChange::default(),
        )
    };
    let first = queries.what_if(&request).expect("what-if");
    engine
        .apply(Batch {
            events: events[half..].to_vec(),
            ..Batch::default()
        })
        .expect("apply");
    let second = queries.what_if(&request).expect("what-if");
    assert!(second.as_of_seq > first.as_of_seq);
    assert!(second.conversions > first.conversions);
    let stored = queries
        .campaign_credits_in(
            Model::LastTouch,
            ConversionKind::LeadCreated,
            TimeRange::default(),
        )
        .expect("stored");
    let got: Vec<_> = second
        .rows
        .iter()
        .map(|r| (r.group.clone(), r.value_minor, r.conversions))
        .collect();
    let want: Vec<_> = stored
        .iter()
        .map(|r| (r.campaign_id.clone(), r.value_minor, r.conversions))
        .collect();
    assert_eq!(got, want);
}
