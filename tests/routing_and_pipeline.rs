//! The follow-up process and the money around accounts, end to end: events
//! in, views, HTTP. R20 routing, overdue leads and re-routing; R5 the weighted
//! forecast by month through skipped, reversed and reopened stages; R18
//! account interest, red/yellow/green on open deals, and rep alerts.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use touchline_core::*;
use touchline_engine::{ActivityAlert, Batch, Engine, EngineConfig, EngineSink, Queries};
use touchline_fixtures::*;
use touchline_projection::{RoutingRule, RoutingRules};
use touchline_store::Store;
use tower::ServiceExt;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const JAN: i64 = 1_767_225_600_000; // 2026-01-01

/// `person`'s lead (`lead-<person>`, `<person>@example.com`, first name in
/// capitals) from `source` through campaign `cmp-<source>`, with `owner` and
/// `account` (empty: none).
fn lead_from(person: &str, ms: i64, source: &str, owner: &str, account: &str) -> Envelope {
    envelope(
        format!("lead-{person}"),
        ms,
        LeadCreated {
            first_name: person.to_uppercase(),
            ..lead(person)
                .with_email(format!("{person}@example.com"))
                .with_source(lead_source(format!("cmp-{source}"), source))
                .owned_by(owner)
                .at_account(account)
        },
    )
}

fn rules() -> RoutingRules {
    let rule = |name: &str, owner: &str, kind: OwnerKind, sources: &[&str]| RoutingRule {
        sources: sources.iter().map(|s| s.to_string()).collect(),
        ..RoutingRule::to(name, owner, kind)
    };
    RoutingRules {
        first_follow_up_within_hours: 24.0,
        rules: vec![
            rule(
                "partner leads",
                "acme-resellers",
                OwnerKind::Partner,
                &["partner-portal"],
            ),
            rule("everyone else", "inside-sales", OwnerKind::Internal, &[]),
        ],
    }
}

struct Harness {
    _dir: tempfile::TempDir,
    store: Arc<Store>,
    engine: Arc<Mutex<Engine>>,
}

impl Harness {
    fn new(config: EngineConfig) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
        let engine = Engine::open(store.clone(), config).unwrap();
        Harness {
            _dir: dir,
            store,
            engine: Arc::new(Mutex::new(engine)),
        }
    }

    fn apply(&self, events: Vec<Envelope>) {
        self.engine
            .lock()
            .unwrap()
            .apply(Batch {
                events,
                ..Batch::default()
            })
            .unwrap();
    }

    fn app(&self, with_sink: bool) -> axum::Router {
        touchline_api::router_with(
            Queries::new(self.store.clone()),
            Arc::default(),
            touchline_api::ApiOptions {
                routing: rules(),
                commands: with_sink.then(|| {
                    Arc::new(EngineSink(self.engine.clone()))
                        as Arc<dyn touchline_engine::EventSink>
                }),
                ..Default::default()
            },
        )
    }

    async fn call(&self, request: Request<Body>, with_sink: bool) -> (StatusCode, Value) {
        let response = self.app(with_sink).oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn get(&self, uri: &str) -> Value {
        let (status, body) = self
            .call(Request::get(uri).body(Body::empty()).unwrap(), true)
            .await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
        body
    }

    async fn post(&self, uri: &str, body: Value, with_sink: bool) -> (StatusCode, Value) {
        let request = Request::post(uri)
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.call(request, with_sink).await
    }
}

#[tokio::test]
async fn r20_leads_are_routed_to_internal_or_partner_owners_overdue_ones_flagged_and_rerouted() {
    let h = Harness::new(EngineConfig {
        routing: rules(),
        ..EngineConfig::default()
    });
    h.apply(vec![
        lead_from("pat", JAN, "partner-portal", "", ""),
        lead_from("ian", JAN + HOUR, "google", "", ""),
        // Arrives with an owner: no rule applies.
        lead_from("own", JAN + 2 * HOUR, "google", "rep-kim", ""),
        // Followed up in time, next call due in a week.
        lead_from("fin", JAN + 3 * HOUR, "google", "", ""),
        envelope(
            "fu-fin",
            JAN + 4 * HOUR,
            FollowUpLogged {
                outcome: "left a voicemail".into(),
                next_due_at: Some(at(JAN + 7 * DAY)),
                owner_id: "rep-x".into(),
                ..follow_up("fin", ContactMethod::Call)
            },
        ),
    ]);
    // The same creation sent again routes nothing twice.
    h.apply(vec![lead_from("pat", JAN, "partner-portal", "", "")]);

    let pat = h.get("/v1/persons/pat").await;
    assert_eq!(pat["owner_id"], "acme-resellers");
    assert_eq!(pat["owner_kind"], "partner");
    assert_eq!(pat["routing"].as_array().unwrap().len(), 1);
    assert_eq!(pat["routing"][0]["rule"], "partner leads");
    assert_eq!(h.get("/v1/persons/ian").await["owner_id"], "inside-sales");
    assert_eq!(h.get("/v1/persons/ian").await["owner_kind"], "internal");
    let own = h.get("/v1/persons/own").await;
    assert_eq!(own["owner_id"], "rep-kim");
    assert_eq!(own["routing"], json!([]));
    // The decision is in the log, as an event of the lead's stream.
    let events = h.get("/v1/persons/pat/events").await;
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["payload"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["lead_created", "lead_routed"]);

    // Two days on: three leads were never followed up within 24 hours.
    let overdue = h
        .get(&format!("/v1/follow-ups/overdue?at={}", at(JAN + 2 * DAY)))
        .await;
    let rows: Vec<(&str, &str, &str)> = overdue
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["person_id"].as_str().unwrap(),
                r["owner_id"].as_str().unwrap(),
                r["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("pat", "acme-resellers", "no_first_follow_up"),
            ("ian", "inside-sales", "no_first_follow_up"),
            ("own", "rep-kim", "no_first_follow_up"),
        ]
    );
    assert_eq!(overdue[0]["due_at"], at(JAN + DAY).to_string());
    assert_eq!(overdue[0]["overdue_ms"], DAY);
    assert_eq!(overdue[0]["owner_kind"], "partner");
    // Eight days on, fin's next call is overdue too, with what the last one gave.
    let later = h
        .get(&format!(
            "/v1/follow-ups/overdue?at={}&owner=inside-sales",
            at(JAN + 8 * DAY)
        ))
        .await;
    let fin = later
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["person_id"] == "fin")
        .unwrap();
    assert_eq!(fin["reason"], "follow_up_due");
    assert_eq!(fin["last_outcome"], "left a voicemail");

    // Re-routing the partner's overdue lead to an internal rep.
    let (status, body) = h
        .post(
            "/v1/leads/pat/route",
            json!({"owner_id": "rep-kim", "reason": "partner did not call within a day"}),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["owner_kind"], "internal");
    let pat = h.get("/v1/persons/pat").await;
    assert_eq!(pat["owner_id"], "rep-kim");
    assert_eq!(pat["owner_kind"], "internal");
    let reasons: Vec<&str> = pat["routing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "new lead without an owner",
            "partner did not call within a day"
        ]
    );
    let events = h.get("/v1/persons/pat/events").await;
    assert_eq!(events.as_array().unwrap().len(), 3);

    // Bad requests name what is wrong; nothing is recorded.
    let (status, body) = h
        .post("/v1/leads/pat/route", json!({"owner_id": " "}), true)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("owner_id"),
        "{body}"
    );
    let (status, body) = h
        .post("/v1/leads/pat/route", json!({"owner": "x"}), true)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("owner"), "{body}");
    let (status, _) = h
        .post(
            "/v1/leads/nobody/route",
            json!({"owner_id": "rep-kim"}),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = h
        .post("/v1/leads/pat/route", json!({"owner_id": "rep-kim"}), false)
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        h.get("/v1/persons/pat/events")
            .await
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // The new owner gets a fresh deadline from the re-routing, not the old one.
    let overdue_for = |rows: &Value, person: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["person_id"] == person)
            .cloned()
    };
    let soon = Timestamp::now().saturating_add_millis(HOUR);
    let rows = h
        .get(&format!("/v1/follow-ups/overdue?at={soon}&owner=rep-kim"))
        .await;
    assert_eq!(overdue_for(&rows, "pat"), None, "{rows}");
    let later = Timestamp::now().saturating_add_millis(2 * DAY);
    let rows = h
        .get(&format!("/v1/follow-ups/overdue?at={later}&owner=rep-kim"))
        .await;
    let pat = overdue_for(&rows, "pat").expect("overdue two days after the re-routing");
    assert_eq!(pat["reason"], "not_followed_up_since_routing");
    assert_eq!(pat["times_routed"], 2);

    // A replay under other rules repeats the logged decisions, it does not
    // decide again.
    {
        let mut engine = h.engine.lock().unwrap();
        engine.rebuild(|_, _| {}).unwrap();
    }
    let queries = Queries::new(h.store.clone());
    assert_eq!(
        queries.person("ian").unwrap().unwrap().owner_id,
        "inside-sales"
    );
    assert_eq!(queries.person("pat").unwrap().unwrap().owner_id, "rep-kim");
}

/// Deal `id` (event `create-<id>`, named `<ID>`) of account `acc-1`, ann its
/// contact and rep-kim its owner, created in `stage` at 5% to close at
/// `close_at`.
fn deal(id: &str, ms: i64, stage: &str, amount: i64, close_at: i64) -> Envelope {
    envelope(
        format!("create-{id}"),
        ms,
        OpportunityCreated {
            name: id.to_uppercase(),
            stage: stage.into(),
            probability_pct: 5,
            expected_close_at: Some(at(close_at)),
            owner_id: "rep-kim".into(),
            ..opportunity(id, "acc-1", amount).with_contact("ann")
        },
    )
}

#[tokio::test]
async fn r5_the_weighted_forecast_by_month_follows_the_current_stage_through_skips_reversals_and_reopenings()
 {
    let h = Harness::new(EngineConfig::default());
    let march = JAN + 70 * DAY; // 2026-03-12
    let april = JAN + 100 * DAY; // 2026-04-11
    h.apply(vec![
        // Skips from prospecting straight to negotiation (80%).
        deal("skip", JAN, "prospecting", 100_000_00, march),
        envelope("skip-1", JAN + DAY, stage("skip", "negotiation")),
        // Goes back from proposal (60%) to discovery (30%).
        deal("back", JAN, "proposal", 50_000_00, march),
        envelope("back-1", JAN + 2 * DAY, stage("back", "discovery")),
        // Won, then reopened in negotiation: it is pipeline again.
        deal("reopen", JAN, "proposal", 20_000_00, april),
        envelope("reopen-won", JAN + 3 * DAY, won("reopen", 20_000_00)),
        envelope("reopen-1", JAN + 4 * DAY, stage("reopen", "negotiation")),
        // Lost: out of the forecast.
        deal("lost", JAN, "proposal", 70_000_00, april),
        envelope("lost-1", JAN + 5 * DAY, lost("lost", 0)),
        // A stage outside the defined pipeline keeps its own probability (5%).
        deal("odd", JAN, "legal review", 10_000_00, april),
    ]);

    let skip = h.get("/v1/opportunities/skip").await;
    let history: Vec<&str> = skip["stage_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["prospecting", "negotiation"]);
    let reopened = h.get("/v1/opportunities/reopen").await;
    let history: Vec<&str> = reopened["stage_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["proposal", "closed_won", "negotiation"]);
    assert_eq!(reopened["closed"], Value::Null);

    let forecast = h.get("/v1/reports/forecast").await;
    let deals: Vec<(&str, u64, i64)> = forecast["deals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["opportunity_id"].as_str().unwrap(),
                d["probability_pct"].as_u64().unwrap(),
                d["weighted_minor"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        deals,
        [
            ("back", 30, 15_000_00),
            ("skip", 80, 80_000_00),
            ("odd", 5, 500_00),
            ("reopen", 80, 16_000_00),
        ]
    );
    assert_eq!(
        forecast["months"],
        json!([
            {"month": "2026-03", "currency": "EUR", "opportunities": 2,
             "pipeline_minor": 150_000_00, "weighted_minor": 95_000_00},
            {"month": "2026-04", "currency": "EUR", "opportunities": 2,
             "pipeline_minor": 30_000_00, "weighted_minor": 16_500_00},
        ])
    );

    // Going back again moves the forecast with it.
    h.apply(vec![envelope(
        "skip-2",
        JAN + 6 * DAY,
        stage("skip", "qualification"),
    )]);
    let forecast = h.get("/v1/reports/forecast").await;
    assert_eq!(forecast["months"][0]["weighted_minor"], 35_000_00);
}

#[tokio::test]
async fn r18_account_interest_deal_indicators_and_rep_alerts_follow_the_events() {
    let h = Harness::new(EngineConfig::default());
    let campaign = |id: &str, ty: CampaignType| {
        envelope(
            format!("upsert-{id}"),
            JAN,
            CampaignUpserted {
                campaign_type: ty,
                ..touchline_fixtures::campaign(id, JAN)
            },
        )
    };
    h.apply(vec![
        campaign("cmp-webinar", CampaignType::Webinar),
        campaign("cmp-mail", CampaignType::Email),
        campaign("cmp-show", CampaignType::TradeShow),
        lead_from("ann", JAN, "google", "rep-kim", "acc-1"),
        lead_from("bob", JAN, "google", "rep-kim", "acc-1"),
        // Before any deal: no alert.
        envelope(
            "t-early",
            JAN + DAY,
            touch("ann", "cmp-show")
                .of_type(TouchType::WebinarAttended)
                .with_topic("security"),
        ),
        deal("deal", JAN + 2 * DAY, "proposal", 10_000_00, JAN + 60 * DAY),
    ]);
    assert!(
        h.store
            .outbox(1_000)
            .unwrap()
            .iter()
            .all(|(_, r)| r.alert.is_none())
    );

    let day = |n: i64| JAN + n * DAY;
    h.apply(vec![
        envelope(
            "t-1",
            day(40),
            touch("ann", "cmp-webinar")
                .of_type(TouchType::WebinarAttended)
                .with_topic("analytics"),
        ),
        envelope(
            "t-2",
            day(70),
            touch("bob", "cmp-webinar")
                .of_type(TouchType::WebinarAttended)
                .with_topic("analytics"),
        ),
        envelope(
            "t-3",
            day(75),
            touch("bob", "cmp-mail")
                .of_type(TouchType::WebinarAttended)
                .with_status(TouchStatus::Sent)
                .with_topic("security"),
        ),
    ]);
    // Recorded two months after it happened: history, not news.
    let late = envelope(
        "t-late",
        day(10),
        touch("bob", "cmp-mail")
            .of_type(TouchType::WebinarAttended)
            .with_status(TouchStatus::Sent)
            .with_topic("analytics"),
    )
    .recorded_at_ms(day(72));
    h.apply(vec![late]);

    let interest = h.get("/v1/accounts/acc-1/interest").await;
    assert_eq!(
        interest,
        json!([
            {"topic": "analytics", "touches": 3, "responses": 2, "people": 2,
             "last_at": at(day(70)).to_string()},
            {"topic": "security", "touches": 2, "responses": 1, "people": 2,
             "last_at": at(day(75)).to_string()},
        ])
    );

    // On day 80: webinar answered 10 days ago (green), e-mail sent 5 days ago and
    // not answered (yellow), the trade show answered 79 days ago (yellow after 30,
    // red after 90).
    let signals = h
        .get(&format!(
            "/v1/reports/opportunity-signals?at={}",
            at(day(80))
        ))
        .await;
    let colours = |signals: &Value| -> Vec<(String, String)> {
        signals[0]["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    format!(
                        "{}:{}",
                        i["kind"].as_str().unwrap(),
                        i["name"].as_str().unwrap()
                    ),
                    i["colour"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let expect = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        colours(&signals),
        expect(&[
            ("offer:analytics", "green"),
            ("offer:security", "yellow"),
            ("tactic:email", "yellow"),
            ("tactic:trade_show", "yellow"),
            ("tactic:webinar", "green"),
        ])
    );
    let signals = h
        .get(&format!(
            "/v1/reports/opportunity-signals?at={}",
            at(day(200))
        ))
        .await;
    assert!(colours(&signals).iter().all(|(_, c)| c == "red"));

    // Alerts: one per new touch on the account while the deal is open, for its rep.
    let alerts: Vec<ActivityAlert> = h
        .store
        .outbox(1_000)
        .unwrap()
        .into_iter()
        .filter_map(|(_, r)| r.alert)
        .map(|value| serde_json::from_slice(&value).unwrap())
        .collect();
    let ids: Vec<&str> = alerts.iter().map(|a| a.alert_id.as_str()).collect();
    assert_eq!(ids, ["t-1/acc-1", "t-2/acc-1", "t-3/acc-1"]);
    assert_eq!(alerts[0].rep_ids, ["rep-kim"]);
    assert_eq!(alerts[0].open_opportunities[0].opportunity_id, "deal");
    assert_eq!(alerts[2].topic, "security");

    // Once the deal is closed, activity raises no alert.
    h.apply(vec![
        envelope("deal-won", day(81), won("deal", 10_000_00)),
        envelope(
            "t-after",
            day(82),
            touch("ann", "cmp-mail")
                .of_type(TouchType::WebinarAttended)
                .with_topic("analytics"),
        ),
    ]);
    let after = h
        .store
        .outbox(1_000)
        .unwrap()
        .into_iter()
        .filter(|(_, r)| r.alert.is_some())
        .count();
    assert_eq!(after, 3);
}

#[tokio::test]
async fn opportunity_contact_roles_hold_whatever_the_arrival_order_and_follow_merges() {
    let role =
        |id: &str, person: &str, role: &str| envelope(id, JAN, contact_role("deal", person, role));
    let events = [
        // Roles arrive before the deal itself.
        role("r-bob", "bob", "decision maker"),
        role("r-ann", "ann", "champion"),
        deal("deal", JAN + HOUR, "proposal", 10_000_00, JAN + 30 * DAY),
        role("r-cy", "cy", "influencer"),
        // cy is a duplicate of bob.
        envelope(
            "merge",
            JAN + 2 * HOUR,
            PersonsMerged {
                reason: "same e-mail".into(),
                ..merge("bob", "cy")
            },
        ),
    ];
    let roles = |view: &Value| -> Vec<(String, String)> {
        view["contact_roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["person_id"].as_str().unwrap().to_owned(),
                    r["role"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    // In person id order, whatever order they were named in. bob takes cy's
    // role as if it had been named for bob: of two explicit roles the later
    // holds, and at the same time the later event id (`r-cy`).
    let expected = vec![
        ("ann".to_owned(), "champion".to_owned()),
        ("bob".to_owned(), "influencer".to_owned()),
    ];
    // In one batch, and one event per batch: the same roles.
    for batch_size in [events.len(), 1] {
        let h = Harness::new(EngineConfig::default());
        for chunk in events.chunks(batch_size) {
            h.apply(chunk.to_vec());
        }
        let deal = h.get("/v1/opportunities/deal").await;
        assert_eq!(roles(&deal), expected, "batches of {batch_size}");
        assert_eq!(deal["primary_contact_id"], "ann");
    }
}

#[tokio::test]
async fn r20_rules_see_the_source_of_touch_sourced_leads_and_backfilled_history_is_left_alone() {
    let h = Harness::new(EngineConfig {
        routing: rules(),
        ..EngineConfig::default()
    });
    let portal = envelope(
        "upsert-portal",
        JAN,
        CampaignUpserted {
            name: "Partner portal".into(),
            channel: "partner".into(),
            medium: "referral".into(),
            source: "partner-portal".into(),
            campaign_type: CampaignType::Partner,
            ..campaign("cmp-portal", JAN)
        },
    );
    // A lead with no source of its own, first seen through the partner portal.
    let mut unsourced = lead_from("tia", JAN + HOUR, "x", "", "");
    if let Event::LeadCreated(l) = &mut unsourced.event {
        l.source = None;
    }
    // A lead from 2019, recorded today by a backfill.
    let history = lead_from("old", JAN - 300 * DAY, "google", "", "").recorded_at_ms(JAN);
    h.apply(vec![
        portal,
        envelope(
            "t-tia",
            JAN,
            touch("tia", "cmp-portal").of_type(TouchType::WebinarAttended),
        ),
        unsourced,
        history,
    ]);
    let tia = h.get("/v1/persons/tia").await;
    assert_eq!(tia["owner_id"], "acme-resellers");
    assert_eq!(tia["routing"][0]["rule"], "partner leads");
    let old = h.get("/v1/persons/old").await;
    assert_eq!(old["owner_id"], "");
    assert_eq!(old["routing"], json!([]));
    let overdue = h
        .get(&format!("/v1/follow-ups/overdue?at={}", at(JAN + 30 * DAY)))
        .await;
    let ids: Vec<&str> = overdue
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["person_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["tia"], "history is nobody's overdue lead");
}
