//! Long format: JSON rows as flat rows of dotted fields, and the columns of
//! an answer that declares none.
//!
//! A row whose first list field holds several values becomes one row per
//! value, the other fields repeated (a comparison's `models`, a duplicate
//! group's `person_ids`, a deal's `indicators`); an empty list leaves one row
//! with the list's fields empty. Any further list in the row is one cell, its
//! values joined by `;` (JSON text for objects). Nested objects become dotted
//! fields (`amount.amount_minor`); a row that is not an object is `value`.

use serde_json::{Map, Value};

use crate::{Cell, csv_header, csv_line};

/// The rows as flat maps from dotted field name to value, written long.
pub fn long_rows(values: &[Value]) -> Vec<Map<String, Value>> {
    values
        .iter()
        .flat_map(explode)
        .map(|row| {
            let mut flat = Map::new();
            let prefix = if row.is_object() { "" } else { "value" };
            flatten(prefix, &row, &mut flat);
            flat
        })
        .collect()
}

fn explode(row: &Value) -> Vec<Value> {
    let Value::Object(fields) = row else {
        return vec![row.clone()];
    };
    let Some(key) = fields
        .iter()
        .find(|(_, v)| v.is_array())
        .map(|(k, _)| k.clone())
    else {
        return vec![row.clone()];
    };
    let mut base = fields.clone();
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
    let items = match base.get_mut(&key).map(Value::take) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
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

fn flatten(prefix: &str, value: &Value, out: &mut Map<String, Value>) {
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
        // A list below the top level: its JSON text.
        Value::Array(_) => {
            out.insert(prefix.to_owned(), Value::String(value.to_string()));
        }
        leaf => {
            out.insert(prefix.to_owned(), leaf.clone());
        }
    }
}

/// The rows of an answer that declares no columns: every field seen, in
/// first-seen order, each cell typed by its JSON value.
#[derive(Debug, Clone, PartialEq)]
pub struct Inferred {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Inferred {
    /// The CSV text, as [`crate::Rows::csv`] writes declared rows.
    pub fn csv(&self) -> String {
        let mut out = csv_header(&self.columns) + "\n";
        for row in &self.rows {
            out.push_str(&csv_line(row));
            out.push('\n');
        }
        out
    }
}

/// The rows and columns of `values`, written long.
pub fn infer(values: &[Value]) -> Inferred {
    let flat = long_rows(values);
    let mut seen: Vec<&str> = Vec::new();
    for row in &flat {
        for name in row.keys() {
            if !seen.contains(&name.as_str()) {
                seen.push(name);
            }
        }
    }
    // A field that is null in one row and an object in another is the
    // object's columns, left empty.
    let columns: Vec<String> = seen
        .iter()
        .filter(|c| {
            let nested = format!("{c}.");
            !seen.iter().any(|other| other.starts_with(&nested))
        })
        .map(|c| (*c).to_owned())
        .collect();
    let rows = flat
        .iter()
        .map(|row| {
            columns
                .iter()
                .map(|c| row.get(c).map_or(Cell::Null(""), json_leaf))
                .collect()
        })
        .collect();
    Inferred { columns, rows }
}

/// A JSON leaf as the cell of its own type.
fn json_leaf(value: &Value) -> Cell {
    match value {
        Value::String(s) => Cell::Text(s.clone()),
        Value::Bool(b) => Cell::Bool(*b),
        Value::Number(n) => {
            if let Some(v) = n.as_i64() {
                Cell::Int(i128::from(v))
            } else if let Some(v) = n.as_u64() {
                Cell::Int(i128::from(v))
            } else {
                Cell::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        _ => Cell::Null(""),
    }
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
        assert_eq!(
            infer(&rows).csv(),
            "id,amount.amount_minor,amount.currency,rate,tags\n\
             a,150,EUR,undefined,\n\
             \"b, c\",,,0.5,1\n\
             \"b, c\",,,0.5,2\n"
        );
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
            infer(&rows).csv(),
            "campaign_id,models.model,models.conversions,tags\n\
             c1,first_touch,1.0,a;b\n\
             c1,last_touch,0.5,a;b\n\
             c2,,,\n"
        );
    }

    #[test]
    fn text_that_would_start_a_formula_is_neutralised_names_too() {
        let rows =
            vec![serde_json::json!({"name": "@SUM(A1)", "value": -12.5, "=HYPERLINK(1)": "x"})];
        assert_eq!(
            infer(&rows).csv(),
            "name,value,'=HYPERLINK(1)\n'@SUM(A1),-12.5,x\n"
        );
    }
}
