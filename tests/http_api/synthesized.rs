//! `synthesized=include|exclude` on the reports where touches are credited,
//! and each touch's provenance on the person (issue 12, item 11).

use super::*;

/// Ann: a touch synthesized from a legacy lead-source field (`legacy-web`,
/// channel `legacy`), then a recorded one (`webinar`, channel `events`), then
/// her lead. Bob: only a synthesized `legacy-web` touch, then his lead. The
/// engine is configured as by default: synthesized touches count.
///
/// Linear, leads: including, `legacy-web` 1.5 (Ann ½, Bob 1) and `webinar`
/// 0.5; excluding, `webinar` 1 (Ann) and (no touch) 1 (Bob).
fn app_with_a_backfill() -> (axum::Router, tempfile::TempDir) {
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

fn credits(body: &Value, key: &str) -> Vec<(String, f64)> {
    body.as_array()
        .unwrap_or_else(|| panic!("a list: {body}"))
        .iter()
        .map(|r| {
            (
                r[key].as_str().unwrap().to_owned(),
                r["conversions"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_attribution_report_counts_synthesized_touches_or_leaves_them_out() {
    let (app, _dir) = app_with_a_backfill();
    let report = "/v1/reports/attribution?model=linear&conversion=lead_created";
    let including = vec![("legacy-web".to_owned(), 1.5), ("webinar".to_owned(), 0.5)];
    // Equal credits list in id order: `(no touch)` sorts first.
    let excluding = vec![("(no touch)".to_owned(), 1.0), ("webinar".to_owned(), 1.0)];
    for (query, expected) in [
        ("", &including),
        ("&synthesized=include", &including),
        ("&synthesized=exclude", &excluding),
    ] {
        let (status, body) = get(&app, &format!("{report}{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        assert_eq!(&credits(&body, "campaign_id"), expected, "{query}");
    }
    let (status, body) = get(&app, &format!("{report}&by=channel&synthesized=exclude")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        credits(&body, "group"),
        [("(no touch)".to_owned(), 1.0), ("events".to_owned(), 1.0)]
    );
    // The what-if takes the same choice.
    let (status, body) = get(
        &app,
        "/v1/reports/what-if?model=linear&conversion=lead_created&synthesized=exclude",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(credits(&body["rows"], "group"), excluding);
    assert_eq!(body["settings"]["synthesized_touches"], "exclude");
}

#[tokio::test]
async fn the_data_driven_report_leaves_synthesized_touches_out_when_asked() {
    let (app, _dir) = app_with_a_backfill();
    // The channels credited, in name order (the row order is the report's).
    let channels = |body: &Value| -> Vec<String> {
        let mut names: Vec<String> = body["channels"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|c| c["channel"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let report = "/v1/reports/data-driven?model=shapley&conversion=lead_created";
    let (status, body) = get(&app, report).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(channels(&body), ["events", "legacy"]);
    assert_eq!(body["synthesized_touches"], "include");
    // Without its synthesized touch Bob's journey is empty: only Ann's
    // `events` touch is left to credit.
    let (status, body) = get(&app, &format!("{report}&synthesized=exclude")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(channels(&body), ["events"]);
    // The answer says which choice it used.
    assert_eq!(body["synthesized_touches"], "exclude");
}

#[tokio::test]
async fn a_bad_synthesized_choice_is_a_400_naming_the_parameter() {
    let (app, _dir) = app_with_a_backfill();
    for route in [
        "/v1/reports/attribution",
        "/v1/reports/data-driven",
        "/v1/reports/what-if",
    ] {
        let (status, body) = get(&app, &format!("{route}?synthesized=yes")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{route}: {body}");
        assert_eq!(
            body["error"], "parameter synthesized: \"yes\" is not include or exclude",
            "{route}"
        );
    }
}

#[tokio::test]
async fn the_person_shows_each_touchs_provenance() {
    let (app, _dir) = app_with_a_backfill();
    let (status, body) = get(&app, "/v1/persons/ann").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let provenance: Vec<&Value> = body["touches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["provenance"])
        .collect();
    assert_eq!(
        provenance,
        [
            &serde_json::json!({
                "origin": "synthesized",
                "source": "legacy lead_source field (touchline import)"
            }),
            &serde_json::json!({"origin": "recorded", "source": ""}),
        ]
    );
}
