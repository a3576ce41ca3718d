//! The one command: re-routing a lead (R20) becomes a `lead_routed` event
//! handed to the instance's [`touchline_engine::EventSink`].
//!
//! The event passes [`touchline_core::Envelope::validate`] here, the gate
//! ingest applies too, so a bad owner or reason is the caller's 400 and never
//! a refusal further on (which the caller would see as a 503 and retry).

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use touchline_core::{Envelope, Event, InvalidEvent, LeadRouted, OwnerKind, Timestamp};

use crate::{ApiError, AppState, blocking, resolve_person};

/// A re-routing: the new owner, internal or partner, and why (R20).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteRequest {
    owner_id: String,
    #[serde(default)]
    owner_kind: OwnerKind,
    #[serde(default)]
    reason: String,
}

/// What a re-routing request gives back: the event that records it.
#[derive(Debug, Serialize, Deserialize)]
pub struct RouteAccepted {
    pub event_id: String,
    pub person_id: String,
    pub owner_id: String,
    pub owner_kind: OwnerKind,
}

/// The id of a re-routing event: `route/<person>/<ms>-<pid>-<n>`, readable
/// while it fits in [`touchline_core::MAX_ID_LEN`] bytes. A longer one keeps a prefix and ends
/// in `~` and the SHA-256 of the readable id, so every id fits and distinct
/// inputs give distinct ids. It does not start with
/// [`touchline_core::DERIVED_EVENT_PREFIX`]: this event enters through ingest,
/// which refuses that prefix from outside.
pub fn route_event_id(person_id: &str, at_millis: i64, process: u32, n: u64) -> String {
    touchline_core::bounded_id(format!("route/{person_id}/{at_millis}-{process}-{n}"))
}

/// Distinguishes ids made in the same millisecond by this process.
static ROUTE_COUNTER: AtomicU64 = AtomicU64::new(0);

fn route_event(person_id: &str, request: &RouteRequest, now: Timestamp) -> Envelope {
    let n = ROUTE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let reason = if request.reason.trim().is_empty() {
        "re-routed by hand".to_owned()
    } else {
        request.reason.clone()
    };
    Envelope {
        event_id: route_event_id(person_id, now.as_millis(), std::process::id(), n),
        occurred_at: now,
        recorded_at: now,
        source_system: "touchline.api".into(),
        event: Event::LeadRouted(LeadRouted {
            person_id: person_id.to_owned(),
            owner_id: request.owner_id.clone(),
            owner_kind: request.owner_kind,
            rule: String::new(),
            reason,
        }),
    }
}

/// A refused event as the caller's 400, named by the field as the body spells
/// it: `payload.owner_id` is `owner_id`. `person_id` is the lead's id (the
/// path's, or the survivor's after a merge).
fn invalid(e: InvalidEvent) -> ApiError {
    let field = e.field.strip_prefix("payload.").unwrap_or(&e.field);
    ApiError::bad_request(format!("{field}: {}", e.problem))
}

fn read_error(e: axum::Error, limit: usize) -> ApiError {
    let too_large = std::iter::successors(Some(&e as &(dyn std::error::Error + 'static)), |e| {
        e.source()
    })
    .any(|e| e.is::<http_body_util::LengthLimitError>());
    if too_large {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!("body: larger than the limit of {limit} bytes"),
            param: None,
        }
    } else {
        ApiError::bad_request(format!("body: cannot be read: {e}"))
    }
}

pub(crate) async fn route_lead(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<RouteAccepted>), ApiError> {
    let limit = state.max_body_bytes;
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|e| read_error(e, limit))?;
    let request: RouteRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "body: {e} (expected {{\"owner_id\": \"...\", \"owner_kind\": \"internal\" or \"partner\", \"reason\": \"...\"}})"
        ))
    })?;
    if request.owner_id.trim().is_empty() {
        return Err(ApiError::bad_request("owner_id: must not be empty"));
    }
    // The body's fields are checked before anything is looked up: with the
    // path's id here, with the survivor's once merges are followed.
    route_event(&id, &request, Timestamp::now())
        .validate()
        .map_err(invalid)?;
    let Some(commands) = state.commands.clone() else {
        return Err(ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "this instance takes no commands (no event sink configured)".into(),
            param: None,
        });
    };
    blocking(move || {
        let (lead, _) = resolve_person(&state.queries, &id)?;
        if lead.lead_created_at.is_none() {
            return Err(ApiError::not_found(format!(
                "person {id:?} is known from touches but no lead was created for it"
            )));
        }
        let envelope = route_event(&lead.person_id, &request, Timestamp::now());
        envelope.validate().map_err(invalid)?;
        let event_id = envelope.event_id.clone();
        commands.submit(envelope).map_err(|e| ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: format!("the re-routing was not recorded: {e}"),
            param: None,
        })?;
        Ok((
            StatusCode::ACCEPTED,
            Json(RouteAccepted {
                event_id,
                person_id: lead.person_id,
                owner_id: request.owner_id,
                owner_kind: request.owner_kind,
            }),
        ))
    })
    .await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn route_event_ids_fit_and_stay_distinct() {
        assert_eq!(route_event_id("p-1", 5, 7, 0), "route/p-1/5-7-0");
        let long = "é".repeat(125); // 250 bytes
        let a = route_event_id(&long, 1_767_225_600_000, 4_194_304, 0);
        let b = route_event_id(&long, 1_767_225_600_000, 4_194_304, 1);
        assert!(
            a.len() <= touchline_core::MAX_ID_LEN && b.len() <= touchline_core::MAX_ID_LEN,
            "{}",
            a.len()
        );
        assert_ne!(a, b);
        assert!(a.starts_with("route/éé"), "{a}");
        assert!(!a.starts_with(touchline_core::DERIVED_EVENT_PREFIX));
    }

    #[test]
    fn refusals_name_the_field_as_the_body_spells_it() {
        let e = invalid(InvalidEvent::new(
            "payload.owner_id",
            "contains control characters",
        ));
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.message, "owner_id: contains control characters");
    }
}
