//! Management reports end to end: events in, views, HTTP and CLI (R13 funnel,
//! R22 sales through partners count).

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

// The as-of report, in a file of its own (a crate root finds modules beside
// itself, so the path is spelled out).
#[path = "reports/as_of.rs"]
mod as_of;

const DAY: i64 = 86_400_000;
const JAN: i64 = 1_767_225_600_000; // 2026-01-01
const FEB: i64 = JAN + 31 * DAY;

/// `person`'s lead (`lead-<person>`) from `source`, through campaign
/// `cmp-<source>`.
fn lead_from(person: &str, ms: i64, source: &str) -> Envelope {
    envelope(
        format!("lead-{person}"),
        ms,
        lead(person).with_source(lead_source(format!("cmp-{source}"), source)),
    )
}

/// Converts `person` to an opportunity created at `at` and won `days` later,
/// through `partner` if not empty.
fn won_deal(person: &str, at: i64, days: i64, partner: &str) -> Vec<Envelope> {
    let opp = format!("opp-{person}");
    let account = format!("acc-{person}");
    vec![
        envelope(
            format!("conv-{person}"),
            at,
            LeadConverted {
                opportunity_id: opp.clone(),
                ..converted(person, &account)
            },
        ),
        envelope(
            format!("opp-{person}"),
            at,
            opportunity(&opp, &account, 1_000_00)
                .with_contact(person)
                .with_partner(partner),
        ),
        envelope(
            format!("won-{person}"),
            at + days * DAY,
            OpportunityClosed {
                partner_id: partner.into(),
                ..won(opp, 1_000_00)
            },
        ),
    ]
}

/// January: four leads from google (two become customers, one through a partner,
/// after 10 and 30 days), one from a referral that never converts.
/// February: one lead from google.
fn store() -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    let mut events = vec![
        lead_from("a", JAN, "google"),
        lead_from("b", JAN + DAY, "google"),
        lead_from("c", JAN + 2 * DAY, "google"),
        lead_from("d", JAN + 3 * DAY, "google"),
        lead_from("r", JAN + 4 * DAY, "referral"),
        lead_from("f", FEB, "google"),
    ];
    events.extend(won_deal("a", JAN + 5 * DAY, 5, ""));
    events.extend(won_deal("b", JAN + 11 * DAY, 20, "partner-acme"));
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
async fn r13_new_leads_conversion_rate_and_time_to_convert_by_month_and_source() {
    let (_dir, store) = store();
    let (status, rows) = get(&store, "/v1/reports/funnel").await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    let row = |month: &str, source: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["month"] == month && r["source"] == source)
            .cloned()
            .unwrap()
    };
    let jan = row("2026-01", "google");
    assert_eq!(
        (jan["new_leads"].as_u64(), jan["became_customers"].as_u64()),
        (Some(4), Some(2))
    );
    assert_eq!(jan["customer_rate"], 0.5);
    // Both converted to contacts with their deals: half of January's leads.
    assert_eq!(
        (
            jan["converted_to_contact"].as_u64(),
            jan["contact_rate"].as_f64()
        ),
        (Some(2), Some(0.5))
    );
    // a: created Jan 1, won Jan 11 (10 days); b: created Jan 2, won Feb 1 (30 days).
    assert_eq!(jan["mean_days_to_first_win"], 20.0);
    let referral = row("2026-01", "referral");
    assert_eq!(
        (
            referral["new_leads"].as_u64(),
            referral["customer_rate"].as_f64()
        ),
        (Some(1), Some(0.0))
    );
    assert!(referral["mean_days_to_first_win"].is_null());
    assert_eq!(row("2026-02", "google")["new_leads"], 1);
    let (_, february) = get(&store, "/v1/reports/funnel?from=2026-02-01").await;
    assert_eq!(february.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn r22_sales_through_partners_count_as_sales() {
    let (_dir, store) = store();
    let (_, rows) = get(&store, "/v1/reports/funnel").await;
    let jan = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["month"] == "2026-01" && r["source"] == "google")
        .unwrap();
    // b's deal closed through partner-acme and is one of the two customers.
    assert_eq!(jan["became_customers"], 2);
    let (_, opp) = get(&store, "/v1/opportunities/opp-b").await;
    assert_eq!(opp["closed"]["partner_id"], "partner-acme");
    // And its revenue is attributed like any other won deal.
    let (_, won) = get(&store, "/v1/conversions/opportunity_won:opp-b").await;
    assert_eq!(won["conversion"]["value"]["amount_minor"], 1_000_00);
}

#[test]
fn r13_the_cli_prints_the_funnel() {
    let (dir, store) = store();
    drop(store);
    let db = dir.path().join("store");
    let output = Command::new(env!("CARGO_BIN_EXE_touchline"))
        .args([
            "report",
            "funnel",
            "--db",
            db.to_str().unwrap(),
            "--format",
            "csv",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("month,source,new_leads,converted_to_contact,contact_rate,became_customers,customer_rate,mean_days_to_first_win\n")
            && text.contains("\n2026-01,google,4,2,0.5,2,0.5,20.0\n"),
        "{text}"
    );
}

fn person_lead(person: &str, email: &str, phone: &str) -> Envelope {
    envelope(
        format!("lead-{person}"),
        JAN,
        LeadCreated {
            phone: phone.into(),
            ..lead(person).with_email(email)
        },
    )
}

#[tokio::test]
async fn r10_contacts_are_normalised_duplicates_detected_and_merges_kept_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    engine
        .apply(Batch {
            events: vec![
                person_lead("web-17", " Ada.Lovelace@Example.COM ", "+49 (30) 123-4567"),
                person_lead("crm-4", "ada.lovelace@example.com", ""),
                person_lead("fair-9", "", "0049 30 1234567"),
                person_lead("other", "grace@example.com", "123"),
            ],
            ..Batch::default()
        })
        .unwrap();
    let (_, person) = get(&store, "/v1/persons/web-17").await;
    assert_eq!(
        (person["email"].as_str(), person["phone"].as_str()),
        (Some("ada.lovelace@example.com"), Some("+49301234567"))
    );
    let (status, groups) = get(&store, "/v1/people/duplicates").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        groups,
        serde_json::json!([
            {"rule": "email", "key": "ada.lovelace@example.com", "person_ids": ["crm-4", "web-17"]},
            {"rule": "phone", "key": "+49301234567", "person_ids": ["fair-9", "web-17"]},
        ])
    );
    // Merging is an event: projections follow it and the log keeps it.
    let merge = |id: &str, merged: &str| {
        envelope(
            id,
            JAN + DAY,
            PersonsMerged {
                reason: "duplicate detection".into(),
                ..touchline_fixtures::merge("web-17", merged)
            },
        )
    };
    engine
        .apply(Batch {
            events: vec![merge("m1", "crm-4"), merge("m2", "fair-9")],
            ..Batch::default()
        })
        .unwrap();
    let (_, groups) = get(&store, "/v1/people/duplicates").await;
    assert_eq!(groups, serde_json::json!([]));
    let (_, survivor) = get(&store, "/v1/persons/web-17").await;
    assert_eq!(
        survivor["merged_from"],
        serde_json::json!(["crm-4", "fair-9"])
    );
    let (_, events) = get(&store, "/v1/persons/crm-4/events").await;
    let types: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["payload"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["lead_created", "persons_merged"]);
}

/// A touch of campaign `cmp-literature` about `asset`: sent if it is the
/// literature going out, else responded to.
fn literature(id: &str, ms: i64, person: &str, touch_type: TouchType, asset: &str) -> Envelope {
    let status = if touch_type == TouchType::LiteratureSent {
        TouchStatus::Sent
    } else {
        TouchStatus::Responded
    };
    envelope(
        id,
        ms,
        touch(person, "cmp-literature")
            .of_type(touch_type)
            .with_status(status)
            .with_asset(asset),
    )
}

#[tokio::test]
async fn r8_literature_sent_how_recipients_responded_and_what_preceded_purchases() {
    let (dir, store) = store();
    drop(store);
    let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    engine
        .apply(Batch {
            events: vec![
                // a: sent the kit before the deal closed (Jan 11), and responded.
                literature(
                    "lit-a",
                    JAN + 2 * DAY,
                    "a",
                    TouchType::LiteratureSent,
                    "case-study-kit",
                ),
                literature(
                    "resp-a",
                    JAN + 3 * DAY,
                    "a",
                    TouchType::LiteratureResponded,
                    "case-study-kit",
                ),
                // c: sent the kit, never responded, never bought.
                literature(
                    "lit-c",
                    JAN + 2 * DAY,
                    "c",
                    TouchType::LiteratureSent,
                    "case-study-kit",
                ),
                // b: sent the pricing sheet only after the deal closed (Feb 1).
                literature(
                    "lit-b",
                    FEB + DAY,
                    "b",
                    TouchType::LiteratureSent,
                    "pricing-sheet",
                ),
            ],
            ..Batch::default()
        })
        .unwrap();
    drop(engine);
    let (status, rows) = get(&store, "/v1/reports/literature").await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    assert_eq!(
        rows,
        serde_json::json!([
            {"asset": "case-study-kit", "sent_to": 2, "responded": 1, "response_rate": 0.5,
             "preceded_wins": 1, "preceded_revenue_minor": 100000},
            {"asset": "pricing-sheet", "sent_to": 1, "responded": 0, "response_rate": 0.0,
             "preceded_wins": 0, "preceded_revenue_minor": 0},
        ])
    );
}

#[tokio::test]
async fn r4_recency_frequency_and_monetary_value_per_customer_and_source() {
    let (_dir, store) = store();
    let (status, report) = get(&store, "/v1/reports/rfm?at=2026-02-11").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    // a won on Jan 11 (31 days before Feb 11), b on Feb 1 (10 days); 1000.00 EUR each.
    let customers: Vec<(&str, f64, u64, i64)> = report["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["account_id"].as_str().unwrap(),
                c["recency_days"].as_f64().unwrap(),
                c["frequency"].as_u64().unwrap(),
                c["monetary_minor"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        customers,
        [("acc-a", 31.0, 1, 100_000), ("acc-b", 10.0, 1, 100_000)]
    );
    assert_eq!(
        report["by_source"],
        serde_json::json!([{"source": "google", "customers": 2, "mean_recency_days": 20.5,
                            "mean_frequency": 1.0, "monetary_minor": 200000}])
    );
    // Before b's win only a is a customer.
    let (_, earlier) = get(&store, "/v1/reports/rfm?at=2026-01-20").await;
    assert_eq!(earlier["customers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn r17_support_cases_are_touches_and_post_sale_cases_signal_upsell() {
    let (dir, store) = store();
    drop(store);
    let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    let case = |id: &str, ms: i64, person: &str| {
        literature(id, ms, person, TouchType::SupportCase, "how-to")
    };
    engine
        .apply(Batch {
            events: vec![
                case("case-trial", JAN + 4 * DAY, "a"), // during the trial, before the win on Jan 11
                case("case-1", JAN + 20 * DAY, "a"),
                case("case-2", FEB + 5 * DAY, "a"),
                case("case-c", JAN + 20 * DAY, "c"), // c never bought
            ],
            ..Batch::default()
        })
        .unwrap();
    drop(engine);
    // The trial case is a touch like any other: it precedes a's won deal.
    let (_, won) = get(&store, "/v1/conversions/opportunity_won:opp-a").await;
    let linear = won["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "linear")
        .unwrap();
    let events: Vec<&str> = linear["attribution"]["credits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["touch_event_id"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["case-trial"]);
    let (status, signals) = get(&store, "/v1/reports/upsell").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(signals.as_array().unwrap().len(), 1, "{signals}");
    assert_eq!(signals[0]["account_id"], "acc-a");
    assert_eq!(
        signals[0]["support_cases"], 2,
        "only cases after the purchase"
    );
}

#[tokio::test]
async fn r9_r3_one_record_per_account_with_contacts_deals_transactions_and_history() {
    let (dir, store) = store();
    drop(store);
    let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    let transaction = |id: &str, ms: i64, amount: i64| {
        envelope(
            id,
            ms,
            TransactionRecorded {
                opportunity_id: "opp-a".into(),
                description: "invoice".into(),
                ..touchline_fixtures::transaction(id, "acc-a", amount)
            },
        )
    };
    engine
        .apply(Batch {
            events: vec![
                transaction("inv-1", JAN + 12 * DAY, 600_00),
                transaction("inv-2", JAN + 40 * DAY, 400_00),
                transaction("inv-1", JAN + 12 * DAY, 600_00), // accounting re-sent it
                // After buying, someone at the customer is a lead again (another
                // product): the customer cycles back into the funnel.
                envelope(
                    "lead-a2",
                    FEB,
                    lead("a2").with_email("a2@example.com").at_account("acc-a"),
                ),
            ],
            ..Batch::default()
        })
        .unwrap();
    drop(engine);
    let (status, record) = get(&store, "/v1/accounts/acc-a").await;
    assert_eq!(status, StatusCode::OK, "{record}");
    // The lead behind the deal is a contact of the account.
    assert_eq!(record["contacts"][0]["person_id"], "a");
    assert_eq!(record["contacts"][0]["kind"], "contact");
    assert_eq!(record["opportunities"][0]["opportunity_id"], "opp-a");
    let invoices: Vec<&str> = record["account"]["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["transaction_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        invoices,
        ["inv-1", "inv-2"],
        "each transaction once, in time order"
    );
    assert_eq!(
        record["revenue"],
        serde_json::json!([{"amount_minor": 100000, "currency": "EUR"}])
    );
    assert_eq!(
        record["customer_since"],
        Timestamp::from_millis(JAN + 10 * DAY).to_string()
    );
    assert_eq!(record["returning_leads"], serde_json::json!(["a2"]));
    let history: Vec<&str> = record["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["payload"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "lead_converted",
            "opportunity_created",
            "transaction_recorded",
            "lead_created",
            "transaction_recorded"
        ],
        "the account's stream, in time order"
    );
    let (status, _) = get(&store, "/v1/accounts/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn r3_accounting_transactions_attach_to_the_deal_and_book_cash_to_the_campaigns_behind_it() {
    let (dir, store) = store();
    drop(store);
    let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    let touch = |id: &str, ms: i64, campaign: &str| {
        envelope(
            id,
            ms,
            touchline_fixtures::touch("a", campaign).of_type(TouchType::WebinarAttended),
        )
    };
    let transaction = |id: &str, ms: i64, opportunity: &str, amount: Money| {
        envelope(
            id,
            ms,
            TransactionRecorded {
                transaction_id: id.into(),
                account_id: "acc-a".into(),
                opportunity_id: opportunity.into(),
                amount,
                description: "invoice".into(),
            },
        )
    };
    engine
        .apply(Batch {
            events: vec![
                // The lead behind deal opp-a met two campaigns before the sale.
                touch("t-web", JAN + DAY, "cmp-webinar"),
                touch("t-show", JAN + 2 * DAY, "cmp-show"),
                transaction("inv-1", JAN + 12 * DAY, "opp-a", Money::new(600_00, "EUR")),
                transaction("inv-2", JAN + 40 * DAY, "opp-a", Money::new(400_01, "EUR")),
                // Not for a deal, and not in euros: booked to no campaign here.
                transaction("fee", JAN + 41 * DAY, "", Money::new(50_00, "EUR")),
                transaction("inv-us", JAN + 42 * DAY, "opp-a", Money::new(70_00, "USD")),
            ],
            ..Batch::default()
        })
        .unwrap();
    drop(engine);

    // On the deal itself.
    let (_, deal) = get(&store, "/v1/opportunities/opp-a").await;
    let invoices: Vec<(&str, i64)> = deal["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["transaction_id"].as_str().unwrap(),
                t["amount"]["amount_minor"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        invoices,
        [("inv-1", 600_00), ("inv-2", 400_01), ("inv-us", 70_00)]
    );

    // Per campaign: linear gives each touch half of the deal, so half of the
    // cash, to the cent (the odd cent to the earlier touch).
    let (status, report) = get(&store, "/v1/reports/campaigns?model=linear&currency=EUR").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let booked = |id: &str| {
        report
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["campaign_id"] == id)
            .map(|r| r["booked_minor"].as_i64().unwrap())
    };
    assert_eq!(booked("cmp-webinar"), Some(500_01));
    assert_eq!(booked("cmp-show"), Some(500_00));
    // Under first touch all of it goes to the webinar.
    let (_, report) = get(
        &store,
        "/v1/reports/campaigns?model=first_touch&currency=EUR",
    )
    .await;
    let webinar = report
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["campaign_id"] == "cmp-webinar")
        .unwrap();
    assert_eq!(webinar["booked_minor"], 1_000_01);
}

#[tokio::test]
async fn a_period_is_the_same_period_for_cost_revenue_and_leads() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    // 300.00 EUR spent in January, 700.00 EUR in February; one lead and one
    // 1,000.00 EUR deal won in each month.
    let mut events = vec![
        envelope(
            "cmp",
            JAN,
            CampaignUpserted {
                name: "Google Ads".into(),
                channel: "paid_search".into(),
                medium: "cpc".into(),
                source: "google".into(),
                campaign_type: CampaignType::Advertisement,
                planned_cost: Some(eur(5_000_00)),
                ..campaign("cmp-google", JAN)
            },
        ),
        envelope(
            "cmp-idle",
            JAN,
            CampaignUpserted {
                name: "Idle".into(),
                channel: "display".into(),
                campaign_type: CampaignType::Advertisement,
                ..campaign("cmp-idle", JAN)
            },
        ),
        envelope("cost-jan", JAN + DAY, cost("cmp-google", 300_00)),
        envelope("cost-feb", FEB + DAY, cost("cmp-google", 700_00)),
        envelope(
            "touch-a",
            JAN + 2 * DAY,
            touch("a", "cmp-google").of_type(TouchType::AdClick),
        ),
        lead_from("a", JAN + 2 * DAY + 1, "google"),
        envelope(
            "touch-f",
            FEB + 2 * DAY,
            touch("f", "cmp-google").of_type(TouchType::AdClick),
        ),
        lead_from("f", FEB + 2 * DAY + 1, "google"),
    ];
    events.extend(won_deal("a", JAN + 3 * DAY, 5, ""));
    events.extend(won_deal("f", FEB + 3 * DAY, 5, ""));
    engine
        .apply(Batch {
            events,
            ..Batch::default()
        })
        .unwrap();
    let row = |rows: &Value| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["campaign_id"] == "cmp-google")
            .cloned()
            .unwrap()
    };
    let report = |range: &str| {
        let store = store.clone();
        let uri = format!("/v1/reports/campaigns?model=first_touch&currency=EUR{range}");
        async move {
            let (status, rows) = get(&store, &uri).await;
            assert_eq!(status, StatusCode::OK, "{rows}");
            rows
        }
    };
    let feb = row(&report("&from=2026-02-01&to=2026-03-01").await);
    // February's cost against February's revenue and leads: the recorded costs
    // replace the planned 5,000.00 EUR.
    assert_eq!(feb["cost_minor"], 700_00);
    assert_eq!(feb["revenue_minor"], 1_000_00);
    assert_eq!(feb["leads"], 1.0);
    assert_eq!(feb["roi"], (1_000.0 - 700.0) / 700.0);
    assert_eq!(feb["cost_per_lead_minor"], 700_00);
    let jan = row(&report("&from=2026-01-01&to=2026-02-01").await);
    assert_eq!(
        (jan["cost_minor"].clone(), jan["roi"].clone()),
        (30_000.into(), Value::from((1_000.0 - 300.0) / 300.0))
    );
    // A campaign credited with nothing says 0, not -0 (an empty float sum).
    let all_rows = report("").await;
    let idle = all_rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["campaign_id"] == "cmp-idle")
        .unwrap();
    for field in ["leads", "sales"] {
        assert!(
            idle[field].as_f64().unwrap().is_sign_positive(),
            "{field}: {}",
            idle[field]
        );
    }
    let all = row(&all_rows);
    assert_eq!(all["cost_minor"], 1_000_00);
    assert_eq!(all["revenue_minor"], 2_000_00);
    assert_eq!(all["roi"], 1.0);
}
