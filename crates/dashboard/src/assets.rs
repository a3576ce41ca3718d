//! The dashboard's files, compiled into the binary.
//!
//! `assets/` holds the page, its stylesheet and one ES module per concern
//! (`app.js` boots and routes, `api.js` talks to the API, `format.js` formats
//! numbers for people, `ui.js` builds tables, filters and charts, and
//! `pages/*.js` one module per page). `vendor/chart.js/` is Chart.js as
//! published on npm (see its `SOURCE.md`).

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// The path under `/dashboard/`.
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

/// The version of the vendored Chart.js (`vendor/chart.js/SOURCE.md`).
pub const CHART_JS_VERSION: &str = "4.6.1";

const JS: &str = "text/javascript; charset=utf-8";

macro_rules! asset {
    ($path:literal, $file:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            bytes: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $file)),
        }
    };
}

/// The page itself, served at `/`.
pub static INDEX: &Asset = &asset!(
    "index.html",
    "assets/index.html",
    "text/html; charset=utf-8"
);

/// Every file under `/dashboard/`.
pub static ASSETS: &[Asset] = &[
    asset!("app.css", "assets/app.css", "text/css; charset=utf-8"),
    asset!("app.js", "assets/app.js", JS),
    asset!("api.js", "assets/api.js", JS),
    asset!("format.js", "assets/format.js", JS),
    asset!("ui.js", "assets/ui.js", JS),
    asset!("favicon.svg", "assets/favicon.svg", "image/svg+xml"),
    asset!("pages/common.js", "assets/pages/common.js", JS),
    asset!("pages/overview.js", "assets/pages/overview.js", JS),
    asset!("pages/campaigns.js", "assets/pages/campaigns.js", JS),
    asset!("pages/campaign.js", "assets/pages/campaign.js", JS),
    asset!("pages/conversion.js", "assets/pages/conversion.js", JS),
    asset!("pages/influence.js", "assets/pages/influence.js", JS),
    asset!("pages/history.js", "assets/pages/history.js", JS),
    asset!("pages/funnel.js", "assets/pages/funnel.js", JS),
    asset!("pages/pipeline.js", "assets/pages/pipeline.js", JS),
    asset!("pages/account.js", "assets/pages/account.js", JS),
    asset!("pages/data_driven.js", "assets/pages/data_driven.js", JS),
    asset!("pages/what_if.js", "assets/pages/what_if.js", JS),
    asset!("chart.umd.min.js", "vendor/chart.js/chart.umd.min.js", JS),
    asset!(
        "chart.js-LICENSE.md",
        "vendor/chart.js/LICENSE.md",
        "text/markdown; charset=utf-8"
    ),
];

/// The file served at `/dashboard/{path}`, if there is one.
pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}
