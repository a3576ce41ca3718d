//! The gate every routed request passes (R6): a known token whose role may
//! use the route's area; and answers trimmed for roles that may not see money.

use super::*;

/// Lets a request through if its token's role may use the route (R6); puts the
/// role in the request for handlers that trim answers per role.
pub(crate) async fn authorize(
    State(access): State<Arc<Access>>,
    matched: Option<axum::extract::MatchedPath>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let area = matched.as_ref().and_then(|m| access::Area::of(m.as_str()));
    if area == Some(access::Area::Public) {
        return next.run(request).await;
    }
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let decision = access.authenticate(authorization).and_then(|role| {
        // A route without an area is new and unclassified: admin only.
        let allowed = area.map_or(role == Role::Admin, |area| access::may(role, area));
        match (allowed, area) {
            (true, _) => Ok(role),
            (false, area) => Err(access::Denied::Forbidden {
                role,
                area: area.unwrap_or(access::Area::Operations),
            }),
        }
    });
    match decision {
        Ok(role) => {
            request.extensions_mut().insert(role);
            next.run(request).await
        }
        Err(denied) if denied.is_unauthenticated() => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(serde_json::json!({ "error": denied.message() })),
        )
            .into_response(),
        Err(denied) => (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({ "error": denied.message() })),
        )
            .into_response(),
    }
}

/// The answer as the caller's role may see it: without deal amounts,
/// transactions and revenue for roles that may not see money.
pub(crate) fn for_role<T: Serialize>(role: Role, body: T) -> Response {
    if role.sees_amounts() {
        return Json(body).into_response();
    }
    let mut value = serde_json::to_value(body).unwrap_or(serde_json::Value::Null);
    redact_amounts(&mut value);
    Json(value).into_response()
}

pub(crate) fn redact_amounts(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if matches!(key.as_str(), "amount" | "revenue" | "transactions") {
                    *field = serde_json::Value::Null;
                } else {
                    redact_amounts(field);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_amounts),
        _ => {}
    }
}
