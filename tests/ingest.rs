//! `touchline ingest`: events from files through the same decode, validation
//! and engine as Kafka input, bad records reported by line, re-runs idempotent.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn touchline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_touchline"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ingest(file: &Path, db: &Path) -> Output {
    touchline(&[
        "ingest",
        file.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ])
}

/// `N records: A events appended, D already in the log, ...` of one file.
fn counts(output: &Output) -> (u64, u64, u64) {
    let out = text(&output.stdout);
    let line = out
        .lines()
        .find(|l| l.contains(" records: "))
        .unwrap_or_else(|| panic!("{out}"));
    let number = |after: &str| -> u64 {
        let rest = line.split(after).next().unwrap();
        rest.rsplit(' ').next().unwrap().parse().unwrap()
    };
    (
        number(" records:"),
        number(" events appended"),
        number(" already in the log"),
    )
}

#[test]
fn the_demo_exports_its_events_and_ingest_reads_them_back_once() {
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("demo.jsonl");
    let pb = dir.path().join("demo.pb");
    for file in [&jsonl, &pb] {
        let demo = touchline(&[
            "demo",
            "--accounts",
            "200",
            "--no-serve",
            "--export",
            file.to_str().unwrap(),
        ]);
        assert!(demo.status.success(), "{}", text(&demo.stderr));
        assert!(
            text(&demo.stdout).contains("exported "),
            "{}",
            text(&demo.stdout)
        );
    }

    // The demo mixes in three malformed messages: reported by line, the rest in.
    let db = dir.path().join("from-jsonl");
    let first = ingest(&jsonl, &db);
    assert_eq!(first.status.code(), Some(1), "{}", text(&first.stderr));
    let stderr = text(&first.stderr);
    let bad: Vec<&str> = stderr.lines().filter(|l| l.contains(": line ")).collect();
    assert_eq!(bad.len(), 3, "{stderr}");
    assert!(bad[0].contains("json_decode"), "{stderr}");
    assert!(stderr.contains("3 records were not ingested"), "{stderr}");
    let (records, appended, duplicates) = counts(&first);
    assert!(appended > 1_000, "{}", text(&first.stdout));
    // The generator's producer retries, if any, are duplicates, as from Kafka.
    assert_eq!(records, appended + duplicates + 3);

    // Again: nothing new.
    let again = ingest(&jsonl, &db);
    let (records_again, appended_again, duplicates_again) = counts(&again);
    assert_eq!(
        (records_again, appended_again, duplicates_again),
        (records, 0, appended + duplicates)
    );

    // Protobuf gives the same store.
    let db_pb = dir.path().join("from-pb");
    let from_pb = ingest(&pb, &db_pb);
    assert_eq!(counts(&from_pb), (records, appended, duplicates));
    let report = |db: &Path| {
        let out = touchline(&[
            "report",
            "campaigns",
            "--db",
            db.to_str().unwrap(),
            "--format",
            "csv",
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(report(&db), report(&db_pb));
}

#[test]
fn bad_arguments_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let unknown = dir.path().join("events.txt");
    std::fs::write(&unknown, "a,b\n").unwrap();
    let out = ingest(&unknown, &dir.path().join("db"));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot tell the format from the extension"),
        "{}",
        text(&out.stderr)
    );
    let missing = touchline(&[
        "ingest",
        "/nonexistent/events.jsonl",
        "--db",
        dir.path().join("db2").to_str().unwrap(),
    ]);
    assert!(
        text(&missing.stderr).contains("cannot open /nonexistent/events.jsonl"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn a_report_refuses_a_model_the_engine_does_not_compute() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("touchline.toml");
    std::fs::write(
        &config,
        "[attribution]\nmodels = [\"first_touch\", \"last_touch\"]\n",
    )
    .unwrap();
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        r#"{"event_id":"e-1","occurred_at":"2026-03-02T09:30:00Z","recorded_at":"2026-03-02T09:30:05Z","payload":{"type":"touch_recorded","person_id":"p-1","campaign_id":"c-1","touch_type":"web_visit","status":"sent"}}"#,
    )
    .unwrap();
    let db = dir.path().join("db");
    let db = db.to_str().unwrap();
    let ingested = touchline(&[
        "ingest",
        events.to_str().unwrap(),
        "--db",
        db,
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(ingested.status.success(), "{}", text(&ingested.stderr));
    let report = touchline(&["report", "campaigns", "--db", db, "--model", "linear"]);
    assert!(!report.status.success());
    assert!(
        text(&report.stderr).contains(
            // The API's words, naming the flag.
            "--model: \"linear\" is not computed by this engine; the configured models are first_touch, last_touch"
        ),
        "{}",
        text(&report.stderr)
    );
    let fine = touchline(&["report", "campaigns", "--db", db, "--model", "last_touch"]);
    assert!(fine.status.success(), "{}", text(&fine.stderr));
}

#[test]
fn csv_exports_of_members_opportunities_and_costs_go_in_once_with_bad_rows_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let members = dir.path().join("members.csv");
    std::fs::write(
        &members,
        "person_id,campaign_id,status,date,touch_type\n\
         p-1,cmp-webinar,responded,2026-03-01,webinar_attended\n\
         p-2,cmp-webinar,sent,2026-03-02,\n\
         p-3,cmp-webinar,bounced,2026-03-02,\n",
    )
    .unwrap();
    let costs = dir.path().join("costs.csv");
    std::fs::write(
        &costs,
        "campaign_id,date,amount,currency,description\ncmp-webinar,2026-03-01,1200.50,EUR,venue\n",
    )
    .unwrap();
    let deals = dir.path().join("opportunities.csv");
    std::fs::write(
        &deals,
        "opportunity_id,account_id,stage,amount,currency,created_at,primary_contact_id,closed_at,won\n\
         opp-1,acc-1,closed_won,5000,EUR,2026-03-10,p-1,2026-04-01,true\n",
    )
    .unwrap();
    let db = dir.path().join("db");
    let db_arg = db.to_str().unwrap();
    let files = [&members, &costs, &deals].map(|f| f.to_str().unwrap().to_owned());
    let args = |files: &[String]| {
        let mut args = vec!["ingest".to_owned()];
        args.extend(files.iter().cloned());
        args.extend(["--db".to_owned(), db_arg.to_owned()]);
        args
    };
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        touchline(&refs)
    };
    let first = run(args(&files));
    assert_eq!(first.status.code(), Some(1), "{}", text(&first.stderr));
    let stderr = text(&first.stderr);
    assert!(
        stderr.contains("members.csv: line 4: status \"bounced\" is not sent or responded"),
        "{stderr}"
    );
    let out = text(&first.stdout);
    assert!(
        out.contains("members.csv: 3 records: 2 events appended"),
        "{out}"
    );
    assert!(
        out.contains("costs.csv: 1 records: 1 events appended"),
        "{out}"
    );
    assert!(
        out.contains("opportunities.csv: 2 records: 2 events appended"),
        "{out}"
    );
    // The cost and the deal are in the reports.
    let report = touchline(&[
        "report",
        "campaigns",
        "--db",
        db_arg,
        "--model",
        "first_touch",
        "--format",
        "json",
    ]);
    let rows: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
    let webinar = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["campaign_id"] == "cmp-webinar")
        .unwrap();
    assert_eq!(webinar["cost_minor"], 1_200_50);
    assert_eq!(webinar["revenue_minor"], 5_000_00);
    assert_eq!(webinar["members"], 2);
    // Again: every good row is a duplicate.
    let again = run(args(&files));
    let out = text(&again.stdout);
    assert!(
        out.contains("members.csv: 3 records: 0 events appended, 2 already in the log"),
        "{out}"
    );
    assert!(
        out.contains("opportunities.csv: 2 records: 0 events appended, 2 already in the log"),
        "{out}"
    );
}
