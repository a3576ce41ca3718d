//! Text tables for people: left-aligned text, right-aligned numbers, money
//! with its currency, durations in days and hours.

use crate::{Cell, Column, Rows, Type, Unit};

/// `1234567` cents → `12,345.67 EUR`.
pub fn money(minor: impl Into<i128>, currency: Option<&str>) -> String {
    let minor: i128 = minor.into();
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!(
        "{sign}{grouped}.{:02} {}",
        abs % 100,
        currency.unwrap_or("")
    )
    .trim_end()
    .to_owned()
}

/// Milliseconds as people read a delay: `12d 3h`, `5h 20m`, `45s`.
fn duration(ms: i128) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let secs = ms.unsigned_abs() / 1000;
    let (days, hours, minutes) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
    if days > 0 {
        format!("{sign}{days}d {hours}h")
    } else if hours > 0 {
        format!("{sign}{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{sign}{minutes}m {}s", secs % 60)
    } else {
        format!("{sign}{secs}s")
    }
}

/// Two decimals, never `-0.00`.
fn two_decimals(f: f64) -> String {
    let text = format!("{:.2}", f + 0.0);
    if text == "-0.00" {
        "0.00".to_owned()
    } else {
        text
    }
}

/// A cell as a table shows it under `column` (`row` for the currency).
fn shown(column: &Column, cell: &Cell, row: &[Cell], columns: &[Column]) -> String {
    match (cell, column.unit) {
        (Cell::Null(""), _) if column.ty != Type::Text => "-".to_owned(),
        (Cell::Null(word), _) => (*word).to_owned(),
        (Cell::Int(minor), Unit::Money { currency }) => {
            let currency = currency
                .and_then(|name| columns.iter().position(|c| c.name == name))
                .and_then(|i| match &row[i] {
                    Cell::Text(code) => Some(code.as_str()),
                    _ => None,
                });
            money(*minor, currency)
        }
        (Cell::Int(ms), Unit::Millis) => duration(*ms),
        (Cell::Float(f), Unit::Percent) => format!("{}%", two_decimals(f * 100.0)),
        (Cell::Float(f), Unit::Money { .. }) => money(f.round() as i128, None),
        (Cell::Text(text), _) => text.clone(),
        (Cell::Int(v), _) => v.to_string(),
        (Cell::Float(f), _) => two_decimals(*f),
        (Cell::Bool(b), _) => if *b { "yes" } else { "no" }.to_owned(),
        // To the minute: a table is read, not parsed.
        (Cell::Time(t), _) => {
            let text = t.to_string();
            text.get(..16).map_or(text.clone(), |s| s.replace('T', " "))
        }
    }
}

/// Whether a cell says nothing: missing, or a zero.
fn blank(cell: &Cell) -> bool {
    match cell {
        Cell::Null(_) => true,
        Cell::Int(v) => *v == 0,
        Cell::Float(f) => *f == 0.0,
        Cell::Text(text) => text.is_empty(),
        Cell::Bool(_) | Cell::Time(_) => false,
    }
}

pub(crate) fn render(rows: &Rows) -> String {
    let shown_columns: Vec<usize> = (0..rows.columns.len())
        .filter(|&i| {
            let column = &rows.columns[i];
            column.in_table
                && !(column.hidden_when_blank && rows.rows.iter().all(|row| blank(&row[i])))
        })
        .collect();
    let header: Vec<String> = shown_columns
        .iter()
        .map(|&i| {
            let c = &rows.columns[i];
            c.label
                .map_or_else(|| c.name.replace(['_', '.'], " "), str::to_owned)
        })
        .collect();
    let mut table = TextTable::new(header.iter().map(String::as_str).collect());
    for row in &rows.rows {
        table.row(
            shown_columns
                .iter()
                .map(|&i| shown(&rows.columns[i], &row[i], row, rows.columns))
                .collect(),
        );
    }
    table.render()
}

/// A plain text table: left-aligned text, right-aligned numbers.
#[derive(Debug)]
pub struct TextTable {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl TextTable {
    pub fn new(header: Vec<&str>) -> Self {
        TextTable {
            header: header.into_iter().map(str::to_owned).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    pub fn render(&self) -> String {
        let columns = self.header.len();
        let width = |i: usize| {
            self.rows
                .iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .chain([self.header[i].chars().count()])
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..columns).map(width).collect();
        let numeric = |text: &str| text.starts_with(|c: char| c.is_ascii_digit() || c == '-');
        let line = |cells: &[String]| {
            let mut out = String::new();
            for (i, w) in widths.iter().enumerate() {
                let cell = cells.get(i).map_or("", String::as_str);
                let pad = w - cell.chars().count();
                if i > 0 {
                    out.push_str("  ");
                }
                if i > 0 && numeric(cell) {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                } else {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad));
                }
            }
            out.trim_end().to_owned() + "\n"
        };
        let mut out = line(&self.header);
        out.push_str(&line(
            &widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>(),
        ));
        for row in &self.rows {
            out.push_str(&line(row));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use touchline_core::Timestamp;

    #[test]
    fn money_groups_thousands_and_keeps_cents() {
        assert_eq!(money(1_234_567, Some("EUR")), "12,345.67 EUR");
        assert_eq!(money(-5, Some("USD")), "-0.05 USD");
        assert_eq!(money(100_000_000, None), "1,000,000.00");
    }

    #[test]
    fn a_table_shows_money_durations_and_times_for_people() {
        const COLUMNS: &[Column] = &[
            Column::text("id").not_in_table(),
            Column::money("cost_minor", "currency").label("cost"),
            Column::text("currency").not_in_table(),
            Column::int("overdue_ms")
                .unit(Unit::Millis)
                .label("overdue"),
            Column::float("rate").unit(Unit::Percent),
            Column::float("score").nullable(),
            Column::time("at"),
        ];
        let mut rows = Rows::new(COLUMNS);
        rows.push(vec![
            "c1".into(),
            Cell::Int(1_234_567),
            "EUR".into(),
            Cell::Int(27_700_997_910),
            Cell::Float(0.125),
            Cell::Float(-0.001),
            Cell::Time(Timestamp::from_millis(1_767_225_600_000)),
        ]);
        rows.push(vec![
            "c2".into(),
            Cell::Int(5),
            "USD".into(),
            Cell::Int(90_000),
            Cell::Null("undefined"),
            Cell::Null(""),
            Cell::Time(Timestamp::from_millis(0)),
        ]);
        assert_eq!(
            rows.table(),
            "cost           overdue   rate       score  at\n\
             -------------  --------  ---------  -----  ----------------\n\
             12,345.67 EUR  320d 14h     12.50%   0.00  2026-01-01 00:00\n\
             0.05 USD         1m 30s  undefined      -  1970-01-01 00:00\n"
        );
    }

    #[test]
    fn a_table_leaves_out_a_value_column_with_nothing_in_it() {
        // A person's conversion has no value: the table does not show a
        // column of zeros for it, the CSV keeps it.
        const COLUMNS: &[Column] = &[
            Column::text("campaign"),
            Column::float("conversions"),
            Column::money("value_minor", "currency")
                .label("value")
                .hidden_when_blank(),
            Column::text("currency").nullable().not_in_table(),
        ];
        let mut rows = Rows::new(COLUMNS);
        rows.push(vec![
            "a".into(),
            Cell::Float(1.5),
            Cell::Int(0),
            Cell::Null(""),
        ]);
        rows.push(vec![
            "b".into(),
            Cell::Float(0.0),
            Cell::Int(0),
            Cell::Null(""),
        ]);
        assert_eq!(
            rows.table(),
            "campaign  conversions\n--------  -----------\na                1.50\nb                0.00\n"
        );
        assert_eq!(
            rows.csv(),
            "campaign,conversions,value_minor,currency\na,1.5,0,\nb,0.0,0,\n"
        );
        rows.push(vec![
            "c".into(),
            Cell::Float(1.0),
            Cell::Int(250),
            "EUR".into(),
        ]);
        assert!(
            rows.table().starts_with("campaign  conversions  value\n"),
            "{}",
            rows.table()
        );
    }
}
