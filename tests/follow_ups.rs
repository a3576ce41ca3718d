//! The follow-up process end to end: events in, person view, HTTP endpoint and
//! CLI report (R11 diary, R12 contact method, R21 speed to lead).

#![allow(clippy::unwrap_used)]

use std::process::Command;
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

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;
const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

/// `person`'s lead (`<person>@example.com`, `<person> Tester` at Acme),
/// owned by `owner`.
fn tester_lead(id: &str, ms: i64, person: &str, owner: &str) -> Envelope {
    envelope(
        id,
        ms,
        LeadCreated {
            first_name: person.into(),
            last_name: "Tester".into(),
            company: "Acme".into(),
            ..lead(person)
                .with_email(format!("{person}@example.com"))
                .owned_by(owner)
        },
    )
}

/// Ada: created at T0, called after 30 minutes, visit due on day 3.
/// Bob: created at T0, e-mailed after 3 hours, then a letter; next due on day 10.
/// Cy: created at T0 + 1 day, never followed up.
fn store_with_follow_ups() -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    let events = vec![
        tester_lead("l-ada", T0, "ada", "rep-1"),
        tester_lead("l-bob", T0, "bob", "rep-2"),
        tester_lead("l-cy", T0 + DAY, "cy", "rep-1"),
        envelope(
            "f1",
            T0 + 30 * MINUTE,
            FollowUpLogged {
                outcome: "interested, wants a demo".into(),
                next_due_at: Some(at(T0 + 3 * DAY)),
                owner_id: "rep-1".into(),
                ..follow_up("ada", ContactMethod::Call)
            },
        ),
        envelope(
            "f2",
            T0 + 180 * MINUTE,
            FollowUpLogged {
                outcome: "sent pricing".into(),
                next_due_at: Some(at(T0 + 2 * DAY)),
                owner_id: "rep-1".into(),
                ..follow_up("bob", ContactMethod::Email)
            },
        ),
        envelope(
            "f3",
            T0 + 2 * DAY,
            FollowUpLogged {
                outcome: "mailed the case study kit".into(),
                next_due_at: Some(at(T0 + 10 * DAY)),
                owner_id: "rep-1".into(),
                ..follow_up("bob", ContactMethod::Letter)
            },
        ),
    ];
    engine
        .apply(Batch {
            events,
            ..Batch::default()
        })
        .unwrap();
    (dir, store)
}

async fn get(store: &Arc<Store>, uri: &str) -> (StatusCode, Value) {
    let app = touchline_api::router(Queries::new(store.clone()), Arc::default());
    let response = app
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn r11_the_diary_lists_due_and_overdue_leads_with_what_the_last_contact_gave() {
    let (_dir, store) = store_with_follow_ups();
    // On day 5 Ada's visit (due day 3) is two days overdue; Bob is due on day 10.
    let (status, due) = get(&store, "/v1/follow-ups/due?at=2026-01-06").await;
    assert_eq!(status, StatusCode::OK, "{due}");
    let due = due.as_array().unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0]["person_id"], "ada");
    assert_eq!(due[0]["overdue_ms"], 2 * DAY);
    assert_eq!(due[0]["last_outcome"], "interested, wants a demo");
    let (_, later) = get(&store, "/v1/follow-ups/due?at=2026-01-12").await;
    let ids: Vec<&str> = later
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["person_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ada", "bob"], "most overdue first");
    let (_, mine) = get(&store, "/v1/follow-ups/due?at=2026-01-12&owner=rep-2").await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let (status, body) = get(&store, "/v1/follow-ups/due?at=tomorrow").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().starts_with("parameter at:"),
        "{body}"
    );
}

#[tokio::test]
async fn r12_how_each_contact_was_made_is_recorded_in_order() {
    let (_dir, store) = store_with_follow_ups();
    let (status, bob) = get(&store, "/v1/persons/bob").await;
    assert_eq!(status, StatusCode::OK);
    let methods: Vec<&str> = bob["follow_ups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["email", "letter"]);
    assert_eq!(bob["follow_ups"][1]["outcome"], "mailed the case study kit");
}

#[tokio::test]
async fn r21_speed_to_lead_is_the_time_to_the_first_follow_up() {
    let (_dir, store) = store_with_follow_ups();
    let (status, rows) = get(&store, "/v1/reports/speed-to-lead").await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    // All: three leads, two followed up after 30 and 180 minutes.
    assert_eq!(rows[0]["group"], "(all)");
    assert_eq!(
        (rows[0]["leads"].as_u64(), rows[0]["followed_up"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(rows[0]["median_minutes"], 105.0);
    assert_eq!(rows[0]["mean_minutes"], 105.0);
    // rep-1: Ada after 30 minutes, Cy never.
    assert_eq!(rows[1]["group"], "rep-1");
    assert_eq!(
        (
            rows[1]["leads"].as_u64(),
            rows[1]["median_minutes"].as_f64()
        ),
        (Some(2), Some(30.0))
    );
    // Leads created on day 2 only: Cy, not followed up.
    let (_, cy) = get(&store, "/v1/reports/speed-to-lead?from=2026-01-02").await;
    assert_eq!(
        (cy[0]["leads"].as_u64(), cy[0]["followed_up"].as_u64()),
        (Some(1), Some(0))
    );
    assert!(cy[0]["median_minutes"].is_null());
}

#[test]
fn r11_r21_the_cli_prints_the_diary_and_speed_to_lead() {
    let (dir, store) = store_with_follow_ups();
    drop(store);
    let db = dir.path().join("store");
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_touchline"))
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let diary = run(&[
        "report",
        "follow-ups",
        "--db",
        db.to_str().unwrap(),
        "--at",
        "2026-01-12",
    ]);
    // A header, its rule and the two leads due.
    assert_eq!(diary.lines().count(), 4, "{diary}");
    let ada = diary.lines().find(|l| l.starts_with("ada ")).unwrap();
    assert!(
        ada.contains("call") && ada.contains("interested, wants a demo"),
        "{diary}"
    );
    let speed = run(&[
        "report",
        "speed-to-lead",
        "--db",
        db.to_str().unwrap(),
        "--format",
        "csv",
    ]);
    assert_eq!(
        speed.lines().nth(1),
        Some("(all),3,2,105.0,105.0"),
        "{speed}"
    );
}

fn qualify(
    id: &str,
    person: &str,
    status: LeadStatus,
    need: bool,
    budget: bool,
    authority: bool,
) -> Envelope {
    envelope(
        id,
        T0 + 2 * DAY,
        LeadUpdated {
            status: Some(status),
            qualification: Some(Qualification {
                need: Some(need),
                budget: Some(budget),
                authority: Some(authority),
            }),
            ..lead_updated(person)
        },
    )
}

#[tokio::test]
async fn r23_need_budget_and_authority_put_leads_in_priority_order() {
    let (_dir, store) = store_with_follow_ups();
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    engine
        .apply(Batch {
            events: vec![
                qualify("q-ada", "ada", LeadStatus::Working, true, false, false),
                qualify("q-bob", "bob", LeadStatus::Qualified, true, true, true),
                // Cy stays new and unknown.
            ],
            ..Batch::default()
        })
        .unwrap();
    drop(engine);
    let (status, leads) = get(&store, "/v1/leads").await;
    assert_eq!(status, StatusCode::OK, "{leads}");
    let order: Vec<(&str, u64)> = leads
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["person_id"].as_str().unwrap(),
                l["qualification_score"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(order, [("bob", 3), ("ada", 1), ("cy", 0)]);
    assert_eq!(leads[0]["qualification"]["budget"], true);
    let (_, mine) = get(&store, "/v1/leads?owner=rep-1&limit=1").await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["person_id"], "ada");
    let (status, body) = get(&store, "/v1/leads?limit=all").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error"],
        "parameter limit: \"all\" is not a non-negative integer"
    );
}

#[tokio::test]
async fn r19_behavioural_scores_weigh_touches_by_type_and_decay_with_age() {
    let (_dir, store) = store_with_follow_ups();
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    engine
        .apply(Batch {
            events: vec![
                // Ada attended a webinar 30 days before the instant: 15 points, halved.
                envelope(
                    "t-ada",
                    T0,
                    touch("ada", "cmp").of_type(TouchType::WebinarAttended),
                ),
                // Bob had a meeting on the day: 25 points, and an e-mail open (1).
                envelope(
                    "t-bob-1",
                    T0 + 30 * DAY,
                    touch("bob", "cmp").of_type(TouchType::Meeting),
                ),
                envelope(
                    "t-bob-2",
                    T0 + 30 * DAY,
                    touch("bob", "cmp").of_type(TouchType::EmailOpen),
                ),
                // Cy's touch comes after the instant: it does not count yet.
                envelope(
                    "t-cy",
                    T0 + 40 * DAY,
                    touch("cy", "cmp").of_type(TouchType::Meeting),
                ),
            ],
            ..Batch::default()
        })
        .unwrap();
    drop(engine);
    let (status, scores) = get(&store, "/v1/scores?at=2026-01-31").await;
    assert_eq!(status, StatusCode::OK, "{scores}");
    let rows: Vec<(&str, f64)> = scores
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["person_id"].as_str().unwrap(),
                s["score"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows[0], ("bob", 26.0));
    assert_eq!(rows[1].0, "ada");
    assert!((rows[1].1 - 7.5).abs() < 1e-9, "{rows:?}");
    assert_eq!(rows[2], ("cy", 0.0));
}
