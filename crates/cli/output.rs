//! How reports print: a text table, CSV or JSON on standard output, or a
//! Parquet file (`--output`). The table, CSV and Parquet are written from the
//! same typed rows ([`touchline_report_output::Rows`]), read from the
//! report's JSON by its declared columns.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use touchline_report_output::{Cell, Column, Rows, csv_header, csv_line};
pub(crate) use touchline_report_output::{TextTable, money};

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
                let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
                println!("{}", csv_header(&names));
                Ok(RowSink::Csv)
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
    Csv,
    Parquet(Box<crate::parquet::Writer>),
}

impl RowSink {
    pub fn write(&mut self, rows: &[Vec<Cell>]) -> anyhow::Result<()> {
        match self {
            RowSink::Csv => {
                for row in rows {
                    println!("{}", csv_line(row));
                }
                Ok(())
            }
            RowSink::Parquet(writer) => writer.write(rows),
        }
    }

    pub fn finish(self) -> anyhow::Result<()> {
        match self {
            RowSink::Csv => Ok(()),
            RowSink::Parquet(writer) => writer.finish(),
        }
    }
}
