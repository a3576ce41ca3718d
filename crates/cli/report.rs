//! Reports as tables, CSV or JSON.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use touchline_attribution::{ConversionKind, Model};

use crate::args::{
    computed, open_queries, parse_at, parse_cli_range, parse_conversion, parse_model,
};
use crate::output::{Format, TextTable, csv_field, emit, money, render_credits};

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
