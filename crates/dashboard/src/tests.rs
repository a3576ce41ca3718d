#![allow(clippy::unwrap_used)]

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;
use crate::assets::find;

async fn get(path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = router()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body.to_vec())
}

#[tokio::test]
async fn the_page_is_served_at_the_root_with_a_strict_policy() {
    let (status, headers, body) = get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        CONTENT_SECURITY_POLICY
    );
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("/dashboard/app.js"), "{html}");
}

#[tokio::test]
async fn every_file_the_page_names_is_embedded() {
    let html = std::str::from_utf8(assets::INDEX.bytes).unwrap();
    for asset in ASSETS {
        let (status, headers, body) = get(&format!("/dashboard/{}", asset.path)).await;
        assert_eq!(status, StatusCode::OK, "{}", asset.path);
        assert_eq!(headers[header::CONTENT_TYPE], asset.content_type);
        assert_eq!(body, asset.bytes);
    }
    // Every module an import names is embedded too.
    for asset in ASSETS.iter().filter(|a| a.path.ends_with(".js")) {
        let text = std::str::from_utf8(asset.bytes).unwrap();
        for line in text.lines().filter(|l| l.starts_with("import ")) {
            let target = line.split(['"', '\'']).nth(1).unwrap();
            let base = asset.path.rsplit_once('/').map_or("", |(dir, _)| dir);
            let resolved = resolve(base, target);
            assert!(find(&resolved).is_some(), "{} imports {target}", asset.path);
        }
    }
    assert!(html.contains("chart.umd.min.js"));
}

fn resolve(base: &str, target: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in target.split('/') {
        match part {
            "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[tokio::test]
async fn an_unknown_file_is_a_404_naming_it() {
    let (status, _, body) = get("/dashboard/nope.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "no dashboard file \"nope.js\""
    );
}

#[test]
fn the_vendored_chart_js_is_the_version_named() {
    let chart = std::str::from_utf8(find("chart.umd.min.js").unwrap().bytes).unwrap();
    assert!(chart.starts_with(&format!("/*!\n * Chart.js v{CHART_JS_VERSION}\n")));
}
