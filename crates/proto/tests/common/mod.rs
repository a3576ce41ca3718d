//! What the fuzz suites share: the corpus, the generators and the invariants.
//!
//! `fuzz.rs` asserts what touchline guarantees today; `fuzz_bounds.rs` asserts
//! the bounds of issue 8 that validation in `touchline-core` is about to enforce.
//! Each test binary uses a part of this module.
#![allow(dead_code)]

mod check;
mod corpus;
mod fields;
mod generate;
mod mutate_bytes;
mod mutate_json;

pub use check::*;
pub use corpus::*;
pub use fields::*;
pub use generate::*;
pub use mutate_bytes::*;
pub use mutate_json::*;

use proptest::prelude::ProptestConfig;

// ------------------------------------------------------------------ running

/// Cases per property: `TOUCHLINE_FUZZ_CASES` or `PROPTEST_CASES` when set (for
/// long runs), else the property's own default, chosen so that the suite stays
/// well under a minute in a debug build on two cores.
pub fn cases(default: u32) -> u32 {
    ["TOUCHLINE_FUZZ_CASES", "PROPTEST_CASES"]
        .iter()
        .find_map(|var| std::env::var(var).ok()?.trim().parse().ok())
        .unwrap_or(default)
}

pub fn config(default_cases: u32) -> ProptestConfig {
    let cases = cases(default_cases);
    ProptestConfig {
        cases,
        // Rejects (a generated message without a domain form) grow with the
        // cases; proptest's fixed limits would end a long run.
        max_local_rejects: cases.saturating_mul(4).max(65_536),
        max_global_rejects: cases.max(1024),
        // Inputs are large and shrinking re-decodes them; this is plenty to get
        // a readable counterexample.
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    }
}
