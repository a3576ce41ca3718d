//! The browser dashboard: static HTML, CSS and JavaScript embedded in the
//! binary, served at `/` beside the JSON API, which it calls with the user's
//! bearer token.
//!
//! Nothing here reads the store. The pages are a client of the same
//! `/v1/...` API that scripts use, so roles apply exactly as there: a page
//! the role may not use shows the API's refusal, and amounts the API withholds
//! (the service role's) are shown as withheld. The login screen asks for the
//! token and keeps it in the tab's `sessionStorage`.
//!
//! Every file is compiled in with `include_bytes!` ([`assets`]), so
//! `touchline run` and `touchline demo` need no files on disk and no Node
//! toolchain, at build or run time. The charting library is Chart.js, vendored
//! under `vendor/chart.js/` with its licence and where it came from.
//!
//! | path | answer |
//! |---|---|
//! | `GET /` | the single page (`index.html`); pages are `#/<page>?<filters>` |
//! | `GET /dashboard/{file}` | an embedded script, stylesheet or the licence |
//!
//! The binary merges [`router`] into the API's router, so one listener
//! serves both:
//!
//! ```text
//! touchline_api::router_with(queries, metrics, options).merge(touchline_dashboard::router())
//! ```

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub mod assets;

pub use assets::{ASSETS, Asset, CHART_JS_VERSION};

/// What the browser may load and where it may connect: only this origin, no
/// inline script, no eval; the page cannot be framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The dashboard's routes: `/` and `/dashboard/{file}`. They carry no data,
/// so they need no token; merge them into the API's router.
pub fn router() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/dashboard/{*file}", get(asset))
}

async fn index() -> Response {
    serve(assets::INDEX)
}

async fn asset(Path(file): Path<String>) -> Response {
    match assets::find(&file) {
        Some(asset) => serve(asset),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("no dashboard file {file:?}"),
        )
            .into_response(),
    }
}

fn serve(asset: &'static Asset) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, asset.content_type),
            // Small and embedded: revalidating is cheap, and a new binary's
            // files are never mixed with an old one's from the cache.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        asset.bytes,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests;
