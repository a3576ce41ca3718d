//! Synthesized touches (R16 backfill) are kept with their provenance, and
//! credits count them or not as `attribution.synthesized_touches` says; a
//! request can ask for the other view, which equals what an engine configured
//! that way stores. The numbers are worked out by hand below.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use touchline_attribution::{
    AttributionSettings, ConversionKind, Model, NO_TOUCH, SynthesizedTouches, Unattributed,
};
use touchline_core::{CampaignUpserted, Envelope, TouchOrigin};
use touchline_engine::{Batch, Engine, EngineConfig, GroupBy, Queries, TimeRange};
use touchline_fixtures::{
    OpportunityFixture, TouchFixture, account, campaign, envelope, lead, opportunity, touch, won,
};
use touchline_store::Store;

const DAY: i64 = 86_400_000;

/// Ann: synthesized `legacy-web` (day 1), recorded `webinar` (day 5), lead
/// day 10, contact of deal `o-1` won for 1,000.00 on day 20. Bob: only a
/// synthesized `legacy-web` (day 2), lead day 3. Cy: recorded `webinar`
/// (day 1), lead day 2.
///
/// Linear, leads: including, Ann gives ½ to each campaign, Bob 1 to
/// `legacy-web`, Cy 1 to `webinar`: 1.5 and 1.5. Excluding, Ann gives 1 to
/// `webinar`, Bob has no touch left ((no touch) 1), Cy 1 to `webinar`:
/// `webinar` 2, (no touch) 1. The won deal (Ann's touches): including 500.00
/// each, excluding 1,000.00 to `webinar`.
fn history() -> Vec<Envelope> {
    let legacy = "legacy lead_source field";
    vec![
        envelope(
            "c-legacy",
            0,
            CampaignUpserted {
                channel: "legacy".into(),
                ..campaign("legacy-web", 0)
            },
        ),
        envelope(
            "c-webinar",
            0,
            CampaignUpserted {
                channel: "events".into(),
                ..campaign("webinar", 0)
            },
        ),
        envelope(
            "t-ann-1",
            DAY,
            touch("ann", "legacy-web").synthesized(legacy),
        ),
        envelope("t-ann-2", 5 * DAY, touch("ann", "webinar")),
        envelope("l-ann", 10 * DAY, lead("ann")),
        envelope(
            "t-bob-1",
            2 * DAY,
            touch("bob", "legacy-web").synthesized(legacy),
        ),
        envelope("l-bob", 3 * DAY, lead("bob")),
        envelope("t-cy-1", DAY, touch("cy", "webinar")),
        envelope("l-cy", 2 * DAY, lead("cy")),
        envelope("a-1", 11 * DAY, account("acc-1", "Acme")),
        envelope(
            "o-1",
            12 * DAY,
            opportunity("o-1", "acc-1", 100_000).with_contact("ann"),
        ),
        envelope("o-1-won", 20 * DAY, won("o-1", 100_000)),
    ]
}

fn engine_with(choice: SynthesizedTouches) -> (tempfile::TempDir, Queries) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("open store"));
    let config = EngineConfig {
        models: Model::ALL.to_vec(),
        settings: AttributionSettings {
            synthesized_touches: choice,
            ..AttributionSettings::default()
        },
        ..EngineConfig::default()
    };
    let mut engine = Engine::open(store.clone(), config).expect("open engine");
    engine
        .apply(Batch {
            events: history(),
            ..Batch::default()
        })
        .expect("apply");
    drop(engine);
    (dir, Queries::new(store))
}

type Row = (String, f64, i128);

fn leads(queries: &Queries, model: Model, choice: Option<SynthesizedTouches>) -> Vec<Row> {
    queries
        .campaign_credits_counting(
            model,
            ConversionKind::LeadCreated,
            TimeRange::default(),
            choice,
        )
        .expect("credits")
        .into_iter()
        .map(|r| (r.campaign_id, r.conversions, r.value_minor))
        .collect()
}

fn won_value(queries: &Queries, choice: Option<SynthesizedTouches>) -> Vec<(String, i128)> {
    queries
        .campaign_credits_counting(
            Model::Linear,
            ConversionKind::OpportunityWon,
            TimeRange::default(),
            choice,
        )
        .expect("credits")
        .into_iter()
        .map(|r| (r.campaign_id, r.value_minor))
        .collect()
}

fn including() -> Vec<Row> {
    vec![("legacy-web".into(), 1.5, 0), ("webinar".into(), 1.5, 0)]
}

fn excluding() -> Vec<Row> {
    vec![("webinar".into(), 2.0, 0), (NO_TOUCH.into(), 1.0, 0)]
}

#[test]
fn the_stored_credits_follow_the_configured_choice_and_a_request_gets_the_other() {
    let (_a, include) = engine_with(SynthesizedTouches::Include);
    let (_b, exclude) = engine_with(SynthesizedTouches::Exclude);
    assert_eq!(
        include.stored_synthesized().unwrap(),
        SynthesizedTouches::Include
    );
    assert_eq!(
        exclude.stored_synthesized().unwrap(),
        SynthesizedTouches::Exclude
    );

    // Stored, as configured.
    assert_eq!(leads(&include, Model::Linear, None), including());
    assert_eq!(leads(&exclude, Model::Linear, None), excluding());
    // Asked for the configured view: the stored credits again.
    assert_eq!(
        leads(&include, Model::Linear, Some(SynthesizedTouches::Include)),
        including()
    );
    // Asked for the other view: computed on request, and the same as what
    // the engine configured that way stores.
    assert_eq!(
        leads(&include, Model::Linear, Some(SynthesizedTouches::Exclude)),
        excluding()
    );
    assert_eq!(
        leads(&exclude, Model::Linear, Some(SynthesizedTouches::Include)),
        including()
    );
    // First touch: Ann and Bob first met `legacy-web`.
    assert_eq!(
        leads(&include, Model::FirstTouch, None),
        vec![("legacy-web".into(), 2.0, 0), ("webinar".into(), 1.0, 0)]
    );
    assert_eq!(
        leads(
            &include,
            Model::FirstTouch,
            Some(SynthesizedTouches::Exclude)
        ),
        vec![("webinar".into(), 2.0, 0), (NO_TOUCH.into(), 1.0, 0)]
    );

    // Money: the won deal's 1,000.00.
    let half = vec![("legacy-web".into(), 50_000), ("webinar".into(), 50_000)];
    let whole = vec![("webinar".into(), 100_000)];
    assert_eq!(won_value(&include, None), half);
    assert_eq!(
        won_value(&include, Some(SynthesizedTouches::Exclude)),
        whole
    );
    assert_eq!(won_value(&exclude, None), whole);
    assert_eq!(won_value(&exclude, Some(SynthesizedTouches::Include)), half);

    // By channel, the same split.
    let by_channel = |q: &Queries, choice| -> Vec<(String, f64)> {
        q.credits_by_counting(
            Model::Linear,
            ConversionKind::LeadCreated,
            TimeRange::default(),
            GroupBy::Channel,
            choice,
        )
        .expect("by channel")
        .into_iter()
        .map(|g| (g.group, g.conversions))
        .collect()
    };
    assert_eq!(
        by_channel(&include, None),
        vec![("events".to_owned(), 1.5), ("legacy".to_owned(), 1.5)]
    );
    assert_eq!(
        by_channel(&include, Some(SynthesizedTouches::Exclude)),
        vec![("events".to_owned(), 2.0), (NO_TOUCH.to_owned(), 1.0)]
    );
}

#[test]
fn a_lead_with_only_synthesized_touches_is_unattributed_when_they_are_excluded() {
    let (_dir, exclude) = engine_with(SynthesizedTouches::Exclude);
    let bob = exclude
        .conversion("lead_created:bob")
        .unwrap()
        .expect("bob's lead");
    let result = bob.result(Model::Linear).expect("linear");
    assert_eq!(result.attribution.credits[0].campaign_id, NO_TOUCH);
    assert_eq!(
        result.attribution.unattributed,
        Some(Unattributed::NoneMatchFilter)
    );
}

#[test]
fn the_person_keeps_each_touch_with_its_provenance() {
    let (_dir, queries) = engine_with(SynthesizedTouches::Include);
    let ann = queries.person_touches("ann").unwrap();
    let seen: Vec<(&str, TouchOrigin, &str)> = ann
        .iter()
        .map(|t| {
            (
                t.campaign_id.as_str(),
                t.provenance.origin,
                t.provenance.source.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                "legacy-web",
                TouchOrigin::Synthesized,
                "legacy lead_source field"
            ),
            ("webinar", TouchOrigin::Recorded, ""),
        ]
    );
}

/// Each conversion's credit sets asked in the other view (every model, every
/// line with its touch, the reason for `(no touch)`) are the sets the engine
/// configured that way stores; so are the reports built from them.
#[test]
fn credit_sets_asked_in_the_other_view_are_the_other_engines_stored_sets() {
    let (_a, include) = engine_with(SynthesizedTouches::Include);
    let (_b, exclude) = engine_with(SynthesizedTouches::Exclude);
    for (asked, stored, choice) in [
        (&include, &exclude, SynthesizedTouches::Exclude),
        (&exclude, &include, SynthesizedTouches::Include),
    ] {
        for id in [
            "lead_created:ann",
            "lead_created:bob",
            "lead_created:cy",
            "opportunity_created:o-1",
            "opportunity_won:o-1",
        ] {
            let computed = asked.conversion_counting(id, Some(choice)).unwrap();
            let kept = stored.conversion(id).unwrap();
            let attributions = |v: Option<touchline_projection::ConversionView>| {
                v.expect(id)
                    .results
                    .into_iter()
                    .map(|r| (r.model, r.attribution))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                attributions(computed),
                attributions(kept),
                "{id} {choice:?}"
            );
        }
        for kind in ConversionKind::ALL {
            assert_eq!(
                asked
                    .compare_models_counting(kind, TimeRange::default(), None, Some(choice))
                    .unwrap(),
                stored
                    .compare_models(kind, TimeRange::default(), None)
                    .unwrap(),
                "compare {kind:?} {choice:?}"
            );
            for model in Model::ALL {
                assert_eq!(
                    asked
                        .unattributed_counting(model, kind, TimeRange::default(), Some(choice))
                        .unwrap(),
                    stored
                        .unattributed(model, kind, TimeRange::default())
                        .unwrap(),
                    "unattributed {model:?} {kind:?} {choice:?}"
                );
            }
        }
        assert_eq!(
            asked
                .campaign_performance_counting(
                    Model::Linear,
                    TimeRange::default(),
                    "EUR",
                    Some(choice)
                )
                .unwrap(),
            stored
                .campaign_performance(Model::Linear, TimeRange::default(), "EUR")
                .unwrap(),
            "campaigns {choice:?}"
        );
    }
    // Asked for the stored view, the stored sets, untouched.
    assert_eq!(
        include
            .conversion_counting("lead_created:bob", Some(SynthesizedTouches::Include))
            .unwrap(),
        include.conversion("lead_created:bob").unwrap()
    );
}
