//! One emitter for the CLI and the API: on one demo store, every list
//! report's `touchline report ... --format csv` (and `touchline attribution
//! compare|data-driven|what-if|as-of --by`) is the same bytes as the API's
//! `format=csv` answer to the same query, and `--format json` is the API's
//! JSON answer; both are written by the columns the route table declares
//! (`touchline_api::report_columns`).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn touchline(db: &Path, args: &[&str]) -> Vec<u8> {
    let output = Command::new(env!("CARGO_BIN_EXE_touchline"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env("TOUCHLINE_STORE_PATH", db)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, Vec<u8>) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, body.to_vec())
}

/// Each CLI report and the API request that asks the same: the same
/// instant where the answer depends on the time, a limit the CLI and a page
/// share, the table the CLI prints.
const SAME_QUERY: &[(&[&str], &str)] = &[
    (
        &["report", "follow-ups", "--at", "2026-06-01"],
        "/v1/follow-ups/due?at=2026-06-01",
    ),
    (&["report", "leads", "--limit", "40"], "/v1/leads?limit=40"),
    (
        &["report", "scores", "--at", "2026-06-01", "--limit", "30"],
        "/v1/scores?at=2026-06-01&limit=30",
    ),
    (
        &["report", "rfm", "--at", "2026-06-01"],
        "/v1/reports/rfm?at=2026-06-01&table=customers",
    ),
    (
        &["report", "overdue", "--at", "2026-06-01"],
        "/v1/follow-ups/overdue?at=2026-06-01",
    ),
    (&["report", "forecast"], "/v1/reports/forecast?table=months"),
    (
        &["report", "forecast", "--by", "deals"],
        "/v1/reports/forecast?table=deals",
    ),
    (
        &["report", "interest", "--account", "acc-0000000"],
        "/v1/accounts/acc-0000000/interest",
    ),
    (
        &["report", "signals", "--at", "2026-11-01"],
        "/v1/reports/opportunity-signals?at=2026-11-01",
    ),
    (&["report", "campaigns"], "/v1/reports/campaigns"),
    (&["report", "upsell"], "/v1/reports/upsell"),
    (&["report", "literature"], "/v1/reports/literature"),
    (&["report", "duplicates"], "/v1/people/duplicates"),
    (&["report", "funnel"], "/v1/reports/funnel"),
    (&["report", "speed-to-lead"], "/v1/reports/speed-to-lead"),
    (&["report", "attribution"], "/v1/reports/attribution"),
    (
        &[
            "report",
            "attribution",
            "--model",
            "linear",
            "--conversion",
            "opportunity_won",
            "--by",
            "channel",
        ],
        "/v1/reports/attribution?model=linear&conversion=opportunity_won&by=channel",
    ),
    (&["attribution", "compare"], "/v1/reports/compare"),
    (
        &[
            "attribution",
            "compare",
            "--conversion",
            "lead_created",
            "--from",
            "2026-03-01",
            "--to",
            "2026-09-01",
        ],
        "/v1/reports/compare?conversion=lead_created&from=2026-03-01&to=2026-09-01",
    ),
    (
        &["attribution", "compare", "--campaign", "cmp-webinar-101"],
        "/v1/reports/compare?campaign=cmp-webinar-101",
    ),
    (
        &["attribution", "data-driven"],
        "/v1/reports/data-driven?table=channels",
    ),
    (
        &[
            "attribution",
            "data-driven",
            "--order",
            "2",
            "--by",
            "campaign",
            "--conversion",
            "lead_created",
            "--from",
            "2026-06-01",
        ],
        "/v1/reports/data-driven?order=2&by=campaign&conversion=lead_created&from=2026-06-01&table=channels",
    ),
    (
        &["attribution", "data-driven", "--model", "shapley"],
        "/v1/reports/data-driven?model=shapley&table=channels",
    ),
    (
        &[
            "attribution",
            "what-if",
            "--model",
            "linear,time_decay",
            "--half-life-days",
            "14",
        ],
        "/v1/reports/what-if?model=linear,time_decay&half_life_days=14&table=rows",
    ),
    (
        &[
            "attribution",
            "what-if",
            "--by",
            "channel",
            "--conversion",
            "lead_created",
            "--moved",
            "--baseline",
            "first_touch",
        ],
        "/v1/reports/what-if?by=channel&conversion=lead_created&moved=true&baseline=first_touch&table=rows",
    ),
    (
        &[
            "attribution",
            "as-of",
            "--at",
            "2026-06-01",
            "--by",
            "campaign",
        ],
        "/v1/reports/as-of?at=2026-06-01&by=campaign&table=rows",
    ),
    (
        &[
            "attribution",
            "as-of",
            "--at",
            "2026-06-01",
            "--by",
            "channel",
            "--model",
            "linear",
            "--conversion",
            "opportunity_won",
            "--moved",
        ],
        "/v1/reports/as-of?at=2026-06-01&by=channel&model=linear&conversion=opportunity_won&moved=true&table=rows",
    ),
];

/// The API's other lists of the answers above, which the CLI prints in its
/// tables: their declared columns are the answers' own too.
const OTHER_LISTS: &[&str] = &[
    "/v1/reports/what-if?model=linear&baseline=first_touch&moved=true&table=moved_totals",
    "/v1/reports/what-if?model=linear&baseline=first_touch&moved=true&table=moved",
    "/v1/reports/as-of?at=2026-06-01&table=totals",
    "/v1/reports/as-of?at=2026-06-01&conversion=opportunity_won&moved=true&table=moved",
];

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_and_the_api_write_one_reports_csv_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    touchline(
        &db,
        &[
            "demo",
            "--accounts",
            "200",
            "--no-serve",
            "--db",
            db.to_str().unwrap(),
        ],
    );
    let store = Arc::new(touchline_store::Store::open_secondary(&db).unwrap());
    let app = touchline_api::router(
        touchline_engine::Queries::new(store),
        Arc::new(touchline_engine::Metrics::default()),
    );
    for (args, uri) in SAME_QUERY {
        let cli = touchline(&db, &[args, &["--format", "csv"][..]].concat());
        let separator = if uri.contains('?') { '&' } else { '?' };
        let (status, api) = get(&app, &format!("{uri}{separator}format=csv")).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{uri}: {}",
            String::from_utf8_lossy(&api)
        );
        assert!(
            cli.iter().filter(|b| **b == b'\n').count() > 1,
            "{args:?} has rows"
        );
        let csv = String::from_utf8(cli).unwrap();
        assert_eq!(csv, String::from_utf8(api).unwrap(), "{args:?} and {uri}");

        // JSON: the same rows (the CLI prints the table it was asked for).
        let cli: serde_json::Value =
            serde_json::from_slice(&touchline(&db, &[args, &["--format", "json"][..]].concat()))
                .unwrap();
        let (_, api) = get(&app, uri).await;
        let mut api: serde_json::Value = serde_json::from_slice(&api).unwrap();
        let table = uri.split_once("table=").map(|(_, table)| table);
        if let Some(table) = table
            && cli.is_array()
        {
            api = api[table].take();
        }
        assert_eq!(cli, api, "{args:?} and {uri} as JSON");

        // The declaration names every field of the answer, in its order:
        // the CSV is the one the answer's own fields give.
        let rows = match table {
            Some(table) if !api.is_array() => api[table].as_array().unwrap().clone(),
            _ => api.as_array().unwrap().clone(),
        };
        let inferred = touchline_report_output::infer(&rows);
        let declared: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        assert_eq!(inferred.columns, declared, "{uri}: declared columns");
        assert_eq!(inferred.csv(), csv, "{uri}: declared types");
    }
    for uri in OTHER_LISTS {
        let (status, api) = get(&app, &format!("{uri}&format=csv")).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        let csv = String::from_utf8(api).unwrap();
        assert!(csv.lines().count() > 1, "{uri} has rows");
        let (_, json) = get(&app, uri).await;
        let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let table = uri.split_once("table=").unwrap().1;
        let rows = json[table].as_array().unwrap();
        assert_eq!(touchline_report_output::infer(rows).csv(), csv, "{uri}");
    }

    // A person's conversions have no value: the table leaves the column
    // of zeros out (the CSV keeps it); a deal's show it.
    let header = |args: &[&str]| {
        let text = String::from_utf8(touchline(&db, args)).unwrap();
        text.lines()
            .find(|line| line.contains("conversions"))
            .unwrap()
            .to_owned()
    };
    for args in [
        &["report", "attribution"][..],
        &["report", "attribution", "--by", "channel"],
        &["attribution", "compare", "--conversion", "lead_qualified"],
        &["attribution", "what-if", "--conversion", "lead_created"],
    ] {
        let header = header(args);
        assert!(!header.contains("value"), "{args:?}: {header}");
    }
    for args in [
        &["report", "attribution", "--conversion", "opportunity_won"][..],
        &["attribution", "compare"],
    ] {
        let header = header(args);
        assert!(header.contains("value"), "{args:?}: {header}");
    }
}
