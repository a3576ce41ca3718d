//! One person with a very long history (a bot, or a very engaged contact):
//! what each further touch costs as the history grows. Before issue 8 the cost
//! grew with the history (1.1 s per touch and 1.13 GB RSS at 100,000 touches);
//! past `MAX_TOUCH_HISTORY` it must stay flat.
//!
//!     cargo bench --bench heavy_person
//!     TOUCHLINE_BENCH_TOUCHES=200000 cargo bench --bench heavy_person
//!
//! Prints, per slice of the history, microseconds per touch (one fsynced batch
//! of 1,000 touches at a time, every model) and the peak RSS so far.

#![allow(clippy::unwrap_used)]

#[path = "support.rs"]
mod support;

#[global_allocator]
static ALLOCATOR: touchline_alloc::Allocator = touchline_alloc::Allocator;

use std::sync::Arc;
use std::time::Instant;

use touchline_core::*;
use touchline_engine::{Batch, Engine, EngineConfig};
use touchline_store::Store;

fn envelope(id: String, ms: i64, event: Event) -> Envelope {
    Envelope {
        event_id: id,
        occurred_at: Timestamp::from_millis(ms),
        recorded_at: Timestamp::from_millis(ms),
        source_system: "bench".into(),
        event,
    }
}

fn main() {
    touchline_alloc::tune();
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let touches: usize = support::env_or("TOUCHLINE_BENCH_TOUCHES", 100_000);
    let batch = 1_000usize;
    let slices = 10usize;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    let mut engine = Engine::open(store, EngineConfig::default()).unwrap();
    let start = 1_700_000_000_000i64;
    // A lead with an open deal: every touch re-attributes the deal's conversion.
    engine
        .apply(Batch {
            events: vec![
                envelope(
                    "lead".into(),
                    start,
                    Event::LeadCreated(LeadCreated {
                        person_id: "bot".into(),
                        email: String::new(),
                        phone: String::new(),
                        first_name: String::new(),
                        last_name: String::new(),
                        company: String::new(),
                        account_id: "acc".into(),
                        source: None,
                        owner_id: "rep".into(),
                    }),
                ),
                envelope(
                    "opp".into(),
                    start + 1,
                    Event::OpportunityCreated(OpportunityCreated {
                        opportunity_id: "opp".into(),
                        account_id: "acc".into(),
                        name: String::new(),
                        stage: "prospecting".into(),
                        amount: Money::new(1_000_00, "EUR"),
                        probability_pct: 10,
                        expected_close_at: None,
                        primary_contact_id: "bot".into(),
                        owner_id: String::new(),
                        partner_id: String::new(),
                    }),
                ),
            ],
            ..Batch::default()
        })
        .unwrap();
    println!(
        "heavy_person: {touches} touches on one person in batches of {batch}, history limit {}",
        touchline_projection::MAX_TOUCH_HISTORY
    );
    println!(
        "{:>20}  {:>12}  {:>12}",
        "history", "µs/touch", "peak RSS MiB"
    );
    let per_slice = touches / slices;
    let mut sent = 0usize;
    for _ in 0..slices {
        let started = Instant::now();
        let from = sent;
        while sent < from + per_slice {
            let n = batch.min(from + per_slice - sent);
            // A touch a minute, before the deal closes: each one counts.
            let events = (sent..sent + n)
                .map(|i| {
                    envelope(
                        format!("t{i}"),
                        start - 60_000 * (touches - i) as i64,
                        Event::TouchRecorded(TouchRecorded {
                            person_id: "bot".into(),
                            campaign_id: format!("c{}", i % 7),
                            touch_type: TouchType::WebVisit,
                            status: TouchStatus::Sent,
                            asset: String::new(),
                            topic: String::new(),
                            provenance: None,
                        }),
                    )
                })
                .collect();
            engine
                .apply(Batch {
                    events,
                    ..Batch::default()
                })
                .unwrap();
            sent += n;
        }
        let micros = started.elapsed().as_secs_f64() * 1e6 / per_slice as f64;
        println!(
            "{:>20}  {micros:>12.1}  {:>12.0}",
            format!("{from}..{sent}"),
            support::peak_rss_mib()
        );
    }
}
