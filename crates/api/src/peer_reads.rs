//! `POST /v1/internal/shards/{shard}/read`: one read of a shard this instance
//! holds, for another instance of the group gathering a report over every
//! shard ([`touchline_engine::stores`]). The body is a [`ShardRead`] as JSON;
//! the answer is the stored bytes it asks for, as a postcard-encoded
//! [`ShardAnswer`] (`application/x-touchline-shard`): instances of one group
//! run one version, so both sides read the bytes alike.

use touchline_engine::{ShardRead, Stores};

use super::*;

/// The answer's media type.
pub const SHARD_ANSWER: &str = "application/x-touchline-shard";

pub(crate) async fn read_shard(
    State(state): State<AppState>,
    Path(shard): Path<String>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let shard: u32 = params::parse_param("shard", Some(&shard), 0, "a shard number")?;
    let Stores::Shards(held) = state.queries.stores() else {
        return Err(error::sharded_only());
    };
    let Some(store) = held.store(shard) else {
        return Err(ApiError::not_found(format!(
            "shard {shard} is not held by this instance (it may just have moved; the members topic says where)"
        )));
    };
    let body = axum::body::to_bytes(body, state.max_body_bytes)
        .await
        .map_err(|_| ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!(
                "body: larger than http.max_body_bytes ({} bytes)",
                state.max_body_bytes
            ),
            param: None,
        })?;
    let read: ShardRead = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("body: not a shard read: {e}")))?;
    let answer = blocking(move || {
        read.answer(&store)
            .map_err(|e| ApiError::from(touchline_engine::EngineError::from(e)))
    })
    .await?;
    let bytes = postcard::to_stdvec(&answer).map_err(|e| ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        message: format!("cannot encode the answer: {e}"),
        param: None,
    })?;
    Ok(([(header::CONTENT_TYPE, SHARD_ANSWER)], bytes).into_response())
}
