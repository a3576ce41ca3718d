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
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Open leads in priority order (R23): need, budget and authority first.
    Leads {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
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
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Recency, frequency and monetary value per customer and per source (R4).
    Rfm {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// As of this instant (default: now).
        #[arg(long)]
        at: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
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
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
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
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Product or topic interest across every contact of an account (R18).
    Interest {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// The account id.
        #[arg(long)]
        account: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
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
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
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
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Upsell signals (R17): customers whose people opened support cases after buying.
    Upsell {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Literature fulfilment (R8): per asset, sent, responded, and wins it preceded.
    Literature {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// People who share a normalised e-mail or phone: candidates for a merge (R10).
    Duplicates {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// New leads per month and source, conversion to customers and time to convert (R13).
    Funnel {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Time from lead creation to the first follow-up (R21), overall and per owner.
    SpeedToLead {
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        #[arg(long)]
        from: Option<String>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
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
        ReportCommand::FollowUps {
            db,
            at,
            owner,
            format,
        } => {
            let at = parse_at(at.as_deref())?;
            let rows = open_queries(&db)?.follow_ups_due(at, owner.as_deref())?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                Format::Csv => {
                    println!(
                        "person_id,name,company,owner_id,due_at,overdue_hours,follow_ups,last_method,last_outcome"
                    );
                    for r in &rows {
                        println!(
                            "{},{},{},{},{},{:.1},{},{},{}",
                            csv_field(&r.person_id),
                            csv_field(&r.name),
                            csv_field(&r.company),
                            csv_field(&r.owner_id),
                            r.due_at,
                            r.overdue_ms as f64 / 3_600_000.0,
                            r.follow_ups,
                            r.last_method
                                .map(|m| format!("{m:?}").to_lowercase())
                                .unwrap_or_default(),
                            csv_field(r.last_outcome.as_deref().unwrap_or(""))
                        );
                    }
                }
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
            format,
        } => {
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
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&leads)?),
                Format::Csv => {
                    println!(
                        "person_id,name,company,owner_id,status,need,budget,authority,score,touches"
                    );
                    for l in &leads {
                        println!(
                            "{},{},{},{},{},{},{},{},{},{}",
                            csv_field(&l.person_id),
                            csv_field(&l.name),
                            csv_field(&l.company),
                            csv_field(&l.owner_id),
                            status(l.status),
                            yes_no(l.qualification.need),
                            yes_no(l.qualification.budget),
                            yes_no(l.qualification.authority),
                            l.qualification_score,
                            l.touches
                        );
                    }
                }
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
            format,
        } => {
            let at = parse_at(at.as_deref())?;
            let config = crate::config::Config::load(config.as_deref())?;
            let scores =
                open_queries(&db)?.lead_scores(&config.scoring, at, owner.as_deref(), limit)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&scores)?),
                Format::Csv => {
                    println!("person_id,owner_id,score,touches,last_touch_at");
                    for s in &scores {
                        let last = s.last_touch_at.map(|t| t.to_string()).unwrap_or_default();
                        println!(
                            "{},{},{:.2},{},{last}",
                            csv_field(&s.person_id),
                            csv_field(&s.owner_id),
                            s.score,
                            s.touches
                        );
                    }
                }
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
        ReportCommand::Rfm { db, at, format } => {
            let at = parse_at(at.as_deref())?;
            let report = open_queries(&db)?.rfm(at)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Csv => {
                    println!("account_id,name,source,recency_days,frequency,monetary_minor");
                    for c in &report.customers {
                        println!(
                            "{},{},{},{:.1},{},{}",
                            csv_field(&c.account_id),
                            csv_field(&c.name),
                            csv_field(&c.source),
                            c.recency_days,
                            c.frequency,
                            c.monetary_minor
                        );
                    }
                }
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
            format,
        } => {
            let rules = crate::config::Config::load(config.as_deref())?.routing;
            let at = parse_at(at.as_deref())?;
            let rows = open_queries(&db)?.overdue_leads(at, &rules, owner.as_deref())?;
            emit(
                &rows,
                &[
                    "person_id",
                    "name",
                    "owner_id",
                    "owner_kind",
                    "reason",
                    "due_at",
                    "overdue_ms",
                    "follow_ups",
                    "last_outcome",
                    "times_routed",
                ],
                format,
            )
        }
        ReportCommand::Forecast {
            db,
            config,
            by,
            format,
        } => {
            let pipeline = crate::config::Config::load(config.as_deref())?.pipeline;
            let forecast = open_queries(&db)?.forecast(&pipeline)?;
            match by.as_str() {
                "months" => emit(
                    &forecast.months,
                    &[
                        "month",
                        "currency",
                        "opportunities",
                        "pipeline_minor",
                        "weighted_minor",
                    ],
                    format,
                ),
                "deals" => emit(
                    &forecast.deals,
                    &[
                        "opportunity_id",
                        "name",
                        "stage",
                        "probability_pct",
                        "expected_close_at",
                        "amount.amount_minor",
                        "amount.currency",
                        "weighted_minor",
                    ],
                    format,
                ),
                other => anyhow::bail!("--by: {other:?} is not months or deals"),
            }
        }
        ReportCommand::Interest {
            db,
            account,
            format,
        } => {
            let rows = open_queries(&db)?
                .account_interest(&account)?
                .with_context(|| format!("--account: no account with id {account:?}"))?;
            emit(
                &rows,
                &["topic", "touches", "responses", "people", "last_at"],
                format,
            )
        }
        ReportCommand::Signals {
            db,
            at,
            owner,
            format,
        } => {
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
            emit(
                &rows,
                &[
                    "opportunity_id",
                    "opportunity",
                    "owner_id",
                    "kind",
                    "name",
                    "colour",
                    "touches",
                    "responses",
                    "last_touch_at",
                    "last_response_at",
                ],
                format,
            )
        }
        ReportCommand::Campaigns {
            db,
            model,
            currency,
            format,
        } => {
            let model =
                touchline_api::parse_model(&model).map_err(|e| anyhow::anyhow!("--model: {e}"))?;
            let queries = open_queries(&db)?;
            computed(&queries, model)?;
            let rows = queries.campaign_performance(
                model,
                touchline_engine::TimeRange::default(),
                &currency,
            )?;
            emit(
                &rows,
                &[
                    "campaign_id",
                    "campaign_name",
                    "members",
                    "responders",
                    "response_rate",
                    "leads_sourced",
                    "cost_minor",
                    "leads",
                    "sales",
                    "revenue_minor",
                    "booked_minor",
                    "roi",
                    "cost_per_lead_minor",
                    "cost_per_sale_minor",
                ],
                format,
            )
        }
        ReportCommand::Upsell { db, format } => {
            let signals = open_queries(&db)?.upsell_signals()?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&signals)?),
                Format::Csv => {
                    println!("account_id,name,customer_since,support_cases,last_case_at");
                    for s in &signals {
                        println!(
                            "{},{},{},{},{}",
                            csv_field(&s.account_id),
                            csv_field(&s.name),
                            s.customer_since,
                            s.support_cases,
                            s.last_case_at
                        );
                    }
                }
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
        ReportCommand::Literature { db, format } => {
            let rows = open_queries(&db)?.literature()?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                Format::Csv => {
                    println!(
                        "asset,sent_to,responded,response_rate,preceded_wins,preceded_revenue_minor"
                    );
                    for r in &rows {
                        println!(
                            "{},{},{},{},{},{}",
                            csv_field(&r.asset),
                            r.sent_to,
                            r.responded,
                            r.response_rate,
                            r.preceded_wins,
                            r.preceded_revenue_minor
                        );
                    }
                }
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
        ReportCommand::Duplicates { db, format } => {
            let groups = open_queries(&db)?.duplicate_candidates()?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&groups)?),
                Format::Csv => {
                    println!("rule,key,person_ids");
                    for g in &groups {
                        println!(
                            "{},{},{}",
                            g.rule,
                            csv_field(&g.key),
                            csv_field(&g.person_ids.join(" "))
                        );
                    }
                }
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
        ReportCommand::Funnel {
            db,
            from,
            to,
            format,
        } => {
            let range = parse_cli_range(from.as_deref(), to.as_deref())?;
            let rows = open_queries(&db)?.funnel(range)?;
            let days = |d: Option<f64>| d.map_or("-".to_owned(), |d| format!("{d:.1}"));
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                Format::Csv => {
                    println!(
                        "month,source,new_leads,converted_to_contact,contact_rate,became_customers,customer_rate,mean_days_to_first_win"
                    );
                    for r in &rows {
                        println!(
                            "{},{},{},{},{},{},{},{}",
                            r.month,
                            csv_field(&r.source),
                            r.new_leads,
                            r.converted_to_contact,
                            r.contact_rate,
                            r.became_customers,
                            r.customer_rate,
                            days(r.mean_days_to_first_win)
                        );
                    }
                }
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
        ReportCommand::SpeedToLead {
            db,
            from,
            to,
            format,
        } => {
            let range = parse_cli_range(from.as_deref(), to.as_deref())?;
            let rows = open_queries(&db)?.speed_to_lead(range)?;
            let fmt = |m: Option<f64>| m.map_or("-".to_owned(), |m| format!("{m:.0}"));
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                Format::Csv => {
                    println!("group,leads,followed_up,median_minutes,mean_minutes");
                    for r in &rows {
                        println!(
                            "{},{},{},{},{}",
                            csv_field(&r.group),
                            r.leads,
                            r.followed_up,
                            fmt(r.median_minutes),
                            fmt(r.mean_minutes)
                        );
                    }
                }
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
            format,
        } => {
            let by = touchline_engine::GroupBy::parse(&by)
                .with_context(|| format!("--by: {by:?} is not campaign, channel or source"))?;
            if by != touchline_engine::GroupBy::Campaign {
                let queries = open_queries(&db)?;
                computed(&queries, model)?;
                let rows = queries.credits_by(model, conversion, Default::default(), by)?;
                match format {
                    Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                    Format::Csv => {
                        println!("group,campaigns,conversions,value_minor,currency");
                        for r in &rows {
                            println!(
                                "{},{},{},{},{}",
                                csv_field(&r.group),
                                r.campaigns,
                                r.conversions,
                                r.value_minor,
                                r.currency.as_deref().unwrap_or("")
                            );
                        }
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
            let rows = queries.campaign_credits(model, conversion)?;
            print!("{}", render_credits(&rows, format, conversion));
            Ok(())
        }
    }
}

pub fn render_credits(rows: &[CampaignCredit], format: Format, kind: ConversionKind) -> String {
    let valued = !kind.is_person();
    match format {
        Format::Json => serde_json::to_string_pretty(rows).unwrap_or_default() + "\n",
        Format::Csv => {
            let mut out = String::from(
                "campaign_id,campaign_name,channel,conversions,value_minor,currency\n",
            );
            for r in rows {
                out.push_str(&format!(
                    "{},{},{},{},{},{}\n",
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

/// A CSV cell: quoted when it holds a separator, a quote or a line break; text
/// that would start a formula (`=`, `+`, `-`, `@`, tab, carriage return) gets a
/// `'` in front (OWASP, "CSV Injection"). Numbers such as `-12.5` stay numbers.
fn csv_field(text: &str) -> String {
    let is_number = |t: &str| {
        let digits = t.strip_prefix('-').unwrap_or(t);
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
        [whole, fraction]
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    };
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) && !is_number(text) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// `1234567` cents → `12,345.67 EUR`.
pub fn money(minor: impl Into<touchline_engine::MinorTotal>, currency: Option<&str>) -> String {
    let minor: touchline_engine::MinorTotal = minor.into();
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
    fn csv_text_never_starts_a_formula_and_numbers_stay() {
        assert_eq!(csv_field("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("@x"), "'@x");
        assert_eq!(csv_field("-x"), "'-x");
        assert_eq!(csv_field("-1+2"), "'-1+2");
        assert_eq!(csv_field("\t1"), "'\t1");
        assert_eq!(csv_field("\r=1"), "\"'\r=1\"");
        assert_eq!(csv_field("=\"a\",b"), "\"'=\"\"a\"\",b\"");
        assert_eq!(csv_field("-12.5"), "-12.5");
        assert_eq!(csv_field("-3"), "-3");
        assert_eq!(csv_field("a-b"), "a-b");
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
            "campaign_id,campaign_name,channel,conversions,value_minor,currency\nc1,\"Webinar: \"\"Deep\"\", part 2\",webinar,1.5,250,EUR\n"
        );
    }
}

#[derive(Debug, Subcommand)]
pub enum AttributionCommand {
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
        /// TOML config whose [attribution] section (lookback, filter) to use.
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// What we would have said at a past instant (from the events recorded by
    /// then, with today's configuration), and which conversions moved since, and why.
    AsOf {
        /// The store directory (read-only; the engine may be running on it).
        #[arg(long, default_value = "data/touchline", env = "TOUCHLINE_STORE_PATH")]
        db: PathBuf,
        /// The past instant: 2026-03-01 or RFC 3339.
        #[arg(long)]
        at: String,
        #[arg(long, default_value = "first_touch", value_parser = parse_model)]
        model: Model,
        #[arg(long, default_value = "lead_created", value_parser = parse_conversion)]
        conversion: ConversionKind,
        /// TOML config whose [attribution] section to use (default: the built-in one).
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
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
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Parses `--from`/`--to` with the API's rules, naming the flag on error.
fn parse_cli_range(
    from: Option<&str>,
    to: Option<&str>,
) -> anyhow::Result<touchline_engine::TimeRange> {
    touchline_api::parse_range(from, to).map_err(|e| anyhow::anyhow!(e.replace("parameter ", "--")))
}

/// Parses `--at` (RFC 3339 or a date); absent means now.
fn parse_at(text: Option<&str>) -> anyhow::Result<touchline_core::Timestamp> {
    match text {
        None => Ok(touchline_core::Timestamp::now()),
        Some(text) => touchline_core::Timestamp::parse_lenient(text)
            .with_context(|| format!("--at: {text:?} is not a date (2026-03-01) or RFC 3339 time")),
    }
}

/// Opens the store as a RocksDB secondary: read-only, beside a running engine
/// (which holds the store's lock) or none, at the latest state the engine has
/// made durable, whole batches only. The report reads that one state
/// throughout; nothing is written to the store.
/// Refuses a model the store's engine does not compute: it has no credits, so
/// every row would be zero.
fn computed(queries: &Queries, model: Model) -> anyhow::Result<()> {
    if let Some(models) = queries.configured_models()?
        && !models.contains(&model)
    {
        let names: Vec<&str> = models.iter().map(|m| m.name()).collect();
        anyhow::bail!(
            "--model: {:?} is not computed by the engine that wrote this store; its models are {}",
            model.name(),
            names.join(", ")
        );
    }
    Ok(())
}

fn open_queries(db: &std::path::Path) -> anyhow::Result<Queries> {
    if !db.exists() {
        anyhow::bail!(
            "--db {}: no store there (run `touchline run` or `touchline demo --db` first)",
            db.display()
        );
    }
    let store = Store::open_secondary(db)
        .with_context(|| format!("--db {}: cannot read the store", db.display()))?;
    Ok(Queries::new(Arc::new(store)))
}

pub fn run_attribution(command: AttributionCommand) -> anyhow::Result<()> {
    match command {
        AttributionCommand::DataDriven {
            db,
            model,
            order,
            conversion,
            by,
            from,
            to,
            config,
            format,
        } => {
            let (model, by) =
                touchline_api::parse_data_driven(Some(&model), Some(&order), Some(&by))
                    .map_err(|e| anyhow::anyhow!(e.replace("parameter ", "--")))?;
            let range = parse_cli_range(from.as_deref(), to.as_deref())?;
            let config = crate::config::Config::load(config.as_deref())?;
            let queries = open_queries(&db)?;
            let report = queries.data_driven(
                model,
                conversion,
                range,
                by,
                &config.attribution.settings(),
            )?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
                Format::Csv => {
                    println!("channel,score,share,conversions,value");
                    for c in &report.result.channels {
                        println!(
                            "{},{},{},{},{}",
                            csv_field(&c.channel),
                            c.score,
                            c.share,
                            c.conversions,
                            c.value
                        );
                    }
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
        AttributionCommand::AsOf {
            db,
            at,
            model,
            conversion,
            config,
            format,
        } => as_of(&db, &at, model, conversion, config.as_deref(), format),
        AttributionCommand::Compare {
            db,
            conversion_id,
            conversion,
            campaign,
            from,
            to,
            format,
        } => compare(&db, conversion_id, conversion, campaign, from, to, format),
    }
}

fn as_of(
    db: &std::path::Path,
    at: &str,
    model: Model,
    kind: ConversionKind,
    config: Option<&std::path::Path>,
    format: Format,
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
    let summary = |credits: &Option<Vec<touchline_attribution::Credit>>| match credits {
        None => "-".to_owned(),
        Some(credits) => credits
            .iter()
            .map(|c| format!("{} {:.0}%", c.campaign_id, c.weight * 100.0))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let reason_names = |m: &touchline_engine::as_of::Moved| {
        m.reasons
            .iter()
            .map(|r| {
                serde_json::to_value(r)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
    };
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&moved)?),
        Format::Csv => {
            println!("conversion_id,model,then,now,reasons");
            for m in &moved {
                println!(
                    "{},{},{},{},{}",
                    csv_field(&m.conversion_id),
                    m.model.name(),
                    csv_field(&summary(&m.then)),
                    csv_field(&summary(&m.now)),
                    reason_names(m).join(" ")
                );
            }
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
                    summary(&m.then),
                    summary(&m.now),
                    reason_names(m).join(", "),
                ]);
            }
            print!("{}", table.render());
        }
    }
    Ok(())
}

fn compare(
    db: &std::path::Path,
    conversion_id: Option<String>,
    conversion: ConversionKind,
    campaign: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    let range = parse_cli_range(from.as_deref(), to.as_deref())?;
    let queries = open_queries(db)?;
    if let Some(id) = conversion_id {
        let view = queries.conversion(&id)?.with_context(|| {
            format!(
                "--conversion-id {id}: no such conversion in {}",
                db.display()
            )
        })?;
        match format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&view)?),
            Format::Csv => {
                println!("model,version,campaign_id,touch_event_id,weight,amount_minor");
                for r in &view.results {
                    for c in &r.attribution.credits {
                        println!(
                            "{},{},{},{},{},{}",
                            r.model.name(),
                            r.version,
                            csv_field(&c.campaign_id),
                            c.touch_event_id.as_deref().unwrap_or(""),
                            c.weight,
                            c.amount_minor.map_or(String::new(), |a| a.to_string())
                        );
                    }
                }
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
    let rows = queries.compare_models(conversion, range, campaign.as_deref())?;
    let valued = matches!(
        conversion,
        ConversionKind::OpportunityCreated | ConversionKind::OpportunityWon
    );
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        Format::Csv => {
            println!("campaign_id,campaign_name,channel,model,conversions,value_minor,currency");
            for row in &rows {
                for m in &row.models {
                    println!(
                        "{},{},{},{},{},{},{}",
                        csv_field(&row.campaign_id),
                        csv_field(&row.campaign_name),
                        csv_field(&row.channel),
                        m.model.name(),
                        m.conversions,
                        m.value_minor,
                        row.currency.as_deref().unwrap_or("")
                    );
                }
            }
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

/// Prints rows as a table or CSV of the named columns (a dotted name reaches
/// into a nested object), or as JSON with every field.
fn emit<T: serde::Serialize>(rows: &[T], columns: &[&str], format: Format) -> anyhow::Result<()> {
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(rows)?);
        return Ok(());
    }
    let cell = |row: &serde_json::Value, column: &str| -> String {
        let value = column
            .split('.')
            .try_fold(row, |v, key| v.get(key))
            .unwrap_or(&serde_json::Value::Null);
        match value {
            serde_json::Value::Null => String::new(),
            serde_json::Value::String(s) => s.clone(),
            // A machine format keeps full precision; a table is for people.
            serde_json::Value::Number(n) if format == Format::Csv && n.is_f64() => n
                .as_f64()
                .map_or_else(|| n.to_string(), |f| (f + 0.0).to_string()),
            serde_json::Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() => {
                    let text = format!("{f:.4}");
                    let text = text.trim_end_matches('0').trim_end_matches('.');
                    if text == "-0" {
                        "0".to_owned()
                    } else {
                        text.to_owned()
                    }
                }
                _ => n.to_string(),
            },
            other => other.to_string(),
        }
    };
    let values: Vec<serde_json::Value> = rows
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()?;
    match format {
        Format::Csv => {
            println!("{}", columns.join(","));
            for row in &values {
                let cells: Vec<String> = columns.iter().map(|c| csv_field(&cell(row, c))).collect();
                println!("{}", cells.join(","));
            }
        }
        _ => {
            let mut table = TextTable::new(columns.to_vec());
            for row in &values {
                table.row(columns.iter().map(|c| cell(row, c)).collect());
            }
            print!("{}", table.render());
        }
    }
    Ok(())
}
