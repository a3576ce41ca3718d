//! Data-driven attribution: Markov-chain removal effects and Shapley values.
//!
//! The rule-based [`models`](crate::models) split *one* conversion among its
//! touches by position or time. The two models here instead learn from many
//! [`Journey`]s, converting and not, how much each channel contributes, and give
//! every channel one [`ChannelCredit`]:
//!
//! - [`markov`]: the *removal effect* of each channel in an absorbing Markov chain
//!   of order 1, 2 or 3 fitted to the journeys, solved exactly (no simulation).
//! - [`shapley`]: the *Shapley value* of each channel in the game "`v(S)` = the
//!   conversions whose channels all lie in `S`", exact up to
//!   [`ShapleyOptions::exact_max_channels`] channels, sampled (seeded) beyond.
//!
//! Both are pure functions: no I/O, no clock, no global randomness. The same
//! journeys give the same result bit for bit, in whatever order they are passed:
//! channels are numbered in byte order of their names, Markov states are sorted,
//! and journeys are put in a canonical order before any floating-point sum.
//!
//! ```
//! use touchline_attribution::data_driven::{markov, shapley, Journey, ShapleyOptions};
//!
//! let journey = |channels: &[&str], converted: bool, value: f64| Journey {
//!     channels: channels.iter().map(|c| c.to_string()).collect(),
//!     converted,
//!     value,
//! };
//! let journeys = [
//!     journey(&["search", "email"], true, 300.0),
//!     journey(&["search"], false, 0.0),
//!     journey(&["email"], true, 100.0),
//! ];
//!
//! // Order 1: START→search 2/3, START→email 1/3, search→email 1/2, search→NULL 1/2,
//! // email→CONVERSION 1. P = 2/3; without search 1/3 (RE 1/2); without email 0 (RE 1).
//! let by_markov = markov(&journeys, 1).expect("order 1 is supported");
//! assert_eq!(by_markov.channels[0].channel, "email"); // sorted by name
//! assert!((by_markov.baseline - 2.0 / 3.0).abs() < 1e-12);
//! assert!((by_markov.channels[0].share - 2.0 / 3.0).abs() < 1e-12);
//! assert!((by_markov.channels[1].share - 1.0 / 3.0).abs() < 1e-12);
//! assert!((by_markov.channels[0].conversions - 4.0 / 3.0).abs() < 1e-12);
//!
//! // Shapley: {search, email} gives each 1/2, {email} gives email 1.
//! let by_shapley = shapley(&journeys, &ShapleyOptions::default());
//! assert!(by_shapley.exact);
//! assert!((by_shapley.channels[0].conversions - 1.5).abs() < 1e-12);
//! assert!((by_shapley.channels[1].conversions - 0.5).abs() < 1e-12);
//! assert!((by_shapley.channels[0].value - 250.0).abs() < 1e-9);
//! assert!((by_shapley.channels[1].value - 150.0).abs() < 1e-9);
//! ```
//!
//! # Totals and journeys without touches
//!
//! `total_conversions` counts the converted journeys with at least one channel
//! and `total_value` sums their values: these are the conversions the channels
//! share. A converted journey with no channel belongs to the [`NO_TOUCH`]
//! bucket, handled elsewhere; it is in neither total. In the Markov chain it is
//! still a `START → CONVERSION` transition (and a non-converted one a
//! `START → NULL` transition), so it changes `P` and the removal effects, but
//! not the shares: every path through a channel is scaled by the same factor.
//! Shapley ignores it (`v(∅) = 0`).
//!
//! Channels are every distinct name found in any journey; a channel seen only in
//! journeys that never convert gets a zero Shapley value, and a zero removal effect
//! unless the chain can reach a conversion through it.
//!
//! [`NO_TOUCH`]: crate::NO_TOUCH

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use serde::{Deserialize, Serialize};

/// Highest Markov order [`markov`] accepts (orders are `1..=MAX_MARKOV_ORDER`).
pub const MAX_MARKOV_ORDER: usize = 3;

/// Most channel states (k-grams, `START`, `CONVERSION` and `NULL` not counted) a
/// Markov chain may have; above it [`markov`] returns
/// [`DataDrivenError::TooManyStates`]. The solver is sparse, but its worst case
/// (every state reachable from every other, as at order 3 over ~14 channels with
/// long random journeys) is `O(n³)` per solve, with about `log₂(channels) + 2`
/// solves per layer (counts and values).
pub const MAX_MARKOV_STATES: usize = 3_000;

/// Most channels [`shapley`] computes exactly, whatever
/// [`ShapleyOptions::exact_max_channels`] says: the exact method holds `2^n`
/// coalition values.
pub const SHAPLEY_EXACT_LIMIT: usize = 20;

/// One person's (or opportunity's) path: the channels of its touches in
/// attribution order (repeats allowed), whether it converted, and the
/// conversion's value (1.0 for counts, the amount for revenue; ignored when not
/// converted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Journey {
    pub channels: Vec<String>,
    pub converted: bool,
    pub value: f64,
}

/// One channel's credit under a data-driven model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelCredit {
    pub channel: String,
    /// Markov: the removal effect of the channel; Shapley: its Shapley value (in
    /// conversions).
    pub score: f64,
    /// `score` normalised over all channels: shares sum to 1 (within 1e-12) when
    /// any score is > 0, and are all 0 otherwise.
    pub share: f64,
    /// Conversions credited: `total_conversions × share` (Markov), the Shapley
    /// value itself (Shapley; equal to that product up to rounding).
    pub conversions: f64,
    /// Value credited: Markov splits `total_value` by value-weighted removal
    /// effects (see [`markov`]); Shapley is the Shapley value of the game whose
    /// `v(S)` is the value of the converted journeys whose channel set ⊆ `S`.
    pub value: f64,
}

/// The credits of a data-driven model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataDrivenResult {
    /// One credit per channel, sorted by channel name (byte order).
    pub channels: Vec<ChannelCredit>,
    /// Converted journeys with at least one channel.
    pub total_conversions: f64,
    /// Sum of the values of those journeys.
    pub total_value: f64,
    /// Markov: `P(conversion)` of the full (count) chain; Shapley: `v(all
    /// channels)`, i.e. `total_conversions`.
    pub baseline: f64,
    /// `true` when computed exactly (always for Markov), `false` when Shapley
    /// was sampled.
    pub exact: bool,
}

/// Why [`markov`] could not run.
#[derive(Debug, Clone, PartialEq)]
pub enum DataDrivenError {
    /// The Markov order was not in `1..=MAX_MARKOV_ORDER`.
    OrderOutOfRange(usize),
    /// The chain would have more than `limit` channel states.
    TooManyStates { states: usize, limit: usize },
    /// A converted journey (index into the input) has a negative, infinite or
    /// NaN value.
    InvalidValue { journey: usize, value: f64 },
}

impl fmt::Display for DataDrivenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OrderOutOfRange(order) => write!(
                f,
                "Markov order {order} is out of range (1..={MAX_MARKOV_ORDER})"
            ),
            Self::TooManyStates { states, limit } => write!(
                f,
                "the Markov chain has {states} channel states, more than the limit of {limit}; \
                 use a lower order or fewer channels"
            ),
            Self::InvalidValue { journey, value } => write!(
                f,
                "journey {journey} converted with value {value}; values must be finite and >= 0"
            ),
        }
    }
}

impl std::error::Error for DataDrivenError {}

/// Options of [`shapley`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ShapleyOptions {
    /// Compute exactly when the number of channels that appear in a converted
    /// journey is at most this (capped at [`SHAPLEY_EXACT_LIMIT`]). Default 15.
    pub exact_max_channels: usize,
    /// Random permutations drawn when sampling (0 is taken as 1). Default 20 000.
    pub samples: usize,
    /// Seed of the sampler's generator. Default 42.
    pub seed: u64,
}

impl Default for ShapleyOptions {
    fn default() -> Self {
        Self {
            exact_max_channels: 15,
            samples: 20_000,
            seed: 42,
        }
    }
}

mod markov;
mod shapley;

/// Weight layers: plain counts, and value weights.
/// How the Markov model shares value among channels.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum MarkovValue {
    /// Removal effects on a chain whose transitions are weighted by the value
    /// of the journeys taking them (non-converting ones by the mean value).
    #[default]
    JourneyValue,
    /// As ChannelAttribution's `markov_model` does: every conversion is worth
    /// the mean value of the conversions with the same last channel.
    LastChannelMean,
}

impl MarkovValue {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "journey_value" => Some(MarkovValue::JourneyValue),
            "last_channel_mean" => Some(MarkovValue::LastChannelMean),
            _ => None,
        }
    }
}

const COUNT: usize = 0;
const VALUE: usize = 1;

pub use markov::{markov, markov_with};
pub use shapley::shapley;

// ---------------------------------------------------------------------------
// Shared
// ---------------------------------------------------------------------------

/// Distinct channel names in byte order.
fn channel_names(journeys: &[Journey]) -> Vec<&str> {
    let names: BTreeSet<&str> = journeys
        .iter()
        .flat_map(|j| j.channels.iter().map(String::as_str))
        .collect();
    names.into_iter().collect()
}

/// Channel name → its index in `names`.
fn channel_ids<'a>(names: &[&'a str]) -> HashMap<&'a str, u32> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| (*name, i as u32))
        .collect()
}

/// `scores / Σ scores`, or all zeros when the sum is not positive.
fn normalise(scores: &[f64]) -> Vec<f64> {
    let total: f64 = scores.iter().sum();
    if total > 0.0 {
        scores.iter().map(|s| s / total).collect()
    } else {
        vec![0.0; scores.len()]
    }
}

#[cfg(test)]
mod tests;
