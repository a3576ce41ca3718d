//! The touches behind a conversion are one rule: the data-driven models see
//! the same people as the per-conversion models, in account mode too.

use std::sync::Arc;

use touchline_attribution::{AttributionSettings, ConversionKind, Model, OpportunityTouches};
use touchline_core::*;
use touchline_engine::data_driven::{DataDrivenModel, Granularity};
use touchline_engine::{Batch, Engine, EngineConfig, Queries, TimeRange};
use touchline_fixtures::*;
use touchline_store::Store;

#[test]
fn data_driven_journeys_draw_on_every_account_contact_in_account_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("open store"));
    let settings = AttributionSettings {
        opportunity_touches: OpportunityTouches::AccountContacts,
        ..AttributionSettings::default()
    };
    let config = EngineConfig {
        models: vec![Model::FirstTouch],
        settings: settings.clone(),
        ..EngineConfig::default()
    };
    let mut engine = Engine::open(store.clone(), config).expect("open engine");
    // Alice is the deal's contact; Bob only works at the same account. Carol
    // never converts.
    let events = vec![
        envelope("lead-alice", 10, lead("alice").at_account("acc")),
        envelope("lead-bob", 11, lead("bob").at_account("acc")),
        envelope("t-alice", 100, touch("alice", "webinar")),
        envelope("t-bob", 90, touch("bob", "search")),
        envelope("t-carol", 120, touch("carol", "search")),
        envelope(
            "opp-created",
            200,
            OpportunityCreated {
                stage: "proposal".into(),
                probability_pct: 60,
                ..opportunity("opp", "acc", 1_000_00).with_contact("alice")
            },
        ),
        envelope("opp-won", 300, won("opp", 1_000_00)),
    ];
    engine
        .apply(Batch {
            events,
            ..Batch::default()
        })
        .expect("apply");
    let queries = Queries::new(store);

    // The per-conversion model credits Bob's search touch: it is the first.
    let won = queries
        .conversion(&ConversionKind::OpportunityWon.conversion_id("opp"))
        .expect("query")
        .expect("won");
    let first = won.result(Model::FirstTouch).expect("first touch");
    assert_eq!(first.attribution.credits[0].campaign_id, "search");

    // The data-driven journey of the deal holds both contacts' touches, and
    // Bob, behind the conversion, is no non-converting journey.
    let report = queries
        .data_driven(
            DataDrivenModel::Markov { order: 1 },
            ConversionKind::OpportunityWon,
            TimeRange::default(),
            Granularity::Campaign,
            &settings,
        )
        .expect("report");
    assert_eq!(
        (report.converting_journeys, report.non_converting_journeys),
        (1, 1)
    );
    let search = report
        .result
        .channels
        .iter()
        .find(|c| c.channel == "search")
        .expect("search is a channel");
    assert!(search.share > 0.0, "{:?}", report.result.channels);
}

/// The worked example of `Queries::data_driven`: a period cuts converting and
/// non-converting journeys at the same boundary.
#[test]
fn a_period_cuts_data_driven_journeys_at_its_boundary() {
    const DAY: i64 = 86_400_000;
    const AUG_1: i64 = 1_785_542_400_000; // 2026-08-01
    const SEP_1: i64 = AUG_1 + 31 * DAY;
    const OCT_1: i64 = SEP_1 + 30 * DAY;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("open store"));
    let config = EngineConfig {
        models: vec![Model::Linear],
        ..EngineConfig::default()
    };
    let mut engine = Engine::open(store.clone(), config).expect("open engine");
    let lead_at = |person: &str, ms: i64| envelope(format!("lead-{person}"), ms, lead(person));
    let events = vec![
        envelope("alice-email", AUG_1 + 24 * DAY, touch("alice", "email")),
        lead_at("alice", SEP_1 + 4 * DAY),
        envelope("bob-search", SEP_1 + 9 * DAY, touch("bob", "search")),
        envelope("bob-email", OCT_1, touch("bob", "email")),
        lead_at("bob", OCT_1 + 2 * DAY),
        envelope("carol-webinar", AUG_1, touch("carol", "webinar")),
        lead_at("carol", AUG_1 + 9 * DAY),
        envelope("carol-email", SEP_1 + 14 * DAY, touch("carol", "email")),
        envelope("dave-search", SEP_1 + 19 * DAY, touch("dave", "search")),
    ];
    engine
        .apply(Batch {
            events,
            ..Batch::default()
        })
        .expect("apply");
    let queries = Queries::new(store);
    let september = TimeRange {
        from: Some(Timestamp::from_millis(SEP_1)),
        to: Some(Timestamp::from_millis(OCT_1)),
    };
    let report = queries
        .data_driven(
            DataDrivenModel::Markov { order: 1 },
            ConversionKind::LeadCreated,
            september,
            Granularity::Campaign,
            &AttributionSettings::default(),
        )
        .expect("report");
    // Alice converts; Bob and Dave are [search]; Carol is in neither.
    assert_eq!(
        (report.converting_journeys, report.non_converting_journeys),
        (1, 2)
    );
    let share = |channel: &str| {
        report
            .result
            .channels
            .iter()
            .find(|c| c.channel == channel)
            .map_or(0.0, |c| c.share)
    };
    assert_eq!((share("email"), share("search")), (1.0, 0.0));
    assert!(
        report
            .result
            .channels
            .iter()
            .all(|c| c.channel != "webinar")
    );
}
