//! `touchline attribution what-if`: any model with any parameters over the
//! stored history, computed in memory; the store is only read.
//!
//! It is `GET /v1/reports/what-if` on the command line, as the `report`
//! commands are their routes ([`crate::report_routes`]): the flags are the
//! route's parameters (`--half-life-days` is `half_life_days`), checked by
//! its parsers, so the two refuse the same things with the same words, and
//! the rows are written by the columns the route declares: `--format csv` is
//! the API's `format=csv&table=rows`, `--format json` its answer.

use std::path::PathBuf;

use clap::Args;
use serde_json::Value;

use crate::output::OutputArgs;
use crate::report_routes::{RouteCommand, declared_rows, given, print_answer};

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

pub fn run(args: WhatIfArgs) -> anyhow::Result<()> {
    let values = given([
        ("model", args.model),
        ("conversion", args.conversion),
        ("from", args.from),
        ("to", args.to),
        ("by", args.by),
        ("lookback_days", args.lookback_days),
        ("half_life_days", args.half_life_days),
        ("weights", args.weights),
        ("filter", args.filter),
        ("touches", args.touches),
        ("synthesized", args.synthesized),
        ("baseline", args.baseline),
        ("moved_limit", args.moved_limit),
        ("moved", args.moved.then(|| "true".to_owned())),
    ]);
    let cmd = RouteCommand::of_route("/v1/reports/what-if", values, args.db, None, args.out)?;
    print_answer(&cmd, "rows", table)
}

/// For people: a heading, the rows, and with `--moved` what moved against
/// the stored credits, each written by the route's columns.
fn table(cmd: &RouteCommand, answer: Value) -> anyhow::Result<String> {
    let mut out = format!(
        "what-if on {}: {} conversions, {} eligible touches, as of log position {}\n",
        answer["conversion"].as_str().unwrap_or("?"),
        answer["conversions"],
        answer["eligible_touches"],
        answer["as_of_seq"],
    );
    let moved = answer["moved_totals"]
        .as_array()
        .is_some_and(|totals| !totals.is_empty());
    out.push_str(&declared_rows(cmd, answer.clone(), Some("rows"))?.0.table());
    if moved {
        out.push_str("\nagainst the stored credits:\n");
        out.push_str(
            &declared_rows(cmd, answer.clone(), Some("moved_totals"))?
                .0
                .table(),
        );
        let (rows, list) = declared_rows(cmd, answer, Some("moved"))?;
        if !list.is_empty() {
            out.push('\n');
            out.push_str(&rows.table());
        }
    }
    Ok(out)
}
