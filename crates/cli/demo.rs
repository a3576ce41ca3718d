//! `touchline demo`: the pipeline on a generated dataset, with no Kafka.
//!
//! The in-process source does what the Kafka source does: every event is encoded
//! (protobuf, or JSON for one message in ten, as a JSON-only source would send
//! it), decoded and validated again, batched with its offset on a synthetic
//! `demo.events` partition, and applied by the same engine. A few malformed
//! messages are mixed in; they are dead-lettered (kept in memory) and counted.
//! The outbox drains into an in-memory compacted topic, so the demo also shows
//! what a downstream consumer of `touchline.attribution.v1` would hold.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use touchline_attribution::{ConversionKind, Model};
use touchline_datagen::{DatasetConfig, Generator};
use touchline_engine::{Batch, Engine, EngineConfig, Queries};
use touchline_proto::WireFormat;
use touchline_store::{PartitionOffset, Store, Table};

use crate::output::{TextTable, money};

const DEMO_TOPIC: &str = "demo.events";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed of the generated dataset; the same seed gives the same report.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Accounts to generate (each brings one to three people and their journeys).
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    accounts: u64,
    /// Messages per batch (one WriteBatch and one fsync each).
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    batch: u64,
    /// Malformed messages to mix in, to show dead-lettering.
    #[arg(long, default_value_t = 3)]
    malformed: u64,
    /// Store directory; a fresh temporary one when omitted. Re-running on the same
    /// directory resumes after the stored offset, so nothing is applied twice.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Where to serve the API after the report.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Print the report and exit instead of serving the API.
    #[arg(long)]
    no_serve: bool,
    /// Also write the generated messages to this file (`.jsonl`: JSON lines;
    /// `.pb`: length-delimited protobuf), malformed ones included, for
    /// `touchline ingest` to read back.
    #[arg(long)]
    export: Option<PathBuf>,
}

/// One message as a source would deliver it.
struct Message {
    offset: i64,
    format: WireFormat,
    bytes: Vec<u8>,
}

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let tempdir;
    let db = match &args.db {
        Some(path) => path.clone(),
        None => {
            tempdir = tempfile::tempdir().context("cannot create a temporary store directory")?;
            tempdir.path().join("touchline")
        }
    };
    let store = Arc::new(Store::open(&db)?);
    let mut engine = Engine::open(store.clone(), demo_engine_config())?;
    let resume_from = engine
        .offsets()?
        .into_iter()
        .find(|o| o.topic == DEMO_TOPIC)
        .map_or(0, |o| o.next_offset);

    println!(
        "touchline demo: seed {}, {} accounts, store {}",
        args.seed,
        args.accounts,
        db.display()
    );
    let generator = Generator::new(DatasetConfig {
        seed: args.seed,
        accounts: args.accounts as usize,
        ..DatasetConfig::default()
    });
    let envelopes: Vec<_> = generator.collect();
    // Malformed messages at evenly spread, deterministic positions.
    let spacing = (envelopes.len() / (args.malformed as usize).max(1)).max(1);
    let mut malformed_left = args.malformed;
    let mut messages = Vec::with_capacity(envelopes.len() + args.malformed as usize);
    let mut offset = 0i64;
    for (i, envelope) in envelopes.iter().enumerate() {
        if malformed_left > 0 && i % spacing == 17 % spacing {
            messages.push(Message {
                offset,
                format: WireFormat::Json,
                bytes: br#"{"event_id":"broken","payload":{"type":"touch_recorded"}}"#.to_vec(),
            });
            offset += 1;
            malformed_left -= 1;
        }
        let format = if i % 10 == 9 {
            WireFormat::Json
        } else {
            WireFormat::Protobuf
        };
        messages.push(Message {
            offset,
            format,
            bytes: touchline_proto::encode(format, envelope),
        });
        offset += 1;
    }
    if let Some(path) = &args.export {
        let mut valid = envelopes.iter();
        let records = messages.iter().map(|m| {
            // Every message is the next envelope, or a malformed one.
            match touchline_proto::decode(m.format, &m.bytes) {
                Ok(_) => valid.next().ok_or(m.bytes.as_slice()),
                Err(_) => Err(m.bytes.as_slice()),
            }
        });
        let written = crate::ingest::export(path, records)?;
        println!("exported {written} messages to {}", path.display());
    }
    let pending: Vec<&Message> = messages
        .iter()
        .filter(|m| m.offset >= resume_from)
        .collect();
    if resume_from > 0 {
        println!(
            "resuming after stored offset {resume_from}: {} of {} messages left",
            pending.len(),
            messages.len()
        );
    }

    let mut dead_letters: Vec<(i64, String)> = Vec::new();
    let started = Instant::now();
    let mut appended = 0usize;
    let mut duplicates = 0usize;
    for chunk in pending.chunks(args.batch as usize) {
        let mut events = Vec::with_capacity(chunk.len());
        let mut sources = Vec::with_capacity(chunk.len());
        let mut dead = 0;
        for message in chunk {
            match touchline_proto::decode_with(
                message.format,
                &message.bytes,
                touchline_proto::UnknownFields::Refuse,
            ) {
                Ok(envelope) => {
                    events.push(envelope);
                    sources.push(touchline_engine::MessageSource {
                        topic: DEMO_TOPIC.into(),
                        partition: 0,
                        offset: message.offset,
                    });
                }
                Err(e) => {
                    dead_letters.push((message.offset, e.to_string()));
                    dead += 1;
                }
            }
        }
        let last = chunk.last().map_or(0, |m| m.offset);
        let outcome = engine.apply(Batch {
            events,
            sources,
            offsets: vec![PartitionOffset {
                topic: DEMO_TOPIC.into(),
                partition: 0,
                next_offset: last + 1,
            }],
            dead_lettered: dead,
            ..Batch::default()
        })?;
        appended += outcome.appended;
        duplicates += outcome.duplicates;
    }
    let elapsed = started.elapsed().as_secs_f64();

    // The in-process attribution topic, compacted: latest value per key.
    let mut topic: HashMap<String, Option<Vec<u8>>> = HashMap::new();
    let mut published = 0usize;
    let mut alerts = 0usize;
    loop {
        let page = store.outbox(10_000)?;
        let Some(&(last, _)) = page.last() else { break };
        let mut renderer = touchline_engine::AttributionRenderer::new(&store);
        for (_, record) in page {
            if record.alert.is_some() {
                alerts += 1;
                continue;
            }
            // Dead letters only the engine can find (conflicting duplicates).
            if let Some(letter) = &record.dead_letter {
                let header = |name: &str| {
                    letter
                        .headers
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.clone())
                };
                let offset = header("touchline.dlq.source.offset")
                    .and_then(|o| o.parse().ok())
                    .unwrap_or(-1);
                dead_letters.push((offset, header("touchline.dlq.reason").unwrap_or_default()));
                continue;
            }
            published += 1;
            let value = renderer.render(&record.key)?;
            topic.insert(record.key, value);
        }
        store.remove_outbox_through(last)?;
    }
    let live_keys = topic.values().filter(|v| v.is_some()).count();

    println!();
    println!(
        "pipeline: {appended} events appended, {duplicates} duplicates skipped (producer retries), {} dead-lettered, in {:.2} s ({:.0} events/s, fsync per batch of {})",
        dead_letters.len(),
        elapsed,
        pending.len() as f64 / elapsed.max(1e-9),
        args.batch
    );
    for (offset, reason) in &dead_letters {
        println!("  dead letter at {DEMO_TOPIC}/0@{offset}: {reason}");
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut leads = 0usize;
    let mut merged = 0usize;
    let (mut routed, mut to_partners) = (0usize, 0usize);
    store.for_each(Table::Persons, |_, p: touchline_projection::PersonView| {
        *counts.entry("people").or_default() += 1;
        if p.lead_created_at.is_some() && p.merged_into.is_none() {
            leads += 1;
        }
        if p.merged_into.is_some() {
            merged += 1;
        }
        if !p.routing.is_empty() {
            routed += 1;
            if p.owner_kind == touchline_core::OwnerKind::Partner {
                to_partners += 1;
            }
        }
    })?;
    let mut opportunities = 0usize;
    store.for_each(
        Table::Opportunities,
        |_, _: touchline_projection::OpportunityView| opportunities += 1,
    )?;
    println!(
        "read models: {} people ({leads} leads, {merged} merged duplicates), {opportunities} opportunities",
        counts.get("people").copied().unwrap_or(0)
    );
    let queries = Queries::new(store.clone());
    let forecast = queries.forecast(&touchline_engine::PipelineConfig::default())?;
    let weighted: touchline_engine::MinorTotal =
        forecast.months.iter().map(|m| m.weighted_minor).sum();
    println!(
        "routing: {routed} leads arrived without an owner and were routed by rule ({to_partners} to a partner); forecast: {} open deals, {:.1} EUR thousands weighted",
        forecast.deals.len(),
        weighted as f64 / 100_000.0
    );
    println!(
        "published: {published} credit-set versions; the compacted topic holds {live_keys} current credit sets; {alerts} rep alerts (activity on accounts with open deals)"
    );
    println!();

    print_side_by_side(&queries, ConversionKind::LeadCreated)?;
    println!();
    print_side_by_side(&queries, ConversionKind::OpportunityCreated)?;
    println!();
    print_models(&queries)?;

    if args.no_serve {
        return Ok(());
    }
    let example_lead = first_lead(&store)?;
    let access = demo_access()?;
    println!();
    println!(
        "dashboard on http://{}/ ({}), API on http://{} (Ctrl-C to stop), for example:",
        args.listen,
        match access {
            touchline_api::Access::Open => "open access: sign in with any token",
            touchline_api::Access::Tokens(_) => "sign in with a token from TOUCHLINE_API_TOKENS",
        },
        args.listen
    );
    println!(
        "  curl -s http://{}/v1/reports/attribution?model=last_touch\\&conversion=opportunity_created",
        args.listen
    );
    if let Some(id) = example_lead {
        println!("  curl -s http://{}/v1/leads/{id}", args.listen);
        println!("  curl -s http://{}/v1/leads/{id}/attribution", args.listen);
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("--listen {}: cannot bind", args.listen))?;
        let metrics = engine.metrics().clone();
        // Re-routing a lead through the API applies its event to this engine.
        let commands: Arc<dyn touchline_engine::EventSink> = Arc::new(
            touchline_engine::EngineSink(Arc::new(std::sync::Mutex::new(engine))),
        );
        let app = touchline_api::router_with(
            queries,
            metrics,
            touchline_api::ApiOptions {
                commands: Some(commands),
                access,
                ..touchline_api::ApiOptions::default()
            },
        )
        .merge(touchline_dashboard::router());
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        anyhow::Ok(())
    })?;
    Ok(())
}

/// Who may call the demo's API: the tokens in `TOUCHLINE_API_TOKENS`
/// (`name:role:sha256,...`, as `touchline run` reads them), else everyone as
/// admin.
fn demo_access() -> anyhow::Result<touchline_api::Access> {
    match std::env::var("TOUCHLINE_API_TOKENS") {
        Ok(tokens) if !tokens.trim().is_empty() => {
            crate::config::Config::load(None)?.access.access()
        }
        _ => Ok(touchline_api::Access::Open),
    }
}

fn first_lead(store: &Store) -> anyhow::Result<Option<String>> {
    let page = store.scan::<touchline_projection::PersonView>(Table::Persons, "", None, 200)?;
    Ok(page
        .into_iter()
        .find(|(_, p)| p.lead_created_at.is_some() && p.touches_kept > 2 && p.merged_into.is_none())
        .map(|(k, _)| k))
}

/// Revenue of won deals per campaign under several models: where the models
/// disagree is where a single-touch view misleads.
fn print_models(queries: &Queries) -> anyhow::Result<()> {
    let shown = [
        Model::FirstTouch,
        Model::LastTouch,
        Model::Linear,
        Model::UShaped,
        Model::WShaped,
        Model::FullPath,
        Model::TimeDecay,
    ];
    let mut rows =
        queries.compare_models(ConversionKind::OpportunityWon, Default::default(), None)?;
    let value = |row: &touchline_engine::ModelComparison, model: Model| {
        row.models
            .iter()
            .find(|m| m.model == model)
            .map_or(0, |m| m.value_minor)
    };
    rows.sort_by(|a, b| {
        value(b, Model::Linear)
            .cmp(&value(a, Model::Linear))
            .then(a.campaign_name.cmp(&b.campaign_name))
    });
    println!("Revenue of won deals per campaign and model (EUR thousands):");
    let mut header = vec!["campaign"];
    header.extend(shown.iter().map(|m| m.name()));
    let mut table = TextTable::new(header);
    for row in &rows {
        let mut cells = vec![row.campaign_name.clone()];
        cells.extend(
            shown
                .iter()
                .map(|m| format!("{:.1}", value(row, *m) as f64 / 100_000.0)),
        );
        table.row(cells);
    }
    print!("{}", table.render());
    Ok(())
}

/// One campaign's credit under first touch (index 0) and last touch (index 1).
struct SideBySide {
    name: String,
    channel: String,
    conversions: [f64; 2],
    values: [touchline_engine::MinorTotal; 2],
    currency: Option<String>,
}

/// First touch and last touch next to each other, per campaign.
fn print_side_by_side(queries: &Queries, kind: ConversionKind) -> anyhow::Result<()> {
    let valued = kind == ConversionKind::OpportunityCreated;
    let mut rows: BTreeMap<String, SideBySide> = BTreeMap::new();
    for (i, model) in [Model::FirstTouch, Model::LastTouch]
        .into_iter()
        .enumerate()
    {
        for credit in queries.campaign_credits(model, kind)? {
            let entry = rows
                .entry(credit.campaign_id.clone())
                .or_insert_with(|| SideBySide {
                    name: credit.campaign_name.clone(),
                    channel: credit.channel.clone(),
                    conversions: [0.0; 2],
                    values: [0; 2],
                    currency: credit.currency.clone(),
                });
            entry.conversions[i] += credit.conversions;
            entry.values[i] += credit.value_minor;
        }
    }
    let mut rows: Vec<SideBySide> = rows.into_values().collect();
    if valued {
        rows.sort_by(|a, b| b.values[0].cmp(&a.values[0]).then(a.name.cmp(&b.name)));
        println!("Pipeline credited by opportunity creation, per campaign:");
    } else {
        rows.sort_by(|a, b| {
            b.conversions[0]
                .total_cmp(&a.conversions[0])
                .then(a.name.cmp(&b.name))
        });
        println!("Leads credited by lead creation, per campaign:");
    }
    let mut table = TextTable::new(vec!["campaign", "channel", "first touch", "last touch"]);
    let mut total_conversions = [0.0f64; 2];
    let mut total_values: [touchline_engine::MinorTotal; 2] = [0; 2];
    for row in &rows {
        for i in 0..2 {
            total_conversions[i] += row.conversions[i];
            total_values[i] += row.values[i];
        }
        let cells = if valued {
            row.values.map(|v| money(v, row.currency.as_deref()))
        } else {
            row.conversions.map(|c| format!("{c:.0}"))
        };
        let [first, last] = cells;
        table.row(vec![row.name.clone(), row.channel.clone(), first, last]);
    }
    let [first, last] = if valued {
        total_values.map(|v| money(v, Some("EUR")))
    } else {
        total_conversions.map(|c| format!("{c:.0}"))
    };
    table.row(vec!["total".into(), String::new(), first, last]);
    print!("{}", table.render());
    Ok(())
}

/// Every model, and routing rules for the leads that arrive without an owner:
/// partner-sourced ones to the partner, the rest to inside sales.
fn demo_engine_config() -> EngineConfig {
    let rule = |name: &str, owner: &str, kind: touchline_core::OwnerKind, mediums: &[&str]| {
        touchline_projection::RoutingRule {
            mediums: mediums.iter().map(|m| (*m).to_owned()).collect(),
            ..touchline_projection::RoutingRule::to(name, owner, kind)
        }
    };
    EngineConfig {
        routing: touchline_projection::RoutingRules {
            first_follow_up_within_hours: 24.0,
            rules: vec![
                rule(
                    "partner leads",
                    "partner-acme",
                    touchline_core::OwnerKind::Partner,
                    &["partner"],
                ),
                rule(
                    "inside sales",
                    "inside-sales",
                    touchline_core::OwnerKind::Internal,
                    &[],
                ),
            ],
        },
        ..EngineConfig::default()
    }
}
