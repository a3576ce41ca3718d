//! `touchline attribution ...`: data-driven models, every model side by side;
//! the credits as of a past instant are [`crate::as_of`], what-if
//! [`crate::what_if`].
//!
//! `data-driven` and `compare` (per campaign) are their API routes on the
//! command line, as the `report` commands are ([`crate::report_routes`]):
//! the flags become the route's parameters, the route's parsers check them,
//! and the rows are written by the columns the route declares, so `--format
//! csv` is the bytes of the API's `format=csv` and `--format json` its JSON.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use serde_json::Value;

use crate::args::open_queries;
use crate::output::{Format, Out, OutputArgs, TextTable, money};
use crate::report_routes::{RouteCommand, declared_rows, fetch, given};
use touchline_report_output::{Cell, Column, Rows};

#[derive(Debug, Subcommand)]
pub enum AttributionCommand {
    /// Any model with any parameters (lookback, half-life, custom weights,
    /// touch filter, contact roles or account contacts) over the stored
    /// history, computed in memory; changes nothing, publishes nothing.
    WhatIf(crate::what_if::WhatIfArgs),
    /// Markov-chain removal effects or Shapley values over every journey,
    /// converting and not, per channel or campaign.
    DataDriven {
        /// The store directory (read-only; the engine may be running on it).
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// markov or shapley.
        #[arg(long, default_value = "markov")]
        model: String,
        /// Markov order: 1, 2 or 3 [default: 1].
        #[arg(long)]
        order: Option<String>,
        /// lead_created, lead_qualified, opportunity_created or opportunity_won.
        #[arg(long, default_value = "opportunity_won")]
        conversion: String,
        /// channel or campaign.
        #[arg(long, default_value = "channel")]
        by: String,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        /// TOML config whose [attribution] section (lookback, filter,
        /// synthesized_touches) to use.
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        synthesized: crate::synthesized::SynthesizedArg,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// What we would have said at a past instant (from the events recorded by
    /// then): with --by, the credit then, now and the difference per
    /// campaign, channel or source, as `GET /v1/reports/as-of`; without, the
    /// conversions that moved since, and why.
    AsOf(crate::as_of::AsOfArgs),
    /// Every model side by side: for one conversion (--conversion-id), or per
    /// campaign for a conversion point over a period.
    Compare {
        /// The store directory.
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// One conversion, e.g. `opportunity_won:opp-0000042`.
        #[arg(long)]
        conversion_id: Option<String>,
        /// lead_created, lead_qualified, opportunity_created or opportunity_won.
        #[arg(long, default_value = "opportunity_won")]
        conversion: String,
        /// Only this campaign.
        #[arg(long)]
        campaign: Option<String>,
        /// Conversions at or after this date (2026-03-01 or RFC 3339).
        #[arg(long)]
        from: Option<String>,
        /// Conversions before this date.
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        synthesized: crate::synthesized::SynthesizedArg,
        #[command(flatten)]
        out: OutputArgs,
    },
}

/// `compare --conversion-id`'s rows: one conversion's credit lines per model.
const CONVERSION: &[Column] = &[
    Column::text("model"),
    Column::uint("version"),
    Column::text("campaign_id"),
    Column::text("touch_event_id").nullable(),
    Column::float("weight"),
    Column::int("amount_minor").nullable(),
    Column::text("currency").nullable(),
];

pub fn run_attribution(command: AttributionCommand) -> anyhow::Result<()> {
    match command {
        AttributionCommand::WhatIf(args) => crate::what_if::run(args),
        AttributionCommand::DataDriven {
            db,
            model,
            order,
            conversion,
            by,
            from,
            to,
            config,
            synthesized,
            out,
        } => {
            let values = given([
                ("model", Some(model)),
                ("conversion", Some(conversion)),
                ("by", Some(by)),
                ("order", order),
                ("from", from),
                ("to", to),
                ("synthesized", synthesized.name()),
            ]);
            let cmd = RouteCommand::of_route("/v1/reports/data-driven", values, db, config, out)?;
            let out = cmd.open_out()?;
            let report = fetch(&cmd)?;
            if out.format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(());
            }
            let heading = data_driven_heading(&report);
            let (rows, _) = declared_rows(&cmd, report, Some("channels"))?;
            match out.format {
                Format::Table => print!("{heading}\n{}", rows.table()),
                _ => out.rows(rows)?,
            }
            Ok(())
        }
        AttributionCommand::AsOf(args) => crate::as_of::run(args),
        AttributionCommand::Compare {
            db,
            conversion_id,
            conversion,
            campaign,
            from,
            to,
            synthesized,
            out,
        } => match conversion_id {
            Some(id) => {
                // One conversion: a record, not the per-campaign route.
                if let Some(flag) = [("--campaign", &campaign), ("--from", &from), ("--to", &to)]
                    .iter()
                    .find_map(|(flag, v)| v.is_some().then_some(flag))
                {
                    anyhow::bail!(
                        "{flag}: not with --conversion-id, which names one conversion; without \
                         it every campaign of --conversion is compared"
                    );
                }
                one_conversion(&db, &id, synthesized.synthesized, out.open()?)
            }
            None => compare(db, conversion, campaign, from, to, synthesized, out),
        },
    }
}

/// `markov (order 1) over 21 converting and 248 non-converting journeys
/// (opportunity_won):`, from the route's answer.
fn data_driven_heading(report: &Value) -> String {
    let model = match &report["model"] {
        Value::String(name) => name.clone(),
        Value::Object(fields) => fields
            .iter()
            .map(|(name, params)| match params["order"].as_u64() {
                Some(order) => format!("{name} (order {order})"),
                None => name.clone(),
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    };
    format!(
        "{model} by {} over {} converting and {} non-converting journeys ({}):",
        report["by"].as_str().unwrap_or("?"),
        report["converting_journeys"],
        report["non_converting_journeys"],
        report["conversion"].as_str().unwrap_or("?"),
    )
}

/// Per campaign and model: `GET /v1/reports/compare`, every page.
fn compare(
    db: PathBuf,
    conversion: String,
    campaign: Option<String>,
    from: Option<String>,
    to: Option<String>,
    synthesized: crate::synthesized::SynthesizedArg,
    out: OutputArgs,
) -> anyhow::Result<()> {
    let values = given([
        ("conversion", Some(conversion.clone())),
        ("campaign", campaign),
        ("from", from),
        ("to", to),
        ("synthesized", synthesized.name()),
    ]);
    let cmd = RouteCommand::of_route("/v1/reports/compare", values, db, None, out)?;
    let out = cmd.open_out()?;
    let (rows, list) = declared_rows(&cmd, fetch(&cmd)?, None)?;
    match out.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&list)?),
        Format::Table => print!(
            "{conversion}: credit per campaign and model\n{}",
            rows.table()
        ),
        Format::Csv | Format::Parquet => out.rows(rows)?,
    }
    Ok(())
}

/// One conversion under every model, credit line by credit line.
fn one_conversion(
    db: &std::path::Path,
    id: &str,
    synthesized: Option<touchline_attribution::SynthesizedTouches>,
    out: Out,
) -> anyhow::Result<()> {
    let queries = open_queries(db)?;
    let view = queries
        .conversion_counting(id, synthesized)?
        .with_context(|| {
            format!(
                "--conversion-id {id}: no such conversion in {}",
                db.display()
            )
        })?;
    match out.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&view)?),
        Format::Csv | Format::Parquet => {
            let currency = view.conversion.value.as_ref().map(|m| m.currency.as_str());
            let mut rows = Rows::new(CONVERSION);
            for r in &view.results {
                for c in &r.attribution.credits {
                    rows.push(vec![
                        r.model.name().into(),
                        r.version.into(),
                        (&c.campaign_id).into(),
                        Cell::opt(c.touch_event_id.as_deref()),
                        c.weight.into(),
                        Cell::opt(c.amount_minor),
                        Cell::opt(currency),
                    ]);
                }
            }
            out.rows(rows)?;
        }
        Format::Table => {
            let currency = view.conversion.value.as_ref().map(|m| m.currency.clone());
            println!("{} at {}", view.conversion.id, view.conversion.occurred_at);
            let mut table = TextTable::new(vec!["model", "version", "credits"]);
            for r in &view.results {
                let credits: Vec<String> = r
                    .attribution
                    .credits
                    .iter()
                    .map(|c| match c.amount_minor {
                        Some(a) => {
                            format!("{} {}", c.campaign_id, money(a, currency.as_deref()))
                        }
                        None => format!("{} {:.1}%", c.campaign_id, c.weight * 100.0),
                    })
                    .collect();
                table.row(vec![
                    r.model.name().to_owned(),
                    r.version.to_string(),
                    credits.join(", "),
                ]);
            }
            print!("{}", table.render());
        }
    }
    Ok(())
}
