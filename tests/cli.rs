//! The `touchline` command line: the demo's report, reports from a store, and
//! precise messages for bad arguments.

#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

#[path = "cli/synthesized.rs"]
mod synthesized;

fn touchline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_touchline"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_demo_prints_first_and_last_touch_credit_per_campaign_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let db = db.to_str().unwrap();
    let output = touchline(&["demo", "--accounts", "300", "--no-serve", "--db", db]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("Leads credited by lead creation, per campaign:"),
        "{text}"
    );
    assert!(
        text.contains("Pipeline credited by opportunity creation, per campaign:"),
        "{text}"
    );
    assert!(
        text.contains("campaign") && text.contains("first touch") && text.contains("last touch"),
        "{text}"
    );
    assert!(text.contains("3 dead-lettered"), "{text}");
    assert!(text.contains("dead letter at demo.events/0@17"), "{text}");

    // The same seed always gives the same report.
    let again = touchline(&["demo", "--accounts", "300", "--no-serve"]);
    let strip = |t: &str| {
        t.lines()
            .filter(|l| !l.starts_with("touchline demo") && !l.starts_with("pipeline:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&text), strip(&stdout(&again)));
    // And that report is pinned: a change to any number shows in review.
    // `UPDATE_EXPECT=1 cargo test --test cli` rewrites it after a deliberate change.
    expect_test::expect_file!["expect/demo_300_accounts.txt"].assert_eq(&(strip(&text) + "\n"));

    // Re-running on the same store resumes after the stored offset: nothing twice.
    let resumed = touchline(&["demo", "--accounts", "300", "--no-serve", "--db", db]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let resumed_text = stdout(&resumed);
    assert!(resumed_text.contains("0 events appended"), "{resumed_text}");

    // The store answers reports afterwards, as a table, CSV and JSON.
    let table = touchline(&[
        "report",
        "attribution",
        "--db",
        db,
        "--model",
        "last_touch",
        "--conversion",
        "opportunity_created",
    ]);
    assert!(table.status.success(), "{}", stderr(&table));
    assert!(stdout(&table).contains("EUR"), "{}", stdout(&table));
    // Replay rebuilds the same views from the log, on any number of threads.
    let reports = || {
        ["attribution", "campaigns"].map(|report| {
            stdout(&touchline(&[
                "report", report, "--db", db, "--format", "csv",
            ]))
        })
    };
    let before = reports();
    for threads in [None, Some("1"), Some("3")] {
        let mut replay = Command::new(env!("CARGO_BIN_EXE_touchline"));
        replay.arg("replay");
        if let Some(threads) = threads {
            replay.args(["--threads", threads]);
        }
        let replay = replay
            .env("TOUCHLINE_STORE_PATH", db)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(replay.status.success(), "{}", stderr(&replay));
        assert!(
            stdout(&replay).starts_with("replayed "),
            "{}",
            stdout(&replay)
        );
        assert_eq!(reports(), before, "replayed on {threads:?} threads");
    }
    // Data-driven credit reads as people read it: the model by name, the
    // groups under their own header, most credited first; Shapley has no order.
    let data_driven = |args: &[&str]| {
        let mut all = vec!["attribution", "data-driven", "--db", db];
        all.extend_from_slice(args);
        touchline(&all)
    };
    let markov = stdout(&data_driven(&[]));
    assert!(
        markov.starts_with("markov (order 1) by channel over "),
        "{markov}"
    );
    let shares: Vec<f64> = stdout(&data_driven(&["--format", "csv"]))
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    assert!(
        shares.len() > 3 && shares.windows(2).all(|w| w[0] >= w[1]),
        "{shares:?}"
    );
    let by_campaign = stdout(&data_driven(&["--by", "campaign"]));
    assert!(
        by_campaign.lines().nth(1).unwrap().starts_with("campaign "),
        "{by_campaign}"
    );
    let shapley_order = data_driven(&["--model", "shapley", "--order", "2"]);
    assert!(
        !shapley_order.status.success() && stderr(&shapley_order).contains("--order"),
        "{}",
        stderr(&shapley_order)
    );
    // Currency codes are read in either case, and an unknown one is an error.
    let campaigns_in = |currency: &str| {
        touchline(&[
            "report",
            "campaigns",
            "--db",
            db,
            "--currency",
            currency,
            "--format",
            "csv",
        ])
    };
    assert_eq!(stdout(&campaigns_in("eur")), stdout(&campaigns_in("EUR")));
    let euro = campaigns_in("euro");
    assert!(
        !euro.status.success() && stderr(&euro).contains("--currency"),
        "{}",
        stderr(&euro)
    );
    let zero = touchline(&["replay", "--threads", "0"]);
    assert!(
        !zero.status.success() && stderr(&zero).contains("--threads"),
        "{}",
        stderr(&zero)
    );
    // One record of an account (R9).
    let account = touchline(&["report", "account", "--db", db, "--id", "acc-0000000"]);
    assert!(account.status.success(), "{}", stderr(&account));
    assert!(
        stdout(&account).contains("transactions, revenue"),
        "{}",
        stdout(&account)
    );
    let missing = touchline(&["report", "account", "--db", db, "--id", "acc-nope"]);
    assert!(
        stderr(&missing).contains("--id acc-nope: no such account"),
        "{}",
        stderr(&missing)
    );
    // The generated data holds duplicate people, merged later.
    let duplicates = touchline(&["report", "duplicates", "--db", db, "--format", "json"]);
    assert!(duplicates.status.success(), "{}", stderr(&duplicates));
    let groups: serde_json::Value = serde_json::from_str(&stdout(&duplicates)).unwrap();
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["rule"] == "email" || g["rule"] == "phone")
    );
    let by_channel = touchline(&[
        "report",
        "attribution",
        "--db",
        db,
        "--by",
        "channel",
        "--format",
        "csv",
    ]);
    assert!(by_channel.status.success(), "{}", stderr(&by_channel));
    assert!(
        stdout(&by_channel).contains("\npaid_search,"),
        "{}",
        stdout(&by_channel)
    );
    let csv = touchline(&["report", "attribution", "--db", db, "--format", "csv"]);
    assert!(
        stdout(&csv)
            .starts_with("campaign_id,campaign_name,channel,conversions,value_minor,currency\n")
    );
    let json = touchline(&["report", "attribution", "--db", db, "--format", "json"]);
    let rows: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert!(!rows.as_array().unwrap().is_empty());

    // Every model side by side, per campaign and for one conversion.
    let compare = touchline(&[
        "attribution",
        "compare",
        "--db",
        db,
        "--conversion",
        "opportunity_won",
    ]);
    assert!(compare.status.success(), "{}", stderr(&compare));
    let text = stdout(&compare);
    assert!(
        text.contains("first_touch") && text.contains("w_shaped") && text.contains("time_decay"),
        "{text}"
    );
    let csv = touchline(&[
        "attribution",
        "compare",
        "--db",
        db,
        "--conversion",
        "lead_created",
        "--format",
        "json",
    ]);
    let rows: serde_json::Value = serde_json::from_str(&stdout(&csv)).unwrap();
    let models: std::collections::BTreeSet<String> = rows
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["models"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["model"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(models.len(), 10, "{models:?}");
    // As of the middle of the year: later conversions are new since then.
    let as_of = touchline(&[
        "attribution",
        "as-of",
        "--db",
        db,
        "--at",
        "2026-06-01",
        "--format",
        "json",
    ]);
    assert!(as_of.status.success(), "{}", stderr(&as_of));
    let moved: serde_json::Value = serde_json::from_str(&stdout(&as_of)).unwrap();
    let moved = moved.as_array().unwrap();
    assert!(!moved.is_empty());
    assert!(
        moved
            .iter()
            .any(|m| m["reasons"] == serde_json::json!(["new_conversion"]) && m["then"].is_null())
    );
    let bad_at = touchline(&["attribution", "as-of", "--db", db, "--at", "last week"]);
    assert!(
        stderr(&bad_at).contains("--at: \"last week\" is not a date"),
        "{}",
        stderr(&bad_at)
    );
    // Data-driven: Markov (order 2) and Shapley over every journey.
    for model in [
        &["--model", "markov", "--order", "2"][..],
        &["--model", "shapley"][..],
    ] {
        let mut args = vec!["attribution", "data-driven", "--db", db, "--format", "json"];
        args.extend_from_slice(model);
        let output = touchline(&args);
        assert!(output.status.success(), "{}", stderr(&output));
        let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
        let shares: f64 = report["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["share"].as_f64().unwrap())
            .sum();
        assert!(
            (shares - 1.0).abs() < 1e-9,
            "{model:?}: shares sum to {shares}"
        );
        assert!(
            report["non_converting_journeys"].as_u64().unwrap() > 0,
            "non-converting paths count too"
        );
    }
    let bad_order = touchline(&["attribution", "data-driven", "--db", db, "--order", "7"]);
    assert!(
        stderr(&bad_order).contains("--order: \"7\" is not 1, 2 or 3"),
        "{}",
        stderr(&bad_order)
    );
    let bad = touchline(&["attribution", "compare", "--db", db, "--from", "soon"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("--from: \"soon\" is not a date"),
        "{}",
        stderr(&bad)
    );
    // What-if: the configured parameters give the stored report; other
    // parameters answer too; bad ones exit 1 naming the flag.
    let stored = touchline(&[
        "report",
        "attribution",
        "--db",
        db,
        "--model",
        "linear",
        "--conversion",
        "opportunity_won",
        "--format",
        "json",
    ]);
    assert!(stored.status.success(), "{}", stderr(&stored));
    let stored: serde_json::Value = serde_json::from_str(&stdout(&stored)).unwrap();
    let what_if = touchline(&[
        "attribution",
        "what-if",
        "--db",
        db,
        "--model",
        "linear",
        "--conversion",
        "opportunity_won",
        "--format",
        "json",
        "--moved",
    ]);
    assert!(what_if.status.success(), "{}", stderr(&what_if));
    let answer: serde_json::Value = serde_json::from_str(&stdout(&what_if)).unwrap();
    let values = |rows: &serde_json::Value, key: &str| -> Vec<(String, String)> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r[key].as_str().unwrap().to_owned(),
                    r["value_minor"].to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        values(&answer["rows"], "group"),
        values(&stored, "campaign_id")
    );
    assert_eq!(answer["moved_totals"][0]["conversions_moved"], 0);
    let table = touchline(&[
        "attribution",
        "what-if",
        "--db",
        db,
        "--model",
        "time_decay,custom",
        "--half-life-days",
        "2",
        "--weights",
        "10,70,20",
        "--lookback-days",
        "30",
        "--by",
        "channel",
        "--moved",
    ]);
    assert!(table.status.success(), "{}", stderr(&table));
    assert!(
        stdout(&table).contains("against the stored credits"),
        "{}",
        stdout(&table)
    );
    let bad = touchline(&["attribution", "what-if", "--db", db, "--half-life-days=-2"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("--half-life-days: \"-2\" is not a number of days above 0"),
        "{}",
        stderr(&bad)
    );
    let bad = touchline(&[
        "attribution",
        "what-if",
        "--db",
        db,
        "--moved",
        "--baseline",
        "shapley",
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("--baseline: unknown model \"shapley\""),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn bad_arguments_name_what_is_wrong() {
    let output = touchline(&[
        "report",
        "attribution",
        "--model",
        "v_shaped",
        "--db",
        "/nonexistent",
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains(
            "unknown model \"v_shaped\"; expected one of first_touch, last_touch, linear"
        ),
        "{}",
        stderr(&output)
    );

    let output = touchline(&["report", "attribution", "--db", "/nonexistent/store"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--db /nonexistent/store: no store there"),
        "{}",
        stderr(&output)
    );

    let output = touchline(&["demo", "--accounts", "0", "--no-serve"]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--accounts"),
        "{}",
        stderr(&output)
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[kafka]\nbrokerz = \"x\"\n").unwrap();
    let output = touchline(&["run", "--config", config.to_str().unwrap()]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("unknown field `brokerz`"),
        "{}",
        stderr(&output)
    );
}

fn touchline_on(db: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_touchline"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env("TOUCHLINE_STORE_PATH", db)
        .output()
        .unwrap()
}

#[test]
fn r16_import_backfills_legacy_leads_dated_at_creation_once_and_reports_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let file = dir.path().join("legacy.csv");
    std::fs::write(
        &file,
        "lead_id,created_at,lead_source,email,company\n\
         L1,2019-03-01,Customer Referral,Ann@Example.com,Example\n\
         L2,2019-02-01,Inbound Call,,\n\
         L3,2019-04-01,Google Ads,bob@example.com,Bob Inc\n\
         L4,someday,Google Ads,,\n\
         L5,2019-05-01,Customer Referral,eve@example.com,Eve\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let first = touchline_on(&db, &["import", file]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("4 leads from 3 sources; 11 events appended, 0 already in the log"),
        "{}",
        stdout(&first)
    );
    let errors = stderr(&first);
    assert!(errors.contains("1 rows not imported"), "{errors}");
    assert!(
        errors.contains("line 5: lead L4: created_at \"someday\""),
        "{errors}"
    );

    // Running it again changes nothing.
    let again = touchline_on(&db, &["import", file]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("0 events appended, 11 already in the log"),
        "{}",
        stdout(&again)
    );

    // Every source is a campaign: referral and inbound call cost nothing and
    // their ROI is undefined; each lead is one member.
    let report = touchline_on(
        &db,
        &[
            "report",
            "campaigns",
            "--model",
            "first_touch",
            "--format",
            "csv",
        ],
    );
    assert!(report.status.success(), "{}", stderr(&report));
    let text = stdout(&report);
    let row = |id: &str| -> Vec<String> {
        text.lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{id} in {text}"))
            .split(',')
            .map(str::to_owned)
            .collect()
    };
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let cell = |row: &[String], column: &str| -> String {
        let i = header.iter().position(|h| *h == column).unwrap();
        row[i].clone()
    };
    let referral = row("legacy-customer-referral");
    let cells: Vec<String> = [
        "campaign_name",
        "members",
        "responders",
        "response_rate",
        "leads_sourced",
        "cost_minor",
        "leads",
        "roi",
    ]
    .iter()
    .map(|c| cell(&referral, c))
    .collect();
    assert_eq!(
        cells,
        [
            "Customer Referral",
            "2",
            "2",
            // Floats as JSON writes them, at full precision.
            "1.0",
            "2",
            // The legacy export says nothing of what the source cost:
            // unknown (an empty cell), and so is its ROI, never a made-up 0.
            "",
            "2.0",
            "unknown"
        ]
    );
    assert_eq!(cell(&row("legacy-inbound-call"), "leads_sourced"), "1");

    // The touch is dated at the lead's creation, the import date only recorded.
    let store = touchline_store::Store::open(&db).unwrap();
    let person: touchline_projection::PersonView = store
        .get(touchline_store::Table::Persons, "L2")
        .unwrap()
        .unwrap();
    let touches: Vec<touchline_projection::TouchEntry> = store.touches("L2").unwrap();
    assert_eq!(touches.len(), 1);
    assert_eq!(person.touches_kept, 1);
    assert_eq!(
        touches[0].occurred_at.to_string(),
        "2019-02-01T00:00:00.000Z"
    );
    assert!(touches[0].recorded_at.as_millis() > touches[0].occurred_at.as_millis());
    assert_eq!(touches[0].touch_type, touchline_core::TouchType::Call);
    assert_eq!(person.lead_created_at, Some(touches[0].occurred_at));
    let lead: touchline_projection::PersonView = store
        .get(touchline_store::Table::Persons, "L1")
        .unwrap()
        .unwrap();
    assert_eq!(lead.email, "ann@example.com");
}

#[test]
fn the_new_reports_print_from_a_demo_store_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let demo = touchline_on(
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
    assert!(demo.status.success(), "{}", stderr(&demo));
    let reports: &[(&[&str], &str)] = &[
        (
            &["report", "forecast"],
            "month,currency,opportunities,pipeline_minor,weighted_minor",
        ),
        (
            &["report", "forecast", "--by", "deals"],
            "opportunity_id,name,stage,probability_pct",
        ),
        (
            &["report", "overdue"],
            "person_id,name,company,owner_id,owner_kind,rule,lead_created_at,due_at,overdue_ms,reason",
        ),
        (
            &["report", "signals"],
            "opportunity_id,name,account_id,stage,owner_id,indicators.kind,indicators.name",
        ),
        (
            &["report", "campaigns"],
            "campaign_id,campaign_name,channel,currency,cost_minor,members,responders,response_rate",
        ),
    ];
    for (args, header) in reports {
        let csv = touchline_on(&db, &[args, &["--format", "csv"][..]].concat());
        assert!(csv.status.success(), "{args:?}: {}", stderr(&csv));
        let text = stdout(&csv);
        assert!(text.starts_with(header), "{args:?}: {text}");
        assert!(text.lines().count() > 1, "{args:?} has rows: {text}");
        let json = touchline_on(&db, &[args, &["--format", "json"][..]].concat());
        let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        assert!(!rows.as_array().unwrap().is_empty(), "{args:?}");
        let table = touchline_on(&db, args);
        assert!(table.status.success(), "{args:?}");
    }
    // A reader that has gone (`| head -2`) ends the report quietly: the pipe
    // is closed before the report starts, so every write meets it closed.
    for args in [
        &["report", "overdue"][..],
        &["report", "campaigns"],
        &["attribution", "compare", "--conversion", "lead_created"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = Command::new(env!("CARGO_BIN_EXE_touchline"))
            .args(args)
            .env("RUST_LOG", "warn")
            .env("TOUCHLINE_STORE_PATH", &db)
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            !stderr(&output).contains("panicked"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let bad = touchline_on(&db, &["report", "forecast", "--by", "weeks"]);
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("--by: \"weeks\" is not months or deals"),
        "{}",
        stderr(&bad)
    );
    let bad = touchline_on(&db, &["report", "interest", "--account", "nope"]);
    assert!(
        stderr(&bad).contains("--account: no account with id \"nope\""),
        "{}",
        stderr(&bad)
    );
}

/// `report unattributed` is its route's command: conversions credited to
/// `(no touch)`, counted by reason, one row per example in CSV.
#[test]
fn unattributed_conversions_are_listed_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        [
            r#"{"event_id":"l-1","occurred_at":"2026-03-02T09:30:00Z","recorded_at":"2026-03-02T09:30:05Z","payload":{"type":"lead_created","person_id":"p-1"}}"#,
            r#"{"event_id":"l-2","occurred_at":"2026-03-03T09:30:00Z","recorded_at":"2026-03-03T09:30:05Z","payload":{"type":"lead_created","person_id":"p-2"}}"#,
            r#"{"event_id":"t-3","occurred_at":"2026-03-01T09:30:00Z","recorded_at":"2026-03-01T09:30:05Z","payload":{"type":"touch_recorded","person_id":"p-3","campaign_id":"c-1","touch_type":"web_visit","status":"responded"}}"#,
            r#"{"event_id":"l-3","occurred_at":"2026-03-04T09:30:00Z","recorded_at":"2026-03-04T09:30:05Z","payload":{"type":"lead_created","person_id":"p-3"}}"#,
        ]
        .join("\n"),
    )
    .unwrap();
    let db = dir.path().join("store");
    let ingest = touchline_on(&db, &["ingest", events.to_str().unwrap()]);
    assert!(ingest.status.success(), "{}", stderr(&ingest));
    let csv = touchline_on(&db, &["report", "unattributed", "--format", "csv"]);
    assert!(csv.status.success(), "{}", stderr(&csv));
    assert_eq!(
        stdout(&csv),
        "reason,conversions,examples\nno_touches,2,lead_created:p-1\nno_touches,2,lead_created:p-2\n"
    );
    let table = stdout(&touchline_on(&db, &["report", "unattributed"]));
    assert!(table.contains("no_touches"), "{table}");
}
