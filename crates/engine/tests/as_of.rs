//! The as-of report over a live store: credit then and now per group, why it
//! moved, and the bound on what one answer replays.

use std::sync::Arc;

use touchline_attribution::{ConversionKind, Model};
use touchline_core::*;
use touchline_engine::as_of::{AsOfError, AsOfReport, AsOfRequest, MoveReason, ReasonCounts};
use touchline_engine::{Batch, Engine, EngineConfig, GroupBy, Queries, TimeRange};
use touchline_fixtures::{OpportunityFixture, at, envelope, lead, opportunity, touch};
use touchline_store::Store;

fn won(id: &str, ms: i64, opp: &str, amount: i64) -> Envelope {
    envelope(
        id,
        ms,
        Event::OpportunityClosed(OpportunityClosed {
            opportunity_id: opp.into(),
            won: true,
            amount: Money::new(amount, "EUR"),
            partner_id: String::new(),
        }),
    )
}

/// Deal `o` is won at 300 with Pia's ad touch behind it; after the instant
/// (500), Quinn, touched at the fair long before, joins the deal, and deal
/// `o2` is won.
fn engine(dir: &std::path::Path) -> (Engine, Queries) {
    let store = Arc::new(Store::open(dir).expect("open store"));
    let config = EngineConfig {
        models: vec![Model::Linear, Model::FirstTouch],
        ..EngineConfig::default()
    };
    let mut engine = Engine::open(store.clone(), config).expect("open engine");
    let events = vec![
        envelope("t1", 100, touch("pia", "ads")),
        envelope("t2", 120, touch("quinn", "fair")),
        envelope("l1", 150, lead("pia")),
        envelope(
            "o",
            200,
            opportunity("o", "acc", 1_000_00).with_contact("pia"),
        ),
        won("w", 300, "o", 1_000_00),
        envelope(
            "role",
            600,
            Event::OpportunityContactRoleAdded(OpportunityContactRoleAdded {
                opportunity_id: "o".into(),
                person_id: "quinn".into(),
                role: "champion".into(),
            }),
        ),
        envelope(
            "o2",
            700,
            opportunity("o2", "acc", 300_00).with_contact("pia"),
        ),
        won("w2", 800, "o2", 300_00),
    ];
    engine
        .apply(Batch {
            events,
            ..Batch::default()
        })
        .expect("apply");
    (engine, Queries::new(store))
}

fn request(at_ms: i64) -> AsOfRequest {
    AsOfRequest {
        at: at(at_ms),
        model: Model::Linear,
        kind: ConversionKind::OpportunityWon,
        by: GroupBy::Campaign,
        range: TimeRange::default(),
        moved_limit: Some(10),
        synthesized: None,
    }
}

fn report(queries: &Queries, request: &AsOfRequest, max: usize) -> Result<AsOfReport, AsOfError> {
    let scratch = tempfile::tempdir().expect("tempdir");
    queries.as_of_report(request, scratch.path(), max)
}

#[test]
fn a_contact_joining_a_won_deal_moves_its_value_and_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_engine, queries) = engine(dir.path());
    let answer = report(&queries, &request(500), 1_000).expect("as of");
    assert_eq!(answer.as_of_seq, 8);
    assert_eq!(answer.events_replayed, 5);
    assert_eq!((answer.conversions_then, answer.conversions_now), (1, 2));
    assert_eq!(answer.moved_conversions, 2);
    let rows: Vec<_> = answer
        .rows
        .iter()
        .map(|r| {
            (
                r.group.as_str(),
                r.currency.as_deref(),
                (r.then.conversions, r.then.value_minor),
                (r.now.conversions, r.now.value_minor),
                (r.delta.conversions, r.delta.value_minor),
                r.moved_conversions,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (
                "fair",
                Some("EUR"),
                (0.0, 0),
                (0.5, 500_00),
                (0.5, 500_00),
                1
            ),
            // o2 is new and all Pia's: ads gains 300.00 and loses half of o.
            (
                "ads",
                Some("EUR"),
                (1.0, 1_000_00),
                (1.5, 800_00),
                (0.5, -200_00),
                2
            ),
        ]
    );
    assert_eq!(
        answer.rows[0].reasons,
        ReasonCounts {
            contact_added: 1,
            ..ReasonCounts::default()
        }
    );
    assert_eq!(
        answer.rows[1].reasons,
        ReasonCounts {
            contact_added: 1,
            new_conversion: 1,
            ..ReasonCounts::default()
        }
    );
    let total = &answer.totals[0];
    assert_eq!(
        (
            total.then.value_minor,
            total.now.value_minor,
            total.delta.value_minor
        ),
        (1_000_00, 1_300_00, 300_00)
    );
    // Half of o changed campaign (500.00); all of o2 arrived (300.00).
    let moved: Vec<_> = answer
        .moved
        .iter()
        .map(|m| (m.conversion_id.as_str(), m.moved_minor, m.reasons.clone()))
        .collect();
    assert_eq!(
        moved,
        [
            ("opportunity_won:o", 500_00, vec![MoveReason::ContactAdded]),
            (
                "opportunity_won:o2",
                300_00,
                vec![MoveReason::NewConversion]
            ),
        ]
    );
    assert!(answer.moved[1].then.is_none());

    // By channel: the campaigns have no record, so no channel.
    let by_channel = report(
        &queries,
        &AsOfRequest {
            by: GroupBy::Channel,
            ..request(500)
        },
        1_000,
    )
    .expect("as of");
    assert_eq!(by_channel.rows.len(), 1);
    assert_eq!(by_channel.rows[0].group, "(none)");
    assert_eq!(by_channel.rows[0].delta.value_minor, 300_00);
    assert_eq!(by_channel.rows[0].moved_conversions, 2);
}

#[test]
fn an_instant_after_everything_is_now_and_nothing_moved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_engine, queries) = engine(dir.path());
    let answer = report(&queries, &request(i64::MAX / 2), 1_000).expect("as of");
    assert_eq!(answer.events_replayed, 8);
    assert_eq!(answer.moved_conversions, 0);
    assert!(answer.moved.is_empty());
    assert!(answer.rows.iter().all(|r| r.then == r.now
        && r.delta.value_minor == 0
        && r.reasons == ReasonCounts::default()));
}

#[test]
fn a_period_counts_each_side_by_its_own_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_engine, queries) = engine(dir.path());
    // Only o2's close (800) is in [700, 900): nothing then, o2 now.
    let answer = report(
        &queries,
        &AsOfRequest {
            range: TimeRange {
                from: Some(at(700)),
                to: Some(at(900)),
            },
            ..request(500)
        },
        1_000,
    )
    .expect("as of");
    assert_eq!((answer.conversions_then, answer.conversions_now), (0, 1));
    assert_eq!(answer.moved_conversions, 1);
    assert_eq!(answer.rows.len(), 1);
    assert_eq!(answer.rows[0].reasons.new_conversion, 1);
}

#[test]
fn more_events_recorded_by_the_instant_than_the_bound_are_refused_before_any_replay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_engine, queries) = engine(dir.path());
    // Five events were recorded by 500, eight are in the log.
    let error = report(&queries, &request(500), 4).expect_err("over the bound");
    assert!(
        matches!(error, AsOfError::TooLarge { limit: 4, .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "more than 4 events were recorded by 1970-01-01T00:00:00.500Z; an as-of replays at most 4 (ask for an earlier instant)"
    );
    // At the bound exactly, it answers.
    let answer = report(&queries, &request(500), 5).expect("at the bound");
    assert_eq!(answer.events_replayed, 5);
}
