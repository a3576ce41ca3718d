//! B2B: opportunities that draw on every contact of their account, and deals
//! whose late events must not reopen them.

mod common;

use std::sync::Arc;

use common::state::*;
use touchline_attribution::Model;
use touchline_engine::{Batch, Engine, EngineConfig, Queries};
use touchline_fixtures::{
    LeadFixture, OpportunityFixture, envelope, lead, opportunity, stage, touch, won,
};
use touchline_store::Store;

#[test]
fn b2b_opportunities_can_draw_on_every_contact_of_the_account() {
    let events = || {
        vec![
            envelope("c1", 10, touch("carol", "events")), // carol works at the account but has no role
            envelope("l-carol", 50, lead("carol").at_account("acc")),
            envelope("a1", 100, touch("alice", "search")),
            envelope(
                "o",
                300,
                opportunity("opp", "acc", 100_00).with_contact("alice"),
            ),
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
        envelope(
            "o1",
            100,
            opportunity("opp-1", "acc", 100_00).with_contact("carol"),
        ), // carol joins the account here
        envelope(
            "o2",
            300,
            opportunity("opp-2", "acc", 100_00).with_contact("alice"),
        ),
        envelope("a1", 200, touch("alice", "search")),
        envelope("c1", 150, touch("carol", "events")), // recorded last, happened first
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
                envelope("t", 100, touch("p", "search")),
                envelope("o", 200, opportunity("opp", "acc", 10_00).with_contact("p")),
                envelope("won", 400, won("opp", 10_00)),
                envelope("late-stage", 300, stage("opp", "proposal")),
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
