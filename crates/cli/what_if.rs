//! `touchline attribution what-if`: any model with any parameters over the
//! stored history, computed in memory; the store is only read.
//!
//! The flags are the API's parameters (`--half-life-days` is
//! `half_life_days`), parsed by the API's own [`touchline_api::what_if::parse_what_if`],
//! so the two refuse the same things with the same words.

use std::path::PathBuf;

use clap::Args;
use touchline_engine::what_if::{WhatIfAnswer, WhatIfError};

use crate::args::open_queries;
use crate::output::{Format, OutputArgs, TextTable, money};
use touchline_report_output::{Cell, Column, Rows};

#[derive(Debug, Args)]
pub struct WhatIfArgs {
    /// The store directory (read-only; the engine may be running on it).
    #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
    db: PathBuf,
    /// Models, comma-separated (default: every configured model).
    #[arg(long)]
    model: Option<String>,
    /// lead_created, lead_qualified, opportunity_created or opportunity_won.
    #[arg(long)]
    conversion: Option<String>,
    /// Conversions at or after this date (2026-03-01 or RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// Conversions before this date.
    #[arg(long)]
    to: Option<String>,
    /// campaign, channel or source.
    #[arg(long)]
    by: Option<String>,
    /// The conversion point's lookback: whole days 0 to 36500, or none.
    #[arg(long)]
    lookback_days: Option<String>,
    /// Time-decay half-life in days.
    #[arg(long)]
    half_life_days: Option<String>,
    /// Custom position weights first,last,rest (e.g. 30,30,40).
    #[arg(long)]
    weights: Option<String>,
    /// all or responded.
    #[arg(long)]
    filter: Option<String>,
    /// contact_roles or account_contacts.
    #[arg(long)]
    touches: Option<String>,
    /// include or exclude touches synthesized from other data (default: as
    /// configured).
    #[arg(long)]
    synthesized: Option<String>,
    /// Also list the conversions that move against the stored credits.
    #[arg(long)]
    moved: bool,
    /// With --moved: the configured model to compare with.
    #[arg(long)]
    baseline: Option<String>,
    /// With --moved: how many moved conversions to list (1 to 10000).
    #[arg(long)]
    moved_limit: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
}

/// The rows CSV and Parquet write: one per model and group.
const ROWS: &[Column] = &[
    Column::text("model"),
    Column::text("group"),
    Column::text("name"),
    Column::text("channel"),
    Column::uint("campaigns"),
    Column::float("conversions"),
    Column::int("value_minor"),
    Column::text("currency").nullable(),
];

fn rows(answer: &WhatIfAnswer) -> Rows {
    let mut rows = Rows::new(ROWS);
    for r in &answer.rows {
        rows.push(vec![
            r.model.name().into(),
            (&r.group).into(),
            (&r.name).into(),
            (&r.channel).into(),
            r.campaigns.into(),
            r.conversions.into(),
            r.value_minor.into(),
            Cell::opt(r.currency.as_deref()),
        ]);
    }
    rows
}

pub fn run(args: WhatIfArgs) -> anyhow::Result<()> {
    let out = args.out.clone().open()?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    let flags = [
        ("model", &args.model),
        ("conversion", &args.conversion),
        ("from", &args.from),
        ("to", &args.to),
        ("by", &args.by),
        ("lookback_days", &args.lookback_days),
        ("half_life_days", &args.half_life_days),
        ("weights", &args.weights),
        ("filter", &args.filter),
        ("touches", &args.touches),
        ("synthesized", &args.synthesized),
        ("baseline", &args.baseline),
        ("moved_limit", &args.moved_limit),
    ];
    for (name, value) in flags {
        if let Some(value) = value {
            pairs.push((name.to_owned(), value.clone()));
        }
    }
    if args.moved {
        pairs.push(("moved".into(), "true".into()));
    }
    let request = touchline_api::what_if::parse_what_if(&pairs).map_err(crate::args::flag_error)?;
    let queries = open_queries(&args.db)?;
    let answer = queries.what_if(&request).map_err(|e| match e {
        WhatIfError::Engine(e) => anyhow::Error::from(e),
        WhatIfError::Invalid { parameter, problem } => {
            anyhow::anyhow!("--{}: {problem}", parameter.replace('_', "-"))
        }
        WhatIfError::NotComputed { model, configured } => anyhow::anyhow!(
            "--baseline: {model:?} is not computed by this engine; the configured models are {configured}"
        ),
    })?;
    match out.format {
        Format::Csv | Format::Parquet => out.rows(rows(&answer)),
        format => {
            print!("{}", render(&answer, format)?);
            Ok(())
        }
    }
}

fn render(answer: &WhatIfAnswer, format: Format) -> anyhow::Result<String> {
    let valued = !answer.conversion.is_person();
    Ok(match format {
        Format::Json => serde_json::to_string_pretty(answer)? + "\n",
        Format::Csv | Format::Parquet => rows(answer).csv(),
        Format::Table => {
            let mut out = format!(
                "what-if on {}: {} conversions, {} eligible touches, as of log position {}\n",
                answer.conversion.name(),
                answer.conversions,
                answer.eligible_touches,
                answer.as_of_seq
            );
            for model in &answer.models {
                out.push_str(&format!("\n{}:\n", model.name()));
                let mut table = TextTable::new(if valued {
                    vec!["group", "channel", "conversions", "value"]
                } else {
                    vec!["group", "channel", "conversions"]
                });
                for r in answer.rows.iter().filter(|r| r.model == *model) {
                    let mut row = vec![r.name.clone(), r.channel.clone()];
                    row.push(format!("{:.2}", r.conversions));
                    if valued {
                        row.push(money(r.value_minor, r.currency.as_deref()));
                    }
                    table.row(row);
                }
                out.push_str(&table.render());
            }
            if !answer.moved_totals.is_empty() {
                out.push_str("\nagainst the stored credits:\n");
                let mut table = TextTable::new(vec![
                    "model",
                    "baseline",
                    "conversions moved",
                    "value moved",
                    "share moved",
                ]);
                for t in &answer.moved_totals {
                    table.row(vec![
                        t.model.name().to_owned(),
                        t.baseline.name().to_owned(),
                        t.conversions_moved.to_string(),
                        money(t.value_moved_minor, None),
                        format!("{:.2}", t.share_moved),
                    ]);
                }
                out.push_str(&table.render());
                let mut table = TextTable::new(vec!["conversion", "model", "moved", "then", "now"]);
                let summary = |shares: &[touchline_engine::what_if::CampaignShare]| {
                    shares
                        .iter()
                        .map(|s| format!("{} {:.0}%", s.campaign_id, s.weight * 100.0))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                for m in &answer.moved {
                    table.row(vec![
                        m.conversion_id.clone(),
                        m.model.name().to_owned(),
                        if m.value_minor.is_some() {
                            money(m.moved_minor, m.currency.as_deref())
                        } else {
                            format!("{:.0}%", m.moved_share * 100.0)
                        },
                        summary(&m.then),
                        summary(&m.now),
                    ]);
                }
                if !answer.moved.is_empty() {
                    out.push('\n');
                    out.push_str(&table.render());
                }
            }
            out
        }
    })
}
