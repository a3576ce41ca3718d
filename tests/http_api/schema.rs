//! Every JSON answer has exactly the fields its OpenAPI schema documents:
//! the API's contract, checked against what the routes really give.

use super::*;

#[tokio::test]
async fn a_person_has_exactly_the_fields_its_schema_documents() {
    let (app, _dir) = app();
    let (status, person) = get(&app, "/v1/persons/p-1").await;
    assert_eq!(status, StatusCode::OK);
    let doc: serde_json::Value =
        serde_json::from_str(touchline_api::openapi_document().unwrap()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let mut documented: Vec<&str> = schemas["PersonView"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .chain(
            schemas["PersonPage"]["allOf"][1]["properties"]
                .as_object()
                .unwrap()
                .keys(),
        )
        .map(String::as_str)
        .collect();
    documented.sort_unstable();
    let mut given: Vec<&str> = person
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    given.sort_unstable();
    assert_eq!(given, documented);
}

/// The schema a `$ref` names, or the schema itself.
fn resolve<'d>(doc: &'d Value, schema: &'d Value) -> &'d Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap();
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Every property a schema documents (through `allOf`) with its schema, and
/// the names it requires.
fn documented<'d>(doc: &'d Value, schema: &'d Value) -> (Vec<(&'d str, &'d Value)>, Vec<&'d str>) {
    let schema = resolve(doc, schema);
    let (mut properties, mut required) = (Vec::new(), Vec::new());
    for part in schema["allOf"].as_array().into_iter().flatten() {
        let (p, r) = documented(doc, part);
        properties.extend(p);
        required.extend(r);
    }
    if let Some(own) = schema["properties"].as_object() {
        properties.extend(own.iter().map(|(name, s)| (name.as_str(), s)));
    }
    if let Some(own) = schema["required"].as_array() {
        required.extend(own.iter().map(|r| r.as_str().unwrap()));
    }
    (properties, required)
}

/// Where `value`'s objects, at any depth, differ from `schema`: a field not
/// documented, or a required one missing. Free-form objects (no properties)
/// and scalars are not looked into; of `anyOf`/`oneOf`, one must fit.
fn misfits(doc: &Value, schema: &Value, value: &Value, at: &str, found: &mut Vec<String>) {
    let schema = resolve(doc, schema);
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema[key].as_array() {
            let mut fewest: Option<Vec<String>> = None;
            for option in options {
                let mut these = Vec::new();
                misfits(doc, option, value, at, &mut these);
                if these.is_empty() {
                    return;
                }
                if fewest.as_ref().is_none_or(|f| these.len() < f.len()) {
                    fewest = Some(these);
                }
            }
            found.extend(fewest.unwrap_or_default());
            return;
        }
    }
    match value {
        Value::Object(fields) => {
            let (properties, required) = documented(doc, schema);
            if properties.is_empty() {
                return;
            }
            for (name, field) in fields {
                match properties.iter().find(|(p, _)| p == name) {
                    Some((_, field_schema)) => {
                        misfits(doc, field_schema, field, &format!("{at}.{name}"), found)
                    }
                    None => found.push(format!("{at}.{name} is not documented")),
                }
            }
            for name in required {
                if !fields.contains_key(name) {
                    found.push(format!("{at}.{name} is required and missing"));
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for item in items.iter().take(5) {
                misfits(doc, &schema["items"], item, &format!("{at}[]"), found);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_json_answer_has_exactly_the_fields_its_schema_documents() {
    // A generated world, so that every list has rows to look at.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
    let events: Vec<Envelope> =
        touchline_datagen::Generator::new(touchline_datagen::DatasetConfig {
            accounts: 150,
            ..Default::default()
        })
        .collect();
    for chunk in events.chunks(5_000) {
        engine
            .apply(Batch {
                events: chunk.to_vec(),
                ..Batch::default()
            })
            .unwrap();
    }
    // An id of each kind the paths take, from the generated events.
    let first = |pick: &dyn Fn(&Event) -> Option<String>| {
        events.iter().find_map(|e| pick(&e.event)).unwrap()
    };
    let person = first(&|e| match e {
        Event::LeadCreated(l) => Some(l.person_id.clone()),
        _ => None,
    });
    let deal = first(&|e| match e {
        Event::OpportunityCreated(o) => Some(o.opportunity_id.clone()),
        _ => None,
    });
    let account = first(&|e| match e {
        Event::OpportunityCreated(o) => Some(o.account_id.clone()),
        _ => None,
    });
    let campaign = first(&|e| match e {
        Event::TouchRecorded(t) => Some(t.campaign_id.clone()),
        _ => None,
    });
    let id_for = |path: &str| -> String {
        let id = if path.starts_with("/v1/persons/") || path.starts_with("/v1/leads/") {
            person.clone()
        } else if path.starts_with("/v1/opportunities/") {
            deal.clone()
        } else if path.starts_with("/v1/accounts/") {
            account.clone()
        } else if path.starts_with("/v1/campaigns/") {
            campaign.clone()
        } else {
            format!("opportunity_created:{deal}")
        };
        path.replace("{id}", &id)
    };
    let app = touchline_api::router(Queries::new(store), engine.metrics().clone());
    let doc: Value = serde_json::from_str(touchline_api::openapi_document().unwrap()).unwrap();
    let (mut checked, mut found) = (Vec::new(), Vec::new());
    for (path, operations) in doc["paths"].as_object().unwrap() {
        let Some(get_op) = operations.get("get") else {
            continue;
        };
        let needs_input = get_op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| p["required"] == true && p["in"] == "query");
        let schema = &get_op["responses"]["200"]["content"]["application/json"]["schema"];
        if needs_input || schema.is_null() || path == "/openapi.json" {
            continue;
        }
        let uri = id_for(path);
        // The credits computed on request have the stored ones' shape.
        let takes_synthesized = get_op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|p| {
                p["name"] == "synthesized" || p["$ref"] == "#/components/parameters/Synthesized"
            });
        let mut uris = vec![uri.clone()];
        if takes_synthesized {
            uris.push(format!("{uri}?synthesized=exclude"));
        }
        for uri in uris {
            let (status, body) = get(&app, &uri).await;
            assert_eq!(status, StatusCode::OK, "{uri}: {body}");
            misfits(&doc, schema, &body, &uri, &mut found);
            checked.push(uri);
        }
    }
    assert!(found.is_empty(), "{found:#?}");
    assert!(checked.len() >= 30, "only {checked:?} were checked");
    assert!(
        checked
            .iter()
            .filter(|u| u.ends_with("synthesized=exclude"))
            .count()
            >= 8,
        "{checked:?}"
    );
}
