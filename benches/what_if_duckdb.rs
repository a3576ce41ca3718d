//! What-if attribution against DuckDB's SQL on the same journeys, in one run.
//!
//! The data set of `../shared/peers/side_by_side_duckdb.sh`: `gen_journeys.py
//! OUT N 7` (250,000 people: 2.08M touches, 74,747 won deals), DuckDB 2.0's
//! five-model SQL (`duckdb_heuristics.py`, 2 threads: first, last, linear,
//! U-shaped, time decay 7 d, 90-day lookback), and the same journeys as
//! touchline events (`journeys_to_events.py`) applied to an engine configured
//! with those five models. Then the what-if for those five models on
//! `opportunity_won` over the warm journey cache, per channel, against
//! DuckDB's SQL time (load excluded; the best of its runs), and the agreement
//! of the two per channel.
//!
//!     pip install numpy duckdb==2.0.0
//!     cargo bench --bench what_if_duckdb
//!     TOUCHLINE_BENCH_PEOPLE=50000 cargo bench --bench what_if_duckdb
//!
//! `TOUCHLINE_PEERS` is the peers directory (default `../shared/peers` beside
//! the checkout); without python3, numpy, duckdb or the scripts the benchmark
//! says so and skips.

#![allow(clippy::unwrap_used)]

#[path = "support.rs"]
mod support;

#[global_allocator]
static ALLOCATOR: touchline_alloc::Allocator = touchline_alloc::Allocator;

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use touchline_attribution::{AttributionSettings, ConversionKind, Lookback, Model, ModelParams};
use touchline_engine::what_if::{SettingsChange, WhatIfRequest};
use touchline_engine::{Batch, Engine, EngineConfig, GroupBy, Queries, TimeRange};
use touchline_proto::WireFormat;
use touchline_store::Store;

const MODELS: [Model; 5] = [
    Model::FirstTouch,
    Model::LastTouch,
    Model::Linear,
    Model::UShaped,
    Model::TimeDecay,
];

fn skip(why: &str) -> ! {
    println!("what_if_duckdb: skipped: {why}");
    std::process::exit(0);
}

fn python(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new("python3").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "python3 {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// DuckDB's answer: per channel, the five models' value; and its SQL seconds.
fn duckdb(peers: &Path, data: &Path) -> (BTreeMap<String, Vec<f64>>, f64) {
    let out = python(&[
        peers.join("duckdb_heuristics.py").as_os_str(),
        data.as_os_str(),
        "2".as_ref(),
    ]);
    let mut lines = out.lines();
    let header = lines.next().unwrap_or_default();
    assert!(header.starts_with("channel,"), "duckdb said {out}");
    let mut values = BTreeMap::new();
    let mut seconds = f64::NAN;
    for line in lines {
        if line.starts_with("duckdb") {
            // "... 5 models in 0.243 s = ..."
            seconds = line
                .split(" in ")
                .nth(1)
                .and_then(|s| s.split_whitespace().next())
                .and_then(|s| s.parse().ok())
                .unwrap();
            break;
        }
        let mut cells = line.split(',');
        let channel = cells.next().unwrap().to_owned();
        values.insert(channel, cells.map(|c| c.parse().unwrap()).collect());
    }
    (values, seconds)
}

fn main() {
    touchline_alloc::tune();
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let peers: PathBuf = std::env::var("TOUCHLINE_PEERS").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/peers"),
        Into::into,
    );
    for script in [
        "gen_journeys.py",
        "duckdb_heuristics.py",
        "journeys_to_events.py",
    ] {
        if !peers.join(script).is_file() {
            skip(&format!(
                "no {script} in {} (set TOUCHLINE_PEERS)",
                peers.display()
            ));
        }
    }
    match Command::new("python3")
        .args(["-c", "import numpy, duckdb"])
        .output()
    {
        Ok(out) if out.status.success() => {}
        _ => skip("python3 with numpy and duckdb is needed: pip install numpy duckdb==2.0.0"),
    }
    let people: usize = support::env_or("TOUCHLINE_BENCH_PEOPLE", 250_000);
    let duckdb_runs: usize = support::env_or("TOUCHLINE_BENCH_DUCKDB_RUNS", 3);
    let rounds: usize = support::env_or("TOUCHLINE_BENCH_ROUNDS", 7);
    let base = support::bench_dir();
    let work = tempfile::tempdir_in(&base).unwrap();
    let data = work.path().join("data");
    print!(
        "{}",
        python(&[
            peers.join("gen_journeys.py").as_os_str(),
            data.as_os_str(),
            people.to_string().as_ref(),
            "7".as_ref(),
        ])
    );

    // DuckDB: the best SQL time of its runs (each loads the CSVs first).
    let mut duck_best = f64::INFINITY;
    let mut duck_values = BTreeMap::new();
    for _ in 0..duckdb_runs.max(1) {
        let (values, seconds) = duckdb(&peers, &data);
        duck_best = duck_best.min(seconds);
        duck_values = values;
    }
    println!("duckdb 2-thread SQL, 5 models: best {duck_best:.3} s of {duckdb_runs} runs");

    // touchline: the same journeys as events, into an engine with the five models.
    let events = work.path().join("events.tsv");
    let status = Command::new("python3")
        .arg(peers.join("journeys_to_events.py"))
        .arg(&data)
        .stdout(std::fs::File::create(&events).unwrap())
        .status()
        .unwrap();
    assert!(status.success(), "journeys_to_events.py failed");
    let store_dir = work.path().join("store");
    let store = Arc::new(Store::open(&store_dir).unwrap());
    let settings = AttributionSettings {
        params: ModelParams {
            time_decay_half_life_days: 7.0,
            ..ModelParams::default()
        },
        lookback_days: Lookback {
            opportunity_created: Some(90),
            opportunity_won: Some(90),
            ..Lookback::default()
        },
        ..AttributionSettings::default()
    };
    let mut engine = Engine::open(
        store.clone(),
        EngineConfig {
            models: MODELS.to_vec(),
            settings,
            ..EngineConfig::default()
        },
    )
    .unwrap();
    let started = Instant::now();
    let mut batch = Vec::with_capacity(20_000);
    let mut applied = 0usize;
    let reader = std::io::BufReader::new(std::fs::File::open(&events).unwrap());
    for line in reader.lines() {
        let line = line.unwrap();
        let json = line.split_once('\t').map_or(line.as_str(), |(_, j)| j);
        batch.push(touchline_proto::decode(WireFormat::Json, json.as_bytes()).unwrap());
        if batch.len() == 20_000 {
            applied += batch.len();
            engine
                .apply(Batch {
                    events: std::mem::take(&mut batch),
                    ..Batch::default()
                })
                .unwrap();
        }
    }
    applied += batch.len();
    engine
        .apply(Batch {
            events: batch,
            ..Batch::default()
        })
        .unwrap();
    drop(engine);
    let load = started.elapsed().as_secs_f64();
    println!(
        "touchline engine: {applied} events applied in {load:.1} s ({:.0} events/s), stored credits for 5 models x 2 conversion points",
        applied as f64 / load
    );

    let queries = Queries::new(store);
    let figures = queries
        .warm_what_if(ConversionKind::OpportunityWon, &SettingsChange::default())
        .unwrap();
    println!(
        "journey cache (opportunity_won): {} conversions, {} touches, {:.1} MiB, built in {:.2} s from the views",
        figures.conversions,
        figures.touches,
        figures.bytes as f64 / (1 << 20) as f64,
        figures.build_seconds
    );
    let request = WhatIfRequest {
        models: MODELS.to_vec(),
        kind: ConversionKind::OpportunityWon,
        range: TimeRange::default(),
        by: GroupBy::Channel,
        change: SettingsChange::default(),
        moved: None,
    };
    let time = |request: &WhatIfRequest| {
        let mut times = Vec::with_capacity(rounds);
        let mut answer = None;
        for _ in 0..rounds.max(1) {
            let started = Instant::now();
            answer = Some(queries.what_if(request).unwrap());
            times.push(started.elapsed().as_secs_f64());
        }
        times.sort_by(f64::total_cmp);
        (answer.unwrap(), times[0], times[times.len() / 2])
    };
    let (answer, best, median) = time(&request);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "what-if, 5 models, opportunity_won, {} conversions, {} eligible touches, {threads} threads: best {:.1} ms, median {:.1} ms",
        answer.conversions,
        answer.eligible_touches,
        best * 1e3,
        median * 1e3
    );
    println!(
        "ratio: what-if is {:.1}x faster than DuckDB's SQL (best against best; {:.1}x on the median); bar 5x",
        duck_best / best,
        duck_best / median
    );

    // Agreement per channel with DuckDB (it sums float weights x value; we
    // split each value in minor units).
    let mut worst = 0.0f64;
    for (m, model) in MODELS.iter().enumerate() {
        let mut ours: BTreeMap<&str, f64> = BTreeMap::new();
        for row in answer.rows.iter().filter(|r| r.model == *model) {
            *ours.entry(row.group.as_str()).or_default() += row.value_minor as f64;
        }
        for (channel, values) in &duck_values {
            let theirs = values[m];
            let diff = (ours.get(channel.as_str()).copied().unwrap_or(0.0) - theirs).abs()
                / theirs.max(1.0);
            worst = worst.max(diff);
        }
    }
    println!("largest relative difference what-if vs duckdb over 5 models x channels: {worst:.2e}");

    // A slider move: other parameters, same cache.
    let moved = WhatIfRequest {
        change: SettingsChange {
            lookback_days: Some(Some(30)),
            half_life_days: Some(3.0),
            ..SettingsChange::default()
        },
        ..request.clone()
    };
    let (_, best_moved, median_moved) = time(&moved);
    println!(
        "what-if with lookback 30 d and half-life 3 d: best {:.1} ms, median {:.1} ms ({:.1}x DuckDB's SQL)",
        best_moved * 1e3,
        median_moved * 1e3,
        duck_best / best_moved
    );
    println!("peak RSS {:.0} MiB", support::peak_rss_mib());
}
