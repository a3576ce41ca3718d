//! `touchline attribution ...`: data-driven models, every model side by side;
//! the credits as of a past instant are [`crate::as_of`], what-if
//! [`crate::what_if`].

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use touchline_attribution::{ConversionKind, Model};

use crate::args::{open_queries, parse_cli_range, parse_conversion};
use crate::output::{Format, Out, OutputArgs, TextTable, money};
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
        /// Markov order: 1, 2 or 3.
        #[arg(long, default_value = "1")]
        order: String,
        #[arg(long, default_value = "opportunity_won", value_parser = parse_conversion)]
        conversion: ConversionKind,
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
        #[arg(long, default_value = "opportunity_won", value_parser = parse_conversion)]
        conversion: ConversionKind,
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

/// `data-driven`'s rows: `value` is credited value in fractional minor units
/// (a data-driven model splits value continuously).
const DATA_DRIVEN: &[Column] = &[
    Column::text("channel"),
    Column::float("score"),
    Column::float("share"),
    Column::float("conversions"),
    Column::float("value"),
];

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

/// `compare`'s rows: per campaign and model.
const COMPARE: &[Column] = &[
    Column::text("campaign_id"),
    Column::text("campaign_name"),
    Column::text("channel"),
    Column::text("model"),
    Column::float("conversions"),
    Column::int("value_minor"),
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
            let out = out.open()?;
            let (model, by) =
                touchline_api::params::parse_data_driven(Some(&model), Some(&order), Some(&by))
                    .map_err(crate::args::flag_error)?;
            let range = parse_cli_range(from.as_deref(), to.as_deref())?;
            let config = crate::config::Config::load(config.as_deref())?;
            let queries = open_queries(&db)?;
            let mut settings = config.attribution.settings();
            if let Some(choice) = synthesized.synthesized {
                settings.synthesized_touches = choice;
            }
            let report = queries.data_driven(model, conversion, range, by, &settings)?;
            match out.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Csv | Format::Parquet => {
                    let mut rows = Rows::new(DATA_DRIVEN);
                    for c in &report.result.channels {
                        rows.push(vec![
                            (&c.channel).into(),
                            c.score.into(),
                            c.share.into(),
                            c.conversions.into(),
                            c.value.into(),
                        ]);
                    }
                    out.rows(rows)?;
                }
                Format::Table => {
                    println!(
                        "{:?} over {} converting and {} non-converting journeys ({}):",
                        report.model,
                        report.converting_journeys,
                        report.non_converting_journeys,
                        conversion.name()
                    );
                    let valued = !conversion.is_person();
                    let mut table =
                        TextTable::new(vec!["channel", "score", "share", "conversions", "value"]);
                    for c in &report.result.channels {
                        table.row(vec![
                            c.channel.clone(),
                            format!("{:.6}", c.score),
                            format!("{:.2}%", c.share * 100.0),
                            format!("{:.2}", c.conversions),
                            if valued {
                                money(c.value.round() as i64, None)
                            } else {
                                format!("{:.2}", c.value)
                            },
                        ]);
                    }
                    print!("{}", table.render());
                }
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
        } => compare(
            &db,
            Compare {
                conversion_id,
                conversion,
                campaign,
                from,
                to,
                synthesized: synthesized.synthesized,
            },
            out.open()?,
        ),
    }
}

/// What `attribution compare` asks.
struct Compare {
    conversion_id: Option<String>,
    conversion: ConversionKind,
    campaign: Option<String>,
    from: Option<String>,
    to: Option<String>,
    synthesized: Option<touchline_attribution::SynthesizedTouches>,
}

fn compare(db: &std::path::Path, ask: Compare, out: Out) -> anyhow::Result<()> {
    let Compare {
        conversion_id,
        conversion,
        campaign,
        from,
        to,
        synthesized,
    } = ask;
    let range = parse_cli_range(from.as_deref(), to.as_deref())?;
    let queries = open_queries(db)?;
    if let Some(id) = conversion_id {
        let view = queries
            .conversion_counting(&id, synthesized)?
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
        return Ok(());
    }
    let rows =
        queries.compare_models_counting(conversion, range, campaign.as_deref(), synthesized)?;
    let valued = matches!(
        conversion,
        ConversionKind::OpportunityCreated | ConversionKind::OpportunityWon
    );
    match out.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        Format::Csv | Format::Parquet => {
            let mut out_rows = Rows::new(COMPARE);
            for row in &rows {
                for m in &row.models {
                    out_rows.push(vec![
                        (&row.campaign_id).into(),
                        (&row.campaign_name).into(),
                        (&row.channel).into(),
                        m.model.name().into(),
                        m.conversions.into(),
                        m.value_minor.into(),
                        Cell::opt(row.currency.as_deref()),
                    ]);
                }
            }
            out.rows(out_rows)?;
        }
        Format::Table => {
            let models: Vec<Model> = rows
                .iter()
                .flat_map(|r| r.models.iter().map(|m| m.model))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect();
            let mut header = vec!["campaign".to_owned()];
            header.extend(models.iter().map(|m| m.name().to_owned()));
            let mut table = TextTable::new(header.iter().map(String::as_str).collect());
            for row in &rows {
                let mut cells = vec![row.campaign_name.clone()];
                for model in &models {
                    let credit = row.models.iter().find(|m| m.model == *model);
                    cells.push(match credit {
                        Some(c) if valued => format!("{:.0}", c.value_minor as f64 / 100.0),
                        Some(c) => format!("{:.1}", c.conversions),
                        None => "0".to_owned(),
                    });
                }
                table.row(cells);
            }
            if valued {
                println!(
                    "{} value per campaign and model (currency units):",
                    conversion.name()
                );
            } else {
                println!("{} conversions per campaign and model:", conversion.name());
            }
            print!("{}", table.render());
        }
    }
    Ok(())
}
