//! `synthesized=include|exclude` on the reports that read each conversion's
//! credits: campaign performance, model comparison, unattributed, one
//! conversion (and a lead's and a deal's), as-of; and the 400 on every route
//! that takes it (issue 12, item 11). The figures are worked out by hand.

use super::*;

/// Campaigns `legacy-web` (channel `legacy`, cost 100.00) and `webinar`
/// (`events`, cost 200.00). Ann: a `legacy-web` touch synthesized from a
/// legacy lead-source field (1.0 s), a recorded `webinar` touch (2.0 s), her
/// lead (3.0 s). Bob: only a synthesized `legacy-web` touch (1.5 s), his lead
/// (2.5 s). Deal `o-1` of account `acc-1`, Ann its contact, created (5 s) and
/// won (6 s) for 1,000.00, and 300.00 booked on it (7 s). The engine counts
/// synthesized touches (the default).
///
/// Linear. Including: leads `legacy-web` 1.5 (Ann ½, Bob 1), `webinar` 0.5;
/// the won deal 500.00 to each, the 300.00 booked 150.00 to each. Excluding:
/// leads `webinar` 1 (Ann), Bob's lead to (no touch); the deal 1,000.00 and
/// the booking 300.00 to `webinar`.
fn app_with_costs_and_a_deal() -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    let legacy = "legacy lead_source field (touchline import)";
    let events = vec![
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
        envelope("cost-legacy", 0, cost("legacy-web", 100_00)),
        envelope("cost-webinar", 0, cost("webinar", 200_00)),
        envelope(
            "t-ann-1",
            1_000,
            touch("ann", "legacy-web").synthesized(legacy),
        ),
        envelope("t-ann-2", 2_000, touch("ann", "webinar")),
        envelope("l-ann", 3_000, lead("ann")),
        envelope(
            "t-bob-1",
            1_500,
            touch("bob", "legacy-web").synthesized(legacy),
        ),
        envelope("l-bob", 2_500, lead("bob")),
        envelope("a-1", 4_000, account("acc-1", "Acme")),
        envelope(
            "o-1",
            5_000,
            opportunity("o-1", "acc-1", 1_000_00).with_contact("ann"),
        ),
        envelope("o-1-won", 6_000, won("o-1", 1_000_00)),
        envelope(
            "x-1",
            7_000,
            TransactionRecorded {
                opportunity_id: "o-1".into(),
                ..transaction("x-1", "acc-1", 300_00)
            },
        ),
    ];
    engine
        .apply(Batch {
            events,
            ..Batch::default()
        })
        .unwrap();
    let router = touchline_api::router(Queries::new(store), engine.metrics().clone());
    (router, dir)
}

/// The body of a 200.
async fn ok(app: &axum::Router, uri: &str) -> Value {
    let (status, body) = get(app, uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    body
}

/// A list's row whose `key` is `id`.
fn row<'b>(body: &'b Value, key: &str, id: &str) -> &'b Value {
    body.as_array()
        .unwrap_or_else(|| panic!("a list: {body}"))
        .iter()
        .find(|r| r[key] == id)
        .unwrap_or_else(|| panic!("no {key} {id} in {body}"))
}

#[tokio::test]
async fn campaign_roi_follows_the_credited_revenue_with_or_without_synthesized_touches() {
    let (app, _dir) = app_with_costs_and_a_deal();
    let report = "/v1/reports/campaigns?model=linear";
    // (campaign, leads, revenue, booked, roi, cost per lead).
    let figures = |body: &Value, id: &str| {
        let r = row(body, "campaign_id", id);
        (
            r["leads"].as_f64().unwrap(),
            r["revenue_minor"].as_i64().unwrap(),
            r["booked_minor"].as_i64().unwrap(),
            r["roi"].clone(),
            r["cost_per_lead_minor"].clone(),
        )
    };
    for query in ["", "&synthesized=include"] {
        let body = ok(&app, &format!("{report}{query}")).await;
        // legacy-web: (500 − 100) / 100; webinar: (500 − 200) / 200, 200.00 / 0.5 leads.
        assert_eq!(
            figures(&body, "legacy-web"),
            (1.5, 500_00, 150_00, 4.0.into(), 6667.into()),
            "{query}"
        );
        assert_eq!(
            figures(&body, "webinar"),
            (0.5, 500_00, 150_00, 1.5.into(), 400_00.into()),
            "{query}"
        );
    }
    let body = ok(&app, &format!("{report}&synthesized=exclude")).await;
    // legacy-web: credited nothing, (0 − 100) / 100, no lead to cost;
    // webinar: (1000 − 200) / 200, 200.00 / 1 lead.
    assert_eq!(
        figures(&body, "legacy-web"),
        (0.0, 0, 0, (-1.0).into(), "undefined".into())
    );
    assert_eq!(
        figures(&body, "webinar"),
        (1.0, 1_000_00, 300_00, 4.0.into(), 200_00.into())
    );
    // Members and cost are no credit: the same in both views.
    let legacy = row(&body, "campaign_id", "legacy-web");
    assert_eq!(
        (legacy["members"].as_u64(), legacy["cost_minor"].as_i64()),
        (Some(2), Some(100_00))
    );
}

#[tokio::test]
async fn model_comparison_leaves_synthesized_touches_out_when_asked() {
    let (app, _dir) = app_with_costs_and_a_deal();
    let report = "/v1/reports/compare?conversion=lead_created";
    // One campaign's credit under one model.
    let credit = |body: &Value, id: &str, model: &str| -> Option<f64> {
        row(body, "campaign_id", id)["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["model"] == model)
            .map(|m| m["conversions"].as_f64().unwrap())
    };
    let body = ok(&app, report).await;
    // First touch: Ann and Bob both first met legacy-web.
    assert_eq!(credit(&body, "legacy-web", "first_touch"), Some(2.0));
    assert_eq!(credit(&body, "legacy-web", "linear"), Some(1.5));
    assert_eq!(credit(&body, "webinar", "linear"), Some(0.5));
    let body = ok(&app, &format!("{report}&synthesized=exclude")).await;
    assert!(
        body.as_array()
            .unwrap()
            .iter()
            .all(|r| r["campaign_id"] != "legacy-web"),
        "{body}"
    );
    assert_eq!(credit(&body, "webinar", "first_touch"), Some(1.0));
    assert_eq!(credit(&body, "webinar", "linear"), Some(1.0));
    assert_eq!(credit(&body, "(no touch)", "linear"), Some(1.0));
    // With one campaign asked for, the same choice.
    let body = ok(
        &app,
        &format!("{report}&campaign=webinar&synthesized=exclude"),
    )
    .await;
    assert_eq!(body.as_array().unwrap().len(), 1, "{body}");
    assert_eq!(credit(&body, "webinar", "linear"), Some(1.0));
}

#[tokio::test]
async fn a_lead_whose_only_touch_is_synthesized_is_unattributed_with_a_reason_when_excluded() {
    let (app, _dir) = app_with_costs_and_a_deal();
    let report = "/v1/reports/unattributed?model=linear&conversion=lead_created";
    assert_eq!(ok(&app, report).await, serde_json::json!([]));
    assert_eq!(
        ok(&app, &format!("{report}&synthesized=include")).await,
        serde_json::json!([])
    );
    assert_eq!(
        ok(&app, &format!("{report}&synthesized=exclude")).await,
        serde_json::json!([{
            "reason": "none_match_filter",
            "conversions": 1,
            "examples": ["lead_created:bob"],
        }])
    );
}

#[tokio::test]
async fn one_conversions_credits_count_synthesized_touches_as_asked_and_say_so() {
    let (app, _dir) = app_with_costs_and_a_deal();
    // Linear's lines as (campaign, touch, weight, amount).
    let linear = |body: &Value| -> Vec<(String, Value, f64, Value)> {
        body["results"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .find(|r| r["model"] == "linear")
            .unwrap()["attribution"]["credits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["campaign_id"].as_str().unwrap().to_owned(),
                    c["touch_event_id"].clone(),
                    c["weight"].as_f64().unwrap(),
                    c["amount_minor"].clone(),
                )
            })
            .collect()
    };
    let stored = ok(&app, "/v1/conversions/opportunity_won:o-1").await;
    assert_eq!(stored["synthesized_touches"], "include");
    assert_eq!(
        linear(&stored),
        [
            ("legacy-web".into(), "t-ann-1".into(), 0.5, 500_00.into()),
            ("webinar".into(), "t-ann-2".into(), 0.5, 500_00.into()),
        ]
    );
    let excluded = ok(
        &app,
        "/v1/conversions/opportunity_won:o-1?synthesized=exclude",
    )
    .await;
    assert_eq!(excluded["synthesized_touches"], "exclude");
    assert_eq!(
        linear(&excluded),
        [("webinar".into(), "t-ann-2".into(), 1.0, 1_000_00.into())]
    );
    // Computed from the stored set's inputs: its version and log position.
    for field in ["version", "as_of_seq"] {
        assert_eq!(
            excluded["results"][0][field], stored["results"][0][field],
            "{field}"
        );
    }
    // A lead's and a deal's credits take the choice too.
    let bob = ok(&app, "/v1/leads/bob/attribution?synthesized=exclude").await;
    assert_eq!(bob["synthesized_touches"], "exclude");
    assert_eq!(
        bob["results"][0]["attribution"]["unattributed"],
        "none_match_filter"
    );
    assert_eq!(
        linear(&bob),
        [("(no touch)".into(), Value::Null, 1.0, Value::Null)]
    );
    let deal = ok(
        &app,
        "/v1/opportunities/o-1/attribution?synthesized=exclude",
    )
    .await;
    assert_eq!(
        linear(&deal),
        [("webinar".into(), "t-ann-2".into(), 1.0, 1_000_00.into())]
    );
    assert_eq!(
        linear(&ok(&app, "/v1/opportunities/o-1/attribution").await).len(),
        2
    );
}

#[tokio::test]
async fn as_of_counts_synthesized_touches_alike_then_and_now() {
    let (app, _dir) = app_with_costs_and_a_deal();
    // At 2.7 s Bob's lead stood and Ann's did not yet.
    let report = "/v1/reports/as-of?at=1970-01-01T00:00:02.700Z&model=linear\
                  &conversion=lead_created&by=campaign";
    // (group, then, now) conversions, by group.
    let rows = |body: &Value| -> Vec<(String, f64, f64)> {
        let mut rows: Vec<(String, f64, f64)> = body["rows"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|r| {
                (
                    r["group"].as_str().unwrap().to_owned(),
                    r["then"]["conversions"].as_f64().unwrap(),
                    r["now"]["conversions"].as_f64().unwrap(),
                )
            })
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows
    };
    let body = ok(&app, report).await;
    assert_eq!(body["synthesized_touches"], "include");
    assert_eq!(
        rows(&body),
        [
            ("legacy-web".into(), 1.0, 1.5),
            ("webinar".into(), 0.0, 0.5)
        ]
    );
    let body = ok(&app, &format!("{report}&synthesized=exclude")).await;
    assert_eq!(body["synthesized_touches"], "exclude");
    // Bob's lead was (no touch) then and is now: only Ann's is new.
    assert_eq!(
        rows(&body),
        [
            ("(no touch)".into(), 1.0, 1.0),
            ("webinar".into(), 0.0, 1.0)
        ]
    );
    assert_eq!(body["moved_conversions"], 1, "{body}");
}

/// Every route whose parameters list `synthesized` (from the route table)
/// answers a bad value with a 400 naming it; a route that lists it is one of
/// those where credited touches change the answer.
#[tokio::test]
async fn every_route_taking_synthesized_refuses_a_bad_value_naming_it() {
    let (app, _dir) = app_with_costs_and_a_deal();
    let mut paths: Vec<&str> = touchline_api::routes::ROUTES
        .iter()
        .filter(|r| r.params.iter().any(|p| p.name == "synthesized"))
        .map(|r| r.path)
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/v1/conversions/{id}",
            "/v1/leads/{id}/attribution",
            "/v1/opportunities/{id}/attribution",
            "/v1/reports/as-of",
            "/v1/reports/attribution",
            "/v1/reports/campaigns",
            "/v1/reports/compare",
            "/v1/reports/data-driven",
            "/v1/reports/unattributed",
            "/v1/reports/what-if",
        ]
    );
    for path in paths {
        let id = match path {
            "/v1/conversions/{id}" => "lead_created:ann",
            "/v1/leads/{id}/attribution" => "ann",
            _ => "o-1",
        };
        let uri = format!("{}?synthesized=yes", path.replace("{id}", id));
        let (status, body) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(
            body["error"], "parameter synthesized: \"yes\" is not include or exclude",
            "{uri}"
        );
    }
}
