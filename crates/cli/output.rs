//! How reports print: a text table, CSV or JSON on standard output, or a
//! Parquet file (`--output`). CSV and Parquet are written from the same typed
//! rows ([`crate::rows`]); the table and JSON from the report's own types.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use touchline_attribution::ConversionKind;
use touchline_engine::CampaignCredit;

use crate::rows::{Cell, Column, Rows};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Parquet,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = self.to_possible_value().map(|v| v.get_name().to_owned());
        f.write_str(name.as_deref().unwrap_or("?"))
    }
}

/// `--format` and `--output`, which every list report takes.
#[derive(Debug, Clone, Args)]
pub(crate) struct OutputArgs {
    /// table, csv or json on standard output; parquet writes a typed file
    /// (columns as the CSV's) and needs --output.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// The file --format parquet writes; it appears only once complete,
    /// replacing any file of that name. `-` writes to standard output, which
    /// must then not be a terminal.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl OutputArgs {
    /// Checks the pair and opens a Parquet destination before the report
    /// runs, so a bad or unwritable `--output` fails before any work.
    pub fn open(self) -> anyhow::Result<Out> {
        let parquet = match (self.format, self.output) {
            (Format::Parquet, Some(path)) => Some(crate::parquet::Target::open(&path)?),
            (Format::Parquet, None) => anyhow::bail!(
                "--format parquet writes a file: name it with --output FILE \
                 (or --output - for a pipe); Parquet is binary, so it is never printed"
            ),
            (format, Some(_)) => anyhow::bail!(
                "--output is for --format parquet; --format {format} prints to standard output \
                 (redirect it to a file with >)"
            ),
            (_, None) => None,
        };
        Ok(Out {
            format: self.format,
            parquet,
        })
    }
}

/// Where a report goes: its format, and for Parquet the opened file.
#[derive(Debug)]
pub(crate) struct Out {
    pub format: Format,
    parquet: Option<crate::parquet::Target>,
}

impl Out {
    /// Starts writing rows of `columns` as CSV (the header now) or Parquet.
    pub fn sink(self, columns: &'static [Column]) -> anyhow::Result<RowSink> {
        match (self.format, self.parquet) {
            (Format::Csv, _) => {
                println!("{}", Rows::csv_header(columns));
                Ok(RowSink::Csv(columns))
            }
            (Format::Parquet, Some(target)) => Ok(RowSink::Parquet(Box::new(
                crate::parquet::Writer::new(target, columns)?,
            ))),
            (format, _) => anyhow::bail!("--format {format} is not written as rows"),
        }
    }

    /// Writes a whole report's rows as CSV or Parquet.
    pub fn rows(self, rows: Rows) -> anyhow::Result<()> {
        let mut sink = self.sink(rows.columns)?;
        sink.write(&rows.rows)?;
        sink.finish()
    }
}

/// Rows on their way out, a batch at a time (the credit sets can be many).
#[derive(Debug)]
pub(crate) enum RowSink {
    Csv(&'static [Column]),
    Parquet(Box<crate::parquet::Writer>),
}

impl RowSink {
    pub fn write(&mut self, rows: &[Vec<Cell>]) -> anyhow::Result<()> {
        match self {
            RowSink::Csv(columns) => {
                for row in rows {
                    println!("{}", Rows::csv_line(columns, row));
                }
                Ok(())
            }
            RowSink::Parquet(writer) => writer.write(rows),
        }
    }

    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            RowSink::Csv(_) => Ok(()),
            RowSink::Parquet(writer) => writer.finish(),
        }
    }
}

/// `report attribution`'s rows by campaign.
pub(crate) const CREDIT_COLUMNS: &[Column] = &[
    Column::text("campaign_id"),
    Column::text("campaign_name"),
    Column::text("channel"),
    Column::float("conversions"),
    Column::int("value_minor"),
    Column::text("currency").nullable(),
];

pub(crate) fn credit_rows(rows: &[CampaignCredit]) -> Rows {
    let mut out = Rows::new(CREDIT_COLUMNS);
    for r in rows {
        out.push(vec![
            (&r.campaign_id).into(),
            (&r.campaign_name).into(),
            (&r.channel).into(),
            r.conversions.into(),
            r.value_minor.into(),
            Cell::opt(r.currency.as_deref()),
        ]);
    }
    out
}

/// `report attribution` by campaign as a table or JSON.
pub fn render_credits(rows: &[CampaignCredit], format: Format, kind: ConversionKind) -> String {
    let valued = !kind.is_person();
    match format {
        Format::Json => serde_json::to_string_pretty(rows).unwrap_or_default() + "\n",
        Format::Csv | Format::Parquet => credit_rows(rows).csv_lines(),
        Format::Table => {
            let mut table = TextTable::new(if valued {
                vec!["campaign", "channel", "conversions", "value"]
            } else {
                vec!["campaign", "channel", "conversions"]
            });
            for r in rows {
                let mut row = vec![
                    r.campaign_name.clone(),
                    r.channel.clone(),
                    format!("{:.2}", r.conversions),
                ];
                if valued {
                    row.push(money(r.value_minor, r.currency.as_deref()));
                }
                table.row(row);
            }
            table.render()
        }
    }
}

/// A CSV cell: quoted when it holds a separator, a quote or a line break; text
/// that would start a formula (`=`, `+`, `-`, `@`, tab, carriage return) gets a
/// `'` in front (OWASP, "CSV Injection"). Numbers such as `-12.5` stay numbers.
pub(crate) fn csv_field(text: &str) -> String {
    let is_number = |t: &str| {
        let digits = t.strip_prefix('-').unwrap_or(t);
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
        [whole, fraction]
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    };
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_number(text) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// `1234567` cents → `12,345.67 EUR`.
pub fn money(minor: impl Into<touchline_engine::MinorTotal>, currency: Option<&str>) -> String {
    let minor: touchline_engine::MinorTotal = minor.into();
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

/// A plain text table: left-aligned text, right-aligned numbers.
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

/// Prints rows as a table of the named columns (a dotted name reaches into a
/// nested object) or as JSON with every field; CSV and Parquet read the same
/// columns as the types they are declared with.
pub(crate) fn emit<T: serde::Serialize>(
    rows: &[T],
    columns: &'static [Column],
    out: Out,
) -> anyhow::Result<()> {
    if out.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(rows)?);
        return Ok(());
    }
    let values: Vec<serde_json::Value> = rows
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    if matches!(out.format, Format::Csv | Format::Parquet) {
        return out.rows(Rows::from_json(columns, &values)?);
    }
    let cell = |row: &serde_json::Value, column: &str| -> String {
        let value = column
            .split('.')
            .try_fold(row, |v, key| v.get(key))
            .unwrap_or(&serde_json::Value::Null);
        match value {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            // A table is for people: four decimals at most.
            serde_json::Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() => {
                    let text = format!("{f:.4}");
                    let text = text.trim_end_matches('0').trim_end_matches('.');
                    if text == "-0" {
                        "0".to_owned()
                    } else {
                        text.to_owned()
                    }
                }
                _ => n.to_string(),
            },
            other => other.to_string(),
        }
    };
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    let mut table = TextTable::new(names.clone());
    for row in &values {
        table.row(names.iter().map(|c| cell(row, c)).collect());
    }
    print!("{}", table.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_groups_thousands_and_keeps_cents() {
        assert_eq!(money(1_234_567, Some("EUR")), "12,345.67 EUR");
        assert_eq!(money(-5, Some("USD")), "-0.05 USD");
        assert_eq!(money(100_000_000, None), "1,000,000.00");
    }

    #[test]
    fn csv_text_never_starts_a_formula_and_numbers_stay() {
        assert_eq!(csv_field("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("@x"), "'@x");
        assert_eq!(csv_field("-x"), "'-x");
        assert_eq!(csv_field("-1+2"), "'-1+2");
        assert_eq!(csv_field("\t1"), "'\t1");
        assert_eq!(csv_field("\r=1"), "\"'\r=1\"");
        assert_eq!(csv_field("=\"a\",b"), "\"'=\"\"a\"\",b\"");
        assert_eq!(csv_field("-12.5"), "-12.5");
        assert_eq!(csv_field("-3"), "-3");
        assert_eq!(csv_field("a-b"), "a-b");
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(
            render_credits(&[], Format::Csv, ConversionKind::OpportunityCreated),
            "campaign_id,campaign_name,channel,conversions,value_minor,currency\n"
        );
        let rows = vec![CampaignCredit {
            campaign_id: "c1".into(),
            campaign_name: "Webinar: \"Deep\", part 2".into(),
            channel: "webinar".into(),
            conversions: 1.5,
            value_minor: 250,
            currency: Some("EUR".into()),
        }];
        assert_eq!(
            credit_rows(&rows).csv_lines(),
            "campaign_id,campaign_name,channel,conversions,value_minor,currency\nc1,\"Webinar: \"\"Deep\"\", part 2\",webinar,1.5,250,EUR\n"
        );
    }
}
