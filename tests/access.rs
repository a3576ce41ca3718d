//! R6: one system for sales, marketing and service, each seeing and doing only
//! what its role allows. Tokens carry the role; a wrong or missing token gets
//! 401, a role outside its area 403, and neither gets data.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use touchline_api::access::{Area, may, token_digest_hex};
use touchline_api::param_spec::{Location, ParamType};
use touchline_api::routes::{Method, ROUTES};
use touchline_api::{Access, ApiOptions, Role, TokenConfig};
use touchline_core::*;
use touchline_engine::{Batch, Engine, EngineConfig, EngineSink, EventSink, Queries};
use touchline_fixtures::*;
use touchline_store::Store;
use tower::ServiceExt;

const JAN: i64 = 1_767_225_600_000; // 2026-01-01

/// A campaign; a lead at an account with a won deal and its payment.
fn events() -> Vec<Envelope> {
    vec![
        envelope(
            "campaign",
            JAN,
            CampaignUpserted {
                name: "Webinar".into(),
                channel: "events".into(),
                campaign_type: CampaignType::Webinar,
                ..campaign("cmp", JAN)
            },
        ),
        envelope(
            "lead",
            JAN,
            LeadCreated {
                first_name: "Ann".into(),
                company: "Example".into(),
                ..lead("ann")
                    .with_email("ann@example.com")
                    .at_account("acc")
                    .owned_by("rep-kim")
            },
        ),
        envelope(
            "opp",
            JAN,
            OpportunityCreated {
                name: "Big deal".into(),
                stage: "proposal".into(),
                probability_pct: 60,
                owner_id: "rep-kim".into(),
                ..opportunity("opp", "acc", 90_000_00).with_contact("ann")
            },
        ),
        envelope("won", JAN, won("opp", 90_000_00)),
        envelope(
            "paid",
            JAN,
            TransactionRecorded {
                opportunity_id: "opp".into(),
                description: "invoice".into(),
                ..transaction("inv-1", "acc", 90_000_00)
            },
        ),
    ]
}

struct Api {
    _dir: tempfile::TempDir,
    app: axum::Router,
}

fn secret(role: Role) -> String {
    format!("secret-of-{role}")
}

fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    engine
        .apply(Batch {
            events: events(),
            ..Batch::default()
        })
        .unwrap();
    let tokens: Vec<TokenConfig> = Role::ALL
        .into_iter()
        .map(|role| TokenConfig {
            name: format!("{role}-token"),
            role,
            sha256: token_digest_hex(&secret(role)),
        })
        .collect();
    let sink: Arc<dyn EventSink> = Arc::new(EngineSink(Arc::new(Mutex::new(engine))));
    let app = touchline_api::router_with(
        Queries::new(store),
        Arc::default(),
        ApiOptions {
            access: Access::from_tokens(&tokens).unwrap(),
            commands: Some(sink),
            ..ApiOptions::default()
        },
    );
    Api { _dir: dir, app }
}

impl Api {
    async fn send(&self, request: Request<Body>) -> (StatusCode, Option<String>, Value) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            challenge,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn get(&self, uri: &str, authorization: Option<&str>) -> (StatusCode, Value) {
        let mut request = Request::get(uri);
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let (status, _, body) = self.send(request.body(Body::empty()).unwrap()).await;
        (status, body)
    }

    async fn get_as(&self, role: Role, uri: &str) -> (StatusCode, Value) {
        self.get(uri, Some(&format!("Bearer {}", secret(role))))
            .await
    }
}

#[tokio::test]
async fn r6_a_missing_or_unknown_token_gets_401_and_no_data() {
    let api = api();
    for authorization in [
        None,
        Some("Bearer not-a-token"),
        Some("Basic YWRtaW46YWRtaW4="),
    ] {
        let mut request = Request::get("/v1/persons/ann");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let (status, challenge, body) = api.send(request.body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization:?}");
        assert_eq!(challenge.as_deref(), Some("Bearer"));
        assert_eq!(
            body.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["error"]
        );
    }
    // Health and the API description need no token.
    assert_eq!(api.get("/v1/health", None).await.0, StatusCode::OK);
    let (status, doc) = api.get("/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
}

#[tokio::test]
async fn r6_each_role_reaches_only_its_areas() {
    let api = api();
    use Role::*;
    let cases: &[(&str, &[Role])] = &[
        (
            "/v1/persons/ann",
            &[Marketing, Sales, Service, Analyst, Admin],
        ),
        (
            "/v1/accounts/acc",
            &[Marketing, Sales, Service, Analyst, Admin],
        ),
        ("/v1/follow-ups/due", &[Marketing, Sales, Analyst, Admin]),
        (
            "/v1/reports/attribution",
            &[Marketing, Sales, Analyst, Admin],
        ),
        ("/v1/reports/forecast", &[Marketing, Sales, Analyst, Admin]),
        ("/v1/reports/rfm", &[Marketing, Sales, Analyst, Admin]),
        ("/v1/status", &[Analyst, Admin]),
        ("/metrics", &[Analyst, Admin]),
    ];
    for (uri, allowed) in cases {
        for role in Role::ALL {
            let (status, body) = api.get_as(role, uri).await;
            if allowed.contains(&role) {
                assert_eq!(status, StatusCode::OK, "{role} {uri}: {body}");
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {uri}");
                let message = body["error"].as_str().unwrap();
                assert!(message.contains(role.name()), "{message}");
            }
        }
    }
}

#[tokio::test]
async fn r6_service_sees_cases_and_contacts_but_not_amounts() {
    let api = api();
    let (_, as_sales) = api.get_as(Role::Sales, "/v1/opportunities/opp").await;
    assert_eq!(as_sales["amount"]["amount_minor"], 90_000_00);
    assert_eq!(as_sales["closed"]["amount"]["amount_minor"], 90_000_00);

    let (status, as_service) = api.get_as(Role::Service, "/v1/opportunities/opp").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(as_service["name"], "Big deal");
    assert_eq!(as_service["stage"], "closed_won");
    assert_eq!(as_service["amount"], Value::Null);
    assert_eq!(as_service["closed"]["amount"], Value::Null);

    let (_, account) = api.get_as(Role::Service, "/v1/accounts/acc").await;
    assert_eq!(account["contacts"][0]["person_id"], "ann");
    assert_eq!(account["revenue"], Value::Null);
    assert_eq!(account["account"]["transactions"], Value::Null);
    assert_eq!(account["opportunities"][0]["amount"], Value::Null);
    // Not through the account's event history either.
    let history = account["history"].as_array().unwrap();
    assert!(!history.is_empty());
    assert!(!history.iter().any(|e| e["payload"]["amount"].is_object()));
    let (_, events) = api.get_as(Role::Service, "/v1/persons/ann/events").await;
    assert!(!events.as_array().unwrap().is_empty());
    assert!(!events.to_string().contains("9000000"), "{events}");
}

#[tokio::test]
async fn r6_only_sales_and_admin_may_reroute_a_lead() {
    let api = api();
    for role in Role::ALL {
        let request = Request::post("/v1/leads/ann/route")
            .header(header::AUTHORIZATION, format!("Bearer {}", secret(role)))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"owner_id": "rep-lee"}).to_string()))
            .unwrap();
        let (status, _, body) = api.send(request).await;
        let expected = if matches!(role, Role::Sales | Role::Admin) {
            StatusCode::ACCEPTED
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(status, expected, "{role}: {body}");
    }
}

#[tokio::test]
async fn every_documented_route_exists_and_has_an_area() {
    let api = api();
    let doc: Value = serde_json::from_str(touchline_api::openapi_document().unwrap()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() > 30, "{} paths", paths.len());
    for (path, operations) in paths {
        assert!(
            Area::of(path).is_some(),
            "{path} has no area in the permission table"
        );
        let uri = path.replace("{id}", "nobody");
        for method in operations.as_object().unwrap().keys() {
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .header(
                    header::AUTHORIZATION,
                    format!("Bearer {}", secret(Role::Admin)),
                )
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let (status, _, body) = api.send(request).await;
            // An unrouted path answers the fallback's 404 naming the route
            // list; a handler's 404 says what is missing.
            let error = body["error"].as_str().unwrap_or_default();
            assert!(
                status != StatusCode::NOT_FOUND || !error.starts_with("no route"),
                "{method} {path} is documented but not routed"
            );
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
}

/// A parameter object of the document, a `$ref` resolved.
fn resolve<'a>(doc: &'a Value, param: &'a Value) -> &'a Value {
    match param["$ref"].as_str() {
        Some(reference) => doc.pointer(reference.strip_prefix('#').unwrap()).unwrap(),
        None => param,
    }
}

#[test]
fn every_route_in_the_router_is_documented_with_its_parameters_and_area() {
    // The router is built from this table, so its rows are the routes.
    let doc: Value = serde_json::from_str(touchline_api::openapi_document().unwrap()).unwrap();
    let mut operations = 0;
    for route in ROUTES {
        let method = route.method.name();
        let operation = &doc["paths"][route.path][method];
        assert!(
            operation.is_object(),
            "{method} {} is not documented",
            route.path
        );
        operations += 1;
        assert_eq!(operation["operationId"], route.operation_id);
        assert_eq!(operation["summary"], route.summary);
        let documented: Vec<&Value> = operation["parameters"]
            .as_array()
            .map(|ps| ps.iter().map(|p| resolve(&doc, p)).collect())
            .unwrap_or_default();
        let names: Vec<&str> = documented
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = route.params.iter().map(|p| p.name).collect();
        assert_eq!(names, expected, "{method} {}", route.path);
        for (param, documented) in route.params.iter().zip(documented) {
            assert_eq!(documented["in"], param.location.name(), "{}", param.name);
            assert_eq!(documented["required"], param.required, "{}", param.name);
            assert_eq!(
                documented["description"], param.description,
                "{}",
                param.name
            );
            if let ParamType::OneOf(choices) = param.kind {
                assert_eq!(
                    documented["schema"]["enum"],
                    json!(choices.names()),
                    "{method} {} {}",
                    route.path,
                    param.name
                );
            }
        }
        // The area: as an extension, in the security and in the answers.
        assert_eq!(operation["x-touchline-area"], route.area.name());
        assert_eq!(Area::of(route.path), Some(route.area), "{}", route.path);
        let public = route.area == Area::Public;
        assert_eq!(operation["security"] == json!([]), public, "{}", route.path);
        for status in ["401", "403"] {
            assert_eq!(
                operation["responses"][status].is_object(),
                !public,
                "{method} {} {status}",
                route.path
            );
        }
        let roles: Vec<&str> = Role::ALL
            .into_iter()
            .filter(|&role| may(role, route.area))
            .map(Role::name)
            .collect();
        let description = operation["description"].as_str().unwrap();
        assert!(
            public || description.contains(&roles.join(", ")),
            "{method} {}: {description}",
            route.path
        );
    }
    let documented: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|methods| methods.as_object().unwrap().len())
        .sum();
    assert_eq!(operations, documented, "as many operations as routes");
}

#[tokio::test]
async fn every_route_answers_each_role_as_its_area_says() {
    let api = api();
    for route in ROUTES {
        let uri = route.path.replace("{id}", "nobody");
        for role in Role::ALL {
            let request = Request::builder()
                .method(route.method.http())
                .uri(&uri)
                .header(header::AUTHORIZATION, format!("Bearer {}", secret(role)))
                .header(header::CONTENT_TYPE, "application/json")
                // Refused by every command's checks: nothing is routed or written.
                .body(Body::from("{}"))
                .unwrap();
            let (status, _, body) = api.send(request).await;
            if may(role, route.area) {
                assert_ne!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role} {}: {body}",
                    route.path
                );
                assert_ne!(status, StatusCode::UNAUTHORIZED, "{role} {}", route.path);
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{role} {}", route.path);
                let message = body["error"].as_str().unwrap();
                assert_eq!(
                    message,
                    format!("role {role} may not use {} endpoints", route.area.name())
                );
            }
        }
        if route.area == Area::Public {
            let (status, _) = api.get(&uri, None).await;
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{}", route.path);
        }
    }
}

/// An id of the fixture for each path pattern, so handlers get past the lookup.
fn known_id(path: &str) -> String {
    let id = if path.starts_with("/v1/persons/") || path.starts_with("/v1/leads/") {
        "ann"
    } else if path.starts_with("/v1/opportunities/") {
        "opp"
    } else if path.starts_with("/v1/accounts/") {
        "acc"
    } else if path.starts_with("/v1/conversions/") {
        "opportunity_won:opp"
    } else if path.starts_with("/v1/campaigns/") {
        "cmp"
    } else {
        "nobody"
    };
    path.replace("{id}", id)
}

/// What a parameter needs beside it to be read at all.
fn companion(path: &str, name: &str) -> &'static str {
    match (path, name) {
        // The as-of cannot answer without its instant.
        ("/v1/reports/as-of", "at") => "",
        ("/v1/reports/as-of", "table") => "&format=csv&at=2026-02-01",
        ("/v1/reports/as-of", "moved_limit") => "&moved=true&at=2026-02-01",
        ("/v1/reports/as-of", _) => "&at=2026-02-01",
        (_, "table") => "&format=csv",
        ("/v1/campaigns/{id}/influence", "model") => "&sort=credit",
        ("/v1/reports/what-if", "baseline") => "&moved=true",
        _ => "",
    }
}

/// A value the parameter's documented type refuses, if the type says enough.
fn refused_value(kind: &ParamType) -> Option<&'static str> {
    match kind {
        ParamType::OneOf(_) => Some("not-a-choice"),
        ParamType::Integer { .. } | ParamType::Number { .. } => Some("-1.5x"),
        ParamType::Boolean => Some("maybe"),
        ParamType::Text { pattern: Some(_) } => Some("not-matching"),
        ParamType::Text { pattern: None } => None,
    }
}

#[tokio::test]
async fn every_documented_parameter_is_read_by_its_route() {
    // The table documents the parameters, the handlers parse them: each
    // documented choice must be taken and a value of the wrong type refused
    // naming the parameter, so the two cannot drift apart.
    let api = api();
    let mut checked = 0;
    for route in ROUTES.iter().filter(|r| r.method == Method::Get) {
        let uri = known_id(route.path);
        for param in route
            .params
            .iter()
            .filter(|p| p.location == Location::Query)
        {
            let prefix = format!("parameter {}:", param.name);
            let extra = companion(route.path, param.name);
            if let ParamType::OneOf(choices) = param.kind {
                for choice in choices.names() {
                    let request = format!("{uri}?{}={choice}{extra}", param.name);
                    let (status, body) = api.get_as(Role::Admin, &request).await;
                    let error = body["error"].as_str().unwrap_or_default();
                    assert!(
                        status != StatusCode::BAD_REQUEST || !error.starts_with(&prefix),
                        "{request} is documented but refused: {error}"
                    );
                }
            }
            let Some(bad) = refused_value(&param.kind) else {
                continue;
            };
            let request = format!("{uri}?{}={bad}{extra}", param.name);
            let (status, body) = api.get_as(Role::Admin, &request).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{request}: {body}");
            let error = body["error"].as_str().unwrap();
            assert!(error.starts_with(&prefix), "{request}: {error}");
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} parameters checked");
}

#[test]
fn the_readme_lists_every_route() {
    let readme = include_str!("../README.md");
    for route in ROUTES {
        let needle = format!("`{} {}", route.method.name().to_uppercase(), route.path);
        // Followed by its query, the end of the code span or more text, not
        // by a longer path (`/v1/leads/{id}` is no mention of `/v1/leads`).
        let listed = readme.match_indices(&needle).any(|(at, _)| {
            matches!(
                readme[at + needle.len()..].chars().next(),
                Some('`' | '?' | ' ')
            )
        });
        assert!(listed, "README.md does not list {needle}`");
    }
}
