//! How touchline's reports are written, by the CLI and the API alike.
//!
//! A report declares its columns once ([`Column`]: a name, a type, whether a
//! value may be missing, and how a table shows it). Its rows are read from the
//! report's JSON answer ([`Rows::from_json`]): each column's name is the
//! dotted path of a field (`amount.amount_minor`), and a row whose first list
//! holds several values becomes one row per value (long format). The same
//! rows are then written as CSV ([`Rows::csv`]), as a text table for people
//! ([`Rows::table`]) or, by the CLI, as Parquet, so the CLI's `--format csv`
//! and the API's `format=csv` of one report and query are the same bytes.
//!
//! An answer without a declaration (a record's lists, the status) is written
//! by the same rules, its columns every field seen ([`infer`]).
//!
//! Machine formats keep full precision: a float is written as JSON writes it
//! (shortest text that reads back as the same `f64`), an amount as integer
//! minor units. Tables are for people: money grouped with its currency,
//! durations in days and hours, floats to two decimals. A CSV text cell never
//! starts a formula ([`csv_field`]).

mod cell;
mod csv;
mod long;
mod table;

pub use cell::{Cell, Column, Type, Unit};
pub use csv::{csv_field, csv_header, csv_line};
pub use long::{Inferred, infer, long_rows};
pub use table::{TextTable, money};

use touchline_core::Timestamp;

/// A declared column that a report's JSON does not fit: the declaration and
/// the answer type have parted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OutputError {
    /// The value is not of the column's type.
    #[error(
        "column {column}: {value} is not a {expected:?} value (a report's columns are declared wrong)"
    )]
    Mismatch {
        column: &'static str,
        value: String,
        expected: Type,
    },
    /// A time column holds text that is not an RFC 3339 instant.
    #[error("column {column}: {value:?} is not a time")]
    NotATime { column: &'static str, value: String },
}

/// A report's rows under its declared columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Rows {
    pub columns: &'static [Column],
    pub rows: Vec<Vec<Cell>>,
}

impl Rows {
    pub fn new(columns: &'static [Column]) -> Rows {
        Rows {
            columns,
            rows: Vec::new(),
        }
    }

    /// Adds a row: one cell per column, in the columns' order.
    pub fn push(&mut self, row: Vec<Cell>) {
        debug_assert_eq!(row.len(), self.columns.len(), "a cell per column");
        self.rows.push(row);
    }

    /// Typed rows from a report's JSON rows: written long ([`long_rows`]),
    /// then each column's value found by its dotted name and read as the
    /// column's type. A string in a number or time column is the engine's
    /// word for a missing value (`undefined`, `unknown`); it becomes a null
    /// that CSV writes as that word.
    pub fn from_json(
        columns: &'static [Column],
        values: &[serde_json::Value],
    ) -> Result<Rows, OutputError> {
        let mut rows = Rows::new(columns);
        for value in long_rows(values) {
            let row = columns
                .iter()
                .map(|column| {
                    let found = value.get(column.name).unwrap_or(&serde_json::Value::Null);
                    json_cell(column, found)
                })
                .collect::<Result<Vec<Cell>, OutputError>>()?;
            rows.push(row);
        }
        Ok(rows)
    }

    /// The whole CSV text: header and rows, each line ending in `\n`.
    pub fn csv(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        let mut out = csv_header(&names) + "\n";
        for row in &self.rows {
            out.push_str(&csv_line(row));
            out.push('\n');
        }
        out
    }

    /// The rows as a text table for people ([`Column::unit`] says how a
    /// value reads; columns hidden from tables are left out).
    pub fn table(&self) -> String {
        table::render(self)
    }
}

/// Words that only ever mean "no value" in a number or time column.
fn missing_word(text: &str) -> Option<&'static str> {
    ["undefined", "unknown", "-", ""]
        .into_iter()
        .find(|w| *w == text)
}

fn json_cell(column: &Column, value: &serde_json::Value) -> Result<Cell, OutputError> {
    use serde_json::Value;
    let mismatch = || OutputError::Mismatch {
        column: column.name,
        value: value.to_string(),
        expected: column.ty,
    };
    Ok(match (column.ty, value) {
        (_, Value::Null) => Cell::Null(""),
        (Type::Text, Value::String(s)) => Cell::Text(s.clone()),
        (Type::Time, Value::String(s)) => {
            match missing_word(s) {
                Some(word) => Cell::Null(word),
                None => Cell::Time(Timestamp::parse_rfc3339(s).ok_or_else(|| {
                    OutputError::NotATime {
                        column: column.name,
                        value: s.clone(),
                    }
                })?),
            }
        }
        (Type::Int | Type::UInt | Type::Float | Type::Bool, Value::String(s)) => {
            Cell::Null(missing_word(s).ok_or_else(mismatch)?)
        }
        (Type::Int | Type::UInt, Value::Number(n)) => {
            if let Some(v) = n.as_i64() {
                Cell::Int(i128::from(v))
            } else if let Some(v) = n.as_u64() {
                Cell::Int(i128::from(v))
            } else {
                return Err(mismatch());
            }
        }
        (Type::Float, Value::Number(n)) => Cell::Float(n.as_f64().ok_or_else(mismatch)?),
        (Type::Bool, Value::Bool(b)) => Cell::Bool(*b),
        _ => return Err(mismatch()),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const COLUMNS: &[Column] = &[
        Column::text("name"),
        Column::float("rate").nullable(),
        Column::float("share"),
        Column::int("amount.amount_minor"),
        Column::time("at").nullable(),
        Column::flag("need").nullable(),
    ];

    #[test]
    fn csv_writes_each_type_at_full_precision() {
        let mut rows = Rows::new(COLUMNS);
        rows.push(vec![
            "=1+1, a".into(),
            Cell::Float(0.126),
            Cell::Float(-0.0),
            Cell::Int(-5),
            Cell::Time(Timestamp::from_millis(1_767_225_600_000)),
            Cell::Bool(true),
        ]);
        rows.push(vec![
            "b".into(),
            Cell::Null("undefined"),
            Cell::Float(1.0 / 3.0),
            Cell::Int(7),
            Cell::Null(""),
            Cell::Null(""),
        ]);
        assert_eq!(
            rows.csv(),
            "name,rate,share,amount.amount_minor,at,need\n\
             \"'=1+1, a\",0.126,0.0,-5,2026-01-01T00:00:00.000Z,true\n\
             b,undefined,0.3333333333333333,7,,\n"
        );
    }

    #[test]
    fn json_rows_are_read_by_the_declared_types() {
        let values = vec![serde_json::json!({
            "name": "x",
            "rate": "unknown",
            "share": 0.5,
            "amount": {"amount_minor": 1200, "currency": "EUR"},
            "at": "2026-01-01T00:00:00.000Z",
            "need": null,
        })];
        let rows = Rows::from_json(COLUMNS, &values).unwrap();
        assert_eq!(
            rows.rows[0],
            vec![
                Cell::Text("x".into()),
                Cell::Null("unknown"),
                Cell::Float(0.5),
                Cell::Int(1200),
                Cell::Time(Timestamp::from_millis(1_767_225_600_000)),
                Cell::Null(""),
            ]
        );
        let wrong = vec![serde_json::json!({"name": 3})];
        let error = Rows::from_json(COLUMNS, &wrong).unwrap_err().to_string();
        assert!(
            error.starts_with("column name: 3 is not a Text value"),
            "{error}"
        );
    }

    #[test]
    fn declared_and_inferred_columns_write_the_same_csv() {
        // A declaration that names the answer's fields in order changes
        // nothing but the types Parquet gets: the API's CSV of an undeclared
        // answer is the CLI's of a declared one.
        let values = vec![serde_json::json!({"name": "-x", "rate": 0.25, "share": 1.0,
                "amount": {"amount_minor": 3, "currency": "EUR"}, "at": null, "need": false})];
        const DECLARED: &[Column] = &[
            Column::text("name"),
            Column::float("rate"),
            Column::float("share"),
            Column::int("amount.amount_minor"),
            Column::text("amount.currency"),
            Column::time("at").nullable(),
            Column::flag("need"),
        ];
        let declared = Rows::from_json(DECLARED, &values).unwrap().csv();
        assert_eq!(infer(&values).csv(), declared);
        assert_eq!(
            declared,
            "name,rate,share,amount.amount_minor,amount.currency,at,need\n'-x,0.25,1.0,3,EUR,,false\n"
        );
    }
}
