//! Folds accept events in any order: one person's and one deal's events,
//! shuffled, give the same credits under every model.

use std::sync::Arc;

use proptest::prelude::*;
use touchline_attribution::Model;
use touchline_core::*;
use touchline_engine::{Batch, Engine, EngineConfig};
use touchline_projection::ConversionView;
use touchline_store::{Store, Table};

const DAY: i64 = 86_400_000;
const T0: i64 = 1_767_225_600_000;

fn envelope(id: &str, day: i64, event: Event) -> Envelope {
    Envelope {
        event_id: id.into(),
        occurred_at: Timestamp::from_millis(T0 + day * DAY),
        recorded_at: Timestamp::from_millis(T0 + day * DAY),
        source_system: "test".into(),
        event,
    }
}

fn touch(id: &str, day: i64, person: &str, campaign: &str) -> Envelope {
    envelope(
        id,
        day,
        Event::TouchRecorded(TouchRecorded {
            person_id: person.into(),
            campaign_id: campaign.into(),
            touch_type: TouchType::EmailClick,
            status: TouchStatus::Responded,
            asset: String::new(),
            topic: String::new(),
        }),
    )
}

/// A lead's life: touches, creation, qualification, a deal with a second
/// contact, the win.
fn history() -> Vec<Envelope> {
    vec![
        touch("t1", 1, "ann", "search"),
        touch("t2", 3, "ann", "webinar"),
        touch("t3", 5, "ann", "email"),
        envelope(
            "lead",
            6,
            Event::LeadCreated(LeadCreated {
                person_id: "ann".into(),
                email: String::new(),
                phone: String::new(),
                first_name: String::new(),
                last_name: String::new(),
                company: String::new(),
                account_id: String::new(),
                source: None,
                owner_id: "rep".into(),
            }),
        ),
        touch("t4", 8, "ann", "email"),
        envelope(
            "qualified",
            9,
            Event::LeadUpdated(LeadUpdated {
                person_id: "ann".into(),
                owner_id: None,
                status: Some(LeadStatus::Qualified),
                qualification: None,
            }),
        ),
        touch("t5", 10, "bob", "tradeshow"),
        envelope(
            "opp",
            12,
            Event::OpportunityCreated(OpportunityCreated {
                opportunity_id: "opp".into(),
                account_id: "acc".into(),
                name: String::new(),
                stage: "proposal".into(),
                amount: Money::new(10_000_00, "EUR"),
                probability_pct: 60,
                expected_close_at: None,
                primary_contact_id: "ann".into(),
                owner_id: String::new(),
                partner_id: String::new(),
            }),
        ),
        envelope(
            "role",
            13,
            Event::OpportunityContactRoleAdded(OpportunityContactRoleAdded {
                opportunity_id: "opp".into(),
                person_id: "bob".into(),
                role: "economic_buyer".into(),
            }),
        ),
        touch("t6", 14, "bob", "email"),
        envelope(
            "won",
            20,
            Event::OpportunityClosed(OpportunityClosed {
                opportunity_id: "opp".into(),
                won: true,
                amount: Money::new(9_000_00, "EUR"),
                partner_id: String::new(),
            }),
        ),
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
