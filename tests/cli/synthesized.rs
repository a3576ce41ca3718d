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
