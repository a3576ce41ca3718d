//! No single request may stop touchline (issue 8): a bad command body is the
//! caller's 400, an id at the limit can still be re-routed, CSV never carries a
//! formula, expensive requests beyond the limit are refused at once while
//! status and lookups answer, and no list answer grows without bound.

#![allow(clippy::unwrap_used)]

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use touchline_api::{ApiLimits, ApiOptions, ExpensiveGate};
use touchline_core::*;
use touchline_engine::{Batch, Engine, EngineConfig, EngineSink, EventSink, Queries};
use touchline_fixtures::*;
use touchline_store::Store;
use tower::ServiceExt;

const JAN: i64 = 1_767_225_600_000; // 2026-01-01

/// Direct mail campaign `id` (event `c-<id>`) named `name`, planned at
/// 100.00 EUR: the names are what the CSV tests feed in.
fn mail_campaign(id: &str, name: &str) -> Envelope {
    envelope(
        format!("c-{id}"),
        JAN,
        CampaignUpserted {
            name: name.into(),
            channel: "email".into(),
            campaign_type: CampaignType::DirectMail,
            planned_cost: Some(eur(10_000)),
            ..campaign(id, JAN)
        },
    )
}

/// Passes events on to the engine and keeps a copy of each.
struct Recording {
    engine: EngineSink,
    seen: Mutex<Vec<Envelope>>,
}

impl EventSink for Recording {
    fn submit(&self, envelope: Envelope) -> Result<(), String> {
        self.seen.lock().unwrap().push(envelope.clone());
        self.engine.submit(envelope)
    }
}

/// Touches for the person `many`: more than a page by default.
const MANY: usize = 1_200;

/// A person with id at the limit.
fn long_id() -> String {
    "l".repeat(250)
}

struct Api {
    _dir: tempfile::TempDir,
    app: axum::Router,
    sink: Arc<Recording>,
    gate: ExpensiveGate,
}

fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    let mut events = vec![
        mail_campaign("formula", "=cmd|' /C calc'!A0"),
        mail_campaign("plus", "+1"),
        mail_campaign("at", "@x"),
        mail_campaign("minus", "-x"),
        envelope(
            "lead-many",
            JAN,
            LeadCreated {
                first_name: "Ada".into(),
                ..lead("many").at_account("acc").owned_by("rep-1")
            },
        ),
        envelope(
            "lead-long",
            JAN,
            LeadCreated {
                first_name: "Ada".into(),
                ..lead(long_id()).at_account("acc").owned_by("rep-1")
            },
        ),
        // A refund: the account's revenue is negative, a number in CSV.
        envelope(
            "refund",
            JAN,
            TransactionRecorded {
                description: "=HYPERLINK(\"http://evil\")".into(),
                ..transaction("cn-1", "acc", -12_50)
            },
        ),
    ];
    events.extend((0..MANY).map(|n| {
        envelope(
            format!("t-many-{n}"),
            JAN + 1_000 + n as i64,
            touch("many", "formula")
                .of_type(TouchType::EmailOpen)
                .with_asset(format!("asset-{n}")),
        )
    }));
    for batch in events.chunks(500) {
        engine
            .apply(Batch {
                events: batch.to_vec(),
                ..Batch::default()
            })
            .unwrap();
    }
    let sink = Arc::new(Recording {
        engine: EngineSink(Arc::new(Mutex::new(engine))),
        seen: Mutex::default(),
    });
    let gate = ExpensiveGate::new(NonZeroUsize::new(2).unwrap());
    let app = touchline_api::router_with_limits(
        Queries::new(store),
        Arc::default(),
        ApiOptions {
            commands: Some(sink.clone()),
            ..ApiOptions::default()
        },
        ApiLimits {
            expensive: gate.clone(),
            ..ApiLimits::default()
        },
    );
    Api {
        _dir: dir,
        app,
        sink,
        gate,
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

impl Api {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, uri: &str) -> Answer {
        self.send(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    async fn route(&self, person: &str, body: impl Into<Body>) -> Answer {
        self.send(
            Request::post(format!("/v1/leads/{person}/route"))
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.into())
                .unwrap(),
        )
        .await
    }
}

#[tokio::test]
async fn rerouting_with_a_bad_body_is_the_callers_error_naming_the_field() {
    let api = api();
    let cases = [
        (
            json!({"owner_id": "rep\u{0}\u{7}2"}),
            "owner_id: contains control characters",
        ),
        (
            json!({"owner_id": "r".repeat(300)}),
            "owner_id: is 300 bytes long; the limit is 256",
        ),
    ];
    for (body, message) in cases {
        let answer = api.route("many", body.to_string()).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
        assert_eq!(answer.error(), message);
    }
    let huge = json!({"owner_id": "rep-2", "reason": "x".repeat(1 << 20)});
    let answer = api.route("many", huge.to_string()).await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.body
    );
    assert_eq!(
        answer.error(),
        format!(
            "body: larger than the limit of {} bytes",
            touchline_api::limits::DEFAULT_MAX_BODY_BYTES
        )
    );
    // A 300-byte id cannot name a lead: the 400 names it before any lookup.
    let answer = api
        .route(&"p".repeat(300), json!({"owner_id": "rep-2"}).to_string())
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.error(),
        "person_id: is 300 bytes long; the limit is 256"
    );
    assert!(
        api.sink.seen.lock().unwrap().is_empty(),
        "nothing submitted"
    );
    // And a good body still goes through.
    let answer = api
        .route("many", json!({"owner_id": "rep-2"}).to_string())
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
}

#[tokio::test]
async fn a_lead_with_an_id_at_the_limit_can_be_rerouted_and_its_event_validates() {
    let api = api();
    let id = long_id();
    let answer = api
        .route(
            &id,
            json!({"owner_id": "rep-9", "owner_kind": "partner", "reason": "territory"})
                .to_string(),
        )
        .await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    let seen = api.sink.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let event = &seen[0];
    assert_eq!(event.validate(), Ok(()));
    assert!(
        event.event_id.len() <= MAX_ID_LEN,
        "{}",
        event.event_id.len()
    );
    assert!(!event.event_id.starts_with(DERIVED_EVENT_PREFIX));
    assert_eq!(answer.body["event_id"], event.event_id.as_str());
    // It reached the views: the lead has its new owner.
    let lead = api.get(&format!("/v1/leads/{id}")).await;
    assert_eq!(lead.status, StatusCode::OK);
    assert_eq!(lead.body["owner_id"], "rep-9");
    assert_eq!(lead.body["owner_kind"], "partner");
    // A second re-routing in the same millisecond gets another id.
    let again = api
        .route(&id, json!({"owner_id": "rep-10"}).to_string())
        .await;
    assert_eq!(again.status, StatusCode::ACCEPTED, "{}", again.body);
    assert_ne!(again.body["event_id"], answer.body["event_id"]);
}

#[tokio::test]
async fn csv_cells_that_would_start_a_formula_are_text_and_numbers_stay_numbers() {
    let api = api();
    let answer = api.get("/v1/campaigns?format=csv").await;
    assert_eq!(answer.status, StatusCode::OK);
    let text = answer.body.as_str().unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let name = headers.iter().position(|h| h == "name").unwrap();
    let mut names: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[name].to_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["'+1", "'-x", "'=cmd|' /C calc'!A0", "'@x"],
        "{text}"
    );

    // Numbers are not text: a negative ROI and a refund stay numbers.
    let answer = api.get("/v1/reports/campaigns?format=csv").await;
    assert_eq!(answer.status, StatusCode::OK);
    let text = answer.body.as_str().unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let roi = reader.headers().unwrap().iter().position(|h| h == "roi");
    let roi = roi.unwrap();
    let rois: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[roi].to_owned())
        .collect();
    assert!(rois.iter().any(|r| r == "-1.0"), "{text}");
    assert!(!rois.iter().any(|r| r.starts_with('\'')), "{text}");
    let answer = api.get("/v1/accounts/acc?format=csv&table=revenue").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.body.as_str().unwrap(),
        "amount_minor,currency\n-1250,EUR\n"
    );
    let answer = api.get("/v1/accounts/acc?format=csv&table=history").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let text = answer.body.as_str().unwrap();
    assert!(
        text.contains("\"'=HYPERLINK(\"\"http://evil\"\")\"") && text.contains(",-1250,"),
        "{text}"
    );
}

#[tokio::test]
async fn beyond_the_expensive_request_limit_reports_are_refused_at_once_and_status_answers() {
    let api = api();
    assert_eq!(api.gate.size(), 2);
    let held: Vec<_> = (0..2).map(|_| api.gate.try_acquire().unwrap()).collect();
    for uri in [
        "/v1/reports/attribution",
        "/v1/reports/data-driven",
        "/v1/reports/compare",
        "/v1/campaigns",
        "/v1/leads",
        "/v1/people/duplicates",
        // A CSV export of even a single record is work.
        "/v1/persons/many?format=csv&table=touches",
    ] {
        let answer = api.get(uri).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert_eq!(answer.header("retry-after"), Some("1"), "{uri}");
        assert!(
            answer.error().starts_with("busy: 2 expensive requests"),
            "{}",
            answer.body
        );
    }
    for uri in [
        "/v1/health",
        "/v1/status",
        "/metrics",
        "/openapi.json",
        "/v1/persons/many?limit=1",
        "/v1/leads/many",
        "/v1/persons/many/events?limit=1",
    ] {
        assert_eq!(api.get(uri).await.status, StatusCode::OK, "{uri}");
    }
    drop(held);
    let answer = api.get("/v1/reports/attribution").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    // The permit went back when the answer was done.
    assert_eq!(api.gate.available(), 2);
}

#[tokio::test]
async fn a_person_with_many_touches_is_answered_a_page_at_a_time() {
    let api = api();
    // By default one page of DEFAULT_LIMIT touches, and where the rest begins.
    let first = api.get("/v1/persons/many").await;
    assert_eq!(first.status, StatusCode::OK);
    let touches = first.body["touches"].as_array().unwrap();
    assert_eq!(touches.len(), touchline_api::DEFAULT_LIMIT);
    assert_eq!(first.body["touch_count"], MANY);
    assert_eq!(
        first.body["touches_next_offset"],
        touchline_api::DEFAULT_LIMIT
    );
    assert_eq!(first.body["person_id"], "many", "the view's fields stay");
    assert_eq!(first.header("x-total-count"), Some("1200"));

    // Walk every page by the Link header: every touch once, in order.
    let mut uri = "/v1/persons/many?limit=500".to_owned();
    let mut seen = Vec::new();
    loop {
        let page = api.get(&uri).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}");
        let touches = page.body["touches"].as_array().unwrap();
        assert!(touches.len() <= 500);
        seen.extend(
            touches
                .iter()
                .map(|t| t["event_id"].as_str().unwrap().to_owned()),
        );
        match page.header("link") {
            Some(link) => {
                uri = link
                    .strip_prefix('<')
                    .and_then(|l| l.strip_suffix(">; rel=\"next\""))
                    .unwrap()
                    .to_owned();
            }
            None => {
                assert_eq!(page.body["touches_next_offset"], Value::Null);
                break;
            }
        }
    }
    let expected: Vec<String> = (0..MANY).map(|n| format!("t-many-{n}")).collect();
    assert_eq!(seen, expected);

    // The event stream pages by log position.
    let events = api.get("/v1/persons/many/events?limit=700").await;
    assert_eq!(events.body.as_array().unwrap().len(), 700);
    let link = events.header("link").unwrap().to_owned();
    let next = link.split("from_seq=").nth(1).unwrap();
    let next: u64 = next[..next.find(['&', '>']).unwrap()].parse().unwrap();
    let last_seq = events.body[699]["seq"].as_u64().unwrap();
    assert!(next > last_seq, "{link}");
    let rest = api
        .get(&format!(
            "/v1/persons/many/events?limit=700&from_seq={next}"
        ))
        .await;
    // The lead and every touch: 1201 events in all.
    assert_eq!(rest.body.as_array().unwrap().len(), MANY + 1 - 700);
    assert_eq!(rest.header("link"), None);

    // Lists page too, and CSV keeps the paging headers.
    let campaigns = api.get("/v1/campaigns?limit=3&format=csv").await;
    assert_eq!(campaigns.status, StatusCode::OK);
    assert_eq!(campaigns.body.as_str().unwrap().lines().count(), 4);
    assert_eq!(campaigns.header("x-total-count"), Some("4"));
    assert_eq!(
        campaigns.header("link"),
        Some("</v1/campaigns?limit=3&format=csv&offset=3>; rel=\"next\"")
    );

    for (uri, message) in [
        (
            "/v1/persons/many?limit=0",
            "parameter limit: 0 is below the minimum 1",
        ),
        (
            "/v1/persons/many?limit=10001",
            "parameter limit: 10001 is above the maximum 10000",
        ),
        (
            "/v1/persons/many?limit=99999999999999999999999",
            "parameter limit: \"99999999999999999999999\" is not a non-negative integer",
        ),
        (
            "/v1/persons/many?offset=-1",
            "parameter offset: \"-1\" is not a non-negative integer",
        ),
        (
            "/v1/persons/many/events?limit=0",
            "parameter limit: 0 is below the minimum 1",
        ),
        (
            "/v1/campaigns?limit=0",
            "parameter limit: 0 is below the minimum 1",
        ),
        (
            "/v1/leads?limit=20000",
            "parameter limit: 20000 is above the maximum 10000",
        ),
        (
            "/v1/scores?limit=0",
            "parameter limit: 0 is below the minimum 1",
        ),
        (
            "/v1/accounts/acc?history=10001",
            "parameter history: 10001 is above the maximum 10000",
        ),
    ] {
        let answer = api.get(uri).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(answer.error(), message, "{uri}");
    }
}

#[test]
fn the_api_description_documents_the_limits_of_every_route() {
    let doc: Value = serde_json::from_str(touchline_api::openapi_document().unwrap()).unwrap();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let responses = &operation["responses"];
            let limited = touchline_api::Cost::of(path) != touchline_api::Cost::Free;
            // Every limited read can be refused as busy (always, or as CSV).
            if method == "get" && limited {
                assert_eq!(
                    responses["503"]["$ref"], "#/components/responses/Busy",
                    "{method} {path}"
                );
            }
            // Every paged answer says how to walk it.
            let names: Vec<String> = operation["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| {
                            p["name"].as_str().map(str::to_owned).unwrap_or_else(|| {
                                let r = p["$ref"].as_str().unwrap_or_default();
                                r.rsplit('/').next().unwrap().to_lowercase()
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            if names.iter().any(|n| n == "limit") {
                assert!(
                    responses["200"]["headers"]["Link"].is_object(),
                    "{method} {path} is paged but documents no Link"
                );
            }
            let is_array =
                responses["200"]["content"]["application/json"]["schema"]["type"] == "array";
            if is_array {
                assert!(
                    names.iter().any(|n| n == "limit"),
                    "{method} {path} answers a list without limit"
                );
            }
        }
    }
}
