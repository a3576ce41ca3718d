//! Tracking end to end: events in through the engine, answers out over HTTP
//! (R1 source at first contact, R2 every touch its own record, R7 one history
//! of hundreds of touches, R15 every lead source is a campaign).

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use touchline_core::*;
use touchline_engine::{Batch, BatchOutcome, Engine, EngineConfig, Queries};
use touchline_fixtures::*;
use touchline_store::Store;
use tower::ServiceExt;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const JAN: i64 = 1_767_225_600_000; // 2026-01-01

/// Converts `person` to opportunity `opp`, created at `created` and won at `won`.
fn won_deal(person: &str, opp: &str, created: i64, won: i64, amount_minor: i64) -> Vec<Envelope> {
    let account = format!("acc-{person}");
    vec![
        envelope(
            format!("conv-{opp}"),
            created,
            LeadConverted {
                opportunity_id: opp.into(),
                ..converted(person, &account)
            },
        ),
        envelope(
            format!("open-{opp}"),
            created,
            opportunity(opp, &account, amount_minor).with_contact(person),
        ),
        envelope(
            format!("won-{opp}"),
            won,
            touchline_fixtures::won(opp, amount_minor),
        ),
    ]
}

/// A store in a temporary directory, the engine writing to it, and the API
/// reading it. Fields drop in order: the engine finishes before the directory goes.
struct Harness {
    engine: Engine,
    store: Arc<Store>,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
        Harness {
            engine,
            store,
            _dir: dir,
        }
    }

    fn apply(&mut self, events: Vec<Envelope>) -> BatchOutcome {
        self.engine
            .apply(Batch {
                events,
                ..Batch::default()
            })
            .unwrap()
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let app = touchline_api::router(Queries::new(self.store.clone()), Arc::default());
        let response = app
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, body)
    }

    /// GET that must answer 200.
    async fn ok(&self, uri: &str) -> Value {
        let (status, body) = self.get(uri).await;
        assert_eq!(status, StatusCode::OK, "GET {uri}: {body}");
        body
    }
}

/// The element of a JSON array whose `key` is `value`.
fn find<'a>(rows: &'a Value, key: &str, value: &str) -> &'a Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no element with {key} = {value:?} in {rows}"))
}

/// Only the named fields of an object; every one must be present.
fn pick(object: &Value, keys: &[&str]) -> Value {
    let picked = keys
        .iter()
        .map(|&k| {
            let value = object
                .get(k)
                .unwrap_or_else(|| panic!("no field {k:?} in {object}"));
            (k.to_owned(), value.clone())
        })
        .collect();
    Value::Object(picked)
}

/// One model's credits in a conversion view.
fn credits<'a>(conversion: &'a Value, model: &str) -> &'a Vec<Value> {
    find(&conversion["results"], "model", model)["attribution"]["credits"]
        .as_array()
        .unwrap()
}

#[tokio::test]
async fn r1_the_source_at_first_contact_is_recorded_with_campaign_ad_code_medium_and_source() {
    let mut h = Harness::new();
    h.apply(vec![
        envelope(
            "lead-p-ad",
            JAN + 9 * HOUR,
            lead("p-ad").with_source(LeadSource {
                campaign_id: "cmp-google-q1".into(),
                ad_code: "GA-2026-17".into(),
                medium: "cpc".into(),
                source: "google".into(),
            }),
        ),
        // p-web's touches arrive out of order: the later one first.
        envelope(
            "p-web-webinar",
            JAN + 10 * DAY,
            touch("p-web", "cmp-webinar").of_type(TouchType::WebinarAttended),
        ),
        envelope(
            "p-web-expo",
            JAN + 2 * DAY,
            touch("p-web", "cmp-expo").of_type(TouchType::Event),
        ),
        envelope("lead-p-web", JAN + 12 * DAY, lead("p-web")),
    ]);
    let ad_source = json!({
        "campaign_id": "cmp-google-q1",
        "ad_code": "GA-2026-17",
        "medium": "cpc",
        "source": "google",
    });

    let ad = h.ok("/v1/leads/p-ad").await;
    assert_eq!(ad["source_at_first_contact"], ad_source);
    assert_eq!(ad["lead_created_at"], "2026-01-01T09:00:00.000Z");
    let web = h.ok("/v1/leads/p-web").await;
    assert_eq!(web["source_at_first_contact"]["campaign_id"], "cmp-expo");
    assert_eq!(web["first_touch"]["event_id"], "p-web-expo");
    // The lead is tied to that effort: it gets the first-touch credit for the lead.
    let web_credit = h.ok("/v1/leads/p-web/attribution").await;
    assert_eq!(
        credits(&web_credit, "first_touch")[0]["campaign_id"],
        "cmp-expo"
    );

    // Later touches of another campaign change neither lead's source.
    h.apply(vec![
        envelope(
            "p-ad-retargeting",
            JAN + 20 * DAY,
            touch("p-ad", "cmp-retargeting").of_type(TouchType::AdClick),
        ),
        envelope(
            "p-web-retargeting",
            JAN + 20 * DAY,
            touch("p-web", "cmp-retargeting").of_type(TouchType::AdClick),
        ),
    ]);
    let ad = h.ok("/v1/leads/p-ad").await;
    assert_eq!(ad["source_at_first_contact"], ad_source);
    assert_eq!(ad["last_touch"]["campaign_id"], "cmp-retargeting");
    let web = h.ok("/v1/leads/p-web").await;
    assert_eq!(web["source_at_first_contact"]["campaign_id"], "cmp-expo");
    assert_eq!(web["last_touch"]["event_id"], "p-web-retargeting");
    assert_eq!(web["touch_count"], 3);

    let campaigns = h.ok("/v1/campaigns").await;
    assert_eq!(
        find(&campaigns, "campaign_id", "cmp-google-q1")["leads_sourced"],
        1
    );
}

#[tokio::test]
async fn r2_every_interaction_is_its_own_touch_record_with_type_status_and_both_dates() {
    let mut h = Harness::new();
    let newsletter_sent = envelope(
        "r2-newsletter-sent",
        JAN + 9 * HOUR,
        touch("p-r2", "cmp-newsletter")
            .of_type(TouchType::EmailSent)
            .with_status(TouchStatus::Sent)
            .with_asset("january-issue"),
    );
    let newsletter_click = envelope(
        "r2-newsletter-click",
        JAN + 14 * HOUR,
        touch("p-r2", "cmp-newsletter")
            .of_type(TouchType::EmailClick)
            .with_asset("january-issue"),
    );
    // Badge scans from the show are uploaded two days after it.
    let expo_visit = envelope(
        "r2-expo-visit",
        JAN + 3 * DAY + 10 * HOUR,
        touch("p-r2", "cmp-expo")
            .of_type(TouchType::Event)
            .with_asset("booth-12"),
    )
    .recorded_at_ms(JAN + 5 * DAY + 8 * HOUR);
    let webinar_invite = envelope(
        "r2-webinar-invite",
        JAN + 6 * DAY + 8 * HOUR,
        touch("p-r2", "cmp-webinar")
            .of_type(TouchType::EmailSent)
            .with_status(TouchStatus::Sent),
    );
    let webinar_attended = envelope(
        "r2-webinar-attended",
        JAN + 7 * DAY + 16 * HOUR,
        touch("p-r2", "cmp-webinar").of_type(TouchType::WebinarAttended),
    );
    let outcome = h.apply(vec![
        expo_visit.clone(),
        webinar_attended,
        newsletter_sent,
        webinar_invite,
        newsletter_click,
        envelope(
            "r2-other",
            JAN + 7 * DAY,
            touch("p-other", "cmp-webinar").of_type(TouchType::WebinarAttended),
        ),
    ]);
    assert_eq!(outcome.appended, 6);
    // The producer retries: the same event again is not a second touch.
    let outcome = h.apply(vec![expo_visit]);
    assert_eq!((outcome.appended, outcome.duplicates), (0, 1));

    let person = h.ok("/v1/persons/p-r2").await;
    assert_eq!(person["person_id"], "p-r2");
    let fields = [
        "event_id",
        "campaign_id",
        "touch_type",
        "status",
        "asset",
        "occurred_at",
        "recorded_at",
    ];
    let records: Vec<Value> = person["touches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| pick(t, &fields))
        .collect();
    assert_eq!(
        Value::Array(records),
        json!([
            {"event_id": "r2-newsletter-sent", "campaign_id": "cmp-newsletter",
             "touch_type": "email_sent", "status": "sent", "asset": "january-issue",
             "occurred_at": "2026-01-01T09:00:00.000Z", "recorded_at": "2026-01-01T09:00:00.000Z"},
            {"event_id": "r2-newsletter-click", "campaign_id": "cmp-newsletter",
             "touch_type": "email_click", "status": "responded", "asset": "january-issue",
             "occurred_at": "2026-01-01T14:00:00.000Z", "recorded_at": "2026-01-01T14:00:00.000Z"},
            {"event_id": "r2-expo-visit", "campaign_id": "cmp-expo",
             "touch_type": "event", "status": "responded", "asset": "booth-12",
             "occurred_at": "2026-01-04T10:00:00.000Z", "recorded_at": "2026-01-06T08:00:00.000Z"},
            {"event_id": "r2-webinar-invite", "campaign_id": "cmp-webinar",
             "touch_type": "email_sent", "status": "sent", "asset": "",
             "occurred_at": "2026-01-07T08:00:00.000Z", "recorded_at": "2026-01-07T08:00:00.000Z"},
            {"event_id": "r2-webinar-attended", "campaign_id": "cmp-webinar",
             "touch_type": "webinar_attended", "status": "responded", "asset": "",
             "occurred_at": "2026-01-08T16:00:00.000Z", "recorded_at": "2026-01-08T16:00:00.000Z"},
        ])
    );

    // Each record names its person in the log: five touches of p-r2, once each.
    let events = h.ok("/v1/persons/p-r2/events").await;
    let touches: Vec<(&str, &str)> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["payload"]["type"] == "touch_recorded")
        .map(|e| {
            (
                e["event_id"].as_str().unwrap(),
                e["payload"]["person_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        touches,
        [
            ("r2-expo-visit", "p-r2"),
            ("r2-webinar-attended", "p-r2"),
            ("r2-newsletter-sent", "p-r2"),
            ("r2-webinar-invite", "p-r2"),
            ("r2-newsletter-click", "p-r2"),
        ],
        "in log order"
    );

    let campaigns = h.ok("/v1/campaigns").await;
    let counts = |id: &str| {
        pick(
            find(&campaigns, "campaign_id", id),
            &["touches", "responses"],
        )
    };
    assert_eq!(counts("cmp-expo"), json!({"touches": 1, "responses": 1}));
    assert_eq!(counts("cmp-webinar"), json!({"touches": 3, "responses": 2}));
}

const R7_TOUCHES: usize = 300;

/// Touch `i` of the unqualified lead, every other day from January 2026 on:
/// first a trade show, then a rotation of nurture campaigns.
fn r7_touch(i: usize) -> Envelope {
    const ROTATION: [(&str, TouchType, TouchStatus); 4] = [
        (
            "cmp-newsletter",
            TouchType::EmailOpen,
            TouchStatus::Responded,
        ),
        (
            "cmp-webinar",
            TouchType::WebinarAttended,
            TouchStatus::Responded,
        ),
        (
            "cmp-retargeting",
            TouchType::AdClick,
            TouchStatus::Responded,
        ),
        ("cmp-nurture", TouchType::EmailSent, TouchStatus::Sent),
    ];
    let (campaign, touch_type, status) = if i == 0 {
        ("cmp-trade-show", TouchType::Event, TouchStatus::Responded)
    } else {
        ROTATION[i % ROTATION.len()]
    };
    envelope(
        format!("r7-touch-{i:03}"),
        JAN + i as i64 * 2 * DAY,
        touch("p-r7", campaign)
            .of_type(touch_type)
            .with_status(status),
    )
}

#[tokio::test]
async fn r7_one_history_holds_hundreds_of_touches_including_unqualified_leads_who_buy_later() {
    let mut h = Harness::new();
    h.apply(vec![
        r7_touch(0),
        envelope("lead-p-r7", JAN + DAY, lead("p-r7")),
        envelope(
            "r7-unqualified",
            JAN + 5 * DAY,
            LeadUpdated {
                status: Some(LeadStatus::Unqualified),
                ..lead_updated("p-r7")
            },
        ),
    ]);
    // The rest over five batches, each newest first, so that every batch lands
    // in the middle of the history already stored.
    for batch in 0..5 {
        let events = (1..R7_TOUCHES)
            .rev()
            .filter(|i| i % 5 == batch)
            .map(r7_touch)
            .collect();
        h.apply(events);
    }
    let unqualified = h.ok("/v1/leads/p-r7").await;
    assert_eq!(unqualified["status"], "unqualified");
    assert_eq!(unqualified["kind"], "lead");
    assert_eq!(unqualified["touch_count"], R7_TOUCHES);

    // Almost two years after the first touch (the last is on day 598), it buys.
    let amount = 12_345_67;
    h.apply(won_deal(
        "p-r7",
        "opp-r7",
        JAN + 650 * DAY,
        JAN + 700 * DAY,
        amount,
    ));

    let person = h.ok("/v1/persons/p-r7").await;
    assert_eq!(person["kind"], "contact");
    let touches = person["touches"].as_array().unwrap();
    let ids: Vec<&str> = touches
        .iter()
        .map(|t| t["event_id"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..R7_TOUCHES)
        .map(|i| format!("r7-touch-{i:03}"))
        .collect();
    assert_eq!(ids, expected, "every touch once, in time order");
    // RFC 3339 in one format sorts as text.
    let times: Vec<&str> = touches
        .iter()
        .map(|t| t["occurred_at"].as_str().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    assert_eq!(times[0], "2026-01-01T00:00:00.000Z");

    let won = h.ok("/v1/conversions/opportunity_won:opp-r7").await;
    assert_eq!(won["conversion"]["kind"], "opportunity_won");
    assert_eq!(won["conversion"]["value"]["amount_minor"], amount);
    let first = credits(&won, "first_touch");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(
        pick(
            &first[0],
            &["campaign_id", "touch_event_id", "weight", "amount_minor"]
        ),
        json!({"campaign_id": "cmp-trade-show", "touch_event_id": "r7-touch-000",
               "weight": 1.0, "amount_minor": amount})
    );
    assert_eq!(
        credits(&won, "last_touch")[0]["touch_event_id"],
        "r7-touch-299"
    );
    // Every touch of the long history shares in the revenue, to the cent.
    let linear = credits(&won, "linear");
    assert_eq!(linear.len(), R7_TOUCHES);
    let shared: i64 = linear
        .iter()
        .map(|c| c["amount_minor"].as_i64().unwrap())
        .sum();
    assert_eq!(shared, amount);
}

/// Every ratio is a finite number or the word "undefined": never null (which is
/// how serde_json writes NaN and infinity).
fn assert_ratios_are_numbers_or_undefined(row: &Value) {
    for key in ["roi", "roas", "cost_per_lead_minor", "cost_per_sale_minor"] {
        let value = &row[key];
        assert!(
            value.as_str() == Some("undefined") || value.as_f64().is_some_and(f64::is_finite),
            "{key} of {}: {value}",
            row["campaign_id"]
        );
    }
}

#[tokio::test]
async fn r15_referral_and_inbound_call_are_campaigns_that_cost_nothing_never_end_and_report_roi_as_undefined()
 {
    let mut h = Harness::new();
    let mut events = vec![
        envelope(
            "campaign-cmp-referral",
            JAN,
            CampaignUpserted {
                name: "Customer referral".into(),
                channel: "referral".into(),
                campaign_type: CampaignType::Referral,
                // Free, and said so: a planned cost of 0.
                planned_cost: Some(eur(0)),
                ..campaign("cmp-referral", JAN)
            },
        ),
        envelope(
            "campaign-cmp-inbound-call",
            JAN,
            CampaignUpserted {
                name: "Inbound phone call".into(),
                channel: "phone".into(),
                campaign_type: CampaignType::InboundCall,
                ..campaign("cmp-inbound-call", JAN)
            },
        ),
        // Free, and said so: a recorded cost of 0.
        envelope("call-cost", JAN, cost("cmp-inbound-call", 0)),
        // A record that says nothing of cost: unknown, not zero.
        envelope(
            "campaign-cmp-partner",
            JAN,
            CampaignUpserted {
                name: "Partner referrals".into(),
                channel: "partner".into(),
                campaign_type: CampaignType::Partner,
                ..campaign("cmp-partner", JAN)
            },
        ),
        envelope(
            "campaign-cmp-paid",
            JAN,
            CampaignUpserted {
                name: "LinkedIn Ads Q1".into(),
                channel: "paid_social".into(),
                campaign_type: CampaignType::Advertisement,
                ends_at: Some(at(JAN + 90 * DAY)),
                planned_cost: Some(eur(500_00)),
                ..campaign("cmp-paid", JAN)
            },
        ),
        envelope(
            "ref-touch",
            JAN + 2 * DAY,
            touch("p-ref", "cmp-referral").of_type(TouchType::Referral),
        ),
        envelope(
            "lead-p-ref",
            JAN + 2 * DAY + HOUR,
            lead("p-ref").with_source(LeadSource {
                medium: "word_of_mouth".into(),
                ..lead_source("cmp-referral", "customer")
            }),
        ),
        envelope(
            "call-touch",
            JAN + 3 * DAY,
            touch("p-call", "cmp-inbound-call").of_type(TouchType::Call),
        ),
        envelope(
            "lead-p-call",
            JAN + 3 * DAY + HOUR,
            lead("p-call").with_source(LeadSource {
                medium: "phone".into(),
                ..lead_source("cmp-inbound-call", "inbound")
            }),
        ),
        envelope(
            "paid-touch",
            JAN + 4 * DAY,
            touch("p-paid", "cmp-paid").of_type(TouchType::AdClick),
        ),
        envelope(
            "lead-p-paid",
            JAN + 4 * DAY + HOUR,
            lead("p-paid").with_source(LeadSource {
                campaign_id: "cmp-paid".into(),
                ad_code: "LI-7".into(),
                medium: "paid_social".into(),
                source: "linkedin".into(),
            }),
        ),
    ];
    events.extend(won_deal(
        "p-ref",
        "opp-ref",
        JAN + 10 * DAY,
        JAN + 40 * DAY,
        3_000_00,
    ));
    events.extend(won_deal(
        "p-paid",
        "opp-paid",
        JAN + 12 * DAY,
        JAN + 45 * DAY,
        2_000_00,
    ));
    h.apply(events);

    let campaigns = h.ok("/v1/campaigns").await;
    let fields = [
        "campaign_type",
        "starts_at",
        "ends_at",
        "planned_cost",
        "actual_cost",
        "leads_sourced",
    ];
    assert_eq!(
        pick(find(&campaigns, "campaign_id", "cmp-referral"), &fields),
        json!({"campaign_type": "referral", "starts_at": "2026-01-01T00:00:00.000Z",
               "ends_at": null, "planned_cost": {"amount_minor": 0, "currency": "EUR"},
               "actual_cost": [], "leads_sourced": 1})
    );
    assert_eq!(
        pick(find(&campaigns, "campaign_id", "cmp-inbound-call"), &fields),
        json!({"campaign_type": "inbound_call", "starts_at": "2026-01-01T00:00:00.000Z",
               "ends_at": null, "planned_cost": null,
               "actual_cost": [{"amount_minor": 0, "currency": "EUR"}], "leads_sourced": 1})
    );
    assert_eq!(
        find(&campaigns, "campaign_id", "cmp-paid")["ends_at"],
        "2026-04-01T00:00:00.000Z"
    );
    let referred = h.ok("/v1/leads/p-ref").await;
    assert_eq!(
        referred["source_at_first_contact"]["campaign_id"],
        "cmp-referral"
    );

    let (status, rows) = h
        .get("/v1/reports/campaigns?model=first_touch&currency=EUR")
        .await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    for row in rows.as_array().unwrap() {
        if row["campaign_id"] != "cmp-partner" {
            assert_ratios_are_numbers_or_undefined(row);
        }
    }
    let fields = [
        "cost_minor",
        "leads",
        "sales",
        "revenue_minor",
        "roi",
        "roas",
        "cost_per_lead_minor",
        "cost_per_sale_minor",
    ];
    // Free campaigns: revenue without cost has no ROI; a lead cost nothing.
    assert_eq!(
        pick(find(&rows, "campaign_id", "cmp-referral"), &fields),
        json!({"cost_minor": 0, "leads": 1.0, "sales": 1.0, "revenue_minor": 300000,
               "roi": "undefined", "roas": "undefined",
               "cost_per_lead_minor": 0, "cost_per_sale_minor": 0})
    );
    assert_eq!(
        pick(find(&rows, "campaign_id", "cmp-inbound-call"), &fields),
        json!({"cost_minor": 0, "leads": 1.0, "sales": 0.0, "revenue_minor": 0,
               "roi": "undefined", "roas": "undefined",
               "cost_per_lead_minor": 0, "cost_per_sale_minor": "undefined"})
    );
    // A campaign whose record says nothing of its cost: unknown, and so is
    // every ratio over it (issue 12.1), never a made-up zero.
    assert_eq!(
        pick(find(&rows, "campaign_id", "cmp-partner"), &fields),
        json!({"cost_minor": null, "leads": 0.0, "sales": 0.0, "revenue_minor": 0,
               "roi": "unknown", "roas": "unknown",
               "cost_per_lead_minor": "unknown", "cost_per_sale_minor": "unknown"})
    );
    // A paid campaign: 500.00 EUR for a 2,000.00 EUR deal is an ROI of 3.
    assert_eq!(
        pick(find(&rows, "campaign_id", "cmp-paid"), &fields),
        json!({"cost_minor": 500_00, "leads": 1.0, "sales": 1.0, "revenue_minor": 2_000_00,
               "roi": 3.0, "roas": 4.0,
               "cost_per_lead_minor": 500_00, "cost_per_sale_minor": 500_00})
    );
}

#[tokio::test]
async fn campaign_members_and_responders_count_people_once_even_after_a_merge() {
    let mut h = Harness::new();
    let sent = |id: &str, ms: i64, person: &str| {
        envelope(
            id,
            ms,
            touch(person, "cmp-mail")
                .of_type(TouchType::EmailSent)
                .with_status(TouchStatus::Sent),
        )
    };
    let clicked = |id: &str, ms: i64, person: &str| {
        envelope(
            id,
            ms,
            touch(person, "cmp-mail").of_type(TouchType::EmailClick),
        )
    };
    h.apply(vec![
        sent("m1", JAN, "ann"),
        clicked("m2", JAN + DAY, "ann"),
        sent("m3", JAN, "ann-dup"),
        clicked("m4", JAN + DAY, "ann-dup"),
        sent("m5", JAN, "bob"),
        sent("m6", JAN + DAY, "bob"),
    ]);
    let mail = |campaigns: &Value| find(campaigns, "campaign_id", "cmp-mail").clone();
    let before = mail(&h.ok("/v1/campaigns").await);
    assert_eq!(
        pick(&before, &["touches", "responses", "members", "responders"]),
        json!({"touches": 6, "responses": 2, "members": 3, "responders": 2})
    );
    h.apply(vec![envelope(
        "merge",
        JAN + 2 * DAY,
        PersonsMerged {
            reason: "same e-mail".into(),
            ..merge("ann", "ann-dup")
        },
    )]);
    let after = mail(&h.ok("/v1/campaigns").await);
    assert_eq!(
        pick(&after, &["touches", "members", "responders"]),
        json!({"touches": 6, "members": 2, "responders": 1})
    );
    let (_, report) = h
        .get("/v1/reports/campaigns?model=linear&currency=EUR")
        .await;
    assert_eq!(
        find(&report, "campaign_id", "cmp-mail")["response_rate"],
        0.5
    );
}

#[tokio::test]
async fn leads_sourced_counts_each_lead_once_at_its_earliest_source_whatever_the_order() {
    // The CRM created the lead in 2026 from a webinar; a backfill later says it
    // first came in 2019 through a referral. The earliest creation is the source.
    let crm = envelope(
        "crm-lead-ann",
        JAN,
        lead("ann").with_source(lead_source("cmp-webinar", "")),
    );
    let legacy = envelope(
        "legacy-lead-ann",
        JAN - 900 * DAY,
        lead("ann").with_source(lead_source("cmp-referral", "")),
    );
    let sourced = |campaigns: &Value, id: &str| -> u64 {
        campaigns
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["campaign_id"] == id)
            .map_or(0, |c| c["leads_sourced"].as_u64().unwrap())
    };
    for order in [[crm.clone(), legacy.clone()], [legacy.clone(), crm.clone()]] {
        let mut h = Harness::new();
        for event in order {
            h.apply(vec![event]);
        }
        let campaigns = h.ok("/v1/campaigns").await;
        assert_eq!(sourced(&campaigns, "cmp-referral"), 1);
        assert_eq!(sourced(&campaigns, "cmp-webinar"), 0);
    }

    // Two sourced duplicates merged are one sourced lead, at the survivor's
    // (earliest) source.
    let mut h = Harness::new();
    h.apply(vec![
        envelope(
            "lead-bo",
            JAN,
            lead("bo").with_source(lead_source("cmp-webinar", "")),
        ),
        envelope(
            "lead-bo-dup",
            JAN - DAY,
            lead("bo-dup").with_source(lead_source("cmp-ads", "")),
        ),
    ]);
    h.apply(vec![envelope(
        "merge-bo",
        JAN + DAY,
        PersonsMerged {
            reason: "same phone".into(),
            ..merge("bo", "bo-dup")
        },
    )]);
    let campaigns = h.ok("/v1/campaigns").await;
    assert_eq!(
        sourced(&campaigns, "cmp-ads"),
        1,
        "the earliest creation's source"
    );
    assert_eq!(sourced(&campaigns, "cmp-webinar"), 0);
}
