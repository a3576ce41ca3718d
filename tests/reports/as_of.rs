//! `GET /v1/reports/as-of` against a store whose engine keeps running: what
//! we said at an instant, what we say now, and why it moved, per campaign;
//! and `touchline attribution as-of --by`, which answers the same from the
//! command line.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use touchline_core::*;
use touchline_engine::{Batch, Engine, EngineConfig, Queries};
use touchline_projection::{
    AccountView, CampaignView, ConversionView, OpportunityView, PersonView,
};
use touchline_store::{Store, Table};
use tower::ServiceExt;

use super::{DAY, JAN, envelope, won_deal};

fn recorded(mut envelope: Envelope, ms: i64) -> Envelope {
    envelope.recorded_at = Timestamp::from_millis(ms);
    envelope
}

fn campaign(id: &str, channel: &str) -> Envelope {
    envelope(
        format!("campaign-{id}"),
        JAN,
        Event::CampaignUpserted(CampaignUpserted {
            campaign_id: id.into(),
            name: format!("The {id}"),
            channel: channel.into(),
            medium: String::new(),
            source: String::new(),
            ad_code: String::new(),
            campaign_type: CampaignType::Other,
            parent_campaign_id: String::new(),
            starts_at: Timestamp::from_millis(JAN),
            ends_at: None,
            planned_cost: None,
        }),
    )
}

fn touch(id: &str, ms: i64, person: &str, campaign: &str) -> Envelope {
    envelope(
        id,
        ms,
        Event::TouchRecorded(TouchRecorded {
            person_id: person.into(),
            campaign_id: campaign.into(),
            touch_type: TouchType::AdClick,
            status: TouchStatus::Responded,
            asset: String::new(),
            topic: String::new(),
            provenance: None,
        }),
    )
}

fn lead(person: &str, ms: i64) -> Envelope {
    envelope(
        format!("lead-{person}"),
        ms,
        Event::LeadCreated(LeadCreated {
            person_id: person.into(),
            email: String::new(),
            phone: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            company: String::new(),
            account_id: String::new(),
            source: None,
            owner_id: String::new(),
        }),
    )
}

/// By the instant asked about, 2026-01-11 (ten days into January): Pia's lead after a webinar; Paul's after an ad, and Pam
/// (not a lead) at the webinar. Since: a fair touch of Pia's from before
/// the webinar typed in late, Pam found to be Paul (merged), and Petra's
/// lead after an ad.
fn history() -> Vec<Envelope> {
    vec![
        campaign("webinar", "events"),
        campaign("fair", "events"),
        campaign("ads", "paid_search"),
        touch("t-pia-webinar", JAN + DAY, "pia", "webinar"),
        lead("pia", JAN + 2 * DAY),
        touch("t-pam-webinar", JAN + DAY, "pam", "webinar"),
        touch("t-paul-ads", JAN + 3 * DAY, "paul", "ads"),
        lead("paul", JAN + 4 * DAY),
        recorded(touch("t-pia-fair", JAN, "pia", "fair"), JAN + 12 * DAY),
        envelope(
            "merge-pam",
            JAN + 13 * DAY,
            Event::PersonsMerged(PersonsMerged {
                surviving_person_id: "paul".into(),
                merged_person_id: "pam".into(),
                reason: "same e-mail".into(),
            }),
        ),
        touch("t-petra-ads", JAN + 14 * DAY, "petra", "ads"),
        lead("petra", JAN + 15 * DAY),
    ]
}

/// Everything a reader can see of a store, to tell it was not written.
fn everything(store: &Store) -> Vec<String> {
    let mut out = vec![
        format!("next_seq {}", store.next_seq().unwrap()),
        format!("outbox {}", store.outbox_len().unwrap()),
        format!("offsets {:?}", store.offsets().unwrap()),
    ];
    for key in ["attribution_versions", "batches", "next_outbox_id"] {
        out.push(format!("{key} {:?}", store.meta_u64(key).unwrap()));
    }
    store
        .for_each(Table::Persons, |k, v: PersonView| {
            out.push(format!("{k} {v:?}"))
        })
        .unwrap();
    store
        .for_each(Table::Conversions, |k, v: ConversionView| {
            out.push(format!("{k} {v:?}"))
        })
        .unwrap();
    store
        .for_each(Table::Campaigns, |k, v: CampaignView| {
            out.push(format!("{k} {v:?}"))
        })
        .unwrap();
    store
        .for_each(Table::Opportunities, |k, v: OpportunityView| {
            out.push(format!("{k} {v:?}"))
        })
        .unwrap();
    store
        .for_each(Table::Accounts, |k, v: AccountView| {
            out.push(format!("{k} {v:?}"))
        })
        .unwrap();
    out
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn get_json(app: &axum::Router, uri: &str) -> (StatusCode, Value) {
    let (status, body) = get(app, uri).await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Per row: group, then, now and delta conversions, moved, and the non-zero
/// reason counts.
fn rows(answer: &Value) -> Vec<(String, f64, f64, f64, u64, Value)> {
    answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let reasons: serde_json::Map<String, Value> = r["reasons"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, n)| n.as_u64() != Some(0))
                .map(|(k, n)| (k.clone(), n.clone()))
                .collect();
            (
                r["group"].as_str().unwrap().to_owned(),
                r["then"]["conversions"].as_f64().unwrap(),
                r["now"]["conversions"].as_f64().unwrap(),
                r["delta"]["conversions"].as_f64().unwrap(),
                r["moved_conversions"].as_u64().unwrap(),
                Value::Object(reasons),
            )
        })
        .collect()
}

#[tokio::test]
async fn what_changed_since_an_instant_per_campaign_and_why_with_the_engine_running() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    engine
        .apply(Batch {
            events: history(),
            ..Batch::default()
        })
        .unwrap();
    let app = touchline_api::router(Queries::new(store.clone()), engine.metrics().clone());
    let before = everything(&store);

    let (status, answer) = get_json(
        &app,
        "/v1/reports/as-of?at=2026-01-11&model=first_touch&conversion=lead_created&by=campaign\
         &moved=true&moved_limit=2",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["at"], "2026-01-11T00:00:00.000Z");
    assert_eq!(answer["as_of_seq"], 12);
    assert_eq!(answer["events_replayed"], 8);
    assert_eq!(
        (&answer["conversions_then"], &answer["conversions_now"]),
        (&json!(2), &json!(3))
    );
    assert_eq!(answer["moved_conversions"], 3);
    // Then: Pia by the webinar, Paul by the ad. Now: Pia by the fair (late
    // touch), Paul by Pam's webinar (merge), Petra by the ad (new).
    assert_eq!(
        rows(&answer),
        [
            ("fair".into(), 0.0, 1.0, 1.0, 1, json!({"late_touch": 1})),
            (
                "ads".into(),
                1.0,
                1.0,
                0.0,
                2,
                json!({"new_conversion": 1, "merge": 1})
            ),
            (
                "webinar".into(),
                1.0,
                1.0,
                0.0,
                2,
                json!({"late_touch": 1, "merge": 1})
            ),
        ]
    );
    let fair = &answer["rows"][0];
    assert_eq!(
        (&fair["name"], &fair["channel"], &fair["currency"]),
        (&json!("The fair"), &json!("events"), &Value::Null)
    );
    assert_eq!(fair["now"]["value_minor"], 0);
    let totals = answer["totals"].as_array().unwrap();
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0]["then"]["conversions"], 2.0);
    assert_eq!(totals[0]["now"]["conversions"], 3.0);
    assert_eq!(totals[0]["delta"]["conversions"], 1.0);
    assert_eq!(totals[0]["moved_conversions"], 3);
    assert_eq!(
        totals[0]["reasons"],
        json!({
            "new_conversion": 1, "late_touch": 1, "merge": 1, "value_changed": 0,
            "retracted": 0, "model_change": 0, "contact_added": 0,
            "milestone_changed": 0, "recomputed": 0
        })
    );
    // Each moved a whole conversion; ties go by id.
    let moved = answer["moved"].as_array().unwrap();
    assert_eq!(moved.len(), 2);
    assert_eq!(moved[0]["conversion_id"], "lead_created:paul");
    assert_eq!(moved[0]["reasons"], json!(["merge"]));
    assert_eq!(moved[0]["then"][0]["campaign_id"], "ads");
    assert_eq!(moved[0]["now"][0]["campaign_id"], "webinar");
    assert_eq!(moved[0]["moved_share"], 1.0);
    assert_eq!(moved[1]["conversion_id"], "lead_created:petra");
    assert_eq!(moved[1]["then"], Value::Null);

    // The live store is as it was: nothing written, nothing queued.
    assert_eq!(everything(&store), before);

    // By channel: the fair's late touch stays in events.
    let (status, by_channel) = get_json(&app, "/v1/reports/as-of?at=2026-01-11&by=channel").await;
    assert_eq!(status, StatusCode::OK, "{by_channel}");
    assert_eq!(
        rows(&by_channel),
        [
            (
                "events".into(),
                1.0,
                2.0,
                1.0,
                2,
                json!({"late_touch": 1, "merge": 1})
            ),
            (
                "paid_search".into(),
                1.0,
                1.0,
                0.0,
                2,
                json!({"new_conversion": 1, "merge": 1})
            ),
        ]
    );
    assert_eq!(by_channel["moved"], json!([]));

    // Long-form CSV: one row per group and currency.
    let (status, csv) = get(
        &app,
        "/v1/reports/as-of?at=2026-01-11&format=csv&table=rows",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert!(
        csv.starts_with(
            "group,name,channel,currency,then.conversions,then.value_minor,now.conversions,\
             now.value_minor,delta.conversions,delta.value_minor,moved_conversions,\
             reasons.new_conversion,reasons.late_touch,reasons.merge,"
        ),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 4, "{csv}");

    // An instant after everything is now; before anything, all is new.
    let (_, future) = get_json(&app, "/v1/reports/as-of?at=2999-01-01").await;
    assert_eq!(future["moved_conversions"], 0, "{future}");
    let (_, past) = get_json(&app, "/v1/reports/as-of?at=2025-01-01").await;
    assert_eq!(past["events_replayed"], 0);
    assert_eq!(past["totals"][0]["reasons"]["new_conversion"], 3, "{past}");

    for (uri, message) in [
        ("/v1/reports/as-of", "parameter at: required"),
        (
            "/v1/reports/as-of?at=last-week",
            "parameter at: \"last-week\" is not a date",
        ),
        (
            "/v1/reports/as-of?at=2026-01-11&by=region",
            "parameter by: ",
        ),
        (
            "/v1/reports/as-of?at=2026-01-11&since=1",
            "parameter since: unknown",
        ),
        (
            "/v1/reports/as-of?at=2026-01-11&moved_limit=3",
            "parameter moved_limit: only with moved=true",
        ),
    ] {
        let (status, body) = get_json(&app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.starts_with(message), "{uri}: {error}");
    }

    // The engine was never stopped: it goes on ingesting, and the next
    // answer sees it.
    engine
        .apply(Batch {
            events: vec![
                touch("t-rae-fair", JAN + 16 * DAY, "rae", "fair"),
                lead("rae", JAN + 17 * DAY),
            ],
            ..Batch::default()
        })
        .unwrap();
    let (_, after) = get_json(&app, "/v1/reports/as-of?at=2026-01-11").await;
    assert_eq!(after["as_of_seq"], 14);
    assert_eq!(after["conversions_now"], 4);
    assert_eq!(after["rows"][0]["group"], "fair");
    assert_eq!(after["rows"][0]["delta"]["conversions"], 2.0);
}

/// `touchline attribution as-of` on `db`, its scratch in `tmp`.
fn cli(db: &std::path::Path, tmp: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_touchline"))
        .args(["attribution", "as-of", "--db", db.to_str().unwrap()])
        .args(args)
        .env("RUST_LOG", "warn")
        .env("TMPDIR", tmp)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The table's line for a group: its cells split on runs of spaces (the
/// money cells hold one space, `1,000.00 EUR`, the columns at least two).
fn table_line(table: &str, group: &str) -> Vec<String> {
    table
        .lines()
        .find(|l| l.starts_with(&format!("{group} ")))
        .unwrap_or_else(|| panic!("no line for {group}: {table}"))
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn the_cli_answers_as_the_api_does_and_names_a_bad_flag() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let store = Arc::new(Store::open(&db).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    // Pia's deal, won before the instant: credited to the webinar then, to
    // the fair (her late touch) now.
    let mut events = history();
    events.extend(won_deal("pia", JAN + 5 * DAY, 1, ""));
    engine
        .apply(Batch {
            events,
            ..Batch::default()
        })
        .unwrap();
    let app = touchline_api::router(Queries::new(store.clone()), engine.metrics().clone());
    let questions = [
        "at=2026-01-11&by=campaign&moved=true&moved_limit=2",
        "at=2026-01-11&by=channel&model=linear&conversion=opportunity_won&moved=true",
        "at=2026-01-11&by=source&from=2026-01-03&to=2026-02-01",
    ];
    let mut answers = Vec::new();
    for query in questions {
        let (status, answer) = get_json(&app, &format!("/v1/reports/as-of?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {answer}");
        answers.push(answer);
    }
    let (_, api_csv) = get(
        &app,
        "/v1/reports/as-of?at=2026-01-11&conversion=opportunity_won&format=csv&table=rows",
    )
    .await;
    // The CLI reads the store as any reader does, once the engine is gone.
    drop(app);
    drop(engine);
    drop(store);
    let tmp = tempfile::tempdir().unwrap();

    // The same question as flags: the same answer.
    for (query, answer) in questions.iter().zip(&answers) {
        let mut args = vec!["--format", "json"];
        for pair in query.split('&') {
            match pair.split_once('=').unwrap() {
                ("moved", "true") => args.push("--moved"),
                ("at", v) => args.extend(["--at", v]),
                ("by", v) => args.extend(["--by", v]),
                ("model", v) => args.extend(["--model", v]),
                ("conversion", v) => args.extend(["--conversion", v]),
                ("from", v) => args.extend(["--from", v]),
                ("to", v) => args.extend(["--to", v]),
                ("moved_limit", v) => args.extend(["--moved-limit", v]),
                other => panic!("{other:?}"),
            }
        }
        let output = cli(&db, tmp.path(), &args);
        assert!(output.status.success(), "{query}: {}", text(&output.stderr));
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(&json, answer, "{query}");
    }
    assert_eq!(answers[0]["moved"].as_array().unwrap().len(), 2);
    assert_eq!(answers[1]["rows"][0]["delta"]["value_minor"], 0);

    // A table for people: the fair's lead came since, by the late touch.
    let output = cli(&db, tmp.path(), &["--at", "2026-01-11", "--by", "campaign"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    assert!(
        table.starts_with(
            "lead_created by campaign under first_touch, as of 2026-01-11T00:00:00.000Z and now\n\
             then: 11 events replayed (log positions before 15); 2 conversions then, 3 now, \
             3 moved\n"
        ),
        "{table}"
    );
    // The reasons a row counts, one column each (a column of zeros left out).
    assert!(
        table.contains("group    name         then  now   delta  moved  new  late touch  merge\n"),
        "{table}"
    );
    assert_eq!(
        table_line(&table, "fair"),
        [
            "fair", "The fair", "0.00", "1.00", "1.00", "1", "0", "1", "0"
        ],
        "{table}"
    );
    // The totals per currency (a lead has none, so no currency column).
    assert!(
        table.contains("\ntotals:\nthen  now   delta  moved  new  late touch  merge\n"),
        "{table}"
    );
    assert_eq!(
        table_line(&table, "2.00"),
        ["2.00", "3.00", "1.00", "3", "1", "1", "1"],
        "{table}"
    );
    // Valued: the deal's 1,000.00 EUR moved from the webinar to the fair.
    let output = cli(
        &db,
        tmp.path(),
        &[
            "--at",
            "2026-01-11",
            "--by",
            "campaign",
            "--conversion",
            "opportunity_won",
            "--moved",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    assert_eq!(
        table_line(&table, "fair")[..9],
        [
            "fair",
            "The fair",
            "0.00",
            "0.00 EUR",
            "1.00",
            "1,000.00 EUR",
            "1.00",
            "1,000.00 EUR",
            "1",
        ],
        "{table}"
    );
    assert_eq!(table_line(&table, "webinar")[7], "-1,000.00 EUR", "{table}");
    assert_eq!(
        table_line(&table, "opportunity_won:opp-pia"),
        [
            "opportunity_won:opp-pia",
            "late_touch",
            "1,000.00 EUR",
            "100.00%"
        ],
        "{table}"
    );

    // CSV: the API's `table=rows` columns, money in minor units.
    let output = cli(
        &db,
        tmp.path(),
        &[
            "--at",
            "2026-01-11",
            "--by",
            "campaign",
            "--conversion",
            "opportunity_won",
            "--format",
            "csv",
        ],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let csv = text(&output.stdout);
    assert_eq!(csv.lines().next(), api_csv.lines().next(), "{csv}");
    assert_eq!(csv.lines().count(), api_csv.lines().count(), "{csv}");
    assert!(
        csv.contains("\nfair,The fair,events,EUR,0.0,0,1.0,100000,1.0,100000,1,0,1,0,"),
        "{csv}"
    );

    // Every scratch store went with its answer.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");

    // A bad flag: exit 1, named as the CLI spells it, in the API's words.
    for (args, message) in [
        (
            &["--at", "soon", "--by", "campaign"][..],
            "error: --at: \"soon\" is not a date (2026-03-01) or RFC 3339 time",
        ),
        (
            &[
                "--at",
                "2026-01-11",
                "--by",
                "campaign",
                "--moved",
                "--moved-limit",
                "0",
            ],
            "error: --moved-limit: \"0\" is not a whole number from 1 to 10000",
        ),
        (
            &[
                "--at",
                "2026-01-11",
                "--by",
                "campaign",
                "--moved-limit",
                "3",
            ],
            "error: --moved-limit: only with moved=true",
        ),
        (
            &["--at", "2026-01-11", "--by", "region"],
            "error: --by: \"region\" is not campaign, channel or source",
        ),
        (
            &[
                "--at",
                "2026-01-11",
                "--by",
                "campaign",
                "--model",
                "markov",
            ],
            "error: --model: unknown model \"markov\"",
        ),
        (
            &["--at", "2026-01-11", "--moved"],
            "error: --moved: only with --by",
        ),
        (
            &[
                "--at",
                "2026-01-11",
                "--by",
                "campaign",
                "--config",
                "x.toml",
            ],
            "error: --config: only without --by",
        ),
    ] {
        let output = cli(&db, tmp.path(), args);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.starts_with(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
