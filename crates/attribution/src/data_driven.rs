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

// ---------------------------------------------------------------------------
// Markov
// ---------------------------------------------------------------------------

/// A state's key: the last `order` symbols of `START^order ++ channels`, where
/// symbol 0 is the `START` padding and channel `i` (byte order) is symbol `i + 1`.
/// Slots at and beyond `order` are 0. `START` itself is all zeros.
type StateKey = [u32; MAX_MARKOV_ORDER];

const START_KEY: StateKey = [0; MAX_MARKOV_ORDER];
/// Weight layers of the chain: plain counts, and value weights.
const COUNT: usize = 0;
const VALUE: usize = 1;

/// Markov-chain removal-effect attribution of order `order` (1, 2 or 3).
///
/// **Chain.** States are `START`, one state per channel k-gram, and the absorbing
/// `CONVERSION` and `NULL`. With `k = order`, the state after the `i`-th touch
/// (1-based) is the last `k` symbols of `START^k ++ c_1 … c_i`: the first states
/// are padded with the `START` marker, e.g. for order 2 a journey `a, b, c` is
/// `START → (START, a) → (a, b) → (b, c)`, and for order 3
/// `START → (START, START, a) → (START, a, b) → (a, b, c)`. A journey ends with
/// `→ CONVERSION` if converted, `→ NULL` if not. A journey with no channel is
/// `START → CONVERSION` (or `START → NULL`): the "no touch" mass.
///
/// **Repeats.** Consecutive repeats of a channel are kept: `a, a` at order 1 is a
/// self-loop `a → a`, at order 2 it reaches the state `(a, a)`. A self-loop only
/// delays absorption, so it does not change absorption probabilities: at order 1,
/// collapsing repeats gives the same result.
///
/// **Transition probabilities** are maximum likelihood: `p(s → t) = n(s → t) / n(s → ·)`,
/// the observed transitions from `s` to `t` over all transitions out of `s`.
///
/// **P(conversion).** With `x_s` the probability of absorption in `CONVERSION`
/// from `s`, `x = Q x + r` over the transient states (`Q` the transient part of
/// the transition matrix, `r` the one-step probabilities into `CONVERSION`), i.e.
/// `(I − Q) x = r`, and `P = x_START`. It is solved exactly, without forming an
/// inverse, by Gaussian elimination of states in the Grassmann–Taksar–Heyman form:
/// eliminating state `v` replaces each transition `u → v` by `u → w` with weight
/// `n(u → v) · n(v → w) / E_v` for each `w ≠ v` (`CONVERSION` and `NULL` included),
/// with `E_v = Σ_{w ≠ v} n(v → w)` (self-loops dropped, as above). This is
/// elimination on the M-matrix `I − Q` where every pivot is `E_v`, computed as a
/// sum of non-negative numbers: no subtraction anywhere, hence no cancellation
/// and no need for pivoting (partial pivoting would only destroy sparsity).
/// Only states reachable from `START` that can reach `CONVERSION` take part
/// (the others have `x = 0`: transitions into them count as `NULL`). States are
/// eliminated in a fixed order: least Markowitz cost `|pred(v)| · |succ(v)|`
/// first, ties by state key; every sum runs in a fixed order; so results are
/// reproducible bit for bit. At the end `P = C_START / (C_START + N_START)`.
///
/// **Removal effect.** `RE(c) = 1 − P_without_c / P`, where `P_without_c` is `P`
/// when every state whose k-gram contains `c` sends all its outgoing probability
/// to `NULL`. If `P = 0`, every removal effect is 0; if no state containing `c`
/// can both be reached from `START` and reach `CONVERSION`, `RE(c) = 0` exactly.
/// `RE(c)` is clamped at 0 from below (rounding only). The `P_without_c` are not
/// solved one channel at a time: states containing none of a group of channels
/// are eliminated once for the whole group, which is then halved (divide and
/// conquer, about `log₂ m` solves for `m` channels); when one channel is left,
/// the remaining states are those containing it, and `P_without_c =
/// C_START / (C_START + N_START + Σ_w W_START,w)` with the transitions into them
/// counted as lost. This equals solving each reduced chain separately, up to
/// rounding.
/// `share(c) = RE(c) / Σ_d RE(d)` and `conversions(c) = total_conversions ×
/// share(c)`.
///
/// **Value.** The same removal effects computed on a value-weighted chain: every
/// transition of journey `j` counts with weight `w_j = value_j` if `j` converted
/// and `w_j = v̄ = total_value / total_conversions` (the mean converted value) if
/// not, so `p_v(s → t) = Σ_j w_j n_j(s → t) / Σ_j w_j n_j(s → ·)`. This gives
/// `RE_v(c)`, and `value(c) = total_value × RE_v(c) / Σ_d RE_v(d)`. A channel on
/// the paths of high-value conversions thus gets more value than conversions;
/// when every conversion has the same value the value chain equals the count
/// chain and value shares equal conversion shares.
///
/// `baseline` is `P` of the count chain; `exact` is `true`.
///
/// # Errors
/// [`DataDrivenError::OrderOutOfRange`] unless `1 <= order <= 3`;
/// [`DataDrivenError::InvalidValue`] when a converted journey's value is negative,
/// infinite or NaN; [`DataDrivenError::TooManyStates`] above
/// [`MAX_MARKOV_STATES`] channel states.
pub fn markov(journeys: &[Journey], order: usize) -> Result<DataDrivenResult, DataDrivenError> {
    if !(1..=MAX_MARKOV_ORDER).contains(&order) {
        return Err(DataDrivenError::OrderOutOfRange(order));
    }
    if let Some((index, journey)) = journeys
        .iter()
        .enumerate()
        .find(|(_, j)| j.converted && !(j.value.is_finite() && j.value >= 0.0))
    {
        return Err(DataDrivenError::InvalidValue {
            journey: index,
            value: journey.value,
        });
    }

    let names = channel_names(journeys);
    let ids = channel_ids(&names);
    // (symbols, converted, value) in a canonical order, so that every sum below
    // runs in the same order whatever the input order.
    let mut paths: Vec<(Vec<u32>, bool, f64)> = journeys
        .iter()
        .map(|j| {
            let symbols = j.channels.iter().map(|c| ids[c.as_str()] + 1).collect();
            let value = if j.converted { j.value } else { 0.0 };
            (symbols, j.converted, value)
        })
        .collect();
    paths.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.total_cmp(&b.2)));

    let (mut total_conversions, mut total_value) = (0.0, 0.0);
    for (symbols, converted, value) in &paths {
        if *converted && !symbols.is_empty() {
            total_conversions += 1.0;
            total_value += value;
        }
    }
    let mean_value = if total_conversions > 0.0 {
        total_value / total_conversions
    } else {
        0.0
    };

    let chain = Chain::build(&paths, order, mean_value)?;
    let keep_all = vec![false; chain.keys.len()];
    let mut scores = [vec![0.0; names.len()], vec![0.0; names.len()]];
    let mut baseline = 0.0;
    for layer in [COUNT, VALUE] {
        let Some((graph, states)) = chain.active_graph(layer, &keep_all) else {
            continue; // START cannot reach CONVERSION: P = 0, every RE = 0
        };
        let mut full = graph.clone();
        full.eliminate_where(|_| true);
        let p = full.start_probability();
        if layer == COUNT {
            baseline = p;
        }
        if p <= 0.0 {
            continue;
        }
        // Channels with an active state; for the others RE = 0 exactly.
        let keys: Vec<StateKey> = states.iter().map(|&s| chain.keys[s]).collect();
        let symbols: Vec<u32> = (1..=names.len() as u32)
            .filter(|symbol| keys.iter().any(|key| key[..order].contains(symbol)))
            .collect();
        if symbols.is_empty() {
            continue;
        }
        let mut p_without = vec![p; names.len() + 1];
        removal_probabilities(graph, &keys, order, &symbols, &mut p_without);
        for &symbol in &symbols {
            let removal_effect = 1.0 - p_without[symbol as usize] / p;
            scores[layer][symbol as usize - 1] = removal_effect.max(0.0);
        }
    }

    let [count_scores, value_scores] = scores;
    let shares = normalise(&count_scores);
    let value_shares = normalise(&value_scores);
    let channels = names
        .iter()
        .enumerate()
        .map(|(i, name)| ChannelCredit {
            channel: (*name).to_owned(),
            score: count_scores[i],
            share: shares[i],
            conversions: total_conversions * shares[i],
            value: total_value * value_shares[i],
        })
        .collect();
    Ok(DataDrivenResult {
        channels,
        total_conversions,
        total_value,
        baseline,
        exact: true,
    })
}

/// The fitted chain: transition weights of both layers (counts, value weights).
#[derive(Debug)]
struct Chain {
    /// Sorted state keys; index 0 is `START`.
    keys: Vec<StateKey>,
    /// Transitions to transient states, sorted by target, self-loops left out.
    out: Vec<Vec<(u32, [f64; 2])>>,
    /// Weight into `CONVERSION`.
    conv: Vec<[f64; 2]>,
    /// Weight into `NULL`.
    null: Vec<[f64; 2]>,
}

impl Chain {
    /// Builds the chain from canonically ordered `(symbols, converted, value)`.
    fn build(
        paths: &[(Vec<u32>, bool, f64)],
        order: usize,
        mean_value: f64,
    ) -> Result<Self, DataDrivenError> {
        let mut key_set = BTreeSet::from([START_KEY]);
        for (symbols, _, _) in paths {
            for i in 0..symbols.len() {
                key_set.insert(state_key(symbols, i, order));
            }
        }
        let states = key_set.len() - 1;
        if states > MAX_MARKOV_STATES {
            return Err(DataDrivenError::TooManyStates {
                states,
                limit: MAX_MARKOV_STATES,
            });
        }
        let keys: Vec<StateKey> = key_set.into_iter().collect();
        let index: HashMap<StateKey, usize> =
            keys.iter().enumerate().map(|(i, key)| (*key, i)).collect();

        let n = keys.len();
        let mut edges: Vec<BTreeMap<u32, [f64; 2]>> = vec![BTreeMap::new(); n];
        let mut conv = vec![[0.0; 2]; n];
        let mut null = vec![[0.0; 2]; n];
        let add = |slot: &mut [f64; 2], weight: [f64; 2]| {
            slot[COUNT] += weight[COUNT];
            slot[VALUE] += weight[VALUE];
        };
        for (symbols, converted, value) in paths {
            let weight = [1.0, if *converted { *value } else { mean_value }];
            let mut from = 0;
            for i in 0..symbols.len() {
                let to = index[&state_key(symbols, i, order)];
                add(edges[from].entry(to as u32).or_insert([0.0; 2]), weight);
                from = to;
            }
            let sink = if *converted { &mut conv } else { &mut null };
            add(&mut sink[from], weight);
        }
        let out = edges
            .into_iter()
            .enumerate()
            .map(|(from, row)| {
                row.into_iter()
                    .filter(|&(to, _)| to as usize != from)
                    .collect()
            })
            .collect();
        Ok(Self {
            keys,
            out,
            conv,
            null,
        })
    }

    /// The chain of weight layer `layer` restricted to its active states, those
    /// reachable from `START` that can reach `CONVERSION` (over positive weights,
    /// not through `removed` states), with every transition to an inactive state
    /// counted as `NULL` (`x = 0` there); and the active states' indices in
    /// `self.keys` (`START` first), which are the graph's state numbers. `None` if
    /// `START` cannot reach `CONVERSION`.
    fn active_graph(&self, layer: usize, removed: &[bool]) -> Option<(Elimination, Vec<usize>)> {
        let n = self.keys.len();
        let live = |to: u32, w: [f64; 2]| w[layer] > 0.0 && !removed[to as usize];

        let mut reached = vec![false; n];
        reached[0] = true;
        let mut stack = vec![0];
        while let Some(s) = stack.pop() {
            for &(to, w) in &self.out[s] {
                if live(to, w) && !reached[to as usize] {
                    reached[to as usize] = true;
                    stack.push(to as usize);
                }
            }
        }
        let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
        for s in (0..n).filter(|&s| reached[s]) {
            for &(to, w) in &self.out[s] {
                if live(to, w) {
                    preds[to as usize].push(s);
                }
            }
        }
        let mut active = vec![false; n];
        stack.clear();
        for s in (0..n).filter(|&s| reached[s] && self.conv[s][layer] > 0.0) {
            active[s] = true;
            stack.push(s);
        }
        while let Some(t) = stack.pop() {
            for &s in &preds[t] {
                if !active[s] {
                    active[s] = true;
                    stack.push(s);
                }
            }
        }
        if !active[0] {
            return None;
        }

        let mut local = vec![u32::MAX; n];
        let mut count = 0;
        for (s, slot) in local.iter_mut().enumerate() {
            if active[s] {
                *slot = count;
                count += 1;
            }
        }
        let mut out = Vec::with_capacity(count as usize);
        let mut conv = Vec::with_capacity(count as usize);
        let mut null = Vec::with_capacity(count as usize);
        for s in (0..n).filter(|&s| active[s]) {
            let mut row = Vec::new();
            let mut to_null = self.null[s][layer];
            for &(to, w) in &self.out[s] {
                if w[layer] > 0.0 {
                    if active[to as usize] {
                        row.push((local[to as usize], w[layer]));
                    } else {
                        to_null += w[layer];
                    }
                }
            }
            out.push(row);
            conv.push(self.conv[s][layer]);
            null.push(to_null);
        }
        let states = (0..n).filter(|&s| active[s]).collect();
        Some((Elimination::new(out, conv, null), states))
    }

    /// `P(conversion)` with the `removed` states sending everything to `NULL`,
    /// solved directly (the tests' reference for [`removal_probabilities`]).
    #[cfg(test)]
    fn conversion_probability(&self, layer: usize, removed: &[bool]) -> f64 {
        self.active_graph(layer, removed)
            .map_or(0.0, |(mut graph, _)| {
                graph.eliminate_where(|_| true);
                graph.start_probability()
            })
    }
}

/// The key of the state after touch `i` (0-based): the last `order` symbols of
/// `START^order ++ symbols[..=i]`.
fn state_key(symbols: &[u32], i: usize, order: usize) -> StateKey {
    let mut key = START_KEY;
    for (t, slot) in key.iter_mut().take(order).enumerate() {
        // Padded position i + 1 + t is real position i + 1 + t − order.
        if let Some(position) = (i + 1 + t).checked_sub(order) {
            *slot = symbols[position];
        }
    }
    key
}

/// A chain being solved by GTH state elimination (see [`markov`]): transition
/// weights into transient states (`out`, rows sorted by target, no self-loops),
/// `CONVERSION` and `NULL`. State 0 is `START`, which nothing enters and which is
/// never eliminated. Eliminating a state keeps every live state's absorption
/// probability unchanged.
#[derive(Debug, Clone)]
struct Elimination {
    out: Vec<Vec<(u32, f64)>>,
    /// Predecessors of each state, unordered (sorted when used).
    preds: Vec<Vec<u32>>,
    conv: Vec<f64>,
    null: Vec<f64>,
    alive: Vec<bool>,
}

impl Elimination {
    fn new(out: Vec<Vec<(u32, f64)>>, conv: Vec<f64>, null: Vec<f64>) -> Self {
        let n = out.len();
        let mut preds = vec![Vec::new(); n];
        for (s, row) in out.iter().enumerate() {
            for &(to, _) in row {
                preds[to as usize].push(s as u32);
            }
        }
        Self {
            out,
            preds,
            conv,
            null,
            alive: vec![true; n],
        }
    }

    /// Markowitz cost of eliminating `v`: the transitions it could create.
    fn markowitz(&self, v: usize) -> u64 {
        self.preds[v].len() as u64 * self.out[v].len() as u64
    }

    /// Eliminates every live state except `START` for which `eligible` holds,
    /// least Markowitz cost first (recomputed as the graph changes), ties by
    /// state number.
    fn eliminate_where(&mut self, eligible: impl Fn(usize) -> bool) {
        let n = self.out.len();
        let chosen: Vec<bool> = (0..n)
            .map(|v| v != 0 && self.alive[v] && eligible(v))
            .collect();
        let mut cost = vec![0; n];
        let mut queue = BTreeSet::new();
        for v in (0..n).filter(|&v| chosen[v]) {
            cost[v] = self.markowitz(v);
            queue.insert((cost[v], v as u32));
        }
        let mut touched = Vec::new();
        while let Some((_, v)) = queue.pop_first() {
            self.eliminate(v as usize, &mut touched);
            for &x in &touched {
                if chosen[x] && self.alive[x] {
                    let updated = self.markowitz(x);
                    if updated != cost[x] {
                        queue.remove(&(cost[x], x as u32));
                        cost[x] = updated;
                        queue.insert((updated, x as u32));
                    }
                }
            }
        }
    }

    /// Eliminates state `v`: each `u → v` (weight `W_uv`) becomes
    /// `u → w += W_uv · W_vw / E_v` for every `w ≠ v` (`CONVERSION`, `NULL`
    /// included), `E_v = Σ_{w ≠ v} W_vw`; `u → u` is a self-loop and dropped.
    /// The states whose rows or predecessors changed go to `touched`.
    fn eliminate(&mut self, v: usize, touched: &mut Vec<usize>) {
        let v_id = v as u32;
        let row_v = std::mem::take(&mut self.out[v]);
        let mut preds_v = std::mem::take(&mut self.preds[v]);
        preds_v.sort_unstable();
        self.alive[v] = false;
        let exit = row_v.iter().map(|&(_, w)| w).sum::<f64>() + self.conv[v] + self.null[v];
        let (conv_v, null_v) = (self.conv[v], self.null[v]);
        touched.clear();
        let mut fresh = Vec::new();
        let mut scratch = Vec::new();
        for &u_id in &preds_v {
            let u = u_id as usize;
            let w_uv = take_entry(&mut self.out[u], v_id);
            if exit > 0.0 {
                let f = w_uv / exit;
                self.conv[u] += f * conv_v;
                self.null[u] += f * null_v;
                fresh.clear();
                merge_scaled(&self.out[u], &row_v, f, u_id, &mut scratch, &mut fresh);
                std::mem::swap(&mut self.out[u], &mut scratch);
                for &w in &fresh {
                    self.preds[w as usize].push(u_id);
                }
            } else {
                self.null[u] += w_uv; // unreachable for active states; x_v = 0
            }
            touched.push(u);
        }
        for &(w, _) in &row_v {
            let preds_w = &mut self.preds[w as usize];
            if let Some(i) = preds_w.iter().position(|&p| p == v_id) {
                preds_w.swap_remove(i);
            }
            touched.push(w as usize);
        }
    }

    /// Absorption probability in `CONVERSION` from `START`, counting `START`'s
    /// transitions into states still live as lost (`→ NULL`):
    /// `C_START / (C_START + N_START + Σ_w W_START,w)`. Once every other state is
    /// eliminated this is `P`.
    fn start_probability(&self) -> f64 {
        let lost: f64 = self.out[0].iter().map(|&(_, w)| w).sum();
        let total = self.conv[0] + self.null[0] + lost;
        if total > 0.0 {
            self.conv[0] / total
        } else {
            0.0
        }
    }
}

/// Sets `p_without[c]` to `P_without_c` for every channel symbol `c` in
/// `symbols` (sorted), by divide and conquer instead of one solve per channel:
/// eliminating every state that contains none of a group's channels is common
/// to all channels of the group, so it is done once and the group halved. When
/// one channel `c` is left, the live states besides `START` are exactly those
/// containing `c`; redirecting them to `NULL` makes `P_without_c` the
/// [`start_probability`](Elimination::start_probability). About `log₂ m` full
/// solves for `m` channels (at order 1), instead of `m`.
fn removal_probabilities(
    mut graph: Elimination,
    keys: &[StateKey],
    order: usize,
    symbols: &[u32],
    p_without: &mut [f64],
) {
    let holds_any = |s: usize, group: &[u32]| {
        keys[s][..order]
            .iter()
            .any(|k| group.binary_search(k).is_ok())
    };
    if let [symbol] = symbols {
        graph.eliminate_where(|s| !holds_any(s, symbols));
        p_without[*symbol as usize] = graph.start_probability();
        return;
    }
    let (left, right) = symbols.split_at(symbols.len() / 2);
    let mut left_graph = graph.clone();
    left_graph.eliminate_where(|s| !holds_any(s, left));
    removal_probabilities(left_graph, keys, order, left, p_without);
    graph.eliminate_where(|s| !holds_any(s, right));
    removal_probabilities(graph, keys, order, right, p_without);
}

/// Removes the transition to `target` from a row sorted by target; its weight.
fn take_entry(row: &mut Vec<(u32, f64)>, target: u32) -> f64 {
    match row.binary_search_by_key(&target, |&(t, _)| t) {
        Ok(i) => row.remove(i).1,
        Err(_) => 0.0,
    }
}

/// `merged = row + f · add` (both sorted by target), leaving out target `skip`
/// (a self-loop); targets new to `row` are pushed to `fresh`.
fn merge_scaled(
    row: &[(u32, f64)],
    add: &[(u32, f64)],
    f: f64,
    skip: u32,
    merged: &mut Vec<(u32, f64)>,
    fresh: &mut Vec<u32>,
) {
    merged.clear();
    let (mut i, mut j) = (0, 0);
    loop {
        match (row.get(i), add.get(j)) {
            (_, Some(&(b, _))) if b == skip => j += 1,
            (Some(&(a, wa)), Some(&(b, wb))) => match a.cmp(&b) {
                std::cmp::Ordering::Less => {
                    merged.push((a, wa));
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    merged.push((b, f * wb));
                    fresh.push(b);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    merged.push((a, wa + f * wb));
                    i += 1;
                    j += 1;
                }
            },
            (Some(&entry), None) => {
                merged.push(entry);
                i += 1;
            }
            (None, Some(&(b, wb))) => {
                merged.push((b, f * wb));
                fresh.push(b);
                j += 1;
            }
            (None, None) => return,
        }
    }
}

// ---------------------------------------------------------------------------
// Shapley
// ---------------------------------------------------------------------------

/// Shapley-value attribution over channel *sets* (the order of touches and
/// repeats are ignored).
///
/// **Game.** The players are the channels; `v(S)` is the number of converted
/// journeys whose channel set is a non-empty subset of `S` (for value: the sum of
/// their values). Journeys with no channel are ignored: they belong to the
/// [`NO_TOUCH`](crate::NO_TOUCH) bucket, handled elsewhere. `v(N)` is therefore
/// `total_conversions`, and `baseline = v(N)`.
///
/// **Shapley value.** With `n` players,
/// `φ_i = Σ_{S ⊆ N∖{i}} |S|! (n − |S| − 1)! / n! · (v(S ∪ {i}) − v(S))`.
/// By efficiency `Σ_i φ_i = v(N)`. `score = conversions = φ_i`,
/// `share = φ_i / Σ_j φ_j`, and `value` is `φ_i` of the value game. Since `v` is
/// monotone (for non-negative values) every `φ_i >= 0`. (For this `v`, `φ_i`
/// also equals `Σ_j value_j / |set_j|` over the converted journeys `j` whose set
/// contains `i`: `v` is a sum of unanimity games. The tests use this as an
/// oracle.)
///
/// Channels that appear in no converted journey are null players (`φ = 0`) and
/// are left out of `n`. Values are used as given (unlike [`markov`], `shapley`
/// does not reject negative or non-finite values; they make `v` non-monotone or
/// propagate).
///
/// **Exact** when `n <= min(exact_max_channels, SHAPLEY_EXACT_LIMIT)`:
/// `w[mask]` = conversions whose channel set is exactly `mask`, `v` is its
/// subset sum (zeta transform, `O(n · 2^n)`), and for each `i` the marginal
/// contributions are summed per coalition size `s` before being weighted by
/// `s! (n − s − 1)! / n! = 1 / (n · C(n − 1, s))` (so count sums are exact
/// integers).
///
/// **Sampled** beyond: `samples` uniformly random permutations (Fisher–Yates,
/// driven by SplitMix64 seeded with `seed`; bounded draws by Lemire's unbiased
/// multiply-and-reject). Along each permutation a journey's conversion is
/// credited to the channel that completes its set, i.e. `i`'s marginal
/// contribution `v(P_i ∪ {i}) − v(P_i)`; `φ_i` is the mean over permutations.
/// Each permutation credits exactly `v(N)`, so efficiency holds up to rounding.
/// Cost `O(samples · Σ_g |g|)` over the distinct channel sets `g`. The result is
/// reproducible for a fixed seed (and depends on this exact generator).
/// `exact` is `false`.
pub fn shapley(journeys: &[Journey], options: &ShapleyOptions) -> DataDrivenResult {
    let names = channel_names(journeys);
    let ids = channel_ids(&names);

    // Channel sets (sorted, deduplicated ids) of converted journeys, in a
    // canonical order, with their values.
    let mut sets: Vec<(Vec<u32>, f64)> = journeys
        .iter()
        .filter(|j| j.converted && !j.channels.is_empty())
        .map(|j| {
            let set: BTreeSet<u32> = j.channels.iter().map(|c| ids[c.as_str()]).collect();
            (set.into_iter().collect(), j.value)
        })
        .collect();
    sets.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let total_conversions = sets.len() as f64;
    let total_value: f64 = sets.iter().map(|(_, value)| value).sum();

    // Players: channels in some converted journey, numbered in name order.
    let mut plays = vec![false; names.len()];
    for &c in sets.iter().flat_map(|(set, _)| set) {
        plays[c as usize] = true;
    }
    let players: Vec<usize> = (0..names.len()).filter(|&c| plays[c]).collect();
    let mut player_of = vec![u32::MAX; names.len()];
    for (player, &c) in players.iter().enumerate() {
        player_of[c] = player as u32;
    }
    // Distinct sets over players, with their count and value.
    let mut groups: Vec<Group> = Vec::new();
    for (set, value) in &sets {
        let members: Vec<u32> = set.iter().map(|&c| player_of[c as usize]).collect();
        match groups.last_mut() {
            Some(group) if group.members == members => {
                group.weight[COUNT] += 1.0;
                group.weight[VALUE] += value;
            }
            _ => groups.push(Group {
                members,
                weight: [1.0, *value],
            }),
        }
    }

    let n = players.len();
    let exact = n <= options.exact_max_channels.min(SHAPLEY_EXACT_LIMIT);
    let phi = if exact {
        shapley_exact(n, &groups)
    } else {
        shapley_sampled(n, &groups, options.samples.max(1), options.seed)
    };

    let mut scores = vec![[0.0; 2]; names.len()];
    for (player, &c) in players.iter().enumerate() {
        scores[c] = phi[player];
    }
    let count_scores: Vec<f64> = scores.iter().map(|s| s[COUNT]).collect();
    let shares = normalise(&count_scores);
    let channels = names
        .iter()
        .enumerate()
        .map(|(i, name)| ChannelCredit {
            channel: (*name).to_owned(),
            score: scores[i][COUNT],
            share: shares[i],
            conversions: scores[i][COUNT],
            value: scores[i][VALUE],
        })
        .collect();
    DataDrivenResult {
        channels,
        total_conversions,
        total_value,
        baseline: total_conversions,
        exact,
    }
}

/// Converted journeys sharing one channel set: their count and value.
#[derive(Debug)]
struct Group {
    members: Vec<u32>,
    weight: [f64; 2],
}

/// Exact Shapley values (both layers) of `n <= SHAPLEY_EXACT_LIMIT` players.
fn shapley_exact(n: usize, groups: &[Group]) -> Vec<[f64; 2]> {
    if n == 0 {
        return Vec::new();
    }
    let size = 1_usize << n;
    // w[mask], then v[mask] = Σ_{T ⊆ mask} w[T] (zeta transform).
    let mut v = vec![[0.0_f64; 2]; size];
    for group in groups {
        let mask = group.members.iter().fold(0, |m, &p| m | (1_usize << p));
        v[mask] = group.weight; // distinct sets have distinct masks
    }
    for bit in (0..n).map(|i| 1_usize << i) {
        for mask in 0..size {
            if mask & bit != 0 {
                let below = v[mask ^ bit];
                v[mask][COUNT] += below[COUNT];
                v[mask][VALUE] += below[VALUE];
            }
        }
    }
    // 1 / (n · C(n − 1, s)); the binomials are exact integers in u64 and f64.
    let mut coefficient = Vec::with_capacity(n);
    let mut binomial: u64 = 1;
    for s in 0..n as u64 {
        coefficient.push(1.0 / (n as f64 * binomial as f64));
        binomial = binomial * (n as u64 - 1 - s) / (s + 1);
    }
    let mut phi = vec![[0.0; 2]; n];
    let mut by_size = vec![[0.0_f64; 2]; n];
    for (i, phi_i) in phi.iter_mut().enumerate() {
        let bit = 1_usize << i;
        by_size.fill([0.0; 2]);
        for mask in (0..size).filter(|mask| mask & bit == 0) {
            let s = mask.count_ones() as usize;
            let (with, without) = (v[mask | bit], v[mask]);
            by_size[s][COUNT] += with[COUNT] - without[COUNT];
            by_size[s][VALUE] += with[VALUE] - without[VALUE];
        }
        for (sum, c) in by_size.iter().zip(&coefficient) {
            phi_i[COUNT] += c * sum[COUNT];
            phi_i[VALUE] += c * sum[VALUE];
        }
    }
    phi
}

/// Monte-Carlo Shapley values (both layers) over `samples` seeded permutations.
fn shapley_sampled(n: usize, groups: &[Group], samples: usize, seed: u64) -> Vec<[f64; 2]> {
    let mut member_of: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (g, group) in groups.iter().enumerate() {
        for &p in &group.members {
            member_of[p as usize].push(g as u32);
        }
    }
    let sizes: Vec<u32> = groups.iter().map(|g| g.members.len() as u32).collect();
    let mut missing = sizes.clone();
    let mut permutation: Vec<u32> = (0..n as u32).collect();
    let mut rng = SplitMix64::new(seed);
    let mut sums = vec![[0.0_f64; 2]; n];
    for _ in 0..samples {
        for i in (1..n).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            permutation.swap(i, j);
        }
        missing.copy_from_slice(&sizes);
        for &p in &permutation {
            let sum = &mut sums[p as usize];
            for &g in &member_of[p as usize] {
                let left = &mut missing[g as usize];
                *left -= 1;
                if *left == 0 {
                    let weight = groups[g as usize].weight;
                    sum[COUNT] += weight[COUNT];
                    sum[VALUE] += weight[VALUE];
                }
            }
        }
    }
    let samples = samples as f64;
    sums.iter()
        .map(|s| [s[COUNT] / samples, s[VALUE] / samples])
        .collect()
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, well-mixed 64-bit
/// generator; plenty for sampling permutations, and fully deterministic.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound > 0`), by Lemire's multiply-and-reject.
    fn below(&mut self, bound: u64) -> u64 {
        let mut product = u128::from(self.next_u64()) * u128::from(bound);
        if (product as u64) < bound {
            let threshold = bound.wrapping_neg() % bound;
            while (product as u64) < threshold {
                product = u128::from(self.next_u64()) * u128::from(bound);
            }
        }
        (product >> 64) as u64
    }
}

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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn journey(channels: &[&str], converted: bool, value: f64) -> Journey {
        Journey {
            channels: channels.iter().map(|c| (*c).to_owned()).collect(),
            converted,
            value,
        }
    }

    fn credit<'a>(result: &'a DataDrivenResult, channel: &str) -> &'a ChannelCredit {
        result
            .channels
            .iter()
            .find(|c| c.channel == channel)
            .expect("channel in result")
    }

    #[track_caller]
    fn close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() <= 1e-12,
            "{actual} != {expected} (diff {})",
            actual - expected
        );
    }

    /// `Σ_j value_j / |set_j|` over converted journeys containing each channel
    /// (the closed form of the Shapley value of this game), per layer.
    fn shapley_closed_form(journeys: &[Journey]) -> BTreeMap<String, [f64; 2]> {
        let mut phi = BTreeMap::new();
        for j in journeys.iter().filter(|j| j.converted) {
            let set: BTreeSet<&String> = j.channels.iter().collect();
            for c in &set {
                let entry = phi.entry((*c).clone()).or_insert([0.0; 2]);
                entry[0] += 1.0 / set.len() as f64;
                entry[1] += j.value / set.len() as f64;
            }
        }
        phi
    }

    fn sum_of(result: &DataDrivenResult, field: fn(&ChannelCredit) -> f64) -> f64 {
        result.channels.iter().map(field).sum()
    }

    fn loop_example() -> Vec<Journey> {
        vec![
            journey(&["A", "B"], true, 100.0),
            journey(&["A"], false, 0.0),
            journey(&["B"], true, 50.0),
            journey(&["A", "C"], false, 0.0),
            journey(&["C", "A", "B"], true, 150.0),
        ]
    }

    #[test]
    fn markov_order1_hand_example() {
        // Transitions (counts):
        //   START → A 3 (j1, j2, j4), → B 1 (j3), → C 1 (j5)       total 5
        //   A → B 2 (j1, j5), → NULL 1 (j2), → C 1 (j4)             total 4
        //   B → CONVERSION 3 (j1, j3, j5)                           total 3
        //   C → NULL 1 (j4), → A 1 (j5)                             total 2
        // x_B = 1, x_A = (2 + x_C)/4, x_C = x_A/2 ⇒ x_A = 1/2 + x_A/8 ⇒ x_A = 4/7,
        // x_C = 2/7; P = (3·4/7 + 1 + 2/7)/5 = 3/5.
        // Without A: x_C = 0, P = 1/5, RE = 1 − (1/5)/(3/5) = 2/3.
        // Without B: P = 0, RE = 1.
        // Without C: x_A = 2/4 = 1/2, P = (3/2 + 1)/5 = 1/2, RE = 1 − 5/6 = 1/6.
        // Σ RE = 11/6: shares A 4/11, B 6/11, C 1/11; 3 conversions.
        let result = markov(&loop_example(), 1).expect("order 1");
        close(result.baseline, 3.0 / 5.0);
        close(result.total_conversions, 3.0);
        close(result.total_value, 300.0);
        assert!(result.exact);
        let names: Vec<&str> = result.channels.iter().map(|c| c.channel.as_str()).collect();
        assert_eq!(names, ["A", "B", "C"]);
        let (a, b, c) = (
            credit(&result, "A"),
            credit(&result, "B"),
            credit(&result, "C"),
        );
        close(a.score, 2.0 / 3.0);
        close(b.score, 1.0);
        close(c.score, 1.0 / 6.0);
        close(a.share, 4.0 / 11.0);
        close(b.share, 6.0 / 11.0);
        close(c.share, 1.0 / 11.0);
        close(a.conversions, 12.0 / 11.0);
        close(b.conversions, 18.0 / 11.0);
        close(c.conversions, 3.0 / 11.0);

        // Value chain: mean converted value v̄ = 300/3 = 100, so weights are
        // j1 100, j2 100 (v̄), j3 50, j4 100 (v̄), j5 150:
        //   START → A 300, → B 50, → C 150                          total 500
        //   A → B 250, → NULL 100, → C 100                          total 450
        //   B → CONVERSION 300
        //   C → NULL 100, → A 150                                   total 250
        // x_A = (250 + 100 x_C)/450, x_C = 3/5 x_A ⇒ x_A = 5/9 + 2/15 x_A
        // ⇒ x_A = 25/39, x_C = 5/13; P_v = (300·25/39 + 50 + 150·5/13)/500 = 3/5.
        // Without A: P = 50/500 = 1/10, RE_v = 1 − 1/6 = 5/6.
        // Without B: RE_v = 1.
        // Without C: x_A = 5/9, P = (500/3 + 50)/500 = 13/30, RE_v = 1 − 13/18 = 5/18.
        // Σ RE_v = 19/9: value shares A 15/38, B 18/38, C 5/38 of 300.
        let tolerance = 1e-12 * 300.0;
        assert!(
            (a.value - 300.0 * 15.0 / 38.0).abs() <= tolerance,
            "{}",
            a.value
        );
        assert!(
            (b.value - 300.0 * 18.0 / 38.0).abs() <= tolerance,
            "{}",
            b.value
        );
        assert!(
            (c.value - 300.0 * 5.0 / 38.0).abs() <= tolerance,
            "{}",
            c.value
        );
    }

    #[test]
    fn markov_no_touch_journeys_change_baseline_not_shares() {
        // The loop example plus two no-touch conversions and one no-touch
        // non-conversion; these are in neither total.
        let mut journeys = loop_example();
        journeys.push(journey(&[], true, 1_000.0));
        journeys.push(journey(&[], false, 0.0));
        journeys.push(journey(&[], true, 1_000.0));
        // Now START → CONVERSION 2, → NULL 1 (total 8): P = (3 + 2)/8 = 5/8;
        // without A (1 + 2)/8 = 3/8, RE 2/5; without B 2/8, RE 3/5;
        // without C (3/2 + 1 + 2)/8 = 9/16, RE 1/10. Σ = 11/10: same shares.
        let result = markov(&journeys, 1).expect("order 1");
        close(result.baseline, 5.0 / 8.0);
        close(result.total_conversions, 3.0);
        close(result.total_value, 300.0);
        close(credit(&result, "A").score, 2.0 / 5.0);
        close(credit(&result, "B").score, 3.0 / 5.0);
        close(credit(&result, "C").score, 1.0 / 10.0);
        close(credit(&result, "A").share, 4.0 / 11.0);
        close(credit(&result, "B").share, 6.0 / 11.0);
        close(credit(&result, "C").share, 1.0 / 11.0);
        // Value: the no-touch journeys weigh 1000 and v̄ = 100; START's path
        // mass is scaled uniformly, so value shares stay 15/38, 18/38, 5/38.
        let tolerance = 1e-12 * 300.0;
        assert!((credit(&result, "A").value - 300.0 * 15.0 / 38.0).abs() <= tolerance);
        assert!((credit(&result, "C").value - 300.0 * 5.0 / 38.0).abs() <= tolerance);
    }

    #[test]
    fn markov_orders_2_and_3_hand_example() {
        // j1 [A,B] conv, j2 [B,A] null, j3 [B,B] conv, j4 [A] null.
        //
        // Order 1 (self-loop B → B from j3):
        //   START → A 2, → B 2; A → B 1, → NULL 2; B → CONV 2, → A 1, → B 1.
        //   x_B = (2 + x_A)/3 (self-loop left out), x_A = x_B/3 ⇒ x_B = 3/4,
        //   x_A = 1/4, P = (2·1/4 + 2·3/4)/4 = 1/2.
        //   Without A: x_B = 2/3, P = 1/3, RE 1/3. Without B: P = 0, RE 1.
        //   Shares A 1/4, B 3/4.
        // Order 2 (states padded with START, written S):
        //   START → (S,A) 2, → (S,B) 2; (S,A) → (A,B) 1, → NULL 1;
        //   (S,B) → (B,A) 1, → (B,B) 1; (A,B) → CONV; (B,A) → NULL; (B,B) → CONV.
        //   x_(S,A) = 1/2, x_(S,B) = 1/2, P = 1/2.
        //   Without A ((S,A), (A,B), (B,A) → NULL): P = (0 + 2·1/2)/4 = 1/4, RE 1/2.
        //   Without B: every state but (S,A) → NULL, P = 0, RE 1.
        //   Shares A 1/3, B 2/3. Order 3 has the same shape: same numbers.
        let journeys = [
            journey(&["A", "B"], true, 1.0),
            journey(&["B", "A"], false, 0.0),
            journey(&["B", "B"], true, 1.0),
            journey(&["A"], false, 0.0),
        ];
        let first = markov(&journeys, 1).expect("order 1");
        close(first.baseline, 0.5);
        close(credit(&first, "A").score, 1.0 / 3.0);
        close(credit(&first, "B").score, 1.0);
        close(credit(&first, "A").share, 0.25);
        close(credit(&first, "B").share, 0.75);
        for order in [2, 3] {
            let result = markov(&journeys, order).expect("order 2 and 3");
            close(result.baseline, 0.5);
            close(credit(&result, "A").score, 0.5);
            close(credit(&result, "B").score, 1.0);
            close(credit(&result, "A").share, 1.0 / 3.0);
            close(credit(&result, "B").share, 2.0 / 3.0);
            close(credit(&result, "A").conversions, 2.0 / 3.0);
            close(credit(&result, "B").conversions, 4.0 / 3.0);
        }
    }

    #[test]
    fn markov_order1_repeats_are_harmless_self_loops() {
        let with_repeats = [
            journey(&["A", "A", "B", "B", "B"], true, 3.0),
            journey(&["B", "B", "A"], false, 0.0),
            journey(&["A", "C", "C", "A"], true, 2.0),
            journey(&["C"], false, 0.0),
        ];
        let collapsed: Vec<Journey> = with_repeats
            .iter()
            .map(|j| {
                let mut channels = j.channels.clone();
                channels.dedup();
                Journey {
                    channels,
                    ..j.clone()
                }
            })
            .collect();
        let a = markov(&with_repeats, 1).expect("order 1");
        let b = markov(&collapsed, 1).expect("order 1");
        for (x, y) in a.channels.iter().zip(&b.channels) {
            close(x.score, y.score);
            close(x.share, y.share);
            close(x.value, y.value);
        }
        // At order 2 the repeats are states of their own, e.g. (A, A).
        let two = markov(&with_repeats, 2).expect("order 2");
        close(sum_of(&two, |c| c.share), 1.0);
    }

    /// A deterministic mixed bag of journeys over `channels` channels.
    fn generated(count: usize, alphabet: usize, seed: u64) -> Vec<Journey> {
        let mut rng = SplitMix64::new(seed);
        (0..count)
            .map(|_| {
                let len = rng.below(5) as usize;
                let channels: Vec<String> = (0..len)
                    .map(|_| format!("ch{:02}", rng.below(alphabet as u64)))
                    .collect();
                let converted = rng.below(3) == 0;
                let value = (rng.below(10_000) as f64) / 7.0;
                Journey {
                    channels,
                    converted,
                    value,
                }
            })
            .collect()
    }

    fn bits(result: &DataDrivenResult) -> Vec<u64> {
        let mut bits = vec![
            result.baseline.to_bits(),
            result.total_conversions.to_bits(),
            result.total_value.to_bits(),
        ];
        for c in &result.channels {
            bits.extend([
                c.score.to_bits(),
                c.share.to_bits(),
                c.conversions.to_bits(),
                c.value.to_bits(),
            ]);
        }
        bits
    }

    #[test]
    fn markov_is_bit_reproducible_across_calls_and_input_orders() {
        let journeys = generated(400, 6, 7);
        let mut shuffled = journeys.clone();
        let mut rng = SplitMix64::new(99);
        for i in (1..shuffled.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            shuffled.swap(i, j);
        }
        let mut reversed = journeys.clone();
        reversed.reverse();
        for order in 1..=3 {
            let first = markov(&journeys, order).expect("valid");
            let again = markov(&journeys, order).expect("valid");
            assert_eq!(bits(&first), bits(&again), "order {order}: two calls");
            assert_eq!(first, again);
            let from_shuffled = markov(&shuffled, order).expect("valid");
            assert_eq!(
                bits(&first),
                bits(&from_shuffled),
                "order {order}: shuffled"
            );
            let from_reversed = markov(&reversed, order).expect("valid");
            assert_eq!(
                bits(&first),
                bits(&from_reversed),
                "order {order}: reversed"
            );
            assert!(first.channels.iter().any(|c| c.score > 0.0));
        }
    }

    #[test]
    fn markov_divide_and_conquer_matches_one_solve_per_channel() {
        let journeys = generated(500, 7, 21);
        let names = channel_names(&journeys);
        let ids = channel_ids(&names);
        let mut paths: Vec<(Vec<u32>, bool, f64)> = journeys
            .iter()
            .map(|j| {
                let symbols = j.channels.iter().map(|c| ids[c.as_str()] + 1).collect();
                (
                    symbols,
                    j.converted,
                    if j.converted { j.value } else { 0.0 },
                )
            })
            .collect();
        paths.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.total_cmp(&b.2)));
        for order in 1..=3 {
            let result = markov(&journeys, order).expect("valid");
            let mean_value = result.total_value / result.total_conversions;
            let chain = Chain::build(&paths, order, mean_value).expect("small chain");
            let keep_all = vec![false; chain.keys.len()];
            for layer in [COUNT, VALUE] {
                let p = chain.conversion_probability(layer, &keep_all);
                if layer == COUNT {
                    assert_eq!(p.to_bits(), result.baseline.to_bits());
                }
                let direct: Vec<f64> = (1..=names.len() as u32)
                    .map(|symbol| {
                        let removed: Vec<bool> = chain
                            .keys
                            .iter()
                            .map(|key| key[..order].contains(&symbol))
                            .collect();
                        1.0 - chain.conversion_probability(layer, &removed) / p
                    })
                    .collect();
                let direct_shares = normalise(&direct);
                for (i, credit) in result.channels.iter().enumerate() {
                    let (actual, expected) = if layer == COUNT {
                        assert!((credit.score - direct[i]).abs() <= 1e-12);
                        (credit.share, direct_shares[i])
                    } else {
                        (credit.value / result.total_value, direct_shares[i])
                    };
                    assert!(
                        (actual - expected).abs() <= 1e-12,
                        "order {order}, layer {layer}, {}: {actual} vs {expected}",
                        credit.channel
                    );
                }
            }
        }
    }

    #[test]
    fn markov_higher_orders_shares_sum_to_one() {
        let journeys = generated(600, 8, 3);
        for order in 1..=3 {
            let result = markov(&journeys, order).expect("valid");
            assert!((sum_of(&result, |c| c.share) - 1.0).abs() <= 1e-12);
            let conversions = sum_of(&result, |c| c.conversions);
            assert!((conversions - result.total_conversions).abs() <= 1e-9);
            let value = sum_of(&result, |c| c.value);
            assert!((value - result.total_value).abs() <= 1e-9 * result.total_value);
            assert!(
                result
                    .channels
                    .iter()
                    .all(|c| c.score >= 0.0 && c.score <= 1.0)
            );
            assert!(result.baseline > 0.0 && result.baseline < 1.0);
        }
    }

    #[test]
    fn markov_rejects_order_out_of_range() {
        let journeys = [journey(&["A"], true, 1.0)];
        assert_eq!(
            markov(&journeys, 0),
            Err(DataDrivenError::OrderOutOfRange(0))
        );
        assert_eq!(
            markov(&journeys, 4),
            Err(DataDrivenError::OrderOutOfRange(4))
        );
        assert_eq!(
            DataDrivenError::OrderOutOfRange(4).to_string(),
            "Markov order 4 is out of range (1..=3)"
        );
    }

    #[test]
    fn markov_rejects_too_many_states() {
        // Every trigram over 15 channels: 15 + 15² + 15³ = 3615 order-3 states.
        let names: Vec<String> = (0..15).map(|i| format!("c{i:02}")).collect();
        let mut journeys = Vec::new();
        for a in &names {
            for b in &names {
                for c in &names {
                    journeys.push(Journey {
                        channels: vec![a.clone(), b.clone(), c.clone()],
                        converted: true,
                        value: 1.0,
                    });
                }
            }
        }
        assert_eq!(
            markov(&journeys, 3),
            Err(DataDrivenError::TooManyStates {
                states: 3615,
                limit: MAX_MARKOV_STATES
            })
        );
        // Order 1 has 15 states and credits each channel equally (by symmetry).
        let first = markov(&journeys, 1).expect("order 1");
        for c in &first.channels {
            assert!((c.share - 1.0 / 15.0).abs() <= 1e-12);
        }
    }

    #[test]
    fn markov_rejects_invalid_values() {
        let journeys = [
            journey(&["A"], false, f64::NAN), // not converted: ignored
            journey(&["A"], true, -1.0),
        ];
        assert_eq!(
            markov(&journeys, 1),
            Err(DataDrivenError::InvalidValue {
                journey: 1,
                value: -1.0
            })
        );
        let nan = [journey(&["A"], true, f64::NAN)];
        assert!(matches!(
            markov(&nan, 1),
            Err(DataDrivenError::InvalidValue { journey: 0, .. })
        ));
        let fine = [journey(&["A"], false, f64::NAN), journey(&["A"], true, 0.0)];
        assert!(markov(&fine, 1).is_ok());
    }

    #[test]
    fn markov_equal_values_split_value_like_conversions() {
        let mut journeys = generated(300, 5, 11);
        for j in &mut journeys {
            j.value = 250.0;
        }
        for order in 1..=3 {
            let result = markov(&journeys, order).expect("valid");
            for c in &result.channels {
                let expected = result.total_value * c.share;
                assert!((c.value - expected).abs() <= 1e-12 * result.total_value);
            }
        }
    }

    #[test]
    fn markov_without_conversions_credits_nothing() {
        let journeys = [journey(&["A", "B"], false, 0.0), journey(&[], true, 5.0)];
        let result = markov(&journeys, 2).expect("valid");
        assert_eq!(result.total_conversions, 0.0);
        assert_eq!(result.baseline, 0.5); // the no-touch conversion
        assert!(
            result
                .channels
                .iter()
                .all(|c| c.score == 0.0 && c.share == 0.0)
        );
        let empty = markov(&[], 1).expect("valid");
        assert!(empty.channels.is_empty());
        assert_eq!(empty.baseline, 0.0);
    }

    #[test]
    fn shapley_exact_hand_example() {
        // Converted sets: {A} ×2, {A,B}, {B,C}, {A,B,C}; plus a non-converted
        // {C} and a no-touch conversion, both ignored.
        // v: ∅ 0, A 2, B 0, C 0, AB 3, AC 2, BC 1, ABC 5.
        // Weights for n = 3: |S| = 0 → 1/3, 1 → 1/6, 2 → 1/3.
        // φ_A = 1/3·2 + 1/6·(3 − 0) + 1/6·(2 − 0) + 1/3·(5 − 1) = 17/6
        // φ_B = 1/3·0 + 1/6·(3 − 2) + 1/6·(1 − 0) + 1/3·(5 − 2) = 8/6
        // φ_C = 1/3·0 + 1/6·(2 − 2) + 1/6·(1 − 0) + 1/3·(5 − 3) = 5/6
        // Σ = 30/6 = 5 = v(ABC). Values: {A} 10 and 20, {A,B} 30, {B,C} 60,
        // {A,B,C} 90: φ_A = 30 + 15 + 30 = 75, φ_B = 15 + 30 + 30 = 75, φ_C = 30 + 30 = 60.
        let journeys = [
            journey(&["A"], true, 10.0),
            journey(&["A", "A"], true, 20.0),
            journey(&["B", "A"], true, 30.0),
            journey(&["C", "B"], true, 60.0),
            journey(&["A", "C", "B"], true, 90.0),
            journey(&["C"], false, 0.0),
            journey(&[], true, 1_000.0),
        ];
        let result = shapley(&journeys, &ShapleyOptions::default());
        assert!(result.exact);
        close(result.total_conversions, 5.0);
        close(result.baseline, 5.0);
        close(result.total_value, 210.0);
        let (a, b, c) = (
            credit(&result, "A"),
            credit(&result, "B"),
            credit(&result, "C"),
        );
        close(a.score, 17.0 / 6.0);
        close(b.score, 8.0 / 6.0);
        close(c.score, 5.0 / 6.0);
        close(a.conversions, 17.0 / 6.0);
        close(a.share, 17.0 / 30.0);
        close(b.share, 8.0 / 30.0);
        close(c.share, 5.0 / 30.0);
        close(sum_of(&result, |c| c.score), 5.0);
        assert!((a.value - 75.0).abs() <= 1e-12 * 210.0);
        assert!((b.value - 75.0).abs() <= 1e-12 * 210.0);
        assert!((c.value - 60.0).abs() <= 1e-12 * 210.0);
    }

    /// Journeys over `n` channels `p00 …`, each channel in some conversion.
    fn many_channels(n: usize) -> Vec<Journey> {
        let name = |i: usize| format!("p{:02}", i % n);
        let mut journeys = Vec::new();
        for i in 0..n {
            journeys.push(Journey {
                channels: vec![name(i), name(i + 1), name(i + 3)],
                converted: true,
                value: 10.0 + i as f64,
            });
            journeys.push(Journey {
                channels: vec![name(i)],
                converted: i % 2 == 0,
                value: 5.0,
            });
            journeys.push(Journey {
                channels: vec![name(i), name(i + 5)],
                converted: i % 3 != 0,
                value: 1.5 * i as f64,
            });
        }
        journeys
    }

    #[test]
    fn shapley_15_channels_exact_and_fast() {
        let journeys = many_channels(15);
        let started = std::time::Instant::now();
        let result = shapley(&journeys, &ShapleyOptions::default());
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
        assert!(result.exact);
        assert_eq!(result.channels.len(), 15);
        let total = sum_of(&result, |c| c.score);
        assert!((total - result.baseline).abs() <= 1e-9 * result.baseline);
        let value = sum_of(&result, |c| c.value);
        assert!((value - result.total_value).abs() <= 1e-9 * result.total_value);
        let oracle = shapley_closed_form(&journeys);
        for c in &result.channels {
            let [count, value] = oracle[&c.channel];
            assert!((c.score - count).abs() <= 1e-9, "{}", c.channel);
            assert!((c.value - value).abs() <= 1e-9 * result.total_value);
        }
    }

    #[test]
    fn shapley_18_channels_sampled_reproducible_and_efficient() {
        let journeys = many_channels(18);
        let options = ShapleyOptions::default();
        let result = shapley(&journeys, &options);
        assert!(!result.exact);
        assert_eq!(result.channels.len(), 18);
        let again = shapley(&journeys, &options);
        assert_eq!(bits(&result), bits(&again));
        let mut reversed = journeys.clone();
        reversed.reverse();
        assert_eq!(bits(&result), bits(&shapley(&reversed, &options)));

        let total = sum_of(&result, |c| c.score);
        assert!((total - result.baseline).abs() <= 1e-9 * result.baseline);
        let value = sum_of(&result, |c| c.value);
        assert!((value - result.total_value).abs() <= 1e-9 * result.total_value);
        close(sum_of(&result, |c| c.share), 1.0);

        // Close to the exact values: per permutation each channel's credit has a
        // standard deviation below 2, so 20 000 samples give errors ≈ 0.015.
        let oracle = shapley_closed_form(&journeys);
        for c in &result.channels {
            let [count, _] = oracle[&c.channel];
            assert!(
                (c.score - count).abs() <= 0.15,
                "{}: {} vs {count}",
                c.channel,
                c.score
            );
        }
        let other_seed = shapley(
            &journeys,
            &ShapleyOptions {
                seed: 7,
                ..options.clone()
            },
        );
        assert_ne!(bits(&result), bits(&other_seed));
        // Raising the exact limit makes it exact again.
        let exact = shapley(
            &journeys,
            &ShapleyOptions {
                exact_max_channels: 18,
                ..options
            },
        );
        assert!(exact.exact);
        for c in &exact.channels {
            assert!((c.score - oracle[&c.channel][0]).abs() <= 1e-9);
        }
    }

    #[test]
    fn single_channel_world_gets_everything() {
        let journeys = [
            journey(&["only"], true, 10.0),
            journey(&["only", "only"], false, 0.0),
            journey(&["only", "only", "only"], true, 30.0),
            journey(&[], true, 99.0),
        ];
        // Every order: the channel states convert with probability 2/3 (order 1:
        // only → CONV 2, → NULL 1, self-loops left out), START → only 3/4,
        // → CONV 1/4: P = 3/4 · 2/3 + 1/4 = 3/4; without the channel only the
        // no-touch 1/4 is left, RE = 1 − (1/4)/(3/4) = 2/3. The share is still 1.
        for order in 1..=3 {
            let result = markov(&journeys, order).expect("valid");
            assert_eq!(result.channels.len(), 1);
            let only = &result.channels[0];
            close(result.baseline, 0.75);
            close(only.score, 2.0 / 3.0);
            assert_eq!(only.share, 1.0);
            assert_eq!(only.conversions, 2.0);
            assert_eq!(only.value, 40.0);
        }
        let result = shapley(&journeys, &ShapleyOptions::default());
        let only = &result.channels[0];
        assert_eq!((only.score, only.share, only.value), (2.0, 1.0, 40.0));
    }

    #[test]
    fn shapley_without_conversions_credits_nothing() {
        let journeys = [journey(&["A", "B"], false, 0.0), journey(&[], true, 5.0)];
        let result = shapley(&journeys, &ShapleyOptions::default());
        assert_eq!(result.baseline, 0.0);
        assert_eq!(result.channels.len(), 2);
        assert!(
            result
                .channels
                .iter()
                .all(|c| c.score == 0.0 && c.share == 0.0)
        );
        let sampled = shapley(
            &journeys,
            &ShapleyOptions {
                exact_max_channels: 0,
                ..ShapleyOptions::default()
            },
        );
        assert!(sampled.channels.iter().all(|c| c.score == 0.0));
    }

    #[test]
    fn doc_example_holds() {
        let journeys = [
            journey(&["search", "email"], true, 300.0),
            journey(&["search"], false, 0.0),
            journey(&["email"], true, 100.0),
        ];
        let by_markov = markov(&journeys, 1).expect("order 1 is supported");
        assert_eq!(by_markov.channels[0].channel, "email");
        close(by_markov.baseline, 2.0 / 3.0);
        close(by_markov.channels[0].share, 2.0 / 3.0);
        close(by_markov.channels[1].share, 1.0 / 3.0);
        close(by_markov.channels[0].conversions, 4.0 / 3.0);
        let by_shapley = shapley(&journeys, &ShapleyOptions::default());
        assert!(by_shapley.exact);
        close(by_shapley.channels[0].conversions, 1.5);
        close(by_shapley.channels[1].conversions, 0.5);
        assert!((by_shapley.channels[0].value - 250.0).abs() < 1e-9);
        assert!((by_shapley.channels[1].value - 150.0).abs() < 1e-9);
    }

    #[test]
    fn splitmix_is_the_reference_sequence() {
        // First outputs of SplitMix64 seeded with 0 (reference implementation).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        let mut rng = SplitMix64::new(1);
        assert!((0..1_000).all(|_| rng.below(7) < 7));
    }

    fn journeys_strategy() -> impl Strategy<Value = Vec<Journey>> {
        let one = (
            prop::collection::vec(0_u8..4, 0..6),
            any::<bool>(),
            1_u32..10_000,
        )
            .prop_map(|(channels, converted, value)| Journey {
                channels: channels
                    .into_iter()
                    .map(|c| char::from(b'a' + c).to_string())
                    .collect(),
                converted,
                value: f64::from(value) / 10.0,
            });
        prop::collection::vec(one, 1..14)
    }

    fn converts_through_a_channel(journeys: &[Journey]) -> bool {
        journeys
            .iter()
            .any(|j| j.converted && !j.channels.is_empty())
    }

    proptest! {
        #[test]
        fn markov_shares_sum_to_one(journeys in journeys_strategy()) {
            prop_assume!(converts_through_a_channel(&journeys));
            for order in 1..=3 {
                let result = markov(&journeys, order).expect("valid");
                prop_assert!((sum_of(&result, |c| c.share) - 1.0).abs() <= 1e-12);
                let value = sum_of(&result, |c| c.value);
                prop_assert!((value - result.total_value).abs() <= 1e-9 * result.total_value);
                prop_assert!(result.channels.iter().all(|c| c.score >= 0.0 && c.share >= 0.0));
            }
        }

        #[test]
        fn shapley_shares_sum_to_one_and_scores_are_non_negative(
            journeys in journeys_strategy()
        ) {
            prop_assume!(converts_through_a_channel(&journeys));
            let exact = shapley(&journeys, &ShapleyOptions::default());
            prop_assert!(exact.exact);
            let sampled = shapley(&journeys, &ShapleyOptions {
                exact_max_channels: 0,
                samples: 50,
                seed: 1,
            });
            prop_assert!(!sampled.exact);
            for result in [&exact, &sampled] {
                prop_assert!((sum_of(result, |c| c.share) - 1.0).abs() <= 1e-12);
                prop_assert!(result.channels.iter().all(|c| c.score >= 0.0 && c.value >= 0.0));
                let total = sum_of(result, |c| c.score);
                prop_assert!((total - result.baseline).abs() <= 1e-9 * result.baseline);
            }
            let oracle = shapley_closed_form(&journeys);
            for c in &exact.channels {
                let [count, value] = oracle.get(&c.channel).copied().unwrap_or([0.0; 2]);
                prop_assert!((c.score - count).abs() <= 1e-9);
                prop_assert!((c.value - value).abs() <= 1e-9 * exact.total_value);
            }
        }
    }
}
