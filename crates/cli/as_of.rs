//! `touchline attribution as-of`: what we would have said at a past instant.
//!
//! Without `--by` it lists the conversions whose credits moved since, and
//! why, under a configuration of the caller's choosing (`--config`). With
//! `--by` it is `GET /v1/reports/as-of` on the command line: the flags are
//! the API's parameters (`--moved-limit` is `moved_limit`), parsed by the
//! API's own [`touchline_api::parse_as_of`] and asked through
//! [`touchline_api::as_of_request`], so the two refuse the same things with
//! the same words and give the same answer for the same store.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use touchline_attribution::{ConversionKind, Credit, Model};
use touchline_engine::as_of::{AsOfReport, MAX_AS_OF_EVENTS, Moved};

use crate::args::{flag_error, open_queries};
use crate::output::{Format, Out, OutputArgs, TextTable, money};
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

/// `as-of --by`'s CSV and Parquet rows: the API's `format=csv&table=rows`
/// columns, under its dotted names, read from the same serialized rows; money
/// in integer minor units beside its currency.
const GROUP_ROWS: &[Column] = &[
    Column::text("group"),
    Column::text("name"),
    Column::text("channel"),
    Column::text("currency").nullable(),
    Column::float("then.conversions"),
    Column::int("then.value_minor"),
    Column::float("now.conversions"),
    Column::int("now.value_minor"),
    Column::float("delta.conversions"),
    Column::int("delta.value_minor"),
    Column::uint("moved_conversions"),
    Column::uint("reasons.new_conversion"),
    Column::uint("reasons.late_touch"),
    Column::uint("reasons.merge"),
    Column::uint("reasons.value_changed"),
    Column::uint("reasons.retracted"),
    Column::uint("reasons.model_change"),
    Column::uint("reasons.contact_added"),
    Column::uint("reasons.milestone_changed"),
    Column::uint("reasons.recomputed"),
];

fn grouped(args: AsOfArgs) -> anyhow::Result<()> {
    if args.config.is_some() {
        anyhow::bail!(
            "--config: only without --by; --by rebuilds the past with the store's own \
             configuration, as GET /v1/reports/as-of does"
        );
    }
    let out = args.out.clone().open()?;
    let mut pairs: Vec<(String, String)> = vec![("at".into(), args.at.clone())];
    let flags = [
        ("by", &args.by),
        ("model", &args.model),
        ("conversion", &args.conversion),
        ("from", &args.from),
        ("to", &args.to),
        ("moved_limit", &args.moved_limit),
        ("synthesized", &args.synthesized),
    ];
    for (name, value) in flags {
        if let Some(value) = value {
            pairs.push((name.to_owned(), value.clone()));
        }
    }
    if args.moved {
        pairs.push(("moved".into(), "true".into()));
    }
    let params = touchline_api::parse_as_of(&pairs).map_err(flag_error)?;
    let queries = open_queries(&args.db)?;
    let request = touchline_api::as_of_request(&params, queries.configured_models()?.as_deref())
        .map_err(flag_error)?;
    let report = report(&queries, &request, MAX_AS_OF_EVENTS, &std::env::temp_dir())?;
    match out.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
        Format::Csv | Format::Parquet => {
            let values = serde_json::to_value(&report.rows)?;
            let values = values.as_array().map(Vec::as_slice).unwrap_or_default();
            out.rows(Rows::from_json(GROUP_ROWS, values)?)?;
        }
        Format::Table => print!("{}", table(&report)),
    }
    Ok(())
}

/// The report, the past rebuilt into a scratch directory made in `parent`
/// (the temporary directory, `TMPDIR`) that goes with the answer, whatever
/// the answer. More than `max_events` recorded by the instant is the
/// engine's refusal, whose message names the bound.
fn report(
    queries: &touchline_engine::Queries,
    request: &touchline_engine::as_of::AsOfRequest,
    max_events: usize,
    parent: &Path,
) -> anyhow::Result<AsOfReport> {
    let scratch = tempfile::Builder::new()
        .prefix("touchline-as-of-")
        .tempdir_in(parent)
        .with_context(|| {
            format!(
                "cannot create a scratch directory for the past in {}",
                parent.display()
            )
        })?;
    // The scratch store is closed inside (its queries dropped) before the
    // directory goes.
    let report = queries.as_of_report(request, scratch.path(), max_events);
    drop(scratch);
    Ok(report?)
}

/// Conversions for people: two decimals, never `-0.00`.
fn count(conversions: f64) -> String {
    format!("{:.2}", conversions + 0.0)
}

/// The reasons a row counts, as `late_touch 1, merge 2`; zeros left out.
fn reasons(counts: &impl serde::Serialize) -> String {
    let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(counts) else {
        return String::new();
    };
    fields
        .iter()
        .filter_map(|(name, n)| match n.as_u64() {
            Some(0) | None => None,
            Some(n) => Some(format!("{name} {n}")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `campaign weight%` per campaign, in the order the credit lines first
/// name it (a model that credits each touch names a campaign once per
/// touch), `-` where the conversion was not in the period on that side.
fn campaign_shares(credits: &Option<Vec<Credit>>) -> String {
    let Some(credits) = credits else {
        return "-".to_owned();
    };
    let mut shares: Vec<(&str, f64)> = Vec::new();
    for c in credits {
        match shares.iter_mut().find(|(id, _)| *id == c.campaign_id) {
            Some((_, weight)) => *weight += c.weight,
            None => shares.push((&c.campaign_id, c.weight)),
        }
    }
    shares
        .iter()
        .map(|(id, weight)| format!("{id} {:.0}%", weight * 100.0))
        .collect::<Vec<_>>()
        .join(", ")
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

/// The grouped report for people: a heading, a line per group and currency,
/// a total line per currency, then the moved conversions when asked.
fn table(report: &AsOfReport) -> String {
    let valued = !report.conversion.is_person();
    let by = serde_json::to_value(report.by)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut out = format!(
        "{} by {by} under {}, as of {} and now\n\
         then: {} events replayed (log positions before {}); {} conversions then, {} now, \
         {} moved\n",
        report.conversion.name(),
        report.model.name(),
        report.at,
        report.events_replayed,
        report.as_of_seq,
        report.conversions_then,
        report.conversions_now,
        report.moved_conversions,
    );
    let mut header = vec!["group", "name", "then", "now", "delta"];
    if valued {
        header.extend(["value then", "value now", "value delta"]);
    }
    header.extend(["moved", "why"]);
    let mut table = TextTable::new(header);
    let line = |group: &str,
                name: &str,
                currency: Option<&str>,
                sides: [&touchline_engine::as_of::Credited; 3],
                moved: usize,
                why: String| {
        let mut row = vec![group.to_owned(), name.to_owned()];
        row.extend(sides.iter().map(|s| count(s.conversions)));
        if valued {
            row.extend(sides.iter().map(|s| money(s.value_minor, currency)));
        }
        row.extend([moved.to_string(), why]);
        row
    };
    for r in &report.rows {
        table.row(line(
            &r.group,
            &r.name,
            r.currency.as_deref(),
            [&r.then, &r.now, &r.delta],
            r.moved_conversions,
            reasons(&r.reasons),
        ));
    }
    // In parentheses like the engine's `(none)` and `(no touch)`: not a
    // campaign, channel or source.
    for t in &report.totals {
        table.row(line(
            "(total)",
            "",
            t.currency.as_deref(),
            [&t.then, &t.now, &t.delta],
            t.moved_conversions,
            reasons(&t.reasons),
        ));
    }
    out.push_str(&table.render());
    if !report.moved.is_empty() {
        out.push_str("\nmoved most:\n");
        let mut table = TextTable::new(vec!["conversion", "moved", "then", "now", "why"]);
        for m in &report.moved {
            let why: Vec<String> = m.reasons.iter().map(|r| reason_name(*r)).collect();
            table.row(vec![
                m.conversion_id.clone(),
                if valued {
                    money(m.moved_minor, m.currency.as_deref())
                } else {
                    format!("{:.0}%", m.moved_share * 100.0)
                },
                campaign_shares(&m.then),
                campaign_shares(&m.now),
                why.join(", "),
            ]);
        }
        out.push_str(&table.render());
    }
    out
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
    let then =
        touchline_engine::as_of::rebuild_as_of(now.store(), at, engine_config, scratch.path())?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use touchline_core::{Envelope, Timestamp};
    use touchline_engine::{Batch, Engine, EngineConfig, GroupBy, Queries, TimeRange};
    use touchline_store::Store;

    use super::*;

    fn lead(person: &str, ms: i64) -> Envelope {
        touchline_fixtures::envelope(
            format!("lead-{person}"),
            ms,
            touchline_fixtures::lead(person),
        )
    }

    /// Beyond the bound the engine's own message, naming it, is the error;
    /// within it the answer comes; either way no scratch store is left.
    #[test]
    fn beyond_the_bound_is_the_engines_refusal_and_the_scratch_goes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("store")).unwrap());
        let mut engine = Engine::open(store.clone(), EngineConfig::default()).unwrap();
        engine
            .apply(Batch {
                events: vec![lead("a", 10), lead("b", 20), lead("c", 30)],
                ..Batch::default()
            })
            .unwrap();
        let queries = Queries::new(store);
        let request = touchline_engine::as_of::AsOfRequest {
            at: Timestamp::from_millis(25),
            model: Model::FirstTouch,
            kind: ConversionKind::LeadCreated,
            by: GroupBy::Campaign,
            range: TimeRange::default(),
            moved_limit: None,
            synthesized: None,
        };
        let scratch = tempfile::tempdir().unwrap();
        let error = report(&queries, &request, 1, scratch.path())
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("more than 1 events were recorded by ")
                && error.contains("an as-of replays at most 1"),
            "{error}"
        );
        let answer = report(&queries, &request, 2, scratch.path()).unwrap();
        assert_eq!((answer.conversions_then, answer.conversions_now), (2, 3));
        let left: Vec<_> = std::fs::read_dir(scratch.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn a_table_counts_reasons_that_are_not_zero() {
        let mut counts = touchline_engine::as_of::ReasonCounts::default();
        assert_eq!(reasons(&counts), "");
        counts.late_touch = 1;
        counts.merge = 2;
        assert_eq!(reasons(&counts), "late_touch 1, merge 2");
        assert_eq!(count(-0.0), "0.00");
        assert_eq!(count(-1.0), "-1.00");
    }

    #[test]
    fn a_moved_conversion_shows_each_campaign_once() {
        let line = |campaign: &str, weight: f64| Credit {
            campaign_id: campaign.into(),
            touch_event_id: None,
            touch_occurred_at: None,
            weight,
            amount_minor: None,
        };
        let credits = Some(vec![line("b", 0.25), line("a", 0.5), line("b", 0.25)]);
        assert_eq!(campaign_shares(&credits), "b 50%, a 50%");
        assert_eq!(campaign_shares(&None), "-");
    }
}
