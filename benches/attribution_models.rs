//! Every per-conversion model over a generated history of at least 10M touches:
//! prints conversions/s and touches/s per model. Pure computation, no I/O.
//!
//!     cargo bench --bench attribution_models
//!     TOUCHLINE_BENCH_TOUCHES=2000000 cargo bench --bench attribution_models

#![allow(clippy::unwrap_used)]

#[global_allocator]
static ALLOCATOR: touchline_alloc::Allocator = touchline_alloc::Allocator;

use std::time::Instant;

use touchline_attribution::data_driven::{Journey, ShapleyOptions, markov, shapley};
use touchline_attribution::{
    AttributionSettings, Conversion, ConversionKind, Milestones, Model, TouchPoint, attribute,
};
use touchline_core::{Money, Timestamp, TouchStatus, TouchType};

const DAY: i64 = 86_400_000;

/// SplitMix64: a fixed, dependency-free generator, so every run sees the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn main() {
    touchline_alloc::tune();
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let target_touches: usize = std::env::var("TOUCHLINE_BENCH_TOUCHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let campaigns: Vec<String> = (0..40).map(|i| format!("cmp-{i:02}")).collect();
    let mut rng = Rng(42);
    let mut journeys: Vec<(Conversion, Vec<TouchPoint>)> = Vec::new();
    let mut touches_total = 0usize;
    let mut event = 0u64;
    while touches_total < target_touches {
        // 1..=24 touches, skewed short, as real journeys are; some after the conversion.
        let n = 1 + (rng.below(8) + rng.below(8) + rng.below(9)) as usize;
        let start = rng.below(300) as i64 * DAY;
        let mut at = start;
        let mut touches = Vec::with_capacity(n);
        for _ in 0..n {
            at += rng.below(5 * DAY as u64) as i64;
            event += 1;
            touches.push(TouchPoint {
                event_id: format!("evt-{event:010}"),
                occurred_at: Timestamp::from_millis(at),
                campaign_id: campaigns[rng.below(campaigns.len() as u64) as usize].clone(),
                touch_type: TouchType::EmailClick,
                status: if rng.below(4) == 0 {
                    TouchStatus::Sent
                } else {
                    TouchStatus::Responded
                },
                origin: touchline_core::TouchOrigin::Recorded,
            });
        }
        // Arrival order is not attribution order.
        for i in (1..touches.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            touches.swap(i, j);
        }
        let converted_at = at - rng.below(3 * DAY as u64) as i64;
        let conversion = Conversion {
            id: format!("opportunity_won:opp-{}", journeys.len()),
            kind: ConversionKind::OpportunityWon,
            subject_id: format!("opp-{}", journeys.len()),
            occurred_at: Timestamp::from_millis(converted_at),
            value: Some(Money::new(rng.below(10_000_000) as i64, "EUR")),
            milestones: Milestones {
                lead_created: Some(Timestamp::from_millis(start + (converted_at - start) / 3)),
                opportunity_created: Some(Timestamp::from_millis(
                    start + 2 * (converted_at - start) / 3,
                )),
                closed_won: Some(Timestamp::from_millis(converted_at)),
            },
        };
        touches_total += n;
        journeys.push((conversion, touches));
    }
    println!(
        "attribution_models: {} conversions, {touches_total} touches (mean {:.1} per conversion)",
        journeys.len(),
        touches_total as f64 / journeys.len() as f64
    );
    println!(
        "{:>12}  {:>14}  {:>14}  {:>10}",
        "model", "conversions/s", "touches/s", "seconds"
    );
    let settings = AttributionSettings::default();
    for model in Model::ALL {
        let started = Instant::now();
        let mut credited = 0i64;
        for (conversion, touches) in &journeys {
            let result = attribute(model, conversion, touches, &settings);
            credited += result
                .credits
                .iter()
                .filter_map(|c| c.amount_minor)
                .sum::<i64>();
        }
        let seconds = started.elapsed().as_secs_f64();
        // Using the result keeps the work from being optimised away, and checks it.
        let expected: i64 = journeys
            .iter()
            .filter_map(|(c, _)| c.value.as_ref())
            .map(|m| m.amount_minor)
            .sum();
        assert_eq!(credited, expected, "{model:?} lost cents");
        println!(
            "{:>12}  {:>14.0}  {:>14.0}  {seconds:>10.2}",
            model.name(),
            journeys.len() as f64 / seconds,
            touches_total as f64 / seconds
        );
    }

    // The data-driven models learn from all journeys at once: the same touches
    // grouped into 8 channels, with one journey in four not converting.
    let paths: Vec<Journey> = journeys
        .iter()
        .enumerate()
        .map(|(i, (conversion, touches))| {
            let mut ordered: Vec<&TouchPoint> = touches.iter().collect();
            ordered.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
            Journey {
                channels: ordered
                    .iter()
                    .map(|t| {
                        format!(
                            "channel-{}",
                            t.campaign_id.as_bytes()[t.campaign_id.len() - 1] % 8
                        )
                    })
                    .collect(),
                converted: i % 4 != 0,
                value: conversion
                    .value
                    .as_ref()
                    .map_or(1.0, |m| m.amount_minor as f64),
            }
        })
        .collect();
    for (name, run) in [
        (
            "markov_1",
            &(|p: &[Journey]| markov(p, 1).map(|_| ())) as &dyn Fn(&[Journey]) -> Result<(), _>,
        ),
        ("markov_2", &|p: &[Journey]| markov(p, 2).map(|_| ())),
        ("markov_3", &|p: &[Journey]| markov(p, 3).map(|_| ())),
        ("shapley", &|p: &[Journey]| {
            shapley(p, &ShapleyOptions::default());
            Ok(())
        }),
    ] {
        let started = Instant::now();
        run(&paths).unwrap();
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{name:>12}  {:>14.0}  {:>14.0}  {seconds:>10.2}",
            journeys.len() as f64 / seconds,
            touches_total as f64 / seconds
        );
    }
}
