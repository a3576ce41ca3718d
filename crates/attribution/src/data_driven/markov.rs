//! The Markov-chain removal effect.

use super::*;

// ---------------------------------------------------------------------------
// Markov
// ---------------------------------------------------------------------------

/// A state's key: the last `order` symbols of `START^order ++ channels`, where
/// symbol 0 is the `START` padding and channel `i` (byte order) is symbol `i + 1`.
/// Slots at and beyond `order` are 0. `START` itself is all zeros.
type StateKey = [u32; MAX_MARKOV_ORDER];

const START_KEY: StateKey = [0; MAX_MARKOV_ORDER];

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
/// **Value as ChannelAttribution gives it** ([`MarkovValue::LastChannelMean`]):
/// the chain is the count chain, and each conversion is worth `m_k`, the mean
/// value of the converted journeys whose last channel is `k` (what
/// ChannelAttribution's `markov_model` gives each simulated conversion, here
/// exactly instead of simulated). With `P_k` the probability of converting
/// with `k` as the last channel, `V = Σ_k m_k · P_k`, and `V_without_c` the
/// same with `c` removed; `RE_v(c) = 1 − V_without_c / V` and `value(c) =
/// total_value × RE_v(c) / Σ_d RE_v(d)`. Worked example, order 1: journeys
/// `A, B` converted (300), `A` converted (100), `B` not. `m_A = 100`,
/// `m_B = 300`; `START → A` 2/3, `→ B` 1/3, `A → B` 1/2, `A → CONVERSION` 1/2,
/// `B → CONVERSION` 1/2, `B → NULL` 1/2. `P_A = 2/3 · 1/2 = 1/3`, `P_B = 2/3 ·
/// 1/2 · 1/2 + 1/3 · 1/2 = 1/3`, `V = 400/3`. Without `A`: `P_B = 1/6`, `V = 50`,
/// `RE_v(A) = 5/8`; without `B`: `P_A = 1/3`, `V = 100/3`, `RE_v(B) = 3/4`. Of
/// the 400: `A` 400 · (5/8)/(11/8) = 181.82, `B` 218.18 (tested).
///
/// `baseline` is `P` of the count chain; `exact` is `true`.
///
/// # Errors
/// [`DataDrivenError::OrderOutOfRange`] unless `1 <= order <= 3`;
/// [`DataDrivenError::InvalidValue`] when a converted journey's value is negative,
/// infinite or NaN; [`DataDrivenError::TooManyStates`] above
/// [`MAX_MARKOV_STATES`] channel states.
pub fn markov(journeys: &[Journey], order: usize) -> Result<DataDrivenResult, DataDrivenError> {
    markov_with(journeys, order, MarkovValue::JourneyValue)
}

/// [`markov`], with the value shares computed as `value` says.
pub fn markov_with(
    journeys: &[Journey],
    order: usize,
    value: MarkovValue,
) -> Result<DataDrivenResult, DataDrivenError> {
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

    if value == MarkovValue::LastChannelMean {
        scores[VALUE] = last_channel_value_scores(&chain, &paths, order, names.len());
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
pub(super) struct Chain {
    /// Sorted state keys; index 0 is `START`.
    pub(super) keys: Vec<StateKey>,
    /// Transitions to transient states, sorted by target, self-loops left out.
    out: Vec<Vec<(u32, [f64; 2])>>,
    /// Weight into `CONVERSION`.
    conv: Vec<[f64; 2]>,
    /// Weight into `NULL`.
    null: Vec<[f64; 2]>,
}

impl Chain {
    /// Builds the chain from canonically ordered `(symbols, converted, value)`.
    pub(super) fn build(
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
        self.active_graph_into(layer, removed, |_| true)
    }

    /// [`Chain::active_graph`] where only the states `converts` admits lead
    /// into `CONVERSION`; the others' conversions count as `NULL`, so every
    /// state keeps its total weight and `P` becomes the probability of
    /// converting from one of those states.
    fn active_graph_into(
        &self,
        layer: usize,
        removed: &[bool],
        converts: impl Fn(usize) -> bool,
    ) -> Option<(Elimination, Vec<usize>)> {
        let n = self.keys.len();
        let conv_of = |s: usize| {
            if converts(s) {
                self.conv[s][layer]
            } else {
                0.0
            }
        };
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
        for s in (0..n).filter(|&s| reached[s] && conv_of(s) > 0.0) {
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
            let mut to_null = self.null[s][layer] + (self.conv[s][layer] - conv_of(s));
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
            conv.push(conv_of(s));
            null.push(to_null);
        }
        let states = (0..n).filter(|&s| active[s]).collect();
        Some((Elimination::new(out, conv, null), states))
    }

    /// `P(conversion)` with the `removed` states sending everything to `NULL`,
    /// solved directly (the tests' reference for [`removal_probabilities`]).
    #[cfg(test)]
    pub(super) fn conversion_probability(&self, layer: usize, removed: &[bool]) -> f64 {
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

/// The value removal effects of [`MarkovValue::LastChannelMean`]: `1 −
/// V_without_c / V` per channel, `V = Σ_k m_k · P_k` over the last channel `k`
/// (see [`markov`]).
fn last_channel_value_scores(
    chain: &Chain,
    paths: &[(Vec<u32>, bool, f64)],
    order: usize,
    channels: usize,
) -> Vec<f64> {
    // m_k: the mean value of the converted journeys whose last channel is k.
    let mut sums = vec![(0.0f64, 0.0f64); channels + 1];
    for (symbols, converted, value) in paths {
        if let (true, Some(&last)) = (*converted, symbols.last()) {
            sums[last as usize].0 += value;
            sums[last as usize].1 += 1.0;
        }
    }
    let keep_all = vec![false; chain.keys.len()];
    let mut total = 0.0;
    let mut without = vec![0.0; channels + 1];
    for (last, &(sum, count)) in sums.iter().enumerate().skip(1) {
        if count == 0.0 || sum == 0.0 {
            continue;
        }
        let mean = sum / count;
        let ends_in = |s: usize| chain.keys[s][order - 1] as usize == last;
        let Some((graph, states)) = chain.active_graph_into(COUNT, &keep_all, ends_in) else {
            continue;
        };
        let mut full = graph.clone();
        full.eliminate_where(|_| true);
        let p = full.start_probability();
        total += mean * p;
        let keys: Vec<StateKey> = states.iter().map(|&s| chain.keys[s]).collect();
        let symbols: Vec<u32> = (1..=channels as u32)
            .filter(|symbol| keys.iter().any(|key| key[..order].contains(symbol)))
            .collect();
        let mut p_without = vec![p; channels + 1];
        if !symbols.is_empty() {
            removal_probabilities(graph, &keys, order, &symbols, &mut p_without);
        }
        for (c, slot) in without.iter_mut().enumerate().skip(1) {
            *slot += mean * p_without[c];
        }
    }
    if total <= 0.0 {
        return vec![0.0; channels];
    }
    (1..=channels)
        .map(|c| (1.0 - without[c] / total).max(0.0))
        .collect()
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
