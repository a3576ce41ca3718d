//! A report's columns and the typed values of its rows.

use touchline_core::Timestamp;

/// A column's type, which is also its Parquet (Arrow) type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// Utf8.
    Text,
    /// Int64: amounts in minor units (with a currency column beside them)
    /// and other signed integers.
    Int,
    /// UInt64: counts, versions, log positions.
    UInt,
    /// Float64: shares, credits (fractional conversions), rates, scores.
    Float,
    /// Boolean; CSV writes `true` or `false`, as JSON does.
    Bool,
    /// Timestamp(Millisecond, UTC); CSV writes RFC 3339 with milliseconds.
    Time,
}

/// How a table shows a column's values to people (CSV and Parquet keep the
/// value as it is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// By its type: floats to two decimals, times to the minute.
    Plain,
    /// Minor units as money (`12,345.67 EUR`), the currency from the named
    /// column of the same row, or none.
    Money { currency: Option<&'static str> },
    /// Milliseconds as days and hours (`3d 4h`).
    Millis,
    /// A share of 1 as a percentage (`12.5%`).
    Percent,
}

/// One column of a report: its name is the dotted path of the JSON field,
/// the CSV header and the Parquet field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub ty: Type,
    /// Whether a row may lack a value (a Parquet null). A column that is not
    /// nullable is `required` in the Parquet schema, which a reader can rely on.
    pub nullable: bool,
    pub unit: Unit,
    /// The table's header for it; `None`: the name, `_` as spaces.
    pub label: Option<&'static str>,
    /// Whether tables show it (CSV and Parquet always do): ids and
    /// currencies beside money would only widen a table.
    pub in_table: bool,
    /// Whether a table leaves it out when every row's value is missing or
    /// zero (a value column of a conversion point that has no value, e.g.
    /// a person's); CSV and Parquet keep it.
    pub hidden_when_blank: bool,
}

impl Column {
    const fn of(name: &'static str, ty: Type) -> Column {
        Column {
            name,
            ty,
            nullable: false,
            unit: Unit::Plain,
            label: None,
            in_table: true,
            hidden_when_blank: false,
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

    /// An amount in minor units, its currency in the column `currency`.
    pub const fn money(name: &'static str, currency: &'static str) -> Column {
        Column {
            unit: Unit::Money {
                currency: Some(currency),
            },
            ..Column::of(name, Type::Int)
        }
    }

    /// An amount in minor units of no single currency column.
    pub const fn amount(name: &'static str) -> Column {
        Column {
            unit: Unit::Money { currency: None },
            ..Column::of(name, Type::Int)
        }
    }

    pub const fn nullable(self) -> Column {
        Column {
            nullable: true,
            ..self
        }
    }

    pub const fn unit(self, unit: Unit) -> Column {
        Column { unit, ..self }
    }

    pub const fn label(self, label: &'static str) -> Column {
        Column {
            label: Some(label),
            ..self
        }
    }

    /// Left out of a table whose rows all lack it or hold zero.
    pub const fn hidden_when_blank(self) -> Column {
        Column {
            hidden_when_blank: true,
            ..self
        }
    }

    pub const fn not_in_table(self) -> Column {
        Column {
            in_table: false,
            ..self
        }
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A missing value: a Parquet null, and in CSV nothing or the engine's
    /// word for it (`undefined`, `unknown`).
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
