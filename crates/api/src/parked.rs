//! `GET /v1/publishing/parked?after=&limit=`: the outbox records Kafka refused
//! for good (too large for the topic, invalid), which the publisher set aside
//! so that everything behind them was published. Oldest first, paged by id.

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use touchline_core::Timestamp;

use axum::response::IntoResponse;

use crate::paging::{NextPage, with_paging};
use crate::params::parse_count;
use crate::{ApiError, AppState, blocking, parse_param};

/// Records per page when `limit` is absent, and the most a page may hold.
pub(crate) const DEFAULT_LIMIT: usize = 100;
pub(crate) const MAX_LIMIT: usize = 1_000;

#[derive(Deserialize)]
pub(crate) struct ParkedParams {
    after: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ParkedList {
    parked: Vec<ParkedRow>,
    /// Pass as `after` for the next page; `None` when this page is the last.
    next_after: Option<u64>,
}

#[derive(Debug, Serialize)]
struct ParkedRow {
    /// The outbox id the record had.
    id: u64,
    key: String,
    topic: String,
    /// Bytes of the refused value.
    size: u64,
    reason: String,
    parked_at: Timestamp,
    /// The message carries its own value, kept in the store (an alert, a dead
    /// letter), rather than a credit set rendered again from its conversion.
    own_value: bool,
}

pub(crate) async fn parked(
    State(state): State<AppState>,
    Query(params): Query<ParkedParams>,
) -> Result<axum::response::Response, ApiError> {
    let after = params
        .after
        .as_deref()
        .map(|a| parse_param("after", Some(a), 0u64, "an id from next_after"))
        .transpose()?;
    let limit = parse_count("limit", params.limit.as_deref(), DEFAULT_LIMIT, MAX_LIMIT)?;
    let store = state
        .queries
        .single_store()
        .ok_or_else(|| crate::error::sharded_instance("the outbox (and what it parked)"))?
        .clone();
    let records = blocking(move || {
        store
            .parked(after, limit)
            .map_err(|e| ApiError::from(touchline_engine::EngineError::from(e)))
    })
    .await?;
    let next_after = (limit > 0 && records.len() == limit)
        .then(|| records.last().map(|r| r.id))
        .flatten();
    let parked = records
        .into_iter()
        .map(|r| ParkedRow {
            id: r.id,
            key: r.key,
            topic: r.topic,
            size: r.size,
            reason: r.reason,
            parked_at: Timestamp::from_millis(r.parked_at_ms),
            own_value: r.value.is_some(),
        })
        .collect();
    // The next page's address goes in `Link` too, as for every paged answer.
    let next = next_after.map(|after| NextPage(vec![("after", after.to_string())]));
    Ok(with_paging(
        Json(ParkedList { parked, next_after }).into_response(),
        None,
        next,
    ))
}
