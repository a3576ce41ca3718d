//! Conversions a batch changed only by touches after them are left as they
//! were, not re-attributed. That is exact: on generated data, fed in random
//! orders and batch sizes, re-attributing every conversion afterwards
//! (`Engine::reattribute_all`) changes no result and no version.

use std::sync::Arc;

use proptest::prelude::*;
use touchline_attribution::{
    AttributionSettings, Lookback, OpportunityTouches, SynthesizedTouches, TouchFilter,
};
use touchline_core::Envelope;
use touchline_datagen::{DatasetConfig, Generator};
use touchline_engine::{Batch, Engine, EngineConfig};
use touchline_projection::ConversionView;
use touchline_store::{Store, Table};

fn generated(accounts: usize, seed: u64) -> Vec<Envelope> {
    Generator::new(DatasetConfig {
        accounts,
        seed,
        ..DatasetConfig::default()
    })
    .collect()
}

/// The settings a case runs under: plain, or windows and filters that make
/// more conversions unattributed for each reason.
fn settings(mode: OpportunityTouches, strict: bool) -> AttributionSettings {
    let mut settings = AttributionSettings {
        opportunity_touches: mode,
        ..AttributionSettings::default()
    };
    if strict {
        settings.filter = TouchFilter::Responded;
        settings.synthesized_touches = SynthesizedTouches::Exclude;
        settings.lookback_days = Lookback {
            lead_created: Some(3),
            lead_qualified: Some(10),
            opportunity_created: Some(30),
            opportunity_won: Some(60),
        };
    }
    settings
}

/// Every conversion view, versions included.
fn conversions(store: &Store) -> Vec<(String, String)> {
    let mut out = Vec::new();
    store
        .for_each(Table::Conversions, |key, view: ConversionView| {
            out.push((key.to_owned(), format!("{view:?}")));
        })
        .expect("conversions");
    out
}

/// Feeds `events` in batches of `batch`, then re-attributes everything;
/// returns how many conversions batches left unchanged. Fails if the full
/// re-attribution moved anything.
fn left_unchanged_exactly(events: &[Envelope], batch: usize, settings: AttributionSettings) -> u64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("open store"));
    let config = EngineConfig {
        settings,
        ..EngineConfig::default()
    };
    let mut engine = Engine::open(store.clone(), config).expect("open engine");
    for chunk in events.chunks(batch) {
        engine
            .apply(Batch {
                events: chunk.to_vec(),
                ..Batch::default()
            })
            .expect("apply");
    }
    let unchanged = engine.metrics().conversions_unchanged.get();
    let folded = conversions(&store);
    let versions = engine.metrics().attribution_versions.get();
    engine.reattribute_all().expect("reattribute all");
    let recomputed = conversions(&store);
    assert_eq!(folded.len(), recomputed.len());
    for (left, all) in folded.iter().zip(&recomputed) {
        assert_eq!(left, all, "a conversion left unchanged was not");
    }
    assert_eq!(
        engine.metrics().attribution_versions.get(),
        versions,
        "re-attributing everything published nothing new"
    );
    unchanged
}

/// Moves each event up to `spread` places from where the source put it.
fn jostled(events: &[Envelope], spread: usize, seed: u64) -> Vec<Envelope> {
    let mut state = seed | 1;
    let mut keyed: Vec<(usize, &Envelope)> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            // xorshift64: a reproducible shuffle without another dependency.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (i + (state as usize) % (spread + 1), e)
        })
        .collect();
    keyed.sort_by_key(|(k, _)| *k);
    keyed.into_iter().map(|(_, e)| e.clone()).collect()
}

/// In source order most conversions marked by a touch are left alone, and
/// the result is still exactly a full re-attribution, in both modes.
#[test]
fn touches_after_a_conversion_leave_it_unchanged() {
    let events = generated(40, 7);
    for mode in [
        OpportunityTouches::ContactRoles,
        OpportunityTouches::AccountContacts,
    ] {
        let unchanged = left_unchanged_exactly(&events, 50, settings(mode, false));
        assert!(
            unchanged > 0,
            "{mode:?}: some conversion was left unchanged"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn leaving_conversions_unchanged_equals_re_attributing_all(
        seed in any::<u64>(),
        spread in prop_oneof![Just(0usize), 1usize..40, Just(100_000)],
        batch in prop_oneof![Just(1usize), 2usize..30, Just(400)],
        account_mode in any::<bool>(),
        strict in any::<bool>(),
    ) {
        let events = jostled(&generated(12, seed), spread, seed);
        let mode = if account_mode {
            OpportunityTouches::AccountContacts
        } else {
            OpportunityTouches::ContactRoles
        };
        left_unchanged_exactly(&events, batch, settings(mode, strict));
    }
}
