//! Reports as tables, CSV or JSON.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Subcommand, ValueEnum};
use touchline_attribution::{ConversionKind, Model};
use touchline_engine::{CampaignCredit, Queries};
use touchline_store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Credit per campaign for one model and conversion point.
    Attribution {
        /// The store directory.
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// first_touch or last_touch.
        #[arg(long, default_value = "first_touch", value_parser = parse_model)]
        model: Model,
        /// lead_created or opportunity_created.
        #[arg(long, default_value = "lead_created", value_parser = parse_conversion)]
        conversion: ConversionKind,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

fn parse_model(text: &str) -> Result<Model, String> {
    touchline_api::parse_model(text).map_err(|e| e.replace("parameter model: ", ""))
}

fn parse_conversion(text: &str) -> Result<ConversionKind, String> {
    touchline_api::parse_conversion(text).map_err(|e| e.replace("parameter conversion: ", ""))
}

pub fn run(command: ReportCommand) -> anyhow::Result<()> {
    match command {
        ReportCommand::Attribution {
            db,
            model,
            conversion,
            format,
        } => {
            if !db.exists() {
                anyhow::bail!(
                    "--db {}: no store there (run `touchline run` or `touchline demo --db` first)",
                    db.display()
                );
            }
            let store = Store::open(&db).with_context(|| {
                format!("--db {}: cannot open the store (is an engine running on it? query its API instead)", db.display())
            })?;
            let queries = Queries::new(Arc::new(store));
            let rows = queries.campaign_credits(model, conversion)?;
            print!("{}", render_credits(&rows, format, conversion));
            Ok(())
        }
    }
}

pub fn render_credits(rows: &[CampaignCredit], format: Format, kind: ConversionKind) -> String {
    let valued = kind == ConversionKind::OpportunityCreated;
    match format {
        Format::Json => serde_json::to_string_pretty(rows).unwrap_or_default() + "\n",
        Format::Csv => {
            let mut out = String::from(
                "campaign_id,campaign_name,channel,conversions,value_minor,currency\n",
            );
            for r in rows {
                out.push_str(&format!(
                    "{},{},{},{:.4},{},{}\n",
                    csv_field(&r.campaign_id),
                    csv_field(&r.campaign_name),
                    csv_field(&r.channel),
                    r.conversions,
                    r.value_minor,
                    r.currency.as_deref().unwrap_or("")
                ));
            }
            out
        }
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

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// `1234567` cents → `12,345.67 EUR`.
pub fn money(minor: i64, currency: Option<&str>) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in units.chars().enumerate() {
        if i > 0 && (units.len() - i) % 3 == 0 {
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
    fn csv_quotes_what_needs_quoting() {
        let rows = vec![CampaignCredit {
            campaign_id: "c1".into(),
            campaign_name: "Webinar: \"Deep\", part 2".into(),
            channel: "webinar".into(),
            conversions: 1.5,
            value_minor: 250,
            currency: Some("EUR".into()),
        }];
        assert_eq!(
            render_credits(&rows, Format::Csv, ConversionKind::OpportunityCreated),
            "campaign_id,campaign_name,channel,conversions,value_minor,currency\nc1,\"Webinar: \"\"Deep\"\", part 2\",webinar,1.5000,250,EUR\n"
        );
    }
}
