//! `--synthesized include|exclude` and `attribution.synthesized_touches` on
//! a store filled by `touchline import`, whose touches are all synthesized
//! from the legacy lead-source field (issue 12, item 11).

use super::*;

/// `report attribution --model first_touch` as (campaign, conversions).
fn first_touch(db: &std::path::Path, extra: &[&str]) -> Vec<(String, f64)> {
    let mut args = vec![
        "report",
        "attribution",
        "--model",
        "first_touch",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let output = touchline_on(db, &args);
    assert!(output.status.success(), "{extra:?}: {}", stderr(&output));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["campaign_id"].as_str().unwrap().to_owned(),
                r["conversions"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// Three legacy leads: two from the web, one from a trade show. Each has
/// one touch, the import's synthesized one, so leaving synthesized touches
/// out leaves all three leads without a touch.
fn imported(config: Option<&str>) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store");
    let file = dir.path().join("legacy.csv");
    std::fs::write(
        &file,
        "lead_id,created_at,lead_source\n\
         L1,2019-03-01,Web\n\
         L2,2019-03-02,Web\n\
         L3,2019-03-03,Trade Show\n",
    )
    .unwrap();
    let mut args = vec!["import".to_owned(), file.to_str().unwrap().to_owned()];
    if let Some(text) = config {
        let path = dir.path().join("touchline.toml");
        std::fs::write(&path, text).unwrap();
        args.extend(["--config".to_owned(), path.to_str().unwrap().to_owned()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = touchline_on(&db, &args);
    assert!(output.status.success(), "{}", stderr(&output));
    (dir, db)
}

fn including() -> Vec<(String, f64)> {
    vec![
        ("legacy-web".to_owned(), 2.0),
        ("legacy-trade-show".to_owned(), 1.0),
    ]
}

fn excluding() -> Vec<(String, f64)> {
    vec![("(no touch)".to_owned(), 3.0)]
}

#[test]
fn report_attribution_counts_the_imports_synthesized_touches_or_leaves_them_out() {
    let (_dir, db) = imported(None);
    assert_eq!(first_touch(&db, &[]), including());
    assert_eq!(first_touch(&db, &["--synthesized", "include"]), including());
    assert_eq!(first_touch(&db, &["--synthesized", "exclude"]), excluding());

    let bad = touchline_on(
        &db,
        &["report", "attribution", "--synthesized", "sometimes"],
    );
    assert!(!bad.status.success());
    let errors = stderr(&bad);
    assert!(
        errors.contains("--synthesized") && errors.contains("include or exclude"),
        "{errors}"
    );
}

#[test]
fn the_configured_choice_is_what_the_store_holds_and_a_flag_asks_the_other() {
    let (_dir, db) = imported(Some("[attribution]\nsynthesized_touches = \"exclude\"\n"));
    assert_eq!(first_touch(&db, &[]), excluding());
    assert_eq!(first_touch(&db, &["--synthesized", "include"]), including());
}

/// `touchline <args> --format json` on `db`, parsed; it must succeed.
fn json_of(db: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let mut args = args.to_vec();
    args.extend(["--format", "json"]);
    let output = touchline_on(db, &args);
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap()
}

/// `attribution compare`'s rows as (campaign, first-touch conversions).
fn compared(rows: &serde_json::Value) -> Vec<(String, f64)> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let first = r["models"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["model"] == "first_touch")
                .unwrap();
            (
                r["campaign_id"].as_str().unwrap().to_owned(),
                first["conversions"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn attribution_compare_counts_synthesized_touches_or_leaves_them_out() {
    let (_dir, db) = imported(None);
    let compare = ["attribution", "compare", "--conversion", "lead_created"];
    let mut including = including();
    including.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rows = compared(&json_of(&db, &compare));
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(rows, including);
    let excluded = [&compare[..], &["--synthesized", "exclude"]].concat();
    assert_eq!(compared(&json_of(&db, &excluded)), excluding());

    // One conversion: its only touch left out, no touch with the reason.
    let one = json_of(
        &db,
        &[
            "attribution",
            "compare",
            "--conversion-id",
            "lead_created:L1",
            "--synthesized",
            "exclude",
        ],
    );
    for result in one["results"].as_array().unwrap() {
        assert_eq!(
            result["attribution"]["unattributed"], "none_match_filter",
            "{one}"
        );
    }
    let bad = touchline_on(&db, &[&compare[..], &["--synthesized", "no"]].concat());
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("--synthesized"), "{}", stderr(&bad));
}

#[test]
fn as_of_by_campaign_takes_synthesized_on_both_sides() {
    let (_dir, db) = imported(None);
    let as_of = [
        "attribution",
        "as-of",
        "--at",
        "2100-01-01",
        "--by",
        "campaign",
        "--model",
        "first_touch",
    ];
    // (group, then, now) conversions.
    let rows = |report: &serde_json::Value| -> Vec<(String, f64, f64)> {
        let mut rows: Vec<(String, f64, f64)> = report["rows"]
            .as_array()
            .unwrap()
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
    let report = json_of(&db, &as_of);
    assert_eq!(report["synthesized_touches"], "include");
    assert_eq!(
        rows(&report),
        [
            ("legacy-trade-show".to_owned(), 1.0, 1.0),
            ("legacy-web".to_owned(), 2.0, 2.0)
        ]
    );
    let report = json_of(&db, &[&as_of[..], &["--synthesized", "exclude"]].concat());
    assert_eq!(report["synthesized_touches"], "exclude");
    assert_eq!(rows(&report), [("(no touch)".to_owned(), 3.0, 3.0)]);

    let bad = touchline_on(&db, &[&as_of[..], &["--synthesized", "no"]].concat());
    assert!(!bad.status.success());
    let errors = stderr(&bad);
    assert!(
        errors.contains("--synthesized") && errors.contains("include or exclude"),
        "{errors}"
    );
    // The listing (no --by) compares with the stored credits: refused by name.
    let listing = touchline_on(
        &db,
        &[
            "attribution",
            "as-of",
            "--at",
            "2100-01-01",
            "--synthesized",
            "exclude",
        ],
    );
    assert!(!listing.status.success());
    assert!(
        stderr(&listing).contains("--synthesized: only with --by"),
        "{}",
        stderr(&listing)
    );
}

#[test]
fn report_campaigns_credits_leads_with_or_without_synthesized_touches() {
    let (_dir, db) = imported(None);
    let campaigns = ["report", "campaigns", "--model", "first_touch"];
    let leads = |rows: &serde_json::Value, id: &str| -> f64 {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["campaign_id"] == id)
            .unwrap_or_else(|| panic!("no {id} in {rows}"))["leads"]
            .as_f64()
            .unwrap()
    };
    let rows = json_of(&db, &campaigns);
    assert_eq!(leads(&rows, "legacy-web"), 2.0);
    assert_eq!(leads(&rows, "legacy-trade-show"), 1.0);
    let rows = json_of(
        &db,
        &[&campaigns[..], &["--synthesized", "exclude"]].concat(),
    );
    assert_eq!(leads(&rows, "legacy-web"), 0.0);
    assert_eq!(leads(&rows, "legacy-trade-show"), 0.0);
    let bad = touchline_on(&db, &[&campaigns[..], &["--synthesized", "no"]].concat());
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("--synthesized"), "{}", stderr(&bad));
}
