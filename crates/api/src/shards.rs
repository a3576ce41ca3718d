//! On a sharded instance every answer says which shards it covers: the
//! shards this instance held when it answered, and of how many. An answer
//! over fewer than all of them is partial (README, "Sharded mode").

use super::*;

/// The header naming the shards an answer was read from (`0,2,4`; empty
/// when the instance holds none yet).
pub const SHARDS_HELD: &str = "touchline-shards-held";
/// The header giving the group's number of shards.
pub const SHARDS_TOTAL: &str = "touchline-shards-total";

pub(crate) async fn shards_answered(
    State(held): State<Arc<touchline_engine::HeldShards>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let shards: Vec<String> = held.held().iter().map(u32::to_string).collect();
    let headers = response.headers_mut();
    if let Ok(value) = axum::http::HeaderValue::from_str(&shards.join(",")) {
        headers.insert(SHARDS_HELD, value);
    }
    headers.insert(SHARDS_TOTAL, axum::http::HeaderValue::from(held.count()));
    response
}
