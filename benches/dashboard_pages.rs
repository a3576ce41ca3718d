//! Server time to open each dashboard page on the demo store: starts
//! `touchline demo` (5,000 accounts, seed 42: the store `bash deploy/demo.sh`
//! builds), then issues, for each page, the API requests the page makes with
//! its default filters, one after the other, and prints the median and the
//! slowest of their sum over the rounds. The browser sends a page's requests
//! together, so the sum is an upper bound of the page's server time.
//!
//! `cargo bench --bench dashboard_pages`; `TOUCHLINE_BENCH_ACCOUNTS` and
//! `TOUCHLINE_BENCH_ROUNDS` change the store and the rounds.

#![allow(clippy::unwrap_used)]

#[path = "support.rs"]
mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// GET `path`; the status, the body and the time to the last byte.
fn get(addr: &str, path: &str) -> (u16, String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let elapsed = started.elapsed();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body, elapsed)
}

fn json(addr: &str, path: &str) -> serde_json::Value {
    let (status, body, _) = get(addr, path);
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

fn main() {
    let accounts: u64 = support::env_or("TOUCHLINE_BENCH_ACCOUNTS", 5_000);
    let rounds: usize = support::env_or("TOUCHLINE_BENCH_ROUNDS", 10);
    let dir = tempfile::tempdir().unwrap();
    let addr = format!(
        "127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let mut demo = Command::new(env!("CARGO_BIN_EXE_touchline"))
        .args(["demo", "--seed", "42", "--accounts", &accounts.to_string()])
        .args(["--listen", &addr, "--db"])
        .arg(dir.path().join("store"))
        .env_remove("TOUCHLINE_API_TOKENS")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    while TcpStream::connect(&addr).is_err() {
        assert!(demo.try_wait().unwrap().is_none(), "touchline demo exited");
        assert!(Instant::now() < deadline, "touchline demo never served");
        std::thread::sleep(Duration::from_millis(200));
    }

    // What the pages open with, as their modules ask for it.
    let signals = json(&addr, "/v1/reports/opportunity-signals?limit=10000");
    let opportunity = signals[0]["opportunity_id"].as_str().unwrap().to_owned();
    let account = signals[0]["account_id"].as_str().unwrap().to_owned();
    let contacts: Vec<String> =
        json(&addr, &format!("/v1/opportunities/{opportunity}"))["contact_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
    let all = "limit=10000";
    let mut conversion = vec![
        format!("/v1/conversions/opportunity_created:{opportunity}"),
        format!("/v1/opportunities/{opportunity}"),
        format!("/v1/campaigns?{all}"),
        format!("/v1/conversions/opportunity_created:{opportunity}/history"),
    ];
    conversion.extend(contacts.iter().map(|c| format!("/v1/persons/{c}?{all}")));
    let mut campaign = vec![format!("/v1/campaigns?{all}")];
    campaign.extend(
        [
            "lead_created",
            "lead_qualified",
            "opportunity_created",
            "opportunity_won",
        ]
        .map(|c| format!("/v1/reports/compare?conversion={c}&campaign=cmp-webinar-101&{all}")),
    );
    // The influenced deals, as the page asks for them first (100 rows by value).
    campaign.push(
        "/v1/campaigns/cmp-webinar-101/influence?conversion=opportunity_won&sort=value&limit=100"
            .to_owned(),
    );
    let mut shell = vec!["/".to_owned()];
    shell.extend(
        touchline_dashboard::ASSETS
            .iter()
            .map(|a| format!("/dashboard/{}", a.path)),
    );
    let pages: Vec<(&str, Vec<String>)> = vec![
        ("page files (/, scripts, Chart.js)", shell),
        (
            "overview",
            // Leads, pipeline and revenue, then the comparison and the unattributed.
            [
                "lead_created",
                "opportunity_created",
                "opportunity_won",
            ]
            .map(|c| format!("/v1/reports/attribution?model=linear&conversion={c}&by=campaign&{all}"))
            .into_iter()
            .chain([
                format!("/v1/reports/compare?conversion=lead_created&{all}"),
                format!("/v1/reports/unattributed?model=linear&conversion=lead_created&{all}"),
            ])
            .collect(),
        ),
        (
            "campaigns",
            vec![
                format!("/v1/reports/campaigns?model=linear&currency=EUR&{all}"),
                format!(
                    "/v1/reports/attribution?model=linear&conversion=opportunity_created&{all}"
                ),
                format!("/v1/campaigns?{all}"),
            ],
        ),
        ("campaign drill-down", campaign),
        (
            "campaign drill-down, people (lead_created)",
            vec![
                "/v1/campaigns/cmp-webinar-101/influence?conversion=lead_created&sort=value&limit=100"
                    .to_owned(),
            ],
        ),
        ("conversion drill-down", conversion),
        (
            "conversion drill-down: its history alone",
            vec![format!(
                "/v1/conversions/opportunity_created:{opportunity}/history"
            )],
        ),
        (
            "funnel and speed",
            vec![
                format!("/v1/reports/funnel?{all}"),
                format!("/v1/reports/speed-to-lead?{all}"),
            ],
        ),
        (
            "pipeline",
            vec![
                "/v1/reports/forecast".to_owned(),
                format!("/v1/reports/opportunity-signals?{all}"),
            ],
        ),
        (
            "account",
            vec![
                format!("/v1/accounts/{account}?history=50"),
                format!("/v1/accounts/{account}/interest?{all}"),
            ],
        ),
        (
            "what-if",
            vec![
                "/v1/reports/what-if?model=linear&conversion=opportunity_won&by=channel&moved=true"
                    .to_owned(),
                "/v1/reports/what-if?model=linear&conversion=opportunity_won&by=channel".to_owned(),
            ],
        ),
        (
            "data-driven",
            vec![
                "/v1/reports/data-driven?conversion=opportunity_won&by=channel&model=markov&order=1"
                    .to_owned(),
                "/v1/reports/data-driven?conversion=opportunity_won&by=channel&model=shapley"
                    .to_owned(),
                format!("/v1/reports/compare?conversion=opportunity_won&{all}"),
            ],
        ),
    ];
    println!(
        "dashboard pages on the demo store ({accounts} accounts, seed 42), {rounds} rounds; \
         server time = the page's API requests one after the other"
    );
    println!(
        "{:<36} {:>8} {:>10} {:>10}  slowest request",
        "page", "requests", "median ms", "max ms"
    );
    for (page, requests) in &pages {
        let mut sums = Vec::with_capacity(rounds);
        let mut slowest = (Duration::ZERO, String::new());
        for _ in 0..rounds {
            let mut sum = Duration::ZERO;
            for path in requests {
                let (status, body, elapsed) = get(&addr, path);
                assert_eq!(status, 200, "{path}: {body}");
                sum += elapsed;
                if elapsed > slowest.0 {
                    slowest = (elapsed, path.clone());
                }
            }
            sums.push(sum.as_micros() as i64);
        }
        sums.sort_unstable();
        println!(
            "{page:<36} {:>8} {:>10.1} {:>10.1}  {} ({:.1} ms)",
            requests.len(),
            support::quantile(&sums, 0.5) as f64 / 1000.0,
            *sums.last().unwrap() as f64 / 1000.0,
            slowest.1,
            slowest.0.as_secs_f64() * 1000.0
        );
    }
    let _ = demo.kill();
    let _ = demo.wait();
}
