//! Reports as tables, CSV, JSON or Parquet, each written by the columns the
//! API declares for the same report ([`touchline_api::report_columns`]).

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use touchline_attribution::{ConversionKind, Model};

use crate::args::{
    computed, open_queries, parse_at, parse_cli_range, parse_conversion, parse_model,
};
use touchline_api::report_columns as columns;

use crate::output::{Format, OutputArgs, TextTable, emit, money};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Leads whose next follow-up is due (R11), most overdue first.
    FollowUps {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// Due at or before this instant (default: now).
        #[arg(long)]
        at: Option<String>,
        /// Only this owner's leads.
        #[arg(long)]
        owner: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Open leads in priority order (R23): need, budget and authority first.
    Leads {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Leads by behavioural score (R19): weighted touches, decayed by age.
    Scores {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// Score as of this instant (default: now).
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// TOML config whose [scoring] section to use (default: the built-in weights).
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Recency, frequency and monetary value per customer and per source (R4).
    Rfm {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// As of this instant (default: now).
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// One record of an account (R9): contacts, opportunities, transactions, history.
    Account {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// The account id.
        #[arg(long)]
        id: String,
        /// How many of the latest events to show.
        #[arg(long, default_value_t = 20)]
        history: usize,
    },
    /// Open leads whose follow-up is overdue (R20): no first follow-up within
    /// the deadline, or a next follow-up past due; with owner and routing.
    Overdue {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// Config file whose [routing] sets the first-follow-up deadline (default 24 h).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// As of this instant (default: now).
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// The weighted pipeline forecast by month of expected close (R5).
    Forecast {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// Config file whose [pipeline] sets the stage probabilities.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// `months` (default) or every open `deals`.
        #[arg(long, default_value = "months")]
        by: String,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Product or topic interest across every contact of an account (R18).
    Interest {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// The account id.
        #[arg(long)]
        account: String,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Red/yellow/green per tactic and offer on every open opportunity (R18).
    Signals {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// As of this instant (default: now).
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Campaigns: members, responses, leads sourced, cost, credited leads and
    /// sales, revenue, ROI, cost per lead and per sale (R3, R15).
    Campaigns {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// The model that credits leads and sales.
        #[arg(long, default_value = "linear")]
        model: String,
        #[arg(long, default_value = "EUR")]
        currency: String,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Upsell signals (R17): customers whose people opened support cases after buying.
    Upsell {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Literature fulfilment (R8): per asset, sent, responded, and wins it preceded.
    Literature {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// People who share a normalised e-mail or phone: candidates for a merge (R10).
    Duplicates {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// New leads per month and source, conversion to customers and time to convert (R13).
    Funnel {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Time from lead creation to the first follow-up (R21), overall and per owner.
    SpeedToLead {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Every stored credit set: one row per credit line of each current
    /// conversion under each model (conversion, model, version, campaign,
    /// channel, weight, amount in minor units, currency), as published to
    /// the attribution topic; `--format parquet` for BI tools and DuckDB.
    Credits(crate::credits::CreditsArgs),
    /// Credit per campaign for one model and conversion point.
    Attribution {
        /// The store directory.
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// first_touch, last_touch, linear, u_shaped, j_shaped, inverse_j, w_shaped,
        /// full_path, time_decay or custom.
        #[arg(long, default_value = "first_touch", value_parser = parse_model)]
        model: Model,
        /// lead_created, lead_qualified, opportunity_created or opportunity_won.
        #[arg(long, default_value = "lead_created", value_parser = parse_conversion)]
        conversion: ConversionKind,
        /// Group by campaign, channel or source.
        #[arg(long, default_value = "campaign")]
        by: String,
        #[command(flatten)]
        out: OutputArgs,
    },
}

pub fn run(command: ReportCommand) -> anyhow::Result<()> {
    match command {
        ReportCommand::Credits(args) => crate::credits::run(args),
        ReportCommand::FollowUps { db, at, owner, out } => {
            let out = out.open()?;
            let at = parse_at(at.as_deref())?;
            let rows = open_queries(&db)?.follow_ups_due(at, owner.as_deref())?;
            emit(&rows, columns::FOLLOW_UPS, out)
        }
        ReportCommand::Leads {
            db,
            owner,
            limit,
            out,
        } => {
            let out = out.open()?;
            let leads = open_queries(&db)?.prioritised_leads(owner.as_deref(), limit)?;
            emit(&leads, columns::LEADS, out)
        }
        ReportCommand::Scores {
            db,
            at,
            owner,
            limit,
            config,
            out,
        } => {
            let out = out.open()?;
            let at = parse_at(at.as_deref())?;
            let config = crate::config::Config::load(config.as_deref())?;
            let scores =
                open_queries(&db)?.lead_scores(&config.scoring, at, owner.as_deref(), limit)?;
            emit(&scores, columns::SCORES, out)
        }
        ReportCommand::Rfm { db, at, out } => {
            let out = out.open()?;
            let at = parse_at(at.as_deref())?;
            let report = open_queries(&db)?.rfm(at)?;
            if out.format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(());
            }
            emit(&report.customers, columns::RFM_CUSTOMERS, out)
        }
        ReportCommand::Account { db, id, history } => account(&db, &id, history),
        ReportCommand::Overdue {
            db,
            config,
            at,
            owner,
            out,
        } => {
            let out = out.open()?;
            let rules = crate::config::Config::load(config.as_deref())?.routing;
            let at = parse_at(at.as_deref())?;
            let rows = open_queries(&db)?.overdue_leads(at, &rules, owner.as_deref())?;
            emit(&rows, columns::OVERDUE, out)
        }
        ReportCommand::Forecast {
            db,
            config,
            by,
            out,
        } => {
            let out = out.open()?;
            let pipeline = crate::config::Config::load(config.as_deref())?.pipeline;
            let forecast = open_queries(&db)?.forecast(&pipeline)?;
            match by.as_str() {
                "months" => emit(&forecast.months, columns::FORECAST_MONTHS, out),
                "deals" => emit(&forecast.deals, columns::FORECAST_DEALS, out),
                other => anyhow::bail!("--by: {other:?} is not months or deals"),
            }
        }
        ReportCommand::Interest { db, account, out } => {
            let out = out.open()?;
            let rows = open_queries(&db)?
                .account_interest(&account)?
                .with_context(|| format!("--account: no account with id {account:?}"))?;
            emit(&rows, columns::INTEREST, out)
        }
        ReportCommand::Signals { db, at, owner, out } => {
            let out = out.open()?;
            let at = parse_at(at.as_deref())?;
            let mut deals = open_queries(&db)?.opportunity_signals(at)?;
            if let Some(owner) = &owner {
                deals.retain(|d| &d.owner_id == owner);
            }
            emit(&deals, columns::SIGNALS, out)
        }
        ReportCommand::Campaigns {
            db,
            model,
            currency,
            out,
        } => {
            let out = out.open()?;
            let model =
                touchline_api::params::parse_model(&model).map_err(crate::args::flag_error)?;
            let queries = open_queries(&db)?;
            computed(&queries, model)?;
            let rows = queries.campaign_performance(
                model,
                touchline_engine::TimeRange::default(),
                &currency,
            )?;
            emit(&rows, columns::CAMPAIGNS, out)
        }
        ReportCommand::Upsell { db, out } => {
            let out = out.open()?;
            emit(&open_queries(&db)?.upsell_signals()?, columns::UPSELL, out)
        }
        ReportCommand::Literature { db, out } => {
            let out = out.open()?;
            emit(&open_queries(&db)?.literature()?, columns::LITERATURE, out)
        }
        ReportCommand::Duplicates { db, out } => {
            let out = out.open()?;
            let groups = open_queries(&db)?.duplicate_candidates()?;
            emit(&groups, columns::DUPLICATES, out)
        }
        ReportCommand::Funnel { db, from, to, out } => {
            let out = out.open()?;
            let range = parse_cli_range(from.as_deref(), to.as_deref())?;
            emit(&open_queries(&db)?.funnel(range)?, columns::FUNNEL, out)
        }
        ReportCommand::SpeedToLead { db, from, to, out } => {
            let out = out.open()?;
            let range = parse_cli_range(from.as_deref(), to.as_deref())?;
            let rows = open_queries(&db)?.speed_to_lead(range)?;
            emit(&rows, columns::SPEED_TO_LEAD, out)
        }
        ReportCommand::Attribution {
            db,
            model,
            conversion,
            by,
            out,
        } => {
            let out = out.open()?;
            let by = touchline_engine::GroupBy::parse(&by)
                .with_context(|| format!("--by: {by:?} is not campaign, channel or source"))?;
            let queries = open_queries(&db)?;
            computed(&queries, model)?;
            if by == touchline_engine::GroupBy::Campaign {
                let rows = queries.campaign_credits(model, conversion)?;
                emit(&rows, columns::CREDITS_BY_CAMPAIGN, out)
            } else {
                let rows = queries.credits_by(model, conversion, Default::default(), by)?;
                emit(&rows, columns::CREDITS_BY_GROUP, out)
            }
        }
    }
}

/// `report account`: one record, as text.
fn account(db: &std::path::Path, id: &str, history: usize) -> anyhow::Result<()> {
    let record = open_queries(db)?
        .account_record(id, history)?
        .with_context(|| format!("--id {id}: no such account in {}", db.display()))?;
    let a = &record.account;
    println!(
        "{} ({}) {} owner {}",
        a.name, a.account_id, a.industry, a.owner_id
    );
    if let Some(since) = record.customer_since {
        println!("customer since {since}");
    }
    if !record.returning_leads.is_empty() {
        println!(
            "back as leads since then (another product?): {}",
            record.returning_leads.join(", ")
        );
    }
    println!();
    let mut contacts = TextTable::new(vec!["contact", "kind", "e-mail", "touches"]);
    for c in &record.contacts {
        contacts.row(vec![
            format!("{} ({})", c.name, c.person_id),
            format!("{:?}", c.kind).to_lowercase(),
            c.email.clone(),
            c.touches.to_string(),
        ]);
    }
    print!("{}", contacts.render());
    println!();
    let mut deals = TextTable::new(vec!["opportunity", "stage", "amount"]);
    for o in &record.opportunities {
        deals.row(vec![
            o.opportunity_id.clone(),
            o.stage.clone(),
            o.amount
                .as_ref()
                .map_or(String::new(), |m| money(m.amount_minor, Some(&m.currency))),
        ]);
    }
    print!("{}", deals.render());
    println!();
    let revenue: Vec<String> = record
        .revenue
        .iter()
        .map(|m| money(m.amount_minor, Some(&m.currency)))
        .collect();
    println!(
        "{} transactions, revenue {}",
        a.transactions.len(),
        revenue.join(", ")
    );
    println!();
    for e in &record.history {
        println!(
            "{:>8}  {}  {}",
            e.seq,
            e.envelope.occurred_at,
            e.envelope.event.type_name()
        );
    }
    Ok(())
}
