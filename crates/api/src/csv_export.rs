//! `?format=csv` on any list answer: the JSON rows flattened into CSV, for
//! spreadsheets and SQL loaders. Nested objects become dotted columns
//! (`amount.amount_minor`), arrays their JSON text; the columns are every key
//! seen, in first-seen order. An answer with several lists (e.g. the forecast's
//! `months` and `deals`) needs `table=` to pick one.
//!
//! Text is data, never a formula: a cell from a JSON string (or a column name)
//! that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a `'`
//! in front (OWASP, "CSV Injection"), so a spreadsheet shows it as text instead
//! of evaluating it. JSON numbers are written as they are, so `-12.5` stays a
//! number.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{Query, Request};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

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
    let rows = match pick_rows(value, params.get("table").map(String::as_str)) {
        Ok(rows) => rows,
        Err(e) => return bad_request(e),
    };
    match to_csv(&rows) {
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

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&name, field, out);
            }
        }
        Value::Null => out.push((prefix.to_owned(), String::new())),
        Value::String(s) => out.push((prefix.to_owned(), as_text(s))),
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

/// Text a spreadsheet will not evaluate: a leading `'` before a character that
/// would start a formula (OWASP's list: `=`, `+`, `-`, `@`, tab, carriage return).
fn as_text(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// Long format: a row whose first list field holds several values becomes one
/// row per value, the other fields repeated (a comparison's `models`, a
/// duplicate group's `person_ids`); an empty list leaves one row with the field
/// empty. Any further list in the row is written in one cell, its values joined
/// by `;` (JSON text for objects).
fn explode(row: Value) -> Vec<Value> {
    let Value::Object(fields) = row else {
        return vec![row];
    };
    let Some(key) = fields
        .iter()
        .find(|(_, v)| v.is_array())
        .map(|(k, _)| k.clone())
    else {
        return vec![Value::Object(fields)];
    };
    let mut base = fields;
    for (k, v) in base.iter_mut() {
        if *k != key
            && let Value::Array(items) = v
        {
            let joined: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            *v = Value::String(joined.join(";"));
        }
    }
    let Some(Value::Array(items)) = base.get(&key).cloned() else {
        return vec![Value::Object(base)];
    };
    if items.is_empty() {
        base.insert(key, Value::Null);
        return vec![Value::Object(base)];
    }
    items
        .into_iter()
        .map(|item| {
            let mut row = base.clone();
            row.insert(key.clone(), item);
            Value::Object(row)
        })
        .collect()
}

fn to_csv(rows: &[Value]) -> Result<String, csv::Error> {
    let rows: Vec<Value> = rows.iter().cloned().flat_map(explode).collect();
    let flat: Vec<Vec<(String, String)>> = rows
        .iter()
        .map(|row| {
            let mut cells = Vec::new();
            flatten(if row.is_object() { "" } else { "value" }, row, &mut cells);
            cells
        })
        .collect();
    let mut columns: Vec<&str> = Vec::new();
    for cells in &flat {
        for (name, _) in cells {
            if !columns.contains(&name.as_str()) {
                columns.push(name);
            }
        }
    }
    // A field that is null in one row and an object in another is the object's
    // columns, left empty.
    let nested: Vec<String> = columns.iter().map(|c| format!("{c}.")).collect();
    let columns: Vec<&str> = columns
        .iter()
        .filter(|c| {
            !nested
                .iter()
                .any(|n| n.len() > c.len() + 1 && n.starts_with(&format!("{c}.")))
        })
        .copied()
        .collect();
    let mut writer = csv::Writer::from_writer(Vec::new());
    // Column names come from the answer's keys, some of which may be data.
    writer.write_record(columns.iter().map(|c| as_text(c)))?;
    for cells in &flat {
        let lookup: HashMap<&str, &str> = cells
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        writer.write_record(columns.iter().map(|c| lookup.get(c).copied().unwrap_or("")))?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn nested_rows_flatten_into_dotted_columns() {
        let rows = vec![
            serde_json::json!({"id": "a", "amount": {"amount_minor": 150, "currency": "EUR"}, "rate": "undefined"}),
            serde_json::json!({"id": "b, c", "amount": null, "tags": [1, 2], "rate": 0.5}),
        ];
        expect_test::expect![[r#"
            id,amount.amount_minor,amount.currency,rate,tags
            a,150,EUR,undefined,
            "b, c",,,0.5,1
            "b, c",,,0.5,2
        "#]]
        .assert_eq(&to_csv(&rows).unwrap());
    }

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
        let text = to_csv(&rows).unwrap();
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
    fn lists_in_a_row_are_written_long() {
        let rows = vec![
            serde_json::json!({"campaign_id": "c1", "models": [
                {"model": "first_touch", "conversions": 1.0},
                {"model": "last_touch", "conversions": 0.5}
            ], "tags": ["a", "b"]}),
            serde_json::json!({"campaign_id": "c2", "models": [], "tags": []}),
        ];
        assert_eq!(
            to_csv(&rows).unwrap(),
            "campaign_id,models.model,models.conversions,tags\n\
             c1,first_touch,1.0,a;b\n\
             c1,last_touch,0.5,a;b\n\
             c2,,,\n"
        );
    }

    #[test]
    fn an_answer_with_one_list_needs_no_table() {
        // The data-driven report: one list (`channels`) beside its totals.
        let value = serde_json::json!({"model": "markov", "channels": [{"c": 1}, {"c": 2}]});
        assert_eq!(pick_rows(value, None).unwrap().len(), 2);
    }
}
