//! The typed rows of a list report, and their CSV form.
//!
//! Each list report declares its columns once (name, type, whether a value may
//! be missing, how many decimals its CSV shows) and builds its rows as typed
//! cells. The CSV output ([`Rows::csv_lines`]) and the Parquet output
//! (`crate::parquet`) both read these rows, so the two cannot disagree on a
//! column's name, its order or a value: CSV writes a cell as text, Parquet
//! keeps its type. Where CSV rounds a float for reading (`overdue_hours` to
//! one decimal), Parquet keeps the full value; where CSV writes a word for a
//! missing value (`-`, `?`, `undefined`), Parquet writes a null.

use anyhow::Context;
use touchline_core::Timestamp;

use crate::output::csv_field;

/// A column's type, which is also its Parquet (Arrow) type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Type {
    /// Utf8.
    Text,
    /// Int64: amounts in minor units (with a currency column beside them)
    /// and other signed integers.
    Int,
    /// UInt64: counts, versions, log positions.
    UInt,
    /// Float64: shares, credits (fractional conversions), rates, scores.
    Float,
    /// Boolean; CSV writes `yes` or `no`.
    Bool,
    /// Timestamp(Millisecond, UTC); CSV writes RFC 3339 with milliseconds.
    Time,
}

/// One column of a report: its name is the CSV header and the Parquet field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Column {
    pub name: &'static str,
    pub ty: Type,
    /// Whether a row may lack a value (a Parquet null). A column that is not
    /// nullable is `required` in the Parquet schema, which a reader can rely on.
    pub nullable: bool,
    /// Decimals CSV shows for a float (the report's historical rounding);
    /// `None` writes the shortest text that reads back as the same f64.
    pub decimals: Option<usize>,
}

impl Column {
    const fn of(name: &'static str, ty: Type) -> Column {
        Column {
            name,
            ty,
            nullable: false,
            decimals: None,
        }
    }

    pub const fn text(name: &'static str) -> Column {
        Column::of(name, Type::Text)
    }

    pub const fn int(name: &'static str) -> Column {
        Column::of(name, Type::Int)
    }

    pub const fn uint(name: &'static str) -> Column {
        Column::of(name, Type::UInt)
    }

    pub const fn float(name: &'static str) -> Column {
        Column::of(name, Type::Float)
    }

    pub const fn flag(name: &'static str) -> Column {
        Column::of(name, Type::Bool)
    }

    pub const fn time(name: &'static str) -> Column {
        Column::of(name, Type::Time)
    }

    pub const fn nullable(self) -> Column {
        Column {
            nullable: true,
            ..self
        }
    }

    pub const fn decimals(self, decimals: usize) -> Column {
        Column {
            decimals: Some(decimals),
            ..self
        }
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// A missing value: a Parquet null, and in CSV the word the report has
    /// always written for it (`""`, `-`, `?`, `undefined`, `unknown`).
    Null(&'static str),
    Text(String),
    /// Any integer; the column's type says Int64 or UInt64, and a value that
    /// does not fit is refused when the Parquet file is written. (Sums of
    /// amounts are `i128` and cannot wrap; they fit an Int64 in practice.)
    Int(i128),
    Float(f64),
    Bool(bool),
    Time(Timestamp),
}

impl Cell {
    /// `value`, or a null written as `null_text` in CSV.
    pub fn or<T: Into<Cell>>(value: Option<T>, null_text: &'static str) -> Cell {
        value.map_or(Cell::Null(null_text), Into::into)
    }

    /// `value`, or a null written as nothing in CSV.
    pub fn opt<T: Into<Cell>>(value: Option<T>) -> Cell {
        Cell::or(value, "")
    }

    /// A float the engine may call `undefined` or `unknown` (a ratio with a
    /// zero denominator): a null, with the engine's word in CSV.
    pub fn ratio(ratio: touchline_engine::Ratio) -> Cell {
        match ratio {
            touchline_engine::Ratio::Value(v) => Cell::Float(v),
            // The engine's own word for it (`undefined`, `unknown`).
            touchline_engine::Ratio::Undefined(_) => {
                Cell::Null(missing_word(&ratio.to_string()).unwrap_or("undefined"))
            }
        }
    }

    /// The cell's CSV text under `column`.
    fn csv(&self, column: &Column) -> String {
        match self {
            Cell::Null(text) => (*text).to_owned(),
            Cell::Text(text) => csv_field(text),
            Cell::Int(v) => v.to_string(),
            Cell::Float(f) => match column.decimals {
                Some(decimals) => format!("{f:.decimals$}"),
                // `+ 0.0` writes -0.0 as 0.
                None => (f + 0.0).to_string(),
            },
            Cell::Bool(true) => "yes".to_owned(),
            Cell::Bool(false) => "no".to_owned(),
            Cell::Time(t) => t.to_string(),
        }
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Cell {
        Cell::Text(text)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Cell {
        Cell::Text(text.to_owned())
    }
}

impl From<&String> for Cell {
    fn from(text: &String) -> Cell {
        Cell::Text(text.clone())
    }
}

macro_rules! int_cells {
    ($($t:ty),*) => {$(
        impl From<$t> for Cell {
            fn from(v: $t) -> Cell {
                Cell::Int(i128::from(v))
            }
        }
    )*};
}
int_cells!(u8, u32, u64, i64, i128);

impl From<usize> for Cell {
    fn from(v: usize) -> Cell {
        // usize is at most 64 bits on every target Rust supports.
        Cell::Int(v as i128)
    }
}

impl From<f64> for Cell {
    fn from(v: f64) -> Cell {
        Cell::Float(v)
    }
}

impl From<bool> for Cell {
    fn from(v: bool) -> Cell {
        Cell::Bool(v)
    }
}

impl From<Timestamp> for Cell {
    fn from(t: Timestamp) -> Cell {
        Cell::Time(t)
    }
}

/// A report's rows under its columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Rows {
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

    /// Typed rows from serialized ones: each column's value is found by its
    /// name (a dotted name reaches into a nested object) and read as the
    /// column's type. A string in a number column is the engine's word for a
    /// missing value (`undefined`, `unknown`); it becomes a null.
    pub fn from_json(
        columns: &'static [Column],
        values: &[serde_json::Value],
    ) -> anyhow::Result<Rows> {
        let mut rows = Rows::new(columns);
        for value in values {
            let row = columns
                .iter()
                .map(|column| {
                    let found = column
                        .name
                        .split('.')
                        .try_fold(value, |v, key| v.get(key))
                        .unwrap_or(&serde_json::Value::Null);
                    json_cell(column, found)
                })
                .collect::<anyhow::Result<Vec<Cell>>>()?;
            rows.push(row);
        }
        Ok(rows)
    }

    /// The CSV header line, without a line break.
    pub fn csv_header(columns: &[Column]) -> String {
        columns.iter().map(|c| c.name).collect::<Vec<_>>().join(",")
    }

    /// One CSV line of a row, without a line break.
    pub fn csv_line(columns: &[Column], row: &[Cell]) -> String {
        columns
            .iter()
            .zip(row)
            .map(|(column, cell)| cell.csv(column))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The whole CSV text: header and rows, each line ending in `\n`.
    pub fn csv_lines(&self) -> String {
        let mut out = Rows::csv_header(self.columns) + "\n";
        for row in &self.rows {
            out.push_str(&Rows::csv_line(self.columns, row));
            out.push('\n');
        }
        out
    }
}

/// Words that only ever mean "no value" in a number or time column.
fn missing_word(text: &str) -> Option<&'static str> {
    ["undefined", "unknown", "-", ""]
        .into_iter()
        .find(|w| *w == text)
}

fn json_cell(column: &Column, value: &serde_json::Value) -> anyhow::Result<Cell> {
    use serde_json::Value;
    let mismatch = || {
        anyhow::anyhow!(
            "column {}: {value} is not a {:?} value (a report's columns are declared wrong)",
            column.name,
            column.ty
        )
    };
    Ok(match (column.ty, value) {
        (_, Value::Null) => Cell::Null(""),
        (Type::Text, Value::String(s)) => Cell::Text(s.clone()),
        (Type::Time, Value::String(s)) => match missing_word(s) {
            Some(word) => Cell::Null(word),
            None => Cell::Time(
                Timestamp::parse_rfc3339(s)
                    .with_context(|| format!("column {}: {s:?} is not a time", column.name))?,
            ),
        },
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
        Column::float("rate").decimals(2).nullable(),
        Column::float("share"),
        Column::int("amount.amount_minor"),
        Column::time("at").nullable(),
        Column::flag("need").nullable(),
    ];

    #[test]
    fn csv_writes_each_type_as_the_reports_always_have() {
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
            Cell::Null("?"),
        ]);
        assert_eq!(
            rows.csv_lines(),
            "name,rate,share,amount.amount_minor,at,need\n\
             \"'=1+1, a\",0.13,0,-5,2026-01-01T00:00:00.000Z,yes\n\
             b,undefined,0.3333333333333333,7,,?\n"
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
}
