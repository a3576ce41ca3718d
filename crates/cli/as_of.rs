//! `touchline attribution as-of`: what we would have said at a past instant.
//!
//! Without `--by` it lists the conversions whose credits moved since, and
//! why, under a configuration of the caller's choosing (`--config`). With
//! `--by` it is `GET /v1/reports/as-of` on the command line, as the `report`
//! commands are their routes ([`crate::report_routes`]): the flags are the
//! route's parameters (`--moved-limit` is `moved_limit`), checked by its
//! parsers, so the two refuse the same things with the same words, and the
//! rows are written by the columns the route declares: `--format csv` is the
//! API's `format=csv&table=rows`, `--format json` its answer.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde_json::Value;
use touchline_attribution::{ConversionKind, Credit, Model};
use touchline_engine::as_of::Moved;

use crate::args::{flag_error, open_queries};
use crate::output::{Format, Out, OutputArgs, TextTable};
use crate::report_routes::{RouteCommand, declared_rows, given, print_answer};
use touchline_report_output::{Cell, Column, Rows};

#[derive(Debug, Args)]
pub struct AsOfArgs {
    /// The store directory (read-only; the engine may be running on it).
    #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
    db: PathBuf,
    /// The past instant: 2026-03-01 or RFC 3339.
    #[arg(long)]
    at: String,
    /// campaign, channel or source: the credit then, now and the difference
    /// per group, as `GET /v1/reports/as-of` (without it: the moved
    /// conversions one by one).
    #[arg(long)]
    by: Option<String>,
    /// The model (default first_touch; with --by, the first configured one
    /// when the store does not compute first_touch).
    #[arg(long)]
    model: Option<String>,
    /// lead_created (default), lead_qualified, opportunity_created or
    /// opportunity_won.
    #[arg(long)]
    conversion: Option<String>,
    /// With --by: conversions at or after this date (2026-03-01 or RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// With --by: conversions before this date.
    #[arg(long)]
    to: Option<String>,
    /// With --by: also list the conversions that moved most, with why
    /// (table and json; csv and parquet write the groups' rows).
    #[arg(long)]
    moved: bool,
    /// With --moved: how many moved conversions to list (1 to 10000, default 20).
    #[arg(long)]
    moved_limit: Option<String>,
    /// With --by: include or exclude touches synthesized from other data on
    /// both sides (default: as configured, attribution.synthesized_touches;
    /// the other choice is computed on request).
    #[arg(long)]
    synthesized: Option<String>,
    /// Without --by: TOML config whose [attribution] section to rebuild the
    /// past with (default: the built-in one). With --by the past is rebuilt
    /// with the store's own configuration, so a move is the inputs', never a
    /// model's.
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    out: OutputArgs,
}

pub fn run(args: AsOfArgs) -> anyhow::Result<()> {
    if args.by.is_some() {
        return grouped(args);
    }
    // The listing takes none of the grouped report's options; refused by
    // name rather than ignored, so nobody reads a list they did not ask for.
    let grouped_only = [
        ("--from", args.from.is_some()),
        ("--to", args.to.is_some()),
        ("--moved", args.moved),
        ("--moved-limit", args.moved_limit.is_some()),
        ("--synthesized", args.synthesized.is_some()),
    ];
    if let Some((flag, _)) = grouped_only.iter().find(|(_, given)| *given) {
        anyhow::bail!(
            "{flag}: only with --by campaign|channel|source; without --by every moved \
             conversion is listed"
        );
    }
    let model = match &args.model {
        None => Model::FirstTouch,
        Some(text) => touchline_api::params::parse_model(text).map_err(flag_error)?,
    };
    let kind = match &args.conversion {
        None => ConversionKind::LeadCreated,
        Some(text) => touchline_api::params::parse_conversion(text).map_err(flag_error)?,
    };
    listing(
        &args.db,
        &args.at,
        model,
        kind,
        args.config.as_deref(),
        args.out.open()?,
    )
}

fn grouped(args: AsOfArgs) -> anyhow::Result<()> {
    if args.config.is_some() {
        anyhow::bail!(
            "--config: only without --by; --by rebuilds the past with the store's own \
             configuration, as GET /v1/reports/as-of does"
        );
    }
    let values = given([
        ("at", Some(args.at)),
        ("by", args.by),
        ("model", args.model),
        ("conversion", args.conversion),
        ("from", args.from),
        ("to", args.to),
        ("moved_limit", args.moved_limit),
        ("synthesized", args.synthesized),
        ("moved", args.moved.then(|| "true".to_owned())),
    ]);
    let cmd = RouteCommand::of_route("/v1/reports/as-of", values, args.db, None, args.out)?;
    print_answer(&cmd, "rows", table)
}

/// The grouped report for people: a heading, a line per group and currency,
/// the totals per currency, then the moved conversions when asked, each
/// written by the route's columns.
fn table(cmd: &RouteCommand, report: Value) -> anyhow::Result<String> {
    let text = |name: &str| report[name].as_str().unwrap_or("?").to_owned();
    let mut out = format!(
        "{} by {} under {}, as of {} and now\n\
         then: {} events replayed (log positions before {}); {} conversions then, {} now, \
         {} moved\n",
        text("conversion"),
        text("by"),
        text("model"),
        text("at"),
        report["events_replayed"],
        report["as_of_seq"],
        report["conversions_then"],
        report["conversions_now"],
        report["moved_conversions"],
    );
    out.push_str(&declared_rows(cmd, report.clone(), Some("rows"))?.0.table());
    out.push_str("\ntotals:\n");
    out.push_str(
        &declared_rows(cmd, report.clone(), Some("totals"))?
            .0
            .table(),
    );
    let (moved, list) = declared_rows(cmd, report, Some("moved"))?;
    if !list.is_empty() {
        out.push_str("\nmoved most:\n");
        out.push_str(&moved.table());
    }
    Ok(out)
}

/// `campaign weight%` per credit line, `-` where the conversion was not in
/// the period on that side.
fn credits(credits: &Option<Vec<Credit>>) -> String {
    match credits {
        None => "-".to_owned(),
        Some(credits) => credits
            .iter()
            .map(|c| format!("{} {:.0}%", c.campaign_id, c.weight * 100.0))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// A reason as the JSON names it (`late_touch`).
fn reason_name(reason: touchline_engine::as_of::MoveReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `as-of`'s rows without `--by`: the credits then and now as `campaign
/// weight%` lists, missing (`-` in CSV) where the conversion did not stand.
const LISTING: &[Column] = &[
    Column::text("conversion_id"),
    Column::text("model"),
    Column::text("then").nullable(),
    Column::text("now").nullable(),
    Column::text("reasons"),
];

/// Without `--by`: every conversion whose credits moved since `at`, rebuilt
/// with the given configuration (so a changed model shows as `model_change`).
fn listing(
    db: &Path,
    at: &str,
    model: Model,
    kind: ConversionKind,
    config: Option<&Path>,
    out: Out,
) -> anyhow::Result<()> {
    let at = touchline_core::Timestamp::parse_lenient(at)
        .with_context(|| format!("--at: {at:?} is not a date (2026-03-01) or RFC 3339 time"))?;
    let config = crate::config::Config::load(config)?;
    let now = open_queries(db)?;
    let scratch = tempfile::tempdir().context("cannot create a scratch directory")?;
    let engine_config = touchline_engine::EngineConfig {
        models: config.attribution.models.clone(),
        settings: config.attribution.settings(),
        routing: Default::default(),
    };
    let store = now
        .single_store()
        .context("an as-of rebuilds one store's log")?;
    let then = touchline_engine::as_of::rebuild_as_of(store, at, engine_config, scratch.path())?;
    let moved = touchline_engine::as_of::moved_since(&then, &now, model, kind, at)?;
    let reason_names = |m: &Moved| {
        m.reasons
            .iter()
            .map(|r| reason_name(*r))
            .collect::<Vec<_>>()
    };
    match out.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&moved)?),
        Format::Csv | Format::Parquet => {
            let mut rows = Rows::new(LISTING);
            for m in &moved {
                rows.push(vec![
                    (&m.conversion_id).into(),
                    m.model.name().into(),
                    Cell::or(m.then.as_ref().map(|_| credits(&m.then)), "-"),
                    Cell::or(m.now.as_ref().map(|_| credits(&m.now)), "-"),
                    reason_names(m).join(" ").into(),
                ]);
            }
            out.rows(rows)?;
        }
        Format::Table => {
            println!(
                "{} {} conversions moved since {at} under {}:",
                moved.len(),
                kind.name(),
                model.name()
            );
            let mut table = TextTable::new(vec!["conversion", "then", "now", "why"]);
            for m in &moved {
                table.row(vec![
                    m.conversion_id.clone(),
                    credits(&m.then),
                    credits(&m.now),
                    reason_names(m).join(", "),
                ]);
            }
            print!("{}", table.render());
        }
    }
    Ok(())
}
