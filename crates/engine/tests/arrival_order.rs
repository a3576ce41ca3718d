//! Folds accept events in any order: one person's and one deal's events,
//! shuffled, give the same credits under every model.

use std::sync::Arc;

use proptest::prelude::*;
use touchline_attribution::Model;
use touchline_core::*;
use touchline_engine::{Batch, Engine, EngineConfig};
use touchline_fixtures::*;
use touchline_projection::ConversionView;
use touchline_store::{Store, Table};

const DAY: i64 = 86_400_000;
const T0: i64 = 1_767_225_600_000;

/// The instant `n` days after T0.
fn day(n: i64) -> i64 {
    T0 + n * DAY
}

/// A lead's life: touches, creation, qualification, a deal with a second
/// contact, the win.
fn history() -> Vec<Envelope> {
    vec![
        envelope("t1", day(1), touch("ann", "search")),
        envelope("t2", day(3), touch("ann", "webinar")),
        envelope("t3", day(5), touch("ann", "email")),
        envelope("lead", day(6), lead("ann").owned_by("rep")),
        envelope("t4", day(8), touch("ann", "email")),
        envelope(
            "qualified",
            day(9),
            LeadUpdated {
                status: Some(LeadStatus::Qualified),
                ..lead_updated("ann")
            },
        ),
        envelope("t5", day(10), touch("bob", "tradeshow")),
        envelope(
            "opp",
            day(12),
            OpportunityCreated {
                stage: "proposal".into(),
                probability_pct: 60,
                ..opportunity("opp", "acc", 10_000_00).with_contact("ann")
            },
        ),
        envelope(
            "role",
            day(13),
            contact_role("opp", "bob", "economic_buyer"),
        ),
        envelope("t6", day(14), touch("bob", "email")),
        envelope("won", day(20), won("opp", 9_000_00)),
    ]
}

/// Every stored conversion with each model's credits, versions aside.
fn credits(events: Vec<Envelope>, batch: usize) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("open store"));
    let config = EngineConfig {
        models: Model::ALL.to_vec(),
        ..EngineConfig::default()
    };
    let mut engine = Engine::open(store.clone(), config).expect("open engine");
    for chunk in events.chunks(batch) {
        engine
            .apply(Batch {
                events: chunk.to_vec(),
                ..Batch::default()
            })
            .expect("apply");
    }
    let mut out = Vec::new();
    store
        .for_each(Table::Conversions, |k, v: ConversionView| {
            if !v.is_live() {
                return;
            }
            let credits: Vec<_> = v
                .results
                .iter()
                .map(|r| (r.model, r.attribution.clone()))
                .collect();
            out.push((k.to_owned(), format!("{:?} {credits:?}", v.conversion)));
        })
        .expect("conversions");
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_arrival_order_and_batching_gives_the_same_credits(
        order in Just((0..history().len()).collect::<Vec<usize>>()).prop_shuffle(),
        batch in 1usize..5,
    ) {
        let expected = credits(history(), 100);
        let events = history();
        let shuffled: Vec<Envelope> = order.iter().map(|&i| events[i].clone()).collect();
        let got = credits(shuffled, batch);
        prop_assert_eq!(got.len(), expected.len());
        for ((key, credits), (_, want)) in got.iter().zip(&expected) {
            prop_assert!(credits == want, "{} differs in order {:?}, batches of {}", key, order, batch);
        }
    }
}
