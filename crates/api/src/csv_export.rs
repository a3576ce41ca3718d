//! `?format=csv` on any list answer, for spreadsheets and SQL loaders: the
//! JSON rows written long by [`touchline_report_output`] under the columns the
//! route table declares for the list ([`crate::routes::Output`]), or every
//! field seen when it declares none. Nested objects become dotted columns
//! (`amount.amount_minor`), a row's first list one row per value. An answer
//! with several lists (e.g. the forecast's `months` and `deals`) needs
//! `table=` to pick one. The CLI writes a report's CSV by the same
//! declaration and code, so the two are the same bytes.
//!
//! Text is data, never a formula: a text cell (or a column name) that starts
//! with `=`, `+`, `-`, `@`, a tab or a carriage return gets a `'` in front
//! (OWASP, "CSV Injection"), so a spreadsheet shows it as text instead of
//! evaluating it. Numbers are written as JSON writes them, so `-12.5` stays a
//! number.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{MatchedPath, Query, Request};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use touchline_report_output::{Column, Rows};

use crate::ApiError;
use crate::params::{ParamError, Problem};

/// Answers are small enough to hold whole; this bounds a mistake.
const MAX_BODY: usize = 256 * 1024 * 1024;

fn bad_request(e: ParamError) -> Response {
    ApiError::from(e).into_response()
}

/// A refusal whose reason is the export's own rule, not the value's form.
fn refused(name: &str, reason: impl Into<String>) -> ParamError {
    ParamError::new(
        name,
        Problem::Refused {
            reason: reason.into(),
        },
    )
}

pub async fn csv_export(request: Request, next: Next) -> Response {
    // Only reads are exported; a command runs as it is, whatever its query.
    if request.method() != axum::http::Method::GET {
        return next.run(request).await;
    }
    let params: HashMap<String, String> = Query::try_from_uri(request.uri())
        .map(|Query(p)| p)
        .unwrap_or_default();
    match params.get("format").map(String::as_str) {
        None | Some("json") => return next.run(request).await,
        Some("csv") => {}
        Some(other) => {
            return bad_request(ParamError::not_a("format", other, "json or csv"));
        }
    }
    let output = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|path| crate::routes::route(request.method(), path.as_str()))
        .map(|route| route.output);
    let response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    // The page's total and next link hold for the CSV rows as for the JSON ones.
    let paging: Vec<_> = crate::paging::PAGING_HEADERS
        .into_iter()
        .filter_map(|name| {
            let value = response.headers().get(&name)?.clone();
            Some((name, value))
        })
        .collect();
    let bytes = match axum::body::to_bytes(response.into_body(), MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({ "error": format!("cannot read the answer: {e}") })),
            )
                .into_response();
        }
    };
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return bad_request(refused("format", "csv is only for JSON answers"));
    };
    let table = params.get("table").map(String::as_str);
    let rows = match pick_rows(value, table) {
        Ok(rows) => rows,
        Err(e) => return bad_request(e),
    };
    let columns = output
        .and_then(|output| output.columns(table, |name| params.get(name).map(String::as_str)));
    match list_csv(columns, &rows) {
        Ok(text) => {
            let mut response = (
                [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
                Body::from(text),
            )
                .into_response();
            response.headers_mut().extend(paging);
            response
        }
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(serde_json::json!({ "error": format!("cannot write CSV: {e}") })),
        )
            .into_response(),
    }
}

/// The list to export: the answer itself, or its `table` field.
fn pick_rows(value: Value, table: Option<&str>) -> Result<Vec<Value>, ParamError> {
    match (value, table) {
        (Value::Array(rows), None) => Ok(rows),
        (Value::Object(mut fields), table) => {
            let lists: Vec<String> = fields
                .iter()
                .filter(|(_, v)| v.is_array())
                .map(|(k, _)| k.clone())
                .collect();
            match table {
                Some(name) if lists.iter().any(|l| l == name) => match fields.remove(name) {
                    Some(Value::Array(rows)) => Ok(rows),
                    _ => Err(ParamError::not_a("table", name, "a list")),
                },
                _ if lists.is_empty() => Err(refused(
                    "format",
                    "csv is for list answers; this one is a single record",
                )),
                // One list: it is the table, no need to name it.
                None if lists.len() == 1 => match fields.remove(&lists[0]) {
                    Some(Value::Array(rows)) => Ok(rows),
                    _ => Err(ParamError::not_a("table", lists[0].as_str(), "a list")),
                },
                Some(name) => Err(ParamError::not_a(
                    "table",
                    name,
                    format!("one of {}", lists.join(", ")),
                )),
                None => Err(refused(
                    "table",
                    format!("required with format=csv here: one of {}", lists.join(", ")),
                )),
            }
        }
        (_, Some(_)) => Err(refused("table", "this answer is a single list")),
        (_, None) => Err(refused("format", "csv is for list answers")),
    }
}

/// The CSV of a list's JSON rows: under the route's declared columns, or
/// every field seen when it declares none; both by the long-format rules of
/// [`touchline_report_output`], which the CLI writes its CSV with too.
pub fn list_csv(
    columns: Option<&'static [Column]>,
    rows: &[Value],
) -> Result<String, touchline_report_output::OutputError> {
    Ok(match columns {
        Some(columns) => Rows::from_json(columns, rows)?.csv(),
        None => touchline_report_output::infer(rows).csv(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn text_that_would_start_a_formula_is_neutralised_and_numbers_stay() {
        let rows = vec![
            serde_json::json!({"name": "=cmd|' /C calc'!A0", "value": -12.5}),
            serde_json::json!({"name": "+1", "value": 3}),
            serde_json::json!({"name": "@SUM(A1)", "value": null}),
            serde_json::json!({"name": "-x", "value": 0}),
            serde_json::json!({"name": "\tTAB", "value": 1}),
            serde_json::json!({"name": "\r=1", "value": 1}),
            serde_json::json!({"name": "a=b", "value": -3, "=HYPERLINK(1)": "x"}),
        ];
        let text = list_csv(None, &rows).unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header, ["name", "value", "'=HYPERLINK(1)"]);
        let cells: Vec<(String, String)> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_owned(), r[1].to_owned())
            })
            .collect();
        let expected = [
            ("'=cmd|' /C calc'!A0", "-12.5"),
            ("'+1", "3"),
            ("'@SUM(A1)", ""),
            ("'-x", "0"),
            ("'\tTAB", "1"),
            ("'\r=1", "1"),
            ("a=b", "-3"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        assert_eq!(cells, expected, "{text}");
    }

    #[test]
    fn an_answer_with_several_lists_needs_a_table() {
        let value = serde_json::json!({"months": [{"m": 1}], "deals": []});
        let err = pick_rows(value.clone(), None).unwrap_err();
        assert_eq!(err.name, "table");
        assert!(err.to_string().contains("months"), "{err}");
        assert_eq!(pick_rows(value, Some("months")).unwrap().len(), 1);
    }

    #[test]
    fn an_answer_with_one_list_needs_no_table() {
        // The data-driven report: one list (`channels`) beside its totals.
        let value = serde_json::json!({"model": "markov", "channels": [{"c": 1}, {"c": 2}]});
        assert_eq!(pick_rows(value, None).unwrap().len(), 2);
    }
}
