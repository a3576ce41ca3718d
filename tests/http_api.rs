//! The HTTP API: what each endpoint answers, and the precise errors for bad input.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use touchline_core::*;
use touchline_engine::{Batch, Engine, EngineConfig, Queries};
use touchline_fixtures::*;
use touchline_store::Store;
use tower::ServiceExt;

#[path = "http_api/schema.rs"]
mod schema;
#[path = "http_api/synthesized.rs"]
mod synthesized;
#[path = "http_api/synthesized_reports.rs"]
mod synthesized_reports;

/// A store with one lead (two touches, a source), one opportunity and a campaign.
fn app() -> (axum::Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    let events = vec![
        envelope(
            "c1",
            1,
            CampaignUpserted {
                name: "Google Ads".into(),
                channel: "paid_search".into(),
                medium: "cpc".into(),
                source: "google".into(),
                ad_code: "GA-1".into(),
                campaign_type: CampaignType::Advertisement,
                planned_cost: Some(eur(100_000)),
                ..campaign("search", 1)
            },
        ),
        envelope(
            "t1",
            1_000,
            touch("p-1", "search")
                .of_type(TouchType::AdClick)
                .with_asset("/pricing"),
        ),
        envelope(
            "t2",
            2_000,
            touch("p-1", "webinar")
                .of_type(TouchType::AdClick)
                .with_asset("/pricing"),
        ),
        envelope(
            "l1",
            3_000,
            LeadCreated {
                first_name: "Ada".into(),
                last_name: "Lovelace".into(),
                company: "Analytical".into(),
                ..lead("p-1")
                    .with_email("ada@example.com")
                    .with_source(LeadSource {
                        campaign_id: "search".into(),
                        ad_code: "GA-1".into(),
                        medium: "cpc".into(),
                        source: "google".into(),
                    })
                    .owned_by("rep-1")
            },
        ),
        envelope(
            "o1",
            4_000,
            OpportunityCreated {
                name: "Analytical engine".into(),
                owner_id: "rep-1".into(),
                ..opportunity("opp-1", "acc-1", 50_000_00).with_contact("p-1")
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

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, body)
}

#[tokio::test]
async fn the_lead_shows_its_source_first_and_last_touch() {
    let (app, _dir) = app();
    let (status, lead) = get(&app, "/v1/leads/p-1").await;
    assert_eq!(status, StatusCode::OK, "{lead}");
    assert_eq!(lead["source_at_first_contact"]["campaign_id"], "search");
    assert_eq!(lead["source_at_first_contact"]["ad_code"], "GA-1");
    assert_eq!(lead["first_touch"]["event_id"], "t1");
    assert_eq!(lead["last_touch"]["event_id"], "t2");
    assert_eq!(lead["touch_count"], 2);
    assert_eq!(lead["lead_created_at"], "1970-01-01T00:00:03.000Z");
    assert_eq!(lead["opportunity_ids"], serde_json::json!(["opp-1"]));
}

#[tokio::test]
async fn the_person_holds_the_touch_history_in_order() {
    let (app, _dir) = app();
    let (status, person) = get(&app, "/v1/persons/p-1").await;
    assert_eq!(status, StatusCode::OK);
    let touches: Vec<&str> = person["touches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["campaign_id"].as_str().unwrap())
        .collect();
    assert_eq!(touches, ["search", "webinar"]);
    let (status, events) = get(&app, "/v1/persons/p-1/events?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(events.as_array().unwrap().len(), 2);
    assert_eq!(events[0]["event_id"], "t1");
    assert_eq!(events[0]["payload"]["type"], "touch_recorded");
}

#[tokio::test]
async fn attribution_endpoints_give_every_model() {
    let (app, _dir) = app();
    let (status, lead) = get(&app, "/v1/leads/p-1/attribution").await;
    assert_eq!(status, StatusCode::OK);
    let results = lead["results"].as_array().unwrap();
    assert_eq!(results.len(), 10, "every model by default");
    assert_eq!(results[2]["model"], "linear");
    let linear: Vec<f64> = results[2]["attribution"]["credits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["weight"].as_f64().unwrap())
        .collect();
    assert_eq!(linear, [0.5, 0.5]);
    assert_eq!(results[0]["model"], "first_touch");
    assert_eq!(
        results[0]["attribution"]["credits"][0]["campaign_id"],
        "search"
    );
    assert_eq!(results[1]["model"], "last_touch");
    assert_eq!(
        results[1]["attribution"]["credits"][0]["campaign_id"],
        "webinar"
    );
    let (status, opp) = get(&app, "/v1/opportunities/opp-1/attribution").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        opp["results"][1]["attribution"]["credits"][0]["amount_minor"],
        50_000_00
    );
    let (status, report) = get(
        &app,
        "/v1/reports/attribution?model=last_touch&conversion=opportunity_created",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report[0]["campaign_id"], "webinar");
    assert_eq!(report[0]["value_minor"], 50_000_00);
    assert_eq!(report[0]["currency"], "EUR");
}

#[tokio::test]
async fn bad_parameters_get_a_400_naming_the_parameter() {
    let (app, _dir) = app();
    let (status, body) = get(&app, "/v1/reports/attribution?model=v_shaped").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "parameter model: unknown model \"v_shaped\"; expected one of first_touch, last_touch, linear, u_shaped, \
         j_shaped, inverse_j, w_shaped, full_path, time_decay, custom"
    );
    let (status, body) = get(&app, "/v1/reports/attribution?conversion=sale").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("parameter conversion:"),
        "{body}"
    );
    let (status, body) = get(&app, "/v1/persons/p-1/events?limit=lots").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "parameter limit: \"lots\" is not a non-negative integer"
    );
}

#[tokio::test]
async fn unknown_ids_get_a_404_that_says_what_is_missing() {
    let (app, _dir) = app();
    let (status, body) = get(&app, "/v1/leads/nobody").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "no person with id \"nobody\"");
    let (status, _) = get(&app, "/v1/opportunities/none/attribution").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = get(
        &app,
        "/v1/reports/compare?conversion=opportunity_created&campaign=cmp-nope",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "no campaign with id \"cmp-nope\"");
    let (status, body) = get(&app, "/v1/conversions/garbage").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "conversion id \"garbage\" must look like <conversion point>:<id>, e.g. opportunity_won:opp-7"
    );
    // Unknown paths and methods answer in JSON too.
    let (status, body) = get(&app, "/v1/no-such-thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["error"],
        "no route \"/v1/no-such-thing\"; the routes are listed at /openapi.json"
    );
    let response = app
        .clone()
        .oneshot(
            Request::delete("/v1/leads/p-1")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["error"], "method DELETE is not allowed on this route");
}

#[tokio::test]
async fn status_and_metrics_report_the_counters() {
    let (app, _dir) = app();
    let (status, body) = get(&app, "/v1/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["metrics"]["events_appended"], 5);
    let (status, text) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.as_str()
            .unwrap()
            .contains("touchline_events_appended_total 5"),
        "{text}"
    );
}

#[tokio::test]
async fn models_compare_side_by_side_and_ranges_are_checked() {
    let (app, _dir) = app();
    let (status, one) = get(&app, "/v1/conversions/opportunity_created:opp-1").await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["results"].as_array().unwrap().len(), 10);
    let (status, rows) = get(&app, "/v1/reports/compare?conversion=opportunity_created").await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    // Two campaigns touched the lead behind the opportunity; linear splits 50/50.
    let search = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["campaign_id"] == "search")
        .unwrap();
    let linear = search["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == "linear")
        .unwrap();
    assert_eq!(linear["value_minor"], 25_000_00);
    let (status, empty) = get(
        &app,
        "/v1/reports/compare?conversion=opportunity_created&from=2030-01-01",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty, serde_json::json!([]));
    let (status, body) = get(&app, "/v1/reports/attribution?from=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "parameter from: \"yesterday\" is not a date (2026-03-01) or RFC 3339 time"
    );
    let (status, body) = get(&app, "/v1/conversions/sale:1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("<conversion point>:<id>"),
        "{body}"
    );
}

#[tokio::test]
async fn campaign_report_gives_roi_and_tells_unknown_cost_from_zero_cost() {
    let (app, _dir) = app();
    let (status, rows) = get(&app, "/v1/reports/campaigns?model=linear&currency=EUR").await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    let rows = rows.as_array().unwrap();
    // "search" has a planned cost of 1000.00 EUR and half of one lead under linear.
    let search = rows.iter().find(|r| r["campaign_id"] == "search").unwrap();
    assert_eq!(search["cost_minor"], 100_000);
    assert_eq!(search["leads"], 0.5);
    assert_eq!(search["cost_per_lead_minor"], 2000_00);
    // No deal was won: no sales, so cost per sale is undefined, and ROI is -100%.
    assert_eq!(search["cost_per_sale_minor"], "undefined");
    assert_eq!(search["roi"], -1.0);
    // "webinar" never had a campaign record: nobody said what it cost, so its
    // cost and every ratio over it are unknown, not zero (a free campaign with
    // a record is R15's undefined ROI: tests/tracking.rs).
    let webinar = rows.iter().find(|r| r["campaign_id"] == "webinar").unwrap();
    assert_eq!(webinar["cost_minor"], Value::Null);
    for ratio in ["roi", "roas", "cost_per_lead_minor", "cost_per_sale_minor"] {
        assert_eq!(webinar[ratio], "unknown", "{ratio}");
    }
    // Currency codes are read in either case; anything else is refused.
    let (status, lower) = get(&app, "/v1/reports/campaigns?model=linear&currency=eur").await;
    assert_eq!(status, StatusCode::OK, "{lower}");
    assert_eq!(&lower, &Value::Array(rows.clone()));
    let (status, body) = get(&app, "/v1/reports/campaigns?currency=euro").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .starts_with("parameter currency:"),
        "{body}"
    );
}

#[tokio::test]
async fn unattributed_conversions_are_reported_with_their_reason() {
    let (app, _dir) = app();
    let (status, rows) = get(
        &app,
        "/v1/reports/unattributed?model=last_touch&conversion=lead_created",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows, serde_json::json!([]), "the lead had touches");
}

#[tokio::test]
async fn data_driven_models_share_credit_by_channel() {
    let (app, _dir) = app();
    for model in ["markov", "shapley"] {
        let (status, report) = get(
            &app,
            &format!("/v1/reports/data-driven?model={model}&conversion=lead_created"),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{report}");
        assert_eq!(report["converting_journeys"], 1);
        let channels = report["channels"].as_array().unwrap();
        // One journey through paid_search (the "search" campaign's channel) then
        // "webinar" (a campaign without a record: its id stands in): both are
        // needed, so each gets half under either model.
        let names: Vec<&str> = channels
            .iter()
            .map(|c| c["channel"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["paid_search", "webinar"], "{model}");
        for channel in channels {
            assert!(
                (channel["share"].as_f64().unwrap() - 0.5).abs() < 1e-12,
                "{model}: {channel}"
            );
        }
    }
    let (status, body) = get(&app, "/v1/reports/data-driven?model=markov&order=4").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "parameter order: \"4\" is not 1, 2 or 3");
    // Shapley has no order: asking for one is an error, not ignored.
    let (status, body) = get(&app, "/v1/reports/data-driven?model=shapley&order=2").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "parameter order: order is a Markov chain's; shapley has none"
    );
    // The value rule is named in the answer, and can be ChannelAttribution's.
    let (_, report) = get(&app, "/v1/reports/data-driven?model=markov").await;
    assert_eq!(report["markov_value"], "journey_value");
    let (status, report) = get(
        &app,
        "/v1/reports/data-driven?model=markov&markov_value=last_channel_mean",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["markov_value"], "last_channel_mean");
    let (status, body) = get(&app, "/v1/reports/data-driven?markov_value=mean").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "parameter markov_value: \"mean\" is not journey_value or last_channel_mean"
    );
}

#[tokio::test]
async fn credit_can_be_grouped_by_channel_and_source() {
    let (app, _dir) = app();
    let (status, rows) = get(
        &app,
        "/v1/reports/attribution?model=first_touch&conversion=lead_created&by=channel",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    assert_eq!(rows[0]["group"], "paid_search");
    assert_eq!(rows[0]["conversions"], 1.0);
    let (_, rows) = get(
        &app,
        "/v1/reports/attribution?model=linear&conversion=opportunity_created&by=source",
    )
    .await;
    let groups: Vec<(&str, i64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["group"].as_str().unwrap(),
                r["value_minor"].as_i64().unwrap(),
            )
        })
        .collect();
    // "webinar" has no campaign record, so no source: it is "(none)".
    assert_eq!(groups, [("(none)", 25_000_00), ("google", 25_000_00)]);
    let (status, body) = get(&app, "/v1/reports/attribution?by=region").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "parameter by: \"region\" is not campaign, channel or source"
    );
}

#[tokio::test]
async fn every_list_answer_exports_as_csv() {
    let (app, _dir) = app();
    // A non-JSON body comes back as a string.
    let (status, body) = get(&app, "/v1/reports/attribution?model=first_touch&format=csv").await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("campaign_id,campaign_name,channel,conversions,value_minor,currency")
    );
    assert!(lines.next().unwrap().starts_with("search,"), "{text}");

    // Nested fields become dotted columns.
    let (status, body) = get(&app, "/v1/campaigns?format=csv").await;
    assert_eq!(status, StatusCode::OK);
    let header = body.as_str().unwrap().lines().next().unwrap().to_owned();
    assert!(header.starts_with("campaign_id,name,channel"), "{header}");

    // An answer with several lists needs to be told which.
    let (status, body) = get(&app, "/v1/reports/forecast?format=csv").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("months, deals"),
        "{body}"
    );
    let (status, body) = get(&app, "/v1/reports/forecast?format=csv&table=deals").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.as_str()
            .unwrap()
            .starts_with("opportunity_id,name,stage,probability_pct"),
        "{body}"
    );

    // A record's lists export too: a person's touches.
    let (status, body) = get(&app, "/v1/persons/p-1?format=csv").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("touches"),
        "{body}"
    );
    let (status, body) = get(&app, "/v1/persons/p-1?format=csv&table=touches").await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().unwrap();
    assert!(
        text.starts_with("seq,event_id,campaign_id,touch_type,status"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 3, "a header and two touches: {text}");
    // A record without lists is not a list; an unknown format is named.
    let (status, body) = get(&app, "/v1/health?format=csv").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("single record"),
        "{body}"
    );
    let (status, body) = get(&app, "/v1/reports/funnel?format=xml").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "parameter format: \"xml\" is not json or csv"
    );
}

#[tokio::test]
async fn a_model_the_engine_does_not_compute_is_the_callers_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let config = EngineConfig {
        models: vec![
            touchline_attribution::Model::FirstTouch,
            touchline_attribution::Model::LastTouch,
        ],
        ..EngineConfig::default()
    };
    let mut engine = Engine::open(store.clone(), config).unwrap();
    engine
        .apply(Batch {
            events: vec![envelope(
                "t1",
                1_000,
                touch("p-1", "search")
                    .of_type(TouchType::AdClick)
                    .with_asset("/pricing"),
            )],
            ..Batch::default()
        })
        .unwrap();
    let app = touchline_api::router(Queries::new(store), engine.metrics().clone());
    for uri in [
        "/v1/reports/attribution?model=w_shaped",
        "/v1/reports/campaigns?model=linear",
        "/v1/reports/unattributed?model=time_decay",
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(
            error.starts_with("parameter model: ")
                && error.ends_with("the configured models are first_touch, last_touch"),
            "{uri}: {error}"
        );
    }
    // Without a model, the report picks one the engine computes.
    let (status, rows) = get(&app, "/v1/reports/campaigns").await;
    assert_eq!(status, StatusCode::OK, "{rows}");
}

#[tokio::test]
async fn what_if_answers_any_model_and_refuses_bad_parameters_with_400() {
    let (app, _dir) = app();
    // Under the configured parameters it is the stored report.
    let (status, stored) = get(
        &app,
        "/v1/reports/attribution?model=linear&conversion=lead_created",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    let (status, answer) = get(
        &app,
        "/v1/reports/what-if?model=linear&conversion=lead_created&moved=true",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let rows = answer["rows"].as_array().unwrap();
    assert_eq!(rows.len(), stored.as_array().unwrap().len());
    for (row, want) in rows.iter().zip(stored.as_array().unwrap()) {
        assert_eq!(row["group"], want["campaign_id"]);
        assert_eq!(row["conversions"], want["conversions"]);
    }
    assert_eq!(answer["moved_totals"][0]["conversions_moved"], 0);
    // A lookback of 0 days leaves only touches at the conversion instant.
    let (status, narrow) = get(
        &app,
        "/v1/reports/what-if?model=first_touch&conversion=lead_created&lookback_days=0&by=channel",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{narrow}");
    assert_eq!(narrow["settings"]["lookback_days"]["lead_created"], 0);
    let (status, csv) = get(
        &app,
        "/v1/reports/what-if?model=first_touch&conversion=lead_created&format=csv&table=rows",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.as_str().unwrap().starts_with("model,group,"), "{csv}");
    for (query, error) in [
        (
            "half_life_days=0",
            "parameter half_life_days: \"0\" is not a number of days above 0 and at most 36500",
        ),
        (
            "weights=1,2",
            "parameter weights: \"1,2\" is not three numbers first,last,rest (e.g. 30,30,40)",
        ),
        (
            "lookbak_days=3",
            "parameter lookbak_days: unknown; a what-if takes model, conversion, from, to, by, lookback_days, half_life_days, weights, filter, touches, synthesized, moved, baseline, moved_limit, format",
        ),
        (
            "filter=all&filter=responded",
            "parameter filter: given more than once",
        ),
    ] {
        let (status, body) = get(&app, &format!("/v1/reports/what-if?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["error"], error, "{query}");
    }
}

#[tokio::test]
async fn a_campaigns_influence_gives_every_models_credit_per_deal() {
    let (app, _dir) = app();
    let (status, rows) = get(
        &app,
        "/v1/campaigns/search/influence?conversion=opportunity_created",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["subject_id"], "opp-1");
    assert_eq!(rows[0]["value_minor"], 50_000_00);
    let models = rows[0]["models"].as_array().unwrap();
    assert_eq!(models.len(), 10, "every configured model");
    let model = |name: &str| models.iter().find(|m| m["model"] == name).unwrap();
    // The search ad came first, the webinar last.
    assert_eq!(model("first_touch")["amount_minor"], 50_000_00);
    assert_eq!(model("last_touch")["weight"], 0.0);
    assert_eq!(model("linear")["amount_minor"], 25_000_00);
    let (status, people) = get(
        &app,
        "/v1/campaigns/search/influence?conversion=lead_created",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{people}");
    assert_eq!(people[0]["subject_id"], "p-1");
    assert!(people[0]["models"][0]["amount_minor"].is_null());
    for (uri, expected) in [
        (
            "/v1/campaigns/search/influence?conversion=opportunity_created&currency=USD",
            StatusCode::OK,
        ),
        (
            "/v1/campaigns/search/influence?from=2030-01-01",
            StatusCode::OK,
        ),
        (
            "/v1/campaigns/search/influence?conversion=opportunity_created&sort=credit&model=first_touch&format=csv",
            StatusCode::OK,
        ),
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, expected, "{uri}: {body}");
    }
    for (uri, status, message) in [
        (
            "/v1/campaigns/nope/influence",
            StatusCode::NOT_FOUND,
            "no campaign with id \"nope\"",
        ),
        (
            "/v1/campaigns/search/influence?conversion=sale",
            StatusCode::BAD_REQUEST,
            "parameter conversion: unknown conversion point \"sale\"; expected one of lead_created, lead_qualified, opportunity_created, opportunity_won",
        ),
        (
            "/v1/campaigns/search/influence?sort=size",
            StatusCode::BAD_REQUEST,
            "parameter sort: \"size\" is not one of value, credit, recent",
        ),
        (
            "/v1/campaigns/search/influence?model=linear",
            StatusCode::BAD_REQUEST,
            "parameter model: \"linear\" orders the rows only with sort=credit; every model's credit is in every row",
        ),
        (
            "/v1/campaigns/search/influence?sort=credit&model=w",
            StatusCode::BAD_REQUEST,
            "parameter model: unknown model \"w\"; expected one of first_touch, last_touch, linear, u_shaped, j_shaped, inverse_j, w_shaped, full_path, time_decay, custom",
        ),
        (
            "/v1/campaigns/search/influence?conversion=lead_created&currency=EUR",
            StatusCode::BAD_REQUEST,
            "parameter currency: lead_created conversions carry no value; currency is for opportunity_created and opportunity_won",
        ),
        (
            "/v1/campaigns/search/influence?currency=euro",
            StatusCode::BAD_REQUEST,
            "parameter currency: \"euro\" is not an ISO 4217 code (three letters, e.g. EUR)",
        ),
        (
            "/v1/campaigns/search/influence?limit=0",
            StatusCode::BAD_REQUEST,
            "parameter limit: 0 is below the minimum 1",
        ),
    ] {
        let (got, body) = get(&app, uri).await;
        assert_eq!(got, status, "{uri}: {body}");
        assert_eq!(body["error"], message, "{uri}");
    }
}

#[tokio::test]
async fn a_conversions_history_lists_what_moved_it_and_why() {
    let (app, _dir) = app();
    let (status, history) = get(&app, "/v1/conversions/opportunity_created:opp-1/history").await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history["matches_stored"], true);
    let steps = history["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 1, "{history}");
    assert_eq!(steps[0]["event_id"], "o1");
    assert_eq!(steps[0]["reasons"], serde_json::json!(["new_conversion"]));
    assert_eq!(steps[0]["models"].as_array().unwrap().len(), 10);
    let (status, csv) = get(
        &app,
        "/v1/conversions/lead_created:p-1/history?format=csv&table=steps",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(csv.as_str().unwrap().starts_with("seq,"), "{csv}");
    for (uri, status) in [
        ("/v1/conversions/sale:1/history", StatusCode::BAD_REQUEST),
        ("/v1/conversions/opp-1/history", StatusCode::BAD_REQUEST),
        (
            "/v1/conversions/opportunity_won:opp-1/history",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let (got, body) = get(&app, uri).await;
        assert_eq!(got, status, "{uri}: {body}");
        assert!(body["error"].is_string(), "{uri}: {body}");
    }
}

#[tokio::test]
async fn a_conversion_names_the_models_it_no_longer_computes() {
    use touchline_attribution::Model;
    use touchline_fixtures::{OpportunityFixture, envelope, opportunity, touch};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    engine
        .apply(Batch {
            events: vec![
                envelope("t", 1_000, touch("p", "search")),
                envelope(
                    "o",
                    2_000,
                    opportunity("opp", "acc", 10_000).with_contact("p"),
                ),
            ],
            ..Batch::default()
        })
        .unwrap();
    drop(engine);
    // The configuration drops every model but first touch: the others retire.
    let fewer = EngineConfig {
        models: vec![Model::FirstTouch],
        ..EngineConfig::default()
    };
    let engine = Engine::open(store.clone(), fewer).unwrap();
    let app = touchline_api::router(Queries::new(store), engine.metrics().clone());
    let (status, body) = get(&app, "/v1/conversions/opportunity_created:opp").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["results"].as_array().unwrap().len(), 1, "{body}");
    let credit = &body["results"][0]["attribution"]["credits"][0];
    assert_eq!(credit["campaign_id"], "search", "{body}");
    assert_eq!(body["conversion"]["value"]["amount_minor"], 10_000);
    let retired = body["retired"].as_array().unwrap();
    assert_eq!(retired.len(), Model::ALL.len() - 1, "{body}");
    assert!(
        retired
            .iter()
            .any(|r| r["model"] == "last_touch" && r["version"].is_u64()),
        "{body}"
    );
}
