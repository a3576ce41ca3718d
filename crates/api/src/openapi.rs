//! The OpenAPI 3.1 document served at `/openapi.json`, generated once from the
//! route table and two hand-written parts:
//!
//! - `openapi.json`: the document without its paths: info, security, the
//!   component schemas, responses and headers;
//! - `openapi_operations.json`: per operation id, the prose the table has no
//!   column for: its description, request body and answers.
//!
//! From the table ([`ROUTES`]) come every path and method, the operation id,
//! summary and tag, the parameters (the shared ones as
//! `components/parameters`), the security (none for the public area), the area
//! (`x-touchline-area`, and a sentence naming the roles), the cost
//! (`x-touchline-cost`), and the answers the area and the cost decide: 401 and
//! 403 outside the public area, 503 `Busy` where a permit is needed.

use std::sync::LazyLock;

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::access::{Area, Role, may};
use crate::limits::Cost;
use crate::param_spec::{DefaultValue, Param, ParamType};
use crate::routes::{Method, ROUTES, Route, Tag};

const BASE: &str = include_str!("openapi.json");
const OPERATIONS: &str = include_str!("openapi_operations.json");

/// Why the document could not be put together; the unit tests make sure it
/// can, so a build that serves is one whose document is whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenApiError {
    #[error("{file} is not a JSON object: {reason}")]
    NotAnObject { file: &'static str, reason: String },
    #[error("operation {0} has no entry in openapi_operations.json (its description and answers)")]
    Undescribed(&'static str),
    #[error("openapi_operations.json describes {0}, which no route has")]
    NoSuchOperation(String),
    #[error("operation {operation}: answer {status} comes from the route table, not the prose")]
    DerivedAnswer {
        operation: &'static str,
        status: &'static str,
    },
    #[error(
        "operation {operation}: the prose holds a description, a requestBody and responses, not {field:?} (the route table says the rest)"
    )]
    ProseField {
        operation: &'static str,
        field: String,
    },
}

static DOCUMENT: LazyLock<Result<String, OpenApiError>> =
    LazyLock::new(|| generate(BASE, OPERATIONS).map(|doc| doc.to_string()));

/// The OpenAPI document as served.
pub fn openapi_document() -> Result<&'static str, OpenApiError> {
    DOCUMENT.as_deref().map_err(Clone::clone)
}

/// `GET /openapi.json`.
pub(crate) async fn serve() -> Response {
    match openapi_document() {
        Ok(text) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => crate::ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("the API description is broken: {e}"),
            param: None,
        }
        .into_response(),
    }
}

fn object(file: &'static str, text: &str) -> Result<Map<String, Value>, OpenApiError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(OpenApiError::NotAnObject {
            file,
            reason: "not an object".into(),
        }),
        Err(e) => Err(OpenApiError::NotAnObject {
            file,
            reason: e.to_string(),
        }),
    }
}

/// The document from the hand-written parts and [`ROUTES`].
fn generate(base: &str, operations: &str) -> Result<Value, OpenApiError> {
    let mut base = object("openapi.json", base)?;
    let mut prose = object("openapi_operations.json", operations)?;
    let mut paths = Map::new();
    for route in ROUTES {
        let described = prose
            .remove(route.operation_id)
            .ok_or(OpenApiError::Undescribed(route.operation_id))?;
        let operation = operation(route, described)?;
        let methods = paths
            .entry(route.path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = methods {
            methods.insert(route.method.name().to_owned(), operation);
        }
    }
    if let Some(orphan) = prose.keys().next() {
        return Err(OpenApiError::NoSuchOperation(orphan.clone()));
    }
    // In the order a reader expects: what it is, its groups, then the rest.
    let mut document = Map::new();
    for key in ["openapi", "info"] {
        if let Some(value) = base.remove(key) {
            document.insert(key.to_owned(), value);
        }
    }
    let tags: Vec<Value> = Tag::ALL
        .iter()
        .map(|t| json!({ "name": t.name() }))
        .collect();
    document.insert("tags".into(), Value::Array(tags));
    if let Some(security) = base.remove("security") {
        document.insert("security".into(), security);
    }
    document.insert("paths".into(), Value::Object(paths));
    let mut components = match base.remove("components") {
        Some(Value::Object(components)) => components,
        _ => Map::new(),
    };
    components.insert("parameters".into(), Value::Object(shared_parameters()));
    document.insert("components".into(), Value::Object(components));
    document.extend(base);
    Ok(Value::Object(document))
}

/// One operation: the table's columns, the prose, the derived answers.
fn operation(route: &Route, described: Value) -> Result<Value, OpenApiError> {
    let mut prose = match described {
        Value::Object(prose) => prose,
        _ => Map::new(),
    };
    // Paths, methods, parameters, security and area come from the table only.
    if let Some(field) = prose
        .keys()
        .find(|k| !matches!(k.as_str(), "description" | "requestBody" | "responses"))
    {
        return Err(OpenApiError::ProseField {
            operation: route.operation_id,
            field: field.clone(),
        });
    }
    let mut op = Map::new();
    op.insert("operationId".into(), route.operation_id.into());
    op.insert("summary".into(), route.summary.into());
    op.insert("tags".into(), json!([route.tag.name()]));
    let description = match prose.remove("description") {
        Some(Value::String(text)) if !text.is_empty() => {
            format!("{text} {}", area_sentence(route.area))
        }
        _ => area_sentence(route.area),
    };
    op.insert("description".into(), description.into());
    if !route.params.is_empty() {
        let params = route.params.iter().map(parameter_or_ref).collect();
        op.insert("parameters".into(), Value::Array(params));
    }
    if let Some(body) = prose.remove("requestBody") {
        op.insert("requestBody".into(), body);
    }
    let mut responses = match prose.remove("responses") {
        Some(Value::Object(responses)) => responses,
        _ => Map::new(),
    };
    for (status, component) in derived_answers(route) {
        if responses.contains_key(status) {
            return Err(OpenApiError::DerivedAnswer {
                operation: route.operation_id,
                status,
            });
        }
        let reference = format!("#/components/responses/{component}");
        responses.insert(status.into(), json!({ "$ref": reference }));
    }
    responses.sort_keys();
    op.insert("responses".into(), Value::Object(responses));
    if route.area == Area::Public {
        op.insert("security".into(), json!([]));
    }
    op.insert("x-touchline-area".into(), route.area.name().into());
    op.insert("x-touchline-cost".into(), route.cost.name().into());
    Ok(Value::Object(op))
}

/// The answers the route's area and cost decide, with their component.
fn derived_answers(route: &Route) -> Vec<(&'static str, &'static str)> {
    let mut answers = Vec::new();
    if route.area != Area::Public {
        answers.push(("401", "Unauthorized"));
        answers.push(("403", "Forbidden"));
    }
    // A cheap route waits for a permit only as a CSV export, which is a GET.
    let needs_permit = match route.cost {
        Cost::Free => false,
        Cost::Cheap => route.method == Method::Get,
        Cost::Expensive => true,
    };
    if needs_permit {
        answers.push(("503", "Busy"));
    }
    answers
}

/// Who may call an area, as a sentence for the description.
pub(crate) fn area_sentence(area: Area) -> String {
    let roles: Vec<&str> = Role::ALL
        .into_iter()
        .filter(|&role| may(role, area))
        .map(Role::name)
        .collect();
    match roles.as_slice() {
        _ if area == Area::Public => "Area `public`: no token needed.".to_owned(),
        [only] => format!("Area `{}`: role {only} only.", area.name()),
        _ => format!("Area `{}`: roles {}.", area.name(), roles.join(", ")),
    }
}

fn parameter_or_ref(param: &Param) -> Value {
    match param.shared_as {
        Some(component) => json!({ "$ref": format!("#/components/parameters/{component}") }),
        None => parameter(param),
    }
}

/// Every shared parameter once, by its component name, in first-use order.
fn shared_parameters() -> Map<String, Value> {
    let mut shared = Map::new();
    for param in ROUTES.iter().flat_map(|r| r.params) {
        if let Some(component) = param.shared_as {
            shared.entry(component).or_insert_with(|| parameter(param));
        }
    }
    shared
}

/// A parameter object of OpenAPI.
pub(crate) fn parameter(param: &Param) -> Value {
    json!({
        "name": param.name,
        "in": param.location.name(),
        "required": param.required,
        "description": param.description,
        "schema": schema(param),
    })
}

fn schema(param: &Param) -> Value {
    let mut schema = match param.kind {
        ParamType::Text { pattern } => {
            let mut schema = json!({ "type": "string" });
            if let Some(pattern) = pattern {
                schema["pattern"] = pattern.into();
            }
            schema
        }
        ParamType::Integer { minimum, maximum } => {
            let mut schema = json!({ "type": "integer", "minimum": minimum });
            if let Some(maximum) = maximum {
                schema["maximum"] = maximum.into();
            }
            schema
        }
        ParamType::Number { above, maximum } => {
            json!({ "type": "number", "exclusiveMinimum": above, "maximum": maximum })
        }
        ParamType::Boolean => json!({ "type": "boolean" }),
        ParamType::OneOf(choices) => json!({ "type": "string", "enum": choices.names() }),
    };
    if let Some(default) = param.default {
        schema["default"] = match default {
            DefaultValue::Text(text) => text.into(),
            DefaultValue::Integer(n) => n.into(),
            DefaultValue::Boolean(b) => b.into(),
        };
    }
    if !param.examples.is_empty() {
        schema["examples"] = param.examples.into();
    }
    schema
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_whole() {
        let doc: Value = serde_json::from_str(openapi_document().unwrap()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths: std::collections::HashSet<&str> = ROUTES.iter().map(|r| r.path).collect();
        assert_eq!(doc["paths"].as_object().unwrap().len(), paths.len());
        for component in [
            "From",
            "To",
            "At",
            "Owner",
            "Format",
            "Limit",
            "Offset",
            "Synthesized",
        ] {
            assert!(
                doc["components"]["parameters"][component].is_object(),
                "{component}"
            );
        }
    }

    #[test]
    fn every_reference_resolves() {
        let doc: Value = serde_json::from_str(openapi_document().unwrap()).unwrap();
        let mut references = Vec::new();
        collect_references(&doc, &mut references);
        assert!(references.len() > 100, "{}", references.len());
        for reference in references {
            let pointer = reference.strip_prefix('#').unwrap();
            assert!(
                doc.pointer(pointer).is_some(),
                "{reference} resolves to nothing"
            );
        }
    }

    fn collect_references(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| collect_references(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| collect_references(v, out)),
            _ => {}
        }
    }

    #[test]
    fn the_prose_and_the_table_must_match() {
        let one = &ROUTES[0];
        let without_first = {
            let mut prose = object("ops", OPERATIONS).unwrap();
            prose.remove(one.operation_id);
            Value::Object(prose).to_string()
        };
        assert_eq!(
            generate(BASE, &without_first),
            Err(OpenApiError::Undescribed(one.operation_id))
        );
        let with_orphan = {
            let mut prose = object("ops", OPERATIONS).unwrap();
            prose.insert("getNothing".into(), json!({}));
            Value::Object(prose).to_string()
        };
        assert_eq!(
            generate(BASE, &with_orphan),
            Err(OpenApiError::NoSuchOperation("getNothing".into()))
        );
        let status = ROUTES.iter().find(|r| r.path == "/v1/status").unwrap();
        let with_derived = {
            let mut prose = object("ops", OPERATIONS).unwrap();
            prose[status.operation_id]["responses"]["403"] = json!({"description": "no"});
            Value::Object(prose).to_string()
        };
        assert_eq!(
            generate(BASE, &with_derived),
            Err(OpenApiError::DerivedAnswer {
                operation: status.operation_id,
                status: "403"
            })
        );
        let with_parameters = {
            let mut prose = object("ops", OPERATIONS).unwrap();
            prose[status.operation_id]["parameters"] = json!([]);
            Value::Object(prose).to_string()
        };
        assert_eq!(
            generate(BASE, &with_parameters),
            Err(OpenApiError::ProseField {
                operation: status.operation_id,
                field: "parameters".into()
            })
        );
    }

    #[test]
    fn the_area_sentence_names_the_roles_of_the_permission_table() {
        assert_eq!(
            area_sentence(Area::Public),
            "Area `public`: no token needed."
        );
        assert_eq!(
            area_sentence(Area::Operations),
            "Area `operations`: roles analyst, admin."
        );
        assert_eq!(area_sentence(Area::Admin), "Area `admin`: role admin only.");
    }
}
