//! Reports as tables, CSV, JSON or Parquet (the rows CSV and Parquet write
//! are in `report_rows`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use touchline_attribution::{ConversionKind, Model};

use crate::args::{
    computed, open_queries, parse_at, parse_cli_range, parse_conversion, parse_model,
};
use crate::output::{Format, OutputArgs, TextTable, emit, money, render_credits};
use crate::report_rows;

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
        synthesized: crate::synthesized::SynthesizedArg,
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
            match out.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                Format::Csv | Format::Parquet => out.rows(report_rows::follow_ups(&rows))?,
                Format::Table => {
                    println!("{} follow-ups due by {at}:", rows.len());
                    let mut table = TextTable::new(vec![
                        "lead",
                        "company",
                        "owner",
                        "due",
                        "overdue (days)",
                        "last contact",
                    ]);
                    for r in &rows {
                        let last = match (&r.last_method, &r.last_outcome) {
                            (Some(m), Some(o)) => {
                                format!("{}: {o}", format!("{m:?}").to_lowercase())
                            }
                            _ => String::new(),
                        };
                        table.row(vec![
                            format!("{} ({})", r.name, r.person_id),
                            r.company.clone(),
                            r.owner_id.clone(),
                            r.due_at.to_string(),
                            format!("{:.1}", r.overdue_ms as f64 / 86_400_000.0),
                            last,
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
            Ok(())
        }
        ReportCommand::Leads {
            db,
            owner,
            limit,
            out,
        } => {
            let out = out.open()?;
            let leads = open_queries(&db)?.prioritised_leads(owner.as_deref(), limit)?;
            let yes_no = |a: Option<bool>| match a {
                Some(true) => "yes",
                Some(false) => "no",
                None => "?",
            };
            let status = |s: Option<touchline_core::LeadStatus>| {
                s.map(|s| format!("{s:?}").to_lowercase())
                    .unwrap_or_default()
            };
            match out.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&leads)?),
                Format::Csv | Format::Parquet => out.rows(report_rows::leads(&leads))?,
                Format::Table => {
                    let mut table = TextTable::new(vec![
                        "lead",
                        "company",
                        "owner",
                        "status",
                        "need",
                        "budget",
                        "authority",
                        "touches",
                    ]);
                    for l in &leads {
                        table.row(vec![
                            format!("{} ({})", l.name, l.person_id),
                            l.company.clone(),
                            l.owner_id.clone(),
                            status(l.status),
                            yes_no(l.qualification.need).to_owned(),
                            yes_no(l.qualification.budget).to_owned(),
                            yes_no(l.qualification.authority).to_owned(),
                            l.touches.to_string(),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
            Ok(())
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
            match out.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&scores)?),
                Format::Csv | Format::Parquet => out.rows(report_rows::scores(&scores))?,
                Format::Table => {
                    let mut table =
                        TextTable::new(vec!["lead", "owner", "score", "touches", "last touch"]);
                    for s in &scores {
                        table.row(vec![
                            s.person_id.clone(),
                            s.owner_id.clone(),
                            format!("{:.1}", s.score),
                            s.touches.to_string(),
                            s.last_touch_at.map(|t| t.to_string()).unwrap_or_default(),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
            Ok(())
        }
        ReportCommand::Rfm { db, at, out } => {
            let out = out.open()?;
            let at = parse_at(at.as_deref())?;
            let report = open_queries(&db)?.rfm(at)?;
            match out.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Csv | Format::Parquet => out.rows(report_rows::rfm(&report))?,
                Format::Table => {
                    println!("RFM per source as of {at}:");
                    let mut table = TextTable::new(vec![
                        "source",
                        "customers",
                        "recency (days)",
                        "frequency",
                        "monetary",
                    ]);
                    for s in &report.by_source {
                        table.row(vec![
                            s.source.clone(),
                            s.customers.to_string(),
                            format!("{:.1}", s.mean_recency_days),
                            format!("{:.2}", s.mean_frequency),
                            money(s.monetary_minor, None),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
            Ok(())
        }
        ReportCommand::Account { db, id, history } => {
            let record = open_queries(&db)?
                .account_record(&id, history)?
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
            emit(&rows, report_rows::OVERDUE, out)
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
                "months" => emit(&forecast.months, report_rows::FORECAST_MONTHS, out),
                "deals" => emit(&forecast.deals, report_rows::FORECAST_DEALS, out),
                other => anyhow::bail!("--by: {other:?} is not months or deals"),
            }
        }
        ReportCommand::Interest { db, account, out } => {
            let out = out.open()?;
            let rows = open_queries(&db)?
                .account_interest(&account)?
                .with_context(|| format!("--account: no account with id {account:?}"))?;
            emit(&rows, report_rows::INTEREST, out)
        }
        ReportCommand::Signals { db, at, owner, out } => {
            let out = out.open()?;
            let at = parse_at(at.as_deref())?;
            let mut rows = Vec::new();
            for deal in open_queries(&db)?.opportunity_signals(at)? {
                if owner.as_ref().is_some_and(|o| o != &deal.owner_id) {
                    continue;
                }
                for indicator in &deal.indicators {
                    let mut row = serde_json::to_value(indicator)?;
                    row["opportunity_id"] = deal.opportunity_id.clone().into();
                    row["opportunity"] = deal.name.clone().into();
                    row["owner_id"] = deal.owner_id.clone().into();
                    rows.push(row);
                }
            }
            emit(&rows, report_rows::SIGNALS, out)
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
            emit(&rows, report_rows::CAMPAIGNS, out)
        }
        ReportCommand::Upsell { db, out } => {
            let out = out.open()?;
            let signals = open_queries(&db)?.upsell_signals()?;
            match out.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&signals)?),
                Format::Csv | Format::Parquet => out.rows(report_rows::upsell(&signals))?,
                Format::Table => {
                    let mut table = TextTable::new(vec![
                        "account",
                        "customer since",
                        "support cases",
                        "last case",
                    ]);
                    for s in &signals {
                        table.row(vec![
                            format!("{} ({})", s.name, s.account_id),
                            s.customer_since.to_string(),
                            s.support_cases.to_string(),
                            s.last_case_at.to_string(),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
            Ok(())
        }
        ReportCommand::Literature { db, out } => {
            let out = out.open()?;
            let rows = open_queries(&db)?.literature()?;
            match out.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                Format::Csv | Format::Parquet => out.rows(report_rows::literature(&rows))?,
                Format::Table => {
                    let mut table = TextTable::new(vec![
                        "asset",
                        "sent to",
                        "responded",
                        "rate",
                        "wins after",
                        "revenue after",
                    ]);
                    for r in &rows {
                        table.row(vec![
                            r.asset.clone(),
                            r.sent_to.to_string(),
                            r.responded.to_string(),
                            r.response_rate.to_string(),
                            r.preceded_wins.to_string(),
                            money(r.preceded_revenue_minor, None),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
            Ok(())
        }
        ReportCommand::Duplicates { db, out } => {
            let out = out.open()?;
            let groups = open_queries(&db)?.duplicate_candidates()?;
            match out.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&groups)?),
                Format::Csv | Format::Parquet => out.rows(report_rows::duplicates(&groups))?,
                Format::Table => {
                    println!("{} groups of likely duplicates:", groups.len());
                    let mut table = TextTable::new(vec!["rule", "shared value", "people"]);
                    for g in &groups {
                        table.row(vec![
                            g.rule.to_owned(),
                            g.key.clone(),
                            g.person_ids.join(", "),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
            Ok(())
        }
        ReportCommand::Funnel { db, from, to, out } => {
            let out = out.open()?;
            let range = parse_cli_range(from.as_deref(), to.as_deref())?;
            let rows = open_queries(&db)?.funnel(range)?;
            let days = |d: Option<f64>| d.map_or("-".to_owned(), |d| format!("{d:.1}"));
            match out.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                Format::Csv | Format::Parquet => out.rows(report_rows::funnel(&rows))?,
                Format::Table => {
                    let mut table = TextTable::new(vec![
                        "month",
                        "source",
                        "new leads",
                        "to contact",
                        "customers",
                        "customer rate",
                        "days to first win",
                    ]);
                    for r in &rows {
                        table.row(vec![
                            r.month.clone(),
                            r.source.clone(),
                            r.new_leads.to_string(),
                            r.converted_to_contact.to_string(),
                            r.became_customers.to_string(),
                            r.customer_rate.to_string(),
                            days(r.mean_days_to_first_win),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
            Ok(())
        }
        ReportCommand::SpeedToLead { db, from, to, out } => {
            let out = out.open()?;
            let range = parse_cli_range(from.as_deref(), to.as_deref())?;
            let rows = open_queries(&db)?.speed_to_lead(range)?;
            let fmt = |m: Option<f64>| m.map_or("-".to_owned(), |m| format!("{m:.0}"));
            match out.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                Format::Csv | Format::Parquet => out.rows(report_rows::speed_to_lead(&rows))?,
                Format::Table => {
                    let mut table = TextTable::new(vec![
                        "owner",
                        "leads",
                        "followed up",
                        "median (min)",
                        "mean (min)",
                    ]);
                    for r in &rows {
                        table.row(vec![
                            r.group.clone(),
                            r.leads.to_string(),
                            r.followed_up.to_string(),
                            fmt(r.median_minutes),
                            fmt(r.mean_minutes),
                        ]);
                    }
                    print!("{}", table.render());
                }
            }
            Ok(())
        }
        ReportCommand::Attribution {
            db,
            model,
            conversion,
            by,
            synthesized,
            out,
        } => {
            let out = out.open()?;
            let synthesized = synthesized.synthesized;
            let by = touchline_engine::GroupBy::parse(&by)
                .with_context(|| format!("--by: {by:?} is not campaign, channel or source"))?;
            if by != touchline_engine::GroupBy::Campaign {
                let queries = open_queries(&db)?;
                computed(&queries, model)?;
                let rows = queries.credits_by_counting(
                    model,
                    conversion,
                    Default::default(),
                    by,
                    synthesized,
                )?;
                match out.format {
                    Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                    Format::Csv | Format::Parquet => {
                        out.rows(report_rows::credits_by_group(&rows))?
                    }
                    Format::Table => {
                        let mut table =
                            TextTable::new(vec!["group", "campaigns", "conversions", "value"]);
                        for r in &rows {
                            table.row(vec![
                                r.group.clone(),
                                r.campaigns.to_string(),
                                format!("{:.2}", r.conversions),
                                money(r.value_minor, r.currency.as_deref()),
                            ]);
                        }
                        print!("{}", table.render());
                    }
                }
                return Ok(());
            }
            let queries = open_queries(&db)?;
            computed(&queries, model)?;
            let rows = queries.campaign_credits_counting(
                model,
                conversion,
                Default::default(),
                synthesized,
            )?;
            match out.format {
                Format::Csv | Format::Parquet => out.rows(crate::output::credit_rows(&rows))?,
                format => print!("{}", render_credits(&rows, format, conversion)),
            }
            Ok(())
        }
    }
}
