//! `touchline`: the command-line entry point.
//!
//! - `touchline demo`: generate a seeded dataset, push it through the pipeline from
//!   an in-process source, print the report, serve the API.
//! - `touchline run`: consume Kafka, keep the log and views, publish attribution,
//!   serve the API.
//! - `touchline replay`: rebuild every view from the log.
//! - `touchline import`: backfill legacy leads from a CSV.
//! - `touchline report <name>`, `touchline attribution ...`: reports from a store,
//!   as a table, CSV, JSON or a Parquet file; `touchline report credits`: every
//!   stored credit set.
//! - `touchline token`: make API tokens.

mod args;
mod as_of;
mod attribution;
mod backup;
mod config;
mod credits;
mod demo;
mod import;
mod ingest;
mod ingest_csv;
mod output;
mod parquet;
mod report;
mod report_routes;
mod run;
mod serve;
mod synthesized;
mod what_if;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: touchline_alloc::Allocator = touchline_alloc::Allocator;

#[derive(Debug, Parser)]
#[command(
    name = "touchline",
    version,
    about = "Event-sourced touch attribution: Kafka in, RocksDB log, projections, attribution, Kafka out."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the whole pipeline on a generated dataset, without Kafka.
    Demo(demo::DemoArgs),
    /// Consume the Kafka topics, keep the log and views, publish attribution, serve the API.
    Run {
        /// TOML config file; environment variables override it (see README).
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Rebuild every view from the event log (after an upgrade, or to check the
    /// views): stop the engine first.
    Replay {
        /// TOML config file; environment variables override it (see README).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Events folded in memory in one round of co-location groups; a
        /// longer log takes more rounds, each reading the log again (about
        /// 1.3 GB at peak per million events).
        #[arg(long, default_value_t = touchline_engine::REBUILD_IN_MEMORY_EVENTS)]
        in_memory_events: usize,
        /// Threads folding those events, each the co-location groups of its
        /// own (default: every core); the result does not depend on it.
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
        threads: Option<u16>,
    },
    /// Backfill leads from an old system's CSV export: one campaign per lead
    /// source, one touch per lead at its creation date (into a stopped engine's
    /// store, or through Kafka with --via-kafka).
    Import(import::ImportArgs),
    /// Ingest events from files (JSON lines or length-delimited protobuf)
    /// into a store, through the same decode, validation and engine as Kafka.
    Ingest(ingest::IngestArgs),
    /// Print a report from a store (read-only: an engine may be running on it).
    Report {
        #[command(subcommand)]
        report: report::ReportCommand,
    },
    /// Compare attribution models.
    Attribution {
        // Boxed: its many flags would make every command as large.
        #[command(subcommand)]
        command: Box<attribution::AttributionCommand>,
    },
    /// Take an online, consistent backup of a running engine's store (through
    /// its API), or of a stopped engine's (--db).
    Backup(backup::BackupArgs),
    /// Bring a backup back as a stopped engine's store.
    Restore(backup::RestoreArgs),
    /// Make API tokens (R6): a new random token, or the digest of an existing one.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Print a new random token and the [[access.tokens]] entry that admits it.
    New {
        /// A name for the token, shown in logs.
        #[arg(long)]
        name: String,
        /// marketing, sales, service, analyst or admin.
        #[arg(long)]
        role: touchline_api::Role,
    },
    /// Print the SHA-256 digest of a token read from standard input.
    Hash,
}

fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::New { name, role } => {
            let bytes: [u8; 24] = rand::random();
            let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let secret = format!("tl_{secret}");
            println!("token (give it to the caller; it is not stored): {secret}");
            println!();
            println!("[[access.tokens]]");
            println!("name = {name:?}");
            println!("role = \"{role}\"");
            println!(
                "sha256 = \"{}\"",
                touchline_api::access::token_digest_hex(&secret)
            );
            Ok(())
        }
        TokenCommand::Hash => {
            let mut secret = String::new();
            std::io::stdin().read_line(&mut secret)?;
            let secret = secret.trim();
            anyhow::ensure!(!secret.is_empty(), "no token on standard input");
            println!("{}", touchline_api::access::token_digest_hex(secret));
            Ok(())
        }
    }
}

/// A reader that stops early (`touchline report overdue | head -2`) closes
/// the pipe; the next `println!` then panics with "failed printing to stdout:
/// Broken pipe". Like any Unix filter, end quietly and successfully instead.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

/// Logs to stderr, as text or JSON (`log.format`, `TOUCHLINE_LOG_FORMAT`),
/// at `RUST_LOG` (default `info`).
fn init_logging(format: config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        config::LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        // One object per line; a line inside a span (a batch, a request)
        // carries the span's fields.
        config::LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

/// The log format before anything logs: from the config file of the
/// commands that take one, and the environment. A config that does not load
/// is reported by the command itself, so here it only falls back to text.
fn log_format(command: &Command) -> config::LogFormat {
    let path = match command {
        Command::Run { config } | Command::Replay { config, .. } => config.as_deref(),
        _ => None,
    };
    let mut config = path
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| toml::from_str::<config::Config>(&text).ok())
        .unwrap_or_default();
    if let Some(v) = std::env::var("TOUCHLINE_LOG_FORMAT").ok()
        && let Ok(format) = v.parse()
    {
        config.log.format = format;
    }
    config.log.format
}

fn main() -> std::process::ExitCode {
    // Before any thread starts (see touchline_alloc::tune).
    touchline_alloc::tune();
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    init_logging(log_format(&cli.command));
    let result = match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Run { config } => run::run(config.as_deref()),
        Command::Replay {
            config,
            in_memory_events,
            threads,
        } => run::replay(
            config.as_deref(),
            in_memory_events,
            threads.map(usize::from),
        ),
        Command::Report { report } => report::run(report),
        Command::Attribution { command } => attribution::run_attribution(*command),
        Command::Token { command } => token(command),
        Command::Import(args) => import::run(args),
        Command::Ingest(args) => ingest::run(args),
        Command::Backup(args) => backup::backup(args),
        Command::Restore(args) => backup::restore(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
