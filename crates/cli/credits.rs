//! `touchline report credits`: the stored credit sets, one row per credit
//! line: every current conversion, under every model the engine computes,
//! split over the campaigns (touches) it credits. The same sets the engine
//! publishes to `touchline.attribution.v1`, flat, for BI tools and DuckDB;
//! summed per campaign they are `report attribution`.
//!
//! A store holds many: CSV and Parquet are written a page of conversions at
//! a time, so memory stays bounded by the page, not the store.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;
use touchline_attribution::{ConversionKind, Model, NO_TOUCH};
use touchline_engine::{AttributionMessage, Queries, TimeRange};
use touchline_projection::{ConversionView, ModelResult};

use crate::args::{computed, open_queries, parse_cli_range, parse_conversion, parse_model};
use crate::output::{Format, OutputArgs, TextTable, money};
use touchline_report_output::{Cell, Column};

/// Conversions read from the store at a time.
const PAGE: usize = 4096;

#[derive(Debug, Args)]
pub struct CreditsArgs {
    /// The store directory (read-only; the engine may be running on it).
    #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
    db: PathBuf,
    /// Only this model (default: every model the store holds).
    #[arg(long, value_parser = parse_model)]
    model: Option<Model>,
    /// Only this conversion point: lead_created, lead_qualified,
    /// opportunity_created or opportunity_won (default: every one).
    #[arg(long, value_parser = parse_conversion)]
    conversion: Option<ConversionKind>,
    /// Conversions at or after this date (2026-03-01 or RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// Conversions before this date.
    #[arg(long)]
    to: Option<String>,
    #[command(flatten)]
    out: OutputArgs,
}

/// The columns: the conversion, the model's answer (its version and log
/// position, as published), and one credit line. A conversion with no
/// eligible touch has one line, for `(no touch)`, with the reason in
/// `unattributed`. `amount_minor` is the line's share of `value_minor` in
/// minor units of `currency`; both are empty for a conversion without a
/// value (a lead).
pub(crate) const COLUMNS: &[Column] = &[
    Column::text("conversion_id"),
    Column::text("conversion"),
    Column::text("subject_id"),
    Column::time("converted_at"),
    Column::text("model"),
    Column::uint("version"),
    Column::uint("as_of_seq"),
    Column::text("campaign_id"),
    Column::text("campaign_name"),
    Column::text("channel"),
    Column::text("touch_event_id").nullable(),
    Column::time("touch_occurred_at").nullable(),
    Column::float("weight"),
    Column::int("amount_minor").nullable(),
    Column::int("value_minor").nullable(),
    Column::text("currency").nullable(),
    Column::text("unattributed").nullable(),
];

/// A campaign's name (its id when it has none or is unknown) and channel.
type Campaigns = HashMap<String, (String, String)>;

fn campaigns(queries: &Queries) -> anyhow::Result<Campaigns> {
    Ok(queries
        .campaigns()?
        .into_iter()
        .map(|c| {
            let name = c.display_name().to_owned();
            (c.campaign_id.clone(), (name, c.channel))
        })
        .collect())
}

/// The rows of one model's credit set for one conversion.
fn rows(view: &ConversionView, result: &ModelResult, campaigns: &Campaigns) -> Vec<Vec<Cell>> {
    let conversion = &view.conversion;
    let unattributed = result.attribution.unattributed.map(|u| {
        serde_json::to_value(u)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    });
    result
        .attribution
        .credits
        .iter()
        .map(|credit| {
            let (name, channel) = match campaigns.get(&credit.campaign_id) {
                Some((name, channel)) if credit.campaign_id != NO_TOUCH => {
                    (name.clone(), channel.clone())
                }
                _ => (credit.campaign_id.clone(), String::new()),
            };
            vec![
                (&conversion.id).into(),
                conversion.kind.name().into(),
                (&conversion.subject_id).into(),
                conversion.occurred_at.into(),
                result.model.name().into(),
                result.version.into(),
                result.as_of_seq.into(),
                (&credit.campaign_id).into(),
                name.into(),
                channel.into(),
                Cell::opt(credit.touch_event_id.as_deref()),
                Cell::opt(credit.touch_occurred_at),
                credit.weight.into(),
                Cell::opt(credit.amount_minor),
                Cell::opt(conversion.value.as_ref().map(|m| m.amount_minor)),
                Cell::opt(conversion.value.as_ref().map(|m| m.currency.as_str())),
                Cell::opt(unattributed.as_deref()),
            ]
        })
        .collect()
}

/// Calls `visit` with each page of current conversions in the range, in id
/// order, each with the results the filter keeps.
fn for_each_page(
    queries: &Queries,
    kind: Option<ConversionKind>,
    range: TimeRange,
    mut visit: impl FnMut(&[ConversionView]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let prefix = kind.map_or(String::new(), |k| format!("{}:", k.name()));
    let mut after: Option<String> = None;
    loop {
        let page = queries
            .stores()
            .scan::<ConversionView>(&prefix, after.as_deref(), PAGE)?;
        let Some((last, _)) = page.last() else {
            return Ok(());
        };
        after = Some(last.clone());
        let views: Vec<ConversionView> = page
            .into_iter()
            .map(|(_, view)| view)
            .filter(|view| view.is_live() && range.contains(view.conversion.occurred_at))
            .collect();
        visit(&views)?;
    }
}

/// A published value with its topic key, as `--format json` lists them.
#[derive(Serialize)]
struct Published<'v> {
    key: String,
    #[serde(flatten)]
    message: AttributionMessage<'v>,
}

pub fn run(args: CreditsArgs) -> anyhow::Result<()> {
    let out = args.out.open()?;
    let range = parse_cli_range(args.from.as_deref(), args.to.as_deref())?;
    let queries = open_queries(&args.db)?;
    if let Some(model) = args.model {
        computed(&queries, model)?;
    }
    let campaigns = campaigns(&queries)?;
    let results = |view: &ConversionView| -> Vec<ModelResult> {
        view.results
            .iter()
            .filter(|r| args.model.is_none_or(|m| m == r.model))
            .cloned()
            .collect()
    };
    match out.format {
        Format::Csv | Format::Parquet => {
            let mut sink = out.sink(COLUMNS)?;
            for_each_page(&queries, args.conversion, range, |views| {
                let mut page = Vec::new();
                for view in views {
                    for result in results(view) {
                        page.extend(rows(view, &result, &campaigns));
                    }
                }
                sink.write(&page)
            })?;
            sink.finish()
        }
        Format::Json => {
            let mut published = Vec::new();
            for_each_page(&queries, args.conversion, range, |views| {
                for view in views {
                    for result in results(view) {
                        // The value exactly as the publisher renders it.
                        let Some(message) = AttributionMessage::of(view, result.model) else {
                            continue;
                        };
                        published.push(Published {
                            key: touchline_engine::attribution_key(
                                result.model,
                                &view.conversion.id,
                            ),
                            message: message.into_owned(),
                        });
                    }
                }
                Ok(())
            })?;
            println!("{}", serde_json::to_string_pretty(&published)?);
            Ok(())
        }
        Format::Table => {
            let mut table =
                TextTable::new(vec!["conversion", "model", "campaign", "weight", "amount"]);
            for_each_page(&queries, args.conversion, range, |views| {
                for view in views {
                    let currency = view.conversion.value.as_ref().map(|m| m.currency.as_str());
                    for result in results(view) {
                        for credit in &result.attribution.credits {
                            table.row(vec![
                                view.conversion.id.clone(),
                                result.model.name().to_owned(),
                                credit.campaign_id.clone(),
                                format!("{:.4}", credit.weight),
                                credit
                                    .amount_minor
                                    .map_or(String::new(), |a| money(a, currency)),
                            ]);
                        }
                    }
                }
                Ok(())
            })?;
            print!("{}", table.render());
            Ok(())
        }
    }
}
