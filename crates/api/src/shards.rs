//! On a sharded instance every answer says which shards it covers: those it
//! read (held here, or read from the instances that hold them), those held
//! here, and the group's number of shards. An answer that read fewer than
//! all of them is partial (README, "Sharded mode").

use super::*;

/// The header naming the shards this instance holds (`0,2,4`; empty when
/// it holds none yet).
pub const SHARDS_HELD: &str = "touchline-shards-held";
/// The header naming the shards an answer was read from: those held here
/// and those the other instances hold, as far as the members topic says.
pub const SHARDS_READ: &str = "touchline-shards-read";
/// The header giving the group's number of shards.
pub const SHARDS_TOTAL: &str = "touchline-shards-total";

pub(crate) async fn shards_answered(
    State(held): State<Arc<touchline_engine::HeldShards>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut response = next.run(request).await;
    let list = |shards: Vec<u32>| {
        let names: Vec<String> = shards.iter().map(u32::to_string).collect();
        axum::http::HeaderValue::from_str(&names.join(","))
    };
    let (here, read) = (list(held.held()), list(held.answering()));
    let headers = response.headers_mut();
    if let (Ok(here), Ok(read)) = (here, read) {
        headers.insert(SHARDS_HELD, here);
        headers.insert(SHARDS_READ, read);
    }
    headers.insert(SHARDS_TOTAL, axum::http::HeaderValue::from(held.count()));
    response
}
