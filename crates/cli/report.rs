//! `touchline report ...`: one command per report route of the API's route
//! table ([`crate::report_routes`]: flags, help, checks and rows are the
//! route's), plus the two that are no route's list: `account` (one record,
//! as text) and `credits` (the stored credit sets).

use std::path::PathBuf;

use anyhow::Context;
use clap::{ArgMatches, FromArgMatches, Subcommand};

use crate::args::open_queries;
use crate::output::{TextTable, money};
use crate::report_routes::{self, RouteCommand};

/// The `report` commands that are not a route's list.
#[derive(Debug, Subcommand)]
pub enum RecordCommand {
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
    /// Every stored credit set: one row per credit line of each current
    /// conversion under each model (conversion, model, version, campaign,
    /// channel, weight, amount in minor units, currency), as published to
    /// the attribution topic; `--format parquet` for BI tools and DuckDB.
    Credits(crate::credits::CreditsArgs),
}

/// A `report` command: a route's, or a record's.
#[derive(Debug)]
pub enum ReportCommand {
    Route(Box<RouteCommand>),
    Record(RecordCommand),
}

impl FromArgMatches for ReportCommand {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        if let Some((name, sub)) = matches.subcommand()
            && let Some((route, command)) = report_routes::find(name)
        {
            return Ok(ReportCommand::Route(Box::new(RouteCommand::from_matches(
                route, command, sub,
            )?)));
        }
        RecordCommand::from_arg_matches(matches).map(ReportCommand::Record)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = ReportCommand::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Subcommand for ReportCommand {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        report_routes::commands().fold(
            RecordCommand::augment_subcommands(cmd),
            |cmd, (route, command)| cmd.subcommand(report_routes::subcommand(route, command)),
        )
    }

    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        ReportCommand::augment_subcommands(cmd)
    }

    fn has_subcommand(name: &str) -> bool {
        report_routes::find(name).is_some() || RecordCommand::has_subcommand(name)
    }
}

pub fn run(command: ReportCommand) -> anyhow::Result<()> {
    match command {
        ReportCommand::Route(command) => report_routes::run(*command),
        ReportCommand::Record(RecordCommand::Credits(args)) => crate::credits::run(args),
        ReportCommand::Record(RecordCommand::Account { db, id, history }) => {
            account(&db, &id, history)
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
